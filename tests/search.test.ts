// Replies, mentions and full-text search (issue #16) against the real server,
// on the embedded set-up (SQLite, FTS5) and on MySQL with Redis (InnoDB
// FULLTEXT): what a user sees, exact error codes, and nothing of a
// conversation the caller is not a member of now.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
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
import { SET_UPS, startServer, type TestServer } from './helpers/server.js';
import { sockets, subscribe, untilLive } from './helpers/ws.js';

const MESSAGE_FIELDS = 'id body deletedAt editedAt replyTo { id body deletedAt editedAt } mentions { id username }';
const SEND = `mutation ($input: SendMessageInput!) { sendMessage(input: $input) { ${MESSAGE_FIELDS} } }`;
const EDIT = 'mutation ($input: EditMessageInput!) { editMessage(input: $input) { id body } }';
const DELETE = 'mutation ($messageId: ID!) { deleteMessage(messageId: $messageId) { id } }';
const LEAVE = 'mutation ($conversationId: ID!) { leaveConversation(conversationId: $conversationId) }';
const ADD_MEMBERS =
  'mutation ($conversationId: ID!, $userIds: [ID!]!) { addMembers(conversationId: $conversationId, userIds: $userIds) { id } }';
const MARK_READ =
  'mutation ($conversationId: ID!, $messageId: ID!) { markRead(conversationId: $conversationId, messageId: $messageId) { id unreadMentionCount } }';
const HISTORY = `query ($id: ID!) { messages(conversationId: $id, last: 30) { edges { node { ${MESSAGE_FIELDS} } } } }`;
const NODE = `query ($id: ID!) { node(id: $id) { ... on Message { ${MESSAGE_FIELDS} } } }`;
const CONVERSATIONS = '{ conversations(first: 100) { edges { node { id unreadCount unreadMentionCount } } } }';
const MESSAGE_EVENTS = `subscription ($conversationId: ID) {
  messageEvents(conversationId: $conversationId) { kind message { ${MESSAGE_FIELDS} } }
}`;
const SEARCH = `query ($query: String!, $conversationId: ID, $first: Int, $after: String) {
  searchMessages(query: $query, conversationId: $conversationId, first: $first, after: $after) {
    edges { cursor node { id body conversation { id } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

type SearchPage = {
  edges: { cursor: string; node: { id: string; body: string; conversation: { id: string } } }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
};

const { socketClient, closeAll } = sockets();
afterEach(() => closeAll());

describe.each(SET_UPS)('replies, mentions and search on $name', ({ database, options }) => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let outsider: TestUser;

  const url = () => server.graphqlUrl;

  const sendFull = async (user: TestUser, conversationId: string, body: string, replyToId?: string) =>
    (await data(url(), SEND, { input: { conversationId, body, replyToId } }, user.token)).sendMessage;
  const sendRaw = (user: TestUser, conversationId: string, body: string, replyToId?: string) =>
    gql(url(), SEND, { input: { conversationId, body, replyToId } }, user.token);
  const history = async (user: TestUser, conversationId: string) =>
    (await data(url(), HISTORY, { id: conversationId }, user.token)).messages.edges.map((edge: any) => edge.node);
  const search = async (user: TestUser, query: string, args: Record<string, unknown> = {}): Promise<SearchPage> =>
    (await data(url(), SEARCH, { query, ...args }, user.token)).searchMessages;
  const searchIds = async (user: TestUser, query: string, args: Record<string, unknown> = {}) =>
    (await search(user, query, { first: 100, ...args })).edges.map((edge) => edge.node.id);
  const usernames = (message: { mentions: { username: string }[] }) =>
    message.mentions.map((user) => user.username).sort();
  const mentionCount = async (user: TestUser, conversationId: string): Promise<number> =>
    (await data(url(), CONVERSATIONS, {}, user.token)).conversations.edges.find(
      (edge: any) => edge.node.id === conversationId,
    ).node.unreadMentionCount;
  /** A word no other test uses, so a search finds only what this test wrote. */
  const word = () => uniqueName('w').replace('_', '');

  beforeAll(async () => {
    server = await startServer(database, options);
    [alice, bob, carol, outsider] = await Promise.all([
      signUp(url(), uniqueName('alice')),
      signUp(url(), uniqueName('bob')),
      signUp(url(), uniqueName('carol')),
      signUp(url(), uniqueName('outsider')),
    ]);
  });
  afterAll(() => server?.stop());

  describe('replies', () => {
    it('a reply shows its original in the answer, in history and live, as the original is now', async () => {
      const group = await createGroup(url(), alice, [bob, carol]);
      const original = await send(url(), alice, group, 'Lunch at noon?');
      const collector = subscribe(socketClient(url(), carol.token), MESSAGE_EVENTS, { conversationId: group });
      await untilLive(collector, () => send(url(), alice, group, 'probe'));

      const reply = await sendFull(bob, group, 'Yes!', original.id);
      expect(reply.replyTo).toEqual({ id: original.id, body: 'Lunch at noon?', deletedAt: null, editedAt: null });
      const live = await collector.waitUntil((event) => event.messageEvents.message.id === reply.id);
      expect(live.messageEvents.kind).toBe('CREATED');
      expect(live.messageEvents.message.replyTo.id).toBe(original.id);

      await data(url(), EDIT, { input: { messageId: original.id, body: 'Lunch at one?' } }, alice.token);
      let seen = (await history(carol, group)).find((message: any) => message.id === reply.id);
      expect(seen.replyTo.body).toBe('Lunch at one?');
      expect(seen.replyTo.editedAt).not.toBeNull();

      await data(url(), DELETE, { messageId: original.id }, alice.token);
      seen = (await history(carol, group)).find((message: any) => message.id === reply.id);
      expect(seen.replyTo.id).toBe(original.id);
      expect(seen.replyTo.body).toBeNull();
      expect(seen.replyTo.deletedAt).not.toBeNull();
      // Messages that reply to nothing say so.
      expect((await history(carol, group)).find((message: any) => message.id !== reply.id).replyTo).toBeNull();
    });

    it('a reply to a message of another conversation, one the caller cannot see, a deleted or a malformed one is NOT_FOUND alike, and nothing is stored', async () => {
      const group = await createGroup(url(), alice, [bob]);
      const direct = await openDirect(url(), alice, carol); // alice can see it, bob cannot
      const elsewhere = await send(url(), alice, direct, 'in the direct conversation');
      const hidden = await send(url(), carol, await openDirect(url(), carol, outsider), 'not for alice or bob');
      const gone = await send(url(), bob, group, 'deleted soon');
      await data(url(), DELETE, { messageId: gone.id }, bob.token);
      const before = await history(alice, group);

      const refusals = await Promise.all([
        sendRaw(alice, group, 'reply', elsewhere.id), // visible to alice, other conversation
        sendRaw(bob, group, 'reply', elsewhere.id), // invisible to bob
        sendRaw(alice, group, 'reply', hidden.id), // invisible to alice
        sendRaw(alice, group, 'reply', gone.id),
        sendRaw(alice, group, 'reply', 'not-an-id'),
        sendRaw(alice, group, 'reply', Buffer.from('Message:999999999').toString('base64')),
        sendRaw(alice, group, 'reply', direct), // a conversation's id, not a message's
      ]);
      for (const refusal of refusals) {
        expect(refusal.data).toBeNull();
        expect(refusal.errors).toHaveLength(1);
        expect(refusal.errors![0]!.extensions!.code).toBe('NOT_FOUND');
        expect(refusal.errors![0]!.message).toBe('Message not found.');
      }
      expect(await history(alice, group)).toEqual(before);
    });

    it('replyTo is checked on its own: a stored reply pointing into another conversation shows null, not that message', async () => {
      const group = await createGroup(url(), alice, [bob]);
      const secret = await send(
        url(),
        carol,
        await openDirect(url(), carol, outsider),
        'secret of another conversation',
      );
      const reply = await sendFull(bob, group, 'reply');
      // Such a row cannot be made through the API; written directly, it stands for any bug that would.
      const secretId = Number(Buffer.from(secret.id, 'base64').toString().split(':')[1]);
      const replyId = Number(Buffer.from(reply.id, 'base64').toString().split(':')[1]);
      await server.app.services.dataSource.query('UPDATE messages SET replyToId = ? WHERE id = ?', [secretId, replyId]);
      const seen = await gql(url(), NODE, { id: reply.id }, bob.token);
      expect(seen.errors).toBeUndefined();
      expect(seen.data.node.replyTo).toBeNull();
      // Not even a message bob may see elsewhere: a reply's original is of its own conversation.
      const elsewhere = await send(url(), alice, await openDirect(url(), alice, bob), 'visible, but elsewhere');
      const elsewhereId = Number(Buffer.from(elsewhere.id, 'base64').toString().split(':')[1]);
      await server.app.services.dataSource.query('UPDATE messages SET replyToId = ? WHERE id = ?', [
        elsewhereId,
        replyId,
      ]);
      expect((await data(url(), NODE, { id: reply.id }, bob.token)).node.replyTo).toBeNull();
      // After leaving, the reply itself is out of reach.
      await data(url(), LEAVE, { conversationId: group }, bob.token);
      const gone = await gql(url(), NODE, { id: reply.id }, bob.token);
      expect(JSON.stringify(gone)).not.toContain('secret');
      expect(gone.data?.node ?? null).toBeNull();
    });
  });

  describe('mentions', () => {
    it('@username of a current member, case-insensitive, not inside words or e-mail addresses; others stay text', async () => {
      const group = await createGroup(url(), alice, [bob, carol]);
      const b = bob.username;
      const c = carol.username;
      const cases: [string, string[]][] = [
        [`hi @${b}, and @${c.toUpperCase()}!`, [b, c]],
        [`(@${b}) «@${c}» @${b}.`, [b, c]],
        [`@${b}'s idea; see @${b}: ok`, [b]],
        [`mail ${b}@example.com or x@${b} or @${b}@example.com`, []],
        [`@${b}.example.com and @${b}-x.org`, []],
        [`@${b}x and @${b}_ and @${b}é and @${b}\u0301 and é@${b}`, []],
        [`@${outsider.username} is not here; @nobody_${b} neither`, []],
        [`こんにちは @${b} さん`, [b]],
        [`@${alice.username} talks to herself`, [alice.username]],
      ];
      for (const [body, expected] of cases) {
        const message = await sendFull(alice, group, body);
        expect(usernames(message), body).toEqual([...expected].sort());
      }
      // History shows the same mentions.
      const stored = await history(bob, group);
      expect(usernames(stored[0])).toEqual([b, c].sort());
    });

    it('a member who left is not mentioned; one added later is; edits replace mentions and deletes remove them', async () => {
      const group = await createGroup(url(), alice, [bob, carol]);
      await data(url(), LEAVE, { conversationId: group }, carol.token);
      const early = await sendFull(alice, group, `@${carol.username} and @${bob.username}`);
      expect(usernames(early)).toEqual([bob.username]);
      await data(url(), ADD_MEMBERS, { conversationId: group, userIds: [carol.id] }, alice.token);
      const later = await sendFull(alice, group, `@${carol.username} welcome back`);
      expect(usernames(later)).toEqual([carol.username]);

      await data(url(), EDIT, { input: { messageId: later.id, body: `@${bob.username} instead` } }, alice.token);
      let node = (await data(url(), NODE, { id: later.id }, alice.token)).node;
      expect(usernames(node)).toEqual([bob.username]);
      await data(url(), DELETE, { messageId: later.id }, alice.token);
      node = (await data(url(), NODE, { id: later.id }, alice.token)).node;
      expect(node.mentions).toEqual([]);
    });

    it('unread mentions count per conversation: others’ messages after the read marker, deleted ones excluded', async () => {
      const group = await createGroup(url(), alice, [bob, carol]);
      expect(await mentionCount(bob, group)).toBe(0);
      await send(url(), alice, group, `@${bob.username} one`);
      const second = await send(url(), carol, group, `two @${bob.username} @${bob.username}`);
      await send(url(), alice, group, 'no mention');
      await send(url(), bob, group, `@${bob.username} my own`);
      expect(await mentionCount(bob, group)).toBe(2);
      expect(await mentionCount(carol, group)).toBe(0);
      await data(url(), DELETE, { messageId: second.id }, carol.token);
      expect(await mentionCount(bob, group)).toBe(1);
      const last = await send(url(), alice, group, `@${bob.username} three`);
      expect(await mentionCount(bob, group)).toBe(2);
      const read = await data(url(), MARK_READ, { conversationId: group, messageId: last.id }, bob.token);
      expect(read.markRead.unreadMentionCount).toBe(0);
      expect(await mentionCount(bob, group)).toBe(0);
    });
  });

  describe('search', () => {
    it('every word must match, case- and accent-insensitive, newest first, only in conversations the caller is in', async () => {
      const [w1, w2] = [word(), word()];
      const group = await createGroup(url(), alice, [bob]);
      const direct = await openDirect(url(), alice, carol);
      const both = await send(url(), alice, group, `${w1} and ${w2.toUpperCase()} together`);
      await send(url(), bob, group, `only ${w1}`);
      await send(url(), bob, group, `only ${w2}`);
      const inDirect = await send(url(), carol, direct, `${w2} ${w1} in the direct one`);
      await send(url(), outsider, await openDirect(url(), outsider, carol), `${w1} ${w2} hidden`);

      expect(await searchIds(alice, `${w1} ${w2}`)).toEqual([inDirect.id, both.id]);
      expect(await searchIds(alice, `${w2.toUpperCase()}   ${w1}`)).toEqual([inDirect.id, both.id]);
      expect(await searchIds(bob, `${w1} ${w2}`)).toEqual([both.id]);
      expect(await searchIds(outsider, `${w1} ${w2} together`)).toEqual([]);

      const cafe = await send(url(), alice, group, `Café ${w1} naïve`);
      expect(await searchIds(bob, `cafe NAIVE ${w1}`)).toEqual([cafe.id]);
      expect(await searchIds(bob, `CAFÉ ${w1}`)).toEqual([cafe.id]);
    });

    it('membership now, not then: a member who left finds nothing there, one added later finds older messages', async () => {
      const w = word();
      const group = await createGroup(url(), alice, [bob]);
      const old = await send(url(), alice, group, `${w} before anyone changed`);
      expect(await searchIds(bob, w)).toEqual([old.id]);
      await data(url(), LEAVE, { conversationId: group }, bob.token);
      expect(await searchIds(bob, w)).toEqual([]);
      expect(errorCode(await gql(url(), SEARCH, { query: w, conversationId: group }, bob.token))).toBe('NOT_FOUND');
      expect(await searchIds(carol, w)).toEqual([]);
      await data(url(), ADD_MEMBERS, { conversationId: group, userIds: [carol.id] }, alice.token);
      expect(await searchIds(carol, w)).toEqual([old.id]);
    });

    it('deleted messages never match; edited ones match their current body at once, and not the old one', async () => {
      const [w1, w2] = [word(), word()];
      const group = await createGroup(url(), alice, [bob]);
      const deleted = await send(url(), alice, group, `${w1} to be deleted`);
      const edited = await send(url(), alice, group, `${w1} to be edited`);
      expect(await searchIds(bob, w1)).toEqual([edited.id, deleted.id]);
      await data(url(), DELETE, { messageId: deleted.id }, alice.token);
      await data(url(), EDIT, { input: { messageId: edited.id, body: `now ${w2}` } }, alice.token);
      expect(await searchIds(bob, w1)).toEqual([]);
      expect(await searchIds(bob, `${w2} now`)).toEqual([edited.id]);
      expect(await searchIds(bob, 'deleted')).not.toContain(deleted.id);
    });

    it('conversationId narrows the search to one conversation', async () => {
      const w = word();
      const first = await createGroup(url(), alice, [bob]);
      const second = await createGroup(url(), alice, [carol]);
      const a = await send(url(), alice, first, `${w} one`);
      const b = await send(url(), alice, second, `${w} two`);
      expect(await searchIds(alice, w)).toEqual([b.id, a.id]);
      expect(await searchIds(alice, w, { conversationId: first })).toEqual([a.id]);
      expect(await searchIds(alice, w, { conversationId: second })).toEqual([b.id]);
      const page = await search(alice, w, { conversationId: second });
      expect(page.edges[0]!.node.conversation.id).toBe(second);
      expect(errorCode(await gql(url(), SEARCH, { query: w, conversationId: first }, carol.token))).toBe('NOT_FOUND');
      expect(errorCode(await gql(url(), SEARCH, { query: w, conversationId: 'junk' }, carol.token))).toBe('NOT_FOUND');
    });

    it('pages newest first with stable cursors: messages sent meanwhile neither repeat nor shift a page', async () => {
      const w = word();
      const group = await createGroup(url(), alice, [bob]);
      const sent: string[] = [];
      for (let index = 0; index < 7; index++) sent.push((await send(url(), alice, group, `${w} number ${index}`)).id);
      const newestFirst = [...sent].reverse();

      const first = await search(bob, w, { first: 3 });
      expect(first.edges.map((edge) => edge.node.id)).toEqual(newestFirst.slice(0, 3));
      expect(first.pageInfo).toEqual({
        hasNextPage: true,
        hasPreviousPage: false,
        startCursor: first.edges[0]!.cursor,
        endCursor: first.edges[2]!.cursor,
      });
      await send(url(), alice, group, `${w} arrives between pages`);
      const second = await search(bob, w, { first: 3, after: first.pageInfo.endCursor });
      expect(second.edges.map((edge) => edge.node.id)).toEqual(newestFirst.slice(3, 6));
      expect(second.pageInfo.hasNextPage).toBe(true);
      expect(second.pageInfo.hasPreviousPage).toBe(true);
      const third = await search(bob, w, { first: 3, after: second.pageInfo.endCursor });
      expect(third.edges.map((edge) => edge.node.id)).toEqual(newestFirst.slice(6));
      expect(third.pageInfo.hasNextPage).toBe(false);
    });

    it('operators, quotes and * in a query are searched as text: never an error, never syntax', async () => {
      const w = word();
      const group = await createGroup(url(), alice, [bob]);
      const literal = await send(url(), alice, group, `${w} OR NOT near "quoted" text*`);
      const plain = await send(url(), alice, group, `${w} plain`);
      const hostile = [
        '"',
        '""',
        '*',
        '***',
        "'",
        '(((',
        ')',
        '-',
        '+',
        '~',
        '@',
        '^',
        ':',
        'NEAR(a b)',
        'AND',
        'OR',
        'NOT',
        `${w}*`,
        `-${w}`,
        `+${w} -plain`,
        `"${w}`,
        `${w}"`,
        `${w} OR plain`,
        `body:${w}`,
        `${w} NOT plain`,
        `'; DROP TABLE messages; --`,
        `${w}) OR (1=1`,
        '\\',
        '%',
        '_',
        '\u0000',
        '😀',
      ];
      for (const query of hostile) {
        const response = await gql(url(), SEARCH, { query, first: 100, conversationId: group }, bob.token);
        expect(response.errors, query).toBeUndefined();
        const ids = response.data.searchMessages.edges.map((edge: any) => edge.node.id);
        expect(
          ids.every((id: string) => id === literal.id || id === plain.id),
          query,
        ).toBe(true);
      }
      // Words are words: "OR", "NOT" and "plain" must all be in the body.
      expect(await searchIds(bob, `${w} OR plain`)).toEqual([]);
      expect(await searchIds(bob, `${w} OR`)).toEqual([literal.id]);
      expect(await searchIds(bob, `-${w} +plain`)).toEqual([plain.id]);
      expect(await searchIds(bob, `"${w}" "near"`)).toEqual([literal.id]);
      expect(await searchIds(bob, `${w}*`)).toEqual([plain.id, literal.id]);
      expect(await searchIds(bob, `text* ${w}`)).toEqual([literal.id]);
      expect(await searchIds(bob, `NEAR(${w} quoted)`)).toEqual([literal.id]);
      // The tables are still there.
      expect(await searchIds(bob, w)).toEqual([plain.id, literal.id]);
    });

    it('short and common words count like any other: "the", "ok", "go", a single letter or digit', async () => {
      const w = word();
      const group = await createGroup(url(), alice, [bob]);
      const ok = await send(url(), alice, group, `ok ${w} go to the store, plan B at 9`);
      await send(url(), alice, group, `okay ${w} going to a shop, plan C at 10`);
      expect(await searchIds(bob, `${w} ok go`)).toEqual([ok.id]);
      expect(await searchIds(bob, `the ${w}`)).toEqual([ok.id]);
      expect(await searchIds(bob, `${w} b 9`)).toEqual([ok.id]);
      expect(await searchIds(bob, `OK GO THE ${w}`)).toEqual([ok.id]);
      expect(await searchIds(bob, `${w} ok`, { conversationId: group })).toEqual([ok.id]);
    });

    it('bad arguments are BAD_USER_INPUT naming the argument; no token is UNAUTHENTICATED', async () => {
      const expectBad = (response: GraphQLResponse, field: string) => {
        expect(errorCode(response), JSON.stringify(response)).toBe('BAD_USER_INPUT');
        expect(response.errors![0]!.extensions!.field).toBe(field);
      };
      expectBad(await gql(url(), SEARCH, { query: '   ' }, bob.token), 'query');
      expectBad(await gql(url(), SEARCH, { query: 'x'.repeat(257) }, bob.token), 'query');
      expectBad(await gql(url(), SEARCH, { query: 'x', first: 0 }, bob.token), 'first');
      expectBad(await gql(url(), SEARCH, { query: 'x', first: 101 }, bob.token), 'first');
      expectBad(await gql(url(), SEARCH, { query: 'x', after: 'bm90LWEtY3Vyc29y' }, bob.token), 'after');
      expect(errorCode(await gql(url(), SEARCH, { query: 'x' }))).toBe('UNAUTHENTICATED');
    });
  });
});
