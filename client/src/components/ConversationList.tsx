import { conversationList } from '../lib/chatState.js';
import { conversationTitle, isOnline, lastActivity, lastMessagePreview, otherMember } from '../lib/conversations.js';
import { useSession } from '../session.js';
import { Avatar, formatShort, PresenceDot } from './bits.js';
import { conversationHref } from './ChatApp.js';

export function ConversationList({ activeId }: { activeId: string | null }) {
  const { state, viewer } = useSession();
  const conversations = conversationList(state);
  return (
    <nav className="conversation-list" aria-label="Conversations">
      {conversations.length === 0 ? (
        <p className="list-empty">No conversations yet. Start one with “New conversation”.</p>
      ) : (
        <ul>
          {conversations.map((conversation) => {
            const title = conversationTitle(conversation, viewer.id);
            const other = otherMember(conversation, viewer.id);
            const unread = conversation.unreadCount;
            return (
              <li key={conversation.id}>
                <a
                  className="conversation-item"
                  href={conversationHref(conversation.id)}
                  aria-current={conversation.id === activeId ? 'page' : undefined}
                >
                  <Avatar name={title} seed={other?.id ?? conversation.id}>
                    {other && <PresenceDot online={isOnline(other, state.presence)} />}
                  </Avatar>
                  <span className="conversation-text">
                    <span className="conversation-top">
                      <span className="conversation-title">{title}</span>
                      <time className="conversation-time" dateTime={lastActivity(conversation)}>
                        {formatShort(lastActivity(conversation))}
                      </time>
                    </span>
                    <span className="conversation-bottom">
                      <span className="conversation-preview">{lastMessagePreview(conversation, viewer.id)}</span>
                      {conversation.unreadMentionCount > 0 && (
                        <span
                          className="badge mention-badge"
                          aria-label={`${conversation.unreadMentionCount} unread mentions`}
                        >
                          @
                        </span>
                      )}
                      {unread > 0 && (
                        <span className="badge" aria-label={`${unread} unread`}>
                          {unread > 99 ? '99+' : unread}
                        </span>
                      )}
                    </span>
                  </span>
                </a>
              </li>
            );
          })}
        </ul>
      )}
    </nav>
  );
}
