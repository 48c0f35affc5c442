// Bot tokens: opaque, high-entropy bearer tokens stored only as their sha256.
// Each names no one by itself: its hash leads to the bot and to the session
// it authenticates as, so the session machinery (auth/sessions.ts) decides
// whether it is still live, caches that per instance, and revokes it (and
// closes its sockets) on every instance, as for a user's tokens.
import { createHash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { DataSource } from 'typeorm';
import type { TokenClaims } from '../auth/tokens.js';
import { transaction } from '../db/transaction.js';
import type { Logger } from '../logger.js';
import { BotRow } from './entities.js';

/** Every bot token starts so: it is told from a JWT without parsing either. */
export const BOT_TOKEN_PREFIX = 'chatbot_';
/** 256 bits: a hash of it needs no salt or slow hashing, nothing can be guessed. */
const TOKEN_BYTES = 32;
/** Bot tokens do not expire; they end when rotated or the bot is deleted. */
const NEVER = new Date('9999-12-31T23:59:59.999Z');
/** lastUsedAt is written at most this often per bot, so using a token costs no write per request. */
export const LAST_USED_RESOLUTION_MS = 60_000;
/** Hashes resolved to their bot and session: that pairing never changes, only whether the session is live. */
const RESOLVED_KEPT = 10_000;

export const isBotToken = (token: string) => token.startsWith(BOT_TOKEN_PREFIX);

export const hashBotToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** A new token, its hash, and a new session id for it. */
export function newBotToken(): { token: string; tokenHash: string; sessionId: string } {
  const token = BOT_TOKEN_PREFIX + randomBytes(TOKEN_BYTES).toString('base64url');
  return { token, tokenHash: hashBotToken(token), sessionId: randomBytes(16).toString('hex') };
}

/** A new webhook signing key. */
export const newWebhookSecret = () => randomBytes(32).toString('hex');

export type BotTokenResolver = (token: string) => Promise<TokenClaims | null>;

/**
 * The claims of a bot token whose bot exists, before the session check (the
 * caller makes it). Records lastUsedAt, at most once a minute per bot.
 */
export function botTokenResolver(dataSource: DataSource, logger: Logger): BotTokenResolver {
  const resolved = new LRUCache<string, { userId: number; sessionId: string }>({ max: RESOLVED_KEPT });
  const lastRecorded = new LRUCache<number, number>({ max: RESOLVED_KEPT });
  return async (token) => {
    if (!isBotToken(token) || token.length > 128) return null;
    const tokenHash = hashBotToken(token);
    let found = resolved.get(tokenHash);
    if (!found) {
      const row = await dataSource.manager.findOne(BotRow, {
        select: { userId: true, sessionId: true },
        where: { tokenHash },
      });
      if (!row) return null;
      found = { userId: row.userId, sessionId: row.sessionId };
      resolved.set(tokenHash, found);
    }
    const now = Date.now();
    if (now - (lastRecorded.get(found.userId) ?? 0) >= LAST_USED_RESOLUTION_MS) {
      lastRecorded.set(found.userId, now);
      // In a transaction of its own: on SQLite a bare write would join whichever transaction is open.
      transaction(dataSource, (manager) =>
        manager.update(BotRow, { userId: found.userId, sessionId: found.sessionId }, { lastUsedAt: new Date(now) }),
      ).catch((error: Error) => logger.warn({ err: error.message, botId: found.userId }, 'lastUsedAt not recorded'));
    }
    return { userId: found.userId, sessionId: found.sessionId, expiresAt: NEVER };
  };
}
