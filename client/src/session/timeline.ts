// One conversation's timeline: its history (newest page, then older pages),
// the viewer's sends through the outbox, edits, deletions, reactions and the
// read marker.
import type { Client } from '@urql/core';
import { type Dispatch, type MutableRefObject, useEffect, useMemo, useRef } from 'react';
import { graphql } from '../gql/index.js';
import type { MessageEventKind } from '../gql/graphql.js';
import type { ChatAction, ChatState } from '../lib/chatState.js';
import { describeError, errorCode } from '../lib/errors.js';
import { classifySendError, Outbox } from '../lib/outbox.js';
import type { Message } from '../lib/timeline.js';
import type { ActionResult } from './actionResult.js';
import type { ConnectionEvents } from './connectionEvents.js';
import type { CheckAuth } from './sessionToken.js';

/** Newest messages read when a conversation opens, and per older page. */
export const HISTORY_PAGE_SIZE = 30;

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

const StopGenerationMutation = graphql(`
  mutation StopGeneration($messageId: ID!) {
    stopGeneration(messageId: $messageId) {
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
      unreadMentionCount
    }
  }
`);

/** What a send carries besides its body. */
export type SendExtras = { replyToId?: string | null; attachmentIds?: string[] };

export type TimelineActions = {
  /** True when the viewer sees the newest messages of this conversation (set by the open view). */
  setSeenCheck(check: (conversationId: string) => boolean): void;
  /** Reads the newest history once; false when the conversation does not exist for the viewer. */
  openConversation(conversationId: string): Promise<boolean>;
  loadOlder(conversationId: string): Promise<void>;
  /** `replyToId`: the message of this conversation the send replies to; `attachmentIds`: uploads it carries. */
  send(conversationId: string, body: string, extras?: SendExtras): void;
  retrySend(conversationId: string, clientMessageId: string): void;
  discardSend(conversationId: string, clientMessageId: string): void;
  editMessage(messageId: string, body: string): Promise<ActionResult>;
  deleteMessage(messageId: string): Promise<ActionResult>;
  /** Ends the assistant's answer being generated (any member may). */
  stopGeneration(messageId: string): Promise<ActionResult>;
  toggleReaction(message: Message, emoji: string): Promise<ActionResult>;
  markRead(conversationId: string, messageId: string): Promise<void>;
};

function newClientMessageId(): string {
  return typeof crypto.randomUUID === 'function'
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

export function useTimeline(options: {
  client: Client;
  dispatch: Dispatch<ChatAction>;
  stateRef: MutableRefObject<ChatState>;
  connectionEvents: ConnectionEvents;
  checkAuth: CheckAuth;
  seenCheck: MutableRefObject<(conversationId: string) => boolean>;
  /** Reads a conversation the list does not hold yet. */
  refreshConversation(conversationId: string): Promise<void>;
}): TimelineActions {
  const { client, dispatch, stateRef, connectionEvents, checkAuth, seenCheck, refreshConversation } = options;
  /** The viewer's sends, stored one at a time per conversation (see lib/outbox.ts). */
  const outbox = useRef<Outbox<Message> | null>(null);
  const loadingOlder = useRef(new Set<string>());
  const opening = useRef(new Set<string>());

  useEffect(() => {
    const box = new Outbox<Message>({
      async attempt({ conversationId, body, clientMessageId, replyToId, attachmentIds }) {
        const input = {
          conversationId,
          body: body || null,
          clientMessageId,
          replyToId: replyToId ?? null,
          attachmentIds: attachmentIds ?? [],
        };
        const result = await client.mutation(SendMessageMutation, { input }).toPromise();
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
  }, [client, dispatch, checkAuth]);

  // Sends waiting out a network error need not wait any longer once the socket is back.
  useEffect(
    () =>
      connectionEvents.listen({
        connected(wasRetry) {
          if (wasRetry) outbox.current?.nudge();
        },
        closed() {},
        forbidden() {},
      }),
    [connectionEvents],
  );

  // Stable across state changes, so views can depend on them.
  return useMemo<TimelineActions>(() => {
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
      send(conversationId, body, { replyToId = null, attachmentIds = [] } = {}) {
        const clientMessageId = newClientMessageId();
        dispatch({
          type: 'sendStarted',
          conversationId,
          pending: {
            clientMessageId,
            body: body || `📎 ${attachmentIds.length} file${attachmentIds.length === 1 ? '' : 's'}`,
            createdAt: new Date().toISOString(),
            error: null,
          },
        });
        outbox.current?.enqueue({ conversationId, body, clientMessageId, replyToId, attachmentIds });
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
      stopGeneration: (messageId) =>
        messageAction(async () => {
          const result = await client.mutation(StopGenerationMutation, { messageId }).toPromise();
          return { data: result.data?.stopGeneration, error: result.error };
        }, 'EDITED'),
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
          dispatch({
            type: 'unreadCounted',
            conversationId,
            unreadCount: conversation.unreadCount,
            unreadMentionCount: conversation.unreadMentionCount,
          });
        } else {
          checkAuth(result.error);
        }
      },
    };
  }, [client, dispatch, stateRef, checkAuth, seenCheck, refreshConversation]);
}
