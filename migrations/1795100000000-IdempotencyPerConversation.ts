import { type MigrationInterface, type QueryRunner, TableIndex } from 'typeorm';

/**
 * Idempotent sends are keyed by (sender, conversation, clientMessageId): a key
 * reused in another conversation is a new message, never the first one (which
 * would hand that conversation to someone who may have left it, issue #10).
 * The new index is created before the old one is dropped: on MySQL the foreign
 * key on senderId needs an index that starts with senderId at every moment.
 */
export class IdempotencyPerConversation1795100000000 implements MigrationInterface {
  name = 'IdempotencyPerConversation1795100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createIndex(
      'messages',
      new TableIndex({
        name: 'UQ_messages_sender_conversation_client_id',
        columnNames: ['senderId', 'conversationId', 'clientMessageId'],
        isUnique: true,
      }),
    );
    await queryRunner.dropIndex('messages', 'UQ_messages_sender_client_id');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // Fails if a sender reused a key in two conversations meanwhile: such rows cannot go back under the old key.
    await queryRunner.createIndex(
      'messages',
      new TableIndex({
        name: 'UQ_messages_sender_client_id',
        columnNames: ['senderId', 'clientMessageId'],
        isUnique: true,
      }),
    );
    await queryRunner.dropIndex('messages', 'UQ_messages_sender_conversation_client_id');
  }
}
