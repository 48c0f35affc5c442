// Who is pushed for a new message: every member but the sender who has not
// muted the conversation, has not read the message, and has no live
// connection on any instance, as they stand when the push falls due.
import { type DataSource, In } from 'typeorm';
import { Membership, type Message } from '../db/entities/index.js';
import type { Presence } from '../realtime/presence.js';
import { ConversationMute } from './entities.js';

/**
 * Whether the message should reach a member who muted its conversation. The
 * seam for mentions (issue #16): a mention of the member will answer true.
 */
export function overridesMute(_message: Message, _userId: number): boolean {
  return false;
}

/** For each message, the members to push, by message id. */
export async function recipientsOf(
  dataSource: DataSource,
  presence: Presence,
  messages: Message[],
): Promise<Map<number, number[]>> {
  const conversationIds = [...new Set(messages.map((message) => message.conversationId))];
  if (conversationIds.length === 0) return new Map();
  const [memberships, mutes] = await Promise.all([
    dataSource.manager.findBy(Membership, { conversationId: In(conversationIds) }),
    dataSource.manager.findBy(ConversationMute, { conversationId: In(conversationIds) }),
  ]);
  const muted = new Set(mutes.map((mute) => `${mute.conversationId}:${mute.userId}`));
  const candidates = new Map<number, number[]>();
  for (const message of messages) {
    candidates.set(
      message.id,
      memberships
        .filter(
          (member) =>
            member.conversationId === message.conversationId &&
            member.userId !== message.senderId &&
            (member.lastReadMessageId === null || member.lastReadMessageId < message.id) &&
            (!muted.has(`${member.conversationId}:${member.userId}`) || overridesMute(message, member.userId)),
        )
        .map((member) => member.userId),
    );
  }
  const userIds = [...new Set([...candidates.values()].flat())];
  const online = await presence.online(userIds);
  const away = new Set(userIds.filter((_, index) => !online[index]));
  return new Map([...candidates].map(([messageId, users]) => [messageId, users.filter((user) => away.has(user))]));
}
