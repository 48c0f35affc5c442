// The session and its token: the socket's connection state, and ending the
// session when the server no longer accepts the token (an UNAUTHENTICATED
// answer, or the socket closed with 4403).
import { useCallback, useEffect, useState } from 'react';
import { errorCode } from '../lib/errors.js';
import type { ConnectionEvents } from './connectionEvents.js';

export type ConnectionState = 'connecting' | 'online' | 'reconnecting';

/** Hands an operation's error to the session, which ends when the token is refused. */
export type CheckAuth = (error: Parameters<typeof errorCode>[0]) => void;

export function useSessionToken(connectionEvents: ConnectionEvents, onSessionEnded: () => void) {
  const [connection, setConnection] = useState<ConnectionState>('connecting');

  /** Ends the session when the server no longer accepts the token. */
  const checkAuth = useCallback<CheckAuth>(
    (error) => {
      if (errorCode(error) === 'UNAUTHENTICATED') onSessionEnded();
    },
    [onSessionEnded],
  );

  useEffect(
    () =>
      connectionEvents.listen({
        connected: () => setConnection('online'),
        closed: () => setConnection('reconnecting'),
        forbidden: onSessionEnded,
      }),
    [connectionEvents, onSessionEnded],
  );

  return { connection, checkAuth };
}
