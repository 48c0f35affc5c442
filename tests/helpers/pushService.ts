// A fake push service on loopback that speaks the real protocol (RFC 8030,
// 8291, 8292): it plays the browsers' side of the subscriptions it hands out
// (a P-256 key pair and an auth secret each), checks every push's VAPID JWT
// (ES256, aud = its own origin, signed by the key in `k`), decrypts the
// aes128gcm body with the subscription's private key, and records what it got.
import { createECDH, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
// @ts-expect-error http_ece ships no types
import ece from 'http_ece';
import { importJWK, jwtVerify } from 'jose';

export type ReceivedPush = {
  subscription: string;
  payload: { type: string; conversationId: string; messageId: string; title: string; body: string | null };
  ttl: number;
  urgency: string | null;
  topic: string | null;
  /** The VAPID public key (`k`) the push was signed with. */
  vapidKey: string;
  at: number;
};

export type FakeSubscription = {
  name: string;
  endpoint: string;
  p256dh: string;
  auth: string;
  /** Pushes received and accepted (2xx), in arrival order. */
  pushes(): ReceivedPush[];
  /** Every request that reached this endpoint, answered or not. */
  requests(): number;
  /** Answers the next requests with these statuses (and headers), then 201 again. */
  answerNext(...answers: { status: number; headers?: Record<string, string> }[]): void;
  /** Answers every request with this status from now on. */
  answerAlways(status: number): void;
  /** Holds each answer this long (a slow push service). */
  answerAfter(ms: number): void;
};

export type FakePushService = {
  origin: string;
  subscribe(name: string): FakeSubscription;
  /** Pushes that failed a protocol check (they are answered 400 and recorded here). */
  rejected: string[];
  all(): ReceivedPush[];
  close(): Promise<void>;
};

type SubscriptionState = {
  ecdh: ReturnType<typeof createECDH>;
  auth: Buffer;
  pushes: ReceivedPush[];
  requests: number;
  queued: { status: number; headers?: Record<string, string> }[];
  always: number | null;
  delayMs: number;
};

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** The JWK of an uncompressed P-256 point, base64url. */
function publicJwk(key: string) {
  const raw = Buffer.from(key, 'base64url');
  if (raw.length !== 65 || raw[0] !== 4) throw new Error('k is not an uncompressed P-256 point');
  return {
    kty: 'EC',
    crv: 'P-256',
    x: raw.subarray(1, 33).toString('base64url'),
    y: raw.subarray(33).toString('base64url'),
  };
}

export async function startFakePushService(): Promise<FakePushService> {
  const subscriptions = new Map<string, SubscriptionState>();
  const rejected: string[] = [];
  const received: ReceivedPush[] = [];
  let origin = '';

  async function check(request: IncomingMessage, state: SubscriptionState, name: string): Promise<ReceivedPush> {
    const authorization = request.headers.authorization ?? '';
    const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(authorization);
    if (!match) throw new Error(`no VAPID authorization: ${authorization}`);
    const [, token, vapidKey] = match as unknown as [string, string, string];
    const key = await importJWK(publicJwk(vapidKey), 'ES256');
    const { payload: claims } = await jwtVerify(token, key, { algorithms: ['ES256'], audience: origin });
    if (typeof claims.sub !== 'string' || !/^(mailto:|https:)/.test(claims.sub)) throw new Error('bad sub');
    if (typeof claims.exp !== 'number' || claims.exp > Date.now() / 1000 + 24 * 3600) throw new Error('bad exp');
    if (request.headers['content-encoding'] !== 'aes128gcm') throw new Error('not aes128gcm');
    const ttl = Number(request.headers.ttl);
    if (!Number.isInteger(ttl) || ttl < 0) throw new Error('no TTL');
    const body = await readBody(request);
    const plaintext: Buffer = ece.decrypt(body, {
      version: 'aes128gcm',
      privateKey: state.ecdh,
      authSecret: state.auth.toString('base64url'),
    });
    return {
      subscription: name,
      payload: JSON.parse(plaintext.toString('utf8')),
      ttl,
      urgency: (request.headers.urgency as string | undefined) ?? null,
      topic: (request.headers.topic as string | undefined) ?? null,
      vapidKey,
      at: Date.now(),
    };
  }

  const server: Server = createServer((request, response) => {
    const name = decodeURIComponent((request.url ?? '').replace(/^\/push\//, ''));
    const state = subscriptions.get(name);
    if (request.method !== 'POST' || !state) {
      response.writeHead(404).end();
      return;
    }
    state.requests++;
    check(request, state, name).then(
      (push) => {
        const answer = state.queued.shift() ?? { status: state.always ?? 201 };
        if (answer.status >= 200 && answer.status < 300) {
          state.pushes.push(push);
          received.push(push);
        }
        setTimeout(() => response.writeHead(answer.status, answer.headers).end(), state.delayMs);
      },
      (error: Error) => {
        rejected.push(`${name}: ${error.message}`);
        response.writeHead(400).end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    origin,
    rejected,
    all: () => [...received],
    subscribe(name) {
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const state: SubscriptionState = {
        ecdh,
        auth: randomBytes(16),
        pushes: [],
        requests: 0,
        queued: [],
        always: null,
        delayMs: 0,
      };
      subscriptions.set(name, state);
      return {
        name,
        endpoint: `${origin}/push/${encodeURIComponent(name)}`,
        p256dh: ecdh.getPublicKey().toString('base64url'),
        auth: state.auth.toString('base64url'),
        pushes: () => [...state.pushes],
        requests: () => state.requests,
        answerNext: (...answers) => state.queued.push(...answers),
        answerAlways: (status) => {
          state.always = status;
        },
        answerAfter: (ms) => {
          state.delayMs = ms;
        },
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
