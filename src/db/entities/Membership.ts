import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintColumn } from './columns.js';

export type MemberRole = 'OWNER' | 'ADMIN' | 'MEMBER';

@Entity('memberships')
export class Membership {
  @PrimaryColumn({ type: 'bigint', transformer: bigintColumn })
  conversationId!: number;

  @PrimaryColumn({ type: 'bigint', transformer: bigintColumn })
  userId!: number;

  @Column({ type: 'datetime', precision: 3 })
  joinedAt!: Date;

  /** OWNER (one per GROUP), ADMIN or MEMBER; both members of a DIRECT conversation are MEMBER. */
  @Column({ type: 'varchar', length: 6 })
  role!: MemberRole;

  /** The newest message the member has read; only ever moves forward. */
  @Column({ type: 'bigint', nullable: true, transformer: bigintColumn })
  lastReadMessageId!: number | null;
}
