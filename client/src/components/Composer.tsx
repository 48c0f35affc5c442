// Enter sends, Shift+Enter adds a line. Errors of the last send (or of an
// edit, delete or reaction) show right above the box.
import { type FormEvent, type KeyboardEvent, useEffect, useRef, useState } from 'react';
import type { PendingMessage } from '../lib/timeline.js';
import { useSession } from '../session.js';

/** typing=true is repeated this often while the user keeps typing (the server forgets it after 5 s). */
const TYPING_REPEAT_MS = 3_000;
/** The box grows with its text up to this many lines. */
const MAX_ROWS = 6;

type Props = {
  conversationId: string;
  pending: PendingMessage[];
  notice: string | null;
  onNotice(notice: string | null): void;
};

export function Composer({ conversationId, pending, notice, onNotice }: Props) {
  const session = useSession();
  const { send, setTyping } = session;
  const [text, setText] = useState('');
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

  const onChange = (value: string) => {
    setText(value);
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
    send(conversationId, body);
    setText('');
    // The server ends typing when the message is stored.
    typingSentAt.current = 0;
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
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
      <div className="composer-row">
        <textarea
          aria-label="Message"
          placeholder="Write a message…"
          rows={rows}
          value={text}
          onChange={(event) => onChange(event.target.value)}
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
