// One subscriber's stream of message events: an optional replay from the
// database, then live events from the instance's feed.
import type { DataSource } from 'typeorm';
import { readEventsAfter } from '../db/eventLog.js';
import { EventQueue, QueueOverflowError } from './eventQueue.js';
import { type DeliveredEvent, EVENT_BATCH, hydrateEvents, type MessageFeed } from './messageFeed.js';

/** Events one subscriber may have queued before it counts as too slow and is cut off. */
export const MAX_QUEUED_EVENTS = 2_000;

export type MessageStreamOptions = {
  viewerId: number;
  conversationId: number | null;
  /** Resume after this event position: replay what came later first. */
  after: number | null;
  /** Called when the subscriber falls too far behind (the socket is closed then). */
  onOverflow?: () => void;
};

export function openMessageStream(
  dataSource: DataSource,
  feed: MessageFeed,
  { viewerId, conversationId, after, onOverflow }: MessageStreamOptions,
): AsyncIterableIterator<DeliveredEvent> {
  /** The position of the last event queued for the subscriber. */
  let cursor = after;
  let replaying = after !== null;
  const heldBack: DeliveredEvent[] = [];
  const queue = new EventQueue<DeliveredEvent>(MAX_QUEUED_EVENTS, () => stopListening(), onOverflow);

  const queueIfNew = (event: DeliveredEvent) => {
    if (cursor !== null && event.position <= cursor) return; // already replayed: no duplicate
    cursor = event.position;
    queue.push(event);
  };

  // Listen before replaying, so nothing committed during the replay is missed.
  const stopListening = feed.listen({
    viewerId,
    conversationId,
    push: (event) => {
      if (!replaying) queueIfNew(event);
      else if (heldBack.length < MAX_QUEUED_EVENTS) heldBack.push(event);
      else {
        queue.fail(new QueueOverflowError('too many live events during the replay'));
        onOverflow?.();
      }
    },
  });

  if (replaying) {
    void (async () => {
      try {
        for (;;) {
          await queue.whenBelow(EVENT_BATCH);
          const events = await readEventsAfter(dataSource, cursor!, EVENT_BATCH, { userId: viewerId, conversationId });
          for (const event of await hydrateEvents(dataSource, events)) queueIfNew(event);
          if (events.length < EVENT_BATCH) break;
        }
        // The hand-over. The replay read every event committed before its last
        // query; live events arriving meanwhile were held back. An event can be
        // in both (committed before the last query, delivered by the feed
        // after we started listening), so held-back events at or before the
        // cursor are dropped, and the rest follow in feed order, which is
        // position order. This block runs without an await, so no live event
        // can slip between the held-back ones and the switch to live.
        for (const event of heldBack) queueIfNew(event);
        heldBack.length = 0;
        replaying = false;
      } catch (error) {
        queue.fail(error as Error);
      }
    })();
  }
  return queue;
}
