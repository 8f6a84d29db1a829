import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { writeFileDurably } from './durable-file.js';
import { assertVaultKey, openSecret, sealSecret } from './sealing.js';
import { secretReference, SecretRevokedError, VaultEntryUnreadableError, type ReadAudit, type SecretRef, type SecretVault } from './types.js';

/** One sealed file's content; a revoked entry keeps everything but the value (iv, tag and ciphertext are empty). */
export interface SealedSecretFile {
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

/** What a file in the vault directory holds: a sealed entry, or text that is not one (kept aside on the next put). */
type FileState = { kind: 'missing' } | { kind: 'sealed'; sealed: SealedSecretFile } | { kind: 'corrupt'; problem: string; revokedAt: string | undefined };

/** An embedded vault: one AES-256-GCM sealed file per secret, fsynced before a write is reported. */
export class FileVault implements SecretVault {
  constructor(
    private readonly directory: string,
    private readonly key: Buffer,
    private readonly logger: Logger,
  ) {
    assertVaultKey(key);
  }

  async put(ref: SecretRef, value: string, audit?: ReadAudit) {
    const reference = secretReference(ref);
    const state = await this.read(ref);
    if (state.kind === 'corrupt' && state.revokedAt) throw new SecretRevokedError(reference, state.revokedAt);
    const existing = state.kind === 'sealed' ? state.sealed : undefined;
    if (existing?.revokedAt) {
      this.logger.warn({ audit: 'secret.write', onboardingId: ref.onboardingId, workflowId: ref.onboardingId, secretName: ref.name, actor: audit?.actor, outcome: 'refused-revoked' }, 'secret not stored: it was revoked');
      throw new SecretRevokedError(reference, existing.revokedAt);
    }
    // An entry sealed under another key is refused (VaultEntryUnreadableError): a wrong VAULT_KEY must not overwrite good entries.
    if (existing !== undefined && this.open(existing, ref) === value) return { reference, outcome: 'unchanged' as const };
    if (state.kind === 'corrupt') await this.setAside(ref, state.problem);

    const now = new Date().toISOString();
    await writeFileDurably(this.fileOf(ref), JSON.stringify(this.seal(ref, value, existing?.createdAt ?? now, now)));
    const outcome = state.kind === 'missing' ? ('created' as const) : ('replaced' as const);
    this.logger.info({ audit: 'secret.write', onboardingId: ref.onboardingId, workflowId: ref.onboardingId, secretName: ref.name, actor: audit?.actor, purpose: audit?.purpose, outcome }, 'secret stored in vault');
    return { reference, outcome };
  }

  async has(ref: SecretRef): Promise<boolean> {
    const state = await this.read(ref);
    return state.kind === 'sealed' && !state.sealed.revokedAt;
  }

  async revoke(ref: SecretRef, audit: ReadAudit): Promise<boolean> {
    const state = await this.read(ref);
    if (state.kind === 'sealed' && state.sealed.revokedAt) return false;
    if (state.kind === 'corrupt' && state.revokedAt) return false;
    if (state.kind === 'corrupt') await this.setAside(ref, state.problem);
    const revokedAt = new Date().toISOString();
    const sealed = state.kind === 'sealed' ? state.sealed : undefined;
    // The ciphertext goes; the record of what existed, and when it was revoked by whom, stays for audit. Nothing
    // stored yet still leaves the record, so a put that comes later is refused.
    const record: SealedSecretFile = {
      ...(sealed ?? { version: 1, onboardingId: ref.onboardingId, name: ref.name, createdAt: revokedAt, updatedAt: revokedAt }),
      iv: '',
      tag: '',
      ciphertext: '',
      revokedAt,
      revokedBy: audit.actor,
      revokeReason: audit.purpose,
    };
    await writeFileDurably(this.fileOf(ref), JSON.stringify(record));
    const live = sealed !== undefined;
    this.logger.info(
      { audit: 'secret.revoke', onboardingId: ref.onboardingId, workflowId: ref.onboardingId, secretName: ref.name, actor: audit.actor, purpose: audit.purpose, at: revokedAt, outcome: live ? 'revoked' : 'nothing-stored' },
      'secret revoked',
    );
    return live;
  }

  async reveal(ref: SecretRef, audit: ReadAudit): Promise<string | undefined> {
    const state = await this.read(ref);
    const sealed = state.kind === 'sealed' ? state.sealed : undefined;
    this.logger.info(
      { audit: 'secret.read', onboardingId: ref.onboardingId, workflowId: ref.onboardingId, secretName: ref.name, actor: audit.actor, purpose: audit.purpose, found: sealed !== undefined && !sealed.revokedAt, at: new Date().toISOString() },
      'secret read from vault',
    );
    if (state.kind === 'corrupt') {
      if (state.revokedAt) throw new SecretRevokedError(secretReference(ref), state.revokedAt);
      throw new VaultEntryUnreadableError(
        secretReference(ref),
        'corrupt',
        `vault entry ${secretReference(ref)} is corrupt (${state.problem}) and cannot be read; store the secret again to replace it`,
      );
    }
    if (sealed?.revokedAt) throw new SecretRevokedError(secretReference(ref), sealed.revokedAt);
    return sealed === undefined ? undefined : this.open(sealed, ref);
  }

  /** The file that holds an entry: the sha256 of `onboardingId\0name`, so client ids (personal data) stay out of file names. */
  private fileOf(ref: SecretRef): string {
    const digest = createHash('sha256').update(`${ref.onboardingId}\0${ref.name}`).digest('hex');
    return path.join(this.directory, `${digest}.json`);
  }

  private async read(ref: SecretRef): Promise<FileState> {
    let text: string;
    try {
      text = await readFile(this.fileOf(ref), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
      throw err;
    }
    const parsed = parseSealedSecretFile(text);
    if (parsed.sealed) return { kind: 'sealed', sealed: parsed.sealed };
    // A damaged revocation record still counts as revoked: revocation is final.
    return { kind: 'corrupt', problem: parsed.problem, revokedAt: /"revokedAt"\s*:\s*"([^"]+)"/.exec(text)?.[1] };
  }

  /** Moves an unreadable file out of the way (kept for inspection), so a fresh value can be stored. */
  private async setAside(ref: SecretRef, problem: string): Promise<void> {
    const file = this.fileOf(ref);
    const keptAs = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await rename(file, keptAs);
    this.logger.warn(
      { audit: 'secret.corrupt', onboardingId: ref.onboardingId, workflowId: ref.onboardingId, secretName: ref.name, problem, keptAs: path.basename(keptAs) },
      'corrupt vault entry kept aside; a fresh value replaces it',
    );
  }

  private seal(ref: SecretRef, value: string, createdAt: string, updatedAt: string): SealedSecretFile {
    const { iv, tag, ciphertext } = sealSecret(this.key, ref, value);
    return {
      version: 1,
      onboardingId: ref.onboardingId,
      name: ref.name,
      createdAt,
      updatedAt,
      iv: iv.toString('base64'),
      tag: tag.toString('base64'),
      ciphertext: ciphertext.toString('base64'),
    };
  }

  private open(sealed: SealedSecretFile, ref: SecretRef): string {
    // Binding the reference means a sealed file copied onto another onboarding's name fails to open.
    return openSecret(this.key, ref, sealedBytesOf(sealed));
  }
}

/** A sealed file's iv, tag and ciphertext as bytes. */
export function sealedBytesOf(sealed: SealedSecretFile) {
  return { iv: Buffer.from(sealed.iv, 'base64'), tag: Buffer.from(sealed.tag, 'base64'), ciphertext: Buffer.from(sealed.ciphertext, 'base64') };
}

/** Parses a vault file's text; `problem` says why it is not a sealed entry. */
export function parseSealedSecretFile(text: string): { sealed: SealedSecretFile; problem?: undefined } | { sealed?: undefined; problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: text.trim() === '' ? 'the file is empty' : 'the file is not valid JSON' };
  }
  const record = value as Partial<Record<keyof SealedSecretFile, unknown>> | null;
  if (typeof record !== 'object' || record === null) return { problem: 'the file holds no vault entry' };
  const missing = (['onboardingId', 'name', 'createdAt', 'updatedAt', 'iv', 'tag', 'ciphertext'] as const).filter((field) => typeof record[field] !== 'string');
  if (missing.length > 0) return { problem: `the entry lacks ${missing.join(', ')}` };
  if (!record.revokedAt && (record.iv === '' || record.tag === '' || record.ciphertext === '')) return { problem: 'the entry holds no sealed value' };
  return { sealed: value as SealedSecretFile };
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
