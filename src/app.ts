import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createYoga, maskError, useReadinessCheck } from 'graphql-yoga';
import { bearerToken, createTokenService } from './auth/tokens.js';
import type { Config } from './config.js';
import { createContext, type Services } from './context.js';
import { type DatabaseOptions, openDatabase } from './db/dataSource.js';
import type { Logger } from './logger.js';
import { schema } from './schema/index.js';

export const GRAPHQL_PATH = '/graphql';
/** /ready fails when the database does not answer within this time. */
const READINESS_TIMEOUT_MS = 2_000;

export type App = {
  services: Services;
  /** Listens on config.port (0 picks a free port); resolves with the base URL. */
  start(): Promise<string>;
  stop(): Promise<void>;
};

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms).unref()),
  ]);
}

export async function buildApp(config: Config, logger: Logger, databaseOptions: DatabaseOptions = {}): Promise<App> {
  const dataSource = await openDatabase(config, logger, databaseOptions);
  const services: Services = {
    config,
    dataSource,
    tokens: createTokenService(config.jwtSecret, config.tokenTtlSeconds),
    logger,
  };

  const yoga = createYoga({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    graphiql: { subscriptionsProtocol: 'WS', title: 'Chat API' },
    logging: logger.child({ component: 'yoga' }),
    context: ({ request }) => createContext(services, bearerToken(request.headers.get('authorization'))),
    maskedErrors: {
      // Never in "development" mode: internals stay masked everywhere; the log keeps them.
      maskError(error, message) {
        const masked = maskError(error, message, false);
        if (masked !== error) logger.error({ err: error }, 'unexpected error');
        return masked;
      },
    },
    plugins: [
      useReadinessCheck({
        endpoint: '/ready',
        check: async () => {
          try {
            await withTimeout(dataSource.query('SELECT 1'), READINESS_TIMEOUT_MS);
            return true;
          } catch {
            return false;
          }
        },
      }),
    ],
  });

  const server: Server = createServer((req, res) => {
    if (req.url === '/' || req.url === '') {
      res.writeHead(302, { location: GRAPHQL_PATH }).end();
      return;
    }
    void yoga.handle(req, res);
  });

  return {
    services,
    start: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          const { port } = server.address() as AddressInfo;
          const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
          resolve(`http://${host}:${port}`);
        });
      }),
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await dataSource.destroy();
    },
  };
}
