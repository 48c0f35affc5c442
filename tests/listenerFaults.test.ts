// A database failure inside a subscription listener, against a real server
// process: the membership check of a live event fails (the table is renamed
// away for a moment through a connection of the test's own), the event is
// dropped with a warning, and the process keeps serving: queries answer and
// the sockets already open get later events. Node 20 ends a process on an
// unhandled rejection, so a listener that let one escape would take every
// socket of the instance with it. Also: one subscriber's checks deliver in the
// order the events came, even when the first needs a slow load.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createConnection } from 'mysql2/promise';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { channelOf, type Topic, type Topics } from '../src/realtime/topics.js';
import { createGroup, data, numericId, signUp, type TestUser, uniqueName } from './helpers/client.js';
import { type Instance, startInstance } from './helpers/processes.js';
import { dropMysqlDatabase, TEST_MYSQL_URL, TEST_REDIS_URL } from './helpers/server.js';
import { eventually } from './helpers/wait.js';
import { type Collector, sockets, subscribe, untilLive } from './helpers/ws.js';

const TYPING = `subscription ($conversationId: ID!) {
  typing(conversationId: $conversationId) { conversationId typing user { id } }
}`;
const CONVERSATION_EVENTS = 'subscription { conversationEvents { kind conversationId } }';
const SET_TYPING = 'mutation ($id: ID!, $typing: Boolean!) { setTyping(conversationId: $id, typing: $typing) }';
const LEAVE = 'mutation ($id: ID!) { leaveConversation(conversationId: $id) }';
const ADD_MEMBERS =
  'mutation ($id: ID!, $userIds: [ID!]!) { addMembers(conversationId: $id, userIds: $userIds) { id } }';
const CONVERSATIONS = '{ conversations(first: 50) { edges { node { id } } } }';
/** What Memberships logs when a live event's membership check fails. */
const CHECK_FAILED = 'live event dropped: its membership check failed';

type TypingEvent = { typing: { conversationId: string; typing: boolean; user: { id: string } } };

/** Rounds of the ordering test: each could go wrong by chance before per-subscriber ordering. */
const ROUNDS = 10;

/** A server process with a database of its own, and a way to take its memberships table away and back. */
type SetUp = {
  instance: Instance;
  /** Holds the memberships table locked while `during` runs (MySQL only: SQLite runs one statement at a time). */
  withMembershipsLocked: ((during: (waiting: () => Promise<number>) => Promise<void>) => Promise<void>) | null;
  /** Renames the memberships table, so every query of it fails until restore(). */
  breakMemberships(): Promise<void>;
  restoreMemberships(): Promise<void>;
  /** Publishes on the instance's pub/sub as another instance would; null on the in-process bus. */
  publish: (<T extends Topic>(topic: T, payload: Topics[T]) => Promise<void>) | null;
  stop(): Promise<void>;
};

async function startMysqlSetUp(): Promise<SetUp> {
  const name = `chat_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const prefix = `${name}:`;
  const instance = await startInstance({
    DATABASE_URL: `${TEST_MYSQL_URL}/${name}`,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
  });
  const database = await createConnection({ uri: `${TEST_MYSQL_URL}/${name}` });
  const locker = await createConnection({ uri: `${TEST_MYSQL_URL}/${name}` });
  const redis = new Redis(TEST_REDIS_URL);
  return {
    instance,
    async withMembershipsLocked(during) {
      await locker.query('LOCK TABLES memberships WRITE');
      try {
        // The instance's statements blocked on the lock, as the server lists them.
        await during(async () => {
          const [rows] = await database.query(
            "SELECT COUNT(*) AS waiting FROM information_schema.PROCESSLIST WHERE DB = ? AND INFO LIKE '%FROM `memberships`%' AND ID NOT IN (CONNECTION_ID(), ?)",
            [name, locker.threadId],
          );
          return Number((rows as { waiting: number }[])[0]!.waiting);
        });
      } finally {
        await locker.query('UNLOCK TABLES');
      }
    },
    breakMemberships: async () => void (await database.query('RENAME TABLE memberships TO memberships_away')),
    restoreMemberships: async () => void (await database.query('RENAME TABLE memberships_away TO memberships')),
    publish: async (topic, payload) => void (await redis.publish(channelOf(prefix, topic), JSON.stringify(payload))),
    async stop() {
      instance.kill('SIGKILL');
      await instance.exited;
      await Promise.allSettled([database.end(), locker.end(), redis.quit()]);
      await dropMysqlDatabase(name);
    },
  };
}

async function startSqliteSetUp(): Promise<SetUp> {
  const directory = mkdtempSync(join(tmpdir(), 'chat-test-'));
  const path = join(directory, 'chat.sqlite');
  const instance = await startInstance({ SQLITE_PATH: path });
  const database = await new DataSource({ type: 'better-sqlite3', database: path, timeout: 10_000 }).initialize();
  return {
    instance,
    withMembershipsLocked: null,
    breakMemberships: async () => void (await database.query('ALTER TABLE memberships RENAME TO memberships_away')),
    restoreMemberships: async () => void (await database.query('ALTER TABLE memberships_away RENAME TO memberships')),
    publish: null,
    async stop() {
      instance.kill('SIGKILL');
      await instance.exited;
      await database.destroy();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

const { socketClient, closeAll } = sockets();
afterEach(closeAll);

describe.each([
  { name: 'mysql+redis', start: startMysqlSetUp, redis: true },
  { name: 'sqlite', start: startSqliteSetUp, redis: false },
])('subscription listeners on $name', ({ start, redis }) => {
  let setUp: SetUp;
  let url: string;
  let broken = false;
  beforeAll(async () => {
    setUp = await start();
    url = setUp.instance.graphqlUrl;
  }, 120_000);
  afterEach(async () => {
    if (broken) await setUp.restoreMemberships();
    broken = false;
  });
  afterAll(() => setUp?.stop());

  const newUsers = (count: number) =>
    Promise.all(Array.from({ length: count }, () => signUp(url, uniqueName('fault'))));
  const setTyping = (user: TestUser, conversationId: string, typing: boolean) =>
    data(url, SET_TYPING, { id: conversationId, typing }, user.token);
  const socketOf = (user: TestUser) => socketClient(url, user.token);

  /** Waits until the instance either logged `line` or exited; the test then says which. */
  const loggedOrExited = (line: string, what: string) =>
    eventually(() => setUp.instance.process.exitCode !== null || setUp.instance.output().includes(line), what);

  function expectStillServing(): void {
    expect(setUp.instance.process.exitCode).toBe(null);
    expect(setUp.instance.output()).not.toContain('unhandled rejection');
  }

  it('the typing expiry whose check fails is dropped with a warning; the instance and the socket keep serving', async () => {
    const [alice, bob, carol] = (await newUsers(3)) as [TestUser, TestUser, TestUser];
    const groupId = await createGroup(url, alice, [bob, carol], 'typing through a fault');
    const bobTyping: Collector<TypingEvent> = subscribe(socketOf(bob), TYPING, { conversationId: groupId });
    await untilLive(bobTyping, () => setTyping(alice, groupId, true));
    // Carol leaving invalidates the group's cached members: the expiry's check must load them.
    await data(url, LEAVE, { id: groupId }, carol.token);
    await setUp.breakMemberships();
    broken = true;

    // typing=true ends by itself 5 s after alice's last repeat; its membership check then fails.
    await loggedOrExited(CHECK_FAILED, 'the failed check of the typing expiry');
    expectStillServing();
    await setUp.restoreMemberships();
    broken = false;

    const before = bobTyping.events.length;
    await setTyping(alice, groupId, true);
    const [later] = (await bobTyping.waitFor(before + 1)).slice(before);
    expect(later!.typing).toMatchObject({ typing: true, user: { id: alice.id } });
    expect(bobTyping.events.every((event) => event.typing.typing)).toBe(true); // the failed expiry was dropped
    expect(bobTyping.errors).toEqual([]);
    expect(bobTyping.done).toBe(false);
    const conversations = await data(url, CONVERSATIONS, {}, bob.token);
    expect(conversations.conversations.edges.map((edge: any) => edge.node.id)).toContain(groupId);
    expectStillServing();
  }, 60_000);

  // Only another instance (through Redis) announces a change without a query here.
  it.runIf(redis)(
    'a conversation change announced by another instance whose check fails is dropped; later changes arrive',
    async () => {
      if (!setUp.publish) throw new Error('this set-up announces nothing through Redis');
      const [alice, bob, carol] = (await newUsers(3)) as [TestUser, TestUser, TestUser];
      const bobChanges = subscribe(socketOf(bob), CONVERSATION_EVENTS);
      await untilLive(bobChanges, () => createGroup(url, alice, [bob], 'until live'));
      const groupId = await createGroup(url, alice, [bob], 'changes through a fault');
      await bobChanges.waitUntil((event) => event.conversationEvents.conversationId === groupId);
      await setUp.breakMemberships();
      broken = true;

      // bob is neither joining nor leaving: whether the change concerns him needs the members.
      await setUp.publish('membership', { conversationId: numericId(groupId), joined: [], left: [] });
      await loggedOrExited(CHECK_FAILED, 'the failed check of the conversation change');
      expectStillServing();
      await setUp.restoreMemberships();
      broken = false;

      const before = bobChanges.events.length;
      await data(url, ADD_MEMBERS, { id: groupId, userIds: [carol.id] }, alice.token);
      await bobChanges.waitFor(before + 1);
      expect(bobChanges.events.slice(before)).toEqual([
        { conversationEvents: { kind: 'UPDATED', conversationId: groupId } },
      ]);
      expect(bobChanges.errors).toEqual([]);
      expect(bobChanges.done).toBe(false);
      expectStillServing();
    },
    60_000,
  );

  // MySQL only: SQLite answers loads in the order they were asked, so none can overtake another.
  it.runIf(redis)(
    'one subscriber gets typing:true then typing:false in that order when both need a slow membership load',
    async () => {
      const { publish, withMembershipsLocked } = setUp;
      if (!publish || !withMembershipsLocked) throw new Error('this set-up cannot lock the memberships table');
      const [alice, bob] = (await newUsers(2)) as [TestUser, TestUser];
      const groupId = await createGroup(url, alice, [bob], 'typing in order');
      const conversationId = numericId(groupId);
      const typing = (value: boolean) =>
        publish('typing', { conversationId, userId: numericId(alice.id), typing: value });
      const bobTyping: Collector<TypingEvent> = subscribe(socketOf(bob), TYPING, { conversationId: groupId });
      await untilLive(bobTyping, () => typing(true));

      for (let round = 0; round < ROUNDS; round++) {
        const before = bobTyping.events.length;
        await withMembershipsLocked(async (waiting) => {
          // Another instance announces a change of the group (the cache goes cold), then typing set back to back.
          await publish('membership', { conversationId, joined: [], left: [] });
          await typing(true);
          await typing(false);
          // Unlocked once the checks wait on the table: one merged load, or one per event (then they race).
          await eventually(async () => (await waiting()) >= 1, 'a membership load waiting on the lock');
          await eventually(async () => (await waiting()) >= 2, 'a second load', 500).catch(() => undefined);
        });
        const events = (await bobTyping.waitFor(before + 2)).slice(before);
        expect(
          events.map((event) => event.typing.typing),
          `round ${round}`,
        ).toEqual([true, false]);
      }
      expect(bobTyping.errors).toEqual([]);
    },
    120_000,
  );
});
