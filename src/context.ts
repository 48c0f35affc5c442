import type { DataSource } from 'typeorm';
import type { TokenService } from './auth/tokens.js';
import type { Config } from './config.js';
import { createLoaders, type Loaders } from './db/loaders.js';
import type { Logger } from './logger.js';

/** What the app builds once at start and every request shares. */
export type Services = {
  config: Config;
  dataSource: DataSource;
  tokens: TokenService;
  logger: Logger;
};

export type Viewer = { id: number };

/** One read-only object per operation. */
export type Context = Services & {
  viewer: Viewer | null;
  loaders: Loaders;
};

/**
 * Resolves the caller from a bearer token. A valid token whose user no longer
 * exists authenticates no one.
 */
export async function createContext(services: Services, token: string | null): Promise<Context> {
  const claims = token ? await services.tokens.verify(token) : null;
  const loaders = createLoaders(services.dataSource, claims?.userId ?? null);
  const user = claims ? await loaders.user.load(claims.userId) : null;
  return { ...services, viewer: user ? { id: user.id } : null, loaders };
}
