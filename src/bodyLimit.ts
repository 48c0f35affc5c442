// Request bodies: up to MAX_BODY_BYTES reach Yoga, larger ones get a 413 the
// client can read.
//
// A 413 sent before the body is read, on a connection then closed, reaches a
// client still sending as a reset (EPIPE, "fetch failed"), not as an answer.
// So a body over the limit is read and discarded, up to MAX_DRAINED_BYTES,
// before the answer; past that the answer is sent and the connection closed.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { payloadTooLarge } from './errors.js';

/** Largest request body accepted. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Of a body over the limit, how much is read and discarded so the client can read the 413; past it the connection is closed. */
export const MAX_DRAINED_BYTES = 4 * 1024 * 1024;

const TOO_LARGE = JSON.stringify({
  errors: [payloadTooLarge(`Request bodies are limited to ${MAX_BODY_BYTES} bytes.`, MAX_BODY_BYTES)],
});

/**
 * Calls `accept` once the request may go to Yoga: at once when its
 * Content-Length is within the limit, or, for a body of unknown length
 * (chunked), once it was read within the limit and set as `req.body`, where
 * Yoga's Node adapter takes a body already read. Otherwise answers 413.
 */
export function limitRequestBody(req: IncomingMessage, res: ServerResponse, accept: () => void): void {
  const length = req.headers['content-length'];
  if (length !== undefined) {
    if (Number(length) <= MAX_BODY_BYTES) return accept();
    return refuseTooLarge(req, res, 0, Number(length));
  }
  // HTTP/1.1: without Content-Length and Transfer-Encoding there is no body.
  if (req.headers['transfer-encoding'] === undefined) return accept();
  const chunks: Buffer[] = [];
  let size = 0;
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) return void chunks.push(chunk);
    req.off('data', onData).off('end', onEnd);
    chunks.length = 0;
    refuseTooLarge(req, res, size, Infinity);
  };
  const onEnd = () => {
    (req as IncomingMessage & { body?: Buffer }).body = Buffer.concat(chunks);
    accept();
  };
  req.on('error', ignore).on('data', onData).on('end', onEnd);
}

/** Answers 413 after discarding the rest of the body (`read` bytes of it are gone already), or at once if it is declared too large to drain. */
function refuseTooLarge(req: IncomingMessage, res: ServerResponse, read: number, declared: number): void {
  const answer = () => {
    if (res.headersSent) return;
    // Closed afterwards: a client past MAX_DRAINED_BYTES is still sending.
    res.writeHead(413, { 'content-type': 'application/json', connection: 'close' }).end(TOO_LARGE);
  };
  if (declared > MAX_DRAINED_BYTES) return answer();
  let drained = read;
  req.on('error', ignore);
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > MAX_DRAINED_BYTES) answer();
  });
  req.on('end', answer);
}

const ignore = () => undefined;
