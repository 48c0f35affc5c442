// The search scenario (issue #16): full-text search on a large history, and
// what the full-text index costs a send. Run by `npm run bench -- --scenario
// search` (or `tsx bench/search.ts`), on SQLite and on MySQL/MariaDB.
//
// 1. Seeds, in SQL and in bulk (multi-row INSERTs, not the API), N messages of
//    ~10 words drawn from a Zipf-distributed vocabulary over C two-member
//    group conversations, the searcher being a member of a few of them. The
//    full-text index is dropped while seeding and rebuilt in one pass after,
//    with the statements of migrations 1796200000000 (FTS5) and 1796800000000
//    (InnoDB, over the per-conversation words its triggers write). Cached: a seeded database
//    is reused when it holds N messages.
// 2. Starts the server on it and logs in as the searcher; runs Q searches of
//    one to three words taken from the messages the searcher can see, in
//    sequence, and reports the server's own time (Server-Timing) and the time
//    end to end, p50/p95/p99, and the searches' result counts.
// 3. Sending with and without the index: on a fresh empty database each, two
//    servers side by side, P senders each keeping `inFlight` sendMessage
//    requests in flight for T seconds on both at once; R rounds, and the median
//    of the rounds' ratios is reported.
//
//   tsx bench/search.ts [--targets sqlite,mysql] [--messages 1000000] [--searches 300] [--send-seconds 8] [--send-rounds 3]
import 'reflect-metadata';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createConnection } from 'mysql2/promise';
import type { DataSource } from 'typeorm';
import { hashPassword } from '../src/auth/passwords.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/dataSource.js';
import { createLogger } from '../src/logger.js';
import { createSqliteFullText } from '../migrations/1796200000000-RepliesMentionsSearch.js';
import { freePort, type Pinning, ROOT, serverEnvironment, startTarget, tasksetAvailable } from './lib/targets.js';

export type SearchBenchOptions = {
  targets: ('sqlite' | 'mysql')[];
  messages: number;
  conversations: number;
  searcherConversations: number;
  searches: number;
  sendSeconds: number;
  /** Rounds of sending with and without the index side by side; 0 measures searches only. */
  sendRounds: number;
  senders: number;
  inFlight: number;
  mysqlUrl: string;
  pinning: Pinning;
  log: (line: string) => void;
};

const SEARCHER = 'search_a';
const PASSWORD = 'bench-password-1';
const VOCABULARY = 20_000;
const WORDS_PER_MESSAGE = 10;
const OTHER_USERS = 200;
const INSERT_ROWS = 2_000;

// ---------------------------------------------------------------- text

/** A deterministic pseudo-random sequence, so every seed of N messages is the same. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Word `rank` of the vocabulary: pronounceable, 4 to 9 letters, some with an accent. */
function word(rank: number): string {
  const consonants = 'bcdfghjklmnprstvz';
  const vowels = ['a', 'e', 'i', 'o', 'u', 'é', 'a', 'o'];
  let text = '';
  let value = rank + 7;
  do {
    text += consonants[value % consonants.length]! + vowels[Math.floor(value / 17) % vowels.length]!;
    value = Math.floor(value / 136);
  } while (value > 0);
  return text.length < 4 ? `${text}ra` : text;
}

/** Zipf (s = 1) over the vocabulary, by inverting the cumulative weights. */
function zipf(next: () => number): () => number {
  const cumulative = new Float64Array(VOCABULARY);
  let total = 0;
  for (let rank = 0; rank < VOCABULARY; rank++) cumulative[rank] = total += 1 / (rank + 1);
  return () => {
    const target = next() * total;
    let low = 0;
    let high = VOCABULARY - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (cumulative[middle]! < target) low = middle + 1;
      else high = middle;
    }
    return low;
  };
}

// ---------------------------------------------------------------- seed

type Seeded = { messages: number; searcherConversationIds: number[] };

async function scalar(dataSource: DataSource, sql: string, parameters: unknown[] = []): Promise<number> {
  const rows = (await dataSource.query(sql, parameters)) as Record<string, unknown>[];
  return Number(Object.values(rows[0] ?? {})[0] ?? 0);
}

async function dropFullTextIndex(dataSource: DataSource): Promise<void> {
  if (dataSource.options.type === 'mysql') {
    // The triggers stay: they fill searchTerms as rows arrive.
    const [index] = await dataSource.query("SHOW INDEX FROM messages WHERE Key_name = 'FT_messages_search'");
    if (index) await dataSource.query('ALTER TABLE messages DROP INDEX FT_messages_search');
  } else {
    for (const trigger of ['messages_fts_insert', 'messages_fts_delete', 'messages_fts_update']) {
      await dataSource.query(`DROP TRIGGER IF EXISTS ${trigger}`);
    }
    await dataSource.query("INSERT INTO messages_fts (messages_fts) VALUES ('delete-all')");
  }
}

/** The index as migrations 1796200000000 (SQLite) and 1796800000000 (MySQL) build it, over every message there. */
async function createFullTextIndex(dataSource: DataSource): Promise<void> {
  const queryRunner = dataSource.createQueryRunner();
  try {
    if (dataSource.options.type === 'mysql') {
      // Rebuilt first: MariaDB 10.11 leaves rows inserted after a FULLTEXT index was dropped (while its
      // hidden FTS_DOC_ID column stays) out of an index added again later; a rebuilt table has no such rows.
      await queryRunner.query('ALTER TABLE messages FORCE');
      await queryRunner.query('SET SESSION innodb_ft_enable_stopword = OFF');
      await queryRunner.query('ALTER TABLE messages ADD FULLTEXT INDEX FT_messages_search (searchTerms)');
    } else {
      await queryRunner.query('DROP TABLE messages_fts');
      await createSqliteFullText(queryRunner); // the table, the triggers and the fill
    }
  } finally {
    await queryRunner.release();
  }
}

async function seed(dataSource: DataSource, options: SearchBenchOptions): Promise<Seeded> {
  const isMysql = dataSource.options.type === 'mysql';
  const sqliteTime = (date: Date) => date.toISOString().replace('T', ' ').replace('Z', '');
  const time = (date: Date) => (isMysql ? date : sqliteTime(date));
  const now = time(new Date('2026-01-01T00:00:00Z'));
  const conversationsPresent = await scalar(dataSource, 'SELECT COUNT(*) FROM conversations');
  if (conversationsPresent === 0) {
    const passwordHash = await hashPassword(PASSWORD);
    const users = [SEARCHER, ...Array.from({ length: OTHER_USERS }, (_, index) => `search_u${index}`)];
    for (let start = 0; start < users.length; start += 100) {
      const chunk = users.slice(start, start + 100);
      await dataSource.query(
        `INSERT INTO users (id, username, displayName, displayNameLower, passwordHash, createdAt) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')}`,
        chunk.flatMap((name, offset) => [start + offset + 1, name, name, name, passwordHash, now]),
      );
    }
    for (let start = 0; start < options.conversations; start += 500) {
      const ids = Array.from({ length: Math.min(500, options.conversations - start) }, (_, index) => start + index + 1);
      await dataSource.query(
        `INSERT INTO conversations (id, kind, title, createdAt, activityPosition) VALUES ${ids.map(() => "(?, 'GROUP', ?, ?, 0)").join(', ')}`,
        ids.flatMap((id) => [id, `search ${id}`, now]),
      );
      // Two other users per conversation; the searcher in the first few as well.
      const members = ids.flatMap((id) => [
        [id, 2 + (id % OTHER_USERS)],
        [id, 2 + ((id + 1) % OTHER_USERS)],
        ...(id <= options.searcherConversations ? [[id, 1]] : []),
      ]);
      await dataSource.query(
        `INSERT INTO memberships (conversationId, userId, joinedAt) VALUES ${members.map(() => '(?, ?, ?)').join(', ')}`,
        members.flatMap(([conversationId, userId]) => [conversationId, userId, now]),
      );
    }
  }
  const searcherConversationIds = Array.from({ length: options.searcherConversations }, (_, index) => index + 1);
  let present = await scalar(dataSource, 'SELECT COUNT(*) FROM messages');
  if (present >= options.messages) return { messages: present, searcherConversationIds };

  options.log(`  seeding ${options.messages - present} messages (index dropped while seeding)`);
  const started = Date.now();
  await dropFullTextIndex(dataSource);
  const nextRandom = random(present + 1);
  const nextRank = zipf(nextRandom);
  const timestamp = (id: number) => time(new Date(Date.UTC(2026, 0, 1) + id * 1000));
  while (present < options.messages) {
    const batch = Math.min(INSERT_ROWS * 25, options.messages - present);
    await dataSource.transaction(async (manager) => {
      for (let offset = 0; offset < batch; offset += INSERT_ROWS) {
        const size = Math.min(INSERT_ROWS, batch - offset);
        const rows = Array.from({ length: size }, (_, index) => {
          const id = present + offset + index + 1;
          const conversationId = 1 + (id % options.conversations);
          const body = Array.from({ length: WORDS_PER_MESSAGE }, () => word(nextRank())).join(' ');
          const createdAt = timestamp(id);
          return [id, conversationId, 2 + (conversationId % OTHER_USERS), body, createdAt];
        });
        await manager.query(
          `INSERT INTO messages (id, conversationId, senderId, body, createdAt) VALUES ${rows.map(() => '(?, ?, ?, ?, ?)').join(', ')}`,
          rows.flat(),
        );
      }
    });
    present += batch;
    if (present % 200_000 < batch) options.log(`    ${present} / ${options.messages}`);
  }
  options.log(`  seeded in ${((Date.now() - started) / 1000).toFixed(0)} s; building the full-text index`);
  const indexStarted = Date.now();
  await createFullTextIndex(dataSource);
  options.log(`  index built in ${((Date.now() - indexStarted) / 1000).toFixed(0)} s`);
  return { messages: present, searcherConversationIds };
}

// ---------------------------------------------------------------- client

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

function post(url: string, body: unknown, token?: string): Promise<{ data: any; serverMs: number | null }> {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body);
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const parsed = JSON.parse(Buffer.concat(chunks).toString());
          if (parsed.errors) return reject(new Error(JSON.stringify(parsed.errors)));
          const timing = /total;dur=([\d.]+)/.exec(String(response.headers['server-timing'] ?? ''));
          resolve({ data: parsed.data, serverMs: timing ? Number(timing[1]) : null });
        });
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

const LOG_IN = 'mutation ($input: LogInInput!) { logIn(input: $input) { token } }';
const SIGN_UP = 'mutation ($input: SignUpInput!) { signUp(input: $input) { token user { id } } }';
const SEARCH = `query ($query: String!) {
  searchMessages(query: $query, first: 20) { edges { cursor node { id body createdAt sender { id username } } } pageInfo { hasNextPage } }
}`;
const SEND = 'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id } }';
const OPEN_DIRECT = 'mutation ($userId: ID!) { openDirectConversation(userId: $userId) { id } }';

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const round = (value: number) => Math.round(value * 100) / 100;

// ---------------------------------------------------------------- phases

type SearchFigures = {
  target: string;
  messages: number;
  searches: number;
  meanResults: number;
  serverP50: number;
  serverP95: number;
  serverP99: number;
  totalP50: number;
  totalP99: number;
  commonWordServerMs: number;
};

/** Queries from the searcher's own messages: 1 to 3 words of one message, so each has results. */
async function pickQueries(dataSource: DataSource, conversationIds: number[], count: number): Promise<string[]> {
  const rows: { body: string }[] = await dataSource.query(
    `SELECT body FROM messages WHERE conversationId IN (${conversationIds.map(() => '?').join(', ')}) ORDER BY id DESC LIMIT 2000`,
    conversationIds,
  );
  const next = random(42);
  return Array.from({ length: count }, (_, index) => {
    const words = rows[Math.floor(next() * rows.length)]!.body.split(' ');
    const take = 1 + (index % 3);
    return Array.from({ length: take }, () => words[Math.floor(next() * words.length)]!).join(' ');
  });
}

async function measureSearch(
  target: 'sqlite' | 'mysql',
  env: Record<string, string>,
  options: SearchBenchOptions,
  workDir: string,
): Promise<SearchFigures> {
  const config = loadConfig({ LOG_LEVEL: 'error', JWT_SECRET: 'bench-search-seed-secret-long-enough-32', ...env });
  const dataSource = await openDatabase(config, createLogger(config));
  let seeded: Seeded;
  let queries: string[];
  try {
    seeded = await seed(dataSource, options);
    queries = await pickQueries(dataSource, seeded.searcherConversationIds, options.searches);
  } finally {
    await dataSource.destroy();
  }
  const port = await freePort();
  const server = await startTarget(
    target,
    serverEnvironment([], { ...env, PORT: String(port) }),
    options.pinning,
    join(workDir, `${target}-search.log`),
  );
  try {
    const url = `${server.url}/graphql`;
    const { data } = await post(url, {
      query: LOG_IN,
      variables: { input: { username: SEARCHER, password: PASSWORD } },
    });
    const token: string = data.logIn.token;
    const search = (query: string) => post(url, { query: SEARCH, variables: { query } }, token);
    for (const query of queries.slice(0, 20)) await search(query); // warm-up: caches, JIT
    const serverTimes: number[] = [];
    const total: number[] = [];
    let results = 0;
    for (const query of queries) {
      const at = performance.now();
      const { data: found, serverMs } = await search(query);
      total.push(performance.now() - at);
      if (serverMs !== null) serverTimes.push(serverMs);
      results += found.searchMessages.edges.length;
    }
    // The most common word of the vocabulary, in ~60 % of all messages: the engine's worst case.
    const common: number[] = [];
    for (let index = 0; index < 15; index++) common.push((await search(word(0))).serverMs ?? Number.NaN);
    serverTimes.sort((a, b) => a - b);
    total.sort((a, b) => a - b);
    common.sort((a, b) => a - b);
    return {
      target,
      messages: seeded.messages,
      searches: queries.length,
      meanResults: round(results / queries.length),
      serverP50: round(percentile(serverTimes, 50)),
      serverP95: round(percentile(serverTimes, 95)),
      serverP99: round(percentile(serverTimes, 99)),
      totalP50: round(percentile(total, 50)),
      totalP99: round(percentile(total, 99)),
      commonWordServerMs: round(percentile(common, 50)),
    };
  } finally {
    await server.stop();
  }
}

/** Messages stored per second by `senders` users keeping `inFlight` sends each in flight. */
async function sendRate(url: string, options: SearchBenchOptions): Promise<number> {
  const pairs = await Promise.all(
    Array.from({ length: options.senders }, async (_, index) => {
      const name = (prefix: string) => `${prefix}${index}_${Math.random().toString(36).slice(2, 10)}`;
      const [a, b] = await Promise.all(
        ['s', 'r'].map(
          async (prefix) =>
            (await post(url, { query: SIGN_UP, variables: { input: { username: name(prefix), password: PASSWORD } } }))
              .data.signUp,
        ),
      );
      const conversation = (await post(url, { query: OPEN_DIRECT, variables: { userId: b.user.id } }, a.token)).data
        .openDirectConversation.id;
      return { token: a.token as string, conversation: conversation as string, to: b.user.id as string };
    }),
  );
  let stored = 0;
  const endAt = performance.now() + options.sendSeconds * 1000;
  const next = random(7);
  const nextRank = zipf(next);
  await Promise.all(
    pairs.flatMap((pair) =>
      Array.from({ length: options.inFlight }, async () => {
        while (performance.now() < endAt) {
          const body = Array.from({ length: WORDS_PER_MESSAGE }, () => word(nextRank())).join(' ');
          await post(
            url,
            { query: SEND, variables: { input: { conversationId: pair.conversation, body } } },
            pair.token,
          );
          stored++;
        }
      }),
    ),
  );
  return stored / options.sendSeconds;
}

type SendFigures = { target: string; withIndex: number[]; withoutIndex: number[]; ratios: number[]; ratio: number };

/** A fresh database for one sending variant: the index (and on MySQL its triggers) dropped for `without`. */
async function sendingDatabase(
  target: 'sqlite' | 'mysql',
  variant: 'with' | 'without',
  round: number,
  options: SearchBenchOptions,
  workDir: string,
): Promise<{ env: Record<string, string>; tag: string }> {
  const tag = `chat_bench_search_send_${process.pid}_${variant}_${round}`;
  const env: Record<string, string> =
    target === 'mysql'
      ? { DATABASE_URL: `${options.mysqlUrl}/${tag}` }
      : { SQLITE_PATH: join(workDir, `${tag}.sqlite`) };
  const config = loadConfig({ LOG_LEVEL: 'error', JWT_SECRET: 'bench-search-seed-secret-long-enough-32', ...env });
  const dataSource = await openDatabase(config, createLogger(config));
  if (variant === 'without') {
    await dropFullTextIndex(dataSource);
    if (target === 'mysql') {
      for (const trigger of ['messages_search_terms_insert', 'messages_search_terms_update']) {
        await dataSource.query(`DROP TRIGGER IF EXISTS ${trigger}`);
      }
    }
  }
  await dataSource.destroy();
  return { env, tag };
}

/**
 * Sending with and without the index, both at once: in each round two servers
 * (one per variant, on the same pinned core) take the same closed-loop load
 * side by side, so a busy machine slows both alike and their ratio stays
 * readable where rates measured one after the other swing several-fold.
 */
async function measureSending(
  target: 'sqlite' | 'mysql',
  options: SearchBenchOptions,
  workDir: string,
): Promise<SendFigures> {
  const figures: SendFigures = { target, withIndex: [], withoutIndex: [], ratios: [], ratio: Number.NaN };
  for (let roundIndex = 0; roundIndex < options.sendRounds; roundIndex++) {
    const databases = await Promise.all(
      (['with', 'without'] as const).map((variant) => sendingDatabase(target, variant, roundIndex, options, workDir)),
    );
    const servers = await Promise.all(
      databases.map(async ({ env, tag }) =>
        startTarget(
          target,
          serverEnvironment([], { ...env, PORT: String(await freePort()) }),
          options.pinning,
          join(workDir, `${tag}.log`),
        ),
      ),
    );
    try {
      const [withIndex, withoutIndex] = await Promise.all(
        servers.map(async (server) => round(await sendRate(`${server.url}/graphql`, options))),
      );
      figures.withIndex.push(withIndex!);
      figures.withoutIndex.push(withoutIndex!);
      figures.ratios.push(round(withIndex! / withoutIndex!));
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
      if (target === 'mysql') {
        const connection = await createConnection({ uri: options.mysqlUrl });
        for (const { tag } of databases) await connection.query(`DROP DATABASE IF EXISTS \`${tag}\``);
        await connection.end();
      } else {
        for (const { tag } of databases) {
          for (const suffix of ['', '-wal', '-shm']) rmSync(join(workDir, `${tag}.sqlite${suffix}`), { force: true });
        }
      }
    }
    options.log(
      `  sending, side by side: ${figures.withIndex.at(-1)} msg/s with the index, ${figures.withoutIndex.at(-1)} without`,
    );
  }
  const sorted = [...figures.ratios].sort((a, b) => a - b);
  figures.ratio = sorted[Math.floor(sorted.length / 2)]!;
  return figures;
}

// ---------------------------------------------------------------- run

export async function runSearchBench(options: SearchBenchOptions): Promise<string> {
  const workDir = join(ROOT, 'bench', '.data');
  mkdirSync(workDir, { recursive: true });
  const searches: SearchFigures[] = [];
  const sends: SendFigures[] = [];
  for (const target of options.targets) {
    options.log(`search: ${target}, ${options.messages} messages`);
    const env: Record<string, string> =
      target === 'mysql'
        ? { DATABASE_URL: `${options.mysqlUrl}/chat_bench_search_${options.messages}` }
        : { SQLITE_PATH: join(workDir, `search-${options.messages}.sqlite`) };
    searches.push(await measureSearch(target, env, options, workDir));
    options.log(`  ${JSON.stringify(searches.at(-1))}`);
    if (options.sendRounds > 0) sends.push(await measureSending(target, options, workDir));
  }
  const lines = [
    '| target | messages | searches | mean results | server p50 ms | server p95 ms | server p99 ms | end-to-end p50 ms | end-to-end p99 ms | most common word, server p50 ms |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...searches.map(
      (row) =>
        `| ${row.target} | ${row.messages} | ${row.searches} | ${row.meanResults} | ${row.serverP50} | ${row.serverP95} | ${row.serverP99} | ${row.totalP50} | ${row.totalP99} | ${row.commonWordServerMs} |`,
    ),
    '',
    '| target | sends/s with the index (rounds) | sends/s without, side by side | with / without per round | median |',
    '| --- | --- | --- | --- | --- |',
    ...sends.map(
      (row) =>
        `| ${row.target} | ${row.withIndex.join(', ')} | ${row.withoutIndex.join(', ')} | ${row.ratios.map((ratio) => `×${ratio}`).join(', ')} | ×${row.ratio} |`,
    ),
  ];
  const report = lines.join('\n');
  const resultsDir = join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(join(resultsDir, `${stamp}-search.json`), JSON.stringify({ options, searches, sends }, null, 2));
  writeFileSync(join(resultsDir, `${stamp}-search.md`), `${report}\n`);
  return report;
}

export function searchBenchOptions(argv: string[], smoke: boolean): SearchBenchOptions {
  const value = (flag: string) => {
    const index = argv.indexOf(flag);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const number = (flag: string, full: number, small: number) => Number(value(flag) ?? (smoke ? small : full));
  const pin = !smoke && !argv.includes('--no-pin') && tasksetAvailable();
  return {
    targets: (value('--targets') ?? 'sqlite,mysql')
      .split(',')
      .filter((target): target is 'sqlite' | 'mysql' => target === 'sqlite' || target === 'mysql'),
    messages: number('--messages', 1_000_000, 5_000),
    conversations: number('--conversations', 2_000, 50),
    searcherConversations: number('--searcher-conversations', 5, 3),
    searches: number('--searches', 300, 20),
    sendSeconds: number('--send-seconds', 8, 0.5),
    sendRounds: number('--send-rounds', 3, 1),
    senders: number('--senders', 8, 2),
    inFlight: number('--in-flight', 4, 2),
    mysqlUrl: (value('--mysql-url') ?? process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306').replace(/\/$/, ''),
    pinning: { enabled: pin, serverCpu: '0', generatorCpu: '1' },
    log: (line) => console.error(line),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2);
  const report = await runSearchBench(searchBenchOptions(argv, argv.includes('--smoke')));
  console.log(`\n### search\n\n${report}\n`);
  agent.destroy();
}
