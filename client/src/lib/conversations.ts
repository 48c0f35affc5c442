// The conversation list: what each entry shows and the order it is shown in.
import type { ConversationFieldsFragment, MessageEventKind, UserFieldsFragment } from '../gql/graphql.js';
import type { Message } from './timeline.js';

export type Conversation = ConversationFieldsFragment;
export type User = UserFieldsFragment;

/** When the conversation last changed: its newest message, or its creation. */
export function lastActivity(conversation: Conversation): string {
  const last = conversation.lastMessage?.createdAt;
  return last && last > conversation.createdAt ? last : conversation.createdAt;
}

/** Most recent activity first; ties keep their order (the server's). */
export function sortConversations(conversations: Conversation[]): Conversation[] {
  return conversations
    .map((conversation, index) => ({ conversation, index, activity: lastActivity(conversation) }))
    .sort((a, b) => (a.activity === b.activity ? a.index - b.index : a.activity < b.activity ? 1 : -1))
    .map(({ conversation }) => conversation);
}

/** The other member of a DIRECT conversation. */
export function otherMember(conversation: Conversation, viewerId: string): User | undefined {
  if (conversation.kind !== 'DIRECT') return undefined;
  return conversation.members.find((member) => member.id !== viewerId) ?? conversation.members[0];
}

export function conversationTitle(conversation: Conversation, viewerId: string): string {
  if (conversation.title) return conversation.title;
  const other = otherMember(conversation, viewerId);
  if (other) return other.displayName;
  const names = conversation.members.filter((member) => member.id !== viewerId).map((member) => member.displayName);
  return names.join(', ') || 'Conversation';
}

/** True when `message` came after `last` (a replayed or repeated event is not). */
function isNewer(message: Message, last: Message | null | undefined): boolean {
  if (!last) return true;
  if (message.id === last.id) return false;
  return message.createdAt >= last.createdAt;
}

/**
 * A message event seen from the list: moves the last message and counts
 * unread messages from others. `seen` says the viewer is looking at the
 * conversation's newest messages, so it does not count as unread.
 * Idempotent for replays: a message no newer than the last one changes nothing.
 */
export function applyMessageEvent(
  conversation: Conversation,
  kind: MessageEventKind,
  message: Message,
  { viewerId, seen }: { viewerId: string; seen: boolean },
): Conversation {
  if (kind === 'CREATED') {
    if (!isNewer(message, conversation.lastMessage)) return conversation;
    const countsAsUnread = message.sender.id !== viewerId && !message.deletedAt && !seen;
    return {
      ...conversation,
      lastMessage: message,
      unreadCount: countsAsUnread ? conversation.unreadCount + 1 : conversation.unreadCount,
      unreadMentionCount:
        countsAsUnread && message.mentions.some((user) => user.id === viewerId)
          ? conversation.unreadMentionCount + 1
          : conversation.unreadMentionCount,
    };
  }
  if (conversation.lastMessage?.id === message.id) return { ...conversation, lastMessage: message };
  return conversation;
}

/** One line of the list entry: the last message as plain text. */
/** A message without a body, in the list: "📎 photo.jpg" for one file, "Photo" for one image, counts for more. */
export function attachmentPreview(attachments: readonly { kind: string; filename: string }[]): string {
  if (attachments.length === 0) return 'Message deleted';
  const images = attachments.filter((attachment) => attachment.kind === 'IMAGE').length;
  if (attachments.length === 1) return images === 1 ? 'Photo' : `📎 ${attachments[0]!.filename}`;
  return images === attachments.length ? `${images} photos` : `📎 ${attachments.length} files`;
}

export function lastMessagePreview(conversation: Conversation, viewerId: string): string {
  const last = conversation.lastMessage;
  if (!last) return 'No messages yet';
  const body = last.deletedAt
    ? 'Message deleted'
    : last.body === null
      ? attachmentPreview(last.attachments ?? [])
      : last.body.replace(/\s+/g, ' ').trim();
  if (last.sender.id === viewerId) return `You: ${body}`;
  return conversation.kind === 'GROUP' ? `${last.sender.displayName}: ${body}` : body;
}

/**
 * Merges a fresh read of the list (after a reconnect) into what the client
 * has: new conversations are added, known ones take the fresh members and
 * title, and keep their last message and unread count when the fresh copy is
 * not newer, because replayed events may already have moved them.
 */
export function mergeConversations(
  current: Record<string, Conversation>,
  fresh: Conversation[],
): Record<string, Conversation> {
  const next = { ...current };
  for (const conversation of fresh) {
    const known = next[conversation.id];
    if (!known || (conversation.lastMessage && isNewer(conversation.lastMessage, known.lastMessage))) {
      next[conversation.id] = conversation;
    } else {
      next[conversation.id] = {
        ...known,
        title: conversation.title,
        members: conversation.members,
        myRole: conversation.myRole,
        memberships: conversation.memberships,
      };
    }
  }
  return next;
}

/** Online state of a user: a live presence event wins over what the last query said. */
export function isOnline(user: User, presence: Record<string, boolean>): boolean {
  return presence[user.id] ?? user.online;
}
