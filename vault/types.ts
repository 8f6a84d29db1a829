/**
 * Where one-time secrets (the WordPress plugin key) live. The workflow only ever sees a reference.
 * One backend today (an encrypted file store); a HashiCorp Vault KV v2 backend implements the same interface.
 */
export type SecretName = 'wordpress-api-key';

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
  /** An audited read; undefined when there is no such secret. */
  reveal(ref: SecretRef, audit: ReadAudit): Promise<string | undefined>;
}

export function secretReference(ref: SecretRef): string {
  return `vault:${ref.onboardingId}/${ref.name}`;
}
