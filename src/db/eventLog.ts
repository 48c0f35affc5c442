// The append-only log of message events, which live delivery replays from.
//
// Positions come from a single counter row that each writing transaction
// increments first and holds locked until it commits. Commits that append
// events are therefore serialized, so position order is commit order: a reader
// that has seen position N has seen every event before N, which is what makes
// resuming from a cursor gap-free. Message ids are assigned while the lock is
// held too, so history order is commit order as well.
import type { DataSource, EntityManager } from 'typeorm';
import { EventSequence, MessageEvent, type MessageEventKind } from './entities/index.js';

const SEQUENCE_ROW_ID = 1;

/** Locks the event log for this transaction and returns the next position. */
export async function claimEventPosition(manager: EntityManager): Promise<number> {
  await manager
    .createQueryBuilder()
    .update(EventSequence)
    .set({ position: () => 'position + 1' })
    .where('id = :id', { id: SEQUENCE_ROW_ID })
    .execute();
  const row = await manager.findOneByOrFail(EventSequence, { id: SEQUENCE_ROW_ID });
  return row.position;
}

/** Appends an event at a position claimed earlier in the same transaction. */
export async function insertMessageEvent(
  manager: EntityManager,
  event: { position: number; conversationId: number; messageId: number; kind: MessageEventKind },
): Promise<MessageEvent> {
  const row = manager.create(MessageEvent, { ...event, createdAt: new Date() });
  await manager.insert(MessageEvent, row);
  return row;
}

/** The latest committed position: a page read after this call reflects at least everything up to it. */
export async function currentEventPosition(dataSource: DataSource | EntityManager): Promise<number> {
  const manager = 'manager' in dataSource ? dataSource.manager : dataSource;
  const row = await manager.findOneByOrFail(EventSequence, { id: SEQUENCE_ROW_ID });
  return row.position;
}
