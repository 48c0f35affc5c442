// The group-commit send path writes with prepared statements (src/db/prepared.ts)
// rather than through TypeORM: what it stores must read back exactly as the
// send returned it, on both databases, for sends committed together.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGroup, data, signUp, type TestUser, uniqueName } from './helpers/client.js';
import { SET_UPS, startServer, type TestServer } from './helpers/server.js';

const SEND = `mutation ($input: SendMessageInput!) {
  sendMessage(input: $input) { id body createdAt clientMessageId editedAt deletedAt sender { id } conversation { id } }
}`;
const HISTORY = `query ($id: ID!) {
  messages(conversationId: $id, last: 50) {
    edges { node { id body createdAt clientMessageId editedAt deletedAt sender { id } conversation { id } } }
  }
}`;
const LAST = 'query ($id: ID!) { conversation(id: $id) { lastMessage { id } } }';

describe.each(SET_UPS)('sends committed together on $name', ({ database, options }) => {
  let server: TestServer;
  let users: TestUser[];
  let group: string;
  beforeAll(async () => {
    server = await startServer(database, options);
    users = await Promise.all(Array.from({ length: 4 }, () => signUp(server.graphqlUrl, uniqueName('sp'))));
    group = await createGroup(server.graphqlUrl, users[0]!, users.slice(1), 'send path');
  });
  afterAll(() => server?.stop());

  it('read back exactly as each send returned it: ids in commit order, bodies, times, keys, senders', async () => {
    const sent = await Promise.all(
      Array.from({ length: 40 }, (_, index) =>
        data(
          server.graphqlUrl,
          SEND,
          {
            input: {
              conversationId: group,
              body: `together ${index} ✓ 'quoted' "double"`,
              clientMessageId: index % 2 === 0 ? `key-${index}` : undefined,
            },
          },
          users[index % users.length]!.token,
        ).then((result) => result.sendMessage),
      ),
    );
    const history = await data(server.graphqlUrl, HISTORY, { id: group }, users[0]!.token);
    const stored = history.messages.edges.map((edge: any) => edge.node);
    const number = (id: string) => Number(Buffer.from(id, 'base64').toString().split(':')[1]);
    const byId = (a: { id: string }, b: { id: string }) => number(a.id) - number(b.id);
    expect(stored).toEqual([...sent].sort(byId));
    expect(new Set(stored.map((message: any) => message.id)).size).toBe(40);
    const last = await data(server.graphqlUrl, LAST, { id: group }, users[0]!.token);
    expect(last.conversation.lastMessage.id).toBe(stored.at(-1).id);
  });
});
