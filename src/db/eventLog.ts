// The append-only log of message events, which live delivery replays from.
//
// Positions come from a single counter row that each writing transaction
// increments first and holds locked until it commits. Commits that append
// events are therefore serialized, so position order is commit order: a reader
// that has seen position N has seen every event before N, which is what makes
// resuming from a cursor gap-free. Message ids are assigned while the lock is
// held too, so history order is commit order as well.
import type { DataSource, EntityManager } from 'typeorm';
import { Membership, MessageEvent, type MessageEventKind } from './entities/index.js';
import { execute, selectEntities } from './prepared.js';
import { readCommitted } from './transaction.js';

const SEQUENCE_ROW_ID = 1;

/**
 * Locks the event log for this transaction and claims the next `count`
 * positions, returning the last, in one round trip: the lock is held until
 * commit, so every statement inside it delays every other writer. MySQL hands
 * the new value back through LAST_INSERT_ID(expr) (MariaDB has no UPDATE …
 * RETURNING); SQLite through RETURNING.
 */
export async function claimEventPosition(manager: EntityManager, count = 1): Promise<number> {
  if (manager.connection.options.type === 'mysql') {
    const result: { insertId: number | string } = await manager.query(
      'UPDATE event_sequence SET position = LAST_INSERT_ID(position + ?) WHERE id = ?',
      [count, SEQUENCE_ROW_ID],
    );
    return Number(result.insertId);
  }
  const [row]: { position: number }[] = await manager.query(
    'UPDATE event_sequence SET position = position + ? WHERE id = ? RETURNING position',
    [count, SEQUENCE_ROW_ID],
  );
  return Number(row!.position);
}

/**
 * claimEventPosition as a prepared statement (db/prepared.ts), for the
 * group-commit send path, which runs it once per batch.
 */
export async function claimPositions(manager: EntityManager, count: number): Promise<number> {
  if (manager.connection.options.type === 'mysql') {
    const { insertId } = await execute(
      manager,
      'UPDATE event_sequence SET position = LAST_INSERT_ID(position + ?) WHERE id = ?',
      [count, SEQUENCE_ROW_ID],
    );
    return insertId;
  }
  const { rows } = await execute(
    manager,
    'UPDATE event_sequence SET position = position + ? WHERE id = ? RETURNING position',
    [count, SEQUENCE_ROW_ID],
  );
  return Number(rows[0]!.position);
}

type NewMessageEvent = { position: number; conversationId: number; messageId: number; kind: MessageEventKind };

/** Appends an event at a position claimed earlier in the same transaction. */
export async function insertMessageEvent(manager: EntityManager, event: NewMessageEvent): Promise<MessageEvent> {
  return (await insertMessageEvents(manager, [event]))[0]!;
}

/** Appends events at positions claimed earlier in the same transaction, in one statement. */
export async function insertMessageEvents(manager: EntityManager, events: NewMessageEvent[]): Promise<MessageEvent[]> {
  const createdAt = new Date();
  const rows = events.map((event) => manager.create(MessageEvent, { ...event, createdAt }));
  await manager.insert(MessageEvent, rows);
  return rows;
}

/** The latest committed position as a subquery, for a read whose snapshot must include it (db/history.ts). */
export const CURRENT_POSITION_SQL = `SELECT position FROM event_sequence WHERE id = ${SEQUENCE_ROW_ID}`;

/** Per database, the position read the callers of this turn of the event loop will share (see currentEventPosition). */
const sharedPositionReads = new WeakMap<DataSource, Promise<number>>();

/**
 * The latest committed position: a page read after this call reflects at
 * least everything up to it. Every subscription start and page asks it, and a
 * reconnecting crowd asks it thousands of times at once: the calls of one
 * turn of the event loop share one read, which starts after all of them (on
 * the next turn), so each gets a position at least as recent as its call.
 */
export function currentEventPosition(dataSource: DataSource): Promise<number> {
  let read = sharedPositionReads.get(dataSource);
  if (!read) {
    read = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      sharedPositionReads.delete(dataSource); // later callers get a read that starts after them
      return readCommitted(dataSource, async (manager) => {
        const { rows } = await execute(manager, CURRENT_POSITION_SQL, []);
        return Number(rows[0]!.position);
      });
    });
    sharedPositionReads.set(dataSource, read);
  }
  return read;
}

/** The conversations an event-log worker acts on, as a subquery of conversation ids with its parameters. */
export type WorkerConversations = { sql: string; params: unknown[] };

/** What an event-log worker reads in one go (readWorkerEvents). */
export type WorkerEvents = {
  /** CREATED events of the worker's conversations, oldest first. */
  events: MessageEvent[];
  /** How far the log was read: the worker's position may move here, past the events it was not given. */
  through: number;
  /** With createdUpTo: when the event the read stopped before was created; null if it did not stop early. */
  nextCreatedAt: Date | null;
};

/**
 * For an event-log worker (push, webhooks, the assistant): the committed
 * CREATED events after `position` in the conversations `conversations`
 * selects, oldest first, at most `limit`. Each worker acts on few
 * conversations (those with a bot, a push subscriber, the assistant), so the
 * database passes over the rest: read whole, every event of every chat was
 * turned into an entity once per worker, about an eighth of a busy server's
 * CPU (docs/benchmarks.md, eleventh pass).
 *
 * With `createdUpTo`, the read stops before the first CREATED event of any
 * conversation created after it: the push delay, after which who is
 * reachable is decided.
 */
export function readWorkerEvents(
  dataSource: DataSource,
  position: number,
  limit: number,
  conversations: WorkerConversations,
  createdUpTo?: Date,
): Promise<WorkerEvents> {
  return readCommitted(dataSource, async (manager) => {
    // Read first: every event up to it is committed (positions follow commit order).
    const end = Number((await execute(manager, CURRENT_POSITION_SQL, [])).rows[0]!.position);
    if (end <= position) return { events: [], through: position, nextCreatedAt: null };
    const events = await selectEntities(
      manager,
      MessageEvent,
      `WHERE position > ? AND position <= ? AND kind = 'CREATED' AND conversationId IN (${conversations.sql}) ` +
        `ORDER BY position LIMIT ${Number(limit)}`,
      [position, end, ...conversations.params],
    );
    const through = events.length === limit ? events.at(-1)!.position : end;
    if (!createdUpTo) return { events, through, nextCreatedAt: null };
    // Only over what this read covers: a backlog is then scanned once, not once per read of it.
    const [notDue] = await selectEntities(
      manager,
      MessageEvent,
      "WHERE position > ? AND position <= ? AND kind = 'CREATED' AND createdAt > ? ORDER BY position LIMIT 1",
      [position, through, createdUpTo],
    );
    if (!notDue) return { events, through, nextCreatedAt: null };
    return {
      events: events.filter((event) => event.position < notDue.position),
      through: notDue.position - 1,
      nextCreatedAt: notDue.createdAt,
    };
  });
}

/**
 * Committed events after `position`, oldest first. With `visibleTo`, only those
 * of conversations the user is a member of now (and of one conversation if given).
 */
export function readEventsAfter(
  dataSource: DataSource,
  position: number,
  limit: number,
  visibleTo?: { userId: number; conversationId: number | null },
): Promise<MessageEvent[]> {
  return readCommitted(dataSource, (manager) => {
    // The feed's read (no filter): once per batch on every instance with subscribers, so prepared.
    if (!visibleTo) {
      return selectEntities(manager, MessageEvent, `WHERE position > ? ORDER BY position LIMIT ${Number(limit)}`, [
        position,
      ]);
    }
    const query = manager
      .createQueryBuilder(MessageEvent, 'event')
      .where('event.position > :position', { position })
      .orderBy('event.position', 'ASC')
      .limit(limit)
      .innerJoin(
        Membership,
        'membership',
        'membership.conversationId = event.conversationId AND membership.userId = :userId',
        { userId: visibleTo.userId },
      );
    if (visibleTo.conversationId !== null) {
      query.andWhere('event.conversationId = :conversationId', { conversationId: visibleTo.conversationId });
    }
    return query.getMany();
  });
}
