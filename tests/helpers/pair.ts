// Two instances of one deployment in this process: on MySQL+Redis a second app
// on the first one's database and Redis prefix; on the embedded set-up (no
// fan-out between processes) the same instance twice.
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { type SetUp, startServer, type TestServer, UNLIMITED_RATES } from './server.js';

export type Pair = { a: TestServer; b: { graphqlUrl: string }; stop(): Promise<void> };

export async function startPair({ database, options }: SetUp): Promise<Pair> {
  const a = await startServer(database, options);
  if (database === 'sqlite') return { a, b: a, stop: () => a.stop() };
  const first = a.app.services.config;
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    JWT_SECRET: first.jwtSecret,
    DATABASE_URL: first.database.kind === 'mysql' ? first.database.url : '',
    REDIS_KEY_PREFIX: first.redisKeyPrefix,
    ...UNLIMITED_RATES,
    ...options.env,
  });
  const second = await buildApp(config, createLogger(config));
  const url = await second.start();
  return {
    a,
    b: { graphqlUrl: `${url}/graphql` },
    async stop() {
      await second.stop();
      await a.stop();
    },
  };
}
