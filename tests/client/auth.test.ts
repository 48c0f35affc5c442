import { describe, expect, it } from 'vitest';
import { clearToken, isExpired, loadToken, saveToken, tokenExpiry } from '../../client/src/lib/auth.js';

function jwt(claims: Record<string, unknown>): string {
  return `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.signature`;
}

function memoryStorage() {
  const items = new Map<string, string>();
  return {
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
  };
}

describe('the session token', () => {
  it('reads the expiry from the token', () => {
    expect(tokenExpiry(jwt({ exp: 1_800_000_000 }))?.toISOString()).toBe('2027-01-15T08:00:00.000Z');
    expect(tokenExpiry('not a token')).toBeNull();
    expect(tokenExpiry(jwt({}))).toBeNull();
  });

  it('is kept across reloads until it expires or is cleared', () => {
    const storage = memoryStorage();
    const valid = jwt({ exp: Date.now() / 1000 + 3600 });
    saveToken(storage, valid);
    expect(loadToken(storage)).toBe(valid);
    clearToken(storage);
    expect(loadToken(storage)).toBeNull();
    const expired = jwt({ exp: Date.now() / 1000 - 1 });
    saveToken(storage, expired);
    expect(isExpired(expired)).toBe(true);
    expect(loadToken(storage)).toBeNull();
  });
});
