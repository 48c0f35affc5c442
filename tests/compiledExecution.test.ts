// Operations run compiled (src/compiledExecution.ts); their errors must still
// reach clients as graphql-js's would: the code, the path and the locations in
// the query text, over HTTP and over a socket.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { gql, signUp } from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';
import { sockets } from './helpers/ws.js';

describe('errors of compiled operations', () => {
  let server: TestServer;
  const { socketClient, closeAll } = sockets();
  beforeAll(async () => {
    server = await startServer('sqlite');
  });
  afterEach(() => closeAll());
  afterAll(() => server.stop());

  it("keep a resolver error's code, path and location, on a line after \\r\\n", async () => {
    const response = await gql(
      server.graphqlUrl,
      'query Mine {\r\n  me { id }\r\n    conversations(first: 1) { edges { node { id } } }\r\n}',
    );
    expect(response.errors).toEqual([
      {
        message: 'Authentication required.',
        locations: [{ line: 3, column: 5 }],
        path: ['conversations'],
        extensions: { code: 'UNAUTHENTICATED' },
      },
    ]);
    expect(response.data).toBeNull();
  });

  it('answer a variable of the wrong type with BAD_USER_INPUT at its definition', async () => {
    const response = await gql(server.graphqlUrl, 'query One(\n  $id: ID!\n) { conversation(id: $id) { id } }', {
      id: null,
    });
    expect(response).toEqual({
      errors: [
        {
          message: 'Variable "$id" of non-null type "ID!" must not be null.',
          locations: [{ line: 2, column: 3 }],
          extensions: { code: 'BAD_USER_INPUT' },
        },
      ],
    });
  });

  it('keep the code, path and location of an error over a socket', async () => {
    const user = await signUp(server.graphqlUrl);
    const client = socketClient(server.graphqlUrl, user.token);
    const results = [];
    for await (const result of client.iterate({
      query: '{\n  messages(conversationId: "Q29udmVyc2F0aW9uOjk5OTk5", last: 1) { edges { cursor } }\n}',
    })) {
      results.push(result);
    }
    expect(results).toEqual([
      {
        data: null,
        errors: [
          {
            message: expect.any(String),
            locations: [{ line: 2, column: 3 }],
            path: ['messages'],
            extensions: { code: 'NOT_FOUND' },
          },
        ],
      },
    ]);
  });
});
