// Per-request batch loaders: every object a request touches is fetched in one
// query per kind, however many resolvers ask, so a page of 50 messages with
// senders and reactions costs the same few queries as a page of one.
import DataLoader from 'dataloader';
import { type DataSource, In } from 'typeorm';
import { Block, Conversation, Membership, Message, Reaction, User } from './entities/index.js';
import { createMentionLoaders } from './mentions.js';
import { execute, findByIds, inList } from './prepared.js';

export type ReactionGroup = { emoji: string; count: number; reactedByMe: boolean };

function byId<T extends { id: number }>(rows: T[], ids: readonly number[]): (T | null)[] {
  const found = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => found.get(id) ?? null);
}

function groupBy<T, K>(rows: T[], keyOf: (row: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const row of rows) {
    const key = keyOf(row);
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  return groups;
}

/**
 * `viewer.id` is read only inside the loaders that depend on it, when they
 * load: a shared subscription execution (realtime/sharedExecution.ts) learns
 * from that read whether its result belongs to one viewer or to all.
 */
export function createLoaders(
  dataSource: DataSource,
  viewer: { readonly id: number } | null,
  isOnline: (userIds: readonly number[]) => Promise<boolean[]>,
) {
  const manager = dataSource.manager;
  return {
    online: new DataLoader<number, boolean>(isOnline),

    // Prepared statements (db/prepared.ts): these run on nearly every request.
    user: new DataLoader<number, User | null>(async (ids) => byId(await findByIds(dataSource, User, ids), ids)),

    conversation: new DataLoader<number, Conversation | null>(async (ids) =>
      byId(await findByIds(dataSource, Conversation, ids), ids),
    ),

    message: new DataLoader<number, Message | null>(async (ids) =>
      byId(await findByIds(dataSource, Message, ids), ids),
    ),

    /** Whether the viewer is a member of each conversation now: the authorization check. */
    isMember: new DataLoader<number, boolean>(async (conversationIds) => {
      if (viewer === null) return conversationIds.map(() => false);
      const list = inList(conversationIds);
      const { rows } = await execute(
        manager,
        `SELECT conversationId FROM ${dataSource.driver.escape('memberships')} WHERE userId = ? AND conversationId IN (${list.placeholders})`,
        [viewer.id, ...list.params],
      );
      const found = new Set(rows.map((row) => Number(row.conversationId)));
      return conversationIds.map((id) => found.has(id));
    }),

    /**
     * Whether the viewer shares at least one conversation with each user (true
     * for the viewer themself): who may see that user's presence.
     */
    sharesConversation: new DataLoader<number, boolean>(async (userIds) => {
      if (viewer === null) return userIds.map(() => false);
      const viewerId = viewer.id;
      const others = userIds.filter((id) => id !== viewerId);
      const rows: { userId: number | string }[] =
        others.length === 0
          ? []
          : await manager
              .createQueryBuilder()
              .select('DISTINCT other.userId', 'userId')
              .from(Membership, 'mine')
              .innerJoin(Membership, 'other', 'other.conversationId = mine.conversationId')
              .where('mine.userId = :viewerId', { viewerId })
              .andWhere('other.userId IN (:...others)', { others })
              .getRawMany();
      const shared = new Set(rows.map((row) => Number(row.userId)));
      return userIds.map((id) => id === viewerId || shared.has(id));
    }),

    memberIds: new DataLoader<number, number[]>(async (conversationIds) => {
      const rows = await manager.find(Membership, {
        where: { conversationId: In([...conversationIds]) },
        order: { joinedAt: 'ASC', userId: 'ASC' },
      });
      const groups = groupBy(rows, (row) => row.conversationId);
      return conversationIds.map((id) => (groups.get(id) ?? []).map((row) => row.userId));
    }),

    /** Every membership of each conversation (roles, read markers), longest-standing first. */
    memberships: new DataLoader<number, Membership[]>(async (conversationIds) => {
      const rows = await manager.find(Membership, {
        where: { conversationId: In([...conversationIds]) },
        order: { joinedAt: 'ASC', userId: 'ASC' },
      });
      const groups = groupBy(rows, (row) => row.conversationId);
      return conversationIds.map((id) => groups.get(id) ?? []);
    }),

    /** Whether the viewer has blocked each user. */
    blockedByViewer: new DataLoader<number, boolean>(async (userIds) => {
      if (viewer === null) return userIds.map(() => false);
      const rows = await manager.findBy(Block, { blockerId: viewer.id, blockedId: In([...userIds]) });
      const blocked = new Set(rows.map((row) => row.blockedId));
      return userIds.map((id) => blocked.has(id));
    }),

    /** Whether each user has blocked the viewer (who then sees them offline). */
    blocksViewer: new DataLoader<number, boolean>(async (userIds) => {
      if (viewer === null) return userIds.map(() => false);
      const rows = await manager.findBy(Block, { blockedId: viewer.id, blockerId: In([...userIds]) });
      const blockers = new Set(rows.map((row) => row.blockerId));
      return userIds.map((id) => blockers.has(id));
    }),

    reactionGroups: new DataLoader<number, ReactionGroup[]>(async (messageIds) => {
      const rows: { messageId: number | string; emoji: string; count: number | string; mine: number | string }[] =
        await manager
          .createQueryBuilder(Reaction, 'reaction')
          .select('reaction.messageId', 'messageId')
          .addSelect('reaction.emoji', 'emoji')
          .addSelect('COUNT(*)', 'count')
          .addSelect('SUM(CASE WHEN reaction.userId = :viewerId THEN 1 ELSE 0 END)', 'mine')
          .addSelect('MIN(reaction.createdAt)', 'firstAt')
          .where('reaction.messageId IN (:...messageIds)', { messageIds: [...messageIds] })
          .setParameter('viewerId', viewer?.id ?? 0)
          .groupBy('reaction.messageId')
          .addGroupBy('reaction.emoji')
          .orderBy('firstAt', 'ASC')
          .addOrderBy('emoji', 'ASC')
          .getRawMany();
      const groups = groupBy(rows, (row) => Number(row.messageId));
      return messageIds.map((id) =>
        (groups.get(id) ?? []).map((row) => ({
          emoji: row.emoji,
          count: Number(row.count),
          reactedByMe: Number(row.mine) > 0,
        })),
      );
    }),

    /** Messages from others after the viewer's read marker, deleted ones excluded. */
    unreadCount: new DataLoader<number, number>(async (conversationIds) => {
      if (viewer === null) return conversationIds.map(() => 0);
      const viewerId = viewer.id;
      const rows: { conversationId: number | string; unread: number | string }[] = await manager
        .createQueryBuilder(Message, 'message')
        .innerJoin(
          Membership,
          'membership',
          'membership.conversationId = message.conversationId AND membership.userId = :viewerId',
          { viewerId },
        )
        .select('message.conversationId', 'conversationId')
        .addSelect('COUNT(*)', 'unread')
        .where('message.conversationId IN (:...conversationIds)', { conversationIds: [...conversationIds] })
        .andWhere('message.senderId <> :viewerId')
        .andWhere('message.deletedAt IS NULL')
        .andWhere('(membership.lastReadMessageId IS NULL OR message.id > membership.lastReadMessageId)')
        .groupBy('message.conversationId')
        .getRawMany();
      const counts = new Map(rows.map((row) => [Number(row.conversationId), Number(row.unread)]));
      return conversationIds.map((id) => counts.get(id) ?? 0);
    }),

    ...createMentionLoaders(manager, viewer),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
