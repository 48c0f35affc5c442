import { type MigrationInterface, type QueryRunner, Table } from 'typeorm';

/**
 * Files shared in conversations (issue #12). An upload belongs to its uploader
 * and conversation and waits with messageId NULL until a sendMessage claims it;
 * the clean-up job finds unclaimed ones by createdAt. The bytes live in the
 * storage driver under storageKey (and thumbnailKey for images), never under a
 * name the client chose.
 */
export class Attachments1796000000000 implements MigrationInterface {
  name = 'Attachments1796000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const idType = queryRunner.connection.driver.options.type === 'mysql' ? 'bigint' : 'integer';
    await queryRunner.createTable(
      new Table({
        name: 'attachments',
        columns: [
          { name: 'id', type: idType, isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'conversationId', type: idType },
          { name: 'uploaderId', type: idType },
          { name: 'messageId', type: idType, isNullable: true },
          { name: 'kind', type: 'varchar', length: '5' },
          { name: 'filename', type: 'varchar', length: '255' },
          { name: 'contentType', type: 'varchar', length: '127' },
          { name: 'byteSize', type: 'integer' },
          { name: 'width', type: 'integer', isNullable: true },
          { name: 'height', type: 'integer', isNullable: true },
          { name: 'storageKey', type: 'varchar', length: '128' },
          { name: 'thumbnailKey', type: 'varchar', length: '128', isNullable: true },
          { name: 'thumbnailByteSize', type: 'integer', isNullable: true },
          { name: 'createdAt', type: 'datetime', precision: 3 },
        ],
        indices: [
          { name: 'IDX_attachments_message', columnNames: ['messageId'] },
          { name: 'IDX_attachments_uploader', columnNames: ['uploaderId', 'conversationId', 'messageId'] },
          { name: 'IDX_attachments_created', columnNames: ['createdAt'] },
        ],
        foreignKeys: [
          { columnNames: ['conversationId'], referencedTableName: 'conversations', referencedColumnNames: ['id'] },
          { columnNames: ['uploaderId'], referencedTableName: 'users', referencedColumnNames: ['id'] },
          { columnNames: ['messageId'], referencedTableName: 'messages', referencedColumnNames: ['id'] },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('attachments');
  }
}
