// Resuming after a drop: what was sent meanwhile is handled once, in order.
import { describe, expect, it } from 'vitest';
import { EventCursor, resumableSubscription } from '../../client/src/lib/resume.js';

type Event = { cursor: string; body: string };

/**
 * A server with an event log: a subscription replays what came after its
 * cursor, then gets live events until the connection drops.
 */
function fakeServer() {
  const log: Event[] = [];
  const live = new Set<(event: Event) => void>();
  const subscriptions: Array<string | null> = [];
  return {
    subscriptions,
    publish(body: string) {
      const event = { cursor: `e${log.length + 1}`, body };
      log.push(event);
      for (const next of live) next(event);
    },
    subscribe(after: string | null, next: (event: Event) => void) {
      subscriptions.push(after);
      const from = after === null ? log.length : log.findIndex((event) => event.cursor === after) + 1;
      for (const event of log.slice(from)) next(event);
      live.add(next);
      return () => live.delete(next);
    },
    /** The network drops: no subscriber hears anything more. */
    drop() {
      live.clear();
    },
  };
}

function client(server: ReturnType<typeof fakeServer>, after: string | null) {
  const handled: string[] = [];
  const subscription = resumableSubscription<Event>({
    cursor: new EventCursor(after),
    subscribe: (from, next) => server.subscribe(from, next),
    cursorOf: (event) => event.cursor,
    onEvent: (event) => handled.push(event.body),
  });
  return { handled, subscription };
}

describe('EventCursor', () => {
  it('starts from the given cursor and follows what it accepts', () => {
    const cursor = new EventCursor('e3');
    expect(cursor.after).toBe('e3');
    expect(cursor.accept('e4')).toBe(true);
    expect(cursor.after).toBe('e4');
  });

  it('refuses an event it has already handled, and keeps its position', () => {
    const cursor = new EventCursor(null);
    cursor.accept('e1');
    cursor.accept('e2');
    expect(cursor.accept('e1')).toBe(false);
    expect(cursor.after).toBe('e2');
  });

  it('remembers a bounded number of cursors', () => {
    const cursor = new EventCursor(null, 2);
    for (const id of ['e1', 'e2', 'e3']) cursor.accept(id);
    expect(cursor.accept('e1')).toBe(true); // forgotten
    expect(cursor.accept('e3')).toBe(false);
  });
});

describe('resumableSubscription', () => {
  it('starts after the cursor of the page it was given', () => {
    const server = fakeServer();
    server.publish('before the page');
    const { handled } = client(server, 'e1');
    server.publish('live');
    expect(handled).toEqual(['live']);
    expect(server.subscriptions).toEqual(['e1']);
  });

  it('after a drop, resumes from the last event handled: what was missed arrives once, in order', () => {
    const server = fakeServer();
    const { handled, subscription } = client(server, null);
    server.publish('one');
    server.drop();
    server.publish('two');
    server.publish('three');
    expect(handled).toEqual(['one']);
    subscription.resume();
    server.publish('four');
    expect(handled).toEqual(['one', 'two', 'three', 'four']);
    expect(server.subscriptions).toEqual([null, 'e1']);
  });

  it('handles events twice delivered (a reconnect that re-sends the old subscription) once', () => {
    const server = fakeServer();
    const { handled, subscription } = client(server, null);
    server.publish('one');
    server.publish('two');
    server.drop();
    // The transport re-subscribes with the payload it had, before the client resumes.
    server.subscribe(null, () => undefined);
    subscription.resume();
    subscription.resume(); // a second close while reconnecting
    server.publish('three');
    expect(handled).toEqual(['one', 'two', 'three']);
  });

  it('ignores events a replaced subscription still flushes', () => {
    const server = fakeServer();
    let flushLate: ((event: Event) => void) | null = null;
    const handled: string[] = [];
    const subscription = resumableSubscription<Event>({
      cursor: new EventCursor(null),
      subscribe: (from, next) => {
        flushLate ??= next;
        return server.subscribe(from, next);
      },
      cursorOf: (event) => event.cursor,
      onEvent: (event) => handled.push(event.body),
    });
    server.publish('one');
    server.drop();
    subscription.resume();
    flushLate!({ cursor: 'e9', body: 'stale' });
    server.publish('two');
    expect(handled).toEqual(['one', 'two']);
  });

  it('hears nothing after stop', () => {
    const server = fakeServer();
    const { handled, subscription } = client(server, null);
    subscription.stop();
    subscription.resume();
    server.publish('one');
    expect(handled).toEqual([]);
  });
});
