// GraphQL over WebSocket on the HTTP server's port and path: the upgrade
// (path, Origin, per-IP connect rate), the `ws` server, keep-alive and
// shutdown. What happens on a socket after that is protocol.ts's; who is on
// it, session.ts's; what it may do, limits.ts's; how results reach it,
// delivery.ts and frames.ts.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { handleProtocols } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { clientAddress } from '../clientAddress.js';
import type { Services } from '../context.js';
import { CLOSE_GOING_AWAY, MAX_FRAME_BYTES, closeSocket, startKeepAlive } from './limits.js';
import { serveConnection } from './protocol.js';
import type { Yoga } from './operations.js';
import { SocketSessions } from './session.js';

export {
  CLOSE_GOING_AWAY,
  CLOSE_SLOW_CONSUMER,
  CONNECTION_INIT_TIMEOUT_MS,
  KEEP_ALIVE_INTERVAL_MS,
  MAX_BUFFERED_BYTES,
  MAX_FRAME_BYTES,
  MAX_SUBSCRIPTIONS_PER_SOCKET,
} from './limits.js';

export type OriginPolicy = (origin: string | undefined, host: string | undefined) => boolean;

export type SocketServer = {
  /** Closes every socket with 1001 and stops accepting new ones. */
  close(): Promise<void>;
  openSockets(): number;
};

export function attachWebSocketServer(
  server: Server,
  yoga: Yoga,
  services: Services,
  { path, originAllowed }: { path: string; originAllowed: OriginPolicy },
): SocketServer {
  // perMessageDeflate stays off (ws's default for servers): its zlib state costs
  // tens of KB per socket.
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, handleProtocols });
  const { logger } = services;
  const sessions = new SocketSessions(services);
  const protocol = { yoga, services, sessions, logger };
  const keepAlive = startKeepAlive(wss);
  let accepting = true;

  function ponged(this: WebSocket) {
    keepAlive.ponged(this);
  }
  // Malformed frames (bad UTF-8, oversized, bad opcodes) make `ws` emit an error
  // and close the socket with the right code itself: note them, quietly, so
  // no client can flood the server's output.
  function protocolError(error: Error) {
    logger.debug({ err: error.message }, 'websocket protocol error');
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
      () =>
        wss.handleUpgrade(request, socket, head, (webSocket) => {
          webSocket.on('error', protocolError);
          webSocket.on('pong', ponged);
          serveConnection(protocol, webSocket, ip);
        }),
      () => socket.end('HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\n\r\n'),
    );
  });

  return {
    async close() {
      accepting = false;
      sessions.stop();
      keepAlive.stop();
      for (const client of wss.clients) closeSocket(client, CLOSE_GOING_AWAY, 'Server shutting down');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      logger.debug('websocket server closed');
    },
    openSockets: () => wss.clients.size,
  };
}
