// The server side of the graphql-transport-ws protocol, one Connection per
// socket: ConnectionInit (once, within its deadline), Ping/Pong, Subscribe
// and Complete, each operation's results as Next/Error/Complete frames.
//
// Why not graphql-ws's own server (makeServer/useServer)? It runs every
// result of every subscriber through its per-subscription loop, `onNext`
// hook, message validation and JSON.stringify, and awaits each send: for one
// event to 1,000 sockets that is 1,000 serializations of one shared result,
// most of a delivery's cost in the profiles (docs/benchmarks.md). It offers
// no way to hand it a frame serialized once. So the protocol's server side is
// owned here, built on graphql-ws's exported primitives (MessageType,
// CloseCode, parseMessage and its validation, GRAPHQL_TRANSPORT_WS_PROTOCOL)
// and keeping its behaviour: the same close codes and reasons (4400 invalid
// frame, 4401 Subscribe before ack, 4403 refused, 4406 subprotocol, 4408 late
// ConnectionInit, 4409 duplicate id, 4429 second ConnectionInit, 4500
// internal), Pong answering Ping with its payload, Next frames shaped as
// graphql-ws shapes them, no Complete after a client's own Complete.
// tests/live.test.ts checks these on raw sockets, and tests/websocket.test.ts
// that graphql-ws's client (which GraphiQL uses too) works against it.
//
// A class with shared listeners rather than closures: there is one per
// socket, for the socket's life, and what each keeps is kept 10,000 times.
import { type ExecutionArgs, type ExecutionResult, GraphQLError } from 'graphql';
import { CloseCode, GRAPHQL_TRANSPORT_WS_PROTOCOL, type Message, MessageType, type SubscribePayload } from 'graphql-ws';
import type { RawData, WebSocket } from 'ws';
import { createSocketContext, type Services } from '../context.js';
import type { Logger } from '../logger.js';
import { rootFieldOf } from '../metrics.js';
import { SubscriptionSink, type SubscriptionReader, deliver } from './delivery.js';
import { CONNECTION_ACK_FRAME, completeFrame, errorFrame, parseClientFrame, pongFrame } from './frames.js';
import { CONNECTION_INIT_TIMEOUT_MS, refuseOperation } from './limits.js';
import { type PreparedOperation, type Yoga, inStartTurn, prepareOperation, runPrepared } from './operations.js';
import {
  AuthenticationUnavailableError,
  expiryRenewer,
  type SocketSession,
  type SocketSessions,
  slowConsumerCloser,
} from './session.js';

/** What every connection of one server shares. */
export type ProtocolServer = {
  yoga: Yoga;
  services: Services;
  sessions: SocketSessions;
  logger: Logger;
};

/** A running operation: its stream once a subscription has started (envelop's, or its pushed results), null until then (and for single results). */
type Running = { return?(): Promise<unknown> } | null;

const connections = new WeakMap<WebSocket, Connection>();
let socketCount = 0;

/** What graphql-ws does when ConnectionInit is late. */
function closeInitTimedOut(socket: WebSocket): void {
  socket.close(CloseCode.ConnectionInitialisationTimeout, 'Connection initialisation timeout');
}

function received(this: WebSocket, data: RawData): void {
  connections.get(this)?.receive(String(data));
}

function closed(this: WebSocket): void {
  connections.get(this)?.close();
}

/** Serves graphql-transport-ws on an open `ws` socket. */
export function serveConnection(server: ProtocolServer, socket: WebSocket, clientIp: string): void {
  const connection = new Connection(server, socket, clientIp);
  connections.set(socket, connection);
  socket.on('close', closed);
  if (socket.protocol !== GRAPHQL_TRANSPORT_WS_PROTOCOL) {
    socket.close(CloseCode.SubprotocolNotAcceptable, 'Subprotocol not acceptable');
    return;
  }
  connection.timer = setTimeout(closeInitTimedOut, CONNECTION_INIT_TIMEOUT_MS, socket);
  socket.on('message', received);
}

class Connection implements SocketSession, SubscriptionReader {
  /** Names this socket's subscribe-rate bucket: a number unique in this process. */
  private readonly socketId = ++socketCount;
  private initReceived = false;
  private acknowledged = false;
  /** Operations running on this socket, by the client's id. */
  private readonly operations = new Map<string, Running>();
  viewerId: number | undefined = undefined;
  sessionId: string | undefined = undefined;
  timer: NodeJS.Timeout | undefined = undefined;

  constructor(
    private readonly server: ProtocolServer,
    readonly socket: WebSocket,
    private readonly clientIp: string,
  ) {}

  receive(data: string): void {
    this.handle(data).catch((error: unknown) => this.fail(error));
  }

  /** Something failed that no frame can answer: the socket is closed with 4500. */
  private fail(error: unknown): void {
    if (!(error instanceof AuthenticationUnavailableError)) {
      this.server.logger.error({ err: error }, 'websocket message handling failed');
    }
    // Close reasons never carry internals.
    this.socket.close(CloseCode.InternalServerError, 'Internal server error');
  }

  private async handle(data: string): Promise<void> {
    const message = parseClientFrame(data);
    if (!message) return this.socket.close(CloseCode.BadRequest, 'Invalid message received');
    switch (message.type) {
      case MessageType.ConnectionInit:
        return this.connectionInit(message.payload);
      case MessageType.Ping:
        return this.send(pongFrame(message.payload));
      case MessageType.Pong:
        return;
      case MessageType.Subscribe:
        return this.subscribe(message.id, message.payload);
      case MessageType.Complete:
        return this.complete(message.id);
      default:
        // parseClientFrame lets through only the types above.
        throw new Error(`Unexpected message of type ${(message as Message).type} received`);
    }
  }

  private send(frame: string): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(frame);
  }

  private async connectionInit(payload: Record<string, unknown> | undefined): Promise<void> {
    if (this.initReceived) {
      return this.socket.close(CloseCode.TooManyInitialisationRequests, 'Too many initialisation requests');
    }
    this.initReceived = true;
    if (!(await this.server.sessions.authenticate(this, payload))) {
      return this.socket.close(CloseCode.Forbidden, 'Forbidden');
    }
    this.acknowledged = true;
    this.send(CONNECTION_ACK_FRAME);
  }

  /**
   * Subscribe: the frame is checked against the socket's state and limits at
   * once, and the operation starts in its turn (operations.ts inStartTurn).
   */
  private subscribe(id: string, payload: SubscribePayload): Promise<void> | void {
    if (!this.acknowledged) return this.socket.close(CloseCode.Unauthorized, 'Unauthorized');
    const { operations } = this;
    if (operations.has(id)) {
      return this.socket.close(CloseCode.SubscriberAlreadyExists, `Subscriber for ${id} already exists`);
    }
    const refused = refuseOperation(this.server.services, this.socketId, operations.size + 1);
    if (refused) return this.send(errorFrame(id, refused));
    // Marks this start: the client may complete it, and reuse its id, while it waits or starts.
    const starting: Running = {};
    operations.set(id, starting);
    return inStartTurn((withinLimit) => this.start(id, starting, payload, withinLimit));
  }

  /**
   * Starts an operation and returns: a subscription's stream then runs on
   * its own (stream below), so nothing of the Subscribe frame (its text, its
   * payload) stays referenced for as long as the subscription runs.
   */
  private async start(id: string, starting: Running, payload: SubscribePayload, withinLimit: boolean): Promise<void> {
    const { operations } = this;
    const current = () => operations.get(id) === starting;
    if (!current()) return; // completed by the client while it waited its turn
    const sink = new SubscriptionSink(this.socket, id);
    let started: {
      results: AsyncIterableIterator<ExecutionResult>;
      operation: string;
      args: ExecutionArgs;
      run: (args: ExecutionArgs) => unknown;
    } | null = null;
    try {
      const prepared = await prepareOperation(
        this.server.yoga,
        payload,
        createSocketContext(this.server.services, {
          viewerId: this.viewerId!,
          sessionId: this.sessionId!,
          clientIp: this.clientIp,
          disconnectSlowConsumer: slowConsumerCloser(this.socket),
          renewSocketExpiry: expiryRenewer(this),
          resultSink: sink,
        }),
      );
      if (Array.isArray(prepared)) {
        if (current()) this.send(errorFrame(id, prepared));
        return;
      }
      const operation = prepared as PreparedOperation;
      const { args, run } = operation;
      const result = (await runPrepared(operation, withinLimit)) as
        ExecutionResult | AsyncIterableIterator<ExecutionResult>;
      if (!(Symbol.asyncIterator in result)) {
        if (current()) deliver(this.socket, sink.prefix, result);
        if (current()) this.send(completeFrame(id));
      } else if (!current()) {
        // Completed by the client while it started.
        void result.return?.();
      } else {
        // Pushed results are stopped directly: envelop's iterator is not kept (see SubscriptionSink).
        operations.set(id, sink.pushed ?? result);
        started = { results: result, operation: rootFieldOf(args.document, args.operationName), args, run };
      }
    } finally {
      if (!started && current()) operations.delete(id);
    }
    if (started) {
      const { metrics } = this.server.services;
      sink.counter = metrics.deliveriesOf(started.operation);
      metrics.subscriptions.inc({ operation: started.operation });
      sink.run(this, started.results, started.operation, started.args, started.run);
    }
  }

  read(sink: SubscriptionSink): void {
    this.stream(sink).catch((error: unknown) => this.fail(error));
  }

  /**
   * Reads a subscription's results until it ends, the client completes it or
   * the socket closes; then Complete, unless the client completed it or it
   * ended with an error. Most results go to the sink without passing here
   * (realtime/sharedExecution.ts): the sink starts this loop only once the
   * iterator has something (a result with errors, the end), so an idle
   * subscription does not wait on it.
   */
  private async stream(sink: SubscriptionSink): Promise<void> {
    const { id, operation } = sink;
    try {
      const results = await sink.rest();
      while (results) {
        const step = await results.next();
        if (step.done) break;
        // The socket is closing: end the stream now (which stops a replay)
        // rather than when the close completes, which waits for every frame
        // queued before it.
        if (!sink.push(step.value)) {
          await results.return?.();
          break;
        }
      }
    } catch (error) {
      const original = error instanceof Error ? error : new Error(String(error));
      if (this.operations.has(id)) {
        this.send(errorFrame(id, [new GraphQLError(original.message, { originalError: original })]));
      }
      this.operations.delete(id);
    } finally {
      this.server.services.metrics.subscriptions.dec({ operation });
    }
    if (this.operations.has(id)) this.send(completeFrame(id));
    this.operations.delete(id);
  }

  private async complete(id: string): Promise<void> {
    const running = this.operations.get(id);
    this.operations.delete(id);
    await running?.return?.();
  }

  /** The socket closed: every operation is stopped, then the session forgotten. */
  close(): void {
    const running = [...this.operations.values()];
    this.operations.clear();
    Promise.all(running.map((stream) => stream?.return?.()))
      .then(() => this.server.sessions.closed(this))
      .catch((error: unknown) => this.server.logger.error({ err: error }, 'websocket close failed'));
  }
}
