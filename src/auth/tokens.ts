import { SignJWT, jwtVerify } from 'jose';

/** The only algorithm accepted on verify: a token claiming another (or "none") is rejected. */
const ALGORITHM = 'HS256';
const ISSUER = 'chat-api';

export type TokenClaims = { userId: number; expiresAt: Date };

export type TokenService = {
  issue(userId: number): Promise<string>;
  /** The claims of a valid, unexpired token, or null. */
  verify(token: string): Promise<TokenClaims | null>;
};

export function createTokenService(secret: string, lifetimeSeconds: number): TokenService {
  const key = new TextEncoder().encode(secret);
  return {
    issue: (userId) =>
      new SignJWT({})
        .setProtectedHeader({ alg: ALGORITHM })
        .setSubject(String(userId))
        .setIssuer(ISSUER)
        .setIssuedAt()
        .setExpirationTime(`${lifetimeSeconds}s`)
        .sign(key),
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, key, { algorithms: [ALGORITHM], issuer: ISSUER });
        const userId = Number(payload.sub);
        if (!Number.isSafeInteger(userId) || userId <= 0 || payload.exp === undefined) return null;
        return { userId, expiresAt: new Date(payload.exp * 1000) };
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
