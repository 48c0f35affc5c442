// What a push carries: the contract's JSON ({type, conversationId, messageId,
// title, body}), kept under the size push services accept.
import { encodeGlobalID } from '@pothos/plugin-relay';
import type { Conversation, Message, User } from '../db/entities/index.js';
import { codePointLength } from '../codePoints.js';

/** RFC 8291 allows 4096 bytes of ciphertext; the issue asks for under 3 KB of plaintext, leaving room for padding. */
export const MAX_PAYLOAD_BYTES = 3_000;
/** Characters of the message shown in a notification; a notification shows a few lines at most. */
const PREVIEW_CHARACTERS = 500;

export type PushPayload = {
  type: 'message';
  conversationId: string;
  messageId: string;
  title: string;
  body: string | null;
};

/** The sender's name for a DIRECT conversation; "sender in group title" for a GROUP. */
export function buildPayload(
  message: Message,
  sender: User,
  conversation: Conversation,
  preview: boolean,
): PushPayload {
  const title =
    conversation.kind === 'GROUP' && conversation.title
      ? `${sender.displayName} in ${conversation.title}`
      : sender.displayName;
  const payload: PushPayload = {
    type: 'message',
    conversationId: encodeGlobalID('Conversation', conversation.id),
    messageId: encodeGlobalID('Message', message.id),
    title,
    body: preview && message.body !== null ? truncate(message.body, PREVIEW_CHARACTERS) : null,
  };
  // Emoji and escaped control characters take several bytes each: shorten until it fits.
  while (payload.body !== null && Buffer.byteLength(JSON.stringify(payload)) > MAX_PAYLOAD_BYTES) {
    payload.body = truncate(payload.body, Math.floor(codePointLength(payload.body) / 2));
  }
  return payload;
}

/** At most `max` code points (never half a surrogate pair), with an ellipsis when cut. */
function truncate(text: string, max: number): string {
  const codePoints = [...text];
  return codePoints.length <= max ? text : `${codePoints.slice(0, Math.max(0, max - 1)).join('')}…`;
}
