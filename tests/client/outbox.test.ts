// The outbox: one send at a time per conversation, in the order written,
// retried with the same clientMessageId until it is stored or definitely refused.
import { describe, expect, it } from 'vitest';
import {
  type Attempt,
  classifySendError,
  MAX_FAULT_TRIES,
  Outbox,
  type QueuedSend,
  retryDelay,
} from '../../client/src/lib/outbox.js';

type Pending = { send: QueuedSend; settle(attempt: Attempt<string>): void };

/** An outbox whose tries wait for the test to answer them. */
function harness(options: { sleep?: (ms: number) => Promise<void> } = {}) {
  const tries: Pending[] = [];
  const sent: string[] = [];
  const failed: Array<{ clientMessageId: string; error: string }> = [];
  const sleeps: number[] = [];
  const outbox = new Outbox<string>({
    attempt: (send) =>
      new Promise<Attempt<string>>((settle) => {
        tries.push({ send, settle });
      }),
    onSent: (send, value) => sent.push(`${send.clientMessageId}=${value}`),
    onFailed: (send, error) => failed.push({ clientMessageId: send.clientMessageId, error }),
    sleep:
      options.sleep ??
      ((ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      }),
  });
  const send = (clientMessageId: string, conversationId = 'c1'): QueuedSend => ({
    conversationId,
    clientMessageId,
    body: `body of ${clientMessageId}`,
  });
  /** Lets the outbox's promise chains run. */
  const flush = () => new Promise((resolve) => setTimeout(resolve, 0));
  /** The clientMessageIds tried so far, in order. */
  const tried = () => tries.map((item) => item.send.clientMessageId);
  const answer = async (attempt: Attempt<string>) => {
    const open = tries.filter((item) => !('done' in item));
    const current = open[0]!;
    Object.assign(current, { done: true });
    current.settle(attempt);
    await flush();
  };
  return { outbox, tries, tried, sent, failed, sleeps, send, flush, answer };
}

describe('the outbox', () => {
  it('sends one at a time per conversation, in the order written', async () => {
    const { outbox, tried, sent, send, flush, answer } = harness();
    outbox.enqueue(send('one'));
    outbox.enqueue(send('two'));
    outbox.enqueue(send('three'));
    await flush();
    expect(tried()).toEqual(['one']); // two waits for one's answer
    await answer({ kind: 'sent', value: 'm1' });
    expect(tried()).toEqual(['one', 'two']);
    await answer({ kind: 'sent', value: 'm2' });
    await answer({ kind: 'sent', value: 'm3' });
    expect(tried()).toEqual(['one', 'two', 'three']);
    expect(sent).toEqual(['one=m1', 'two=m2', 'three=m3']);
  });

  it('does not hold one conversation up behind another', async () => {
    const { outbox, tried, send, flush } = harness();
    outbox.enqueue(send('a1', 'a'));
    outbox.enqueue(send('a2', 'a'));
    outbox.enqueue(send('b1', 'b'));
    await flush();
    expect(tried()).toEqual(['a1', 'b1']);
  });

  it('tries a send again with the same clientMessageId after a transient failure, before the next one', async () => {
    const { outbox, tried, sent, sleeps, send, flush, answer } = harness();
    outbox.enqueue(send('one'));
    outbox.enqueue(send('two'));
    await flush();
    await answer({ kind: 'transient', retryAfterMs: 1_200 }); // RATE_LIMITED with retryAfterMs
    await answer({ kind: 'transient', retryAfterMs: null }); // network error
    await answer({ kind: 'transient', retryAfterMs: null });
    expect(tried()).toEqual(['one', 'one', 'one', 'one']);
    expect(sleeps).toEqual([1_200, retryDelay(2), retryDelay(3)]);
    await answer({ kind: 'sent', value: 'm1' });
    await answer({ kind: 'sent', value: 'm2' });
    expect(tried()).toEqual(['one', 'one', 'one', 'one', 'two']);
    expect(sent).toEqual(['one=m1', 'two=m2']);
  });

  it('tries a send that meets server faults a few times, then gives it up and goes on', async () => {
    const { outbox, tried, sent, failed, send, flush, answer } = harness();
    outbox.enqueue(send('one'));
    outbox.enqueue(send('two'));
    await flush();
    for (let n = 1; n < MAX_FAULT_TRIES; n++) await answer({ kind: 'fault', error: 'Something went wrong' });
    expect(failed).toEqual([]);
    await answer({ kind: 'transient', retryAfterMs: null }); // does not count as a fault
    await answer({ kind: 'fault', error: 'Something went wrong' });
    expect(failed).toEqual([{ clientMessageId: 'one', error: 'Something went wrong' }]);
    expect(tried()).toEqual([...Array<string>(MAX_FAULT_TRIES + 1).fill('one'), 'two']);
    await answer({ kind: 'sent', value: 'm2' });
    expect(sent).toEqual(['two=m2']);
  });

  it('counts a try that throws as transient', async () => {
    const sent: string[] = [];
    let calls = 0;
    const outbox = new Outbox<string>({
      attempt: async () => {
        calls++;
        if (calls === 1) throw new Error('socket closed');
        return { kind: 'sent', value: 'm1' };
      },
      onSent: (send, value) => sent.push(`${send.clientMessageId}=${value}`),
      onFailed: () => undefined,
      sleep: () => Promise.resolve(),
    });
    outbox.enqueue({ conversationId: 'c1', clientMessageId: 'one', body: 'one' });
    await expect.poll(() => sent).toEqual(['one=m1']);
    expect(calls).toBe(2);
  });

  it('gives up on a definite refusal, goes on with the next, and sends it again on retry, after those waiting', async () => {
    const { outbox, tried, sent, failed, send, flush, answer } = harness();
    outbox.enqueue(send('one'));
    outbox.enqueue(send('too long'));
    outbox.enqueue(send('three'));
    await flush();
    await answer({ kind: 'sent', value: 'm1' });
    await answer({ kind: 'definite', error: 'Body must be 1 to 4000 characters' });
    expect(failed).toEqual([{ clientMessageId: 'too long', error: 'Body must be 1 to 4000 characters' }]);
    expect(tried()).toEqual(['one', 'too long', 'three']);

    expect(outbox.retry('too long')).toBe(true);
    expect(outbox.retry('too long')).toBe(false); // not given up any more
    await answer({ kind: 'sent', value: 'm3' });
    expect(tried()).toEqual(['one', 'too long', 'three', 'too long']);
    await answer({ kind: 'definite', error: 'still too long' });
    expect(outbox.discard('too long')).toBe(true);
    expect(outbox.retry('too long')).toBe(false);
    expect(sent).toEqual(['one=m1', 'three=m3']);
  });

  it('discards a send waiting its turn, but not the one being tried', async () => {
    const { outbox, tried, send, flush, answer } = harness();
    outbox.enqueue(send('one'));
    outbox.enqueue(send('two'));
    outbox.enqueue(send('three'));
    await flush();
    expect(outbox.discard('one')).toBe(false);
    expect(outbox.discard('two')).toBe(true);
    await answer({ kind: 'sent', value: 'm1' });
    await answer({ kind: 'sent', value: 'm3' });
    expect(tried()).toEqual(['one', 'three']);
  });

  it('tries again at once when nudged (the connection is back)', async () => {
    const never = () => new Promise<void>(() => undefined);
    const { outbox, tried, send, flush, answer } = harness({ sleep: never });
    outbox.enqueue(send('one'));
    await flush();
    await answer({ kind: 'transient', retryAfterMs: null });
    expect(tried()).toEqual(['one']);
    outbox.nudge();
    await flush();
    expect(tried()).toEqual(['one', 'one']);
  });

  it('stops when disposed', async () => {
    const { outbox, tried, sent, send, flush, answer } = harness();
    outbox.enqueue(send('one'));
    outbox.enqueue(send('two'));
    await flush();
    outbox.dispose();
    await answer({ kind: 'sent', value: 'm1' });
    outbox.enqueue(send('three'));
    await flush();
    expect(tried()).toEqual(['one']);
    expect(sent).toEqual([]);
  });
});

describe('classifySendError', () => {
  const error = (extensions?: Record<string, unknown>) => ({
    graphQLErrors: extensions ? [{ extensions }] : [],
    networkError: extensions ? undefined : new TypeError('Failed to fetch'),
  });

  it('retries network errors and rate limits (after retryAfterMs) for as long as it takes', () => {
    expect(classifySendError(error())).toEqual({ kind: 'transient', retryAfterMs: null });
    expect(classifySendError(error({ code: 'RATE_LIMITED', retryAfterMs: 1500 }))).toEqual({
      kind: 'transient',
      retryAfterMs: 1500,
    });
  });

  it('takes a masked server error for a fault, and gives up on definite refusals', () => {
    expect(classifySendError(error({ code: 'INTERNAL_SERVER_ERROR' }))).toEqual({ kind: 'fault' });
    for (const code of ['BAD_USER_INPUT', 'NOT_FOUND', 'FORBIDDEN', 'UNAUTHENTICATED', 'PAYLOAD_TOO_LARGE']) {
      expect(classifySendError(error({ code }))).toEqual({ kind: 'definite' });
    }
  });

  it('waits longer after each failure, up to a bound', () => {
    expect(retryDelay(1)).toBe(500);
    expect(retryDelay(2)).toBe(1_000);
    expect(retryDelay(100)).toBe(10_000);
  });
});
