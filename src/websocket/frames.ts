// The graphql-transport-ws frames this server reads and writes. Incoming
// frames are parsed and validated by graphql-ws's own parseMessage, so what a
// valid frame is stays graphql-ws's definition; outgoing ones are written here.
//
// A `next` frame is the hot path: one event goes to every subscriber of a
// group, and the shared execution (realtime/sharedExecution.ts) hands all of
// them the same result object. Its JSON is made once per result and kept
// beside it (a WeakMap, freed with the result), encoded to UTF-8 once, and
// each subscriber's frame is that buffer with only its subscription id around
// it: no JSON.stringify, no message validation and no UTF-8 encoding per
// subscriber (graphql-ws's server does all three for each one).
import type { ExecutionResult, GraphQLError } from 'graphql';
import { type Message, MessageType, parseMessage } from 'graphql-ws';

/** Message types only a server sends: a client sending one gets 4400, as if the frame were malformed. */
const SERVER_ONLY_MESSAGES = new Set<unknown>([MessageType.ConnectionAck, MessageType.Next, MessageType.Error]);

/** The client's frame, or null when it is not a valid graphql-transport-ws message a client may send. */
export function parseClientFrame(data: string): Message | null {
  try {
    const message = parseMessage(data);
    return SERVER_ONLY_MESSAGES.has(message.type) ? null : message;
  } catch {
    return null;
  }
}

export const CONNECTION_ACK_FRAME = JSON.stringify({ type: MessageType.ConnectionAck });

export function pongFrame(payload: Record<string, unknown> | undefined): string {
  return JSON.stringify(payload ? { type: MessageType.Pong, payload } : { type: MessageType.Pong });
}

export function completeFrame(id: string): string {
  return JSON.stringify({ id, type: MessageType.Complete });
}

export function errorFrame(id: string, errors: readonly GraphQLError[]): string {
  return JSON.stringify({ id, type: MessageType.Error, payload: errors.map((error) => error.toJSON()) });
}

/** Each result's payload JSON, UTF-8 encoded, made by the first subscriber that sends it. */
const payloads = new WeakMap<ExecutionResult, Buffer>();

/** A result as graphql-ws puts it in a `next` frame: errors last, and only when there are some. */
function payloadOf(result: ExecutionResult): Buffer {
  let payload = payloads.get(result);
  if (payload === undefined) {
    const { errors, ...rest } = result;
    const json = JSON.stringify(errors ? { ...rest, errors: errors.map((error) => error.toJSON()) } : result);
    payloads.set(result, (payload = Buffer.from(json)));
  }
  return payload;
}

/** What goes before a subscription's payload in each of its `next` frames: made once per subscription. */
export function nextFramePrefix(id: string): Buffer {
  return Buffer.from(`{"id":${JSON.stringify(id)},"type":"${MessageType.Next}","payload":`);
}

const NEXT_FRAME_SUFFIX = Buffer.from('}');

/** A `next` frame: the subscription's prefix, the result's shared payload, and the closing brace. */
export function nextFrame(prefix: Buffer, result: ExecutionResult): Buffer {
  const payload = payloadOf(result);
  return Buffer.concat([prefix, payload, NEXT_FRAME_SUFFIX], prefix.length + payload.length + 1);
}
