// What several server processes behind one Redis must guarantee together:
// messages sent through one instance reach subscribers on another exactly once
// and in order, a subscriber resumes on any instance from its last cursor,
// typing and presence are shared, a Redis outage loses nothing, a SIGTERM
// shuts an instance down gracefully, and membership changes made on one
// instance apply at once to subscribers on the others (and within the
// membership cache's life when the announcement is lost).
import { decodeGlobalID } from '@pothos/plugin-relay';
import { type Client, createClient } from 'graphql-ws';
import { createConnection } from 'mysql2/promise';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MEMBERSHIP_CACHE_TTL_MS } from '../src/realtime/membership.js';
import { createGroup, data, gql, openDirect, send, signUp, type TestUser, uniqueName } from './helpers/client.js';
import { type Cluster, type Instance, startCluster } from './helpers/processes.js';
import { eventually, sleep } from './helpers/wait.js';
import { type Collector, connect, subscribe, untilLive, wsUrl } from './helpers/ws.js';

const MESSAGE_EVENTS = `subscription ($conversationId: ID, $after: String) {
  messageEvents(conversationId: $conversationId, after: $after) {
    kind cursor message { id body conversation { id } sender { id } }
  }
}`;
const TYPING = `subscription ($conversationId: ID!) {
  typing(conversationId: $conversationId) { conversationId typing user { id } }
}`;
const PRESENCE = `subscription ($userIds: [ID!]) {
  presence(userIds: $userIds) { online lastSeenAt user { id } }
}`;
const SET_TYPING = 'mutation ($id: ID!, $typing: Boolean!) { setTyping(conversationId: $id, typing: $typing) }';
const SEND = 'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id body } }';
const LEAVE = 'mutation ($id: ID!) { leaveConversation(conversationId: $id) }';
const ADD_MEMBERS =
  'mutation ($id: ID!, $userIds: [ID!]!) { addMembers(conversationId: $id, userIds: $userIds) { id } }';
const CONVERSATIONS_CURSOR = '{ conversations(first: 1) { eventCursor } }';
const MESSAGES_CURSOR = 'query ($id: ID!) { messages(conversationId: $id, last: 1) { eventCursor } }';
const HISTORY = `query ($id: ID!, $after: String) {
  messages(conversationId: $id, first: 100, after: $after) {
    edges { node { id body } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const ONLINE = 'query ($id: ID!) { user(id: $id) { online lastSeenAt } }';

type MessageEvent = {
  kind: string;
  cursor: string;
  message: { id: string; body: string; conversation: { id: string } };
};
type TypingEvent = { conversationId: string; typing: boolean; user: { id: string } };
type PresenceEvent = { online: boolean; lastSeenAt: string | null; user: { id: string } };

/** Every client a test opens, disposed after it whatever happened. */
const openClients: Client[] = [];
function track(client: Client): Client {
  openClients.push(client);
  return client;
}
afterEach(async () => {
  await Promise.allSettled(openClients.splice(0).map((client) => client.dispose()));
});

/** A graphql-ws client of `user` on `instance`, whose socket stays open (no subscription needed) until disposed. */
async function openSocket(instance: Instance, user: TestUser): Promise<Client> {
  const client = track(
    createClient({
      url: wsUrl(instance.graphqlUrl),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${user.token}` },
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: () => undefined,
    }),
  );
  await new Promise<void>((resolve, reject) => {
    const stopWaiting = [
      client.on('connected', () => {
        stopWaiting.forEach((stop) => stop());
        resolve();
      }),
      client.on('closed', (event: any) =>
        reject(new Error(`socket closed before it was acknowledged: ${event?.code}`)),
      ),
    ];
  });
  return client;
}

/** The messageEvents of `user` on `instance`, after `after`, of one conversation or of all of them. */
function messageEvents(
  instance: Instance,
  user: TestUser,
  after: string,
  conversationId?: string,
): { client: Client; events: Collector<{ messageEvents: MessageEvent }> } {
  const client = track(connect(instance.graphqlUrl, user.token));
  return { client, events: subscribe(client, MESSAGE_EVENTS, { after, conversationId }) };
}

const received = (collector: Collector<{ messageEvents: MessageEvent }>) =>
  collector.events.map((event) => event.messageEvents);
const bodiesOf = (events: MessageEvent[]) => events.map((event) => event.message.body);

/** The event cursor of a page of `user`'s conversations, or of one conversation's messages. */
async function eventCursor(instance: Instance, user: TestUser, conversationId?: string): Promise<string> {
  if (conversationId) {
    return (await data(instance.graphqlUrl, MESSAGES_CURSOR, { id: conversationId }, user.token)).messages.eventCursor;
  }
  return (await data(instance.graphqlUrl, CONVERSATIONS_CURSOR, {}, user.token)).conversations.eventCursor;
}

/** The ids of a conversation's whole history, oldest first: the order every subscriber must see. */
async function historyIds(instance: Instance, user: TestUser, conversationId: string): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (;;) {
    const page: any = (await data(instance.graphqlUrl, HISTORY, { id: conversationId, after }, user.token)).messages;
    ids.push(...page.edges.map((edge: any) => edge.node.id));
    if (!page.pageInfo.hasNextPage) return ids;
    after = page.pageInfo.endCursor;
  }
}

function setTyping(instance: Instance, user: TestUser, conversationId: string, typing: boolean): Promise<unknown> {
  return data(instance.graphqlUrl, SET_TYPING, { id: conversationId, typing }, user.token);
}

/** The HTTP status of /ready, or 'unreachable' when the instance no longer accepts connections. */
async function readiness(instance: Instance): Promise<number | 'unreachable'> {
  try {
    const response = await fetch(`${instance.url}/ready`);
    await response.body?.cancel();
    return response.status;
  } catch {
    return 'unreachable';
  }
}

/**
 * Sends numbered messages through one instance, `inFlight` at a time, so that
 * phases of a test can be run while traffic flows. Every failure is recorded.
 */
class Sender {
  next = 0;
  succeeded = 0;
  readonly failures: string[] = [];

  constructor(
    private readonly instance: Instance,
    private readonly user: TestUser,
    private readonly conversationId: string,
    private readonly inFlight = 4,
  ) {}

  /** Sends until `count` messages were sent in all; resolves when all of them answered. */
  async sendUntil(count: number): Promise<void> {
    const worker = async () => {
      while (this.next < count) {
        const body = `message ${++this.next}`;
        try {
          const response = await gql(
            this.instance.graphqlUrl,
            SEND,
            { input: { conversationId: this.conversationId, body } },
            this.user.token,
          );
          if (response.errors?.length || response.data?.sendMessage?.body !== body) {
            this.failures.push(`${body}: ${JSON.stringify(response.errors)}`);
          } else this.succeeded++;
        } catch (error) {
          this.failures.push(`${body}: ${(error as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: this.inFlight }, worker));
  }
}

describe('a cluster of two instances', () => {
  let cluster: Cluster;
  let a: Instance;
  let b: Instance;
  beforeAll(async () => {
    cluster = await startCluster(2);
    [a, b] = cluster.instances as [Instance, Instance];
  }, 120_000);
  afterAll(() => cluster?.stop());

  const newUser = (prefix: string) => signUp(a.graphqlUrl, uniqueName(prefix));

  it('delivers messages sent through one instance to a subscriber on the other, exactly once and in order', async () => {
    const [alice, bob] = await Promise.all([newUser('alice'), newUser('bob')]);
    const conversationId = await openDirect(a.graphqlUrl, alice, bob);
    await send(a.graphqlUrl, alice, conversationId, 'already read');
    // Bob reads a page on B, then subscribes there from its cursor, once for the
    // conversation and once for all of his conversations.
    const [messagesCursor, conversationsCursor] = await Promise.all([
      eventCursor(b, bob, conversationId),
      eventCursor(b, bob),
    ]);
    const expected = Array.from({ length: 30 }, (_, index) => `cross ${index + 1}`);
    // Some are sent between the page and the subscription: they come from the replay.
    for (const body of expected.slice(0, 5)) await send(a.graphqlUrl, alice, conversationId, body);
    const scoped = messageEvents(b, bob, messagesCursor, conversationId).events;
    const unscoped = messageEvents(b, bob, conversationsCursor).events;
    for (const body of expected.slice(5)) await send(a.graphqlUrl, alice, conversationId, body);
    // A last message proves nothing else (a duplicate) is still on its way before it.
    await send(a.graphqlUrl, alice, conversationId, 'fence');
    const history = await historyIds(a, alice, conversationId);

    for (const events of [scoped, unscoped]) {
      await events.waitUntil((event) => event.messageEvents.message.body === 'fence', 30_000);
      expect(bodiesOf(received(events))).toEqual([...expected, 'fence']);
      expect(received(events).map((event) => event.message.id)).toEqual(history.slice(1));
      expect(received(events).every((event) => event.kind === 'CREATED')).toBe(true);
      expect(events.errors).toEqual([]);
    }
  });

  it('resumes on the other instance from the last cursor with no gap and no duplicate while messages keep coming', async () => {
    const [alice, bob] = await Promise.all([newUser('alice'), newUser('bob')]);
    const conversationId = await openDirect(a.graphqlUrl, alice, bob);
    const first = messageEvents(a, bob, await eventCursor(a, bob, conversationId), conversationId);

    const expected = Array.from({ length: 80 }, (_, index) => `resume ${index + 1}`);
    const sending = (async () => {
      for (const [index, body] of expected.entries()) {
        // Alternating instances: where a message is sent must not matter either.
        await send((index % 2 ? b : a).graphqlUrl, alice, conversationId, body);
      }
    })();

    await first.events.waitFor(15, 30_000);
    await first.client.dispose();
    const beforeDisconnect = received(first.events);
    const second = messageEvents(b, bob, beforeDisconnect.at(-1)!.cursor, conversationId);
    await sending;
    await send(a.graphqlUrl, alice, conversationId, 'fence');
    await second.events.waitUntil((event) => event.messageEvents.message.body === 'fence', 30_000);

    const all = [...beforeDisconnect, ...received(second.events)];
    expect(bodiesOf(all)).toEqual([...expected, 'fence']);
    expect(all.map((event) => event.message.id)).toEqual(await historyIds(a, alice, conversationId));
    expect(second.events.errors).toEqual([]);
  });

  it('shows typing started on one instance to the other members on another, once per repeat window, until it is ended anywhere', async () => {
    const [alice, bob, carol] = await Promise.all([newUser('alice'), newUser('bob'), newUser('carol')]);
    const conversationId = await createGroup(a.graphqlUrl, alice, [bob, carol], 'Typing');
    const bobWatches = subscribe<{ typing: TypingEvent }>(track(connect(b.graphqlUrl, bob.token)), TYPING, {
      conversationId,
    });
    const aliceWatches = subscribe<{ typing: TypingEvent }>(track(connect(a.graphqlUrl, alice.token)), TYPING, {
      conversationId,
    });
    // Carol stops then starts typing: the start is always published, so it
    // primes the streams and, at the end, proves that nothing else is pending.
    const carolTypes = async () => {
      await setTyping(a, carol, conversationId, false);
      await setTyping(a, carol, conversationId, true);
    };
    await untilLive(bobWatches, carolTypes);
    await untilLive(aliceWatches, carolTypes);

    const startedAt = Date.now();
    await setTyping(a, alice, conversationId, true);
    const repeatsDoneAt: number[] = [];
    for (const instance of [b, a, b]) {
      await setTyping(instance, alice, conversationId, true);
      repeatsDoneAt.push(Date.now());
    }
    await bobWatches.waitUntil((event) => event.typing.user.id === alice.id && event.typing.typing);
    await setTyping(b, alice, conversationId, false);
    await bobWatches.waitUntil((event) => event.typing.user.id === alice.id && !event.typing.typing);
    // Past the 5 s timeout of the repeat handled by A: ending it on B must leave nothing behind there.
    await sleep(5_500);
    const fence = [bobWatches.events.length, aliceWatches.events.length] as const;
    await carolTypes();
    const carolStarted = (from: number) => (event: { typing: TypingEvent }, index: number) =>
      index >= from && event.typing.user.id === carol.id && event.typing.typing;
    await eventually(() => bobWatches.events.some(carolStarted(fence[0])), 'carol typing again, seen by bob');
    await eventually(() => aliceWatches.events.some(carolStarted(fence[1])), 'carol typing again, seen by alice');

    const aliceTyping = (events: { typing: TypingEvent }[]) =>
      events.filter((event) => event.typing.user.id === alice.id).map((event) => event.typing);
    const bobSaw = aliceTyping(bobWatches.events);
    expect(bobSaw.every((event) => event.conversationId === conversationId)).toBe(true);
    // A repeat that answered within 2 s of the first call cannot have been published
    // again; only on a machine stalled past that could one legitimately be.
    const lateRepeats = repeatsDoneAt.filter((doneAt) => doneAt - startedAt >= 2_000).length;
    if (lateRepeats === 0) expect(bobSaw.map((event) => event.typing)).toEqual([true, false]);
    else {
      expect(bobSaw.at(-1)!.typing).toBe(false);
      expect(bobSaw.filter((event) => event.typing).length).toBeLessThanOrEqual(1 + lateRepeats);
    }
    // The typer hears nothing of her own typing.
    expect(aliceTyping(aliceWatches.events)).toEqual([]);
  });

  /**
   * The presence of `watched` (contacts of `watcher`) as seen by `watcher` on
   * `instance`. The stream also watches a primer, whose coming and going shows
   * that it is live before the test starts.
   */
  async function watchPresence(instance: Instance, watcher: TestUser, watched: TestUser[]) {
    const primer = await newUser('primer');
    for (const user of [...watched, primer]) await openDirect(a.graphqlUrl, watcher, user);
    const userIds = [...watched, primer].map((user) => user.id);
    const client = track(connect(instance.graphqlUrl, watcher.token));
    const events = subscribe<{ presence: PresenceEvent }>(client, PRESENCE, { userIds });
    await untilLive(events, async () => (await openSocket(a, primer)).dispose());
    return {
      events,
      /** The online flags published about `user`, in order. */
      of: (user: TestUser) =>
        events.events.filter((event) => event.presence.user.id === user.id).map((event) => event.presence),
    };
  }

  /** Whether `user` is online, as `viewer` reads it on `instance`. */
  const onlineOn = async (instance: Instance, viewer: TestUser, user: TestUser): Promise<boolean> =>
    (await data(instance.graphqlUrl, ONLINE, { id: user.id }, viewer.token)).user.online;

  it('shows a user with a socket on one instance online to a watcher on another, and offline once it closes', async () => {
    const [watcher, xavier] = await Promise.all([newUser('watcher'), newUser('xavier')]);
    const presence = await watchPresence(b, watcher, [xavier]);

    const socket = await openSocket(a, xavier);
    await presence.events.waitUntil((event) => event.presence.user.id === xavier.id && event.presence.online);
    expect(await onlineOn(b, watcher, xavier)).toBe(true);

    await socket.dispose();
    const offline = await presence.events.waitUntil(
      (event) => event.presence.user.id === xavier.id && !event.presence.online,
      10_000,
    );
    expect(offline.presence.lastSeenAt).not.toBeNull();
    expect(presence.of(xavier).map((event) => event.online)).toEqual([true, false]);
    const seen = (await data(b.graphqlUrl, ONLINE, { id: xavier.id }, watcher.token)).user;
    expect(seen.online).toBe(false);
    expect(seen.lastSeenAt).not.toBeNull();
  });

  it('keeps a user with sockets on both instances online until both are closed', async () => {
    const [watcher, xavier] = await Promise.all([newUser('watcher'), newUser('xavier')]);
    const presence = await watchPresence(b, watcher, [xavier]);

    const onA = await openSocket(a, xavier);
    await presence.events.waitUntil((event) => event.presence.user.id === xavier.id && event.presence.online);
    const onB = await openSocket(b, xavier);
    await onA.dispose();
    // Offline is published within 2 s of a last socket closing: wait longer than that.
    await sleep(3_000);
    expect(presence.of(xavier).map((event) => event.online)).toEqual([true]);
    expect(await onlineOn(a, watcher, xavier)).toBe(true);
    expect(await onlineOn(b, watcher, xavier)).toBe(true);

    await onB.dispose();
    await presence.events.waitUntil((event) => event.presence.user.id === xavier.id && !event.presence.online, 10_000);
    expect(presence.of(xavier).map((event) => event.online)).toEqual([true, false]);
    expect(await onlineOn(a, watcher, xavier)).toBe(false);
  });

  it('shows a user offline within 60 s when the instance holding their only socket is killed', async () => {
    const doomed = await cluster.addInstance();
    const [watcher, xavier] = await Promise.all([newUser('watcher'), newUser('xavier')]);
    const presence = await watchPresence(b, watcher, [xavier]);

    await openSocket(doomed, xavier);
    await presence.events.waitUntil((event) => event.presence.user.id === xavier.id && event.presence.online);
    doomed.kill('SIGKILL');
    await doomed.exited;
    const killedAt = Date.now();

    const offline = await presence.events.waitUntil(
      (event) => event.presence.user.id === xavier.id && !event.presence.online,
      60_000,
    );
    console.info(`offline published ${Date.now() - killedAt} ms after SIGKILL`);
    expect(offline.presence.lastSeenAt).not.toBeNull();
    expect(presence.of(xavier).map((event) => event.online)).toEqual([true, false]);
    expect(await onlineOn(a, watcher, xavier)).toBe(false);
  }, 120_000);

  it('shuts down on SIGTERM: closes sockets with 1001, finishes the in-flight mutation and exits with 0', async () => {
    const leaving = await cluster.addInstance();
    const [alice, bob] = await Promise.all([newUser('alice'), newUser('bob')]);
    const conversationId = await openDirect(a.graphqlUrl, alice, bob);

    const subscriber = track(connect(leaving.graphqlUrl, bob.token));
    const closeCodes: number[] = [];
    subscriber.on('closed', (event: any) => closeCodes.push(event.code));
    const events = subscribe(subscriber, MESSAGE_EVENTS, { after: await eventCursor(a, bob) });
    await untilLive(events, () => send(a.graphqlUrl, alice, conversationId, 'live'));

    // The event log's counter row, locked here, holds the send in flight until released.
    const database = await createConnection({ uri: cluster.databaseUrl });
    try {
      await database.query('START TRANSACTION');
      await database.query('SELECT position FROM event_sequence WHERE id = 1 FOR UPDATE');
      const inFlight = gql(
        leaving.graphqlUrl,
        SEND,
        { input: { conversationId, body: 'sent while shutting down' } },
        alice.token,
      );
      let answered: unknown = null;
      void inFlight.then(
        (response) => (answered = response),
        (error: Error) => (answered = error.message),
      );
      await eventually(async () => {
        if (answered) throw new Error(`the send answered before the lock was released: ${JSON.stringify(answered)}`);
        const [rows]: any = await database.query(
          "SELECT COUNT(*) AS waiting FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND INFO LIKE 'UPDATE %event_sequence%'",
        );
        return Number(rows[0].waiting) > 0;
      }, 'the send to wait for the lock');

      const signalledAt = Date.now();
      leaving.kill('SIGTERM');
      await eventually(() => closeCodes.length > 0, 'the subscriber socket to close', 10_000);
      expect(closeCodes).toEqual([1001]);
      // Shutting down, the instance is not ready: it answers 503 or no longer accepts connections.
      const ready = await readiness(leaving);
      console.info(`/ready while shutting down: ${ready}`);
      expect([503, 'unreachable']).toContain(ready);
      expect(leaving.process.exitCode).toBeNull();

      await database.query('ROLLBACK');
      const response = await inFlight;
      expect(response.errors).toBeUndefined();
      expect(response.data.sendMessage.body).toBe('sent while shutting down');

      const exitCode = await Promise.race([leaving.exited, sleep(10_000).then(() => 'still running')]);
      expect(exitCode).toBe(0);
      expect(Date.now() - signalledAt).toBeLessThan(10_000);
      const history = await data(a.graphqlUrl, HISTORY, { id: conversationId, after: null }, bob.token);
      expect(history.messages.edges.map((edge: any) => edge.node.body)).toContain('sent while shutting down');
    } finally {
      await database.end();
    }
  }, 60_000);

  it('stops delivering a group to a member who left through another instance, at once', async () => {
    const [alice, bob, carol] = await Promise.all([newUser('alice'), newUser('bob'), newUser('carol')]);
    const groupId = await createGroup(a.graphqlUrl, alice, [bob, carol], 'Leaving');
    const directId = await openDirect(a.graphqlUrl, alice, bob);
    const bobEvents = messageEvents(b, bob, await eventCursor(b, bob)).events;

    await send(a.graphqlUrl, alice, groupId, 'before leaving');
    await bobEvents.waitUntil((event) => event.messageEvents.message.body === 'before leaving');
    expect((await data(a.graphqlUrl, LEAVE, { id: groupId }, bob.token)).leaveConversation).toBe(true);
    await send(a.graphqlUrl, alice, groupId, 'after leaving, through A');
    await send(b.graphqlUrl, alice, groupId, 'after leaving, through B');
    await send(b.graphqlUrl, carol, groupId, 'after leaving, from carol through B');
    // Events reach a subscriber in log order: once this one arrived, the ones before it were decided.
    await send(a.graphqlUrl, alice, directId, 'fence');
    await bobEvents.waitUntil((event) => event.messageEvents.message.body === 'fence');

    expect(bodiesOf(received(bobEvents))).toEqual(['before leaving', 'fence']);
    expect(bobEvents.errors).toEqual([]);
  });

  it('starts delivering a group to a user added through another instance, without resubscribing', async () => {
    const [alice, bob, dave] = await Promise.all([newUser('alice'), newUser('bob'), newUser('dave')]);
    const groupId = await createGroup(a.graphqlUrl, alice, [bob], 'Joining');
    await send(a.graphqlUrl, alice, groupId, 'before dave');
    const daveEvents = messageEvents(b, dave, await eventCursor(b, dave)).events;
    // Dave's subscription is live (nothing shows it yet, as he sees no conversation): prove it
    // through a direct conversation opened after subscribing, which he must see too.
    const directId = await openDirect(a.graphqlUrl, alice, dave);
    await send(a.graphqlUrl, alice, directId, 'hello dave');
    await daveEvents.waitUntil((event) => event.messageEvents.message.body === 'hello dave');

    await data(a.graphqlUrl, ADD_MEMBERS, { id: groupId, userIds: [dave.id] }, alice.token);
    await send(a.graphqlUrl, alice, groupId, 'welcome, through A');
    await send(b.graphqlUrl, bob, groupId, 'welcome, through B');
    await daveEvents.waitUntil((event) => event.messageEvents.message.body === 'welcome, through B');

    expect(bodiesOf(received(daveEvents))).toEqual(['hello dave', 'welcome, through A', 'welcome, through B']);
    expect(daveEvents.errors).toEqual([]);
    expect(daveEvents.done).toBe(false);
  });

  it(
    'stops delivering a group to a member removed without an announcement once the cached members expire',
    async () => {
      const [alice, bob, carol] = await Promise.all([newUser('alice'), newUser('bob'), newUser('carol')]);
      const groupId = await createGroup(a.graphqlUrl, alice, [bob, carol], 'Lost invalidation');
      const directId = await openDirect(a.graphqlUrl, alice, bob);
      // Without `conversation` in the selection, which checks membership itself: what reaches bob is up to B's cache.
      const bobEvents: Collector<{ messageEvents: MessageEvent }> = subscribe(
        track(connect(b.graphqlUrl, bob.token)),
        'subscription ($after: String) { messageEvents(after: $after) { kind cursor message { id body } } }',
        { after: await eventCursor(b, bob) },
      );
      // Carol, still a member, subscribes on the same instance: once she has a message, B has decided it for bob too.
      const carolEvents = messageEvents(b, carol, await eventCursor(b, carol), groupId).events;
      await send(a.graphqlUrl, alice, groupId, 'before removal');
      await bobEvents.waitUntil((event) => event.messageEvents.message.body === 'before removal');

      // Bob's membership ends with no change published: what B hears when a publish is lost.
      const database = await createConnection({ uri: cluster.databaseUrl });
      try {
        await database.query('DELETE FROM memberships WHERE conversationId = ? AND userId = ?', [
          Number(decodeGlobalID(groupId).id),
          Number(decodeGlobalID(bob.id).id),
        ]);
      } finally {
        await database.end();
      }
      let sent = 0;
      await eventually(
        async () => {
          const body = `after removal ${++sent}`;
          await send(a.graphqlUrl, alice, groupId, body);
          await carolEvents.waitUntil((event) => event.messageEvents.message.body === body);
          // Events reach a subscriber in log order: once bob has a later message, B has decided this one for him.
          // (Carol's copy arriving first decides nothing: bob's socket may deliver his a moment later.)
          const fence = `fence after ${sent}`;
          await send(a.graphqlUrl, alice, directId, fence);
          await bobEvents.waitUntil((event) => event.messageEvents.message.body === fence);
          if (!bodiesOf(received(bobEvents)).includes(body)) return true;
          await sleep(200);
          return false;
        },
        'B to stop delivering the group to bob',
        MEMBERSHIP_CACHE_TTL_MS + 20_000,
      );
      await send(a.graphqlUrl, alice, groupId, 'long after removal');
      await carolEvents.waitUntil((event) => event.messageEvents.message.body === 'long after removal');
      // Events reach a subscriber in log order: once this one arrived, the ones before it were decided.
      await send(a.graphqlUrl, alice, directId, 'fence');
      await bobEvents.waitUntil((event) => event.messageEvents.message.body === 'fence');

      const bodies = bodiesOf(received(bobEvents));
      expect(bodies).not.toContain(`after removal ${sent}`);
      expect(bodies).not.toContain('long after removal');
      // Once B stopped, nothing more of the group reached bob: what he got after the removal is a run from the first.
      const stale = bodies.filter((body) => body.startsWith('after removal'));
      expect(stale).toEqual(Array.from({ length: stale.length }, (_, index) => `after removal ${index + 1}`));
      expect(bodies.at(-1)).toBe('fence');
      expect(bobEvents.errors).toEqual([]);
    },
    MEMBERSHIP_CACHE_TTL_MS + 60_000,
  );
});

describe('a cluster whose Redis goes down', () => {
  let cluster: Cluster;
  let a: Instance;
  let b: Instance;
  beforeAll(async () => {
    cluster = await startCluster(2);
    [a, b] = cluster.instances as [Instance, Instance];
  }, 120_000);
  afterAll(() => cluster?.stop());

  it('delivers 1,000 messages exactly once and in order through a Redis outage and two resumes on alternating instances', async () => {
    const TOTAL = 1_000;
    const alice = await signUp(a.graphqlUrl, uniqueName('alice'));
    const bob = await signUp(a.graphqlUrl, uniqueName('bob'));
    const conversationId = await openDirect(a.graphqlUrl, alice, bob);
    const sender = new Sender(a, alice, conversationId, 4);

    // Bob's first socket, on B, lives through the whole outage.
    const first = messageEvents(b, bob, await eventCursor(b, bob));
    const firstCloses: unknown[] = [];
    first.client.on('closed', (event) => firstCloses.push(event));
    await sender.sendUntil(200);

    await cluster.redis.kill();
    // Sends go on while Redis is down, and both instances say they are not ready.
    await Promise.all([
      sender.sendUntil(500),
      eventually(async () => (await readiness(a)) === 503, 'A to report 503 without Redis'),
      eventually(async () => (await readiness(b)) === 503, 'B to report 503 without Redis'),
      sleep(3_000),
    ]);
    expect(sender.failures).toEqual([]);
    const duringOutage = first.events.events.length;
    await cluster.redis.start();
    await Promise.all([
      sender.sendUntil(600),
      eventually(async () => (await readiness(a)) === 200, 'A to report 200 once Redis is back'),
      eventually(async () => (await readiness(b)) === 200, 'B to report 200 once Redis is back'),
    ]);
    // Everything sent so far, the outage included, arrives on the same socket.
    await first.events.waitFor(600, 60_000);
    expect(firstCloses).toEqual([]);
    expect(first.events.done).toBe(false);
    expect(first.events.errors).toEqual([]);

    // Two resumes while messages keep coming: B -> A -> B.
    const [, [firstPart, secondPart, third]] = await Promise.all([
      sender.sendUntil(TOTAL),
      (async () => {
        await first.events.waitFor(650, 60_000);
        await first.client.dispose();
        const firstPart = received(first.events);
        const second = messageEvents(a, bob, firstPart.at(-1)!.cursor);
        await eventually(() => firstPart.length + second.events.events.length >= 800, 'the second subscriber', 60_000);
        await second.client.dispose();
        const secondPart = received(second.events);
        expect(second.events.errors).toEqual([]);
        const third = messageEvents(b, bob, [...firstPart, ...secondPart].at(-1)!.cursor);
        return [firstPart, secondPart, third] as const;
      })(),
    ]);
    expect(sender.failures).toEqual([]);
    expect(sender.succeeded).toBe(TOTAL);
    await send(a.graphqlUrl, alice, conversationId, 'fence');
    await third.events.waitUntil((event) => event.messageEvents.message.body === 'fence', 60_000);

    const all = [...firstPart, ...secondPart, ...received(third.events)];
    const history = await historyIds(b, bob, conversationId);
    expect(history).toHaveLength(TOTAL + 1);
    expect(all.length).toBe(history.length);
    expect(all.map((event) => event.message.id)).toEqual(history);
    expect(new Set(bodiesOf(all)).size).toBe(TOTAL + 1);
    expect(third.events.errors).toEqual([]);
    console.info(`${duringOutage} of the first 500 messages had arrived before Redis came back`);
  }, 240_000);

  it('applies membership changes made through one instance during a Redis outage to subscribers on the other', async () => {
    const [alice, bob, carol, dave] = (await Promise.all(
      ['alice', 'bob', 'carol', 'dave'].map((prefix) => signUp(a.graphqlUrl, uniqueName(prefix))),
    )) as [TestUser, TestUser, TestUser, TestUser];
    const groupId = await createGroup(a.graphqlUrl, alice, [bob, carol], 'Outage');
    const toBob = await openDirect(a.graphqlUrl, alice, bob);
    const toDave = await openDirect(a.graphqlUrl, alice, dave);
    const bobEvents = messageEvents(b, bob, await eventCursor(b, bob)).events;
    const daveEvents = messageEvents(b, dave, await eventCursor(b, dave)).events;
    const arrived = (events: Collector<{ messageEvents: MessageEvent }>, body: string) =>
      events.waitUntil((event) => event.messageEvents.message.body === body, 30_000);
    /** Messages to bob and dave that, once arrived, prove every earlier event was decided for them. */
    const fence = async (body: string) => {
      await send(a.graphqlUrl, alice, toBob, body);
      await send(a.graphqlUrl, alice, toDave, body);
      await Promise.all([arrived(bobEvents, body), arrived(daveEvents, body)]);
    };
    // B has delivered the group once, so it knows its members.
    await send(a.graphqlUrl, alice, groupId, 'before the outage');
    await fence('fence 1');

    await cluster.redis.kill();
    let redisDown = true;
    try {
      await eventually(async () => (await readiness(b)) === 503, 'B to notice that Redis is down');
      await data(a.graphqlUrl, LEAVE, { id: groupId }, bob.token);
      await data(a.graphqlUrl, ADD_MEMBERS, { id: groupId, userIds: [dave.id] }, alice.token);
      await send(a.graphqlUrl, alice, groupId, 'during the outage');
      await fence('fence 2');
      await cluster.redis.start();
      redisDown = false;
    } finally {
      if (redisDown) await cluster.redis.start();
    }
    await eventually(async () => (await readiness(a)) === 200 && (await readiness(b)) === 200, 'Redis to be back');
    await send(a.graphqlUrl, alice, groupId, 'after the outage');
    await fence('fence 3');

    // Bob left: nothing of the group after that. Dave joined: everything of it after that.
    expect({ bob: bodiesOf(received(bobEvents)), dave: bodiesOf(received(daveEvents)) }).toEqual({
      bob: ['before the outage', 'fence 1', 'fence 2', 'fence 3'],
      dave: ['fence 1', 'during the outage', 'fence 2', 'after the outage', 'fence 3'],
    });
  }, 120_000);
});
