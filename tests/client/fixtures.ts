// Messages and conversations as the API returns them, for the client's logic tests.
import type { Conversation } from '../../client/src/lib/conversations.js';
import type { Message } from '../../client/src/lib/timeline.js';

export const ME = 'User:me';
export const OTHER = 'User:other';
export const CONVERSATION = 'Conversation:1';

let clock = Date.parse('2026-11-28T09:00:00.000Z');

/** A message one second after the previous one, unless createdAt is given. */
export function message(id: number, overrides: Partial<Message> & { from?: string } = {}): Message {
  const { from = OTHER, ...rest } = overrides;
  clock += 1000;
  return {
    id: `Message:${id}`,
    body: `message ${id}`,
    clientMessageId: null,
    createdAt: new Date(clock).toISOString(),
    editedAt: null,
    deletedAt: null,
    generation: null,
    conversation: { id: CONVERSATION },
    sender: { id: from, username: from, displayName: from, isBot: false },
    reactions: [],
    replyTo: null,
    mentions: [],
    attachments: [],
    ...rest,
  };
}

export function conversation(overrides: Partial<Conversation> = {}): Conversation {
  return {
    id: CONVERSATION,
    kind: 'DIRECT',
    title: null,
    createdAt: '2026-11-28T08:00:00.000Z',
    unreadCount: 0,
    myRole: 'MEMBER',
    memberships: [],
    unreadMentionCount: 0,
    members: [
      { id: ME, username: 'me', displayName: 'Me', isBot: false, online: true, lastSeenAt: null },
      { id: OTHER, username: 'other', displayName: 'Other', isBot: false, online: false, lastSeenAt: null },
    ],
    lastMessage: null,
    ...overrides,
  };
}
