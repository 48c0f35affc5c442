// Entry point: read the configuration, start the app, stop it on a signal.
import 'reflect-metadata';
import { buildApp } from './app.js';
import { ConfigError, loadConfig, usesDevelopmentSecret } from './config.js';
import { createLogger } from './logger.js';

let config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}

const logger = createLogger(config);
// Node 20 exits on a rejection nobody handled, dropping every socket of the
// instance: a bug of that kind is logged instead, and the instance keeps serving.
process.on('unhandledRejection', (reason) => {
  logger.error({ err: reason }, 'unhandled rejection');
});
if (usesDevelopmentSecret(config)) {
  logger.warn('JWT_SECRET is not set: using a development secret. Set JWT_SECRET before exposing this server.');
}

const app = await buildApp(config, logger);
const url = await app.start();
logger.info({ url: `${url}/graphql`, database: config.database.kind }, 'chat API listening');

/** A shutdown that has not finished by then is cut short (orchestrators kill at 10 s). */
const SHUTDOWN_DEADLINE_MS = 9_000;
/** How long /ready answers 503 before the listener closes, so load balancers stop routing here first. */
const READINESS_GRACE_MS = 1_000;

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error('shutdown did not finish in time');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    app.stop({ readinessGraceMs: READINESS_GRACE_MS }).then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
