// Prometheus metrics (prom-client). One registry per app rather than the
// library's global one, so several apps in one process (the tests) each count
// their own. Other modules get small, local calls: a counter to bump or a
// histogram to observe; whatever is read rather than counted (sockets, feed
// lag, health) is collected at scrape time.
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { DocumentNode } from 'graphql';
import { getOperationAST, Kind } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export const METRICS_PATH = '/metrics';

/** Latency buckets in seconds: 1 ms to 10 s. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What the scrape reads from the running app. */
export type MetricsSources = {
  openSockets(): number;
  /** Newest committed event position minus the newest one this instance delivered (0 with nobody listening). */
  feedLag(): Promise<number>;
  databaseUp(): Promise<boolean>;
  /** Null without Redis. */
  redisUp(): boolean | null;
  /** Push deliveries waiting to go out; null with push off. */
  pushQueueDepth(): Promise<number | null>;
  /** Sends waiting for their group commit (db/messages.ts). */
  sendsAwaitingCommit(): number;
};

export class Metrics {
  readonly registry = new Registry();
  readonly subscriptions: Gauge<'operation'>;
  readonly deliveries: Counter<'operation'>;
  readonly sendDuration: Histogram<'outcome'>;
  readonly fanOutDuration: Histogram;
  readonly rateLimitRefusals: Counter<'action'>;
  private sources: MetricsSources | null = null;
  /** One counter child per root field: prom-client's labels() makes a new one per call, and each subscription keeps its own. */
  private readonly deliveryCounters = new Map<string, { inc(): void }>();

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.subscriptions = new Gauge({
      name: 'chat_active_subscriptions',
      help: 'Subscriptions running on this instance, by root field (messageEvents, typing, presence, …)',
      labelNames: ['operation'],
      registers,
    });
    this.deliveries = new Counter({
      name: 'chat_deliveries_total',
      help: 'Subscription results sent to sockets, by root field',
      labelNames: ['operation'],
      registers,
    });
    this.sendDuration = new Histogram({
      name: 'chat_send_duration_seconds',
      help: 'sendMessage from the start of execution to its answer (stored, committed, bell rung)',
      labelNames: ['outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.fanOutDuration = new Histogram({
      name: 'chat_fanout_duration_seconds',
      help: "From an event's commit to its hand-over to this instance's last subscriber",
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.rateLimitRefusals = new Counter({
      name: 'chat_rate_limit_refusals_total',
      help: 'Requests refused by a rate limit, by limit',
      labelNames: ['action'],
      registers,
    });
    const read = (what: (sources: MetricsSources) => Promise<number> | number) => async () =>
      this.sources ? what(this.sources) : 0;
    const gauge = (name: string, help: string, value: (sources: MetricsSources) => Promise<number> | number) =>
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          this.set(await read(value)());
        },
      });
    gauge('chat_open_sockets', 'WebSocket connections open on this instance', (sources) => sources.openSockets());
    gauge(
      'chat_event_feed_lag',
      'Newest committed event position minus the newest this instance delivered to its subscribers',
      (sources) => sources.feedLag(),
    );
    gauge('chat_database_up', '1 when the database answers SELECT 1 in time', async (sources) =>
      (await sources.databaseUp()) ? 1 : 0,
    );
    gauge(
      'chat_redis_up',
      '1 when Redis is reachable (publisher and subscriber), 0 when not, -1 without Redis',
      (s) => {
        const up = s.redisUp();
        return up === null ? -1 : up ? 1 : 0;
      },
    );
    gauge('chat_sends_awaiting_commit', 'Sends on this instance waiting for their group commit, or in it', (sources) =>
      sources.sendsAwaitingCommit(),
    );
    gauge(
      'chat_push_queue_depth',
      'Push deliveries waiting to go out (due or retrying), -1 with push off',
      async (sources) => (await sources.pushQueueDepth()) ?? -1,
    );
  }

  /** The deliveries counter of one root field. */
  deliveriesOf(operation: string): { inc(): void } {
    let counter = this.deliveryCounters.get(operation);
    if (!counter) this.deliveryCounters.set(operation, (counter = this.deliveries.labels({ operation })));
    return counter;
  }

  /** Wired once the app's parts exist. */
  attach(sources: MetricsSources): void {
    this.sources = sources;
  }

  async render(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}

const rootFields = new WeakMap<DocumentNode, string>();

/** The first root field of the operation (`messageEvents`), the label of a subscription; cached per parsed document. */
export function rootFieldOf(document: DocumentNode, operationName?: string | null): string {
  const cached = rootFields.get(document);
  if (cached !== undefined) return cached;
  const selection = getOperationAST(document, operationName)?.selectionSet.selections[0];
  const field = selection?.kind === Kind.FIELD ? selection.name.value : 'unknown';
  rootFields.set(document, field);
  return field;
}

/** Whether the request carries `Authorization: Bearer <token>`; compared in constant time. */
function tokenMatches(request: IncomingMessage, token: string): boolean {
  const given = Buffer.from(request.headers.authorization ?? '');
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Answers GET /metrics. With a token, only a request bearing it (401 otherwise);
 * returns false for any other path so the caller serves it.
 */
export function handleMetricsRequest(
  metrics: Metrics,
  token: string | undefined,
  request: IncomingMessage,
  response: ServerResponse,
): boolean {
  if (new URL(request.url ?? '/', 'http://localhost').pathname !== METRICS_PATH) return false;
  if (token !== undefined && !tokenMatches(request, token)) {
    response.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
    return true;
  }
  metrics.render().then(
    ({ body, contentType }) => response.writeHead(200, { 'content-type': contentType }).end(body),
    () => response.writeHead(500).end(),
  );
  return true;
}

/** A listener of its own for /metrics (METRICS_PORT), away from the public port. */
export function createMetricsServer(metrics: Metrics, token: string | undefined): Server {
  return createServer((request, response) => {
    if (!handleMetricsRequest(metrics, token, request, response)) response.writeHead(404).end();
  });
}

/** Times sendMessage, over HTTP and WebSocket alike (both run through Yoga's envelop). */
export function useSendMetrics(metrics: Metrics): Plugin {
  return {
    onExecute({ args }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation !== 'mutation' || rootFieldOf(args.document, args.operationName) !== 'sendMessage') {
        return undefined;
      }
      const started = performance.now();
      return {
        onExecuteDone({ result }) {
          const failed = 'errors' in result && (result.errors?.length ?? 0) > 0;
          metrics.sendDuration.observe({ outcome: failed ? 'error' : 'ok' }, (performance.now() - started) / 1000);
        },
      };
    },
  };
}
