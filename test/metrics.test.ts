import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FileVault } from '../vault/index.js';
import { capturedLogger, clientCreatedEvent, serveApi, signedDelivery, TEST_DATA_CONVERTER, TEST_OPS_TOKEN, uniqueClient } from './support.js';

type Api = Awaited<ReturnType<typeof serveApi>>;
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

let connection: Connection;
let temporal: Client;
const vault = new FileVault('/tmp/metrics-test-vault-unused', Buffer.alloc(32, 1), capturedLogger().logger);
const opened: Api[] = [];

beforeAll(async () => {
  connection = await Connection.connect({ address: inject('temporalAddress') });
  temporal = new Client({ connection, dataConverter: TEST_DATA_CONVERTER });
});
afterAll(async () => {
  await Promise.all(opened.map((api) => api.close()));
  await connection?.close();
});

/** A fresh API with counters of its own; no worker polls its task queue, the intake only starts workflows. */
async function freshApi(): Promise<Api> {
  const api = await serveApi({ temporal, vault, taskQueue: `metrics-test-${Math.random().toString(36).slice(2, 8)}` });
  opened.push(api);
  return api;
}

const deliver = (api: Api, event: unknown, headers?: (body: string) => Record<string, string>) => {
  const body = JSON.stringify(event);
  return api.post('/webhooks/crm', body, headers ? headers(body) : signedDelivery(body));
};

async function scrape(api: Api): Promise<{ text: string; samples: Sample[] }> {
  const response = await fetch(`${api.url}/metrics`);
  expect(response.status).toBe(200);
  const text = await response.text();
  const samples = text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const match = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
      if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
      const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
  return { text, samples };
}

/** The value of the sample with exactly these labels, or undefined when there is none. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  return samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === wanted)?.value;
}

describe('the API metrics', () => {
  it('are served as Prometheus text without a token, with the default process metrics', async () => {
    const api = await freshApi();
    const response = await fetch(`${api.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const { samples } = await scrape(api);
    expect(valueOf(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(samples.some((s) => s.name === 'nodejs_heap_size_used_bytes')).toBe(true);
  });

  it('count each webhook delivery once, by event type and outcome', async () => {
    const api = await freshApi();
    const client = uniqueClient();
    expect((await deliver(api, clientCreatedEvent(client))).status).toBe(202);
    expect((await deliver(api, clientCreatedEvent(client))).status).toBe(202);
    expect((await deliver(api, clientCreatedEvent(uniqueClient()), () => ({ 'content-type': 'application/json' }))).status).toBe(401);
    const padded = { ...clientCreatedEvent(uniqueClient()), padding: 'x'.repeat(70 * 1024) };
    expect((await deliver(api, padded)).status).toBe(413);
    expect((await deliver(api, { ...clientCreatedEvent(uniqueClient()), type: 'client.exploded' })).status).toBe(400);
    expect((await deliver(api, clientCreatedEvent(uniqueClient({ email: 'owner-at-acme' })))).status).toBe(400);

    const { samples } = await scrape(api);
    const received = (type: string, outcome: string) => valueOf(samples, 'webhooks_received_total', { type, outcome });
    expect(received('client.created', 'started')).toBe(1);
    expect(received('client.created', 'already-started')).toBe(1);
    expect(received('unknown', 'invalid-signature')).toBe(1);
    expect(received('unknown', 'too-large')).toBe(1);
    // A made-up event type never becomes a label value of its own.
    expect(received('unknown', 'invalid-payload')).toBe(1);
    expect(received('client.created', 'invalid-payload')).toBe(1);
    const total = samples.filter((s) => s.name === 'webhooks_received_total').reduce((sum, s) => sum + s.value, 0);
    expect(total).toBe(6);
  });

  it('count the outcome of a churn delivery by its event type', async () => {
    const api = await freshApi();
    const churned = { type: 'client.churned', timestamp: new Date().toISOString(), data: { clientId: uniqueClient().clientId } };
    const response = await deliver(api, churned);
    expect(response.status).toBe(202);
    const { status } = (await response.json()) as { status: string };
    expect(status).toBe('nothing-to-offboard');
    expect(valueOf((await scrape(api)).samples, 'webhooks_received_total', { type: 'client.churned', outcome: 'nothing-to-offboard' })).toBe(1);
  });

  it('count one started onboarding per new client, however often the CRM delivers it', async () => {
    const api = await freshApi();
    expect(valueOf((await scrape(api)).samples, 'onboardings_started_total')).toBe(0);
    const first = uniqueClient();
    const second = uniqueClient();
    await Promise.all([deliver(api, clientCreatedEvent(first)), deliver(api, clientCreatedEvent(first)), deliver(api, clientCreatedEvent(first))]);
    await deliver(api, clientCreatedEvent(first));
    await deliver(api, clientCreatedEvent(second));
    const { samples } = await scrape(api);
    expect(valueOf(samples, 'onboardings_started_total')).toBe(2);
    expect(valueOf(samples, 'webhooks_received_total', { type: 'client.created', outcome: 'already-started' })).toBe(3);
  });

  it('label request latency with the route pattern, never with an onboarding id, a client id or a raw path', async () => {
    const api = await freshApi();
    const client = uniqueClient();
    const { onboardingId } = (await (await deliver(api, clientCreatedEvent(client))).json()) as { onboardingId: string };
    expect((await api.ops('POST', `/v1/onboardings/${onboardingId}/dns-check`)).status).toBe(202);
    const unknownId = `onboarding-${uniqueClient().clientId}`;
    expect((await api.ops('GET', `/v1/onboardings/${unknownId}`)).status).toBe(404);
    expect((await api.ops('GET', `/v1/onboardings/${unknownId}`, null)).status).toBe(401);
    const strayPath = `/stray-${uniqueClient().clientId}`;
    expect((await fetch(`${api.url}${strayPath}`)).status).toBe(404);

    const { text, samples } = await scrape(api);
    const count = (method: string, route: string, status: string) => valueOf(samples, 'http_request_duration_seconds_count', { method, route, status });
    expect(count('POST', '/webhooks/crm', '202')).toBe(1);
    expect(count('POST', '/v1/onboardings/:onboardingId/dns-check', '202')).toBe(1);
    expect(count('GET', '/v1/onboardings/:onboardingId', '404')).toBe(1);
    expect(count('GET', '/v1/onboardings/:onboardingId', '401')).toBe(1);
    expect(count('GET', 'unmatched', '404')).toBe(1);
    expect(samples.some((s) => s.name === 'http_request_duration_seconds_bucket' && s.labels.route === '/v1/onboardings/:onboardingId' && s.labels.le === '+Inf')).toBe(true);
    for (const secretOfTheUrl of [onboardingId, client.clientId, unknownId, strayPath, TEST_OPS_TOKEN]) expect(text).not.toContain(secretOfTheUrl);
  });

  it('belong to each app, so two apps in one process count apart', async () => {
    const one = await freshApi();
    const other = await freshApi();
    await deliver(one, clientCreatedEvent(uniqueClient()), () => ({ 'content-type': 'application/json' }));
    expect(valueOf((await scrape(one)).samples, 'webhooks_received_total', { type: 'unknown', outcome: 'invalid-signature' })).toBe(1);
    expect(valueOf((await scrape(other)).samples, 'webhooks_received_total', { type: 'unknown', outcome: 'invalid-signature' })).toBeUndefined();
  });
});
