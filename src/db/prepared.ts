// Prepared statements for the hot path (the group-commit send, db/messages.ts):
// mysql2's `execute` on the connection TypeORM's query runner holds (inside a
// transaction) or on TypeORM's pool, and better-sqlite3's prepared statements
// on the one SQLite connection, cached by their text. TypeORM stays in charge
// of entities, migrations and every other query; this only skips its query
// building and result mapping (about a sixth of a send's CPU in the profiles,
// docs/benchmarks.md) and the server's parsing of each statement. A statement
// whose text changes with the batch goes to MySQL as text instead
// (executeVaryingText), or is padded to a few sizes (paddedToPowerOfTwo).
import { LRUCache } from 'lru-cache';
import type { DataSource, EntityManager } from 'typeorm';

/** Prepared statements kept per connection: the hot path's, each in a few sizes (paddedToPowerOfTwo). */
export const MAX_PREPARED_STATEMENTS = 128;

/** What a statement returns: its rows (SELECT, RETURNING), or what it changed. */
export type Executed = { rows: Record<string, unknown>[]; affectedRows: number; insertId: number };

type MysqlCallback = (
  error: Error | null,
  result: Record<string, unknown>[] | { affectedRows: number; insertId: number },
) => void;
type MysqlConnection = {
  execute(sql: string, params: unknown[], callback: MysqlCallback): void;
  query(sql: string, params: unknown[], callback: MysqlCallback): void;
};

/** TypeORM's MySQL query runner: its connection, once it holds one (always, inside a transaction). */
type MysqlQueryRunner = { databaseConnection?: MysqlConnection; connect(): Promise<unknown> };

/** The little of better-sqlite3's API used here (the package ships no types). */
type SqliteStatement = {
  readonly reader: boolean;
  all(...params: unknown[]): Record<string, unknown>[];
  run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
};
type SqliteDatabase = { prepare(sql: string): SqliteStatement };

const sqliteStatements = new WeakMap<SqliteDatabase, LRUCache<string, SqliteStatement>>();

function sqliteStatement(database: SqliteDatabase, sql: string): SqliteStatement {
  let cache = sqliteStatements.get(database);
  if (!cache) sqliteStatements.set(database, (cache = new LRUCache({ max: MAX_PREPARED_STATEMENTS })));
  let statement = cache.get(sql);
  if (!statement) cache.set(sql, (statement = database.prepare(sql)));
  return statement;
}

/** better-sqlite3 binds no Date: dates go in as TypeORM writes them (UTC text). */
function sqliteParameter(dataSource: DataSource, value: unknown): unknown {
  return value instanceof Date ? dataSource.driver.preparePersistentValue(value, DATETIME_COLUMN) : value;
}

/** Stands for every `datetime` column: all the send path writes are datetime(3). */
const DATETIME_COLUMN = { type: 'datetime', transformer: undefined } as never;

/**
 * Runs `sql` as a prepared statement on the connection of `manager`'s
 * transaction (or, outside one, any pooled connection), logged as TypeORM logs
 * its own. Parameters must not be undefined. In a transaction, statements run
 * in the order of the calls, whether or not each waits for the one before
 * (db/messages.ts sends several at once): on SQLite each runs inside the
 * call, and on MySQL the call hands it to the transaction's connection at
 * once, which runs its commands in order.
 */
export function execute(manager: EntityManager, sql: string, params: unknown[]): Promise<Executed> {
  return run(manager, sql, params, true);
}

/**
 * `execute` for a statement whose text changes with its batch: a multi-row
 * insert has one text per row count. On MySQL each new text would be
 * prepared first, a round trip more (inside the send's transaction, under
 * the event-log lock) and a slot of the connection's cache, and a group
 * commit's batches come in every size: in the WebSocket throughput bench
 * about one statement in eight was a prepare (docs/benchmarks.md, twelfth
 * pass). So there it goes as text, with its values escaped by mysql2, as
 * TypeORM sends its own queries: one round trip, nothing cached. SQLite
 * prepares in the process, without a round trip: it prepares as `execute`.
 */
export function executeVaryingText(manager: EntityManager, sql: string, params: unknown[]): Promise<Executed> {
  return run(manager, sql, params, false);
}

async function run(manager: EntityManager, sql: string, params: unknown[], prepare: boolean): Promise<Executed> {
  const dataSource = manager.connection;
  dataSource.logger.logQuery(sql, params);
  if (dataSource.options.type === 'better-sqlite3') {
    const database = (dataSource.driver as unknown as { databaseConnection: SqliteDatabase }).databaseConnection;
    const statement = sqliteStatement(database, sql);
    const bound = params.map((value) => sqliteParameter(dataSource, value));
    if (statement.reader) return { rows: statement.all(...bound), affectedRows: 0, insertId: 0 };
    const result = statement.run(...bound);
    return { rows: [], affectedRows: result.changes, insertId: Number(result.lastInsertRowid) };
  }
  const runner = manager.queryRunner as MysqlQueryRunner | undefined;
  const connection = runner
    ? (runner.databaseConnection ?? ((await runner.connect()) as MysqlConnection))
    : (dataSource.driver as unknown as { pool: MysqlConnection }).pool;
  return new Promise((resolve, reject) => {
    const answer: MysqlCallback = (error, result) => {
      if (error) return reject(error);
      if (Array.isArray(result)) resolve({ rows: result, affectedRows: 0, insertId: 0 });
      else resolve({ rows: [], affectedRows: result.affectedRows, insertId: Number(result.insertId) });
    };
    if (prepare) connection.execute(sql, params, answer);
    else connection.query(sql, params, answer);
  });
}

type EntityClass<T> = new () => T;

/**
 * The entity's columns for a SELECT, each as `${alias}_${column}` (the prefix
 * `hydrate` takes), or as itself without an alias.
 */
export function selectColumns(dataSource: DataSource, target: EntityClass<object>, alias?: string): string {
  const escape = (name: string) => dataSource.driver.escape(name);
  return dataSource
    .getMetadata(target)
    .columns.map((column) =>
      alias === undefined
        ? escape(column.databaseName)
        : `${alias}.${escape(column.databaseName)} AS ${escape(`${alias}_${column.databaseName}`)}`,
    )
    .join(', ');
}

/**
 * An entity from a row `execute` returned, each column converted as TypeORM
 * converts its own results (dates, booleans, transformers); `prefix` picks the
 * columns of one table of a join, as `selectColumns` names them.
 */
export function hydrate<T extends object>(
  dataSource: DataSource,
  target: EntityClass<T>,
  row: Record<string, unknown>,
  prefix = '',
): T {
  const entity = new target();
  for (const column of dataSource.getMetadata(target).columns) {
    const value = dataSource.driver.prepareHydratedValue(row[`${prefix}${column.databaseName}`], column);
    (entity as Record<string, unknown>)[column.propertyName] = value;
  }
  return entity;
}

/** The entities with these ids (a primary key named `id`), in no particular order: what the per-request loaders fetch. */
export async function findByIds<T extends object>(
  dataSource: DataSource,
  target: EntityClass<T>,
  ids: readonly number[],
): Promise<T[]> {
  const list = inList(ids);
  return selectEntities(dataSource.manager, target, `WHERE id IN (${list.placeholders})`, list.params);
}

/** Per database (each quotes names its own way) and entity: the start of its SELECT, every column by name. */
const selectHeads = new WeakMap<DataSource, Map<EntityClass<object>, string>>();

/**
 * The rows of `target` that `tail` selects (`WHERE …`, `ORDER BY …`, on its
 * columns, `?` parameters), as entities (`hydrate`): a prepared statement.
 * For the feed's reads, which run once per batch of events on every instance
 * with subscribers, and the per-request loaders.
 */
export async function selectEntities<T extends object>(
  manager: EntityManager,
  target: EntityClass<T>,
  tail: string,
  params: unknown[],
): Promise<T[]> {
  const dataSource = manager.connection;
  let heads = selectHeads.get(dataSource);
  if (!heads) selectHeads.set(dataSource, (heads = new Map()));
  let head = heads.get(target);
  if (head === undefined) {
    const { tableName } = dataSource.getMetadata(target);
    head = `SELECT ${selectColumns(dataSource, target)} FROM ${dataSource.driver.escape(tableName)} `;
    heads.set(target, head);
  }
  const { rows } = await execute(manager, head + tail, params);
  return rows.map((row) => hydrate(dataSource, target, row));
}

/**
 * `values` padded to a power of two by repeating the last (which changes no
 * IN list, OR of conditions or CASE), so that a few prepared statements serve
 * every length instead of one per length.
 */
export function paddedToPowerOfTwo<V>(values: readonly V[]): V[] {
  if (values.length === 0) return [];
  let size = 1;
  while (size < values.length) size *= 2;
  const padded = [...values];
  while (padded.length < size) padded.push(values[values.length - 1]!);
  return padded;
}

/** `?, ?, …` for an IN list of `values`, and its parameters, padded (paddedToPowerOfTwo). */
export function inList<V>(values: readonly V[]): { placeholders: string; params: V[] } {
  if (values.length === 0) return { placeholders: 'NULL', params: [] }; // IN (NULL) matches nothing
  const params = paddedToPowerOfTwo(values);
  return { placeholders: PLACEHOLDERS[Math.log2(params.length)] ?? params.map(() => '?').join(', '), params };
}

/** `?`, `?, ?`, `?, ?, ?, ?`, … up to 1,024. */
const PLACEHOLDERS = Array.from({ length: 11 }, (_, power) => Array.from({ length: 2 ** power }, () => '?').join(', '));
