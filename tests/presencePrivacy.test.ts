// Presence is for people who share a conversation, by every road: polling
// users/user/node shows a stranger offline and never seen; a presence
// subscription stops reporting a user once no conversation is shared any more;
// a membership change costs contacts queries only for the subscribers it
// concerns; and a failed recompute is logged, not fatal.
import { decodeGlobalID } from '@pothos/plugin-relay';
import { createConnection } from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CONTACTS_QUERY_COMMENT } from '../src/realtime/presence.js';
import { createGroup, data, openDirect, signUp, type TestUser, uniqueName } from './helpers/client.js';
import { SET_UPS, seedUsers, startServer, TEST_MYSQL_URL, type TestServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';
import { type Collector, sockets, subscribe, untilLive } from './helpers/ws.js';

const PRESENCE = `subscription ($userIds: [ID!]) { presence(userIds: $userIds) { online user { id } } }`;
const USER = 'query ($id: ID!) { user(id: $id) { id online lastSeenAt } }';
const NODE = 'query ($id: ID!) { node(id: $id) { ... on User { id online lastSeenAt } } }';
const USERS =
  'query ($search: String!) { users(search: $search, first: 50) { edges { node { id online lastSeenAt } } } }';
const ME = '{ me { online lastSeenAt } }';
const LEAVE = 'mutation ($conversationId: ID!) { leaveConversation(conversationId: $conversationId) }';

const { socketClient, openSocket, closeAll } = sockets();
afterEach(closeAll);

/** The presence events a collector received about `user`, as online flags in order. */
const onlineFlagsOf = (collector: Collector, user: TestUser): boolean[] =>
  collector.events.filter((event) => event.presence.user.id === user.id).map((event) => event.presence.online);

/** How many times a collector heard `user` come online. */
const onlineCount = (collector: Collector, user: TestUser): number =>
  onlineFlagsOf(collector, user).filter((online) => online).length;

describe.each(SET_UPS)('presence privacy on $name', ({ database, options }) => {
  let server: TestServer;
  let url: string;
  const logLines: string[] = [];
  beforeAll(async () => {
    server = await startServer(database, { ...options, logLines });
    url = server.graphqlUrl;
  });
  afterAll(() => server?.stop());

  const newUser = (tag: string) => signUp(url, uniqueName(tag));
  const visit = async (user: TestUser) => (await openSocket(url, user)).close();

  /** The user's presence as they see it themselves: the truth. */
  const own = async (user: TestUser) => (await data(url, ME, {}, user.token)).me;

  /** `user` as `viewer` polls it, through each of user(id:), node(id:) and users(search:). */
  async function polled(viewer: TestUser, user: TestUser) {
    const byUser = (await data(url, USER, { id: user.id }, viewer.token)).user;
    const byNode = (await data(url, NODE, { id: user.id }, viewer.token)).node;
    const bySearch = (await data(url, USERS, { search: user.username }, viewer.token)).users.edges
      .map((edge: any) => edge.node)
      .filter((node: any) => node.id === user.id);
    return [byUser, byNode, ...bySearch].map(({ online, lastSeenAt }) => ({ online, lastSeenAt }));
  }

  it('polling shows a stranger offline and never seen, a contact as they are', async () => {
    const [alice, contact, stranger] = await Promise.all([newUser('alice'), newUser('contact'), newUser('stranger')]);
    await openDirect(url, alice, contact);

    // Both online.
    const sockets = await Promise.all([openSocket(url, contact), openSocket(url, stranger)]);
    expect(await own(stranger)).toEqual({ online: true, lastSeenAt: null });
    expect(await polled(alice, contact)).toEqual(Array(3).fill({ online: true, lastSeenAt: null }));
    expect(await polled(alice, stranger)).toEqual(Array(3).fill({ online: false, lastSeenAt: null }));

    // Both gone, each with a lastSeenAt of their own.
    await Promise.all(sockets.map((socket) => socket.close()));
    await eventually(async () => (await own(contact)).lastSeenAt !== null, 'contact offline, seen');
    await eventually(async () => (await own(stranger)).lastSeenAt !== null, 'stranger offline, seen');
    const contactSeen = (await own(contact)).lastSeenAt;
    expect(await polled(alice, contact)).toEqual(Array(3).fill({ online: false, lastSeenAt: contactSeen }));
    expect(await polled(alice, stranger)).toEqual(Array(3).fill({ online: false, lastSeenAt: null }));
    // Oneself is never a stranger.
    expect(await polled(stranger, stranger)).toEqual(Array(3).fill(await own(stranger)));
  });

  it.each(['the watched user', 'the watcher'])(
    'presence(userIds) stops reporting a user once %s left their only shared conversation',
    async (leaver) => {
      const [alice, bob, marker, other] = await Promise.all([
        newUser('alice'),
        newUser('bob'),
        newUser('marker'),
        newUser('other'),
      ]);
      const group = await createGroup(url, alice, [bob]);
      await openDirect(url, alice, marker);
      await openDirect(url, other, bob);
      // alice watches bob and a marker; `other`, who keeps a conversation with bob, watches bob too.
      const atAlice = subscribe(socketClient(url, alice.token), PRESENCE, { userIds: [bob.id, marker.id] });
      const atOther = subscribe(socketClient(url, other.token), PRESENCE, { userIds: [bob.id] });
      await untilLive(atAlice, () => visit(marker));
      await untilLive(atOther, () => visit(bob));
      // While they share the group alice sees bob come and go.
      await visit(bob);
      await atAlice.waitUntil((event) => event.presence.user.id === bob.id && event.presence.online);
      await eventually(() => onlineFlagsOf(atAlice, bob).at(-1) === false, 'bob offline at alice');

      await data(url, LEAVE, { conversationId: group }, (leaver === 'the watcher' ? alice : bob).token);
      const seenOfBob = onlineFlagsOf(atAlice, bob).length;
      const bobOnlineAtOther = onlineCount(atOther, bob);
      await openSocket(url, bob);
      // Published: `other` hears it ...
      await eventually(() => onlineCount(atOther, bob) > bobOnlineAtOther, 'bob online at other');
      // ... and after it the marker's next visit reaches alice: the stream is live, and bob's event came before.
      const markerOnline = onlineCount(atAlice, marker);
      await visit(marker);
      await eventually(() => onlineCount(atAlice, marker) > markerOnline, 'the marker at alice');
      expect(onlineFlagsOf(atAlice, bob).length).toBe(seenOfBob);
      expect(atAlice.errors).toEqual([]);
    },
  );

  it('an unrelated membership change costs no contacts query for 40 presence subscribers; a related one updates its subscriber', async () => {
    const SUBSCRIBERS = 40;
    const [hub, alice, bob, carol, dave] = await Promise.all([
      newUser('hub'),
      newUser('alice'),
      newUser('bob'),
      newUser('carol'),
      newUser('dave'),
    ]);
    // Seeded users cannot log in: their tokens are issued by the server's own token service.
    const subscribers: TestUser[] = await Promise.all(
      (await seedUsers(server, SUBSCRIBERS)).map(async (id) => ({
        id,
        username: id,
        token: await server.app.services.tokens.issue(Number(decodeGlobalID(id).id)),
      })),
    );
    for (const subscriber of subscribers) await openDirect(url, hub, subscriber);
    const streams = subscribers.map((subscriber) => subscribe(socketClient(url, subscriber.token), PRESENCE));
    // Every stream is live once the hub's visits reach all of them.
    for (let attempt = 0; ; attempt++) {
      await visit(hub);
      try {
        await eventually(() => streams.every((stream) => onlineCount(stream, hub) > 0), 'all live', 1_000);
        break;
      } catch (error) {
        if (attempt === 30) throw error;
      }
    }

    server.resetQueries();
    await createGroup(url, alice, [bob, carol], 'Unrelated');
    // A change that concerns the first subscriber only: the hub puts them in a group with dave.
    await createGroup(url, hub, [subscribers[0]!, dave], 'Related');
    await visit(dave);
    await streams[0]!.waitUntil((event) => event.presence.user.id === dave.id && event.presence.online);
    // Every stream has seen what came before the hub's next visit.
    const hubSeen = streams.map((stream) => onlineCount(stream, hub));
    await visit(hub);
    await eventually(
      () => streams.every((stream, index) => onlineCount(stream, hub) > hubSeen[index]!),
      'the hub at every stream',
    );

    const contactsQueries = server.queries.filter((sql) => sql.includes(CONTACTS_QUERY_COMMENT));
    expect(contactsQueries).toHaveLength(1);
    expect(streams.slice(1).every((stream) => onlineFlagsOf(stream, dave).length === 0)).toBe(true);
  });

  it.runIf(database === 'mysql')(
    'a contacts recompute that fails is logged, and the instance and the subscription carry on',
    async () => {
      const [alice, marker] = await Promise.all([newUser('alice'), newUser('marker')]);
      const direct = await openDirect(url, alice, marker);
      const atAlice = subscribe(socketClient(url, alice.token), PRESENCE);
      await untilLive(atAlice, () => visit(marker));

      const [{ name: databaseName }] = await server.app.services.dataSource.query('SELECT DATABASE() AS name');
      const admin = await createConnection({ uri: `${TEST_MYSQL_URL}/${databaseName}` });
      const before = logLines.length;
      const failures = () =>
        logLines.slice(before).filter((line) => line.includes('presence contacts recompute failed')).length;
      try {
        await admin.query('RENAME TABLE memberships TO memberships_away');
        // What another instance publishes when alice's conversation changes; its recompute meets no table.
        await server.app.services.realtime.memberships.publish({
          conversationId: Number(decodeGlobalID(direct).id),
          joined: [Number(decodeGlobalID(alice.id).id)],
          left: [],
        });
        await eventually(() => failures() > 0, 'the failure logged');
      } finally {
        await admin.query('RENAME TABLE memberships_away TO memberships').catch(() => undefined);
        await admin.end();
      }
      const markerOnline = onlineCount(atAlice, marker);
      await visit(marker);
      await eventually(() => onlineCount(atAlice, marker) > markerOnline, 'the marker after the failure');
      expect(atAlice.errors).toEqual([]);
      expect(failures()).toBe(1);
    },
  );
});
