// Server-side sessions: every token names the session it was issued for, and
// a revoked session's tokens are refused on every instance. Whether a session
// is live is cached per instance (no query per request), and revocations are
// announced on the `sessions` topic so every instance forgets what it cached
// and closes that session's sockets (websocket.ts listens).
import { writeAlone } from '../db/transaction.js';
import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { DataSource } from 'typeorm';
import { Session } from '../db/entities/index.js';
import type { Logger } from '../logger.js';
import type { Bus } from '../realtime/pubsub.js';
import type { SessionsRevokedPayload } from '../realtime/topics.js';
import type { TokenClaims, TokenService, TokenSigner } from './tokens.js';

/**
 * How long an instance trusts a session it found live. A revocation whose
 * announcement was lost (a failed publish) is honoured there within this time;
 * while the subscriber connection is down nothing is cached at all.
 */
export const SESSION_CACHE_TTL_MS = 10_000;
/** Sessions kept in the cache; the least recently used go first. */
const MAX_CACHED_SESSIONS = 100_000;

export type RevocationListener = (revoked: SessionsRevokedPayload) => void;

type Cached = { userId: number; live: boolean; loadedAt: number };

export class Sessions implements TokenService {
  private readonly cache = new LRUCache<string, Cached>({ max: MAX_CACHED_SESSIONS });
  /** Bumped by every revocation: a load that started before one may be stale and is not cached. */
  private generation = 0;
  /** While pub/sub is down revocations may be lost: read every check from the database. */
  private bypassCache = false;
  private readonly listeners = new Set<RevocationListener>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly bus: Bus,
    private readonly signer: TokenSigner,
    private readonly logger: Logger,
    /** Opaque tokens (bot tokens, bots/tokens.ts) resolved to the session they authenticate as; checked as any other. */
    private readonly resolveOpaque: (token: string) => Promise<TokenClaims | null> = async () => null,
  ) {}

  async start(): Promise<void> {
    await this.bus.subscribe('sessionsRevoked', (revoked) => this.apply(revoked));
    this.bus.onDisconnect(() => {
      this.bypassCache = true;
      this.forgetAll();
    });
    this.bus.onReconnect(() => {
      this.bypassCache = false;
      this.forgetAll();
    });
  }

  /** A token of a new session of the user. */
  async issue(userId: number): Promise<string> {
    const id = randomBytes(16).toString('hex');
    await writeAlone(this.dataSource, (manager) =>
      manager.insert(Session, { id, userId, createdAt: new Date(), revokedAt: null }),
    );
    return this.signer.sign(userId, id);
  }

  /** A fresh token of the same session (same id: revoking the session revokes it too), with a new expiry. */
  refresh(claims: Pick<TokenClaims, 'userId' | 'sessionId'>): Promise<string> {
    return this.signer.sign(claims.userId, claims.sessionId);
  }

  /** The claims of a valid token whose session is live; null otherwise. Throws only when the database cannot answer. */
  async verify(token: string): Promise<TokenClaims | null> {
    const claims = (await this.signer.verify(token)) ?? (await this.resolveOpaque(token));
    if (!claims) return null;
    return (await this.isLive(claims)) ? claims : null;
  }

  /**
   * Revokes the user's sessions: one (`sessionId`), or all but `exceptSessionId`,
   * or all. Refused here at once; on other instances as soon as the announcement arrives.
   */
  async revoke(revoked: SessionsRevokedPayload): Promise<void> {
    await writeAlone(this.dataSource, (manager) => {
      const query = manager
        .createQueryBuilder()
        .update(Session)
        .set({ revokedAt: new Date() })
        .where('userId = :userId AND revokedAt IS NULL', { userId: revoked.userId });
      if (revoked.sessionId) query.andWhere('id = :sessionId', { sessionId: revoked.sessionId });
      if (revoked.exceptSessionId) {
        query.andWhere('id <> :exceptSessionId', { exceptSessionId: revoked.exceptSessionId });
      }
      return query.execute();
    });
    this.apply(revoked);
    try {
      await this.bus.publish('sessionsRevoked', revoked);
    } catch (error) {
      this.logger.warn(
        { err: (error as Error).message, userId: revoked.userId },
        'session revocation not published: other instances honour it within their cache time',
      );
    }
  }

  /** Called on every instance for every revocation (this one's included). */
  listen(listener: RevocationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async isLive(claims: TokenClaims): Promise<boolean> {
    const cached = this.cache.get(claims.sessionId);
    if (cached && Date.now() - cached.loadedAt < SESSION_CACHE_TTL_MS) {
      return cached.live && cached.userId === claims.userId;
    }
    const generation = this.generation;
    const loadedAt = Date.now();
    const row = await this.dataSource.manager.findOne(Session, {
      select: { id: true, userId: true, revokedAt: true },
      where: { id: claims.sessionId },
    });
    const live = row !== null && row.revokedAt === null;
    if (generation === this.generation && !this.bypassCache && row) {
      this.cache.set(claims.sessionId, { userId: row.userId, live, loadedAt });
    }
    return live && row!.userId === claims.userId;
  }

  private apply(revoked: SessionsRevokedPayload): void {
    this.generation++;
    for (const [sessionId, cached] of this.cache.entries()) {
      if (cached.userId === revoked.userId && revokes(revoked, sessionId)) this.cache.delete(sessionId);
    }
    for (const listener of this.listeners) {
      try {
        listener(revoked);
      } catch (error) {
        this.logger.error({ err: error }, 'session revocation listener failed');
      }
    }
  }

  private forgetAll(): void {
    this.generation++;
    this.cache.clear();
  }
}

/** Whether the revocation covers this session of its user. */
export function revokes(revoked: SessionsRevokedPayload, sessionId: string): boolean {
  if (revoked.sessionId) return revoked.sessionId === sessionId;
  return revoked.exceptSessionId !== sessionId;
}
