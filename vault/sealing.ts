/**
 * How every vault backend seals a secret: AES-256-GCM under the vault key, with the secret's reference
 * (`vault:<onboardingId>/<name>`) as additional authenticated data, so a sealed value moved onto another
 * onboarding or name fails to open.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { secretReference, VaultEntryUnreadableError, type SecretRef } from './types.js';

export interface Sealed {
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

export function assertVaultKey(key: Buffer): void {
  if (key.length !== 32) throw new Error('the vault key must be 32 bytes (AES-256)');
}

export function sealSecret(key: Buffer, ref: SecretRef, value: string): Sealed {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(secretReference(ref)));
  const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return { iv, tag: cipher.getAuthTag(), ciphertext };
}

/** The plaintext; throws VaultEntryUnreadableError (wrong key, tampered, or sealed for another reference). */
export function openSecret(key: Buffer, ref: SecretRef, sealed: Sealed): string {
  const reference = secretReference(ref);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.iv);
    decipher.setAAD(Buffer.from(reference));
    decipher.setAuthTag(sealed.tag);
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]).toString('utf8');
  } catch {
    throw new VaultEntryUnreadableError(reference, 'undecryptable', `vault entry ${reference} cannot be decrypted: wrong VAULT_KEY, or the sealed entry was tampered with`);
  }
}
