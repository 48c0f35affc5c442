// API errors as a sentence a person can act on.
import type { CombinedError } from '@urql/core';

type ApiError = { message: string; extensions?: Record<string, unknown> };

export function errorCode(error: CombinedError | undefined): string | undefined {
  const code = error?.graphQLErrors[0]?.extensions?.code;
  return typeof code === 'string' ? code : undefined;
}

export function describeApiError(error: ApiError): string {
  const { code, retryAfterMs } = error.extensions ?? {};
  switch (code) {
    case 'RATE_LIMITED': {
      const seconds = typeof retryAfterMs === 'number' ? Math.max(1, Math.ceil(retryAfterMs / 1000)) : null;
      return seconds
        ? `You are sending too fast. Try again in ${seconds} s.`
        : 'You are sending too fast. Try again shortly.';
    }
    case 'BAD_USER_INPUT':
    case 'CONFLICT':
    case 'FORBIDDEN':
    case 'NOT_FOUND':
      return error.message.charAt(0).toUpperCase() + error.message.slice(1);
    case 'UNAUTHENTICATED':
      return 'Your session has ended. Log in again.';
    default:
      return 'Something went wrong. Try again.';
  }
}

/** A readable message for a failed operation. */
export function describeError(error: CombinedError): string {
  const first = error.graphQLErrors[0];
  if (first) return describeApiError(first);
  if (error.networkError) return 'Cannot reach the server. Check your connection and try again.';
  return 'Something went wrong. Try again.';
}
