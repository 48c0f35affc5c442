// Each instance's ordered feed of message events, the path from a committed
// event to local subscribers.
//
// The database log is the source of truth and pub/sub only rings the bell:
// whenever a notification arrives, Redis reconnects, or the poll timer fires,
// the feed reads every committed event after the last one it delivered, in
// position order, and hands each to the local subscribers allowed to see it.
// Because positions follow commit order (db/eventLog.ts), reading "after the
// last delivered" never skips an event, whatever pub/sub dropped or reordered.
import type { DataSource } from 'typeorm';
import {
  Conversation,
  Message,
  type MessageEvent,
  type MessageEventKind,
  Reaction,
  User,
} from '../db/entities/index.js';
import { currentEventPosition, readEventsAfter } from '../db/eventLog.js';
import { inList, selectEntities } from '../db/prepared.js';
import type { Logger } from '../logger.js';
import type { Memberships } from './membership.js';
import type { Bus } from './pubsub.js';

/** How often the feed checks the log even without a notification: the bound on delivery delay when pub/sub loses one. */
const POLL_INTERVAL_MS = 1_000;
/** Events handed to subscribers per turn of the event loop, one event to one subscriber counting one (see dispatch). */
const HANDOVERS_PER_TURN = 200;
/** Events read and hydrated per query. */
export const EVENT_BATCH = 500;

/** An event with everything a subscriber's selection usually needs, read once per instance. */
export type DeliveredEvent = {
  position: number;
  kind: MessageEventKind;
  conversationId: number;
  /** When the event was written (its transaction commits right after). */
  committedAt: Date;
  message: Message;
  sender: User;
  conversation: Conversation;
  reactions: Reaction[];
};

export type FeedListener = {
  viewerId: number;
  /** Only this conversation, or null for all of the viewer's. */
  conversationId: number | null;
  push(event: DeliveredEvent): void;
};

/**
 * Loads messages, senders, conversations and reactions for a batch of events:
 * four prepared statements side by side, whatever the batch size (this runs
 * once per batch on every instance with subscribers: db/prepared.ts).
 */
export async function hydrateEvents(dataSource: DataSource, events: MessageEvent[]): Promise<DeliveredEvent[]> {
  if (events.length === 0) return [];
  const manager = dataSource.manager;
  const messageIds = inList([...new Set(events.map((event) => event.messageId))]);
  const conversationIds = inList([...new Set(events.map((event) => event.conversationId))]);
  const [messages, conversations, reactions, senders] = await Promise.all([
    selectEntities(manager, Message, `WHERE id IN (${messageIds.placeholders})`, messageIds.params),
    selectEntities(manager, Conversation, `WHERE id IN (${conversationIds.placeholders})`, conversationIds.params),
    selectEntities(
      manager,
      Reaction,
      `WHERE messageId IN (${messageIds.placeholders}) ORDER BY createdAt`,
      messageIds.params,
    ),
    selectEntities(
      manager,
      User,
      `WHERE id IN (SELECT senderId FROM messages WHERE id IN (${messageIds.placeholders}))`,
      messageIds.params,
    ),
  ]);
  const messageById = new Map(messages.map((message) => [message.id, message]));
  const conversationById = new Map(conversations.map((conversation) => [conversation.id, conversation]));
  const senderById = new Map(senders.map((sender) => [sender.id, sender]));
  return events.map((event) => {
    const message = messageById.get(event.messageId)!;
    return {
      position: event.position,
      kind: event.kind,
      conversationId: event.conversationId,
      committedAt: event.createdAt,
      message,
      sender: senderById.get(message.senderId)!,
      conversation: conversationById.get(event.conversationId)!,
      reactions: reactions.filter((reaction) => reaction.messageId === message.id),
    };
  });
}

export class MessageFeed {
  /** The position of the last event handed to listeners. */
  private delivered = 0;
  /** The highest position a bell announced: a drain started after it reads at least that far. */
  private announced = 0;
  private readonly listeners = new Set<FeedListener>();
  private draining: Promise<void> | null = null;
  private drainAgain = false;
  private pollTimer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  /** Told, per event handed to at least one subscriber, how long after its commit the last one got it (metrics). */
  onFannedOut: (seconds: number) => void = () => undefined;
  /** The bell to publish at the end of this turn of the event loop. */
  private outgoingBell: { position: number; published: Promise<void> } | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly bus: Bus,
    private readonly memberships: Memberships,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.delivered = await currentEventPosition(this.dataSource);
    this.unsubscribe = await this.bus.subscribe('messageEvents', ({ position }) => this.ring(position));
    this.bus.onReconnect(() => this.catchUp());
    // The in-process bus loses nothing; Redis pub/sub drops what it cannot deliver.
    if (this.bus.lossy) {
      this.pollTimer = setInterval(() => this.catchUp(), POLL_INTERVAL_MS);
      this.pollTimer.unref();
    }
  }

  async stop(): Promise<void> {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.unsubscribe?.();
    await this.draining;
  }

  /**
   * Rings the bell after this instance committed an event. Bells rung in one
   * turn of the event loop (the sends of one group commit) go out as one
   * publish of the highest position: a reader reads everything up to it.
   */
  announce(position: number): Promise<void> {
    this.ring(position);
    if (this.outgoingBell) {
      this.outgoingBell.position = Math.max(this.outgoingBell.position, position);
      return this.outgoingBell.published;
    }
    const bell = { position, published: Promise.resolve() };
    bell.published = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.outgoingBell = null;
      return this.bus.publish('messageEvents', { position: bell.position });
    });
    this.outgoingBell = bell;
    return bell.published;
  }

  /** Event `position` is committed: deliver it, or, with nobody listening here, just note it without reading. */
  private ring(position: number): void {
    // This instance's own bell comes back from the bus: one drain covers both.
    if (position <= this.delivered || position <= this.announced) return;
    this.announced = position;
    if (this.listeners.size === 0 && !this.draining) this.delivered = position;
    else this.catchUp();
  }

  /** How far this instance's subscribers are behind the log: 0 with nobody listening here (nothing waits). */
  async lag(): Promise<number> {
    if (this.listeners.size === 0) return 0;
    return Math.max(0, (await currentEventPosition(this.dataSource)) - this.delivered);
  }

  listen(listener: FeedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Delivers every committed event after the last delivered one; runs one drain at a time. */
  catchUp(): void {
    // Nobody listens on this instance: a later subscriber starts live or replays from the database.
    if (this.listeners.size === 0) return;
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    this.draining = this.drain().finally(() => {
      this.draining = null;
      if (this.drainAgain) {
        this.drainAgain = false;
        this.catchUp();
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      for (;;) {
        const events = await readEventsAfter(this.dataSource, this.delivered, EVENT_BATCH);
        if (events.length === 0) return;
        const delivered = await hydrateEvents(this.dataSource, events);
        const members = await this.memberships.membersOf(delivered.map((event) => event.conversationId));
        this.delivered = delivered.at(-1)!.position;
        await this.dispatch(delivered, members);
        if (events.length < EVENT_BATCH) return;
      }
    } catch (error) {
      // The next bell or poll retries from the same position; nothing is skipped.
      this.logger.warn({ err: (error as Error).message }, 'message feed could not read the event log');
    }
  }

  /**
   * Hands the events, in position order, to the listeners allowed to see
   * them: listener by listener, each getting all of its events of the batch
   * at once, so a subscriber's frames of one batch leave in one write
   * (websocket/delivery.ts). At most HANDOVERS_PER_TURN per turn of the event
   * loop: each push sets off that subscriber's delivery, and delivering to
   * thousands in one turn would keep sockets, timers and health checks waiting.
   * A listener that joins meanwhile reads these events from the log itself
   * (messageStream.ts): they were committed before it started listening.
   */
  private async dispatch(events: DeliveredEvent[], members: Map<number, Set<number>>): Promise<void> {
    const fannedOut = events.map(() => false);
    // Looked up once per event, not once per event and listener.
    const membersOf = events.map((event) => members.get(event.conversationId)!);
    let handovers = 0;
    for (const listener of [...this.listeners]) {
      for (let index = 0; index < events.length; index++) {
        const event = events[index]!;
        if (listener.conversationId !== null && listener.conversationId !== event.conversationId) continue;
        if (!membersOf[index]!.has(listener.viewerId)) continue;
        listener.push(event);
        fannedOut[index] = true;
        if (++handovers % HANDOVERS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    }
    const now = Date.now();
    for (const [index, event] of events.entries()) {
      if (fannedOut[index]) this.onFannedOut((now - event.committedAt.getTime()) / 1000);
    }
  }
}
