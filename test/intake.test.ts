import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { FileVault } from '../vault/index.js';
import type { OnboardingInput } from '../workflows/definitions.js';
import { capturedLogger, clientCreatedEvent, decodedHistory, freePort, serveApi, signedDelivery, TEST_DATA_CONVERTER, TEST_OPS_TOKEN, uniqueClient } from './support.js';

type Api = Awaited<ReturnType<typeof serveApi>>;

let connection: Connection;
let temporal: Client;
let api: Api;
const taskQueue = `intake-test-${Math.random().toString(36).slice(2, 8)}`;
const vault = new FileVault('/tmp/intake-test-vault-unused', Buffer.alloc(32, 1), capturedLogger().logger);

beforeAll(async () => {
  connection = await Connection.connect({ address: inject('temporalAddress') });
  temporal = new Client({ connection, dataConverter: TEST_DATA_CONVERTER });
  // No worker polls this task queue: the intake's job ends once the workflow is durably started.
  api = await serveApi({ temporal, vault, taskQueue });
});
afterAll(async () => {
  await api?.close();
  await connection?.close();
});

const deliver = (event: unknown, headers?: Record<string, string>) => {
  const body = JSON.stringify(event);
  return api.post('/webhooks/crm', body, headers ?? signedDelivery(body));
};
const errorOf = async (response: Response) => ((await response.json()) as { error: { code: string; message: string; fields?: { field: string; message: string }[] } }).error;

describe('the CRM webhook intake', () => {
  it('starts one onboarding workflow for a new client and answers 202 at once', async () => {
    const client = uniqueClient();
    const started = Date.now();
    const response = await deliver(clientCreatedEvent(client));
    expect(response.status).toBe(202);
    expect(Date.now() - started).toBeLessThan(5_000);
    const body = (await response.json()) as { workflowId: string };
    expect(body).toEqual({ onboardingId: `onboarding-${client.clientId}`, workflowId: `onboarding-${client.clientId}`, status: 'started' });

    const description = await temporal.workflow.getHandle(body.workflowId).describe();
    expect(description.status.name).toBe('RUNNING');
    expect(description.taskQueue).toBe(taskQueue);
  });

  it('a duplicate webhook starts no second onboarding and returns the same ids', async () => {
    const client = uniqueClient();
    const first = (await (await deliver(clientCreatedEvent(client))).json()) as Record<string, string>;
    const again = await deliver(clientCreatedEvent(client));
    expect(again.status).toBe(202);
    expect(await again.json()).toEqual({ ...first, status: 'already-started' });
  });

  it('a redelivery for a client whose onboarding closed, and who never churned, starts nothing either', async () => {
    const client = uniqueClient();
    const event = clientCreatedEvent(client);
    const { workflowId } = (await (await deliver(event)).json()) as { workflowId: string };
    await temporal.workflow.getHandle(workflowId).terminate('closed for the test');
    const later = await deliver({ ...event, timestamp: new Date(Date.now() + 60_000).toISOString() });
    expect(await later.json()).toMatchObject({ status: 'already-started' });
    expect((await temporal.workflow.getHandle(workflowId).describe()).status.name).toBe('TERMINATED');
  });

  it('concurrent deliveries for one client start exactly one onboarding', async () => {
    const client = uniqueClient();
    const answers = await Promise.all(Array.from({ length: 6 }, () => deliver(clientCreatedEvent(client)).then((r) => r.json() as Promise<{ status: string; workflowId: string }>)));
    expect(answers.filter((a) => a.status === 'started')).toHaveLength(1);
    expect(answers.filter((a) => a.status === 'already-started')).toHaveLength(5);
    expect(new Set(answers.map((a) => a.workflowId)).size).toBe(1);
  });

  it('normalises the domain (case, trailing dot, IDN) before using it', async () => {
    const client = uniqueClient({ domain: 'Bücher-Shop.Example.COM.' });
    const { workflowId } = (await (await deliver(clientCreatedEvent(client))).json()) as { workflowId: string };
    const history = await decodedHistory(temporal.workflow.getHandle(workflowId));
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    const payload = started?.input?.payloads?.[0]?.data;
    const input = JSON.parse(Buffer.from(payload!).toString('utf8')) as OnboardingInput;
    expect(input.client.domain).toBe('xn--bcher-shop-9db.example.com');
    expect(input.client.email).toBe(client.email.toLowerCase());
  });

  describe('the plan: data.services', () => {
    const inputOf = async (workflowId: string) => {
      const history = await decodedHistory(temporal.workflow.getHandle(workflowId));
      const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
      return JSON.parse(Buffer.from(payload!).toString('utf8')) as OnboardingInput;
    };

    it('starts an onboarding of the platforms named, in the catalogue order, without repeats', async () => {
      const client = uniqueClient();
      const response = await deliver(clientCreatedEvent({ ...client, services: ['nextnet', 'netlify', 'nextnet'] }));
      expect(response.status).toBe(202);
      expect((await inputOf(`onboarding-${client.clientId}`)).services).toEqual(['netlify', 'nextnet']);
    });

    it('a delivery without services gets the default plan (ONBOARDING_SERVICES)', async () => {
      const client = uniqueClient();
      expect((await deliver(clientCreatedEvent(client))).status).toBe(202);
      expect((await inputOf(`onboarding-${client.clientId}`)).services).toEqual(['nextnet']);
    });

    it('an unknown service is a 400 naming the field and the platforms there are', async () => {
      const response = await deliver(clientCreatedEvent({ ...uniqueClient(), services: ['netlify', 'wix'] }));
      expect(response.status).toBe(400);
      const error = await errorOf(response);
      expect(error.fields).toEqual([{ field: 'data.services.1', message: 'must be one of: netlify, nextnet' }]);
    });

    it('a service this engine has no credentials for is a 400 naming it, and nothing starts', async () => {
      const nextnetOnly = await serveApi({ temporal, vault, taskQueue, availableServices: ['nextnet'], defaultServices: ['nextnet'] });
      try {
        const client = uniqueClient();
        const body = JSON.stringify(clientCreatedEvent({ ...client, services: ['netlify'] }));
        const response = await nextnetOnly.post('/webhooks/crm', body, signedDelivery(body));
        expect(response.status).toBe(400);
        const error = await errorOf(response);
        expect(error.fields?.[0]?.field).toBe('data.services');
        expect(error.fields?.[0]?.message).toContain('netlify is not configured on this engine (configured: nextnet)');
        await expect(temporal.workflow.getHandle(`onboarding-${client.clientId}`).describe()).rejects.toThrow();
      } finally {
        await nextnetOnly.close();
      }
    });
  });

  describe('rejects a delivery whose signature does not check out with 401', () => {
    const body = () => JSON.stringify(clientCreatedEvent(uniqueClient()));

    it('when the signature headers are missing', async () => {
      const response = await api.post('/webhooks/crm', body(), { 'content-type': 'application/json' });
      expect(response.status).toBe(401);
      expect((await errorOf(response)).message).toContain('missing required headers');
    });

    it('when it was signed with another secret', async () => {
      const b = body();
      const other = 'whsec_' + Buffer.from('another-secret-another-secret-32').toString('base64');
      const response = await api.post('/webhooks/crm', b, signedDelivery(b, { secret: other }));
      expect(response.status).toBe(401);
      expect((await errorOf(response)).message).toContain('no matching signature');
    });

    it('when the body was changed after signing', async () => {
      const b = body();
      const response = await api.post('/webhooks/crm', b.replace('acme', 'evil'), signedDelivery(b));
      expect(response.status).toBe(401);
    });

    it('when the timestamp is more than 5 minutes old or ahead', async () => {
      const b = body();
      const old = await api.post('/webhooks/crm', b, signedDelivery(b, { at: new Date(Date.now() - 6 * 60_000) }));
      expect(old.status).toBe(401);
      expect((await errorOf(old)).message).toContain('too old');
      const ahead = await api.post('/webhooks/crm', b, signedDelivery(b, { at: new Date(Date.now() + 6 * 60_000) }));
      expect(ahead.status).toBe(401);
      expect((await errorOf(ahead)).message).toContain('too new');
    });

    it('and starts nothing', async () => {
      const client = uniqueClient();
      const b = JSON.stringify(clientCreatedEvent(client));
      await api.post('/webhooks/crm', b, { ...signedDelivery(b), 'webhook-signature': 'v1,AAAA' });
      await expect(temporal.workflow.getHandle(`onboarding-${client.clientId}`).describe()).rejects.toThrow(/not found/i);
    });
  });

  describe('rejects a bad payload with 400 naming each bad field', () => {
    it('when the body is not JSON', async () => {
      const b = '{"type": "client.created", ';
      const response = await api.post('/webhooks/crm', b, signedDelivery(b));
      expect(response.status).toBe(400);
      expect(await errorOf(response)).toMatchObject({ code: 'malformed_json' });
    });

    it('when required fields are missing', async () => {
      const response = await deliver({ type: 'client.created', timestamp: new Date().toISOString(), data: { name: 'No Ids' } });
      expect(response.status).toBe(400);
      const fields = (await errorOf(response)).fields!.map((f) => f.field);
      expect(fields).toEqual(expect.arrayContaining(['data.clientId', 'data.email', 'data.domain']));
    });

    it('when the email is not an email', async () => {
      const response = await deliver(clientCreatedEvent(uniqueClient({ email: 'owner-at-acme' })));
      expect(response.status).toBe(400);
      expect((await errorOf(response)).fields).toEqual([{ field: 'data.email', message: 'is not a valid email address' }]);
    });

    it('when the domain has a scheme or a path', async () => {
      const withScheme = await deliver(clientCreatedEvent(uniqueClient({ domain: 'https://acme.com' })));
      expect(withScheme.status).toBe(400);
      expect((await errorOf(withScheme)).fields?.[0]).toMatchObject({ field: 'data.domain', message: expect.stringContaining('without a scheme') });
      const withPath = await deliver(clientCreatedEvent(uniqueClient({ domain: 'acme.com/shop' })));
      expect(withPath.status).toBe(400);
      expect((await errorOf(withPath)).fields?.[0]).toMatchObject({ field: 'data.domain', message: expect.stringContaining('without a path') });
    });

    it('when the event type is unknown', async () => {
      const response = await deliver({ ...clientCreatedEvent(uniqueClient()), type: 'client.exploded' });
      expect(response.status).toBe(400);
      expect((await errorOf(response)).fields?.[0]).toMatchObject({ field: 'type', message: expect.stringContaining('"client.exploded"') });
    });
  });

  it('refuses a body over 64 KiB with 413', async () => {
    const b = JSON.stringify({ ...clientCreatedEvent(uniqueClient()), padding: 'x'.repeat(70 * 1024) });
    const response = await api.post('/webhooks/crm', b, signedDelivery(b));
    expect(response.status).toBe(413);
    expect(await errorOf(response)).toMatchObject({ code: 'payload_too_large' });
  });

  it('answers 503 with Retry-After when Temporal is unreachable, so the CRM retries', async () => {
    const deadConnection = Connection.lazy({ address: `127.0.0.1:${await freePort()}` });
    const deadApi = await serveApi({ temporal: new Client({ connection: deadConnection }), vault, taskQueue });
    try {
      const b = JSON.stringify(clientCreatedEvent(uniqueClient()));
      const response = await deadApi.post('/webhooks/crm', b, signedDelivery(b));
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      expect(await errorOf(response)).toMatchObject({ code: 'temporal_unavailable' });
      const ready = await fetch(`${deadApi.url}/readyz`);
      expect(ready.status).toBe(503);
    } finally {
      await deadApi.close();
      await deadConnection.close().catch(() => undefined);
    }
  });
});

describe('the ops endpoints', () => {
  it('refuse a request without the ops token', async () => {
    const response = await api.ops('GET', '/v1/onboardings/onboarding-anything', null);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    const wrong = await api.ops('GET', '/v1/onboardings/onboarding-anything', `${TEST_OPS_TOKEN}x`);
    expect(wrong.status).toBe(401);
  });

  it('say that no worker is running when an onboarding exists but nobody can answer for it', async () => {
    // This file runs no worker: the onboarding is started, but its status can only come from a worker.
    const client = uniqueClient();
    const { workflowId } = (await (await deliver(clientCreatedEvent(client))).json()) as { workflowId: string };
    const response = await api.ops('GET', `/v1/onboardings/${workflowId}`);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    const error = await errorOf(response);
    expect(error.code).toBe('no_worker');
    expect(error.message).toContain(`task queue "${taskQueue}"`);
  });

  it('answer 404 for an unknown onboarding', async () => {
    const response = await api.ops('GET', '/v1/onboardings/onboarding-never-heard-of');
    expect(response.status).toBe(404);
    expect(await errorOf(response)).toMatchObject({ code: 'onboarding_not_found' });
    const secret = await api.ops('GET', '/v1/onboardings/onboarding-never-heard-of/secrets/wordpress-api-key');
    expect(secret.status).toBe(404);
  });

  it('report health without a token, and readiness only while Temporal answers', async () => {
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${api.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', temporal: 'reachable' });
  });

  it('answer unknown routes with a JSON 404', async () => {
    const response = await fetch(`${api.url}/nope`);
    expect(response.status).toBe(404);
    expect(await errorOf(response)).toMatchObject({ code: 'not_found' });
  });
});
