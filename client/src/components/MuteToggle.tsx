// The per-conversation "Mute" toggle: muted conversations send no push
// notifications to the viewer. Shows the server's state, pressed when muted.
import { useEffect, useState } from 'react';
import { useClient } from 'urql';
import { graphql } from '../gql/index.js';

const ConversationMutedQuery = graphql(`
  query ConversationMuted($id: ID!) {
    conversation(id: $id) {
      id
      muted
    }
  }
`);

const SetConversationMuted = graphql(`
  mutation SetConversationMuted($id: ID!, $muted: Boolean!) {
    setConversationMuted(conversationId: $id, muted: $muted) {
      id
      muted
    }
  }
`);

export function MuteToggle({ conversationId }: { conversationId: string }) {
  const client = useClient();
  const [muted, setMuted] = useState<boolean | null>(null);
  const [busy, setBusy] = useState(false);
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    let current = true;
    void client
      .query(ConversationMutedQuery, { id: conversationId }, { requestPolicy: 'network-only' })
      .toPromise()
      .then((result) => {
        if (current && result.data?.conversation) setMuted(result.data.conversation.muted);
      });
    return () => {
      current = false;
    };
  }, [client, conversationId]);

  if (muted === null) return null;
  return (
    <button
      type="button"
      className="button ghost small mute-toggle"
      aria-pressed={muted}
      title={
        failed ? 'Could not change it. Try again.' : muted ? 'Notifications are off for this conversation' : undefined
      }
      disabled={busy}
      onClick={() => {
        setBusy(true);
        void client
          .mutation(SetConversationMuted, { id: conversationId, muted: !muted })
          .toPromise()
          .then((result) => {
            const next = result.data?.setConversationMuted.muted;
            setFailed(next === undefined);
            if (next !== undefined) setMuted(next);
          })
          .finally(() => setBusy(false));
      }}
    >
      {muted ? 'Muted' : 'Mute'}
    </button>
  );
}
