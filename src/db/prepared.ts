// Prepared statements for the hot path (the group-commit send, db/messages.ts):
// mysql2's `execute` on the connection TypeORM's query runner holds (inside a
// transaction) or on TypeORM's pool, and better-sqlite3's prepared statements
// on the one SQLite connection, cached by their text. TypeORM stays in charge
// of entities, migrations and every other query; this only skips its query
// building and result mapping (about a sixth of a send's CPU in the profiles,
// docs/benchmarks.md) and the server's parsing of each statement.
import { LRUCache } from 'lru-cache';
import type { DataSource, EntityManager, EntityMetadata, EntityTarget, ObjectLiteral } from 'typeorm';

/** Prepared statements kept per connection: the send path's statements for the usual batch sizes. */
export const MAX_PREPARED_STATEMENTS = 128;

/** What a statement returns: its rows (SELECT, RETURNING), or what it changed. */
export type Executed = { rows: Record<string, unknown>[]; affectedRows: number; insertId: number };

type MysqlConnection = {
  execute(
    sql: string,
    params: unknown[],
    callback: (
      error: Error | null,
      result: Record<string, unknown>[] | { affectedRows: number; insertId: number },
    ) => void,
  ): void;
};

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
 * its own. Parameters must not be undefined.
 */
export async function execute(manager: EntityManager, sql: string, params: unknown[]): Promise<Executed> {
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
  const connection = (
    manager.queryRunner
      ? await manager.queryRunner.connect()
      : (dataSource.driver as unknown as { pool: MysqlConnection }).pool
  ) as MysqlConnection;
  return new Promise((resolve, reject) => {
    connection.execute(sql, params, (error, result) => {
      if (error) return reject(error);
      if (Array.isArray(result)) resolve({ rows: result, affectedRows: 0, insertId: 0 });
      else resolve({ rows: [], affectedRows: result.affectedRows, insertId: Number(result.insertId) });
    });
  });
}

/** Per entity: the start of its SELECT, every column by name, as TypeORM's find reads them. */
const selectHeads = new WeakMap<EntityMetadata, string>();

/**
 * The rows of `entity` that `tail` selects (`WHERE …`, `ORDER BY …`, on its
 * columns, `?` parameters), as entities: a prepared statement, each value
 * converted by TypeORM's own driver (dates, booleans, transformers) as its
 * `find` would. For the feed's reads, which run once per batch of events on
 * every instance with subscribers.
 */
export async function selectEntities<T extends ObjectLiteral>(
  manager: EntityManager,
  entity: EntityTarget<T>,
  tail: string,
  params: unknown[],
): Promise<T[]> {
  const dataSource = manager.connection;
  const metadata = dataSource.getMetadata(entity);
  let head = selectHeads.get(metadata);
  if (head === undefined) {
    const escape = (name: string) => dataSource.driver.escape(name);
    const columns = metadata.columns.map((column) => escape(column.databaseName)).join(', ');
    selectHeads.set(metadata, (head = `SELECT ${columns} FROM ${escape(metadata.tableName)} `));
  }
  const { rows } = await execute(manager, head + tail, params);
  return rows.map((row) => {
    const hydrated = metadata.create() as T;
    for (const column of metadata.columns) {
      column.setEntityValue(hydrated, dataSource.driver.prepareHydratedValue(row[column.databaseName], column));
    }
    return hydrated;
  });
}

/**
 * `?, ?, …` for an IN list of `values`, and its parameters. The list is padded
 * to a power of two by repeating its last value (which changes no IN), so a
 * few prepared statements serve every length instead of one per length.
 */
export function inList<V>(values: readonly V[]): { placeholders: string; params: V[] } {
  if (values.length === 0) return { placeholders: 'NULL', params: [] }; // IN (NULL) matches nothing
  let size = 1;
  while (size < values.length) size *= 2;
  const params = [...values];
  while (params.length < size) params.push(values[values.length - 1]!);
  return { placeholders: PLACEHOLDERS[Math.log2(size)] ?? params.map(() => '?').join(', '), params };
}

/** `?`, `?, ?`, `?, ?, ?, ?`, … up to 1,024. */
const PLACEHOLDERS = Array.from({ length: 11 }, (_, power) => Array.from({ length: 2 ** power }, () => '?').join(', '));
