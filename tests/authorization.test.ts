// Who may read a conversation: a member, now, by whatever path. After leaving
// a group, no field reached from a message, a retry or a node ID may show
// anything posted there (issue #10: an idempotent retry in another
// conversation handed back the group and everything said in it after the
// sender had left).
import { decodeGlobalID } from '@pothos/plugin-relay';
import { execute, GraphQLObjectType, GraphQLSchema, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext } from '../src/context.js';
import { Conversation, Message } from '../src/db/entities/index.js';
import { schema as appSchema } from '../src/schema/index.js';
import {
  createGroup,
  data,
  errorCode,
  type GraphQLResponse,
  gql,
  openDirect,
  send,
  signUp,
  type TestUser,
  uniqueName,
} from './helpers/client.js';
import { type DatabaseKind, startServer, type TestServer } from './helpers/server.js';
import { connect, subscribe } from './helpers/ws.js';

/** Everything a conversation shows, as the reproduction selects it. */
const CONVERSATION_DATA = `
  id kind title createdAt unreadCount
  members { username }
  messages(last: 100) { edges { node { body } } }
  lastMessage { body }
`;
const SEND = `mutation ($input: SendMessageInput!) {
  sendMessage(input: $input) { id body conversation { ${CONVERSATION_DATA} } }
}`;
const LEAVE = 'mutation ($id: ID!) { leaveConversation(conversationId: $id) }';

describe.each<DatabaseKind>(['mysql', 'sqlite'])('authorization on %s', (database) => {
  let server: TestServer;
  let url: string;
  beforeAll(async () => {
    server = await startServer(database);
    url = server.graphqlUrl;
  });
  afterAll(() => server?.stop());

  /** alice, bob and carol in a group; bob posted there with clientMessageId k1, then left; the others go on posting. */
  async function bobLeftTheGroup() {
    const [alice, bob, carol] = await Promise.all([signUp(url), signUp(url), signUp(url)]);
    const title = uniqueName('secret_group');
    const groupId = await createGroup(url, alice!, [bob!, carol!], title);
    const bobsMessage = await send(url, bob!, groupId, 'bob, before leaving', 'k1');
    const before = await send(url, alice!, groupId, 'said while bob was there');
    expect((await data(url, LEAVE, { id: groupId }, bob!.token)).leaveConversation).toBe(true);
    const secrets = [uniqueName('secret'), uniqueName('secret')];
    const after = [await send(url, alice!, groupId, secrets[0]!), await send(url, carol!, groupId, secrets[1]!)];
    return { alice: alice!, bob: bob!, carol: carol!, title, groupId, bobsMessage, before, after, secrets };
  }

  /** A send with the clientMessageId bob used in the group (k1): the retry, answered in full. */
  const sendWithBobsKey = (bob: TestUser, conversationId: string, body: string) =>
    gql(url, SEND, { input: { conversationId, body, clientMessageId: 'k1' } }, bob.token);

  /** Nothing of the group appears anywhere in the response: not its title, members' words or secrets. */
  function expectNothingOf(response: GraphQLResponse, group: { title: string; secrets: string[] }) {
    const text = JSON.stringify(response);
    expect(text).not.toContain(group.title);
    for (const secret of group.secrets) expect(text).not.toContain(secret);
    expect(text).not.toContain('said while bob was there');
  }

  it("the issue's reproduction: a retry key reused in his DM stores a new message there and shows nothing of the group", async () => {
    const group = await bobLeftTheGroup();
    const { bob, carol } = group;
    const directId = await openDirect(url, bob, carol);

    const response = await sendWithBobsKey(bob, directId, 'x');
    expect(response.errors).toBeUndefined();
    const message = response.data.sendMessage;
    expect(message.id).not.toBe(group.bobsMessage.id);
    expect(message.body).toBe('x');
    expect(message.conversation).toEqual({
      id: directId,
      kind: 'DIRECT',
      title: null,
      createdAt: expect.any(String),
      unreadCount: 0,
      members: expect.arrayContaining([{ username: bob.username }, { username: carol.username }]),
      messages: { edges: [{ node: { body: 'x' } }] },
      lastMessage: { body: 'x' },
    });
    expect(message.conversation.members).toHaveLength(2);
    expectNothingOf(response, group);

    // Retrying in the DM now returns that new message; the group still holds bob's first one, once.
    const retry = await data(
      url,
      SEND,
      { input: { conversationId: directId, body: 'y', clientMessageId: 'k1' } },
      bob.token,
    );
    expect(retry.sendMessage.id).toBe(message.id);
    expect(retry.sendMessage.body).toBe('x');
    const groupHistory = await data(
      url,
      'query ($id: ID!) { messages(conversationId: $id, first: 100) { edges { node { id body } } } }',
      { id: group.groupId },
      group.alice.token,
    );
    expect(groupHistory.messages.edges.map((edge: any) => edge.node.body)).toEqual([
      'bob, before leaving',
      'said while bob was there',
      ...group.secrets,
    ]);
  });

  it('the same clientMessageId in two conversations stores two messages; a retry in either returns its own first one', async () => {
    const [alice, bob] = await Promise.all([signUp(url), signUp(url)]);
    const groupId = await createGroup(url, alice, [bob], 'two conversations');
    const directId = await openDirect(url, alice, bob);
    const key = uniqueName('key');

    const inGroup = await send(url, alice, groupId, 'in the group', key);
    const inDirect = await send(url, alice, directId, 'in the DM', key);
    expect(inDirect.id).not.toBe(inGroup.id);
    expect(inDirect.body).toBe('in the DM');

    expect(await send(url, alice, groupId, 'group retry', key)).toEqual(inGroup);
    expect(await send(url, alice, directId, 'DM retry', key)).toEqual(inDirect);
    const bodies = async (id: string) =>
      (
        await data(
          url,
          'query ($id: ID!) { messages(conversationId: $id) { edges { node { body } } } }',
          { id },
          bob.token,
        )
      ).messages.edges.map((edge: any) => edge.node.body);
    expect(await bodies(groupId)).toEqual(['in the group']);
    expect(await bodies(directId)).toEqual(['in the DM']);
  });

  it('every path from a message or an ID to a group the caller left shows nothing of it', async () => {
    const group = await bobLeftTheGroup();
    const { bob, carol, groupId, bobsMessage, before, after } = group;
    const directId = await openDirect(url, bob, carol);
    const latest = after.at(-1)!;

    const notFound: [string, string, Record<string, unknown>][] = [
      ['sendMessage to the group', SEND, { input: { conversationId: groupId, body: 'back?' } }],
      [
        'sendMessage retrying his own key there',
        SEND,
        { input: { conversationId: groupId, body: 'k', clientMessageId: 'k1' } },
      ],
      [
        'editMessage of his own message there',
        `mutation ($input: EditMessageInput!) { editMessage(input: $input) { body conversation { ${CONVERSATION_DATA} } } }`,
        { input: { messageId: bobsMessage.id, body: 'edited' } },
      ],
      [
        'deleteMessage of his own message there',
        `mutation ($id: ID!) { deleteMessage(messageId: $id) { body conversation { ${CONVERSATION_DATA} } } }`,
        { id: bobsMessage.id },
      ],
      ...(['addReaction', 'removeReaction'] as const).map((field): [string, string, Record<string, unknown>] => [
        `${field} on a message posted after he left`,
        `mutation ($id: ID!) { ${field}(messageId: $id, emoji: "👍") { body reactions { emoji count } conversation { ${CONVERSATION_DATA} } } }`,
        { id: latest.id },
      ]),
      [
        'markRead',
        `mutation ($id: ID!, $messageId: ID!) { markRead(conversationId: $id, messageId: $messageId) { ${CONVERSATION_DATA} } }`,
        { id: groupId, messageId: latest.id },
      ],
      [
        'messages(conversationId:)',
        'query ($id: ID!) { messages(conversationId: $id, last: 100) { edges { node { body } } } }',
        { id: groupId },
      ],
      [
        'addMembers',
        `mutation ($id: ID!, $userIds: [ID!]!) { addMembers(conversationId: $id, userIds: $userIds) { ${CONVERSATION_DATA} } }`,
        { id: groupId, userIds: [carol.id] },
      ],
      ['leaveConversation again', LEAVE, { id: groupId }],
      ['setTyping', 'mutation ($id: ID!) { setTyping(conversationId: $id, typing: true) }', { id: groupId }],
    ];
    for (const [name, query, variables] of notFound) {
      const response = await gql(url, query, variables, bob.token);
      expect(errorCode(response), name).toBe('NOT_FOUND');
      expectNothingOf(response, group);
    }

    const nullAnswers: [string, string, Record<string, unknown>][] = [
      ['conversation(id:)', `query ($id: ID!) { conversation(id: $id) { ${CONVERSATION_DATA} } }`, { id: groupId }],
      [
        'node(id: the group)',
        `query ($id: ID!) { node(id: $id) { ... on Conversation { ${CONVERSATION_DATA} } } }`,
        { id: groupId },
      ],
      ...[bobsMessage, before, latest].map((message): [string, string, Record<string, unknown>] => [
        'node(id: a message of the group)',
        `query ($id: ID!) { node(id: $id) { ... on Message { body sender { username } reactions { emoji } conversation { ${CONVERSATION_DATA} } } } }`,
        { id: message.id },
      ]),
    ];
    for (const [name, query, variables] of nullAnswers) {
      const response = await gql(url, query, variables, bob.token);
      expect(response, name).toEqual({ data: { [query.includes('node(') ? 'node' : 'conversation']: null } });
    }

    // His list and the conversations reached from it hold only the DM.
    const list = await gql(
      url,
      `{ conversations(first: 10) {
        edges { node { id kind title unreadCount members { username } lastMessage { body } messages(last: 10) { edges { node { body } } } } }
      } }`,
      {},
      bob.token,
    );
    expect(list.errors).toBeUndefined();
    expect(list.data.conversations.edges.map((edge: any) => edge.node.id)).toEqual([directId]);
    expectNothingOf(list, group);

    // Live delivery of the group is refused as well.
    const client = connect(url, bob.token);
    const stream = subscribe(client, 'subscription ($id: ID!) { messageEvents(conversationId: $id) { kind } }', {
      id: groupId,
    });
    await stream.ended();
    expect(stream.errors.flat().map((error: any) => error?.extensions?.code)).toEqual(['NOT_FOUND']);
    expect(stream.events).toEqual([]);
    await client.dispose();

    // The retry path of the issue, with every field of the conversation selected.
    const retry = await sendWithBobsKey(bob, directId, 'x');
    expect(retry.errors).toBeUndefined();
    expect(retry.data.sendMessage.conversation.id).toBe(directId);
    expectNothingOf(retry, group);
  });

  it('leaving and reading in one operation: fields after the leave see the caller as gone', async () => {
    const [alice, bob] = await Promise.all([signUp(url), signUp(url)]);
    const title = uniqueName('secret_group');
    const groupId = await createGroup(url, alice, [bob], title);
    const secret = uniqueName('secret');
    const message = await send(url, alice, groupId, secret);

    // Mutation fields run one after another: markRead starts once the leave has committed.
    const response = await gql(
      url,
      `mutation ($id: ID!, $messageId: ID!) {
        leaveConversation(conversationId: $id)
        markRead(conversationId: $id, messageId: $messageId) { ${CONVERSATION_DATA} }
      }`,
      { id: groupId, messageId: message.id },
      bob.token,
    );
    expect(errorCode(response)).toBe('NOT_FOUND');
    expect(response.errors![0]!.path).toEqual(['markRead']);
    expect(response.data).toBeNull();
    expectNothingOf(response, { title, secrets: [secret] });
  });

  /**
   * The second defence on its own. No path of the API hands a non-member a
   * message or conversation now, so a schema around the API's own types stands
   * in for one that would (as the idempotent retry did): a root field
   * returning the group's objects unchecked. Every field below must still
   * refuse them to bob, and show them to a member.
   */
  it('a message or conversation reached unchecked shows nothing to a caller who left', async () => {
    const group = await bobLeftTheGroup();
    const { dataSource } = server.app.services;
    const conversation = await dataSource.manager.findOneByOrFail(Conversation, {
      id: Number(decodeGlobalID(group.groupId).id),
    });
    const message = await dataSource.manager.findOneByOrFail(Message, {
      id: Number(decodeGlobalID(group.after[0]!.id).id),
    });
    const unchecked = new GraphQLSchema({
      query: new GraphQLObjectType({
        name: 'Query',
        fields: {
          message: { type: appSchema.getType('Message') as GraphQLObjectType, resolve: () => message },
          conversation: { type: appSchema.getType('Conversation') as GraphQLObjectType, resolve: () => conversation },
        },
      }),
    });
    const document = parse(`{
      message { id body createdAt sender { username } reactions { emoji } }
      viaMessage: message { conversation { ${CONVERSATION_DATA} } }
      conversation { ${CONVERSATION_DATA} }
    }`);
    const as = async (user: TestUser) =>
      (await execute({
        schema: unchecked,
        document,
        contextValue: await createContext(server.app.services, user.token, '127.0.0.1'),
      })) as GraphQLResponse;

    const bobs = await as(group.bob);
    // Each alone: a field that errors nulls its parent, which would hide what a sibling showed.
    expect(bobs.data).toEqual({ message: null, viaMessage: null, conversation: null });
    expect(new Set(bobs.errors!.map((error) => error.extensions?.code))).toEqual(new Set(['NOT_FOUND']));
    expectNothingOf(bobs, group);

    // The same objects to a member: the check is what hid them.
    const alices = await as(group.alice);
    expect(alices.errors).toBeUndefined();
    expect(alices.data!.message.body).toBe(group.secrets[0]);
    expect(alices.data!.viaMessage.conversation.title).toBe(group.title);
    expect(alices.data!.conversation.title).toBe(group.title);
  });
});
