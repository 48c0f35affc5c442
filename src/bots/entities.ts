// The bot tables' entities; see migrations/1796600000000-Bots.ts.
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintColumn } from '../db/entities/columns.js';

/** A bot account: the user (users.isBot) it acts as, its owner, its token's hash and its webhook. */
@Entity('bots')
export class BotRow {
  @PrimaryColumn({ type: 'bigint', transformer: bigintColumn })
  userId!: number;

  @Column({ type: 'bigint', transformer: bigintColumn })
  ownerId!: number;

  /** sha256 of the live token, hex. */
  @Column({ type: 'varchar', length: 64 })
  tokenHash!: string;

  /** The session the live token authenticates as (auth/sessions.ts): rotation and deletion revoke it. */
  @Column({ type: 'varchar', length: 32 })
  sessionId!: string;

  @Column({ type: 'text', nullable: true })
  webhookUrl!: string | null;

  /** The HMAC-SHA256 key of the webhook signatures; kept as is, since signing needs it. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  webhookSecret!: string | null;

  @Column({ type: 'datetime', precision: 3 })
  createdAt!: Date;

  /** When the token last authenticated a request or socket, to within a minute. */
  @Column({ type: 'datetime', precision: 3, nullable: true })
  lastUsedAt!: Date | null;
}

export type WebhookDeliveryStatus = 'PENDING' | 'SENT' | 'FAILED';

/** One webhook POST of one message to one bot; `id` is X-Chat-Delivery, the same on every retry. */
@Entity('webhook_deliveries')
export class WebhookDelivery {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'bigint', transformer: bigintColumn })
  messageId!: number;

  @Column({ type: 'bigint', transformer: bigintColumn })
  botId!: number;

  @Column({ type: 'varchar', length: 8 })
  status!: WebhookDeliveryStatus;

  @Column({ type: 'integer' })
  attempts!: number;

  /** Epoch milliseconds. */
  @Column({ type: 'bigint', transformer: bigintColumn })
  nextAttemptAt!: number;

  @Column({ type: 'datetime', precision: 3 })
  createdAt!: Date;
}

/** The single row (id 1): the webhook worker's position in the event log and its lease. */
@Entity('webhook_state')
export class WebhookState {
  @PrimaryColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'bigint', transformer: bigintColumn })
  position!: number;

  @Column({ type: 'varchar', length: 64, nullable: true })
  leaseOwner!: string | null;

  /** Epoch milliseconds. */
  @Column({ type: 'bigint', transformer: bigintColumn })
  leaseUntil!: number;
}

export const botEntities = [BotRow, WebhookDelivery, WebhookState];
