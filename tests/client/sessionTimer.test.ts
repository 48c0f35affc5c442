import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { onExpiry } from '../../client/src/lib/auth.js';

const SECOND = 1_000;
const DAY = 24 * 3600 * SECOND;

describe('the session timer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('does not end a 30-day session early (setTimeout takes at most 24.8 days)', () => {
    const ended = vi.fn();
    onExpiry(new Date(Date.now() + 30 * DAY), ended);
    vi.advanceTimersByTime(SECOND);
    expect(ended).not.toHaveBeenCalled();
    vi.advanceTimersByTime(29 * DAY);
    expect(ended).not.toHaveBeenCalled();
    vi.advanceTimersByTime(DAY - 2 * SECOND);
    expect(ended).not.toHaveBeenCalled();
    vi.advanceTimersByTime(SECOND);
    expect(ended).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(60 * DAY);
    expect(ended).toHaveBeenCalledTimes(1);
  });

  it('ends a short session when its token expires', () => {
    const ended = vi.fn();
    onExpiry(new Date(Date.now() + 8 * SECOND), ended);
    vi.advanceTimersByTime(8 * SECOND - 1);
    expect(ended).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(ended).toHaveBeenCalledTimes(1);
  });

  it('ends an already expired session at once, and a cancelled timer never', () => {
    const expired = vi.fn();
    onExpiry(new Date(Date.now() - SECOND), expired);
    vi.advanceTimersByTime(0);
    expect(expired).toHaveBeenCalledTimes(1);

    const cancelled = vi.fn();
    const cancel = onExpiry(new Date(Date.now() + 30 * DAY), cancelled);
    vi.advanceTimersByTime(25 * DAY);
    cancel();
    vi.advanceTimersByTime(10 * DAY);
    expect(cancelled).not.toHaveBeenCalled();
  });
});
