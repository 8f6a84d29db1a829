/**
 * Where one-time secrets (NextNet's WordPress key, Netlify's access token: whatever the platforms declare) live.
 * The workflow only ever sees a reference. Two backends: an encrypted file store (one machine) and PostgreSQL (shared
 * by every worker and API); a HashiCorp Vault KV v2 backend would implement the same interface.
 */
import { secretReference as referenceOf, type SecretName } from '../platforms/catalog.js';
// The audit trail's shapes live with the vault that keeps one (PostgreSQL); type-only, so the cycle is erased.
import type { AuditQuery, SecretAuditEntry } from './postgres-vault.js';

export type { AuditQuery, SecretAuditEntry, SecretName };

export interface SecretRef {
  onboardingId: string;
  name: SecretName;
}

/** Who reads a secret and why: every read is logged with this, never with the value. */
export interface ReadAudit {
  actor: string;
  purpose: string;
}

export interface SecretVault {
  /**
   * Resolves only once the secret is durable. Storing the same value again is a no-op. Refused with
   * SecretRevokedError once the entry was revoked: revocation is final. `audit` names who writes and why
   * (default: the vault's own process).
   */
  put(ref: SecretRef, value: string, audit?: ReadAudit): Promise<{ reference: string; outcome: 'created' | 'unchanged' | 'replaced' }>;
  has(ref: SecretRef): Promise<boolean>;
  /**
   * An audited read; undefined when there is no such secret; throws SecretRevokedError for a revoked one and
   * VaultEntryUnreadableError for one that cannot be read (corrupt, or sealed under another key).
   */
  reveal(ref: SecretRef, audit: ReadAudit): Promise<string | undefined>;
  /**
   * Keeps the entry's record for audit but destroys its value; true when there was a live secret to revoke. The
   * revocation is recorded even when nothing was stored yet, so a put that comes later is refused.
   */
  revoke(ref: SecretRef, audit: ReadAudit): Promise<boolean>;
  /**
   * The audit trail, oldest first: the first `limit` entries at or after `since`, or without it the latest `limit`.
   * Only a vault that keeps one has it (PostgreSQL); the file vault only logs its audit lines.
   */
  listAudit?(query: AuditQuery): Promise<SecretAuditEntry[]>;
}

export class SecretRevokedError extends Error {
  constructor(
    readonly reference: string,
    readonly revokedAt: string,
  ) {
    super(`${reference} was revoked at ${revokedAt} (the client was offboarded); it can no longer be read`);
    this.name = 'SecretRevokedError';
  }
}

export function secretReference(ref: SecretRef): string {
  return referenceOf(ref.onboardingId, ref.name);
}

/** A vault entry exists but cannot be read: its record is corrupt, or it was sealed under another VAULT_KEY. */
export class VaultEntryUnreadableError extends Error {
  constructor(
    readonly reference: string,
    readonly reason: 'corrupt' | 'undecryptable',
    message: string,
  ) {
    super(message);
    this.name = 'VaultEntryUnreadableError';
  }
}
