import type { DataSource } from 'typeorm';
import type { TokenService } from './auth/tokens.js';
import type { Config } from './config.js';
import { createLoaders, type Loaders } from './db/loaders.js';
import type { Logger } from './logger.js';
import type { RateLimiter } from './rateLimit.js';
import type { Realtime } from './realtime/index.js';

/** What the app builds once at start and every request shares. */
export type Services = {
  config: Config;
  dataSource: DataSource;
  tokens: TokenService;
  logger: Logger;
  realtime: Realtime;
  rateLimiter: RateLimiter;
};

export type Viewer = { id: number };

/** One read-only object per operation. */
export type Context = Services & {
  viewer: Viewer | null;
  loaders: Loaders;
  /** The client's address (see clientAddress.ts), for per-IP limits. */
  clientIp: string;
  /** On a WebSocket: disconnects a subscriber that fell too far behind (it resumes from its cursor). */
  disconnectSlowConsumer?: () => void;
};

/**
 * Resolves the caller from a bearer token. A valid token whose user no longer
 * exists authenticates no one.
 */
export async function createContext(services: Services, token: string | null, clientIp: string): Promise<Context> {
  const claims = token ? await services.tokens.verify(token) : null;
  const loaders = newLoaders(services, claims ? { id: claims.userId } : null);
  const user = claims ? await loaders.user.load(claims.userId) : null;
  return { ...services, viewer: user ? { id: user.id } : null, loaders, clientIp };
}

/** The context of one operation on an authenticated WebSocket (the token was checked at ConnectionInit). */
export function createSocketContext(
  services: Services,
  {
    viewerId,
    clientIp,
    disconnectSlowConsumer,
  }: { viewerId: number; clientIp: string; disconnectSlowConsumer: () => void },
): Context {
  return {
    ...services,
    viewer: { id: viewerId },
    loaders: newLoaders(services, { id: viewerId }),
    clientIp,
    disconnectSlowConsumer,
  };
}

export function newLoaders(services: Services, viewer: Viewer | null): Loaders {
  return createLoaders(services.dataSource, viewer, (userIds) => services.realtime.presence.online(userIds));
}
