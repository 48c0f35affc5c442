import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintColumn } from './columns.js';

/** `blockerId` has blocked `blockedId` (see schema/block.ts for what that changes). */
@Entity('blocks')
export class Block {
  @PrimaryColumn({ type: 'bigint', transformer: bigintColumn })
  blockerId!: number;

  @PrimaryColumn({ type: 'bigint', transformer: bigintColumn })
  blockedId!: number;

  @Column({ type: 'datetime', precision: 3 })
  createdAt!: Date;
}
