// Serves the built web client (client/dist) at /, next to the API on /graphql.
import { createReadStream, type Stats, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename, extname, join, resolve, sep } from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

/** Paths the client must never shadow. */
const API_PATHS = ['/graphql', '/health', '/ready'];
/** Vite's output folder for files with a content hash in their name: they never change. */
const HASHED_ASSETS_DIR = 'assets';

/**
 * What the client may load: its own scripts, styles and images, and its own
 * origin for the API (HTTP and WebSocket). No inline script, no framing.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

function fileStats(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** The decoded path of a request, or null when it is malformed (bad escapes, a NUL byte). */
function requestPath(url: string | undefined): string | null {
  try {
    const pathname = decodeURIComponent(new URL(url ?? '/', 'http://localhost').pathname);
    return pathname.includes('\0') ? null : pathname;
  } catch {
    return null;
  }
}

/**
 * A request handler for the single-page client: files under `distDir`, and
 * index.html for any other GET of a page. Returns false for what it does not
 * serve (other methods, the API's paths, malformed paths, or no build).
 */
export function createStaticClientHandler(distDir: string): (req: IncomingMessage, res: ServerResponse) => boolean {
  const root = resolve(distDir);
  const indexFile = join(root, 'index.html');
  const assetsDir = join(root, HASHED_ASSETS_DIR) + sep;
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const pathname = requestPath(req.url);
    if (pathname === null) return false;
    if (API_PATHS.some((path) => pathname === path || pathname.startsWith(`${path}/`))) return false;
    const index = fileStats(indexFile);
    if (!index?.isFile()) return false;
    const candidate = join(root, pathname);
    // join() resolves "..": anything that lands outside the build, or is a dotfile, gets the app instead.
    const servable = candidate.startsWith(root + sep) && !basename(candidate).startsWith('.');
    const stats = servable ? fileStats(candidate) : null;
    // A missing hashed asset is a 404 (an old page after a deploy), not the app's HTML.
    if (!stats?.isFile() && candidate.startsWith(assetsDir)) return false;
    const [file, size] = stats?.isFile() ? [candidate, stats.size] : [indexFile, index.size];
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': size,
      'cache-control': file.startsWith(assetsDir) ? 'public, max-age=31536000, immutable' : 'no-cache',
      ...SECURITY_HEADERS,
    });
    if (req.method === 'HEAD') {
      res.end();
      return true;
    }
    // A read error (the build replaced meanwhile) must not take the server down.
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
    return true;
  };
}
