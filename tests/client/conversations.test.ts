// The conversation list: order, titles, previews and unread counts.
import { describe, expect, it } from 'vitest';
import {
  applyMessageEvent,
  conversationTitle,
  isOnline,
  lastActivity,
  lastMessagePreview,
  mergeConversations,
  sortConversations,
} from '../../client/src/lib/conversations.js';
import { conversation, ME, message, OTHER } from './fixtures.js';

describe('sortConversations', () => {
  it('puts the most recent activity first: the last message, or the creation of an empty conversation', () => {
    const old = conversation({ id: 'old', lastMessage: message(1, { createdAt: '2026-11-28T09:00:00.000Z' }) });
    const fresh = conversation({ id: 'fresh', createdAt: '2026-11-28T09:30:00.000Z' });
    const busy = conversation({ id: 'busy', lastMessage: message(2, { createdAt: '2026-11-28T10:00:00.000Z' }) });
    expect(sortConversations([old, fresh, busy]).map((item) => item.id)).toEqual(['busy', 'fresh', 'old']);
    expect(lastActivity(fresh)).toBe('2026-11-28T09:30:00.000Z');
  });

  it('keeps the given order for ties', () => {
    const a = conversation({ id: 'a' });
    const b = conversation({ id: 'b' });
    expect(sortConversations([b, a]).map((item) => item.id)).toEqual(['b', 'a']);
  });
});

describe('applyMessageEvent', () => {
  const context = { viewerId: ME, seen: false };

  it('moves the last message and counts unread messages from others', () => {
    const received = message(1);
    const next = applyMessageEvent(conversation(), 'CREATED', received, context);
    expect(next.lastMessage).toBe(received);
    expect(next.unreadCount).toBe(1);
  });

  it('does not count own messages, nor messages the viewer is looking at', () => {
    expect(applyMessageEvent(conversation(), 'CREATED', message(1, { from: ME }), context).unreadCount).toBe(0);
    expect(applyMessageEvent(conversation(), 'CREATED', message(2), { viewerId: ME, seen: true }).unreadCount).toBe(0);
  });

  it('counts unread mentions of the viewer apart, as it counts unread messages', () => {
    const me = { id: ME, username: 'me' };
    const other = { id: 'User:third', username: 'third' };
    let next = applyMessageEvent(conversation(), 'CREATED', message(1, { mentions: [me] }), context);
    next = applyMessageEvent(next, 'CREATED', message(2, { mentions: [other] }), context);
    next = applyMessageEvent(next, 'CREATED', message(3, { mentions: [me] }), { viewerId: ME, seen: true });
    expect([next.unreadCount, next.unreadMentionCount]).toEqual([2, 1]);
  });

  it('counts a replayed event once, and an older one not at all', () => {
    const first = message(1);
    const second = message(2);
    let next = applyMessageEvent(conversation(), 'CREATED', first, context);
    next = applyMessageEvent(next, 'CREATED', second, context);
    next = applyMessageEvent(next, 'CREATED', second, context);
    next = applyMessageEvent(next, 'CREATED', first, context);
    expect(next.unreadCount).toBe(2);
    expect(next.lastMessage).toBe(second);
  });

  it('updates the preview when the last message is edited or deleted', () => {
    const last = message(1);
    const start = conversation({ lastMessage: last });
    const deleted = { ...last, body: null, deletedAt: '2026-11-28T11:00:00.000Z' };
    const next = applyMessageEvent(start, 'DELETED', deleted, context);
    expect(lastMessagePreview(next, ME)).toBe('Message deleted');
    expect(applyMessageEvent(start, 'EDITED', message(7), context)).toBe(start);
  });
});

describe('mergeConversations', () => {
  it('adds new conversations and keeps a newer last message and unread count from events', () => {
    const older = message(1);
    const newer = message(2);
    const known = conversation({ lastMessage: newer, unreadCount: 3 });
    const freshCopy = conversation({ lastMessage: older, unreadCount: 1, title: null });
    const other = conversation({ id: 'Conversation:2' });
    const merged = mergeConversations({ [known.id]: known }, [freshCopy, other]);
    expect(merged[known.id]).toMatchObject({ lastMessage: newer, unreadCount: 3 });
    expect(merged['Conversation:2']).toBe(other);
  });

  it('takes the fresh copy when it is newer', () => {
    const known = conversation({ lastMessage: message(1), unreadCount: 1 });
    const freshCopy = conversation({ lastMessage: message(2), unreadCount: 2 });
    expect(mergeConversations({ [known.id]: known }, [freshCopy])[known.id]).toBe(freshCopy);
  });
});

describe('what an entry shows', () => {
  it('titles a DIRECT conversation with the other person’s name and a group with its title', () => {
    expect(conversationTitle(conversation(), ME)).toBe('Other');
    expect(conversationTitle(conversation({ kind: 'GROUP', title: 'Team' }), ME)).toBe('Team');
  });

  it('previews the last message as one line of text, naming the sender in groups', () => {
    const multiLine = message(1, { body: 'line one\nline two' });
    expect(lastMessagePreview(conversation({ lastMessage: multiLine }), ME)).toBe('line one line two');
    expect(lastMessagePreview(conversation({ lastMessage: message(2, { from: ME, body: 'hi' }) }), ME)).toBe('You: hi');
    const group = conversation({ kind: 'GROUP', title: 'Team', lastMessage: message(3, { body: 'yo' }) });
    expect(lastMessagePreview(group, ME)).toBe(`${OTHER}: yo`);
    expect(lastMessagePreview(conversation(), ME)).toBe('No messages yet');
  });

  it('takes presence from live events over the last query', () => {
    const user = conversation().members[1]!;
    expect(isOnline(user, {})).toBe(false);
    expect(isOnline(user, { [user.id]: true })).toBe(true);
  });
});
