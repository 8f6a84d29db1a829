import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningSimulator, SimulatorOptions } from '../simulator/app.js';
import { type Answer, callKnob, sendJson, simulatorsClosedAfterEach } from './simulator-http.js';

const RESELLER_KEY = 'sk_org_test_reseller';
const NON_RESELLER_KEY = 'sk_org_test_not_a_reseller';
const START_OF_TEST_DAY = Date.parse('2026-03-02T09:00:00.000Z');

let simulator: RunningSimulator;
let clockMs: number;
const startTrackedSimulator = simulatorsClosedAfterEach();

async function start(overrides: Partial<SimulatorOptions> = {}): Promise<RunningSimulator> {
  return startTrackedSimulator({
    port: 0,
    apiKeys: [RESELLER_KEY],
    nonResellerKeys: [NON_RESELLER_KEY],
    dnsVerifyAfterMs: null,
    now: () => clockMs,
    ...overrides,
  });
}

beforeEach(async () => {
  clockMs = START_OF_TEST_DAY;
  simulator = await start();
});

async function callApi(
  method: string,
  path: string,
  options: { body?: unknown; apiKey?: string | null; on?: RunningSimulator } = {},
): Promise<Answer> {
  const apiKey = options.apiKey === undefined ? RESELLER_KEY : options.apiKey;
  const headers: Record<string, string> = apiKey === null ? {} : { 'X-Serendipity-API-Key': apiKey };
  return sendJson(method, `${(options.on ?? simulator).baseUrl}${path}`, options.body, headers);
}

function knob(method: string, path: string, body?: unknown, on: RunningSimulator = simulator): Promise<Answer> {
  return callKnob(on, method, path, body);
}

function registerDomain(body: Record<string, unknown>, on?: RunningSimulator): Promise<Answer> {
  return callApi('POST', '/reseller/domains/', { body, on });
}

async function simulatedDomains(on?: RunningSimulator): Promise<any[]> {
  return (await knob('GET', '/domains', undefined, on)).body;
}

describe('authentication', () => {
  it('a request without an API key is refused as unauthenticated', async () => {
    const answer = await callApi('GET', '/reseller/domains/list/', { apiKey: null });
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual({ detail: 'Authentication credentials were not provided.' });
  });

  it('a request with an unknown API key is refused as unauthenticated', async () => {
    const answer = await callApi('POST', '/reseller/domains/', {
      apiKey: 'sk_org_someone_else',
      body: { client_user_email: 'owner@plumber.example', domain_host: 'plumber.example' },
    });
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual({ detail: 'Invalid API key.' });
    expect(await simulatedDomains()).toEqual([]);
  });

  it('a key whose organisation is not a reseller is forbidden', async () => {
    const answer = await callApi('GET', '/reseller/domains/list/', { apiKey: NON_RESELLER_KEY });
    expect(answer.status).toBe(403);
    expect(answer.body).toEqual({ detail: 'Your organization is not a reseller.' });
  });
});

describe('registering a domain', () => {
  it('a WordPress client gets its plugin key and a processing run in the register response', async () => {
    const answer = await registerDomain({
      client_user_email: 'owner@plumber.example',
      domain_host: 'plumber.example',
      subscription_tier: 'pro',
      industry: 'plumbing',
      city: 'Tampa',
      state: 'Florida',
      cms_platform: 'wordpress',
      auto_trigger_processing: true,
    });

    expect(answer.status).toBe(201);
    expect(answer.body.domain).toMatchObject({ host: 'plumber.example', verification_status: 'pending' });
    expect(answer.body.domain.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(answer.body.client_user).toMatchObject({ email: 'owner@plumber.example', name: 'owner' });
    expect(answer.body.subscription).toMatchObject({ tier: 'pro', status: 'active' });
    expect(answer.body.wordpress).toEqual({ enabled: true, api_key: expect.stringMatching(/^nn_wp_[0-9a-f]{32}$/) });
    expect(answer.body.processing_run_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a client without WordPress gets no WordPress key and no processing run unless asked', async () => {
    const answer = await registerDomain({ client_user_email: 'owner@bakery.example', domain_host: 'bakery.example' });

    expect(answer.status).toBe(201);
    expect(answer.body).not.toHaveProperty('wordpress');
    expect(answer.body).not.toHaveProperty('processing_run_id');
    expect((await simulatedDomains())[0]).toMatchObject({ host: 'bakery.example', wordpressApiKey: null });
  });

  it('the WordPress key is shown only at registration, never in the list or the dashboard', async () => {
    const registered = await registerDomain({
      client_user_email: 'owner@plumber.example',
      domain_host: 'plumber.example',
      cms_platform: 'wordpress',
    });
    const wordpressKey: string = registered.body.wordpress.api_key;

    const list = await callApi('GET', '/reseller/domains/list/');
    const dashboard = await callApi('GET', `/reseller/domains/${registered.body.domain.id}/dashboard/`);

    expect(list.body.count).toBe(1);
    expect(dashboard.status).toBe(200);
    expect(list.text).not.toContain(wordpressKey);
    expect(dashboard.text).not.toContain(wordpressKey);
  });

  it('a second domain for an email we already know goes to the same client user', async () => {
    const first = await registerDomain({ client_user_email: 'owner@plumber.example', domain_host: 'plumber.example' });
    const second = await registerDomain({ client_user_email: 'Owner@Plumber.example', domain_host: 'plumber-north.example' });

    expect(second.status).toBe(201);
    expect(second.body.client_user.id).toBe(first.body.client_user.id);
    const list = await callApi('GET', '/reseller/domains/list/');
    expect(list.body.results.map((domain: any) => domain.client_user.id)).toEqual([
      first.body.client_user.id,
      first.body.client_user.id,
    ]);
  });

  it('a domain this reseller already registered is refused, whatever the letter case', async () => {
    await registerDomain({ client_user_email: 'owner@plumber.example', domain_host: 'plumber.example' });
    const again = await registerDomain({
      client_user_email: 'other@plumber.example',
      domain_host: 'PLUMBER.example',
      cms_platform: 'wordpress',
    });

    expect(again.status).toBe(400);
    expect(again.body).toEqual({ domain_host: ['A domain with this host is already registered.'] });
    expect(await simulatedDomains()).toHaveLength(1);
  });

  it('a domain registered by another reseller is refused and never shows in our list', async () => {
    expect((await knob('POST', '/foreign-domains', { host: 'taken.example' })).status).toBe(201);

    const answer = await registerDomain({ client_user_email: 'owner@taken.example', domain_host: 'taken.example' });
    const list = await callApi('GET', '/reseller/domains/list/');

    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ domain_host: ['A domain with this host is already registered.'] });
    expect(list.body).toEqual({ count: 0, results: [] });
  });

  it('missing and invalid fields are refused with 400 naming each field', async () => {
    const missingHost = await registerDomain({ client_user_email: 'owner@plumber.example' });
    expect(missingHost.status).toBe(400);
    expect(missingHost.body).toEqual({ domain_host: ['This field is required.'] });

    const invalid = await registerDomain({
      client_user_email: 'not-an-email',
      domain_host: 'https://plumber.example/home',
      auto_trigger_processing: 'yes',
    });
    expect(invalid.status).toBe(400);
    expect(Object.keys(invalid.body).sort()).toEqual(['auto_trigger_processing', 'client_user_email', 'domain_host']);
    expect(invalid.body.client_user_email).toEqual(['Enter a valid email address.']);
    expect(await simulatedDomains()).toEqual([]);
  });

  it('a documented path without its trailing slash is not found', async () => {
    const answer = await callApi('POST', '/reseller/domains', {
      body: { client_user_email: 'owner@plumber.example', domain_host: 'plumber.example' },
    });
    expect(answer.status).toBe(404);
    expect(await simulatedDomains()).toEqual([]);
  });
});

describe('managing a registered domain', () => {
  it('a removed domain is gone from the API and its host can be registered again', async () => {
    const registered = await registerDomain({ client_user_email: 'owner@plumber.example', domain_host: 'plumber.example' });
    const domainId: string = registered.body.domain.id;

    expect((await callApi('DELETE', `/reseller/domains/${domainId}/remove/`)).status).toBe(204);
    expect((await callApi('DELETE', `/reseller/domains/${domainId}/remove/`)).status).toBe(404);
    const dashboard = await callApi('GET', `/reseller/domains/${domainId}/dashboard/`);
    expect(dashboard.status).toBe(404);
    expect(dashboard.body).toEqual({ detail: 'Not found.' });
    expect((await callApi('GET', '/reseller/domains/list/')).body.count).toBe(0);
    expect((await simulatedDomains())[0].removedAt).toBe(new Date(clockMs).toISOString());

    const again = await registerDomain({ client_user_email: 'owner@plumber.example', domain_host: 'plumber.example' });
    expect(again.status).toBe(201);
    expect(again.body.domain.id).not.toBe(domainId);
  });

  it('the dashboard of a domain that never existed is not found', async () => {
    const answer = await callApi('GET', '/reseller/domains/5f0c6c1e-0000-4000-8000-000000000000/dashboard/');
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({ detail: 'Not found.' });
  });

  it('updating settings changes only the fields sent', async () => {
    const registered = await registerDomain({
      client_user_email: 'owner@plumber.example',
      domain_host: 'plumber.example',
      industry: 'plumbing',
      city: 'Tampa',
    });
    const answer = await callApi('PATCH', `/reseller/domains/${registered.body.domain.id}/`, {
      body: { city: 'Orlando', subscription_tier: 'pro' },
    });

    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ host: 'plumber.example', city: 'Orlando', industry: 'plumbing', subscription_tier: 'pro' });
    expect((await callApi('PATCH', '/reseller/domains/unknown-id/', { body: { city: 'Miami' } })).status).toBe(404);
  });

  it('topics added to a domain are listed once each', async () => {
    const registered = await registerDomain({ client_user_email: 'owner@plumber.example', domain_host: 'plumber.example' });
    const topicsPath = `/reseller/domains/${registered.body.domain.id}/topics/`;

    const added = await callApi('POST', `${topicsPath}add/`, { body: { topics: ['water heaters', 'drain cleaning'] } });
    await callApi('POST', `${topicsPath}add/`, { body: { topics: ['Water Heaters'] } });
    const listed = await callApi('GET', topicsPath);

    expect(added.status).toBe(201);
    expect(listed.body.results.map((topic: any) => topic.name)).toEqual(['water heaters', 'drain cleaning']);
    expect((await callApi('POST', `${topicsPath}add/`, { body: {} })).body).toEqual({ topics: ['This field is required.'] });
  });
});

describe('domain verification', () => {
  it('a domain reads pending until the DNS delay has passed, then verified', async () => {
    const delayed = await start({ dnsVerifyAfterMs: 60_000 });
    const registered = await registerDomain({ client_user_email: 'owner@plumber.example', domain_host: 'plumber.example' }, delayed);
    const dashboardPath = `/reseller/domains/${registered.body.domain.id}/dashboard/`;

    clockMs += 59_999;
    expect((await callApi('GET', dashboardPath, { on: delayed })).body.domain.verification_status).toBe('pending');

    clockMs += 1;
    expect((await callApi('GET', dashboardPath, { on: delayed })).body.domain.verification_status).toBe('verified');
    expect((await callApi('GET', '/reseller/domains/list/', { on: delayed })).body.results[0].verification_status).toBe(
      'verified',
    );
  });

  it('the verify knob marks a domain verified when DNS would never verify by itself', async () => {
    const registered = await registerDomain({ client_user_email: 'owner@plumber.example', domain_host: 'plumber.example' });
    const dashboardPath = `/reseller/domains/${registered.body.domain.id}/dashboard/`;
    clockMs += 365 * 24 * 3600_000;
    expect((await callApi('GET', dashboardPath)).body.domain.verification_status).toBe('pending');

    expect((await knob('POST', '/domains/Plumber.example/verify')).status).toBe(200);

    expect((await callApi('GET', dashboardPath)).body.domain.verification_status).toBe('verified');
  });

  it('a forced unknown verification status is reported as is until changed again', async () => {
    const registered = await registerDomain({ client_user_email: 'owner@plumber.example', domain_host: 'plumber.example' });
    const dashboardPath = `/reseller/domains/${registered.body.domain.id}/dashboard/`;

    await knob('POST', '/domains/plumber.example/status', { status: 'weird_new_state' });
    expect((await callApi('GET', dashboardPath)).body.domain.verification_status).toBe('weird_new_state');
    expect((await callApi('GET', '/reseller/domains/list/')).body.results[0].verification_status).toBe('weird_new_state');

    await knob('POST', '/domains/plumber.example/status', { status: 'failed' });
    expect((await callApi('GET', dashboardPath)).body.domain.verification_status).toBe('failed');
    expect((await knob('POST', '/domains/unknown.example/status', { status: 'failed' })).status).toBe(404);
  });

  it('a new DNS delay applies to domains still pending, counted from their registration', async () => {
    const registered = await registerDomain({ client_user_email: 'owner@plumber.example', domain_host: 'plumber.example' });
    clockMs += 10_000;

    expect((await knob('POST', '/config', { dnsVerifyAfterMs: 5_000 })).body).toEqual({ dnsVerifyAfterMs: 5_000 });

    const dashboard = await callApi('GET', `/reseller/domains/${registered.body.domain.id}/dashboard/`);
    expect(dashboard.body.domain.verification_status).toBe('verified');
    expect((await knob('POST', '/config', { dnsVerifyAfterMs: 'soon' })).status).toBe(400);
  });
});

describe('injected faults', () => {
  it('a 503 fault answers unavailable without registering the domain, once', async () => {
    await knob('POST', '/faults', { route: 'register', kind: 'status', status: 503 });
    const body = { client_user_email: 'owner@plumber.example', domain_host: 'plumber.example' };

    const failed = await registerDomain(body);
    expect(failed.status).toBe(503);
    expect(failed.body).toEqual({ detail: 'Service temporarily unavailable.' });
    expect(await simulatedDomains()).toEqual([]);

    expect((await registerDomain(body)).status).toBe(201);
  });

  it('a 429 fault carries a Retry-After header and does nothing', async () => {
    await knob('POST', '/faults', { route: 'any', kind: 'status', status: 429, retryAfterSeconds: 7, times: 2 });

    const first = await registerDomain({ client_user_email: 'owner@plumber.example', domain_host: 'plumber.example' });
    const second = await callApi('GET', '/reseller/domains/list/');
    const third = await callApi('GET', '/reseller/domains/list/');

    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('7');
    expect(second.status).toBe(429);
    expect(third.status).toBe(200);
    expect(third.body.count).toBe(0);
  });

  it('faults only hit the route they name and can be cleared', async () => {
    await knob('POST', '/faults', { route: 'dashboard', kind: 'status', status: 500, times: 5 });
    expect((await callApi('GET', '/reseller/domains/list/')).status).toBe(200);
    expect((await knob('GET', '/faults')).body).toEqual([expect.objectContaining({ route: 'dashboard', times: 5 })]);

    expect((await knob('DELETE', '/faults')).status).toBe(204);
    expect(await knob('GET', '/faults')).toMatchObject({ body: [] });
  });

  it('a drop-after-write fault registers the domain and issues the key, but the caller never hears back', async () => {
    await knob('POST', '/faults', { route: 'register', kind: 'drop-after-write' });
    const body = { client_user_email: 'owner@plumber.example', domain_host: 'plumber.example', cms_platform: 'wordpress' };

    await expect(registerDomain(body)).rejects.toThrow();

    const [domain] = await simulatedDomains();
    expect(domain).toMatchObject({ host: 'plumber.example', clientUserEmail: 'owner@plumber.example', removedAt: null });
    expect(domain.wordpressApiKey).toMatch(/^nn_wp_[0-9a-f]{32}$/);
    // The documented consequence: a blind retry is refused and the key is lost to the caller.
    const retry = await registerDomain(body);
    expect(retry.status).toBe(400);
    expect(retry.text).not.toContain(domain.wordpressApiKey);
  });

  it('a latency fault delays the answer, which still succeeds', async () => {
    await knob('POST', '/faults', { route: 'list', kind: 'latency', latencyMs: 300 });

    const startedAt = performance.now();
    const slow = await callApi('GET', '/reseller/domains/list/');
    const slowMs = performance.now() - startedAt;

    expect(slow.status).toBe(200);
    expect(slowMs).toBeGreaterThanOrEqual(280);
  });

  it('a malformed fault rule is refused with a message naming the problem', async () => {
    const answer = await knob('POST', '/faults', { route: 'register', kind: 'latency' });
    expect(answer.status).toBe(400);
    expect(answer.body.detail).toContain('latencyMs');
    expect((await knob('GET', '/faults')).body).toEqual([]);
  });
});

describe('call log', () => {
  it('lists API calls in order with route, status and host, and never a key', async () => {
    const registered = await registerDomain({
      client_user_email: 'owner@plumber.example',
      domain_host: 'plumber.example',
      cms_platform: 'wordpress',
    });
    await callApi('GET', '/reseller/domains/list/', { apiKey: 'sk_org_wrong' });
    await callApi('GET', `/reseller/domains/${registered.body.domain.id}/dashboard/`);
    await knob('POST', '/faults', { route: 'remove', kind: 'drop-after-write' });
    await expect(callApi('DELETE', `/reseller/domains/${registered.body.domain.id}/remove/`)).rejects.toThrow();

    const calls = await knob('GET', '/calls');

    expect(calls.body).toEqual([
      expect.objectContaining({ method: 'POST', route: 'register', status: 201, domainHost: 'plumber.example' }),
      expect.objectContaining({ method: 'GET', route: 'list', status: 401, path: '/accounts/reseller/domains/list/' }),
      expect.objectContaining({ method: 'GET', route: 'dashboard', status: 200, domainHost: 'plumber.example' }),
      expect.objectContaining({ method: 'DELETE', route: 'remove', status: 'dropped', domainHost: 'plumber.example' }),
    ]);
    expect(calls.text).not.toContain(RESELLER_KEY);
    expect(calls.text).not.toContain('sk_org_wrong');
    expect(calls.text).not.toContain(registered.body.wordpress.api_key);
  });

  it('reset forgets domains, foreign domains, faults and calls', async () => {
    await registerDomain({ client_user_email: 'owner@plumber.example', domain_host: 'plumber.example' });
    await knob('POST', '/foreign-domains', { host: 'taken.example' });
    await knob('POST', '/faults', { route: 'list', kind: 'status', status: 503 });

    expect((await knob('POST', '/reset')).status).toBe(204);

    expect(await simulatedDomains()).toEqual([]);
    expect((await knob('GET', '/calls')).body).toEqual([]);
    expect((await callApi('GET', '/reseller/domains/list/')).status).toBe(200);
    expect((await registerDomain({ client_user_email: 'owner@taken.example', domain_host: 'taken.example' })).status).toBe(201);
  });
});

describe('state file', () => {
  let stateDirectory: string;
  beforeEach(() => {
    stateDirectory = mkdtempSync(join(tmpdir(), 'nextnet-simulator-'));
  });
  afterEach(() => {
    rmSync(stateDirectory, { recursive: true, force: true });
  });

  it('a registered domain and its WordPress key survive a restart on the same state file', async () => {
    const stateFile = join(stateDirectory, 'state.json');
    const first = await start({ stateFile });
    const registered = await registerDomain(
      { client_user_email: 'owner@plumber.example', domain_host: 'plumber.example', cms_platform: 'wordpress' },
      first,
    );
    await first.close();

    const second = await start({ stateFile });

    const [domain] = await simulatedDomains(second);
    expect(domain).toMatchObject({ id: registered.body.domain.id, wordpressApiKey: registered.body.wordpress.api_key });
    const list = await callApi('GET', '/reseller/domains/list/', { on: second });
    expect(list.body.results[0].id).toBe(registered.body.domain.id);
    const again = await registerDomain({ client_user_email: 'owner@plumber.example', domain_host: 'plumber.example' }, second);
    expect(again.status).toBe(400);
    expect(readFileSync(stateFile, 'utf8')).not.toContain(RESELLER_KEY);
  });
});
