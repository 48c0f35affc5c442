// The session token: kept in localStorage so a reload stays logged in.

const TOKEN_KEY = 'chat.token';

export type Storage = Pick<globalThis.Storage, 'getItem' | 'setItem' | 'removeItem'>;

export function loadToken(storage: Storage): string | null {
  const token = storage.getItem(TOKEN_KEY);
  return token && !isExpired(token) ? token : null;
}

export function saveToken(storage: Storage, token: string): void {
  storage.setItem(TOKEN_KEY, token);
}

export function clearToken(storage: Storage): void {
  storage.removeItem(TOKEN_KEY);
}

/** The token's expiry from its `exp` claim, or null when it has none or cannot be read. */
export function tokenExpiry(token: string): Date | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const { exp } = JSON.parse(json) as { exp?: unknown };
    return typeof exp === 'number' ? new Date(exp * 1000) : null;
  } catch {
    return null;
  }
}

export function isExpired(token: string, now = Date.now()): boolean {
  const expiry = tokenExpiry(token);
  return expiry !== null && expiry.getTime() <= now;
}

/** setTimeout's largest delay (2^31-1 ms, about 24.8 days): a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `onExpired` once `expiry` has passed, however far off it is: a wait
 * longer than setTimeout takes is done in steps. Returns a cancel.
 */
export function onExpiry(expiry: Date, onExpired: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    const left = expiry.getTime() - Date.now();
    timer = setTimeout(
      () => (Date.now() >= expiry.getTime() ? onExpired() : arm()),
      Math.min(Math.max(0, left), MAX_TIMER_MS),
    );
  };
  arm();
  return () => clearTimeout(timer);
}
