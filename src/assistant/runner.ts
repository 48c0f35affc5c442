// Answers the messages addressed to the assistant, exactly once each, driven
// by the event log as push is (push/pusher.ts).
//
// Planning: one instance at a time holds the lease (assistant_state) and reads
// the log after its durable position. Each CREATED message by a person in a
// DIRECT conversation with the assistant, or mentioning it in a GROUP it
// belongs to, becomes one assistant_requests row, inserted in the transaction
// that moves the position past it, fenced by the lease.
//
// Running: the lease holder starts the oldest PENDING request of each
// conversation that has none RUNNING (one generation in flight per
// conversation; a message arriving meanwhile waits its turn and is answered
// after), claimed by a conditional update. The instance that claimed a request
// runs it to the end even if the lease moves on, renewing the request's own
// lease every second. The reply is posted at once (THINKING; its
// clientMessageId makes a retried post return the first), grows through
// EDITED events at most every FLUSH_MS while tokens arrive (GENERATING), and
// ends DONE or FAILED. Every write goes through updateGeneration, which
// changes only a reply still in progress: once it is STOPPED (stopGeneration,
// on any instance) or FAILED (taken over), a late write changes nothing and
// the run aborts its model request.
//
// Dying mid-generation: a RUNNING request whose lease lapsed (its instance is
// gone, or cut off from the database for longer than REQUEST_LEASE_MS) is
// taken over by the lease holder: its reply is marked FAILED with the text so
// far; one not yet posted is queued again.
import { setTimeout as wait } from 'node:timers/promises';
import { type DataSource, In, LessThan } from 'typeorm';
import type { AssistantConfig } from '../config.js';
import { Conversation, Membership, Message, type MessageEvent, User } from '../db/entities/index.js';
import { readWorkerEvents } from '../db/eventLog.js';
import { readMentions } from '../db/mentions.js';
import { completeStoppedText, GENERATION_IN_PROGRESS, storeMessage, updateGeneration } from '../db/messages.js';
import { LeasedRounds } from '../db/leasedRounds.js';
import { transaction, writeAlone } from '../db/transaction.js';
import type { Logger } from '../logger.js';
import type { Realtime } from '../realtime/index.js';
import { MESSAGE_BODY_MAX } from '../schema/limits.js';
import { AssistantRequest, AssistantState } from './entities.js';
import { Model, type StreamEnd } from './model.js';
import { buildPrompt, defaultSystemPrompt } from './prompt.js';
import { codePointLength } from '../codePoints.js';

/** How often each instance tries the lease and, holding it, plans and starts answers. */
const TICK_MS = 500;
/** A planning lease not renewed for this long passes to another instance. */
const LEASE_MS = 5_000;
/** How often a running generation's request lease is renewed (and typing repeated). */
const HEARTBEAT_MS = 1_000;
/** A RUNNING request whose lease lapsed this long ago belongs to a dead instance. */
const REQUEST_LEASE_MS = 5_000;
/** The reply's text is written at most this often while tokens arrive (one EDITED event each). */
export const FLUSH_MS = 300;
/** Generations one instance runs at once. */
const MAX_RUNNING = 8;
/** Events read per transaction. */
const EVENT_BATCH = 200;
/** A message older than this when planned (the assistant was off, or down) is not answered. */
const MAX_REQUEST_AGE_MS = 15 * 60_000;
/** How long stopping waits for generations to record how they ended. */
const STOP_WAIT_MS = 3_000;

/** The readable endings of a reply that did not finish. */
const FAILURE_TEXT = {
  timeout: 'The assistant did not answer in time. Please try again later.',
  cut: 'The answer was cut off: the connection to the model was lost.',
  unavailable: 'The assistant is unavailable right now. Please try again later.',
  unreachable: 'The assistant could not reach its model. Please try again later.',
  empty: 'The model gave an empty answer.',
  interrupted: 'The answer was interrupted: the server restarted. Please ask again.',
} as const;

type AbortReason = 'stopped' | 'lost' | 'shutdown';

type Run = {
  request: AssistantRequest;
  controller: AbortController;
  replyMessageId: number | null;
};

export class AssistantRunner {
  private readonly rounds: LeasedRounds;
  private readonly model: Model;
  private readonly systemPrompt: string;
  private timer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void)[] = [];
  private stopped = false;
  private readonly runs = new Map<number, Run>();
  private readonly finishing = new Set<Promise<void>>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AssistantConfig,
    private readonly botUserId: number,
    private readonly realtime: Realtime,
    private readonly logger: Logger,
  ) {
    this.rounds = new LeasedRounds(
      this.dataSource,
      AssistantState,
      LEASE_MS,
      () => this.round(),
      (error) => this.logger.warn({ err: error.message }, 'assistant round failed'),
    );
    this.model = new Model(config);
    this.systemPrompt = config.systemPrompt ?? defaultSystemPrompt(config.displayName, config.username);
  }

  async start(): Promise<void> {
    this.unsubscribe.push(
      await this.realtime.bus.subscribe('messageEvents', () => this.rounds.tick()),
      await this.realtime.bus.subscribe('assistantStop', ({ messageId }) => this.abortReply(messageId, 'stopped')),
    );
    this.timer = setInterval(() => this.rounds.tick(), TICK_MS);
    this.timer.unref();
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), HEARTBEAT_MS);
    this.heartbeatTimer.unref();
    this.rounds.tick();
  }

  /** Ends this instance's generations (FAILED, "interrupted"), and hands the lease on at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    await this.rounds.stop();
    for (const run of this.runs.values()) run.controller.abort('shutdown' satisfies AbortReason);
    await Promise.race([Promise.allSettled([...this.finishing]), wait(STOP_WAIT_MS, undefined, { ref: false })]);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    await this.rounds.releaseLease();
  }

  private async round(): Promise<void> {
    if (!(await this.rounds.holdLease())) return;
    await this.drainLog();
    await this.takeOverOrphans();
    await this.startDue();
  }

  /** Turns the CREATED events after the position into requests, moving the position past them. */
  private async drainLog(): Promise<void> {
    for (;;) {
      const position = await this.rounds.position();
      // The assistant answers only where it is a member.
      const { events, through } = await readWorkerEvents(this.dataSource, position, EVENT_BATCH, {
        sql: 'SELECT conversationId FROM memberships WHERE userId = ?',
        params: [this.botUserId],
      });
      if (through === position) return;
      const requests = await this.plan(events);
      const advanced = await transaction(this.dataSource, async (manager) => {
        if (!(await this.rounds.movePosition(manager, position, through))) return false;
        if (requests.length > 0) {
          const createdAt = new Date();
          await manager
            .createQueryBuilder()
            .insert()
            .into(AssistantRequest)
            .values(
              requests.map((request) => ({
                ...request,
                status: 'PENDING' as const,
                replyMessageId: null,
                owner: null,
                leaseUntil: 0,
                createdAt,
              })),
            )
            .orIgnore()
            .execute();
        }
        return true;
      });
      if (!advanced || events.length < EVENT_BATCH) return;
    }
  }

  /** Of the new messages, those the assistant answers. */
  private async plan(events: MessageEvent[]): Promise<{ promptMessageId: number; conversationId: number }[]> {
    if (events.length === 0) return [];
    const manager = this.dataSource.manager;
    const oldest = Date.now() - MAX_REQUEST_AGE_MS;
    const messages = (await manager.findBy(Message, { id: In(events.map((event) => event.messageId)) })).filter(
      (message) =>
        message.deletedAt === null &&
        message.senderId !== this.botUserId &&
        Boolean(message.body?.trim()) &&
        message.createdAt.getTime() >= oldest,
    );
    if (messages.length === 0) return [];
    const conversationIds = [...new Set(messages.map((message) => message.conversationId))];
    const [bots, memberOf, conversations] = await Promise.all([
      manager.find(User, {
        select: { id: true },
        where: { id: In([...new Set(messages.map((message) => message.senderId))]), isBot: true },
      }),
      manager.find(Membership, {
        select: { conversationId: true },
        where: { userId: this.botUserId, conversationId: In(conversationIds) },
      }),
      manager.find(Conversation, { select: { id: true, kind: true }, where: { id: In(conversationIds) } }),
    ]);
    const botIds = new Set(bots.map((bot) => bot.id));
    const member = new Set(memberOf.map((membership) => membership.conversationId));
    const kinds = new Map(conversations.map((conversation) => [conversation.id, conversation.kind]));
    const candidates = messages.filter(
      (message) => !botIds.has(message.senderId) && member.has(message.conversationId),
    );
    const groupMessages = candidates.filter((message) => kinds.get(message.conversationId) === 'GROUP');
    const mentions = await readMentions(
      manager,
      groupMessages.map((message) => message.id),
    );
    return candidates
      .filter(
        (message) =>
          kinds.get(message.conversationId) === 'DIRECT' || mentions.get(message.id)?.includes(this.botUserId),
      )
      .map((message) => ({ promptMessageId: message.id, conversationId: message.conversationId }));
  }

  /** Ends the generations of instances that stopped renewing them: FAILED with the text so far, or queued again if never posted. */
  private async takeOverOrphans(): Promise<void> {
    const now = Date.now();
    const orphans = await this.dataSource.manager.find(AssistantRequest, {
      where: { status: 'RUNNING', leaseUntil: LessThan(now - REQUEST_LEASE_MS) },
      take: 50,
    });
    for (const orphan of orphans) {
      if (this.runs.has(orphan.promptMessageId)) continue;
      const claimed = await writeAlone(this.dataSource, (manager) =>
        manager
          .createQueryBuilder()
          .update(AssistantRequest)
          .set(
            orphan.replyMessageId === null
              ? { status: 'PENDING', owner: null, leaseUntil: 0 }
              : { status: 'FINISHED', owner: null },
          )
          .where('promptMessageId = :id AND status = :status AND leaseUntil = :leaseUntil', {
            id: orphan.promptMessageId,
            status: 'RUNNING',
            leaseUntil: orphan.leaseUntil,
          })
          .execute(),
      );
      if ((claimed.affected ?? 0) === 0 || orphan.replyMessageId === null) continue;
      const reply = await this.dataSource.manager.findOneBy(Message, { id: orphan.replyMessageId });
      if (!reply) continue;
      const failed = await updateGeneration(this.dataSource, reply.id, {
        body: withNote(reply.body ?? '', FAILURE_TEXT.interrupted),
        generation: 'FAILED',
      });
      this.logger.warn({ messageId: reply.id, conversationId: reply.conversationId }, 'assistant reply taken over');
      if (failed) await this.realtime.feed.announce(failed.event.position);
      await this.realtime.typing.set(reply.conversationId, this.botUserId, false);
    }
  }

  /** Starts the oldest pending request of each conversation with nothing running, as many as free slots allow. */
  private async startDue(): Promise<void> {
    let free = MAX_RUNNING - this.runs.size;
    if (free <= 0 || this.stopped) return;
    const manager = this.dataSource.manager;
    const [pending, running] = await Promise.all([
      manager.find(AssistantRequest, {
        where: { status: 'PENDING' },
        order: { promptMessageId: 'ASC' },
        take: 200,
      }),
      manager.find(AssistantRequest, { select: { conversationId: true }, where: { status: 'RUNNING' } }),
    ]);
    const busy = new Set(running.map((request) => request.conversationId));
    const now = Date.now();
    for (const request of pending) {
      if (busy.has(request.conversationId)) continue;
      busy.add(request.conversationId);
      // The subquery keeps one RUNNING per conversation even if a former holder's round overlaps this one;
      // wrapped in a derived table (with LIMIT, so it is not merged) because MySQL cannot read the table it updates.
      const claimed = await writeAlone(this.dataSource, (writer) =>
        writer
          .createQueryBuilder()
          .update(AssistantRequest)
          .set({ status: 'RUNNING', owner: this.rounds.owner, leaseUntil: now + REQUEST_LEASE_MS })
          .where('promptMessageId = :id AND status = :pending', { id: request.promptMessageId, pending: 'PENDING' })
          .andWhere(
            'NOT EXISTS (SELECT 1 FROM (SELECT promptMessageId FROM assistant_requests WHERE conversationId = :conversationId AND status = :running LIMIT 1) AS busy)',
            { conversationId: request.conversationId, running: 'RUNNING' },
          )
          .execute(),
      );
      if ((claimed.affected ?? 0) === 0) continue;
      request.status = 'RUNNING';
      request.owner = this.rounds.owner;
      this.launch(request);
      if (--free <= 0) return;
    }
  }

  private launch(request: AssistantRequest): void {
    const run: Run = { request, controller: new AbortController(), replyMessageId: request.replyMessageId };
    this.runs.set(request.promptMessageId, run);
    const finished: Promise<void> = this.generate(run)
      .catch((error: Error) =>
        this.logger.error({ err: error.message, promptMessageId: request.promptMessageId }, 'assistant run failed'),
      )
      .finally(async () => {
        this.runs.delete(request.promptMessageId);
        this.finishing.delete(finished);
        await writeAlone(this.dataSource, (manager) =>
          manager.update(
            AssistantRequest,
            { promptMessageId: request.promptMessageId, owner: this.rounds.owner, status: 'RUNNING' },
            { status: 'FINISHED' },
          ),
        ).catch((error: Error) => this.logger.warn({ err: error.message }, 'assistant request not marked finished'));
        await this.realtime.typing.set(request.conversationId, this.botUserId, false);
        this.rounds.tick();
      });
    this.finishing.add(finished);
  }

  /** Renews this instance's requests; aborts runs whose request was taken over or whose reply was stopped. */
  private async heartbeat(): Promise<void> {
    if (this.runs.size === 0) return;
    try {
      await writeAlone(this.dataSource, (manager) =>
        manager
          .createQueryBuilder()
          .update(AssistantRequest)
          .set({ leaseUntil: Date.now() + REQUEST_LEASE_MS })
          .where('owner = :owner AND status = :status', { owner: this.rounds.owner, status: 'RUNNING' })
          .execute(),
      );
      const runs = [...this.runs.values()];
      const [held, replies] = await Promise.all([
        this.dataSource.manager.find(AssistantRequest, {
          select: { promptMessageId: true },
          where: { owner: this.rounds.owner, status: 'RUNNING' },
        }),
        this.dataSource.manager.find(Message, {
          select: { id: true, generation: true, deletedAt: true },
          where: { id: In(runs.map((run) => run.replyMessageId ?? 0)) },
        }),
      ]);
      const heldIds = new Set(held.map((request) => request.promptMessageId));
      const ended = new Set(
        replies
          .filter((reply) => reply.deletedAt !== null || !GENERATION_IN_PROGRESS.includes(reply.generation!))
          .map((reply) => reply.id),
      );
      for (const run of runs) {
        // A stop whose announcement was lost (pub/sub is lossy) is seen here within a second.
        if (run.replyMessageId !== null && ended.has(run.replyMessageId)) run.controller.abort('stopped');
        else if (!heldIds.has(run.request.promptMessageId) && this.runs.has(run.request.promptMessageId)) {
          run.controller.abort('lost' satisfies AbortReason);
        } else void this.realtime.typing.set(run.request.conversationId, this.botUserId, true);
      }
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'assistant heartbeat failed');
    }
  }

  private abortReply(messageId: number, reason: AbortReason): void {
    for (const run of this.runs.values()) if (run.replyMessageId === messageId) run.controller.abort(reason);
  }

  /** Posts the reply, streams the answer into it, and records how it ended. */
  private async generate(run: Run): Promise<void> {
    const { request, controller } = run;
    const manager = this.dataSource.manager;
    const prompt = await manager.findOneBy(Message, { id: request.promptMessageId });
    const conversation = await manager.findOneBy(Conversation, { id: request.conversationId });
    if (!prompt || prompt.deletedAt !== null || !conversation) return;
    const stored = await storeMessage(this.dataSource, {
      conversationId: request.conversationId,
      senderId: this.botUserId,
      body: '',
      // A post retried after a crash returns this first one.
      clientMessageId: `assistant:${request.promptMessageId}`,
      replyToId: conversation.kind === 'GROUP' ? prompt.id : null,
      generation: 'THINKING',
    });
    if (!stored) return; // the assistant was removed from the conversation meanwhile
    const reply = stored.message;
    run.replyMessageId = reply.id;
    await Promise.all([
      stored.event && this.realtime.feed.announce(stored.event.position),
      this.realtime.typing.set(request.conversationId, this.botUserId, true),
    ]);
    if (!reply.generation || !GENERATION_IN_PROGRESS.includes(reply.generation)) return;
    const recorded = await writeAlone(this.dataSource, (writer) =>
      writer.update(
        AssistantRequest,
        { promptMessageId: request.promptMessageId, owner: this.rounds.owner, status: 'RUNNING' },
        { replyMessageId: reply.id },
      ),
    );
    if ((recorded.affected ?? 0) === 0) return; // taken over meanwhile
    if (controller.signal.aborted) return this.endAborted(run, reply.body ?? '');

    const turns = await buildPrompt(this.dataSource, {
      conversationId: request.conversationId,
      promptMessageId: request.promptMessageId,
      assistantUserId: this.botUserId,
      systemPrompt: this.systemPrompt,
      maxInputTokens: this.config.maxInputTokens,
    });

    const writer = new ThrottledWriter(this.dataSource, this.realtime, reply.id, () => controller.abort('stopped'));
    const startedAt = Date.now();
    const end = await this.model.stream(turns, controller.signal, (text) => {
      if (writer.append(text) === 'full') controller.abort('full');
    });
    await writer.settle();
    const text = writer.text;
    const logged = {
      conversationId: request.conversationId,
      messageId: reply.id,
      model: this.config.model,
      promptTurns: turns.length,
      promptTokens: end.usage?.promptTokens ?? null,
      completionTokens: end.usage?.completionTokens ?? null,
      answerChars: text.length,
      ms: Date.now() - startedAt,
    };
    const outcome = this.outcome(end, text);
    this.logger.info({ ...logged, outcome: outcome.generation ?? String(end.kind) }, 'assistant answered');
    if (outcome.generation === null) return this.endAborted(run, text);
    const final = await updateGeneration(this.dataSource, reply.id, {
      body: outcome.body,
      generation: outcome.generation,
    });
    if (final) await this.realtime.feed.announce(final.event.position);
  }

  /** The final state and text for how the stream ended; null generation when it was aborted. */
  private outcome(end: StreamEnd, text: string): { generation: 'DONE' | 'FAILED' | null; body: string } {
    switch (end.kind) {
      case 'finished':
        return text.trim() ? { generation: 'DONE', body: text } : failed(text, FAILURE_TEXT.empty);
      case 'aborted':
        // Full: the answer reached the longest message allowed; it is kept as it is.
        return end.reason === 'full' ? { generation: 'DONE', body: text } : { generation: null, body: text };
      case 'timeout':
        return failed(text, FAILURE_TEXT.timeout);
      case 'cut':
        return failed(text, FAILURE_TEXT.cut);
      case 'error':
        this.logger.warn({ status: end.status, err: end.message }, 'assistant model request failed');
        return failed(text, end.status === null ? FAILURE_TEXT.unreachable : FAILURE_TEXT.unavailable);
    }
  }

  /**
   * A run aborted: by a stop (already STOPPED: the text that had arrived since
   * the last write is added), a takeover (not ours any more), or shutdown (FAILED).
   */
  private async endAborted(run: Run, text: string): Promise<void> {
    if (run.replyMessageId === null) return;
    if (run.controller.signal.reason === 'stopped') {
      const completed = await completeStoppedText(this.dataSource, run.replyMessageId, text);
      if (completed) await this.realtime.feed.announce(completed.event.position);
      return;
    }
    if (run.controller.signal.reason !== 'shutdown') return;
    const final = await updateGeneration(this.dataSource, run.replyMessageId, {
      body: withNote(text, FAILURE_TEXT.interrupted),
      generation: 'FAILED',
    });
    if (final) await this.realtime.feed.announce(final.event.position);
  }
}

function failed(text: string, note: string): { generation: 'FAILED'; body: string } {
  return { generation: 'FAILED', body: withNote(text, note) };
}

/** The text so far, then the note in its own paragraph. */
function withNote(text: string, note: string): string {
  const kept = text.trimEnd();
  const body = kept ? `${kept}\n\n(${note})` : note;
  return codePointLength(body) > MESSAGE_BODY_MAX
    ? `${[...kept].slice(0, MESSAGE_BODY_MAX - note.length - 4).join('')}\n\n(${note})`
    : body;
}

/**
 * The reply's text as it grows: written at most every FLUSH_MS (one EDITED
 * event each, never one write per token), the first write as soon as the
 * first token arrives (THINKING becomes GENERATING).
 */
class ThrottledWriter {
  text = '';
  private written = '';
  private lastWriteAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly realtime: Realtime,
    private readonly messageId: number,
    /** Called when the reply is no longer in progress (stopped, taken over, deleted). */
    private readonly onEnded: () => void,
  ) {}

  /** Adds text; 'full' once the reply reached the longest message allowed (the rest is dropped). */
  append(delta: string): 'ok' | 'full' {
    if (this.closed) return 'ok';
    this.text += delta;
    let full = false;
    if (this.text.length > MESSAGE_BODY_MAX && codePointLength(this.text) > MESSAGE_BODY_MAX) {
      this.text = [...this.text].slice(0, MESSAGE_BODY_MAX).join('');
      full = true;
    }
    this.schedule();
    return full ? 'full' : 'ok';
  }

  private schedule(): void {
    if (this.timer || this.writing || this.closed) return;
    const delay = Math.max(0, this.lastWriteAt + FLUSH_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.writing = this.flush().finally(() => {
        this.writing = null;
        if (this.text !== this.written) this.schedule();
      });
    }, delay);
  }

  private async flush(): Promise<void> {
    if (this.closed || this.text === this.written) return;
    const text = this.text;
    this.lastWriteAt = Date.now();
    try {
      const change = await updateGeneration(this.dataSource, this.messageId, { body: text, generation: 'GENERATING' });
      if (!change) {
        this.closed = true;
        this.onEnded();
        return;
      }
      this.written = text;
      await this.realtime.feed.announce(change.event.position);
    } catch {
      // A failed intermediate write is made good by the next one or the final one.
    }
  }

  /** No more writes from here: waits for the one in flight. */
  async settle(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.writing;
  }
}
