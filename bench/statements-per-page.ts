// Database statements of one deep history page, for docs/benchmarks.md: the
// benchmark's own query (bench/lib/clients.ts) against the seeded history
// database (bench/seed-history.ts), every SQL statement TypeORM or
// db/prepared.ts runs listed with the server time of the page. Seed first.
// Run: tsx bench/statements-per-page.ts [--sqlite path | --database-url mysql://.../chat_bench_history] [--pages N]
import 'reflect-metadata';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { OPERATIONS } from './lib/clients.js';
import { HISTORY_PASSWORD, HISTORY_TITLE, HISTORY_USERS } from './seed-history.js';

const args = process.argv.slice(2);
const value = (flag: string) => {
  const index = args.indexOf(flag);
  return index >= 0 ? args[index + 1] : undefined;
};
const sqlitePath = value('--sqlite');
const databaseUrl = sqlitePath
  ? undefined
  : (value('--database-url') ?? 'mysql://root@127.0.0.1:3306/chat_bench_history');
const pages = Number(value('--pages') ?? 200);

const config = loadConfig({
  NODE_ENV: 'production',
  PORT: '0',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'error',
  JWT_SECRET: 'bench-statements-secret-that-is-long-enough',
  SERVER_TIMING: 'true',
  PUSH_ENABLED: 'false',
  WEBHOOKS_ENABLED: 'false',
  ...(databaseUrl ? { DATABASE_URL: databaseUrl, REDIS_URL: 'redis://127.0.0.1:6379' } : { SQLITE_PATH: sqlitePath }),
  REDIS_KEY_PREFIX: `bench-statements-${process.pid}:`,
});
const queries: string[] = [];
const app = await buildApp(config, createLogger(config), { onQuery: (sql) => queries.push(sql) });
const graphqlUrl = `${await app.start()}/graphql`;
try {
  const post = async (query: string, variables: Record<string, unknown>, token?: string) => {
    const response = await fetch(graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data: any; errors?: unknown[] };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    const serverMs = Number(/dur=([\d.]+)/.exec(response.headers.get('server-timing') ?? '')?.[1]);
    return { data: body.data, serverMs };
  };
  const { data: login } = await post(OPERATIONS.logIn, {
    input: { username: HISTORY_USERS[0], password: HISTORY_PASSWORD },
  });
  const token: string = login.logIn.token;
  const { data: list } = await post(OPERATIONS.conversations, {}, token);
  const conversationId = list.conversations.edges.find((edge: any) => edge.node.title === HISTORY_TITLE).node.id;
  const newest = await post(OPERATIONS.history, { conversationId, last: 50 }, token);
  const maxId = Number(Buffer.from(newest.data.messages.pageInfo.endCursor, 'base64url').toString().split(':')[1]);
  const deepPage = (before: number) =>
    post(
      OPERATIONS.history,
      { conversationId, last: 50, before: Buffer.from(`message:${before}`).toString('base64url') },
      token,
    );
  await deepPage(Math.floor(maxId / 2)); // warm: loaders, statement caches
  queries.length = 0;
  await deepPage(Math.floor(maxId / 3));
  console.log(`statements of one deep page (${databaseUrl ? 'mysql' : 'sqlite'}): ${queries.length}`);
  for (const sql of queries) console.log(`  ${sql}`);
  const times: number[] = [];
  for (let index = 0; index < pages; index++) {
    times.push((await deepPage(100 + Math.floor(Math.random() * (maxId - 200)))).serverMs);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(2);
  console.log(`server time of ${pages} deep pages, one at a time: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms`);
} finally {
  await app.stop();
}
