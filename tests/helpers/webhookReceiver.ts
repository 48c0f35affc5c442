// A bot's webhook endpoint on loopback for tests: a real HTTP server that
// checks every request's signature (as the README's example does) with the
// secret registered for its path, records what arrived, and answers as the
// test scripts it.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Delivery = {
  /** X-Chat-Delivery. */
  id: string;
  path: string;
  timestamp: number;
  body: any;
  rawBody: string;
};

/** What to answer: a status, a JSON body, or no answer until `hangMs` passed or `until` settled. */
export type Answer = { status?: number; json?: unknown; raw?: string; hangMs?: number; until?: Promise<unknown> };

/** Decides the answer to a delivery; `attempt` counts the requests with its id, from 1. */
export type Script = (delivery: Delivery, attempt: number) => Answer;

export type WebhookReceiver = {
  /** A URL of its own for one bot, and where to register its secret once createBot returned it. */
  endpoint(name: string): { url: string; path: string; setSecret(secret: string): void; script(script: Script): void };
  /** Every request that arrived (signature checked), in order of arrival. */
  deliveries(path?: string): Delivery[];
  /** Requests whose signature, timestamp or headers were wrong. */
  rejected: string[];
  close(): Promise<void>;
};

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** The check a receiver makes: sha256=HMAC(secret, timestamp + "." + raw body), compared in constant time. */
export function verifySignature(secret: string, timestamp: string, rawBody: string, header: string): boolean {
  const expected = Buffer.from(
    `sha256=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`,
  );
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const secrets = new Map<string, string>();
  const scripts = new Map<string, Script>();
  const received: Delivery[] = [];
  const rejected: string[] = [];
  const hanging = new Set<NodeJS.Timeout>();

  const server: Server = createServer(async (request, response) => {
    const path = request.url ?? '/';
    const rawBody = await readBody(request);
    const id = String(request.headers['x-chat-delivery'] ?? '');
    const timestamp = String(request.headers['x-chat-timestamp'] ?? '');
    const signatureHeader = String(request.headers['x-chat-signature'] ?? '');
    const secret = secrets.get(path);
    const skew = Math.abs(Date.now() / 1000 - Number(timestamp));
    if (
      request.method !== 'POST' ||
      !secret ||
      !/^\d+$/.test(timestamp) ||
      skew > 300 ||
      !verifySignature(secret, timestamp, rawBody, signatureHeader) ||
      request.headers['content-type'] !== 'application/json'
    ) {
      rejected.push(`${path} ${id}`);
      response.writeHead(401).end();
      return;
    }
    const delivery: Delivery = { id, path, timestamp: Number(timestamp), body: JSON.parse(rawBody), rawBody };
    received.push(delivery);
    const attempt = received.filter((other) => other.id === id).length;
    const answer: Answer = (scripts.get(path) ?? (() => ({})))(delivery, attempt);
    const reply = () => {
      if (response.destroyed) return;
      const payload = answer.raw ?? (answer.json === undefined ? '' : JSON.stringify(answer.json));
      response.writeHead(answer.status ?? 200, payload ? { 'content-type': 'application/json' } : {}).end(payload);
    };
    if (answer.hangMs) {
      const timer = setTimeout(() => {
        hanging.delete(timer);
        reply();
      }, answer.hangMs);
      hanging.add(timer);
    } else if (answer.until) void answer.until.finally(reply);
    else reply();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint(name) {
      const path = `/hooks/${name}`;
      return {
        url: `${base}${path}`,
        path,
        setSecret: (secret) => void secrets.set(path, secret),
        script: (script) => void scripts.set(path, script),
      };
    },
    deliveries: (path) => received.filter((delivery) => path === undefined || delivery.path === path),
    rejected,
    async close() {
      for (const timer of hanging) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
