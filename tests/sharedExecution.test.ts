// The shared subscription execution on its own, on a small schema whose
// resolvers count how often they run: subscribers that may share an execution
// share it, and no subscriber ever gets a result computed for someone else.
import type { ExecutionResult } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { EventQueue } from '../src/realtime/eventQueue.js';
import { useSharedSubscriptionExecution } from '../src/realtime/sharedExecution.js';

type Tick = { n: number; likedBy: number[] };
type TestContext = { viewer: { readonly id: number } | null };

function setUp() {
  const streams = new Set<EventQueue<Tick>>();
  const executions = { tick: 0, liked: 0, scaled: 0 };
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
        counted: () => ++executions.tick,
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
    plugins: [useSharedSubscriptionExecution<TestContext>({ executionContext: (_context, viewer) => ({ viewer }) })],
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
  return { subscribe, publish, publishCopies, executions };
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
