// Mentions as the API shows them: Message.mentions and the unread mention
// count of each conversation (stored and counted by db/mentions.ts).
import { User } from '../db/entities/index.js';
import { builder } from './builder.js';
import { ConversationRef } from './conversation.js';
import { MessageRef } from './message.js';
import { UserRef } from './user.js';

builder.objectFields(MessageRef, (t) => ({
  mentions: t.field({
    type: [UserRef],
    description: 'Members mentioned as @username in the body.',
    resolve: async (message, _args, context) => {
      const userIds = await context.loaders.mentionedUserIds.load(message.id);
      const users = await context.loaders.user.loadMany(userIds);
      return users.filter((user): user is User => user instanceof User);
    },
  }),
}));

builder.objectFields(ConversationRef, (t) => ({
  unreadMentionCount: t.int({
    description: "Messages from others after the caller's read marker that mention the caller, deleted ones excluded.",
    resolve: (conversation, _args, context) => context.loaders.unreadMentionCount.load(conversation.id),
  }),
}));
