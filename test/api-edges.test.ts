import { gzipSync } from 'node:zlib';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { FileVault } from '../vault/index.js';
import { capturedLogger, serveApi, TEST_DATA_CONVERTER, TEST_OPS_TOKEN } from './support.js';

/** Input an attacker or an unlucky client sends: each answered at once with a 4xx that names the problem. */
let connection: Connection;
let api: Awaited<ReturnType<typeof serveApi>>;
const logs = capturedLogger();

beforeAll(async () => {
  connection = await Connection.connect({ address: inject('temporalAddress') });
  api = await serveApi({
    temporal: new Client({ connection, dataConverter: TEST_DATA_CONVERTER }),
    vault: new FileVault('/tmp/api-edges-vault-unused', Buffer.alloc(32, 5), logs.logger),
    taskQueue: 'api-edges-unused',
    logger: logs.logger,
  });
});
afterAll(async () => {
  await api?.close();
  await connection?.close();
});

const errorOf = async (response: Response) => ((await response.json()) as { error: { code: string; message: string; fields?: { field: string; message: string }[] } }).error;
const authorized = { authorization: `Bearer ${TEST_OPS_TOKEN}` };

describe('the API under bad input', () => {
  it.each([
    ['clientId=%00', 'clientId'],
    ['domain=not%20a%20domain', 'domain'],
    ['pageToken=abc', 'pageToken'],
  ])('a list query with %s is a 400 naming the parameter, at once (not a Temporal retry)', async (query, field) => {
    const started = Date.now();
    const response = await fetch(`${api.url}/v1/onboardings?${query}`, { headers: authorized });
    expect(response.status).toBe(400);
    expect((await errorOf(response)).fields?.map((f) => f.field)).toContain(field);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('an undeclared method on a declared path is a 405 with Allow, not a 404', async () => {
    const trace = await fetch(`${api.url}/v1/onboardings/onboarding-crm-1/retry`, { method: 'DELETE', headers: authorized });
    expect(trace.status).toBe(405);
    expect(trace.headers.get('allow')).toBe('POST');
    expect((await errorOf(trace)).message).toBe('DELETE is not allowed on /v1/onboardings/onboarding-crm-1/retry; it takes POST');
    const webhook = await fetch(`${api.url}/webhooks/crm`, { method: 'GET' });
    expect(webhook.status).toBe(405);
    expect(webhook.headers.get('allow')).toBe('POST');
    expect((await fetch(`${api.url}/v1/no-such-thing`, { headers: authorized })).status).toBe(404);
  });

  it('a gzip body that does not inflate is a 400, logged below error level', async () => {
    const garbage = Buffer.concat([gzipSync(Buffer.from('{"type":')).subarray(0, 12), Buffer.from('not gzip at all')]);
    const response = await fetch(`${api.url}/v1/onboardings/onboarding-crm-1/retry`, {
      method: 'POST',
      headers: { ...authorized, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: garbage,
    });
    expect(response.status).toBe(400);
    expect((await errorOf(response)).code).toBe('unreadable_body');
    expect(logs.entries().filter((entry) => (entry.level as number) >= 50)).toEqual([]);
  });
});
