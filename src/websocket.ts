// GraphQL over WebSocket (graphql-ws) on the HTTP server's port and path,
// every operation routed through Yoga's envelop (parse, validate, context,
// execute, subscribe) so the plugins and limits that guard HTTP guard sockets too.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { ExecutionArgs } from 'graphql';
import { GraphQLError, getOperationAST } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer, type WebSocket } from 'ws';
import { bearerToken } from './auth/tokens.js';
import { clientAddress } from './clientAddress.js';
import type { Services } from './context.js';
import { User } from './db/entities/index.js';
import { tagErrorCodes } from './errorCodes.js';

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

/** What the server keeps per socket, in graphql-ws's `extra`. */
type SocketState = {
  viewerId?: number;
  clientIp: string;
  /** Names this socket's subscribe-rate bucket. */
  socketId: string;
  subscriptions: Set<string>;
  expiryTimer?: NodeJS.Timeout;
};

type Extra = { socket: WebSocket; request: IncomingMessage; state?: SocketState };

/** The token of a ConnectionInit payload: {"authorization": "Bearer <token>"} or {"token": "<token>"}. */
function tokenOf(payload: Record<string, unknown> | undefined): string | null {
  if (!payload) return null;
  if (typeof payload.authorization === 'string') return bearerToken(payload.authorization);
  return typeof payload.token === 'string' ? payload.token : null;
}

function closeSocket(socket: WebSocket, code: number, reason: string): void {
  if (socket.readyState === socket.CLOSED) return;
  socket.close(code, reason);
  setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
}

export type OriginPolicy = (origin: string | undefined, host: string | undefined) => boolean;

export type SocketServer = {
  /** Closes every socket with 1001 and stops accepting new ones. */
  close(): Promise<void>;
};

export function attachWebSocketServer(
  server: Server,
  yoga: YogaServerInstance<Record<string, unknown>, Record<string, unknown>>,
  services: Services,
  { path, originAllowed }: { path: string; originAllowed: OriginPolicy },
): SocketServer {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  let accepting = true;

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
      () => wss.handleUpgrade(request, socket, head, (webSocket) => wss.emit('connection', webSocket, request)),
      () => socket.end('HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\n\r\n'),
    );
  });

  const { realtime, tokens, logger } = services;

  const disposable = useServer<Record<string, unknown>, { state: SocketState }>(
    {
      connectionInitWaitTimeout: CONNECTION_INIT_TIMEOUT_MS,
      async onConnect(ctx) {
        const extra = ctx.extra as Extra;
        const claims = await tokens.verify(tokenOf(ctx.connectionParams) ?? '');
        let user;
        try {
          user = claims ? await services.dataSource.manager.findOneBy(User, { id: claims.userId }) : null;
        } catch (error) {
          // The database is down: close with 4500 and a masked reason (isProd below), not 4403,
          // so a client keeps its token and reconnects later.
          logger.error({ err: error }, 'could not authenticate a socket');
          throw new Error('Internal server error');
        }
        if (!claims || !user) return false; // graphql-ws closes with 4403 Forbidden
        // Closed while the token was checked: onClose has run already, so register nothing.
        if (extra.socket.readyState !== extra.socket.OPEN) return false;
        // From here onClose sees the viewer and undoes the presence registration below, whenever it closes.
        const state: SocketState = {
          viewerId: user.id,
          clientIp: clientAddress(
            extra.request.socket.remoteAddress,
            extra.request.headers['x-forwarded-for'],
            services.config.trustProxyHops,
          ),
          socketId: randomUUID(),
          subscriptions: new Set(),
        };
        extra.state = state;
        // The socket lives no longer than its token: the client reconnects with a fresh one.
        const msLeft = claims.expiresAt.getTime() - Date.now();
        state.expiryTimer = setTimeout(() => closeSocket(extra.socket, CloseCode.Forbidden, 'Token expired'), msLeft);
        state.expiryTimer.unref();
        await realtime.presence.connected(user.id);
        return true;
      },
      async onClose(ctx) {
        const state = (ctx.extra as Extra).state;
        if (!state?.viewerId) return;
        clearTimeout(state.expiryTimer);
        await realtime.presence.disconnected(state.viewerId);
      },
      async onSubscribe(ctx, id, payload) {
        const extra = ctx.extra as Extra;
        const state = extra.state!;
        const rate = services.rateLimiter.consumeLocally('subscribePerSocket', state.socketId);
        if (!rate.allowed) {
          return [
            new GraphQLError('Too many subscriptions started; try again later.', {
              extensions: { code: 'RATE_LIMITED', retryAfterMs: rate.retryAfterMs },
            }),
          ];
        }
        if (state.subscriptions.size >= MAX_SUBSCRIPTIONS_PER_SOCKET) {
          return [
            new GraphQLError(`At most ${MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions per connection.`, {
              extensions: { code: 'RATE_LIMITED', retryAfterMs: 1_000 },
            }),
          ];
        }
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: extra.request,
          socket: extra.socket,
          params: payload,
          webSocket: {
            viewerId: state.viewerId,
            clientIp: state.clientIp,
            disconnectSlowConsumer: () => closeSocket(extra.socket, CLOSE_SLOW_CONSUMER, 'Slow consumer'),
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
        state.subscriptions.add(id);
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
      onNext(ctx, _id, _payload, _args, result) {
        // E.g. a variable of the wrong type in a mutation sent over the socket.
        tagErrorCodes(result.errors);
        const socket = (ctx.extra as Extra).socket;
        if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
          closeSocket(socket, CLOSE_SLOW_CONSUMER, 'Slow consumer');
        }
      },
      // A subscription ends by completing or with an error; either frees its slot.
      onComplete(ctx, id) {
        (ctx.extra as Extra).state?.subscriptions.delete(id);
      },
      onError(ctx, id) {
        (ctx.extra as Extra).state?.subscriptions.delete(id);
      },
      // Close reasons and errors never carry internals, whatever NODE_ENV says.
      isProd: true,
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
      subscribe: (args) => (args.rootValue as { subscribe: (a: ExecutionArgs) => unknown }).subscribe(args) as never,
    },
    wss,
    KEEP_ALIVE_INTERVAL_MS,
  );

  // Malformed frames (bad UTF-8, oversized, bad opcodes) make `ws` emit an error
  // and close the socket with the right code itself; graphql-ws would also print
  // each one with console.error, letting any client flood the server's output.
  wss.on('connection', (socket) => {
    socket.removeAllListeners('error');
    socket.on('error', (error) => logger.debug({ err: error.message }, 'websocket protocol error'));
  });

  return {
    async close() {
      accepting = false;
      for (const client of wss.clients) closeSocket(client, CLOSE_GOING_AWAY, 'Server shutting down');
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      logger.debug('websocket server closed');
    },
  };
}
