// Waiting in tests for what sends no event of its own: a condition polled
// until it holds, and a promise given a deadline.

/** How often a condition is checked again. */
const POLL_MS = 10;
/** Room enough on a busy 2-core machine; a wait that must be shorter or longer passes its own. */
const DEFAULT_TIMEOUT_MS = 20_000;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Whether `condition` comes to hold within `timeoutMs`, polled: for a wait that may end either way. */
export async function holdsWithin(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) return false;
    await sleep(POLL_MS);
  }
  return true;
}

/**
 * Polls `condition` until it holds; fails naming `what` after `timeoutMs`.
 * An error thrown by `condition` ends the wait with that error.
 */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<void> {
  if (!(await holdsWithin(condition, timeoutMs))) {
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }
}

/** `promise`, or a rejection naming `what` when it has not settled within `timeoutMs`. */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
}
