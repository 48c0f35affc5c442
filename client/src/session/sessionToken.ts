// The session and its token: the socket's connection state, ending the
// session when the server no longer accepts the token (an UNAUTHENTICATED
// answer, or the socket closed with 4403), and refreshing the token over the
// socket ahead of its expiry.
import { print } from 'graphql';
import type { Client as WsClient } from 'graphql-ws';
import { useCallback, useEffect, useState } from 'react';
import { graphql } from '../gql/index.js';
import { MAX_TIMER_MS, tokenExpiry } from '../lib/auth.js';
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

/** Refresh this long before the token expires (or at 4/5 of a shorter lifetime). */
const REFRESH_AHEAD_MS = 60_000;

const RefreshTokenMutation = graphql(`
  mutation RefreshToken {
    refreshToken {
      token
    }
  }
`);

/**
 * Runs refreshToken over the open socket, so the server lets that socket go
 * on under the new expiry with every subscription intact (no reconnect).
 */
export function refreshOverSocket(socket: WsClient): Promise<string | null> {
  return new Promise((resolve) => {
    let token: string | null = null;
    socket.subscribe<{ refreshToken: { token: string } }>(
      { query: print(RefreshTokenMutation) },
      {
        next: (result) => void (token = result.data?.refreshToken.token ?? token),
        error: () => resolve(null),
        complete: () => resolve(token),
      },
    );
  });
}

/** Refreshes the token over the socket ahead of its expiry, again after each refresh. */
export function useTokenRefresh(socket: WsClient | null, token: string, onRefreshed: (token: string) => void): void {
  useEffect(() => {
    const expiry = tokenExpiry(token);
    if (!socket || !expiry) return;
    const issuedAt = Date.now();
    const left = expiry.getTime() - issuedAt;
    const delay = Math.max(0, left - Math.min(REFRESH_AHEAD_MS, left / 5));
    let current = true;
    const timer = setTimeout(
      () =>
        void refreshOverSocket(socket).then((fresh) => {
          if (current && fresh) onRefreshed(fresh);
        }),
      Math.min(delay, MAX_TIMER_MS),
    );
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [socket, token, onRefreshed]);
}
