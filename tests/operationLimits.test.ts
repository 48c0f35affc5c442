import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ALIASES, MAX_DEPTH } from '../src/operationLimits.js';
import { errorCode, gql, openDirect, signUp, type TestUser } from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';
import { connect, subscribe, untilLive } from './helpers/ws.js';

/** `levels` fields alternating between two, e.g. lastMessage { conversation { lastMessage { … id } } }. */
function chain(levels: number, [first, second]: [string, string]): string {
  let selection = 'id';
  for (let level = levels - 1; level >= 0; level--) selection = `${level % 2 === 0 ? first : second} { ${selection} }`;
  return selection;
}

describe('operation limits', () => {
  let server: TestServer;
  let user: TestUser;
  beforeAll(async () => {
    server = await startServer('sqlite');
    user = await signUp(server.graphqlUrl);
  });
  afterAll(() => server?.stop());

  it('refuses an operation nested deeper than the limit, over HTTP and over WebSocket', async () => {
    // messageEvents > message > conversation > lastMessage > … : one level past the limit.
    const tooDeep = `subscription { messageEvents { message { ${chain(MAX_DEPTH - 1, ['conversation', 'lastMessage'])} } } }`;
    // conversations > edges > node > lastMessage > conversation > … : one level past the limit.
    const query = `{ conversations { edges { node { ${chain(MAX_DEPTH - 2, ['lastMessage', 'conversation'])} } } } }`;
    const http = await gql(server.graphqlUrl, query, {}, user.token);
    expect(errorCode(http)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(http.errors![0]!.message).toMatch(/depth limit of 10/i);
    expect(http.data ?? null).toBeNull();

    const client = connect(server.graphqlUrl, user.token);
    const stream = subscribe(client, tooDeep);
    await stream.ended();
    expect(JSON.stringify(stream.errors)).toMatch(/depth limit of 10/i);
    expect(stream.events).toEqual([]);
    // The socket stays usable: a well-formed subscription on it receives events.
    const fine = subscribe(client, 'subscription { conversationEvents { kind } }');
    await untilLive(fine, async () => openDirect(server.graphqlUrl, await signUp(server.graphqlUrl), user));
    expect(fine.events.at(-1)).toEqual({ conversationEvents: { kind: 'JOINED' } });
    expect(fine.errors).toEqual([]);
    await client.dispose();
  });

  it('accepts the deepest selection the API legitimately needs', async () => {
    const response = await gql(
      server.graphqlUrl,
      '{ conversations { edges { node { messages(last: 1) { edges { node { sender { id } reactions { emoji } } } } } } } }',
      {},
      user.token,
    );
    expect(response.errors).toBeUndefined();
  });

  it('refuses more aliases than the limit', async () => {
    const aliases = Array.from({ length: MAX_ALIASES + 1 }, (_, i) => `a${i}: me { id }`).join(' ');
    const response = await gql(server.graphqlUrl, `{ ${aliases} }`, {}, user.token);
    expect(errorCode(response)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(response.errors![0]!.message).toMatch(/aliases limit of 15/i);
    const allowed = Array.from({ length: MAX_ALIASES }, (_, i) => `a${i}: me { id }`).join(' ');
    expect((await gql(server.graphqlUrl, `{ ${allowed} }`, {}, user.token)).errors).toBeUndefined();
  });

  it('refuses a document of too many tokens', async () => {
    const response = await gql(server.graphqlUrl, `{ me { ${'id '.repeat(3000)} } }`, {}, user.token);
    expect(errorCode(response)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(response.errors![0]!.message).toMatch(/token limit of 2000/i);
  });

  it('offers introspection, GraphiQL and field suggestions outside production', async () => {
    const introspection = await gql(server.graphqlUrl, '{ __schema { queryType { name } } }');
    expect(introspection.data.__schema.queryType.name).toBe('Query');
    const typo = await gql(server.graphqlUrl, '{ mee { id } }');
    expect(typo.errors![0]!.message).toContain('Did you mean "me"?');
  });
});

describe('in production', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('sqlite', { env: { NODE_ENV: 'production' } });
  });
  afterAll(() => server?.stop());

  it('hides introspection, GraphiQL and field suggestions', async () => {
    const introspection = await gql(server.graphqlUrl, '{ __schema { queryType { name } } }');
    expect(errorCode(introspection)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(introspection.data ?? null).toBeNull();
    const typo = await gql(server.graphqlUrl, '{ mee { id } }');
    expect(typo.errors![0]!.message).not.toContain('Did you mean');
    const page = await fetch(server.graphqlUrl, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toContain('GraphiQL');
    // The API itself still works.
    expect((await gql(server.graphqlUrl, '{ me { id } }')).data).toEqual({ me: null });
  });

  it('shows them again with EXPOSE_SCHEMA=true', async () => {
    const exposed = await startServer('sqlite', { env: { NODE_ENV: 'production', EXPOSE_SCHEMA: 'true' } });
    try {
      const introspection = await gql(exposed.graphqlUrl, '{ __schema { queryType { name } } }');
      expect(introspection.data.__schema.queryType.name).toBe('Query');
    } finally {
      await exposed.stop();
    }
  });
});
