// Configuration only: plugins, scalars and context. Types live in one module
// per domain next to this file.
import SchemaBuilder from '@pothos/core';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin, { type AuthFailure, AuthScopeFailureType } from '@pothos/plugin-scope-auth';
import ValidationPlugin from '@pothos/plugin-validation';
import { GraphQLError, Kind } from 'graphql';
import type { Context } from '../context.js';
import { badUserInput, notFound, unauthenticated } from '../errors.js';

export const builder = new SchemaBuilder<{
  Context: Context;
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
  AuthScopes: {
    authenticated: boolean;
    /** The caller is a member of this conversation (by id) now. */
    conversationMember: number;
  };
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    /** The token of a staged upload (attachments/multipart.ts). */
    File: { Input: string; Output: never };
    ID: { Input: string; Output: string | number };
  };
}>({
  plugins: [ScopeAuthPlugin, RelayPlugin, ValidationPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authScopes: (context) => ({
      authenticated: context.viewer !== null,
      conversationMember: (conversationId) => context.loaders.isMember.load(conversationId),
    }),
    // A conversation the caller may not see is NOT_FOUND, as one that does not exist, so membership reveals nothing.
    unauthorizedError: (_parent, _context, _info, result) =>
      failedScopes(result.failure).includes('conversationMember') ? notFound('Conversation') : unauthenticated(),
    // Checked when a subscription starts, not only when its events resolve: `subscribe`
    // may then rely on a viewer, over SSE as over an authenticated WebSocket (issue #10).
    authorizeOnSubscribe: true,
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    nodeQueryOptions: false,
    nodesQueryOptions: false,
  },
  validation: {
    validationError: (result) => {
      const issue = result.issues[0]!;
      const field = [...(issue.path ?? [])]
        .map((segment) => (typeof segment === 'object' ? segment.key : segment))
        .filter((segment) => typeof segment === 'string')
        .at(-1);
      return badUserInput(String(field ?? 'input'), issue.message);
    },
  },
});

builder.scalarType('DateTime', {
  description: 'An instant in UTC, serialized as an ISO-8601 string such as 2026-11-28T09:15:00.000Z.',
  serialize: (value) => value.toISOString(),
  parseValue: (value) => parseDateTime(value),
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : null),
});

/** The scopes a failed check names. */
function failedScopes(failure: AuthFailure): string[] {
  if (failure.kind === AuthScopeFailureType.AuthScope) return [failure.scope];
  if (failure.kind === AuthScopeFailureType.AnyAuthScopes || failure.kind === AuthScopeFailureType.AllAuthScopes) {
    return failure.failures.flatMap(failedScopes);
  }
  return [];
}

function parseDateTime(value: unknown): Date {
  const date = typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) throw new GraphQLError('DateTime must be an ISO-8601 string.');
  return date;
}

builder.queryType({});
builder.mutationType({});
// No subscription serves a caller without a valid token, including one added without its own authScopes.
builder.subscriptionType({ authScopes: { authenticated: true } });
