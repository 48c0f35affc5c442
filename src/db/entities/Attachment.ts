import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { bigintColumn } from './columns.js';

export type AttachmentKind = 'IMAGE' | 'FILE';

/** A file uploaded to a conversation; messageId is null until a sendMessage claims it. */
@Entity('attachments')
export class Attachment {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'bigint', transformer: bigintColumn })
  conversationId!: number;

  @Column({ type: 'bigint', transformer: bigintColumn })
  uploaderId!: number;

  @Column({ type: 'bigint', transformer: bigintColumn, nullable: true })
  messageId!: number | null;

  @Column({ type: 'varchar', length: 5 })
  kind!: AttachmentKind;

  @Column({ type: 'varchar', length: 255 })
  filename!: string;

  @Column({ type: 'varchar', length: 127 })
  contentType!: string;

  @Column({ type: 'integer' })
  byteSize!: number;

  @Column({ type: 'integer', nullable: true })
  width!: number | null;

  @Column({ type: 'integer', nullable: true })
  height!: number | null;

  @Column({ type: 'varchar', length: 128 })
  storageKey!: string;

  @Column({ type: 'varchar', length: 128, nullable: true })
  thumbnailKey!: string | null;

  @Column({ type: 'integer', nullable: true })
  thumbnailByteSize!: number | null;

  @Column({ type: 'datetime', precision: 3 })
  createdAt!: Date;
}
