// Builds the web client into client/dist. With --if-stale (what `npm start`
// runs first) it builds only when the sources changed since the last build,
// judged by a hash of their contents, so a fresh clone gets a build and a
// restart does not wait for one.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const CLIENT_DIR = fileURLToPath(new URL('..', import.meta.url));
const ROOT = join(CLIENT_DIR, '..');
const DIST_DIR = join(CLIENT_DIR, 'dist');
const STAMP_FILE = join(DIST_DIR, '.source-hash');
const INPUTS = ['index.html', 'vite.config.ts', 'src', 'public'].map((path) => join(CLIENT_DIR, path));

function filesUnder(path: string): string[] {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => filesUnder(join(path, name)));
}

export function sourceHash(): string {
  const hash = createHash('sha256');
  // The lock file too: a dependency upgrade changes the bundle.
  for (const file of [...INPUTS.flatMap(filesUnder), join(ROOT, 'package-lock.json')]) {
    hash.update(relative(ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

export function isBuildCurrent(hash = sourceHash()): boolean {
  return (
    existsSync(join(DIST_DIR, 'index.html')) && existsSync(STAMP_FILE) && readFileSync(STAMP_FILE, 'utf8') === hash
  );
}

export async function buildClient({ ifStale = false } = {}): Promise<void> {
  const hash = sourceHash();
  if (ifStale && isBuildCurrent(hash)) return;
  console.warn('building the web client into client/dist…');
  // Vite takes React's production or development build from NODE_ENV, which a test runner sets to "test".
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ configFile: join(CLIENT_DIR, 'vite.config.ts'), logLevel: 'warn', mode: 'production' });
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
  writeFileSync(STAMP_FILE, hash);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildClient({ ifStale: process.argv.includes('--if-stale') });
}
