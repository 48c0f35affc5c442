// From a Subscribe frame to a running operation, through Yoga's envelop
// (parse, validate, context, execute, subscribe), so the plugins and limits
// that guard HTTP guard sockets too (graphql-yoga's examples/graphql-ws does
// the same through graphql-ws's hooks).
import { RequestCache } from '@pothos/plugin-scope-auth';
import { type DocumentNode, type ExecutionArgs, GraphQLError, getOperationAST, type OperationTypeNode } from 'graphql';
import type { SubscribePayload } from 'graphql-ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';
import { type Context, releaseLoaders } from '../context.js';
import { tagErrorCodes } from '../errorCodes.js';
import { subscriptionStarts } from '../realtime/startLimit.js';

export type Yoga = YogaServerInstance<Record<string, unknown>, Record<string, unknown>>;

type Run = (args: ExecutionArgs) => unknown;

/** A validated operation, ready to run; `run` is envelop's execute or subscribe, whichever the operation is. */
export type PreparedOperation = {
  args: ExecutionArgs;
  kind: OperationTypeNode;
  run: Run;
};

/** Query texts kept for sharing (see sharedQueryText), and the longest one kept: at most 1 MB in all. */
const MAX_SHARED_QUERY_TEXTS = 256;
const MAX_SHARED_QUERY_LENGTH = 4_096;
const sharedQueryTexts = new LRUCache<string, string>({ max: MAX_SHARED_QUERY_TEXTS });

/**
 * One copy of a query text for every subscription that sends it: clients of
 * one app send the same few, and Yoga's envelop keeps the params, text
 * included, in each subscription's context for as long as it runs.
 */
function sharedQueryText(text: string): string {
  if (text.length > MAX_SHARED_QUERY_LENGTH) return text;
  const shared = sharedQueryTexts.get(text);
  if (shared !== undefined) return shared;
  sharedQueryTexts.set(text, text);
  return text;
}

/**
 * Parses and validates the operation and builds its context. Parse and
 * validation errors, including the operation limits, which throw from inside
 * validation, are returned: they answer this operation only.
 */
export async function prepareOperation(
  yoga: Yoga,
  payload: SubscribePayload,
  context: Context,
): Promise<PreparedOperation | readonly GraphQLError[]> {
  const params = { ...payload, query: sharedQueryText(payload.query) };
  // The operation's context (context.ts createSocketContext) is envelop's
  // initial context: its plugins add to it, and app.ts's context factory
  // adds nothing to a context that is whole already.
  const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped(
    Object.assign(context, { params }),
  );
  let document: DocumentNode;
  try {
    document = parse(params.query);
  } catch (error) {
    if (!(error instanceof GraphQLError)) throw error;
    tagErrorCodes([error], 'GRAPHQL_PARSE_FAILED');
    return [error];
  }
  try {
    const errors = validate(schema, document);
    if (errors.length > 0) {
      tagErrorCodes(errors, 'GRAPHQL_VALIDATION_FAILED');
      return errors;
    }
  } catch (error) {
    if (!(error instanceof GraphQLError)) throw error;
    tagErrorCodes([error], 'GRAPHQL_VALIDATION_FAILED');
    return [error];
  }
  const operation = getOperationAST(document, params.operationName);
  if (!operation) {
    return [new GraphQLError('No operation of that name in the document.', { extensions: { code: 'BAD_REQUEST' } })];
  }
  const args: ExecutionArgs = {
    schema,
    operationName: params.operationName,
    document,
    variableValues: params.variables,
    contextValue: await contextFactory(),
  };
  const isSubscription = operation.operation === 'subscription';
  return { args, kind: operation.operation, run: (isSubscription ? startSubscription(subscribe) : execute) as Run };
}

/**
 * Envelop's subscribe, counted against the process's limit on starts
 * (realtime/startLimit.ts). Once the stream has started, what its context
 * cached for the start is not needed again (each event is resolved on a fresh
 * context, with fresh loaders), so it is not kept for the stream's life: its
 * loaders, and Pothos's auth cache (the viewer's scopes, their answers: about
 * 1.5 KB, held by a WeakMap on the context).
 */
function startSubscription(subscribe: Run): Run {
  return async (args) => {
    const stream = await subscriptionStarts(async () => subscribe(args));
    releaseLoaders(args.contextValue as Context);
    RequestCache.clearForContext(args.contextValue as object);
    return stream;
  };
}
