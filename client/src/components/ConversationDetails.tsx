// A conversation's details: for a GROUP its members with roles and presence,
// and (by role) rename, add people, remove, make admin; leave. For a DIRECT
// conversation: block or unblock the other person.
import { type FormEvent, useEffect, useState } from 'react';
import { type Conversation, isOnline, otherMember, type User } from '../lib/conversations.js';
import { useSession } from '../session.js';
import { Avatar, PresenceDot } from './bits.js';
import { BotBadge } from './BotsPanel.js';

export function ConversationDetails({ conversation, onLeft }: { conversation: Conversation; onLeft(): void }) {
  return conversation.kind === 'GROUP' ? (
    <GroupDetails conversation={conversation} onLeft={onLeft} />
  ) : (
    <DirectDetails conversation={conversation} />
  );
}

function GroupDetails({ conversation, onLeft }: { conversation: Conversation; onLeft(): void }) {
  const session = useSession();
  const [title, setTitle] = useState(conversation.title ?? '');
  const [error, setError] = useState<string | null>(null);
  const [search, setSearch] = useState('');
  const [found, setFound] = useState<User[]>([]);
  const manages = conversation.myRole === 'OWNER' || conversation.myRole === 'ADMIN';
  const owns = conversation.myRole === 'OWNER';
  const usersById = new Map(conversation.members.map((member) => [member.id, member]));

  const report = (result: { ok: boolean; error?: string }) => setError(result.ok ? null : (result.error ?? null));

  const rename = async (event: FormEvent) => {
    event.preventDefault();
    report(await session.renameGroup(conversation.id, title.trim()));
  };

  const find = async (event: FormEvent) => {
    event.preventDefault();
    const result = await session.searchUsers(search.trim());
    if (result.ok) setFound(result.value.filter((user) => !usersById.has(user.id)));
    else setError(result.error);
  };

  return (
    <section className="details" aria-label="Group details">
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {manages && (
        <form className="group-form" onSubmit={rename}>
          <label className="field">
            <span>Group name</span>
            <input value={title} required maxLength={100} onChange={(event) => setTitle(event.target.value)} />
          </label>
          <button type="submit" className="button small" disabled={!title.trim()}>
            Rename group
          </button>
        </form>
      )}
      <h3>Members</h3>
      <ul className="member-list" aria-label="Members">
        {conversation.memberships.map((membership) => {
          const user = usersById.get(membership.user.id);
          if (!user) return null;
          const me = user.id === session.viewer.id;
          return (
            <li key={user.id} className="member">
              <Avatar name={user.displayName} seed={user.id}>
                <PresenceDot online={isOnline(user, session.state.presence)} />
              </Avatar>
              <span className="user-display">
                {user.displayName}
                {user.isBot && <BotBadge />}
                {me && ' (you)'}
              </span>
              <span className="member-role">{membership.role.toLowerCase()}</span>
              {owns && !me && membership.role !== 'OWNER' && (
                <button
                  type="button"
                  className="button ghost small"
                  onClick={async () =>
                    report(
                      await session.setMemberRole(
                        conversation.id,
                        user.id,
                        membership.role === 'ADMIN' ? 'MEMBER' : 'ADMIN',
                      ),
                    )
                  }
                >
                  {membership.role === 'ADMIN' ? `Make ${user.displayName} a member` : `Make ${user.displayName} admin`}
                </button>
              )}
              {manages && !me && membership.role !== 'OWNER' && (
                <button
                  type="button"
                  className="button ghost small"
                  onClick={async () => report(await session.removeMember(conversation.id, user.id))}
                >
                  Remove {user.displayName} from the group
                </button>
              )}
            </li>
          );
        })}
      </ul>
      {manages && (
        <form className="group-form" onSubmit={find}>
          <label className="field">
            <span>Add people</span>
            <input type="search" value={search} onChange={(event) => setSearch(event.target.value)} />
          </label>
          <button type="submit" className="button small" disabled={!search.trim()}>
            Find people to add
          </button>
          <ul aria-label="People to add">
            {found.map((user) => (
              <li key={user.id}>
                <button
                  type="button"
                  className="button ghost small"
                  onClick={async () => {
                    const result = await session.addMembers(conversation.id, [user.id]);
                    report(result);
                    if (result.ok) setFound((current) => current.filter((other) => other.id !== user.id));
                  }}
                >
                  Add {user.displayName} to the group
                </button>
              </li>
            ))}
          </ul>
        </form>
      )}
      <button
        type="button"
        className="button ghost small danger"
        onClick={async () => {
          const result = await session.leaveGroup(conversation.id);
          report(result);
          if (result.ok) onLeft();
        }}
      >
        Leave group
      </button>
    </section>
  );
}

function DirectDetails({ conversation }: { conversation: Conversation }) {
  const session = useSession();
  const other = otherMember(conversation, session.viewer.id);
  const [blocked, setBlocked] = useState<boolean | null>(null);
  const [error, setError] = useState<string | null>(null);
  const { isBlocked } = session;
  useEffect(() => {
    if (!other) return;
    let current = true;
    void isBlocked(other.id).then((result) => current && result.ok && setBlocked(result.value));
    return () => {
      current = false;
    };
  }, [isBlocked, other]);
  if (!other || blocked === null) return null;
  return (
    <section className="details" aria-label="Conversation details">
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <button
        type="button"
        className="button ghost small"
        onClick={async () => {
          const result = await session.setBlocked(other.id, !blocked);
          if (result.ok) setBlocked(result.value);
          setError(result.ok ? null : result.error);
        }}
      >
        {blocked ? `Unblock ${other.displayName}` : `Block ${other.displayName}`}
      </button>
    </section>
  );
}
