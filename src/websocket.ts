// GraphQL over WebSocket (graphql-ws) on the HTTP server's port and path,
// every operation routed through Yoga's envelop (parse, validate, context,
// execute, subscribe) so the plugins and limits that guard HTTP guard sockets too.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode, handleProtocols, makeServer, type WebSocket as GraphqlWsTransport } from 'graphql-ws';
import DataLoader from 'dataloader';
import type { ExecutionArgs } from 'graphql';
import { GraphQLError, getOperationAST } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import { In } from 'typeorm';
import { LRUCache } from 'lru-cache';
import { WebSocketServer, type WebSocket } from 'ws';
import { revokes } from './auth/sessions.js';
import { bearerToken } from './auth/tokens.js';
import { clientAddress } from './clientAddress.js';
import { type Context, releaseLoaders, type Services } from './context.js';
import { User } from './db/entities/index.js';
import { subscriptionStarts } from './realtime/startLimit.js';
import { tagErrorCodes } from './errorCodes.js';
import type { Logger } from './logger.js';
import { rootFieldOf } from './metrics.js';

/** ConnectionInit must arrive this soon after the socket opens (else 4408). */
export const CONNECTION_INIT_TIMEOUT_MS = 3_000;
/** Server pings this often; a peer that misses one round is dropped. */
export const KEEP_ALIVE_INTERVAL_MS = 12_000;
/** Largest incoming frame (the socket is closed with 1009 past it). */
export const MAX_FRAME_BYTES = 64 * 1024;
/** Active subscriptions one socket may hold. */
export const MAX_SUBSCRIPTIONS_PER_SOCKET = 100;
/** Bytes waiting to be sent to a peer before it counts as a slow consumer and is disconnected. */
export const MAX_BUFFERED_BYTES = 1024 * 1024;
/** Close code for a slow consumer: try again later (it resumes from its cursor). */
export const CLOSE_SLOW_CONSUMER = 1013;
/** Close code on shutdown: going away. */
export const CLOSE_GOING_AWAY = 1001;
/** How long a closing handshake may take before the socket is dropped. */
const CLOSE_GRACE_MS = 2_000;

/** graphql-transport-ws message types only a server sends. */
const SERVER_ONLY_MESSAGES = new Set<unknown>(['connection_ack', 'next', 'error', 'complete_from_server']);

/**
 * What the server keeps per socket, in graphql-ws's `extra`: the socket, the
 * client's address, its one timer, and once authenticated the viewer. Kept
 * small on purpose: an idle socket should cost little more than `ws` itself
 * (see docs/benchmarks.md).
 */
type Extra = {
  socket: WebSocket;
  clientIp: string;
  /** Names this socket's subscribe-rate bucket: a number unique in this process. */
  socketId: number;
  viewerId?: number;
  /** The session of the socket's token, once authenticated: revoking it closes the socket (4403). */
  sessionId?: string;
  /** Until ConnectionInit arrives, its deadline (4408); then the token's expiry (4403). */
  timer: NodeJS.Timeout;
};

let socketCount = 0;

/** Query texts kept for sharing (see sharedQueryText), and the longest one kept: at most 1 MB in all. */
const MAX_SHARED_QUERY_TEXTS = 256;
const MAX_SHARED_QUERY_LENGTH = 4_096;
const sharedQueryTexts = new LRUCache<string, string>({ max: MAX_SHARED_QUERY_TEXTS });

/**
 * One copy of a query text for every subscription that sends it: clients of
 * one app send the same few, and each subscription keeps its Subscribe
 * message, text included, for as long as it runs.
 */
function sharedQueryText(text: string): string {
  if (text.length > MAX_SHARED_QUERY_LENGTH) return text;
  const shared = sharedQueryTexts.get(text);
  if (shared !== undefined) return shared;
  sharedQueryTexts.set(text, text);
  return text;
}

/** The token of a ConnectionInit payload: {"authorization": "Bearer <token>"} or {"token": "<token>"}. */
function tokenOf(payload: Record<string, unknown> | undefined): string | null {
  if (!payload) return null;
  if (typeof payload.authorization === 'string') return bearerToken(payload.authorization);
  return typeof payload.token === 'string' ? payload.token : null;
}

/** What graphql-ws does when ConnectionInit is late. */
function closeInitTimedOut(socket: WebSocket): void {
  socket.close(CloseCode.ConnectionInitialisationTimeout, 'Connection initialisation timeout');
}

/**
 * The longest delay setTimeout takes (2^31-1 ms, about 24.8 days): a longer
 * one fires at once, which closed every socket of a TOKEN_TTL of 25 days or more.
 */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** Closes the socket with 4403 when its token expires, re-arming the timer until then if the expiry is beyond one timer's reach. */
function closeOnTokenExpiry(extra: Extra, expiresAtMs: number): void {
  const msLeft = expiresAtMs - Date.now();
  if (msLeft <= 0) return closeSocket(extra.socket, CloseCode.Forbidden, 'Token expired');
  const delay = Math.min(msLeft, MAX_TIMER_DELAY_MS);
  extra.timer = setTimeout(closeOnTokenExpiry, delay, extra, expiresAtMs).unref();
}

/**
 * Re-arms the expiry timer for a refreshed token of the same session, made by
 * a function for the reason given at slowConsumerCloser.
 */
function expiryRenewer(extra: Extra): (expiresAt: Date) => void {
  return (expiresAt) => {
    if (extra.socket.readyState !== extra.socket.OPEN) return;
    clearTimeout(extra.timer);
    closeOnTokenExpiry(extra, expiresAt.getTime());
  };
}

function closeSocket(socket: WebSocket, code: number, reason: string): void {
  if (socket.readyState === socket.CLOSED) return;
  socket.close(code, reason);
  setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
}

/** Thrown to end a subscription whose socket is closing; nothing is sent, as the socket sends no more. */
class SocketClosingError extends Error {
  override name = 'SocketClosingError';
}

const SENT = Promise.resolve();

/** graphql-ws's view of a `ws` socket: methods rather than closures, as there is one per socket. */
class GraphqlWsSocket implements GraphqlWsTransport {
  constructor(
    private readonly socket: WebSocket,
    private readonly logger: Logger,
  ) {}

  get protocol(): string {
    return this.socket.protocol;
  }

  /**
   * Queues the frame and returns at once rather than on the write callback:
   * graphql-ws awaits each send before the next event, and a turn of the event
   * loop per frame is most of a delivery's cost. A reader that falls behind
   * shows in bufferedAmount, and onNext closes it (1013).
   */
  send(data: string): Promise<void> {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(data);
    return SENT;
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  /** `handle` settles when the operation a message started ends: for a subscription, with the socket. */
  onMessage(handle: (data: string) => Promise<void>): void {
    this.socket.on('message', (data) => {
      handle(String(data)).catch((error: unknown) => {
        this.logger.error({ err: error }, 'websocket message handling failed');
        // Close reasons never carry internals.
        this.socket.close(CloseCode.InternalServerError, 'Internal server error');
      });
    });
  }
}

/**
 * Closes the socket as a slow consumer. Made by a function, not bound to
 * closeSocket: a bound copy of a function named by tsx (keepNames) carries a
 * property dictionary of its own.
 */
function slowConsumerCloser(socket: WebSocket): () => void {
  return () => closeSocket(socket, CLOSE_SLOW_CONSUMER, 'Slow consumer');
}

export type OriginPolicy = (origin: string | undefined, host: string | undefined) => boolean;

export type SocketServer = {
  /** Closes every socket with 1001 and stops accepting new ones. */
  close(): Promise<void>;
  openSockets(): number;
};

export function attachWebSocketServer(
  server: Server,
  yoga: YogaServerInstance<Record<string, unknown>, Record<string, unknown>>,
  services: Services,
  { path, originAllowed }: { path: string; originAllowed: OriginPolicy },
): SocketServer {
  // perMessageDeflate stays off (ws's default for servers): its zlib state costs
  // tens of KB per socket.
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, handleProtocols });
  const { realtime, tokens, logger, metrics } = services;
  let accepting = true;
  /** The delivery counter of each running subscription, by its Subscribe payload (which graphql-ws keeps as long). */
  const countedSubscriptions = new WeakMap<object, { operation: string; delivered: { inc(): void } }>();

  // Each user's authenticated sockets on this instance, so a revoked session's close at once (4403).
  const socketsByUser = new Map<number, Set<Extra>>();
  const stopRevocations = services.sessions.listen((revoked) => {
    for (const extra of socketsByUser.get(revoked.userId) ?? []) {
      if (revokes(revoked, extra.sessionId!)) closeSocket(extra.socket, CloseCode.Forbidden, 'Session ended');
    }
  });

  // Sockets authenticating in the same turn of the event loop check that their
  // users still exist in one query (a reconnect storm is thousands at once).
  // Nothing is cached: each check reads the database.
  const existingUsers = new DataLoader<number, boolean>(
    async (ids) => {
      const users = await services.dataSource.manager.find(User, { select: { id: true }, where: { id: In([...ids]) } });
      const found = new Set(users.map((user) => user.id));
      return ids.map((id) => found.has(id));
    },
    { cache: false, batchScheduleFn: (dispatch) => setImmediate(dispatch) },
  );

  const graphqlWs = makeServer<Record<string, unknown>, Extra>({
    // The ConnectionInit deadline is extra.timer: graphql-ws's own timer would
    // stay referenced, fired or not, for the socket's life.
    connectionInitWaitTimeout: 0,
    async onConnect(ctx) {
      const { extra } = ctx;
      clearTimeout(extra.timer); // ConnectionInit has arrived
      let claims;
      let userExists;
      try {
        // Checks the session too: a revoked token's socket is refused.
        claims = await tokens.verify(tokenOf(ctx.connectionParams) ?? '');
        userExists = claims !== null && (await existingUsers.load(claims.userId));
      } catch (error) {
        // The database is down: close with 4500 and a masked reason, not 4403,
        // so a client keeps its token and reconnects later.
        logger.error({ err: error }, 'could not authenticate a socket');
        throw new Error('Internal server error');
      }
      if (!claims || !userExists) return false; // graphql-ws closes with 4403 Forbidden
      // Closed while the token was checked: onClose has run already, so register nothing.
      if (extra.socket.readyState !== extra.socket.OPEN) return false;
      // The token is not needed again: graphql-ws would otherwise hold it for the socket's life.
      delete (ctx as { connectionParams?: unknown }).connectionParams;
      // From here onClose sees the viewer and undoes the presence registration below, whenever it closes.
      extra.viewerId = claims.userId;
      extra.sessionId = claims.sessionId;
      const userSockets = socketsByUser.get(claims.userId) ?? new Set<Extra>();
      socketsByUser.set(claims.userId, userSockets.add(extra));
      // The socket lives no longer than its token: the client reconnects with a fresh one.
      closeOnTokenExpiry(extra, claims.expiresAt.getTime());
      await realtime.presence.connected(claims.userId);
      return true;
    },
    async onClose({ extra }) {
      clearTimeout(extra.timer);
      if (!extra.viewerId) return;
      const userSockets = socketsByUser.get(extra.viewerId);
      userSockets?.delete(extra);
      if (userSockets?.size === 0) socketsByUser.delete(extra.viewerId);
      await realtime.presence.disconnected(extra.viewerId);
    },
    async onSubscribe(ctx, _id, payload) {
      const { extra } = ctx;
      const rate = services.rateLimiter.consumeLocally('subscribePerSocket', String(extra.socketId));
      if (!rate.allowed) {
        return [
          new GraphQLError('Too many subscriptions started; try again later.', {
            extensions: { code: 'RATE_LIMITED', retryAfterMs: rate.retryAfterMs },
          }),
        ];
      }
      // graphql-ws registers every operation in ctx.subscriptions (this one
      // included) until it completes or fails, so that is the count of active ones.
      if (Object.keys(ctx.subscriptions).length > MAX_SUBSCRIPTIONS_PER_SOCKET) {
        return [
          new GraphQLError(`At most ${MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions per connection.`, {
            extensions: { code: 'RATE_LIMITED', retryAfterMs: 1_000 },
          }),
        ];
      }
      (payload as { query: string }).query = sharedQueryText(payload.query);
      // Only what the context needs (see app.ts): every operation keeps its
      // context for as long as it runs, a subscription for the socket's life.
      const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
        params: payload,
        webSocket: {
          viewerId: extra.viewerId,
          sessionId: extra.sessionId,
          clientIp: extra.clientIp,
          disconnectSlowConsumer: slowConsumerCloser(extra.socket),
          renewSocketExpiry: expiryRenewer(extra),
        },
      });
      // Parse and validation errors, including the operation limits, which
      // throw from inside validation, answer this subscription only.
      let document;
      try {
        document = parse(payload.query);
      } catch (error) {
        if (!(error instanceof GraphQLError)) throw error;
        tagErrorCodes([error], 'GRAPHQL_PARSE_FAILED');
        return [error];
      }
      try {
        const errors = validate(schema, document);
        if (errors.length > 0) {
          tagErrorCodes(errors, 'GRAPHQL_VALIDATION_FAILED');
          return errors;
        }
      } catch (error) {
        if (!(error instanceof GraphQLError)) throw error;
        tagErrorCodes([error], 'GRAPHQL_VALIDATION_FAILED');
        return [error];
      }
      if (!getOperationAST(document, payload.operationName)) {
        return [
          new GraphQLError('No operation of that name in the document.', { extensions: { code: 'BAD_REQUEST' } }),
        ];
      }
      const args: ExecutionArgs & { rootValue: unknown } = {
        schema,
        operationName: payload.operationName,
        document,
        variableValues: payload.variables,
        contextValue: await contextFactory(),
        rootValue: { execute, subscribe },
      };
      return args;
    },
    onOperation(_ctx, _id, payload, args, result) {
      if (!(Symbol.asyncIterator in result)) return;
      const operation = rootFieldOf(args.document, args.operationName);
      metrics.subscriptions.inc({ operation });
      countedSubscriptions.set(payload, { operation, delivered: metrics.deliveries.labels({ operation }) });
    },
    onComplete(_ctx, _id, payload) {
      const counted = countedSubscriptions.get(payload);
      if (!counted) return;
      countedSubscriptions.delete(payload);
      metrics.subscriptions.dec({ operation: counted.operation });
    },
    onNext({ extra, subscriptions }, id, payload, _args, result) {
      countedSubscriptions.get(payload)?.delivered.inc();
      // The socket is closing: end a stream now (graphql-ws returns it when
      // this throws inside its loop, which stops a replay) rather than when
      // the close completes, which waits for every frame queued before it.
      // A single result (null here) has nothing to stop.
      if (extra.socket.readyState !== extra.socket.OPEN && subscriptions[id]) throw new SocketClosingError();
      // E.g. a variable of the wrong type in a mutation sent over the socket.
      tagErrorCodes(result.errors);
      if (extra.socket.bufferedAmount > MAX_BUFFERED_BYTES) {
        closeSocket(extra.socket, CLOSE_SLOW_CONSUMER, 'Slow consumer');
      }
    },
    // A client sending frames only a server may send (next, connection_ack, …) gets 4400 Bad Request.
    jsonMessageReviver(key, value) {
      if (
        key === '' &&
        value &&
        typeof value === 'object' &&
        SERVER_ONLY_MESSAGES.has((value as { type?: unknown }).type)
      ) {
        throw new Error('Message type reserved for the server');
      }
      return value;
    },
    execute: (args) => (args.rootValue as { execute: (a: ExecutionArgs) => unknown }).execute(args) as never,
    async subscribe(args) {
      const { subscribe } = args.rootValue as { subscribe: (a: ExecutionArgs) => unknown };
      // Counted against the process's limit on starts (realtime/startLimit.ts).
      const stream = await subscriptionStarts(async () => subscribe(args));
      // The stream has started: its own loaders are not needed again (each
      // event is resolved on fresh ones), so they are not kept for its life.
      releaseLoaders(args.contextValue as Context);
      return stream as never;
    },
  });

  // One keep-alive round for every socket rather than a timer per socket: a
  // socket that has not answered the previous round's ping is dropped.
  const awaitingPong = new Set<WebSocket>();
  const keepAlive = setInterval(() => {
    for (const socket of wss.clients) {
      if (awaitingPong.has(socket)) {
        socket.terminate();
      } else if (socket.readyState === socket.OPEN) {
        awaitingPong.add(socket);
        socket.ping();
      }
    }
  }, KEEP_ALIVE_INTERVAL_MS).unref();
  function ponged(this: WebSocket) {
    awaitingPong.delete(this);
  }
  // Malformed frames (bad UTF-8, oversized, bad opcodes) make `ws` emit an error
  // and close the socket with the right code itself: note them, quietly, so
  // no client can flood the server's output.
  function protocolError(error: Error) {
    logger.debug({ err: error.message }, 'websocket protocol error');
  }

  /**
   * graphql-ws's server on a `ws` socket. Written here rather than using
   * graphql-ws/use/ws, which keeps per socket the upgrade request (all its
   * headers) and a keep-alive timer, and, for as long as each subscription
   * runs, the frame that started it.
   */
  function serve(socket: WebSocket, clientIp: string): void {
    socket.on('error', protocolError);
    socket.on('pong', ponged);
    const closed = graphqlWs.opened(new GraphqlWsSocket(socket, logger), {
      socket,
      clientIp,
      socketId: ++socketCount,
      timer: setTimeout(closeInitTimedOut, CONNECTION_INIT_TIMEOUT_MS, socket),
    });
    socket.on('close', (code, reason) => {
      awaitingPong.delete(socket);
      closed(code, String(reason)).catch((error: unknown) => logger.error({ err: error }, 'websocket close failed'));
    });
  }

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (!accepting || pathname !== path) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    // Refused before the upgrade: a page on another site must not use a visitor's token.
    if (!originAllowed(request.headers.origin, request.headers.host)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    const ip = clientAddress(
      request.socket.remoteAddress,
      request.headers['x-forwarded-for'],
      services.config.trustProxyHops,
    );
    // A client opening sockets in a loop is refused before the upgrade.
    services.rateLimiter.consume('connectPerIp', ip).then(
      () => wss.handleUpgrade(request, socket, head, (webSocket) => serve(webSocket, ip)),
      () => socket.end('HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\n\r\n'),
    );
  });

  return {
    async close() {
      accepting = false;
      stopRevocations();
      clearInterval(keepAlive);
      for (const client of wss.clients) closeSocket(client, CLOSE_GOING_AWAY, 'Server shutting down');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      logger.debug('websocket server closed');
    },
    openSockets: () => wss.clients.size,
  };
}
