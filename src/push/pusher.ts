// Sends Web Push for new messages, exactly once per (message, subscription),
// driven by the event log that live delivery replays from.
//
// One instance at a time holds the lease (a row in push_state) and works; the
// others keep trying to take it, and one does within LEASE_MS of the holder's
// death. The holder reads the log after its durable position. A CREATED event
// falls due PUSH_DELAY_MS after it was written; then its recipients are
// decided and one delivery row per (message, subscription) is inserted in the
// same transaction that moves the position past the event, fenced by the
// lease. The delivery rows are the outbox: each is claimed by a conditional
// update before its request goes out and marked when the push service
// answers, so neither a second instance nor a restart sends it again, and a
// crash leaves it to be sent later. Pub/sub only rings the bell, so a Redis
// outage delays nothing beyond the poll. Sending never waits for this: it runs
// on its own timer, with its own connections to the push services.
import { setTimeout as wait } from 'node:timers/promises';
import { type DataSource, In, LessThanOrEqual } from 'typeorm';
import type { PushConfig } from '../config.js';
import { Conversation, Message, type MessageEvent, User } from '../db/entities/index.js';
import { readWorkerEvents, type WorkerConversations } from '../db/eventLog.js';
import { LeasedRounds } from '../db/leasedRounds.js';
import { transaction, writeAlone } from '../db/transaction.js';
import type { Logger } from '../logger.js';
import type { Presence } from '../realtime/presence.js';
import type { Bus } from '../realtime/pubsub.js';
import { PushDelivery, PushState, PushSubscriptionRow } from './entities.js';
import { buildPayload } from './payload.js';
import { recipientsOf } from './recipients.js';
import { sendPush, PUSH_REQUEST_TIMEOUT_MS, type PushOutcome } from './send.js';
import type { VapidKeys } from './vapid.js';

/** How often each instance tries the lease and, holding it, reads the log and the outbox. */
const TICK_MS = 500;
/** A lease not renewed for this long passes to another instance. */
const LEASE_MS = 5_000;
/** Events read per transaction. */
const EVENT_BATCH = 200;
/** Requests in flight at once from the holder. */
const SEND_CONCURRENCY = 16;
/** A claimed delivery whose answer was never recorded (the instance died) is due again after this. */
const CLAIM_MS = PUSH_REQUEST_TIMEOUT_MS + 5_000;
/** How long stopping waits for requests in flight: well inside the process's shutdown deadline. */
const STOP_WAIT_MS = 3_000;
/** Tries per push, the first included: 429 and 5xx are retried, the rest not. */
export const MAX_PUSH_ATTEMPTS = 4;
/** The first retry's delay, doubled for each further one, unless Retry-After asks for longer. */
const RETRY_BASE_MS = 1_000;
/** A Retry-After beyond this gives up: the notification would arrive too late to matter. */
const MAX_RETRY_DELAY_MS = 15 * 60_000;
/** How long a push service keeps a push for an offline browser (RFC 8030 TTL); at most a day. */
export const PUSH_TTL_SECONDS = 86_400;

/** Finished delivery rows are kept this long (for inspection), then deleted, checked this often. */
const FINISHED_ROWS_KEPT_MS = 2 * 86_400_000;
const PURGE_INTERVAL_MS = 3_600_000;

/** Where someone may be pushed: conversations with a member who has a push subscription. */
const PUSHABLE_CONVERSATIONS: WorkerConversations = {
  sql:
    'SELECT membership.conversationId FROM memberships membership ' +
    'JOIN push_subscriptions subscription ON subscription.userId = membership.userId',
  params: [],
};

export class Pusher {
  private readonly rounds: LeasedRounds;
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private readonly sending = new Set<Promise<void>>();
  private lastPurge = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: PushConfig,
    private readonly vapidKeys: VapidKeys,
    private readonly presence: Presence,
    private readonly bus: Bus,
    private readonly logger: Logger,
  ) {
    this.rounds = new LeasedRounds(
      this.dataSource,
      PushState,
      LEASE_MS,
      () => this.round(),
      (error) => this.logger.warn({ err: error.message }, 'push round failed'),
    );
  }

  async start(): Promise<void> {
    // A new message falls due PUSH_DELAY_MS later: look then, not only at the next poll.
    this.unsubscribe = await this.bus.subscribe('messageEvents', () => this.rounds.wakeIn(this.config.delayMs));
    this.timer = setInterval(() => this.rounds.tick(), TICK_MS);
    this.timer.unref();
    this.rounds.tick();
  }

  /** Stops working, waits a moment for requests in flight, and hands the lease on at once. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
    await this.rounds.stop();
    // Answers not back by then are never recorded: those pushes go out again after CLAIM_MS.
    await Promise.race([Promise.allSettled([...this.sending]), wait(STOP_WAIT_MS, undefined, { ref: false })]);
    await this.rounds.releaseLease();
  }

  private async round(): Promise<void> {
    if (!(await this.rounds.holdLease())) return;
    await this.drainLog();
    await this.sendDue();
    if (Date.now() - this.lastPurge > PURGE_INTERVAL_MS) await this.purge();
  }

  /**
   * Deletes finished delivery rows after a while: once the position has moved
   * past a message (in the transaction that wrote its rows) nothing plans it
   * again, so only pending rows are needed for exactly once.
   */
  private async purge(): Promise<void> {
    this.lastPurge = Date.now();
    await writeAlone(this.dataSource, (manager) =>
      manager
        .createQueryBuilder()
        .delete()
        .from(PushDelivery)
        .where('status <> :pending AND createdAt < :before', {
          pending: 'PENDING',
          before: new Date(Date.now() - FINISHED_ROWS_KEPT_MS),
        })
        .execute(),
    );
  }

  /** Turns every due CREATED event after the position into delivery rows, moving the position past it. */
  private async drainLog(): Promise<void> {
    for (;;) {
      const position = await this.rounds.position();
      const now = Date.now();
      // Positions follow commit order: nothing after a message not yet due is handled before it.
      const { events, through, nextCreatedAt } = await readWorkerEvents(
        this.dataSource,
        position,
        EVENT_BATCH,
        PUSHABLE_CONVERSATIONS,
        new Date(now - this.config.delayMs),
      );
      if (nextCreatedAt) this.rounds.wakeIn(nextCreatedAt.getTime() + this.config.delayMs - now);
      if (through === position) return;
      const deliveries = await this.plan(events);
      const advanced = await transaction(this.dataSource, async (manager) => {
        if (!(await this.rounds.movePosition(manager, position, through))) return false;
        const createdAt = new Date();
        for (let start = 0; start < deliveries.length; start += 500) {
          await manager
            .createQueryBuilder()
            .insert()
            .into(PushDelivery)
            .values(
              deliveries.slice(start, start + 500).map((delivery) => ({
                ...delivery,
                status: 'PENDING' as const,
                attempts: 0,
                nextAttemptAt: 0,
                createdAt,
              })),
            )
            .orIgnore()
            .execute();
        }
        return true;
      });
      if (!advanced || nextCreatedAt || events.length < EVENT_BATCH) return;
    }
  }

  /**
   * The (message, subscription) pairs the due messages go to (read from
   * conversations with a push subscriber only: PUSHABLE_CONVERSATIONS);
   * deleted messages go nowhere.
   */
  private async plan(events: MessageEvent[]): Promise<{ messageId: number; subscriptionId: number }[]> {
    if (events.length === 0) return [];
    const messageIds = events.map((event) => event.messageId);
    const messages = (await this.dataSource.manager.findBy(Message, { id: In(messageIds) })).filter(
      (message) => message.deletedAt === null,
    );
    const recipients = await recipientsOf(this.dataSource, this.presence, messages);
    const userIds = [...new Set([...recipients.values()].flat())];
    if (userIds.length === 0) return [];
    const subscriptions = await this.dataSource.manager.find(PushSubscriptionRow, {
      select: { id: true, userId: true },
      where: { userId: In(userIds) },
    });
    return messages.flatMap((message) => {
      const users = new Set(recipients.get(message.id));
      return subscriptions
        .filter((subscription) => users.has(subscription.userId))
        .map((subscription) => ({ messageId: message.id, subscriptionId: subscription.id }));
    });
  }

  /** Starts the due deliveries, as many as free slots allow, each claimed first so it goes out once. */
  private async sendDue(): Promise<void> {
    const free = SEND_CONCURRENCY - this.sending.size;
    if (free <= 0) return;
    const now = Date.now();
    const due = await this.dataSource.manager.find(PushDelivery, {
      where: { status: 'PENDING', nextAttemptAt: LessThanOrEqual(now) },
      order: { nextAttemptAt: 'ASC' },
      take: free,
    });
    for (const delivery of due) {
      // Every try ended without an answer recorded (the instance died, or the database failed mid-way): give up.
      if (delivery.attempts >= MAX_PUSH_ATTEMPTS) {
        this.logger.warn({ messageId: delivery.messageId, subscriptionId: delivery.subscriptionId }, 'push given up');
        await this.finish(delivery, 'FAILED');
        continue;
      }
      const claimed = await writeAlone(this.dataSource, (manager) =>
        manager
          .createQueryBuilder()
          .update(PushDelivery)
          .set({ attempts: delivery.attempts + 1, nextAttemptAt: now + CLAIM_MS })
          .where(
            'messageId = :messageId AND subscriptionId = :subscriptionId AND status = :status AND attempts = :attempts',
            {
              messageId: delivery.messageId,
              subscriptionId: delivery.subscriptionId,
              status: 'PENDING',
              attempts: delivery.attempts,
            },
          )
          .execute(),
      );
      if ((claimed.affected ?? 0) === 0) continue;
      delivery.attempts += 1;
      const sending: Promise<void> = this.deliver(delivery)
        .catch((error: Error) => this.logger.warn({ err: error.message }, 'push delivery failed'))
        .finally(() => {
          this.sending.delete(sending);
          this.rounds.tick();
        });
      this.sending.add(sending);
    }
  }

  private async deliver(delivery: PushDelivery): Promise<void> {
    const manager = this.dataSource.manager;
    const [subscription, message] = await Promise.all([
      manager.findOneBy(PushSubscriptionRow, { id: delivery.subscriptionId }),
      manager.findOneBy(Message, { id: delivery.messageId }),
    ]);
    if (!subscription) return; // unregistered meanwhile: its rows went with it
    // Deleted after the push fell due but before it went out: not pushed.
    if (!message || message.deletedAt !== null) return this.finish(delivery, 'FAILED');
    const [sender, conversation] = await Promise.all([
      manager.findOneByOrFail(User, { id: message.senderId }),
      manager.findOneByOrFail(Conversation, { id: message.conversationId }),
    ]);
    const payload = buildPayload(message, sender, conversation, this.config.preview);
    const outcome = await sendPush(subscription, JSON.stringify(payload), {
      vapidKeys: this.vapidKeys,
      vapidSubject: this.config.vapidSubject,
      ttlSeconds: PUSH_TTL_SECONDS,
      urgency: conversation.kind === 'DIRECT' ? 'high' : 'normal',
      topic: `conversation${conversation.id}`,
    });
    await this.record(delivery, subscription, outcome);
  }

  private async record(delivery: PushDelivery, subscription: PushSubscriptionRow, outcome: PushOutcome): Promise<void> {
    const context = { messageId: delivery.messageId, subscriptionId: subscription.id, attempt: delivery.attempts };
    switch (outcome.kind) {
      case 'sent':
        return this.finish(delivery, 'SENT');
      case 'gone':
        // The browser unsubscribed or the service dropped it: forget it, its pending pushes with it.
        this.logger.info({ ...context, status: outcome.status }, 'push subscription gone; forgotten');
        await writeAlone(this.dataSource, (manager) =>
          manager.delete(PushSubscriptionRow, { endpointHash: subscription.endpointHash }),
        );
        return;
      case 'retry': {
        const backoff = RETRY_BASE_MS * 2 ** (delivery.attempts - 1);
        const delay = Math.max(backoff, outcome.retryAfterMs ?? 0);
        if (delivery.attempts >= MAX_PUSH_ATTEMPTS || delay > MAX_RETRY_DELAY_MS) {
          this.logger.warn({ ...context, status: outcome.status, reason: outcome.reason }, 'push given up');
          return this.finish(delivery, 'FAILED');
        }
        this.logger.debug({ ...context, status: outcome.status, delay }, 'push to be retried');
        await writeAlone(this.dataSource, (manager) =>
          manager.update(
            PushDelivery,
            { messageId: delivery.messageId, subscriptionId: delivery.subscriptionId },
            { nextAttemptAt: Date.now() + delay },
          ),
        );
        this.rounds.wakeIn(delay);
        return;
      }
      case 'failed':
        this.logger.warn({ ...context, status: outcome.status, reason: outcome.reason }, 'push refused');
        return this.finish(delivery, 'FAILED');
    }
  }

  private async finish(delivery: PushDelivery, status: 'SENT' | 'FAILED'): Promise<void> {
    await writeAlone(this.dataSource, (manager) =>
      manager.update(
        PushDelivery,
        { messageId: delivery.messageId, subscriptionId: delivery.subscriptionId },
        { status },
      ),
    );
  }
}
