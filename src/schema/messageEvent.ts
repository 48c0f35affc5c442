import { MESSAGE_EVENT_KINDS } from '../db/entities/index.js';
import type { DeliveredEvent } from '../realtime/messageFeed.js';
import { openMessageStream } from '../realtime/messageStream.js';
import type { Context } from '../context.js';
import type { ReactionGroup } from '../db/loaders.js';
import { builder } from './builder.js';
import { requireMemberConversationId } from './conversation.js';
import { eventCursor, parseEventCursor } from './eventCursor.js';
import { MessageRef } from './message.js';

const MessageEventKindEnum = builder.enumType('MessageEventKind', { values: MESSAGE_EVENT_KINDS });

const MessageEventRef = builder.objectRef<DeliveredEvent>('MessageEvent').implement({
  fields: (t) => ({
    kind: t.field({ type: MessageEventKindEnum, resolve: (event) => event.kind }),
    cursor: t.string({
      description:
        'Position of this event. Pass it as `after` to resume: every later event the\ncaller may see is replayed in order, then live events follow, with no gap and\nno duplicate.',
      resolve: (event) => eventCursor(event.position),
    }),
    message: t.field({ type: MessageRef, resolve: (event) => event.message }),
  }),
});

/**
 * Resolves an event from what the feed already loaded: each execution's
 * loaders start fresh (realtime/sharedExecution.ts) and are primed here, so
 * the usual selection (message, sender, reactions, conversation) costs no query.
 */
function primeLoaders(context: Context, event: DeliveredEvent): void {
  const { loaders } = context;
  loaders.prime('message', event.message.id, event.message);
  loaders.prime('user', event.sender.id, event.sender);
  loaders.prime('conversation', event.conversation.id, event.conversation);
  // The stream hands a subscriber only events of conversations it checked the
  // subscriber belongs to (the feed against the membership cache, a replay in
  // its query), so the fields below that check membership themselves
  // (Message.conversation, Conversation.members, …) find that answer here:
  // no query per subscriber per event, and no read of the viewer that would
  // stop subscribers sharing one execution.
  loaders.prime('isMember', event.conversationId, true);
  const groups = new Map<string, ReactionGroup>();
  for (const reaction of event.reactions) {
    const group = groups.get(reaction.emoji);
    if (group) group.count++;
    else groups.set(reaction.emoji, reactionGroup(context, event, reaction.emoji));
  }
  loaders.prime('reactionGroups', event.message.id, [...groups.values()]);
}

/** Reads the viewer only if the selection asks for reactedByMe, so the rest of an event's result stays shareable. */
function reactionGroup(context: Context, event: DeliveredEvent, emoji: string): ReactionGroup {
  return {
    emoji,
    count: 1,
    get reactedByMe() {
      return event.reactions.some((reaction) => reaction.emoji === emoji && reaction.userId === context.viewer!.id);
    },
  };
}

builder.subscriptionField('messageEvents', (t) =>
  t.field({
    type: MessageEventRef,
    authScopes: { authenticated: true },
    description:
      'Events of one conversation, or, with conversationId omitted, of every\nconversation the caller belongs to, including ones joined after subscribing.\nWith `after`, first replays what the caller missed since that cursor.',
    args: { conversationId: t.arg.id(), after: t.arg.string() },
    subscribe: async (_root, args, context) => {
      const conversationId =
        args.conversationId == null ? null : await requireMemberConversationId(context, String(args.conversationId));
      const after = args.after == null ? null : parseEventCursor(args.after);
      return openMessageStream(context.dataSource, context.realtime.feed, {
        viewerId: context.viewer!.id,
        conversationId,
        after,
        onOverflow: context.disconnectSlowConsumer,
      });
    },
    resolve: (event, _args, context) => {
      primeLoaders(context, event);
      return event;
    },
  }),
);
