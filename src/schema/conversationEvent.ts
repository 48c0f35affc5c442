import { encodeGlobalID } from '@pothos/plugin-relay';
import { streamOf } from '../realtime/eventQueue.js';
import { builder } from './builder.js';
import { ConversationRef, findVisibleConversation } from './conversation.js';

type ConversationEventKind = 'JOINED' | 'UPDATED' | 'LEFT' | 'REMOVED';
type ConversationEvent = { kind: ConversationEventKind; conversationId: number };

const ConversationEventKindEnum = builder.enumType('ConversationEventKind', {
  values: {
    JOINED: {
      description:
        'The caller became a member: a new DIRECT conversation, a group created with or joined by the caller.',
    },
    UPDATED: {
      description: "Members joined, left or were removed, a role changed, or the title or a member's display name did.",
    },
    LEFT: { description: 'The caller left; no further events of this conversation follow.' },
    REMOVED: { description: 'An admin removed the caller; no further events of this conversation follow.' },
  } as const,
});

const ConversationEventRef = builder.objectRef<ConversationEvent>('ConversationEvent').implement({
  fields: (t) => ({
    kind: t.field({ type: ConversationEventKindEnum, resolve: (event) => event.kind }),
    conversationId: t.id({ resolve: (event) => encodeGlobalID('Conversation', event.conversationId) }),
    conversation: t.field({
      type: ConversationRef,
      nullable: true,
      description: 'Null when kind is LEFT or REMOVED.',
      resolve: (event, _args, context) =>
        event.kind === 'LEFT' || event.kind === 'REMOVED'
          ? null
          : findVisibleConversation(context, event.conversationId),
    }),
  }),
});

builder.subscriptionField('conversationEvents', (t) =>
  t.field({
    type: ConversationEventRef,
    authScopes: { authenticated: true },
    description: "Changes to the caller's list of conversations.",
    subscribe: (_root, _args, context) => {
      const viewerId = context.viewer!.id;
      const { memberships } = context.realtime;
      return streamOf<ConversationEvent>((push) => {
        // One delivery keeps the kinds in order: a LEFT cannot overtake an UPDATED still being checked.
        const deliver = memberships.forMember(viewerId, push);
        return memberships.listen((change) => {
          const { conversationId } = change;
          if (change.removed?.includes(viewerId)) deliver({ kind: 'REMOVED', conversationId });
          else if (change.left.includes(viewerId)) deliver({ kind: 'LEFT', conversationId });
          else if (change.joined.includes(viewerId)) deliver({ kind: 'JOINED', conversationId });
          // Every subscriber checks the same freshly invalidated conversation: they share one load.
          else deliver({ kind: 'UPDATED', conversationId }, conversationId);
        });
      }, context.disconnectSlowConsumer);
    },
    resolve: (event) => event,
  }),
);
