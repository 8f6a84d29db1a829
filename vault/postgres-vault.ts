import type { PoolClient } from 'pg';
import type { Logger } from 'pino';
import { processOrigin, type Database } from '../database/index.js';
import { assertVaultKey, openSecret, sealSecret } from './sealing.js';
import { secretReference, SecretRevokedError, type ReadAudit, type SecretRef, type SecretVault } from './types.js';

/** One line of the vault's audit trail: who did what to which secret, when, and how it ended; never the value. */
export interface SecretAuditEntry {
  id: number;
  at: string;
  onboardingId: string;
  secretName: string;
  action: 'read' | 'write' | 'revoke' | 'import';
  actor: string;
  purpose: string | null;
  /**
   * read: revealed, not-found, revoked, unreadable; write: created, replaced, unchanged, refused-revoked, unreadable;
   * revoke: revoked, nothing-stored (the revocation is recorded all the same), already-revoked; import: imported,
   * imported-revoked.
   */
  outcome: string;
  /** The entry's version after a write or revocation, the one a read saw. */
  version: number | null;
  /** The process that acted: host name and pid. */
  origin: string;
}

export interface AuditQuery {
  onboardingId?: string;
  /** Only entries at or after this moment. */
  since?: Date;
  /** At most this many entries: the first ones after `since`, else the latest ones. */
  limit: number;
}

export interface PostgresVaultOptions {
  database: Database;
  key: Buffer;
  logger: Logger;
  /** Who writes when a put names no one (audit); default `engine`. */
  actor?: string;
}

interface Row {
  version: number;
  iv: Buffer | null;
  tag: Buffer | null;
  ciphertext: Buffer | null;
  revoked_at: Date | null;
}

/**
 * How often a put reads again after another process changed the entry between its read and its write. Every round
 * of a race has a winner, so n writers at once need at most n rounds; a jittered pause spreads them out.
 */
const MAX_WRITE_ATTEMPTS = 100;
const pauseBeforeRetry = (attempt: number) => new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * Math.min(attempt, 10)));

/**
 * The vault in PostgreSQL, shared by every worker and API: values sealed with AES-256-GCM under VAULT_KEY (the
 * database never holds one in clear), writes compared and set on the entry's version, revocation final, and every
 * read, write and revocation in the `secret_audit` table whatever the log level.
 */
export class PostgresVault implements SecretVault {
  private readonly database: Database;
  private readonly key: Buffer;
  private readonly logger: Logger;
  private readonly actor: string;
  private readonly origin = processOrigin();

  constructor(options: PostgresVaultOptions) {
    assertVaultKey(options.key);
    this.database = options.database;
    this.key = options.key;
    this.logger = options.logger;
    this.actor = options.actor ?? 'engine';
  }

  async put(ref: SecretRef, value: string, audit?: ReadAudit) {
    const reference = secretReference(ref);
    const who = { actor: audit?.actor ?? this.actor, purpose: audit?.purpose ?? null };
    for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
      const row = await this.select(ref);
      if (row?.revoked_at) {
        await this.audit(ref, 'write', who, 'refused-revoked', row.version);
        this.log('warn', ref, 'secret.write', who, 'refused-revoked', 'secret not stored: it was revoked');
        throw new SecretRevokedError(reference, row.revoked_at.toISOString());
      }
      if (row) {
        let current: string;
        try {
          current = this.open(ref, row);
        } catch (err) {
          // Sealed under another key: a wrong VAULT_KEY must not overwrite good entries.
          await this.audit(ref, 'write', who, 'unreadable', row.version);
          throw err;
        }
        if (current === value) {
          await this.audit(ref, 'write', who, 'unchanged', row.version);
          return { reference, outcome: 'unchanged' as const };
        }
      }
      const sealed = sealSecret(this.key, ref, value);
      const outcome = row ? ('replaced' as const) : ('created' as const);
      // The write and its audit row in one statement: both or neither. Nothing is written when another process got
      // there first (a row now exists, or its version moved on): then read again and decide anew.
      const write = row
        ? `UPDATE vault_secrets SET version = version + 1, iv = $3, tag = $4, ciphertext = $5, updated_at = now()
             WHERE onboarding_id = $1 AND name = $2 AND version = $6 AND revoked_at IS NULL
             RETURNING version`
        : `INSERT INTO vault_secrets (onboarding_id, name, version, iv, tag, ciphertext, created_at, updated_at)
             VALUES ($1, $2, 1, $3, $4, $5, now(), now())
             ON CONFLICT (onboarding_id, name) DO NOTHING
             RETURNING version`;
      const values = [ref.onboardingId, ref.name, sealed.iv, sealed.tag, sealed.ciphertext, ...(row ? [row.version] : [])];
      const auditValues = [who.actor, who.purpose, outcome, this.origin];
      const n = values.length;
      const { rows } = await this.database.query<{ version: number }>(
        `WITH written AS (${write}),
              audited AS (
                INSERT INTO secret_audit (onboarding_id, secret_name, action, actor, purpose, outcome, version, origin)
                SELECT $1, $2, 'write', $${n + 1}, $${n + 2}, $${n + 3}, version, $${n + 4} FROM written
              )
         SELECT version FROM written`,
        [...values, ...auditValues],
      );
      if (rows[0]) {
        this.log('info', ref, 'secret.write', who, outcome, 'secret stored in vault', rows[0].version);
        return { reference, outcome };
      }
      this.logger.debug({ onboardingId: ref.onboardingId, secretName: ref.name, attempt }, 'vault entry changed by another process meanwhile; reading it again');
      await pauseBeforeRetry(attempt);
    }
    throw new Error(`vault entry ${reference} kept changing under ${MAX_WRITE_ATTEMPTS} attempts to store it; try again`);
  }

  async has(ref: SecretRef): Promise<boolean> {
    const { rows } = await this.database.query('SELECT 1 FROM vault_secrets WHERE onboarding_id = $1 AND name = $2 AND revoked_at IS NULL', [ref.onboardingId, ref.name]);
    return rows.length > 0;
  }

  async reveal(ref: SecretRef, audit: ReadAudit): Promise<string | undefined> {
    const row = await this.select(ref);
    const who = { actor: audit.actor, purpose: audit.purpose };
    if (!row) {
      await this.audit(ref, 'read', who, 'not-found', null);
      this.log('info', ref, 'secret.read', who, 'not-found', 'secret read from vault');
      return undefined;
    }
    if (row.revoked_at) {
      await this.audit(ref, 'read', who, 'revoked', row.version);
      this.log('info', ref, 'secret.read', who, 'revoked', 'secret read from vault');
      throw new SecretRevokedError(secretReference(ref), row.revoked_at.toISOString());
    }
    let value: string;
    try {
      value = this.open(ref, row);
    } catch (err) {
      await this.audit(ref, 'read', who, 'unreadable', row.version);
      this.log('warn', ref, 'secret.read', who, 'unreadable', 'secret read from vault');
      throw err;
    }
    // The value leaves only once its read is on record.
    await this.audit(ref, 'read', who, 'revealed', row.version);
    this.log('info', ref, 'secret.read', who, 'revealed', 'secret read from vault');
    return value;
  }

  async revoke(ref: SecretRef, audit: ReadAudit): Promise<boolean> {
    const who = { actor: audit.actor, purpose: audit.purpose };
    const { outcome, version } = await this.database.transaction(async (client) => {
      // Nothing stored yet: the revocation is recorded all the same, so a put that comes later is refused. A put
      // committing meanwhile makes this insert wait, then do nothing; the update below then revokes its value.
      const recorded = await client.query<{ version: number }>(
        `INSERT INTO vault_secrets (onboarding_id, name, version, created_at, updated_at, revoked_at, revoked_by, revoke_reason)
           VALUES ($1, $2, 1, now(), now(), now(), $3, $4)
           ON CONFLICT (onboarding_id, name) DO NOTHING
           RETURNING version`,
        [ref.onboardingId, ref.name, audit.actor, audit.purpose],
      );
      if (recorded.rows[0]) return this.auditIn(client, ref, 'revoke', who, 'nothing-stored', recorded.rows[0].version);
      const revoked = await client.query<{ version: number }>(
        `UPDATE vault_secrets
            SET version = version + 1, iv = NULL, tag = NULL, ciphertext = NULL, updated_at = now(),
                revoked_at = now(), revoked_by = $3, revoke_reason = $4
          WHERE onboarding_id = $1 AND name = $2 AND revoked_at IS NULL
          RETURNING version`,
        [ref.onboardingId, ref.name, audit.actor, audit.purpose],
      );
      if (revoked.rows[0]) return this.auditIn(client, ref, 'revoke', who, 'revoked', revoked.rows[0].version);
      return this.auditIn(client, ref, 'revoke', who, 'already-revoked', null);
    });
    if (outcome !== 'already-revoked') this.log('info', ref, 'secret.revoke', who, outcome, 'secret revoked', version ?? undefined);
    return outcome === 'revoked';
  }

  /** The audit trail, oldest first: the first `limit` entries at or after `since`, or without it the latest `limit`. */
  async listAudit(query: AuditQuery): Promise<SecretAuditEntry[]> {
    return listSecretAudit(this.database, query);
  }

  private async select(ref: SecretRef): Promise<Row | undefined> {
    const { rows } = await this.database.query<Row>(
      'SELECT version, iv, tag, ciphertext, revoked_at FROM vault_secrets WHERE onboarding_id = $1 AND name = $2',
      [ref.onboardingId, ref.name],
    );
    return rows[0];
  }

  private open(ref: SecretRef, row: Row): string {
    return openSecret(this.key, ref, { iv: row.iv ?? Buffer.alloc(0), tag: row.tag ?? Buffer.alloc(0), ciphertext: row.ciphertext ?? Buffer.alloc(0) });
  }

  private async audit(ref: SecretRef, action: SecretAuditEntry['action'], who: { actor: string; purpose: string | null }, outcome: string, version: number | null): Promise<void> {
    await this.database.query(
      'INSERT INTO secret_audit (onboarding_id, secret_name, action, actor, purpose, outcome, version, origin) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
      [ref.onboardingId, ref.name, action, who.actor, who.purpose, outcome, version, this.origin],
    );
  }

  private async auditIn<O extends string>(client: PoolClient, ref: SecretRef, action: SecretAuditEntry['action'], who: { actor: string; purpose: string | null }, outcome: O, version: number | null) {
    await client.query(
      'INSERT INTO secret_audit (onboarding_id, secret_name, action, actor, purpose, outcome, version, origin) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
      [ref.onboardingId, ref.name, action, who.actor, who.purpose, outcome, version, this.origin],
    );
    return { outcome, version };
  }

  private log(level: 'info' | 'warn', ref: SecretRef, audit: string, who: { actor: string; purpose: string | null }, outcome: string, message: string, version?: number) {
    this.logger[level]({ audit, onboardingId: ref.onboardingId, workflowId: ref.onboardingId, secretName: ref.name, actor: who.actor, purpose: who.purpose ?? undefined, outcome, version }, message);
  }
}

/** The vault's audit trail (see PostgresVault.listAudit); for `npx onboarding audit` and the ops API. */
export async function listSecretAudit(database: Database, query: AuditQuery): Promise<SecretAuditEntry[]> {
  const limit = Math.max(1, Math.min(10_000, Math.floor(query.limit)));
  const conditions: string[] = [];
  const values: unknown[] = [];
  if (query.onboardingId !== undefined) {
    values.push(query.onboardingId);
    conditions.push(`onboarding_id = $${values.length}`);
  }
  if (query.since !== undefined) {
    values.push(query.since);
    conditions.push(`at >= $${values.length}`);
  }
  values.push(limit);
  const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
  // With `since`: the first entries after it; without: the latest ones. Either way returned oldest first.
  const order = query.since !== undefined ? 'ASC' : 'DESC';
  const { rows } = await database.query<{
    id: string;
    at: Date;
    onboarding_id: string;
    secret_name: string;
    action: SecretAuditEntry['action'];
    actor: string;
    purpose: string | null;
    outcome: string;
    version: number | null;
    origin: string;
  }>(
    `SELECT * FROM (
       SELECT id, at, onboarding_id, secret_name, action, actor, purpose, outcome, version, origin
         FROM secret_audit ${where} ORDER BY id ${order} LIMIT $${values.length}
     ) AS page ORDER BY id ASC`,
    values,
  );
  return rows.map((row) => ({
    id: Number(row.id),
    at: row.at.toISOString(),
    onboardingId: row.onboarding_id,
    secretName: row.secret_name,
    action: row.action,
    actor: row.actor,
    purpose: row.purpose,
    outcome: row.outcome,
    version: row.version,
    origin: row.origin,
  }));
}
