// Bot accounts, assembled: creating, listing, rotating and deleting bots, and
// the webhook worker. One per server process. A bot is a user (isBot) with
// no password, owned by its creator, acting through its token only; where it
// may act is decided by membership, as for anyone.
import type { DataSource } from 'typeorm';
import type { Sessions } from '../auth/sessions.js';
import type { WebhookConfig } from '../config.js';
import { removeMember } from '../db/conversations.js';
import { Conversation, Membership, Session, User } from '../db/entities/index.js';
import { isUniqueViolation, transaction } from '../db/transaction.js';
import type { Logger } from '../logger.js';
import type { Realtime } from '../realtime/index.js';
import { BotRow } from './entities.js';
import { newBotToken, newWebhookSecret } from './tokens.js';
import { WebhookWorker } from './webhooks.js';

/** Bots one user may own. */
export const MAX_BOTS_PER_OWNER = 25;

/**
 * Stored where a password hash would be: not an argon2 hash, so no password
 * verifies against it (auth/passwords.ts) and logIn as a bot fails as a wrong
 * password does.
 */
export const NO_PASSWORD = '!bot';

export type Credentials = { bot: BotRow; token: string; webhookSecret: string | null };

export type BotService = {
  /** Null when the username is taken; 'too-many' past MAX_BOTS_PER_OWNER. */
  create(
    ownerId: number,
    input: { username: string; displayName: string; webhookUrl: string | null },
  ): Promise<Credentials | null | 'too-many'>;
  /** The bot if `ownerId` owns it, else null. */
  owned(ownerId: number, botId: number): Promise<BotRow | null>;
  list(ownerId: number): Promise<BotRow[]>;
  /** A new token and webhook secret; the old token stops working and its sockets close, on every instance. */
  rotate(bot: BotRow): Promise<Credentials>;
  delete(bot: BotRow): Promise<void>;
  stop(): Promise<void>;
};

export async function startBots(
  dataSource: DataSource,
  config: WebhookConfig,
  realtime: Realtime,
  sessions: Sessions,
  logger: Logger,
): Promise<BotService> {
  const worker = config.enabled
    ? new WebhookWorker(dataSource, config, realtime, logger.child({ component: 'webhooks' }))
    : null;
  await worker?.start();

  return {
    async create(ownerId, { username, displayName, webhookUrl }) {
      const owned = await dataSource.manager.countBy(BotRow, { ownerId });
      if (owned >= MAX_BOTS_PER_OWNER) return 'too-many';
      const { token, tokenHash, sessionId } = newBotToken();
      const webhookSecret = webhookUrl === null ? null : newWebhookSecret();
      const createdAt = new Date();
      const user = dataSource.manager.create(User, {
        username,
        displayName,
        displayNameLower: displayName.toLowerCase(),
        passwordHash: NO_PASSWORD,
        isBot: true,
        createdAt,
        lastSeenAt: null,
      });
      const bot = dataSource.manager.create(BotRow, {
        ownerId,
        tokenHash,
        sessionId,
        webhookUrl,
        webhookSecret,
        createdAt,
        lastUsedAt: null,
      });
      try {
        await transaction(dataSource, async (manager) => {
          await manager.insert(User, user);
          bot.userId = user.id;
          await manager.insert(Session, { id: sessionId, userId: user.id, createdAt, revokedAt: null });
          await manager.insert(BotRow, bot);
        });
      } catch (error) {
        if (isUniqueViolation(error)) return null; // the username is taken
        throw error;
      }
      return { bot, token, webhookSecret };
    },

    async owned(ownerId, botId) {
      return dataSource.manager.findOneBy(BotRow, { userId: botId, ownerId });
    },

    list(ownerId) {
      return dataSource.manager.find(BotRow, { where: { ownerId }, order: { createdAt: 'ASC', userId: 'ASC' } });
    },

    async rotate(bot) {
      const { token, tokenHash, sessionId } = newBotToken();
      const webhookSecret = bot.webhookUrl === null ? null : newWebhookSecret();
      await transaction(dataSource, async (manager) => {
        await manager.insert(Session, { id: sessionId, userId: bot.userId, createdAt: new Date(), revokedAt: null });
        await manager.update(BotRow, { userId: bot.userId }, { tokenHash, sessionId, webhookSecret });
      });
      // Every other session of the bot: the old token, and any token refreshToken made from it.
      await sessions.revoke({ userId: bot.userId, exceptSessionId: sessionId });
      return { bot: { ...bot, tokenHash, sessionId, webhookSecret }, token, webhookSecret };
    },

    async delete(bot) {
      // The row goes first: from then on its token resolves to nothing and no webhook is planned or sent.
      await transaction(dataSource, (manager) => manager.delete(BotRow, { userId: bot.userId }));
      await sessions.revoke({ userId: bot.userId });
      // It leaves its groups, as a member leaving does; its messages stay, under its name, as history.
      // DIRECT conversations keep their pair (a DIRECT conversation cannot be left): the bot just never answers.
      const groups = await dataSource.manager
        .createQueryBuilder(Membership, 'membership')
        .innerJoin(Conversation, 'conversation', 'conversation.id = membership.conversationId')
        .where("membership.userId = :botId AND conversation.kind = 'GROUP'", { botId: bot.userId })
        .select('membership.conversationId', 'conversationId')
        .getRawMany<{ conversationId: number | string }>();
      for (const { conversationId } of groups) {
        if (await removeMember(dataSource, Number(conversationId), bot.userId)) {
          await realtime.memberships.publish({
            conversationId: Number(conversationId),
            joined: [],
            left: [bot.userId],
          });
        }
      }
    },

    async stop() {
      await worker?.stop();
    },
  };
}
