import { connect as connectTcp } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../src/app.js';
import { MAX_DRAINED_BYTES } from '../src/bodyLimit.js';
import { signUp, type TestUser } from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';

describe('HTTP protections', () => {
  let server: TestServer;
  let user: TestUser;
  beforeAll(async () => {
    server = await startServer('sqlite');
    user = await signUp(server.graphqlUrl);
  });
  afterAll(() => server?.stop());

  const body = (query: string) => JSON.stringify({ query });

  it('refuses cross-site simple requests: form posts, text/plain and header-less GETs (CSRF)', async () => {
    const mutation = 'mutation { signUp(input: { username: "csrf_victim", password: "password123" }) { token } }';
    const form = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `query=${encodeURIComponent(mutation)}`,
    });
    expect(form.status).toBe(403);
    const text = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: body(mutation),
    });
    expect(text.status).toBe(403);
    const get = await fetch(`${server.graphqlUrl}?query=${encodeURIComponent('{ me { id } }')}`);
    expect(get.status).toBe(403);

    // What a real client sends works: a JSON body, or a GET with the CSRF header.
    const json = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}` },
      body: body('{ me { id } }'),
    });
    expect(((await json.json()) as any).data.me.id).toBe(user.id);
    const allowedGet = await fetch(`${server.graphqlUrl}?query=${encodeURIComponent('{ me { id } }')}`, {
      headers: { 'x-graphql-yoga-csrf': '1' },
    });
    expect(allowedGet.status).toBe(200);
  });

  /** A body of unknown length (Transfer-Encoding: chunked), sent in 64 KiB pieces. */
  function chunkedBody(text: string): ReadableStream<Uint8Array> {
    const bytes = new TextEncoder().encode(text);
    let offset = 0;
    return new ReadableStream({
      pull(controller) {
        if (offset >= bytes.length) return controller.close();
        controller.enqueue(bytes.subarray(offset, (offset += 64 * 1024)));
      },
    });
  }

  async function expectPayloadTooLarge(response: Response): Promise<void> {
    expect(response.status).toBe(413);
    const answer = (await response.json()) as { errors: { extensions: { code: string; maxBytes: number } }[] };
    expect(answer.errors[0]!.extensions).toEqual({ code: 'PAYLOAD_TOO_LARGE', maxBytes: MAX_BODY_BYTES });
  }

  const SIGN_UP = 'mutation ($input: SignUpInput!) { signUp(input: $input) { token } }';

  it('answers a body over 1 MiB with a 413 the client can read (PAYLOAD_TOO_LARGE, maxBytes), with or without a length', async () => {
    // A 1.5 MiB password: fetch must get the answer, not "fetch failed" (a reset while it was still sending).
    const oversized = JSON.stringify({
      query: SIGN_UP,
      variables: { input: { username: 'too_large', password: 'x'.repeat(1.5 * 1024 * 1024) } },
    });
    await expectPayloadTooLarge(
      await fetch(server.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: oversized,
      }),
    );
    await expectPayloadTooLarge(
      await fetch(server.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: chunkedBody(oversized),
        duplex: 'half',
      } as RequestInit),
    );

    // Within the limit both are served, just under it included, and the server answers normally afterwards.
    const chunked = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}` },
      body: chunkedBody(body('{ me { id } }')),
      duplex: 'half',
    } as RequestInit);
    expect(((await chunked.json()) as any).data.me.id).toBe(user.id);
    const fits = JSON.stringify({ query: '{ me { id } }', variables: { pad: 'x'.repeat(MAX_BODY_BYTES - 100) } });
    const ok = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: fits,
    });
    expect(ok.status).toBe(200);
    const signedUp = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: SIGN_UP, variables: { input: { username: 'fits', password: 'y'.repeat(20) } } }),
    });
    expect(((await signedUp.json()) as any).data.signUp.token).toEqual(expect.any(String));
  });

  it('reads no more than MAX_DRAINED_BYTES of an oversized body: answers 413 and closes the connection before it ends', async () => {
    const declared = 16 * MAX_DRAINED_BYTES;
    for (const framing of [`Content-Length: ${declared}`, 'Transfer-Encoding: chunked']) {
      const socket = connectTcp(Number(new URL(server.url).port), '127.0.0.1');
      const received: Buffer[] = [];
      let ended = false;
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      socket.on('end', () => (ended = true));
      socket.on('error', () => undefined); // a reset once the server stopped reading
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      socket.write(`POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n${framing}\r\n\r\n`);
      const piece = Buffer.alloc(64 * 1024, 'x');
      const chunked = framing.startsWith('Transfer');
      let sent = 0;
      // Sends the body until the server hangs up, never finishing it.
      while (!ended && !socket.destroyed && sent < declared) {
        const written = socket.write(
          chunked
            ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')])
            : piece,
        );
        sent += piece.length;
        if (!written) await new Promise((resolve) => socket.once('drain', resolve).once('close', resolve));
      }
      await closed;
      const answer = Buffer.concat(received).toString();
      expect(answer).toMatch(/^HTTP\/1\.1 413 /);
      expect(answer).toContain('"code":"PAYLOAD_TOO_LARGE"');
      expect(sent).toBeLessThan(declared);
    }
    // Still serving.
    const me = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}` },
      body: body('{ me { id } }'),
    });
    expect(((await me.json()) as any).data.me.id).toBe(user.id);
  });

  it('runs one operation per request: batching is off', async () => {
    const batch = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ query: '{ me { id } }' }, { query: '{ me { id } }' }]),
    });
    expect(batch.status).toBe(400);
  });
});
