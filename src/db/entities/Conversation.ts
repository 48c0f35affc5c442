import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { bigintColumn } from './columns.js';

export type ConversationKind = 'DIRECT' | 'GROUP';

@Entity('conversations')
export class Conversation {
  // BIGINT on MySQL (see the migration); declared integer so TypeORM hands back a number after insert.
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'varchar', length: 6 })
  kind!: ConversationKind;

  @Column({ type: 'varchar', length: 100, nullable: true })
  title!: string | null;

  /** "smallerUserId:largerUserId" for DIRECT, null for GROUP; unique, so a pair has one DIRECT conversation. */
  @Column({ type: 'varchar', length: 41, nullable: true })
  directKey!: string | null;

  @Column({ type: 'datetime', precision: 3 })
  createdAt!: Date;

  /**
   * The event-log position claimed when the conversation was created or last
   * received a message: unique and in commit order, so it orders the
   * conversation list without the ties a timestamp would have.
   */
  @Column({ type: 'bigint', transformer: bigintColumn })
  activityPosition!: number;

  @Column({ type: 'bigint', nullable: true, transformer: bigintColumn })
  lastMessageId!: number | null;
}
