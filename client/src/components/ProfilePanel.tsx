// The viewer's profile: display name and password. A new password ends every
// other session; this one goes on under the new session's token.
import { type FormEvent, useState } from 'react';
import type { User } from '../lib/conversations.js';
import { useSession } from '../session.js';

export function ProfilePanel({
  onClose,
  onPasswordChanged,
  onPasswordChanging,
  onProfileSaved,
}: {
  onClose(): void;
  /** The viewer as saved: the header shows the new name at once. */
  onProfileSaved(viewer: User): void;
  /** The new session's token. */
  onPasswordChanged(token: string): void;
  /** The current session is about to be revoked on purpose. */
  onPasswordChanging(changing: boolean): void;
}) {
  const session = useSession();
  const [displayName, setDisplayName] = useState(session.viewer.displayName);
  const [currentPassword, setCurrentPassword] = useState('');
  const [newPassword, setNewPassword] = useState('');
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null);

  const saveName = async (event: FormEvent) => {
    event.preventDefault();
    const result = await session.updateProfile(displayName.trim());
    if (result.ok) onProfileSaved(result.value);
    setMessage(result.ok ? { error: false, text: 'Display name saved.' } : { error: true, text: result.error });
  };

  const changePassword = async (event: FormEvent) => {
    event.preventDefault();
    onPasswordChanging(true);
    const result = await session.changePassword(currentPassword, newPassword);
    if (result.ok) return onPasswordChanged(result.value);
    onPasswordChanging(false);
    setMessage({ error: true, text: result.error });
  };

  return (
    <section className="new-conversation" aria-labelledby="profile-title">
      <div className="panel-header">
        <h2 id="profile-title">Profile</h2>
        <button type="button" className="button ghost small" onClick={onClose}>
          Close profile
        </button>
      </div>
      {message && (
        <p className={message.error ? 'form-error' : 'hint'} role={message.error ? 'alert' : 'status'}>
          {message.text}
        </p>
      )}
      <form className="group-form" onSubmit={saveName}>
        <label className="field">
          <span>Display name</span>
          <input value={displayName} required maxLength={64} onChange={(event) => setDisplayName(event.target.value)} />
        </label>
        <button type="submit" className="button small" disabled={!displayName.trim()}>
          Save display name
        </button>
      </form>
      <form className="group-form" onSubmit={changePassword}>
        <label className="field">
          <span>Current password</span>
          <input
            type="password"
            autoComplete="current-password"
            value={currentPassword}
            onChange={(event) => setCurrentPassword(event.target.value)}
          />
        </label>
        <label className="field">
          <span>New password</span>
          <input
            type="password"
            autoComplete="new-password"
            minLength={8}
            value={newPassword}
            onChange={(event) => setNewPassword(event.target.value)}
          />
        </label>
        <button type="submit" className="button small" disabled={!currentPassword || newPassword.length < 8}>
          Change password
        </button>
      </form>
    </section>
  );
}
