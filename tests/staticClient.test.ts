// The built client's file server: what it serves, with which headers, and what it leaves to the API.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, createStaticClientHandler } from '../src/staticClient.js';

let dir: string;
let server: Server;
let base: string;

/** A raw GET, so paths reach the server exactly as written (fetch would normalise "..") */
function get(
  path: string,
  method = 'GET',
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.path = path;
    req.end();
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'static-client-'));
  const dist = join(dir, 'dist');
  mkdirSync(join(dist, 'assets'), { recursive: true });
  writeFileSync(join(dist, 'index.html'), '<!doctype html><div id="root"></div>');
  writeFileSync(join(dist, 'assets', 'index-abc123.js'), 'console.log(1)');
  writeFileSync(join(dist, 'favicon.svg'), '<svg/>');
  writeFileSync(join(dist, '.source-hash'), 'secret-ish');
  writeFileSync(join(dir, 'outside.txt'), 'outside');
  const serve = createStaticClientHandler(dist);
  server = createServer((req, res) => {
    if (!serve(req, res)) res.writeHead(404).end('api');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe('createStaticClientHandler', () => {
  it('serves index.html at / and for the app’s own paths, never cached', async () => {
    for (const path of ['/', '/c/123', '/some/deep/link']) {
      const response = await get(path);
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(response.headers['cache-control']).toBe('no-cache');
      expect(response.body).toContain('<div id="root">');
    }
  });

  it('sends a Content-Security-Policy without inline scripts, and forbids framing and sniffing', async () => {
    const response = await get('/');
    const policy = String(response.headers['content-security-policy']);
    expect(policy).toBe(CONTENT_SECURITY_POLICY);
    expect(policy).toContain("script-src 'self'");
    expect(policy).not.toContain('unsafe-inline');
    expect(policy).toContain("frame-ancestors 'none'");
    expect(response.headers['x-frame-options']).toBe('DENY');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['referrer-policy']).toBe('no-referrer');
  });

  it('serves hashed assets with their type, cached for good', async () => {
    const response = await get('/assets/index-abc123.js');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.body).toBe('console.log(1)');
    const icon = await get('/favicon.svg');
    expect(icon.headers['content-type']).toBe('image/svg+xml');
    expect(icon.headers['cache-control']).toBe('no-cache');
  });

  it('leaves the API, other methods, missing assets and malformed paths alone', async () => {
    for (const path of [
      '/graphql',
      '/graphql/stream',
      '/health',
      '/ready',
      '/assets/missing.js',
      '/%E0%A4%A',
      '/%00',
    ]) {
      expect((await get(path)).body, path).toBe('api');
    }
    expect((await get('/', 'POST')).body).toBe('api');
  });

  it('never serves files outside the build, nor dotfiles', async () => {
    for (const path of ['/../outside.txt', '/..%2Foutside.txt', '/%2e%2e/outside.txt', '/.source-hash']) {
      const response = await get(path);
      expect(response.body, path).not.toContain('outside');
      expect(response.body, path).not.toContain('secret-ish');
    }
  });

  it('answers HEAD without a body', async () => {
    const response = await get('/', 'HEAD');
    expect(response.status).toBe(200);
    expect(response.body).toBe('');
  });
});
