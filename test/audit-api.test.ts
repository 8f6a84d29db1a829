import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../config/logger.js';
import { openDatabase, type Database } from '../database/index.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../scripts/postgres.js';
import { FileVault, PostgresVault, type SecretAuditEntry } from '../vault/index.js';
import { freePort } from './free-port.js';
import { serveApi } from './support.js';

const WORDPRESS_KEY = 'nn_wp_audit_0123456789abcdef0123456789';
const silent = createLogger({ level: 'silent' });

let server: EmbeddedPostgres;
let database: Database;
let vault: PostgresVault;
/** GET /v1/audit needs no Temporal: a connection that never connects. */
let connection: Connection;
let api: Awaited<ReturnType<typeof serveApi>>;
let fileVaultDir: string;
let fileApi: Awaited<ReturnType<typeof serveApi>>;

beforeAll(async () => {
  server = await startEmbeddedPostgres({ port: await freePort(), database: 'audit_api_test', onProgress: () => {} });
  database = openDatabase(server.url, silent);
  await database.migrate();
  vault = new PostgresVault({ database, key: randomBytes(32), logger: silent });
  connection = Connection.lazy({ address: `127.0.0.1:${await freePort()}` });
  const temporal = new Client({ connection });
  api = await serveApi({ temporal, vault, taskQueue: 'audit-api-test-unused' });
  fileVaultDir = await mkdtemp(path.join(os.tmpdir(), 'audit-api-file-vault-'));
  fileApi = await serveApi({ temporal, vault: new FileVault(fileVaultDir, randomBytes(32), silent), taskQueue: 'audit-api-test-unused' });
});

afterAll(async () => {
  await api?.close();
  await fileApi?.close();
  await connection?.close().catch(() => undefined);
  await database?.close();
  await server?.close();
  if (fileVaultDir) await rm(fileVaultDir, { recursive: true, force: true });
});

async function errorOf(response: Response): Promise<{ code: string; message: string; fields?: { field: string; message: string }[] }> {
  return ((await response.json()) as { error: { code: string; message: string; fields?: { field: string; message: string }[] } }).error;
}

describe('GET /v1/audit', () => {
  it("lists an onboarding's secret writes and reads with actor and outcome, never the value", async () => {
    const onboardingId = `onboarding-crm-audit-${randomBytes(4).toString('hex')}`;
    const other = `onboarding-crm-audit-other-${randomBytes(4).toString('hex')}`;
    const ref = { onboardingId, name: 'wordpress-api-key' as const };
    await vault.put(ref, WORDPRESS_KEY, { actor: 'ana (ops)', purpose: 'key regenerated in the NextNet dashboard' });
    expect(await vault.reveal(ref, { actor: 'ben (ops)', purpose: 'support ticket 42' })).toBe(WORDPRESS_KEY);
    expect(await vault.reveal({ onboardingId, name: 'netlify-access-token' }, { actor: 'engine', purpose: 'site setup' })).toBeUndefined();
    await vault.put({ onboardingId: other, name: 'wordpress-api-key' }, 'nn_wp_someone_else_entirely', { actor: 'engine', purpose: 'registration' });

    const response = await api.ops('GET', `/v1/audit?onboardingId=${onboardingId}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const text = await response.text();
    expect(text).not.toContain(WORDPRESS_KEY);
    const { items } = JSON.parse(text) as { items: SecretAuditEntry[] };
    expect(items.map(({ secretName, action, actor, purpose, outcome }) => ({ secretName, action, actor, purpose, outcome }))).toEqual([
      { secretName: 'wordpress-api-key', action: 'write', actor: 'ana (ops)', purpose: 'key regenerated in the NextNet dashboard', outcome: 'created' },
      { secretName: 'wordpress-api-key', action: 'read', actor: 'ben (ops)', purpose: 'support ticket 42', outcome: 'revealed' },
      { secretName: 'netlify-access-token', action: 'read', actor: 'engine', purpose: 'site setup', outcome: 'not-found' },
    ]);
    for (const item of items) {
      expect(item).toMatchObject({ onboardingId, id: expect.any(Number), origin: expect.any(String) });
      expect(Number.isNaN(Date.parse(item.at))).toBe(false);
    }

    // Without a filter, the latest entries of every onboarding; `limit` keeps the last ones.
    const latest = (await (await api.ops('GET', '/v1/audit?limit=2')).json()) as { items: SecretAuditEntry[] };
    expect(latest.items.map((item) => [item.onboardingId, item.action])).toEqual([
      [onboardingId, 'read'],
      [other, 'write'],
    ]);

    // `since` takes a span back from now or an ISO date-time.
    const lastDay = (await (await api.ops('GET', `/v1/audit?onboardingId=${onboardingId}&since=24h`)).json()) as { items: SecretAuditEntry[] };
    expect(lastDay.items).toHaveLength(3);
    const future = new Date(Date.now() + 60_000).toISOString();
    const none = (await (await api.ops('GET', `/v1/audit?onboardingId=${onboardingId}&since=${encodeURIComponent(future)}`)).json()) as { items: SecretAuditEntry[] };
    expect(none.items).toEqual([]);
  });

  it('answers 400 naming the bad parameter', async () => {
    const zero = await api.ops('GET', '/v1/audit?limit=0');
    expect(zero.status).toBe(400);
    const error = await errorOf(zero);
    expect(error.code).toBe('invalid_query');
    expect(error.fields?.map((f) => f.field)).toEqual(['limit']);

    const tooMany = await api.ops('GET', '/v1/audit?limit=1001');
    expect(tooMany.status).toBe(400);
    const since = await api.ops('GET', '/v1/audit?since=last%20tuesday');
    expect(since.status).toBe(400);
    expect((await errorOf(since)).fields?.map((f) => f.field)).toEqual(['since']);
  });

  it('needs the ops token', async () => {
    expect((await api.ops('GET', '/v1/audit', null)).status).toBe(401);
  });

  it('answers 404 audit_unavailable with the file vault, saying the trail is kept in PostgreSQL', async () => {
    const response = await fileApi.ops('GET', '/v1/audit');
    expect(response.status).toBe(404);
    const error = await errorOf(response);
    expect(error.code).toBe('audit_unavailable');
    expect(error.message).toMatch(/PostgreSQL/);
    expect(error.message).toMatch(/DATABASE_URL/);
  });
});
