// `npm run dev`: the API server (restarted when src/ changes) and Vite's dev
// server with hot reload, which proxies /graphql, WebSocket included, to the API.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';

const CLIENT_DIR = fileURLToPath(new URL('..', import.meta.url));
const ROOT = join(CLIENT_DIR, '..');
const apiPort = process.env.PORT ?? '4000';

const api = spawn(process.execPath, [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'watch', 'src/main.ts'], {
  cwd: ROOT,
  stdio: 'inherit',
  env: { ...process.env, PORT: apiPort },
});

process.env.API_URL ??= `http://127.0.0.1:${apiPort}`;
const vite = await createServer({ configFile: join(CLIENT_DIR, 'vite.config.ts') });
await vite.listen();
vite.printUrls();

let stopping = false;
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  api.kill('SIGTERM');
  await vite.close();
  process.exit(code);
}
api.once('exit', (code) => {
  if (!stopping) {
    console.error(`the API server exited (${code ?? 'signal'})`);
    void stop(code ?? 1);
  }
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stop(0));
