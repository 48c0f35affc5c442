// A document runs on graphql-js the first time and compiled from then on
// (src/compiledExecution.ts). Either way its errors must reach clients alike:
// the code, the path and the location in the query text, over HTTP and over
// a socket. Each operation here runs three times: the first answer is
// graphql-js's, the others the compiled query's.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { gql, signUp } from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';
import { sockets } from './helpers/ws.js';

const RUNS = 3;

describe('errors of operations, run by graphql-js and then compiled', () => {
  let server: TestServer;
  const { socketClient, closeAll } = sockets();
  beforeAll(async () => {
    server = await startServer('sqlite');
  });
  afterEach(() => closeAll());
  afterAll(() => server.stop());

  it("keep a resolver error's code, path and location, on a line after \\r\\n", async () => {
    const query = 'query Mine {\r\n  me { id }\r\n    conversations(first: 1) { edges { node { id } } }\r\n}';
    for (let run = 1; run <= RUNS; run++) {
      expect(await gql(server.graphqlUrl, query)).toEqual({
        data: null,
        errors: [
          {
            message: 'Authentication required.',
            locations: [{ line: 3, column: 5 }],
            path: ['conversations'],
            extensions: { code: 'UNAUTHENTICATED' },
          },
        ],
      });
    }
  });

  it('answer a variable of the wrong type with BAD_USER_INPUT at its definition', async () => {
    const query = 'query One(\n  $id: ID!\n) { conversation(id: $id) { id } }';
    for (let run = 1; run <= RUNS; run++) {
      expect(await gql(server.graphqlUrl, query, { id: null })).toEqual({
        errors: [
          {
            message: 'Variable "$id" of non-null type "ID!" must not be null.',
            locations: [{ line: 2, column: 3 }],
            extensions: { code: 'BAD_USER_INPUT' },
          },
        ],
      });
    }
  });

  it('keep the code, path and location of an error over a socket', async () => {
    const user = await signUp(server.graphqlUrl);
    const client = socketClient(server.graphqlUrl, user.token);
    const query = '{\n  messages(conversationId: "Q29udmVyc2F0aW9uOjk5OTk5", last: 1) { edges { cursor } }\n}';
    for (let run = 1; run <= RUNS; run++) {
      const results = [];
      for await (const result of client.iterate({ query })) results.push(result);
      expect(results).toEqual([
        {
          data: null,
          errors: [
            {
              message: 'Conversation not found.',
              locations: [{ line: 2, column: 3 }],
              path: ['messages'],
              extensions: { code: 'NOT_FOUND' },
            },
          ],
        },
      ]);
    }
  });
});
