// The AI assistant, assembled (issue #14): its bot user, the runner that
// answers, the limits on asking, and stopGeneration. One per server process;
// without AI_BASE_URL/AI_MODEL nothing runs and nothing is limited.
import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { hashPassword } from '../auth/passwords.js';
import type { AssistantConfig } from '../config.js';
import { Conversation, Message, User } from '../db/entities/index.js';
import { mentionedUsernames } from '../db/mentions.js';
import { GENERATION_IN_PROGRESS, updateGeneration } from '../db/messages.js';
import { isUniqueViolation, writeAlone } from '../db/transaction.js';
import type { Logger } from '../logger.js';
import type { RateLimiter } from '../rateLimit.js';
import type { Realtime } from '../realtime/index.js';
import { AssistantRunner } from './runner.js';

export type AssistantService = {
  /** The assistant's user id, or null when there is no assistant. */
  userId: number | null;
  /**
   * Before a message is stored: when it will ask the assistant (a person's
   * message in a DIRECT conversation with it, or mentioning it in a group it
   * belongs to), takes one token of the per-user and per-conversation limits;
   * RATE_LIMITED when either is spent.
   */
  admit(ask: {
    senderId: number;
    /** Asked only when the assistant is in the conversation: it costs a query. */
    senderIsBot: () => Promise<boolean>;
    conversationId: number;
    body: string | null;
  }): Promise<void>;
  stop(): Promise<void>;
};

const NO_ASSISTANT: AssistantService = {
  userId: null,
  admit: async () => undefined,
  stop: async () => undefined,
};

export async function startAssistant(
  dataSource: DataSource,
  config: AssistantConfig | null,
  realtime: Realtime,
  rateLimiter: RateLimiter,
  logger: Logger,
): Promise<AssistantService> {
  if (!config) return NO_ASSISTANT;
  const user = await ensureAssistantUser(dataSource, config);
  const runner = new AssistantRunner(dataSource, config, user.id, realtime, logger.child({ component: 'assistant' }));
  await runner.start();
  return {
    userId: user.id,
    async admit({ senderId, senderIsBot, conversationId, body }) {
      if (senderId === user.id) return;
      const members = await realtime.memberships.membersOfOne(conversationId);
      if (!members?.has(user.id) || (await senderIsBot())) return;
      const mentioned = mentionedUsernames(body ?? '').includes(config.username);
      if (!mentioned) {
        const conversation = await dataSource.manager.findOneBy(Conversation, { id: conversationId });
        if (conversation?.kind !== 'DIRECT') return;
      }
      await rateLimiter.consume('assistantPerUser', senderId);
      await rateLimiter.consume('assistantPerConversation', conversationId);
    },
    stop: () => runner.stop(),
  };
}

/**
 * The assistant's bot user, created on first start. Several instances starting
 * at once race on the username's unique key: the losers read the winner's row.
 * It has no usable password (a hash of random bytes nobody keeps), so nobody
 * can log in as it; a person's account already holding the name is refused.
 */
export async function ensureAssistantUser(dataSource: DataSource, config: AssistantConfig): Promise<User> {
  const existing = await dataSource.manager.findOneBy(User, { username: config.username });
  if (existing) return checkedBot(existing, config);
  try {
    const passwordHash = await hashPassword(randomBytes(32).toString('base64url'));
    await writeAlone(dataSource, (manager) =>
      manager.insert(User, {
        username: config.username,
        displayName: config.displayName,
        displayNameLower: config.displayName.toLowerCase(),
        passwordHash,
        isBot: true,
        createdAt: new Date(),
        lastSeenAt: null,
      }),
    );
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
  }
  return checkedBot(await dataSource.manager.findOneByOrFail(User, { username: config.username }), config);
}

function checkedBot(user: User, config: AssistantConfig): User {
  if (!user.isBot) {
    throw new Error(`AI_BOT_USERNAME: "${config.username}" is a person's account; choose another username`);
  }
  return user;
}

/**
 * Stops an assistant's reply still being generated: STOPPED with the text as
 * last written, at once, then every instance hears it and the one generating
 * aborts its model request (or sees the state within a second if the
 * announcement is lost). A reply already finished comes back unchanged.
 */
export async function stopGeneration(dataSource: DataSource, realtime: Realtime, message: Message): Promise<Message> {
  if (message.generation === null || !GENERATION_IN_PROGRESS.includes(message.generation)) return message;
  const stopped = await updateGeneration(dataSource, message.id, { generation: 'STOPPED' });
  // Finished meanwhile: as it is now.
  if (!stopped) return (await dataSource.manager.findOneBy(Message, { id: message.id })) ?? message;
  await Promise.all([
    realtime.feed.announce(stopped.event.position),
    realtime.bus.publish('assistantStop', { messageId: message.id }),
    realtime.typing.set(message.conversationId, message.senderId, false),
  ]);
  return stopped.message;
}
