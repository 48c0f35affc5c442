// The event-log workers (push, webhooks, the assistant) read only the new
// messages of the conversations they act on (db/eventLog.ts,
// readWorkerEvents), and move their position past the rest of the log
// unread: what they are given, and how far they may move, on both databases.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentEventPosition, readEventsAfter, readWorkerEvents } from '../src/db/eventLog.js';
import { storeMessage } from '../src/db/messages.js';
import { createGroup, data, numericId, signUp, type TestUser, uniqueName } from './helpers/client.js';
import { SET_UPS, startServer, type TestServer } from './helpers/server.js';

const EDIT = 'mutation ($input: EditMessageInput!) { editMessage(input: $input) { id } }';

describe.each(SET_UPS)('the event-log workers read on $name', ({ database, options }) => {
  let server: TestServer;
  let users: TestUser[];
  /** Conversation ids: `watched` has the member the workers' filter looks for, `other` has not. */
  let watched: number;
  let other: number;
  /** The filter, as the assistant's: the conversations of one member. */
  let conversationsOfWatcher: { sql: string; params: unknown[] };

  beforeAll(async () => {
    server = await startServer(database, options);
    users = await Promise.all(Array.from({ length: 3 }, () => signUp(server.graphqlUrl, uniqueName('we'))));
    watched = numericId(await createGroup(server.graphqlUrl, users[0]!, [users[1]!, users[2]!], 'watched'));
    other = numericId(await createGroup(server.graphqlUrl, users[0]!, [users[1]!], 'other'));
    conversationsOfWatcher = {
      sql: 'SELECT conversationId FROM memberships WHERE userId = ?',
      params: [numericId(users[2]!.id)],
    };
  });
  afterAll(() => server?.stop());

  /** Stores one message per conversation given, in one batch (handed over in one turn). */
  const store = (conversationIds: number[]) =>
    Promise.all(
      conversationIds.map((conversationId, index) =>
        storeMessage(server.app.services.dataSource, {
          conversationId,
          senderId: numericId(users[0]!.id),
          body: `message ${index}`,
          clientMessageId: null,
        }),
      ),
    ).then((changes) => changes.map((change) => change!.message.id));

  it('gives the new messages of its conversations only, and reads the log through its end', async () => {
    const dataSource = server.app.services.dataSource;
    const before = await currentEventPosition(dataSource);
    const ids = await store([watched, other, watched, other, watched]);
    // An edit is an event too, of the watched conversation, but no new message.
    await data(
      server.graphqlUrl,
      EDIT,
      { input: { messageId: encodeGlobalID('Message', ids[0]!), body: 'edited' } },
      users[0]!.token,
    );
    const end = await currentEventPosition(dataSource);
    expect(end).toBe(before + 6);

    const read = await readWorkerEvents(dataSource, before, 100, conversationsOfWatcher);
    expect(read.events.map((event) => [event.kind, event.conversationId, event.messageId])).toEqual([
      ['CREATED', watched, ids[0]],
      ['CREATED', watched, ids[2]],
      ['CREATED', watched, ids[4]],
    ]);
    expect(read.through).toBe(end);
    expect(read.nextCreatedAt).toBeNull();
    // The same entities as the whole log's read.
    const all = await readEventsAfter(dataSource, before, 100);
    expect(read.events).toEqual(all.filter((event) => event.kind === 'CREATED' && event.conversationId === watched));
  });

  it('stops at its limit, at the last message given, and goes on from there', async () => {
    const dataSource = server.app.services.dataSource;
    const before = await currentEventPosition(dataSource);
    const ids = await store([watched, other, watched, other, watched, other]);
    const first = await readWorkerEvents(dataSource, before, 2, conversationsOfWatcher);
    expect(first.events.map((event) => event.messageId)).toEqual([ids[0], ids[2]]);
    expect(first.through).toBe(first.events[1]!.position);
    const rest = await readWorkerEvents(dataSource, first.through, 2, conversationsOfWatcher);
    expect(rest.events.map((event) => event.messageId)).toEqual([ids[4]]);
    expect(rest.through).toBe(before + 6);
  });

  it('with a time, stops before the first message created after it in any conversation, and names its time', async () => {
    const dataSource = server.app.services.dataSource;
    const before = await currentEventPosition(dataSource);
    const early = await store([watched, watched]);
    const earlyEvents = await readEventsAfter(dataSource, before, 100);
    const earlyAt = earlyEvents.at(-1)!.createdAt;
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Later: first in a conversation the filter passes over, then in the watched one.
    await store([other]);
    await store([watched]);
    const late = (await readEventsAfter(dataSource, before + 2, 100))[0]!;
    expect(late.conversationId).toBe(other);

    const read = await readWorkerEvents(dataSource, before, 100, conversationsOfWatcher, earlyAt);
    expect(read.events.map((event) => event.messageId)).toEqual(early);
    expect(read.through).toBe(before + 2);
    expect(read.nextCreatedAt).toEqual(late.createdAt);

    const none = await readWorkerEvents(
      dataSource,
      before,
      100,
      conversationsOfWatcher,
      new Date(earlyAt.getTime() - 1),
    );
    expect(none).toEqual({ events: [], through: before, nextCreatedAt: earlyEvents[0]!.createdAt });
  });

  it('with a time and a limit, stops at whichever comes first', async () => {
    const dataSource = server.app.services.dataSource;
    const before = await currentEventPosition(dataSource);
    const early = await store([watched, watched, watched]);
    const dueUpTo = (await readEventsAfter(dataSource, before, 100)).at(-1)!.createdAt;
    await new Promise((resolve) => setTimeout(resolve, 20));
    const [late] = await store([watched]);

    // The limit first: the message not yet due lies beyond what this read covers.
    const first = await readWorkerEvents(dataSource, before, 2, conversationsOfWatcher, dueUpTo);
    expect(first.events.map((event) => event.messageId)).toEqual(early.slice(0, 2));
    expect(first).toMatchObject({ through: before + 2, nextCreatedAt: null });
    // Then the time: the third, and a stop before the late one.
    const rest = await readWorkerEvents(dataSource, first.through, 2, conversationsOfWatcher, dueUpTo);
    expect(rest.events.map((event) => event.messageId)).toEqual([early[2]]);
    expect(rest.through).toBe(before + 3);
    expect(rest.nextCreatedAt).not.toBeNull();
    // Once it is due, it is read.
    const after = await readWorkerEvents(dataSource, rest.through, 2, conversationsOfWatcher, new Date());
    expect(after.events.map((event) => event.messageId)).toEqual([late]);
    expect(after).toMatchObject({ through: before + 4, nextCreatedAt: null });
  });
});
