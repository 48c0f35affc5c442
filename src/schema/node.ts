import { downloadableAttachment } from '../db/attachments.js';
import { builder } from './builder.js';
import { findVisibleConversation } from './conversation.js';
import { decodeId } from './ids.js';
import { findVisibleMessage } from './message.js';

// Hand-written instead of the relay plugin's node field, so a malformed ID or
// one the caller may not see answers null rather than an error.
builder.queryField('node', (t) =>
  t.field({
    type: builder.nodeInterfaceRef(),
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => {
      if (!context.viewer) return null;
      const id = String(args.id);
      const userId = decodeId('User', id);
      if (userId !== null) return context.loaders.user.load(userId);
      const conversationId = decodeId('Conversation', id);
      if (conversationId !== null) return findVisibleConversation(context, conversationId);
      const attachmentId = decodeId('Attachment', id);
      if (attachmentId !== null) return downloadableAttachment(context.dataSource, attachmentId, context.viewer.id);
      return findVisibleMessage(context, decodeId('Message', id));
    },
  }),
);
