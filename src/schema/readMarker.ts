// Read markers of the other members of one conversation as they move, so a
// sender sees "Seen" (DIRECT) or "Seen by N" (GROUP). Published by markRead
// through realtime/readMarkers.ts (throttled per member), on every instance.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { streamOf } from '../realtime/eventQueue.js';
import type { ReadMarkerPayload } from '../realtime/topics.js';
import { notFound } from '../errors.js';
import { builder } from './builder.js';
import { requireMemberConversationId } from './conversation.js';
import { UserRef } from './user.js';

const ReadMarkerEventRef = builder.objectRef<ReadMarkerPayload>('ReadMarkerEvent').implement({
  fields: (t) => ({
    conversationId: t.id({ resolve: (event) => encodeGlobalID('Conversation', event.conversationId) }),
    user: t.field({
      type: UserRef,
      resolve: async (event, _args, context) => {
        // Delivered only to members, so the caller shares this conversation with the reader.
        context.loaders.prime('sharesConversation', event.userId, true);
        return (await context.loaders.user.load(event.userId)) ?? Promise.reject(notFound('User'));
      },
    }),
    lastReadMessageId: t.id({ resolve: (event) => encodeGlobalID('Message', event.messageId) }),
  }),
});

builder.subscriptionField('readMarkers', (t) =>
  t.field({
    type: ReadMarkerEventRef,
    authScopes: { authenticated: true },
    description: 'Read markers of the other members of one conversation as they move.',
    args: { conversationId: t.arg.id({ required: true }) },
    subscribe: async (_root, args, context) => {
      const conversationId = await requireMemberConversationId(context, String(args.conversationId));
      const viewerId = context.viewer!.id;
      const { readMarkers, memberships } = context.realtime;
      return streamOf<ReadMarkerPayload>((push) => {
        const deliver = memberships.forMember(viewerId, push);
        return readMarkers.listen((marker) => {
          if (marker.conversationId !== conversationId || marker.userId === viewerId) return;
          // Authorized per event from the membership cache: a member who left or was removed hears nothing more.
          deliver(marker, conversationId);
        });
      }, context.disconnectSlowConsumer);
    },
    resolve: (event) => event,
  }),
);
