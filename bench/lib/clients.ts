// The generator's clients, one interface over two kinds of target:
// - GraphQL targets (our server on SQLite or MySQL, the naive reference):
//   HTTP POST /graphql and the graphql-transport-ws protocol over `ws`;
// - the ws ceiling: rooms on a bare `ws` server that relays frames verbatim.
//
// The WebSocket client is a lean implementation of graphql-transport-ws
// (connection_init/ack, ping/pong, subscribe/next/error/complete) rather than
// graphql-ws's createClient: it takes the receive time before anything else
// and does less per frame, so the generator saturates later.
import { Agent, request } from 'node:http';
import WebSocket from 'ws';

export const OPERATIONS = {
  signUp: `mutation BenchSignUp($input: SignUpInput!) { signUp(input: $input) { token user { id username } } }`,
  logIn: `mutation BenchLogIn($input: LogInInput!) { logIn(input: $input) { token user { id username } } }`,
  createGroup: `mutation BenchCreateGroup($input: CreateGroupInput!) { createGroupConversation(input: $input) { id } }`,
  openDirect: `mutation BenchOpenDirect($userId: ID!) { openDirectConversation(userId: $userId) { id } }`,
  send: `mutation BenchSend($input: SendMessageInput!) { sendMessage(input: $input) { id createdAt } }`,
  feed: `subscription BenchFeed($conversationId: ID!) { messageEvents(conversationId: $conversationId) { kind cursor message { id body createdAt sender { id username } } } }`,
  conversations: `query BenchConversations { conversations(first: 50) { edges { node { id title } } } }`,
  history: `query BenchHistory($conversationId: ID!, $first: Int, $last: Int, $before: String) { messages(conversationId: $conversationId, first: $first, last: $last, before: $before) { edges { cursor node { id body createdAt sender { id username } } } pageInfo { hasPreviousPage hasNextPage startCursor endCursor } eventCursor } }`,
} as const;

export type TargetKind = 'graphql' | 'ceiling';

export type Identity = { username: string; token: string; userId: string };

/** A message body as the generator received it, with the receive time taken first thing. */
export type BodyHandler = (body: string, receivedNs: bigint) => void;

export type Socket = {
  /** Receives the channel's messages (a subscription, or joining a ceiling room). */
  listen(channel: string, onBody: BodyHandler, onError: (error: unknown) => void): void;
  /** Sends one message and resolves when the server answered (mutation result, or the ceiling's ack). */
  send(channel: string, body: string): Promise<void>;
  /** The close code once the socket closed, null while open. */
  closeCode(): number | null;
  close(): void;
};

export type Client = {
  kind: TargetKind;
  /** Creates n users and returns their tokens. */
  users(count: number, prefix: string): Promise<Identity[]>;
  logIn(username: string, password: string): Promise<Identity>;
  /** A group of the owner and the members; returns its channel (conversation id or room). */
  group(owner: Identity, members: Identity[], title: string): Promise<string>;
  direct(a: Identity, b: Identity): Promise<string>;
  /** An open, authenticated socket (connection_ack received). */
  socket(identity: Identity): Promise<Socket>;
  /** Sends one message over HTTP and resolves with the server's answer. */
  sendHttp(identity: Identity, channel: string, body: string): Promise<void>;
  /** A GraphQL query over HTTP: the data, or a thrown error. */
  query<T = any>(query: string, variables: Record<string, unknown>, token?: string): Promise<T>;
  /** The same, with the server's own time from its Server-Timing header (null when it sends none). */
  timedQuery<T = any>(
    query: string,
    variables: Record<string, unknown>,
    token?: string,
  ): Promise<{ data: T; serverMs: number | null }>;
  close(): void;
};

export const BENCH_PASSWORD = 'bench-password-1';

export class GraphQLRequestError extends Error {
  override name = 'GraphQLRequestError';
}

/**
 * One HTTP POST of a JSON body over a keep-alive agent; resolves with the
 * status and the body text. A request written on a kept-alive connection that
 * the server closed meanwhile (its idle timeout) never reached the server:
 * it is sent again once on a fresh connection, as Node's documentation advises.
 */
/** The `dur` of a `Server-Timing: total;dur=<ms>` header. */
function serverTiming(header: string | undefined): number | null {
  const match = header ? /(?:^|,)\s*total;dur=([\d.]+)/.exec(header) : null;
  return match ? Number(match[1]) : null;
}

function post(
  agent: Agent,
  url: URL,
  body: string,
  headers: Record<string, string>,
  retried = false,
): Promise<{ status: number; text: string; serverMs: number | null }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString(),
            serverMs: serverTiming(String(res.headers['server-timing'] ?? '')),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (!retried && req.reusedSocket && error.code === 'ECONNRESET') {
        post(agent, url, body, headers, true).then(resolve, reject);
      } else reject(error);
    });
    req.end(body);
  });
}

type Sink = {
  next(payload: any, receivedNs: bigint): void;
  error(errors: unknown): void;
  complete(): void;
};

/** A graphql-transport-ws connection. */
export class GqlSocket {
  private nextId = 0;
  private readonly sinks = new Map<string, Sink>();
  private code: number | null = null;

  private constructor(private readonly ws: WebSocket) {}

  static connect(url: string, connectionParams: Record<string, unknown>, timeoutMs = 30_000): Promise<GqlSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false });
      const socket = new GqlSocket(ws);
      let acked = false;
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`no connection_ack within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: connectionParams })));
      ws.on('error', (error) => {
        if (!acked) {
          clearTimeout(timer);
          reject(error);
        }
      });
      ws.on('close', (code) => {
        socket.code = code;
        for (const sink of socket.sinks.values()) sink.error(new Error(`socket closed with ${code}`));
        socket.sinks.clear();
        if (!acked) {
          clearTimeout(timer);
          reject(new Error(`socket closed with ${code} before connection_ack`));
        }
      });
      ws.on('message', (data: Buffer) => {
        const receivedNs = process.hrtime.bigint();
        const message = JSON.parse(data.toString());
        switch (message.type) {
          case 'connection_ack':
            acked = true;
            clearTimeout(timer);
            resolve(socket);
            break;
          case 'ping':
            ws.send('{"type":"pong"}');
            break;
          case 'next':
            socket.sinks.get(message.id)?.next(message.payload, receivedNs);
            break;
          case 'error': {
            const sink = socket.sinks.get(message.id);
            socket.sinks.delete(message.id);
            sink?.error(message.payload);
            break;
          }
          case 'complete': {
            const sink = socket.sinks.get(message.id);
            socket.sinks.delete(message.id);
            sink?.complete();
            break;
          }
        }
      });
    });
  }

  /** Starts an operation; returns its id. */
  subscribe(query: string, variables: Record<string, unknown>, sink: Sink): string {
    const id = String(++this.nextId);
    this.sinks.set(id, sink);
    this.ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
    return id;
  }

  /** A query or mutation over the socket: resolves with its data. */
  request<T = any>(query: string, variables: Record<string, unknown>): Promise<T> {
    return new Promise((resolve, reject) => {
      let result: any = null;
      this.subscribe(query, variables, {
        next: (payload) => (result = payload),
        error: (errors) => reject(new GraphQLRequestError(JSON.stringify(errors))),
        complete: () =>
          result?.errors || !result?.data
            ? reject(new GraphQLRequestError(JSON.stringify(result?.errors ?? 'no data')))
            : resolve(result.data as T),
      });
    });
  }

  closeCode(): number | null {
    return this.code;
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }
}

function httpBase(url: string): { graphql: URL; ws: string; agent: Agent } {
  const base = new URL(url);
  return {
    graphql: new URL('/graphql', base),
    ws: `ws://${base.host}/graphql`,
    agent: new Agent({ keepAlive: true, maxSockets: 1024 }),
  };
}

/** A client of a GraphQL target (our server or the naive reference). */
export function graphqlClient(url: string): Client {
  const { graphql, ws, agent } = httpBase(url);

  async function query<T = any>(text: string, variables: Record<string, unknown>, token?: string): Promise<T> {
    return (await timedQuery<T>(text, variables, token)).data;
  }

  async function timedQuery<T = any>(text: string, variables: Record<string, unknown>, token?: string) {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    const {
      status,
      text: body,
      serverMs,
    } = await post(agent, graphql, JSON.stringify({ query: text, variables }), headers);
    let parsed: any;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new GraphQLRequestError(`HTTP ${status}: ${body.slice(0, 200)}`);
    }
    if (parsed.errors || !parsed.data) throw new GraphQLRequestError(JSON.stringify(parsed.errors ?? parsed));
    return { data: parsed.data as T, serverMs };
  }

  return {
    kind: 'graphql',
    query,
    timedQuery,
    async users(count, prefix) {
      const identities: Identity[] = [];
      for (let index = 0; index < count; index++) {
        const username = `${prefix}_${index}`.slice(0, 32);
        const data = await query(OPERATIONS.signUp, { input: { username, password: BENCH_PASSWORD } });
        identities.push({ username, token: data.signUp.token, userId: data.signUp.user.id });
      }
      return identities;
    },
    async logIn(username, password) {
      const data = await query(OPERATIONS.logIn, { input: { username, password } });
      return { username, token: data.logIn.token, userId: data.logIn.user.id };
    },
    async group(owner, members, title) {
      const memberIds = members.filter((member) => member.userId !== owner.userId).map((member) => member.userId);
      const data = await query(OPERATIONS.createGroup, { input: { title, memberIds } }, owner.token);
      return data.createGroupConversation.id;
    },
    async direct(a, b) {
      const data = await query(OPERATIONS.openDirect, { userId: b.userId }, a.token);
      return data.openDirectConversation.id;
    },
    async socket(identity) {
      const socket = await GqlSocket.connect(ws, { authorization: `Bearer ${identity.token}` });
      return {
        listen(channel, onBody, onError) {
          socket.subscribe(
            OPERATIONS.feed,
            { conversationId: channel },
            {
              next: (payload, receivedNs) => {
                const body = payload?.data?.messageEvents?.message?.body;
                if (typeof body === 'string') onBody(body, receivedNs);
                else onError(payload?.errors ?? payload);
              },
              error: onError,
              complete: () => onError(new Error('subscription completed')),
            },
          );
        },
        send: (channel, body) =>
          socket.request(OPERATIONS.send, { input: { conversationId: channel, body } }).then(() => undefined),
        closeCode: () => socket.closeCode(),
        close: () => socket.close(),
      };
    },
    sendHttp: (identity, channel, body) =>
      query(OPERATIONS.send, { input: { conversationId: channel, body } }, identity.token).then(() => undefined),
    close: () => agent.destroy(),
  };
}

/**
 * The frame the ceiling relays: shaped and sized like the `next` message our
 * server sends a subscriber, so receivers parse the same thing on both.
 */
export function ceilingFrame(body: string): string {
  return JSON.stringify({
    id: '1',
    type: 'next',
    payload: {
      data: {
        messageEvents: {
          kind: 'CREATED',
          cursor: 'ZXZlbnQ6MTIzNDU2',
          message: {
            id: 'TWVzc2FnZToxMjM0NTY=',
            body,
            createdAt: '2026-11-28T09:15:00.000Z',
            sender: { id: 'VXNlcjox', username: 'bench_user' },
          },
        },
      },
    },
  });
}

/**
 * A client of the ws ceiling. Frames to the server: `J<room>` joins a room;
 * `M<room>\n<payload>` relays the payload to every socket in the room and
 * answers `A`. HTTP POST /send?room=<room> relays the request body.
 */
export function ceilingClient(url: string): Client {
  const base = new URL(url);
  const wsUrl = `ws://${base.host}/ws`;
  const agent = new Agent({ keepAlive: true, maxSockets: 1024 });
  let rooms = 0;
  const fake = (username: string): Identity => ({ username, token: '', userId: username });
  const unsupported = () => Promise.reject(new Error('the ws ceiling has no GraphQL'));
  return {
    kind: 'ceiling',
    query: unsupported,
    timedQuery: unsupported,
    users: async (count, prefix) => Array.from({ length: count }, (_, index) => fake(`${prefix}_${index}`)),
    logIn: async (username) => fake(username),
    group: async () => `room${++rooms}`,
    direct: async () => `room${++rooms}`,
    socket: () =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
        const acks: (() => void)[] = [];
        const listeners = new Map<string, { onBody: BodyHandler; onError: (error: unknown) => void }>();
        let code: number | null = null;
        let opened = false;
        ws.on('open', () => {
          opened = true;
          resolve({
            listen(channel, onBody, onError) {
              listeners.set(channel, { onBody, onError });
              ws.send(`J${channel}`);
            },
            send: (channel, body) =>
              new Promise<void>((done) => {
                acks.push(done);
                ws.send(`M${channel}\n${ceilingFrame(body)}`);
              }),
            closeCode: () => code,
            close: () => ws.terminate(),
          });
        });
        ws.on('error', (error) => {
          if (!opened) reject(error);
        });
        ws.on('close', (closeCode) => {
          code = closeCode;
          for (const listener of listeners.values()) listener.onError(new Error(`socket closed with ${closeCode}`));
        });
        ws.on('message', (data: Buffer) => {
          const receivedNs = process.hrtime.bigint();
          if (data.length === 1 && data[0] === 0x41 /* A */) {
            acks.shift()?.();
            return;
          }
          const message = JSON.parse(data.toString());
          const body = message.payload?.data?.messageEvents?.message?.body;
          // One room per socket in every scenario: hand the body to its listener.
          for (const listener of listeners.values()) listener.onBody(body, receivedNs);
        });
      }),
    async sendHttp(_identity, channel, body) {
      const { status } = await post(
        agent,
        new URL(`/send?room=${encodeURIComponent(channel)}`, base),
        ceilingFrame(body),
        {},
      );
      if (status !== 200) throw new Error(`ceiling answered HTTP ${status}`);
    },
    close: () => agent.destroy(),
  };
}

export function clientFor(kind: TargetKind, url: string): Client {
  return kind === 'ceiling' ? ceilingClient(url) : graphqlClient(url);
}
