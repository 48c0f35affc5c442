// Operations run as compiled code: graphql-jit turns a parsed document into a
// function specialised to its selection, instead of graphql-js walking the
// selection for every object it resolves. A history page of 50 messages spent
// most of its server time in that walk (docs/benchmarks.md).
//
// Compiled on a document's second run, and kept as long as the document is
// (Yoga's parser cache hands out one DocumentNode per query text, and evicts
// it). Compiling costs several times a validation, so a document is compiled
// only once it runs again (as Mercurius's `jit` option does): an app's few
// documents are compiled at once, while a client sending a new query text
// each time cannot make the server compile for every request; their first
// run is graphql-js's. Two callers share the compiled queries: envelop's
// execute (queries and mutations, over HTTP and sockets, through the plugin
// below), and each subscription event's shared execution
// (realtime/sharedExecution.ts), which runs outside envelop's execute. The
// glue is written here rather than taken from @envelop/graphql-jit because
// that plugin keeps its compiled queries to itself, so the events would
// compile their documents again, and it compiles every document on its
// first run.
//
// graphql-jit's errors are not graphql-js's: they carry `locations` but no
// source positions, and their `extensions` (undefined unless the original
// error had some) cannot be set. Yoga rebuilds every error it serialises from
// its source positions, so the locations would be dropped, and nothing could
// tag an error's code in place (errorCodes.ts). So each of its errors is made
// a graphql-js error again before any other hook sees it, with the same
// message, locations, path, extensions and original error.
import {
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  GraphQLError,
  type SourceLocation,
  execute,
} from 'graphql';
import { type CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';
import type { Plugin } from 'graphql-yoga';

/** A document's operation: run once by graphql-js, then compiled (null where graphql-jit could not compile it: graphql-js runs it then). */
type Compilation = { compiled: CompiledQuery | null } | 'ran once';

/** Per document, by operation name. */
const compilations = new WeakMap<DocumentNode, Map<string, Compilation>>();

/** The operation's compiled query from its second run on; null when graphql-js runs it. */
function compiledQueryOf({ schema, document, operationName }: ExecutionArgs): CompiledQuery | null {
  let byOperation = compilations.get(document);
  if (!byOperation) compilations.set(document, (byOperation = new Map()));
  const key = operationName ?? '';
  const compilation = byOperation.get(key);
  if (compilation === undefined) {
    byOperation.set(key, 'ran once');
    return null;
  }
  if (compilation !== 'ran once') return compilation.compiled;
  const compiled = compileQuery(schema, document, operationName ?? undefined);
  const entry = { compiled: isCompiledQuery(compiled) ? compiled : null };
  byOperation.set(key, entry);
  return entry.compiled;
}

/**
 * What graphql-js's `execute` returns for these arguments, from the compiled
 * query once there is one; a subscription's document runs its selection on
 * `rootValue` as the event, as graphql-js does for each event.
 */
export function executeCompiled(args: ExecutionArgs): ExecutionResult | Promise<ExecutionResult> {
  const compiled = compiledQueryOf(args);
  if (!compiled) return execute(args);
  const result = compiled.query(args.rootValue, args.contextValue, args.variableValues ?? {});
  return result instanceof Promise
    ? result.then((settled) => withGraphQLJsErrors(settled, args.document))
    : withGraphQLJsErrors(result, args.document);
}

/** Queries and mutations run compiled (subscriptions' events do in realtime/sharedExecution.ts). */
export function useCompiledExecution(): Plugin {
  return {
    onExecute({ setExecuteFn }) {
      setExecuteFn(executeCompiled);
    },
  };
}

/** The result with every graphql-jit error made a graphql-js one; the same object when there is none. */
function withGraphQLJsErrors(result: ExecutionResult, document: DocumentNode): ExecutionResult {
  if (!result.errors?.some(isCompiledQueryError)) return result;
  return { ...result, errors: result.errors.map((error) => asGraphQLJsError(error, document)) };
}

/** graphql-js's constructor gives every error its own `nodes` (undefined when there are none); graphql-jit's gives none. */
function isCompiledQueryError(error: GraphQLError): boolean {
  return !Object.hasOwn(error, 'nodes');
}

function asGraphQLJsError(error: GraphQLError, document: DocumentNode): GraphQLError {
  if (!isCompiledQueryError(error)) return error;
  const source = document.loc?.source;
  return new GraphQLError(error.message, {
    source,
    positions: source && error.locations?.map((location) => positionOf(source.body, location)),
    path: error.path,
    originalError: error.originalError,
    extensions: error.extensions,
  });
}

/** The offset in `body` of a line and column, counting lines as GraphQL does (\r\n, \n or \r ends one). */
function positionOf(body: string, { line, column }: SourceLocation): number {
  const lineEnd = /\r\n|[\n\r]/g;
  let lineStart = 0;
  for (let current = 1; current < line; current++) {
    if (!lineEnd.exec(body)) break;
    lineStart = lineEnd.lastIndex;
  }
  return lineStart + column - 1;
}
