// The pending/confirmed merge: an own message shows at once, is confirmed in
// place by whichever comes first (the send's reply or its CREATED event), and
// is never shown twice, whatever the order of replies, events and pages.
import { describe, expect, it } from 'vitest';
import {
  addPending,
  applyLatestPage,
  applyOlderPage,
  emptyTimeline,
  failPending,
  type Message,
  type PendingMessage,
  removePending,
  retryPending,
  type Timeline,
  timelineItems,
  upsertMessage,
} from '../../client/src/lib/timeline.js';
import { ME, message } from './fixtures.js';

const loaded: Timeline = { ...emptyTimeline, loaded: true };

function pending(clientMessageId: string, body = `body of ${clientMessageId}`): PendingMessage {
  return { clientMessageId, body, createdAt: new Date().toISOString(), error: null };
}

function mine(id: number, clientMessageId: string, overrides: Partial<Message> = {}): Message {
  return message(id, { from: ME, clientMessageId, body: `body of ${clientMessageId}`, ...overrides });
}

const keys = (timeline: Timeline) => timelineItems(timeline, ME).map((item) => item.key);
const bodies = (timeline: Timeline) =>
  timelineItems(timeline, ME).map((item) => (item.kind === 'message' ? item.message.body : item.pending.body));

describe('sending', () => {
  it('shows a send at once, after the confirmed messages', () => {
    const timeline = addPending(upsertMessage(loaded, message(1), ME), pending('a'));
    expect(timelineItems(timeline, ME).map((item) => item.kind)).toEqual(['message', 'pending']);
  });

  it('confirms in place: the confirmed message takes the pending one’s key', () => {
    const before = addPending(loaded, pending('a'));
    const after = upsertMessage(before, mine(10, 'a'), ME);
    expect(keys(before)).toEqual(['send:a']);
    expect(keys(after)).toEqual(['send:a']);
    expect(after.pending).toEqual([]);
  });

  it('shows the message once when the reply comes before the event', () => {
    const sent = mine(10, 'a');
    let timeline = addPending(loaded, pending('a'));
    timeline = upsertMessage(timeline, sent, ME); // the mutation's reply
    timeline = upsertMessage(timeline, sent, ME); // the CREATED event
    expect(bodies(timeline)).toEqual(['body of a']);
  });

  it('shows the message once when the event comes before the reply', () => {
    const sent = mine(10, 'a');
    let timeline = addPending(loaded, pending('a'));
    timeline = upsertMessage(timeline, sent, ME); // the CREATED event
    timeline = upsertMessage(timeline, sent, ME); // the reply
    expect(bodies(timeline)).toEqual(['body of a']);
    expect(timeline.pending).toEqual([]);
  });

  it('confirms sends that overtake each other independently', () => {
    let timeline = addPending(addPending(loaded, pending('a')), pending('b'));
    const b = mine(11, 'b');
    timeline = upsertMessage(timeline, b, ME);
    expect(bodies(timeline)).toEqual(['body of b', 'body of a']);
    const a = mine(10, 'a', { createdAt: new Date(Date.parse(b.createdAt) - 1).toISOString() });
    timeline = upsertMessage(timeline, a, ME);
    // Server order once both are confirmed.
    expect(bodies(timeline)).toEqual(['body of a', 'body of b']);
  });

  it('does not take someone else’s message with the same clientMessageId as a confirmation', () => {
    const timeline = upsertMessage(addPending(loaded, pending('a')), message(10, { clientMessageId: 'a' }), ME);
    expect(timeline.pending).toHaveLength(1);
    expect(timeline.messages).toHaveLength(1);
  });

  it('keeps a failed send with its error until it is retried or discarded', () => {
    let timeline = failPending(addPending(loaded, pending('a')), 'a', 'Too fast');
    expect(timeline.pending[0]!.error).toBe('Too fast');
    timeline = retryPending(timeline, 'a');
    expect(timeline.pending[0]!.error).toBeNull();
    expect(removePending(timeline, 'a').pending).toEqual([]);
  });

  it('shows a retried send after the sends waiting before it, in the order the outbox sends them', () => {
    let timeline = addPending(addPending(loaded, pending('a')), pending('b'));
    timeline = retryPending(failPending(timeline, 'a', 'Not found'), 'a');
    expect(timeline.pending.map((item) => [item.clientMessageId, item.error])).toEqual([
      ['b', null],
      ['a', null],
    ]);
  });

  it('confirms a send whose reply was lost when its event or a page shows it', () => {
    const sent = mine(10, 'a');
    const timeline = applyLatestPage(
      addPending(emptyTimeline, pending('a')),
      {
        messages: [message(9), sent],
        startCursor: 'c9',
        hasPreviousPage: false,
      },
      ME,
    );
    expect(bodies(timeline)).toEqual(['message 9', 'body of a']);
    expect(timeline.pending).toEqual([]);
  });
});

describe('receiving', () => {
  it('adds new messages in server order', () => {
    const first = message(1);
    const second = message(2);
    const timeline = upsertMessage(upsertMessage(loaded, second, ME), first, ME);
    expect(timeline.messages.map((item) => item.id)).toEqual([first.id, second.id]);
  });

  it('applies edits, deletions and reactions in place', () => {
    const original = message(1);
    let timeline = upsertMessage(upsertMessage(loaded, original, ME), message(2), ME);
    timeline = upsertMessage(timeline, { ...original, body: 'changed', editedAt: '2026-11-28T10:00:00.000Z' }, ME);
    expect(timeline.messages[0]!.body).toBe('changed');
    timeline = upsertMessage(
      timeline,
      { ...timeline.messages[0]!, reactions: [{ emoji: '👍', count: 1, reactedByMe: false }] },
      ME,
    );
    expect(timeline.messages[0]!.reactions).toHaveLength(1);
    timeline = upsertMessage(timeline, { ...original, body: null, deletedAt: '2026-11-28T10:01:00.000Z' }, ME);
    expect(timeline.messages.map((item) => item.body)).toEqual([null, 'message 2']);
  });

  it('ignores an older copy of a message that raced a newer one', () => {
    const original = message(1);
    const deleted = { ...original, body: null, deletedAt: '2026-11-28T10:01:00.000Z' };
    const timeline = upsertMessage(upsertMessage(loaded, deleted, ME), original, ME);
    expect(timeline.messages[0]!.deletedAt).not.toBeNull();
    const edited = { ...original, body: 'new', editedAt: '2026-11-28T10:02:00.000Z' };
    const stale = { ...original, body: 'old', editedAt: '2026-11-28T10:01:00.000Z' };
    expect(upsertMessage(upsertMessage(loaded, edited, ME), stale, ME).messages[0]!.body).toBe('new');
  });

  it('returns the same timeline when nothing changed', () => {
    const first = message(1);
    const timeline = upsertMessage(loaded, first, ME);
    const deleted = { ...first, body: null, deletedAt: '2026-11-28T10:01:00.000Z' };
    const afterDelete = upsertMessage(timeline, deleted, ME);
    expect(upsertMessage(afterDelete, first, ME)).toBe(afterDelete);
  });
});

describe('history', () => {
  it('keeps events that arrived while the newest page loaded, once', () => {
    const a = message(1);
    const b = message(2);
    const c = message(3);
    // b and c arrived as events while the page (a, b) was on its way.
    const during = upsertMessage(upsertMessage(emptyTimeline, b, ME), c, ME);
    const timeline = applyLatestPage(during, { messages: [a, b], startCursor: 'ca', hasPreviousPage: true }, ME);
    expect(timeline.messages.map((item) => item.id)).toEqual([a.id, b.id, c.id]);
    expect(timeline).toMatchObject({ loaded: true, hasOlder: true, olderCursor: 'ca' });
  });

  it('puts older pages in front without repeating what is there', () => {
    const [a, b, c, d] = [message(1), message(2), message(3), message(4)];
    let timeline = applyLatestPage(emptyTimeline, { messages: [c, d], startCursor: 'cc', hasPreviousPage: true }, ME);
    // The page overlaps by one: a message was deleted and the window moved.
    timeline = applyOlderPage(timeline, { messages: [a, b, c], startCursor: 'ca', hasPreviousPage: false });
    expect(timeline.messages.map((item) => item.id)).toEqual([a.id, b.id, c.id, d.id]);
    expect(timeline).toMatchObject({ hasOlder: false, olderCursor: 'ca' });
  });
});
