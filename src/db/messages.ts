import DataLoader from 'dataloader';
import type { DataSource, EntityManager } from 'typeorm';
import { type GenerationState, Message, MessageEvent, Reaction } from './entities/index.js';
import { claimAttachments } from './attachments.js';
import { claimEventPosition, claimPositions, insertMessageEvent } from './eventLog.js';
import { forgetMentions, recordMentions, replaceMentions } from './mentions.js';
import { execute, executeVaryingText, paddedToPowerOfTwo } from './prepared.js';
import { isUniqueViolation, readCommitted, transaction } from './transaction.js';

export type MessageChange = { message: Message; event: MessageEvent };

export type NewMessage = {
  conversationId: number;
  senderId: number;
  body: string | null;
  clientMessageId: string | null;
  /** An earlier message of the same conversation (the caller checked it). */
  replyToId?: number | null;
  /** Uploads the message claims in its transaction (db/attachments.ts). */
  attachmentIds?: readonly number[];
  /** An assistant's reply starts THINKING (assistant/); null for everything else. */
  generation?: GenerationState | null;
};
/**
 * The stored message; event is null when a retry returned an earlier one.
 * Null when the sender is not a member of the conversation when the write
 * commits (a send that raced leaveConversation): nothing was stored.
 */
export type StoredMessage = MessageChange | { message: Message; event: null } | null;

/** Most sends stored in one transaction. */
const MAX_GROUP_COMMIT = 200;

/** Per database: the group-commit batcher, and how many sends it holds (waiting or being written). */
type Writer = { batcher: DataLoader<NewMessage, StoredMessage>; waiting: number };
const writers = new WeakMap<DataSource, Writer>();

/**
 * Stores a message and its CREATED event; resolves once they are committed.
 * With a clientMessageId this sender already used in this conversation,
 * returns the first message and stores nothing. The sender's membership is
 * checked again inside the write transaction, under the event-log lock that
 * removeMember (db/conversations.ts) takes too: once a leave has returned, no
 * message of the leaver commits after it.
 *
 * Group commit: every message takes the event-log lock (db/eventLog.ts), so
 * one transaction per message caps sends at one lock round per message.
 * Instead, sends that arrive while a write is in flight wait for it and are
 * then stored together, in one transaction and a few statements for all of
 * them. A send that finds nothing in flight is written at once. DataLoader
 * does the collecting (cache off); `batchScheduleFn` holds the next batch
 * until the one in flight is done, or, on MySQL, until only its COMMIT is
 * left: the next batch's transaction then starts and asks for the lock while
 * that commit travels, and runs the moment it is released, instead of a
 * START TRANSACTION and a lock round trip after it (answersTogether). At
 * most two batches are in flight, and the second cannot pass the first.
 */
export function storeMessage(dataSource: DataSource, send: NewMessage): Promise<StoredMessage> {
  let writer = writers.get(dataSource);
  if (!writer) {
    let nextMayStart: Promise<unknown> = Promise.resolve();
    const batcher = new DataLoader<NewMessage, StoredMessage>(
      (sends) => {
        let onlyCommitLeft!: () => void;
        nextMayStart = new Promise<void>((resolve) => (onlyCommitLeft = resolve));
        const written = storeBatch(dataSource, sends, onlyCommitLeft);
        void written.finally(onlyCommitLeft);
        return written;
      },
      {
        cache: false,
        maxBatchSize: MAX_GROUP_COMMIT,
        batchScheduleFn: (dispatch) => void nextMayStart.then(() => setImmediate(dispatch)),
      },
    );
    writers.set(dataSource, (writer = { batcher, waiting: 0 }));
  }
  const held = writer;
  held.waiting++;
  return held.batcher.load(send).finally(() => held.waiting--);
}

/** Sends handed to storeMessage and not yet committed (or failed): the group commit's queue (a metric). */
export function sendsAwaitingCommit(dataSource: DataSource): number {
  return writers.get(dataSource)?.waiting ?? 0;
}

/**
 * Never rejects: if the batch fails, each send is stored alone, so one bad
 * send fails only itself. `onlyCommitLeft` is called, on MySQL, once the
 * batch's transaction has written everything (a failure after that, of the
 * COMMIT itself, is the one way a later batch can commit first).
 */
async function storeBatch(
  dataSource: DataSource,
  sends: readonly NewMessage[],
  onlyCommitLeft: () => void,
): Promise<(StoredMessage | Error)[]> {
  try {
    return await storeTogether(dataSource, sends, onlyCommitLeft);
  } catch {
    return Promise.all(sends.map((send) => storeAlone(dataSource, send).catch((error: Error) => error)));
  }
}

/** A retry that raced another instance's fails on the unique key, and returns the winner's message. */
async function storeAlone(dataSource: DataSource, send: NewMessage): Promise<StoredMessage> {
  try {
    const [stored = null] = await storeTogether(dataSource, [send]);
    return stored;
  } catch (error) {
    const winner =
      isUniqueViolation(error) && send.clientMessageId !== null
        ? await readCommitted(dataSource, (manager) =>
            manager.findOneBy(Message, {
              senderId: send.senderId,
              conversationId: send.conversationId,
              clientMessageId: send.clientMessageId!,
            }),
          )
        : null;
    if (!winner) throw error;
    return { message: winner, event: null };
  }
}

/** Compared as the database compares them: both drivers store a lone surrogate as U+FFFD. */
const idempotencyKey = (send: { senderId: number; conversationId: number; clientMessageId: string | null }) =>
  send.clientMessageId === null
    ? null
    : `${send.senderId}:${send.conversationId}:${send.clientMessageId.toWellFormed()}`;

/**
 * One transaction for all `sends` that are not retries. Retries are found
 * before it; a concurrent retry on another instance that slips in between
 * fails the insert on the unique key (senderId, conversationId,
 * clientMessageId), and the send, stored alone then, finds the winner. Sends
 * whose sender is no longer a member once the lock is held store nothing (null).
 */
async function storeTogether(
  dataSource: DataSource,
  sends: readonly NewMessage[],
  onlyCommitLeft: () => void = () => undefined,
): Promise<StoredMessage[]> {
  const earlier = await findEarlierMessages(dataSource, sends);
  const results: StoredMessage[] = [];
  /** Per idempotency key, the send of this batch that stores it. */
  const firstOfKey = new Map<string, number>();
  const fresh: number[] = [];
  sends.forEach((send, index) => {
    const key = idempotencyKey(send);
    if (key !== null && (earlier.has(key) || firstOfKey.has(key))) return;
    if (key !== null) firstOfKey.set(key, index);
    fresh.push(index);
  });
  /** Sends refused because the sender had left by the time the lock was held. */
  const refused = new Set<number>();
  if (fresh.length > 0) {
    await transaction(dataSource, async (manager) => {
      refused.clear(); // the transaction may be run again after a deadlock
      // Sent together (see answersTogether): the membership read runs after the lock is held,
      // so a leave that committed before it is seen, and none can commit until this does.
      const [lastPosition, members] = await Promise.all([
        claimPositions(manager, fresh.length),
        currentMembers(
          manager,
          fresh.map((index) => sends[index]!),
        ),
      ]);
      const stored = fresh.filter((index) => {
        const member = members.has(`${sends[index]!.conversationId}:${sends[index]!.senderId}`);
        if (!member) refused.add(index);
        return member;
      });
      if (stored.length === 0) return; // the positions claimed stay unused: gaps are harmless
      const createdAt = new Date();
      const messages = stored.map((index) => {
        const send = sends[index]!;
        return Object.assign(new Message(), {
          conversationId: send.conversationId,
          senderId: send.senderId,
          body: send.body,
          clientMessageId: send.clientMessageId,
          replyToId: send.replyToId ?? null,
          generation: send.generation ?? null,
          createdAt,
          editedAt: null,
          deletedAt: null,
        });
      });
      const firstPosition = lastPosition - fresh.length + 1;
      const loggedAt = new Date();
      const events = messages.map((message, offset) =>
        Object.assign(new MessageEvent(), {
          position: firstPosition + offset,
          conversationId: message.conversationId,
          kind: 'CREATED' as const,
          createdAt: loggedAt,
        }),
      );
      await insertMessagesAndEvents(manager, messages, events);
      await recordMentions(manager, messages);
      for (const [offset, index] of stored.entries()) {
        await claimAttachments(manager, messages[offset]!, sends[index]!.attachmentIds ?? []);
      }
      stored.forEach((index, offset) => (results[index] = { message: messages[offset]!, event: events[offset]! }));
      if (answersTogether(manager)) onlyCommitLeft();
    });
  }
  return sends.map((send, index) => {
    if (results[index]) return results[index];
    if (refused.has(index)) return null;
    const key = idempotencyKey(send)!;
    const earlierMessage = earlier.get(key);
    if (earlierMessage) return { message: earlierMessage, event: null };
    // A duplicate within this batch: the first of its key was stored, or refused with it.
    const first = results[firstOfKey.get(key)!];
    return first ? { message: first.message, event: null } : null;
  });
}

/** Which of the sends' senders are members of their conversations now, as "conversationId:userId". */
async function currentMembers(manager: EntityManager, sends: readonly NewMessage[]): Promise<Set<string>> {
  const pairs = paddedToPowerOfTwo([
    ...new Map(sends.map((send) => [`${send.conversationId}:${send.senderId}`, send])).values(),
  ]);
  const { rows } = await execute(
    manager,
    `SELECT conversationId, userId FROM memberships WHERE ${pairs.map(() => '(conversationId = ? AND userId = ?)').join(' OR ')}`,
    pairs.flatMap((send) => [send.conversationId, send.senderId]),
  );
  return new Set(rows.map((row) => `${Number(row.conversationId)}:${Number(row.userId)}`));
}

/**
 * Whether a connection's statements may be sent without waiting for the one
 * before to answer. On MySQL each answer is a network round trip, and the
 * send's transaction holds the event-log lock through all of them, so every
 * round trip saved is sends/s gained: mysql2 runs a connection's commands in
 * the order they were issued, so a statement issued after another runs after
 * it (and a failure rolls the whole transaction back). better-sqlite3 runs
 * each statement at once, inside the call, so there is nothing to save there.
 */
function answersTogether(manager: EntityManager): boolean {
  return manager.connection.options.type === 'mysql';
}

/**
 * The batch's messages in one statement, their ids set (consecutive, in
 * order, as the event-log lock is held: MySQL reports the first, SQLite the
 * last), then their CREATED events and the conversations' activity. On MySQL
 * the three go out together, naming the ids before they are known (idsPending).
 */
async function insertMessagesAndEvents(
  manager: EntityManager,
  messages: Message[],
  events: MessageEvent[],
): Promise<void> {
  const inserted = executeVaryingText(
    manager,
    'INSERT INTO messages (conversationId, senderId, body, clientMessageId, replyToId, generation, createdAt, editedAt, deletedAt) VALUES ' +
      messages.map(() => '(?, ?, ?, ?, ?, ?, ?, NULL, NULL)').join(', '),
    messages.flatMap((message) => [
      message.conversationId,
      message.senderId,
      message.body,
      message.clientMessageId,
      message.replyToId,
      message.generation,
      message.createdAt,
    ]),
  );
  const setIds = (firstId: number) =>
    messages.forEach((message, offset) => (message.id = events[offset]!.messageId = firstId + offset));
  if (answersTogether(manager)) {
    const [{ insertId }] = await Promise.all([
      inserted,
      insertCreatedEvents(manager, events, true),
      recordActivity(manager, events, true),
    ]);
    setIds(insertId);
  } else {
    setIds((await inserted).insertId - messages.length + 1);
    await insertCreatedEvents(manager, events, false);
    await recordActivity(manager, events, false);
  }
}

/**
 * How a statement names the message id of the batch's `offset`-th event:
 * itself, or, while the ids are pending, as the first id of the connection's
 * last insert (the messages') plus the offset. The events' insert leaves
 * LAST_INSERT_ID() as it was: it generates no id.
 */
function messageIdOf(event: MessageEvent, offset: number, idsPending: boolean): { sql: string; param: number } {
  return idsPending ? { sql: 'LAST_INSERT_ID() + ?', param: offset } : { sql: '?', param: event.messageId };
}

/** The batch's CREATED events at the positions claimed, in one statement. */
async function insertCreatedEvents(manager: EntityManager, events: MessageEvent[], idsPending: boolean): Promise<void> {
  const ids = events.map((event, offset) => messageIdOf(event, offset, idsPending));
  await executeVaryingText(
    manager,
    'INSERT INTO message_events (position, conversationId, messageId, kind, createdAt) VALUES ' +
      ids.map((id) => `(?, ?, ${id.sql}, ?, ?)`).join(', '),
    events.flatMap((event, offset) => [
      event.position,
      event.conversationId,
      ids[offset]!.param,
      event.kind,
      event.createdAt,
    ]),
  );
}

/** Messages already stored under the sends' idempotency keys, by key. */
async function findEarlierMessages(
  dataSource: DataSource,
  sends: readonly NewMessage[],
): Promise<Map<string, Message>> {
  const keyed = sends.filter((send) => send.clientMessageId !== null);
  if (keyed.length === 0) return new Map();
  const found = await readCommitted(dataSource, (manager) =>
    manager.findBy(
      Message,
      keyed.map((send) => ({
        senderId: send.senderId,
        conversationId: send.conversationId,
        clientMessageId: send.clientMessageId!,
      })),
    ),
  );
  return new Map(found.map((message) => [idempotencyKey(message)!, message]));
}

/** Moves each conversation's activity to its latest event of the batch, in one statement. */
async function recordActivity(manager: EntityManager, events: MessageEvent[], idsPending: boolean): Promise<void> {
  const latest = paddedToPowerOfTwo([
    ...new Map(events.map((event, offset) => [event.conversationId, { event, offset }])).values(),
  ]);
  const conversationIds = latest.map(({ event }) => event.conversationId);
  const lastMessageIds = latest.map(({ event, offset }) => messageIdOf(event, offset, idsPending));
  await execute(
    manager,
    `UPDATE conversations SET activityPosition = CASE id ${conversationIds.map(() => 'WHEN ? THEN ?').join(' ')} END, ` +
      `lastMessageId = CASE id ${lastMessageIds.map((id) => `WHEN ? THEN ${id.sql}`).join(' ')} END ` +
      `WHERE id IN (${conversationIds.map(() => '?').join(', ')})`,
    [
      ...latest.flatMap(({ event }) => [event.conversationId, event.position]),
      ...conversationIds.flatMap((conversationId, index) => [conversationId, lastMessageIds[index]!.param]),
      ...conversationIds,
    ],
  );
}

/**
 * Applies `change` to a message and logs an event of `kind`, atomically; null
 * when the message is deleted, or when `change` answers false (it changed
 * nothing: no event then). The message is read after claiming the event
 * position, whose lock serializes all changes, so a concurrent delete is seen.
 */
function changeMessage(
  dataSource: DataSource,
  messageId: number,
  kind: 'EDITED' | 'DELETED' | 'REACTIONS_CHANGED',
  change: (manager: EntityManager, message: Message) => Promise<boolean | void>,
): Promise<MessageChange | null> {
  return transaction(dataSource, async (manager) => {
    const position = await claimEventPosition(manager);
    const message = await manager.findOneByOrFail(Message, { id: messageId });
    if (message.deletedAt) return null;
    if ((await change(manager, message)) === false) return null; // the claimed position stays unused
    const event = await insertMessageEvent(manager, {
      position,
      conversationId: message.conversationId,
      messageId,
      kind,
    });
    return { message, event };
  });
}

export function editMessageBody(
  dataSource: DataSource,
  messageId: number,
  body: string,
): Promise<MessageChange | null> {
  return changeMessage(dataSource, messageId, 'EDITED', async (manager, message) => {
    message.body = body;
    message.editedAt = new Date();
    await manager.update(Message, { id: messageId }, { body: message.body, editedAt: message.editedAt });
    await replaceMentions(manager, message);
  });
}

/** A reply in one of these states is still being generated: only then may its generation change. */
export const GENERATION_IN_PROGRESS: readonly GenerationState[] = ['THINKING', 'GENERATING'];

/**
 * Moves an assistant's reply on (its text so far, its state) with an EDITED
 * event; null when it is no longer being generated (stopped, failed or deleted
 * meanwhile), so a late or stale writer never overrides a stop. editedAt stays
 * as it was: the text grows, nobody edited it. Mentions are not recorded: the
 * model's @names stay plain text and notify no one.
 */
export function updateGeneration(
  dataSource: DataSource,
  messageId: number,
  change: { body?: string; generation: GenerationState },
): Promise<MessageChange | null> {
  return changeMessage(dataSource, messageId, 'EDITED', async (manager, message) => {
    if (message.generation === null || !GENERATION_IN_PROGRESS.includes(message.generation)) return false;
    if (change.body !== undefined) message.body = change.body;
    message.generation = change.generation;
    await manager.update(Message, { id: messageId }, { body: message.body, generation: message.generation });
    return true;
  });
}

/**
 * After a stop: the reply's text as its generator had it when the stop reached
 * it, which may be a little more than the stop kept (the text as last
 * written). Only a STOPPED reply whose text it extends; null otherwise.
 */
export function completeStoppedText(
  dataSource: DataSource,
  messageId: number,
  text: string,
): Promise<MessageChange | null> {
  return changeMessage(dataSource, messageId, 'EDITED', async (manager, message) => {
    if (message.generation !== 'STOPPED' || message.body === null) return false;
    if (text.length <= message.body.length || !text.startsWith(message.body)) return false;
    message.body = text;
    await manager.update(Message, { id: messageId }, { body: text });
    return true;
  });
}

export function softDeleteMessage(dataSource: DataSource, messageId: number): Promise<MessageChange | null> {
  return changeMessage(dataSource, messageId, 'DELETED', async (manager, message) => {
    message.body = null;
    message.deletedAt = new Date();
    await manager.update(Message, { id: messageId }, { body: null, deletedAt: message.deletedAt });
    await manager.delete(Reaction, { messageId });
    await forgetMentions(manager, messageId);
  });
}

/**
 * Adds or removes one reaction; null when that changed nothing or the message
 * is deleted (no event then). Whether it is there is decided under the lock,
 * so identical concurrent calls log one event between them; the check before
 * it only spares a repeated call the lock.
 */
export async function setReaction(
  dataSource: DataSource,
  { messageId, userId, emoji, present }: { messageId: number; userId: number; emoji: string; present: boolean },
): Promise<MessageChange | null> {
  const isThere = async (manager: EntityManager) => (await manager.countBy(Reaction, { messageId, userId, emoji })) > 0;
  if ((await readCommitted(dataSource, isThere)) === present) return null;
  return changeMessage(dataSource, messageId, 'REACTIONS_CHANGED', async (manager) => {
    if ((await isThere(manager)) === present) return false;
    if (present) await manager.insert(Reaction, { messageId, userId, emoji, createdAt: new Date() });
    else await manager.delete(Reaction, { messageId, userId, emoji });
    return true;
  });
}
