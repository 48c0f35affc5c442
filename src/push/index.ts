// Web Push, assembled: the VAPID keys, the subscriptions and mutes users
// manage, and the pusher. One per server process.
import { createHash } from 'node:crypto';
import { type DataSource, In } from 'typeorm';
import type { PushConfig } from '../config.js';
import { transaction, writeAlone } from '../db/transaction.js';
import type { Logger } from '../logger.js';
import type { Realtime } from '../realtime/index.js';
import { ConversationMute, PushDelivery, PushSubscriptionRow } from './entities.js';
import { Pusher } from './pusher.js';
import { loadVapidKeys } from './vapid.js';

/** Subscriptions kept per user (browsers and devices); registering one more drops the oldest. */
export const MAX_SUBSCRIPTIONS_PER_USER = 10;

export type PushSubscriptionInput = { endpoint: string; p256dh: string; auth: string };

export type PushService = {
  /** The VAPID public key (base64url), or null when push is off. */
  vapidPublicKey: string | null;
  register(userId: number, subscription: PushSubscriptionInput): Promise<void>;
  /** True when the caller had that endpoint registered. */
  unregister(userId: number, endpoint: string): Promise<boolean>;
  setMuted(userId: number, conversationId: number, muted: boolean): Promise<void>;
  /** Of the given conversations, those the user muted. */
  mutedAmong(userId: number, conversationIds: readonly number[]): Promise<Set<number>>;
  /** Deliveries not yet sent or given up (a metric); null when push is off. */
  queueDepth(): Promise<number | null>;
  stop(): Promise<void>;
};

const endpointHash = (endpoint: string) => createHash('sha256').update(endpoint).digest('hex');

export async function startPush(
  dataSource: DataSource,
  config: PushConfig,
  realtime: Realtime,
  logger: Logger,
): Promise<PushService> {
  const vapidKeys = config.enabled ? await loadVapidKeys(dataSource, config) : null;
  const pusher = vapidKeys
    ? new Pusher(dataSource, config, vapidKeys, realtime.presence, realtime.bus, logger.child({ component: 'push' }))
    : null;
  await pusher?.start();

  return {
    vapidPublicKey: vapidKeys?.publicKey ?? null,

    async register(userId, { endpoint, p256dh, auth }) {
      const hash = endpointHash(endpoint);
      await transaction(dataSource, async (manager) => {
        // An endpoint belongs to one browser profile: registering it again (another user logged in there) moves it.
        const existing = await manager.findOneBy(PushSubscriptionRow, { endpointHash: hash });
        if (existing) {
          await manager.update(
            PushSubscriptionRow,
            { id: existing.id },
            { userId, p256dh, auth, createdAt: new Date() },
          );
        } else {
          await manager.insert(PushSubscriptionRow, {
            userId,
            endpoint,
            endpointHash: hash,
            p256dh,
            auth,
            createdAt: new Date(),
          });
        }
        const surplus = await manager.find(PushSubscriptionRow, {
          select: { id: true },
          where: { userId },
          order: { createdAt: 'DESC', id: 'DESC' },
          skip: MAX_SUBSCRIPTIONS_PER_USER,
          take: 1_000,
        });
        if (surplus.length > 0) await manager.delete(PushSubscriptionRow, { id: In(surplus.map((row) => row.id)) });
      });
    },

    async unregister(userId, endpoint) {
      const result = await writeAlone(dataSource, (manager) =>
        manager.delete(PushSubscriptionRow, { endpointHash: endpointHash(endpoint), userId }),
      );
      return (result.affected ?? 0) > 0;
    },

    async setMuted(userId, conversationId, muted) {
      await writeAlone<unknown>(dataSource, (manager) =>
        muted
          ? manager
              .createQueryBuilder()
              .insert()
              .into(ConversationMute)
              .values({ conversationId, userId, createdAt: new Date() })
              .orIgnore()
              .execute()
          : manager.delete(ConversationMute, { conversationId, userId }),
      );
    },

    async mutedAmong(userId, conversationIds) {
      if (conversationIds.length === 0) return new Set();
      const rows = await dataSource.manager.findBy(ConversationMute, {
        userId,
        conversationId: In([...conversationIds]),
      });
      return new Set(rows.map((row) => row.conversationId));
    },

    queueDepth: async () => (pusher ? dataSource.manager.countBy(PushDelivery, { status: 'PENDING' }) : null),

    stop: async () => pusher?.stop(),
  };
}
