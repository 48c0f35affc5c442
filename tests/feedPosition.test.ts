// A subscriber without `after` gets what is committed from its start on, and
// nothing older, even on an instance whose feed missed bells while nobody
// there was subscribed (a Redis outage: the instance had no one to read for).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { data, openDirect, send, signUp, type TestUser, uniqueName } from './helpers/client.js';
import { type RedisServer, startRedis, waitFor } from './helpers/processes.js';
import { startServer, type TestServer } from './helpers/server.js';
import { connect, subscribe, untilLive } from './helpers/ws.js';

const MESSAGE_EVENTS = `subscription ($conversationId: ID) {
  messageEvents(conversationId: $conversationId) { kind message { body } }
}`;
const TYPING = 'subscription ($conversationId: ID!) { typing(conversationId: $conversationId) { typing } }';
const SET_TYPING =
  'mutation ($conversationId: ID!, $typing: Boolean!) { setTyping(conversationId: $conversationId, typing: $typing) }';

describe('the live start of a subscription on another instance (mysql+redis)', () => {
  let redis: RedisServer;
  let first: TestServer;
  let second: TestServer;
  beforeAll(async () => {
    redis = await startRedis();
    first = await startServer('mysql', { env: { REDIS_URL: redis.url } });
    const { database, redisKeyPrefix } = first.app.services.config;
    if (database.kind !== 'mysql') throw new Error('expected MySQL');
    // The second instance shares the first's database and Redis channels.
    second = await startServer('mysql', {
      env: { REDIS_URL: redis.url, DATABASE_URL: database.url, REDIS_KEY_PREFIX: redisKeyPrefix },
    });
  });
  afterAll(async () => {
    await second?.stop();
    await first?.stop();
    await redis?.stop();
  });

  const ready = async (server: TestServer) => (await fetch(`${server.url}/ready`)).ok;

  it('gets only messages committed after it started, not one the idle feed missed before', async () => {
    const alice: TestUser = await signUp(first.graphqlUrl, uniqueName('alice'));
    const bob: TestUser = await signUp(first.graphqlUrl, uniqueName('bob'));
    const direct = await openDirect(first.graphqlUrl, alice, bob);

    // Redis goes away: the bell of this message, sent on the first instance,
    // never reaches the second, where nobody is subscribed.
    await redis.kill();
    await send(first.graphqlUrl, alice, direct, 'old, before bob subscribed');
    await redis.start();
    await waitFor(async () => (await ready(first)) && (await ready(second)), 'both instances to reconnect to Redis');

    const client = connect(second.graphqlUrl, bob.token);
    try {
      const stream = subscribe(client, MESSAGE_EVENTS, { conversationId: direct });
      // Known to be live once a typing subscription sent after it on the same
      // socket is: typing rings no message bell, which would hide the stale
      // position (a bell on an instance with no subscriber moves it on).
      const typing = subscribe(client, TYPING, { conversationId: direct });
      await untilLive(typing, () =>
        data(first.graphqlUrl, SET_TYPING, { conversationId: direct, typing: true }, alice.token),
      );
      await send(first.graphqlUrl, alice, direct, 'new');
      await stream.waitUntil((event) => event.messageEvents.message.body === 'new');
      const bodies = stream.events.map((event) => event.messageEvents.message.body);
      expect(bodies).toEqual(['new']);
      expect(stream.errors).toEqual([]);
    } finally {
      await client.dispose();
    }
  });
});
