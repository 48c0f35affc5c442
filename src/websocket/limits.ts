// What one socket may do and hold, and what happens past it: the numbers are
// here, next to the checks that enforce them, so a limit changes in one place.
// The frame size is enforced by `ws` itself (index.ts passes MAX_FRAME_BYTES),
// the keep-alive by one timer for every socket (a timer per socket costs its
// socket about 100 bytes and a timer-list entry, for nothing).
import { GraphQLError } from 'graphql';
import type { WebSocketServer, WebSocket } from 'ws';
import type { Services } from '../context.js';

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
export const CLOSE_GRACE_MS = 2_000;

/**
 * Why a new operation on this socket is refused, or null: the per-socket
 * subscribe rate, then the number running. `running` counts the operation
 * being started too (it is registered before its checks, as graphql-ws did).
 */
export function refuseOperation(services: Services, socketId: number, running: number): GraphQLError[] | null {
  const rate = services.rateLimiter.consumeLocally('subscribePerSocket', String(socketId));
  if (!rate.allowed) {
    return [
      new GraphQLError('Too many subscriptions started; try again later.', {
        extensions: { code: 'RATE_LIMITED', retryAfterMs: rate.retryAfterMs },
      }),
    ];
  }
  if (running > MAX_SUBSCRIPTIONS_PER_SOCKET) {
    return [
      new GraphQLError(`At most ${MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions per connection.`, {
        extensions: { code: 'RATE_LIMITED', retryAfterMs: 1_000 },
      }),
    ];
  }
  return null;
}

/** Closes with `code`, and drops the socket if the peer does not finish the closing handshake in time. */
export function closeSocket(socket: WebSocket, code: number, reason: string): void {
  if (socket.readyState === socket.CLOSED) return;
  socket.close(code, reason);
  setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
}

/**
 * One keep-alive round for every socket rather than a timer per socket: a
 * socket that has not answered the previous round's ping is dropped.
 * Returns how to stop it.
 */
export function startKeepAlive(wss: WebSocketServer): {
  ponged(socket: WebSocket): void;
  stop(): void;
} {
  // Weak, so a closed socket leaves with its garbage: no close listener per socket.
  const awaitingPong = new WeakSet<WebSocket>();
  const timer = setInterval(() => {
    for (const socket of wss.clients) {
      if (awaitingPong.has(socket)) {
        socket.terminate();
      } else if (socket.readyState === socket.OPEN) {
        awaitingPong.add(socket);
        socket.ping();
      }
    }
  }, KEEP_ALIVE_INTERVAL_MS).unref();
  return {
    ponged: (socket) => awaitingPong.delete(socket),
    stop: () => clearInterval(timer),
  };
}
