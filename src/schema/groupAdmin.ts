// Running a group: roles, memberships with read markers, rename, removal and
// role changes. Every change reaches the members through the `membership`
// topic (conversationEvents UPDATED; REMOVED for the one removed).
import { encodeGlobalID } from '@pothos/plugin-relay';
import type { Membership } from '../db/entities/index.js';
import { type AdminOutcome, removeMemberAsAdmin, renameConversation, setMemberRole } from '../db/groupAdmin.js';
import { badUserInput, forbidden, notFound } from '../errors.js';
import type { Context } from '../context.js';
import { builder } from './builder.js';
import { ConversationRef, requireMembership } from './conversation.js';
import { decodeId } from './ids.js';
import { groupTitle } from './limits.js';
import { UserRef } from './user.js';

export const MemberRoleEnum = builder.enumType('MemberRole', {
  description:
    'OWNER and ADMIN may rename a GROUP, add and remove members; only the OWNER sets roles;\nnobody removes the OWNER. When the OWNER leaves, ownership passes to the\nlongest-standing ADMIN, else to the longest-standing member.',
  values: {
    OWNER: { description: 'The creator of a GROUP; both members of a DIRECT conversation are MEMBER.' },
    ADMIN: {},
    MEMBER: {},
  } as const,
});

const MembershipRef = builder.objectRef<Membership>('Membership').implement({
  fields: (t) => ({
    user: t.field({
      type: UserRef,
      resolve: async (membership, _args, context) => {
        // The caller is a member of this conversation, so shares it with each member.
        context.loaders.prime('sharesConversation', membership.userId, true);
        return (await context.loaders.user.load(membership.userId)) ?? Promise.reject(notFound('User'));
      },
    }),
    role: t.field({ type: MemberRoleEnum, resolve: (membership) => membership.role }),
    joinedAt: t.expose('joinedAt', { type: 'DateTime' }),
    lastReadMessageId: t.id({
      nullable: true,
      description: 'The newest message this member has marked read; null if none.',
      resolve: (membership) =>
        membership.lastReadMessageId === null ? null : encodeGlobalID('Message', membership.lastReadMessageId),
    }),
  }),
});

builder.objectFields(ConversationRef, (t) => ({
  memberships: t.field({
    type: [MembershipRef],
    description: 'One per member, with role and read marker; longest-standing first.',
    resolve: (conversation, _args, context) => context.loaders.memberships.load(conversation.id),
  }),
  myRole: t.field({
    type: MemberRoleEnum,
    description: "The caller's role here.",
    resolve: async (conversation, _args, context) => {
      const memberships = await context.loaders.memberships.load(conversation.id);
      const mine = memberships.find((membership) => membership.userId === context.viewer!.id);
      // Conversation's authScopes admitted a member; gone since: as for any non-member.
      return mine?.role ?? Promise.reject(notFound('Conversation'));
    },
  }),
}));

/** The GROUP the caller is a member of; FORBIDDEN for a DIRECT conversation. */
async function requireGroup(context: Context, conversationGlobalId: string, what: string) {
  const conversation = await requireMembership(context, conversationGlobalId);
  if (conversation.kind !== 'GROUP') throw forbidden(`A DIRECT conversation cannot ${what}.`);
  return conversation;
}

/** The member named by `userGlobalId`; NOT_FOUND when malformed. */
function requireUserId(userGlobalId: string): number {
  const userId = decodeId('User', userGlobalId);
  if (userId === null) throw notFound('User');
  return userId;
}

/** Turns an outcome other than 'done' into the contract's error. */
function check(outcome: AdminOutcome, refusal: string): void {
  switch (outcome) {
    case 'done':
      return;
    case 'notMember':
      throw notFound('Conversation');
    case 'forbidden':
      throw forbidden(refusal);
    case 'targetNotMember':
      throw notFound('User');
    case 'targetIsOwner':
      throw forbidden('The OWNER of a group cannot be removed or given another role.');
  }
}

/** Later fields of the same operation read the group as it is now. */
function forgetCached(context: Context, conversationId: number): void {
  context.loaders.conversation.clear(conversationId);
  context.loaders.memberships.clear(conversationId);
  context.loaders.memberIds.clear(conversationId);
  context.loaders.isMember.clear(conversationId);
}

builder.mutationFields((t) => ({
  renameConversation: t.field({
    type: ConversationRef,
    authScopes: { authenticated: true },
    description: 'GROUP; OWNER or ADMIN.',
    args: {
      conversationId: t.arg.id({ required: true }),
      title: t.arg.string({ required: true, validate: groupTitle }),
    },
    resolve: async (_root, args, context) => {
      await context.rateLimiter.consume('membershipChange', context.viewer!.id);
      const conversation = await requireGroup(context, String(args.conversationId), 'be renamed');
      check(
        await renameConversation(context.dataSource, {
          conversationId: conversation.id,
          actorId: context.viewer!.id,
          title: args.title,
        }),
        'Only the OWNER or an ADMIN may rename the group.',
      );
      // No one joined or left: members see UPDATED with the new title.
      await context.realtime.memberships.publish({ conversationId: conversation.id, joined: [], left: [] });
      forgetCached(context, conversation.id);
      return (await context.loaders.conversation.load(conversation.id)) ?? Promise.reject(notFound('Conversation'));
    },
  }),
  removeMember: t.field({
    type: ConversationRef,
    authScopes: { authenticated: true },
    description:
      "GROUP; OWNER or ADMIN, never the OWNER. The removed member's live streams of it end (conversationEvents: REMOVED).",
    args: { conversationId: t.arg.id({ required: true }), userId: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => {
      await context.rateLimiter.consume('membershipChange', context.viewer!.id);
      const conversation = await requireGroup(context, String(args.conversationId), 'have members removed');
      const userId = requireUserId(String(args.userId));
      if (userId === context.viewer!.id) throw badUserInput('userId', 'To leave a group, use leaveConversation.');
      check(
        await removeMemberAsAdmin(context.dataSource, {
          conversationId: conversation.id,
          actorId: context.viewer!.id,
          userId,
        }),
        'Only the OWNER or an ADMIN may remove members.',
      );
      // As leaving: every instance forgets the member at once, so no later event of it reaches them.
      await context.realtime.memberships.publish({
        conversationId: conversation.id,
        joined: [],
        left: [userId],
        removed: [userId],
      });
      forgetCached(context, conversation.id);
      return conversation;
    },
  }),
  setMemberRole: t.field({
    type: ConversationRef,
    authScopes: { authenticated: true },
    description: 'GROUP; OWNER only; role ADMIN or MEMBER.',
    args: {
      conversationId: t.arg.id({ required: true }),
      userId: t.arg.id({ required: true }),
      role: t.arg({ type: MemberRoleEnum, required: true }),
    },
    resolve: async (_root, args, context) => {
      await context.rateLimiter.consume('membershipChange', context.viewer!.id);
      const conversation = await requireGroup(context, String(args.conversationId), 'have roles');
      if (args.role === 'OWNER') throw badUserInput('role', 'A group has one OWNER; the role must be ADMIN or MEMBER.');
      const userId = requireUserId(String(args.userId));
      check(
        await setMemberRole(context.dataSource, {
          conversationId: conversation.id,
          actorId: context.viewer!.id,
          userId,
          role: args.role,
        }),
        'Only the OWNER may set roles.',
      );
      await context.realtime.memberships.publish({ conversationId: conversation.id, joined: [], left: [] });
      forgetCached(context, conversation.id);
      return conversation;
    },
  }),
}));
