// Writing one subscription's results to its socket. Runs once per event per
// subscriber, so it allocates only the frame (frames.ts shares the payload
// between subscribers) and never waits for the write: a turn of the event
// loop per frame was most of a delivery's cost under graphql-ws. A reader
// that falls behind shows in bufferedAmount instead, and is closed (1013; it
// resumes from its cursor).
//
// A subscription's results reach deliver through its SubscriptionSink, which
// the shared execution calls directly as the feed hands out each event
// (realtime/sharedExecution.ts), or, for what must pass envelop's hooks
// first, the subscription's loop in protocol.ts.
import type { Socket } from 'node:net';
import type { ExecutionArgs, ExecutionResult } from 'graphql';
import type { WebSocket } from 'ws';
import { tagErrorCodes } from '../errorCodes.js';
import type { PushedResults, ResultSink } from '../realtime/sharedExecution.js';
import { nextFrame, nextFramePrefix } from './frames.js';
import { CLOSE_SLOW_CONSUMER, MAX_BUFFERED_BYTES, closeSocket } from './limits.js';

/** ws's send options for a text frame whose data is already a Buffer (one object for every send). */
const TEXT_FRAME = { binary: false };

/** The TCP sockets under the WebSockets written to in this turn of the event loop, corked until it ends. */
let corked: Socket[] = [];

function uncorkAll(): void {
  const sockets = corked;
  corked = [];
  for (const socket of sockets) socket.uncork();
}

/**
 * Holds what is written to `socket` until this turn of the event loop ends,
 * then sends it in one write: the events of one group commit reach a
 * subscriber in one system call instead of one each, and the write is most
 * of a delivery's cost (docs/benchmarks.md). ws corks around each frame and
 * uncorks at once; an outer cork keeps the frames buffered. ws exposes no
 * cork of its own, so this reaches its TCP socket (`_socket`, stable in ws 8).
 */
function corkForThisTurn(socket: WebSocket): void {
  const tcp = (socket as unknown as { _socket: Socket | null })._socket;
  if (!tcp || tcp.writableCorked > 0) return; // gone, or corked already in this turn
  tcp.cork();
  if (corked.push(tcp) === 1) setImmediate(uncorkAll);
}

/**
 * Sends `result` as a `next` frame of the subscription whose frames start
 * with `prefix`; false when the socket is closing or was just closed as a
 * slow consumer: the subscription should stop (nothing more can be sent).
 */
export function deliver(socket: WebSocket, prefix: Buffer, result: ExecutionResult): boolean {
  if (socket.readyState !== socket.OPEN) return false;
  // E.g. a variable of the wrong type in a mutation sent over the socket.
  tagErrorCodes(result.errors);
  if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
    closeSocket(socket, CLOSE_SLOW_CONSUMER, 'Slow consumer');
    return false;
  }
  corkForThisTurn(socket);
  socket.send(nextFrame(prefix, result), TEXT_FRAME);
  return true;
}

/** Reads a running subscription's iterator until it ends (protocol.ts). */
export type SubscriptionReader = { read(sink: SubscriptionSink): void };

/**
 * One subscription on a socket: where its results go (the socket, as `next`
 * frames with its id), and how to read what does not come that way (see
 * ResultSink in realtime/sharedExecution.ts). When its results are pushed,
 * envelop's iterator is not kept: `subscribeAgain` makes a fresh one to read,
 * only once there is something to read.
 */
export class SubscriptionSink implements ResultSink {
  /** What goes before the payload in each of its frames (frames.ts). */
  readonly prefix: Buffer;
  /** Counts its deliveries, once the operation is known. */
  counter: { inc(): void } | null = null;
  operation = '';
  /** The shared execution pushes the results; null: they come only through `results`. */
  pushed: PushedResults | null = null;
  /** The results as envelop hands them out, when they are not pushed. */
  private results: AsyncIterator<ExecutionResult> | null = null;
  /** Subscribes again, for a fresh envelop iterator over the pushed results. */
  private subscribeAgain: { args: ExecutionArgs; run: (args: ExecutionArgs) => unknown } | null = null;
  private reader: SubscriptionReader | null = null;
  private reading = false;

  constructor(
    private readonly socket: WebSocket,
    readonly id: string,
  ) {
    this.prefix = nextFramePrefix(id);
  }

  push(result: ExecutionResult): boolean {
    this.counter?.inc();
    return deliver(this.socket, this.prefix, result);
  }

  sunk(results: PushedResults): void {
    this.pushed = results;
  }

  /**
   * Runs the subscription: its results start flowing; `reader` reads its
   * iterator now if they are not pushed, else once there is something in it.
   * `results` is envelop's iterator, kept only if they are not pushed;
   * `args` and `run` made it.
   */
  run(
    reader: SubscriptionReader,
    results: AsyncIterator<ExecutionResult>,
    operation: string,
    args: ExecutionArgs,
    run: (args: ExecutionArgs) => unknown,
  ): void {
    this.reader = reader;
    this.operation = operation;
    if (this.pushed) {
      this.subscribeAgain = { args, run };
      this.pushed.start();
    } else {
      this.results = results;
      this.pull();
    }
  }

  pull(): void {
    if (!this.reader || this.reading) return; // not running yet, or read already
    this.reading = true;
    this.reader.read(this);
  }

  /** What is left to read, through envelop's hooks; null when there is nothing (it ended, plainly). */
  async rest(): Promise<AsyncIterator<ExecutionResult> | null> {
    if (this.results) return this.results;
    if (this.pushed!.endedPlainly()) return null;
    const { args, run } = this.subscribeAgain!;
    return (await run(args)) as AsyncIterator<ExecutionResult>;
  }
}
