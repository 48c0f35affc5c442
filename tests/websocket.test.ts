// The socket server speaks graphql-transport-ws as graphql-ws's own client
// expects it: the server side is ours (src/websocket/protocol.ts says why),
// so this checks that graphql-ws's createClient, which GraphiQL's fetcher
// uses for its subscriptions too, still works against it: subscribe, complete,
// errors, ping/pong, queries and mutations over the socket, and next frames
// whose subscription id needs escaping.
import { createClient } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { data, openDirect, send, signUp, type TestUser, uniqueName } from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';
import { eventually, withTimeout } from './helpers/wait.js';
import { rawSocket, sockets, subscribe, wsUrl } from './helpers/ws.js';

const MESSAGE_EVENTS = `subscription ($conversationId: ID, $after: String) {
  messageEvents(conversationId: $conversationId, after: $after) { kind message { body } }
}`;
const CURSOR = 'query ($id: ID!) { messages(conversationId: $id, last: 1) { eventCursor } }';

const { socketClient, closeAll } = sockets();
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  await Promise.allSettled([closeAll(), ...cleanups.splice(0).map(async (cleanup) => cleanup())]);
});

describe('graphql-ws client against the socket server', () => {
  let server: TestServer;
  let url: string;
  let alice: TestUser;
  let bob: TestUser;
  let direct: string;
  beforeAll(async () => {
    server = await startServer('sqlite');
    url = server.graphqlUrl;
    [alice, bob] = await Promise.all([signUp(url, uniqueName('wsc')), signUp(url, uniqueName('wsc'))]);
    direct = await openDirect(url, alice, bob);
  });
  afterAll(() => server?.stop());

  const cursor = async () => (await data(url, CURSOR, { id: direct }, bob.token)).messages.eventCursor as string;
  const bodies = (events: any[]) => events.map((event) => event.messageEvents.message.body);

  it('subscribes, receives each message once and in order, and completing stops only that subscription', async () => {
    const client = socketClient(url, bob.token);
    const after = await cursor();
    const first = subscribe(client, MESSAGE_EVENTS, { conversationId: direct, after });
    const second = subscribe(client, MESSAGE_EVENTS, { conversationId: direct, after });
    await send(url, alice, direct, 'one');
    await Promise.all([first.waitFor(1), second.waitFor(1)]);
    first.stop(); // graphql-ws's client sends Complete
    await send(url, alice, direct, 'two');
    await send(url, alice, direct, 'three');
    await second.waitFor(3);
    expect(bodies(second.events)).toEqual(['one', 'two', 'three']);
    expect(bodies(first.events)).toEqual(['one']);
    expect(first.errors).toEqual([]);
  });

  it('iterate(): breaking out of the loop completes the subscription; the socket goes on', async () => {
    const client = socketClient(url, bob.token);
    const after = await cursor();
    const iterator = client.iterate<any>({ query: MESSAGE_EVENTS, variables: { conversationId: direct, after } });
    await send(url, alice, direct, 'iterated');
    const { value } = await iterator.next();
    expect(value.data.messageEvents.message.body).toBe('iterated');
    await iterator.return!();
    const after2 = await cursor();
    const next = subscribe(client, MESSAGE_EVENTS, { conversationId: direct, after: after2 });
    await send(url, alice, direct, 'still open');
    await next.waitFor(1);
    expect(bodies(next.events)).toEqual(['still open']);
  });

  it('a validation error reaches the error sink as GraphQL errors with their code; the socket goes on', async () => {
    const client = socketClient(url, bob.token);
    const bad = subscribe(client, 'subscription { messageEvents { noSuchField } }');
    await bad.ended();
    expect(bad.errors).toHaveLength(1);
    const errors = bad.errors[0] as { message: string; extensions: { code: string } }[];
    expect(errors.map((error) => error.extensions.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    const good = subscribe(client, MESSAGE_EVENTS, { conversationId: direct, after: await cursor() });
    await send(url, alice, direct, 'after the error');
    await good.waitFor(1);
    expect(bodies(good.events)).toEqual(['after the error']);
  });

  it('a document sent again is answered as the first time: refused each time if invalid, run each time if valid', async () => {
    const client = socketClient(url, alice.token);
    const SEND_BODY = 'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { body } }';
    const tooDeep = `{ conversations { edges { node { ${'lastMessage { conversation { '.repeat(6)}id${' } }'.repeat(6)} } } } }`;
    for (const query of ['{ noSuchField }', tooDeep]) {
      for (let round = 0; round < 2; round++) {
        const refused = subscribe(client, query);
        await refused.ended();
        expect(refused.events).toEqual([]);
        expect(refused.errors.flat().map((error: any) => error.extensions.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      }
    }
    for (const body of ['first of two', 'second of two']) {
      const sent = subscribe(client, SEND_BODY, { input: { conversationId: direct, body } });
      await sent.ended();
      expect(sent.events).toEqual([{ sendMessage: { body } }]);
    }
  });

  it('a subscription the server refuses (NOT_FOUND) answers next with the error, then complete', async () => {
    const stranger = await signUp(url, uniqueName('wsc'));
    const refused = subscribe(socketClient(url, stranger.token), MESSAGE_EVENTS, { conversationId: direct });
    await refused.ended();
    expect(refused.errors.map((error: any) => error.extensions?.code)).toEqual(['NOT_FOUND']);
    expect(refused.events).toEqual([]);
  });

  it('queries and mutations over the socket answer once and complete', async () => {
    const client = socketClient(url, alice.token);
    const sent = subscribe(client, 'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { body } }', {
      input: { conversationId: direct, body: 'over the socket' },
    });
    await sent.ended();
    expect(sent.events).toEqual([{ sendMessage: { body: 'over the socket' } }]);
    const read = subscribe(client, CURSOR, { id: direct });
    await read.ended();
    expect(read.events).toHaveLength(1);
    expect(read.errors).toEqual([]);
  });

  it('GraphiQL’s way of connecting (connectionParams as a function, keep-alive pings) is acknowledged and ponged', async () => {
    let pongs = 0;
    const client = createClient({
      url: wsUrl(url),
      webSocketImpl: WebSocket,
      connectionParams: () => ({ authorization: `Bearer ${bob.token}` }),
      lazy: false,
      retryAttempts: 0,
      keepAlive: 50,
      on: { pong: (received) => void (received && pongs++) },
    });
    cleanups.push(() => client.dispose());
    await eventually(() => pongs >= 3, 'three pongs');
  });

  it('a ping’s payload comes back in the pong; next frames carry the subscription id exactly, escaped', async () => {
    const raw = await rawSocket(url);
    cleanups.push(() => raw.socket.terminate());
    const frames: any[] = [];
    raw.socket.on('message', (data) => frames.push(JSON.parse(String(data))));
    raw.send({ type: 'connection_init', payload: { authorization: `Bearer ${bob.token}` } });
    await eventually(() => frames.some((frame) => frame.type === 'connection_ack'), 'ack');
    raw.send({ type: 'ping', payload: { probe: 1 } });
    await eventually(() => frames.some((frame) => frame.type === 'pong'), 'pong');
    expect(frames.find((frame) => frame.type === 'pong')).toEqual({ type: 'pong', payload: { probe: 1 } });

    const ids = ['plain', 'with "quotes" \\ and\nnewline', 'ünïcødé ✓'];
    const after = await cursor();
    for (const id of ids) {
      raw.send({
        id,
        type: 'subscribe',
        payload: { query: MESSAGE_EVENTS, variables: { conversationId: direct, after } },
      });
    }
    await send(url, alice, direct, 'to every id');
    await eventually(() => frames.filter((frame) => frame.type === 'next').length >= ids.length, 'a next per id');
    const nexts = frames.filter((frame) => frame.type === 'next');
    expect(nexts.map((frame) => frame.id).sort()).toEqual([...ids].sort());
    for (const frame of nexts) {
      expect(frame).toEqual({
        id: frame.id,
        type: 'next',
        payload: { data: { messageEvents: { kind: 'CREATED', message: { body: 'to every id' } } } },
      });
    }
    // Completed by the client: the server sends no complete of its own for it.
    raw.send({ id: 'plain', type: 'complete' });
    raw.send({ type: 'ping' });
    await eventually(() => frames.filter((frame) => frame.type === 'pong').length >= 2, 'a second pong');
    expect(frames.filter((frame) => frame.type === 'complete')).toEqual([]);
    raw.socket.close(1000);
    await withTimeout(raw.closed, 10_000, 'close');
  });
});
