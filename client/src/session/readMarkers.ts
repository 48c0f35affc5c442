// Read receipts of one conversation: the other members' markers as they move,
// and what the viewer's last message shows ("Seen", "Seen by N").
import type { Client } from '@urql/core';
import type { Dispatch } from 'react';
import { graphql } from '../gql/index.js';
import type { ChatAction } from '../lib/chatState.js';
import type { Conversation } from '../lib/conversations.js';

const ReadMarkersSubscription = graphql(`
  subscription ReadMarkers($conversationId: ID!) {
    readMarkers(conversationId: $conversationId) {
      conversationId
      lastReadMessageId
      user {
        id
      }
    }
  }
`);

/** Keeps one conversation's read markers current in the chat state until the returned stop is called. */
export function followReadMarkers(client: Client, dispatch: Dispatch<ChatAction>, conversationId: string): () => void {
  {
    const subscription = client.subscription(ReadMarkersSubscription, { conversationId }).subscribe((result) => {
      const event = result.data?.readMarkers;
      if (event) {
        dispatch({
          type: 'readMarkerMoved',
          conversationId,
          userId: event.user.id,
          lastReadMessageId: event.lastReadMessageId,
        });
      }
    });
    return () => subscription.unsubscribe();
  }
}

/** The database id of a global Message ID ("Message:123" in base64), for ordering; 0 when unreadable. */
function messageNumber(globalId: string | null | undefined): number {
  if (!globalId) return 0;
  try {
    const [typename, id] = atob(globalId).split(':');
    return typename === 'Message' ? Number(id) || 0 : 0;
  } catch {
    return 0;
  }
}

/** "Seen" (DIRECT) or "Seen by N" (GROUP) for the viewer's message, or '' when nobody has read it yet. */
export function seenLabel(conversation: Conversation, viewerId: string, messageId: string): string {
  const mine = messageNumber(messageId);
  const readers = conversation.memberships.filter(
    (membership) => membership.user.id !== viewerId && messageNumber(membership.lastReadMessageId) >= mine,
  ).length;
  if (readers === 0) return '';
  return conversation.kind === 'DIRECT' ? 'Seen' : `Seen by ${readers}`;
}
