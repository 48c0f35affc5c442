// Running a group: renaming it, removing members and setting roles. Each
// change re-reads the roles it depends on inside its transaction, so a
// concurrent demotion or removal cannot be overtaken.
import type { DataSource, EntityManager } from 'typeorm';
import { Conversation, Membership, type MemberRole } from './entities/index.js';
import { claimEventPosition } from './eventLog.js';
import { transaction } from './transaction.js';

/** What stood in the way of a change, or 'done'. */
export type AdminOutcome = 'done' | 'notMember' | 'forbidden' | 'targetNotMember' | 'targetIsOwner';

/** OWNER and ADMIN run a group. */
export const canManage = (role: MemberRole | undefined) => role === 'OWNER' || role === 'ADMIN';

function roleOf(manager: EntityManager, conversationId: number, userId: number): Promise<Membership | null> {
  return manager.findOneBy(Membership, { conversationId, userId });
}

/** Locks the conversation's row until commit (MySQL); SQLite transactions are serial anyway. */
async function lockConversation(manager: EntityManager, conversationId: number): Promise<void> {
  await manager.query('UPDATE conversations SET id = id WHERE id = ?', [conversationId]);
}

export function renameConversation(
  dataSource: DataSource,
  { conversationId, actorId, title }: { conversationId: number; actorId: number; title: string },
): Promise<AdminOutcome> {
  return transaction(dataSource, async (manager) => {
    await lockConversation(manager, conversationId);
    const actor = await roleOf(manager, conversationId, actorId);
    if (!actor) return 'notMember';
    if (!canManage(actor.role)) return 'forbidden';
    await manager.update(Conversation, { id: conversationId }, { title });
    return 'done';
  });
}

/**
 * Removes `userId` for an OWNER or ADMIN `actorId`; never the OWNER. Holds the
 * event-log lock as leaving does (db/conversations.ts removeMember): once this
 * returns, no message of the removed member can still commit there.
 */
export function removeMemberAsAdmin(
  dataSource: DataSource,
  { conversationId, actorId, userId }: { conversationId: number; actorId: number; userId: number },
): Promise<AdminOutcome> {
  return transaction(dataSource, async (manager) => {
    await claimEventPosition(manager, 0); // claims nothing: only the lock
    const actor = await roleOf(manager, conversationId, actorId);
    if (!actor) return 'notMember';
    if (!canManage(actor.role)) return 'forbidden';
    const target = await roleOf(manager, conversationId, userId);
    if (!target) return 'targetNotMember';
    if (target.role === 'OWNER') return 'targetIsOwner';
    await manager.delete(Membership, { conversationId, userId });
    return 'done';
  });
}

/** The OWNER `actorId` makes `userId` an ADMIN or a MEMBER. */
export function setMemberRole(
  dataSource: DataSource,
  {
    conversationId,
    actorId,
    userId,
    role,
  }: { conversationId: number; actorId: number; userId: number; role: 'ADMIN' | 'MEMBER' },
): Promise<AdminOutcome> {
  return transaction(dataSource, async (manager) => {
    await lockConversation(manager, conversationId);
    const actor = await roleOf(manager, conversationId, actorId);
    if (!actor) return 'notMember';
    if (actor.role !== 'OWNER') return 'forbidden';
    const target = await roleOf(manager, conversationId, userId);
    if (!target) return 'targetNotMember';
    if (target.role === 'OWNER') return 'targetIsOwner';
    await manager.update(Membership, { conversationId, userId }, { role });
    return 'done';
  });
}
