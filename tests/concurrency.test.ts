// What many clients doing things at the same moment must see: one
// conversation per pair, one message per clientMessageId, a read marker that
// only moves forward, a history with every send exactly once, group additions
// that stay within the limits, a deleted message that stays deleted, no
// message stored after its sender left, and one event per reaction change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conversation, Membership, Message, MessageEvent } from '../src/db/entities/index.js';
import { claimEventPosition } from '../src/db/eventLog.js';
import { sendsAwaitingCommit } from '../src/db/messages.js';
import { transaction } from '../src/db/transaction.js';
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
  numericId,
} from './helpers/client.js';
import { type DatabaseKind, seedUsers, startServer, type TestServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';
import { connect, subscribe } from './helpers/ws.js';

const OPEN_DIRECT = 'mutation ($userId: ID!) { openDirectConversation(userId: $userId) { id } }';
const SEND = `mutation ($input: SendMessageInput!) {
  sendMessage(input: $input) { id body clientMessageId sender { id } }
}`;
const MARK_READ =
  'mutation ($conversationId: ID!, $messageId: ID!) { markRead(conversationId: $conversationId, messageId: $messageId) { unreadCount } }';
const DELETE = 'mutation ($messageId: ID!) { deleteMessage(messageId: $messageId) { id } }';
const EDIT = 'mutation ($input: EditMessageInput!) { editMessage(input: $input) { id } }';
const ADD_REACTION =
  'mutation ($messageId: ID!, $emoji: String!) { addReaction(messageId: $messageId, emoji: $emoji) { id } }';
const ADD_MEMBERS = `mutation ($conversationId: ID!, $userIds: [ID!]!) {
  addMembers(conversationId: $conversationId, userIds: $userIds) { id }
}`;
const MEMBERS = 'query ($id: ID!) { conversation(id: $id) { members { id } } }';
const LAST_MESSAGE = 'query ($id: ID!) { conversation(id: $id) { lastMessage { id } } }';
const UNREAD = 'query ($id: ID!) { conversation(id: $id) { unreadCount } }';
const CONVERSATIONS = `{
  conversations(first: 100) { edges { node { id kind members { id } } } pageInfo { hasNextPage } }
}`;
const HISTORY_STATE = `query ($conversationId: ID!) {
  messages(conversationId: $conversationId, first: 100) { edges { node { id body deletedAt reactions { emoji count } } } }
}`;
const HISTORY = `query ($conversationId: ID!, $first: Int, $after: String) {
  messages(conversationId: $conversationId, first: $first, after: $after) {
    edges { node { id body clientMessageId sender { id } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

type HistoryMessage = { id: string; body: string | null; clientMessageId: string | null; sender: { id: string } };

const byNumber = (a: number, b: number) => a - b;

/** Lets the server's pending callbacks run (it shares this process): no clock involved. */
async function settle(turns = 20): Promise<void> {
  for (let turn = 0; turn < turns; turn++) await new Promise((resolve) => setImmediate(resolve));
}

describe.each<DatabaseKind>(['mysql', 'sqlite'])('concurrency on %s', (database) => {
  let server: TestServer;
  let url: string;
  beforeAll(async () => {
    server = await startServer(database);
    url = server.graphqlUrl;
  });
  afterAll(() => server?.stop());

  const newUser = (prefix: string) => signUp(url, uniqueName(prefix));
  const newUsers = (count: number, prefix: string) => Promise.all(Array.from({ length: count }, () => newUser(prefix)));

  /** The whole history, read oldest first with first/after pages of `pageSize`. */
  async function readHistory(user: TestUser, conversationId: string, pageSize = 100): Promise<HistoryMessage[]> {
    const messages: HistoryMessage[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = (await data(url, HISTORY, { conversationId, first: pageSize, after }, user.token)).messages;
      messages.push(...page.edges.map((edge: any) => edge.node));
      if (!page.pageInfo.hasNextPage) return messages;
      after = page.pageInfo.endCursor;
    }
  }

  async function unreadCount(user: TestUser, conversationId: string): Promise<number> {
    return (await data(url, UNREAD, { id: conversationId }, user.token)).conversation.unreadCount;
  }

  async function markRead(user: TestUser, conversationId: string, messageId: string): Promise<number> {
    return (await data(url, MARK_READ, { conversationId, messageId }, user.token)).markRead.unreadCount;
  }

  /** `count` messages from `sender`, one after another, so their order is known. */
  async function sendInOrder(sender: TestUser, conversationId: string, count: number, label = 'message') {
    const sent: { id: string; body: string }[] = [];
    for (let index = 0; index < count; index++) sent.push(await send(url, sender, conversationId, `${label} ${index}`));
    return sent;
  }

  async function memberIds(user: TestUser, conversationId: string): Promise<string[]> {
    return (await data(url, MEMBERS, { id: conversationId }, user.token)).conversation.members.map(
      (member: any) => member.id,
    );
  }

  describe('openDirectConversation', () => {
    it('ten simultaneous calls from both users of a pair all return the same conversation', async () => {
      const [alice, bob] = await newUsers(2, 'pair');
      const calls = Array.from({ length: 10 }, (_, index) =>
        index % 2 === 0
          ? data(url, OPEN_DIRECT, { userId: bob!.id }, alice!.token)
          : data(url, OPEN_DIRECT, { userId: alice!.id }, bob!.token),
      );
      const ids = (await Promise.all(calls)).map((result) => result.openDirectConversation.id);
      expect(new Set(ids).size).toBe(1);

      for (const [user, other] of [
        [alice!, bob!],
        [bob!, alice!],
      ] as const) {
        const list = (await data(url, CONVERSATIONS, {}, user.token)).conversations.edges.map((edge: any) => edge.node);
        const directWithOther = list.filter(
          (conversation: any) =>
            conversation.kind === 'DIRECT' && conversation.members.some((member: any) => member.id === other.id),
        );
        expect(directWithOther.map((conversation: any) => conversation.id)).toEqual([ids[0]]);
        expect(list).toHaveLength(1);
      }
    });
  });

  describe('sendMessage with a clientMessageId', () => {
    it('ten simultaneous sends with one clientMessageId all return one message, and history holds it once', async () => {
      const [alice, bob] = await newUsers(2, 'idem');
      const conversationId = await openDirect(url, alice!, bob!);
      const input = { conversationId, body: 'hello once', clientMessageId: uniqueName('cmid') };

      const results = await Promise.all(Array.from({ length: 10 }, () => data(url, SEND, { input }, alice!.token)));
      const messages = results.map((result) => result.sendMessage);
      expect(new Set(messages.map((message) => message.id)).size).toBe(1);
      for (const message of messages) {
        expect(message).toEqual({
          id: messages[0].id,
          body: 'hello once',
          clientMessageId: input.clientMessageId,
          sender: { id: alice!.id },
        });
      }

      const history = await readHistory(bob!, conversationId);
      expect(history.map((message) => message.id)).toEqual([messages[0].id]);
    });

    it('a later retry with the same clientMessageId returns the original message unchanged, even with another body', async () => {
      const [alice, bob] = await newUsers(2, 'retry');
      const conversationId = await openDirect(url, alice!, bob!);
      const clientMessageId = uniqueName('cmid');
      const first = (
        await data(url, SEND, { input: { conversationId, body: 'original', clientMessageId } }, alice!.token)
      ).sendMessage;
      await send(url, bob!, conversationId, 'a reply in between');

      const retry = (
        await data(url, SEND, { input: { conversationId, body: 'changed on retry', clientMessageId } }, alice!.token)
      ).sendMessage;
      expect(retry).toEqual(first);
      expect(retry.body).toBe('original');

      const history = await readHistory(alice!, conversationId);
      expect(history.map((message) => message.body)).toEqual(['original', 'a reply in between']);
    });

    it('the same clientMessageId from two different senders gives two messages', async () => {
      const [alice, bob] = await newUsers(2, 'twosend');
      const conversationId = await openDirect(url, alice!, bob!);
      const clientMessageId = uniqueName('shared');
      const [fromAlice, fromBob] = await Promise.all([
        send(url, alice!, conversationId, 'from alice', clientMessageId),
        send(url, bob!, conversationId, 'from bob', clientMessageId),
      ]);
      expect(fromAlice.id).not.toBe(fromBob.id);

      const history = await readHistory(alice!, conversationId);
      expect(history).toHaveLength(2);
      expect(
        new Set(history.map((message) => `${message.sender.id} ${message.body} ${message.clientMessageId}`)),
      ).toEqual(new Set([`${alice!.id} from alice ${clientMessageId}`, `${bob!.id} from bob ${clientMessageId}`]));
    });
  });

  describe('markRead', () => {
    it('never moves the read marker backwards', async () => {
      const [reader, writer] = await newUsers(2, 'mark');
      const conversationId = await openDirect(url, reader!, writer!);
      const sent = await sendInOrder(writer!, conversationId, 12);

      expect(await markRead(reader!, conversationId, sent[9]!.id)).toBe(2);
      expect(await markRead(reader!, conversationId, sent[2]!.id)).toBe(2);
      expect(await unreadCount(reader!, conversationId)).toBe(2);
    });

    it('concurrent markRead calls with mixed messages leave the marker at the newest of them', async () => {
      const [reader, writer] = await newUsers(2, 'markmix');
      const conversationId = await openDirect(url, reader!, writer!);
      const sent = await sendInOrder(writer!, conversationId, 20);

      // Every message up to index 15, scrambled: the marker must end at index 15.
      const order = [3, 15, 0, 9, 12, 1, 7, 14, 5, 10, 2, 13, 8, 4, 11, 6];
      const targets = order.map((index) => sent[index]!.id);
      await Promise.all(targets.map((messageId) => markRead(reader!, conversationId, messageId)));

      expect(await unreadCount(reader!, conversationId)).toBe(20 - 16);
    });

    it("unreadCount counts only other members' messages after the marker, excluding deleted ones", async () => {
      const [reader, writer] = await newUsers(2, 'unread');
      const conversationId = await openDirect(url, reader!, writer!);
      const before = await sendInOrder(writer!, conversationId, 3, 'before');
      expect(await unreadCount(reader!, conversationId)).toBe(3);
      await markRead(reader!, conversationId, before[2]!.id);
      expect(await unreadCount(reader!, conversationId)).toBe(0);

      const after = await sendInOrder(writer!, conversationId, 4, 'after');
      await sendInOrder(reader!, conversationId, 2, 'own');
      expect(await unreadCount(reader!, conversationId)).toBe(4);
      expect(await unreadCount(writer!, conversationId)).toBe(2);

      await data(url, DELETE, { messageId: after[1]!.id }, writer!.token);
      await data(url, DELETE, { messageId: before[0]!.id }, writer!.token);
      expect(await unreadCount(reader!, conversationId)).toBe(3);
    });
  });

  describe('many senders in one group', () => {
    it('100 simultaneous sends from five users are each stored exactly once, in id order', async () => {
      const [owner, ...others] = await newUsers(5, 'crowd');
      const members = [owner!, ...others];
      const conversationId = await createGroup(url, owner!, others, 'Crowd');

      const sends = members.flatMap((user, userIndex) =>
        Array.from({ length: 20 }, (_, index) => send(url, user, conversationId, `user ${userIndex} message ${index}`)),
      );
      const sent = await Promise.all(sends);
      expect(new Set(sent.map((message) => message.id)).size).toBe(100);

      // Read in pages of 7 so page boundaries fall everywhere.
      const history = await readHistory(owner!, conversationId, 7);
      const ids = history.map((message) => message.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect([...ids].sort()).toEqual(sent.map((message) => message.id).sort());
      const numericIds = ids.map(numericId);
      expect(numericIds).toEqual([...numericIds].sort((a, b) => a - b));
      const bodyById = new Map(sent.map((message) => [message.id, message.body]));
      for (const message of history) expect(message.body).toBe(bodyById.get(message.id));
    });

    it('simultaneous sends to three conversations, with retries in the same moment, each land once in their own conversation, which shows its latest message', async () => {
      const [owner, ...others] = await newUsers(4, 'wave');
      const conversations = await Promise.all(
        ['One', 'Two', 'Three'].map((title) => createGroup(url, owner!, others, title)),
      );
      const requests = others.flatMap((user, userIndex) =>
        conversations.flatMap((conversationId, conversationIndex) =>
          Array.from({ length: 6 }, (_, index) => {
            // Each send goes out twice at once under one key, as a client retrying a timed-out send would.
            const clientMessageId = `k-${userIndex}-${conversationIndex}-${index % 3}`;
            const input = { conversationId, body: `${clientMessageId} from ${user.username}`, clientMessageId };
            return data(url, SEND, { input }, user.token).then((result) => ({
              conversationId,
              ...(result.sendMessage as HistoryMessage),
            }));
          }),
        ),
      );
      const acknowledged = await Promise.all(requests);
      // 3 users × 3 conversations × 3 keys, each sent twice: every pair answered with one message.
      const idsByKey = new Map<string, Set<string>>();
      for (const message of acknowledged) {
        const key = `${message.sender.id}/${message.clientMessageId}`;
        idsByKey.set(key, (idsByKey.get(key) ?? new Set()).add(message.id));
      }
      expect(idsByKey.size).toBe(27);
      for (const ids of idsByKey.values()) expect(ids.size).toBe(1);

      for (const conversationId of conversations) {
        const history = await readHistory(owner!, conversationId);
        const expected = new Set(
          acknowledged.filter((message) => message.conversationId === conversationId).map((message) => message.id),
        );
        expect(history.map((message) => message.id).sort()).toEqual([...expected].sort());
        const last = (await data(url, LAST_MESSAGE, { id: conversationId }, owner!.token)).conversation.lastMessage;
        expect(last.id).toBe(history.at(-1)!.id);
      }
    });

    it("each sender's messages appear in history in the order that sender sent them", async () => {
      const members = await newUsers(5, 'order');
      const [owner, ...others] = members;
      const conversationId = await createGroup(url, owner!, others, 'Ordered');

      // Senders run in parallel; each waits for one send before the next.
      const sentPerUser = await Promise.all(
        members.map((user) => sendInOrder(user, conversationId, 20, user.username)),
      );

      const history = await readHistory(others[0]!, conversationId, 13);
      expect(history).toHaveLength(100);
      for (const [index, user] of members.entries()) {
        const fromUser = history.filter((message) => message.sender.id === user.id).map((message) => message.id);
        expect(fromUser).toEqual(sentPerUser[index]!.map((message) => message.id));
      }
    });
  });

  describe('addMembers', () => {
    it('simultaneous calls adding the same user all succeed and add them once', async () => {
      const [alice, bob, carol, dave] = await newUsers(4, 'addsame');
      const groupId = await createGroup(url, alice!, [bob!, carol!]);
      // Adding members is for the OWNER and ADMINs (issue #15): bob and carol are made admins.
      for (const admin of [bob!, carol!]) {
        await data(
          url,
          'mutation ($c: ID!, $u: ID!) { setMemberRole(conversationId: $c, userId: $u, role: ADMIN) { id } }',
          { c: groupId, u: admin.id },
          alice!.token,
        );
      }
      const adders = [alice!, bob!, carol!];

      const responses = await Promise.all(
        Array.from({ length: 9 }, (_, index) =>
          gql(url, ADD_MEMBERS, { conversationId: groupId, userIds: [dave!.id] }, adders[index % 3]!.token),
        ),
      );
      expect(responses.map((response) => response.errors)).toEqual(responses.map(() => undefined));
      expect((await memberIds(dave!, groupId)).sort()).toEqual([alice!.id, bob!.id, carol!.id, dave!.id].sort());
    });

    it('simultaneous calls never take a group past 1000 members', async () => {
      const creator = await newUser('cap');
      const [newcomers, existing] = await Promise.all([seedUsers(server, 6), seedUsers(server, 997)]);
      const groupId = (
        await data(
          url,
          'mutation ($input: CreateGroupInput!) { createGroupConversation(input: $input) { id } }',
          { input: { title: 'Nearly full', memberIds: existing } },
          creator.token,
        )
      ).createGroupConversation.id;
      expect(await memberIds(creator, groupId)).toHaveLength(998);

      // Room for two more: of six simultaneous single additions, two fit and four must be refused.
      const responses = await Promise.all(
        newcomers.map((userId) => gql(url, ADD_MEMBERS, { conversationId: groupId, userIds: [userId] }, creator.token)),
      );
      const outcomes = responses.map((response) => {
        const error = response.errors?.[0];
        return error ? `${error.extensions?.code} ${error.extensions?.field}` : 'OK';
      });
      expect(outcomes.sort()).toEqual([...Array(4).fill('BAD_USER_INPUT userIds'), 'OK', 'OK']);
      expect(await memberIds(creator, groupId)).toHaveLength(1000);
    });
  });

  describe('racing changes to one message', () => {
    it('a message deleted while it is being edited and reacted to ends up deleted, with no body and no reactions', async () => {
      const [sender, reader] = await newUsers(2, 'race');
      const conversationId = await openDirect(url, sender!, reader!);
      const sent = await sendInOrder(sender!, conversationId, 10, 'soon gone');

      // Edits and reactions may land before the deletion (and succeed) or after it (NOT_FOUND).
      await Promise.all(
        sent.flatMap((message) => [
          data(url, DELETE, { messageId: message.id }, sender!.token),
          gql(url, EDIT, { input: { messageId: message.id, body: 'edited while deleting' } }, sender!.token),
          gql(url, ADD_REACTION, { messageId: message.id, emoji: '👍' }, reader!.token),
        ]),
      );

      const history = (await data(url, HISTORY_STATE, { conversationId }, reader!.token)).messages.edges.map(
        (edge: any) => edge.node,
      );
      expect(history).toHaveLength(10);
      for (const message of history) {
        expect(message).toEqual({ id: message.id, body: null, deletedAt: expect.any(String), reactions: [] });
      }
    });
  });

  /**
   * Holds the event-log lock through the app's own data source (a row lock on
   * MySQL, the transaction queue on SQLite), so that sends and the leave pile
   * up behind it in a known order, then lets them go.
   */
  async function holdEventLog() {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let held!: () => void;
    const holding = new Promise<void>((resolve) => (held = resolve));
    const done = transaction(server.app.services.dataSource, async (manager) => {
      await claimEventPosition(manager, 0);
      held();
      await released;
    });
    await holding;
    return async () => {
      release();
      await done;
    };
  }

  /** MySQL: statements of this test's database waiting for the event-log lock (the holder's has finished). */
  async function lockWaits(): Promise<number> {
    const [row]: { waiting: number | string }[] = await server.app.services.dataSource.query(
      `SELECT COUNT(*) AS waiting FROM information_schema.PROCESSLIST
       WHERE DB = DATABASE() AND INFO LIKE 'UPDATE event_sequence %'`,
    );
    return Number(row!.waiting);
  }

  /**
   * Waits until `count` writes wait behind holdEventLog(): on MySQL, statements
   * waiting for the lock; on SQLite (a queue, invisible), until each request
   * has run the query `checked` matches, then until pending callbacks ran.
   */
  async function untilWaiting(count: number, checked: RegExp): Promise<void> {
    if (database === 'mysql') {
      await eventually(async () => (await lockWaits()) >= count, `${count} writes waiting for the lock`);
      return;
    }
    await eventually(async () => server.queries.filter((sql) => checked.test(sql)).length >= count, `${count} checks`);
    await settle();
  }

  /** Waits until `count` sends wait for their group commit (they passed every check before the write). */
  async function untilSendsWaiting(count: number): Promise<void> {
    const dataSource = server.app.services.dataSource;
    await eventually(async () => sendsAwaitingCommit(dataSource) >= count, `${count} sends waiting for the write`);
    await settle();
  }

  describe('sends racing leaveConversation', () => {
    it('every send either fails NOT_FOUND or is stored before the leave; none is stored after it', async () => {
      const [alice, bob] = await newUsers(2, 'leaver');
      const groupId = await createGroup(url, alice!, [bob!], 'Left behind');
      const conversationId = numericId(groupId);
      const bobId = numericId(bob!.id);
      const manager = server.app.services.dataSource.manager;
      const bobsMessages = async () =>
        (await manager.findBy(Message, { conversationId, senderId: bobId }))
          .map((message) => message.id)
          .sort(byNumber);
      const isMember = async () => (await manager.countBy(Membership, { conversationId, userId: bobId })) > 0;

      const release = await holdEventLog();
      let leave!: Promise<GraphQLResponse>;
      let atLeave!: Promise<number[]>;
      let sends!: Promise<GraphQLResponse>[];
      try {
        server.resetQueries();
        sends = Array.from({ length: 20 }, (_, index) =>
          gql(url, SEND, { input: { conversationId: groupId, body: `racing ${index}` } }, bob!.token),
        );
        // Every send passed its membership check and waits for the write (on MySQL, for the event-log lock).
        await untilSendsWaiting(sends.length);
        if (database === 'mysql')
          await eventually(async () => (await lockWaits()) >= 1, 'the write waiting for the lock');

        // The moment the leave is visible, bob's messages there must be final.
        atLeave = eventually(async () => !(await isMember()), 'the leave').then(bobsMessages);
        server.resetQueries();
        leave = gql(url, 'mutation ($id: ID!) { leaveConversation(conversationId: $id) }', { id: groupId }, bob!.token);
        if (database === 'mysql') {
          await Promise.race([
            atLeave,
            eventually(async () => (await lockWaits()) >= 2, 'the leave waiting for the lock'),
          ]);
        } else {
          await eventually(
            async () => server.queries.some((sql) => /FROM "conversations"/.test(sql)),
            "the leave's check",
          );
          await settle();
        }
      } finally {
        await release();
      }

      expect((await leave).data).toEqual({ leaveConversation: true });
      const responses = await Promise.all(sends);
      const stored = await bobsMessages();
      expect(stored).toEqual(await atLeave);
      const acknowledged = responses
        .filter((response) => !response.errors)
        .map((response) => numericId(response.data.sendMessage.id))
        .sort(byNumber);
      expect(acknowledged).toEqual(stored);
      const refused = responses.filter((response) => response.errors);
      for (const response of refused) expect(errorCode(response)).toBe('NOT_FOUND');
      // The race happened: the sends already waiting when the leave came were stored (before it).
      expect(stored.length).toBeGreaterThanOrEqual(1);
      // What alice sees agrees: bob's acknowledged messages, then only what came after.
      const history = await readHistory(alice!, groupId);
      expect(
        history.filter((message) => message.sender.id === bob!.id).map((message) => numericId(message.id)),
      ).toEqual(stored);
    });

    it('a batch that finds a sender gone once it holds the lock stores the others, once, and refuses the leaver', async () => {
      const [alice, bob] = await newUsers(2, 'gone');
      const groupId = await createGroup(url, alice!, [bob!], 'Gone meanwhile');
      const conversationId = numericId(groupId);
      const manager = server.app.services.dataSource.manager;

      const release = await holdEventLog();
      let leave!: Promise<GraphQLResponse>;
      let sends!: { sender: TestUser; response: Promise<GraphQLResponse> }[];
      try {
        // The leave waits for the lock first, so it commits before the sends' batch reads the memberships.
        server.resetQueries();
        leave = gql(url, 'mutation ($id: ID!) { leaveConversation(conversationId: $id) }', { id: groupId }, bob!.token);
        await untilWaiting(1, /FROM "conversations"/);
        // Bob is still a member when his sends are checked; they wait for the write with alice's.
        sends = [alice, bob, alice, bob, alice, bob].map((sender, index) => ({
          sender: sender!,
          response: gql(url, SEND, { input: { conversationId: groupId, body: `meanwhile ${index}` } }, sender!.token),
        }));
        await untilSendsWaiting(sends.length);
        if (database === 'mysql')
          await eventually(async () => (await lockWaits()) >= 2, "the sends' batch waiting for the lock");
      } finally {
        await release();
      }

      expect((await leave).data).toEqual({ leaveConversation: true });
      const answered = await Promise.all(
        sends.map(async ({ sender, response }) => ({ sender, response: await response })),
      );
      for (const { sender, response } of answered) {
        if (sender === bob) expect(errorCode(response)).toBe('NOT_FOUND');
        else expect(response.errors).toBeUndefined();
      }
      const acknowledged = answered
        .filter(({ sender }) => sender === alice)
        .map(({ response }) => numericId(response.data.sendMessage.id))
        .sort(byNumber);
      const stored = (await manager.findBy(Message, { conversationId })).map((message) => message.id).sort(byNumber);
      expect(stored).toEqual(acknowledged);
      // Each stored message has one CREATED event, and the conversation's activity is the last of them.
      const events = await manager.find(MessageEvent, { where: { conversationId }, order: { position: 'ASC' } });
      expect(events.map((event) => [event.kind, event.messageId])).toEqual(stored.map((id) => ['CREATED', id]));
      const conversation = await manager.findOneByOrFail(Conversation, { id: conversationId });
      expect([conversation.activityPosition, conversation.lastMessageId]).toEqual([
        events.at(-1)!.position,
        stored.at(-1),
      ]);
      const history = await readHistory(alice!, groupId);
      expect(history.map((message) => numericId(message.id))).toEqual(stored);
    });
  });

  describe('identical concurrent reaction changes', () => {
    const REACTION = (field: string) =>
      `mutation ($messageId: ID!) { ${field}(messageId: $messageId, emoji: "👍") { reactions { emoji count } } }`;
    const EVENTS = `subscription ($id: ID!, $after: String) {
      messageEvents(conversationId: $id, after: $after) { kind message { body reactions { emoji count } } }
    }`;

    it('identical concurrent addReaction calls log one REACTIONS_CHANGED event, and identical removeReaction calls one more', async () => {
      const [alice, bob] = await newUsers(2, 'react');
      const conversationId = await openDirect(url, alice!, bob!);
      const message = await send(url, alice!, conversationId, 'react to me');
      const { eventCursor } = (
        await data(
          url,
          'query ($id: ID!) { messages(conversationId: $id, last: 1) { eventCursor } }',
          { id: conversationId },
          alice!.token,
        )
      ).messages;
      const client = connect(url, alice!.token);
      const stream = subscribe(client, EVENTS, { id: conversationId, after: eventCursor });

      for (const [field, marker] of [
        ['addReaction', 'after the adds'],
        ['removeReaction', 'after the removals'],
      ] as const) {
        // All calls get past the check before the lock before any goes further (8: the pool has 10 connections).
        const release = await holdEventLog();
        let calls!: Promise<GraphQLResponse>[];
        try {
          server.resetQueries();
          calls = Array.from({ length: 8 }, () => gql(url, REACTION(field), { messageId: message.id }, bob!.token));
          await untilWaiting(calls.length, /FROM "messages"/);
        } finally {
          await release();
        }
        const responses = await Promise.all(calls);
        expect(responses.map((response) => response.errors)).toEqual(responses.map(() => undefined));
        // A send after them all: once it arrives, every event of the calls has arrived before it.
        await send(url, bob!, conversationId, marker);
        await stream.waitUntil((event) => event.messageEvents.message.body === marker);
      }

      expect(stream.events.map((event) => event.messageEvents)).toEqual([
        { kind: 'REACTIONS_CHANGED', message: { body: 'react to me', reactions: [{ emoji: '👍', count: 1 }] } },
        { kind: 'CREATED', message: { body: 'after the adds', reactions: [] } },
        { kind: 'REACTIONS_CHANGED', message: { body: 'react to me', reactions: [] } },
        { kind: 'CREATED', message: { body: 'after the removals', reactions: [] } },
      ]);
      await client.dispose();
    });
  });
});
