// The conversation list: read once, kept current by conversation events, and
// the live message feed that resumes from the list's position after every
// drop (its events update the list and any open timeline alike). Also the
// actions that add a conversation to the list.
import type { Client } from '@urql/core';
import { type Dispatch, type MutableRefObject, useCallback, useEffect, useMemo, useState } from 'react';
import { graphql } from '../gql/index.js';
import type { MessageEventsSubscription as MessageEventsResult } from '../gql/graphql.js';
import type { ChatAction } from '../lib/chatState.js';
import type { User } from '../lib/conversations.js';
import { describeError } from '../lib/errors.js';
import { EventCursor, resumableSubscription } from '../lib/resume.js';
import type { ConnectionEvents } from './connectionEvents.js';
import type { ActionResult } from './actionResult.js';
import type { CheckAuth } from './sessionToken.js';

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

export type ConversationListActions = {
  searchUsers(search: string): Promise<ActionResult<User[]>>;
  openDirect(userId: string): Promise<ActionResult<string>>;
  createGroup(title: string, memberIds: string[]): Promise<ActionResult<string>>;
};

export function useConversationList(options: {
  client: Client;
  dispatch: Dispatch<ChatAction>;
  connectionEvents: ConnectionEvents;
  checkAuth: CheckAuth;
  /** True when the viewer sees the newest messages of this conversation (set by the open view). */
  seenCheck: MutableRefObject<(conversationId: string) => boolean>;
}) {
  const { client, dispatch, connectionEvents, checkAuth, seenCheck } = options;
  const [loadError, setLoadError] = useState<string | null>(null);

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
        // Conversations joined while the socket was down announce nothing: read the list again.
        if (wasRetry) void loadList();
      },
      closed() {
        // After graphql-ws has handled the close: start over from the last event handled.
        clearTimeout(resumeTimer);
        resumeTimer = setTimeout(() => resumable?.resume(), 0);
      },
      forbidden() {},
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

    return () => {
      stopped = true;
      clearTimeout(resumeTimer);
      unlisten();
      resumable?.stop();
      conversationEvents.unsubscribe();
    };
  }, [client, dispatch, connectionEvents, checkAuth, seenCheck]);

  /** Reads one conversation again (one the list does not hold yet). */
  const refreshConversation = useCallback(
    async (conversationId: string) => {
      const result = await client.query(ConversationQuery, { id: conversationId }).toPromise();
      const conversation = result.data?.conversation;
      if (conversation) dispatch({ type: 'conversationChanged', conversation });
    },
    [client, dispatch],
  );

  const actions = useMemo<ConversationListActions>(
    () => ({
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
    }),
    [client, dispatch, checkAuth],
  );

  return { loadError, refreshConversation, actions };
}
