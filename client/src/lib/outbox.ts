// The viewer's sends waiting to be stored: one at a time per conversation, in
// the order they were written, so concurrent requests cannot commit them out of
// order. A send that may still succeed (network error, rate limit) is tried
// again with the same clientMessageId, which the server stores at most once,
// for as long as it takes; a server fault a few times; a definite refusal gives
// it up at once. A send given up waits for retry() and the next one goes on.

/** Waits between tries when the server gives no retryAfterMs: 0.5 s, 1 s, 2 s, ... up to 10 s. */
const RETRY_BASE_MS = 500;
const RETRY_MAX_MS = 10_000;
/** Tries of a send that meets a server fault (masked internal error) before it is given up. */
export const MAX_FAULT_TRIES = 5;

/** Codes after which the same send can never succeed (see the API contract). */
const DEFINITE_CODES = new Set([
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'FORBIDDEN',
  'CONFLICT',
  'UNAUTHENTICATED',
  'PAYLOAD_TOO_LARGE',
]);

export type QueuedSend = {
  conversationId: string;
  clientMessageId: string;
  body: string;
  replyToId?: string | null;
  attachmentIds?: string[];
};

/** What one try came to. */
export type Attempt<T> =
  | { kind: 'sent'; value: T }
  /** Will succeed once the network or the rate limit allows. */
  | { kind: 'transient'; retryAfterMs: number | null }
  /** The server failed: maybe a blip, maybe this message every time. */
  | { kind: 'fault'; error: string }
  | { kind: 'definite'; error: string };

/** The parts of a failed request (urql's CombinedError) that decide whether to try again. */
export type SendError = {
  graphQLErrors: ReadonlyArray<{ extensions?: Record<string, unknown> }>;
  networkError?: unknown;
};

/** Which kind of failed try an error makes, and when to try again (RATE_LIMITED says so). */
export function classifySendError(
  error: SendError,
): { kind: 'transient'; retryAfterMs: number | null } | { kind: 'fault' } | { kind: 'definite' } {
  const extensions = error.graphQLErrors[0]?.extensions;
  if (!extensions) return { kind: 'transient', retryAfterMs: null }; // network error, closed connection, no answer
  const code = extensions.code;
  if (code === 'RATE_LIMITED') {
    const after = extensions.retryAfterMs;
    return { kind: 'transient', retryAfterMs: typeof after === 'number' ? after : null };
  }
  if (typeof code === 'string' && DEFINITE_CODES.has(code)) return { kind: 'definite' };
  return { kind: 'fault' };
}

export function retryDelay(failures: number): number {
  return Math.min(RETRY_BASE_MS * 2 ** Math.max(0, failures - 1), RETRY_MAX_MS);
}

export type OutboxOptions<T> = {
  /** One try at storing the send. A throw counts as transient. */
  attempt(send: QueuedSend): Promise<Attempt<T>>;
  onSent(send: QueuedSend, value: T): void;
  /** Given up: the send stays aside until retry() or discard(). */
  onFailed(send: QueuedSend, error: string): void;
  sleep?(ms: number): Promise<void>;
};

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class Outbox<T> {
  /** Per conversation, oldest first; the head is the one being tried. */
  private readonly queues = new Map<string, QueuedSend[]>();
  private readonly failed = new Map<string, QueuedSend>();
  /** Ends the current waits early (the connection is back). */
  private wakeUp: Array<() => void> = [];
  private stopped = false;

  constructor(private readonly options: OutboxOptions<T>) {}

  enqueue(send: QueuedSend): void {
    if (this.stopped) return;
    const queue = this.queues.get(send.conversationId);
    if (queue) {
      queue.push(send);
      return;
    }
    this.queues.set(send.conversationId, [send]);
    void this.drain(send.conversationId);
  }

  /** Sends a given-up message again, after those already waiting in its conversation. */
  retry(clientMessageId: string): boolean {
    const send = this.failed.get(clientMessageId);
    if (!send) return false;
    this.failed.delete(clientMessageId);
    this.enqueue(send);
    return true;
  }

  /** Forgets a given-up message, or one still waiting its turn (not one being tried). */
  discard(clientMessageId: string): boolean {
    if (this.failed.delete(clientMessageId)) return true;
    for (const queue of this.queues.values()) {
      const index = queue.findIndex((send) => send.clientMessageId === clientMessageId);
      if (index > 0) {
        queue.splice(index, 1);
        return true;
      }
    }
    return false;
  }

  /** Tries the waiting sends now instead of after their delay. */
  nudge(): void {
    const wakeUp = this.wakeUp;
    this.wakeUp = [];
    for (const wake of wakeUp) wake();
  }

  dispose(): void {
    this.stopped = true;
    this.queues.clear();
    this.failed.clear();
    this.nudge();
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.wakeUp = this.wakeUp.filter((wake) => wake !== done);
        resolve();
      };
      this.wakeUp.push(done);
      void (this.options.sleep ?? defaultSleep)(ms).then(done);
    });
  }

  private async drain(conversationId: string): Promise<void> {
    const queue = this.queues.get(conversationId)!;
    let failures = 0;
    let faults = 0;
    while (!this.stopped && queue.length > 0) {
      const send = queue[0]!;
      let attempt: Attempt<T>;
      try {
        attempt = await this.options.attempt(send);
      } catch {
        attempt = { kind: 'transient', retryAfterMs: null };
      }
      if (this.stopped) return;
      if (attempt.kind === 'fault' && ++faults < MAX_FAULT_TRIES) attempt = { kind: 'transient', retryAfterMs: null };
      if (attempt.kind === 'transient') {
        failures++;
        await this.wait(attempt.retryAfterMs ?? retryDelay(failures));
        continue;
      }
      failures = 0;
      faults = 0;
      queue.shift();
      if (attempt.kind === 'sent') {
        this.options.onSent(send, attempt.value);
      } else {
        this.failed.set(send.clientMessageId, send);
        this.options.onFailed(send, attempt.error);
      }
    }
    if (this.queues.get(conversationId) === queue) this.queues.delete(conversationId);
  }
}
