// GET /attachments/:id/(file|thumbnail)?v&e&s: the signed download URL. The
// signature names the viewer; whether that viewer may see the file is checked
// again at every request (a member now, the message not deleted).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import parseRange from 'range-parser';
import type { DataSource } from 'typeorm';
import { downloadableAttachment } from '../db/attachments.js';
import type { Logger } from '../logger.js';
import type { AttachmentService } from './service.js';
import { DOWNLOAD_PATH } from './signing.js';

/** RFC 6266 / 8187: an ASCII fallback and the exact UTF-8 name. */
function contentDisposition(type: 'inline' | 'attachment', filename: string): string {
  const fallback = filename.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const encoded = encodeURIComponent(filename).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${type}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

/** Headers on every answer: nothing served here runs as a page, or is sniffed into something that does. */
const SAFE_HEADERS = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
  'referrer-policy': 'no-referrer', // the URL carries a signature
  'cross-origin-resource-policy': 'same-site',
};

function refuse(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { ...SAFE_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end(message);
}

/** Answers a download request; false for any other path. */
export function serveAttachment(
  req: IncomingMessage,
  res: ServerResponse,
  dataSource: DataSource,
  attachments: AttachmentService,
  logger: Logger,
): boolean {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (!url.pathname.startsWith(`${DOWNLOAD_PATH}/`)) return false;
  void answer(req, res, url, dataSource, attachments).catch((error: unknown) => {
    logger.error({ err: error }, 'attachment download failed');
    if (!res.headersSent) refuse(res, 500, 'The file could not be read.');
    else res.destroy();
  });
  return true;
}

async function answer(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  dataSource: DataSource,
  attachments: AttachmentService,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'Method not allowed.');
  const signed = attachments.signer.verify(url.pathname, url.searchParams);
  if (signed === 'invalid') return refuse(res, 403, 'This link is not valid.');
  if (signed === 'expired') return refuse(res, 403, 'This link has expired: reload the conversation.');
  const attachment = await downloadableAttachment(dataSource, signed.attachmentId, signed.viewerId);
  const thumbnail = signed.variant === 'thumbnail';
  if (!attachment || (thumbnail && !attachment.thumbnailKey)) return refuse(res, 404, 'Not found.');

  const key = thumbnail ? attachment.thumbnailKey! : attachment.storageKey;
  const size = thumbnail ? attachment.thumbnailByteSize! : attachment.byteSize;
  const isImage = attachment.kind === 'IMAGE';
  // The stored object never changes under its key: the key is a strong validator.
  const etag = `"${key.replace('/', '-')}"`;
  const headers: Record<string, string> = {
    ...SAFE_HEADERS,
    'content-type': thumbnail ? 'image/webp' : isImage ? attachment.contentType : attachment.contentType,
    'content-disposition': contentDisposition(isImage ? 'inline' : 'attachment', attachment.filename),
    'cache-control': `private, max-age=${attachments.signer.secondsLeft(signed)}`,
    etag,
    'last-modified': attachment.createdAt.toUTCString(),
    'accept-ranges': 'bytes',
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers).end();
    return;
  }
  const rangeHeader = req.headers.range;
  const ranges = rangeHeader ? parseRange(size, rangeHeader, { combine: true }) : null;
  if (ranges === -1) {
    res.writeHead(416, { ...headers, 'content-range': `bytes */${size}` }).end();
    return;
  }
  // One range is served as such; several (rare for media) get the whole file, which HTTP allows.
  const range = Array.isArray(ranges) && ranges.type === 'bytes' && ranges.length === 1 ? ranges[0]! : null;
  const body = await attachments.storage.read(key, range ?? undefined);
  if (!body) return refuse(res, 404, 'Not found.');
  if (range) {
    headers['content-range'] = `bytes ${range.start}-${range.end}/${size}`;
    headers['content-length'] = String(range.end - range.start + 1);
  } else headers['content-length'] = String(size);
  res.writeHead(range ? 206 : 200, headers);
  if (req.method === 'HEAD') {
    body.destroy();
    res.end();
    return;
  }
  await pipeline(body, res);
}
