import { SignJWT, jwtVerify } from 'jose';
import { LRUCache } from 'lru-cache';

/** The only algorithm accepted on verify: a token claiming another (or "none") is rejected. */
const ALGORITHM = 'HS256';
const ISSUER = 'chat-api';

/** `sessionId`: the server-side session the token belongs to (auth/sessions.ts), revocable. */
export type TokenClaims = { userId: number; sessionId: string; expiresAt: Date };

/** Signs and checks tokens; knows nothing of revocation (see auth/sessions.ts). */
export type TokenSigner = {
  sign(userId: number, sessionId: string): Promise<string>;
  /** The claims of a validly signed, unexpired token, or null. */
  verify(token: string): Promise<TokenClaims | null>;
};

/** What the app uses: tokens of live sessions only. */
export type TokenService = {
  /** A token of a new session of the user. */
  issue(userId: number): Promise<string>;
  /** The claims of a valid, unexpired token whose session is not revoked, or null. */
  verify(token: string): Promise<TokenClaims | null>;
};

/** Tokens whose signature was checked already, and their claims: a client sends the same token with every request. */
const VERIFIED_TOKENS_KEPT = 10_000;

export function createTokenSigner(secret: string, lifetimeSeconds: number): TokenSigner {
  // Imported once: jose would import raw key bytes again on every sign and verify.
  const key = crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign', 'verify'],
  );
  const verified = new LRUCache<string, TokenClaims>({ max: VERIFIED_TOKENS_KEPT });
  return {
    sign: async (userId, sessionId) =>
      new SignJWT({ sid: sessionId })
        .setProtectedHeader({ alg: ALGORITHM })
        .setSubject(String(userId))
        .setIssuer(ISSUER)
        .setIssuedAt()
        .setExpirationTime(`${lifetimeSeconds}s`)
        .sign(await key),
    async verify(token) {
      const known = verified.get(token);
      if (known) return known.expiresAt.getTime() > Date.now() ? known : null;
      try {
        const { payload } = await jwtVerify(token, await key, { algorithms: [ALGORITHM], issuer: ISSUER });
        const userId = Number(payload.sub);
        if (!Number.isSafeInteger(userId) || userId <= 0 || payload.exp === undefined) return null;
        // A token without a session could never be revoked: refused.
        if (typeof payload.sid !== 'string' || payload.sid === '') return null;
        const claims = { userId, sessionId: payload.sid, expiresAt: new Date(payload.exp * 1000) };
        verified.set(token, claims);
        return claims;
      } catch {
        return null;
      }
    },
  };
}

/** The token of an "Authorization: Bearer <token>" header value. */
export function bearerToken(header: string | null | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match ? match[1]! : null;
}
