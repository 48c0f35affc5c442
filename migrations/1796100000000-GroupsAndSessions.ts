import { type MigrationInterface, type QueryRunner, Table, TableColumn } from 'typeorm';

/**
 * Issue #15: a role per membership (the oldest member of each existing group
 * becomes its OWNER), sessions that tokens belong to (revocable), and blocks
 * between users. Table API only, so it runs on MySQL and SQLite alike.
 */
export class GroupsAndSessions1796100000000 implements MigrationInterface {
  name = 'GroupsAndSessions1796100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const idType = queryRunner.connection.driver.options.type === 'mysql' ? 'bigint' : 'integer';

    await queryRunner.addColumn(
      'memberships',
      new TableColumn({ name: 'role', type: 'varchar', length: '6', default: "'MEMBER'" }),
    );
    // Existing groups had no owner: the longest-standing member becomes it.
    const groups: { id: number | string }[] = await queryRunner.query(
      "SELECT id FROM conversations WHERE kind = 'GROUP'",
    );
    for (const { id } of groups) {
      const [oldest]: { userId: number | string }[] = await queryRunner.query(
        'SELECT userId FROM memberships WHERE conversationId = ? ORDER BY joinedAt ASC, userId ASC LIMIT 1',
        [id],
      );
      if (oldest) {
        await queryRunner.query("UPDATE memberships SET role = 'OWNER' WHERE conversationId = ? AND userId = ?", [
          id,
          oldest.userId,
        ]);
      }
    }

    await queryRunner.createTable(
      new Table({
        name: 'sessions',
        columns: [
          // Random, so a token's id reveals nothing about other sessions.
          { name: 'id', type: 'varchar', length: '32', isPrimary: true },
          { name: 'userId', type: idType },
          { name: 'createdAt', type: 'datetime', precision: 3 },
          { name: 'revokedAt', type: 'datetime', precision: 3, isNullable: true },
        ],
        indices: [{ name: 'IDX_sessions_user', columnNames: ['userId'] }],
        foreignKeys: [{ columnNames: ['userId'], referencedTableName: 'users', referencedColumnNames: ['id'] }],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'blocks',
        columns: [
          { name: 'blockerId', type: idType, isPrimary: true },
          { name: 'blockedId', type: idType, isPrimary: true },
          { name: 'createdAt', type: 'datetime', precision: 3 },
        ],
        indices: [{ name: 'IDX_blocks_blocked', columnNames: ['blockedId', 'blockerId'] }],
        foreignKeys: [
          { columnNames: ['blockerId'], referencedTableName: 'users', referencedColumnNames: ['id'] },
          { columnNames: ['blockedId'], referencedTableName: 'users', referencedColumnNames: ['id'] },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('blocks');
    await queryRunner.dropTable('sessions');
    await queryRunner.dropColumn('memberships', 'role');
  }
}
