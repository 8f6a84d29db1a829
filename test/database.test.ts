import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { FileSentEmailLedger } from '../activities/sent-email-ledger.js';
import { PostgresSentEmailLedger } from '../activities/postgres-sent-email-ledger.js';
import { createLogger } from '../config/logger.js';
import { importFileState } from '../database/import-files.js';
import { loadMigrations, MIGRATIONS_DIR, openDatabase, type Database } from '../database/index.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../scripts/postgres.js';
import { FileVault, PostgresVault, SecretRevokedError, type SecretRef } from '../vault/index.js';
import { freePort } from './free-port.js';
import { capturedLogger, eventually } from './support.js';

const silent = createLogger({ level: 'silent' });
const audit = { actor: 'test-suite', purpose: 'checking the import' };

let server: EmbeddedPostgres;
let scratch: string;
const opened: Database[] = [];

/** A database of its own for one test, and a pool on it (closed after the test). */
async function freshDatabase(): Promise<{ url: string; database: Database }> {
  const url = await server.createDatabase(`t_${randomBytes(6).toString('hex')}`);
  const database = openDatabase(url, silent);
  opened.push(database);
  return { url, database };
}

beforeAll(async () => {
  server = await startEmbeddedPostgres({ port: await freePort(), database: 'database_test', onProgress: () => {} });
});

afterAll(async () => {
  await server?.close();
});

beforeEach(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'database-test-'));
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((database) => database.close()));
  await rm(scratch, { recursive: true, force: true });
});

describe('migrations', () => {
  it('a new database gets every migration, recorded in schema_migrations; a second run applies nothing', async () => {
    const { database } = await freshDatabase();
    const files = (await loadMigrations()).map((m) => m.name);

    const firstRun = await database.migrate();
    const secondRun = await database.migrate();

    expect(files[0]).toBe('001_engine_state.sql');
    expect(firstRun).toEqual({ applied: files, version: files.length });
    expect(secondRun).toEqual({ applied: [], version: files.length });
    const { rows } = await database.query('SELECT version, name FROM schema_migrations ORDER BY version');
    expect(rows).toEqual(files.map((name, i) => ({ version: i + 1, name })));
    const tables = await database.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name");
    expect(tables.rows.map((row) => row.table_name)).toEqual(['schema_migrations', 'secret_audit', 'sent_emails', 'state_imports', 'vault_secrets']);
  });

  it('five processes starting at once migrate once: the others wait for the lock and find nothing to do', async () => {
    const { url } = await freshDatabase();
    const processes = Array.from({ length: 5 }, () => {
      const database = openDatabase(url, silent);
      opened.push(database);
      return database;
    });

    const results = await Promise.all(processes.map((database) => database.migrate()));

    expect(results.filter((result) => result.applied.length > 0)).toHaveLength(1);
    const { rows } = await processes[0]!.query('SELECT count(*)::int AS n FROM schema_migrations');
    expect(rows[0]!.n).toBe((await loadMigrations()).length);
  });

  it('a later migration file is applied at the next start, in its own version', async () => {
    const dir = path.join(scratch, 'migrations');
    await mkdir(dir);
    for (const file of await readdir(MIGRATIONS_DIR)) await copyFile(path.join(MIGRATIONS_DIR, file), path.join(dir, file));
    const withDir = openDatabase((await server.createDatabase(`t_${randomBytes(6).toString('hex')}`)), silent, { migrationsDir: dir });
    opened.push(withDir);
    await withDir.migrate();

    await writeFile(path.join(dir, '002_audit_by_actor.sql'), 'CREATE INDEX secret_audit_actor ON secret_audit (actor);\n');
    const result = await withDir.migrate();

    expect(result.applied).toEqual(['002_audit_by_actor.sql']);
    expect(result.version).toBe(2);
    expect((await withDir.query("SELECT 1 FROM pg_indexes WHERE indexname = 'secret_audit_actor'")).rows).toHaveLength(1);
  });

  it('a migration that fails leaves nothing behind: neither its tables nor its record', async () => {
    const dir = path.join(scratch, 'migrations');
    await mkdir(dir);
    await writeFile(path.join(dir, '001_first.sql'), 'CREATE TABLE first_table (id integer);\n');
    await writeFile(path.join(dir, '002_broken.sql'), 'CREATE TABLE second_table (id integer);\nSELECT no_such_column FROM first_table;\n');
    const database = openDatabase(await server.createDatabase(`t_${randomBytes(6).toString('hex')}`), silent, { migrationsDir: dir });
    opened.push(database);

    await expect(database.migrate()).rejects.toThrow(/no_such_column/);

    const tables = await database.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
    expect(tables.rows).toEqual([]);
  });

  it('a migration changed after it was applied is refused: changes go in a new file', async () => {
    const dir = path.join(scratch, 'migrations');
    await mkdir(dir);
    await writeFile(path.join(dir, '001_first.sql'), 'CREATE TABLE first_table (id integer);\n');
    const database = openDatabase(await server.createDatabase(`t_${randomBytes(6).toString('hex')}`), silent, { migrationsDir: dir });
    opened.push(database);
    await database.migrate();

    await writeFile(path.join(dir, '001_first.sql'), 'CREATE TABLE first_table (id bigint);\n');

    await expect(database.migrate()).rejects.toThrow(/001_first.sql was changed after it was applied/);
  });

  it('a migration file with a wrong name is refused', async () => {
    const dir = path.join(scratch, 'migrations');
    await mkdir(dir);
    await writeFile(path.join(dir, 'add-index.sql'), 'SELECT 1;\n');

    await expect(loadMigrations(dir)).rejects.toThrow(/must be named NNN_words.sql/);
  });
});

describe('transactions', () => {
  it('commit when the work resolves, roll back when it throws', async () => {
    const { database } = await freshDatabase();
    await database.query('CREATE TABLE notes (text text)');

    await database.transaction(async (client) => {
      await client.query("INSERT INTO notes VALUES ('kept')");
    });
    await expect(
      database.transaction(async (client) => {
        await client.query("INSERT INTO notes VALUES ('rolled back')");
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');

    expect((await database.query('SELECT text FROM notes')).rows).toEqual([{ text: 'kept' }]);
  });
});

describe('importing the file state', () => {
  const acme: SecretRef = { onboardingId: 'onboarding-crm-acme', name: 'wordpress-api-key' };
  const bakery: SecretRef = { onboardingId: 'onboarding-crm-bakery', name: 'netlify-access-token' };
  const cafe: SecretRef = { onboardingId: 'onboarding-crm-cafe', name: 'wordpress-api-key' };
  let key: Buffer;

  /** A DATA_DIR as the file backends leave it: two live secrets, a revoked one, a corrupt file and two sent emails. */
  async function fileState(): Promise<string> {
    key = randomBytes(32);
    const dataDir = path.join(scratch, 'data');
    const vault = new FileVault(path.join(dataDir, 'vault'), key, silent);
    await vault.put(acme, 'nn_wp_acme_secret_value');
    await vault.put(bakery, 'nfp_bakery_token_value');
    await vault.put(cafe, 'nn_wp_cafe_secret_value');
    await vault.revoke(cafe, { actor: 'offboarding workflow', purpose: 'client churned' });
    await writeFile(path.join(dataDir, 'vault', `${'0'.repeat(64)}.json`), '{"version":1,"onb', { mode: 0o600 });
    const ledger = new FileSentEmailLedger(path.join(dataDir, 'sent-emails'));
    await ledger.record({ messageId: '<signup.onboarding-crm-acme.1@agency.example>', sentAt: '2026-02-03T04:05:06.000Z' });
    await ledger.record({ messageId: '<signup.onboarding-crm-bakery.2@agency.example>', sentAt: '2026-02-04T04:05:06.000Z' });
    return dataDir;
  }

  let url: string;
  async function migrated(): Promise<Database> {
    const fresh = await freshDatabase();
    url = fresh.url;
    await fresh.database.migrate();
    return fresh.database;
  }

  it.each(['api', 'worker'])('the %s process imports it when it starts with DATABASE_URL, and says in its log what it moved', async (processName) => {
    const dataDir = await fileState();
    const { url: databaseUrl, database } = await freshDatabase();
    const child = spawn(process.execPath, ['--import', 'tsx', `${processName}/main.ts`], {
      cwd: path.resolve(import.meta.dirname, '..'),
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: databaseUrl,
        DATA_DIR: dataDir,
        VAULT_KEY: key.toString('base64'),
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        TEMPORAL_TASK_QUEUE: `import-test-${randomBytes(4).toString('hex')}`,
        PORT: String(await freePort()),
        WORKER_METRICS_ADDRESS: `127.0.0.1:${await freePort()}`,
        LOG_LEVEL: 'info',
        LOG_FORMAT: 'json',
        WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    try {
      await eventually(async () => /"msg":"(API listening|worker started)"/.test(output), { timeoutMs: 60_000, what: `the ${processName} to start: ${output}` });
    } finally {
      child.kill('SIGTERM');
    }
    const moved = output.split('\n').find((line) => line.includes('moved into PostgreSQL'));
    expect(JSON.parse(moved!)).toMatchObject({ secrets: 2, revokedSecrets: 1, sentEmails: 2 });
    expect(await new PostgresVault({ database, key, logger: silent }).reveal(acme, audit)).toBe('nn_wp_acme_secret_value');
    expect(output).not.toContain('nn_wp_acme_secret_value');
  });

  it('moves the vault (sealed anew, revocations kept) and the ledger into PostgreSQL, then deletes the moved files', async () => {
    const dataDir = await fileState();
    const database = await migrated();
    const { logger, lines } = capturedLogger();

    const result = await importFileState({ dataDir, vaultKey: key, database, logger });

    expect(result).toEqual({ status: 'imported', summary: { secrets: 2, revokedSecrets: 1, secretsAlreadyPresent: 0, unreadableFiles: 1, sentEmails: 2, unreadableSentEmails: 0 } });
    const vault = new PostgresVault({ database, key, logger: silent });
    expect(await vault.reveal(acme, audit)).toBe('nn_wp_acme_secret_value');
    expect(await vault.reveal(bakery, audit)).toBe('nfp_bakery_token_value');
    await expect(vault.reveal(cafe, audit)).rejects.toBeInstanceOf(SecretRevokedError);
    await expect(vault.put(cafe, 'nn_wp_cafe_again')).rejects.toBeInstanceOf(SecretRevokedError);
    const revoked = await database.query('SELECT revoked_by, revoke_reason FROM vault_secrets WHERE onboarding_id = $1', [cafe.onboardingId]);
    expect(revoked.rows).toEqual([{ revoked_by: 'offboarding workflow', revoke_reason: 'client churned' }]);
    expect(await new PostgresSentEmailLedger(database).find('<signup.onboarding-crm-acme.1@agency.example>')).toEqual({ messageId: '<signup.onboarding-crm-acme.1@agency.example>', sentAt: '2026-02-03T04:05:06.000Z' });
    // Only the corrupt file is left behind; the others live in PostgreSQL now.
    expect(await readdir(path.join(dataDir, 'vault'))).toEqual([`${'0'.repeat(64)}.json`]);
    expect(await readdir(path.join(dataDir, 'sent-emails'))).toEqual([]);
    // The import is in the audit trail; counts in the log, never a value.
    expect((await vault.listAudit({ limit: 100 })).filter((e) => e.action === 'import').map((e) => [e.onboardingId, e.outcome])).toEqual(
      expect.arrayContaining([
        [acme.onboardingId, 'imported'],
        [bakery.onboardingId, 'imported'],
        [cafe.onboardingId, 'imported-revoked'],
      ]),
    );
    expect(lines.join('')).toMatch(/moved into PostgreSQL/);
    expect(lines.join('')).not.toMatch(/secret_value|token_value/);
  });

  it('runs once: a second start, or two at once, finds the marker and moves nothing', async () => {
    const dataDir = await fileState();
    const database = await migrated();
    const other = openDatabase(url, silent);
    opened.push(other);

    const [one, two] = await Promise.all([
      importFileState({ dataDir, vaultKey: key, database, logger: silent }),
      importFileState({ dataDir, vaultKey: key, database: other, logger: silent }),
    ]);
    const again = await importFileState({ dataDir, vaultKey: key, database, logger: silent });

    expect([one.status, two.status].sort()).toEqual(['already-imported', 'imported']);
    expect(again).toMatchObject({ status: 'already-imported', importedAt: expect.any(String), summary: { secrets: 2, revokedSecrets: 1, sentEmails: 2 } });
    expect((await database.query('SELECT count(*)::int AS n FROM vault_secrets')).rows[0]!.n).toBe(3);
    expect((await database.query("SELECT count(*)::int AS n FROM secret_audit WHERE action = 'import'")).rows[0]!.n).toBe(3);
  });

  it('under a wrong vault key it fails whole: nothing is written, no file is deleted, the next start tries again', async () => {
    const dataDir = await fileState();
    const database = await migrated();
    const filesBefore = await readdir(path.join(dataDir, 'vault'));

    await expect(importFileState({ dataDir, vaultKey: randomBytes(32), database, logger: silent })).rejects.toThrow(/cannot be moved into PostgreSQL: .*VAULT_KEY/);

    expect((await database.query('SELECT count(*)::int AS n FROM vault_secrets')).rows[0]!.n).toBe(0);
    expect((await database.query('SELECT count(*)::int AS n FROM state_imports')).rows[0]!.n).toBe(0);
    expect(await readdir(path.join(dataDir, 'vault'))).toEqual(filesBefore);
    expect((await importFileState({ dataDir, vaultKey: key, database, logger: silent })).status).toBe('imported');
  });

  it('a revocation in the files applies to an entry PostgreSQL already holds; a live one there is left as it is', async () => {
    const dataDir = await fileState();
    const database = await migrated();
    const vault = new PostgresVault({ database, key, logger: silent });
    await vault.put(cafe, 'nn_wp_cafe_in_postgres');
    await vault.put(acme, 'nn_wp_acme_in_postgres');

    const result = await importFileState({ dataDir, vaultKey: key, database, logger: silent });

    expect(result.summary).toMatchObject({ secrets: 1, revokedSecrets: 1, secretsAlreadyPresent: 1 });
    await expect(vault.reveal(cafe, audit)).rejects.toBeInstanceOf(SecretRevokedError);
    expect(await vault.reveal(acme, audit)).toBe('nn_wp_acme_in_postgres');
  });

  it('with no file state at all it records that, and does not look again', async () => {
    const database = await migrated();

    expect(await importFileState({ dataDir: path.join(scratch, 'empty'), vaultKey: randomBytes(32), database, logger: silent })).toMatchObject({ status: 'nothing-to-import', summary: { secrets: 0, sentEmails: 0 } });
    expect((await importFileState({ dataDir: path.join(scratch, 'empty'), vaultKey: randomBytes(32), database, logger: silent })).status).toBe('already-imported');
  });
});
