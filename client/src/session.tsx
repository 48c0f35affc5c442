// The signed-in session: reads the conversation list, keeps the live
// subscriptions going (resuming message events after every reconnect), and
// offers the actions the views call. All state changes go through chatReducer.
import type { Client } from '@urql/core';
import {
  createContext,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useReducer,
  useRef,
  useState,
} from 'react';
import { graphql } from './gql/index.js';
import type { MessageEventKind, MessageEventsSubscription as MessageEventsResult } from './gql/graphql.js';
import type { Api } from './lib/api.js';
import { type ChatAction, chatReducer, type ChatState, initialChatState } from './lib/chatState.js';
import type { Conversation, User } from './lib/conversations.js';
import { describeError, errorCode } from './lib/errors.js';
import { classifySendError, Outbox } from './lib/outbox.js';
import { EventCursor, resumableSubscription } from './lib/resume.js';
import type { Message } from './lib/timeline.js';

/** Newest messages read when a conversation opens, and per older page. */
export const HISTORY_PAGE_SIZE = 30;
/** The list shows this many conversations (the API's largest page). */
const CONVERSATIONS_PAGE_SIZE = 100;

const ConversationsQuery = graphql(`
  query Conversations($first: Int!) {
    conversations(first: $first) {
      eventCursor
      edges {
        node {
          ...ConversationFields
        }
      }
    }
  }
`);

const ConversationQuery = graphql(`
  query Conversation($id: ID!) {
    conversation(id: $id) {
      ...ConversationFields
    }
  }
`);

const MessagesQuery = graphql(`
  query Messages($conversationId: ID!, $last: Int!, $before: String) {
    messages(conversationId: $conversationId, last: $last, before: $before) {
      edges {
        node {
          ...MessageFields
        }
      }
      pageInfo {
        hasPreviousPage
        startCursor
      }
    }
  }
`);

const MessageEventsSubscription = graphql(`
  subscription MessageEvents($after: String) {
    messageEvents(after: $after) {
      kind
      cursor
      message {
        ...MessageFields
      }
    }
  }
`);

const ConversationEventsSubscription = graphql(`
  subscription ConversationEvents {
    conversationEvents {
      kind
      conversationId
      conversation {
        ...ConversationFields
      }
    }
  }
`);

const PresenceSubscription = graphql(`
  subscription Presence {
    presence {
      online
      user {
        id
      }
    }
  }
`);

const SendMessageMutation = graphql(`
  mutation SendMessage($input: SendMessageInput!) {
    sendMessage(input: $input) {
      ...MessageFields
    }
  }
`);

const EditMessageMutation = graphql(`
  mutation EditMessage($input: EditMessageInput!) {
    editMessage(input: $input) {
      ...MessageFields
    }
  }
`);

const DeleteMessageMutation = graphql(`
  mutation DeleteMessage($messageId: ID!) {
    deleteMessage(messageId: $messageId) {
      ...MessageFields
    }
  }
`);

const AddReactionMutation = graphql(`
  mutation AddReaction($messageId: ID!, $emoji: String!) {
    addReaction(messageId: $messageId, emoji: $emoji) {
      ...MessageFields
    }
  }
`);

const RemoveReactionMutation = graphql(`
  mutation RemoveReaction($messageId: ID!, $emoji: String!) {
    removeReaction(messageId: $messageId, emoji: $emoji) {
      ...MessageFields
    }
  }
`);

const MarkReadMutation = graphql(`
  mutation MarkRead($conversationId: ID!, $messageId: ID!) {
    markRead(conversationId: $conversationId, messageId: $messageId) {
      id
      unreadCount
    }
  }
`);

const SetTypingMutation = graphql(`
  mutation SetTyping($conversationId: ID!, $typing: Boolean!) {
    setTyping(conversationId: $conversationId, typing: $typing)
  }
`);

const OpenDirectMutation = graphql(`
  mutation OpenDirectConversation($userId: ID!) {
    openDirectConversation(userId: $userId) {
      ...ConversationFields
    }
  }
`);

const CreateGroupMutation = graphql(`
  mutation CreateGroupConversation($input: CreateGroupInput!) {
    createGroupConversation(input: $input) {
      ...ConversationFields
    }
  }
`);

const SearchUsersQuery = graphql(`
  query SearchUsers($search: String!) {
    users(search: $search, first: 20) {
      edges {
        node {
          ...UserFields
        }
      }
    }
  }
`);

export type ConnectionState = 'connecting' | 'online' | 'reconnecting';

/** The outcome of an action: an error a person can read, or nothing. */
export type ActionResult<T = void> = { ok: true; value: T } | { ok: false; error: string };

export type Session = {
  viewer: User;
  state: ChatState;
  connection: ConnectionState;
  loadError: string | null;
  /** True when the viewer sees the newest messages of this conversation (set by the open view). */
  setSeenCheck(check: (conversationId: string) => boolean): void;
  /** Reads the newest history once; false when the conversation does not exist for the viewer. */
  openConversation(conversationId: string): Promise<boolean>;
  loadOlder(conversationId: string): Promise<void>;
  send(conversationId: string, body: string): void;
  retrySend(conversationId: string, clientMessageId: string): void;
  discardSend(conversationId: string, clientMessageId: string): void;
  editMessage(messageId: string, body: string): Promise<ActionResult>;
  deleteMessage(messageId: string): Promise<ActionResult>;
  toggleReaction(message: Message, emoji: string): Promise<ActionResult>;
  markRead(conversationId: string, messageId: string): Promise<void>;
  setTyping(conversationId: string, typing: boolean): void;
  searchUsers(search: string): Promise<ActionResult<User[]>>;
  openDirect(userId: string): Promise<ActionResult<string>>;
  createGroup(title: string, memberIds: string[]): Promise<ActionResult<string>>;
};

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}

function newClientMessageId(): string {
  return typeof crypto.randomUUID === 'function'
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
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
  const [connection, setConnection] = useState<ConnectionState>('connecting');
  const [loadError, setLoadError] = useState<string | null>(null);
  const seenCheck = useRef<(conversationId: string) => boolean>(() => false);
  const stateRef = useRef(state);
  stateRef.current = state;
  /** The viewer's sends, stored one at a time per conversation (see lib/outbox.ts). */
  const outbox = useRef<Outbox<Message> | null>(null);
  const loadingOlder = useRef(new Set<string>());

  /** Ends the session when the server no longer accepts the token. */
  const checkAuth = useCallback(
    (error: Parameters<typeof errorCode>[0]) => {
      if (errorCode(error) === 'UNAUTHENTICATED') onSessionEnded();
    },
    [onSessionEnded],
  );

  // The list, then message events from the list's position on, resumed after every drop.
  useEffect(() => {
    let stopped = false;
    let resumable: ReturnType<typeof resumableSubscription> | null = null;
    let resumeTimer: ReturnType<typeof setTimeout> | undefined;

    const loadList = async () => {
      const result = await client.query(ConversationsQuery, { first: CONVERSATIONS_PAGE_SIZE }).toPromise();
      if (stopped) return null;
      if (result.error || !result.data) {
        checkAuth(result.error);
        if (result.error) setLoadError(describeError(result.error));
        return null;
      }
      setLoadError(null);
      dispatch({
        type: 'conversationsLoaded',
        conversations: result.data.conversations.edges.map((edge) => edge.node),
      });
      return result.data.conversations.eventCursor;
    };

    const start = async () => {
      let eventCursor = await loadList();
      while (eventCursor === null && !stopped) {
        await new Promise((resolve) => setTimeout(resolve, 2_000));
        eventCursor = await loadList();
      }
      if (stopped || eventCursor === null) return;
      resumable = resumableSubscription<MessageEventsResult['messageEvents']>({
        cursor: new EventCursor(eventCursor),
        subscribe: (after, next) =>
          client.subscription(MessageEventsSubscription, { after }).subscribe((result) => {
            if (result.data) next(result.data.messageEvents);
            else if (result.error) checkAuth(result.error);
          }).unsubscribe,
        cursorOf: (event) => event.cursor,
        onEvent: (event) =>
          dispatch({
            type: 'messageEvent',
            kind: event.kind,
            message: event.message,
            seen: seenCheck.current(event.message.conversation.id),
          }),
      });
    };
    void start();

    const unlisten = connectionEvents.listen({
      connected(wasRetry) {
        setConnection('online');
        // Sends waiting out a network error need not wait any longer.
        if (wasRetry) outbox.current?.nudge();
        // Conversations joined while the socket was down announce nothing: read the list again.
        if (wasRetry) void loadList();
      },
      closed() {
        setConnection('reconnecting');
        // After graphql-ws has handled the close: start over from the last event handled.
        clearTimeout(resumeTimer);
        resumeTimer = setTimeout(() => resumable?.resume(), 0);
      },
      forbidden: onSessionEnded,
    });

    const conversationEvents = client.subscription(ConversationEventsSubscription, {}).subscribe((result) => {
      const event = result.data?.conversationEvents;
      if (!event) return;
      if (event.kind === 'LEFT' || !event.conversation) {
        dispatch({ type: 'conversationLeft', conversationId: event.conversationId });
      } else {
        dispatch({ type: 'conversationChanged', conversation: event.conversation });
      }
    });
    const presence = client.subscription(PresenceSubscription, {}).subscribe((result) => {
      const event = result.data?.presence;
      if (event) dispatch({ type: 'presenceChanged', userId: event.user.id, online: event.online });
    });

    return () => {
      stopped = true;
      clearTimeout(resumeTimer);
      unlisten();
      resumable?.stop();
      conversationEvents.unsubscribe();
      presence.unsubscribe();
    };
  }, [client, connectionEvents, checkAuth, onSessionEnded]);

  useEffect(() => {
    const box = new Outbox<Message>({
      async attempt({ conversationId, body, clientMessageId }) {
        const result = await client
          .mutation(SendMessageMutation, { input: { conversationId, body, clientMessageId } })
          .toPromise();
        if (result.data) return { kind: 'sent', value: result.data.sendMessage };
        if (!result.error) return { kind: 'transient', retryAfterMs: null };
        checkAuth(result.error);
        const verdict = classifySendError(result.error);
        return verdict.kind === 'transient' ? verdict : { kind: verdict.kind, error: describeError(result.error) };
      },
      onSent: (_send, message) => dispatch({ type: 'messageEvent', kind: 'CREATED', message, seen: true }),
      onFailed: ({ conversationId, clientMessageId }, error) =>
        dispatch({ type: 'sendFailed', conversationId, clientMessageId, error }),
    });
    outbox.current = box;
    return () => {
      box.dispose();
      if (outbox.current === box) outbox.current = null;
    };
  }, [client, checkAuth]);

  const refreshConversation = useCallback(
    async (conversationId: string) => {
      const result = await client.query(ConversationQuery, { id: conversationId }).toPromise();
      const conversation = result.data?.conversation;
      if (conversation) dispatch({ type: 'conversationChanged', conversation });
    },
    [client],
  );

  const opening = useRef(new Set<string>());

  // Stable across state changes, so views can depend on them.
  const actions = useMemo<Omit<Session, 'viewer' | 'state' | 'connection' | 'loadError'>>(() => {
    const messageReply = (kind: MessageEventKind, message: Message) =>
      dispatch({ type: 'messageEvent', kind, message, seen: true });

    const messageAction = async (
      run: () => Promise<{ data?: Message; error?: Parameters<typeof describeError>[0] }>,
      kind: MessageEventKind,
    ): Promise<ActionResult> => {
      const { data, error } = await run();
      if (data) {
        messageReply(kind, data);
        return { ok: true, value: undefined };
      }
      if (error) checkAuth(error);
      return { ok: false, error: error ? describeError(error) : 'Something went wrong. Try again.' };
    };

    /** False when the conversation is not there for the viewer. */
    const loadPage = async (conversationId: string, before: string | null): Promise<boolean> => {
      const result = await client.query(MessagesQuery, { conversationId, last: HISTORY_PAGE_SIZE, before }).toPromise();
      if (!result.data) {
        checkAuth(result.error);
        return errorCode(result.error) !== 'NOT_FOUND';
      }
      const { edges, pageInfo } = result.data.messages;
      dispatch({
        type: 'historyLoaded',
        conversationId,
        older: before !== null,
        page: {
          messages: edges.map((edge) => edge.node),
          startCursor: pageInfo.startCursor ?? null,
          hasPreviousPage: pageInfo.hasPreviousPage,
        },
      });
      return true;
    };

    return {
      setSeenCheck(check) {
        seenCheck.current = check;
      },
      async openConversation(conversationId) {
        if (stateRef.current.timelines[conversationId]?.loaded || opening.current.has(conversationId)) return true;
        opening.current.add(conversationId);
        try {
          if (!(await loadPage(conversationId, null))) return false;
          if (!stateRef.current.conversations[conversationId]) await refreshConversation(conversationId);
          return true;
        } finally {
          opening.current.delete(conversationId);
        }
      },
      async loadOlder(conversationId) {
        const timeline = stateRef.current.timelines[conversationId];
        if (!timeline?.hasOlder || !timeline.olderCursor || loadingOlder.current.has(conversationId)) return;
        loadingOlder.current.add(conversationId);
        try {
          await loadPage(conversationId, timeline.olderCursor);
        } finally {
          loadingOlder.current.delete(conversationId);
        }
      },
      send(conversationId, body) {
        const clientMessageId = newClientMessageId();
        dispatch({
          type: 'sendStarted',
          conversationId,
          pending: { clientMessageId, body, createdAt: new Date().toISOString(), error: null },
        });
        outbox.current?.enqueue({ conversationId, body, clientMessageId });
      },
      retrySend(conversationId, clientMessageId) {
        // Same clientMessageId: if an earlier try was stored after all, the server returns it instead of a copy.
        if (outbox.current?.retry(clientMessageId)) dispatch({ type: 'sendRetried', conversationId, clientMessageId });
      },
      discardSend(conversationId, clientMessageId) {
        outbox.current?.discard(clientMessageId);
        dispatch({ type: 'sendDiscarded', conversationId, clientMessageId });
      },
      editMessage: (messageId, body) =>
        messageAction(async () => {
          const result = await client.mutation(EditMessageMutation, { input: { messageId, body } }).toPromise();
          return { data: result.data?.editMessage, error: result.error };
        }, 'EDITED'),
      deleteMessage: (messageId) =>
        messageAction(async () => {
          const result = await client.mutation(DeleteMessageMutation, { messageId }).toPromise();
          return { data: result.data?.deleteMessage, error: result.error };
        }, 'DELETED'),
      toggleReaction: (message, emoji) =>
        messageAction(async () => {
          const mine = message.reactions.some((reaction) => reaction.emoji === emoji && reaction.reactedByMe);
          if (mine) {
            const result = await client.mutation(RemoveReactionMutation, { messageId: message.id, emoji }).toPromise();
            return { data: result.data?.removeReaction, error: result.error };
          }
          const result = await client.mutation(AddReactionMutation, { messageId: message.id, emoji }).toPromise();
          return { data: result.data?.addReaction, error: result.error };
        }, 'REACTIONS_CHANGED'),
      async markRead(conversationId, messageId) {
        const result = await client.mutation(MarkReadMutation, { conversationId, messageId }).toPromise();
        const conversation = result.data?.markRead;
        if (conversation) {
          dispatch({ type: 'unreadCounted', conversationId, unreadCount: conversation.unreadCount });
        } else {
          checkAuth(result.error);
        }
      },
      setTyping(conversationId, typing) {
        void client.mutation(SetTypingMutation, { conversationId, typing }).toPromise();
      },
      async searchUsers(search) {
        const result = await client.query(SearchUsersQuery, { search }).toPromise();
        if (!result.data) {
          checkAuth(result.error);
          return { ok: false, error: result.error ? describeError(result.error) : 'Search failed.' };
        }
        return { ok: true, value: result.data.users.edges.map((edge) => edge.node) };
      },
      async openDirect(userId) {
        const result = await client.mutation(OpenDirectMutation, { userId }).toPromise();
        const conversation = result.data?.openDirectConversation;
        if (!conversation) {
          checkAuth(result.error);
          return { ok: false, error: result.error ? describeError(result.error) : 'Could not open the conversation.' };
        }
        dispatch({ type: 'conversationChanged', conversation });
        return { ok: true, value: conversation.id };
      },
      async createGroup(title, memberIds) {
        const result = await client.mutation(CreateGroupMutation, { input: { title, memberIds } }).toPromise();
        const conversation = result.data?.createGroupConversation;
        if (!conversation) {
          checkAuth(result.error);
          return { ok: false, error: result.error ? describeError(result.error) : 'Could not create the group.' };
        }
        dispatch({ type: 'conversationChanged', conversation });
        return { ok: true, value: conversation.id };
      },
    };
  }, [client, checkAuth, refreshConversation]);

  const session = useMemo<Session>(
    () => ({ viewer, state, connection, loadError, ...actions }),
    [viewer, state, connection, loadError, actions],
  );

  return <SessionContext.Provider value={session}>{props.children}</SessionContext.Provider>;
}

/** Fans the api's connection events out to whoever listens (the session, the banner). */
export type ConnectionEvents = {
  listen(listener: { connected(wasRetry: boolean): void; closed(): void; forbidden(): void }): () => void;
  emit: {
    connected(wasRetry: boolean): void;
    closed(): void;
    forbidden(): void;
  };
};

export function createConnectionEvents(): ConnectionEvents {
  type Listener = Parameters<ConnectionEvents['listen']>[0];
  const listeners = new Set<Listener>();
  return {
    listen(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit: {
      connected: (wasRetry) => listeners.forEach((listener) => listener.connected(wasRetry)),
      closed: () => listeners.forEach((listener) => listener.closed()),
      forbidden: () => listeners.forEach((listener) => listener.forbidden()),
    },
  };
}

export type { ChatAction, Conversation };
