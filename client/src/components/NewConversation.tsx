// Start a DIRECT conversation with someone found by search (a click on the
// person), or create a group.
import { type FormEvent, useEffect, useState } from 'react';
import type { User } from '../lib/conversations.js';
import { useSession } from '../session.js';
import { Avatar } from './bits.js';

/** Wait this long after the last keystroke before searching. */
const SEARCH_DEBOUNCE_MS = 200;

export function NewConversation({ onClose, onOpened }: { onClose(): void; onOpened(conversationId: string): void }) {
  const session = useSession();
  const [search, setSearch] = useState('');
  const [results, setResults] = useState<User[]>([]);
  const [selected, setSelected] = useState<User[]>([]);
  const [title, setTitle] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const query = search.trim();
    if (!query) {
      setResults([]);
      return;
    }
    let current = true;
    const timer = setTimeout(async () => {
      const result = await session.searchUsers(query);
      if (!current) return;
      if (result.ok) {
        setResults(result.value.filter((user) => user.id !== session.viewer.id));
        setError(null);
      } else setError(result.error);
    }, SEARCH_DEBOUNCE_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
    // Only the text starts a search (the session object changes with every event).
  }, [search]);

  const openDirect = async (user: User) => {
    setBusy(true);
    const result = await session.openDirect(user.id);
    setBusy(false);
    if (result.ok) onOpened(result.value);
    else setError(result.error);
  };

  const toggle = (user: User) =>
    setSelected((current) =>
      current.some((member) => member.id === user.id)
        ? current.filter((member) => member.id !== user.id)
        : [...current, user],
    );

  const createGroup = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    const result = await session.createGroup(
      title.trim(),
      selected.map((member) => member.id),
    );
    setBusy(false);
    if (result.ok) onOpened(result.value);
    else setError(result.error);
  };

  return (
    <section className="new-conversation" aria-labelledby="new-conversation-title">
      <div className="panel-header">
        <h2 id="new-conversation-title">New conversation</h2>
        <button type="button" className="button ghost small" onClick={onClose}>
          Close
        </button>
      </div>
      <input
        type="search"
        className="search"
        aria-label="Search users"
        placeholder="Search people by name"
        autoFocus
        value={search}
        onChange={(event) => setSearch(event.target.value)}
      />
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {results.length > 0 && (
        <ul className="user-results" aria-label="People">
          {results.map((user) => {
            const isSelected = selected.some((member) => member.id === user.id);
            return (
              <li key={user.id} className="user-result">
                {/* The person is what one clicks to talk to them; Add is the group picker's. */}
                <button
                  type="button"
                  className="user-open"
                  disabled={busy}
                  aria-label={`Message ${user.displayName} (@${user.username})`}
                  onClick={() => void openDirect(user)}
                >
                  <Avatar name={user.displayName} seed={user.id} />
                  <span className="user-names">
                    <span className="user-display">{user.displayName}</span>
                    <span className="user-handle">@{user.username}</span>
                  </span>
                </button>
                <button
                  type="button"
                  className="button ghost small"
                  aria-pressed={isSelected}
                  aria-label={`${isSelected ? 'Remove' : 'Add'} ${user.displayName} ${isSelected ? 'from' : 'to'} the group`}
                  onClick={() => toggle(user)}
                >
                  {isSelected ? 'Added ✓' : 'Add'}
                </button>
              </li>
            );
          })}
        </ul>
      )}
      {search.trim() && results.length === 0 && !error && <p className="hint">No one found yet.</p>}
      {selected.length > 0 && (
        <form className="group-form" onSubmit={createGroup}>
          <p className="hint">Group with {selected.map((member) => member.displayName).join(', ')}</p>
          <label className="field">
            <span>Group title</span>
            <input value={title} required maxLength={100} onChange={(event) => setTitle(event.target.value)} />
          </label>
          <button type="submit" className="button primary" disabled={busy || !title.trim()}>
            Create group
          </button>
        </form>
      )}
    </section>
  );
}
