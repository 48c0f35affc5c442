// Two instances on a Redis Cluster (REDIS_CLUSTER_NODES) of three masters with
// a replica each, started on loopback by the test: messages, typing, presence
// and rate limits work across instances through it, the fan-out is sharded
// pub/sub (SSUBSCRIBE on the shard that owns the channel, no plain SUBSCRIBE),
// and a master killed in the middle of the traffic, its replica promoted,
// loses no message and repeats none.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { channelOf } from '../../src/realtime/topics.js';
import { createGroup, errorCode, gql, send, signUp, type TestUser, uniqueName } from '../helpers/client.js';
import { type Instance, type RedisCluster, startInstance, startRedisCluster, waitFor } from '../helpers/processes.js';
import { dropMysqlDatabase, TEST_MYSQL_URL } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';
import { sockets, subscribe, untilLive } from '../helpers/ws.js';

const MESSAGE_EVENTS = `subscription ($conversationId: ID) {
  messageEvents(conversationId: $conversationId) { kind cursor message { id body } }
}`;
const TYPING = `subscription ($conversationId: ID!) {
  typing(conversationId: $conversationId) { typing user { id } }
}`;
const SET_TYPING = 'mutation ($id: ID!, $typing: Boolean!) { setTyping(conversationId: $id, typing: $typing) }';
const ONLINE = 'query ($id: ID!) { user(id: $id) { online } }';
const ADD_REACTION =
  'mutation ($messageId: ID!, $emoji: String!) { addReaction(messageId: $messageId, emoji: $emoji) { id } }';
const REACTION_BURST = 4;

const { socketClient, openSocket, closeAll } = sockets();

/**
 * A request retried when its connection is cut before an answer (a keep-alive
 * connection closed by the server as the request went out: likelier on a
 * starved machine), as a client does; sends carry a clientMessageId, so a
 * retry cannot store one twice.
 */
async function retried<T>(request: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (error) {
      if (attempt === 5) throw error;
    }
  }
}
afterEach(() => closeAll());

describe('two instances on a Redis Cluster', () => {
  const database = `chat_rcluster_${process.pid}_${randomBytes(4).toString('hex')}`;
  const prefix = `${database}:`;
  let redis: RedisCluster;
  let a: Instance;
  let b: Instance;
  let alice: TestUser;
  let bob: TestUser;
  let conversationId: string;

  beforeAll(async () => {
    redis = await startRedisCluster();
    const env = {
      NODE_ENV: 'production',
      DATABASE_URL: `${TEST_MYSQL_URL}/${database}`,
      REDIS_CLUSTER_NODES: redis.nodes.join(','),
      REDIS_KEY_PREFIX: prefix,
      RATE_LIMIT_REACTION: `${REACTION_BURST},0.001`,
      LOG_LEVEL: 'error',
    };
    a = await startInstance(env, { compiled: true, startupTimeoutMs: 90_000 });
    b = await startInstance(env, { compiled: true, startupTimeoutMs: 90_000 });
    for (const instance of [a, b]) {
      await waitFor(async () => (await fetch(`${instance.url}/ready`)).ok, 'instance ready on the cluster');
    }
    [alice, bob] = await Promise.all([
      signUp(a.graphqlUrl, uniqueName('alice')),
      signUp(a.graphqlUrl, uniqueName('bob')),
    ]);
    conversationId = await createGroup(a.graphqlUrl, alice, [bob], 'on the cluster');
  }, 180_000);

  afterAll(async () => {
    // For a failure's diagnosis: whether an instance died, and what each logged (errors only).
    mkdirSync('test-artifacts', { recursive: true });
    writeFileSync(
      'test-artifacts/redis-cluster-instances.log',
      [a, b]
        .map(
          (instance, index) => `instance ${index + 1}, exit code ${instance?.process.exitCode}:\n${instance?.output()}`,
        )
        .join('\n\n'),
    );
    for (const instance of [a, b]) instance?.kill('SIGKILL');
    await Promise.all([a?.exited, b?.exited]);
    await redis?.stop();
    await dropMysqlDatabase(database);
  });

  it('fans out by sharded pub/sub: messages, typing and presence cross instances', async () => {
    const events = subscribe(socketClient(b.graphqlUrl, bob.token), MESSAGE_EVENTS, { conversationId });
    await untilLive(events, () => retried(() => send(a.graphqlUrl, alice, conversationId, 'probe')));
    const bodies = Array.from({ length: 20 }, (_, index) => `sharded ${index}`);
    for (const body of bodies) await send(a.graphqlUrl, alice, conversationId, body);
    await events.waitUntil((event) => event.messageEvents.message.body === 'sharded 19', 20_000);
    const received = events.events.map((event) => event.messageEvents.message.body).filter((body) => body !== 'probe');
    expect(received).toEqual(bodies);

    // Each instance holds one shard subscription per topic on the master owning the channel's slot, and none by SUBSCRIBE.
    const channel = channelOf(prefix, 'messageEvents');
    const owner = redis.masterOf(channel);
    expect(redis.cli(owner, 'PUBSUB', 'SHARDNUMSUB', channel)).toContain('\n2');
    for (const node of redis.nodes) {
      expect(
        redis
          .cli(Number(node.split(':')[1]), 'PUBSUB', 'NUMSUB', channel)
          .trim()
          .split('\n')[1],
      ).toBe('0');
    }

    const typing = subscribe(socketClient(b.graphqlUrl, bob.token), TYPING, { conversationId });
    await untilLive(typing, () => gql(a.graphqlUrl, SET_TYPING, { id: conversationId, typing: true }, alice.token));
    expect(typing.events.at(-1).typing).toEqual({ typing: true, user: { id: alice.id } });

    // Bob's socket on B makes him online for Alice asking A.
    await openSocket(b.graphqlUrl, bob);
    await eventually(
      async () => (await gql(a.graphqlUrl, ONLINE, { id: bob.id }, alice.token)).data?.user.online === true,
      'bob online across instances',
    );
  });

  it('shares rate limits between instances through the cluster', async () => {
    const message = await send(a.graphqlUrl, alice, conversationId, 'react to me');
    const emojis = ['👍', '🎉', '❤️', '😂', '🚀'];
    const codes = [];
    for (const [index, emoji] of emojis.entries()) {
      const instance = index % 2 ? b : a;
      codes.push(
        errorCode(await gql(instance.graphqlUrl, ADD_REACTION, { messageId: message.id, emoji }, alice.token)),
      );
    }
    expect(codes).toEqual([...Array<undefined>(REACTION_BURST).fill(undefined), 'RATE_LIMITED']);
  });

  it('loses and repeats no message when the master serving the fan-out is killed and its replica promoted', async () => {
    const events = subscribe(socketClient(b.graphqlUrl, bob.token), MESSAGE_EVENTS, { conversationId });
    await untilLive(events, () => retried(() => send(a.graphqlUrl, alice, conversationId, 'failover probe')));
    const channel = channelOf(prefix, 'messageEvents');
    const master = redis.masterOf(channel);

    const COUNT = 120;
    const sent: string[] = [];
    const failures: string[] = [];
    let killed: Promise<void> | null = null;
    for (let index = 0; index < COUNT; index++) {
      if (index === 30) killed = redis.kill(master);
      const body = `failover ${index}`;
      const response = await retried(() =>
        gql(
          (index % 2 ? b : a).graphqlUrl,
          'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id } }',
          { input: { conversationId, body, clientMessageId: body } },
          alice.token,
        ),
      );
      if (response.errors?.length) failures.push(`${body}: ${JSON.stringify(response.errors)}`);
      else sent.push(body);
    }
    await killed;
    expect(failures).toEqual([]);
    await events.waitUntil((event) => event.messageEvents.message.body === `failover ${COUNT - 1}`, 30_000);
    const received = events.events
      .map((event) => event.messageEvents.message.body as string)
      .filter((body) => body.startsWith('failover ') && body !== 'failover probe');
    expect(received).toEqual(sent);
    expect(events.errors).toEqual([]);

    // The promoted replica serves the channel now, and both instances are subscribed there again.
    const promoted = redis.masterOf(channel);
    expect(promoted).not.toBe(master);
    await eventually(
      () => redis.cli(promoted, 'PUBSUB', 'SHARDNUMSUB', channel).includes('\n2'),
      'both instances subscribed on the promoted master',
      30_000,
    );
    // And delivery goes on after the failover.
    await send(a.graphqlUrl, alice, conversationId, 'after the failover');
    await events.waitUntil((event) => event.messageEvents.message.body === 'after the failover', 10_000);
    for (const instance of [a, b]) {
      expect(instance.process.exitCode).toBeNull();
      expect((await fetch(`${instance.url}/ready`)).status).toBe(200);
    }
  });
});
