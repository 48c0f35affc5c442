// Every error a client sees carries extensions.code. Resolvers throw coded
// ApiErrors and Yoga codes parse and validation errors; what is left (a
// variable of the wrong type, an operation name that matches nothing) is
// tagged here, in place, the way Yoga tags its own.
import type { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** Yoga's code for an operation name that matches nothing, which our clients know as BAD_REQUEST. */
const RENAMED_CODES: Record<string, string> = { OPERATION_RESOLUTION_FAILURE: 'BAD_REQUEST' };

export function tagErrorCodes(errors: readonly GraphQLError[] | undefined, fallback = 'BAD_USER_INPUT'): void {
  for (const error of errors ?? []) {
    const extensions = error.extensions as Record<string, unknown>;
    const code = extensions.code as string | undefined;
    extensions.code = code ? (RENAMED_CODES[code] ?? code) : fallback;
  }
}

export function useErrorCodes(): Plugin {
  return {
    onResultProcess({ result }) {
      for (const single of Array.isArray(result) ? result : [result]) {
        if (single && typeof single === 'object' && 'errors' in single) {
          tagErrorCodes(single.errors as readonly GraphQLError[] | undefined);
        }
      }
    },
  };
}
