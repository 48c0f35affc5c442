// WebSocket helpers: a real graphql-ws client (on `ws`), the sockets of a test
// closed after it, subscriptions that collect what arrives, and a raw socket
// for protocol-level tests.
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { withTimeout } from './wait.js';

export function wsUrl(graphqlUrl: string): string {
  return graphqlUrl.replace(/^http/, 'ws');
}

/** A connected graphql-ws client that does not retry: tests reconnect on purpose. */
export function connect(graphqlUrl: string, token: string | null, options: { lazy?: boolean } = {}): Client {
  return createClient({
    url: wsUrl(graphqlUrl),
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    lazy: options.lazy ?? true,
    retryAttempts: 0,
  });
}

/** How long a socket may take to be acknowledged, or to close. */
const SOCKET_TIMEOUT_MS = 10_000;

export type OpenSocket = {
  /** Disposes the client and resolves once its socket has closed. */
  close(): Promise<void>;
};

/**
 * The sockets a test file opens, each disposed by closeAll() whatever the
 * test did: wire it to `afterEach(() => sockets.closeAll())`.
 */
export function sockets() {
  const clients: Client[] = [];
  return {
    /** A lazy graphql-ws client. */
    socketClient(graphqlUrl: string, token: string | null): Client {
      const client = connect(graphqlUrl, token);
      clients.push(client);
      return client;
    },
    /** An authenticated socket, acknowledged (the user is online) when this resolves. */
    async openSocket(graphqlUrl: string, user: { token: string }): Promise<OpenSocket> {
      const client = connect(graphqlUrl, user.token, { lazy: false });
      clients.push(client);
      const closed = new Promise<void>((resolve) => client.on('closed', () => resolve()));
      await withTimeout(
        new Promise<void>((resolve) => client.on('connected', () => resolve())),
        SOCKET_TIMEOUT_MS,
        'ConnectionAck',
      );
      return {
        async close() {
          await client.dispose();
          await withTimeout(closed, SOCKET_TIMEOUT_MS, 'the socket to close');
        },
      };
    },
    async closeAll(): Promise<void> {
      await Promise.allSettled(clients.splice(0).map((client) => client.dispose()));
    },
  };
}

export type Collector<T = any> = {
  /** Every `data` received, in order. */
  events: T[];
  errors: unknown[];
  done: boolean;
  /** Resolves once `count` events arrived (rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<T[]>;
  /** Resolves once an event matches (rejects after `timeoutMs`). */
  waitUntil(predicate: (event: T) => boolean, timeoutMs?: number): Promise<T>;
  /** Resolves when the subscription ends with an error or completes. */
  ended(timeoutMs?: number): Promise<void>;
  stop(): void;
};

const DEFAULT_WAIT_MS = 15_000;

export function subscribe<T = any>(
  client: Client,
  query: string,
  variables: Record<string, unknown> = {},
): Collector<T> {
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const waiter of [...waiters]) waiter();
  };
  const collector: Collector<T> = {
    events: [],
    errors: [],
    done: false,
    waitFor: (count, timeoutMs) =>
      until(() => collector.events.length >= count, timeoutMs, `${count} events`).then(() =>
        collector.events.slice(0, count),
      ),
    waitUntil: (predicate, timeoutMs) =>
      until(() => collector.events.some(predicate), timeoutMs, 'a matching event').then(() =>
        collector.events.find(predicate)!,
      ),
    ended: (timeoutMs) => until(() => collector.done, timeoutMs, 'the end of the subscription'),
    stop: () => unsubscribe(),
  };
  function until(condition: () => boolean, timeoutMs = DEFAULT_WAIT_MS, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!condition()) return false;
        clearTimeout(timer);
        waiters.delete(check as () => void);
        resolve();
        return true;
      };
      const timer = setTimeout(() => {
        waiters.delete(check as () => void);
        reject(
          new Error(
            `timed out waiting for ${what}; got ${collector.events.length} events, errors ${JSON.stringify(collector.errors)}`,
          ),
        );
      }, timeoutMs);
      if (!check()) waiters.add(check as () => void);
    });
  }
  const unsubscribe = client.subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        if (result.errors) collector.errors.push(...result.errors);
        if (result.data) collector.events.push(result.data as T);
        notify();
      },
      error: (error) => {
        collector.errors.push(error);
        collector.done = true;
        notify();
      },
      complete: () => {
        collector.done = true;
        notify();
      },
    },
  );
  return collector;
}

/** A bare socket speaking the graphql-transport-ws subprotocol, for close codes and malformed frames. */
export async function rawSocket(
  graphqlUrl: string,
  headers: Record<string, string> = {},
): Promise<{ socket: WebSocket; closed: Promise<{ code: number; reason: string }>; send(message: unknown): void }> {
  const socket = new WebSocket(wsUrl(graphqlUrl), 'graphql-transport-ws', { headers });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return {
    socket,
    closed,
    send: (message) => socket.send(typeof message === 'string' ? message : JSON.stringify(message)),
  };
}

/**
 * Repeats `trigger` until the subscription shows an event: graphql-ws does
 * not confirm that a subscription is live, so a test that must not miss the
 * first event of a stream without resume (typing, presence) primes it this way.
 */
export async function untilLive(collector: Collector, trigger: () => Promise<unknown>, attempts = 50): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const before = collector.events.length;
    await trigger();
    try {
      await collector.waitFor(before + 1, 300);
      return;
    } catch {
      // not live yet
    }
  }
  throw new Error('subscription never became live');
}
