// Results pushed to a subscriber's sink (realtime/sharedExecution.ts) rather
// than through envelop's iterators: results without errors go to the sink in
// order; the first with errors, and every later one, come through the
// iterator, where Yoga's error masking sees them; the end and a failure come
// through the iterator too, and the sink is told (pull) when there is one.
import type { ExecutionResult } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { EventQueue } from '../src/realtime/eventQueue.js';
import {
  type PushedResults,
  type ResultSink,
  useSharedSubscriptionExecution,
} from '../src/realtime/sharedExecution.js';

type Tick = { n: number; fail?: boolean };
type TestContext = { viewer: { readonly id: number } | null; resultSink?: ResultSink };

function setUp() {
  const queues: EventQueue<Tick>[] = [];
  const schema = createSchema<TestContext>({
    typeDefs: /* GraphQL */ `
      type Query {
        ok: Boolean
      }
      type Tick {
        n: Int!
        checked: Int
      }
      type Subscription {
        ticks: Tick!
      }
    `,
    resolvers: {
      Tick: {
        checked: (tick: Tick) => {
          if (tick.fail) throw new Error('internal detail: SELECT * FROM secrets');
          return tick.n;
        },
      },
      Subscription: {
        ticks: {
          subscribe: () => {
            const queue = new EventQueue<Tick>(100, () => undefined);
            queues.push(queue);
            return queue;
          },
          resolve: (tick: Tick) => tick,
        },
      },
    },
  });
  const yoga = createYoga<TestContext>({
    schema,
    logging: false,
    plugins: [useSharedSubscriptionExecution<TestContext>({ executionContext: (_context, viewer) => ({ viewer }) })],
  });

  async function subscribe() {
    const pushed: unknown[] = [];
    let pulls = 0;
    let started: PushedResults | null = null;
    const sink: ResultSink = {
      push: (result) => (pushed.push(result.data), true),
      sunk: (results) => (started = results),
      pull: () => pulls++,
    };
    const { subscribe, contextFactory, parse, schema } = yoga.getEnveloped({ viewer: { id: 1 }, resultSink: sink });
    const args = {
      schema,
      document: parse('subscription { ticks { n checked } }'),
      contextValue: await contextFactory(),
    };
    const results = (await subscribe(args)) as AsyncIterableIterator<ExecutionResult>;
    return {
      results,
      /** Subscribing again with the same sink: a fresh iterator over the same running results. */
      again: async () => (await subscribe(args)) as AsyncIterableIterator<ExecutionResult>,
      pushed,
      pulls: () => pulls,
      pushedResults: () => started as PushedResults | null,
      start: () => started!.start(),
      queue: queues.at(-1)!,
    };
  }
  return { subscribe };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('results pushed to a sink', () => {
  it('go to the sink in order, from the start on, and the end comes through the iterator', async () => {
    const { subscribe } = setUp();
    const subscriber = await subscribe();
    subscriber.queue.push({ n: 1 });
    await settle();
    expect(subscriber.pushed).toEqual([]); // not started: it waits in the queue
    subscriber.start();
    subscriber.queue.push({ n: 2 });
    await settle();
    subscriber.queue.push({ n: 3 });
    await settle();
    expect(subscriber.pushed).toEqual([
      { ticks: { n: 1, checked: 1 } },
      { ticks: { n: 2, checked: 2 } },
      { ticks: { n: 3, checked: 3 } },
    ]);
    expect(subscriber.pulls()).toBe(0);
    void subscriber.queue.return();
    await settle();
    expect(subscriber.pulls()).toBe(1);
    expect(await subscriber.results.next()).toEqual({ value: undefined, done: true });
  });

  it('from the first result with errors on, results come through the iterator, masked, in order', async () => {
    const { subscribe } = setUp();
    const subscriber = await subscribe();
    subscriber.start();
    subscriber.queue.push({ n: 1 });
    await settle();
    subscriber.queue.push({ n: 2, fail: true });
    subscriber.queue.push({ n: 3 });
    await settle();
    expect(subscriber.pushed).toEqual([{ ticks: { n: 1, checked: 1 } }]);
    expect(subscriber.pulls()).toBe(1);
    const failed = (await subscriber.results.next()).value as ExecutionResult;
    expect(failed.data).toEqual({ ticks: { n: 2, checked: null } });
    expect(JSON.parse(JSON.stringify(failed.errors))).toEqual([
      expect.objectContaining({ message: 'Unexpected error.', path: ['ticks', 'checked'] }),
    ]);
    expect(JSON.stringify(failed)).not.toContain('secrets');
    expect((await subscriber.results.next()).value).toEqual({ data: { ticks: { n: 3, checked: 3 } } });
    subscriber.queue.push({ n: 4 });
    expect((await subscriber.results.next()).value).toEqual({ data: { ticks: { n: 4, checked: 4 } } });
    expect(subscriber.pushed).toHaveLength(1);
  });

  it('a failure of the stream comes through the iterator, masked, after what was queued', async () => {
    const { subscribe } = setUp();
    const subscriber = await subscribe();
    subscriber.start();
    subscriber.queue.push({ n: 1 });
    subscriber.queue.fail(new Error('internal detail: connection refused'));
    await settle();
    expect(subscriber.pushed).toEqual([{ ticks: { n: 1, checked: 1 } }]);
    expect(subscriber.pulls()).toBe(1);
    await expect(subscriber.results.next()).rejects.toMatchObject({ message: 'Unexpected error.' });
  });

  it('subscribing again with the same sink reads the running results through envelop’s hooks, and starts no new stream', async () => {
    const { subscribe } = setUp();
    const subscriber = await subscribe();
    subscriber.start();
    subscriber.queue.push({ n: 1 });
    await settle();
    const again = await subscriber.again();
    subscriber.queue.push({ n: 2, fail: true });
    subscriber.queue.fail(new Error('internal detail: connection refused'));
    await settle();
    expect(subscriber.pushed).toEqual([{ ticks: { n: 1, checked: 1 } }]);
    expect(subscriber.pushedResults()!.endedPlainly()).toBe(false);
    const failed = (await again.next()).value as ExecutionResult;
    expect(JSON.parse(JSON.stringify(failed.errors))).toEqual([
      expect.objectContaining({ message: 'Unexpected error.' }),
    ]);
    await expect(again.next()).rejects.toMatchObject({ message: 'Unexpected error.' });
  });

  it('a plain end needs no new iterator', async () => {
    const { subscribe } = setUp();
    const subscriber = await subscribe();
    subscriber.start();
    expect(subscriber.pushedResults()!.endedPlainly()).toBe(false);
    await subscriber.pushedResults()!.return();
    expect(subscriber.pulls()).toBe(1);
    expect(subscriber.pushedResults()!.endedPlainly()).toBe(true);
  });
});
