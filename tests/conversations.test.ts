// Conversations as their members and outsiders see them: the list, groups and
// their limits, direct conversations, who may see or change what, and finding
// users.
import { readFileSync } from 'node:fs';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { buildSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { type DatabaseKind, seedUsers, startServer, type TestServer } from './helpers/server.js';

const CONVERSATION_FIELDS = `id kind title unreadCount members { id } lastMessage { id body sender { id } }`;
const CONVERSATIONS = `query ($first: Int, $after: String) {
  conversations(first: $first, after: $after) {
    edges { cursor node { ${CONVERSATION_FIELDS} } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const CONVERSATION = `query ($id: ID!) { conversation(id: $id) { ${CONVERSATION_FIELDS} } }`;
const NODE = `query ($id: ID!) {
  node(id: $id) { id ... on User { username } ... on Conversation { kind } ... on Message { body } }
}`;
const CREATE_GROUP = `mutation ($input: CreateGroupInput!) { createGroupConversation(input: $input) { ${CONVERSATION_FIELDS} } }`;
const ADD_MEMBERS = `mutation ($conversationId: ID!, $userIds: [ID!]!) {
  addMembers(conversationId: $conversationId, userIds: $userIds) { id members { id } }
}`;
const LEAVE = 'mutation ($conversationId: ID!) { leaveConversation(conversationId: $conversationId) }';
const OPEN_DIRECT = 'mutation ($userId: ID!) { openDirectConversation(userId: $userId) { id } }';
const MESSAGES =
  'query ($conversationId: ID!) { messages(conversationId: $conversationId) { edges { node { id body } } } }';
const SEND = 'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id } }';
const MARK_READ =
  'mutation ($conversationId: ID!, $messageId: ID!) { markRead(conversationId: $conversationId, messageId: $messageId) { id } }';
const EDIT = 'mutation ($input: EditMessageInput!) { editMessage(input: $input) { id body } }';
const DELETE = 'mutation ($messageId: ID!) { deleteMessage(messageId: $messageId) { id } }';
const ADD_REACTION =
  'mutation ($messageId: ID!, $emoji: String!) { addReaction(messageId: $messageId, emoji: $emoji) { id } }';
const REMOVE_REACTION =
  'mutation ($messageId: ID!, $emoji: String!) { removeReaction(messageId: $messageId, emoji: $emoji) { id } }';
const SIGN_UP = 'mutation ($input: SignUpInput!) { signUp(input: $input) { token user { id username } } }';
const USERS = `query ($search: String, $first: Int, $after: String) {
  users(search: $search, first: $first, after: $after) {
    edges { cursor node { id username displayName } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const USER = 'query ($id: ID!) { user(id: $id) { id username displayName } }';

/** A well-formed ID of `typename` that names nothing. */
const missingId = (typename: string) => encodeGlobalID(typename, 987_654_321);
const MALFORMED_ID = 'not-an-id';

const sortedIds = (items: { id: string }[]) => items.map((item) => item.id).sort();

/** The first error's code and, for BAD_USER_INPUT, the field it names. */
function failure(response: GraphQLResponse) {
  const error = response.errors?.[0];
  return { code: error?.extensions?.code, field: error?.extensions?.field };
}

/** What a client can tell from an error: the message and the extensions. */
function visibleError(response: GraphQLResponse) {
  const error = response.errors?.[0];
  return { message: error?.message, extensions: error?.extensions };
}

describe.each<DatabaseKind>(['mysql', 'sqlite'])('conversations on %s', (database) => {
  let server: TestServer;
  let url: string;
  beforeAll(async () => {
    server = await startServer(database);
    url = server.graphqlUrl;
  });
  afterAll(() => server?.stop());

  const newUser = (prefix = 'user') => signUp(url, uniqueName(prefix));
  const newUsers = (count: number, prefix = 'user') =>
    Promise.all(Array.from({ length: count }, () => newUser(prefix)));

  async function signUpAs(username: string, displayName: string): Promise<TestUser> {
    const result = await data(url, SIGN_UP, { input: { username, password: 'correct horse battery', displayName } });
    return { id: result.signUp.user.id, username: result.signUp.user.username, token: result.signUp.token };
  }

  /** The caller's whole conversation list, read in pages of `pageSize`. */
  async function listConversations(user: TestUser, pageSize = 100): Promise<any[]> {
    const conversations: any[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = (await data(url, CONVERSATIONS, { first: pageSize, after }, user.token)).conversations;
      conversations.push(...page.edges.map((edge: any) => edge.node));
      if (!page.pageInfo.hasNextPage) return conversations;
      after = page.pageInfo.endCursor;
    }
  }

  const conversationIds = async (user: TestUser) =>
    (await listConversations(user)).map((conversation) => conversation.id);

  /** The conversation list orders by a millisecond timestamp: let the next write land in a later millisecond. */
  async function nextMillisecond(): Promise<void> {
    const start = Date.now();
    while (Date.now() <= start) await new Promise((resolve) => setTimeout(resolve, 1));
  }

  describe('the conversation list', () => {
    it('shows a new direct conversation with both members, no title, no last message and nothing unread', async () => {
      const [alice, bob] = await newUsers(2, 'list');
      const conversationId = await openDirect(url, alice!, bob!);
      const [conversation] = await listConversations(alice!);
      expect(conversation).toEqual({
        id: conversationId,
        kind: 'DIRECT',
        title: null,
        unreadCount: 0,
        members: expect.any(Array),
        lastMessage: null,
      });
      expect(sortedIds(conversation.members)).toEqual(sortedIds([alice!, bob!]));
    });

    it('shows a group with its title, every member, the last message and what the caller has not read', async () => {
      const [alice, bob, carol] = await newUsers(3, 'glist');
      const conversationId = await createGroup(url, alice!, [bob!, carol!], 'Weekend plans');
      await send(url, bob!, conversationId, 'first from bob');
      await send(url, carol!, conversationId, 'second from carol');
      const last = await send(url, alice!, conversationId, 'latest from alice');

      const [forAlice] = await listConversations(alice!);
      expect(forAlice).toMatchObject({
        id: conversationId,
        kind: 'GROUP',
        title: 'Weekend plans',
        unreadCount: 2,
        lastMessage: { id: last.id, body: 'latest from alice', sender: { id: alice!.id } },
      });
      expect(sortedIds(forAlice.members)).toEqual(sortedIds([alice!, bob!, carol!]));
      const [forBob] = await listConversations(bob!);
      expect(forBob.unreadCount).toBe(2);
    });

    it('puts the conversation with the newest message at the top', async () => {
      const [me, ...others] = await newUsers(4, 'order');
      const direct = [];
      for (const other of others) {
        direct.push(await openDirect(url, me!, other));
        await nextMillisecond();
      }
      expect(await conversationIds(me!)).toEqual([...direct].reverse());

      await send(url, others[0]!, direct[0]!, 'wake up');
      expect(await conversationIds(me!)).toEqual([direct[0], direct[2], direct[1]]);
      await nextMillisecond();
      await send(url, me!, direct[1]!, 'me too');
      expect(await conversationIds(me!)).toEqual([direct[1], direct[0], direct[2]]);
    });

    it('pages through every conversation exactly once with first/after', async () => {
      const [me, ...others] = await newUsers(8, 'page');
      const created: string[] = [];
      for (const other of others.slice(0, 4)) created.push(await openDirect(url, me!, other));
      for (const other of others.slice(4))
        created.push(await createGroup(url, other, [me!], `Group of ${other.username}`));
      await send(url, others[1]!, created[1]!, 'activity in the middle');

      const all = await conversationIds(me!);
      const paged = (await listConversations(me!, 3)).map((conversation) => conversation.id);
      expect(paged).toEqual(all);
      expect([...paged].sort()).toEqual([...created].sort());

      const firstPage = (await data(url, CONVERSATIONS, { first: 3 }, me!.token)).conversations;
      expect(firstPage.edges).toHaveLength(3);
      expect(firstPage.pageInfo.hasNextPage).toBe(true);
      const lastPage = (await data(url, CONVERSATIONS, { first: 3, after: firstPage.edges[2].cursor }, me!.token))
        .conversations;
      expect(lastPage.edges.map((edge: any) => edge.node.id)).toEqual(all.slice(3, 6));
    });
  });

  describe('groups', () => {
    it('creates a group with the trimmed title, the creator and the listed members', async () => {
      const [alice, bob, carol] = await newUsers(3, 'group');
      const response = await gql(
        url,
        CREATE_GROUP,
        { input: { title: '  Book club  ', memberIds: [bob!.id, carol!.id] } },
        alice!.token,
      );
      expect(response.errors).toBeUndefined();
      const group = response.data.createGroupConversation;
      expect(group).toMatchObject({ kind: 'GROUP', title: 'Book club', unreadCount: 0, lastMessage: null });
      expect(sortedIds(group.members)).toEqual(sortedIds([alice!, bob!, carol!]));
      expect(await conversationIds(carol!)).toEqual([group.id]);
    });

    it.each([
      ['one character', ' a ', 'a'],
      ['100 characters', ` ${'t'.repeat(100)} `, 't'.repeat(100)],
    ])('accepts a title of %s', async (_label, title, stored) => {
      const [alice, bob] = await newUsers(2, 'title');
      const response = await gql(url, CREATE_GROUP, { input: { title, memberIds: [bob!.id] } }, alice!.token);
      expect(response.errors).toBeUndefined();
      expect(response.data.createGroupConversation.title).toBe(stored);
    });

    it.each([
      ['empty', ''],
      ['only spaces', '    '],
      ['101 characters long', 't'.repeat(101)],
    ])('rejects a title that is %s with BAD_USER_INPUT on title', async (_label, title) => {
      const [alice, bob] = await newUsers(2, 'badtitle');
      const response = await gql(url, CREATE_GROUP, { input: { title, memberIds: [bob!.id] } }, alice!.token);
      expect(failure(response)).toEqual({ code: 'BAD_USER_INPUT', field: 'title' });
      expect(await conversationIds(alice!)).toEqual([]);
    });

    it('rejects a group with no one but the creator with BAD_USER_INPUT on memberIds', async () => {
      const alice = await newUser('alone');
      for (const memberIds of [[], [alice.id], [alice.id, alice.id]]) {
        const response = await gql(url, CREATE_GROUP, { input: { title: 'Just me', memberIds } }, alice.token);
        expect(failure(response)).toEqual({ code: 'BAD_USER_INPUT', field: 'memberIds' });
      }
      expect(await conversationIds(alice)).toEqual([]);
    });

    it('answers NOT_FOUND for an unknown or malformed member id and creates nothing', async () => {
      const [alice, bob] = await newUsers(2, 'unknown');
      const conversationId = await openDirect(url, alice!, bob!);
      for (const bad of [missingId('User'), MALFORMED_ID, conversationId]) {
        const response = await gql(
          url,
          CREATE_GROUP,
          { input: { title: 'Ghosts', memberIds: [bob!.id, bad] } },
          alice!.token,
        );
        expect(errorCode(response)).toBe('NOT_FOUND');
      }
      expect(await conversationIds(alice!)).toEqual([conversationId]);
    });

    it('ignores duplicates in memberIds, including the creator', async () => {
      const [alice, bob, carol] = await newUsers(3, 'dupes');
      const response = await gql(
        url,
        CREATE_GROUP,
        { input: { title: 'Dupes', memberIds: [bob!.id, bob!.id, alice!.id, carol!.id, bob!.id] } },
        alice!.token,
      );
      expect(response.errors).toBeUndefined();
      const members = response.data.createGroupConversation.members;
      expect(members).toHaveLength(3);
      expect(sortedIds(members)).toEqual(sortedIds([alice!, bob!, carol!]));
    });

    it('allows 1000 members counting the creator and refuses 1001 with BAD_USER_INPUT on memberIds', async () => {
      const creator = await newUser('big');
      const others = await seedUsers(server, 1000);
      const tooMany = await gql(url, CREATE_GROUP, { input: { title: 'Too big', memberIds: others } }, creator.token);
      expect(failure(tooMany)).toEqual({ code: 'BAD_USER_INPUT', field: 'memberIds' });

      const justRight = await gql(
        url,
        CREATE_GROUP,
        { input: { title: 'Big', memberIds: others.slice(1) } },
        creator.token,
      );
      expect(justRight.errors).toBeUndefined();
      expect(justRight.data.createGroupConversation.members).toHaveLength(1000);
    });

    it('lets the OWNER and ADMINs add members (FORBIDDEN to a MEMBER), and adding someone twice changes nothing', async () => {
      const [alice, bob, carol, dave] = await newUsers(4, 'add');
      const groupId = await createGroup(url, alice!, [bob!]);

      const byMember = await gql(url, ADD_MEMBERS, { conversationId: groupId, userIds: [carol!.id] }, bob!.token);
      expect(errorCode(byMember)).toBe('FORBIDDEN');
      expect(await conversationIds(carol!)).toEqual([]);

      const added = await gql(url, ADD_MEMBERS, { conversationId: groupId, userIds: [carol!.id] }, alice!.token);
      expect(added.errors).toBeUndefined();
      expect(sortedIds(added.data.addMembers.members)).toEqual(sortedIds([alice!, bob!, carol!]));
      expect(await conversationIds(carol!)).toEqual([groupId]);

      await data(
        url,
        'mutation ($c: ID!, $u: ID!) { setMemberRole(conversationId: $c, userId: $u, role: ADMIN) { id } }',
        { c: groupId, u: carol!.id },
        alice!.token,
      );
      const again = await gql(
        url,
        ADD_MEMBERS,
        { conversationId: groupId, userIds: [carol!.id, alice!.id, dave!.id, dave!.id] },
        carol!.token,
      );
      expect(again.errors).toBeUndefined();
      expect(sortedIds(again.data.addMembers.members)).toEqual(sortedIds([alice!, bob!, carol!, dave!]));
      const seenByAlice = (await data(url, CONVERSATION, { id: groupId }, alice!.token)).conversation;
      expect(sortedIds(seenByAlice.members)).toEqual(sortedIds([alice!, bob!, carol!, dave!]));
    });

    it('refuses to add members to a DIRECT conversation with FORBIDDEN', async () => {
      const [alice, bob, carol] = await newUsers(3, 'adddirect');
      const conversationId = await openDirect(url, alice!, bob!);
      const response = await gql(url, ADD_MEMBERS, { conversationId, userIds: [carol!.id] }, alice!.token);
      expect(errorCode(response)).toBe('FORBIDDEN');
      expect(await conversationIds(carol!)).toEqual([]);
    });

    it('refuses to leave a DIRECT conversation with FORBIDDEN', async () => {
      const [alice, bob] = await newUsers(2, 'leavedirect');
      const conversationId = await openDirect(url, alice!, bob!);
      expect(errorCode(await gql(url, LEAVE, { conversationId }, alice!.token))).toBe('FORBIDDEN');
      expect(await conversationIds(alice!)).toEqual([conversationId]);
    });

    it('after leaving a group the leaver cannot see it, read it or write to it', async () => {
      const [alice, bob, carol] = await newUsers(3, 'leave');
      const groupId = await createGroup(url, alice!, [bob!, carol!]);
      const ownMessage = await send(url, bob!, groupId, 'before leaving');

      expect((await data(url, LEAVE, { conversationId: groupId }, bob!.token)).leaveConversation).toBe(true);

      expect(errorCode(await gql(url, MESSAGES, { conversationId: groupId }, bob!.token))).toBe('NOT_FOUND');
      const sent = await gql(url, SEND, { input: { conversationId: groupId, body: 'after leaving' } }, bob!.token);
      expect(errorCode(sent)).toBe('NOT_FOUND');
      expect(await conversationIds(bob!)).toEqual([]);
      expect((await data(url, CONVERSATION, { id: groupId }, bob!.token)).conversation).toBeNull();
      expect((await data(url, NODE, { id: ownMessage.id }, bob!.token)).node).toBeNull();

      const seenByAlice = (await data(url, CONVERSATION, { id: groupId }, alice!.token)).conversation;
      expect(sortedIds(seenByAlice.members)).toEqual(sortedIds([alice!, carol!]));
      expect(seenByAlice.lastMessage.body).toBe('before leaving');
    });
  });

  describe('direct conversations', () => {
    it('refuses a direct conversation with oneself with BAD_USER_INPUT on userId', async () => {
      const alice = await newUser('self');
      expect(failure(await gql(url, OPEN_DIRECT, { userId: alice.id }, alice.token))).toEqual({
        code: 'BAD_USER_INPUT',
        field: 'userId',
      });
      expect(await conversationIds(alice)).toEqual([]);
    });

    it('answers NOT_FOUND for an unknown or malformed user id', async () => {
      const [alice, bob] = await newUsers(2, 'directghost');
      const groupId = await createGroup(url, alice!, [bob!]);
      for (const userId of [missingId('User'), MALFORMED_ID, groupId]) {
        expect(errorCode(await gql(url, OPEN_DIRECT, { userId }, alice!.token))).toBe('NOT_FOUND');
      }
      expect(await conversationIds(alice!)).toEqual([groupId]);
    });

    it('returns the same conversation to either member, however often it is opened', async () => {
      const [alice, bob] = await newUsers(2, 'reopen');
      const first = await openDirect(url, alice!, bob!);
      expect(await openDirect(url, bob!, alice!)).toBe(first);
      expect(await openDirect(url, alice!, bob!)).toBe(first);
    });
  });

  describe('authorization', () => {
    /** A group of two insiders with one message, and an outsider who is in none of it. */
    async function hiddenGroup() {
      const [insider, other, outsider] = await newUsers(3, 'authz');
      const conversationId = await createGroup(url, insider!, [other!], 'Private');
      const message = await send(url, insider!, conversationId, 'secret');
      return { insider: insider!, other: other!, outsider: outsider!, conversationId, messageId: message.id };
    }

    it('a non-member gets null for the conversation and its message, from conversation(id) and node(id)', async () => {
      const { insider, outsider, conversationId, messageId } = await hiddenGroup();
      expect((await data(url, CONVERSATION, { id: conversationId }, insider.token)).conversation.id).toBe(
        conversationId,
      );
      expect((await data(url, NODE, { id: conversationId }, insider.token)).node).toEqual({
        id: conversationId,
        kind: 'GROUP',
      });
      expect((await data(url, NODE, { id: messageId }, insider.token)).node).toEqual({ id: messageId, body: 'secret' });

      expect((await data(url, CONVERSATION, { id: conversationId }, outsider.token)).conversation).toBeNull();
      expect((await data(url, NODE, { id: conversationId }, outsider.token)).node).toBeNull();
      expect((await data(url, NODE, { id: messageId }, outsider.token)).node).toBeNull();
    });

    it('a non-member gets NOT_FOUND from every conversation operation, worded as for a conversation that does not exist', async () => {
      const { insider, outsider, conversationId, messageId } = await hiddenGroup();
      const operations: [string, string, (id: string) => Record<string, unknown>][] = [
        ['messages', MESSAGES, (id) => ({ conversationId: id })],
        ['sendMessage', SEND, (id) => ({ input: { conversationId: id, body: 'let me in' } })],
        ['markRead', MARK_READ, (id) => ({ conversationId: id, messageId })],
        ['addMembers', ADD_MEMBERS, (id) => ({ conversationId: id, userIds: [outsider.id] })],
        ['leaveConversation', LEAVE, (id) => ({ conversationId: id })],
      ];
      for (const [name, query, variables] of operations) {
        const hidden = await gql(url, query, variables(conversationId), outsider.token);
        const missing = await gql(url, query, variables(missingId('Conversation')), outsider.token);
        expect(errorCode(hidden), name).toBe('NOT_FOUND');
        expect(visibleError(hidden), name).toEqual(visibleError(missing));
      }

      const history = (await data(url, MESSAGES, { conversationId }, insider.token)).messages.edges;
      expect(history.map((edge: any) => edge.node.body)).toEqual(['secret']);
      const members = (await data(url, CONVERSATION, { id: conversationId }, insider.token)).conversation.members;
      expect(members.map((member: any) => member.id)).not.toContain(outsider.id);
    });

    it('a non-member gets NOT_FOUND from every message operation, worded as for a message that does not exist', async () => {
      const { insider, outsider, conversationId, messageId } = await hiddenGroup();
      const operations: [string, string, (id: string) => Record<string, unknown>][] = [
        ['editMessage', EDIT, (id) => ({ input: { messageId: id, body: 'defaced' } })],
        ['deleteMessage', DELETE, (id) => ({ messageId: id })],
        ['addReaction', ADD_REACTION, (id) => ({ messageId: id, emoji: '👍' })],
        ['removeReaction', REMOVE_REACTION, (id) => ({ messageId: id, emoji: '👍' })],
        ['stopGeneration', 'mutation ($m: ID!) { stopGeneration(messageId: $m) { id } }', (id) => ({ m: id })],
      ];
      for (const [name, query, variables] of operations) {
        const hidden = await gql(url, query, variables(messageId), outsider.token);
        const missing = await gql(url, query, variables(missingId('Message')), outsider.token);
        expect(errorCode(hidden), name).toBe('NOT_FOUND');
        expect(visibleError(hidden), name).toEqual(visibleError(missing));
      }

      const history = (
        await data(
          url,
          `query ($id: ID!) { messages(conversationId: $id) { edges { node { body reactions { count } } } } }`,
          { id: conversationId },
          insider.token,
        )
      ).messages.edges;
      expect(history.map((edge: any) => edge.node)).toEqual([{ body: 'secret', reactions: [] }]);
    });

    it('a member who did not send a message gets FORBIDDEN when editing or deleting it', async () => {
      const { insider, other, messageId } = await hiddenGroup();
      expect(errorCode(await gql(url, EDIT, { input: { messageId, body: 'not mine' } }, other.token))).toBe(
        'FORBIDDEN',
      );
      expect(errorCode(await gql(url, DELETE, { messageId }, other.token))).toBe('FORBIDDEN');
      expect((await data(url, NODE, { id: messageId }, insider.token)).node.body).toBe('secret');
    });

    it('editing a deleted message answers NOT_FOUND', async () => {
      const { insider, messageId } = await hiddenGroup();
      await data(url, DELETE, { messageId }, insider.token);
      expect(errorCode(await gql(url, EDIT, { input: { messageId, body: 'back again' } }, insider.token))).toBe(
        'NOT_FOUND',
      );
      expect((await data(url, NODE, { id: messageId }, insider.token)).node.body).toBeNull();
    });

    it('every query and mutation except signUp, logIn, me, node and the public settings answers UNAUTHENTICATED without a token', async () => {
      const { insider, other, conversationId, messageId } = await hiddenGroup();
      const requests: Record<string, [string, Record<string, unknown>]> = {
        user: [USER, { id: insider.id }],
        users: [USERS, { search: 'a' }],
        conversations: [CONVERSATIONS, {}],
        conversation: [CONVERSATION, { id: conversationId }],
        messages: [MESSAGES, { conversationId }],
        openDirectConversation: [OPEN_DIRECT, { userId: other.id }],
        createGroupConversation: [CREATE_GROUP, { input: { title: 'Anonymous', memberIds: [insider.id, other.id] } }],
        addMembers: [ADD_MEMBERS, { conversationId, userIds: [other.id] }],
        leaveConversation: [LEAVE, { conversationId }],
        sendMessage: [SEND, { input: { conversationId, body: 'anonymous' } }],
        editMessage: [EDIT, { input: { messageId, body: 'anonymous' } }],
        deleteMessage: [DELETE, { messageId }],
        markRead: [MARK_READ, { conversationId, messageId }],
        setTyping: ['mutation ($id: ID!) { setTyping(conversationId: $id, typing: true) }', { id: conversationId }],
        addReaction: [ADD_REACTION, { messageId, emoji: '👍' }],
        removeReaction: [REMOVE_REACTION, { messageId, emoji: '👍' }],
        renameConversation: [
          'mutation ($c: ID!) { renameConversation(conversationId: $c, title: "x") { id } }',
          { c: conversationId },
        ],
        removeMember: [
          'mutation ($c: ID!, $u: ID!) { removeMember(conversationId: $c, userId: $u) { id } }',
          { c: conversationId, u: insider.id },
        ],
        setMemberRole: [
          'mutation ($c: ID!, $u: ID!) { setMemberRole(conversationId: $c, userId: $u, role: ADMIN) { id } }',
          { c: conversationId, u: insider.id },
        ],
        updateProfile: ['mutation { updateProfile(displayName: "x") { id } }', {}],
        changePassword: ['mutation { changePassword(currentPassword: "a", newPassword: "abcdefghij") { token } }', {}],
        logOut: ['mutation { logOut }', {}],
        logOutEverywhere: ['mutation { logOutEverywhere }', {}],
        refreshToken: ['mutation { refreshToken { token } }', {}],
        myBots: ['{ myBots { createdAt } }', {}],
        createBot: ['mutation { createBot(input: { username: "anonymous_bot" }) { token } }', {}],
        rotateBotToken: ['mutation ($b: ID!) { rotateBotToken(botId: $b) { token } }', { b: insider.id }],
        deleteBot: ['mutation ($b: ID!) { deleteBot(botId: $b) }', { b: insider.id }],
        blockUser: ['mutation ($u: ID!) { blockUser(userId: $u) { id } }', { u: insider.id }],
        unblockUser: ['mutation ($u: ID!) { unblockUser(userId: $u) { id } }', { u: insider.id }],
        searchMessages: [
          'query ($query: String!) { searchMessages(query: $query) { edges { node { id body } } } }',
          { query: 'secret' },
        ],
        uploadAttachment: [
          // A File variable names a part of a multipart request; the name alone is enough to be refused.
          'mutation ($c: ID!, $f: File!) { uploadAttachment(conversationId: $c, file: $f) { id } }',
          { c: conversationId, f: 'upload:0' },
        ],
        registerPushSubscription: [
          'mutation ($i: PushSubscriptionInput!) { registerPushSubscription(input: $i) }',
          {
            i: {
              endpoint: 'https://push.example.com/send/1',
              p256dh: Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]).toString('base64url'),
              auth: Buffer.alloc(16, 2).toString('base64url'),
            },
          },
        ],
        unregisterPushSubscription: [
          'mutation { unregisterPushSubscription(endpoint: "https://push.example.com/send/1") }',
          {},
        ],
        setConversationMuted: [
          'mutation ($c: ID!) { setConversationMuted(conversationId: $c, muted: true) { id } }',
          { c: conversationId },
        ],
        stopGeneration: ['mutation ($m: ID!) { stopGeneration(messageId: $m) { id } }', { m: messageId }],
      };
      // Whatever the server offers, including fields added later, must be covered here.
      const schema = buildSchema(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));
      const offered = [schema.getQueryType()!, schema.getMutationType()!]
        .flatMap((type) => Object.keys(type.getFields()))
        // limits and pushConfig are the server's public settings, the same for everyone.
        .filter((name) => !['signUp', 'logIn', 'me', 'node', 'limits', 'pushConfig'].includes(name));
      expect(offered.filter((name) => !(name in requests))).toEqual([]);

      for (const name of offered) {
        const [query, variables] = requests[name]!;
        expect(errorCode(await gql(url, query, variables)), name).toBe('UNAUTHENTICATED');
      }
      const history = (await data(url, MESSAGES, { conversationId }, insider.token)).messages.edges;
      expect(history.map((edge: any) => edge.node.body)).toEqual(['secret']);
    });
  });

  describe('finding users', () => {
    async function search(user: TestUser, text: string, first?: number, after?: string) {
      return (await data(url, USERS, { search: text, first, after }, user.token)).users;
    }
    const usernamesFound = async (user: TestUser, text: string) =>
      (await search(user, text)).edges.map((edge: any) => edge.node.username).sort();

    it('matches a case-insensitive substring of the username or the display name', async () => {
      const tag = uniqueName('tag').slice(4);
      const byUsername = await signUpAs(`ann_${tag}_x`, 'Ann');
      const byDisplayName = await signUpAs(uniqueName('bea'), `Bea ${tag.toUpperCase()} Jones`);
      const neither = await signUpAs(uniqueName('cid'), 'Cid');

      const both = [byUsername.username, byDisplayName.username].sort();
      expect(await usernamesFound(neither, tag)).toEqual(both);
      expect(await usernamesFound(neither, tag.toUpperCase())).toEqual(both);
      expect(await usernamesFound(neither, `ANN_${tag.toUpperCase()}`)).toEqual([byUsername.username]);
      expect(await usernamesFound(neither, `bea ${tag}`)).toEqual([byDisplayName.username]);
    });

    it('matches display names case-insensitively beyond ASCII', async () => {
      const tag = uniqueName('tag').slice(4);
      const user = await signUpAs(uniqueName('umlaut'), `Ärger Øster ${tag}`);
      expect(await usernamesFound(user, `ärger øster ${tag}`)).toEqual([user.username]);
      expect(await usernamesFound(user, `ÄRGER ØSTER ${tag.toUpperCase()}`)).toEqual([user.username]);
    });

    it("treats '%', '_' and '!' in the search as plain characters", async () => {
      const tag = uniqueName('tag').slice(4);
      const percent = await signUpAs(uniqueName('pct'), `p${tag}%q`);
      const underscore = await signUpAs(`u${tag}_q`, 'Underscore');
      const bang = await signUpAs(uniqueName('bang'), `p${tag}!q`);
      const lookalike = await signUpAs(`u${tag}zq`, `p${tag}zq`);

      expect(await usernamesFound(lookalike, `${tag}%q`)).toEqual([percent.username]);
      expect(await usernamesFound(lookalike, `${tag}_q`)).toEqual([underscore.username]);
      expect(await usernamesFound(lookalike, `${tag}!q`)).toEqual([bang.username]);
      expect(await usernamesFound(lookalike, `${tag}zq`)).toEqual([lookalike.username]);
    });

    it('pages through the matches with first/after, each user once', async () => {
      const tag = uniqueName('tag').slice(4);
      const matching = [];
      for (let index = 0; index < 7; index++) matching.push(await signUpAs(`m${index}_${tag}`, `Match ${index}`));

      const seen: string[] = [];
      let after: string | undefined;
      let pages = 0;
      for (;;) {
        const page = await search(matching[0]!, tag, 3, after);
        pages++;
        seen.push(...page.edges.map((edge: any) => edge.node.id));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      expect(pages).toBe(3);
      expect(seen).toHaveLength(7);
      expect([...seen].sort()).toEqual(sortedIds(matching));
    });

    it('resolves a user by id through user(id) and node(id)', async () => {
      const [viewer] = await newUsers(1, 'viewer');
      const target = await signUpAs(uniqueName('target'), 'Target Person');
      expect((await data(url, USER, { id: target.id }, viewer!.token)).user).toEqual({
        id: target.id,
        username: target.username,
        displayName: 'Target Person',
      });
      expect((await data(url, NODE, { id: target.id }, viewer!.token)).node).toEqual({
        id: target.id,
        username: target.username,
      });
    });

    it('answers null for a malformed, unknown or wrongly typed user id', async () => {
      const [viewer, other] = await newUsers(2, 'nulluser');
      const conversationId = await openDirect(url, viewer!, other!);
      for (const id of [MALFORMED_ID, '', missingId('User'), encodeGlobalID('User', 'abc'), conversationId]) {
        expect((await data(url, USER, { id }, viewer!.token)).user, id).toBeNull();
      }
      for (const id of [MALFORMED_ID, '', missingId('User'), encodeGlobalID('User', 'abc')]) {
        expect((await data(url, NODE, { id }, viewer!.token)).node, id).toBeNull();
      }
    });
  });
});
