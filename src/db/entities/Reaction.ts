import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintColumn } from './columns.js';

@Entity('reactions')
export class Reaction {
  @PrimaryColumn({ type: 'bigint', transformer: bigintColumn })
  messageId!: number;

  @PrimaryColumn({ type: 'bigint', transformer: bigintColumn })
  userId!: number;

  @PrimaryColumn({ type: 'varchar', length: 64 })
  emoji!: string;

  @Column({ type: 'datetime', precision: 3 })
  createdAt!: Date;
}
