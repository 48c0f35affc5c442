import { encodeGlobalID } from '@pothos/plugin-relay';
import { streamOf } from '../realtime/eventQueue.js';
import type { TypingPayload } from '../realtime/topics.js';
import { builder } from './builder.js';
import { requireMemberConversationId } from './conversation.js';
import { UserRef } from './user.js';
import { refuseIfBlocked } from './block.js';

const TypingEventRef = builder.objectRef<TypingPayload>('TypingEvent').implement({
  fields: (t) => ({
    conversationId: t.id({ resolve: (event) => encodeGlobalID('Conversation', event.conversationId) }),
    user: t.field({
      type: UserRef,
      resolve: async (event, _args, context) => (await context.loaders.user.load(event.userId))!,
    }),
    typing: t.exposeBoolean('typing'),
  }),
});

builder.mutationField('setTyping', (t) =>
  t.boolean({
    authScopes: { authenticated: true },
    description: 'typing=true lasts 5 seconds unless repeated; typing=false ends it at once.',
    args: { conversationId: t.arg.id({ required: true }), typing: t.arg.boolean({ required: true }) },
    resolve: async (_root, args, context) => {
      await context.rateLimiter.consume('setTyping', context.viewer!.id);
      const conversationId = await requireMemberConversationId(context, String(args.conversationId));
      if (args.typing) await refuseIfBlocked(context, conversationId);
      await context.realtime.typing.set(conversationId, context.viewer!.id, args.typing);
      return true;
    },
  }),
);

builder.subscriptionField('typing', (t) =>
  t.field({
    type: TypingEventRef,
    authScopes: { authenticated: true },
    description: 'Typing changes of other members in one conversation.',
    args: { conversationId: t.arg.id({ required: true }) },
    subscribe: async (_root, args, context) => {
      const conversationId = await requireMemberConversationId(context, String(args.conversationId));
      const viewerId = context.viewer!.id;
      const { typing, memberships } = context.realtime;
      return streamOf<TypingPayload>((push) => {
        const deliver = memberships.forMember(viewerId, push);
        return typing.listen((event) => {
          if (event.conversationId !== conversationId || event.userId === viewerId) return;
          // Authorized per event, in order, from the membership cache: a member who left hears nothing more.
          deliver(event, conversationId);
        });
      }, context.disconnectSlowConsumer);
    },
    resolve: (event) => event,
  }),
);
