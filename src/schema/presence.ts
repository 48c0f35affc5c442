import { streamOf } from '../realtime/eventQueue.js';
import { Contacts } from '../realtime/presence.js';
import type { PresencePayload } from '../realtime/topics.js';
import { Block } from '../db/entities/index.js';
import { notFound } from '../errors.js';
import { builder } from './builder.js';
import { decodeId } from './ids.js';
import { UserRef } from './user.js';

const PresenceEventRef = builder.objectRef<PresencePayload>('PresenceEvent').implement({
  fields: (t) => ({
    user: t.field({
      type: UserRef,
      resolve: async (event, _args, context) => (await context.loaders.user.load(event.userId))!,
    }),
    online: t.exposeBoolean('online'),
    lastSeenAt: t.field({
      type: 'DateTime',
      nullable: true,
      resolve: (event) => (event.lastSeenAt ? new Date(event.lastSeenAt) : null),
    }),
  }),
});

builder.subscriptionField('presence', (t) =>
  t.field({
    type: PresenceEventRef,
    authScopes: { authenticated: true },
    description:
      "Online/offline changes of the given users, or, with userIds omitted, of\neveryone who shares a conversation with the caller. Offline is published\nwithin 2 seconds of a user's last connection closing, and within 60 seconds\nof the instance holding it dying.",
    args: { userIds: t.arg.idList() },
    subscribe: async (_root, args, context) => {
      const viewerId = context.viewer!.id;
      const { presence, memberships } = context.realtime;
      const watched = args.userIds?.map((id) => decodeId('User', String(id)));
      const contacts = await Contacts.of(context.dataSource, memberships, context.logger, viewerId);
      // Who has blocked the viewer: seen offline, so their changes are not reported (schema/block.ts).
      const blockers = new Set(
        (await context.dataSource.manager.findBy(Block, { blockedId: viewerId })).map((block) => block.blockerId),
      );
      // A user may watch only people they share a conversation with; strangers look nonexistent.
      if (watched?.some((id) => id === null || (id !== viewerId && !contacts.has(id)))) {
        contacts.stop();
        throw notFound('User');
      }
      // Checked at each change, not only at the start: someone who stops sharing a conversation stops being reported.
      const shown = watched
        ? (userId: number) => watched.includes(userId) && (userId === viewerId || contacts.has(userId))
        : (userId: number) => contacts.has(userId);
      const wanted = (userId: number) => shown(userId) && !blockers.has(userId);
      return streamOf<PresencePayload>((push) => {
        const deliver = (event: PresencePayload) => {
          if (wanted(event.userId)) push(event);
        };
        const stopPresence = presence.listen((event) => contacts.inOrder(event, deliver));
        const stopBlocks = context.realtime.blocks.listen(({ blockerId, blockedId, blocked }) => {
          if (blockedId !== viewerId) return;
          if (!blocked) return void blockers.delete(blockerId);
          // The blocker goes offline for the viewer at once.
          if (shown(blockerId)) push({ userId: blockerId, online: false, lastSeenAt: null });
          blockers.add(blockerId);
        });
        return () => {
          stopBlocks();
          stopPresence();
          contacts.stop();
        };
      }, context.disconnectSlowConsumer);
    },
    resolve: (event, _args, context) => {
      // User.online agrees with the event it arrives in; the stream delivers only
      // users the viewer may watch, so their presence needs no further check.
      context.loaders.prime('online', event.userId, event.online);
      context.loaders.prime('sharesConversation', event.userId, true);
      context.loaders.prime('blocksViewer', event.userId, false);
      return event;
    },
  }),
);
