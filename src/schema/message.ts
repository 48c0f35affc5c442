import { Message } from '../db/entities/index.js';
import { readMessagePage } from '../db/history.js';
import { editMessageBody, setReaction, softDeleteMessage, storeMessage } from '../db/messages.js';
import { uploadsToClaim } from '../attachments/claim.js';
import { AttachmentClaimError } from '../db/attachments.js';
import { badUserInput, conflict, forbidden, notFound } from '../errors.js';
import type { Context } from '../context.js';
import { builder } from './builder.js';
import { ConversationRef, requireMemberConversationId } from './conversation.js';
import { eventCursor } from './eventCursor.js';
import { decodeId } from './ids.js';
import { clientMessageId, emoji, messageBody } from './limits.js';
import { decodeNumericCursor, encodeCursor, type PageArgs, parsePageArgs, toConnection } from './pagination.js';
import { UserRef } from './user.js';
import { refuseIfBlocked } from './block.js';
import { requireReplyTarget } from './replyTarget.js';

/** The message if the caller is a member of its conversation; otherwise NOT_FOUND. */
export async function requireVisibleMessage(context: Context, messageGlobalId: string): Promise<Message> {
  const message = await findVisibleMessage(context, decodeId('Message', messageGlobalId));
  if (!message) throw notFound('Message');
  return message;
}

export async function findVisibleMessage(context: Context, messageId: number | null): Promise<Message | null> {
  const message = messageId === null ? null : await context.loaders.message.load(messageId);
  return message && (await context.loaders.isMember.load(message.conversationId)) ? message : null;
}

/** Sender only; others who can see the message get FORBIDDEN. */
async function requireOwnMessage(context: Context, messageGlobalId: string): Promise<Message> {
  const message = await requireVisibleMessage(context, messageGlobalId);
  if (message.senderId !== context.viewer!.id) throw forbidden('Only the sender may change this message.');
  return message;
}

const ReactionGroupRef = builder
  .objectRef<{ emoji: string; count: number; reactedByMe: boolean }>('ReactionGroup')
  .implement({
    fields: (t) => ({
      emoji: t.exposeString('emoji'),
      count: t.exposeInt('count'),
      reactedByMe: t.exposeBoolean('reactedByMe'),
    }),
  });

export const MessageRef = builder.node(builder.objectRef<Message>('Message'), {
  id: { resolve: (message) => message.id },
  isTypeOf: (value) => value instanceof Message,
  // A message is its conversation's data: every field checks the caller is a member now.
  authScopes: (message) => ({ conversationMember: message.conversationId }),
  fields: (t) => ({
    conversation: t.field({
      type: ConversationRef,
      description: 'NOT_FOUND once the caller is no longer a member.',
      resolve: async (message, _args, context) =>
        (await context.loaders.conversation.load(message.conversationId)) ?? Promise.reject(notFound('Conversation')),
    }),
    sender: t.field({
      type: UserRef,
      resolve: async (message, _args, context) =>
        (await context.loaders.user.load(message.senderId)) ?? Promise.reject(notFound('User')),
    }),
    body: t.exposeString('body', { nullable: true, description: 'Null once the message is deleted.' }),
    clientMessageId: t.exposeString('clientMessageId', {
      nullable: true,
      description: "The sender's own id for this send, echoed back; see sendMessage.",
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    editedAt: t.expose('editedAt', { type: 'DateTime', nullable: true }),
    deletedAt: t.expose('deletedAt', { type: 'DateTime', nullable: true }),
    reactions: t.field({
      type: [ReactionGroupRef],
      resolve: (message, _args, context) => context.loaders.reactionGroups.load(message.id),
    }),
  }),
});

const MessageConnection = builder.connectionObject(
  {
    type: MessageRef,
    name: 'MessageConnection',
    fields: (t) => ({
      eventCursor: t.string({
        description:
          'A position in the event stream no later than this page: subscribing to\nmessageEvents(conversationId, after: eventCursor) misses nothing that happens\nafter the page was read. An event the page already reflects may still arrive once.',
        resolve: (connection) => (connection as unknown as { eventCursor: string }).eventCursor,
      }),
    }),
  },
  { name: 'MessageEdge' },
);

const MESSAGE_CURSOR = 'message';
const messageCursor = (message: Message) => encodeCursor(MESSAGE_CURSOR, message.id);

/**
 * One page of a conversation's history, with exact pageInfo and its eventCursor,
 * in one statement (db/history.ts). The caller checks membership: Query.messages
 * alongside this read, and no edge is returned before that check passed.
 */
async function messagePage(context: Context, conversationId: number, args: PageArgs) {
  const request = parsePageArgs(args);
  const afterId = request.after === null ? null : decodeNumericCursor(MESSAGE_CURSOR, request.after, 'after');
  const beforeId = request.before === null ? null : decodeNumericCursor(MESSAGE_CURSOR, request.before, 'before');
  const page = await readMessagePage(context.dataSource, {
    conversationId,
    direction: request.direction,
    afterId,
    beforeId,
    limit: request.limit + 1,
  });
  for (const message of page.messages) context.loaders.prime('message', message.id, message);
  for (const sender of page.senders) context.loaders.prime('user', sender.id, sender);
  return {
    ...toConnection(page.messages, request, messageCursor, page.beyondStart),
    eventCursor: eventCursor(page.position),
  };
}

builder.objectFields(ConversationRef, (t) => ({
  lastMessage: t.field({
    type: MessageRef,
    nullable: true,
    resolve: (conversation, _args, context) =>
      conversation.lastMessageId === null ? null : context.loaders.message.load(conversation.lastMessageId),
  }),
  messages: t.field({
    type: MessageConnection,
    description: 'Oldest first within a page. last/before pages backwards from the newest.',
    args: { first: t.arg.int(), after: t.arg.string(), last: t.arg.int(), before: t.arg.string() },
    resolve: (conversation, args, context) => messagePage(context, conversation.id, args),
  }),
}));

const SendMessageInput = builder.inputType('SendMessageInput', {
  fields: (t) => ({
    conversationId: t.id({ required: true }),
    body: t.string({ required: false, validate: messageBody }),
    attachmentIds: t.idList({
      required: false,
      description: 'Uploads of the caller in this conversation not yet sent (uploadAttachment); at most 10.',
    }),
    clientMessageId: t.string({
      validate: clientMessageId,
      description:
        'Idempotency key chosen by the client. Sending again with the same\n(sender, conversation, clientMessageId) returns the first message and stores\nnothing new.',
    }),
    replyToId: t.id({ description: 'A message of the same conversation.' }),
  }),
});

const EditMessageInput = builder.inputType('EditMessageInput', {
  fields: (t) => ({
    messageId: t.id({ required: true }),
    body: t.string({ required: true, validate: messageBody }),
  }),
});

builder.queryFields((t) => ({
  messages: t.field({
    type: MessageConnection,
    authScopes: { authenticated: true },
    description: 'Same as Conversation.messages; NOT_FOUND for non-members.',
    args: {
      conversationId: t.arg.id({ required: true }),
      first: t.arg.int(),
      after: t.arg.string(),
      last: t.arg.int(),
      before: t.arg.string(),
    },
    resolve: async (_root, args, context) => {
      const conversationId = decodeId('Conversation', String(args.conversationId));
      if (conversationId === null) throw notFound('Conversation');
      // Side by side, one round trip instead of two; the page is returned only once the check passed.
      const [, page] = await Promise.all([
        requireMemberConversationId(context, String(args.conversationId)),
        messagePage(context, conversationId, args),
      ]);
      return page;
    },
  }),
}));

builder.mutationFields((t) => ({
  sendMessage: t.field({
    type: MessageRef,
    authScopes: { authenticated: true },
    description: "Stored durably before it is returned or published. Also ends the sender's typing state there.",
    args: { input: t.arg({ type: SendMessageInput, required: true }) },
    resolve: async (_root, { input }, context) => {
      const [, conversationId] = await Promise.all([
        context.rateLimiter.consume('sendMessage', context.viewer!.id),
        requireMemberToSend(context, String(input.conversationId)),
      ]);
      await refuseIfBlocked(context, conversationId);
      await context.assistant.admit({
        senderId: context.viewer!.id,
        senderIsBot: async () => (await context.loaders.user.load(context.viewer!.id))?.isBot ?? false,
        conversationId,
        body: input.body ?? null,
      });
      const replyToId =
        input.replyToId == null ? null : await requireReplyTarget(context, String(input.replyToId), conversationId);
      const attachmentIds = await uploadsToClaim(
        context,
        conversationId,
        input.attachmentIds ?? [],
        input.clientMessageId ?? null,
      );
      if (!input.body && attachmentIds.length === 0) {
        throw badUserInput('body', 'A message needs a body or at least one attachment.');
      }
      const stored = await storeMessage(context.dataSource, {
        conversationId,
        senderId: context.viewer!.id,
        body: input.body ?? null,
        clientMessageId: input.clientMessageId ?? null,
        replyToId,
        attachmentIds,
      }).catch((error: unknown) =>
        Promise.reject(
          error instanceof AttachmentClaimError ? conflict('An attachment was sent or removed meanwhile.') : error,
        ),
      );
      // The sender left while the send waited for the write: as for any non-member.
      if (!stored) throw notFound('Conversation');
      // The transaction has just checked membership: the result's own check need not ask again.
      context.loaders.prime('isMember', conversationId, true);
      const { message, event } = stored;
      // Published only after the commit above; a retry (event null) publishes nothing new.
      // Ending the typing state is not awaited: it is ephemeral, and its
      // failures are swallowed anyway (realtime/typing.ts).
      void context.realtime.typing.set(conversationId, context.viewer!.id, false);
      if (event) await context.realtime.feed.announce(event.position);
      return message;
    },
  }),
  editMessage: t.field({
    type: MessageRef,
    authScopes: { authenticated: true },
    description: 'Sender only.',
    args: { input: t.arg({ type: EditMessageInput, required: true }) },
    resolve: async (_root, { input }, context) => {
      const message = await requireOwnMessage(context, String(input.messageId));
      if (message.deletedAt) throw notFound('Message');
      await refuseIfBlocked(context, message.conversationId);
      const edited = await editMessageBody(context.dataSource, message.id, input.body);
      if (!edited) throw notFound('Message');
      await context.realtime.feed.announce(edited.event.position);
      return edited.message;
    },
  }),
  deleteMessage: t.field({
    type: MessageRef,
    authScopes: { authenticated: true },
    description: 'Sender only. Soft delete: body becomes null, deletedAt is set.',
    args: { messageId: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => {
      const message = await requireOwnMessage(context, String(args.messageId));
      if (message.deletedAt) return message;
      const deleted = await softDeleteMessage(context.dataSource, message.id);
      if (deleted) await context.realtime.feed.announce(deleted.event.position);
      await context.attachments.deleteOfMessage(message.id);
      context.loaders.message.clear(message.id);
      context.loaders.reactionGroups.clear(message.id);
      return (await context.loaders.message.load(message.id))!;
    },
  }),
  addReaction: t.field({
    type: MessageRef,
    authScopes: { authenticated: true },
    args: { messageId: t.arg.id({ required: true }), emoji: t.arg.string({ required: true, validate: emoji }) },
    resolve: (_root, args, context) => react(context, String(args.messageId), args.emoji, true),
  }),
  removeReaction: t.field({
    type: MessageRef,
    authScopes: { authenticated: true },
    args: { messageId: t.arg.id({ required: true }), emoji: t.arg.string({ required: true, validate: emoji }) },
    resolve: (_root, args, context) => react(context, String(args.messageId), args.emoji, false),
  }),
}));

/**
 * The conversation of a send; NOT_FOUND unless the caller is a member. The
 * check that counts runs again inside the send's transaction (db/messages.ts),
 * so this early one may trust the instance's membership cache
 * (realtime/membership.ts) and spare the hottest path a query. A caller the
 * cache does not list is looked up in the database, so a membership the cache
 * has not seen yet is not refused.
 */
async function requireMemberToSend(context: Context, conversationGlobalId: string): Promise<number> {
  const conversationId = decodeId('Conversation', conversationGlobalId);
  if (conversationId !== null) {
    const members = await context.realtime.memberships.membersOfOne(conversationId);
    if (members.has(context.viewer!.id)) return conversationId;
  }
  return requireMemberConversationId(context, conversationGlobalId);
}

async function react(context: Context, messageGlobalId: string, reaction: string, present: boolean): Promise<Message> {
  await context.rateLimiter.consume('reaction', context.viewer!.id);
  const message = await requireVisibleMessage(context, messageGlobalId);
  if (message.deletedAt) throw notFound('Message');
  await refuseIfBlocked(context, message.conversationId);
  const change = await setReaction(context.dataSource, {
    messageId: message.id,
    userId: context.viewer!.id,
    emoji: reaction,
    present,
  });
  if (change) await context.realtime.feed.announce(change.event.position);
  context.loaders.reactionGroups.clear(message.id);
  return message;
}
