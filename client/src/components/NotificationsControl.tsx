// "Enable notifications": asks the browser for permission only when pressed,
// then subscribes and registers with the server; says plainly when it refuses.
import { useEffect, useState } from 'react';
import { useClient } from 'urql';
import { currentPushStatus, enablePush, type PushStatus } from '../lib/push.js';

export function NotificationsControl() {
  const client = useClient();
  const [status, setStatus] = useState<PushStatus | null>(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    let current = true;
    void currentPushStatus().then((value) => current && setStatus(value));
    return () => {
      current = false;
    };
  }, []);

  if (status === null || status === 'unsupported') return null;
  if (status === 'on') {
    return (
      <span className="notifications-status" role="status">
        Notifications on
      </span>
    );
  }
  return (
    <div className="notifications-control">
      <button
        type="button"
        className="button ghost small"
        disabled={busy}
        onClick={() => {
          setBusy(true);
          setProblem(null);
          enablePush(client)
            .then(setStatus, (error: Error) => setProblem(error.message))
            .finally(() => setBusy(false));
        }}
      >
        Enable notifications
      </button>
      {(problem ?? (status === 'denied' ? 'Notifications are blocked in this browser’s settings.' : null)) && (
        <p className="notifications-problem" role="alert">
          {problem ?? 'Notifications are blocked in this browser’s settings.'}
        </p>
      )}
    </div>
  );
}
