// Which uploads a sendMessage may claim, checked before the write so each
// refusal has its own clear error; the write checks again under its lock
// (db/attachments.ts claimAttachments).
import type { Context } from '../context.js';
import { findAttachments } from '../db/attachments.js';
import { ApiError, badUserInput, conflict } from '../errors.js';
import { decodeId } from '../schema/ids.js';

export const MAX_ATTACHMENTS_PER_MESSAGE = 10;

const FIELD = 'attachmentIds';

/**
 * The database ids of the uploads to claim. Someone else's upload, or one that
 * does not exist, is NOT_FOUND (an upload is its uploader's alone until sent);
 * the caller's upload of another conversation is BAD_USER_INPUT; one already
 * sent is CONFLICT, unless this send is a retry of the one that took it.
 */
export async function uploadsToClaim(
  context: Context,
  conversationId: number,
  globalIds: readonly (string | number)[],
  clientMessageId: string | null,
): Promise<number[]> {
  if (globalIds.length === 0) return []; // most sends: nothing to look up
  if (globalIds.length > MAX_ATTACHMENTS_PER_MESSAGE) {
    throw badUserInput(FIELD, `A message can have at most ${MAX_ATTACHMENTS_PER_MESSAGE} attachments.`);
  }
  const ids = globalIds.map((id) => decodeId('Attachment', String(id)));
  const notFound = () => new ApiError('NOT_FOUND', 'Attachment not found.', { field: FIELD });
  if (ids.some((id) => id === null)) throw notFound();
  if (new Set(ids).size !== ids.length) throw badUserInput(FIELD, 'The same attachment is listed twice.');
  const rows = await findAttachments(context.dataSource, ids as number[]);
  const viewerId = context.viewer!.id;
  if (rows.length !== ids.length || rows.some((row) => row.uploaderId !== viewerId)) throw notFound();
  if (rows.some((row) => row.conversationId !== conversationId)) {
    throw badUserInput(FIELD, 'An attachment was uploaded to another conversation.');
  }
  const sent = rows.filter((row) => row.messageId !== null);
  if (sent.length > 0) {
    const messages = await Promise.all(sent.map((row) => context.loaders.message.load(row.messageId!)));
    const retry =
      clientMessageId !== null &&
      messages.every((message) => message?.clientMessageId === clientMessageId && message.senderId === viewerId);
    if (!retry) throw conflict('An attachment was already sent with another message.');
  }
  return ids as number[];
}
