import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { bigintColumn } from './columns.js';

export const GENERATION_STATES = ['THINKING', 'GENERATING', 'DONE', 'STOPPED', 'FAILED'] as const;
export type GenerationState = (typeof GENERATION_STATES)[number];

@Entity('messages')
// Idempotent sends: one message per (sender, conversation, clientMessageId); NULL keys never collide.
// Created by the migrations (synchronize is off); declared so the entity states the key the code relies on.
@Index('UQ_messages_sender_conversation_client_id', ['senderId', 'conversationId', 'clientMessageId'], {
  unique: true,
})
export class Message {
  /** Assigned in commit order (see db/eventLog.ts), so it also orders history. */
  // BIGINT on MySQL (see the migration); declared integer so TypeORM hands back a number after insert.
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'bigint', transformer: bigintColumn })
  conversationId!: number;

  @Column({ type: 'bigint', transformer: bigintColumn })
  senderId!: number;

  /** Null once deleted. */
  @Column({ type: 'text', nullable: true })
  body!: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  clientMessageId!: string | null;

  @Column({ type: 'datetime', precision: 3 })
  createdAt!: Date;

  @Column({ type: 'datetime', precision: 3, nullable: true })
  editedAt!: Date | null;

  @Column({ type: 'datetime', precision: 3, nullable: true })
  deletedAt!: Date | null;

  /** The earlier message of the same conversation this one replies to. */
  @Column({ type: 'bigint', nullable: true, transformer: bigintColumn })
  replyToId!: number | null;

  /** The state of an assistant's reply (schema/generation.ts); null for every other message. */
  @Column({ type: 'varchar', length: 16, nullable: true })
  generation!: GenerationState | null;
}
