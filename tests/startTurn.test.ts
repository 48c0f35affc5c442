// While the process's limit on subscription starts is full (a reconnect
// storm), a socket's operation waits its turn before it is prepared, holding
// only its frame (websocket/operations.ts inStartTurn); one the client
// completes while it waits never starts, even when the client reuses its id.
// The limit is filled here by holding its turns, as thousands of starts would.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createGroup, openDirect, send, signUp, type TestUser } from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';
import { rawSocket } from './helpers/ws.js';

const prepared = vi.hoisted(() => ({ count: 0 }));
vi.mock('../src/websocket/operations.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../src/websocket/operations.js')>();
  return {
    ...original,
    prepareOperation: (...args: Parameters<typeof original.prepareOperation>) => {
      prepared.count++;
      return original.prepareOperation(...args);
    },
  };
});

const { MAX_CONCURRENT_SUBSCRIPTION_STARTS, subscriptionStarts } = await import('../src/realtime/startLimit.js');

const BODIES = `subscription ($conversationId: ID) { messageEvents(conversationId: $conversationId) { message { body } } }`;

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
const cleanups: (() => void)[] = [];

beforeAll(async () => {
  server = await startServer('sqlite');
  alice = await signUp(server.graphqlUrl);
  bob = await signUp(server.graphqlUrl);
});
afterAll(() => server.stop());
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** Takes every turn of the limit on starts until the returned function is called. */
function fillStartLimit(): () => void {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  for (let turn = 0; turn < MAX_CONCURRENT_SUBSCRIPTION_STARTS; turn++) void subscriptionStarts(() => held);
  cleanups.push(release);
  return release;
}

/** An acknowledged raw socket of `user` and the frames it received. */
async function acknowledgedSocket(user: TestUser) {
  const raw = await rawSocket(server.graphqlUrl);
  cleanups.push(() => raw.socket.terminate());
  const frames: any[] = [];
  raw.socket.on('message', (data) => frames.push(JSON.parse(String(data))));
  raw.send({ type: 'connection_init', payload: { authorization: `Bearer ${user.token}` } });
  await eventually(() => frames.some((frame) => frame.type === 'connection_ack'), 'connection_ack');
  let pings = 0;
  return {
    ...raw,
    frames,
    /** Resolves once the server has handled every frame sent before: it answers a Ping in order. */
    async handled() {
      const payload = { n: ++pings };
      raw.send({ type: 'ping', payload });
      await eventually(
        () => frames.some((frame) => frame.type === 'pong' && frame.payload?.n === payload.n),
        'the pong',
      );
    },
    bodiesOf(id: string) {
      return frames
        .filter((frame) => frame.id === id && frame.type === 'next')
        .map((frame) => frame.payload.data.messageEvents.message.body);
    },
  };
}

describe('a socket operation while the limit on starts is full', () => {
  it('is prepared only in its turn, and then starts', async () => {
    const direct = await openDirect(server.graphqlUrl, alice, bob);
    const socket = await acknowledgedSocket(bob);
    const release = fillStartLimit();
    const before = prepared.count;
    for (const id of ['1', '2', '3']) {
      socket.send({ id, type: 'subscribe', payload: { query: BODIES, variables: { conversationId: direct } } });
    }
    await socket.handled();
    expect(prepared.count).toBe(before);

    release();
    await eventually(() => prepared.count === before + 3, 'the three operations to be prepared');
    await eventually(async () => {
      await send(server.graphqlUrl, alice, direct, 'probe');
      return ['1', '2', '3'].every((id) => socket.bodiesOf(id).length > 0);
    }, 'all three subscriptions to be live');
    await send(server.graphqlUrl, alice, direct, 'after the storm');
    await eventually(
      () => ['1', '2', '3'].every((id) => socket.bodiesOf(id).includes('after the storm')),
      'the message on every subscription',
    );
    await socket.handled();
    for (const id of ['1', '2', '3']) {
      expect(socket.bodiesOf(id).filter((body) => body !== 'probe')).toEqual(['after the storm']);
    }
  });

  it('never starts once the client completed it, though the client reuses its id at once', async () => {
    const direct = await openDirect(server.graphqlUrl, alice, bob);
    const group = await createGroup(server.graphqlUrl, alice, [bob], 'reused id');
    const socket = await acknowledgedSocket(bob);
    const release = fillStartLimit();
    socket.send({ id: 'x', type: 'subscribe', payload: { query: BODIES, variables: { conversationId: direct } } });
    socket.send({ id: 'x', type: 'complete' });
    socket.send({ id: 'x', type: 'subscribe', payload: { query: BODIES, variables: { conversationId: group } } });
    await socket.handled();
    release();

    await eventually(async () => {
      await send(server.graphqlUrl, alice, group, 'probe');
      return socket.bodiesOf('x').length > 0;
    }, 'the second subscription to be live');
    await send(server.graphqlUrl, alice, direct, 'in the completed conversation');
    await send(server.graphqlUrl, alice, group, 'in the reused subscription');
    await eventually(
      () => socket.bodiesOf('x').includes('in the reused subscription'),
      'the message on the reused subscription',
    );
    await socket.handled();
    expect(socket.bodiesOf('x')).not.toContain('in the completed conversation');
    expect(socket.bodiesOf('x').filter((body) => body === 'in the reused subscription')).toHaveLength(1);
    expect(socket.frames.filter((frame) => frame.type === 'error')).toEqual([]);
  });

  it('answers a mutation sent over the socket once the limit frees', async () => {
    const direct = await openDirect(server.graphqlUrl, alice, bob);
    const socket = await acknowledgedSocket(alice);
    const release = fillStartLimit();
    socket.send({
      id: 'm',
      type: 'subscribe',
      payload: {
        query: 'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { body } }',
        variables: { input: { conversationId: direct, body: 'sent in a storm' } },
      },
    });
    await socket.handled();
    expect(socket.frames.filter((frame) => frame.id === 'm')).toEqual([]);
    release();
    await eventually(() => socket.frames.some((frame) => frame.id === 'm' && frame.type === 'complete'), 'complete');
    expect(socket.frames.filter((frame) => frame.id === 'm').map((frame) => frame.type)).toEqual(['next', 'complete']);
    expect(socket.frames.find((frame) => frame.id === 'm').payload).toEqual({
      data: { sendMessage: { body: 'sent in a storm' } },
    });
  });
});
