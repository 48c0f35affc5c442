// The shared subscription execution on its own, on a small schema whose
// resolvers count how often they run: subscribers that may share an execution
// share it, and no subscriber ever gets a result computed for someone else.
// Then the rule it rests on, checked on the real schema: every field a
// subscription's payload reaches gives each viewer through a shared execution
// what that viewer's own execution gives.
import {
  type ExecutionResult,
  getNamedType,
  type GraphQLNamedType,
  isAbstractType,
  isLeafType,
  isNonNullType,
  isObjectType,
} from 'graphql';
import { decodeGlobalID } from '@pothos/plugin-relay';
import { createSchema, createYoga } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { EventQueue } from '../src/realtime/eventQueue.js';
import { useSharedSubscriptionExecution } from '../src/realtime/sharedExecution.js';
import { schema as appSchema } from '../src/schema/index.js';
import { createGroup, data, send, signUp, type TestUser, uniqueName } from './helpers/client.js';
import { seedUsers, startServer, type TestServer } from './helpers/server.js';
import { holdsWithin } from './helpers/wait.js';
import { type Collector, connect, subscribe as subscribeOverSocket } from './helpers/ws.js';

type Tick = { n: number; likedBy: number[] };
type TestContext = { viewer: { readonly id: number } | null; ran?: boolean };

function setUp() {
  const streams = new Set<EventQueue<Tick>>();
  const executions = { tick: 0, liked: 0, scaled: 0 };
  /** Each execution's context, as it was released: whether its execution had run by then. */
  const released: TestContext[] = [];
  const schema = createSchema<TestContext>({
    typeDefs: /* GraphQL */ `
      type Query {
        ok: Boolean
      }
      type Tick {
        n: Int!
        counted: Int!
        likedByMe: Boolean!
        scaled(by: Int!): Int!
      }
      type Subscription {
        ticks(channel: String!): Tick!
      }
    `,
    resolvers: {
      Tick: {
        counted: (_tick: Tick, _args: unknown, context: TestContext) => {
          context.ran = true;
          return ++executions.tick;
        },
        likedByMe: (tick: Tick, _args: unknown, context: TestContext) => {
          executions.liked++;
          return tick.likedBy.includes(context.viewer!.id);
        },
        scaled: (tick: Tick, args: { by: number }) => {
          executions.scaled++;
          return tick.n * args.by;
        },
      },
      Subscription: {
        ticks: {
          subscribe: () => {
            const queue: EventQueue<Tick> = new EventQueue(100, () => streams.delete(queue));
            streams.add(queue);
            return queue;
          },
          resolve: (tick: Tick) => tick,
        },
      },
    },
  });
  const yoga = createYoga<TestContext>({
    schema,
    plugins: [
      useSharedSubscriptionExecution<TestContext>({
        executionContext: (_context, viewer) => ({ viewer }),
        releaseExecutionContext: (context) => released.push({ ...context }),
      }),
    ],
  });

  async function subscribe(viewerId: number, query: string, variables: Record<string, unknown>) {
    const { subscribe, contextFactory, parse, schema } = yoga.getEnveloped({ viewer: { id: viewerId } });
    const stream = (await subscribe({
      schema,
      document: parse(query),
      variableValues: variables,
      contextValue: await contextFactory(),
    })) as AsyncIterableIterator<ExecutionResult>;
    return {
      async take(count: number) {
        const results: unknown[] = [];
        for (let index = 0; index < count; index++) results.push((await stream.next()).value.data.ticks);
        return results;
      },
    };
  }

  /** Hands one event object to every open stream, as the message feed does. */
  const publish = (tick: Tick) => streams.forEach((queue) => queue.push(tick));
  /** A separate object per stream, as a replay reads them. */
  const publishCopies = (tick: Tick) => streams.forEach((queue) => queue.push({ ...tick }));
  return { subscribe, publish, publishCopies, executions, released };
}

const COUNTED = 'subscription ($channel: String!) { ticks(channel: $channel) { n counted } }';
const LIKED = 'subscription ($channel: String!) { ticks(channel: $channel) { n likedByMe } }';
const SCALED = 'subscription ($channel: String!, $by: Int!) { ticks(channel: $channel) { n scaled(by: $by) } }';

describe('shared subscription execution', () => {
  it('subscribers of one document execute each event once, whatever the subscription field’s own arguments', async () => {
    const { subscribe, publish, executions } = setUp();
    const subscribers = await Promise.all(
      [1, 2, 3, 4, 5].map((viewer) => subscribe(viewer, COUNTED, { channel: `resume-point-${viewer}` })),
    );
    for (const n of [1, 2, 3]) publish({ n, likedBy: [] });
    for (const subscriber of subscribers) {
      expect(await subscriber.take(3)).toEqual([
        { n: 1, counted: 1 },
        { n: 2, counted: 2 },
        { n: 3, counted: 3 },
      ]);
    }
    expect(executions.tick).toBe(3);
  });

  it('releases each execution’s context once, after its result is made', async () => {
    const { subscribe, publish, executions, released } = setUp();
    const subscribers = await Promise.all([1, 2, 3].map((viewer) => subscribe(viewer, COUNTED, { channel: 'c' })));
    for (const n of [1, 2]) publish({ n, likedBy: [] });
    for (const subscriber of subscribers) await subscriber.take(2);
    expect(executions.tick).toBe(2);
    expect(released).toEqual([
      { viewer: { id: 1 }, ran: true },
      { viewer: { id: 1 }, ran: true },
    ]);
  });

  it('a selection that reads the viewer is executed per viewer, and each viewer gets its own answer', async () => {
    const { subscribe, publish, executions } = setUp();
    const alice = await subscribe(1, LIKED, { channel: 'c' });
    const bob = await subscribe(2, LIKED, { channel: 'c' });
    const bobAgain = await subscribe(2, LIKED, { channel: 'c' });
    publish({ n: 1, likedBy: [2] });
    publish({ n: 2, likedBy: [1] });
    expect(await alice.take(2)).toEqual([
      { n: 1, likedByMe: false },
      { n: 2, likedByMe: true },
    ]);
    const bobs = [
      { n: 1, likedByMe: true },
      { n: 2, likedByMe: false },
    ];
    expect(await bob.take(2)).toEqual(bobs);
    expect(await bobAgain.take(2)).toEqual(bobs);
    // Two viewers, two events: the same viewer's two subscriptions share.
    expect(executions.liked).toBe(4);
  });

  it('different values of a variable the selection reads are executed apart', async () => {
    const { subscribe, publish, executions } = setUp();
    const double = await subscribe(1, SCALED, { channel: 'c', by: 2 });
    const triple = await subscribe(2, SCALED, { channel: 'c', by: 3 });
    const alsoDouble = await subscribe(3, SCALED, { channel: 'other', by: 2 });
    publish({ n: 5, likedBy: [] });
    expect(await double.take(1)).toEqual([{ n: 5, scaled: 10 }]);
    expect(await triple.take(1)).toEqual([{ n: 5, scaled: 15 }]);
    expect(await alsoDouble.take(1)).toEqual([{ n: 5, scaled: 10 }]);
    expect(executions.scaled).toBe(2);
  });

  it('events loaded per subscriber are not shared', async () => {
    const { subscribe, publishCopies, executions } = setUp();
    const one = await subscribe(1, COUNTED, { channel: 'c' });
    const two = await subscribe(2, COUNTED, { channel: 'c' });
    publishCopies({ n: 1, likedBy: [] });
    const results = [...(await one.take(1)), ...(await two.take(1))] as { counted: number }[];
    expect(results.map((result) => result.counted).sort()).toEqual([1, 2]);
    expect(executions.tick).toBe(2);
  });
});

/** How long an event sent to live subscriptions may take to reach them all. */
const ARRIVAL_TIMEOUT_MS = 15_000;

/** How deep below a subscription's payload the generated selections reach. */
const SELECTION_DEPTH = 4;
/** Subscriptions per socket in these tests, under the server's limit of 100. */
const SUBSCRIPTIONS_PER_SOCKET = 90;

/**
 * Every path from `type` to a leaf field within `depth` levels, each argument
 * left to its default (a field with a required argument is left out).
 */
function leafPaths(type: GraphQLNamedType, depth: number): string[][] {
  if (isLeafType(type)) return [[]];
  if (depth === 0 || !isObjectType(type)) return isAbstractType(type) ? [['__typename']] : [];
  return Object.values(type.getFields()).flatMap((field) => {
    if (field.args.some((arg) => isNonNullType(arg.type) && arg.defaultValue === undefined)) return [];
    return leafPaths(getNamedType(field.type), depth - 1).map((path) => [field.name, ...path]);
  });
}

/**
 * One subscription of `field` per leaf path below its payload, each selecting
 * that path alone (and `identifying`, fields that tell events apart and read
 * no viewer): in a wider selection another field's read of the viewer would
 * make the whole result per viewer, and hide a field that depends on the
 * viewer without reading it.
 */
function subscriptionsOfEveryPath(
  field: string,
  identifying: string,
  variables = '',
  args = '',
): { path: string; query: string }[] {
  const payload = getNamedType(appSchema.getSubscriptionType()!.getFields()[field]!.type);
  const [declared, passed] = variables ? [`(${variables})`, `(${args})`] : ['', ''];
  return leafPaths(payload, SELECTION_DEPTH).map((path) => {
    const selection = path.reduceRight((inner, name) => `${name}${inner ? ` { ${inner} }` : ''}`, '');
    return {
      path: path.join('.'),
      query: `subscription ${declared} { ${field}${passed} { ${identifying} ${selection} } }`,
    };
  });
}

describe('viewer-dependent fields through the shared execution, on the real schema', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let dan: TestUser;
  let group: string;
  let firstMessage: string;
  const clients: Client[] = [];
  beforeAll(async () => {
    server = await startServer('sqlite');
    const signUpAs = (name: string) => signUp(server.graphqlUrl, uniqueName(name));
    [alice, bob, carol, dan] = [
      await signUpAs('alice'),
      await signUpAs('bob'),
      await signUpAs('carol'),
      await signUpAs('dan'),
    ];
    group = await createGroup(server.graphqlUrl, alice, [bob, carol, dan]);
    firstMessage = (await send(server.graphqlUrl, alice, group, 'first')).id;
    // Carol has read it, bob has not: their unreadCount differs.
    await data(
      server.graphqlUrl,
      'mutation ($c: ID!, $m: ID!) { markRead(conversationId: $c, messageId: $m) { id } }',
      { c: group, m: firstMessage },
      carol!.token,
    );
  });
  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.dispose()));
    await server?.stop();
  });

  function socketOf(user: TestUser): Client {
    const client = connect(server.graphqlUrl, user.token);
    clients.push(client);
    return client;
  }

  /** Subscribes `user` to each query, on as many sockets as the per-socket limit needs. */
  function subscribeAll(user: TestUser, queries: string[], variables: Record<string, unknown>): Collector[] {
    let client = socketOf(user);
    return queries.map((query, index) => {
      if (index > 0 && index % SUBSCRIPTIONS_PER_SOCKET === 0) client = socketOf(user);
      return subscribeOverSocket(client, query, variables);
    });
  }

  /**
   * Bob and carol each subscribe twice to every path: once with a text they
   * share (one execution per event for both), once with a text of their own
   * (an execution of their own). Once all are live (`probe` until each got an
   * event), the event `final` causes must give each viewer the same result
   * both ways. Returns each viewer's own results, by path.
   */
  async function compareSharedWithOwn(
    subscriptions: { path: string; query: string }[],
    variables: Record<string, unknown>,
    probe: () => Promise<unknown>,
    final: () => Promise<(event: any) => boolean>,
  ): Promise<Map<string, unknown>[]> {
    const viewers = [bob, carol].map((viewer) => ({
      viewer,
      shared: subscribeAll(
        viewer,
        subscriptions.map(({ query }) => query),
        variables,
      ),
      own: subscribeAll(
        viewer,
        subscriptions.map(({ query }) => `# ${viewer.username}'s own\n${query}`),
        variables,
      ),
    }));
    const streams = viewers.flatMap(({ shared, own }) => [...shared, ...own]);
    // graphql-ws does not say when a subscription is live (see untilLive in helpers/ws.ts).
    for (let attempt = 1; ; attempt++) {
      await probe();
      const live = await holdsWithin(() => streams.every((stream) => stream.events.length > 0 || stream.done), 300);
      if (live) break;
      if (attempt === 50) throw new Error('subscriptions never became live');
    }
    const isFinal = await final();
    const arrived = await holdsWithin(
      () => streams.every((stream) => stream.events.some(isFinal) || stream.done),
      ARRIVAL_TIMEOUT_MS,
    );
    expect(arrived).toBe(true);
    const mismatches: unknown[] = [];
    const ownResults = viewers.map(
      ({ viewer, shared, own }) =>
        new Map(
          subscriptions.map(({ path }, index) => {
            const [sharedStream, ownStream] = [shared[index]!, own[index]!];
            expect({ path, errors: [...sharedStream.errors, ...ownStream.errors] }).toEqual({ path, errors: [] });
            const [viaShared, viaOwn] = [sharedStream.events.find(isFinal), ownStream.events.find(isFinal)];
            if (JSON.stringify(viaShared) !== JSON.stringify(viaOwn)) {
              mismatches.push({ viewer: viewer.username, path, shared: viaShared, own: viaOwn });
            }
            return [path, viaOwn];
          }),
        ),
    );
    expect(mismatches).toEqual([]);
    return ownResults;
  }

  /** Paths whose value differs between the two viewers: the selections do reach viewer-dependent fields. */
  const differing = ([bobs, carols]: Map<string, unknown>[]) =>
    [...bobs!.keys()].filter((path) => JSON.stringify(bobs!.get(path)) !== JSON.stringify(carols!.get(path)));

  it('messageEvents', async () => {
    const subscriptions = subscriptionsOfEveryPath(
      'messageEvents',
      'kind',
      '$conversationId: ID',
      'conversationId: $conversationId',
    );
    let probes = 0;
    const results = await compareSharedWithOwn(
      subscriptions,
      { conversationId: group },
      () => send(server.graphqlUrl, alice, group, `probe ${++probes}`),
      async () => {
        await data(
          server.graphqlUrl,
          'mutation ($m: ID!) { addReaction(messageId: $m, emoji: "👍") { id } }',
          { m: firstMessage },
          bob.token,
        );
        return (event) => event.messageEvents.kind === 'REACTIONS_CHANGED';
      },
    );
    expect(differing(results)).toEqual(
      expect.arrayContaining(['message.reactions.reactedByMe', 'message.conversation.unreadCount']),
    );
  });

  it('conversationEvents', async () => {
    const subscriptions = subscriptionsOfEveryPath('conversationEvents', 'kind conversationId');
    const [newcomer] = await seedUsers(server, 1);
    const results = await compareSharedWithOwn(
      subscriptions,
      {},
      // JOINED: a new group with both.
      () => createGroup(server.graphqlUrl, alice, [bob, carol], 'probe'),
      async () => {
        await data(
          server.graphqlUrl,
          'mutation ($c: ID!, $u: [ID!]!) { addMembers(conversationId: $c, userIds: $u) { id } }',
          { c: group, u: [newcomer] },
          alice.token,
        );
        return (event) =>
          event.conversationEvents.kind === 'UPDATED' && event.conversationEvents.conversationId === group;
      },
    );
    expect(differing(results)).toEqual(expect.arrayContaining(['conversation.unreadCount']));
  });

  it('typing', async () => {
    const subscriptions = subscriptionsOfEveryPath(
      'typing',
      'user { id }',
      '$conversationId: ID!',
      'conversationId: $conversationId',
    );
    const setTyping = (user: TestUser, typing: boolean) =>
      data(
        server.graphqlUrl,
        'mutation ($c: ID!, $t: Boolean!) { setTyping(conversationId: $c, typing: $t) }',
        { c: group, t: typing },
        user.token,
      );
    let typing = false;
    await compareSharedWithOwn(
      subscriptions,
      { conversationId: group },
      () => setTyping(alice, (typing = !typing)),
      async () => {
        await setTyping(dan, true);
        return (event) => event.typing.user.id === dan.id;
      },
    );
  });

  it('presence', async () => {
    const subscriptions = subscriptionsOfEveryPath(
      'presence',
      'online user { id }',
      '$userIds: [ID!]',
      'userIds: $userIds',
    );
    /** A socket of `user`, once authenticated (it answered a query): the user is online. */
    const online = async (user: TestUser) => {
      const client = socketOf(user);
      await new Promise<void>((resolve) => {
        client.subscribe({ query: '{ me { id } }' }, { next: () => undefined, error: resolve, complete: resolve });
      });
      return client;
    };
    let aliceSocket: Client | null = null;
    await compareSharedWithOwn(
      subscriptions,
      { userIds: [alice.id, dan.id] },
      // Alice comes online, or goes offline: a presence event either way.
      async () => {
        if (aliceSocket) await aliceSocket.dispose();
        aliceSocket = aliceSocket ? null : await online(alice);
      },
      async () => {
        await online(dan);
        return (event) => event.presence.user.id === dan.id && event.presence.online === true;
      },
    );
  });
});

describe('authorized fields under a shared execution', () => {
  let server: TestServer;
  const clients: Client[] = [];
  beforeAll(async () => {
    server = await startServer('mysql');
  });
  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.dispose()));
    await server?.stop();
  });

  // Message.conversation and Conversation.members check membership themselves;
  // for a delivered event the stream's own check answers them, so the web
  // client's selection still costs no query per subscriber and is shared.
  it('a message event with its conversation and its members’ presence costs the same queries for 2 subscribers as for 20', async () => {
    const query = `subscription ($c: ID!) { messageEvents(conversationId: $c) {
      kind message { id body conversation { id title members { id online } } } } }`;
    const owner = await signUp(server.graphqlUrl, uniqueName('owner'));
    const members = await seedUsers(server, 20);
    const group = await createGroup(
      server.graphqlUrl,
      owner,
      members.map((id) => ({ id }) as TestUser),
    );
    const tokens = await Promise.all(
      members.map((id) => server.app.services.tokens.issue(Number(decodeGlobalID(id).id))),
    );

    /** Queries run from one send until `subscribers` of them got its event. */
    async function queriesForOneSend(subscribers: Collector[], body: string): Promise<number> {
      let probes = 0;
      // graphql-ws does not say when a subscription is live: probe until every stream got an event.
      for (;;) {
        const probe = `probe ${body} ${++probes}`;
        await send(server.graphqlUrl, owner, group, probe);
        const live = await holdsWithin(
          () => subscribers.every((s) => s.events.some((e) => e.messageEvents.message.body === probe)),
          500,
        );
        if (live) break;
        if (probes === 50) throw new Error('subscriptions never became live');
      }
      server.resetQueries();
      await send(server.graphqlUrl, owner, group, body);
      const arrived = await holdsWithin(
        () => subscribers.every((s) => s.events.some((e) => e.messageEvents.message.body === body)),
        ARRIVAL_TIMEOUT_MS,
      );
      expect(arrived).toBe(true);
      for (const subscriber of subscribers) {
        expect(subscriber.errors).toEqual([]);
        const event = subscriber.events.find((e) => e.messageEvents.message.body === body);
        expect(event.messageEvents.message.conversation.members).toHaveLength(21);
      }
      return server.queries.length;
    }

    const subscribeAs = (token: string) => {
      const client = connect(server.graphqlUrl, token);
      clients.push(client);
      return subscribeOverSocket(client, query, { c: group });
    };
    const few = tokens.slice(0, 2).map(subscribeAs);
    const forFew = await queriesForOneSend(few, 'to two');
    const all = [...few, ...tokens.slice(2).map(subscribeAs)];
    const forAll = await queriesForOneSend(all, 'to twenty');
    expect(forAll).toBe(forFew);
  });
});
