// Every subscription of the schema refuses a caller without a valid token
// before it starts, over Server-Sent Events as over WebSocket: an
// UNAUTHENTICATED error, no 500, nothing logged as an error. The fields are
// read from the schema, so a subscription added later is covered too.
import {
  type GraphQLArgument,
  type GraphQLInputType,
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
} from 'graphql';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../src/schema/index.js';
import { connect, subscribe } from './helpers/ws.js';
import { startServer, type TestServer } from './helpers/server.js';

/** How long a refused stream may take to end; one that is not refused stays open and fails the test. */
const STREAM_TIMEOUT_MS = 10_000;

/** A value for a required argument, of its type: the refusal must not depend on it. */
function sampleValue(type: GraphQLInputType): unknown {
  const nullable = getNullableType(type);
  if (isListType(nullable)) return [sampleValue(nullable.ofType)];
  if (isInputObjectType(nullable)) {
    return Object.fromEntries(
      Object.values(nullable.getFields())
        .filter((field) => isNonNullType(field.type))
        .map((field) => [field.name, sampleValue(field.type)]),
    );
  }
  if (isEnumType(nullable)) return nullable.getValues()[0]!.value;
  if (isScalarType(nullable)) {
    return { Int: 1, Float: 1, Boolean: true, DateTime: new Date(0).toISOString() }[nullable.name] ?? 'VXNlcjox';
  }
  throw new Error(`no sample for ${String(type)}`);
}

/** One operation per subscription field, selecting only __typename, with its required arguments as variables. */
const SUBSCRIPTIONS = Object.values(schema.getSubscriptionType()!.getFields()).map((field) => {
  const required = field.args.filter((arg: GraphQLArgument) => isNonNullType(arg.type));
  const declarations = required.map((arg) => `$${arg.name}: ${String(arg.type)}`).join(', ');
  const uses = required.map((arg) => `${arg.name}: $${arg.name}`).join(', ');
  const selection = isScalarType(getNamedType(field.type)) ? '' : ' { __typename }';
  return {
    name: field.name,
    query: `subscription${declarations ? ` (${declarations})` : ''} { ${field.name}${uses ? `(${uses})` : ''}${selection} }`,
    variables: Object.fromEntries(required.map((arg) => [arg.name, sampleValue(arg.type)])),
  };
});

/** The whole answer to an SSE subscription request, which must end on its own (a refused subscription). */
async function sseRequest(
  graphqlUrl: string,
  method: 'GET' | 'POST',
  operation: { query: string; variables: Record<string, unknown> },
  token?: string,
) {
  const headers: Record<string, string> = {
    accept: 'text/event-stream',
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };
  let url = graphqlUrl;
  let body: string | undefined;
  if (method === 'POST') {
    headers['content-type'] = 'application/json';
    body = JSON.stringify({ query: operation.query, variables: operation.variables });
  } else {
    // A GET carries the header Yoga's CSRF prevention asks of requests without a JSON body.
    headers['x-graphql-yoga-csrf'] = '1';
    const params = new URLSearchParams({ query: operation.query, variables: JSON.stringify(operation.variables) });
    url = `${graphqlUrl}?${params}`;
  }
  const response = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(STREAM_TIMEOUT_MS) });
  const text = await response.text();
  const payloads = text
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => line.slice('data: '.length))
    .filter((data) => data.trim() !== '')
    .map((data) => JSON.parse(data) as { data?: unknown; errors?: { extensions?: { code?: string } }[] });
  return { status: response.status, payloads };
}

const errorLines = (logLines: string[]) =>
  logLines.filter((line) => (JSON.parse(line) as { level: number }).level >= 50);

describe('subscriptions without a valid token', () => {
  let server: TestServer;
  const logLines: string[] = [];
  beforeAll(async () => {
    server = await startServer('sqlite', { logLines });
  });
  afterAll(() => server?.stop());

  it('the schema has subscriptions to check', () => {
    expect(SUBSCRIPTIONS.map((subscription) => subscription.name)).toContain('presence');
  });

  // A token that is not one, and a well-formed one signed with another secret.
  const forged = () =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('1')
      .setIssuer('chat-api')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('another-secret-that-is-at-least-32-characters'));
  const TOKENS: { name: string; token: () => Promise<string | undefined> }[] = [
    { name: 'no token', token: async () => undefined },
    { name: 'an invalid token', token: async () => 'not-a-token' },
    { name: 'a token signed with another secret', token: forged },
  ];

  describe.each(SUBSCRIPTIONS)('$name', (subscription) => {
    it.each(TOKENS.flatMap((token) => (['POST', 'GET'] as const).map((method) => ({ ...token, method }))))(
      'over SSE ($method) with $name: UNAUTHENTICATED, no 500, no error logged',
      async ({ token, method }) => {
        const before = logLines.length;
        const { status, payloads } = await sseRequest(server.graphqlUrl, method, subscription, await token());
        expect(status).not.toBe(500);
        expect(payloads.length).toBeGreaterThan(0);
        expect(payloads.every((payload) => payload.data === undefined || payload.data === null)).toBe(true);
        expect(payloads.flatMap((payload) => payload.errors ?? []).map((error) => error.extensions?.code)).toEqual([
          'UNAUTHENTICATED',
        ]);
        expect(errorLines(logLines.slice(before))).toEqual([]);
      },
    );

    it('over WebSocket without a token: the socket is refused (4403), nothing delivered', async () => {
      const before = logLines.length;
      const client = connect(server.graphqlUrl, null);
      try {
        const collector = subscribe(client, subscription.query, subscription.variables);
        await collector.ended(STREAM_TIMEOUT_MS);
        expect(collector.events).toEqual([]);
        expect(collector.errors.map((error) => (error as { code?: number }).code)).toEqual([4403]);
      } finally {
        await client.dispose();
      }
      expect(errorLines(logLines.slice(before))).toEqual([]);
    });
  });
});
