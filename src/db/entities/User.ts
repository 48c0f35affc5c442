import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity('users')
export class User {
  // BIGINT on MySQL (see the migration); declared integer so TypeORM hands back a number after insert.
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  /** Lower-case, unique. */
  @Column({ type: 'varchar', length: 32 })
  username!: string;

  @Column({ type: 'varchar', length: 64 })
  displayName!: string;

  /** displayName.toLowerCase(), for case-insensitive search beyond ASCII on both databases. */
  @Column({ type: 'varchar', length: 256 })
  displayNameLower!: string;

  @Column({ type: 'varchar', length: 255 })
  passwordHash!: string;

  /** A bot account (createBot) or the assistant: no password, acts through its token only. */
  @Column({ type: 'boolean', default: false })
  isBot!: boolean;

  @Column({ type: 'datetime', precision: 3 })
  createdAt!: Date;

  @Column({ type: 'datetime', precision: 3, nullable: true })
  lastSeenAt!: Date | null;
}
