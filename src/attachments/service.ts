// The attachment services an app builds once: storage, URL signing, the
// staging folder for uploads in flight, and the periodic clean-up.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import type { Config } from '../config.js';
import { attachmentsOfMessage, findDisposable, insertAttachment, removeAttachment } from '../db/attachments.js';
import type { Attachment } from '../db/entities/index.js';
import type { Logger } from '../logger.js';
import type { PreparedUpload } from './processing.js';
import { type AttachmentStorage, createStorage } from './storage.js';
import { UrlSigner } from './signing.js';

/** Uploads not sent within this long are deleted. */
export const UNSENT_UPLOAD_LIFETIME_MS = 24 * 60 * 60 * 1000;
/** How often each instance runs the clean-up. */
const SWEEP_INTERVAL_MS = 10 * 60 * 1000;
/** Rows looked at per kind and sweep; the next sweep takes the rest. */
const SWEEP_BATCH = 200;

export type AttachmentService = {
  storage: AttachmentStorage;
  signer: UrlSigner;
  /** Where file parts are written while a request is read; emptied as each request ends. */
  stagingDir: string;
  maxUploadBytes: number;
  /** Stores the prepared files, then the row; on failure nothing is left behind. */
  store(prepared: PreparedUpload, conversationId: number, uploaderId: number): Promise<Attachment>;
  /** Deletes a deleted message's attachments, rows and files (the sweep catches any this misses). */
  deleteOfMessage(messageId: number): Promise<void>;
  /**
   * Deletes uploads unsent for 24 hours at `now` and any left of deleted
   * messages; safe to run on several instances at once. Returns how many went.
   */
  sweep(now: Date): Promise<number>;
  stop(): Promise<void>;
};

export async function createAttachmentService(
  config: Config,
  dataSource: DataSource,
  logger: Logger,
  options: { clock?: () => Date } = {},
): Promise<AttachmentService> {
  const clock = options.clock ?? (() => new Date());
  const storage = createStorage(config.attachments.storage);
  const stagingDir = await mkdtemp(join(tmpdir(), 'chat-uploads-'));
  const signer = new UrlSigner(config.jwtSecret, config.attachments.urlTtlSeconds, () => clock().getTime());

  const filesOf = (attachment: Attachment) =>
    attachment.thumbnailKey ? [attachment.storageKey, attachment.thumbnailKey] : [attachment.storageKey];

  const remove = async (attachment: Attachment, unsentOnly: boolean): Promise<boolean> => {
    if (!(await removeAttachment(dataSource, attachment.id, unsentOnly))) return false;
    await storage.delete(filesOf(attachment));
    return true;
  };

  const service: AttachmentService = {
    storage,
    signer,
    stagingDir,
    maxUploadBytes: config.attachments.maxUploadBytes,
    async store(prepared, conversationId, uploaderId) {
      const storageKey = `${conversationId}/${randomUUID()}`;
      const thumbnailKey = prepared.thumbnail ? `${storageKey}-thumb` : null;
      const written: string[] = [];
      try {
        await storage.put(storageKey, prepared.path, prepared.byteSize, prepared.contentType);
        written.push(storageKey);
        if (prepared.thumbnail && thumbnailKey) {
          await storage.put(thumbnailKey, prepared.thumbnail.path, prepared.thumbnail.byteSize, 'image/webp');
          written.push(thumbnailKey);
        }
        return await insertAttachment(dataSource, {
          conversationId,
          uploaderId,
          kind: prepared.kind,
          filename: prepared.filename,
          contentType: prepared.contentType,
          byteSize: prepared.byteSize,
          width: prepared.width,
          height: prepared.height,
          storageKey,
          thumbnailKey,
          thumbnailByteSize: prepared.thumbnail?.byteSize ?? null,
          createdAt: clock(),
        });
      } catch (error) {
        await storage.delete(written).catch(() => undefined);
        throw error;
      }
    },
    async deleteOfMessage(messageId) {
      for (const attachment of await attachmentsOfMessage(dataSource, messageId)) await remove(attachment, false);
    },
    async sweep(now) {
      const { unsent, ofDeleted } = await findDisposable(
        dataSource,
        new Date(now.getTime() - UNSENT_UPLOAD_LIFETIME_MS),
        SWEEP_BATCH,
      );
      let removed = 0;
      for (const attachment of unsent) if (await remove(attachment, true)) removed++;
      for (const attachment of ofDeleted) if (await remove(attachment, false)) removed++;
      return removed;
    },
    async stop() {
      clearInterval(timer);
      await running;
      storage.close();
      await rm(stagingDir, { recursive: true, force: true });
    },
  };

  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = service
      .sweep(clock())
      .catch((error: unknown) => logger.warn({ err: error }, 'attachment clean-up failed'));
  }, SWEEP_INTERVAL_MS);
  timer.unref();
  return service;
}
