// Everything the signed-in client knows, changed only by these actions, so
// the order of events, replies and pages cannot leave two copies of a message.
import type { MessageEventKind } from '../gql/graphql.js';
import { applyMessageEvent, type Conversation, mergeConversations, sortConversations } from './conversations.js';
import {
  addPending,
  applyLatestPage,
  applyOlderPage,
  emptyTimeline,
  failPending,
  type HistoryPage,
  type Message,
  type PendingMessage,
  removePending,
  retryPending,
  type Timeline,
  upsertMessage,
} from './timeline.js';

export type ChatState = {
  viewerId: string;
  conversations: Record<string, Conversation>;
  /** Loaded only for conversations that were opened. */
  timelines: Record<string, Timeline>;
  /** userId -> online, from presence events. */
  presence: Record<string, boolean>;
};

export type ChatAction =
  | { type: 'conversationsLoaded'; conversations: Conversation[] }
  | { type: 'conversationChanged'; conversation: Conversation }
  | { type: 'conversationLeft'; conversationId: string }
  | { type: 'unreadCounted'; conversationId: string; unreadCount: number; unreadMentionCount?: number }
  /** An event from the subscription, or the reply to the viewer's own send, edit, delete or reaction. */
  | { type: 'messageEvent'; kind: MessageEventKind; message: Message; seen: boolean }
  | { type: 'sendStarted'; conversationId: string; pending: PendingMessage }
  | { type: 'sendFailed'; conversationId: string; clientMessageId: string; error: string }
  | { type: 'sendRetried'; conversationId: string; clientMessageId: string }
  | { type: 'sendDiscarded'; conversationId: string; clientMessageId: string }
  | { type: 'historyLoaded'; conversationId: string; page: HistoryPage; older: boolean }
  | { type: 'presenceChanged'; userId: string; online: boolean }
  /** Another member's read marker moved (readMarkers subscription). */
  | { type: 'readMarkerMoved'; conversationId: string; userId: string; lastReadMessageId: string };

export function initialChatState(viewerId: string): ChatState {
  return { viewerId, conversations: {}, timelines: {}, presence: {} };
}

function withTimeline(state: ChatState, conversationId: string, change: (timeline: Timeline) => Timeline): ChatState {
  const current = state.timelines[conversationId];
  const next = change(current ?? emptyTimeline);
  if (next === current) return state;
  return { ...state, timelines: { ...state.timelines, [conversationId]: next } };
}

export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case 'readMarkerMoved': {
      const conversation = state.conversations[action.conversationId];
      if (!conversation) return state;
      const memberships = conversation.memberships.map((membership) =>
        membership.user.id === action.userId
          ? { ...membership, lastReadMessageId: action.lastReadMessageId }
          : membership,
      );
      return {
        ...state,
        conversations: { ...state.conversations, [conversation.id]: { ...conversation, memberships } },
      };
    }
    case 'conversationsLoaded':
      return { ...state, conversations: mergeConversations(state.conversations, action.conversations) };
    case 'conversationChanged': {
      const known = state.conversations[action.conversation.id];
      // A reply's copy may be older than what events have shown since: keep the newer last message.
      const merged = known
        ? mergeConversations({ [known.id]: known }, [action.conversation])[known.id]!
        : action.conversation;
      return { ...state, conversations: { ...state.conversations, [merged.id]: merged } };
    }
    case 'conversationLeft': {
      const { [action.conversationId]: _left, ...conversations } = state.conversations;
      const { [action.conversationId]: _timeline, ...timelines } = state.timelines;
      return { ...state, conversations, timelines };
    }
    case 'unreadCounted': {
      const conversation = state.conversations[action.conversationId];
      const unreadMentionCount = action.unreadMentionCount ?? conversation?.unreadMentionCount;
      if (
        !conversation ||
        (conversation.unreadCount === action.unreadCount && conversation.unreadMentionCount === unreadMentionCount)
      ) {
        return state;
      }
      return {
        ...state,
        conversations: {
          ...state.conversations,
          [conversation.id]: {
            ...conversation,
            unreadCount: action.unreadCount,
            unreadMentionCount: unreadMentionCount!,
          },
        },
      };
    }
    case 'messageEvent': {
      const { message } = action;
      const conversationId = message.conversation.id;
      const conversation = state.conversations[conversationId];
      let next = state;
      if (conversation) {
        const changed = applyMessageEvent(conversation, action.kind, message, {
          viewerId: state.viewerId,
          seen: action.seen,
        });
        if (changed !== conversation)
          next = { ...next, conversations: { ...next.conversations, [conversationId]: changed } };
      }
      // Only opened conversations keep messages; others read their history when opened.
      if (!next.timelines[conversationId]) return next;
      return withTimeline(next, conversationId, (timeline) => upsertMessage(timeline, message, state.viewerId));
    }
    case 'sendStarted':
      return withTimeline(state, action.conversationId, (timeline) => addPending(timeline, action.pending));
    case 'sendFailed':
      return withTimeline(state, action.conversationId, (timeline) =>
        failPending(timeline, action.clientMessageId, action.error),
      );
    case 'sendRetried':
      return withTimeline(state, action.conversationId, (timeline) => retryPending(timeline, action.clientMessageId));
    case 'sendDiscarded':
      return withTimeline(state, action.conversationId, (timeline) => removePending(timeline, action.clientMessageId));
    case 'historyLoaded':
      return withTimeline(state, action.conversationId, (timeline) =>
        action.older ? applyOlderPage(timeline, action.page) : applyLatestPage(timeline, action.page, state.viewerId),
      );
    case 'presenceChanged':
      if (state.presence[action.userId] === action.online) return state;
      return { ...state, presence: { ...state.presence, [action.userId]: action.online } };
  }
}

/** The list as shown: most recent activity first. */
export function conversationList(state: ChatState): Conversation[] {
  return sortConversations(Object.values(state.conversations));
}
