// The signed-in session: one chat state (every change goes through
// chatReducer), composed from one hook per concern, each in session/:
//   sessionToken.ts       the token's acceptance and the socket's connection state
//   conversationList.ts   the list, conversation events, the live message feed
//   timeline.ts           one conversation's history, sends, edits, reactions, read marker
//   presenceAndTyping.ts  who is online, who is typing, the viewer's typing
import type { Client } from '@urql/core';
import { createContext, type ReactNode, useContext, useMemo, useReducer, useRef } from 'react';
import type { Api } from './lib/api.js';
import { type ChatAction, chatReducer, type ChatState, initialChatState } from './lib/chatState.js';
import type { Conversation, User } from './lib/conversations.js';
import type { ActionResult } from './session/actionResult.js';
import type { ConnectionEvents } from './session/connectionEvents.js';
import { type ConversationListActions, useConversationList } from './session/conversationList.js';
import { type PresenceActions, usePresence } from './session/presenceAndTyping.js';
import { type ConnectionState, useSessionToken } from './session/sessionToken.js';
import { type TimelineActions, useTimeline } from './session/timeline.js';

export type Session = {
  viewer: User;
  state: ChatState;
  connection: ConnectionState;
  loadError: string | null;
} & TimelineActions &
  ConversationListActions &
  PresenceActions;

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}

export function SessionProvider(props: {
  api: Api;
  viewer: User;
  /** Connection events from the api, wired by the caller that created it. */
  connectionEvents: ConnectionEvents;
  onSessionEnded(): void;
  children: ReactNode;
}) {
  const { api, viewer, connectionEvents, onSessionEnded } = props;
  const client: Client = api.client;
  const [state, dispatch] = useReducer(chatReducer, viewer.id, initialChatState);
  const stateRef = useRef(state);
  stateRef.current = state;
  const seenCheck = useRef<(conversationId: string) => boolean>(() => false);

  const { connection, checkAuth } = useSessionToken(connectionEvents, onSessionEnded);
  const list = useConversationList({ client, dispatch, connectionEvents, checkAuth, seenCheck });
  const timeline = useTimeline({
    client,
    dispatch,
    stateRef,
    connectionEvents,
    checkAuth,
    seenCheck,
    refreshConversation: list.refreshConversation,
  });
  const presence = usePresence(client, dispatch);

  const session = useMemo<Session>(
    () => ({ viewer, state, connection, loadError: list.loadError, ...timeline, ...list.actions, ...presence }),
    [viewer, state, connection, list.loadError, timeline, list.actions, presence],
  );

  return <SessionContext.Provider value={session}>{props.children}</SessionContext.Provider>;
}

export { type ConnectionEvents, createConnectionEvents } from './session/connectionEvents.js';
export { HISTORY_PAGE_SIZE } from './session/timeline.js';
export type { ActionResult, ChatAction, ConnectionState, Conversation };
