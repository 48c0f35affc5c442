// One keyset page of a conversation's history, read in a single prepared
// statement (db/prepared.ts): the page's messages with their senders, whether
// anything lies behind the cursor the page started from (for exact pageInfo),
// and the event position the page reflects. A page used to take five
// statements, three round trips one after another, and TypeORM's query
// building and result mapping for each: most of a deep page's server time on
// MySQL (issue #11, docs/benchmarks.md).
import type { DataSource } from 'typeorm';
import { Message, User } from './entities/index.js';
import { CURRENT_POSITION_SQL } from './eventLog.js';
import { execute, hydrate, selectColumns } from './prepared.js';
import { readCommitted } from './transaction.js';

export type MessagePageRequest = {
  conversationId: number;
  /** Oldest first after `afterId`, or newest first before `beforeId` (then reversed by the caller). */
  direction: 'forward' | 'backward';
  afterId: number | null;
  beforeId: number | null;
  limit: number;
};

export type MessagePage = {
  /** In the order read: oldest first forward, newest first backward. */
  messages: Message[];
  /** The senders of `messages`, each once. */
  senders: User[];
  /** Whether the conversation has a message at the page's starting cursor or behind it; false without one. */
  beyondStart: boolean;
  /** The event log's position in the snapshot the page was read from: the page reflects everything up to it. */
  position: number;
};

/**
 * The (conversationId, id) index, forced on MariaDB: with only a hint it reads
 * the index by conversationId alone and walks the whole conversation down to
 * the cursor (0.6 s instead of 0.5 ms for a page deep in a million messages),
 * and FORCE INDEX also keeps it for a query it does not cover, the page's rows
 * and senders in the same statement. SQLite plans the range on its own.
 */
const HISTORY_INDEX = 'IDX_messages_conversation_id';

const statements = new WeakMap<DataSource, Map<string, string>>();

/**
 * The statement for one shape of request (direction, which cursors): a head
 * row with the event position and the probe behind the start cursor, then the
 * page's rows with their senders, so an empty page still answers both. One
 * statement reads one snapshot on both databases: the position and the page
 * agree. The head's NULLs stand for the page's columns (a UNION takes its
 * names from the first SELECT).
 */
function pageStatement(dataSource: DataSource, request: MessagePageRequest): string {
  const forward = request.direction === 'forward';
  const startBound = forward ? request.afterId : request.beforeId;
  const key = `${request.direction}:${request.afterId !== null}:${request.beforeId !== null}`;
  let cache = statements.get(dataSource);
  if (!cache) statements.set(dataSource, (cache = new Map()));
  const cached = cache.get(key);
  if (cached) return cached;
  const mysql = dataSource.options.type === 'mysql';
  const hint = mysql ? ` FORCE INDEX (${HISTORY_INDEX})` : '';
  const columns = `${selectColumns(dataSource, Message, 'm')}, ${selectColumns(dataSource, User, 'u')}`;
  const nulls = [Message, User]
    .flatMap((target, index) =>
      dataSource.getMetadata(target).columns.map((column) => `${['m', 'u'][index]}_${column.databaseName}`),
    )
    .map((name) => `NULL AS ${dataSource.driver.escape(name)}`)
    .join(', ');
  const beyond =
    startBound === null
      ? '0'
      : `EXISTS (SELECT 1 FROM messages${hint} WHERE conversationId = ? AND id ${forward ? '<=' : '>='} ?)`;
  const bounds = `${request.afterId !== null ? ' AND m.id > ?' : ''}${request.beforeId !== null ? ' AND m.id < ?' : ''}`;
  const page =
    `SELECT NULL, NULL, ${columns} FROM messages m${hint} LEFT JOIN users u ON u.id = m.senderId ` +
    `WHERE m.conversationId = ?${bounds} ORDER BY m.id ${forward ? 'ASC' : 'DESC'} LIMIT ?`;
  const sql =
    `SELECT position AS head_position, ${beyond} AS head_beyond, ${nulls} FROM (${CURRENT_POSITION_SQL}) head ` +
    // MySQL keeps a parenthesized member's ORDER BY and LIMIT; SQLite takes them only in a subquery.
    `UNION ALL ${mysql ? `(${page})` : `SELECT * FROM (${page})`}`;
  cache.set(key, sql);
  return sql;
}

/** One keyset page of the conversation (the caller checks membership), with what its pageInfo and eventCursor need. */
export async function readMessagePage(dataSource: DataSource, request: MessagePageRequest): Promise<MessagePage> {
  const startBound = request.direction === 'forward' ? request.afterId : request.beforeId;
  const params = [
    ...(startBound === null ? [] : [request.conversationId, startBound]),
    request.conversationId,
    ...(request.afterId === null ? [] : [request.afterId]),
    ...(request.beforeId === null ? [] : [request.beforeId]),
    request.limit,
  ];
  // Committed rows only: on SQLite the one connection may be inside another request's transaction.
  const { rows } = await readCommitted(dataSource, (manager) =>
    execute(manager, pageStatement(dataSource, request), params),
  );
  const head = rows.find((row) => row.m_id === null)!;
  const messages: Message[] = [];
  const senders = new Map<number, User>();
  for (const row of rows) {
    if (row === head) continue;
    messages.push(hydrate(dataSource, Message, row, 'm_'));
    if (row.u_id !== null && !senders.has(Number(row.u_id))) {
      const sender = hydrate(dataSource, User, row, 'u_');
      senders.set(sender.id, sender);
    }
  }
  // In the order read: a UNION promises none for its rows.
  messages.sort((a, b) => (request.direction === 'forward' ? a.id - b.id : b.id - a.id));
  return {
    messages,
    senders: [...senders.values()],
    beyondStart: Number(head.head_beyond) === 1,
    position: Number(head.head_position),
  };
}
