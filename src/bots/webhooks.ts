// Delivers bot webhooks for new messages, exactly once per (message, bot),
// driven by the event log as push is (push/pusher.ts, whose design this
// follows): one instance at a time holds the lease (webhook_state) and reads
// the log after its durable position; for each CREATED event by a non-bot it
// inserts one outbox row per bot member with a webhook, in the transaction
// that moves the position past the event, fenced by the lease. One position
// serves every bot: a bot's share of the log is its outbox rows, which carry
// its progress (pending, retried, sent, given up) durably and separately, so a
// dead webhook holds back no other bot. Each row is claimed by a conditional
// update before its request goes out and marked when the answer is recorded:
// neither another instance nor a restart sends it twice, and a crash leaves it
// to be sent again (same delivery id) once its claim lapses. Pub/sub only
// rings the bell; sending a message never waits for any of this.
import { randomUUID } from 'node:crypto';
import { setTimeout as wait } from 'node:timers/promises';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { type DataSource, In, LessThanOrEqual, Not } from 'typeorm';
import type { WebhookConfig } from '../config.js';
import { Block, Membership, Message, type MessageEvent, User } from '../db/entities/index.js';
import { readWorkerEvents, type WorkerConversations } from '../db/eventLog.js';
import { storeMessage } from '../db/messages.js';
import { LeasedRounds } from '../db/leasedRounds.js';
import { transaction, writeAlone } from '../db/transaction.js';
import type { Logger } from '../logger.js';
import type { Realtime } from '../realtime/index.js';
import { MESSAGE_BODY_MAX } from '../schema/limits.js';
import { BotRow, WebhookDelivery, WebhookState } from './entities.js';
import { MAX_ANSWER_BYTES, postWebhook, type WebhookOutcome } from './send.js';
import { codePointLength } from '../codePoints.js';

/** How often each instance tries the lease and, holding it, reads the log and the outbox. */
const TICK_MS = 500;
/** A lease not renewed for this long passes to another instance. */
const LEASE_MS = 5_000;
/** Events read per transaction. */
const EVENT_BATCH = 200;
/** Under load, the pause between rounds: a webhook leaves at most this much later, and a round takes a batch. */
const ROUND_GAP_MS = 50;
/** Requests in flight at once from the holder, all bots together. */
const SEND_CONCURRENCY = 32;
/** Requests in flight at once to one bot: a slow bot keeps at most this many slots. */
export const PER_BOT_CONCURRENCY = 4;
/** Tries per delivery, the first included. */
export const MAX_WEBHOOK_ATTEMPTS = 4;
/** Each retry waits this many times longer than the one before (retryBaseMs, then ×3, ×9). */
const RETRY_GROWTH = 3;
/** How long stopping waits for requests in flight. */
const STOP_WAIT_MS = 3_000;
/** Finished rows are kept this long (for inspection), then deleted, checked this often. */
const FINISHED_ROWS_KEPT_MS = 2 * 86_400_000;
const PURGE_INTERVAL_MS = 3_600_000;

/** Where a webhook may be due: conversations with a bot member that has a webhook. */
const WEBHOOK_CONVERSATIONS: WorkerConversations = {
  sql:
    'SELECT membership.conversationId FROM memberships membership ' +
    'JOIN bots bot ON bot.userId = membership.userId WHERE bot.webhookUrl IS NOT NULL',
  params: [],
};

/** The JSON body of a webhook, as the contract part bots.graphql gives it. */
export type WebhookBody = {
  id: string;
  type: 'message.created';
  conversationId: string;
  message: { id: string; body: string | null; createdAt: string; sender: { id: string; username: string } };
};

export class WebhookWorker {
  private readonly rounds: LeasedRounds;
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private readonly sending = new Set<Promise<void>>();
  /** Requests in flight per bot. */
  private readonly inFlight = new Map<number, number>();
  /**
   * From when the outbox may hold a due delivery no round has looked for
   * (Infinity: none). Rows inserted, a request ended, a retry's time, the
   * periodic look: each moves it. A bell about new messages alone does not:
   * those add rows only through drainLog, and under load the bells start a
   * round every ROUND_GAP_MS, whose outbox query found nothing almost always.
   */
  private outboxDueAt = 0;
  private lastPurge = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: WebhookConfig,
    private readonly realtime: Realtime,
    private readonly logger: Logger,
  ) {
    this.rounds = new LeasedRounds(
      this.dataSource,
      WebhookState,
      LEASE_MS,
      () => this.round(),
      (error) => this.logger.warn({ err: error.message }, 'webhook round failed'),
      ROUND_GAP_MS,
    );
  }

  async start(): Promise<void> {
    this.unsubscribe = await this.realtime.bus.subscribe('messageEvents', () => this.rounds.tick());
    this.timer = setInterval(() => this.lookAtOutbox(Date.now()), TICK_MS);
    this.timer.unref();
    this.rounds.tick();
  }

  /** Stops working, waits a moment for requests in flight, and hands the lease on at once. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
    await this.rounds.stop();
    // Answers not back by then are never recorded: those deliveries go out again once their claim lapses.
    await Promise.race([Promise.allSettled([...this.sending]), wait(STOP_WAIT_MS, undefined, { ref: false })]);
    await this.rounds.releaseLease();
  }

  /** A claimed delivery whose answer was never recorded (the instance died) is due again after this. */
  private get claimMs(): number {
    return this.config.timeoutMs + 5_000;
  }

  private async round(): Promise<void> {
    if (!(await this.rounds.holdLease())) return;
    await this.drainLog();
    if (Date.now() >= this.outboxDueAt) {
      this.outboxDueAt = Infinity;
      await this.sendDue();
    }
    if (Date.now() - this.lastPurge > PURGE_INTERVAL_MS) await this.purge();
  }

  private async purge(): Promise<void> {
    this.lastPurge = Date.now();
    await writeAlone(this.dataSource, (manager) =>
      manager
        .createQueryBuilder()
        .delete()
        .from(WebhookDelivery)
        .where('status <> :pending AND createdAt < :before', {
          pending: 'PENDING',
          before: new Date(Date.now() - FINISHED_ROWS_KEPT_MS),
        })
        .execute(),
    );
  }

  /** Turns every CREATED event after the position into outbox rows, moving the position past it. */
  private async drainLog(): Promise<void> {
    for (;;) {
      const position = await this.rounds.position();
      const { events, through } = await readWorkerEvents(this.dataSource, position, EVENT_BATCH, WEBHOOK_CONVERSATIONS);
      if (through === position) return;
      const deliveries = await this.plan(events);
      const advanced = await transaction(this.dataSource, async (manager) => {
        if (!(await this.rounds.movePosition(manager, position, through))) return false;
        const createdAt = new Date();
        for (let start = 0; start < deliveries.length; start += 500) {
          await manager
            .createQueryBuilder()
            .insert()
            .into(WebhookDelivery)
            .values(
              deliveries.slice(start, start + 500).map((delivery) => ({
                id: randomUUID(),
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
      if (advanced && deliveries.length > 0) this.outboxDueAt = 0;
      if (!advanced || events.length < EVENT_BATCH) return;
    }
  }

  /**
   * The (message, bot) pairs: messages by people (not bots), to each bot
   * member with a webhook (the events come from such conversations only:
   * WEBHOOK_CONVERSATIONS).
   */
  private async plan(created: MessageEvent[]): Promise<{ messageId: number; botId: number }[]> {
    if (created.length === 0) return [];
    const conversationIds = [...new Set(created.map((event) => event.conversationId))];
    const botMembers: { conversationId: number | string; botId: number | string }[] = await this.dataSource.manager
      .createQueryBuilder(Membership, 'membership')
      .innerJoin(BotRow, 'bot', 'bot.userId = membership.userId')
      .where('membership.conversationId IN (:...conversationIds) AND bot.webhookUrl IS NOT NULL', { conversationIds })
      .select(['membership.conversationId AS conversationId', 'bot.userId AS botId'])
      .getRawMany();
    if (botMembers.length === 0) return [];
    const withBots = new Set(botMembers.map((member) => Number(member.conversationId)));
    const messageIds = created.filter((event) => withBots.has(event.conversationId)).map((event) => event.messageId);
    const messages = await this.dataSource.manager
      .createQueryBuilder(Message, 'message')
      .innerJoin(User, 'sender', 'sender.id = message.senderId')
      .where('message.id IN (:...ids) AND message.deletedAt IS NULL AND sender.isBot = :no', {
        ids: messageIds,
        no: false,
      })
      .select(['message.id', 'message.conversationId', 'message.senderId'])
      .getMany();
    return messages.flatMap((message) =>
      botMembers
        .filter((member) => Number(member.conversationId) === message.conversationId)
        .map((member) => ({ messageId: message.id, botId: Number(member.botId) })),
    );
  }

  /** Starts due deliveries as slots allow (overall and per bot), each claimed first so it goes out once. */
  private async sendDue(): Promise<void> {
    const free = SEND_CONCURRENCY - this.sending.size;
    if (free <= 0) return;
    const now = Date.now();
    const saturated = [...this.inFlight].filter(([, count]) => count >= PER_BOT_CONCURRENCY).map(([botId]) => botId);
    const due = await this.dataSource.manager.find(WebhookDelivery, {
      where: {
        status: 'PENDING',
        nextAttemptAt: LessThanOrEqual(now),
        ...(saturated.length > 0 ? { botId: Not(In(saturated)) } : {}),
      },
      order: { nextAttemptAt: 'ASC', createdAt: 'ASC' },
      take: free * 2,
    });
    for (const delivery of due) {
      if (this.sending.size >= SEND_CONCURRENCY) break;
      if ((this.inFlight.get(delivery.botId) ?? 0) >= PER_BOT_CONCURRENCY) continue;
      // Every try ended without an answer recorded (the instance died mid-way): give up.
      if (delivery.attempts >= MAX_WEBHOOK_ATTEMPTS) {
        this.logger.warn({ deliveryId: delivery.id, botId: delivery.botId }, 'webhook given up');
        await this.finish(delivery, 'FAILED');
        continue;
      }
      const claimed = await writeAlone(this.dataSource, (manager) =>
        manager
          .createQueryBuilder()
          .update(WebhookDelivery)
          .set({ attempts: delivery.attempts + 1, nextAttemptAt: now + this.claimMs })
          .where('id = :id AND status = :status AND attempts = :attempts', {
            id: delivery.id,
            status: 'PENDING',
            attempts: delivery.attempts,
          })
          .execute(),
      );
      if ((claimed.affected ?? 0) === 0) continue;
      delivery.attempts += 1;
      this.inFlight.set(delivery.botId, (this.inFlight.get(delivery.botId) ?? 0) + 1);
      const sending: Promise<void> = this.deliver(delivery)
        .catch((error: Error) => this.logger.warn({ err: error.message, deliveryId: delivery.id }, 'webhook failed'))
        .finally(() => {
          this.sending.delete(sending);
          const left = (this.inFlight.get(delivery.botId) ?? 1) - 1;
          if (left > 0) this.inFlight.set(delivery.botId, left);
          else this.inFlight.delete(delivery.botId);
          this.lookAtOutbox(Date.now());
        });
      this.sending.add(sending);
    }
  }

  /** Has a round look for due deliveries at `at`: now, or at a retry's time. */
  private lookAtOutbox(at: number): void {
    this.outboxDueAt = Math.min(this.outboxDueAt, at);
    const wait = at - Date.now();
    if (wait > 0) this.rounds.wakeIn(wait);
    else this.rounds.tick();
  }

  private async deliver(delivery: WebhookDelivery): Promise<void> {
    const manager = this.dataSource.manager;
    const [bot, message] = await Promise.all([
      manager.findOneBy(BotRow, { userId: delivery.botId }),
      manager.findOneBy(Message, { id: delivery.messageId }),
    ]);
    if (!bot) return; // deleted meanwhile: its rows went with it
    if (!bot.webhookUrl || !bot.webhookSecret || !message || message.deletedAt !== null) {
      return this.finish(delivery, 'FAILED');
    }
    const sender = await manager.findOneByOrFail(User, { id: message.senderId });
    const body: WebhookBody = {
      id: delivery.id,
      type: 'message.created',
      conversationId: encodeGlobalID('Conversation', message.conversationId),
      message: {
        id: encodeGlobalID('Message', message.id),
        body: message.body,
        createdAt: message.createdAt.toISOString(),
        sender: { id: encodeGlobalID('User', sender.id), username: sender.username },
      },
    };
    const outcome = await postWebhook(
      bot.webhookUrl,
      { deliveryId: delivery.id, secret: bot.webhookSecret, body: JSON.stringify(body) },
      { timeoutMs: this.config.timeoutMs, allowPrivate: this.config.allowPrivate },
    );
    await this.record(delivery, message, outcome);
  }

  private async record(delivery: WebhookDelivery, message: Message, outcome: WebhookOutcome): Promise<void> {
    const context = { deliveryId: delivery.id, botId: delivery.botId, attempt: delivery.attempts };
    switch (outcome.kind) {
      case 'delivered':
        if (outcome.oversized)
          this.logger.warn(context, `webhook answer over ${MAX_ANSWER_BYTES} bytes: no reply posted`);
        if (outcome.text !== null) await this.reply(delivery, message.conversationId, outcome.text);
        return this.finish(delivery, 'SENT');
      case 'refused':
        this.logger.warn({ ...context, reason: outcome.reason }, 'webhook target refused');
        return this.finish(delivery, 'FAILED');
      case 'retry': {
        if (delivery.attempts >= MAX_WEBHOOK_ATTEMPTS) {
          this.logger.warn({ ...context, reason: outcome.reason }, 'webhook given up');
          return this.finish(delivery, 'FAILED');
        }
        const delay = this.config.retryBaseMs * RETRY_GROWTH ** (delivery.attempts - 1);
        this.logger.info({ ...context, reason: outcome.reason, delay }, 'webhook to be retried');
        await writeAlone(this.dataSource, (manager) =>
          manager.update(WebhookDelivery, { id: delivery.id }, { nextAttemptAt: Date.now() + delay }),
        );
        this.lookAtOutbox(Date.now() + delay);
        return;
      }
    }
  }

  /**
   * Posts the bot's reply through the send path (stored, then announced so it
   * fans out live). Its clientMessageId is the delivery's: a retry after a
   * crash stores it once. Refused, as a send by the bot would be, when the bot
   * left meanwhile or the other member of a DIRECT conversation blocked it.
   */
  private async reply(delivery: WebhookDelivery, conversationId: number, text: string): Promise<void> {
    const body = text.trim();
    const context = { deliveryId: delivery.id, botId: delivery.botId };
    if (body.length === 0 || codePointLength(body) > MESSAGE_BODY_MAX) {
      this.logger.warn(context, `webhook reply ignored: its text must be 1 to ${MESSAGE_BODY_MAX} characters`);
      return;
    }
    const blocked = await this.dataSource.manager
      .createQueryBuilder(Block, 'block')
      .innerJoin(Membership, 'membership', 'membership.userId = block.blockerId')
      .innerJoin('conversations', 'conversation', 'conversation.id = membership.conversationId')
      .where("membership.conversationId = :conversationId AND conversation.kind = 'DIRECT'", { conversationId })
      .andWhere('block.blockedId = :botId', { botId: delivery.botId })
      .getCount();
    if (blocked > 0) {
      this.logger.info(context, 'webhook reply not posted: the bot is blocked there');
      return;
    }
    const stored = await storeMessage(this.dataSource, {
      conversationId,
      senderId: delivery.botId,
      body,
      clientMessageId: `webhook-${delivery.id}`,
    });
    if (!stored) {
      this.logger.info(context, 'webhook reply not posted: the bot is no longer a member');
      return;
    }
    if (stored.event) await this.realtime.feed.announce(stored.event.position);
  }

  private async finish(delivery: WebhookDelivery, status: 'SENT' | 'FAILED'): Promise<void> {
    await writeAlone(this.dataSource, (manager) => manager.update(WebhookDelivery, { id: delivery.id }, { status }));
  }
}
