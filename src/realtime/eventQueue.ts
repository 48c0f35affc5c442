// A bounded async queue feeding one subscription. Hand-written because the
// overflow policy matters here: a consumer that falls `limit` events behind is
// cut off (it resumes from its cursor on reconnect) instead of growing memory.
//
// It is read either as an async iterator, or by a consumer that takes each
// item synchronously as it is pushed (consumeWith): a WebSocket subscription's
// results go to the socket that way (realtime/sharedExecution.ts), with no
// promise per event. Items queue only while that consumer is busy (waiting
// for an execution), so the limit and whenBelow mean the same either way.

export class QueueOverflowError extends Error {
  override name = 'QueueOverflowError';
}

/** Takes the queue's items as they are pushed, in order. */
export type QueueConsumer<T> = {
  /** Takes one item; a promise while it is busy with it (items queue until it settles; it must not reject). */
  push(item: T): void | Promise<void>;
  /** The queue closed and everything before was taken: with the failure it ended with, if any. */
  end(failure: Error | null): void;
};

export class EventQueue<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private consumer: QueueConsumer<T> | null = null;
  /** The consumer is busy with an item: later ones queue. */
  private busy = false;
  // A waiting consumer's promise, settled through these two. Two fields rather
  // than one object: one is made per event per subscriber, and outlives young GC.
  private resolveWaiting: ((result: IteratorResult<T>) => void) | null = null;
  private rejectWaiting: ((error: Error) => void) | null = null;
  private spaceWaiters: { below: number; resolve: () => void }[] = [];
  private closed = false;
  private failure: Error | null = null;

  constructor(
    private readonly limit: number,
    private readonly onClose: () => void,
    private readonly onOverflow?: () => void,
  ) {}

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    if (this.closed) return;
    if (this.consumer && !this.busy && this.items.length === 0) {
      this.consume(this.consumer, item);
    } else if (this.resolveWaiting) {
      const resolve = this.resolveWaiting;
      this.resolveWaiting = this.rejectWaiting = null;
      resolve({ value: item, done: false });
    } else if (this.items.length >= this.limit) {
      this.fail(new QueueOverflowError(`subscriber fell more than ${this.limit} events behind`));
      this.onOverflow?.();
    } else {
      this.items.push(item);
    }
  }

  /**
   * Hands every item, queued ones first, to `consumer` as it comes instead of
   * to next(); null goes back to next() (the consumer may do that from its
   * push: later items then wait for next()).
   */
  consumeWith(consumer: QueueConsumer<T> | null): void {
    this.consumer = consumer;
    if (consumer && !this.busy) this.resume();
  }

  /** Ends the stream with an error after what is already queued. */
  fail(error: Error): void {
    if (this.closed) return;
    this.failure = error;
    this.close();
  }

  /** Resolves once fewer than `count` items wait (or the queue closed). */
  async whenBelow(count: number): Promise<void> {
    if (this.items.length < count || this.closed) return;
    await new Promise<void>((resolve) => this.spaceWaiters.push({ below: count, resolve }));
  }

  next(): Promise<IteratorResult<T>> {
    const item = this.items.shift();
    if (item !== undefined) {
      this.releaseSpaceWaiters();
      return Promise.resolve({ value: item, done: false });
    }
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.resolveWaiting = resolve;
      this.rejectWaiting = reject;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.items.length = 0;
    this.failure = null;
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  private consume(consumer: QueueConsumer<T>, item: T): void {
    const busy = consumer.push(item);
    if (busy) {
      this.busy = true;
      void busy.then(() => {
        this.busy = false;
        this.resume();
      });
    }
  }

  /** The consumer is free: hands it what queued meanwhile, then the end once closed and drained. */
  private resume(): void {
    let taken = false;
    while (this.consumer && !this.busy && this.items.length > 0) {
      taken = true;
      this.consume(this.consumer, this.items.shift()!);
    }
    if (taken) this.releaseSpaceWaiters();
    if (this.closed && !this.busy && this.items.length === 0) this.consumer?.end(this.failure);
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    if (this.consumer && !this.busy && this.items.length === 0) this.consumer.end(this.failure);
    const { resolveWaiting, rejectWaiting } = this;
    this.resolveWaiting = this.rejectWaiting = null;
    if (this.failure) rejectWaiting?.(this.failure);
    else resolveWaiting?.({ value: undefined, done: true });
    for (const waiter of this.spaceWaiters) waiter.resolve();
    this.spaceWaiters = [];
  }

  private releaseSpaceWaiters(): void {
    this.spaceWaiters = this.spaceWaiters.filter((waiter) => {
      if (this.items.length >= waiter.below) return true;
      waiter.resolve();
      return false;
    });
  }
}

/** Events a listener-based stream (typing, presence, conversation changes) may queue for one subscriber. */
const MAX_QUEUED_NOTICES = 1_000;

/** A subscriber's stream over a listener: `listen` registers `push` and returns how to stop. */
export function streamOf<T>(listen: (push: (item: T) => void) => () => void, onOverflow?: () => void): EventQueue<T> {
  let stop: (() => void) | undefined = undefined; // set once listening
  const queue = new EventQueue<T>(MAX_QUEUED_NOTICES, () => stop?.(), onOverflow);
  stop = listen((item) => queue.push(item));
  return queue;
}
