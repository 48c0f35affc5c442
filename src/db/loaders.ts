// Per-request batch loaders: every object a request touches is fetched in one
// query per kind, however many resolvers ask, so a page of 50 messages with
// senders and reactions costs the same few queries as a page of one. Each
// loader is built on first use: a request, a subscription's start or one
// event's execution uses two or three of the sixteen, and a DataLoader with
// its cache map is a few hundred bytes of garbage per operation otherwise.
import DataLoader from 'dataloader';
import { type DataSource, In } from 'typeorm';
import { Block, Conversation, Membership, Message, Reaction, User } from './entities/index.js';
import { countUnreadMentions, readMentions } from './mentions.js';
import { execute, findByIds, inList } from './prepared.js';

export type ReactionGroup = { emoji: string; count: number; reactedByMe: boolean };

function byId<T extends { id: number }>(rows: T[], ids: readonly number[]): (T | null)[] {
  const found = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => found.get(id) ?? null);
}

function groupBy<T, K>(rows: T[], keyOf: (row: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const row of rows) {
    const key = keyOf(row);
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  return groups;
}

type Viewer = { readonly id: number } | null;
/** Who is online (realtime/presence.ts). */
type Presence = { online(userIds: readonly number[]): Promise<boolean[]> };

/**
 * `viewer.id` is read only inside the loaders that depend on it, when they
 * load: a shared subscription execution (realtime/sharedExecution.ts) learns
 * from that read whether its result belongs to one viewer or to all.
 */
/** The loaders one operation has used so far. */
type Built = {
  online?: DataLoader<number, boolean>;
  user?: DataLoader<number, User | null>;
  conversation?: DataLoader<number, Conversation | null>;
  message?: DataLoader<number, Message | null>;
  isMember?: DataLoader<number, boolean>;
  sharesConversation?: DataLoader<number, boolean>;
  memberIds?: DataLoader<number, number[]>;
  memberships?: DataLoader<number, Membership[]>;
  blockedByViewer?: DataLoader<number, boolean>;
  blocksViewer?: DataLoader<number, boolean>;
  reactionGroups?: DataLoader<number, ReactionGroup[]>;
  unreadCount?: DataLoader<number, number>;
  mentionedUserIds?: DataLoader<number, number[]>;
  unreadMentionCount?: DataLoader<number, number>;
};

type LoaderName = keyof Built;
type KeyOf<Name extends LoaderName> = NonNullable<Built[Name]> extends DataLoader<infer Key, unknown> ? Key : never;
type ValueOf<Name extends LoaderName> =
  NonNullable<Built[Name]> extends DataLoader<unknown, infer Value> ? Value : never;

export class Loaders {
  /** Null until the first loader is used, and again once released: an idle socket's context keeps nothing. */
  #built: Built | null = null;
  /**
   * Values handed to prime() before their loader was built: given to it when
   * it is. An event's execution primes five loaders from what the feed read
   * (schema/messageEvent.ts) and its selection uses two or three of them.
   */
  #primes: [LoaderName, unknown, unknown][] | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly viewer: Viewer,
    private readonly presence: Presence,
  ) {}

  /** Drops every loader with what it cached; a later use builds a fresh one. */
  release(): void {
    this.#built = null;
    this.#primes = null;
  }

  /** Primes loader `name` with `value` for `key`, without building a loader that nothing has used yet. */
  prime<Name extends LoaderName>(name: Name, key: KeyOf<Name>, value: ValueOf<Name>): void {
    const loader = this.#built?.[name] as DataLoader<unknown, unknown> | undefined;
    if (loader) loader.prime(key, value);
    else (this.#primes ??= []).push([name, key, value]);
  }

  /** A loader just built, with the values primed for it so far. */
  private withPrimes<Loader extends DataLoader<never, unknown>>(name: LoaderName, loader: Loader): Loader {
    for (const [primedName, key, value] of this.#primes ?? []) {
      if (primedName === name) (loader as unknown as DataLoader<unknown, unknown>).prime(key, value);
    }
    return loader;
  }

  private get built(): Built {
    return (this.#built ??= {});
  }

  get online(): DataLoader<number, boolean> {
    return (this.built.online ??= this.withPrimes(
      'online',
      new DataLoader((userIds) => this.presence.online(userIds)),
    ));
  }

  // Prepared statements (db/prepared.ts): these run on nearly every request.
  get user(): DataLoader<number, User | null> {
    return (this.built.user ??= this.withPrimes(
      'user',
      new DataLoader(async (ids) => byId(await findByIds(this.dataSource, User, ids), ids)),
    ));
  }

  get conversation(): DataLoader<number, Conversation | null> {
    return (this.built.conversation ??= this.withPrimes(
      'conversation',
      new DataLoader(async (ids) => byId(await findByIds(this.dataSource, Conversation, ids), ids)),
    ));
  }

  get message(): DataLoader<number, Message | null> {
    return (this.built.message ??= this.withPrimes(
      'message',
      new DataLoader(async (ids) => byId(await findByIds(this.dataSource, Message, ids), ids)),
    ));
  }

  /** Whether the viewer is a member of each conversation now: the authorization check. */
  get isMember(): DataLoader<number, boolean> {
    return (this.built.isMember ??= this.withPrimes(
      'isMember',
      new DataLoader(async (conversationIds) => {
        const { dataSource, viewer } = this;
        if (viewer === null) return conversationIds.map(() => false);
        const list = inList(conversationIds);
        const { rows } = await execute(
          dataSource.manager,
          `SELECT conversationId FROM ${dataSource.driver.escape('memberships')} WHERE userId = ? AND conversationId IN (${list.placeholders})`,
          [viewer.id, ...list.params],
        );
        const found = new Set(rows.map((row) => Number(row.conversationId)));
        return conversationIds.map((id) => found.has(id));
      }),
    ));
  }

  /**
   * Whether the viewer shares at least one conversation with each user (true
   * for the viewer themself): who may see that user's presence.
   */
  get sharesConversation(): DataLoader<number, boolean> {
    return (this.built.sharesConversation ??= this.withPrimes(
      'sharesConversation',
      new DataLoader(async (userIds) => {
        if (this.viewer === null) return userIds.map(() => false);
        const viewerId = this.viewer.id;
        const others = userIds.filter((id) => id !== viewerId);
        const rows: { userId: number | string }[] =
          others.length === 0
            ? []
            : await this.dataSource.manager
                .createQueryBuilder()
                .select('DISTINCT other.userId', 'userId')
                .from(Membership, 'mine')
                .innerJoin(Membership, 'other', 'other.conversationId = mine.conversationId')
                .where('mine.userId = :viewerId', { viewerId })
                .andWhere('other.userId IN (:...others)', { others })
                .getRawMany();
        const shared = new Set(rows.map((row) => Number(row.userId)));
        return userIds.map((id) => id === viewerId || shared.has(id));
      }),
    ));
  }

  get memberIds(): DataLoader<number, number[]> {
    return (this.built.memberIds ??= this.withPrimes(
      'memberIds',
      new DataLoader(async (conversationIds) => {
        const groups = await this.membershipsOf(conversationIds);
        return conversationIds.map((id) => (groups.get(id) ?? []).map((row) => row.userId));
      }),
    ));
  }

  /** Every membership of each conversation (roles, read markers), longest-standing first. */
  get memberships(): DataLoader<number, Membership[]> {
    return (this.built.memberships ??= this.withPrimes(
      'memberships',
      new DataLoader(async (conversationIds) => {
        const groups = await this.membershipsOf(conversationIds);
        return conversationIds.map((id) => groups.get(id) ?? []);
      }),
    ));
  }

  /** Whether the viewer has blocked each user. */
  get blockedByViewer(): DataLoader<number, boolean> {
    return (this.built.blockedByViewer ??= this.withPrimes(
      'blockedByViewer',
      new DataLoader((userIds) => this.blocksWith(userIds, 'viewerBlocks')),
    ));
  }

  /** Whether each user has blocked the viewer (who then sees them offline). */
  get blocksViewer(): DataLoader<number, boolean> {
    return (this.built.blocksViewer ??= this.withPrimes(
      'blocksViewer',
      new DataLoader((userIds) => this.blocksWith(userIds, 'blocksViewer')),
    ));
  }

  get reactionGroups(): DataLoader<number, ReactionGroup[]> {
    return (this.built.reactionGroups ??= this.withPrimes(
      'reactionGroups',
      new DataLoader(async (messageIds) => {
        const rows: { messageId: number | string; emoji: string; count: number | string; mine: number | string }[] =
          await this.dataSource.manager
            .createQueryBuilder(Reaction, 'reaction')
            .select('reaction.messageId', 'messageId')
            .addSelect('reaction.emoji', 'emoji')
            .addSelect('COUNT(*)', 'count')
            .addSelect('SUM(CASE WHEN reaction.userId = :viewerId THEN 1 ELSE 0 END)', 'mine')
            .addSelect('MIN(reaction.createdAt)', 'firstAt')
            .where('reaction.messageId IN (:...messageIds)', { messageIds: [...messageIds] })
            .setParameter('viewerId', this.viewer?.id ?? 0)
            .groupBy('reaction.messageId')
            .addGroupBy('reaction.emoji')
            .orderBy('firstAt', 'ASC')
            .addOrderBy('emoji', 'ASC')
            .getRawMany();
        const groups = groupBy(rows, (row) => Number(row.messageId));
        return messageIds.map((id) =>
          (groups.get(id) ?? []).map((row) => ({
            emoji: row.emoji,
            count: Number(row.count),
            reactedByMe: Number(row.mine) > 0,
          })),
        );
      }),
    ));
  }

  /** Messages from others after the viewer's read marker, deleted ones excluded. */
  get unreadCount(): DataLoader<number, number> {
    return (this.built.unreadCount ??= this.withPrimes(
      'unreadCount',
      new DataLoader(async (conversationIds) => {
        if (this.viewer === null) return conversationIds.map(() => 0);
        const viewerId = this.viewer.id;
        const rows: { conversationId: number | string; unread: number | string }[] = await this.dataSource.manager
          .createQueryBuilder(Message, 'message')
          .innerJoin(
            Membership,
            'membership',
            'membership.conversationId = message.conversationId AND membership.userId = :viewerId',
            { viewerId },
          )
          .select('message.conversationId', 'conversationId')
          .addSelect('COUNT(*)', 'unread')
          .where('message.conversationId IN (:...conversationIds)', { conversationIds: [...conversationIds] })
          .andWhere('message.senderId <> :viewerId')
          .andWhere('message.deletedAt IS NULL')
          .andWhere('(membership.lastReadMessageId IS NULL OR message.id > membership.lastReadMessageId)')
          .groupBy('message.conversationId')
          .getRawMany();
        const counts = new Map(rows.map((row) => [Number(row.conversationId), Number(row.unread)]));
        return conversationIds.map((id) => counts.get(id) ?? 0);
      }),
    ));
  }

  /** The users each message mentions (db/mentions.ts). */
  get mentionedUserIds(): DataLoader<number, number[]> {
    return (this.built.mentionedUserIds ??= this.withPrimes(
      'mentionedUserIds',
      new DataLoader(async (messageIds) => {
        const mentions = await readMentions(this.dataSource.manager, messageIds);
        return messageIds.map((id) => mentions.get(id) ?? []);
      }),
    ));
  }

  /** Unread messages from others that mention the viewer, per conversation. */
  get unreadMentionCount(): DataLoader<number, number> {
    return (this.built.unreadMentionCount ??= this.withPrimes(
      'unreadMentionCount',
      new DataLoader(async (conversationIds) => {
        if (this.viewer === null) return conversationIds.map(() => 0);
        const counts = await countUnreadMentions(this.dataSource.manager, this.viewer.id, conversationIds);
        return conversationIds.map((id) => counts.get(id) ?? 0);
      }),
    ));
  }

  /** For each user, whether a block stands between them and the viewer, in the given direction. */
  private async blocksWith(userIds: readonly number[], direction: 'viewerBlocks' | 'blocksViewer'): Promise<boolean[]> {
    if (this.viewer === null) return userIds.map(() => false);
    const viewerBlocks = direction === 'viewerBlocks';
    const others = In([...userIds]);
    const rows = await this.dataSource.manager.findBy(
      Block,
      viewerBlocks
        ? { blockerId: this.viewer.id, blockedId: others }
        : { blockedId: this.viewer.id, blockerId: others },
    );
    const found = new Set(rows.map((row) => (viewerBlocks ? row.blockedId : row.blockerId)));
    return userIds.map((id) => found.has(id));
  }

  private async membershipsOf(conversationIds: readonly number[]): Promise<Map<number, Membership[]>> {
    const rows = await this.dataSource.manager.find(Membership, {
      where: { conversationId: In([...conversationIds]) },
      order: { joinedAt: 'ASC', userId: 'ASC' },
    });
    return groupBy(rows, (row) => row.conversationId);
  }
}
