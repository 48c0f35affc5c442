// Presence and typing: who is online (kept in the chat state for every
// conversation), who is typing in one conversation, and the viewer's own typing.
import type { Client } from '@urql/core';
import { type Dispatch, useEffect, useMemo, useState } from 'react';
import { useClient } from 'urql';
import { graphql } from '../gql/index.js';
import type { ChatAction } from '../lib/chatState.js';
import type { Message } from '../lib/timeline.js';
import { type Typists, withoutExpired, withoutTypist, withTypist } from '../lib/typing.js';

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

const SetTypingMutation = graphql(`
  mutation SetTyping($conversationId: ID!, $typing: Boolean!) {
    setTyping(conversationId: $conversationId, typing: $typing)
  }
`);

const TypingSubscription = graphql(`
  subscription Typing($conversationId: ID!) {
    typing(conversationId: $conversationId) {
      typing
      user {
        id
        displayName
      }
    }
  }
`);

export type PresenceActions = {
  setTyping(conversationId: string, typing: boolean): void;
};

/** Keeps presence in the chat state for the whole session; offers the viewer's typing. */
export function usePresence(client: Client, dispatch: Dispatch<ChatAction>): PresenceActions {
  useEffect(() => {
    const presence = client.subscription(PresenceSubscription, {}).subscribe((result) => {
      const event = result.data?.presence;
      if (event) dispatch({ type: 'presenceChanged', userId: event.user.id, online: event.online });
    });
    return () => presence.unsubscribe();
  }, [client, dispatch]);

  return useMemo(
    () => ({
      setTyping(conversationId, typing) {
        void client.mutation(SetTypingMutation, { conversationId, typing }).toPromise();
      },
    }),
    [client],
  );
}

/** How often expired typing states are cleared (a lost typing=false must not linger). */
const TYPING_SWEEP_MS = 1_000;

/** Who is typing in one conversation now; `newest` is its newest message (sending one ends typing). */
export function useTypists(conversationId: string, newest: Message | undefined): Typists {
  const client = useClient();
  const [typists, setTypists] = useState<Typists>({});

  useEffect(() => {
    setTypists({});
    const subscription = client.subscription(TypingSubscription, { conversationId }).subscribe((result) => {
      const event = result.data?.typing;
      if (!event) return;
      setTypists((current) =>
        event.typing ? withTypist(current, event.user, Date.now()) : withoutTypist(current, event.user.id),
      );
    });
    const sweep = setInterval(() => setTypists((current) => withoutExpired(current, Date.now())), TYPING_SWEEP_MS);
    return () => {
      subscription.unsubscribe();
      clearInterval(sweep);
    };
  }, [client, conversationId]);

  // Sending a message ends typing (the server says so too, but the message may arrive first).
  useEffect(() => {
    if (newest) setTypists((current) => withoutTypist(current, newest.sender.id));
  }, [newest]);

  return typists;
}
