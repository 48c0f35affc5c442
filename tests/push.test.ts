// Web Push (issue #13) against a fake push service on loopback that checks
// VAPID and decrypts: who gets a push, once, with what; what pushes nothing;
// what a push service's answers do; registration rules and muting. On SQLite
// with in-process pub/sub and on MySQL with Redis.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createGroup,
  data,
  errorCode,
  gql,
  openDirect,
  send,
  signUp,
  type TestUser,
  uniqueName,
} from './helpers/client.js';
import { PushState } from '../src/push/entities.js';
import { loadVapidKeys } from '../src/push/vapid.js';
import { type FakePushService, type FakeSubscription, startFakePushService } from './helpers/pushService.js';
import { SET_UPS, startServer, type TestServer } from './helpers/server.js';
import { eventually, sleep } from './helpers/wait.js';
import { sockets } from './helpers/ws.js';

/** Long enough for a markRead right after a send to land first on a busy machine. */
const DELAY_MS = 1_500;
const PUSH_ENV = { PUSH_ENABLED: 'true', PUSH_ALLOW_LOOPBACK: 'true', PUSH_DELAY_MS: String(DELAY_MS) };

const REGISTER = 'mutation ($input: PushSubscriptionInput!) { registerPushSubscription(input: $input) }';
const UNREGISTER = 'mutation ($endpoint: String!) { unregisterPushSubscription(endpoint: $endpoint) }';
const SET_MUTED =
  'mutation ($id: ID!, $muted: Boolean!) { setConversationMuted(conversationId: $id, muted: $muted) { id muted } }';

/** The bodies a device received, sorted. */
function bodiesOf(device: FakeSubscription): (string | null)[] {
  return device
    .pushes()
    .map((push) => push.payload.body)
    .sort();
}

async function register(url: string, user: TestUser, subscription: FakeSubscription): Promise<void> {
  const { endpoint, p256dh, auth } = subscription;
  const result = await data(url, REGISTER, { input: { endpoint, p256dh, auth } }, user.token);
  expect(result.registerPushSubscription).toBe(true);
}

describe.each(SET_UPS)('push on $name', ({ database, options }) => {
  let server: TestServer;
  let url: string;
  let pushService: FakePushService;
  const open = sockets();

  beforeAll(async () => {
    pushService = await startFakePushService();
    server = await startServer(database, { ...options, env: { ...options.env, ...PUSH_ENV } });
    url = server.graphqlUrl;
  });
  afterEach(() => open.closeAll());
  afterAll(async () => {
    await server?.stop();
    await pushService?.close();
    expect(pushService.rejected).toEqual([]);
  });

  /** A user with one registered subscription of the fake service. */
  async function subscribedUser(prefix: string): Promise<{ user: TestUser; device: FakeSubscription }> {
    const user = await signUp(url, uniqueName(prefix));
    const device = pushService.subscribe(uniqueName(`${prefix}-device`));
    await register(url, user, device);
    return { user, device };
  }

  /**
   * Sends a message that `witness` (away, subscribed) is pushed, and waits for
   * that push: pushes for earlier messages fell due and were sent before it.
   */
  async function fence(sender: TestUser, conversationId: string, ...witnesses: FakeSubscription[]): Promise<void> {
    const message = await send(url, sender, conversationId, 'fence');
    await eventually(
      () => witnesses.every((witness) => witness.pushes().some((push) => push.payload.messageId === message.id)),
      'the fence push',
    );
    // Requests started before the fence's were decided before it; give their answers a moment on loopback.
    await sleep(100);
  }

  it('pushConfig gives the VAPID public key every push is signed with', async () => {
    const result = await data(url, '{ pushConfig { vapidPublicKey } }');
    expect(result.pushConfig.vapidPublicKey).toMatch(/^[A-Za-z0-9_-]{87}$/);
    expect(Buffer.from(result.pushConfig.vapidPublicKey, 'base64url')[0]).toBe(4);
  });

  it('instances generating the VAPID keys at once all end up with one pair', async () => {
    const { dataSource, config } = server.app.services;
    const stored = await dataSource.manager.findOneByOrFail(PushState, { id: 1 });
    await dataSource.manager.update(PushState, { id: 1 }, { vapidPublicKey: null, vapidPrivateKey: null });
    try {
      const pairs = await Promise.all(Array.from({ length: 5 }, () => loadVapidKeys(dataSource, config.push)));
      expect(new Set(pairs.map((pair) => pair.publicKey)).size).toBe(1);
      expect(new Set(pairs.map((pair) => pair.privateKey)).size).toBe(1);
    } finally {
      await dataSource.manager.update(PushState, { id: 1 }, stored);
    }
  });

  it('an away member gets exactly one push per message with the contract payload; the sender, a connected member and a muted member get none', async () => {
    const alice = await subscribedUser('alice');
    const bob = await subscribedUser('bob');
    const carol = await subscribedUser('carol');
    const dave = await subscribedUser('dave');
    const groupId = await createGroup(url, alice.user, [bob.user, carol.user, dave.user], 'Climbing');
    await data(url, SET_MUTED, { id: groupId, muted: true }, dave.user.token);
    await open.openSocket(url, carol.user);

    const first = await send(url, alice.user, groupId, 'See you at the wall 🧗');
    const second = await send(url, alice.user, groupId, 'Bring chalk');
    await fence(alice.user, groupId, bob.device);

    const { vapidPublicKey } = (await data(url, '{ pushConfig { vapidPublicKey } }')).pushConfig;
    // Pushes falling due together go out side by side: their order of arrival is not theirs to keep.
    const bobs = [first, second].map((message) =>
      bob.device.pushes().find((push) => push.payload.messageId === message.id)!,
    );
    expect(bobs.map((push) => push.payload)).toEqual([
      {
        type: 'message',
        conversationId: groupId,
        messageId: first.id,
        title: `${alice.user.username} in Climbing`,
        body: 'See you at the wall 🧗',
      },
      {
        type: 'message',
        conversationId: groupId,
        messageId: second.id,
        title: `${alice.user.username} in Climbing`,
        body: 'Bring chalk',
      },
    ]);
    expect(bob.device.pushes()).toHaveLength(3);
    for (const push of bobs) {
      expect(push.vapidKey).toBe(vapidPublicKey);
      expect(push.ttl).toBeGreaterThan(0);
      expect(push.ttl).toBeLessThanOrEqual(86_400);
      expect(push.urgency).toBe('normal');
      expect(push.topic).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
    }
    expect(alice.device.requests()).toBe(0);
    expect(carol.device.requests()).toBe(0);
    expect(dave.device.requests()).toBe(0);
  });

  it('a DIRECT message is pushed with high urgency, titled with the sender, one topic per conversation', async () => {
    const alice = await subscribedUser('alice');
    const bob = await subscribedUser('bob');
    const directId = await openDirect(url, alice.user, bob.user);
    const message = await send(url, alice.user, directId, 'hi');
    await eventually(() => bob.device.pushes().length === 1, 'the push');
    const [push] = bob.device.pushes();
    expect(push!.payload).toEqual({
      type: 'message',
      conversationId: directId,
      messageId: message.id,
      title: alice.user.username,
      body: 'hi',
    });
    expect(push!.urgency).toBe('high');
    const groupId = await createGroup(url, alice.user, [bob.user]);
    await send(url, alice.user, groupId, 'elsewhere');
    await eventually(() => bob.device.pushes().length === 2, 'the second push');
    expect(bob.device.pushes()[1]!.topic).not.toBe(push!.topic);
  });

  it('every subscription of an away member gets the push, once each', async () => {
    const alice = await subscribedUser('alice');
    const bob = await subscribedUser('bob');
    const laptop = pushService.subscribe(uniqueName('bob-laptop'));
    await register(url, bob.user, laptop);
    const directId = await openDirect(url, alice.user, bob.user);
    await send(url, alice.user, directId, 'both');
    await fence(alice.user, directId, bob.device, laptop);
    expect(bob.device.pushes()).toHaveLength(2);
    expect(bodiesOf(laptop)).toEqual(['both', 'fence'].sort());
  });

  it('a member who reads the message within PUSH_DELAY_MS, and one who is online, get no push', async () => {
    const alice = await subscribedUser('alice');
    const bob = await subscribedUser('bob');
    const carol = await subscribedUser('carol');
    const witness = await subscribedUser('witness');
    const groupId = await createGroup(url, alice.user, [bob.user, carol.user, witness.user]);
    await open.openSocket(url, carol.user);
    const message = await send(url, alice.user, groupId, 'read me');
    await data(
      url,
      'mutation ($c: ID!, $m: ID!) { markRead(conversationId: $c, messageId: $m) { id } }',
      { c: groupId, m: message.id },
      bob.user.token,
    );
    await fence(alice.user, groupId, witness.device, bob.device);
    expect(bodiesOf(bob.device)).toEqual(['fence'].sort());
    expect(carol.device.requests()).toBe(0);
  });

  it('edits, deletions and reactions push nothing, and a message deleted before its push goes out is not pushed', async () => {
    const alice = await subscribedUser('alice');
    const bob = await subscribedUser('bob');
    const directId = await openDirect(url, alice.user, bob.user);
    const kept = await send(url, alice.user, directId, 'kept');
    const regretted = await send(url, alice.user, directId, 'regretted');
    await data(
      url,
      'mutation ($id: ID!) { deleteMessage(messageId: $id) { id } }',
      { id: regretted.id },
      alice.user.token,
    );
    await eventually(() => bob.device.pushes().length === 1, 'the push of the kept message');
    await data(
      url,
      'mutation ($input: EditMessageInput!) { editMessage(input: $input) { id } }',
      { input: { messageId: kept.id, body: 'kept, edited' } },
      alice.user.token,
    );
    await data(
      url,
      'mutation ($id: ID!) { addReaction(messageId: $id, emoji: "👍") { id } }',
      { id: kept.id },
      alice.user.token,
    );
    await data(url, 'mutation ($id: ID!) { deleteMessage(messageId: $id) { id } }', { id: kept.id }, alice.user.token);
    await fence(alice.user, directId, bob.device);
    expect(bodiesOf(bob.device)).toEqual(['kept', 'fence'].sort());
  });

  it('an endpoint answering 410 is forgotten; 404 too', async () => {
    const alice = await subscribedUser('alice');
    const bob = await subscribedUser('bob');
    const gone = pushService.subscribe(uniqueName('bob-gone'));
    const missing = pushService.subscribe(uniqueName('bob-missing'));
    await register(url, bob.user, gone);
    await register(url, bob.user, missing);
    gone.answerAlways(410);
    missing.answerAlways(404);
    const directId = await openDirect(url, alice.user, bob.user);
    await send(url, alice.user, directId, 'one');
    await eventually(() => gone.requests() === 1 && missing.requests() === 1, 'the refused pushes');
    await fence(alice.user, directId, bob.device);
    await fence(alice.user, directId, bob.device);
    expect(gone.requests()).toBe(1);
    expect(missing.requests()).toBe(1);
    // Forgotten, so no longer the caller's to unregister.
    expect((await data(url, UNREGISTER, { endpoint: gone.endpoint }, bob.user.token)).unregisterPushSubscription).toBe(
      false,
    );
  });

  it('429 and 5xx are retried after Retry-After, a few times at most; other refusals are not retried', async () => {
    const alice = await subscribedUser('alice');
    const bob = await subscribedUser('bob');
    const busy = pushService.subscribe(uniqueName('bob-busy'));
    const broken = pushService.subscribe(uniqueName('bob-broken'));
    const refusing = pushService.subscribe(uniqueName('bob-refusing'));
    for (const device of [busy, broken, refusing]) await register(url, bob.user, device);
    busy.answerNext({ status: 429, headers: { 'retry-after': '1' } }, { status: 503 });
    broken.answerAlways(500);
    refusing.answerAlways(400);
    const directId = await openDirect(url, alice.user, bob.user);
    await send(url, alice.user, directId, 'eventually');

    await eventually(() => busy.pushes().length === 1, 'the push after two retries');
    expect(busy.requests()).toBe(3);
    const [push] = busy.pushes();
    expect(push!.payload.body).toBe('eventually');
    await eventually(() => broken.requests() === 4, 'four tries at the broken service', 30_000);
    await sleep(2_500); // longer than the next back-off would be: no fifth try
    expect(broken.requests()).toBe(4);
    expect(refusing.requests()).toBe(1);
  });

  it('a slow push service does not slow down sending messages', async () => {
    const alice = await subscribedUser('alice');
    const bob = await subscribedUser('bob');
    bob.device.answerAfter(8_000);
    const directId = await openDirect(url, alice.user, bob.user);
    await send(url, alice.user, directId, 'warm-up');
    await eventually(() => bob.device.pushes().length === 1, 'the first push, answered slowly');
    const started = Date.now();
    for (let index = 0; index < 5; index++) await send(url, alice.user, directId, `quick ${index}`);
    // Five sends while each push waits 8 s for its answer: none of them waits on one.
    expect(Date.now() - started).toBeLessThan(8_000);
    await eventually(() => bob.device.pushes().length === 6, 'six pushes');
  });

  it('registration: https only, loopback http when allowed, no address hosts, keys checked, signed in only', async () => {
    const user = await signUp(url, uniqueName('reg'));
    const device = pushService.subscribe(uniqueName('reg-device'));
    const attempt = (input: Record<string, string>, token: string | undefined) =>
      gql(
        url,
        REGISTER,
        { input: { endpoint: device.endpoint, p256dh: device.p256dh, auth: device.auth, ...input } },
        token,
      );
    for (const endpoint of [
      'http://push.example.com/x',
      'https://10.0.0.1/x',
      'https://[::2]/x',
      'ftp://push.example.com/x',
      'not a url',
      `https://${'a'.repeat(1_000)}.com/`,
    ]) {
      const response = await attempt({ endpoint }, user.token);
      expect(errorCode(response), endpoint).toBe('BAD_USER_INPUT');
      expect(response.errors![0]!.extensions!.field).toBe('endpoint');
    }
    expect(
      errorCode(await attempt({ p256dh: Buffer.alloc(65, 4).subarray(1).toString('base64url') }, user.token)),
    ).toBe('BAD_USER_INPUT');
    expect(errorCode(await attempt({ auth: 'c2hvcnQ' }, user.token))).toBe('BAD_USER_INPUT');
    expect(errorCode(await attempt({}, undefined))).toBe('UNAUTHENTICATED');
    expect(errorCode(await gql(url, UNREGISTER, { endpoint: device.endpoint }))).toBe('UNAUTHENTICATED');
    expect((await attempt({}, user.token)).data?.registerPushSubscription).toBe(true);
    expect(
      (await attempt({ endpoint: 'https://push.example.com/send/abc' }, user.token)).data?.registerPushSubscription,
    ).toBe(true);
  });

  it('at most 10 subscriptions per user: the oldest is dropped', async () => {
    const alice = await subscribedUser('alice');
    const bob = await signUp(url, uniqueName('bob'));
    const devices = Array.from({ length: 11 }, (_, index) => pushService.subscribe(uniqueName(`bob-${index}`)));
    for (const device of devices) await register(url, bob, device);
    const directId = await openDirect(url, alice.user, bob);
    await send(url, alice.user, directId, 'to ten');
    await fence(alice.user, directId, ...devices.slice(1));
    expect(devices[0]!.requests()).toBe(0);
    for (const device of devices.slice(1)) expect(bodiesOf(device)).toEqual(['to ten', 'fence'].sort());
  });

  it('unregistering stops pushes to that endpoint; registering it again as another user moves it', async () => {
    const alice = await subscribedUser('alice');
    const bob = await subscribedUser('bob');
    const carol = await subscribedUser('carol');
    const shared = pushService.subscribe(uniqueName('shared'));
    await register(url, bob.user, shared);
    expect(
      (await data(url, UNREGISTER, { endpoint: shared.endpoint }, carol.user.token)).unregisterPushSubscription,
    ).toBe(false);
    expect(
      (await data(url, UNREGISTER, { endpoint: shared.endpoint }, bob.user.token)).unregisterPushSubscription,
    ).toBe(true);
    await register(url, carol.user, shared);
    const withBob = await openDirect(url, alice.user, bob.user);
    const withCarol = await openDirect(url, alice.user, carol.user);
    await send(url, alice.user, withBob, 'for bob');
    await send(url, alice.user, withCarol, 'for carol');
    await fence(alice.user, withCarol, carol.device, shared);
    expect(bodiesOf(shared)).toEqual(['for carol', 'fence'].sort());
  });

  it('muting round-trips, is per member, stops pushes and unmuting resumes them; NOT_FOUND for non-members', async () => {
    const alice = await subscribedUser('alice');
    const bob = await subscribedUser('bob');
    const outsider = await signUp(url, uniqueName('outsider'));
    const directId = await openDirect(url, alice.user, bob.user);
    const query = 'query ($id: ID!) { conversation(id: $id) { muted } }';
    expect((await data(url, query, { id: directId }, bob.user.token)).conversation.muted).toBe(false);
    expect((await data(url, SET_MUTED, { id: directId, muted: true }, bob.user.token)).setConversationMuted).toEqual({
      id: directId,
      muted: true,
    });
    expect((await data(url, query, { id: directId }, bob.user.token)).conversation.muted).toBe(true);
    expect((await data(url, query, { id: directId }, alice.user.token)).conversation.muted).toBe(false);
    const listed = await data(url, '{ conversations(first: 50) { edges { node { id muted } } } }', {}, bob.user.token);
    expect(listed.conversations.edges.find((edge: any) => edge.node.id === directId).node.muted).toBe(true);

    await send(url, alice.user, directId, 'muted');
    const witness = await subscribedUser('witness');
    await fence(alice.user, await openDirect(url, alice.user, witness.user), witness.device);
    await data(url, SET_MUTED, { id: directId, muted: false }, bob.user.token);
    await send(url, alice.user, directId, 'unmuted');
    await eventually(() => bob.device.pushes().length > 0, 'the push after unmuting');
    expect(bodiesOf(bob.device)).toEqual(['unmuted'].sort());

    const response = await gql(url, SET_MUTED, { id: directId, muted: true }, outsider.token);
    expect(errorCode(response)).toBe('NOT_FOUND');
    expect(errorCode(await gql(url, SET_MUTED, { id: directId, muted: true }))).toBe('UNAUTHENTICATED');
  });
});

describe.each(SET_UPS)('push settings on $name', ({ database, options }) => {
  let server: TestServer;
  let url: string;
  let pushService: FakePushService;

  beforeAll(async () => {
    pushService = await startFakePushService();
    server = await startServer(database, {
      ...options,
      env: {
        ...options.env,
        ...PUSH_ENV,
        PUSH_PREVIEW: 'false',
        PUSH_ENDPOINT_HOSTS: '127.0.0.1,.push.example.com',
        RATE_LIMIT_PUSH_REGISTRATION: '3,0.01',
      },
    });
    url = server.graphqlUrl;
  });
  afterAll(async () => {
    await server?.stop();
    await pushService?.close();
  });

  it('PUSH_PREVIEW=false sends body null; the allow-list refuses other hosts; registration is rate-limited', async () => {
    const alice = await signUp(url, uniqueName('alice'));
    const bob = await signUp(url, uniqueName('bob'));
    const device = pushService.subscribe(uniqueName('bob-device'));
    await register(url, bob, device);
    const { p256dh, auth } = device;
    const elsewhere = await gql(
      url,
      REGISTER,
      { input: { endpoint: 'https://fcm.googleapis.com/fcm/send/x', p256dh, auth } },
      bob.token,
    );
    expect(errorCode(elsewhere)).toBe('BAD_USER_INPUT');
    const allowed = await gql(
      url,
      REGISTER,
      { input: { endpoint: 'https://eu.push.example.com/x', p256dh, auth } },
      bob.token,
    );
    expect(allowed.data?.registerPushSubscription).toBe(true);
    const limited = await gql(url, REGISTER, { input: { endpoint: device.endpoint, p256dh, auth } }, bob.token);
    expect(errorCode(limited)).toBe('RATE_LIMITED');

    const directId = await openDirect(url, alice, bob);
    const message = await send(url, alice, directId, 'a secret');
    await eventually(() => device.pushes().length === 1, 'the push');
    expect(device.pushes()[0]!.payload).toEqual({
      type: 'message',
      conversationId: directId,
      messageId: message.id,
      title: alice.username,
      body: null,
    });
  });
});

describe('push turned off (PUSH_ENABLED=false)', () => {
  it('offers no VAPID key and registers nothing', async () => {
    const server = await startServer('sqlite', { env: { PUSH_ENABLED: 'false' } });
    try {
      const url = server.graphqlUrl;
      expect((await data(url, '{ pushConfig { vapidPublicKey } }')).pushConfig.vapidPublicKey).toBeNull();
      const user = await signUp(url, uniqueName('user'));
      const input = {
        endpoint: 'https://push.example.com/x',
        p256dh: Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]).toString('base64url'),
        auth: Buffer.alloc(16, 2).toString('base64url'),
      };
      expect((await data(url, REGISTER, { input }, user.token)).registerPushSubscription).toBe(false);
    } finally {
      await server.stop();
    }
  });
});
