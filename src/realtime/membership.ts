// Who belongs to which conversation, as live delivery sees it: a per-instance
// cache so authorizing an event costs no query, invalidated across instances
// through the `membership` topic whenever memberships change.
import { type DataSource, In } from 'typeorm';
import { Membership } from '../db/entities/index.js';
import type { Bus } from './pubsub.js';
import type { MembershipPayload } from './topics.js';

/** Conversations whose members stay cached; beyond it the oldest entries are dropped. */
const MAX_CACHED_CONVERSATIONS = 50_000;

export type MembershipListener = (change: MembershipPayload) => void;

export class Memberships {
  private readonly members = new Map<number, Set<number>>();
  private readonly listeners = new Set<MembershipListener>();
  /** Bumped on every invalidation, so a load that raced one is not cached. */
  private generation = 0;
  /** While pub/sub is down, invalidations may be lost: read memberships from the database every time. */
  private bypassCache = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly bus: Bus,
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
   * in one query. The returned sets stay valid for the caller even if the cache
   * drops an entry meanwhile.
   */
  async membersOf(conversationIds: Iterable<number>): Promise<Map<number, Set<number>>> {
    const wanted = [...new Set(conversationIds)];
    const result = new Map<number, Set<number>>();
    const missing: number[] = [];
    for (const id of wanted) {
      const cached = this.members.get(id);
      if (cached) result.set(id, cached);
      else missing.push(id);
    }
    if (missing.length === 0) return result;
    const generation = this.generation;
    const rows = await this.dataSource.manager.find(Membership, {
      select: { conversationId: true, userId: true },
      where: { conversationId: In(missing) },
    });
    for (const id of missing) result.set(id, new Set());
    for (const row of rows) result.get(row.conversationId)!.add(row.userId);
    if (generation !== this.generation || this.bypassCache) return result;
    for (const id of missing) this.members.set(id, result.get(id)!);
    while (this.members.size > MAX_CACHED_CONVERSATIONS) this.members.delete(this.members.keys().next().value!);
    return result;
  }

  /**
   * Tells every instance that memberships changed. This instance's cache forgets
   * the conversation at once, so a member who left here gets no further event
   * even before the published change comes back to notify listeners.
   */
  async publish(change: MembershipPayload): Promise<void> {
    this.forget(change.conversationId);
    await this.bus.publish('membership', change);
  }

  listen(listener: MembershipListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Drops one conversation from the cache, or all of them. */
  private forget(conversationId?: number): void {
    this.generation++;
    if (conversationId === undefined) this.members.clear();
    else this.members.delete(conversationId);
  }

  private apply(change: MembershipPayload): void {
    this.forget(change.conversationId);
    for (const listener of this.listeners) listener(change);
  }
}
