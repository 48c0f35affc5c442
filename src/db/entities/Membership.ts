import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintColumn } from './columns.js';

@Entity('memberships')
export class Membership {
  @PrimaryColumn({ type: 'bigint', transformer: bigintColumn })
  conversationId!: number;

  @PrimaryColumn({ type: 'bigint', transformer: bigintColumn })
  userId!: number;

  @Column({ type: 'datetime', precision: 3 })
  joinedAt!: Date;

  /** The newest message the member has read; only ever moves forward. */
  @Column({ type: 'bigint', nullable: true, transformer: bigintColumn })
  lastReadMessageId!: number | null;
}
