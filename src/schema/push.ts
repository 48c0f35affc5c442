// Web Push (contract part push.graphql): the VAPID key clients subscribe
// with, push subscriptions, and muting a conversation.
import DataLoader from 'dataloader';
import { z } from 'zod';
import type { Context } from '../context.js';
import { badUserInput } from '../errors.js';
import { endpointProblem, ENDPOINT_MAX_LENGTH } from '../push/endpoints.js';
import { builder } from './builder.js';
import { ConversationRef, requireMembership } from './conversation.js';

const PushConfigRef = builder.objectRef<{ vapidPublicKey: string | null }>('PushConfig').implement({
  fields: (t) => ({
    vapidPublicKey: t.exposeString('vapidPublicKey', {
      nullable: true,
      description: 'The VAPID public key (base64url) for PushManager.subscribe; null when push is off.',
    }),
  }),
});

/** Base64url of exactly `bytes` bytes, as PushSubscription.getKey() gives them. */
const base64urlKey = (field: string, bytes: number, check: (key: Buffer) => boolean = () => true) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]+={0,2}$/, `${field} must be base64url.`)
    .refine((text) => {
      const key = Buffer.from(text, 'base64url');
      return key.length === bytes && check(key);
    }, `${field} must be the subscription's ${field} key (${bytes} bytes, base64url).`);

const PushSubscriptionInput = builder.inputType('PushSubscriptionInput', {
  fields: (t) => ({
    endpoint: t.string({
      required: true,
      description: "The push service URL from the browser's PushSubscription.",
      validate: z.string().max(ENDPOINT_MAX_LENGTH, `endpoint must be at most ${ENDPOINT_MAX_LENGTH} characters.`),
    }),
    // An uncompressed P-256 point: 0x04 then 64 bytes.
    p256dh: t.string({
      required: true,
      description: 'keys.p256dh and keys.auth of the PushSubscription, base64url.',
      validate: base64urlKey('p256dh', 65, (key) => key[0] === 4),
    }),
    auth: t.string({ required: true, validate: base64urlKey('auth', 16) }),
  }),
});

/** Per operation: which of the conversations resolved the viewer muted, in one query. */
const mutedLoaders = new WeakMap<object, DataLoader<number, boolean>>();

function mutedLoader(context: Context, viewerId: number): DataLoader<number, boolean> {
  let loader = mutedLoaders.get(context.loaders);
  if (!loader) {
    // Not the context: a value that reaches its own key keeps the entry from being freed young (context.ts releaseOperationState).
    const { push } = context;
    loader = new DataLoader(async (conversationIds) => {
      const muted = await push.mutedAmong(viewerId, conversationIds);
      return conversationIds.map((id) => muted.has(id));
    });
    mutedLoaders.set(context.loaders, loader);
  }
  return loader;
}

builder.objectField(ConversationRef, 'muted', (t) =>
  t.boolean({
    description: 'True when the caller muted it: no push notifications from it.',
    // A member's own setting: checked on the field too, not only by the type's scope.
    authScopes: (conversation) => ({ conversationMember: conversation.id }),
    // Reads viewer.id while resolving, so a shared subscription execution keeps it per viewer.
    resolve: (conversation, _args, context) => mutedLoader(context, context.viewer!.id).load(conversation.id),
  }),
);

builder.queryField('pushConfig', (t) =>
  t.field({
    type: PushConfigRef,
    resolve: (_root, _args, context) => ({ vapidPublicKey: context.push.vapidPublicKey }),
  }),
);

builder.mutationFields((t) => ({
  registerPushSubscription: t.boolean({
    authScopes: { authenticated: true },
    description: 'Web Push for new messages while the caller has no live connection.',
    args: { input: t.arg({ type: PushSubscriptionInput, required: true }) },
    resolve: async (_root, { input }, context) => {
      await context.rateLimiter.consume('pushRegistration', context.viewer!.id);
      if (context.push.vapidPublicKey === null) return false;
      const problem = endpointProblem(input.endpoint, context.config.push);
      if (problem) throw badUserInput('endpoint', problem);
      await context.push.register(context.viewer!.id, input);
      return true;
    },
  }),
  unregisterPushSubscription: t.boolean({
    authScopes: { authenticated: true },
    description: 'True when the caller had this endpoint registered.',
    args: { endpoint: t.arg.string({ required: true }) },
    resolve: (_root, args, context) => context.push.unregister(context.viewer!.id, args.endpoint),
  }),
  setConversationMuted: t.field({
    type: ConversationRef,
    authScopes: { authenticated: true },
    args: { conversationId: t.arg.id({ required: true }), muted: t.arg.boolean({ required: true }) },
    resolve: async (_root, args, context) => {
      const conversation = await requireMembership(context, String(args.conversationId));
      await context.push.setMuted(context.viewer!.id, conversation.id, args.muted);
      return conversation;
    },
  }),
}));
