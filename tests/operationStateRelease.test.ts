// Once a query or mutation has its result, what its context cached goes: its
// loaders and Pothos's auth cache (context.ts releaseOperationState). On a
// small Pothos schema with scope-auth, through Yoga, as the app runs them.
import SchemaBuilder from '@pothos/core';
import ScopeAuthPlugin, { RequestCache } from '@pothos/plugin-scope-auth';
import { createYoga, type Plugin } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { useOperationStateRelease } from '../src/context.js';

type TestContext = { loaders: { released: number; release(): void }; authCache?: object };

function setUp() {
  const builder = new SchemaBuilder<{ Context: TestContext; AuthScopes: { member: boolean } }>({
    plugins: [ScopeAuthPlugin],
    scopeAuth: { authScopes: async () => ({ member: true }) },
  });
  /** Each operation's context, with the auth cache its resolver saw. */
  const contexts: TestContext[] = [];
  const seen = (context: TestContext) => {
    context.authCache = RequestCache.fromContext(context, builder);
    contexts.push(context);
  };
  builder.queryType({
    fields: (t) => ({
      ping: t.string({ authScopes: { member: true }, resolve: (_root, _args, context) => (seen(context), 'pong') }),
    }),
  });
  builder.mutationType({
    fields: (t) => ({
      touch: t.int({ authScopes: { member: true }, resolve: (_root, _args, context) => (seen(context), 1) }),
    }),
  });
  const yoga = createYoga<TestContext>({
    schema: builder.toSchema(),
    context: (): TestContext => ({
      loaders: {
        released: 0,
        release() {
          this.released++;
        },
      },
    }),
    // The plugin is written for the app's Context; it reads only `loaders` (and Pothos's cache) from it.
    plugins: [useOperationStateRelease() as unknown as Plugin<TestContext>],
  });
  const run = async (query: string) => {
    const response = await yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    return response.json();
  };
  /** Whether Pothos still holds the auth cache the operation used (fromContext makes a fresh one otherwise). */
  const authCacheKept = (context: TestContext) => RequestCache.fromContext(context, builder) === context.authCache;
  return { run, contexts, authCacheKept };
}

describe('an operation’s state once it is done', () => {
  it('a query’s and a mutation’s loaders and auth cache are released once, after they resolved', async () => {
    const { run, contexts, authCacheKept } = setUp();
    expect(await run('{ ping }')).toEqual({ data: { ping: 'pong' } });
    expect(await run('mutation { touch }')).toEqual({ data: { touch: 1 } });
    expect(contexts).toHaveLength(2);
    for (const context of contexts) {
      expect(context.loaders.released).toBe(1);
      expect(authCacheKept(context)).toBe(false);
    }
  });
});
