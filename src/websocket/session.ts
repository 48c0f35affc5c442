// Who is on a socket, and for how long: the token of ConnectionInit checked
// once, the socket closed (4403) when that token expires or its session is
// revoked, and presence told when an authenticated socket comes and goes.
// Per-socket state stays on the socket's Connection (protocol.ts); this module
// keeps only what spans sockets (each user's sockets, for revocation).
import DataLoader from 'dataloader';
import { CloseCode } from 'graphql-ws';
import type { WebSocket } from 'ws';
import { revokes } from '../auth/sessions.js';
import { bearerToken } from '../auth/tokens.js';
import type { Services } from '../context.js';
import { execute, inList } from '../db/prepared.js';
import { CLOSE_SLOW_CONSUMER, closeSocket } from './limits.js';

/** What this module reads and writes on a connection. */
export type SocketSession = {
  readonly socket: WebSocket;
  viewerId: number | undefined;
  /** The session of the socket's token, once authenticated: revoking it closes the socket (4403). */
  sessionId: string | undefined;
  /** Until ConnectionInit arrives, its deadline (4408); then the token's expiry (4403). */
  timer: NodeJS.Timeout | undefined;
};

/** The token of a ConnectionInit payload: {"authorization": "Bearer <token>"} or {"token": "<token>"}. */
function tokenOf(payload: Record<string, unknown> | undefined): string | null {
  if (!payload) return null;
  if (typeof payload.authorization === 'string') return bearerToken(payload.authorization);
  return typeof payload.token === 'string' ? payload.token : null;
}

/**
 * The longest delay setTimeout takes (2^31-1 ms, about 24.8 days): a longer
 * one fires at once, which closed every socket of a TOKEN_TTL of 25 days or more.
 */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** Closes the socket with 4403 when its token expires, re-arming the timer until then if the expiry is beyond one timer's reach. */
function closeOnTokenExpiry(session: SocketSession, expiresAtMs: number): void {
  const msLeft = expiresAtMs - Date.now();
  if (msLeft <= 0) return closeSocket(session.socket, CloseCode.Forbidden, 'Token expired');
  const delay = Math.min(msLeft, MAX_TIMER_DELAY_MS);
  session.timer = setTimeout(closeOnTokenExpiry, delay, session, expiresAtMs).unref();
}

/**
 * Re-arms the expiry timer for a refreshed token of the same session
 * (refreshToken over the socket). Made by a function rather than bound: a
 * bound copy of a function named by tsx (keepNames) carries a property
 * dictionary of its own, once per subscription.
 */
export function expiryRenewer(session: SocketSession): (expiresAt: Date) => void {
  return (expiresAt) => {
    if (session.socket.readyState !== session.socket.OPEN) return;
    clearTimeout(session.timer);
    closeOnTokenExpiry(session, expiresAt.getTime());
  };
}

/** Closes the socket as a slow consumer (made by a function for the reason at expiryRenewer). */
export function slowConsumerCloser(socket: WebSocket): () => void {
  return () => closeSocket(socket, CLOSE_SLOW_CONSUMER, 'Slow consumer');
}

/** Thrown when the token could not be checked (the database is down): the socket closes with 4500, not 4403. */
export class AuthenticationUnavailableError extends Error {
  override name = 'AuthenticationUnavailableError';
}

export class SocketSessions {
  /** Each user's authenticated sockets on this instance, so a revoked session's close at once (4403). */
  private readonly byUser = new Map<number, Set<SocketSession>>();
  private readonly stopRevocations: () => void;
  /**
   * Sockets authenticating in the same turn of the event loop check that their
   * users still exist in one query (a reconnect storm is thousands at once).
   * Nothing is cached: each check reads the database.
   */
  private readonly existingUsers: DataLoader<number, boolean>;

  constructor(private readonly services: Services) {
    this.stopRevocations = services.sessions.listen((revoked) => {
      for (const session of this.byUser.get(revoked.userId) ?? []) {
        if (revokes(revoked, session.sessionId!)) closeSocket(session.socket, CloseCode.Forbidden, 'Session ended');
      }
    });
    this.existingUsers = new DataLoader<number, boolean>(
      async (ids) => {
        const { dataSource } = services;
        const list = inList(ids);
        // A prepared statement, not TypeORM's find: its query building was about
        // a sixth of what a socket's start allocated (docs/benchmarks.md).
        const { rows } = await execute(
          dataSource.manager,
          `SELECT id FROM ${dataSource.driver.escape('users')} WHERE id IN (${list.placeholders})`,
          list.params,
        );
        const found = new Set(rows.map((row) => Number(row.id)));
        return ids.map((id) => found.has(id));
      },
      { cache: false, batchScheduleFn: (dispatch) => setImmediate(dispatch) },
    );
  }

  /**
   * ConnectionInit: true once the socket is authenticated (registered for
   * revocation, expiry armed, the user online), false to refuse it (4403).
   */
  async authenticate(session: SocketSession, payload: Record<string, unknown> | undefined): Promise<boolean> {
    clearTimeout(session.timer); // ConnectionInit has arrived
    let claims;
    let userExists;
    try {
      // Checks the session too: a revoked token's socket is refused.
      claims = await this.services.tokens.verify(tokenOf(payload) ?? '');
      userExists = claims !== null && (await this.existingUsers.load(claims.userId));
    } catch (error) {
      // The database is down: close with 4500 and a masked reason, not 4403,
      // so a client keeps its token and reconnects later.
      this.services.logger.error({ err: error }, 'could not authenticate a socket');
      throw new AuthenticationUnavailableError('Internal server error');
    }
    if (!claims || !userExists) return false;
    // Closed while the token was checked: closed() has run already, so register nothing.
    if (session.socket.readyState !== session.socket.OPEN) return false;
    // From here closed() sees the viewer and undoes the presence registration below, whenever it closes.
    session.viewerId = claims.userId;
    session.sessionId = claims.sessionId;
    const userSockets = this.byUser.get(claims.userId) ?? new Set<SocketSession>();
    this.byUser.set(claims.userId, userSockets.add(session));
    // The socket lives no longer than its token: the client reconnects with a fresh one.
    closeOnTokenExpiry(session, claims.expiresAt.getTime());
    await this.services.realtime.presence.connected(claims.userId);
    return true;
  }

  /** The socket closed: forget it, and tell presence if it was authenticated. */
  async closed(session: SocketSession): Promise<void> {
    clearTimeout(session.timer);
    if (!session.viewerId) return;
    const userSockets = this.byUser.get(session.viewerId);
    userSockets?.delete(session);
    if (userSockets?.size === 0) this.byUser.delete(session.viewerId);
    await this.services.realtime.presence.disconnected(session.viewerId);
  }

  stop(): void {
    this.stopRevocations();
  }
}
