// The session state as a whole: replies, events and pages in every order
// leave each message once, and the list's unread counts right.
import { describe, expect, it } from 'vitest';
import { type ChatAction, chatReducer, conversationList, initialChatState } from '../../client/src/lib/chatState.js';
import { CONVERSATION, conversation, ME, message } from './fixtures.js';

const run = (actions: ChatAction[]) => actions.reduce(chatReducer, initialChatState(ME));

const opened: ChatAction[] = [
  { type: 'conversationsLoaded', conversations: [conversation()] },
  {
    type: 'historyLoaded',
    conversationId: CONVERSATION,
    older: false,
    page: { messages: [], startCursor: null, hasPreviousPage: false },
  },
];

describe('chatReducer', () => {
  it('shows an own send once, whichever of reply and event comes first', () => {
    const sent = message(1, { from: ME, clientMessageId: 'a', body: 'hi' });
    const pending = { clientMessageId: 'a', body: 'hi', createdAt: sent.createdAt, error: null };
    const reply: ChatAction = { type: 'messageEvent', kind: 'CREATED', message: sent, seen: true };
    const event: ChatAction = { type: 'messageEvent', kind: 'CREATED', message: sent, seen: false };
    for (const order of [
      [reply, event],
      [event, reply],
    ]) {
      const state = run([...opened, { type: 'sendStarted', conversationId: CONVERSATION, pending }, ...order]);
      const timeline = state.timelines[CONVERSATION]!;
      expect(timeline.messages.map((item) => item.body)).toEqual(['hi']);
      expect(timeline.pending).toEqual([]);
      expect(state.conversations[CONVERSATION]!.unreadCount).toBe(0);
    }
  });

  it('counts messages from others as unread unless seen, and takes the server’s count after markRead', () => {
    const state = run([
      ...opened,
      { type: 'messageEvent', kind: 'CREATED', message: message(1), seen: false },
      { type: 'messageEvent', kind: 'CREATED', message: message(2), seen: false },
      { type: 'messageEvent', kind: 'CREATED', message: message(3), seen: true },
    ]);
    expect(state.conversations[CONVERSATION]!.unreadCount).toBe(2);
    const read = chatReducer(state, { type: 'unreadCounted', conversationId: CONVERSATION, unreadCount: 0 });
    expect(read.conversations[CONVERSATION]!.unreadCount).toBe(0);
  });

  it('keeps messages only for opened conversations, but moves every conversation in the list', () => {
    const other = conversation({ id: 'Conversation:2', createdAt: '2026-11-28T08:30:00.000Z' });
    const received = { ...message(5), conversation: { id: CONVERSATION } };
    const state = run([
      { type: 'conversationsLoaded', conversations: [other, conversation()] },
      { type: 'messageEvent', kind: 'CREATED', message: received, seen: false },
    ]);
    expect(state.timelines).toEqual({});
    expect(conversationList(state).map((item) => item.id)).toEqual([CONVERSATION, 'Conversation:2']);
  });

  it('adds joined conversations, updates changed ones and drops those left', () => {
    let state = run([{ type: 'conversationChanged', conversation: conversation({ kind: 'GROUP', title: 'A' }) }]);
    state = chatReducer(state, {
      type: 'conversationChanged',
      conversation: conversation({ kind: 'GROUP', title: 'B' }),
    });
    expect(state.conversations[CONVERSATION]!.title).toBe('B');
    state = chatReducer(state, { type: 'conversationLeft', conversationId: CONVERSATION });
    expect(state.conversations).toEqual({});
  });

  it('records presence changes', () => {
    const state = run([{ type: 'presenceChanged', userId: 'User:other', online: true }]);
    expect(state.presence).toEqual({ 'User:other': true });
    expect(chatReducer(state, { type: 'presenceChanged', userId: 'User:other', online: true })).toBe(state);
  });
});
