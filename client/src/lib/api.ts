// The urql client: queries and mutations over HTTP, subscriptions over one
// graphql-ws socket that reconnects with backoff and always sends the current token.
import { Client, fetchExchange, subscriptionExchange } from '@urql/core';
import { CloseCode, createClient as createWsClient, type Client as WsClient } from 'graphql-ws';

export const GRAPHQL_PATH = '/graphql';
/** Reconnect backoff: 0.5 s, 1 s, 2 s, 4 s, then every 8 s, each with up to 1 s of jitter. */
const RETRY_BASE_MS = 500;
const RETRY_MAX_MS = 8_000;
const RETRY_JITTER_MS = 1_000;
/** Ping the server when it has been quiet this long, to notice a dead connection. */
const KEEP_ALIVE_MS = 10_000;

export type ConnectionListener = {
  /** The socket (re)connected; `wasRetry` after a drop. */
  connected(wasRetry: boolean): void;
  /** The socket closed; subscriptions are being re-established. */
  closed(): void;
  /** The server refused the token (expired or revoked). */
  forbidden(): void;
};

export type Api = { client: Client; socket: WsClient; dispose(): void };

function webSocketUrl(): string {
  const url = new URL(GRAPHQL_PATH, window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

export function createApi(getToken: () => string | null, listener: ConnectionListener): Api {
  let forbidden = false;
  const socket = createWsClient({
    url: webSocketUrl(),
    // A function: every reconnect sends the token as it is then.
    connectionParams: () => {
      const token = getToken();
      return token ? { authorization: `Bearer ${token}` } : {};
    },
    lazy: true,
    keepAlive: KEEP_ALIVE_MS,
    retryAttempts: Infinity,
    shouldRetry: () => !forbidden,
    retryWait: async (retries) => {
      const delay = Math.min(RETRY_BASE_MS * 2 ** retries, RETRY_MAX_MS) + Math.random() * RETRY_JITTER_MS;
      await new Promise((resolve) => setTimeout(resolve, delay));
    },
    on: {
      connected: (_socket, _payload, wasRetry) => listener.connected(wasRetry),
      closed: (event) => {
        if ((event as CloseEvent | undefined)?.code === CloseCode.Forbidden) {
          forbidden = true;
          listener.forbidden();
        } else {
          listener.closed();
        }
      },
    },
  });

  const client = new Client({
    url: GRAPHQL_PATH,
    exchanges: [
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? '' };
          return {
            subscribe(sink) {
              return { unsubscribe: socket.subscribe(input, sink) };
            },
          };
        },
      }),
    ],
    fetchOptions: () => {
      const token = getToken();
      return token ? { headers: { authorization: `Bearer ${token}` } } : {};
    },
    // Every read goes to the server: live state is kept by the app from events, not by a document cache.
    requestPolicy: 'network-only',
    // POST with a JSON body even for queries: the server's CSRF protection refuses header-less GETs.
    preferGetMethod: false,
  });

  return {
    client,
    socket,
    dispose() {
      forbidden = true;
      void socket.dispose();
    },
  };
}
