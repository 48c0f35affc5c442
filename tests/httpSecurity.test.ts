import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../src/app.js';
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

  it('answers 413 to a body over 1 MiB without reading it, and 411 to a POST of unknown length', async () => {
    const huge = JSON.stringify({ query: '{ me { id } }', variables: { pad: 'x'.repeat(MAX_BODY_BYTES) } });
    const tooLarge = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: huge,
    });
    expect(tooLarge.status).toBe(413);

    const chunked = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(body('{ me { id } }')));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(411);

    // Just under the limit is fine.
    const fits = JSON.stringify({ query: '{ me { id } }', variables: { pad: 'x'.repeat(MAX_BODY_BYTES - 100) } });
    const ok = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: fits,
    });
    expect(ok.status).toBe(200);
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
