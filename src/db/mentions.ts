// Mentions: which members a message names as @username, found when the body
// is written (sent or edited) and stored in message_mentions, so reading them
// (Message.mentions, unread mention counts) never parses bodies again.
//
// The seam for notifications (push, the assistant): a consumer of the message
// event feed calls readMentions() for the ids of CREATED/EDITED events, and
// gets the mentioned user ids as stored in the same commit as the message.
import { type EntityManager, In } from 'typeorm';
import { Membership, MessageMention, User } from './entities/index.js';

/**
 * `@username` (usernames are 3..32 of [a-z0-9_], compared lower-case), not
 * inside a word or an e-mail address: no letter, digit, mark, `_`, `@`, `.`,
 * `+` or `-` of any script just before the `@`; no word character or `@` just
 * after the name, nor `.`/`-` followed by one (a domain: "@example.com").
 * Hand-written: mention parsers in libraries (twitter-text and the like) know
 * other username rules and would bring a large dependency for one pattern.
 */
const MENTION = /(?<![\p{L}\p{N}\p{M}_@.+-])@([a-z0-9_]{3,32})(?![\p{L}\p{N}\p{M}_@]|[.-][\p{L}\p{N}])/giu;

/** The usernames a body mentions, lower-case, without duplicates, in order of first mention. */
export function mentionedUsernames(body: string): string[] {
  return [...new Set([...body.matchAll(MENTION)].map((match) => match[1]!.toLowerCase()))];
}

type MentioningMessage = { id: number; conversationId: number; body: string | null };

/**
 * Stores the mentions of freshly written messages: the usernames of each body
 * that belong to a member of the message's conversation at this moment (the
 * caller's transaction); anyone else's @name stays plain text. No query at all
 * when no body has an @name.
 */
export async function recordMentions(manager: EntityManager, messages: readonly MentioningMessage[]): Promise<void> {
  const wanted = messages
    .map((message) => ({ message, usernames: message.body === null ? [] : mentionedUsernames(message.body) }))
    .filter((entry) => entry.usernames.length > 0);
  if (wanted.length === 0) return;
  const usernames = [...new Set(wanted.flatMap((entry) => entry.usernames))];
  const conversationIds = [...new Set(wanted.map((entry) => entry.message.conversationId))];
  const rows: { userId: number | string; username: string; conversationId: number | string }[] = await manager
    .createQueryBuilder(User, 'user')
    .innerJoin(Membership, 'membership', 'membership.userId = user.id')
    .select('user.id', 'userId')
    .addSelect('user.username', 'username')
    .addSelect('membership.conversationId', 'conversationId')
    .where('user.username IN (:...usernames)', { usernames })
    .andWhere('membership.conversationId IN (:...conversationIds)', { conversationIds })
    .getRawMany();
  const members = new Map(rows.map((row) => [`${Number(row.conversationId)}:${row.username}`, Number(row.userId)]));
  const mentions = wanted.flatMap(({ message, usernames: names }) =>
    names
      .map((name) => members.get(`${message.conversationId}:${name}`))
      .filter((userId) => userId !== undefined)
      .map((userId) => ({ messageId: message.id, userId, conversationId: message.conversationId })),
  );
  if (mentions.length > 0) await manager.insert(MessageMention, mentions);
}

/** After an edit: the mentions of the new body replace the old ones. */
export async function replaceMentions(manager: EntityManager, message: MentioningMessage): Promise<void> {
  await forgetMentions(manager, message.id);
  await recordMentions(manager, [message]);
}

/** After a delete: a deleted message mentions no one. */
export async function forgetMentions(manager: EntityManager, messageId: number): Promise<void> {
  await manager.delete(MessageMention, { messageId });
}

/** The user ids each message mentions (empty when none), in user id order. */
export async function readMentions(
  manager: EntityManager,
  messageIds: readonly number[],
): Promise<Map<number, number[]>> {
  const mentions = new Map(messageIds.map((id) => [id, [] as number[]]));
  if (messageIds.length === 0) return mentions;
  const rows = await manager.find(MessageMention, {
    where: { messageId: In([...messageIds]) },
    order: { messageId: 'ASC', userId: 'ASC' },
  });
  for (const row of rows) mentions.get(row.messageId)?.push(row.userId);
  return mentions;
}

/**
 * Per conversation, the messages from others after the user's read marker
 * that mention the user (deleted ones lose their mentions, so never count).
 */
export async function countUnreadMentions(
  manager: EntityManager,
  userId: number,
  conversationIds: readonly number[],
): Promise<Map<number, number>> {
  if (conversationIds.length === 0) return new Map();
  const rows: { conversationId: number | string; unread: number | string }[] = await manager
    .createQueryBuilder(MessageMention, 'mention')
    .innerJoin(
      Membership,
      'membership',
      'membership.conversationId = mention.conversationId AND membership.userId = mention.userId',
    )
    .innerJoin('messages', 'message', 'message.id = mention.messageId')
    .select('mention.conversationId', 'conversationId')
    .addSelect('COUNT(*)', 'unread')
    .where('mention.userId = :userId', { userId })
    .andWhere('mention.conversationId IN (:...conversationIds)', { conversationIds: [...conversationIds] })
    .andWhere('(membership.lastReadMessageId IS NULL OR mention.messageId > membership.lastReadMessageId)')
    .andWhere('message.senderId <> :userId')
    .groupBy('mention.conversationId')
    .getRawMany();
  return new Map(rows.map((row) => [Number(row.conversationId), Number(row.unread)]));
}
