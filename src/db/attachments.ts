// Data access for attachments (issue #12). An upload waits with messageId
// NULL; a send claims it inside the message's own transaction, so a message
// and its attachments commit together or not at all.
import DataLoader from 'dataloader';
import { type DataSource, type EntityManager, In, IsNull, LessThan } from 'typeorm';
import { Attachment, Membership, Message } from './entities/index.js';
import { readCommitted, transaction } from './transaction.js';

export type NewAttachment = Omit<Attachment, 'id' | 'messageId'>;

export function insertAttachment(dataSource: DataSource, row: NewAttachment): Promise<Attachment> {
  return transaction(dataSource, async (manager) => {
    const attachment = manager.create(Attachment, { ...row, messageId: null });
    await manager.insert(Attachment, attachment);
    return attachment;
  });
}

export function findAttachments(dataSource: DataSource, ids: readonly number[]): Promise<Attachment[]> {
  return ids.length === 0
    ? Promise.resolve([])
    : readCommitted(dataSource, (manager) => manager.findBy(Attachment, { id: In([...ids]) }));
}

/** Thrown inside a send's transaction when an upload was claimed or swept meanwhile: the send stores nothing. */
export class AttachmentClaimError extends Error {
  override name = 'AttachmentClaimError';
}

/**
 * Within the message's transaction: hands the sender's unsent uploads of that
 * conversation to the message. The conditions are in the UPDATE itself, so an
 * upload claimed by a concurrent send (or deleted by the clean-up) counts
 * short and the whole send rolls back.
 */
export async function claimAttachments(
  manager: EntityManager,
  message: { id: number; conversationId: number; senderId: number },
  attachmentIds: readonly number[],
): Promise<void> {
  if (attachmentIds.length === 0) return;
  const result = await manager.update(
    Attachment,
    {
      id: In([...attachmentIds]),
      uploaderId: message.senderId,
      conversationId: message.conversationId,
      messageId: IsNull(),
    },
    { messageId: message.id },
  );
  if (result.affected !== attachmentIds.length) throw new AttachmentClaimError('an attachment is no longer unsent');
}

/** Per request, the attachments of each message, in upload order. */
const loaders = new WeakMap<object, DataLoader<number, Attachment[]>>();

export function messageAttachmentsLoader(dataSource: DataSource, requestKey: object): DataLoader<number, Attachment[]> {
  let loader = loaders.get(requestKey);
  if (!loader) {
    loader = new DataLoader<number, Attachment[]>(async (messageIds) => {
      const rows = await dataSource.manager.find(Attachment, {
        where: { messageId: In([...messageIds]) },
        order: { id: 'ASC' },
      });
      return messageIds.map((id) => rows.filter((row) => row.messageId === id));
    });
    loaders.set(requestKey, loader);
  }
  return loader;
}

/**
 * Whether `userId` may see (node) or download the attachment now: a member of its
 * conversation, and the message is not deleted (an unsent upload: its uploader
 * only). Null when not.
 */
export async function downloadableAttachment(
  dataSource: DataSource,
  attachmentId: number,
  userId: number,
): Promise<Attachment | null> {
  const manager = dataSource.manager;
  const attachment = await manager.findOneBy(Attachment, { id: attachmentId });
  if (!attachment) return null;
  const [member, message] = await Promise.all([
    manager.countBy(Membership, { conversationId: attachment.conversationId, userId }),
    attachment.messageId === null ? null : manager.findOneBy(Message, { id: attachment.messageId }),
  ]);
  if (member === 0) return null;
  if (attachment.messageId === null) return attachment.uploaderId === userId ? attachment : null;
  return message && message.deletedAt === null ? attachment : null;
}

/**
 * Removes the row if it is still what the caller saw: unsent (`unsentOnly`),
 * or any. True when this call removed it, so exactly one caller (of several
 * instances sweeping at once) goes on to delete its files.
 */
export function removeAttachment(dataSource: DataSource, id: number, unsentOnly: boolean): Promise<boolean> {
  return transaction(dataSource, async (manager) => {
    const result = await manager.delete(Attachment, unsentOnly ? { id, messageId: IsNull() } : { id });
    return (result.affected ?? 0) > 0;
  });
}

/** Uploads never sent and created before `cutoff`, and attachments of deleted messages: what the clean-up removes. */
export async function findDisposable(dataSource: DataSource, cutoff: Date, limit: number) {
  const [unsent, ofDeleted] = await Promise.all([
    dataSource.manager.find(Attachment, {
      where: { messageId: IsNull(), createdAt: LessThan(cutoff) },
      order: { id: 'ASC' },
      take: limit,
    }),
    dataSource.manager
      .createQueryBuilder(Attachment, 'attachment')
      .innerJoin(Message, 'message', 'message.id = attachment.messageId')
      .where('message.deletedAt IS NOT NULL')
      .orderBy('attachment.id', 'ASC')
      .limit(limit)
      .getMany(),
  ]);
  return { unsent, ofDeleted };
}

export function attachmentsOfMessage(dataSource: DataSource, messageId: number): Promise<Attachment[]> {
  return dataSource.manager.findBy(Attachment, { messageId });
}
