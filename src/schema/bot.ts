// Bots (contract part bots.graphql): accounts a user creates, with a bearer
// token shown once and an optional webhook (bots/). Only the owner sees or
// changes a bot; to anyone else a bot is a user with isBot.
import type { BotRow } from '../bots/entities.js';
import type { Credentials } from '../bots/index.js';
import { MAX_BOTS_PER_OWNER } from '../bots/index.js';
import { webhookUrlProblem } from '../bots/addresses.js';
import type { Context } from '../context.js';
import { badUserInput, conflict, forbidden, notFound } from '../errors.js';
import { builder } from './builder.js';
import { decodeId } from './ids.js';
import { displayName, username } from './limits.js';
import { UserRef } from './user.js';

/** FORBIDDEN for a bot: bots act only in conversations people added them to, and create nothing themselves. */
export async function refuseBots(context: Context, what: string): Promise<void> {
  if ((await context.loaders.user.load(context.viewer!.id))?.isBot) throw forbidden(`A bot cannot ${what}.`);
}

export const BotRef = builder.objectRef<BotRow>('Bot').implement({
  fields: (t) => ({
    user: t.field({
      type: UserRef,
      resolve: async (bot, _args, context) => (await context.loaders.user.load(bot.userId))!,
    }),
    webhookUrl: t.exposeString('webhookUrl', {
      nullable: true,
      description: 'Where message events are POSTed; null for a bot that only uses the API.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When its token last authenticated a request or a socket, to within a minute; null if never.',
    }),
  }),
});

const BotCredentialsRef = builder.objectRef<Credentials>('BotCredentials').implement({
  fields: (t) => ({
    bot: t.field({ type: BotRef, resolve: (credentials) => credentials.bot }),
    token: t.exposeString('token', {
      description: 'Shown once: a bearer token for the bot, valid until rotated or the bot is deleted.',
    }),
    webhookSecret: t.exposeString('webhookSecret', {
      nullable: true,
      description: 'Shown once: the HMAC-SHA256 key of the webhook signatures; null without webhookUrl.',
    }),
  }),
});

const CreateBotInput = builder.inputType('CreateBotInput', {
  fields: (t) => ({
    username: t.string({ required: true, validate: username }),
    displayName: t.string({ validate: displayName }),
    webhookUrl: t.string(),
  }),
});

/** The caller's bot by its user id; NOT_FOUND for anyone else's (or no) bot, so ownership is not revealed. */
async function requireOwnBot(context: Context, botGlobalId: string): Promise<BotRow> {
  const botId = decodeId('User', botGlobalId);
  const bot = botId === null ? null : await context.bots.owned(context.viewer!.id, botId);
  if (!bot) throw notFound('Bot');
  return bot;
}

builder.queryFields((t) => ({
  myBots: t.field({
    type: [BotRef],
    authScopes: { authenticated: true },
    description: 'Bots the caller created.',
    resolve: (_root, _args, context) => context.bots.list(context.viewer!.id),
  }),
}));

builder.mutationFields((t) => ({
  createBot: t.field({
    type: BotCredentialsRef,
    authScopes: { authenticated: true },
    description:
      'A bot user owned by the caller. webhookUrl must be http(s) to a public address (BAD_USER_INPUT otherwise).',
    args: { input: t.arg({ type: CreateBotInput, required: true }) },
    resolve: async (_root, { input }, context) => {
      await refuseBots(context, 'create bots');
      await context.rateLimiter.consume('signUpPerIp', context.clientIp);
      const webhookUrl = input.webhookUrl?.trim() || null;
      if (webhookUrl !== null) {
        const problem = await webhookUrlProblem(webhookUrl, context.config.webhooks.allowPrivate);
        if (problem) throw badUserInput('webhookUrl', problem);
      }
      const created = await context.bots.create(context.viewer!.id, {
        username: input.username,
        displayName: input.displayName ?? input.username,
        webhookUrl,
      });
      if (created === 'too-many') throw badUserInput('username', `A user can own at most ${MAX_BOTS_PER_OWNER} bots.`);
      if (!created) throw conflict('That username is taken.');
      return created;
    },
  }),
  rotateBotToken: t.field({
    type: BotCredentialsRef,
    authScopes: { authenticated: true },
    description:
      "Owner only; botId is the bot's user id (Bot.user.id). The old token stops working at once, its sockets close.",
    args: { botId: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => context.bots.rotate(await requireOwnBot(context, String(args.botId))),
  }),
  deleteBot: t.boolean({
    authScopes: { authenticated: true },
    description:
      "Owner only; botId is the bot's user id. Its tokens stop working at once. It leaves its groups; its messages stay.",
    args: { botId: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => {
      await context.bots.delete(await requireOwnBot(context, String(args.botId)));
      return true;
    },
  }),
}));
