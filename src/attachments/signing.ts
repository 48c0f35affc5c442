// Signed download URLs: an <img> or <a> cannot send an Authorization header,
// so the URL itself says who may fetch what until when, under an HMAC the
// server alone can make. The download still checks, at each request, that this
// viewer may see the message now (download.ts): a signature only proves who
// asked, never that they still may.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type Variant = 'file' | 'thumbnail';

export type SignedRequest = { attachmentId: number; variant: Variant; viewerId: number; expiresAt: number };

export const DOWNLOAD_PATH = '/attachments';

export class UrlSigner {
  private readonly key: Buffer;

  /**
   * `ttlSeconds` is the least a URL works; expiry is rounded up to a step of
   * at most 5 minutes so the same URL (and the browser's cache of it) is
   * handed out for a while instead of a new one on every query.
   */
  constructor(
    secret: string,
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {
    // A key of its own, so a URL signature can never stand in for a token's.
    this.key = createHmac('sha256', secret).update('attachment download URLs').digest();
  }

  private signature(attachmentId: number, variant: Variant, viewerId: number, expiresAt: number): Buffer {
    return createHmac('sha256', this.key).update(`${attachmentId}:${variant}:${viewerId}:${expiresAt}`).digest();
  }

  /** A path relative to the server's origin. */
  url(attachmentId: number, variant: Variant, viewerId: number): string {
    const step = Math.min(300, Math.max(1, Math.floor(this.ttlSeconds / 6)));
    const expiresAt = Math.ceil((Math.floor(this.now() / 1000) + this.ttlSeconds) / step) * step;
    const signature = this.signature(attachmentId, variant, viewerId, expiresAt).toString('base64url');
    return `${DOWNLOAD_PATH}/${attachmentId}/${variant}?v=${viewerId}&e=${expiresAt}&s=${signature}`;
  }

  /** The request a download URL stands for, or why it is refused. */
  verify(pathname: string, query: URLSearchParams): SignedRequest | 'invalid' | 'expired' {
    const match = /^\/attachments\/([1-9]\d{0,15})\/(file|thumbnail)$/.exec(pathname);
    const viewer = query.get('v') ?? '';
    const expires = query.get('e') ?? '';
    const given = Buffer.from(query.get('s') ?? '', 'base64url');
    if (!match || !/^[1-9]\d{0,15}$/.test(viewer) || !/^\d{1,12}$/.test(expires)) return 'invalid';
    const request: SignedRequest = {
      attachmentId: Number(match[1]),
      variant: match[2] as Variant,
      viewerId: Number(viewer),
      expiresAt: Number(expires),
    };
    const expected = this.signature(request.attachmentId, request.variant, request.viewerId, request.expiresAt);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
    if (request.expiresAt * 1000 <= this.now()) return 'expired';
    return request;
  }

  /** Seconds the URL still works, for Cache-Control. */
  secondsLeft(request: SignedRequest): number {
    return Math.max(0, request.expiresAt - Math.floor(this.now() / 1000));
  }
}
