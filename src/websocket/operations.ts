// From a Subscribe frame to a running operation, through Yoga's envelop
// (parse, validate, context, execute, subscribe), so the plugins and limits
// that guard HTTP guard sockets too (graphql-yoga's examples/graphql-ws does
// the same through graphql-ws's hooks).
import {
  type DocumentNode,
  type ExecutionArgs,
  GraphQLError,
  type GraphQLSchema,
  getOperationAST,
  type OperationTypeNode,
} from 'graphql';
import type { SubscribePayload } from 'graphql-ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';
import { type Context, releaseOperationState } from '../context.js';
import { tagErrorCodes } from '../errorCodes.js';
import { MAX_CONCURRENT_SUBSCRIPTION_STARTS, subscriptionStarts } from '../realtime/startLimit.js';

export type Yoga = YogaServerInstance<Record<string, unknown>, Record<string, unknown>>;

type Run = (args: ExecutionArgs) => unknown;

/** A validated operation, ready to run; `run` is envelop's execute or subscribe, whichever the operation is. */
export type PreparedOperation = {
  args: ExecutionArgs;
  kind: OperationTypeNode;
  run: Run;
};

/** Query texts kept (see SharedQuery), and the longest one kept: at most 1 MB of text in all. */
const MAX_SHARED_QUERY_TEXTS = 256;
const MAX_SHARED_QUERY_LENGTH = 4_096;

/**
 * A query text the sockets send again and again, kept once.
 *
 * `text`: one copy for every subscription that sends it. Clients of one app
 * send the same few, and Yoga's envelop keeps the params, text included, in
 * each subscription's context for as long as it runs.
 *
 * `valid`: its document, once a schema has validated it without error. A
 * socket sends the same few documents over and over (every send is the same
 * sendMessage text). Yoga caches both the parse and the validation result
 * already, but reaching those caches runs every plugin's onParse and
 * onValidate hooks each time: closures, a key joined from the rules' names
 * and copies of the rule list, about 7 KB allocated per operation
 * (docs/benchmarks.md, ninth pass). The result cannot differ: the schema and
 * the plugins' rules are fixed for the process. Only a success is kept, so
 * an invalid document is parsed and validated (and answered) every time.
 */
type SharedQuery = { text: string; valid?: { schema: GraphQLSchema; document: DocumentNode } };
const sharedQueries = new LRUCache<string, SharedQuery>({ max: MAX_SHARED_QUERY_TEXTS });

/** The shared entry of `text`; null for a text too long to keep. */
function sharedQuery(text: string): SharedQuery | null {
  if (text.length > MAX_SHARED_QUERY_LENGTH) return null;
  let shared = sharedQueries.get(text);
  if (!shared) sharedQueries.set(text, (shared = { text }));
  return shared;
}

/**
 * Parses and validates the operation (see SharedQuery) and builds its
 * context. Parse and validation errors, including the operation limits, which
 * throw from inside validation, are returned: they answer this operation only.
 */
export async function prepareOperation(
  yoga: Yoga,
  payload: SubscribePayload,
  context: Context,
): Promise<PreparedOperation | readonly GraphQLError[]> {
  const shared = sharedQuery(payload.query);
  const params = { ...payload, query: shared?.text ?? payload.query };
  // The operation's context (context.ts createSocketContext) is envelop's
  // initial context: its plugins add to it, and app.ts's context factory
  // adds nothing to a context that is whole already.
  const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped(
    Object.assign(context, { params }),
  );
  const document = validDocument(schema, params.query, shared, parse, validate);
  if (!('kind' in document)) return document;
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
  return {
    args,
    kind: operation.operation,
    run: (isSubscription ? subscribeReleasingStartState(subscribe) : execute) as Run,
  };
}

/** The document of `query`, parsed and valid against `schema`, or the errors that answer it. */
function validDocument(
  schema: GraphQLSchema,
  query: string,
  shared: SharedQuery | null,
  parse: (source: string) => DocumentNode,
  validate: (schema: GraphQLSchema, document: DocumentNode) => readonly GraphQLError[],
): DocumentNode | readonly GraphQLError[] {
  if (shared?.valid?.schema === schema) return shared.valid.document;
  let document: DocumentNode;
  try {
    document = parse(query);
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
  if (shared) shared.valid = { schema, document };
  return document;
}

/**
 * Runs `start` (an operation's preparation and start) now, or, while the
 * process's limit on subscription starts is full, in its turn within that
 * limit (`withinLimit`: its subscribe then takes no second turn).
 *
 * Why the turn comes before the preparation: in a reconnect storm thousands
 * of Subscribe frames arrive at once. Prepared first, each waiting start held
 * its params, its context and envelop's functions for that context for as
 * long as it waited: long enough for V8 to move them to the old generation,
 * where they stayed as garbage after the start until the next full GC, about
 * 3.5 KB per socket (docs/benchmarks.md). Waiting first, a start holds only
 * its frame. An operation's kind is known only once it is parsed, so queries
 * and mutations wait their turn too, but only while the limit is full.
 */
export function inStartTurn(start: (withinLimit: boolean) => Promise<void>): Promise<void> {
  const { activeCount, pendingCount } = subscriptionStarts;
  if (activeCount < MAX_CONCURRENT_SUBSCRIPTION_STARTS && pendingCount === 0) return start(false);
  return subscriptionStarts(() => start(true));
}

/** Runs a prepared operation; a subscription's subscribe counts against the limit on starts unless its start holds a turn already. */
export function runPrepared({ args, kind, run }: PreparedOperation, withinLimit: boolean): Promise<unknown> {
  if (kind === 'subscription' && !withinLimit) return subscriptionStarts(async () => run(args));
  return Promise.resolve(run(args));
}

/**
 * Envelop's subscribe. Once the stream has started, what its context
 * cached for the start is not needed again (each event is resolved on a fresh
 * context, with fresh loaders), so it is not kept for the stream's life: its
 * loaders, and Pothos's auth cache (the viewer's scopes, their answers: about
 * 1.5 KB, held by a WeakMap on the context).
 */
function subscribeReleasingStartState(subscribe: Run): Run {
  return async (args) => {
    const stream = await subscribe(args);
    releaseOperationState(args.contextValue as Context);
    return stream;
  };
}
