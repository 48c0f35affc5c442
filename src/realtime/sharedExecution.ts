// Execute once, deliver to many.
//
// graphql-js resolves a subscription's selection once per event per
// subscriber: in a group of 1,000 that is 1,000 identical executions of one
// message. This plugin makes subscribers share them. Subscribers whose
// operations are the same parsed document (Yoga's parser cache hands out one
// DocumentNode per query text) with the same values for the variables the
// selection uses share one execution of each event the feed hands to all of
// them as one object; graphql-ws then only serializes and sends.
//
// What a result may depend on, and how each is covered:
// - the event: the cache hangs off the event object, so replayed events
//   (loaded per subscriber) are never shared, and it is freed with the event;
// - the document and the selection's variables: part of the key. Variables
//   only the subscription field's own arguments use are left out: they chose
//   the stream (conversationId, after), and a subscription field's `resolve`
//   maps an event to its value without reading them;
// - the viewer: the execution runs on a context whose `viewer.id` notes every
//   read, as do the viewer-scoped loaders (db/loaders.ts). A result computed
//   without reading it is everyone's; one that read it (reactedByMe,
//   unreadCount, …) is that viewer's only, and each other viewer runs its own.
//   The rule every resolver under a subscription must keep, then: whatever
//   depends on the viewer reads `context.viewer.id` (or a viewer-scoped
//   loader) during the execution. A viewer id copied earlier (at subscribe
//   time, into the event, into a closure or another context field) would
//   hand one viewer's answer to all. tests/sharedExecution.test.ts checks
//   every field a subscription payload reaches against each viewer's own
//   execution.
// Every execution gets a fresh context (fresh loaders), so each event is
// resolved from current data.
//
// Delivery without an iterator per subscriber. A subscriber whose context
// carries a `resultSink` (a WebSocket subscription) and whose stream is an
// EventQueue takes each event as the feed pushes it (EventQueue.consumeWith)
// and hands the result straight to the sink: synchronously, in the feed's own
// loop, once the shared execution is done, instead of through one promise per
// layer of async iterators (queue, this map, envelop's hooks, the socket's
// loop) per subscriber per event. Only results without errors go that way:
// the one envelop hook that acts on each result here (Yoga's error masking)
// changes only errors. The first result with errors, and every one after it
// (so the order holds), goes through the returned iterator as before, where
// envelop's hooks see it. The iterator still carries the stream's end and its
// failure (overflow, a replay's error) for the same reason.
//
// Envelop's chain of iterators around a stream keeps about 2.5 KB per
// subscription (its hooks' closures and arrays, the context), for the
// subscription's life, though a pushed subscription needs it only for such
// results and for a failure. So the subscriber may let it go and, when the
// sink is told there is something to read (pull), subscribe again with the
// same arguments and sink: the subscribe function then hands envelop the
// subscription's running results (no new stream), and envelop wraps them in
// a fresh chain of its hooks.
//
// Hand-written because no envelop or Yoga plugin shares executions between
// subscribers; it swaps only the subscribe function, so every other plugin's
// hooks (error masking, codes) still see each subscriber's results.
import { mapAsyncIterator } from '@graphql-tools/utils';
import {
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  Kind,
  type OperationDefinitionNode,
  createSourceEventStream,
  getOperationAST,
  visit,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { executeCompiled } from '../compiledExecution.js';
import { EventQueue, type QueueConsumer } from './eventQueue.js';

type Viewer = { readonly id: number };
type ViewerContext = { viewer: Viewer | null; resultSink?: ResultSink };

/** A subscription's results as they are pushed to its sink. */
export type PushedResults = {
  /** The subscriber is ready for results: they flow from here. */
  start(): void;
  /** Stops the subscription (the client completed it, the socket closed). */
  return(): Promise<unknown>;
  /** It ended without a failure and nothing is left to read: no need to subscribe again to learn that. */
  endedPlainly(): boolean;
};

/** Where a subscriber's results go without an iterator (see above). */
export type ResultSink = {
  /** Sends one result (it has no errors); false once nothing more can be sent: the subscription ends then. */
  push(result: ExecutionResult): boolean;
  /**
   * The results will come through push, once the subscriber calls
   * `results.start()`; the returned iterator then has something only after
   * `pull()` (a result with errors, the end, the failure), so the subscriber
   * need not wait on it meanwhile: an idle subscription holds no pending
   * promise through envelop's chain of iterators.
   */
  sunk(results: PushedResults): void;
  pull(): void;
};

export type SharedExecutionOptions<C extends ViewerContext> = {
  /**
   * The context of one execution: the subscriber's, with `viewer` replaced by
   * one that notes reads and fresh per-execution state (loaders) bound to it.
   */
  executionContext(subscriberContext: C, viewer: Viewer | null): C;
  /** Called with an execution's context once its result is made: what it cached may go. */
  releaseExecutionContext?(executionContext: C): void;
};

/** An execution several subscribers wait for; `done` once it finished, so later ones take it without waiting a turn. */
type SharedExecution = { running: Promise<Execution>; done?: Execution };
/** One event's executions, by share key (and by share key and viewer for viewer-specific ones). */
type Executions = Map<string, SharedExecution>;

type Execution = { result: ExecutionResult; ranFor: number | undefined; readViewer: boolean };

/** Per event object: its executions, by share key, and by share key and viewer for viewer-specific ones. */
const executionsByEvent = new WeakMap<object, Executions>();
/** A small number per parsed document, for keys. */
const documentIds = new WeakMap<DocumentNode, number>();
/** Per document and operation: the variables its selection reads (not the subscription field's arguments). */
const selectionVariablesByDocument = new WeakMap<DocumentNode, Map<string, string[]>>();
let nextDocumentId = 1;

export function useSharedSubscriptionExecution<C extends ViewerContext>(options: SharedExecutionOptions<C>): Plugin<C> {
  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(async (args) => {
        const sink = (args.contextValue as C).resultSink;
        const running = sink && pushedTo.get(sink);
        if (running) return running; // subscribed again to read what is left (see above)
        const source = await createSourceEventStream(args);
        if (!(Symbol.asyncIterator in source)) return source; // errors: the stream did not start
        const subscription: Subscription<C> = {
          args: args as ExecutionArgs & { contextValue: C },
          options,
          shareKey: shareKeyOf(args),
          viewerSpecific: false,
        };
        if (sink && source instanceof EventQueue) return new SunkResults(source, subscription, sink);
        return mapAsyncIterator(source, (event: unknown) => executeEvent(event, subscription));
      });
    },
  };
}

type Subscription<C extends ViewerContext> = {
  args: ExecutionArgs & { contextValue: C };
  options: SharedExecutionOptions<C>;
  shareKey: string | null;
  /** The last event's shared result read the viewer: run this subscriber's own execution straight away. */
  viewerSpecific: boolean;
};

/**
 * The subscriber's result for one event; synchronous when the shared execution
 * has finished already. Runs once per subscriber per event, so it allocates
 * nothing on that path.
 */
function executeEvent<C extends ViewerContext>(
  event: unknown,
  subscription: Subscription<C>,
): ExecutionResult | Promise<ExecutionResult> {
  const { shareKey } = subscription;
  if (shareKey === null || typeof event !== 'object' || event === null) return run(event, subscription).then(resultOf);
  let executions = executionsByEvent.get(event);
  if (!executions) executionsByEvent.set(event, (executions = new Map()));
  if (subscription.viewerSpecific) return ownResult(executions, event, subscription);
  const shared = once(executions, shareKey, event, subscription);
  return shared.done
    ? sharedResult(shared.done, executions, event, subscription)
    : shared.running.then((execution) => sharedResult(execution, executions, event, subscription));
}

const DONE: IteratorResult<ExecutionResult> = { value: undefined, done: true };

/** Each sink's running results, for a subscriber that subscribes again to read them (see above). */
const pushedTo = new WeakMap<ResultSink, SunkResults<ViewerContext>>();

/**
 * A subscription whose results go to its sink as its events arrive; as an
 * iterator it yields only what must pass envelop's hooks (results with
 * errors, and everything after the first), then the end or the failure, and
 * tells the sink (pull) when it has one.
 */
class SunkResults<C extends ViewerContext>
  implements QueueConsumer<unknown>, AsyncIterableIterator<ExecutionResult>, PushedResults
{
  /** Results still go to the sink; false once one had errors: from then on, next() reads the queue. */
  private sinking = true;
  /** Results flow once the subscriber first asks (as they would through an iterator): until then it is not serving them. */
  private started = false;
  /** A result for next() to hand out, taken before anyone asked. */
  private held: ExecutionResult | null = null;
  private ended: { failure: Error | null } | null = null;
  private resolveWaiting: ((result: IteratorResult<ExecutionResult>) => void) | null = null;
  private rejectWaiting: ((error: Error) => void) | null = null;

  constructor(
    private readonly source: EventQueue<unknown>,
    private readonly subscription: Subscription<C>,
    private readonly sink: ResultSink,
  ) {
    pushedTo.set(sink, this as SunkResults<ViewerContext>);
    sink.sunk(this);
  }

  endedPlainly(): boolean {
    return this.sinking && this.ended !== null && this.ended.failure === null;
  }

  /** The subscriber is ready for results: from here they flow as the queue takes events. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.source.consumeWith(this);
  }

  push(event: unknown): void | Promise<void> {
    const result = executeEvent(event, this.subscription);
    if (!(result instanceof Promise)) return this.take(result);
    return result.then(
      (settled) => this.take(settled),
      (error: unknown) => this.end(error instanceof Error ? error : new Error(String(error)), true),
    );
  }

  end(failure: Error | null, stopSource = false): void {
    if (this.ended || !this.sinking) return;
    this.ended = { failure };
    if (stopSource) void this.source.return();
    const { resolveWaiting, rejectWaiting } = this;
    this.resolveWaiting = this.rejectWaiting = null;
    if (failure) rejectWaiting?.(failure);
    else resolveWaiting?.(DONE);
    if (!resolveWaiting) this.sink.pull();
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    if (this.held) {
      const value = this.held;
      this.held = null;
      return Promise.resolve({ value, done: false });
    }
    if (!this.sinking) {
      return this.source
        .next()
        .then(async (step) =>
          step.done ? DONE : { value: await executeEvent(step.value, this.subscription), done: false },
        );
    }
    if (this.ended) return this.ended.failure ? Promise.reject(this.ended.failure) : Promise.resolve(DONE);
    const waiting = new Promise<IteratorResult<ExecutionResult>>((resolve, reject) => {
      this.resolveWaiting = resolve;
      this.rejectWaiting = reject;
    });
    this.start(); // a subscriber reading before it started: takes what queued meanwhile, which may settle `waiting`
    return waiting;
  }

  return(): Promise<IteratorResult<ExecutionResult>> {
    this.end(null, true);
    return this.source.return().then(() => DONE);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ExecutionResult> {
    return this;
  }

  private take(result: ExecutionResult): void {
    if (this.ended) return;
    if (this.sinking && !result.errors) {
      if (!this.sink.push(result)) this.end(null, true);
      return;
    }
    // Through the iterator from here on (see the opening comment).
    this.sinking = false;
    this.source.consumeWith(null);
    const resolve = this.resolveWaiting;
    this.resolveWaiting = this.rejectWaiting = null;
    if (resolve) resolve({ value: result, done: false });
    else {
      this.held = result;
      this.sink.pull();
    }
  }
}

/** The shared result, unless it read another viewer: then this subscriber's own. */
function sharedResult<C extends ViewerContext>(
  { result, ranFor, readViewer }: Execution,
  executions: Executions,
  event: object,
  subscription: Subscription<C>,
): ExecutionResult | Promise<ExecutionResult> {
  subscription.viewerSpecific = readViewer;
  const mine = !readViewer || ranFor === subscription.args.contextValue.viewer?.id;
  return mine ? result : ownResult(executions, event, subscription);
}

function ownResult<C extends ViewerContext>(
  executions: Executions,
  event: object,
  subscription: Subscription<C>,
): ExecutionResult | Promise<ExecutionResult> {
  const key = `${subscription.shareKey}\u0000${subscription.args.contextValue.viewer?.id}`;
  const own = once(executions, key, event, subscription);
  return own.done ? own.done.result : own.running.then(resultOf);
}

/** The execution under `key`, started by the first subscriber to ask. */
function once<C extends ViewerContext>(
  executions: Executions,
  key: string,
  event: object,
  subscription: Subscription<C>,
): SharedExecution {
  let shared = executions.get(key);
  if (!shared) {
    const running = run(event, subscription);
    const started: SharedExecution = { running };
    void running.then((execution) => (started.done = execution), ignore);
    executions.set(key, (shared = started));
  }
  return shared;
}

const resultOf = ({ result }: Execution) => result;
const ignore = () => undefined;

/**
 * Executes the selection for one event (compiled: compiledExecution.ts) on a
 * fresh execution context, noting whether anything read the viewer's id.
 */
async function run<C extends ViewerContext>(event: unknown, { args, options }: Subscription<C>): Promise<Execution> {
  const context = args.contextValue;
  let readViewer = false;
  const viewer = context.viewer && {
    get id() {
      readViewer = true;
      return context.viewer!.id;
    },
  };
  const contextValue = options.executionContext(context, viewer);
  try {
    const result = await executeCompiled({ ...args, rootValue: event, contextValue });
    return { result, ranFor: context.viewer?.id, readViewer };
  } finally {
    options.releaseExecutionContext?.(contextValue);
  }
}

/** Subscriptions with equal keys get equal results for one event (up to the viewer, see above); null: never share. */
function shareKeyOf({ document, operationName, variableValues }: ExecutionArgs): string | null {
  const operation = getOperationAST(document, operationName);
  if (!operation) return null;
  let documentId = documentIds.get(document);
  if (documentId === undefined) documentIds.set(document, (documentId = nextDocumentId++));
  const values = variableValues ?? {};
  const used = selectionVariables(document, operation).map((name) => values[name] ?? null);
  return `${documentId}\u0000${operationName ?? ''}\u0000${JSON.stringify(used)}`;
}

/** Names of the variables the document reads, except in the arguments of the operation's root fields. */
function selectionVariables(document: DocumentNode, operation: OperationDefinitionNode): string[] {
  let byOperation = selectionVariablesByDocument.get(document);
  if (!byOperation) selectionVariablesByDocument.set(document, (byOperation = new Map()));
  const operationKey = operation.name?.value ?? '';
  const cached = byOperation.get(operationKey);
  if (cached) return cached;
  const rootArguments = new Set(
    operation.selectionSet.selections.flatMap((selection) =>
      selection.kind === Kind.FIELD ? (selection.arguments ?? []) : [],
    ),
  );
  const names = new Set<string>();
  visit(document, {
    VariableDefinition: () => false, // declarations, not reads
    Argument: (node) => (rootArguments.has(node) ? false : undefined),
    Variable: (node) => {
      names.add(node.name.value);
    },
  });
  const sorted = [...names].sort();
  byOperation.set(operationKey, sorted);
  return sorted;
}
