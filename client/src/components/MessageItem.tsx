// One message. The body is rendered as text, never as HTML.
import { type KeyboardEvent, useState } from 'react';
import type { Message, PendingMessage } from '../lib/timeline.js';
import { useSession } from '../session.js';
import { MessageAttachments } from './Attachments.js';
import { EmojiPicker, formatFull, formatTime } from './bits.js';
import { MarkedText } from './MarkedText.js';
import { ReplyQuote } from './ReplyQuote.js';
import { BotBadge } from './BotsPanel.js';

type Props = {
  message: Message;
  showSender: boolean;
  onError(error: string): void;
  /** Starts a reply to this message in the composer. */
  onReply?(message: Message): void;
  /** Scrolls to the message this one replies to. */
  onShowOriginal?(messageId: string): void;
  /** Words a search matched, marked in the body. */
  matchedWords?: readonly string[];
};

export function MessageItem({ message, showSender, onError, onReply, onShowOriginal, matchedWords }: Props) {
  const session = useSession();
  const mine = message.sender.id === session.viewer.id;
  const deleted = Boolean(message.deletedAt);
  // An assistant's answer while the model works on it: THINKING (no text yet), then GENERATING (growing).
  const generating = !deleted && (message.generation === 'THINKING' || message.generation === 'GENERATING');
  const [stopping, setStopping] = useState(false);
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState('');
  const [picking, setPicking] = useState(false);

  const react = async (emoji: string) => {
    setPicking(false);
    const result = await session.toggleReaction(message, emoji);
    if (!result.ok) onError(result.error);
  };

  const saveEdit = async () => {
    const body = draft.trim();
    if (!body || body === message.body) {
      setEditing(false);
      return;
    }
    const result = await session.editMessage(message.id, body);
    if (result.ok) setEditing(false);
    else onError(result.error);
  };

  const remove = async () => {
    if (!window.confirm('Delete this message for everyone?')) return;
    const result = await session.deleteMessage(message.id);
    if (!result.ok) onError(result.error);
  };

  const stop = async () => {
    setStopping(true);
    const result = await session.stopGeneration(message.id);
    setStopping(false);
    if (!result.ok) onError(result.error);
  };

  const onEditKey = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Escape') setEditing(false);
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void saveEdit();
    }
  };

  return (
    <div
      className={`message${mine ? ' mine' : ''}${deleted ? ' deleted' : ''}${message.generation ? ` generation-${message.generation.toLowerCase()}` : ''}`}
      data-message-id={message.id}
      data-generation={message.generation ?? undefined}
      aria-busy={generating || undefined}
    >
      {/* A bot's name and badge show on each of its messages, so no one takes it for a person. */}
      {(showSender || message.sender.isBot) && !mine && (
        <span className="message-sender">
          {message.sender.displayName}
          {message.sender.isBot && <BotBadge />}
        </span>
      )}
      <div className="message-row">
        <div className="bubble">
          {message.replyTo && <ReplyQuote original={message.replyTo} onShow={onShowOriginal} />}
          {editing ? (
            <div className="edit-box">
              <textarea
                aria-label="Edit message"
                value={draft}
                autoFocus
                rows={Math.min(6, draft.split('\n').length)}
                onChange={(event) => setDraft(event.target.value)}
                onKeyDown={onEditKey}
              />
              <div className="edit-actions">
                <button type="button" className="button ghost small" onClick={() => setEditing(false)}>
                  Cancel
                </button>
                <button type="button" className="button primary small" onClick={() => void saveEdit()}>
                  Save
                </button>
              </div>
            </div>
          ) : (
            <>
              {message.generation === 'THINKING' && !deleted && !message.body ? (
                <p className="message-body thinking" role="status">
                  Thinking
                  <span className="thinking-dots" aria-hidden="true" />
                </p>
              ) : (
                (deleted || message.body !== null) && (
                  <p className="message-body">
                    {deleted || message.body === null ? (
                      'This message was deleted'
                    ) : (
                      <MarkedText
                        text={message.body}
                        mentioned={message.mentions.map((user) => user.username)}
                        viewerUsername={session.viewer.username}
                        words={matchedWords}
                      />
                    )}
                  </p>
                )
              )}
              {!deleted && <MessageAttachments attachments={message.attachments} />}
            </>
          )}
          <span className="message-meta">
            <time dateTime={message.createdAt} title={formatFull(message.createdAt)}>
              {formatTime(message.createdAt)}
            </time>
            {message.editedAt && !deleted && <span> · edited</span>}
            {message.generation === 'GENERATING' && !deleted && <span> · writing…</span>}
            {message.generation === 'STOPPED' && !deleted && <span> · stopped</span>}
            {message.generation === 'FAILED' && !deleted && <span className="generation-failed"> · failed</span>}
          </span>
          {generating && (
            <button
              type="button"
              className="button ghost small stop-generation"
              disabled={stopping}
              onClick={() => void stop()}
            >
              Stop
            </button>
          )}
        </div>
        {!deleted && !editing && (
          <div className="message-actions">
            <button
              type="button"
              className="icon-button"
              aria-label="Add reaction"
              aria-expanded={picking}
              onClick={() => setPicking((value) => !value)}
            >
              <span aria-hidden="true">☺</span>
            </button>
            {mine && (
              <>
                <button
                  type="button"
                  className="icon-button"
                  aria-label="Edit message"
                  onClick={() => {
                    setDraft(message.body ?? '');
                    setEditing(true);
                  }}
                >
                  <span aria-hidden="true">✎</span>
                </button>
                <button type="button" className="icon-button" aria-label="Delete message" onClick={() => void remove()}>
                  <span aria-hidden="true">🗑</span>
                </button>
              </>
            )}
            {onReply && (
              <button type="button" className="icon-button" aria-label="Reply" onClick={() => onReply(message)}>
                <span aria-hidden="true">↩</span>
              </button>
            )}
            {picking && <EmojiPicker onPick={(emoji) => void react(emoji)} onClose={() => setPicking(false)} />}
          </div>
        )}
      </div>
      {message.reactions.length > 0 && !deleted && (
        <div className="reactions">
          {message.reactions.map((reaction) => (
            <button
              key={reaction.emoji}
              type="button"
              className={`reaction${reaction.reactedByMe ? ' reacted' : ''}`}
              aria-pressed={reaction.reactedByMe}
              aria-label={`${reaction.emoji} ${reaction.count}`}
              onClick={() => void react(reaction.emoji)}
            >
              <span aria-hidden="true">{reaction.emoji}</span> <span aria-hidden="true">{reaction.count}</span>
            </button>
          ))}
        </div>
      )}
    </div>
  );
}

export function PendingItem({ pending, conversationId }: { pending: PendingMessage; conversationId: string }) {
  const session = useSession();
  return (
    <div className={`message mine pending${pending.error ? ' failed' : ''}`} aria-busy={!pending.error}>
      <div className="message-row">
        <div className="bubble">
          <p className="message-body">{pending.body}</p>
          <span className="message-meta">
            {pending.error ? (
              <span className="send-failed">
                Not sent ·{' '}
                <button
                  type="button"
                  className="link-button"
                  onClick={() => session.retrySend(conversationId, pending.clientMessageId)}
                >
                  Retry
                </button>{' '}
                ·{' '}
                <button
                  type="button"
                  className="link-button"
                  onClick={() => session.discardSend(conversationId, pending.clientMessageId)}
                >
                  Discard
                </button>
              </span>
            ) : (
              <span>Sending…</span>
            )}
          </span>
        </div>
      </div>
    </div>
  );
}
