// Who belongs to which conversation, as live delivery sees it: a per-instance
// cache so authorizing an event costs no query, invalidated across instances
// through the `membership` topic whenever memberships change, and each
// subscriber's per-event membership checks, kept in order.
import { type DataSource, In } from 'typeorm';
import { Membership } from '../db/entities/index.js';
import type { Logger } from '../logger.js';
import type { Bus } from './pubsub.js';
import type { MembershipPayload } from './topics.js';

/** Conversations whose members stay cached; beyond it the oldest entries are dropped. */
const MAX_CACHED_CONVERSATIONS = 50_000;
/**
 * How long a loaded member list is trusted. An invalidation can be lost (a
 * failed publish), and without a bound a member who left would keep receiving
 * the conversation's live events on other instances for good: with it, for at
 * most 10 s. The price is one reload per active conversation per instance per period.
 */
export const MEMBERSHIP_CACHE_TTL_MS = 10_000;

export type MembershipListener = (change: MembershipPayload) => void;

/** Hands one subscriber an event; with a conversation, only while the subscriber is one of its members. */
export type MemberDelivery<T> = (item: T, conversationId?: number) => void;

type CachedMembers = { members: Set<number>; loadedAt: number };
type Loaded = Map<number, Set<number>>;

export class Memberships {
  private readonly members = new Map<number, CachedMembers>();
  /**
   * The query in flight for each conversation, so concurrent misses share it.
   * An invalidation removes the entry: later callers start a fresh load, and
   * the replaced one is not cached.
   */
  private readonly loading = new Map<number, Promise<Loaded>>();
  private readonly listeners = new Set<MembershipListener>();
  /** While pub/sub is down, invalidations may be lost: read memberships from the database every time. */
  private bypassCache = false;
  /** The last failure reported by a membership check (see forMember). */
  private lastCheckFailure: unknown = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly bus: Bus,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.bus.subscribe('membership', (change) => this.apply(change));
    // Invalidations published while Redis is away are lost: stop trusting the
    // cache when the connection drops, and start afresh when it returns.
    this.bus.onDisconnect(() => {
      this.bypassCache = true;
      this.forget();
    });
    this.bus.onReconnect(() => {
      this.bypassCache = false;
      this.forget();
    });
  }

  /**
   * The members of each conversation, from the cache, loading the missing ones
   * in one query (or joining a load already in flight). The returned sets stay
   * valid for the caller even if the cache drops an entry meanwhile.
   */
  async membersOf(conversationIds: Iterable<number>): Promise<Map<number, Set<number>>> {
    const result = new Map<number, Set<number>>();
    const missing: number[] = [];
    const waits: Promise<void>[] = [];
    for (const id of new Set(conversationIds)) {
      const cached = this.cached(id);
      const inFlight = cached ? undefined : this.loading.get(id);
      if (cached) result.set(id, cached);
      else if (inFlight) waits.push(inFlight.then((loaded) => void result.set(id, loaded.get(id)!)));
      else missing.push(id);
    }
    if (missing.length > 0) {
      waits.push(
        this.load(missing).then((loaded) => {
          for (const id of missing) result.set(id, loaded.get(id)!);
        }),
      );
    }
    await Promise.all(waits);
    return result;
  }

  /**
   * The members of one conversation: the cached set itself when there is one
   * (no promise, no map: the send path asks three times per message), else
   * as membersOf loads it.
   */
  membersOfOne(conversationId: number): Set<number> | Promise<Set<number>> {
    return (
      this.cached(conversationId) ?? this.membersOf([conversationId]).then((loaded) => loaded.get(conversationId)!)
    );
  }

  /**
   * One subscriber's delivery: events are pushed in the order they came, each
   * with a conversation only if `userId` belongs to it. A check that needs a
   * query makes the later events wait for it (typing:false must not overtake
   * typing:true); while none waits, a cached answer delivers at once. A check
   * that fails drops its event with a warning: a listener's rejection would
   * otherwise end the process, and every socket of the instance with it.
   */
  forMember<T>(userId: number, push: (item: T) => void): MemberDelivery<T> {
    let tail: Promise<void> | null = null; // the last event still waiting its turn
    return (item, conversationId) => {
      const verdict = conversationId === undefined ? true : this.isMember(conversationId, userId);
      if (tail === null && typeof verdict === 'boolean') {
        if (verdict) push(item);
        return;
      }
      const current: Promise<void> = (tail ?? Promise.resolve())
        .then(() => verdict)
        .then((member) => {
          if (tail === current) tail = null;
          if (member) push(item);
        });
      tail = current;
    };
  }

  /**
   * Tells every instance that memberships changed. This instance's cache forgets
   * the conversation at once, so a member who left here gets no further event
   * even before the published change comes back to notify listeners.
   */
  async publish(change: MembershipPayload): Promise<void> {
    this.forget(change.conversationId);
    try {
      await this.bus.publish('membership', change);
    } catch (error) {
      // The change is committed: the caller succeeded. Other instances catch up within MEMBERSHIP_CACHE_TTL_MS.
      this.logger.warn(
        { err: (error as Error).message, conversationId: change.conversationId },
        'membership change not published: other instances may deliver by stale members until their cache expires',
      );
    }
  }

  listen(listener: MembershipListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Whether the user is a member: at once from the cache, else after a load that never rejects (false on failure). */
  private isMember(conversationId: number, userId: number): boolean | Promise<boolean> {
    const members = this.membersOfOne(conversationId);
    if (members instanceof Set) return members.has(userId);
    return members.then(
      (loaded) => loaded.has(userId),
      (error: unknown) => {
        // Subscribers that shared the failed load share its error: one line per failure, not one per subscriber.
        if (error !== this.lastCheckFailure) {
          this.lastCheckFailure = error;
          this.logger.warn(
            { err: (error as Error).message, conversationId },
            'live event dropped: its membership check failed',
          );
        }
        return false;
      },
    );
  }

  private cached(conversationId: number): Set<number> | undefined {
    const entry = this.members.get(conversationId);
    if (!entry) return undefined;
    if (Date.now() - entry.loadedAt < MEMBERSHIP_CACHE_TTL_MS) return entry.members;
    this.members.delete(conversationId);
    return undefined;
  }

  /** Loads the members of conversations with no load in flight, and caches them unless invalidated meanwhile. */
  private load(conversationIds: number[]): Promise<Loaded> {
    const loadedAt = Date.now(); // trusted from when it was read, not from when the answer came
    const query = this.query(conversationIds);
    for (const id of conversationIds) this.loading.set(id, query);
    const settle = (loaded: Loaded | null) => {
      for (const id of conversationIds) {
        if (this.loading.get(id) !== query) continue; // invalidated while loading: possibly out of date
        this.loading.delete(id);
        if (loaded && !this.bypassCache) this.members.set(id, { members: loaded.get(id)!, loadedAt });
      }
      while (this.members.size > MAX_CACHED_CONVERSATIONS) this.members.delete(this.members.keys().next().value!);
    };
    return query.then(
      (loaded) => {
        settle(loaded);
        return loaded;
      },
      (error: unknown) => {
        settle(null);
        throw error;
      },
    );
  }

  private async query(conversationIds: number[]): Promise<Loaded> {
    const rows = await this.dataSource.manager.find(Membership, {
      select: { conversationId: true, userId: true },
      where: { conversationId: In(conversationIds) },
    });
    const loaded: Loaded = new Map(conversationIds.map((id) => [id, new Set<number>()]));
    for (const row of rows) loaded.get(row.conversationId)!.add(row.userId);
    return loaded;
  }

  /** Drops one conversation from the cache, or all of them, and disowns the loads in flight. */
  private forget(conversationId?: number): void {
    if (conversationId === undefined) {
      this.members.clear();
      this.loading.clear();
    } else {
      this.members.delete(conversationId);
      this.loading.delete(conversationId);
    }
  }

  private apply(change: MembershipPayload): void {
    this.forget(change.conversationId);
    for (const listener of this.listeners) {
      // A listener that throws (a bug) must not deprive the others, nor escape into the pub/sub client.
      try {
        listener(change);
      } catch (error) {
        this.logger.error({ err: error }, 'membership listener failed');
      }
    }
  }
}
