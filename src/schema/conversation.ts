import {
  addMembers,
  advanceReadMarker,
  countExistingUsers,
  createGroupConversation,
  listConversations,
  openDirectConversation,
  removeMember,
} from '../db/conversations.js';
import { Conversation, Membership, User } from '../db/entities/index.js';
import { currentEventPosition } from '../db/eventLog.js';
import { canManage } from '../db/groupAdmin.js';
import { badUserInput, forbidden, notFound } from '../errors.js';
import type { Context } from '../context.js';
import { refuseBots } from './bot.js';
import { builder } from './builder.js';
import { eventCursor } from './eventCursor.js';
import { decodeId } from './ids.js';
import { GROUP_MEMBERS_MAX, groupTitle } from './limits.js';
import { decodeNumericCursor, encodeCursor, parsePageArgs, toConnection } from './pagination.js';
import { UserRef } from './user.js';
import { refuseDirectIfBlocked } from './block.js';

/**
 * The conversation if the caller is a member; otherwise NOT_FOUND, the same
 * answer as for one that does not exist, so membership reveals nothing.
 */
export async function requireMembership(context: Context, conversationGlobalId: string): Promise<Conversation> {
  const conversationId = decodeId('Conversation', conversationGlobalId);
  const conversation = conversationId === null ? null : await findVisibleConversation(context, conversationId);
  if (!conversation) throw notFound('Conversation');
  return conversation;
}

/** requireMembership for callers that need only the id: one lookup, as a membership implies its conversation. */
export async function requireMemberConversationId(context: Context, conversationGlobalId: string): Promise<number> {
  const conversationId = decodeId('Conversation', conversationGlobalId);
  if (conversationId === null || !(await context.loaders.isMember.load(conversationId))) throw notFound('Conversation');
  return conversationId;
}

/** The conversation, or null when missing or the caller is not a member. */
export async function findVisibleConversation(context: Context, conversationId: number): Promise<Conversation | null> {
  const [member, conversation] = await Promise.all([
    context.loaders.isMember.load(conversationId),
    context.loaders.conversation.load(conversationId),
  ]);
  return member ? conversation : null;
}

/** FORBIDDEN unless the caller is the group's OWNER or an ADMIN. */
async function requireManager(context: Context, conversationId: number): Promise<void> {
  const mine = await context.dataSource.manager.findOneBy(Membership, { conversationId, userId: context.viewer!.id });
  if (!canManage(mine?.role)) throw forbidden('Only the OWNER or an ADMIN may add members.');
}

/** Decodes a list of user IDs, without duplicates; NOT_FOUND when any is malformed or unknown. */
async function requireUsers(context: Context, globalIds: readonly (string | number)[]): Promise<number[]> {
  const ids = [...new Set(globalIds.map((id) => decodeId('User', String(id))))];
  if (ids.some((id) => id === null)) throw notFound('User');
  const userIds = ids as number[];
  if ((await countExistingUsers(context.dataSource.manager, userIds)) !== userIds.length) throw notFound('User');
  return userIds;
}

export const ConversationKindEnum = builder.enumType('ConversationKind', {
  values: {
    DIRECT: { description: 'Exactly two members; at most one per pair of users.' },
    GROUP: {},
  } as const,
});

export const ConversationRef = builder.node(builder.objectRef<Conversation>('Conversation'), {
  id: { resolve: (conversation) => conversation.id },
  isTypeOf: (value) => value instanceof Conversation,
  // Every field, whatever path reached the conversation: a parent reached by
  // another way (an idempotent retry once returned a message of a conversation
  // the sender had left, issue #10) must not open it. NOT_FOUND otherwise.
  authScopes: (conversation) => ({ conversationMember: conversation.id }),
  fields: (t) => ({
    kind: t.field({ type: ConversationKindEnum, resolve: (conversation) => conversation.kind }),
    title: t.exposeString('title', { nullable: true, description: 'Null for DIRECT conversations.' }),
    members: t.field({
      type: [UserRef],
      resolve: async (conversation, _args, context) => {
        const memberIds = await context.loaders.memberIds.load(conversation.id);
        // The caller is a member, so shares this conversation with each: their presence needs no further query.
        for (const memberId of memberIds) context.loaders.prime('sharesConversation', memberId, true);
        const users = await context.loaders.user.loadMany(memberIds);
        return users.filter((user): user is User => user instanceof User);
      },
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    unreadCount: t.int({
      description: "Messages from others after the caller's read marker, deleted ones excluded.",
      resolve: (conversation, _args, context) => context.loaders.unreadCount.load(conversation.id),
    }),
  }),
});

const CONVERSATION_CURSOR = 'conversation';

const conversationCursor = (conversation: Conversation) =>
  encodeCursor(CONVERSATION_CURSOR, conversation.activityPosition);

const ConversationConnection = builder.connectionObject(
  {
    type: ConversationRef,
    name: 'ConversationConnection',
    fields: (t) => ({
      eventCursor: t.string({
        description:
          'A position in the event stream no later than this page: subscribing to\nmessageEvents (conversationId omitted) with after: eventCursor misses nothing\nthat happens after the page was read. An event the page already reflects may\nstill arrive once.',
        resolve: (connection) => (connection as unknown as { eventCursor: string }).eventCursor,
      }),
    }),
  },
  { name: 'ConversationEdge' },
);

const CreateGroupInput = builder.inputType('CreateGroupInput', {
  fields: (t) => ({
    title: t.string({ required: true, validate: groupTitle }),
    memberIds: t.idList({ required: true, description: 'The caller is always a member and need not be listed.' }),
  }),
});

builder.queryFields((t) => ({
  conversations: t.field({
    type: ConversationConnection,
    authScopes: { authenticated: true },
    description: "The caller's conversations, most recent activity first.",
    args: { first: t.arg.int(), after: t.arg.string() },
    resolve: async (_root, args, context) => {
      const request = parsePageArgs({ first: args.first, after: args.after });
      const afterPosition =
        request.after === null ? null : decodeNumericCursor(CONVERSATION_CURSOR, request.after, 'after');
      // Read the event position before the page, so the page reflects at least everything up to it.
      const position = await currentEventPosition(context.dataSource);
      const rows = await listConversations(context.dataSource, {
        userId: context.viewer!.id,
        afterPosition,
        limit: request.limit + 1,
      });
      for (const conversation of rows) {
        context.loaders.prime('conversation', conversation.id, conversation);
        // The list is read through the caller's memberships: it is the membership check.
        context.loaders.prime('isMember', conversation.id, true);
      }
      return {
        ...toConnection(rows, request, conversationCursor, afterPosition !== null),
        eventCursor: eventCursor(position),
      };
    },
  }),
  conversation: t.field({
    type: ConversationRef,
    nullable: true,
    authScopes: { authenticated: true },
    description: 'Null when missing or when the caller is not a member.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, context) => {
      const id = decodeId('Conversation', String(args.id));
      return id === null ? null : findVisibleConversation(context, id);
    },
  }),
}));

builder.mutationFields((t) => ({
  openDirectConversation: t.field({
    type: ConversationRef,
    authScopes: { authenticated: true },
    description: 'Returns the existing DIRECT conversation of the pair, or creates it.',
    args: { userId: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => {
      await refuseBots(context, 'open conversations');
      await context.rateLimiter.consume('membershipChange', context.viewer!.id);
      const otherId = decodeId('User', String(args.userId));
      const other = otherId === null ? null : await context.loaders.user.load(otherId);
      if (!other) throw notFound('User');
      if (other.id === context.viewer!.id) throw badUserInput('userId', 'A direct conversation needs another user.');
      await refuseDirectIfBlocked(context, other.id);
      const { conversation, created } = await openDirectConversation(context.dataSource, context.viewer!.id, other.id);
      if (created) {
        await context.realtime.memberships.publish({
          conversationId: conversation.id,
          joined: [context.viewer!.id, other.id],
          left: [],
        });
      }
      return conversation;
    },
  }),
  createGroupConversation: t.field({
    type: ConversationRef,
    authScopes: { authenticated: true },
    args: { input: t.arg({ type: CreateGroupInput, required: true }) },
    resolve: async (_root, { input }, context) => {
      await refuseBots(context, 'create conversations');
      await context.rateLimiter.consume('membershipChange', context.viewer!.id);
      const viewerId = context.viewer!.id;
      const others = (await requireUsers(context, input.memberIds)).filter((id) => id !== viewerId);
      const total = others.length + 1;
      if (total < 2 || total > GROUP_MEMBERS_MAX) {
        throw badUserInput('memberIds', `A group has 2 to ${GROUP_MEMBERS_MAX} members, counting its creator.`);
      }
      const conversation = await createGroupConversation(context.dataSource, input.title, [viewerId, ...others]);
      await context.realtime.memberships.publish({
        conversationId: conversation.id,
        joined: [viewerId, ...others],
        left: [],
      });
      return conversation;
    },
  }),
  addMembers: t.field({
    type: ConversationRef,
    authScopes: { authenticated: true },
    description: 'GROUP; OWNER or ADMIN (FORBIDDEN otherwise, and on DIRECT).',
    args: { conversationId: t.arg.id({ required: true }), userIds: t.arg.idList({ required: true }) },
    resolve: async (_root, args, context) => {
      await context.rateLimiter.consume('membershipChange', context.viewer!.id);
      const conversation = await requireMembership(context, String(args.conversationId));
      if (conversation.kind !== 'GROUP') throw forbidden('Members can only be added to a GROUP.');
      await requireManager(context, conversation.id);
      const userIds = await requireUsers(context, args.userIds);
      const added = await addMembers(context.dataSource, {
        conversationId: conversation.id,
        userIds,
        maxMembers: GROUP_MEMBERS_MAX,
      });
      if (!added) throw badUserInput('userIds', `A group has at most ${GROUP_MEMBERS_MAX} members.`);
      if (added.length > 0) {
        await context.realtime.memberships.publish({ conversationId: conversation.id, joined: added, left: [] });
      }
      context.loaders.memberIds.clear(conversation.id);
      return conversation;
    },
  }),
  leaveConversation: t.boolean({
    authScopes: { authenticated: true },
    description: 'GROUP only. The caller stops receiving its events at once.',
    args: { conversationId: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => {
      await context.rateLimiter.consume('membershipChange', context.viewer!.id);
      const conversation = await requireMembership(context, String(args.conversationId));
      if (conversation.kind !== 'GROUP') throw forbidden('Only a GROUP can be left.');
      const removed = await removeMember(context.dataSource, conversation.id, context.viewer!.id);
      // A later field of the same operation must see the caller as gone.
      context.loaders.isMember.clear(conversation.id);
      context.loaders.memberIds.clear(conversation.id);
      if (removed) {
        await context.realtime.memberships.publish({
          conversationId: conversation.id,
          joined: [],
          left: [context.viewer!.id],
        });
      }
      return true;
    },
  }),
  markRead: t.field({
    type: ConversationRef,
    authScopes: { authenticated: true },
    description: "Moves the caller's read marker forward to messageId (never backwards).",
    args: { conversationId: t.arg.id({ required: true }), messageId: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => {
      const conversation = await requireMembership(context, String(args.conversationId));
      const messageId = decodeId('Message', String(args.messageId));
      const message = messageId === null ? null : await context.loaders.message.load(messageId);
      if (!message || message.conversationId !== conversation.id) throw notFound('Message');
      const moved = await advanceReadMarker(context.dataSource, {
        conversationId: conversation.id,
        userId: context.viewer!.id,
        messageId: message.id,
      });
      if (moved) {
        context.realtime.readMarkers.moved({
          conversationId: conversation.id,
          userId: context.viewer!.id,
          messageId: message.id,
        });
      }
      context.loaders.isMember.clear(conversation.id);
      context.loaders.unreadCount.clear(conversation.id);
      return conversation;
    },
  }),
}));
