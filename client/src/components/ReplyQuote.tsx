// The quoted original of a reply: above the reply in the log (a click shows
// the original) and above the composer while a reply is being written.
import type { Message } from '../lib/timeline.js';

type Original = NonNullable<Message['replyTo']>;

/** The original's text as a quote shows it: one line, or that it was deleted. */
export function quoteText(original: { body: string | null; deletedAt?: string | null }): string {
  return original.body === null || original.deletedAt ? 'This message was deleted' : original.body;
}

export function ReplyQuote({ original, onShow }: { original: Original; onShow?(messageId: string): void }) {
  const label = `Reply to ${original.sender.displayName}: ${quoteText(original)}`;
  return (
    <button
      type="button"
      className="reply-quote"
      aria-label={label}
      title="Show the original message"
      onClick={() => onShow?.(original.id)}
    >
      <span className="reply-quote-sender">{original.sender.displayName}</span>
      <span className="reply-quote-body">{quoteText(original)}</span>
    </button>
  );
}
