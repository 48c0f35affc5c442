// The message a send replies to, checked before the send is stored.
import type { Context } from '../context.js';
import { notFound } from '../errors.js';
import { decodeId } from './ids.js';

/**
 * The id of the message a send replies to: one of `conversationId` (which the
 * caller was found a member of) that is not deleted. Anything else
 * (malformed, missing, in a conversation the caller cannot see, or in another
 * one it can) is the same NOT_FOUND, so a refusal reveals nothing about other
 * conversations.
 */
export async function requireReplyTarget(
  context: Context,
  replyToGlobalId: string,
  conversationId: number,
): Promise<number> {
  const id = decodeId('Message', replyToGlobalId);
  const original = id === null ? null : await context.loaders.message.load(id);
  if (!original || original.conversationId !== conversationId || original.deletedAt) throw notFound('Message');
  return original.id;
}
