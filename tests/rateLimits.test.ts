import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { data, errorCode, gql, openDirect, signUp, type TestUser, uniqueName } from './helpers/client.js';
import { type Cluster, startCluster } from './helpers/processes.js';
import { startServer, type TestServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';
import { connect, rawSocket, subscribe, untilLive, wsUrl } from './helpers/ws.js';
import WebSocket from 'ws';

const SEND = 'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id } }';
const SIGN_UP = 'mutation ($input: SignUpInput!) { signUp(input: $input) { token } }';
const LOG_IN = 'mutation ($input: LogInInput!) { logIn(input: $input) { token } }';

const sendAs = (url: string, user: TestUser, conversationId: string, body = 'hi') =>
  gql(url, SEND, { input: { conversationId, body } }, user.token);

const openDirectAs = (url: string, user: TestUser, other: TestUser) =>
  gql(url, 'mutation ($id: ID!) { openDirectConversation(userId: $id) { id } }', { id: other.id }, user.token);

function expectRateLimited(response: Awaited<ReturnType<typeof gql>>): void {
  expect(errorCode(response)).toBe('RATE_LIMITED');
  expect(response.errors![0]!.extensions!.retryAfterMs).toBeGreaterThan(0);
}

async function post(url: string, query: string, variables: object, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as any;
}

function upgradeStatus(graphqlUrl: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = new WebSocket(wsUrl(graphqlUrl), 'graphql-transport-ws');
    socket.on('open', () => {
      socket.close();
      resolve(101);
    });
    socket.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
    socket.on('error', () => undefined);
  });
}

describe('rate limits on one instance', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let conversationId: string;
  beforeAll(async () => {
    server = await startServer('sqlite', {
      env: {
        RATE_LIMIT_SEND_MESSAGE: '3,0.5',
        RATE_LIMIT_SET_TYPING: '2,0.1',
        RATE_LIMIT_REACTION: '2,0.1',
        RATE_LIMIT_LOG_IN_PER_USERNAME: '3,0.01',
        RATE_LIMIT_SUBSCRIBE_PER_SOCKET: '5,0.01',
        RATE_LIMIT_MEMBERSHIP_CHANGE: '4,0.01',
      },
    });
    alice = await signUp(server.graphqlUrl);
    bob = await signUp(server.graphqlUrl);
    conversationId = await openDirect(server.graphqlUrl, alice, bob);
  });
  afterAll(() => server?.stop());

  it('lets a burst of sends through, then answers RATE_LIMITED with retryAfterMs, without slowing others', async () => {
    for (let i = 0; i < 3; i++) expect((await sendAs(server.graphqlUrl, alice, conversationId)).errors).toBeUndefined();
    const limited = await sendAs(server.graphqlUrl, alice, conversationId);
    expectRateLimited(limited);
    expect((await sendAs(server.graphqlUrl, bob, conversationId)).errors).toBeUndefined();

    await new Promise((resolve) => setTimeout(resolve, (limited.errors![0]!.extensions!.retryAfterMs as number) + 100));
    expect((await sendAs(server.graphqlUrl, alice, conversationId)).errors).toBeUndefined();
  });

  it('limits typing and reactions per user', async () => {
    const typing = () =>
      gql(
        server.graphqlUrl,
        'mutation ($id: ID!) { setTyping(conversationId: $id, typing: true) }',
        { id: conversationId },
        bob.token,
      );
    expect((await typing()).errors).toBeUndefined();
    expect((await typing()).errors).toBeUndefined();
    expectRateLimited(await typing());

    const message = await data(server.graphqlUrl, SEND, { input: { conversationId, body: 'react' } }, bob.token);
    const react = (emoji: string) =>
      gql(
        server.graphqlUrl,
        'mutation ($id: ID!, $emoji: String!) { addReaction(messageId: $id, emoji: $emoji) { id } }',
        { id: message.sendMessage.id, emoji },
        alice.token,
      );
    expect((await react('👍')).errors).toBeUndefined();
    expect((await react('🎉')).errors).toBeUndefined();
    expectRateLimited(await react('❤️'));
  });

  it('limits membership changes per user, all four mutations drawing on one budget', async () => {
    const url = server.graphqlUrl;
    const [carol, dave, erin] = await Promise.all([signUp(url), signUp(url), signUp(url)]);
    const mutations = {
      createGroup: () =>
        gql(
          url,
          'mutation ($input: CreateGroupInput!) { createGroupConversation(input: $input) { id } }',
          { input: { title: 'limited', memberIds: [dave.id] } },
          carol.token,
        ),
      openDirect: () =>
        gql(url, 'mutation ($id: ID!) { openDirectConversation(userId: $id) { id } }', { id: erin.id }, carol.token),
      addMembers: (groupId: string) =>
        gql(
          url,
          'mutation ($id: ID!, $userIds: [ID!]!) { addMembers(conversationId: $id, userIds: $userIds) { id } }',
          { id: groupId, userIds: [erin.id] },
          carol.token,
        ),
      leave: (groupId: string) =>
        gql(url, 'mutation ($id: ID!) { leaveConversation(conversationId: $id) }', { id: groupId }, carol.token),
    };
    const created = await mutations.createGroup();
    expect(created.errors).toBeUndefined();
    const groupId = created.data.createGroupConversation.id;
    expect((await mutations.openDirect()).errors).toBeUndefined();
    expect((await mutations.addMembers(groupId)).errors).toBeUndefined();
    expect((await mutations.leave(groupId)).errors).toBeUndefined();

    expectRateLimited(await mutations.createGroup());
    expectRateLimited(await mutations.openDirect());
    expectRateLimited(await mutations.addMembers(groupId));
    expectRateLimited(await mutations.leave(groupId));
    // Someone else's budget is untouched.
    expect((await openDirectAs(url, dave, erin)).errors).toBeUndefined();
  });

  it('slows password guessing on one username, whoever asks', async () => {
    const target = await signUp(server.graphqlUrl, uniqueName('target'), 'the real password');
    for (let i = 0; i < 3; i++) {
      const wrong = await gql(server.graphqlUrl, LOG_IN, {
        input: { username: target.username, password: `guess ${i}` },
      });
      expect(errorCode(wrong)).toBe('UNAUTHENTICATED');
    }
    // Even the right password waits: the account is being guessed at.
    expectRateLimited(
      await gql(server.graphqlUrl, LOG_IN, { input: { username: target.username, password: 'the real password' } }),
    );
    // Another account is unaffected.
    const other = await signUp(server.graphqlUrl, uniqueName('other'), 'another password');
    const ok = await gql(server.graphqlUrl, LOG_IN, {
      input: { username: other.username, password: 'another password' },
    });
    expect(ok.errors).toBeUndefined();
  });

  it('refuses subscribe frames past the per-socket rate, and 10,000 of them past the cap, while the server keeps serving', async () => {
    const { socket, send, closed } = await rawSocket(server.graphqlUrl);
    const replies: any[] = [];
    socket.on('message', (raw) => replies.push(JSON.parse(raw.toString())));
    send({ type: 'connection_init', payload: { authorization: `Bearer ${alice.token}` } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (let i = 0; i < 10_000; i++) {
      send({ id: `s${i}`, type: 'subscribe', payload: { query: 'subscription { conversationEvents { kind } }' } });
    }
    const deadline = Date.now() + 30_000;
    while (replies.filter((reply) => reply.type === 'error').length < 9_995 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const errors = replies.filter((reply) => reply.type === 'error');
    expect(errors.length).toBe(9_995);
    expect(errors.every((reply) => reply.payload[0].extensions.code === 'RATE_LIMITED')).toBe(true);
    socket.close();
    await closed;
    // Other clients are served as usual: a fresh socket's subscription receives events.
    const client = connect(server.graphqlUrl, bob.token);
    const stream = subscribe(client, 'subscription { conversationEvents { kind } }');
    await untilLive(stream, async () => openDirect(server.graphqlUrl, await signUp(server.graphqlUrl), bob));
    expect(stream.events.at(-1)).toEqual({ conversationEvents: { kind: 'JOINED' } });
    expect((await gql(server.graphqlUrl, '{ me { id } }', {}, bob.token)).data.me.id).toBe(bob.id);
    await client.dispose();
  });
});

describe('per-address limits', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  /** A sign-up claiming to come from `forwardedFor`. */
  const signUpVia = (forwardedFor: string) =>
    post(
      server!.graphqlUrl,
      SIGN_UP,
      { input: { username: uniqueName(), password: 'password123' } },
      { 'x-forwarded-for': forwardedFor },
    );

  it('ignores X-Forwarded-For without TRUST_PROXY, so a client cannot dodge the sign-up limit', async () => {
    server = await startServer('sqlite', { env: { RATE_LIMIT_SIGN_UP_PER_IP: '2,0.01' } });
    expect((await signUpVia('203.0.113.1')).errors).toBeUndefined();
    expect((await signUpVia('203.0.113.2')).errors).toBeUndefined();
    expectRateLimited(await signUpVia('203.0.113.3'));
  });

  it('reads the address the trusted proxy appended when TRUST_PROXY is set', async () => {
    server = await startServer('sqlite', { env: { RATE_LIMIT_SIGN_UP_PER_IP: '1,0.01', TRUST_PROXY: '1' } });
    expect((await signUpVia('203.0.113.1')).errors).toBeUndefined();
    expect((await signUpVia('203.0.113.2')).errors).toBeUndefined();
    // A spoofed first entry changes nothing: the proxy's entry (the last) is the client.
    expectRateLimited(await signUpVia('198.51.100.7, 203.0.113.2'));
  });

  it('refuses a client opening sockets in a loop before the upgrade (429)', async () => {
    server = await startServer('sqlite', { env: { RATE_LIMIT_CONNECT_PER_IP: '3,0.01' } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push(await upgradeStatus(server.graphqlUrl));
    expect(statuses).toEqual([101, 101, 101, 429, 429]);
  });
});

describe('rate limits shared across instances', () => {
  let cluster: Cluster;
  let alice: TestUser;
  let conversationId: string;
  beforeAll(async () => {
    cluster = await startCluster(2, { RATE_LIMIT_SEND_MESSAGE: '4,0.01', RATE_LIMIT_CONNECT_PER_IP: '4,0.01' });
    const [a] = cluster.instances;
    alice = await signUp(a!.graphqlUrl);
    const bob = await signUp(a!.graphqlUrl);
    conversationId = await openDirect(a!.graphqlUrl, alice, bob);
  }, 120_000);
  afterAll(() => cluster?.stop());

  it("counts a client's socket upgrades through every instance against one budget", async () => {
    const [a, b] = cluster.instances;
    const statuses: number[] = [];
    for (const instance of [a!, b!, a!, b!, a!, b!]) statuses.push(await upgradeStatus(instance.graphqlUrl));
    expect(statuses).toEqual([101, 101, 101, 101, 429, 429]);
  });

  it('counts sends through every instance against one budget, and keeps sends working while Redis is down', async () => {
    const [a, b] = cluster.instances;
    for (const instance of [a!, b!, a!, b!])
      expect((await sendAs(instance.graphqlUrl, alice, conversationId)).errors).toBeUndefined();
    expectRateLimited(await sendAs(a!.graphqlUrl, alice, conversationId));
    expectRateLimited(await sendAs(b!.graphqlUrl, alice, conversationId));

    // Without Redis each instance falls back to its own bucket: sends succeed rather than fail.
    await cluster.redis.kill();
    const during = await sendAs(b!.graphqlUrl, alice, conversationId, 'during the outage');
    expect(during.errors).toBeUndefined();
    await cluster.redis.start();
  });

  it("shares one budget again once Redis is back, though a restarted Redis no longer knows the limit's script", async () => {
    const [a, b] = cluster.instances;
    await cluster.redis.kill();
    await cluster.redis.start();
    // Each try takes a fresh budget; until both instances have reconnected, their own buckets let the fifth send through.
    await eventually(async () => {
      const sender = await signUp(a!.graphqlUrl);
      const other = await signUp(a!.graphqlUrl);
      const direct = await openDirect(a!.graphqlUrl, sender, other);
      for (const instance of [a!, b!, a!, b!]) {
        expect((await sendAs(instance.graphqlUrl, sender, direct)).errors).toBeUndefined();
      }
      const fifth = await sendAs(a!.graphqlUrl, sender, direct);
      if (errorCode(fifth) !== 'RATE_LIMITED') return false;
      expectRateLimited(fifth);
      expectRateLimited(await sendAs(b!.graphqlUrl, sender, direct));
      return true;
    }, 'the instances to share one budget again');
  });
});
