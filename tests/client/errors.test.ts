import { CombinedError } from '@urql/core';
import { describe, expect, it } from 'vitest';
import { describeApiError, describeError, errorCode } from '../../client/src/lib/errors.js';

describe('API errors as sentences', () => {
  it('says when to try again after RATE_LIMITED', () => {
    expect(describeApiError({ message: 'x', extensions: { code: 'RATE_LIMITED', retryAfterMs: 2_100 } })).toBe(
      'You are sending too fast. Try again in 3 s.',
    );
    expect(describeApiError({ message: 'x', extensions: { code: 'RATE_LIMITED' } })).toBe(
      'You are sending too fast. Try again shortly.',
    );
  });

  it('shows the server’s message for validation errors, capitalised', () => {
    expect(
      describeApiError({ message: 'body must be 1 to 4000 characters.', extensions: { code: 'BAD_USER_INPUT' } }),
    ).toBe('Body must be 1 to 4000 characters.');
  });

  it('never shows an unexpected error’s text', () => {
    expect(describeApiError({ message: 'SQLITE_BUSY at /srv/app.ts:12' })).toBe('Something went wrong. Try again.');
  });

  it('reads codes and network failures from urql errors', () => {
    const api = new CombinedError({ graphQLErrors: [{ message: 'no', extensions: { code: 'UNAUTHENTICATED' } }] });
    expect(errorCode(api)).toBe('UNAUTHENTICATED');
    expect(describeError(new CombinedError({ networkError: new Error('offline') }))).toBe(
      'Cannot reach the server. Check your connection and try again.',
    );
  });
});
