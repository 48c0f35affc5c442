// One webhook request: signed as the contract part bots.graphql says, sent
// to a checked address (addresses.ts), with a deadline and an answer size cap.
import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { checkedAddresses, publicOnlyLookup, WebhookTargetError } from './addresses.js';

/** Answers longer than this are not read: a reply is short text, and a hostile server must not fill memory. */
export const MAX_ANSWER_BYTES = 64 * 1024;

export type WebhookOutcome =
  /** A 2xx answer; `text` is the reply it asks the bot to post, if any. */
  | { kind: 'delivered'; status: number; text: string | null; oversized?: true }
  /** No answer in time, a connection failure, or a non-2xx status: worth another try. */
  | { kind: 'retry'; reason: string }
  /** The target is not allowed (SSRF): never sent. */
  | { kind: 'refused'; reason: string };

/** `sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`. */
export function signature(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export async function postWebhook(
  target: string,
  { deliveryId, secret, body }: { deliveryId: string; secret: string; body: string },
  { timeoutMs, allowPrivate }: { timeoutMs: number; allowPrivate: boolean },
): Promise<WebhookOutcome> {
  const url = new URL(target);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { kind: 'refused', reason: 'not http(s)' };
  if (!allowPrivate) {
    try {
      await checkedAddresses(url); // IP literals: http.request skips `lookup` for them
    } catch (error) {
      if (error instanceof WebhookTargetError) return { kind: 'refused', reason: error.message };
      throw error;
    }
  }
  const timestamp = Math.floor(Date.now() / 1000);
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise<WebhookOutcome>((resolve) => {
    let settled = false;
    const settle = (outcome: WebhookOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve(outcome);
    };
    const request = transport.request(url, {
      method: 'POST',
      // A fresh connection per request: a pooled one could outlive the address check.
      agent: false,
      ...(allowPrivate ? {} : { lookup: publicOnlyLookup }),
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'user-agent': 'chat-api-webhooks',
        'x-chat-delivery': deliveryId,
        'x-chat-timestamp': String(timestamp),
        'x-chat-signature': signature(secret, timestamp, body),
      },
    });
    // One deadline for the whole exchange: connecting, the status, and the answer's body.
    const deadline = setTimeout(() => {
      settle({ kind: 'retry', reason: `no answer within ${timeoutMs} ms` });
      request.destroy();
    }, timeoutMs);
    request.on('error', (error) => {
      if (error instanceof WebhookTargetError) settle({ kind: 'refused', reason: error.message });
      else settle({ kind: 'retry', reason: error.message });
    });
    request.on('response', (response) => {
      const status = response.statusCode ?? 0;
      if (status < 200 || status > 299) {
        response.resume();
        settle({ kind: 'retry', reason: `status ${status}` });
        request.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) {
          // Delivered all the same: the answer's size only costs it the reply.
          settle({ kind: 'delivered', status, text: null, oversized: true });
          request.destroy();
          return;
        }
        chunks.push(chunk);
      });
      response.on('end', () => settle({ kind: 'delivered', status, text: replyText(Buffer.concat(chunks)) }));
      response.on('error', () => settle({ kind: 'delivered', status, text: null }));
    });
    request.end(body);
  });
}

/** The `text` of a JSON answer {"text": String}, or null for any other answer. */
function replyText(answer: Buffer): string | null {
  if (answer.length === 0) return null;
  try {
    const parsed: unknown = JSON.parse(answer.toString('utf8'));
    if (parsed && typeof parsed === 'object' && typeof (parsed as { text?: unknown }).text === 'string') {
      return (parsed as { text: string }).text;
    }
  } catch {
    // Not JSON: delivered, no reply.
  }
  return null;
}
