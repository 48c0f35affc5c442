// An offline event is not lost when the database fails: the user is already
// gone from the shared state, so it is published whatever happens to the
// lastSeenAt write, on a socket's close as in the sweep after an instance
// died, for every user of the sweep's batch. The failures are real: the users
// table renamed away for a moment, or a row locked, through a connection of
// the test's own.
import { decodeGlobalID } from '@pothos/plugin-relay';
import { Redis } from 'ioredis';
import { createConnection } from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { presenceKeys } from '../src/realtime/presence.js';
import { openDirect, signUp, type TestUser, uniqueName } from './helpers/client.js';
import { startServer, TEST_MYSQL_URL, TEST_REDIS_URL, type TestServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';
import { type Collector, sockets, subscribe, untilLive } from './helpers/ws.js';

/** Only fields that read no table: the event must get through while the users table is away. */
const PRESENCE = 'subscription ($userIds: [ID!]) { presence(userIds: $userIds) { online lastSeenAt } }';

const { socketClient, openSocket, closeAll } = sockets();
afterEach(closeAll);

const flags = (collector: Collector) => collector.events.map((event) => event.presence.online as boolean);
const offlineCount = (collector: Collector) => flags(collector).filter((online) => !online).length;

describe('offline events while the database fails (mysql+redis)', () => {
  let server: TestServer;
  let url: string;
  const logLines: string[] = [];
  beforeAll(async () => {
    server = await startServer('mysql', { env: { REDIS_URL: TEST_REDIS_URL }, logLines });
    url = server.graphqlUrl;
  });
  afterAll(() => server?.stop());

  const numericId = (user: TestUser) => Number(decodeGlobalID(user.id).id);

  /** Runs `during` while the server's users table is renamed away, and puts it back whatever happens. */
  async function withoutUsersTable(during: () => Promise<void>): Promise<void> {
    const [{ name }] = await server.app.services.dataSource.query('SELECT DATABASE() AS name');
    const admin = await createConnection({ uri: `${TEST_MYSQL_URL}/${name}` });
    try {
      await admin.query('RENAME TABLE users TO users_away');
      await during();
    } finally {
      await admin.query('RENAME TABLE users_away TO users').catch(() => undefined);
      await admin.end();
    }
  }

  /** alice's stream of one contact's presence, live and settled (the visits that proved it live have ended offline). */
  async function watch(alice: TestUser, user: TestUser): Promise<Collector> {
    await openDirect(url, alice, user);
    const stream = subscribe(socketClient(url, alice.token), PRESENCE, { userIds: [user.id] });
    await untilLive(stream, async () => (await openSocket(url, user)).close());
    await eventually(() => flags(stream).at(-1) === false, 'the priming visits to end offline');
    return stream;
  }

  const newUser = (tag: string) => signUp(url, uniqueName(tag));

  /** bob online with a socket of his own, alice watching; how often she had seen him go offline until then. */
  async function bobOnlineWatchedByAlice() {
    const [alice, bob] = await Promise.all([newUser('alice'), newUser('bob')]);
    const stream = await watch(alice, bob);
    const socket = await openSocket(url, bob);
    await eventually(() => flags(stream).at(-1) === true, 'bob online');
    return { bob, stream, socket, offlineBefore: offlineCount(stream) };
  }

  it('a last socket closing is published offline though lastSeenAt cannot be written', async () => {
    const { stream, socket, offlineBefore } = await bobOnlineWatchedByAlice();
    const logged = logLines.length;

    await withoutUsersTable(async () => {
      await socket.close();
      await eventually(() => offlineCount(stream) > offlineBefore, 'bob offline');
    });
    const offline = stream.events.at(-1).presence;
    expect(offline).toEqual({ online: false, lastSeenAt: expect.any(String) });
    expect(logLines.slice(logged).some((line) => line.includes('lastSeenAt not written'))).toBe(true);
    expect(stream.errors).toEqual([]);
  });

  it('a lastSeenAt write held up by a row lock does not hold up the offline event', async () => {
    const { bob, stream, socket, offlineBefore } = await bobOnlineWatchedByAlice();

    const [{ name }] = await server.app.services.dataSource.query('SELECT DATABASE() AS name');
    const locker = await createConnection({ uri: `${TEST_MYSQL_URL}/${name}` });
    try {
      // Another transaction holds bob's row: the write waits (up to innodb_lock_wait_timeout, 50 s by default).
      await locker.beginTransaction();
      await locker.query('SELECT id FROM users WHERE id = ? FOR UPDATE', [numericId(bob)]);
      await socket.close();
      await eventually(() => offlineCount(stream) > offlineBefore, 'bob offline', 10_000);
    } finally {
      await locker.rollback().catch(() => undefined);
      await locker.end();
    }
    expect(stream.events.at(-1).presence).toEqual({ online: false, lastSeenAt: expect.any(String) });
  });

  it('a sweep publishes every user of its batch offline though lastSeenAt cannot be written', async () => {
    const [alice, bob, carol] = await Promise.all([newUser('alice'), newUser('bob'), newUser('carol')]);
    const streams = [await watch(alice, bob), await watch(alice, carol)];
    const offlineBefore = streams.map(offlineCount);

    // What an instance that died leaves in Redis: bob's and carol's registrations, expired.
    const prefix = server.app.services.config.redisKeyPrefix;
    const redis = new Redis(TEST_REDIS_URL);
    try {
      await withoutUsersTable(async () => {
        const expiredAt = Date.now() - 1_000;
        for (const userId of [numericId(bob), numericId(carol)]) {
          const keys = presenceKeys(prefix);
          await redis.zadd(keys.userKey(userId), expiredAt, 'dead-instance');
          await redis.zadd(keys.expiriesKey(keys.bucketOf(userId)), expiredAt, `dead-instance|${userId}`);
        }
        // The sweep runs every 5 seconds.
        await eventually(
          () => streams.every((stream, index) => offlineCount(stream) > offlineBefore[index]!),
          'bob and carol offline',
        );
      });
    } finally {
      redis.disconnect();
    }
    for (const stream of streams) {
      expect(stream.events.at(-1).presence).toEqual({ online: false, lastSeenAt: expect.any(String) });
      expect(stream.errors).toEqual([]);
    }
  });
});
