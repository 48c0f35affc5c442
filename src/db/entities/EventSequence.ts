import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintColumn } from './columns.js';

/** A single row holding the last assigned event position; see db/eventLog.ts. */
@Entity('event_sequence')
export class EventSequence {
  @PrimaryColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'bigint', transformer: bigintColumn })
  position!: number;
}
