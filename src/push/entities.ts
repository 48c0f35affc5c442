// The push tables' entities; see migrations/1796400000000-PushNotifications.ts.
import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { bigintColumn } from '../db/entities/columns.js';

/** A browser's PushSubscription, registered by a user; its endpoint is unique across users. */
@Entity('push_subscriptions')
export class PushSubscriptionRow {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'bigint', transformer: bigintColumn })
  userId!: number;

  @Column({ type: 'text' })
  endpoint!: string;

  @Column({ type: 'varchar', length: 64 })
  endpointHash!: string;

  @Column({ type: 'varchar', length: 128 })
  p256dh!: string;

  @Column({ type: 'varchar', length: 64 })
  auth!: string;

  @Column({ type: 'datetime', precision: 3 })
  createdAt!: Date;
}

/** A member who muted a conversation: no push from it. */
@Entity('conversation_mutes')
export class ConversationMute {
  @PrimaryColumn({ type: 'bigint', transformer: bigintColumn })
  conversationId!: number;

  @PrimaryColumn({ type: 'bigint', transformer: bigintColumn })
  userId!: number;

  @Column({ type: 'datetime', precision: 3 })
  createdAt!: Date;
}

export type PushDeliveryStatus = 'PENDING' | 'SENT' | 'FAILED';

/** One push of one message to one subscription: its primary key is what makes it go out once. */
@Entity('push_deliveries')
export class PushDelivery {
  @PrimaryColumn({ type: 'bigint', transformer: bigintColumn })
  messageId!: number;

  @PrimaryColumn({ type: 'bigint', transformer: bigintColumn })
  subscriptionId!: number;

  @Column({ type: 'varchar', length: 8 })
  status!: PushDeliveryStatus;

  @Column({ type: 'integer' })
  attempts!: number;

  /** Epoch milliseconds. */
  @Column({ type: 'bigint', transformer: bigintColumn })
  nextAttemptAt!: number;

  @Column({ type: 'datetime', precision: 3 })
  createdAt!: Date;
}

/** The single row (id 1): the pusher's position in the event log, its lease, and the generated VAPID keys. */
@Entity('push_state')
export class PushState {
  @PrimaryColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'bigint', transformer: bigintColumn })
  position!: number;

  @Column({ type: 'varchar', length: 64, nullable: true })
  leaseOwner!: string | null;

  /** Epoch milliseconds. */
  @Column({ type: 'bigint', transformer: bigintColumn })
  leaseUntil!: number;

  @Column({ type: 'varchar', length: 128, nullable: true })
  vapidPublicKey!: string | null;

  @Column({ type: 'varchar', length: 128, nullable: true })
  vapidPrivateKey!: string | null;
}

export const pushEntities = [PushSubscriptionRow, ConversationMute, PushDelivery, PushState];
