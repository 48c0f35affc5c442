// Message history against the real server on both databases: keyset
// pagination, page limits, query counts, event cursors, body rules, verbatim
// text, reactions and soft deletes.
import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createGroup,
  data,
  type GraphQLResponse,
  gql,
  send,
  signUp,
  type TestUser,
  uniqueName,
} from './helpers/client.js';
import { type DatabaseKind, startServer, type TestServer } from './helpers/server.js';

// ---------------------------------------------------------------------------
// Queries and small helpers

type PageArgs = { first?: number; after?: string; last?: number; before?: string };
type PageInfo = {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
};
type Page = { edges: { cursor: string; node: any }[]; pageInfo: PageInfo; eventCursor: string };
type FetchPage = (args: PageArgs) => Promise<Page>;

const MESSAGE_FIELDS =
  'id body clientMessageId createdAt editedAt deletedAt sender { id username displayName } reactions { emoji count reactedByMe }';
const PAGE_FIELDS = `edges { cursor node { ${MESSAGE_FIELDS} } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } eventCursor`;
const PAGE_VARIABLES = '$first: Int, $after: String, $last: Int, $before: String';
const PAGE_ARGUMENTS = 'first: $first, after: $after, last: $last, before: $before';

const QUERY_MESSAGES = `query ($conversationId: ID!, ${PAGE_VARIABLES}) {
  messages(conversationId: $conversationId, ${PAGE_ARGUMENTS}) { ${PAGE_FIELDS} }
}`;
const CONVERSATION_MESSAGES = `query ($id: ID!, ${PAGE_VARIABLES}) {
  conversation(id: $id) { messages(${PAGE_ARGUMENTS}) { ${PAGE_FIELDS} } }
}`;
const CONVERSATIONS = `query ($first: Int, $after: String) {
  conversations(first: $first, after: $after) {
    edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } eventCursor
  }
}`;
const SIGN_UP = 'mutation ($input: SignUpInput!) { signUp(input: $input) { token user { id username displayName } } }';
const SEND = `mutation ($input: SendMessageInput!) { sendMessage(input: $input) { ${MESSAGE_FIELDS} } }`;
const EDIT = `mutation ($input: EditMessageInput!) { editMessage(input: $input) { ${MESSAGE_FIELDS} } }`;
const DELETE = `mutation ($messageId: ID!) { deleteMessage(messageId: $messageId) { ${MESSAGE_FIELDS} } }`;
const ADD_REACTION = `mutation ($messageId: ID!, $emoji: String!) { addReaction(messageId: $messageId, emoji: $emoji) { ${MESSAGE_FIELDS} } }`;
const REMOVE_REACTION = `mutation ($messageId: ID!, $emoji: String!) { removeReaction(messageId: $messageId, emoji: $emoji) { ${MESSAGE_FIELDS} } }`;

const utf8 = (text: string) => Buffer.from(text, 'utf8');
const idsOf = (page: Page) => page.edges.map((edge) => edge.node.id as string);
/** Message cursors are base64url of "message:<id>" (bench/ relies on it too); for cursors no page hands out. */
const cursorNumber = (cursor: string) => Number(Buffer.from(cursor, 'base64url').toString().split(':')[1]);
const messageCursor = (id: number) => Buffer.from(`message:${id}`).toString('base64url');

/** The response failed with BAD_USER_INPUT naming `field` (or one of `field`). */
function expectBadUserInput(response: GraphQLResponse, field: string | string[]): void {
  expect(response.errors, JSON.stringify(response)).toHaveLength(1);
  const extensions = response.errors![0]!.extensions!;
  expect(extensions.code).toBe('BAD_USER_INPUT');
  expect(Array.isArray(field) ? field : [field]).toContain(extensions.field);
}

/** pageInfo matches the given flags and its cursors are exactly the first and last edge's. */
function expectPageInfo(page: Page, flags: { hasNextPage: boolean; hasPreviousPage: boolean }): void {
  expect(page.pageInfo).toEqual({
    ...flags,
    startCursor: page.edges[0]?.cursor ?? null,
    endCursor: page.edges.at(-1)?.cursor ?? null,
  });
  for (const edge of page.edges) expect(edge.cursor).toMatch(/\S/);
}

/** Reads pages forward with first/after and checks each against `expectedIds` (oldest first). */
async function walkForward(fetchPage: FetchPage, size: number, expectedIds: string[]): Promise<Page[]> {
  const pages: Page[] = [];
  let after: string | undefined;
  for (let offset = 0; ; offset += size) {
    const page = await fetchPage({ first: size, after });
    expect(idsOf(page)).toEqual(expectedIds.slice(offset, offset + size));
    expectPageInfo(page, { hasPreviousPage: offset > 0, hasNextPage: offset + size < expectedIds.length });
    pages.push(page);
    if (!page.pageInfo.hasNextPage) return pages;
    after = page.pageInfo.endCursor!;
  }
}

/** Reads pages backward from the newest with last/before; returns them oldest page first. */
async function walkBackward(fetchPage: FetchPage, size: number, expectedIds: string[]): Promise<Page[]> {
  const pages: Page[] = [];
  let before: string | undefined;
  for (let fromEnd = 0; ; fromEnd += size) {
    const page = await fetchPage({ last: size, before });
    const end = expectedIds.length - fromEnd;
    const start = Math.max(0, end - size);
    expect(idsOf(page)).toEqual(expectedIds.slice(start, end));
    expectPageInfo(page, { hasPreviousPage: start > 0, hasNextPage: fromEnd > 0 });
    pages.unshift(page);
    if (!page.pageInfo.hasPreviousPage) return pages;
    before = page.pageInfo.startCursor!;
  }
}

/** Sorted by emoji, so reaction groups compare without depending on their order. */
const sortedReactions = (message: any) =>
  [...(message.reactions as { emoji: string }[])].sort((a, b) => (a.emoji < b.emoji ? -1 : a.emoji > b.emoji ? 1 : 0));

// ---------------------------------------------------------------------------

describe.each<DatabaseKind>(['mysql', 'sqlite'])('message history on %s', (database) => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;

  const url = () => server.graphqlUrl;
  const messagesPage = async (user: TestUser, conversationId: string, args: PageArgs = {}): Promise<Page> =>
    (await data(url(), QUERY_MESSAGES, { conversationId, ...args }, user.token)).messages;
  const conversationMessagesPage = async (user: TestUser, conversationId: string, args: PageArgs = {}): Promise<Page> =>
    (await data(url(), CONVERSATION_MESSAGES, { id: conversationId, ...args }, user.token)).conversation.messages;
  /** One message as `user` sees it in history (the conversation must hold at most 100 messages). */
  const historyMessage = async (user: TestUser, conversationId: string, messageId: string) => {
    const page = await messagesPage(user, conversationId, { last: 100 });
    const edge = page.edges.find((candidate) => candidate.node.id === messageId);
    expect(edge, `message ${messageId} in history`).toBeDefined();
    return edge!.node;
  };
  const sendFull = async (user: TestUser, conversationId: string, body: string, clientMessageId?: string) =>
    (await data(url(), SEND, { input: { conversationId, body, clientMessageId } }, user.token)).sendMessage;
  const react = async (user: TestUser, messageId: string, emoji: string) =>
    (await data(url(), ADD_REACTION, { messageId, emoji }, user.token)).addReaction;

  beforeAll(async () => {
    server = await startServer(database);
    [alice, bob, carol] = [await signUp(url()), await signUp(url()), await signUp(url())];
  });
  afterAll(() => server?.stop());

  describe('keyset pagination', () => {
    const TOTAL = 127;
    let conversationId: string;
    let ids: string[];
    let noise: string;

    beforeAll(async () => {
      conversationId = await createGroup(url(), alice, [bob], 'pagination');
      noise = await createGroup(url(), alice, [bob, carol], 'noise');
      ids = [];
      for (let i = 0; i < TOTAL; i++) {
        ids.push((await send(url(), i % 2 === 0 ? alice : bob, conversationId, `message ${i}`)).id);
        // Messages of another conversation in between must never show up in this one's pages.
        if (i % 9 === 0) await send(url(), carol, noise, `noise ${i}`);
      }
      expect(new Set(ids).size).toBe(TOTAL);
    });

    /** The cursor of ids[index], as a page hands it out. */
    const cursorOfIndex = async (index: number) =>
      index < 100
        ? (await messagesPage(alice, conversationId, { first: 100 })).edges[index]!.cursor
        : (await messagesPage(alice, conversationId, { last: TOTAL - 100 })).edges[index - 100]!.cursor;

    it.each([7, 50, 100])(
      'pages forward %i at a time through every message once, oldest first, with exact pageInfo',
      async (size) => {
        const pages = await walkForward((args) => messagesPage(alice, conversationId, args), size, ids);
        expect(pages).toHaveLength(Math.ceil(TOTAL / size));
        expect(pages.flatMap(idsOf)).toEqual(ids);
        expect(pages.flatMap((page) => page.edges.map((edge) => edge.node.body))).toEqual(
          ids.map((_, i) => `message ${i}`),
        );
      },
    );

    it.each([11, 50, 100])(
      'pages backward %i at a time from the newest; the pages put together give the full order',
      async (size) => {
        const pages = await walkBackward((args) => messagesPage(bob, conversationId, args), size, ids);
        expect(pages).toHaveLength(Math.ceil(TOTAL / size));
        expect(pages.flatMap(idsOf)).toEqual(ids);
      },
    );

    it('returns an empty page past either end, with pageInfo saying which way there is more', async () => {
      const newest = (await messagesPage(alice, conversationId, { last: 1 })).edges[0]!.cursor;
      const oldest = (await messagesPage(alice, conversationId, { first: 1 })).edges[0]!.cursor;
      const afterNewest = await messagesPage(alice, conversationId, { first: 10, after: newest });
      expect(afterNewest.edges).toEqual([]);
      expectPageInfo(afterNewest, { hasNextPage: false, hasPreviousPage: true });
      const beforeOldest = await messagesPage(alice, conversationId, { last: 10, before: oldest });
      expect(beforeOldest.edges).toEqual([]);
      expectPageInfo(beforeOldest, { hasNextPage: true, hasPreviousPage: false });
    });

    it('gives exact pageInfo when a page ends exactly at the oldest or the newest message', async () => {
      const oldestFive = await messagesPage(alice, conversationId, { last: 5, before: await cursorOfIndex(5) });
      expect(idsOf(oldestFive)).toEqual(ids.slice(0, 5));
      expectPageInfo(oldestFive, { hasNextPage: true, hasPreviousPage: false });
      const newestFive = await messagesPage(alice, conversationId, { first: 5, after: await cursorOfIndex(TOTAL - 6) });
      expect(idsOf(newestFive)).toEqual(ids.slice(TOTAL - 5));
      expectPageInfo(newestFive, { hasNextPage: false, hasPreviousPage: true });
    });

    it("gives exact pageInfo from cursors that are no message of this conversation's", async () => {
      // The second noise message was sent between messages 9 and 10 of this conversation.
      const between = (await messagesPage(alice, noise, { first: 2 })).edges[1]!.cursor;
      const before = await messagesPage(alice, conversationId, { last: 5, before: between });
      expect(idsOf(before)).toEqual(ids.slice(5, 10));
      expectPageInfo(before, { hasNextPage: true, hasPreviousPage: true });
      const after = await messagesPage(alice, conversationId, { first: 5, after: between });
      expect(idsOf(after)).toEqual(ids.slice(10, 15));
      expectPageInfo(after, { hasNextPage: true, hasPreviousPage: true });

      const pastNewest = messageCursor(cursorNumber(await cursorOfIndex(TOTAL - 1)) + 1_000);
      const newest = await messagesPage(alice, conversationId, { last: 4, before: pastNewest });
      expect(idsOf(newest)).toEqual(ids.slice(TOTAL - 4));
      expectPageInfo(newest, { hasNextPage: false, hasPreviousPage: true });
      const beforeOldest = messageCursor(cursorNumber(await cursorOfIndex(0)) - 1);
      const oldest = await messagesPage(alice, conversationId, { first: 4, after: beforeOldest });
      expect(idsOf(oldest)).toEqual(ids.slice(0, 4));
      expectPageInfo(oldest, { hasNextPage: true, hasPreviousPage: false });
    });

    it('uses 50 as the default page size in both directions', async () => {
      const first = await messagesPage(alice, conversationId);
      expect(idsOf(first)).toEqual(ids.slice(0, 50));
      expectPageInfo(first, { hasNextPage: true, hasPreviousPage: false });

      const afterTen = await messagesPage(alice, conversationId, { after: first.edges[9]!.cursor });
      expect(idsOf(afterTen)).toEqual(ids.slice(10, 60));
      expectPageInfo(afterTen, { hasNextPage: true, hasPreviousPage: true });

      const newest = (await messagesPage(alice, conversationId, { last: 1 })).edges[0]!.cursor;
      const beforeNewest = await messagesPage(alice, conversationId, { before: newest });
      expect(idsOf(beforeNewest)).toEqual(ids.slice(TOTAL - 51, TOTAL - 1));
      expectPageInfo(beforeNewest, { hasNextPage: true, hasPreviousPage: true });
    });

    it('gives the same pages from Query.messages and Conversation.messages', async () => {
      const viaQuery = (args: PageArgs) => messagesPage(alice, conversationId, args);
      const viaConversation = (args: PageArgs) => conversationMessagesPage(alice, conversationId, args);
      const strip = (pages: Page[]) => pages.map(({ edges, pageInfo }) => ({ edges, pageInfo }));

      expect(strip(await walkForward(viaConversation, 50, ids))).toEqual(strip(await walkForward(viaQuery, 50, ids)));
      expect(strip(await walkBackward(viaConversation, 11, ids))).toEqual(strip(await walkBackward(viaQuery, 11, ids)));
      const middle = (await viaQuery({ first: 60 })).edges[59]!.cursor;
      for (const args of [
        {},
        { first: 3, after: middle },
        { last: 3, before: middle },
        { after: middle },
        { before: middle },
      ]) {
        expect(strip([await viaConversation(args)])).toEqual(strip([await viaQuery(args)]));
      }
    });

    it('shows messages sent while paging forward once, at the end', async () => {
      const conversation = await createGroup(url(), alice, [bob], 'live paging');
      const expected: string[] = [];
      for (let i = 0; i < 10; i++) expected.push((await send(url(), alice, conversation, `early ${i}`)).id);
      const seen: string[] = [];
      let after: string | undefined;
      for (let round = 0; round < 10; round++) {
        const page = await messagesPage(bob, conversation, { first: 4, after });
        seen.push(...idsOf(page));
        const sendsMore = round < 3;
        if (sendsMore) expected.push((await send(url(), bob, conversation, `late ${round}`)).id);
        if (!page.pageInfo.hasNextPage && !sendsMore) break;
        after = page.pageInfo.endCursor ?? after;
      }
      expect(seen).toEqual(expected);
    });

    it('answers NOT_FOUND to non-members and UNAUTHENTICATED without a token', async () => {
      const outsider = await signUp(url());
      const response = await gql(url(), QUERY_MESSAGES, { conversationId, first: 5 }, outsider.token);
      expect(response.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      expect(response.data).toBeNull();
      expect(
        (await data(url(), CONVERSATION_MESSAGES, { id: conversationId }, outsider.token)).conversation,
      ).toBeNull();
      const anonymous = await gql(url(), QUERY_MESSAGES, { conversationId, first: 5 });
      expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });
  });

  describe('page limits and cursors', () => {
    let conversationId: string;
    let conversationCursor: string;
    let userCursor: string;
    let messageEventCursor: string;

    beforeAll(async () => {
      conversationId = await createGroup(url(), alice, [bob], 'limits');
      for (let i = 0; i < 3; i++) await send(url(), alice, conversationId, `limit ${i}`);
      conversationCursor = (await data(url(), CONVERSATIONS, { first: 1 }, alice.token)).conversations.edges[0].cursor;
      userCursor = (await data(url(), '{ users(first: 1) { edges { cursor } } }', {}, alice.token)).users.edges[0]
        .cursor;
      messageEventCursor = (await messagesPage(alice, conversationId)).eventCursor;
    });

    const pageResponse = (args: Record<string, unknown>) =>
      gql(url(), QUERY_MESSAGES, { conversationId, ...args }, alice.token);

    it.each([
      ['first', 0],
      ['first', 101],
      ['first', -1],
      ['last', 0],
      ['last', 101],
      ['last', -5],
    ])('rejects %s: %i with BAD_USER_INPUT naming it', async (field, value) => {
      const response = await pageResponse({ [field]: value });
      expectBadUserInput(response, field);
      expect(response.data).toBeNull();
      expectBadUserInput(
        await gql(url(), CONVERSATION_MESSAGES, { id: conversationId, [field]: value }, alice.token),
        field,
      );
    });

    it('accepts first and last of 1 and 100', async () => {
      for (const args of [{ first: 1 }, { first: 100 }, { last: 1 }, { last: 100 }]) {
        const response = await pageResponse(args);
        expect(response.errors).toBeUndefined();
        expect(response.data.messages.edges).toHaveLength(Math.min(3, (args as any).first ?? (args as any).last));
      }
    });

    it('rejects first and last together with BAD_USER_INPUT', async () => {
      expectBadUserInput(await pageResponse({ first: 5, last: 5 }), ['first', 'last']);
    });

    const malformedCursors: [string, () => string][] = [
      ['garbage', () => 'garbage'],
      ['an empty string', () => ''],
      ['base64 of other text', () => Buffer.from('hello world').toString('base64')],
      ['base64url of JSON', () => Buffer.from(JSON.stringify({ id: 1 })).toString('base64url')],
      ['a ConversationConnection cursor', () => conversationCursor],
      ['a UserConnection cursor', () => userCursor],
      ['an eventCursor', () => messageEventCursor],
    ];
    it.each(malformedCursors)(
      'rejects %s as after or before with BAD_USER_INPUT naming the argument',
      async (_name, cursor) => {
        expectBadUserInput(await pageResponse({ first: 5, after: cursor() }), 'after');
        expectBadUserInput(await pageResponse({ last: 5, before: cursor() }), 'before');
        expectBadUserInput(await pageResponse({ before: cursor() }), 'before');
      },
    );
  });

  describe('SQL cost of a page', () => {
    let conversationId: string;

    beforeAll(async () => {
      conversationId = await createGroup(url(), alice, [bob], 'query count');
      const ids: string[] = [];
      for (let i = 0; i < 60; i++)
        ids.push((await send(url(), i % 2 === 0 ? alice : bob, conversationId, `count ${i}`)).id);
      for (const [i, id] of ids.slice(10).entries()) {
        await react(alice, id, '👍');
        if (i % 2 === 0) await react(bob, id, '❤️');
        if (i % 3 === 0) await react(bob, id, '👍');
      }
    });

    /** Every SQL statement the server ran to answer one page of `size` with senders and reactions. */
    const measure = async (size: number, before?: string) => {
      server.resetQueries();
      const page = await messagesPage(alice, conversationId, { last: size, before });
      return { page, statements: [...server.queries] };
    };

    it.each([
      ['from the newest', false],
      ['before a cursor', true],
    ])('costs the same few statements for 5 messages as for 50, %s', async (_name, withCursor) => {
      const before = withCursor ? (await messagesPage(alice, conversationId, { last: 1 })).edges[0]!.cursor : undefined;
      const small = await measure(5, before);
      const large = await measure(50, before);
      expect(small.page.edges).toHaveLength(5);
      expect(large.page.edges).toHaveLength(50);
      // The pages really exercise senders (both users) and reactions.
      for (const { page } of [small, large]) {
        expect(new Set(page.edges.map((edge) => edge.node.sender.id))).toEqual(new Set([alice.id, bob.id]));
        expect(page.edges.filter((edge) => edge.node.reactions.length > 0).length).toBeGreaterThanOrEqual(
          page.edges.length - 1,
        );
      }
      for (const { node } of large.page.edges) {
        for (const group of node.reactions) expect(group.reactedByMe).toBe(group.emoji === '👍');
      }

      expect(large.statements.length, large.statements.join('\n')).toBe(small.statements.length);
      expect(large.statements.length, large.statements.join('\n')).toBeLessThanOrEqual(10);
    });
  });

  describe('statements of a page', () => {
    // The fields of the history benchmark (bench/lib/clients.ts): senders, pageInfo and eventCursor.
    const PAGE = `query ($conversationId: ID!, ${PAGE_VARIABLES}) {
      messages(conversationId: $conversationId, ${PAGE_ARGUMENTS}) {
        edges { cursor node { id body createdAt sender { id username } } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor } eventCursor
      }
    }`;

    it('answers with 2 statements: the membership check, and the page with its senders, pageInfo and eventCursor (no viewer query: the live session vouches for its user)', async () => {
      const conversationId = await createGroup(url(), alice, [bob], 'statements');
      for (let i = 0; i < 12; i++) await send(url(), i % 2 === 0 ? alice : bob, conversationId, `statement ${i}`);
      const all = await messagesPage(alice, conversationId);
      const cursor = (index: number) => all.edges[index]!.cursor;
      const cases: [PageArgs, number, { hasNextPage: boolean; hasPreviousPage: boolean }][] = [
        [{ last: 5 }, 5, { hasNextPage: false, hasPreviousPage: true }],
        [{ last: 5, before: cursor(6) }, 5, { hasNextPage: true, hasPreviousPage: true }],
        [{ first: 5, after: cursor(6) }, 5, { hasNextPage: false, hasPreviousPage: true }],
        [{ first: 5, after: cursor(11) }, 0, { hasNextPage: false, hasPreviousPage: true }],
        [{ last: 5, before: cursor(0) }, 0, { hasNextPage: true, hasPreviousPage: false }],
      ];
      for (const [args, size, flags] of cases) {
        server.resetQueries();
        const page: Page = (await data(url(), PAGE, { conversationId, ...args }, bob.token)).messages;
        const statements = [...server.queries];
        expect(page.edges, JSON.stringify(args)).toHaveLength(size);
        expectPageInfo(page, flags);
        expect(page.eventCursor).toBe(all.eventCursor);
        expect(new Set(page.edges.map((edge) => edge.node.sender.username)).size).toBe(size === 0 ? 0 : 2);
        expect(statements, statements.join('\n')).toHaveLength(2);
      }
    });
  });

  describe('eventCursor', () => {
    it('is a non-empty string on every page, even an empty one', async () => {
      const loner = await signUp(url());
      const none = await data(url(), CONVERSATIONS, {}, loner.token);
      expect(none.conversations.edges).toEqual([]);
      expect(none.conversations.eventCursor).toMatch(/\S/);

      const conversationId = await createGroup(url(), loner, [alice], 'empty');
      const empty = await messagesPage(loner, conversationId);
      expect(empty.edges).toEqual([]);
      expectPageInfo(empty, { hasNextPage: false, hasPreviousPage: false });
      expect(empty.eventCursor).toMatch(/\S/);

      await send(url(), alice, conversationId, 'hello');
      for (const args of [{}, { first: 1 }, { last: 1 }]) {
        expect((await messagesPage(loner, conversationId, args)).eventCursor).toMatch(/\S/);
        expect((await conversationMessagesPage(loner, conversationId, args)).eventCursor).toMatch(/\S/);
      }
      expect((await data(url(), CONVERSATIONS, { first: 1 }, loner.token)).conversations.eventCursor).toMatch(/\S/);
    });

    it('stays the same while nothing happens and moves on after new messages', async () => {
      const conversationId = await createGroup(url(), alice, [bob], 'event cursor');
      const read = async () => ({
        messages: (await messagesPage(bob, conversationId, { last: 5 })).eventCursor,
        conversations: (await data(url(), CONVERSATIONS, { first: 5 }, bob.token)).conversations.eventCursor as string,
      });

      const seen = [await read()];
      expect(await read()).toEqual(seen[0]);
      for (const batch of [1, 3]) {
        for (let i = 0; i < batch; i++) await send(url(), alice, conversationId, `batch ${batch} #${i}`);
        const now = await read();
        expect(await read()).toEqual(now);
        // Opaque, so "never goes back" is checked as: never equal to any earlier value.
        for (const earlier of seen) {
          expect(now.messages).not.toBe(earlier.messages);
          expect(now.conversations).not.toBe(earlier.conversations);
        }
        seen.push(now);
      }
    });
  });

  describe('message body rules', () => {
    let conversationId: string;

    beforeAll(async () => {
      conversationId = await createGroup(url(), alice, [bob], 'body rules');
    });

    const sendResponse = (body: string, clientMessageId?: string) =>
      gql(url(), SEND, { input: { conversationId, body, clientMessageId } }, alice.token);
    const editResponse = (messageId: string, body: string) =>
      gql(url(), EDIT, { input: { messageId, body } }, alice.token);

    it('trims the body before storing it', async () => {
      const sent = await sendFull(alice, conversationId, ' \n\t  hello there \t\n ');
      expect(sent.body).toBe('hello there');
      expect((await historyMessage(bob, conversationId, sent.id)).body).toBe('hello there');
    });

    it('accepts 4000 characters (ASCII, CJK or accented), also with whitespace around them', async () => {
      for (const text of ['x'.repeat(3999) + 'y', '中'.repeat(4000), 'é'.repeat(4000)]) {
        for (const body of [text, `   ${text}\n\n`]) {
          const sent = await sendFull(alice, conversationId, body);
          expect(sent.body).toBe(text);
          expect((await historyMessage(bob, conversationId, sent.id)).body).toBe(text);
        }
      }
    });

    it.each([
      ['4001 characters', 'x'.repeat(4001)],
      ['an empty body', ''],
      ['whitespace only', ' \t\n  \r\n '],
    ])('rejects %s with BAD_USER_INPUT naming body and stores nothing', async (_name, body) => {
      const before = idsOf(await messagesPage(alice, conversationId, { last: 100 }));
      const response = await sendResponse(body);
      expectBadUserInput(response, 'body');
      expect(response.data).toBeNull();
      expect(idsOf(await messagesPage(alice, conversationId, { last: 100 }))).toEqual(before);
    });

    it('accepts a clientMessageId of 64 characters and rejects 65 naming clientMessageId', async () => {
      const key = uniqueName('k').padEnd(64, 'k');
      expect((await sendFull(alice, conversationId, 'keyed', key)).clientMessageId).toBe(key);
      expectBadUserInput(await sendResponse('too long a key', `${key}k`), 'clientMessageId');
    });

    it('applies the same rules to editMessage and leaves the message unchanged when rejecting', async () => {
      const sent = await sendFull(alice, conversationId, 'original');

      const trimmed = (await data(url(), EDIT, { input: { messageId: sent.id, body: '\n  edited  \t' } }, alice.token))
        .editMessage;
      expect(trimmed.body).toBe('edited');
      expect(trimmed.editedAt).toEqual(expect.any(String));

      const longest = 'z'.repeat(4000);
      expect(
        (await data(url(), EDIT, { input: { messageId: sent.id, body: ` ${longest} ` } }, alice.token)).editMessage
          .body,
      ).toBe(longest);

      for (const body of ['z'.repeat(4001), '', '  \n\t '])
        expectBadUserInput(await editResponse(sent.id, body), 'body');
      expect((await historyMessage(bob, conversationId, sent.id)).body).toBe(longest);
    });
  });

  describe('text stored verbatim', () => {
    let conversationId: string;

    beforeAll(async () => {
      conversationId = await createGroup(url(), alice, [bob], 'verbatim 📚');
    });

    const bodies: [string, string][] = [
      ['emoji: ZWJ family, flag, skin tone, VS16', 'family 👩‍👩‍👧‍👦 flag 🇯🇵 thumbs 👍🏽 heart ❤️ keycap #️⃣'],
      ['astral CJK', '𠜎𠜱𠝹𠱓 beside 中文 and 日本語'],
      ['combining characters, not normalised', 'e\u0301 is not \u00e9; a\u030a; Z\u0351\u0358\u0316'],
      ['right-to-left text and bidi controls', 'مرحبا بالعالم — שלום עולם \u202Eevil\u202C \u200Fend'],
      ['tabs, newlines and carriage returns inside', 'line 1\nline\t2\r\nline 3\n\n\tindented\u000B\u000Cform feed'],
      ['HTML', '<script>alert(1)</script> &amp; <b onclick="x()">bold</b>'],
      ['SQL-looking text', "'); DROP TABLE messages; --"],
      ['quotes, backslashes and LIKE wildcards', 'it\'s "quoted" \\ back\\slash \\0 100% _under_ `tick` ${x}'],
      ['invisible characters inside', 'a\u200Bb\u200Dc\uFEFFd\u2060e\u00ADf'],
      ['a long astral text', '𠜎😀'.repeat(1000)],
    ];

    it.each(bodies)('round-trips %s through sendMessage and history', async (_name, body) => {
      const sent = await sendFull(alice, conversationId, body, uniqueName('verbatim'));
      expect(sent.body).toBe(body);
      expect(utf8(sent.body).equals(utf8(body))).toBe(true);
      for (const viewer of [alice, bob]) {
        const read = await historyMessage(viewer, conversationId, sent.id);
        expect(read.body).toBe(body);
        expect(utf8(read.body).equals(utf8(body))).toBe(true);
      }
      const viaConversation = (await conversationMessagesPage(bob, conversationId, { last: 1 })).edges[0]!.node;
      expect(viaConversation.body).toBe(body);
    });

    it('stores the exact UTF-8 bytes in the database', async () => {
      const keys = new Map<string, string>();
      for (const [, body] of bodies) {
        const key = uniqueName('bytes');
        await sendFull(bob, conversationId, body, key);
        keys.set(key, body);
      }
      for (const [key, body] of keys) {
        const rows: { hex: string }[] = await server.app.services.dataSource.query(
          'SELECT HEX(body) AS hex FROM messages WHERE clientMessageId = ?',
          [key],
        );
        expect(rows).toHaveLength(1);
        expect(rows[0]!.hex.toUpperCase()).toBe(utf8(body).toString('hex').toUpperCase());
      }
    });

    it('treats clientMessageIds that differ only in case, emoji or trailing spaces as different keys', async () => {
      const key = uniqueName('key');
      const variants = [key, `${key} `, `${key}  `, key.toUpperCase(), `${key}👍🏻`, `${key}👍🏿`];
      const sent = [];
      for (const [i, variant] of variants.entries())
        sent.push(await sendFull(alice, conversationId, `variant ${i}`, variant));
      // Each is a new message carrying its own key, byte for byte.
      expect(new Set(sent.map((message) => message.id)).size).toBe(variants.length);
      sent.forEach((message, i) => {
        expect(message.body).toBe(`variant ${i}`);
        expect(utf8(message.clientMessageId).equals(utf8(variants[i]!))).toBe(true);
      });
      const history = await messagesPage(bob, conversationId, { last: variants.length });
      expect(history.edges.map((edge) => edge.node.clientMessageId)).toEqual(variants);
    });

    it('round-trips edited bodies with emoji exactly', async () => {
      const sent = await sendFull(alice, conversationId, 'plain');
      const body = '👩‍👩‍👧‍👦🇯🇵👍🏽 𠜎 e\u0301';
      const edited = (await data(url(), EDIT, { input: { messageId: sent.id, body } }, alice.token)).editMessage;
      expect(utf8(edited.body).equals(utf8(body))).toBe(true);
      expect(utf8((await historyMessage(bob, conversationId, sent.id)).body).equals(utf8(body))).toBe(true);
    });

    it('round-trips display names with emoji, up to 64 astral characters', async () => {
      for (const displayName of ['Ana 👩‍👩‍👧‍👦 🇯🇵 👍🏽', '𠜎 e\u0301 مرحبا', '😀'.repeat(64)]) {
        const signedUp = await data(url(), SIGN_UP, {
          input: { username: uniqueName('emoji'), password: 'password123', displayName },
        });
        expect(utf8(signedUp.signUp.user.displayName).equals(utf8(displayName))).toBe(true);
        const user: TestUser = { ...signedUp.signUp.user, token: signedUp.signUp.token };
        const me = await data(url(), '{ me { displayName } }', {}, user.token);
        expect(me.me.displayName).toBe(displayName);

        const groupId = await createGroup(url(), user, [alice], displayName);
        const sent = await send(url(), user, groupId, 'hi');
        const read = await historyMessage(alice, groupId, sent.id);
        expect(read.sender.displayName).toBe(displayName);
        expect(utf8(read.sender.displayName).equals(utf8(displayName))).toBe(true);
      }
    });
  });

  describe('reactions', () => {
    let conversationId: string;

    beforeAll(async () => {
      conversationId = await createGroup(url(), alice, [bob, carol], 'reactions');
    });

    it.each(['👍', '👍🏽', '👩‍👩‍👧‍👦', '🇯🇵', '❤️'])('accepts %s as one emoji and shows it exactly', async (emoji) => {
      const { id } = await send(url(), bob, conversationId, `react with ${emoji}`);
      const reacted = await react(alice, id, emoji);
      expect(reacted.reactions).toEqual([{ emoji, count: 1, reactedByMe: true }]);
      const read = await historyMessage(carol, conversationId, id);
      expect(read.reactions).toEqual([{ emoji, count: 1, reactedByMe: false }]);
      expect(utf8(read.reactions[0].emoji).equals(utf8(emoji))).toBe(true);
    });

    it('keeps emoji that differ only in skin tone, flag or family members in separate groups', async () => {
      const { id } = await send(url(), bob, conversationId, 'skin tones');
      const lookalikes = [
        [alice, '👍'],
        [alice, '👍🏻'],
        [bob, '👍🏿'],
        [carol, '👍🏽'],
        [alice, '🇯🇵'],
        [bob, '🇫🇷'],
        [carol, '👩‍👩‍👧‍👦'],
        [carol, '👨‍👩‍👧'],
      ] as const;
      for (const [user, emoji] of lookalikes) await react(user, id, emoji);
      const read = await historyMessage(alice, conversationId, id);
      expect(sortedReactions(read)).toEqual(
        sortedReactions({
          reactions: lookalikes.map(([user, emoji]) => ({ emoji, count: 1, reactedByMe: user === alice })),
        }),
      );
    });

    it('counts the same reaction once per user and shows reactedByMe per viewer', async () => {
      const { id } = await send(url(), carol, conversationId, 'popular');
      await react(alice, id, '🎉');
      const twice = await react(alice, id, '🎉');
      expect(twice.reactions).toEqual([{ emoji: '🎉', count: 1, reactedByMe: true }]);
      await react(bob, id, '🎉');
      expect((await historyMessage(alice, conversationId, id)).reactions).toEqual([
        { emoji: '🎉', count: 2, reactedByMe: true },
      ]);
      expect((await historyMessage(bob, conversationId, id)).reactions).toEqual([
        { emoji: '🎉', count: 2, reactedByMe: true },
      ]);
      expect((await historyMessage(carol, conversationId, id)).reactions).toEqual([
        { emoji: '🎉', count: 2, reactedByMe: false },
      ]);
    });

    it("removeReaction removes only the caller's reaction", async () => {
      const { id } = await send(url(), alice, conversationId, 'short-lived');
      await react(alice, id, '👍🏽');
      await react(bob, id, '👍🏽');
      await react(bob, id, '👍🏿');

      const afterBob = (await data(url(), REMOVE_REACTION, { messageId: id, emoji: '👍🏽' }, bob.token)).removeReaction;
      expect(sortedReactions(afterBob)).toEqual([
        { emoji: '👍🏽', count: 1, reactedByMe: false },
        { emoji: '👍🏿', count: 1, reactedByMe: true },
      ]);
      await data(url(), REMOVE_REACTION, { messageId: id, emoji: '👍🏽' }, alice.token);
      expect((await historyMessage(carol, conversationId, id)).reactions).toEqual([
        { emoji: '👍🏿', count: 1, reactedByMe: false },
      ]);
      await data(url(), REMOVE_REACTION, { messageId: id, emoji: '👍🏿' }, bob.token);
      expect((await historyMessage(bob, conversationId, id)).reactions).toEqual([]);
    });

    it.each(['a', '👍👍', '', ':)', ' ', '👍 ', '1'])(
      'rejects %j as an emoji with BAD_USER_INPUT naming emoji',
      async (emoji) => {
        const { id } = await send(url(), bob, conversationId, `not an emoji: ${JSON.stringify(emoji)}`);
        for (const mutation of [ADD_REACTION, REMOVE_REACTION]) {
          const response = await gql(url(), mutation, { messageId: id, emoji }, alice.token);
          expectBadUserInput(response, 'emoji');
        }
        expect((await historyMessage(alice, conversationId, id)).reactions).toEqual([]);
      },
    );
  });

  describe('deleted messages', () => {
    const TOTAL = 30;
    const DELETED = [0, 1, 7, 15, 16, 28, 29];
    let conversationId: string;
    let ids: string[];

    beforeAll(async () => {
      conversationId = await createGroup(url(), alice, [bob], 'deletions');
      ids = [];
      for (let i = 0; i < TOTAL; i++)
        ids.push((await send(url(), i % 3 === 0 ? bob : alice, conversationId, `doomed ${i}`)).id);
      for (const i of DELETED) {
        const sender = i % 3 === 0 ? bob : alice;
        const deleted = (await data(url(), DELETE, { messageId: ids[i] }, sender.token)).deleteMessage;
        expect(deleted.id).toBe(ids[i]);
        expect(deleted.body).toBeNull();
        expect(new Date(deleted.deletedAt).getTime()).not.toBeNaN();
      }
    });

    it('shows a deleted message in history with a null body and deletedAt set', async () => {
      const page = await messagesPage(alice, conversationId, { first: TOTAL });
      expect(idsOf(page)).toEqual(ids);
      page.edges.forEach((edge, i) => {
        if (DELETED.includes(i)) {
          expect(edge.node.body).toBeNull();
          expect(new Date(edge.node.deletedAt).getTime()).not.toBeNaN();
        } else {
          expect(edge.node.body).toBe(`doomed ${i}`);
          expect(edge.node.deletedAt).toBeNull();
        }
      });
    });

    it.each([
      ['forward', 4],
      ['backward', 7],
    ])('still returns every message exactly once paging %s %i at a time', async (direction, size) => {
      const fetchPage = (args: PageArgs) => messagesPage(bob, conversationId, args);
      const pages =
        direction === 'forward' ? await walkForward(fetchPage, size, ids) : await walkBackward(fetchPage, size, ids);
      expect(pages.flatMap(idsOf)).toEqual(ids);
      expect(
        pages.flatMap((page) => page.edges.filter((edge) => edge.node.deletedAt !== null).map((edge) => edge.node.id)),
      ).toEqual(DELETED.map((i) => ids[i]));
    });

    it('refuses deletion by anyone but the sender with FORBIDDEN and keeps the message', async () => {
      const { id } = await send(url(), alice, conversationId, 'keep me');
      const response = await gql(url(), DELETE, { messageId: id }, bob.token);
      expect(response.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const read = await historyMessage(bob, conversationId, id);
      expect(read.body).toBe('keep me');
      expect(read.deletedAt).toBeNull();
    });
  });
});
