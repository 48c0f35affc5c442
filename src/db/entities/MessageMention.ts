import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintColumn } from './columns.js';

/** A member named as @username in a message's current body (see db/mentions.ts). */
@Entity('message_mentions')
export class MessageMention {
  @PrimaryColumn({ type: 'bigint', transformer: bigintColumn })
  messageId!: number;

  @PrimaryColumn({ type: 'bigint', transformer: bigintColumn })
  userId!: number;

  /** The message's conversation, so unread mentions count per conversation from this table alone. */
  @Column({ type: 'bigint', transformer: bigintColumn })
  conversationId!: number;
}
