import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintColumn } from './columns.js';

export const MESSAGE_EVENT_KINDS = ['CREATED', 'EDITED', 'DELETED', 'REACTIONS_CHANGED'] as const;
export type MessageEventKind = (typeof MESSAGE_EVENT_KINDS)[number];

/** Append-only: one row per change to a message, the source live delivery replays from. */
@Entity('message_events')
export class MessageEvent {
  /** Strictly increasing in commit order across all conversations. */
  @PrimaryColumn({ type: 'bigint', transformer: bigintColumn })
  position!: number;

  @Column({ type: 'bigint', transformer: bigintColumn })
  conversationId!: number;

  @Column({ type: 'bigint', transformer: bigintColumn })
  messageId!: number;

  @Column({ type: 'varchar', length: 20 })
  kind!: MessageEventKind;

  @Column({ type: 'datetime', precision: 3 })
  createdAt!: Date;
}
