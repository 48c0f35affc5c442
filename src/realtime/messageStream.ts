// One subscriber's stream of message events: an optional replay from the
// database, then live events from the instance's feed.
import type { DataSource } from 'typeorm';
import { currentEventPosition, readEventsAfter } from '../db/eventLog.js';
import { EventQueue, QueueOverflowError } from './eventQueue.js';
import { type DeliveredEvent, EVENT_BATCH, type FeedListener, hydrateEvents, type MessageFeed } from './messageFeed.js';
import { subscriptionStarts } from './startLimit.js';

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

/**
 * The log's committed position for streams starting live, one read shared by
 * every stream that began listening before it was sent: it was read after
 * each of them listened, which is all startLive needs. A reconnect storm of
 * thousands of starts then makes a read per turn of the event loop rather
 * than one each (with its query building and the garbage it leaves, which
 * the heap keeps growing into while the starts last).
 */
const nextPositionReads = new WeakMap<DataSource, Promise<number>>();

function startingPosition(dataSource: DataSource): Promise<number> {
  let read = nextPositionReads.get(dataSource);
  if (!read) {
    read = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      nextPositionReads.delete(dataSource); // streams listening from here on take the next read
      return currentEventPosition(dataSource);
    });
    nextPositionReads.set(dataSource, read);
  }
  return read;
}

/** Resolves once the stream has its starting point: at once with `after`, after one query without. */
export async function openMessageStream(
  dataSource: DataSource,
  feed: MessageFeed,
  options: MessageStreamOptions,
): Promise<AsyncIterableIterator<DeliveredEvent>> {
  const stream = new MessageStream(feed, options);
  if (options.after !== null) void stream.replay(dataSource);
  else await stream.startLive(dataSource);
  return stream.queue;
}

/**
 * The feed's listener for one subscriber. A class rather than closures: an idle
 * subscription lives as long as its socket, so what it keeps is kept once per socket.
 */
class MessageStream implements FeedListener {
  readonly viewerId: number;
  readonly conversationId: number | null;
  readonly queue: EventQueue<DeliveredEvent>;
  /** The position of the last event queued for the subscriber. */
  private cursor: number | null;
  /** Live events that arrived before the starting point was known (during the replay); null once live. */
  private heldBack: DeliveredEvent[] | null;
  private readonly onOverflow: (() => void) | undefined;
  private readonly stopListening: () => void;
  /** The subscriber is gone (completed, socket closed, cut off): a replay stops at its next step. */
  private ended = false;

  constructor(feed: MessageFeed, { viewerId, conversationId, after, onOverflow }: MessageStreamOptions) {
    this.viewerId = viewerId;
    this.conversationId = conversationId;
    this.cursor = after;
    this.heldBack = [];
    this.onOverflow = onOverflow;
    this.queue = new EventQueue<DeliveredEvent>(MAX_QUEUED_EVENTS, () => this.end(), onOverflow);
    // Listen before replaying, so nothing committed during the replay is missed.
    this.stopListening = feed.listen(this);
  }

  /** A live event from the feed. */
  push(event: DeliveredEvent): void {
    if (this.heldBack === null) this.queueIfNew(event);
    else if (this.heldBack.length < MAX_QUEUED_EVENTS) this.heldBack.push(event);
    else {
      this.queue.fail(new QueueOverflowError('too many live events during the replay'));
      this.onOverflow?.();
    }
  }

  /**
   * Reads what was committed after the cursor, then switches to live events.
   * Each batch counts against the process's limit on subscription starts, and
   * the replay stops as soon as its subscriber is gone: a client starting
   * replays from position 0 and completing them at once gets one batch read
   * per replay, in turn with everyone else's starts.
   */
  async replay(dataSource: DataSource): Promise<void> {
    const { queue } = this;
    try {
      for (;;) {
        await queue.whenBelow(EVENT_BATCH);
        const batch = await subscriptionStarts(() => this.readBatch(dataSource));
        if (batch === null) return; // the subscriber is gone
        for (const event of batch.events) this.queueIfNew(event);
        if (batch.read < EVENT_BATCH) break;
      }
      // The replay read every event committed before its last query; live
      // events arriving meanwhile were held back. An event can be in both
      // (committed before the last query, delivered by the feed after we
      // started listening): the hand-over drops it.
      this.goLive();
    } catch (error) {
      queue.fail(error as Error);
    }
  }

  /**
   * Without `after`: live from the log's committed position, read after the
   * stream began listening. Not from the feed's own position, which lags on
   * an instance where nobody listened while bells were lost (issue #10): the
   * feed then hands over events from before this subscription started, and
   * those at or before the position read here are dropped.
   */
  async startLive(dataSource: DataSource): Promise<void> {
    try {
      this.cursor = await startingPosition(dataSource);
    } catch (error) {
      this.queue.return(); // stops listening
      throw error;
    }
    this.goLive();
  }

  /**
   * The hand-over: held-back events at or before the cursor are dropped (the
   * replay or the starting point covered them), and the rest follow in feed
   * order, which is position order. No await here, so no live event can slip
   * between the held-back ones and the switch to live.
   */
  private goLive(): void {
    for (const event of this.heldBack!) this.queueIfNew(event);
    this.heldBack = null;
  }

  /** The next batch after the cursor, or null once the subscriber is gone. */
  private async readBatch(dataSource: DataSource): Promise<{ events: DeliveredEvent[]; read: number } | null> {
    if (this.ended) return null;
    const events = await readEventsAfter(dataSource, this.cursor!, EVENT_BATCH, {
      userId: this.viewerId,
      conversationId: this.conversationId,
    });
    if (this.ended) return null;
    return { events: await hydrateEvents(dataSource, events), read: events.length };
  }

  private end(): void {
    this.ended = true;
    this.stopListening();
  }

  private queueIfNew(event: DeliveredEvent): void {
    if (this.cursor !== null && event.position <= this.cursor) return; // already replayed: no duplicate
    this.cursor = event.position;
    this.queue.push(event);
  }
}
