// The group-commit send path writes with its own statements (src/db/prepared.ts)
// rather than through TypeORM: what it stores must read back exactly as the
// send returned it, on both databases, for sends committed together. The
// feed's reads are prepared too, and must read what TypeORM reads.
import { In, Like } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conversation, Message, MessageEvent, Reaction, User } from '../src/db/entities/index.js';
import { currentEventPosition, readEventsAfter } from '../src/db/eventLog.js';
import { inList, paddedToPowerOfTwo } from '../src/db/prepared.js';
import { storeMessage } from '../src/db/messages.js';
import { hydrateEvents } from '../src/realtime/messageFeed.js';
import { createGroup, data, numericId, signUp, type TestUser, uniqueName } from './helpers/client.js';
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
              // Escaped by mysql2 on the way in (prepared.ts executeVaryingText): quotes, backslashes, placeholders.
              body: `together ${index} ✓ 'quoted' "double" \\' \\\\ ? ?? %s -- ; \n😀`,
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

  it('in one batch across conversations, each event names its own message and each conversation its latest', async () => {
    const dataSource = server.app.services.dataSource;
    const others = await Promise.all(
      ['send path 2', 'send path 3'].map((title) => createGroup(server.graphqlUrl, users[1]!, [users[2]!], title)),
    );
    const conversationIds = [group, ...others].map(numericId);
    const before = await currentEventPosition(dataSource);
    // Handed over in one turn: the group commit stores them in one transaction.
    const sends = Array.from({ length: 12 }, (_, index) => ({
      conversationId: conversationIds[index % 3]!,
      senderId: numericId(users[1 + (index % 2)]!.id),
      body: `batch ${index}`,
      clientMessageId: null,
    }));
    const stored = await Promise.all(sends.map((send) => storeMessage(dataSource, send)));
    const events = await readEventsAfter(dataSource, before, 100);
    expect(new Set(events.map((event) => event.createdAt.getTime())).size).toBe(1);
    expect(events.map((event) => [event.position, event.conversationId, event.messageId])).toEqual(
      stored.map((change, index) => [before + 1 + index, sends[index]!.conversationId, change!.message.id]),
    );
    const messages = await dataSource.manager.findBy(Message, { id: In(events.map((event) => event.messageId)) });
    expect(messages.map((message) => [message.id, message.conversationId, message.body]).sort()).toEqual(
      stored.map((change, index) => [change!.message.id, sends[index]!.conversationId, `batch ${index}`]).sort(),
    );
    for (const conversationId of conversationIds) {
      const latest = events.filter((event) => event.conversationId === conversationId).at(-1)!;
      const conversation = await dataSource.manager.findOneByOrFail(Conversation, { id: conversationId });
      expect([conversation.lastMessageId, conversation.activityPosition]).toEqual([latest.messageId, latest.position]);
    }
  });

  it('sends handed over in several turns, stored by batches that follow one another, are each stored once, ids in log order', async () => {
    const dataSource = server.app.services.dataSource;
    const before = await currentEventPosition(dataSource);
    const pending = [];
    for (let turn = 0; turn < 5; turn++) {
      for (let index = 0; index < 10; index++) {
        const body = `turn ${turn} send ${index}`;
        const send = {
          conversationId: numericId(group),
          senderId: numericId(users[0]!.id),
          body,
          clientMessageId: null,
        };
        pending.push(storeMessage(dataSource, send));
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    const stored = await Promise.all(pending);
    const events = await readEventsAfter(dataSource, before, 100);
    expect(events).toHaveLength(50);
    const ids = events.map((event) => event.messageId);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids)).toEqual(new Set(stored.map((change) => change!.message.id)));
    expect(new Set(events.map((event) => event.createdAt.getTime())).size).toBeGreaterThan(1);
  });
});

// A group commit's batches come in every size, and the statements whose
// text grows with the batch are not prepared on MySQL (prepared.ts
// executeVaryingText) or are padded to a power of two (paddedToPowerOfTwo):
// preparing a new text costs a round trip under the event-log lock.
describe('batches of new sizes on mysql', () => {
  let server: TestServer;
  let users: TestUser[];
  let groups: number[];
  beforeAll(async () => {
    server = await startServer('mysql');
    users = await Promise.all(Array.from({ length: 2 }, () => signUp(server.graphqlUrl, uniqueName('sz'))));
    groups = await Promise.all(
      Array.from({ length: 16 }, (_, index) =>
        createGroup(server.graphqlUrl, users[0]!, [users[1]!], `sizes ${index}`).then(numericId),
      ),
    );
  });
  afterAll(() => server?.stop());

  /** Statements prepared so far, over every connection of the pool (each counts its own). */
  const preparedSoFar = async () => {
    const dataSource = server.app.services.dataSource;
    const runners = Array.from({ length: Number(dataSource.options.poolSize) }, () => dataSource.createQueryRunner());
    try {
      await Promise.all(runners.map((runner) => runner.connect()));
      const counts: { Value: string }[][] = await Promise.all(
        runners.map((runner) => runner.query("SHOW SESSION STATUS LIKE 'Com_stmt_prepare'")),
      );
      return counts.reduce((sum, [row]) => sum + Number(row!.Value), 0);
    } finally {
      await Promise.all(runners.map((runner) => runner.release()));
    }
  };

  /** One batch of `size` sends (handed over in one turn), over up to 16 conversations. */
  const storeBatch = (size: number) =>
    Promise.all(
      Array.from({ length: size }, (_, index) =>
        storeMessage(server.app.services.dataSource, {
          conversationId: groups[index % Math.min(size, groups.length)]!,
          senderId: numericId(users[index % 2]!.id),
          body: `size ${size} send ${index}`,
          clientMessageId: null,
        }),
      ),
    );

  it('prepare fewer statements than there are sizes, and store every send', async () => {
    for (let size = 1; size <= 4; size++) await storeBatch(size); // the statements of fixed text, prepared once
    const before = await preparedSoFar();
    server.resetQueries();
    let stored = 0;
    for (let size = 5; size <= 68; size++) {
      const changes = await storeBatch(size);
      expect(changes.every((change) => change?.event)).toBe(true);
      stored += changes.length;
    }
    // One prepared text per size would be 64 sizes x 2 inserts at least.
    expect((await preparedSoFar()) - before).toBeLessThan(32);
    // 5 to 16 senders and conversations per batch: padded to 8 or 16, two texts each.
    const texts = (start: string) => new Set(server.queries.filter((sql) => sql.startsWith(start)));
    expect(texts('SELECT conversationId, userId FROM memberships WHERE (').size).toBe(2);
    expect(texts('UPDATE conversations SET activityPosition').size).toBe(2);
    const count = await server.app.services.dataSource.manager.countBy(Message, { body: Like('size % send %') });
    expect(count).toBe(stored + 10);
  });
});

// The feed reads each batch of events with prepared statements too
// (selectEntities): its entities must equal TypeORM's own reads of the same
// rows, value for value and type for type, or a subscriber would see a
// message differently from a history page.
describe.each(SET_UPS)('the feed reads entities as TypeORM does on $name', ({ database, options }) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(database, options);
  });
  afterAll(() => server?.stop());

  it('messages (edited, deleted, replies, keys), conversations, reactions, senders and events', async () => {
    const [alice, bob] = await Promise.all([
      signUp(server.graphqlUrl, uniqueName('fe')),
      signUp(server.graphqlUrl, uniqueName('fe')),
    ]);
    const group = await createGroup(server.graphqlUrl, alice!, [bob!], 'feed entities ✓');
    const first = (
      await data(server.graphqlUrl, SEND, { input: { conversationId: group, body: 'first' } }, alice!.token)
    ).sendMessage;
    const second = (
      await data(
        server.graphqlUrl,
        `mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id } }`,
        { input: { conversationId: group, body: 'a reply', clientMessageId: 'k1', replyToId: first.id } },
        bob!.token,
      )
    ).sendMessage;
    await data(
      server.graphqlUrl,
      'mutation ($id: ID!) { addReaction(messageId: $id, emoji: "👍") { id } }',
      { id: first.id },
      bob!.token,
    );
    await data(
      server.graphqlUrl,
      'mutation ($id: ID!) { addReaction(messageId: $id, emoji: "🎉") { id } }',
      { id: first.id },
      alice!.token,
    );
    await data(
      server.graphqlUrl,
      'mutation ($i: EditMessageInput!) { editMessage(input: $i) { id } }',
      { i: { messageId: first.id, body: 'edited' } },
      alice!.token,
    );
    await data(
      server.graphqlUrl,
      'mutation ($id: ID!) { deleteMessage(messageId: $id) { id } }',
      { id: second.id },
      bob!.token,
    );

    const dataSource = server.app.services.dataSource;
    const manager = dataSource.manager;
    const events = await readEventsAfter(dataSource, 0, 1_000);
    const typeormEvents = await manager.find(MessageEvent, { order: { position: 'ASC' } });
    expect(events.length).toBeGreaterThanOrEqual(6);
    expect(events).toEqual(typeormEvents);
    expect(events.every((event) => event instanceof MessageEvent && event.createdAt instanceof Date)).toBe(true);

    const [delivered] = await hydrateEvents(dataSource, events.filter((event) => event.kind === 'EDITED').slice(-1));
    const messageIds = [...new Set(events.map((event) => event.messageId))];
    const messages = await manager.find(Message, { where: { id: In(messageIds) }, order: { id: 'ASC' } });
    const all = await hydrateEvents(dataSource, events);
    const byId = <T extends { id: number }>(rows: T[]) => [...rows].sort((a, b) => a.id - b.id);
    expect(byId([...new Map(all.map((event) => [event.message.id, event.message])).values()])).toEqual(messages);
    expect(messages.some((message) => message.deletedAt instanceof Date && message.body === null)).toBe(true);
    expect(messages.some((message) => message.editedAt instanceof Date && message.replyToId === null)).toBe(true);
    expect(messages.some((message) => message.replyToId !== null && message.clientMessageId === 'k1')).toBe(true);
    expect(delivered!.conversation).toEqual(await manager.findOneBy(Conversation, { id: delivered!.conversationId }));
    expect(delivered!.sender).toEqual(await manager.findOneBy(User, { id: delivered!.message.senderId }));
    expect(delivered!.reactions).toEqual(
      await manager.find(Reaction, { where: { messageId: delivered!.message.id }, order: { createdAt: 'ASC' } }),
    );
    expect(delivered!.reactions.map((reaction) => reaction.emoji).sort()).toEqual(['🎉', '👍']);
    expect(delivered!.sender.isBot).toBe(false);
  });
});

describe('paddedToPowerOfTwo', () => {
  it('repeats the last value up to the next power of two', () => {
    expect(paddedToPowerOfTwo([])).toEqual([]);
    expect(paddedToPowerOfTwo([4])).toEqual([4]);
    expect(paddedToPowerOfTwo([1, 2, 3])).toEqual([1, 2, 3, 3]);
    expect(paddedToPowerOfTwo([1, 2, 3, 4, 5])).toEqual([1, 2, 3, 4, 5, 5, 5, 5]);
  });
});

describe('inList', () => {
  it('pads an IN list to a power of two with its last value', () => {
    expect(inList([])).toEqual({ placeholders: 'NULL', params: [] });
    expect(inList([7])).toEqual({ placeholders: '?', params: [7] });
    expect(inList([1, 2, 3])).toEqual({ placeholders: '?, ?, ?, ?', params: [1, 2, 3, 3] });
    expect(inList(Array.from({ length: 1_025 }, (_, index) => index)).params).toHaveLength(2_048);
  });
});

// Every subscription start and page reads the log's position; a crowd of them
// shares one read per turn of the event loop, never one that began before the call.
describe.each(SET_UPS)('the current event position on $name', ({ database, options }) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(database, options);
  });
  afterAll(() => server?.stop());

  it('is read once for the calls of one turn, and afresh for a call made after that read began', async () => {
    const [alice, bob] = await Promise.all([
      signUp(server.graphqlUrl, uniqueName('cp')),
      signUp(server.graphqlUrl, uniqueName('cp')),
    ]);
    const group = await createGroup(server.graphqlUrl, alice!, [bob!], 'positions');
    const dataSource = server.app.services.dataSource;
    const positionReads = () => server.queries.filter((sql) => /FROM event_sequence/.test(sql)).length;

    server.resetQueries();
    const together = await Promise.all(Array.from({ length: 50 }, () => currentEventPosition(dataSource)));
    expect(positionReads()).toBe(1);
    expect(new Set(together).size).toBe(1);

    // A call made once the shared read has begun waits for a read of its own, which sees what committed since.
    const first = currentEventPosition(dataSource);
    await new Promise((resolve) => setImmediate(resolve)); // the shared read begins
    await data(
      server.graphqlUrl,
      SEND,
      { input: { conversationId: group, body: 'after the first read' } },
      alice!.token,
    );
    const later = await currentEventPosition(dataSource);
    expect(await first).toBe(together[0]);
    expect(later).toBe(together[0]! + 1);
    expect(positionReads()).toBe(3);
  });
});
