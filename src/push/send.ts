// One push over HTTP (RFC 8030): web-push encrypts (RFC 8291 aes128gcm) and
// signs (RFC 8292 VAPID) the request, and fetch sends it. web-push's own
// sendNotification speaks https.request only, so it could not reach a
// plain-http push service on loopback, and it has no timeout of ours.
import webpush from 'web-push';
import type { VapidKeys } from './vapid.js';

/** A push service that has not answered by then is retried later: a slow one must not hold a sending slot. */
export const PUSH_REQUEST_TIMEOUT_MS = 10_000;

export type PushTarget = { endpoint: string; p256dh: string; auth: string };

export type PushOptions = {
  vapidKeys: VapidKeys;
  vapidSubject: string;
  /** Seconds the push service keeps an undelivered push. */
  ttlSeconds: number;
  urgency: 'normal' | 'high';
  /** A newer push with the same topic replaces an undelivered one. */
  topic: string;
};

export type PushOutcome =
  | { kind: 'sent' }
  /** 404/410: the subscription no longer exists. */
  | { kind: 'gone'; status: number }
  /** 429, 5xx or no answer: worth another try, not before retryAfterMs when the service said so. */
  | { kind: 'retry'; status: number | null; retryAfterMs: number | null; reason: string }
  | { kind: 'failed'; status: number | null; reason: string };

export async function sendPush(target: PushTarget, payload: string, options: PushOptions): Promise<PushOutcome> {
  let request: ReturnType<typeof webpush.generateRequestDetails>;
  try {
    request = webpush.generateRequestDetails(
      { endpoint: target.endpoint, keys: { p256dh: target.p256dh, auth: target.auth } },
      payload,
      {
        vapidDetails: { subject: options.vapidSubject, ...options.vapidKeys },
        TTL: options.ttlSeconds,
        urgency: options.urgency,
        topic: options.topic,
        contentEncoding: 'aes128gcm',
      },
    );
  } catch (error) {
    // Keys a browser would never produce: no retry helps.
    return { kind: 'failed', status: null, reason: (error as Error).message };
  }
  const headers = Object.fromEntries(
    Object.entries(request.headers)
      .filter(([name]) => name.toLowerCase() !== 'content-length')
      .map(([name, value]) => [name, String(value)]),
  );
  let response: Response;
  try {
    response = await fetch(request.endpoint, {
      method: request.method,
      headers,
      body: request.body ? new Uint8Array(request.body) : null,
      redirect: 'manual',
      signal: AbortSignal.timeout(PUSH_REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    return { kind: 'retry', status: null, retryAfterMs: null, reason: (error as Error).message };
  }
  await response.body?.cancel().catch(() => undefined);
  const { status } = response;
  if (status >= 200 && status < 300) return { kind: 'sent' };
  if (status === 404 || status === 410) return { kind: 'gone', status };
  if (status === 429 || status >= 500) {
    return {
      kind: 'retry',
      status,
      retryAfterMs: retryAfterMs(response.headers.get('retry-after')),
      reason: `HTTP ${status}`,
    };
  }
  return { kind: 'failed', status, reason: `HTTP ${status}` };
}

/** Retry-After as seconds or an HTTP date (RFC 9110 10.2.3), in milliseconds from now. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (header === null) return null;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}
