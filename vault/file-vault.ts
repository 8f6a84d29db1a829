import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { writeFileDurably } from './durable-file.js';
import { secretReference, SecretRevokedError, type ReadAudit, type SecretRef, type SecretVault } from './types.js';

interface SealedSecret {
  version: 1;
  onboardingId: string;
  name: string;
  createdAt: string;
  updatedAt: string;
  iv: string;
  tag: string;
  ciphertext: string;
  revokedAt?: string;
  revokedBy?: string;
  revokeReason?: string;
}

/** An embedded vault: one AES-256-GCM sealed file per secret, fsynced before a write is reported. */
export class FileVault implements SecretVault {
  constructor(
    private readonly directory: string,
    private readonly key: Buffer,
    private readonly logger: Logger,
  ) {
    if (key.length !== 32) throw new Error('the vault key must be 32 bytes (AES-256)');
  }

  async put(ref: SecretRef, value: string) {
    const reference = secretReference(ref);
    const existing = await this.read(ref);
    if (existing !== undefined && !existing.revokedAt && this.open(existing, ref) === value) return { reference, outcome: 'unchanged' as const };

    const now = new Date().toISOString();
    await writeFileDurably(this.fileOf(ref), JSON.stringify(this.seal(ref, value, existing?.createdAt ?? now, now)));
    const outcome = existing === undefined ? ('created' as const) : ('replaced' as const);
    this.logger.info({ audit: 'secret.write', onboardingId: ref.onboardingId, workflowId: ref.onboardingId, secretName: ref.name, outcome }, 'secret stored in vault');
    return { reference, outcome };
  }

  async has(ref: SecretRef): Promise<boolean> {
    const sealed = await this.read(ref);
    return sealed !== undefined && !sealed.revokedAt;
  }

  async revoke(ref: SecretRef, audit: ReadAudit): Promise<boolean> {
    const sealed = await this.read(ref);
    if (sealed === undefined || sealed.revokedAt) return false;
    const revokedAt = new Date().toISOString();
    // The ciphertext goes; the record of what existed, and when it was revoked by whom, stays for audit.
    const record: SealedSecret = { ...sealed, iv: '', tag: '', ciphertext: '', revokedAt, revokedBy: audit.actor, revokeReason: audit.purpose };
    await writeFileDurably(this.fileOf(ref), JSON.stringify(record));
    this.logger.info({ audit: 'secret.revoke', onboardingId: ref.onboardingId, workflowId: ref.onboardingId, secretName: ref.name, actor: audit.actor, purpose: audit.purpose, at: revokedAt }, 'secret revoked');
    return true;
  }

  async reveal(ref: SecretRef, audit: ReadAudit): Promise<string | undefined> {
    const sealed = await this.read(ref);
    this.logger.info(
      { audit: 'secret.read', onboardingId: ref.onboardingId, workflowId: ref.onboardingId, secretName: ref.name, actor: audit.actor, purpose: audit.purpose, found: sealed !== undefined && !sealed.revokedAt, at: new Date().toISOString() },
      'secret read from vault',
    );
    if (sealed?.revokedAt) throw new SecretRevokedError(secretReference(ref), sealed.revokedAt);
    return sealed === undefined ? undefined : this.open(sealed, ref);
  }

  private fileOf(ref: SecretRef): string {
    // Hashed names keep client ids (personal data, odd characters) out of the file system.
    const digest = createHash('sha256').update(`${ref.onboardingId}\0${ref.name}`).digest('hex');
    return path.join(this.directory, `${digest}.json`);
  }

  private async read(ref: SecretRef): Promise<SealedSecret | undefined> {
    try {
      return JSON.parse(await readFile(this.fileOf(ref), 'utf8')) as SealedSecret;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  private seal(ref: SecretRef, value: string, createdAt: string, updatedAt: string): SealedSecret {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(secretReference(ref)));
    const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return {
      version: 1,
      onboardingId: ref.onboardingId,
      name: ref.name,
      createdAt,
      updatedAt,
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      ciphertext: ciphertext.toString('base64'),
    };
  }

  private open(sealed: SealedSecret, ref: SecretRef): string {
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(sealed.iv, 'base64'));
    // Binding the reference means a sealed file copied onto another onboarding's name fails to open.
    decipher.setAAD(Buffer.from(secretReference(ref)));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      throw new Error(`vault entry ${secretReference(ref)} cannot be decrypted: wrong VAULT_KEY or a tampered file`);
    }
  }
}

/** For development only: a random key kept beside the data, readable by its owner alone. */
export async function loadOrCreateDevVaultKey(dataDir: string): Promise<{ key: Buffer; keyFile: string; created: boolean }> {
  const keyFile = path.resolve(dataDir, 'vault.key');
  await mkdir(path.dirname(keyFile), { recursive: true });
  try {
    await writeFile(keyFile, randomBytes(32).toString('hex') + '\n', { flag: 'wx', mode: 0o600 });
    return { key: Buffer.from((await readFile(keyFile, 'utf8')).trim(), 'hex'), keyFile, created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const mode = (await stat(keyFile)).mode & 0o777;
  if (mode & 0o077) throw new Error(`${keyFile} is readable by others (mode ${mode.toString(8)}); run chmod 600 on it`);
  const key = Buffer.from((await readFile(keyFile, 'utf8')).trim(), 'hex');
  if (key.length !== 32) throw new Error(`${keyFile} does not hold a 32-byte hex key; delete it to generate a new one (existing vault entries become unreadable)`);
  return { key, keyFile, created: false };
}
