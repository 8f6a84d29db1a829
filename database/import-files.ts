/**
 * The one-shot move of a file-based engine's state into PostgreSQL: the file vault (`<dataDir>/vault/*.json`) and
 * the sent-email ledger (`<dataDir>/sent-emails/*.json`). It runs once per database (a row in `state_imports`
 * records it, with what it moved) and is all or nothing: one transaction, under a lock, so two processes starting
 * at once import once.
 */
import { readdir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { PoolClient } from 'pg';
import type { Logger } from 'pino';
import type { SecretName } from '../platforms/catalog.js';
import { parseSealedSecretFile, sealedBytesOf } from '../vault/file-vault.js';
import { assertVaultKey, openSecret, sealSecret } from '../vault/sealing.js';
import { processOrigin, type Database } from './index.js';

export const FILE_STATE_IMPORT = 'file-state';
/** The key of the advisory lock held while importing (any fixed 64-bit number). */
const IMPORT_LOCK = 7_140_251_906_611_534n;

export interface FileStateImportSummary {
  /** Live secrets moved into PostgreSQL, sealed anew. */
  secrets: number;
  /** Revocation records moved (no value: revoked entries have none). */
  revokedSecrets: number;
  /** Entries PostgreSQL already had (left as they are; a revocation in the file still applies). */
  secretsAlreadyPresent: number;
  /** Files in the vault folder that hold no readable entry (corrupt): left where they are, named in the log. */
  unreadableFiles: number;
  /** Sent emails moved into the ledger. */
  sentEmails: number;
  /** Ledger files that could not be read: left where they are. */
  unreadableSentEmails: number;
}

export type FileStateImport =
  | { status: 'imported'; summary: FileStateImportSummary }
  | { status: 'already-imported'; importedAt: string; summary: FileStateImportSummary }
  /** Neither a vault nor a ledger folder under dataDir: the marker is written so it is not looked for again. */
  | { status: 'nothing-to-import'; summary: FileStateImportSummary };

export interface ImportFileStateOptions {
  dataDir: string;
  vaultKey: Buffer;
  database: Database;
  logger: Logger;
}

/**
 * Moves the file vault and ledger under dataDir into PostgreSQL, once. Each secret is decrypted with the vault key
 * and sealed anew (a wrong key fails the import: nothing is written, and the next start tries again). Once the
 * import is committed the moved files are deleted: a secret revoked in PostgreSQL later must not live on in a file.
 * Corrupt files are left in place and counted.
 */
export async function importFileState(options: ImportFileStateOptions): Promise<FileStateImport> {
  assertVaultKey(options.vaultKey);
  const log = options.logger.child({ component: 'database', import: FILE_STATE_IMPORT });
  const vaultDir = path.resolve(options.dataDir, 'vault');
  const ledgerDir = path.resolve(options.dataDir, 'sent-emails');
  const origin = processOrigin();

  const result = await options.database.transaction(async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [IMPORT_LOCK.toString()]);
    const done = await client.query<{ imported_at: Date; summary: FileStateImportSummary }>('SELECT imported_at, summary FROM state_imports WHERE name = $1', [FILE_STATE_IMPORT]);
    if (done.rows[0]) return { status: 'already-imported' as const, importedAt: done.rows[0].imported_at.toISOString(), summary: done.rows[0].summary, moved: [] as string[] };

    const summary: FileStateImportSummary = { secrets: 0, revokedSecrets: 0, secretsAlreadyPresent: 0, unreadableFiles: 0, sentEmails: 0, unreadableSentEmails: 0 };
    const moved: string[] = [];
    const vaultFiles = await jsonFilesIn(vaultDir);
    const ledgerFiles = await jsonFilesIn(ledgerDir);

    for (const file of vaultFiles ?? []) {
      const parsed = parseSealedSecretFile(await readFile(file, 'utf8'));
      if (!parsed.sealed) {
        summary.unreadableFiles++;
        log.warn({ file: path.basename(file), problem: parsed.problem }, 'vault file not imported: it holds no readable entry (left in place)');
        continue;
      }
      const entry = parsed.sealed;
      const ref = { onboardingId: entry.onboardingId, name: entry.name as SecretName };
      if (entry.revokedAt) {
        // Revocation is final: it also applies to an entry PostgreSQL already holds.
        const written = await client.query<{ inserted: boolean }>(
          `INSERT INTO vault_secrets (onboarding_id, name, version, created_at, updated_at, revoked_at, revoked_by, revoke_reason)
             VALUES ($1, $2, 1, $3, $4, $5, $6, $7)
             ON CONFLICT (onboarding_id, name) DO UPDATE
               SET version = vault_secrets.version + 1, iv = NULL, tag = NULL, ciphertext = NULL, updated_at = now(),
                   revoked_at = EXCLUDED.revoked_at, revoked_by = EXCLUDED.revoked_by, revoke_reason = EXCLUDED.revoke_reason
               WHERE vault_secrets.revoked_at IS NULL
             RETURNING version`,
          [ref.onboardingId, ref.name, entry.createdAt, entry.updatedAt, entry.revokedAt, entry.revokedBy ?? null, entry.revokeReason ?? null],
        );
        if (written.rows.length === 0) {
          summary.secretsAlreadyPresent++;
        } else {
          summary.revokedSecrets++;
          await audit(client, ref, 'imported-revoked', origin);
        }
      } else {
        let value: string;
        try {
          value = openSecret(options.vaultKey, ref, sealedBytesOf(entry));
        } catch (err) {
          // Under another key: the whole import rolls back, and runs again at the next start.
          throw new Error(`the file vault in ${vaultDir} cannot be moved into PostgreSQL: ${(err as Error).message}; start again with the VAULT_KEY it was sealed under`);
        }
        const sealed = sealSecret(options.vaultKey, ref, value);
        const written = await client.query(
          `INSERT INTO vault_secrets (onboarding_id, name, version, iv, tag, ciphertext, created_at, updated_at)
             VALUES ($1, $2, 1, $3, $4, $5, $6, $7)
             ON CONFLICT (onboarding_id, name) DO NOTHING`,
          [ref.onboardingId, ref.name, sealed.iv, sealed.tag, sealed.ciphertext, entry.createdAt, entry.updatedAt],
        );
        if (written.rowCount === 0) {
          summary.secretsAlreadyPresent++;
        } else {
          summary.secrets++;
          await audit(client, ref, 'imported', origin);
        }
      }
      moved.push(file);
    }

    for (const file of ledgerFiles ?? []) {
      let sent: { messageId?: unknown; sentAt?: unknown };
      try {
        sent = JSON.parse(await readFile(file, 'utf8')) as typeof sent;
      } catch {
        sent = {};
      }
      if (typeof sent.messageId !== 'string' || typeof sent.sentAt !== 'string' || Number.isNaN(Date.parse(sent.sentAt))) {
        summary.unreadableSentEmails++;
        log.warn({ file: path.basename(file) }, 'sent-email file not imported: it holds no readable record (left in place)');
        continue;
      }
      await client.query(
        `INSERT INTO sent_emails (message_id, state, sent_at) VALUES ($1, 'sent', $2)
         ON CONFLICT (message_id) DO UPDATE SET state = 'sent', sent_at = COALESCE(sent_emails.sent_at, EXCLUDED.sent_at)`,
        [sent.messageId, sent.sentAt],
      );
      summary.sentEmails++;
      moved.push(file);
    }

    await client.query('INSERT INTO state_imports (name, summary) VALUES ($1, $2)', [FILE_STATE_IMPORT, JSON.stringify(summary)]);
    const status = vaultFiles === undefined && ledgerFiles === undefined ? ('nothing-to-import' as const) : ('imported' as const);
    return { status, summary, moved };
  });

  if (result.status === 'already-imported') {
    log.debug({ importedAt: result.importedAt }, 'file state was imported into PostgreSQL before');
    return { status: result.status, importedAt: result.importedAt, summary: result.summary };
  }
  // Committed: the files are in PostgreSQL now, and a later revocation there must not leave a sealed copy here.
  let notDeleted = 0;
  for (const file of result.moved) {
    await unlink(file).catch(() => {
      notDeleted++;
    });
  }
  if (notDeleted > 0) log.warn({ notDeleted, vaultDir, ledgerDir }, 'some imported files could not be deleted; delete them by hand');
  if (result.status === 'imported') log.info({ ...result.summary }, 'file vault and sent-email ledger moved into PostgreSQL');
  return { status: result.status, summary: result.summary };
}

/** The `*.json` files of a folder (not the `.corrupt-*` or `.tmp` files beside them); undefined when it does not exist. */
async function jsonFilesIn(directory: string): Promise<string[] | undefined> {
  try {
    return (await readdir(directory)).filter((name) => name.endsWith('.json')).sort().map((name) => path.join(directory, name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function audit(client: PoolClient, ref: { onboardingId: string; name: string }, outcome: string, origin: string): Promise<void> {
  await client.query(
    `INSERT INTO secret_audit (onboarding_id, secret_name, action, actor, purpose, outcome, version, origin)
     VALUES ($1, $2, 'import', 'file-state import', 'moving the file vault into PostgreSQL', $3, NULL, $4)`,
    [ref.onboardingId, ref.name, outcome, origin],
  );
}

/**
 * A worker's or API's start with DATABASE_URL: file state left under DATA_DIR by an earlier version moves into
 * PostgreSQL, once per database (the first process to start does it; the others find it done). The log says what moved.
 */
export async function importFileStateAtStart(options: { dataDir: string; vaultKey: () => Promise<Buffer>; database: Database; logger: Logger }): Promise<FileStateImport> {
  const dataDir = path.resolve(options.dataDir);
  return importFileState({ dataDir, vaultKey: await options.vaultKey(), database: options.database, logger: options.logger });
}
