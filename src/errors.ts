// Expected failures, each with the contract's extensions.code. Anything else a
// resolver throws is masked by Yoga before it reaches a client.
import { GraphQLError } from 'graphql';

export type ErrorCode =
  'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'BAD_USER_INPUT' | 'CONFLICT' | 'RATE_LIMITED' | 'PAYLOAD_TOO_LARGE';

export class ApiError extends GraphQLError {
  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
    super(message, { extensions: { code, ...extensions } });
  }
}

export const unauthenticated = (message = 'Authentication required.') => new ApiError('UNAUTHENTICATED', message);
/** A wrong password given while the token is valid: UNAUTHENTICATED as the contract lists, with the field, so a client can tell it from a refused token. */
export const wrongPassword = (field: string) => new ApiError('UNAUTHENTICATED', 'The password is wrong.', { field });
export const forbidden = (message: string) => new ApiError('FORBIDDEN', message);
export const notFound = (what: string) => new ApiError('NOT_FOUND', `${what} not found.`);
export const conflict = (message: string) => new ApiError('CONFLICT', message);
export const badUserInput = (field: string, message: string) => new ApiError('BAD_USER_INPUT', message, { field });
export const payloadTooLarge = (message: string, maxBytes: number) =>
  new ApiError('PAYLOAD_TOO_LARGE', message, { maxBytes });
