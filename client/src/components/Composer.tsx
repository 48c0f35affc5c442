// Enter sends, Shift+Enter adds a line. Errors of the last send (or of an
// edit, delete or reaction) show right above the box. Files are attached by
// the "Attach files" button, by dropping them on the composer or by pasting
// images; each uploads at once (with its progress) and goes with the next send.
import {
  type ClipboardEvent,
  type DragEvent,
  type FormEvent,
  type KeyboardEvent,
  useEffect,
  useRef,
  useState,
} from 'react';
import { mentionBeingTyped } from '../lib/textMarks.js';
import type { Message, PendingMessage } from '../lib/timeline.js';
import { uploadFile } from '../lib/uploads.js';
import { useSession } from '../session.js';
import { type Draft, DraftList } from './Attachments.js';
import { EmojiButton } from './EmojiButton.js';
import { MentionSuggestions, useMentionSuggestions } from './MentionSuggestions.js';
import { quoteText } from './ReplyQuote.js';

/** As Query.limits.maxAttachmentsPerMessage. */
const MAX_ATTACHMENTS = 10;

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
  const [drafts, setDrafts] = useState<Draft[]>([]);
  const [dragging, setDragging] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const typingSentAt = useRef(0);
  const uploading = drafts.some((draft) => !draft.uploaded && !draft.error);
  const ready = drafts.filter((draft) => draft.uploaded);

  const update = (key: string, change: Partial<Draft>) =>
    setDrafts((current) => current.map((draft) => (draft.key === key ? { ...draft, ...change } : draft)));

  const addFiles = (files: readonly File[]) => {
    const room = MAX_ATTACHMENTS - drafts.length;
    if (files.length > room) onNotice(`A message can carry at most ${MAX_ATTACHMENTS} files.`);
    const added = files.slice(0, Math.max(0, room)).map((file): Draft => {
      const key = crypto.randomUUID();
      const handle = uploadFile(conversationId, file, (progress) => update(key, { progress }));
      handle.promise.then(
        (uploaded) => update(key, { uploaded, progress: 1 }),
        (error: Error) => update(key, { error: error.message }),
      );
      return {
        key,
        file,
        previewUrl: file.type.startsWith('image/') ? URL.createObjectURL(file) : null,
        progress: 0,
        uploaded: null,
        error: null,
        abort: handle.abort,
      };
    });
    setDrafts((current) => [...current, ...added]);
  };

  const removeDraft = (key: string) =>
    setDrafts((current) => {
      const draft = current.find((item) => item.key === key);
      if (draft) {
        if (!draft.uploaded && !draft.error) draft.abort();
        if (draft.previewUrl) URL.revokeObjectURL(draft.previewUrl);
      }
      return current.filter((item) => item.key !== key);
    });

  // Drafts belong to their conversation: switching away drops them (unsent uploads expire on the server).
  useEffect(() => () => setDrafts([]), [conversationId]);
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
    if ((!body && ready.length === 0) || uploading) return;
    onNotice(null);
    send(conversationId, body, {
      replyToId: replyTo?.id ?? null,
      attachmentIds: ready.map((draft) => draft.uploaded!.id),
    });
    onCancelReply?.();
    for (const draft of drafts) if (draft.previewUrl) URL.revokeObjectURL(draft.previewUrl);
    setDrafts([]);
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

  const onPaste = (event: ClipboardEvent<HTMLTextAreaElement>) => {
    const images = [...event.clipboardData.files].filter((file) => file.type.startsWith('image/'));
    if (images.length === 0) return;
    event.preventDefault();
    addFiles(images);
  };

  const onDrop = (event: DragEvent<HTMLFormElement>) => {
    if (event.dataTransfer.files.length === 0) return;
    event.preventDefault();
    setDragging(false);
    addFiles([...event.dataTransfer.files]);
  };

  const insertEmoji = (emoji: string) => {
    const area = box.current;
    const start = area?.selectionStart ?? text.length;
    const end = area?.selectionEnd ?? text.length;
    onChange(text.slice(0, start) + emoji + text.slice(end), start + emoji.length);
    requestAnimationFrame(() => {
      area?.focus();
      area?.setSelectionRange(start + emoji.length, start + emoji.length);
    });
  };

  const rows = Math.min(MAX_ROWS, text.split('\n').length);
  return (
    <form
      className={`composer${dragging ? ' dragging' : ''}`}
      onSubmit={onSubmit}
      onDragOver={(event) => {
        if (!event.dataTransfer.types.includes('Files')) return;
        event.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
    >
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
      <DraftList drafts={drafts} onRemove={removeDraft} />
      <div className="composer-row">
        <input
          ref={fileInput}
          type="file"
          multiple
          hidden
          aria-label="Files to attach"
          onChange={(event) => {
            addFiles([...(event.target.files ?? [])]);
            event.target.value = '';
          }}
        />
        <button
          type="button"
          className="icon-button"
          aria-label="Attach files"
          title="Attach files"
          onClick={() => fileInput.current?.click()}
        >
          <span aria-hidden="true">📎</span>
        </button>
        <EmojiButton onPick={insertEmoji} />
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
          onPaste={onPaste}
        />
        <button type="submit" className="button primary" disabled={(!text.trim() && ready.length === 0) || uploading}>
          Send
        </button>
      </div>
    </form>
  );
}
