import { RequestCache } from '@pothos/plugin-scope-auth';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { DataSource } from 'typeorm';
import type { AssistantService } from './assistant/index.js';
import type { Sessions } from './auth/sessions.js';
import type { StagedUploads } from './attachments/multipart.js';
import type { BotService } from './bots/index.js';
import type { AttachmentService } from './attachments/service.js';
import type { TokenService } from './auth/tokens.js';
import type { Config } from './config.js';
import { Loaders } from './db/loaders.js';
import type { Logger } from './logger.js';
import type { PushService } from './push/index.js';
import type { Metrics } from './metrics.js';
import type { RateLimiter } from './rateLimit.js';
import type { Realtime } from './realtime/index.js';
import type { ResultSink } from './realtime/sharedExecution.js';

/** What the app builds once at start and every request shares. */
export type Services = {
  config: Config;
  dataSource: DataSource;
  tokens: TokenService;
  sessions: Sessions;
  logger: Logger;
  realtime: Realtime;
  rateLimiter: RateLimiter;
  push: PushService;
  attachments: AttachmentService;
  metrics: Metrics;
  bots: BotService;
  assistant: AssistantService;
};

export type Viewer = { id: number };

/** One read-only object per operation. */
export type Context = Services & {
  /** Resolvers read `viewer.id` while resolving, never a copy taken earlier: only that read keeps a subscription result from being shared with other viewers (realtime/sharedExecution.ts). */
  viewer: Viewer | null;
  /** The session of the token the operation came with (auth/sessions.ts); null without a viewer. */
  sessionId: string | null;
  loaders: Loaders;
  /** The client's address (see clientAddress.ts), for per-IP limits. */
  clientIp: string;
  /** On a WebSocket: disconnects a subscriber that fell too far behind (it resumes from its cursor). */
  disconnectSlowConsumer?: () => void;
  /** On a WebSocket: the socket goes on under a refreshed token's expiry (refreshToken). */
  renewSocketExpiry?: (expiresAt: Date) => void;
  /** On a WebSocket: where a subscription's results go without an iterator (realtime/sharedExecution.ts). */
  resultSink?: ResultSink;
  /** The files of a multipart request, by the token in their File variables. */
  uploads?: StagedUploads;
};

/**
 * Resolves the caller from a bearer token. No user query: a token counts only
 * while its session row is live (auth/sessions.ts), and that row references
 * its user, so a user who no longer exists has no live session.
 */
export async function createContext(services: Services, token: string | null, clientIp: string): Promise<Context> {
  const claims = token ? await services.tokens.verify(token) : null;
  const viewer = claims ? { id: claims.userId } : null;
  return {
    ...services,
    viewer,
    sessionId: claims ? claims.sessionId : null,
    loaders: newLoaders(services, viewer),
    clientIp,
  };
}

/**
 * The context of one operation on an authenticated WebSocket (the token was
 * checked at ConnectionInit). The services are its prototype, not copied in:
 * a subscription keeps its context for the socket's life, and a copy of every
 * service made each one a 25-property object in V8's dictionary mode (about
 * 0.9 KB per idle socket); this one holds its own fields only. Its own
 * properties are not a whole Context: spread it only over the services.
 */
export function createSocketContext(
  services: Services,
  {
    viewerId,
    sessionId,
    clientIp,
    disconnectSlowConsumer,
    renewSocketExpiry,
    resultSink,
  }: {
    viewerId: number;
    sessionId: string;
    clientIp: string;
    disconnectSlowConsumer: () => void;
    renewSocketExpiry: (expiresAt: Date) => void;
    resultSink: ResultSink;
  },
): Context {
  const viewer = { id: viewerId };
  const own: Omit<Context, keyof Services> = {
    viewer,
    sessionId,
    loaders: newLoaders(services, viewer),
    clientIp,
    disconnectSlowConsumer,
    renewSocketExpiry,
    resultSink,
  };
  return Object.assign(Object.create(services) as Services, own);
}

/** Whether `context` is one createSocketContext made on these services (already whole). */
export function isSocketContext(services: Services, context: object): boolean {
  return Object.getPrototypeOf(context) === services;
}

/**
 * Lets go of what an operation cached while it ran: its loaders (a later use
 * builds fresh ones) and Pothos's auth cache for the context. Called once an
 * operation is done (useOperationStateRelease), once a subscription has
 * started (it keeps its context for the socket's life, but each event is
 * resolved on a fresh one) and after each event's execution
 * (realtime/sharedExecution.ts).
 *
 * Why not leave it to the garbage collector: Pothos keeps the auth cache in a
 * WeakMap keyed by the context, and the cached value references the context.
 * V8's scavenger cannot free such an entry, whose value keeps its own key
 * alive, so every operation's context, with its loaders and the rows they
 * read, was promoted to the old generation, and freed only by the next full
 * GC: 15 KB per message in the WebSocket throughput bench (docs/benchmarks.md).
 */
export function releaseOperationState(context: Context): void {
  context.loaders.release();
  RequestCache.clearForContext(context);
}

/** Releases each query's and mutation's state (releaseOperationState) once its result is ready. */
export function useOperationStateRelease(): Plugin<Context> {
  return {
    onExecute: ({ args }) => ({
      onExecuteDone({ result }) {
        const release = () => releaseOperationState(args.contextValue);
        if (!isAsyncIterable(result)) return release();
        return { onEnd: release }; // results delivered in parts (@defer, @stream) read on to the last
      },
    }),
  };
}

export function newLoaders(services: Services, viewer: Viewer | null): Loaders {
  return new Loaders(services.dataSource, viewer, services.realtime.presence);
}
