// Uploads: the GraphQL multipart request spec, read here rather than by Yoga.
//
// Why by hand: Yoga reads a multipart body with Request.formData(), and
// @whatwg-node/node-fetch's formData() collects every file part's chunks in
// memory (Body.js pushes each chunk into an array and makes a File of them),
// so eight 20 MiB uploads would hold 160 MiB; its size limit also fails the
// request mid-body, which a client still sending sees as a reset. Here busboy
// parses the body as it arrives and each file part is piped to a staging file
// on disk (backpressure included), so memory stays flat whatever the size; a
// file over the limit is discarded as it streams in and answered with a 413
// the client can read once it has sent its body. The operation then goes to
// Yoga as an ordinary JSON request whose File variables hold tokens that name
// the staged files of this request only (see Context.uploads).
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { MAX_BODY_BYTES } from '../bodyLimit.js';
import { payloadTooLarge } from '../errors.js';

/** The file parts a request may carry (uploadAttachment takes one; aliases may ask for a few). */
export const MAX_FILES_PER_REQUEST = 10;
/** CSRF prevention: a browser sends a custom header only after a CORS preflight. Either name of the contract part. */
const PREFLIGHT_HEADERS = ['graphql-require-preflight', 'apollo-require-preflight', 'x-graphql-yoga-csrf'];

export type StagedUpload =
  | { state: 'stored'; filename: string; path: string; size: number }
  | { state: 'tooLarge'; filename: string }
  /** Not written: the request had no valid token, so the operation will fail before using it. */
  | { state: 'discarded'; filename: string };

/** The staged files of one request, by the token that stands in for each File variable. */
export type StagedUploads = Map<string, StagedUpload>;

const STAGED = Symbol('staged uploads');
type UploadRequest = IncomingMessage & { body?: Buffer; [STAGED]?: StagedUploads };

export const UPLOAD_TOKEN_PREFIX = 'upload:';

export function isMultipartRequest(req: IncomingMessage): boolean {
  return req.method === 'POST' && /^multipart\/form-data\b/i.test(req.headers['content-type'] ?? '');
}

/** The uploads staged for this request, for the operation's context. */
export function stagedUploads(req: IncomingMessage): StagedUploads | undefined {
  return (req as UploadRequest)[STAGED];
}

type Options = {
  maxFileBytes: number;
  stagingDir: string;
  /** Whether the request's bearer token is valid: files of requests without one are not written. */
  authenticated: (req: IncomingMessage) => Promise<boolean>;
  /** Hands the request, rewritten to JSON, to Yoga. */
  forward: () => void;
};

function answer(res: ServerResponse, status: number, body: unknown, close = false): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', ...(close ? { connection: 'close' } : {}) });
  res.end(JSON.stringify(body));
}

const badRequest = (message: string) => ({ errors: [{ message, extensions: { code: 'BAD_REQUEST' } }] });

/** Sets `value` at a path such as "variables.file" or "variables.files.0" inside the operations object. */
function setAtPath(target: unknown, path: string, value: string): boolean {
  const segments = path.split('.');
  let node = target as Record<string, unknown> | null;
  for (const segment of segments.slice(0, -1)) {
    const next = node?.[segment];
    if (typeof next !== 'object' || next === null) return false;
    node = next as Record<string, unknown>;
  }
  const last = segments.at(-1)!;
  if (!node || !(last in node) || node[last] !== null) return false; // the spec puts null where a file goes
  node[last] = value;
  return true;
}

export function receiveMultipart(req: IncomingMessage, res: ServerResponse, options: Options): void {
  const request = req as UploadRequest;
  if (!PREFLIGHT_HEADERS.some((name) => req.headers[name] !== undefined)) {
    req.resume();
    return answer(
      res,
      403,
      badRequest('Uploads need a GraphQL-Require-Preflight or Apollo-Require-Preflight header (CSRF prevention).'),
      true,
    );
  }
  const staged: StagedUploads = new Map();
  const cleanUp = () => {
    for (const upload of staged.values()) if (upload.state === 'stored') void rm(upload.path, { force: true });
  };
  res.once('close', cleanUp);

  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: req.headers,
      preservePath: true, // the name as sent, so one with a path is refused rather than silently cut
      limits: {
        fieldSize: MAX_BODY_BYTES,
        fields: 2,
        files: MAX_FILES_PER_REQUEST,
        fileSize: options.maxFileBytes,
        parts: MAX_FILES_PER_REQUEST + 2,
      },
    });
  } catch {
    req.resume();
    return answer(res, 400, badRequest('The multipart body could not be read.'), true);
  }

  /** Past this much, a client still sending is answered at once and the connection closed. */
  const maxRequestBytes = MAX_FILES_PER_REQUEST * options.maxFileBytes + 2 * MAX_BODY_BYTES;
  const tooLargeBody = {
    errors: [payloadTooLarge(`Files are limited to ${options.maxFileBytes} bytes.`, options.maxFileBytes)],
  };
  let received = 0;
  let failure: { status: number; body: unknown } | null = null;
  const fail = (status: number, body: unknown) => (failure ??= { status, body });
  const authenticated = options.authenticated(req).catch(() => false);
  let operations: unknown = null;
  let map: Record<string, unknown> | null = null;
  const writes: Promise<void>[] = [];

  req.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received > maxRequestBytes) {
      req.unpipe(parser);
      req.resume();
      answer(res, 413, tooLargeBody, true);
    }
  });

  parser.on('field', (name, value, info) => {
    if (info.valueTruncated) return void fail(413, tooLargeBody);
    try {
      if (name === 'operations') operations = JSON.parse(value);
      else if (name === 'map') map = JSON.parse(value) as Record<string, unknown>;
    } catch {
      fail(400, badRequest(`The "${name}" field is not JSON.`));
    }
  });

  parser.on('file', (fieldName, stream, info) => {
    const filename = info.filename ?? '';
    const paths = map?.[fieldName];
    if (operations === null || !Array.isArray(paths) || paths.length === 0) {
      fail(400, badRequest('Multipart uploads need the operations and map fields before the files.'));
      return void stream.resume();
    }
    const token = `${UPLOAD_TOKEN_PREFIX}${randomUUID()}`;
    for (const path of paths) {
      if (typeof path !== 'string' || !setAtPath(operations, path, token)) {
        fail(400, badRequest(`The map names a path that is not a null variable: ${JSON.stringify(path)}.`));
      }
    }
    let tooLarge = false;
    stream.on('limit', () => {
      tooLarge = true;
      staged.set(token, { state: 'tooLarge', filename });
      fail(413, tooLargeBody);
    });
    writes.push(
      authenticated.then(async (valid) => {
        if (!valid || failure) {
          if (!tooLarge) staged.set(token, { state: 'discarded', filename });
          stream.resume();
          return;
        }
        const path = join(options.stagingDir, randomUUID());
        let size = 0;
        stream.on('data', (chunk: Buffer) => (size += chunk.length));
        staged.set(token, { state: 'stored', filename, path, size: 0 });
        await pipeline(stream, createWriteStream(path));
        if (tooLarge) {
          staged.set(token, { state: 'tooLarge', filename });
          await rm(path, { force: true });
        } else staged.set(token, { state: 'stored', filename, path, size });
      }),
    );
  });

  parser.on('filesLimit', () => fail(413, badRequest(`At most ${MAX_FILES_PER_REQUEST} files per request.`)));
  parser.on('error', () => {
    req.unpipe(parser);
    req.resume();
    fail(400, badRequest('The multipart body could not be read.'));
    void Promise.allSettled(writes).then(() => answer(res, failure!.status, failure!.body, true));
  });
  parser.on('close', () => {
    void Promise.allSettled(writes).then((results) => {
      if (results.some((result) => result.status === 'rejected')) fail(400, badRequest('An upload was cut short.'));
      if (failure) return answer(res, failure.status, failure.body);
      if (operations === null || typeof operations !== 'object') {
        return answer(res, 400, badRequest('Multipart uploads need an operations field.'));
      }
      const body = Buffer.from(JSON.stringify(operations));
      request[STAGED] = staged;
      request.body = body; // Yoga's Node adapter takes a body already read
      req.headers['content-type'] = 'application/json';
      req.headers['content-length'] = String(body.length);
      delete req.headers['transfer-encoding'];
      options.forward();
    });
  });
  req.pipe(parser);
}
