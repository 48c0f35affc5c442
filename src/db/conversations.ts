import { type DataSource, type EntityManager, In } from 'typeorm';
import { Conversation, Membership, User } from './entities/index.js';
import { claimEventPosition } from './eventLog.js';
import { isUniqueViolation, transaction, writeAlone } from './transaction.js';

/** The unique key of a pair's DIRECT conversation, the same whichever member asks. */
export function directKey(userA: number, userB: number): string {
  return userA < userB ? `${userA}:${userB}` : `${userB}:${userA}`;
}

export async function countExistingUsers(manager: EntityManager, userIds: number[]): Promise<number> {
  return userIds.length === 0 ? 0 : manager.countBy(User, { id: In(userIds) });
}

async function insertConversation(
  manager: EntityManager,
  fields: Pick<Conversation, 'kind' | 'title' | 'directKey'>,
  memberIds: number[],
): Promise<Conversation> {
  const now = new Date();
  const activityPosition = await claimEventPosition(manager);
  const conversation = manager.create(Conversation, {
    ...fields,
    createdAt: now,
    activityPosition,
    lastMessageId: null,
  });
  await manager.insert(Conversation, conversation);
  // A group's creator (listed first) owns it; a DIRECT conversation has no roles to change.
  const ownerId = fields.kind === 'GROUP' ? memberIds[0] : undefined;
  await insertMemberships(manager, conversation.id, memberIds, now, ownerId);
  return conversation;
}

async function insertMemberships(
  manager: EntityManager,
  conversationId: number,
  userIds: number[],
  joinedAt: Date,
  ownerId?: number,
) {
  if (userIds.length === 0) return;
  await manager.insert(
    Membership,
    userIds.map((userId) => ({
      conversationId,
      userId,
      joinedAt,
      lastReadMessageId: null,
      role: userId === ownerId ? ('OWNER' as const) : ('MEMBER' as const),
    })),
  );
}

/**
 * The pair's DIRECT conversation, created if missing. Concurrent calls for the
 * same pair race on the unique directKey: the loser reads the winner's row.
 */
export async function openDirectConversation(
  dataSource: DataSource,
  userId: number,
  otherUserId: number,
): Promise<{ conversation: Conversation; created: boolean }> {
  const key = directKey(userId, otherUserId);
  const existing = await dataSource.manager.findOneBy(Conversation, { directKey: key });
  if (existing) return { conversation: existing, created: false };
  try {
    const conversation = await transaction(dataSource, (manager) =>
      insertConversation(manager, { kind: 'DIRECT', title: null, directKey: key }, [userId, otherUserId]),
    );
    return { conversation, created: true };
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    return { conversation: await dataSource.manager.findOneByOrFail(Conversation, { directKey: key }), created: false };
  }
}

/** A GROUP owned by `memberIds[0]`, its creator. */
export function createGroupConversation(
  dataSource: DataSource,
  title: string,
  memberIds: number[],
): Promise<Conversation> {
  return transaction(dataSource, (manager) =>
    insertConversation(manager, { kind: 'GROUP', title, directKey: null }, memberIds),
  );
}

/**
 * Adds the users who are not members yet, unless the group would exceed
 * `maxMembers`; returns the ids added, or null when over the cap. Concurrent
 * calls serialize on the conversation's row, so the cap and the "not yet a
 * member" check both hold.
 */
export function addMembers(
  dataSource: DataSource,
  { conversationId, userIds, maxMembers }: { conversationId: number; userIds: number[]; maxMembers: number },
): Promise<number[] | null> {
  return transaction(dataSource, async (manager) => {
    // An UPDATE that changes nothing still locks the row until commit (MySQL); SQLite transactions are serial anyway.
    await manager.query('UPDATE conversations SET id = id WHERE id = ?', [conversationId]);
    const current = await manager.findBy(Membership, { conversationId });
    const currentIds = new Set(current.map((membership) => membership.userId));
    const added = userIds.filter((id) => !currentIds.has(id));
    if (current.length + added.length > maxMembers) return null;
    await insertMemberships(manager, conversationId, added, new Date());
    return added;
  });
}

/**
 * Removes the membership; false when the user was not a member. An owner's
 * leaving passes ownership on (passOwnership), in the same transaction. Holds the
 * event-log lock, as every send's write does (db/messages.ts checks the
 * sender's membership under it): a racing send commits wholly before the leave
 * or finds the sender gone, so once this returns no message of the leaver can
 * still commit there.
 */
export function removeMember(dataSource: DataSource, conversationId: number, userId: number): Promise<boolean> {
  return transaction(dataSource, async (manager) => {
    await claimEventPosition(manager, 0); // claims nothing: only the lock
    const leaving = await manager.findOneBy(Membership, { conversationId, userId });
    if (!leaving) return false;
    await manager.delete(Membership, { conversationId, userId });
    if (leaving.role === 'OWNER') await passOwnership(manager, conversationId);
    return true;
  });
}

/** The owner left: the longest-standing admin becomes owner, else the longest-standing member. */
async function passOwnership(manager: EntityManager, conversationId: number): Promise<void> {
  const successor =
    (await manager.findOne(Membership, {
      where: { conversationId, role: 'ADMIN' },
      order: { joinedAt: 'ASC', userId: 'ASC' },
    })) ??
    (await manager.findOne(Membership, { where: { conversationId }, order: { joinedAt: 'ASC', userId: 'ASC' } }));
  if (successor) await manager.update(Membership, { conversationId, userId: successor.userId }, { role: 'OWNER' });
}

/** The user's conversations, most recent activity first, after the keyset `afterPosition`. */
export function listConversations(
  dataSource: DataSource,
  { userId, afterPosition, limit }: { userId: number; afterPosition: number | null; limit: number },
): Promise<Conversation[]> {
  const query = dataSource.manager
    .createQueryBuilder(Conversation, 'conversation')
    .innerJoin(
      Membership,
      'membership',
      'membership.conversationId = conversation.id AND membership.userId = :userId',
      {
        userId,
      },
    )
    .orderBy('conversation.activityPosition', 'DESC')
    .limit(limit);
  if (afterPosition !== null) query.andWhere('conversation.activityPosition < :afterPosition', { afterPosition });
  return query.getMany();
}

/**
 * Moves the read marker forward to `messageId`; true when it moved. The
 * comparison is in the UPDATE itself, so concurrent calls can never move it backwards.
 */
export async function advanceReadMarker(
  dataSource: DataSource,
  { conversationId, userId, messageId }: { conversationId: number; userId: number; messageId: number },
): Promise<boolean> {
  const result = await writeAlone(dataSource, (manager) =>
    manager
      .createQueryBuilder()
      .update(Membership)
      .set({ lastReadMessageId: messageId })
      .where('conversationId = :conversationId AND userId = :userId', { conversationId, userId })
      .andWhere('(lastReadMessageId IS NULL OR lastReadMessageId < :messageId)', { messageId })
      .execute(),
  );
  return (result.affected ?? 0) > 0;
}

/** The ids of every conversation the user is a member of. */
export async function listConversationIdsOf(dataSource: DataSource, userId: number): Promise<number[]> {
  const rows = await dataSource.manager.find(Membership, { select: { conversationId: true }, where: { userId } });
  return rows.map((row) => row.conversationId);
}
