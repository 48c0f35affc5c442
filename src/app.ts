import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { createYoga, maskError, useReadinessCheck } from 'graphql-yoga';
import { Sessions } from './auth/sessions.js';
import { bearerToken, createTokenSigner } from './auth/tokens.js';
import { startBots } from './bots/index.js';
import { botTokenResolver } from './bots/tokens.js';
import { serveAttachment } from './attachments/download.js';
import { isMultipartRequest, receiveMultipart, stagedUploads } from './attachments/multipart.js';
import { createAttachmentService } from './attachments/service.js';
import { limitRequestBody } from './bodyLimit.js';
import { clientAddress } from './clientAddress.js';
import { useCompiledExecution } from './compiledExecution.js';
import type { Config } from './config.js';
import {
  type Context,
  createContext,
  isSocketContext,
  newLoaders,
  releaseOperationState,
  type Services,
  useOperationStateRelease,
} from './context.js';
import { type DatabaseOptions, openDatabase } from './db/dataSource.js';
import { sendsAwaitingCommit } from './db/messages.js';
import { startWalCheckpoints } from './db/walCheckpoints.js';
import { renderGraphiQL } from './graphiql.js';
import type { Logger } from './logger.js';
import { startPush } from './push/index.js';
import { startAssistant } from './assistant/index.js';
import { createMetricsServer, handleMetricsRequest, Metrics, useSendMetrics } from './metrics.js';
import { RateLimiter } from './rateLimit.js';
import { startRealtime } from './realtime/index.js';
import { useSharedSubscriptionExecution } from './realtime/sharedExecution.js';
import { schema } from './schema/index.js';
import { useErrorCodes } from './errorCodes.js';
import { operationLimitPlugins } from './operationLimits.js';
import { useServerTiming } from './serverTiming.js';
import { createStaticClientHandler } from './staticClient.js';
import { attachWebSocketServer, type OriginPolicy } from './websocket/index.js';

export const GRAPHQL_PATH = '/graphql';
export { MAX_BODY_BYTES } from './bodyLimit.js';
/** The built web client, served at /. */
const CLIENT_DIST_DIR = fileURLToPath(new URL('../client/dist', import.meta.url));
/** /ready fails when the database does not answer within this time. */
const READINESS_TIMEOUT_MS = 2_000;
/** How long an idle HTTP keep-alive connection stays open. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** On shutdown, in-flight requests get this long to finish before connections are cut. */
const DRAIN_TIMEOUT_MS = 5_000;

export type App = {
  services: Services;
  /** Listens on config.port (0 picks a free port); resolves with the base URL. */
  start(): Promise<string>;
  /** The URL of /metrics on its own listener (METRICS_PORT), once started; null when served on the public port or off. */
  metricsUrl(): string | null;
  /**
   * Graceful: report not ready (for `readinessGraceMs`, so a load balancer
   * notices), stop accepting, finish in-flight requests, close sockets (1001),
   * database and Redis.
   */
  stop(options?: { readinessGraceMs?: number }): Promise<void>;
};

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms).unref()),
  ]);
}

const displayHost = (host: string) => (host === '0.0.0.0' || host === '::' ? 'localhost' : host);

const LOCALHOST = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/;

/** Same origin, the configured origins, and localhost outside production; clients without an Origin (not browsers) too. */
export function originPolicy(config: Config): OriginPolicy {
  return (origin, host) => {
    if (origin === undefined) return true;
    if (host !== undefined && (origin === `http://${host}` || origin === `https://${host}`)) return true;
    if (config.allowedOrigins.includes(origin)) return true;
    return config.nodeEnv !== 'production' && LOCALHOST.test(origin);
  };
}

export async function buildApp(config: Config, logger: Logger, databaseOptions: DatabaseOptions = {}): Promise<App> {
  const dataSource = await openDatabase(config, logger, databaseOptions);
  const walCheckpoints =
    config.database.kind === 'sqlite' ? startWalCheckpoints(dataSource, config.database.path, logger) : null;
  const realtime = await startRealtime(
    dataSource,
    { url: config.redisUrl, clusterNodes: config.redisClusterNodes, keyPrefix: config.redisKeyPrefix },
    logger,
  );
  const sessions = new Sessions(
    dataSource,
    realtime.bus,
    createTokenSigner(config.jwtSecret, config.tokenTtlSeconds),
    logger,
    botTokenResolver(dataSource, logger),
  );
  await sessions.start();
  const metrics = new Metrics();
  const rateLimiter = new RateLimiter(config.rateRules, realtime.bus.redis, config.redisKeyPrefix, logger, (action) =>
    metrics.rateLimitRefusals.inc({ action }),
  );
  realtime.feed.onFannedOut = (seconds) => metrics.fanOutDuration.observe(seconds);
  const services: Services = {
    config,
    dataSource,
    tokens: sessions,
    sessions,
    logger,
    realtime,
    rateLimiter,
    metrics,
    push: await startPush(dataSource, config.push, realtime, logger),
    attachments: await createAttachmentService(config, dataSource, logger),
    bots: await startBots(dataSource, config.webhooks, realtime, sessions, logger),
    assistant: await startAssistant(dataSource, config.assistant, realtime, rateLimiter, logger),
  };
  let stopping = false;
  const databaseAnswers = () =>
    withTimeout(dataSource.query('SELECT 1'), READINESS_TIMEOUT_MS).then(
      () => true,
      () => false,
    );

  const yoga = createYoga<Record<string, unknown>>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    // Every body reaching Yoga is within MAX_BODY_BYTES already (bodyLimit.ts,
    // and attachments/multipart.ts for uploads); Yoga's own limit would pipe
    // each body through one more stream, about 4 % of an HTTP send's CPU.
    maxRequestBodySize: false,
    graphiql: config.exposeSchema ? { subscriptionsProtocol: 'WS', title: 'Chat API' } : false,
    // From this server, not from a CDN, so it works offline and behind a firewall.
    renderGraphiQL,
    logging: logger.child({ component: 'yoga' }),
    context: (initial) => {
      // A socket's operation brings its context whole (websocket/operations.ts).
      if (isSocketContext(services, initial)) return {};
      const request = initial.request as Request;
      const req = initial.req as IncomingMessage;
      const ip = clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], config.trustProxyHops);
      const context = createContext(services, bearerToken(request.headers.get('authorization')), ip);
      const uploads = stagedUploads(req);
      return uploads ? context.then((created) => ({ ...created, uploads })) : context;
    },
    maskedErrors: {
      // Never in "development" mode: internals stay masked everywhere; the log keeps them.
      maskError(error, message) {
        const masked = maskError(error, message, false);
        if (masked !== error) logger.error({ err: error }, 'unexpected error');
        return masked;
      },
    },
    // Batching stays off (Yoga's default): one operation per request.
    plugins: [
      // A cross-site form or simple GET cannot run an operation: it needs a JSON body or a custom header.
      useCSRFPrevention({
        requestHeaders: ['x-graphql-yoga-csrf', 'apollo-require-preflight', 'graphql-require-preflight'],
      }),
      ...operationLimitPlugins({ exposeSchema: config.exposeSchema }),
      useCompiledExecution(),
      useErrorCodes(),
      useSendMetrics(metrics),
      ...(config.serverTiming ? [useServerTiming()] : []),
      useOperationStateRelease(),
      useSharedSubscriptionExecution<Context>({
        // The subscriber's context with its own viewer and loaders on top. Not a
        // spread copy of its twenty fields: those copies were promoted to the old
        // generation, 3 KB per delivered message (docs/benchmarks.md, eighth pass).
        executionContext: (context, viewer) =>
          Object.assign(Object.create(context) as Context, { viewer, loaders: newLoaders(services, viewer) }),
        releaseExecutionContext: releaseOperationState,
      }),
      useReadinessCheck({
        endpoint: '/ready',
        check: async () => {
          const database = await databaseAnswers();
          const redis = realtime.bus.healthy();
          const status = { status: database && redis && !stopping ? 'ready' : 'not ready', database, redis, stopping };
          return new Response(JSON.stringify(status), {
            status: status.status === 'ready' ? 200 : 503,
            headers: { 'content-type': 'application/json' },
          });
        },
      }),
    ],
  });

  const serveClient = createStaticClientHandler(CLIENT_DIST_DIR);
  let inFlight = 0;
  const server: Server = createServer((req, res) => {
    inFlight++;
    res.once('close', () => inFlight--);
    if (serveAttachment(req, res, dataSource, services.attachments, logger)) return;
    // With no listener of its own, /metrics is on this port only behind its token.
    if (config.metricsPort === undefined && config.metricsToken !== undefined) {
      if (handleMetricsRequest(metrics, config.metricsToken, req, res)) return;
    }
    if (serveClient(req, res)) return;
    // Uploads stream to disk instead of passing the body limit (attachments/multipart.ts says why).
    if (req.url?.split('?')[0] === GRAPHQL_PATH && isMultipartRequest(req)) {
      return receiveMultipart(req, res, {
        maxFileBytes: config.attachments.maxUploadBytes,
        stagingDir: services.attachments.stagingDir,
        authenticated: async (request) => {
          const token = bearerToken(request.headers.authorization ?? null);
          return token !== null && (await services.tokens.verify(token)) !== null;
        },
        forward: () => void yoga.handle(req, res),
      });
    }
    limitRequestBody(req, res, () => {
      if (req.url === '/') {
        res.writeHead(302, { location: GRAPHQL_PATH }).end(); // no client built: show GraphiQL
        return;
      }
      void yoga.handle(req, res);
    });
  });
  // Idle keep-alive connections are kept longer than a load balancer keeps its
  // own to this instance (HAProxy's pool, nginx's keepalive), so the balancer,
  // not this side, closes them: otherwise it may reuse one this side has just
  // closed and answer 502 (Node's default is 5 s).
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  const sockets = attachWebSocketServer(server, yoga, services, {
    path: GRAPHQL_PATH,
    originAllowed: originPolicy(config),
  });
  metrics.attach({
    openSockets: () => sockets.openSockets(),
    feedLag: () => realtime.feed.lag(),
    databaseUp: databaseAnswers,
    redisUp: () => (realtime.bus.redis ? realtime.bus.healthy() : null),
    pushQueueDepth: () => services.push.queueDepth(),
    sendsAwaitingCommit: () => sendsAwaitingCommit(dataSource),
  });
  const metricsServer = config.metricsPort === undefined ? null : createMetricsServer(metrics, config.metricsToken);
  let metricsUrl: string | null = null;

  return {
    services,
    metricsUrl: () => metricsUrl,
    start: async () => {
      if (metricsServer) {
        await new Promise<void>((resolve, reject) => {
          metricsServer.once('error', reject);
          metricsServer.listen(config.metricsPort, config.host, () => resolve());
        });
        const { port } = metricsServer.address() as AddressInfo;
        metricsUrl = `http://${displayHost(config.host)}:${port}/metrics`;
      }
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          const { port } = server.address() as AddressInfo;
          resolve(`http://${displayHost(config.host)}:${port}`);
        });
      });
    },
    async stop({ readinessGraceMs = 0 } = {}) {
      stopping = true;
      if (readinessGraceMs > 0) await new Promise((resolve) => setTimeout(resolve, readinessGraceMs));
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await sockets.close();
      const deadline = Date.now() + DRAIN_TIMEOUT_MS;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      server.closeAllConnections();
      await closed;
      await services.push.stop();
      await services.bots.stop();
      await services.assistant.stop();
      if (metricsServer?.listening) {
        metricsServer.closeAllConnections();
        await new Promise((resolve) => metricsServer.close(resolve));
      }
      await realtime.stop();
      await services.attachments.stop();
      await walCheckpoints?.stop();
      if (dataSource.isInitialized) await dataSource.destroy();
    },
  };
}
