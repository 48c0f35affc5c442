import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { DataSource, type DataSourceOptions, type Logger as TypeOrmLogger } from 'typeorm';
import { migrations } from '../../migrations/index.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { MAX_PREPARED_STATEMENTS } from './prepared.js';
import { entities } from './entities/index.js';
import { syncCommitsWith, WalSync } from './walSync.js';

export type DatabaseOptions = {
  /** Called with each SQL statement; tests count queries with it. */
  onQuery?: (sql: string) => void;
};

/** How long a pooled MySQL connection may take to connect, so an outage fails fast instead of hanging requests. */
const MYSQL_CONNECT_TIMEOUT_MS = 5_000;
const MYSQL_POOL_SIZE = 10;
/** How long a SQLite statement waits for a lock held by another process (e.g. `npm run db:migrate`). */
const SQLITE_BUSY_TIMEOUT_MS = 5_000;

class QueryLogger implements TypeOrmLogger {
  constructor(
    private readonly logger: Logger,
    private readonly onQuery?: (sql: string) => void,
  ) {}
  logQuery(sql: string) {
    this.onQuery?.(sql);
  }
  // Parameters are never logged: they hold password hashes and message bodies.
  logQueryError(error: string | Error, sql: string) {
    this.logger.debug({ err: error, sql }, 'query failed');
  }
  logQuerySlow(time: number, sql: string) {
    this.logger.warn({ time, sql }, 'slow query');
  }
  logSchemaBuild() {}
  logMigration(message: string) {
    this.logger.info(message);
  }
  log(level: 'log' | 'info' | 'warn', message: unknown) {
    if (level === 'warn') this.logger.warn({ message }, 'database warning');
  }
}

/** The embedded database: its commits wait for the fsyncs of its WAL (db/walSync.ts), whose file closes with it. */
class EmbeddedDataSource extends DataSource {
  constructor(
    options: DataSourceOptions,
    private readonly walSync: WalSync,
  ) {
    super(options);
    syncCommitsWith(this, walSync);
  }

  override async destroy(): Promise<void> {
    await super.destroy();
    await this.walSync.close();
  }
}

async function createMysqlDatabaseIfMissing(url: string): Promise<void> {
  const parsed = new URL(url);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database) throw new Error('DATABASE_URL must name a database');
  parsed.pathname = '/';
  const connection = await createConnection({ uri: parsed.toString(), connectTimeout: MYSQL_CONNECT_TIMEOUT_MS });
  try {
    await connection.query(
      `CREATE DATABASE IF NOT EXISTS ${connection.escapeId(database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
    );
  } finally {
    await connection.end();
  }
}

export function createDataSource(config: Config, logger: Logger, options: DatabaseOptions = {}): DataSource {
  const common = {
    entities,
    migrations,
    migrationsRun: false,
    synchronize: false,
    logging: options.onQuery
      ? ['query' as const, 'error' as const, 'warn' as const, 'migration' as const]
      : ['error' as const, 'warn' as const, 'migration' as const],
    logger: new QueryLogger(logger, options.onQuery),
    maxQueryExecutionTime: 1_000,
  };
  if (config.database.kind === 'mysql') {
    return new DataSource({
      ...common,
      type: 'mysql',
      url: config.database.url,
      charset: 'utf8mb4_bin',
      timezone: 'Z',
      supportBigNumbers: true,
      bigNumberStrings: false,
      connectTimeout: MYSQL_CONNECT_TIMEOUT_MS,
      poolSize: MYSQL_POOL_SIZE,
      // TypeORM sends plain queries; only the hot path prepares statements
      // (db/prepared.ts), a few sizes of each: mysql2 would otherwise set
      // aside a cache for 16,000 of them on every pooled connection.
      extra: { maxPreparedStatements: MAX_PREPARED_STATEMENTS },
    });
  }
  return new EmbeddedDataSource(
    {
      ...common,
      type: 'better-sqlite3',
      database: config.database.path,
      enableWAL: true,
      timeout: SQLITE_BUSY_TIMEOUT_MS,
      prepareDatabase: (database: { pragma(sql: string): unknown }) => {
        // A COMMIT writes the log without fsyncing it on the event loop; the fsync
        // follows on the thread pool, and transaction() waits for it (db/walSync.ts).
        database.pragma('synchronous = NORMAL');
        // A statement that may fail halfway inside a transaction (a send batch's
        // multi-row inserts) first copies each page it changes to a statement
        // journal, to undo only itself. Past 64 KB that journal went to a
        // temporary file, in a write per page: about 5 % of the server's CPU
        // in the WebSocket throughput bench (docs/benchmarks.md, tenth pass).
        // In memory, it is only a copy, and it is gone at the statement's end.
        database.pragma('temp_store = MEMORY');
      },
    },
    new WalSync(`${config.database.path}-wal`),
  );
}

/** Creates the database (MySQL) or its folder (SQLite) if missing, connects, and applies pending migrations. */
export async function openDatabase(config: Config, logger: Logger, options: DatabaseOptions = {}): Promise<DataSource> {
  if (config.database.kind === 'mysql') await createMysqlDatabaseIfMissing(config.database.url);
  else mkdirSync(dirname(config.database.path), { recursive: true });
  const dataSource = createDataSource(config, logger, options);
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'all' });
  return dataSource;
}
