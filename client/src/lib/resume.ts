// Gap-free delivery across reconnects. The client remembers the cursor of the
// last message event it handled; when the socket drops it subscribes again
// with `after` set to that cursor, and the server replays what was missed, in
// order, before live events follow. Cursors already handled are remembered so
// an event delivered twice (a history page and a replay may overlap, see
// MessageConnection.eventCursor) is handled once.

/** How many handled cursors are remembered to drop repeats. */
export const REMEMBERED_CURSORS = 2_000;

export class EventCursor {
  private last: string | null;
  private readonly seen = new Set<string>();
  private readonly order: string[] = [];

  constructor(
    after: string | null,
    private readonly capacity = REMEMBERED_CURSORS,
  ) {
    this.last = after;
  }

  /** What to pass as `after` when subscribing now. */
  get after(): string | null {
    return this.last;
  }

  /** Records an event's cursor; false when that event was handled already. */
  accept(cursor: string): boolean {
    if (this.seen.has(cursor)) return false;
    this.seen.add(cursor);
    this.order.push(cursor);
    if (this.order.length > this.capacity) this.seen.delete(this.order.shift()!);
    this.last = cursor;
    return true;
  }
}

export type Unsubscribe = () => void;

export type ResumableSubscription = {
  /** Subscribes again from the last handled event: call it when the connection was lost. */
  resume(): void;
  stop(): void;
};

/**
 * Keeps one event subscription going across reconnects. `subscribe` starts the
 * operation with the given `after` and returns its unsubscribe; `resume()`
 * replaces it with one that starts after the last event handled.
 */
export function resumableSubscription<E>(options: {
  cursor: EventCursor;
  subscribe: (after: string | null, next: (event: E) => void) => Unsubscribe;
  cursorOf: (event: E) => string;
  onEvent: (event: E) => void;
}): ResumableSubscription {
  const { cursor, subscribe, cursorOf, onEvent } = options;
  let generation = 0;
  let stopped = false;
  let unsubscribe: Unsubscribe = () => undefined;

  const start = () => {
    const current = ++generation;
    unsubscribe = subscribe(cursor.after, (event) => {
      // A subscription that was replaced may still flush a buffered event: ignore it.
      if (current !== generation || stopped) return;
      if (cursor.accept(cursorOf(event))) onEvent(event);
    });
  };

  start();
  return {
    resume() {
      if (stopped) return;
      unsubscribe();
      start();
    },
    stop() {
      stopped = true;
      unsubscribe();
    },
  };
}
