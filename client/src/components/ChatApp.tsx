// The signed-in app: one api (HTTP + socket) per token, the session state,
// and the layout: list and conversation side by side on wide screens, one at
// a time on narrow ones (the URL hash says which conversation is open).
import { useCallback, useEffect, useRef, useState } from 'react';
import { Provider as UrqlProvider, useClient } from 'urql';
import { graphql } from '../gql/index.js';
import { type Api, createApi } from '../lib/api.js';
import { onExpiry, tokenExpiry } from '../lib/auth.js';
import type { User } from '../lib/conversations.js';
import { errorCode } from '../lib/errors.js';
import { type ConnectionEvents, createConnectionEvents, SessionProvider, useSession } from '../session.js';
import { useTokenRefresh } from '../session/sessionToken.js';
import { ConversationList } from './ConversationList.js';
import { ConversationView, type Jump } from './ConversationView.js';
import { MessageSearch } from './MessageSearch.js';
import { NewConversation } from './NewConversation.js';
import { ProfilePanel } from './ProfilePanel.js';
import { BotsPanel } from './BotsPanel.js';
import { disablePush, onNotificationClick } from '../lib/push.js';
import { NotificationsControl } from './NotificationsControl.js';

const MeQuery = graphql(`
  query Me {
    me {
      ...UserFields
    }
  }
`);

type Props = {
  token: string;
  onSessionEnded(): void;
  onLogOut(): void;
  /** A refreshed token of the same session: kept, without starting over. */
  onTokenRefreshed(token: string): void;
  /** The token of a new session (after a password change): the chat starts over with it. */
  onNewSession(token: string): void;
};

export function ChatApp({ token, onSessionEnded: endSession, onLogOut, onTokenRefreshed, onNewSession }: Props) {
  // While the viewer changes the password, the old session's end is expected, not a reason to log in again.
  const replacingSession = useRef(false);
  const onSessionEnded = useCallback(() => {
    if (!replacingSession.current) endSession();
  }, [endSession]);
  const [connection, setConnection] = useState<{ api: Api; events: ConnectionEvents } | null>(null);
  const [viewer, setViewer] = useState<User | null>(null);
  const [failed, setFailed] = useState(false);

  // Every request and reconnect sends the token as it is then: a refresh changes it under the same api.
  const currentToken = useRef(token);
  currentToken.current = token;
  useEffect(() => {
    const events = createConnectionEvents();
    const api = createApi(() => currentToken.current, events.emit);
    setConnection({ api, events });
    return () => api.dispose();
  }, []);
  useTokenRefresh(connection?.api.socket ?? null, token, onTokenRefreshed);

  // A token that expires while the page is open ends the session on time, not on the next failure.
  useEffect(() => {
    const expiry = tokenExpiry(token);
    if (!expiry) return;
    return onExpiry(expiry, onSessionEnded);
  }, [token, onSessionEnded]);

  useEffect(() => {
    if (!connection) return;
    let stopped = false;
    const load = async () => {
      const result = await connection.api.client.query(MeQuery, {}).toPromise();
      if (stopped) return;
      if (result.data?.me) setViewer(result.data.me);
      else if (result.data || errorCode(result.error) === 'UNAUTHENTICATED') onSessionEnded();
      else {
        setFailed(true);
        setTimeout(() => void load(), 2_000);
      }
    };
    void load();
    return () => {
      stopped = true;
    };
  }, [connection, onSessionEnded]);

  if (!connection || !viewer) {
    return (
      <div className="splash" role="status">
        {failed ? 'Cannot reach the server. Retrying…' : 'Loading…'}
      </div>
    );
  }
  return (
    <UrqlProvider value={connection.api.client}>
      <SessionProvider
        api={connection.api}
        viewer={viewer}
        connectionEvents={connection.events}
        onSessionEnded={onSessionEnded}
      >
        <ChatLayout
          onLogOut={onLogOut}
          onSessionEnding={(ending) => (replacingSession.current = ending)}
          onNewSession={onNewSession}
          onViewerChanged={setViewer}
        />
      </SessionProvider>
    </UrqlProvider>
  );
}

const CONVERSATION_HASH = /^#\/c\/(.+)$/;

function conversationFromHash(): string | null {
  const match = CONVERSATION_HASH.exec(window.location.hash);
  return match ? decodeURIComponent(match[1]!) : null;
}

export function conversationHref(conversationId: string): string {
  return `#/c/${encodeURIComponent(conversationId)}`;
}

function useOpenConversation(): [string | null, (conversationId: string | null) => void] {
  const [conversationId, setConversationId] = useState(conversationFromHash);
  useEffect(() => {
    const onHashChange = () => setConversationId(conversationFromHash());
    window.addEventListener('hashchange', onHashChange);
    return () => window.removeEventListener('hashchange', onHashChange);
  }, []);
  const open = useCallback((next: string | null) => {
    window.location.hash = next ? conversationHref(next) : '';
    setConversationId(next);
  }, []);
  return [conversationId, open];
}

function ChatLayout({
  onLogOut,
  onSessionEnding,
  onNewSession,
  onViewerChanged,
}: {
  onLogOut(): void;
  /** This client is ending its session on purpose (log out, new password): no "session expired" then. */
  onSessionEnding(ending: boolean): void;
  onNewSession(token: string): void;
  onViewerChanged(viewer: User): void;
}) {
  const session = useSession();
  const [activeId, open] = useOpenConversation();
  const [creating, setCreating] = useState(false);
  const client = useClient();
  const [editingProfile, setEditingProfile] = useState(false);
  const [managingBots, setManagingBots] = useState(false);
  const [logOutError, setLogOutError] = useState<string | null>(null);

  // The server revokes the session first (its sockets close), then the token is forgotten here.
  // Push is unregistered while the token still works.
  const logOut = async () => {
    onSessionEnding(true);
    await disablePush(client);
    await session.logOut();
    onLogOut();
  };
  const logOutEverywhere = async () => {
    onSessionEnding(true);
    await disablePush(client);
    const result = await session.logOutEverywhere();
    if (result.ok) return onLogOut();
    onSessionEnding(false);
    setLogOutError(result.error);
  };
  const [jump, setJump] = useState<(Jump & { conversationId: string }) | null>(null);
  useEffect(() => onNotificationClick(open), [open]);

  const unread = Object.values(session.state.conversations).reduce((sum, item) => sum + item.unreadCount, 0);
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) Chat` : 'Chat';
  }, [unread]);

  return (
    <div className="chat" data-view={activeId ? 'conversation' : 'list'}>
      {session.connection === 'reconnecting' && (
        <p className="connection-banner" role="status">
          Connection lost. Reconnecting…
        </p>
      )}
      {session.loadError && (
        <p className="connection-banner" role="alert">
          {session.loadError}
        </p>
      )}
      <aside className="sidebar">
        <header className="sidebar-header">
          <div className="me">
            <h1 className="app-title">Chat</h1>
            <span className="me-name" title={`@${session.viewer.username}`}>
              {session.viewer.displayName}
            </span>
          </div>
          <div className="sidebar-actions">
            <button type="button" className="button ghost small" onClick={() => void logOut()}>
              Log out
            </button>
            <button
              type="button"
              className="button primary small"
              aria-expanded={creating}
              onClick={() => setCreating((value) => !value)}
            >
              New conversation
            </button>
          </div>
        </header>
        <div className="account-actions">
          <button
            type="button"
            className="button ghost small"
            aria-expanded={editingProfile}
            onClick={() => setEditingProfile((value) => !value)}
          >
            Profile
          </button>
          <button
            type="button"
            className="button ghost small"
            aria-expanded={managingBots}
            onClick={() => setManagingBots((value) => !value)}
          >
            Bots
          </button>
          <button type="button" className="button ghost small" onClick={() => void logOutEverywhere()}>
            Log out everywhere
          </button>
        </div>
        {logOutError && (
          <p className="form-error" role="alert">
            {logOutError}
          </p>
        )}
        {editingProfile && (
          <ProfilePanel
            onClose={() => setEditingProfile(false)}
            onPasswordChanging={onSessionEnding}
            onPasswordChanged={onNewSession}
            onProfileSaved={onViewerChanged}
          />
        )}
        {managingBots && <BotsPanel onClose={() => setManagingBots(false)} />}
        <NotificationsControl />
        {creating && (
          <NewConversation
            onClose={() => setCreating(false)}
            onOpened={(conversationId) => {
              setCreating(false);
              open(conversationId);
            }}
          />
        )}
        <MessageSearch
          onOpen={(conversationId, messageId, words) => {
            setJump({ conversationId, messageId, words, key: Date.now() });
            open(conversationId);
          }}
        />
        <ConversationList activeId={activeId} />
      </aside>
      <main className="pane">
        {activeId ? (
          <ConversationView
            key={activeId}
            conversationId={activeId}
            onBack={() => open(null)}
            jump={jump?.conversationId === activeId ? jump : null}
          />
        ) : (
          <div className="pane-empty">
            <p>Pick a conversation, or start a new one.</p>
          </div>
        )}
      </main>
    </div>
  );
}
