/**
 * The engine's PostgreSQL: one pool per process and the schema's migrations. Workers and APIs on many machines
 * share their state through it (the vault, its audit trail, the sent-email ledger).
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Logger } from 'pino';

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** The key of the advisory lock that makes one process at a time migrate (any fixed 64-bit number). */
const MIGRATION_LOCK = 7_140_251_906_611_533n;

export interface Migration {
  version: number;
  /** The file name, e.g. `001_engine_state.sql`. */
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationResult {
  /** The migrations this call applied, by file name; empty when the schema was up to date. */
  applied: string[];
  /** The schema's version afterwards: the highest applied migration. */
  version: number;
}

export interface Database {
  readonly pool: pg.Pool;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  /** Runs `work` in one transaction on one connection: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  /** Applies the migrations this code has and the database lacks; safe to call from many processes at once. */
  migrate(): Promise<MigrationResult>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** Connections in this process's pool; default 10. */
  maxConnections?: number;
  /** Shown in pg_stat_activity; default `onboarding-engine`. */
  applicationName?: string;
  /** Where the migration files are; default database/migrations. */
  migrationsDir?: string;
}

/** A pool on DATABASE_URL; it connects on first use. The URL (it holds a password) is never logged. */
export function openDatabase(url: string, logger: Logger, options: DatabaseOptions = {}): Database {
  const log = logger.child({ component: 'database' });
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    application_name: options.applicationName ?? 'onboarding-engine',
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle connection that the server drops must not crash the process; the pool replaces it.
  pool.on('error', (err) => log.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, 'an idle database connection failed'));

  const transaction = async <T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw err;
    } finally {
      client.release(broken);
    }
  };

  return {
    pool,
    query: (text, values) => pool.query(text, values),
    transaction,
    migrate: async () => migrate(transaction, log, options.migrationsDir ?? MIGRATIONS_DIR),
    close: () => pool.end(),
  };
}

/** The migration files, ordered by version: `NNN_name.sql`. */
export async function loadMigrations(directory: string = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(directory)).filter((file) => file.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const name of files) {
    const match = /^(\d+)_[a-z0-9_]+\.sql$/.exec(name);
    if (!match) throw new Error(`migration file ${name} must be named NNN_words.sql (e.g. 002_add_index.sql)`);
    const sql = await readFile(path.join(directory, name), 'utf8');
    migrations.push({ version: Number(match[1]), name, sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  const versions = migrations.map((m) => m.version);
  const duplicate = versions.find((version, index) => versions.indexOf(version) !== index);
  if (duplicate !== undefined) throw new Error(`two migration files have version ${duplicate}`);
  return migrations;
}

async function migrate(transaction: Database['transaction'], log: Logger, directory: string): Promise<MigrationResult> {
  const migrations = await loadMigrations(directory);
  return transaction(async (client) => {
    // Held until commit: a second process starting at the same moment waits here, then finds nothing left to do.
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ version: number; name: string; checksum: string }>('SELECT version, name, checksum FROM schema_migrations ORDER BY version');
    const done = new Map(rows.map((row) => [row.version, row]));
    for (const migration of migrations) {
      const recorded = done.get(migration.version);
      if (recorded && recorded.checksum !== migration.checksum) {
        throw new Error(`migration ${migration.name} was changed after it was applied (as ${recorded.name}); put the change in a new migration file instead`);
      }
    }
    const unknown = rows.filter((row) => !migrations.some((m) => m.version === row.version));
    if (unknown.length > 0) {
      // A newer release migrated this database; this process runs older code (e.g. during a rolling deploy).
      log.warn({ versions: unknown.map((row) => row.name) }, 'the database has migrations this code does not know; it was migrated by a newer release');
    }
    const applied: string[] = [];
    for (const migration of migrations.filter((m) => !done.has(m.version))) {
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [migration.version, migration.name, migration.checksum]);
      applied.push(migration.name);
    }
    const version = Math.max(0, ...rows.map((row) => row.version), ...migrations.map((m) => m.version));
    if (applied.length > 0) log.info({ applied, version }, 'database schema migrated');
    else log.debug({ version }, 'database schema up to date');
    return { applied, version };
  });
}

/** Which process acted, for audit rows and send claims: host name and pid. */
export function processOrigin(): string {
  return `${hostname()}:${process.pid}`;
}
