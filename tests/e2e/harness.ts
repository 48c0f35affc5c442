// The e2e harness: the real server as a child process (so a test can restart
// it), headless Chromium from Debian's package driven by playwright-core, and
// small helpers that act as a person would, through accessible names.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { freePort, waitFor as waitUntil } from '../helpers/processes.js';
import { UNLIMITED_RATES } from '../helpers/server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const ARTIFACTS_DIR = join(ROOT, 'test-artifacts');
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 375, height: 740 };
export const PASSWORD = 'correct horse battery';

export type ServerProcess = {
  url: string;
  graphqlUrl: string;
  /** SIGTERM, then start again on the same port and database. */
  restart(): Promise<void>;
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
};

/** `tsx src/main.ts` on a free port with a SQLite database of its own; it serves the built client. */
export async function startServerProcess(env: Record<string, string> = {}): Promise<ServerProcess> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'chat-e2e-'));
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const log = openSync(join(ARTIFACTS_DIR, `server-${port}.log`), 'a');
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;

  const server: ServerProcess = {
    url,
    graphqlUrl: `${url}/graphql`,
    async start() {
      child = spawn(process.execPath, [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'src/main.ts'], {
        cwd: ROOT,
        stdio: ['ignore', log, log],
        env: {
          ...process.env,
          NODE_ENV: 'test',
          PORT: String(port),
          HOST: '127.0.0.1',
          SQLITE_PATH: join(dataDir, 'chat.sqlite'),
          JWT_SECRET: 'e2e-secret-that-is-at-least-32-characters-long',
          LOG_LEVEL: 'info',
          // The tests seed history through the API; a test of the limits passes its own.
          ...UNLIMITED_RATES,
          ...env,
        },
      });
      await waitUntil(async () => (await fetch(`${url}/ready`)).ok, `the server on port ${port}`);
    },
    async kill() {
      if (!child || child.exitCode !== null) return;
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      child = null;
    },
    async restart() {
      await server.kill();
      await server.start();
    },
    async stop() {
      await server.kill();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

/** A page that fails the test on a script error. */
export async function newPage(context: BrowserContext, errors: string[]): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => errors.push(String(error)));
  return page;
}

export function screenshot(page: Page, name: string): Promise<Buffer> {
  return page.screenshot({ path: join(ARTIFACTS_DIR, `${name}.png`) });
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${Math.random().toString(36).slice(2, 8)}`;
}

export async function signUpInBrowser(page: Page, baseUrl: string, username: string): Promise<void> {
  await page.goto(baseUrl);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByRole('navigation', { name: 'Conversations' }).waitFor();
}

/** The token the page keeps for its session. */
export function tokenOf(page: Page): Promise<string> {
  return page.evaluate(() => localStorage.getItem('chat.token') ?? '');
}

export async function graphql<T = any>(
  graphqlUrl: string,
  query: string,
  variables: Record<string, unknown>,
  token?: string,
): Promise<T> {
  const response = await fetch(graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (body.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data as T;
}

export async function signUpByApi(graphqlUrl: string, username: string): Promise<{ id: string; token: string }> {
  const data = await graphql(
    graphqlUrl,
    'mutation ($input: SignUpInput!) { signUp(input: $input) { token user { id } } }',
    { input: { username, password: PASSWORD } },
  );
  return { id: data.signUp.user.id, token: data.signUp.token };
}

export async function sendByApi(
  graphqlUrl: string,
  token: string,
  conversationId: string,
  body: string,
): Promise<void> {
  await graphql(
    graphqlUrl,
    'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id } }',
    { input: { conversationId, body } },
    token,
  );
}

/**
 * Routes a context's API sockets through the test, which can then cut them
 * (Chromium's setOffline leaves open WebSockets alone) and refuse new ones
 * until `reconnect()`.
 */
export async function controllableSockets(context: BrowserContext) {
  let offline = false;
  const open = new Set<{ close(): Promise<void> }>();
  await context.routeWebSocket(/\/graphql$/, (ws) => {
    if (offline) {
      void ws.close({ code: 1012, reason: 'Test: offline' });
      return;
    }
    const server = ws.connectToServer();
    const entry = {
      async close() {
        await server.close({ code: 1000, reason: 'Test: network drop' }).catch(() => undefined);
        await ws.close({ code: 1012, reason: 'Test: network drop' }).catch(() => undefined);
      },
    };
    open.add(entry);
    // With a handler set, Playwright no longer passes the page's close on by itself.
    ws.onClose((code, reason) => {
      open.delete(entry);
      void server.close({ code, reason }).catch(() => undefined);
    });
  });
  return {
    async drop() {
      offline = true;
      await Promise.all([...open].map((socket) => socket.close()));
      open.clear();
    },
    reconnect() {
      offline = false;
    },
  };
}

/** The conversation id in the page's URL hash. */
export async function openConversationId(page: Page): Promise<string> {
  const hash = await page.evaluate(() => window.location.hash);
  return decodeURIComponent(hash.replace(/^#\/c\//, ''));
}
