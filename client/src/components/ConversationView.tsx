// One conversation: header, the message log (history scrolls back, new
// messages are followed while at the bottom), who is typing, and the composer.
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { conversationTitle, isOnline, otherMember } from '../lib/conversations.js';
import { newestMessage, timelineItems } from '../lib/timeline.js';
import { typingText } from '../lib/typing.js';
import { useSession } from '../session.js';
import { useTypists } from '../session/presenceAndTyping.js';
import { Avatar, formatFull, PresenceDot } from './bits.js';
import { Composer } from './Composer.js';
import { MessageItem, PendingItem } from './MessageItem.js';

/** Within this many pixels of the end counts as "at the bottom". */
const BOTTOM_SLACK_PX = 48;
/** Older history is read when the view is scrolled this close to the top. */
const LOAD_OLDER_AT_PX = 400;

export function ConversationView({ conversationId, onBack }: { conversationId: string; onBack(): void }) {
  const session = useSession();
  const { viewer, state } = session;
  const conversation = state.conversations[conversationId];
  const timeline = state.timelines[conversationId];
  const [notice, setNotice] = useState<string | null>(null);
  const { openConversation } = session;
  const [notFound, setNotFound] = useState(false);
  const missing = notFound || (Boolean(timeline?.loaded) && !conversation);

  useEffect(() => {
    let current = true;
    void openConversation(conversationId).then((found) => current && setNotFound(!found));
    return () => {
      current = false;
    };
  }, [openConversation, conversationId]);

  const title = conversation ? conversationTitle(conversation, viewer.id) : '';
  const other = conversation ? otherMember(conversation, viewer.id) : undefined;
  const online = other ? isOnline(other, state.presence) : false;

  let subtitle = '';
  if (conversation?.kind === 'GROUP') subtitle = `${conversation.members.length} members`;
  else if (other) {
    subtitle = online ? 'Online' : other.lastSeenAt ? `Last seen ${formatFull(other.lastSeenAt)}` : 'Offline';
  }

  return (
    <section className="conversation" aria-label={title || 'Conversation'}>
      <header className="conversation-header">
        <button type="button" className="icon-button back" aria-label="Back to conversations" onClick={onBack}>
          <span aria-hidden="true">‹</span>
        </button>
        {conversation && (
          <Avatar name={title} seed={other?.id ?? conversation.id}>
            {other && <PresenceDot online={online} />}
          </Avatar>
        )}
        <div className="conversation-heading">
          <h2>{title || (missing ? 'Conversation not found' : 'Loading…')}</h2>
          {subtitle && <p className="conversation-subtitle">{subtitle}</p>}
        </div>
      </header>
      <MessageLog conversationId={conversationId} onError={setNotice} />
      <TypingIndicator conversationId={conversationId} />
      <Composer
        conversationId={conversationId}
        notice={notice}
        onNotice={setNotice}
        pending={timeline?.pending ?? []}
      />
    </section>
  );
}

function MessageLog({ conversationId, onError }: { conversationId: string; onError(error: string): void }) {
  const session = useSession();
  const { viewer, setSeenCheck, markRead, loadOlder } = session;
  const timeline = session.state.timelines[conversationId];
  const conversation = session.state.conversations[conversationId];
  const items = useMemo(() => (timeline ? timelineItems(timeline, viewer.id) : []), [timeline, viewer.id]);
  const ref = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  /** The scroll geometry after the last render or scroll, to keep the view still when history is added above. */
  const before = useRef({ scrollTop: 0, scrollHeight: 0, firstKey: '', lastKey: '' });
  const lastMarked = useRef<string | null>(null);
  const newest = timeline ? newestMessage(timeline) : undefined;
  const unread = conversation?.unreadCount ?? 0;

  const markReadIfSeen = useCallback(() => {
    if (!newest || !atBottom.current || document.visibilityState !== 'visible') return;
    if (newest.id === lastMarked.current) return;
    if (unread === 0 && newest.sender.id === viewer.id) return;
    lastMarked.current = newest.id;
    void markRead(conversationId, newest.id);
  }, [newest, unread, viewer.id, conversationId, markRead]);

  // Events for this conversation that arrive while its newest messages are in view are read, not unread.
  useEffect(() => {
    setSeenCheck((id) => id === conversationId && atBottom.current && document.visibilityState === 'visible');
    return () => setSeenCheck(() => false);
  }, [setSeenCheck, conversationId]);

  useEffect(() => {
    markReadIfSeen();
    document.addEventListener('visibilitychange', markReadIfSeen);
    return () => document.removeEventListener('visibilitychange', markReadIfSeen);
  }, [markReadIfSeen]);

  const remember = () => {
    const element = ref.current;
    if (!element) return;
    before.current = {
      scrollTop: element.scrollTop,
      scrollHeight: element.scrollHeight,
      firstKey: items[0]?.key ?? '',
      lastKey: items.at(-1)?.key ?? '',
    };
    atBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight <= BOTTOM_SLACK_PX;
  };

  const loadOlderIfNear = () => {
    const element = ref.current;
    if (element && timeline?.hasOlder && element.scrollTop < LOAD_OLDER_AT_PX) void loadOlder(conversationId);
  };

  useLayoutEffect(() => {
    const element = ref.current;
    if (!element) return;
    const previous = before.current;
    const firstKey = items[0]?.key ?? '';
    const lastKey = items.at(-1)?.key ?? '';
    const prepended =
      previous.firstKey !== '' &&
      firstKey !== previous.firstKey &&
      items.some((item) => item.key === previous.firstKey);
    const sentJustNow = lastKey !== previous.lastKey && items.at(-1)?.kind === 'pending';
    if (prepended) {
      // Older messages went in above: keep what the reader was looking at where it was.
      element.scrollTop = previous.scrollTop + (element.scrollHeight - previous.scrollHeight);
    } else if (atBottom.current || sentJustNow) {
      element.scrollTop = element.scrollHeight;
    }
    remember();
    // A first page that does not fill the view cannot be scrolled back: read more at once.
    if (element.scrollHeight <= element.clientHeight) loadOlderIfNear();
  });

  const onScroll = () => {
    const wasAtBottom = atBottom.current;
    remember();
    loadOlderIfNear();
    if (atBottom.current && !wasAtBottom) markReadIfSeen();
  };

  let previousSender: string | null = null;
  return (
    <div
      className="message-log"
      ref={ref}
      onScroll={onScroll}
      role="log"
      aria-label="Messages"
      aria-live="polite"
      tabIndex={0}
    >
      {timeline?.loaded && !timeline.hasOlder && items.length > 0 && (
        <p className="log-start">This is the beginning of the conversation.</p>
      )}
      {timeline?.hasOlder && <p className="log-start">Loading earlier messages…</p>}
      {timeline?.loaded && items.length === 0 && <p className="log-start">No messages yet. Say hello!</p>}
      {!timeline?.loaded && items.length === 0 && <p className="log-start">Loading messages…</p>}
      {items.map((item) => {
        const senderId = item.kind === 'message' ? item.message.sender.id : viewer.id;
        const showSender = conversation?.kind === 'GROUP' && senderId !== previousSender;
        previousSender = senderId;
        return (
          <div className="log-item" key={item.key}>
            {item.kind === 'message' ? (
              <MessageItem message={item.message} showSender={showSender} onError={onError} />
            ) : (
              <PendingItem pending={item.pending} conversationId={conversationId} />
            )}
          </div>
        );
      })}
    </div>
  );
}

function TypingIndicator({ conversationId }: { conversationId: string }) {
  const { state } = useSession();
  const timeline = state.timelines[conversationId];
  const typists = useTypists(conversationId, timeline ? newestMessage(timeline) : undefined);

  return (
    <p className="typing-indicator" aria-live="polite">
      {typingText(typists)}
    </p>
  );
}
