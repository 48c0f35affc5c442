// Message.replyTo: the original as it is now (edited body; deleted: body null).
// A send's reply target is checked in replyTarget.ts.
import { builder } from './builder.js';
import { findVisibleMessage, MessageRef } from './message.js';

builder.objectFields(MessageRef, (t) => ({
  replyTo: t.field({
    type: MessageRef,
    nullable: true,
    description: 'The message this one replies to; a deleted one still shows (body null).',
    // Checked here, not inherited from the reply: the original is loaded by id and must be visible on its own.
    resolve: async (message, _args, context) => {
      if (!message.replyToId) return null;
      const original = await findVisibleMessage(context, message.replyToId);
      return original && original.conversationId === message.conversationId ? original : null;
    },
  }),
}));
