// The assistant's tables; see migrations/1796700000000-Assistant.ts.
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintColumn } from '../db/entities/columns.js';

/** The single row (id 1): the planner's position in the event log and its lease. */
@Entity('assistant_state')
export class AssistantState {
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

export type AssistantRequestStatus = 'PENDING' | 'RUNNING' | 'FINISHED';

/** One message the assistant answers: queued, being answered by an instance, or done with. */
@Entity('assistant_requests')
export class AssistantRequest {
  @PrimaryColumn({ type: 'bigint', transformer: bigintColumn })
  promptMessageId!: number;

  @Column({ type: 'bigint', transformer: bigintColumn })
  conversationId!: number;

  @Column({ type: 'varchar', length: 8 })
  status!: AssistantRequestStatus;

  @Column({ type: 'bigint', nullable: true, transformer: bigintColumn })
  replyMessageId!: number | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  owner!: string | null;

  /** Epoch milliseconds: while RUNNING, the owner renews it; once past, the owner is taken for dead. */
  @Column({ type: 'bigint', transformer: bigintColumn })
  leaseUntil!: number;

  @Column({ type: 'datetime', precision: 3 })
  createdAt!: Date;
}

export const assistantEntities = [AssistantState, AssistantRequest];
