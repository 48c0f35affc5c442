// `@` in the composer: the conversation's other members whose username or
// name starts like what follows the `@`, to pick with the mouse or the keys.
import { type KeyboardEvent, useState } from 'react';
import type { User } from '../lib/conversations.js';
import { useSession } from '../session.js';

/** Suggestions shown at most. */
const MAX_SUGGESTIONS = 6;

function matching(members: readonly User[], viewerId: string, partial: string): User[] {
  return members
    .filter((member) => member.id !== viewerId)
    .filter(
      (member) =>
        member.username.startsWith(partial) ||
        member.displayName
          .toLowerCase()
          .split(/\s+/)
          .some((part) => part.startsWith(partial)),
    )
    .slice(0, MAX_SUGGESTIONS);
}

export type MentionSuggestionState = {
  candidates(partial: string): User[];
  active: number;
  setActive(index: number): void;
  /** Handles the suggestion keys; true when the key was one of them. */
  onKey(event: KeyboardEvent, partial: string, pick: (username: string) => void): boolean;
};

export function useMentionSuggestions(conversationId: string): MentionSuggestionState {
  const { viewer, state } = useSession();
  const members = state.conversations[conversationId]?.members ?? [];
  const [active, setActive] = useState(0);
  const candidates = (partial: string) => matching(members, viewer.id, partial);
  return {
    candidates,
    active,
    setActive,
    onKey(event, partial, pick) {
      const list = candidates(partial);
      if (list.length === 0) return false;
      const index = Math.min(active, list.length - 1);
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault();
        setActive((index + (event.key === 'ArrowDown' ? 1 : list.length - 1)) % list.length);
        return true;
      }
      if (event.key === 'Enter' || event.key === 'Tab') {
        event.preventDefault();
        pick(list[index]!.username);
        setActive(0);
        return true;
      }
      return false;
    },
  };
}

export function MentionSuggestions({
  state,
  partial,
  onPick,
}: {
  state: MentionSuggestionState;
  partial: string;
  onPick(username: string): void;
}) {
  const list = state.candidates(partial);
  if (list.length === 0) return null;
  const active = Math.min(state.active, list.length - 1);
  return (
    <ul className="mention-suggestions" role="listbox" aria-label="Mention suggestions">
      {list.map((member, index) => (
        <li
          key={member.id}
          role="option"
          aria-selected={index === active}
          className={index === active ? 'active' : undefined}
          // mousedown, not click: the message box keeps its focus and caret.
          onMouseDown={(event) => {
            event.preventDefault();
            onPick(member.username);
            state.setActive(0);
          }}
          onMouseEnter={() => state.setActive(index)}
        >
          <span className="mention-suggestion-name">{member.displayName}</span>{' '}
          <span className="mention-suggestion-username">@{member.username}</span>
        </li>
      ))}
    </ul>
  );
}
