// Who is online: a user is online while at least one authenticated socket is
// open on any instance. Each instance registers its users in shared state with
// an expiry it keeps renewing; when an instance dies its entries expire and a
// sweep on any surviving instance publishes those users offline. And who may
// see it: only people who share a conversation with the user (`Contacts`).
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { RedisClient } from './pubsub.js';
import { type DataSource, In } from 'typeorm';
import { User } from '../db/entities/index.js';
import { writeAlone } from '../db/transaction.js';
import type { Logger } from '../logger.js';
import type { Memberships } from './membership.js';
import type { Bus } from './pubsub.js';
import type { MembershipPayload, PresencePayload } from './topics.js';

/** How long an instance's registration lives without renewal: the bound on detecting a dead instance. */
export const PRESENCE_TTL_MS = 30_000;
const RENEW_INTERVAL_MS = 10_000;
const SWEEP_INTERVAL_MS = 5_000;
const SWEEP_BATCH = 500;
/**
 * How long an offline event waits for its lastSeenAt write, so that a client
 * reacting to the event reads the same lastSeenAt; never longer, since the
 * event must go out whatever happens to the write.
 */
const LAST_SEEN_WRITE_WAIT_MS = 500;

type PresenceStore = {
  /** Registers one of the user's sockets on this instance; true when the user was offline everywhere. */
  register(userId: number): Promise<boolean>;
  /** Removes this instance's registration; true when no instance has the user any more. */
  unregister(userId: number): Promise<boolean>;
  /** Renews this instance's registrations. */
  renew(userIds: number[]): Promise<void>;
  /** Users whose last registration expired (their instance died); each is returned to one sweeper only. */
  sweep(): Promise<number[]>;
  online(userIds: readonly number[]): Promise<boolean[]>;
};

// KEYS[1] user zset, KEYS[2] expiries; ARGV instance, now, expiresAt, userId
const REGISTER_SCRIPT = `
local wasOnline = redis.call('ZCOUNT', KEYS[1], ARGV[2], '+inf') > 0
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1] .. '|' .. ARGV[4])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
if wasOnline then return 0 else return 1 end`;

// KEYS[1] user zset, KEYS[2] expiries; ARGV instance, now, userId
const UNREGISTER_SCRIPT = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1] .. '|' .. ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) == 0 then return 1 else return 0 end`;

// KEYS[1] a bucket's expiries; ARGV now, batch, the bucket's user key prefix (the
// user keys it builds share KEYS[1]'s hash tag, so its slot)
const SWEEP_SCRIPT = `
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
local offline = {}
for _, entry in ipairs(expired) do
  redis.call('ZREM', KEYS[1], entry)
  local separator = string.find(entry, '|', 1, true)
  local instance = string.sub(entry, 1, separator - 1)
  local userId = string.sub(entry, separator + 1)
  local key = ARGV[3] .. userId
  local score = redis.call('ZSCORE', key, instance)
  if score and tonumber(score) <= tonumber(ARGV[1]) then redis.call('ZREM', key, instance) end
  if redis.call('ZCOUNT', key, ARGV[1], '+inf') == 0 then table.insert(offline, userId) end
end
return offline`;

/**
 * Presence keys are spread over PRESENCE_BUCKETS hash tags, `{presence:N}`
 * with N the user id modulo the count: each script touches a user's set and
 * its bucket's expiry index, which must share a hash slot on a Redis Cluster,
 * and sixteen buckets spread that work over the shards instead of one slot
 * taking all of it. On a single Redis the tags change nothing.
 */
const PRESENCE_BUCKETS = 16;

/** The presence keys of a deployment: a user's set of instances, and a bucket's expiry index. */
export function presenceKeys(keyPrefix: string) {
  const bucketOf = (userId: number) => userId % PRESENCE_BUCKETS;
  const userKeyPrefix = (bucket: number) => `${keyPrefix}{presence:${bucket}}:user:`;
  return {
    bucketOf,
    userKeyPrefix,
    userKey: (userId: number) => `${userKeyPrefix(bucketOf(userId))}${userId}`,
    expiriesKey: (bucket: number) => `${keyPrefix}{presence:${bucket}}:expiries`,
  };
}

function redisPresenceStore(redis: RedisClient, keyPrefix: string, instanceId: string): PresenceStore {
  const { bucketOf, userKeyPrefix, userKey, expiriesKey } = presenceKeys(keyPrefix);
  return {
    register: async (userId) => {
      const now = Date.now();
      const result = await redis.eval(
        REGISTER_SCRIPT,
        2,
        userKey(userId),
        expiriesKey(bucketOf(userId)),
        instanceId,
        now,
        now + PRESENCE_TTL_MS,
        userId,
      );
      return result === 1;
    },
    unregister: async (userId) =>
      (await redis.eval(
        UNREGISTER_SCRIPT,
        2,
        userKey(userId),
        expiriesKey(bucketOf(userId)),
        instanceId,
        Date.now(),
        userId,
      )) === 1,
    async renew(userIds) {
      if (userIds.length === 0) return;
      const expiresAt = Date.now() + PRESENCE_TTL_MS;
      // Separate commands, not one pipeline: a cluster pipeline must stay in one
      // slot. Auto-pipelining still sends each node's share in one write.
      await Promise.all(
        userIds.flatMap((userId) => [
          redis.zadd(userKey(userId), expiresAt, instanceId),
          redis.pexpireat(userKey(userId), expiresAt),
          redis.zadd(expiriesKey(bucketOf(userId)), expiresAt, `${instanceId}|${userId}`),
        ]),
      );
    },
    async sweep() {
      const now = Date.now();
      const offline = await Promise.all(
        Array.from(
          { length: PRESENCE_BUCKETS },
          async (_, bucket) =>
            (await redis.eval(
              SWEEP_SCRIPT,
              1,
              expiriesKey(bucket),
              now,
              SWEEP_BATCH,
              userKeyPrefix(bucket),
            )) as string[],
        ),
      );
      return offline.flat().map(Number);
    },
    async online(userIds) {
      const now = Date.now();
      return Promise.all(
        userIds.map((userId) =>
          redis.zcount(userKey(userId), now, '+inf').then(
            (count) => count > 0,
            () => false,
          ),
        ),
      );
    },
  };
}

/** One process is the only instance: its own socket counts are the truth. */
function inProcessPresenceStore(sockets: Map<number, number>): PresenceStore {
  return {
    register: async () => true,
    unregister: async () => true,
    renew: async () => undefined,
    sweep: async () => [],
    online: async (userIds) => userIds.map((userId) => (sockets.get(userId) ?? 0) > 0),
  };
}

export class Presence {
  /** Open authenticated sockets per user on this instance. */
  private readonly sockets = new Map<number, number>();
  private readonly store: PresenceStore;
  private readonly listeners = new Set<(change: PresencePayload) => void>();
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly dataSource: DataSource,
    private readonly bus: Bus,
    private readonly logger: Logger,
  ) {
    this.store = bus.redis
      ? redisPresenceStore(bus.redis, bus.keyPrefix, randomUUID())
      : inProcessPresenceStore(this.sockets);
  }

  async start(): Promise<void> {
    await this.bus.subscribe('presence', (change) => {
      for (const listener of this.listeners) listener(change);
    });
    const every = (ms: number, task: () => Promise<unknown>) => {
      const timer = setInterval(
        () => void task().catch((error: Error) => this.logger.debug({ err: error.message }, 'presence upkeep failed')),
        ms,
      );
      timer.unref();
      this.timers.push(timer);
    };
    every(RENEW_INTERVAL_MS, () => this.store.renew([...this.sockets.keys()]));
    every(SWEEP_INTERVAL_MS, async () => this.wentOffline(await this.store.sweep()));
  }

  /** Stops upkeep and unregisters this instance's users, publishing those who go offline. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await Promise.allSettled([...this.sockets.keys()].map((userId) => this.closeAll(userId)));
  }

  listen(listener: (change: PresencePayload) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  online(userIds: readonly number[]): Promise<boolean[]> {
    return this.store.online(userIds).catch(() => userIds.map((userId) => (this.sockets.get(userId) ?? 0) > 0));
  }

  /** An authenticated socket of the user opened on this instance. */
  async connected(userId: number): Promise<void> {
    const count = (this.sockets.get(userId) ?? 0) + 1;
    this.sockets.set(userId, count);
    if (count > 1) return;
    try {
      if (await this.store.register(userId)) {
        await this.bus.publish('presence', { userId, online: true, lastSeenAt: null });
      }
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'presence register failed');
    }
  }

  /** A socket of the user closed on this instance. */
  async disconnected(userId: number): Promise<void> {
    const count = (this.sockets.get(userId) ?? 0) - 1;
    if (count > 0) {
      this.sockets.set(userId, count);
      return;
    }
    await this.closeAll(userId);
  }

  private async closeAll(userId: number): Promise<void> {
    this.sockets.delete(userId);
    try {
      if (await this.store.unregister(userId)) await this.wentOffline([userId]);
    } catch (error) {
      // Left registered: the entry expires and a sweep publishes the user offline.
      this.logger.warn({ err: (error as Error).message }, 'presence unregister failed');
    }
  }

  /**
   * Publishes users offline, each whatever happens to the others; never
   * throws. They are gone from the shared state already, so nothing would
   * ever publish them again: the events depend on nothing else, and lastSeenAt
   * is written best-effort, in one statement, awaited a moment at most.
   */
  private async wentOffline(userIds: readonly number[]): Promise<void> {
    if (userIds.length === 0) return;
    const lastSeenAt = new Date();
    const written = writeAlone(this.dataSource, (manager) =>
      manager.update(User, { id: In([...userIds]) }, { lastSeenAt }),
    ).catch((error: Error) => {
      this.logger.warn({ err: error.message, users: userIds.length }, 'lastSeenAt not written');
    });
    await Promise.race([written, delay(LAST_SEEN_WRITE_WAIT_MS, undefined, { ref: false })]);
    await Promise.all(
      userIds.map(async (userId) => {
        try {
          await this.bus.publish('presence', { userId, online: false, lastSeenAt: lastSeenAt.toISOString() });
        } catch (error) {
          this.logger.warn({ err: (error as Error).message, userId }, 'presence offline publish failed');
        }
      }),
    );
    await written;
  }
}

/** Presence changes a subscriber holds back while its contacts are recomputed; beyond it they are judged at once. */
const MAX_HELD_CHANGES = 1_000;

/**
 * The people one viewer shares a conversation with (the only ones whose
 * presence they may see), kept current as memberships change. Recomputed only
 * for a change that concerns the viewer: one they joined or left, or one of a
 * conversation they are in; any other change costs nothing, however many
 * subscribers an instance holds. The newest recompute wins, and presence
 * changes arriving while one runs wait for it (see `inOrder`).
 */
export class Contacts {
  private users = new Set<number>();
  /** The viewer's conversations; null until the first answer. */
  private conversations: Set<number> | null = null;
  private requested = 0;
  private applied = 0;
  private running = 0;
  /** What `inOrder` holds back while a recompute runs, oldest first. */
  private held: (() => void)[] = [];
  private readonly stopListening: () => void;

  private constructor(
    private readonly dataSource: DataSource,
    private readonly logger: Logger,
    private readonly viewerId: number,
    memberships: Memberships,
  ) {
    // Listening before the first load: a change during it is not missed.
    this.stopListening = memberships.listen((change) => {
      if (this.concerns(change)) {
        this.refresh().catch((error: Error) =>
          this.logger.warn({ err: error.message, userId: this.viewerId }, 'presence contacts recompute failed'),
        );
      }
    });
  }

  /** The viewer's contacts, loaded; `stop()` them when done. */
  static async of(
    dataSource: DataSource,
    memberships: Memberships,
    logger: Logger,
    viewerId: number,
  ): Promise<Contacts> {
    const contacts = new Contacts(dataSource, logger, viewerId, memberships);
    try {
      await contacts.refresh();
    } catch (error) {
      contacts.stop();
      throw error;
    }
    return contacts;
  }

  has(userId: number): boolean {
    return this.users.has(userId);
  }

  /**
   * Calls `handle(item)` now, or, while a recompute runs, once it finished: a
   * presence change that arrives after a membership change is judged by the
   * memberships after it.
   */
  inOrder<T>(item: T, handle: (item: T) => void): void {
    if (this.running === 0) return handle(item);
    this.held.push(() => handle(item));
    if (this.held.length > MAX_HELD_CHANGES) this.release();
  }

  stop(): void {
    this.stopListening();
    this.held = [];
  }

  private concerns({ conversationId, joined, left }: MembershipPayload): boolean {
    if (joined.length === 0 && left.length === 0) return false; // a new title
    if (this.conversations === null || this.conversations.has(conversationId)) return true;
    return joined.includes(this.viewerId) || left.includes(this.viewerId);
  }

  private async refresh(): Promise<void> {
    const request = ++this.requested;
    this.running++;
    try {
      const fresh = await circleOf(this.dataSource, this.viewerId);
      // An older recompute that finishes late must not overwrite a newer answer.
      if (request > this.applied) {
        this.applied = request;
        this.users = fresh.users;
        this.conversations = fresh.conversations;
      }
    } finally {
      if (--this.running === 0) this.release();
    }
  }

  private release(): void {
    const held = this.held;
    this.held = [];
    for (const handle of held) handle();
  }
}

/** Names the contacts query in SQL logs (and lets a test count it). */
export const CONTACTS_QUERY_COMMENT = 'presence contacts';

/** The conversations of `userId`, and the users who share at least one of them. */
async function circleOf(
  dataSource: DataSource,
  userId: number,
): Promise<{ users: Set<number>; conversations: Set<number> }> {
  const rows: { conversationId: number | string; userId: number | string | null }[] = await dataSource.manager
    .createQueryBuilder()
    .comment(CONTACTS_QUERY_COMMENT)
    .select('mine.conversationId', 'conversationId')
    .addSelect('other.userId', 'userId')
    .from('memberships', 'mine')
    .leftJoin('memberships', 'other', 'other.conversationId = mine.conversationId AND other.userId <> :userId', {
      userId,
    })
    .where('mine.userId = :userId', { userId })
    .getRawMany();
  const users = new Set<number>();
  const conversations = new Set<number>();
  for (const row of rows) {
    conversations.add(Number(row.conversationId));
    if (row.userId !== null) users.add(Number(row.userId));
  }
  return { users, conversations };
}
