// Enter sends, Shift+Enter adds a line. Errors of the last send (or of an
// edit, delete or reaction) show right above the box.
import { type FormEvent, type KeyboardEvent, useEffect, useRef, useState } from 'react';
import { mentionBeingTyped } from '../lib/textMarks.js';
import type { Message, PendingMessage } from '../lib/timeline.js';
import { useSession } from '../session.js';
import { MentionSuggestions, useMentionSuggestions } from './MentionSuggestions.js';
import { quoteText } from './ReplyQuote.js';

/** typing=true is repeated this often while the user keeps typing (the server forgets it after 5 s). */
const TYPING_REPEAT_MS = 3_000;
/** The box grows with its text up to this many lines. */
const MAX_ROWS = 6;

type Props = {
  conversationId: string;
  pending: PendingMessage[];
  notice: string | null;
  onNotice(notice: string | null): void;
  /** The message the next send replies to, quoted above the box. */
  replyTo?: Message | null;
  onCancelReply?(): void;
};

export function Composer({ conversationId, pending, notice, onNotice, replyTo = null, onCancelReply }: Props) {
  const session = useSession();
  const { send, setTyping } = session;
  const [text, setText] = useState('');
  const box = useRef<HTMLTextAreaElement>(null);
  const mentions = useMentionSuggestions(conversationId);
  const [caret, setCaret] = useState(0);
  const typed = mentionBeingTyped(text.slice(0, caret));

  // A reply started from the log puts the caret in the box.
  useEffect(() => {
    if (replyTo) box.current?.focus();
  }, [replyTo]);

  const completeMention = (username: string) => {
    if (!typed) return;
    const next = `${text.slice(0, typed.start)}@${username} ${text.slice(caret)}`;
    const at = typed.start + username.length + 2;
    setText(next);
    setCaret(at);
    requestAnimationFrame(() => box.current?.setSelectionRange(at, at));
  };
  const typingSentAt = useRef(0);
  const failed = pending.filter((item) => item.error).at(-1);
  const error = notice ?? failed?.error ?? null;

  const stopTyping = () => {
    if (typingSentAt.current === 0) return;
    typingSentAt.current = 0;
    setTyping(conversationId, false);
  };

  // Leaving the conversation (or the page) ends typing there.
  useEffect(
    () => () => {
      if (typingSentAt.current !== 0) setTyping(conversationId, false);
    },
    [conversationId, setTyping],
  );

  const onChange = (value: string, caretAt: number) => {
    setText(value);
    setCaret(caretAt);
    if (!value.trim()) {
      stopTyping();
      return;
    }
    const now = Date.now();
    if (now - typingSentAt.current >= TYPING_REPEAT_MS) {
      typingSentAt.current = now;
      setTyping(conversationId, true);
    }
  };

  const submit = () => {
    const body = text.trim();
    if (!body) return;
    onNotice(null);
    send(conversationId, body, replyTo?.id ?? null);
    onCancelReply?.();
    setText('');
    // The server ends typing when the message is stored.
    typingSentAt.current = 0;
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (typed && mentions.onKey(event, typed.partial, completeMention)) return;
    if (event.key === 'Escape' && replyTo) onCancelReply?.();
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    }
  };

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    submit();
  };

  const rows = Math.min(MAX_ROWS, text.split('\n').length);
  return (
    <form className="composer" onSubmit={onSubmit}>
      {error && (
        <p className="composer-error" role="alert">
          {error}
          {notice && (
            <button type="button" className="link-button" onClick={() => onNotice(null)}>
              Dismiss
            </button>
          )}
        </p>
      )}
      {replyTo && (
        <div className="composer-reply" aria-label="Replying to">
          <span className="reply-quote-sender">Replying to {replyTo.sender.displayName}</span>
          <span className="reply-quote-body">{quoteText(replyTo)}</span>
          <button type="button" className="link-button" onClick={() => onCancelReply?.()}>
            Cancel reply
          </button>
        </div>
      )}
      {typed && <MentionSuggestions state={mentions} partial={typed.partial} onPick={completeMention} />}
      <div className="composer-row">
        <textarea
          ref={box}
          aria-label="Message"
          placeholder="Write a message…"
          rows={rows}
          value={text}
          onChange={(event) => onChange(event.target.value, event.target.selectionStart)}
          onSelect={(event) => setCaret(event.currentTarget.selectionStart)}
          onKeyDown={onKeyDown}
          onBlur={stopTyping}
        />
        <button type="submit" className="button primary" disabled={!text.trim()}>
          Send
        </button>
      </div>
    </form>
  );
}
