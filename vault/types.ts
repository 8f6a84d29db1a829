/**
 * Where one-time secrets (NextNet's WordPress key, Netlify's access token: whatever the platforms declare) live.
 * The workflow only ever sees a reference. One backend today (an encrypted file store); a HashiCorp Vault KV v2
 * backend implements the same interface.
 */
import { secretReference as referenceOf, type SecretName } from '../platforms/catalog.js';

export type { SecretName };

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
  /** Resolves only once the secret is durable. Storing the same value again is a no-op. */
  put(ref: SecretRef, value: string): Promise<{ reference: string; outcome: 'created' | 'unchanged' | 'replaced' }>;
  has(ref: SecretRef): Promise<boolean>;
  /** An audited read; undefined when there is no such secret; throws SecretRevokedError for a revoked one. */
  reveal(ref: SecretRef, audit: ReadAudit): Promise<string | undefined>;
  /** Keeps the entry's record for audit but destroys its value; true when there was a live secret to revoke. */
  revoke(ref: SecretRef, audit: ReadAudit): Promise<boolean>;
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
