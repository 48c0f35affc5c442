// Blocking a user: the blocked user can no longer send, edit, react or type in
// the DIRECT conversation with the blocker (FORBIDDEN), cannot open it anew,
// and sees the blocker offline. Groups are unaffected.
import { writeAlone } from '../db/transaction.js';
import type { Context } from '../context.js';
import { Block } from '../db/entities/index.js';
import { badUserInput, forbidden, notFound } from '../errors.js';
import type { Blockers } from '../realtime/blockers.js';
import { builder } from './builder.js';
import { decodeId } from './ids.js';
import { UserRef } from './user.js';

/** The other member of a DIRECT conversation, read from its key ("smaller:larger"). */
function otherOfDirect(directKey: string, viewerId: number): number {
  const [a, b] = directKey.split(':').map(Number);
  return a === viewerId ? b! : a!;
}

/** Whether any member but the viewer may have blocked someone: only then can the viewer be blocked there. */
function mayBeBlockedAmong(members: Set<number>, viewerId: number, blockers: Blockers): boolean {
  for (const id of members) if (id !== viewerId && blockers.mayHaveBlocked(id)) return true;
  return false;
}

/** FORBIDDEN when the conversation is DIRECT and its other member has blocked the caller. */
export async function refuseIfBlocked(context: Context, conversationId: number): Promise<void> {
  // Without a query in the common case: a DIRECT conversation's two members
  // never change, so with more members it is a GROUP (never blocked), and when
  // no member but the caller may have blocked anyone (realtime/blockers.ts),
  // nobody in it blocks the caller.
  const { memberships, blockers } = context.realtime;
  const members = await memberships.membersOfOne(conversationId);
  const viewerId = context.viewer!.id;
  if (members.size > 2 || !mayBeBlockedAmong(members, viewerId, blockers)) return;
  const conversation = await context.loaders.conversation.load(conversationId);
  // Read before a write that changes the row (a send moves lastMessageId): later fields read it afresh.
  context.loaders.conversation.clear(conversationId);
  if (conversation?.kind !== 'DIRECT' || conversation.directKey === null) return;
  const otherId = otherOfDirect(conversation.directKey, viewerId);
  if (blockers.mayHaveBlocked(otherId) && (await context.loaders.blocksViewer.load(otherId))) {
    throw forbidden('This user does not accept your messages.');
  }
}

/** FORBIDDEN when `userId` has blocked the caller: no DIRECT conversation with them opens. */
export async function refuseDirectIfBlocked(context: Context, userId: number): Promise<void> {
  if (context.realtime.blockers.mayHaveBlocked(userId) && (await context.loaders.blocksViewer.load(userId)))
    throw forbidden('This user does not accept your messages.');
}

builder.objectField(UserRef, 'blockedByMe', (t) =>
  t.boolean({
    description: 'True when the caller has blocked this user.',
    resolve: (user, _args, context) => (context.viewer ? context.loaders.blockedByViewer.load(user.id) : false),
  }),
);

async function setBlocked(context: Context, userGlobalId: string, blocked: boolean) {
  const viewerId = context.viewer!.id;
  const userId = decodeId('User', userGlobalId);
  const user = userId === null ? null : await context.loaders.user.load(userId);
  if (!user) throw notFound('User');
  if (user.id === viewerId) throw badUserInput('userId', 'You cannot block yourself.');
  if (blocked) context.realtime.blockers.add(viewerId);
  await writeAlone<unknown>(context.dataSource, (manager) =>
    blocked
      ? manager
          .createQueryBuilder()
          .insert()
          .into(Block)
          .values({ blockerId: viewerId, blockedId: user.id, createdAt: new Date() })
          .orIgnore()
          .execute()
      : manager.delete(Block, { blockerId: viewerId, blockedId: user.id }),
  );
  await context.realtime.blocks.publish({ blockerId: viewerId, blockedId: user.id, blocked });
  context.loaders.blockedByViewer.clear(user.id);
  return user;
}

builder.mutationFields((t) => ({
  blockUser: t.field({
    type: UserRef,
    authScopes: { authenticated: true },
    description:
      "The blocked user can no longer send in the DIRECT conversation with the caller (FORBIDDEN), nor see the caller's presence.",
    args: { userId: t.arg.id({ required: true }) },
    resolve: (_root, args, context) => setBlocked(context, String(args.userId), true),
  }),
  unblockUser: t.field({
    type: UserRef,
    authScopes: { authenticated: true },
    args: { userId: t.arg.id({ required: true }) },
    resolve: (_root, args, context) => setBlocked(context, String(args.userId), false),
  }),
}));
