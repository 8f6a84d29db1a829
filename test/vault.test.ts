import { createHash, randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { loadConfig } from '../config/index.js';
import { createLogger } from '../config/logger.js';
import { FileVault, loadOrCreateDevVaultKey, openVault, SecretRevokedError, VaultEntryUnreadableError, type SecretRef } from '../vault/index.js';
import { capturedLogger } from './support.js';

const WORDPRESS_KEY = 'nn_wp_0123456789abcdef0123456789abcdef';
const acmeKey: SecretRef = { onboardingId: 'onboarding-crm-acme', name: 'wordpress-api-key' };
const bakeryKey: SecretRef = { onboardingId: 'onboarding-crm-bakery', name: 'wordpress-api-key' };
const audit = { actor: 'test-suite', purpose: 'checking the vault' };

/** Where FileVault keeps a secret: the sha256 of `onboardingId\0name`, as in vault/file-vault.ts. */
function sealedFileOf(directory: string, ref: SecretRef): string {
  return path.join(directory, `${createHash('sha256').update(`${ref.onboardingId}\0${ref.name}`).digest('hex')}.json`);
}

let dataDir: string;
let vaultDir: string;
let key: Buffer;

beforeEach(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'vault-test-'));
  vaultDir = path.join(dataDir, 'vault');
  key = randomBytes(32);
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('storing and reading a secret', () => {
  it('a stored secret reads back as it was put', async () => {
    const vault = new FileVault(vaultDir, key, capturedLogger().logger);

    const stored = await vault.put(acmeKey, WORDPRESS_KEY);

    expect(stored).toEqual({ reference: 'vault:onboarding-crm-acme/wordpress-api-key', outcome: 'created' });
    expect(await vault.has(acmeKey)).toBe(true);
    expect(await vault.reveal(acmeKey, audit)).toBe(WORDPRESS_KEY);
  });

  it('a secret survives reopening the vault with the same key', async () => {
    await new FileVault(vaultDir, key, capturedLogger().logger).put(acmeKey, WORDPRESS_KEY);
    const reopened = new FileVault(vaultDir, Buffer.from(key), capturedLogger().logger);
    expect(await reopened.reveal(acmeKey, audit)).toBe(WORDPRESS_KEY);
  });

  it('the file on disk holds no plaintext and no client id, and only its owner can read it', async () => {
    const vault = new FileVault(vaultDir, key, capturedLogger().logger);
    await vault.put(acmeKey, WORDPRESS_KEY);

    const files = await readdir(vaultDir);
    expect(files).toEqual([path.basename(sealedFileOf(vaultDir, acmeKey))]);
    const onDisk = await readFile(sealedFileOf(vaultDir, acmeKey), 'utf8');
    expect(onDisk).not.toContain(WORDPRESS_KEY);
    expect(onDisk).not.toContain(Buffer.from(WORDPRESS_KEY).toString('base64'));
    expect(files[0]).not.toContain('acme');
    expect((await stat(sealedFileOf(vaultDir, acmeKey))).mode & 0o777).toBe(0o600);
    expect((await stat(vaultDir)).mode & 0o777).toBe(0o700);
  });

  it('putting the same value again changes nothing, and a different value replaces it', async () => {
    const vault = new FileVault(vaultDir, key, capturedLogger().logger);
    await vault.put(acmeKey, WORDPRESS_KEY);
    const firstFile = await readFile(sealedFileOf(vaultDir, acmeKey), 'utf8');

    expect((await vault.put(acmeKey, WORDPRESS_KEY)).outcome).toBe('unchanged');
    expect(await readFile(sealedFileOf(vaultDir, acmeKey), 'utf8')).toBe(firstFile);

    expect((await vault.put(acmeKey, 'nn_wp_rotated_key')).outcome).toBe('replaced');
    expect(await vault.reveal(acmeKey, audit)).toBe('nn_wp_rotated_key');
    expect(await readdir(vaultDir)).toHaveLength(1);
  });

  it('secrets of two onboardings are kept apart', async () => {
    const vault = new FileVault(vaultDir, key, capturedLogger().logger);
    await vault.put(acmeKey, WORDPRESS_KEY);
    await vault.put(bakeryKey, 'nn_wp_bakery');

    expect(await vault.reveal(acmeKey, audit)).toBe(WORDPRESS_KEY);
    expect(await vault.reveal(bakeryKey, audit)).toBe('nn_wp_bakery');
  });

  it('a secret that was never stored reads as undefined', async () => {
    const vault = new FileVault(vaultDir, key, capturedLogger().logger);

    expect(await vault.has(acmeKey)).toBe(false);
    expect(await vault.reveal(acmeKey, audit)).toBeUndefined();
  });

  it('a vault key that is not 32 bytes is refused', () => {
    expect(() => new FileVault(vaultDir, randomBytes(16), capturedLogger().logger)).toThrow(/32 bytes/);
  });
});

describe('protection of the sealed files', () => {
  it('a vault opened with another key cannot read, and says to check VAULT_KEY without showing the secret', async () => {
    await new FileVault(vaultDir, key, capturedLogger().logger).put(acmeKey, WORDPRESS_KEY);
    const wrongKeyVault = new FileVault(vaultDir, randomBytes(32), capturedLogger().logger);

    const failure = await wrongKeyVault.reveal(acmeKey, audit).then(
      () => undefined,
      (err: unknown) => err as Error,
    );

    expect(failure?.message).toMatch(/VAULT_KEY/);
    expect(failure?.message).not.toContain(WORDPRESS_KEY);
    expect(failure?.message).not.toContain(key.toString('hex'));
    await expect(wrongKeyVault.put(acmeKey, 'nn_wp_other')).rejects.toThrow(/VAULT_KEY/);
  });

  it('a sealed file copied onto another onboarding fails to open', async () => {
    const vault = new FileVault(vaultDir, key, capturedLogger().logger);
    await vault.put(acmeKey, WORDPRESS_KEY);

    await copyFile(sealedFileOf(vaultDir, acmeKey), sealedFileOf(vaultDir, bakeryKey));

    expect(await vault.has(bakeryKey)).toBe(true);
    await expect(vault.reveal(bakeryKey, audit)).rejects.toThrow(/cannot be decrypted/);
    expect(await vault.reveal(acmeKey, audit)).toBe(WORDPRESS_KEY);
  });

  it('a sealed file whose ciphertext was changed fails to open', async () => {
    const vault = new FileVault(vaultDir, key, capturedLogger().logger);
    await vault.put(acmeKey, WORDPRESS_KEY);
    const file = sealedFileOf(vaultDir, acmeKey);
    const sealed = JSON.parse(await readFile(file, 'utf8')) as { ciphertext: string };
    const bytes = Buffer.from(sealed.ciphertext, 'base64');
    bytes[0] = (bytes[0] ?? 0) ^ 0xff;
    await writeFile(file, JSON.stringify({ ...sealed, ciphertext: bytes.toString('base64') }));

    await expect(vault.reveal(acmeKey, audit)).rejects.toThrow(/tampered/);
  });
});

describe('revocation', () => {
  it('a revoked secret cannot be read, and its record stays without the value', async () => {
    const vault = new FileVault(vaultDir, key, capturedLogger().logger);
    await vault.put(acmeKey, WORDPRESS_KEY);

    expect(await vault.revoke(acmeKey, { actor: 'offboarding workflow', purpose: 'client churned' })).toBe(true);

    expect(await vault.has(acmeKey)).toBe(false);
    await expect(vault.reveal(acmeKey, audit)).rejects.toBeInstanceOf(SecretRevokedError);
    const record = JSON.parse(await readFile(sealedFileOf(vaultDir, acmeKey), 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({ onboardingId: acmeKey.onboardingId, name: acmeKey.name, ciphertext: '', revokedBy: 'offboarding workflow', revokeReason: 'client churned' });
    expect(await vault.revoke(acmeKey, audit)).toBe(false);
  });

  it('a put on a revoked secret is refused and the revocation record is kept', async () => {
    const vault = new FileVault(vaultDir, key, capturedLogger().logger);
    await vault.put(acmeKey, WORDPRESS_KEY);
    await vault.revoke(acmeKey, audit);
    const record = await readFile(sealedFileOf(vaultDir, acmeKey), 'utf8');

    await expect(vault.put(acmeKey, 'nn_wp_after_offboarding')).rejects.toBeInstanceOf(SecretRevokedError);
    await expect(vault.put(acmeKey, WORDPRESS_KEY)).rejects.toThrow(/was revoked at/);

    expect(await readFile(sealedFileOf(vaultDir, acmeKey), 'utf8')).toBe(record);
    expect(await vault.has(acmeKey)).toBe(false);
  });

  it('revoking a secret that was never stored records the revocation, so a later put is refused', async () => {
    const vault = new FileVault(vaultDir, key, capturedLogger().logger);

    expect(await vault.revoke(acmeKey, audit)).toBe(false);

    await expect(vault.put(acmeKey, WORDPRESS_KEY)).rejects.toBeInstanceOf(SecretRevokedError);
    await expect(vault.reveal(acmeKey, audit)).rejects.toBeInstanceOf(SecretRevokedError);
    expect(await vault.put(bakeryKey, 'nn_wp_bakery')).toMatchObject({ outcome: 'created' });
  });
});

describe('a corrupt vault file', () => {
  async function corrupt(ref: SecretRef, content: string): Promise<void> {
    await new FileVault(vaultDir, key, capturedLogger().logger).put(ref, WORDPRESS_KEY);
    await writeFile(sealedFileOf(vaultDir, ref), content, { mode: 0o600 });
  }

  it('reads fail with VaultEntryUnreadableError, which says what to do', async () => {
    await corrupt(acmeKey, '{"version":1,"onboardingId":"onboarding-crm-ac');
    const vault = new FileVault(vaultDir, key, capturedLogger().logger);

    const failure = await vault.reveal(acmeKey, audit).catch((err: unknown) => err);

    expect(failure).toBeInstanceOf(VaultEntryUnreadableError);
    expect(failure).toMatchObject({ reference: 'vault:onboarding-crm-acme/wordpress-api-key', reason: 'corrupt' });
    expect((failure as Error).message).toMatch(/is corrupt \(the file is not valid JSON\).*store the secret again/);
    expect(await vault.has(acmeKey)).toBe(false);
  });

  it('a wrong key is a VaultEntryUnreadableError too, not a bare error', async () => {
    await new FileVault(vaultDir, key, capturedLogger().logger).put(acmeKey, WORDPRESS_KEY);

    const failure = await new FileVault(vaultDir, randomBytes(32), capturedLogger().logger).reveal(acmeKey, audit).catch((err: unknown) => err);

    expect(failure).toBeInstanceOf(VaultEntryUnreadableError);
    expect(failure).toMatchObject({ reason: 'undecryptable' });
  });

  it('does not block storing a fresh value: it is kept aside as <file>.corrupt-<time> and logged', async () => {
    await corrupt(acmeKey, '\u0000\u0000 not json');
    const { logger, lines, entries } = capturedLogger();
    const vault = new FileVault(vaultDir, key, logger);

    expect(await vault.put(acmeKey, 'nn_wp_fresh_key')).toMatchObject({ outcome: 'replaced' });

    expect(await vault.reveal(acmeKey, audit)).toBe('nn_wp_fresh_key');
    const files = await readdir(vaultDir);
    const keptAside = files.filter((file) => file.startsWith(`${path.basename(sealedFileOf(vaultDir, acmeKey))}.corrupt-`));
    expect(keptAside).toHaveLength(1);
    expect(keptAside[0]).toMatch(/\.json\.corrupt-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/);
    expect(await readFile(path.join(vaultDir, keptAside[0]!), 'utf8')).toBe('\u0000\u0000 not json');
    expect(entries()).toContainEqual(expect.objectContaining({ audit: 'secret.corrupt', onboardingId: acmeKey.onboardingId, keptAs: keptAside[0], level: 40 }));
    expect(lines.join('')).not.toContain('nn_wp_fresh_key');
  });

  it('an entry with fields missing counts as corrupt too', async () => {
    await corrupt(acmeKey, JSON.stringify({ version: 1, onboardingId: acmeKey.onboardingId, name: acmeKey.name }));
    const vault = new FileVault(vaultDir, key, capturedLogger().logger);

    await expect(vault.reveal(acmeKey, audit)).rejects.toThrow(/is corrupt \(the entry lacks createdAt, updatedAt, iv, tag, ciphertext\)/);
    expect((await vault.put(acmeKey, 'nn_wp_fresh_key')).outcome).toBe('replaced');
  });

  it('a damaged revocation record still counts as revoked', async () => {
    await corrupt(acmeKey, '{"version":1,"iv":"","revokedAt":"2026-01-02T03:04:05.000Z","revokedBy":"offb');
    const vault = new FileVault(vaultDir, key, capturedLogger().logger);

    await expect(vault.put(acmeKey, 'nn_wp_fresh_key')).rejects.toBeInstanceOf(SecretRevokedError);
    await expect(vault.reveal(acmeKey, audit)).rejects.toThrow(/revoked at 2026-01-02T03:04:05.000Z/);
  });

  it('a put under a wrong VAULT_KEY still never overwrites a good entry', async () => {
    await new FileVault(vaultDir, key, capturedLogger().logger).put(acmeKey, WORDPRESS_KEY);

    await expect(new FileVault(vaultDir, randomBytes(32), capturedLogger().logger).put(acmeKey, 'nn_wp_other')).rejects.toBeInstanceOf(VaultEntryUnreadableError);

    expect(await new FileVault(vaultDir, key, capturedLogger().logger).reveal(acmeKey, audit)).toBe(WORDPRESS_KEY);
    expect(await readdir(vaultDir)).toHaveLength(1);
  });
});

describe('audit log', () => {
  it('every read is logged with actor, purpose and onboarding, never with the value', async () => {
    const { logger, lines, entries } = capturedLogger();
    const vault = new FileVault(vaultDir, key, logger);
    await vault.put(acmeKey, WORDPRESS_KEY);

    await vault.reveal(acmeKey, { actor: 'ops:alice', purpose: 'client asked for the plugin key again' });
    await vault.reveal(bakeryKey, { actor: 'worker', purpose: 'resend' });

    const reads = entries().filter((entry) => entry['audit'] === 'secret.read');
    expect(reads).toEqual([
      expect.objectContaining({
        onboardingId: acmeKey.onboardingId,
        secretName: 'wordpress-api-key',
        actor: 'ops:alice',
        purpose: 'client asked for the plugin key again',
        found: true,
      }),
      expect.objectContaining({ onboardingId: bakeryKey.onboardingId, actor: 'worker', purpose: 'resend', found: false }),
    ]);
    expect(lines.join('')).not.toContain(WORDPRESS_KEY);
  });

  it('a failed read is still logged', async () => {
    await new FileVault(vaultDir, key, capturedLogger().logger).put(acmeKey, WORDPRESS_KEY);
    const { logger, entries } = capturedLogger();

    await expect(new FileVault(vaultDir, randomBytes(32), logger).reveal(acmeKey, audit)).rejects.toThrow();

    expect(entries()).toEqual([expect.objectContaining({ audit: 'secret.read', actor: audit.actor, onboardingId: acmeKey.onboardingId })]);
  });

  it('writes are logged with their outcome, never with the value', async () => {
    const { logger, lines, entries } = capturedLogger();
    const vault = new FileVault(vaultDir, key, logger);

    await vault.put(acmeKey, WORDPRESS_KEY);
    await vault.put(acmeKey, 'nn_wp_rotated_key');

    expect(entries().map((entry) => [entry['audit'], entry['outcome']])).toEqual([
      ['secret.write', 'created'],
      ['secret.write', 'replaced'],
    ]);
    expect(lines.join('')).not.toContain(WORDPRESS_KEY);
    expect(lines.join('')).not.toContain('nn_wp_rotated_key');
  });
});

describe('development vault key', () => {
  it('is created once, readable by its owner only, and the same key comes back next time', async () => {
    const first = await loadOrCreateDevVaultKey(dataDir);
    const second = await loadOrCreateDevVaultKey(dataDir);

    expect(first.created).toBe(true);
    expect(first.keyFile).toBe(path.join(dataDir, 'vault.key'));
    expect(first.key).toHaveLength(32);
    expect((await stat(first.keyFile)).mode & 0o777).toBe(0o600);
    expect(second.created).toBe(false);
    expect(second.key.equals(first.key)).toBe(true);
  });

  it('a key file others can read is refused with the chmod to run', async () => {
    const { keyFile } = await loadOrCreateDevVaultKey(dataDir);
    await chmod(keyFile, 0o644);

    await expect(loadOrCreateDevVaultKey(dataDir)).rejects.toThrow(/readable by others \(mode 644\); run chmod 600/);
  });

  it('a key file that does not hold a 32-byte hex key is refused', async () => {
    await writeFile(path.join(dataDir, 'vault.key'), 'not a key\n', { mode: 0o600 });
    await expect(loadOrCreateDevVaultKey(dataDir)).rejects.toThrow(/does not hold a 32-byte hex key/);
  });
});

describe('opening the configured vault', () => {
  it('with VAULT_KEY the vault uses that key and writes no key file', async () => {
    const config = loadConfig({ DATA_DIR: dataDir, VAULT_KEY: key.toString('hex') });
    const { vault, devKeyFile } = await openVault(config, capturedLogger().logger);

    await vault.put(acmeKey, WORDPRESS_KEY);

    expect(devKeyFile).toBeUndefined();
    expect(await readdir(dataDir)).toEqual(['vault']);
    expect(await new FileVault(vaultDir, key, capturedLogger().logger).reveal(acmeKey, audit)).toBe(WORDPRESS_KEY);
  });

  it('without VAULT_KEY a development key under DATA_DIR opens the same vault every time', async () => {
    const config = loadConfig({ DATA_DIR: dataDir });
    const first = await openVault(config, capturedLogger().logger);
    await first.vault.put(acmeKey, WORDPRESS_KEY);

    const second = await openVault(config, capturedLogger().logger);

    expect(first.devKeyFile).toBe(path.join(dataDir, 'vault.key'));
    expect(await second.vault.reveal(acmeKey, audit)).toBe(WORDPRESS_KEY);
  });

  it('the vault logs as the vault component', async () => {
    const { logger, entries } = capturedLogger();
    const { vault } = await openVault(loadConfig({ DATA_DIR: dataDir, VAULT_KEY: key.toString('hex') }), logger);

    await vault.reveal(acmeKey, audit);

    expect(entries()[0]).toMatchObject({ component: 'vault', audit: 'secret.read' });
  });
});

describe('the audit lines of the vault the configuration opens', () => {
  it('are written even when LOG_LEVEL asks for warnings only', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'vault-audit-level-'));
    try {
      const lines: string[] = [];
      const logger = createLogger({ level: 'warn' }, new Writable({ write: (chunk, _encoding, done) => (lines.push(String(chunk)), done()) }));
      const { vault } = await openVault(loadConfig({ DATA_DIR: dataDir, VAULT_KEY: randomBytes(32).toString('base64'), LOG_LEVEL: 'warn' }), logger);
      await vault.put({ onboardingId: 'onboarding-crm-audit', name: 'wordpress-api-key' }, 'nn_wp_audit_level_value');
      await vault.reveal({ onboardingId: 'onboarding-crm-audit', name: 'wordpress-api-key' }, { actor: 'ops:alice', purpose: 'check' });
      const audits = lines.map((line) => JSON.parse(line) as { audit?: string; actor?: string }).filter((entry) => entry.audit);
      expect(audits.map((entry) => entry.audit)).toEqual(['secret.write', 'secret.read']);
      expect(audits[1]?.actor).toBe('ops:alice');
      expect(lines.join('')).not.toContain('nn_wp_audit_level_value');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
