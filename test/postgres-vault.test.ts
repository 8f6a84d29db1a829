import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/index.js';
import { createLogger } from '../config/logger.js';
import { openDatabase, type Database } from '../database/index.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../scripts/postgres.js';
import { openVault, PostgresVault, SecretRevokedError, VaultEntryUnreadableError, type SecretRef } from '../vault/index.js';
import { freePort } from './free-port.js';
import { capturedLogger } from './support.js';

const WORDPRESS_KEY = 'nn_wp_0123456789abcdef0123456789abcdef';
const audit = { actor: 'test-suite', purpose: 'checking the vault' };
const silent = createLogger({ level: 'silent' });

let server: EmbeddedPostgres;
/** Two pools, as two workers on two machines would have. */
let first: Database;
let second: Database;
let key: Buffer;
let onboardingId: string;
let acmeKey: SecretRef;

function vaultOn(database: Database, options: { key?: Buffer; logger?: ReturnType<typeof createLogger> } = {}) {
  return new PostgresVault({ database, key: options.key ?? key, logger: options.logger ?? silent });
}

beforeAll(async () => {
  server = await startEmbeddedPostgres({ port: await freePort(), database: 'vault_test', onProgress: () => {} });
  first = openDatabase(server.url, silent);
  second = openDatabase(server.url, silent);
  await first.migrate();
});

afterAll(async () => {
  await first?.close();
  await second?.close();
  await server?.close();
});

beforeEach(() => {
  key = randomBytes(32);
  // A fresh onboarding per test: the tests share one database.
  onboardingId = `onboarding-crm-acme-${randomBytes(4).toString('hex')}`;
  acmeKey = { onboardingId, name: 'wordpress-api-key' };
});

describe('storing and reading a secret', () => {
  it('a stored secret reads back as it was put, from any process sharing the database', async () => {
    const stored = await vaultOn(first).put(acmeKey, WORDPRESS_KEY);

    expect(stored).toEqual({ reference: `vault:${onboardingId}/wordpress-api-key`, outcome: 'created' });
    expect(await vaultOn(second).has(acmeKey)).toBe(true);
    expect(await vaultOn(second).reveal(acmeKey, audit)).toBe(WORDPRESS_KEY);
  });

  it('putting the same value again changes nothing, and a different value replaces it with the next version', async () => {
    const vault = vaultOn(first);
    await vault.put(acmeKey, WORDPRESS_KEY);

    expect((await vault.put(acmeKey, WORDPRESS_KEY)).outcome).toBe('unchanged');
    expect((await vault.put(acmeKey, 'nn_wp_rotated_key')).outcome).toBe('replaced');

    expect(await vault.reveal(acmeKey, audit)).toBe('nn_wp_rotated_key');
    const { rows } = await first.query('SELECT version FROM vault_secrets WHERE onboarding_id = $1', [onboardingId]);
    expect(rows).toEqual([{ version: 2 }]);
  });

  it('a secret that was never stored reads as undefined', async () => {
    expect(await vaultOn(first).has(acmeKey)).toBe(false);
    expect(await vaultOn(first).reveal(acmeKey, audit)).toBeUndefined();
  });

  it('a vault key that is not 32 bytes is refused', () => {
    expect(() => vaultOn(first, { key: randomBytes(16) })).toThrow(/32 bytes/);
  });

  it('openVault gives the PostgreSQL vault when a database is given', async () => {
    const config = loadConfig({ VAULT_KEY: key.toString('hex') });
    const { vault, devKeyFile } = await openVault(config, silent, first);

    expect(vault).toBeInstanceOf(PostgresVault);
    expect(devKeyFile).toBeUndefined();
    await vault.put(acmeKey, WORDPRESS_KEY);
    expect(await vaultOn(second).reveal(acmeKey, audit)).toBe(WORDPRESS_KEY);
  });
});

describe('protection of the sealed values', () => {
  it('the database holds no plaintext: AES-256-GCM sealed under the vault key', async () => {
    await vaultOn(first).put(acmeKey, WORDPRESS_KEY);

    const { rows } = await first.query<{ row: string; iv: Buffer; tag: Buffer }>('SELECT row_to_json(v)::text AS row, iv, tag FROM vault_secrets v WHERE onboarding_id = $1', [onboardingId]);

    expect(rows[0]!.row).not.toContain(WORDPRESS_KEY);
    expect(rows[0]!.row).not.toContain(Buffer.from(WORDPRESS_KEY).toString('hex'));
    expect(rows[0]!.iv).toHaveLength(12);
    expect(rows[0]!.tag).toHaveLength(16);
  });

  it('another key cannot read, says to check VAULT_KEY, and cannot overwrite the entry either', async () => {
    await vaultOn(first).put(acmeKey, WORDPRESS_KEY);
    const wrongKeyVault = vaultOn(second, { key: randomBytes(32) });

    const failure = await wrongKeyVault.reveal(acmeKey, audit).catch((err: unknown) => err);

    expect(failure).toBeInstanceOf(VaultEntryUnreadableError);
    expect(failure).toMatchObject({ reason: 'undecryptable' });
    expect((failure as Error).message).toMatch(/VAULT_KEY/);
    expect((failure as Error).message).not.toContain(WORDPRESS_KEY);
    await expect(wrongKeyVault.put(acmeKey, 'nn_wp_other')).rejects.toBeInstanceOf(VaultEntryUnreadableError);
    expect(await vaultOn(first).reveal(acmeKey, audit)).toBe(WORDPRESS_KEY);
  });

  it('a sealed value copied onto another onboarding fails to open', async () => {
    const bakeryKey: SecretRef = { onboardingId: `${onboardingId}-bakery`, name: 'wordpress-api-key' };
    const vault = vaultOn(first);
    await vault.put(acmeKey, WORDPRESS_KEY);
    await vault.put(bakeryKey, 'nn_wp_bakery');

    await first.query(
      `UPDATE vault_secrets AS target SET iv = source.iv, tag = source.tag, ciphertext = source.ciphertext
         FROM vault_secrets AS source WHERE source.onboarding_id = $1 AND target.onboarding_id = $2`,
      [acmeKey.onboardingId, bakeryKey.onboardingId],
    );

    await expect(vault.reveal(bakeryKey, audit)).rejects.toThrow(/cannot be decrypted/);
    expect(await vault.reveal(acmeKey, audit)).toBe(WORDPRESS_KEY);
  });
});

describe('revocation is final', () => {
  it('a revoked secret cannot be read; its record stays, its value is gone', async () => {
    await vaultOn(first).put(acmeKey, WORDPRESS_KEY);

    expect(await vaultOn(second).revoke(acmeKey, { actor: 'offboarding workflow', purpose: 'client churned' })).toBe(true);

    expect(await vaultOn(first).has(acmeKey)).toBe(false);
    await expect(vaultOn(first).reveal(acmeKey, audit)).rejects.toBeInstanceOf(SecretRevokedError);
    const { rows } = await first.query('SELECT version, iv, tag, ciphertext, revoked_by, revoke_reason FROM vault_secrets WHERE onboarding_id = $1', [onboardingId]);
    expect(rows).toEqual([{ version: 2, iv: null, tag: null, ciphertext: null, revoked_by: 'offboarding workflow', revoke_reason: 'client churned' }]);
    expect(await vaultOn(first).revoke(acmeKey, audit)).toBe(false);
  });

  it('a put on a revoked secret is refused with SecretRevokedError, and the revocation record is never erased', async () => {
    await vaultOn(first).put(acmeKey, WORDPRESS_KEY);
    await vaultOn(first).revoke(acmeKey, audit);

    await expect(vaultOn(second).put(acmeKey, 'nn_wp_after_offboarding')).rejects.toBeInstanceOf(SecretRevokedError);
    await expect(vaultOn(second).put(acmeKey, WORDPRESS_KEY)).rejects.toThrow(/was revoked at/);

    const { rows } = await first.query('SELECT version, revoked_at IS NOT NULL AS revoked, ciphertext FROM vault_secrets WHERE onboarding_id = $1', [onboardingId]);
    expect(rows).toEqual([{ version: 2, revoked: true, ciphertext: null }]);
  });

  it('revoking a secret that was never stored records the revocation, so a later put is refused', async () => {
    expect(await vaultOn(first).revoke(acmeKey, audit)).toBe(false);

    await expect(vaultOn(second).put(acmeKey, WORDPRESS_KEY)).rejects.toBeInstanceOf(SecretRevokedError);
    await expect(vaultOn(second).reveal(acmeKey, audit)).rejects.toBeInstanceOf(SecretRevokedError);
  });

  it('200 puts racing 200 revocations from another process never leave a live value after the revoke', async () => {
    const writer = vaultOn(first);
    const revoker = vaultOn(second);
    const refs: SecretRef[] = Array.from({ length: 200 }, (_, i) => ({ onboardingId: `${onboardingId}-race-${i}`, name: 'wordpress-api-key' }));
    // Half the pairs start the revocation first, half the put, so both orders happen.
    const results = await Promise.all(
      refs.map(async (ref, i) => {
        const put = () => writer.put(ref, `nn_wp_race_${i}`).then((r) => r.outcome, (err: unknown) => err);
        const revoke = () => revoker.revoke(ref, { actor: 'offboarding workflow', purpose: 'client churned' });
        if (i % 2 === 0) {
          const [putOutcome, revoked] = await Promise.all([put(), revoke()]);
          return { putOutcome, revoked };
        }
        const [revoked, putOutcome] = await Promise.all([revoke(), put()]);
        return { putOutcome, revoked };
      }),
    );

    for (const { putOutcome, revoked } of results) {
      if (putOutcome === 'created') expect(revoked).toBe(true); // the put came first: the revocation took its value
      else expect(putOutcome).toBeInstanceOf(SecretRevokedError); // the revocation came first: the put was refused
    }
    for (const ref of refs) expect(await writer.has(ref)).toBe(false);
    const live = await first.query("SELECT count(*)::int AS n FROM vault_secrets WHERE onboarding_id LIKE $1 AND (revoked_at IS NULL OR ciphertext IS NOT NULL)", [`${onboardingId}-race-%`]);
    const revokedRows = await first.query("SELECT count(*)::int AS n FROM vault_secrets WHERE onboarding_id LIKE $1 AND revoked_at IS NOT NULL", [`${onboardingId}-race-%`]);
    expect(live.rows[0]!.n).toBe(0);
    expect(revokedRows.rows[0]!.n).toBe(200);
    // Both orders were exercised.
    expect(results.filter((r) => r.putOutcome === 'created').length).toBeGreaterThan(0);
    expect(results.filter((r) => r.putOutcome instanceof SecretRevokedError).length).toBeGreaterThan(0);
  });
});

describe('concurrent writes', () => {
  it('40 puts of different values from two processes at once: each gets its own version, none is lost unseen', async () => {
    const values = Array.from({ length: 40 }, (_, i) => `nn_wp_concurrent_${i}`);

    const outcomes = await Promise.all(values.map((value, i) => vaultOn(i % 2 ? first : second).put(acmeKey, value, { actor: `writer-${i}`, purpose: 'rotation' })));

    expect(outcomes.filter((o) => o.outcome === 'created')).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === 'replaced')).toHaveLength(39);
    const writes = await first.query<{ version: number; actor: string }>("SELECT version, actor FROM secret_audit WHERE onboarding_id = $1 AND action = 'write' ORDER BY version", [onboardingId]);
    expect(writes.rows.map((row) => row.version)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(new Set(writes.rows.map((row) => row.actor)).size).toBe(40);
    // The value read is the last version's.
    const last = writes.rows.at(-1)!.actor;
    expect(await vaultOn(first).reveal(acmeKey, audit)).toBe(`nn_wp_concurrent_${last.slice('writer-'.length)}`);
  });
});

describe('audit trail', () => {
  it('every read, write and revocation is recorded with who, what, when and the outcome, never the value, even with logging off', async () => {
    const vault = vaultOn(first); // its logger is silent
    const bakeryKey: SecretRef = { onboardingId: `${onboardingId}-bakery`, name: 'netlify-access-token' };
    const before = new Date();

    await vault.put(acmeKey, WORDPRESS_KEY);
    await vault.put(acmeKey, WORDPRESS_KEY, { actor: 'ops:alice', purpose: 'ops endpoint' });
    await vault.reveal(acmeKey, { actor: 'ops:alice', purpose: 'client asked for the plugin key again' });
    await vault.reveal(bakeryKey, { actor: 'worker', purpose: 'resend' });
    await vault.revoke(acmeKey, { actor: 'offboarding workflow', purpose: 'client churned' });
    await vault.reveal(acmeKey, { actor: 'ops:bob', purpose: 'late look' }).catch(() => undefined);
    await vault.put(acmeKey, 'nn_wp_after_offboarding').catch(() => undefined);
    await vaultOn(second, { key: randomBytes(32) }).reveal(bakeryKey, audit);

    const trail = await vault.listAudit({ onboardingId, limit: 100 });
    expect(trail.map((e) => [e.action, e.actor, e.purpose, e.outcome, e.version])).toEqual([
      ['write', 'engine', null, 'created', 1],
      ['write', 'ops:alice', 'ops endpoint', 'unchanged', 1],
      ['read', 'ops:alice', 'client asked for the plugin key again', 'revealed', 1],
      ['revoke', 'offboarding workflow', 'client churned', 'revoked', 2],
      ['read', 'ops:bob', 'late look', 'revoked', 2],
      ['write', 'engine', null, 'refused-revoked', 2],
    ]);
    for (const entry of trail) {
      expect(entry).toMatchObject({ onboardingId, secretName: 'wordpress-api-key', origin: expect.stringMatching(/:\d+$/) });
      expect(new Date(entry.at).getTime()).toBeGreaterThanOrEqual(before.getTime() - 1_000);
    }
    const bakery = await vault.listAudit({ onboardingId: bakeryKey.onboardingId, limit: 10 });
    expect(bakery.map((e) => [e.action, e.actor, e.outcome])).toEqual([
      ['read', 'worker', 'not-found'],
      ['read', 'test-suite', 'not-found'],
    ]);
    const everything = await first.query<{ row: string }>('SELECT row_to_json(a)::text AS row FROM secret_audit a');
    expect(everything.rows.map((r) => r.row).join('\n')).not.toContain('nn_wp_');
  });

  it('a read that fails is recorded too', async () => {
    await vaultOn(first).put(acmeKey, WORDPRESS_KEY);
    await expect(vaultOn(second, { key: randomBytes(32) }).reveal(acmeKey, audit)).rejects.toThrow();

    expect((await vaultOn(first).listAudit({ onboardingId, limit: 10 })).map((e) => [e.action, e.outcome])).toEqual([
      ['write', 'created'],
      ['read', 'unreadable'],
    ]);
  });

  it('the log gets the same audit lines as the file vault, never with the value', async () => {
    const { logger, lines, entries } = capturedLogger();
    const vault = vaultOn(first, { logger });

    await vault.put(acmeKey, WORDPRESS_KEY);
    await vault.reveal(acmeKey, audit);
    await vault.revoke(acmeKey, audit);

    expect(entries().map((e) => [e['audit'], e['outcome']])).toEqual([
      ['secret.write', 'created'],
      ['secret.read', 'revealed'],
      ['secret.revoke', 'revoked'],
    ]);
    expect(entries()[1]).toMatchObject({ onboardingId, workflowId: onboardingId, secretName: 'wordpress-api-key', actor: audit.actor, purpose: audit.purpose });
    expect(lines.join('')).not.toContain(WORDPRESS_KEY);
  });

  it('listAudit pages by time: the latest entries without `since`, the first ones after it with it, oldest first', async () => {
    const vault = vaultOn(first);
    for (let i = 0; i < 5; i++) {
      await vault.reveal(acmeKey, { actor: `reader-${i}`, purpose: 'paging' });
      await new Promise((resolve) => setTimeout(resolve, 5)); // entries a few milliseconds apart
    }
    const all = await vault.listAudit({ onboardingId, limit: 100 });
    expect(all.map((e) => e.actor)).toEqual(['reader-0', 'reader-1', 'reader-2', 'reader-3', 'reader-4']);

    expect((await vault.listAudit({ onboardingId, limit: 2 })).map((e) => e.actor)).toEqual(['reader-3', 'reader-4']);
    expect((await vault.listAudit({ onboardingId, since: new Date(all[1]!.at), limit: 2 })).map((e) => e.actor)).toEqual(['reader-1', 'reader-2']);
    expect((await vault.listAudit({ onboardingId, since: new Date(Date.now() + 60_000), limit: 10 }))).toEqual([]);
    // Without an onboarding: every onboarding's entries.
    expect((await vault.listAudit({ limit: 1 })).at(-1)).toMatchObject({ onboardingId, actor: 'reader-4' });
  });
});
