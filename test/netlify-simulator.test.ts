import { Resolver } from 'node:dns/promises';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEV_NETLIFY_RESELLER_TOKEN, type RunningSimulator, type StartSimulatorOptions, netlifyStateFileOf } from '../simulator/app.js';
import { type Answer, callKnob, sendJson, simulatorsClosedAfterEach } from './simulator-http.js';

const RESELLER_TOKEN = 'nfr_test_reseller_token';
const NEXTNET_KEY = 'sk_org_test_reseller';
const LOAD_BALANCER = '75.2.60.5';
const START_OF_TEST_DAY = Date.parse('2026-03-02T09:00:00.000Z');

let simulator: RunningSimulator;
let clockMs: number;
const startTrackedSimulator = simulatorsClosedAfterEach();

async function start(overrides: Partial<StartSimulatorOptions> = {}): Promise<RunningSimulator> {
  return startTrackedSimulator({
    port: 0,
    apiKeys: [NEXTNET_KEY],
    netlifyResellerTokens: [RESELLER_TOKEN],
    dnsVerifyAfterMs: null,
    now: () => clockMs,
    ...overrides,
  });
}

beforeEach(async () => {
  clockMs = START_OF_TEST_DAY;
  simulator = await start();
});

async function netlify(
  method: string,
  path: string,
  options: { token?: string | null; body?: unknown; on?: RunningSimulator } = {},
): Promise<Answer> {
  const token = options.token === undefined ? RESELLER_TOKEN : options.token;
  const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
  return sendJson(method, `${(options.on ?? simulator).netlifyBaseUrl}${path}`, options.body, headers);
}

function knob(method: string, path: string, body?: unknown, on: RunningSimulator = simulator): Promise<Answer> {
  return callKnob(on, method, path, body);
}

async function mintToken(uid: string, email: string, on?: RunningSimulator): Promise<Answer> {
  return netlify('POST', '/access_tokens', { body: { user: { email, uid } }, on });
}

async function userToken(uid: string, email = `${uid}@clients.example`): Promise<string> {
  const minted = await mintToken(uid, email);
  expect(minted.status).toBe(201);
  return minted.body.access_token;
}

async function createSite(body: Record<string, unknown>, token: string = RESELLER_TOKEN, on?: RunningSimulator): Promise<Answer> {
  return netlify('POST', '/sites', { body, token, on });
}

describe('authentication', () => {
  it('refuses a request without a token or with an unknown one', async () => {
    const missing = await netlify('GET', '/sites', { token: null });
    const unknown = await netlify('GET', '/sites', { token: 'nfp_not_ours' });

    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ code: 401, message: expect.stringMatching(/^Access Denied: /) });
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual({ code: 401, message: expect.stringMatching(/^Access Denied: /) });
  });

  it('accepts the development reseller token when no token is configured', async () => {
    const defaults = await startTrackedSimulator({ port: 0, apiKeys: [NEXTNET_KEY], dnsVerifyAfterMs: null });
    expect((await netlify('GET', '/sites', { token: DEV_NETLIFY_RESELLER_TOKEN, on: defaults })).status).toBe(200);
    expect((await netlify('GET', '/sites', { token: RESELLER_TOKEN, on: defaults })).status).toBe(401);
  });
});

describe('access tokens for client users', () => {
  it('creates the user once and mints a new, lasting token on every call', async () => {
    const first = await mintToken('crm-123', 'owner@plumber.example');
    const second = await mintToken('crm-123', 'new-owner@plumber.example');

    expect(first.status).toBe(201);
    expect(first.body).toEqual({
      id: first.body.user_id,
      access_token: expect.any(String),
      user_id: expect.stringMatching(/^[0-9a-f]{24}$/),
      created_at: new Date(clockMs).toISOString(),
      email: 'owner@plumber.example',
    });
    expect(second.body.user_id).toBe(first.body.user_id);
    expect(second.body.email).toBe('new-owner@plumber.example');
    expect(second.body.access_token).not.toBe(first.body.access_token);
    // The older token still acts for the user.
    expect((await netlify('GET', '/sites', { token: first.body.access_token })).status).toBe(200);
    expect((await netlify('GET', '/sites', { token: second.body.access_token })).status).toBe(200);

    const users = (await knob('GET', '/netlify/users')).body;
    expect(users).toEqual([
      expect.objectContaining({
        id: first.body.user_id,
        uid: 'crm-123',
        email: 'new-owner@plumber.example',
        tokens: [first.body.access_token, second.body.access_token],
      }),
    ]);
  });

  it('gives another uid another user', async () => {
    const one = await mintToken('crm-1', 'owner@one.example');
    const two = await mintToken('crm-2', 'owner@two.example');
    expect(two.body.user_id).not.toBe(one.body.user_id);
  });

  it('only the reseller token may mint tokens', async () => {
    const token = await userToken('crm-123');
    const answer = await netlify('POST', '/access_tokens', { token, body: { user: { email: 'x@y.example', uid: 'crm-9' } } });
    expect(answer.status).toBe(403);
    expect(answer.body).toMatchObject({ code: 403 });
    expect((await knob('GET', '/netlify/users')).body).toHaveLength(1);
  });

  it('refuses a missing email or uid with 422 naming the user', async () => {
    const noEmail = await netlify('POST', '/access_tokens', { body: { user: { uid: 'crm-1' } } });
    const noUid = await netlify('POST', '/access_tokens', { body: { user: { email: 'owner@one.example' } } });
    const noUser = await netlify('POST', '/access_tokens', { body: {} });

    for (const answer of [noEmail, noUid, noUser]) {
      expect(answer.status).toBe(422);
      expect(answer.body).toEqual({ errors: { user: expect.arrayContaining([expect.any(String)]) } });
    }
    expect((await knob('GET', '/netlify/users')).body).toEqual([]);
  });
});

describe('sites', () => {
  it('a new site has the documented fields, and is found by id, custom domain and alias', async () => {
    const created = await createSite({ name: 'acme-plumbing', custom_domain: 'Acme-Plumbing.example', domain_aliases: ['www.acme-plumbing.example'], force_ssl: true });

    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      site_id: created.body.id,
      name: 'acme-plumbing',
      state: 'current',
      url: 'http://acme-plumbing.example',
      ssl_url: 'https://acme-plumbing.netlify.app',
      admin_url: 'https://app.netlify.com/sites/acme-plumbing',
      custom_domain: 'acme-plumbing.example',
      // Ignored on create, as by Netlify.
      domain_aliases: [],
      ssl: false,
      force_ssl: false,
      managed_dns: false,
      account_slug: expect.any(String),
      user_id: expect.stringMatching(/^[0-9a-f]{24}$/),
      created_at: new Date(clockMs).toISOString(),
      updated_at: new Date(clockMs).toISOString(),
      ssl_status: null,
    });

    const patched = await netlify('PATCH', `/sites/${created.body.id}`, {
      body: { domain_aliases: ['www.acme-plumbing.example'], force_ssl: true },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ domain_aliases: ['www.acme-plumbing.example'], force_ssl: true });

    for (const key of [created.body.id, 'acme-plumbing.example', 'www.acme-plumbing.example', 'acme-plumbing.netlify.app']) {
      const found = await netlify('GET', `/sites/${key}`);
      expect(found.status).toBe(200);
      expect(found.body.id).toBe(created.body.id);
    }
    const missing = await netlify('GET', '/sites/nobody.example');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ code: 404, message: 'Not Found' });
  });

  it('a site without a name gets a generated one and the netlify.app URL', async () => {
    const created = await createSite({});
    expect(created.status).toBe(201);
    expect(created.body.name).toMatch(/^[a-z]+-[a-z]+-[0-9a-f]{6}$/);
    expect(created.body.url).toBe(`https://${created.body.name}.netlify.app`);
    expect(created.body.custom_domain).toBeNull();
  });

  it('a deleted site answers 404, and its name and domain are free again', async () => {
    const created = await createSite({ name: 'acme', custom_domain: 'acme.example' });

    expect((await netlify('DELETE', `/sites/${created.body.id}`)).status).toBe(204);
    expect((await netlify('DELETE', `/sites/${created.body.id}`)).status).toBe(404);
    expect((await netlify('GET', '/sites/acme.example')).status).toBe(404);
    expect((await knob('GET', '/netlify/sites')).body[0]).toMatchObject({ id: created.body.id, removed_at: new Date(clockMs).toISOString() });
    expect((await createSite({ name: 'acme', custom_domain: 'acme.example' })).status).toBe(201);
  });

  it('a taken name or custom domain is refused with Netlify\'s 422 validation shape', async () => {
    await knob('POST', '/netlify/config', { siteCreatesPerMinute: 10 });
    await createSite({ name: 'acme', custom_domain: 'acme.example' });
    await knob('POST', '/netlify/foreign-domains', { host: 'Taken.example' });

    const sameName = await createSite({ name: 'acme' });
    const sameDomain = await createSite({ name: 'acme-two', custom_domain: 'ACME.example' });
    const foreignDomain = await createSite({ name: 'acme-three', custom_domain: 'taken.example' });
    const other = await createSite({ name: 'acme-four' });
    const patchToForeign = await netlify('PATCH', `/sites/${other.body.id}`, { body: { custom_domain: 'taken.example' } });

    expect(sameName.status).toBe(422);
    expect(sameName.body).toEqual({ errors: { subdomain: ['must be unique'] } });
    expect(sameDomain.status).toBe(422);
    expect(sameDomain.body).toEqual({ errors: { custom_domain: ['must be unique'] } });
    expect(foreignDomain.body).toEqual({ errors: { custom_domain: ['must be unique'] } });
    expect(patchToForeign.status).toBe(422);
    expect(patchToForeign.body).toEqual({ errors: { custom_domain: ['must be unique'] } });
    expect((await knob('GET', '/netlify/sites')).body.map((site: any) => site.name)).toEqual(['acme', 'acme-four']);
  });

  it('a user token sees and changes its own sites only; the reseller token sees and changes all', async () => {
    const alice = await userToken('crm-alice');
    const bob = await userToken('crm-bob');
    const aliceSite = await createSite({ name: 'alice-site', custom_domain: 'alice.example' }, alice);
    const bobSite = await createSite({ name: 'bob-site' }, bob);
    const resellerSite = await createSite({ name: 'reseller-site' });
    const aliceUser = (await knob('GET', '/netlify/users')).body.find((user: any) => user.uid === 'crm-alice');

    expect(aliceSite.body.user_id).toBe(aliceUser.id);
    expect((await knob('GET', '/netlify/sites')).body[0]).toMatchObject({ user_id: aliceUser.id, owner_uid: 'crm-alice', owner_email: 'crm-alice@clients.example' });
    expect((await netlify('GET', '/sites', { token: alice })).body.map((site: any) => site.name)).toEqual(['alice-site']);
    expect((await netlify('GET', '/sites?filter=all')).body.map((site: any) => site.name)).toEqual([
      'alice-site',
      'bob-site',
      'reseller-site',
    ]);

    expect((await netlify('GET', `/sites/${bobSite.body.id}`, { token: alice })).status).toBe(404);
    expect((await netlify('GET', '/sites/alice.example', { token: bob })).status).toBe(404);
    expect((await netlify('DELETE', `/sites/${aliceSite.body.id}`, { token: bob })).status).toBe(404);
    expect((await netlify('PATCH', `/sites/${resellerSite.body.id}`, { token: alice, body: { force_ssl: true } })).status).toBe(404);

    const byReseller = await netlify('PATCH', `/sites/${aliceSite.body.id}`, { body: { force_ssl: true } });
    expect(byReseller.status).toBe(200);
    expect(byReseller.body).toMatchObject({ force_ssl: true, user_id: aliceUser.id });
    expect((await netlify('GET', `/sites/${aliceSite.body.id}`, { token: alice })).body.force_ssl).toBe(true);
  });

  it('lists sites in pages with an RFC 5988 Link header', async () => {
    await knob('POST', '/netlify/config', { siteCreatesPerMinute: 50 });
    for (let index = 1; index <= 5; index += 1) await createSite({ name: `site-${index}` });

    const first = await netlify('GET', '/sites?filter=all&per_page=2');
    const last = await netlify('GET', '/sites?filter=all&per_page=2&page=3');
    const capped = await netlify('GET', '/sites?per_page=500');

    expect(first.body.map((site: any) => site.name)).toEqual(['site-1', 'site-2']);
    const base = `${simulator.netlifyBaseUrl}/sites?filter=all`;
    expect(first.headers.get('link')).toBe(`<${base}&per_page=2&page=2>; rel="next", <${base}&per_page=2&page=3>; rel="last"`);
    expect(last.body.map((site: any) => site.name)).toEqual(['site-5']);
    expect(last.headers.get('link')).not.toContain('rel="next"');
    expect(last.headers.get('link')).toContain('rel="prev"');
    expect(capped.body).toHaveLength(5);
    expect(capped.headers.get('link')).toBeNull();
  });
});

describe('rate limits', () => {
  it('allows 3 site creations a minute, then 429 without Retry-After until a slot is free', async () => {
    const answers = [];
    for (let index = 1; index <= 3; index += 1) {
      answers.push(await createSite({ name: `site-${index}` }));
      clockMs += 1_000;
    }
    const refused = await createSite({ name: 'site-4' });

    expect(answers.map((answer) => answer.status)).toEqual([201, 201, 201]);
    expect(answers.map((answer) => answer.headers.get('x-ratelimit-remaining'))).toEqual(['2', '1', '0']);
    expect(answers[0]?.headers.get('x-ratelimit-limit')).toBe('3');
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ code: 429, message: expect.any(String) });
    expect(refused.headers.get('retry-after')).toBeNull();
    const resetAt = Number(refused.headers.get('x-ratelimit-reset'));
    // The first creation frees its slot 60 s after it was made.
    expect(resetAt).toBe(Math.ceil((START_OF_TEST_DAY + 60_000) / 1000));
    expect(resetAt * 1000).toBeGreaterThan(clockMs);
    expect((await knob('GET', '/netlify/sites')).body).toHaveLength(3);

    clockMs = resetAt * 1000;
    const again = await createSite({ name: 'site-4' });
    expect(again.status).toBe(201);
    expect(again.headers.get('x-ratelimit-remaining')).toBe('0');
  });

  it('other routes report the general limit, which is never enforced', async () => {
    const answer = await netlify('GET', '/sites');
    expect(answer.headers.get('x-ratelimit-limit')).toBe('500');
    expect(Number(answer.headers.get('x-ratelimit-remaining'))).toBeLessThan(500);
    expect(Number(answer.headers.get('x-ratelimit-reset'))).toBeGreaterThanOrEqual(Math.floor(clockMs / 1000));
  });

  it('the site creation limit is a setting and a knob', async () => {
    const roomy = await start({ netlify: { siteCreatesPerMinute: 5 } });
    expect((await createSite({}, RESELLER_TOKEN, roomy)).headers.get('x-ratelimit-limit')).toBe('5');

    expect((await knob('POST', '/netlify/config', { siteCreatesPerMinute: 1 })).body).toEqual({
      siteCreatesPerMinute: 1,
      siteCreateWindowMs: 60_000,
    });
    expect((await createSite({})).status).toBe(201);
    expect((await createSite({})).status).toBe(429);
    expect((await knob('POST', '/netlify/config', { siteCreatesPerMinute: 0 })).status).toBe(400);
    expect((await knob('POST', '/netlify/config', { sitesPerMinute: 5 })).status).toBe(400);

    // A shorter window, to test waiting for X-RateLimit-Reset quickly; a new setting starts an empty window.
    await knob('POST', '/netlify/config', { siteCreateWindowMs: 4_000 });
    expect((await createSite({})).status).toBe(201);
    const refused = await createSite({});
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('x-ratelimit-reset'))).toBe(Math.ceil((clockMs + 4_000) / 1000));
    clockMs += 4_000;
    expect((await createSite({})).status).toBe(201);
  });
});

describe('TLS certificates and the simulated DNS', () => {
  async function resolverFor(running: RunningSimulator): Promise<Resolver> {
    const resolver = new Resolver({ timeout: 2_000, tries: 1 });
    resolver.setServers([running.dns?.address ?? '']);
    return resolver;
  }

  it('needs a custom domain', async () => {
    const site = await createSite({ name: 'bare' });
    const answer = await netlify('POST', `/sites/${site.body.id}/ssl`);
    expect(answer.status).toBe(422);
    expect(answer.body).toEqual({ code: 422, message: 'No custom domain configured' });
  });

  it('is refused until the client has added its DNS records, then issued at once', async () => {
    const delayed = await start({ dnsVerifyAfterMs: 60_000, dns: { port: 0 } });
    const resolver = await resolverFor(delayed);
    const site = await createSite({ name: 'acme', custom_domain: 'acme.example' }, RESELLER_TOKEN, delayed);
    await netlify('PATCH', `/sites/${site.body.id}`, { body: { domain_aliases: ['www.acme.example'] }, on: delayed });
    const sslPath = `/sites/${site.body.id}/ssl`;

    await expect(resolver.resolve4('acme.example')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(await resolver.resolve4('acme.netlify.app')).toEqual([LOAD_BALANCER]);
    const early = await netlify('POST', sslPath, { on: delayed });
    expect(early.status).toBe(422);
    expect(early.body).toEqual({ code: 422, message: 'bad dns for custom domain' });
    expect((await netlify('GET', sslPath, { on: delayed })).status).toBe(404);

    clockMs += 60_000;
    expect(await resolver.resolve4('acme.example')).toEqual([LOAD_BALANCER]);
    expect(await resolver.resolveCname('www.acme.example')).toEqual(['acme.netlify.app']);
    expect(await resolver.resolve4('www.acme.example')).toEqual([LOAD_BALANCER]);

    const issued = await netlify('POST', `${sslPath}?payment_method_id=pm_123`, { on: delayed });
    expect(issued.status).toBe(200);
    expect(issued.body).toEqual({
      state: 'issued',
      domains: ['acme.example', 'www.acme.example'],
      created_at: new Date(clockMs).toISOString(),
      updated_at: new Date(clockMs).toISOString(),
      expires_at: new Date(clockMs + 90 * 24 * 3600_000).toISOString(),
    });
    expect((await netlify('GET', sslPath, { on: delayed })).body).toEqual(issued.body);
    expect((await netlify('GET', `/sites/${site.body.id}`, { on: delayed })).body).toMatchObject({
      ssl: true,
      ssl_url: 'https://acme.example',
      ssl_status: 'issued',
    });
    const [simulated] = (await knob('GET', '/netlify/sites', undefined, delayed)).body;
    expect(simulated).toMatchObject({ ssl: true, owner_uid: null, client_dns_records_in_place: true, removed_at: null });
    expect(simulated.certificate).toMatchObject({ state: 'issued', payment_method_id: 'pm_123' });

    // Netlify's description: a site that has a certificate only takes an uploaded one.
    const again = await netlify('POST', sslPath, { on: delayed });
    expect(again.status).toBe(422);
    expect(again.body.message).toContain('certificate parameter is required');
  });

  it('on the real clock, a short delay puts the records in place by itself', async () => {
    const realTime = await start({ now: Date.now, dnsVerifyAfterMs: 150, dns: { port: 0 } });
    const resolver = await resolverFor(realTime);
    const site = await createSite({ name: 'acme', custom_domain: 'acme.example' }, RESELLER_TOKEN, realTime);

    expect((await netlify('POST', `/sites/${site.body.id}/ssl`, { on: realTime })).status).toBe(422);
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(await resolver.resolve4('acme.example')).toEqual([LOAD_BALANCER]);
    expect((await netlify('POST', `/sites/${site.body.id}/ssl`, { on: realTime })).body.state).toBe('issued');
  });

  it('a payment method id in the JSON body is recorded too', async () => {
    const site = await createSite({ name: 'acme', custom_domain: 'acme.example' });
    await knob('POST', '/domains/acme.example/verify');
    const issued = await netlify('POST', `/sites/${site.body.id}/ssl`, { body: { payment_method_id: 'pm_body' } });
    expect(issued.status).toBe(200);
    expect((await knob('GET', '/netlify/sites')).body[0].certificate.payment_method_id).toBe('pm_body');
  });

  it('record overrides win over the automatic ones: a stale A or a wrong CNAME is bad DNS', async () => {
    const withDns = await start({ dnsVerifyAfterMs: 0, dns: { port: 0 } });
    const resolver = await resolverFor(withDns);
    const site = await createSite({ name: 'acme', custom_domain: 'acme.example' }, RESELLER_TOKEN, withDns);
    await netlify('PATCH', `/sites/${site.body.id}`, { body: { domain_aliases: ['www.acme.example'] }, on: withDns });

    const stale = await knob('PUT', '/dns/records/acme.example', { records: [{ type: 'A', value: '192.0.2.10' }] }, withDns);
    expect(stale.status).toBe(200);
    expect(await resolver.resolve4('acme.example')).toEqual(['192.0.2.10']);
    expect((await netlify('POST', `/sites/${site.body.id}/ssl`, { on: withDns })).body.message).toBe('bad dns for custom domain');

    await knob('DELETE', '/dns/records/acme.example', undefined, withDns);
    await knob('PUT', '/dns/records/www.acme.example', { records: [{ type: 'CNAME', value: 'old-host.example' }] }, withDns);
    expect(await resolver.resolveCname('www.acme.example')).toEqual(['old-host.example']);
    expect((await netlify('POST', `/sites/${site.body.id}/ssl`, { on: withDns })).body.message).toBe('bad dns for custom domain');

    await knob('DELETE', '/dns/records/www.acme.example', undefined, withDns);
    expect((await netlify('POST', `/sites/${site.body.id}/ssl`, { on: withDns })).status).toBe(200);
  });

  it('the records knob sets any records for a name, lists them, and an empty list silences the name', async () => {
    const withDns = await start({ dns: { port: 0 } });
    const resolver = await resolverFor(withDns);
    const spf = 'v=spf1 include:spf.mandrillapp.com ~all';

    const set = await knob(
      'PUT',
      '/dns/records/Mail.Agency.example',
      { records: [{ type: 'TXT', value: spf }, { type: 'A', value: '192.0.2.10' }, { type: 'AAAA', value: '2001:db8::1' }] },
      withDns,
    );
    expect(set.body).toEqual({
      name: 'mail.agency.example',
      source: 'override',
      records: [{ type: 'TXT', value: spf }, { type: 'A', value: '192.0.2.10' }, { type: 'AAAA', value: '2001:db8::1' }],
    });
    expect(await resolver.resolveTxt('mail.agency.example')).toEqual([[spf]]);
    expect(await resolver.resolve6('mail.agency.example')).toEqual(['2001:db8::1']);
    expect((await knob('GET', '/dns/records', undefined, withDns)).body).toContainEqual(set.body);

    await knob('PUT', '/dns/records/mail.agency.example', { records: [] }, withDns);
    await expect(resolver.resolveTxt('mail.agency.example')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect((await knob('PUT', '/dns/records/mail.agency.example', { records: [{ type: 'A', value: 'not-an-ip' }] }, withDns)).status).toBe(400);
  });

  it('a NextNet domain gets its records after the delay, or at once with the verify knob', async () => {
    const withDns = await start({ dns: { port: 0 } });
    const resolver = await resolverFor(withDns);
    const register = (host: string) =>
      fetch(`${withDns.baseUrl}/reseller/domains/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'X-Serendipity-API-Key': NEXTNET_KEY },
        body: JSON.stringify({ client_user_email: `owner@${host}`, domain_host: host }),
      });
    expect((await register('bakery.example')).status).toBe(201);
    await expect(resolver.resolve4('bakery.example')).rejects.toMatchObject({ code: 'ENOTFOUND' });

    expect((await knob('POST', '/domains/bakery.example/verify', undefined, withDns)).body.verification_status).toBe('verified');

    expect(await resolver.resolve4('bakery.example')).toEqual([LOAD_BALANCER]);
    // No Netlify site has the domain, so www points at the load balancer too.
    expect(await resolver.resolve4('www.bakery.example')).toEqual([LOAD_BALANCER]);
    expect((await knob('GET', '/dns/records', undefined, withDns)).body).toContainEqual({
      name: 'www.bakery.example',
      source: 'automatic',
      records: [{ type: 'A', value: LOAD_BALANCER }],
    });
  });

  it('the verify knob puts the records of a Netlify-only domain in place too', async () => {
    const site = await createSite({ name: 'acme', custom_domain: 'acme.example' });
    expect((await knob('POST', '/domains/nothing.example/verify')).status).toBe(404);

    const verified = await knob('POST', '/domains/acme.example/verify');

    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ host: 'acme.example', netlifySites: [expect.objectContaining({ client_dns_records_in_place: true })] });
    expect((await netlify('POST', `/sites/${site.body.id}/ssl`)).status).toBe(200);
  });

  it('a changed custom domain starts its own DNS clock and drops the old certificate', async () => {
    const delayed = await start({ dnsVerifyAfterMs: 1_000 });
    const site = await createSite({ name: 'acme', custom_domain: 'acme.example' }, RESELLER_TOKEN, delayed);
    clockMs += 1_000;
    expect((await netlify('POST', `/sites/${site.body.id}/ssl`, { on: delayed })).status).toBe(200);

    await netlify('PATCH', `/sites/${site.body.id}`, { body: { custom_domain: 'acme-renamed.example' }, on: delayed });

    expect((await netlify('GET', `/sites/${site.body.id}/ssl`, { on: delayed })).status).toBe(404);
    expect((await netlify('POST', `/sites/${site.body.id}/ssl`, { on: delayed })).body.message).toBe('bad dns for custom domain');
    clockMs += 1_000;
    expect((await netlify('POST', `/sites/${site.body.id}/ssl`, { on: delayed })).status).toBe(200);
  });
});

describe('form submissions', () => {
  it('are listed newest first, reseller-wide with the reseller token and per user with a user token', async () => {
    const alice = await userToken('crm-alice');
    const bob = await userToken('crm-bob');
    const aliceSite = await createSite({ name: 'alice-site', custom_domain: 'alice.example' }, alice);
    await createSite({ name: 'bob-site' }, bob);

    const seeded = await knob('POST', '/netlify/submissions', {
      siteDomain: 'alice.example',
      email: 'visitor@mail.example',
      name: 'Vera Visitor',
      data: { company: 'Visitors Ltd', message: 'Please call me' },
      createdAt: '2026-03-01T10:00:00Z',
    });
    await knob('POST', '/netlify/submissions', { siteId: aliceSite.body.id, email: 'later@mail.example', name: 'Larry', createdAt: '2026-03-01T12:00:00Z' });
    expect((await knob('POST', '/netlify/submissions', { siteDomain: 'nobody.example', email: 'nobody@mail.example' })).status).toBe(404);
    await knob('POST', '/netlify/submissions', { siteDomain: 'bob-site.netlify.app', email: 'bob-visitor@mail.example', name: 'Bo' });

    expect(seeded.status).toBe(201);
    expect(seeded.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{24}$/),
      number: 1,
      email: 'visitor@mail.example',
      name: 'Vera Visitor',
      first_name: 'Vera',
      last_name: 'Visitor',
      company: 'Visitors Ltd',
      summary: expect.stringContaining('Vera Visitor'),
      body: 'Please call me',
      data: { company: 'Visitors Ltd', message: 'Please call me', email: 'visitor@mail.example', name: 'Vera Visitor' },
      created_at: '2026-03-01T10:00:00.000Z',
      site_url: 'https://alice.example',
    });

    const resellerWide = await netlify('GET', '/submissions');
    expect(resellerWide.body.map((submission: any) => submission.email)).toEqual([
      'bob-visitor@mail.example',
      'later@mail.example',
      'visitor@mail.example',
    ]);
    expect((await netlify('GET', '/submissions', { token: alice })).body.map((submission: any) => submission.email)).toEqual([
      'later@mail.example',
      'visitor@mail.example',
    ]);
    expect((await netlify('GET', `/sites/${aliceSite.body.id}/submissions`, { token: bob })).status).toBe(404);
    const paged = await netlify('GET', `/sites/alice.example/submissions?per_page=1`);
    expect(paged.body.map((submission: any) => submission.number)).toEqual([2]);
    expect(paged.headers.get('link')).toContain('rel="next"');
  });
});

describe('faults and the call log (shared with NextNet)', () => {
  it('a status fault answers in Netlify\'s shape and does nothing; Retry-After only when asked', async () => {
    await knob('POST', '/netlify/faults', { route: 'create-site', kind: 'status', status: 503 });
    await knob('POST', '/netlify/faults', { route: 'any', kind: 'status', status: 429, retryAfterSeconds: 4 });

    const unavailable = await createSite({ name: 'acme' });
    const throttled = await netlify('GET', '/sites');

    expect(unavailable.status).toBe(503);
    expect(unavailable.body).toEqual({ code: 503, message: 'Service Unavailable' });
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('4');
    expect((await knob('GET', '/netlify/sites')).body).toEqual([]);
    expect((await knob('GET', '/netlify/faults')).body).toEqual([]);
    // NextNet's queue is its own.
    expect((await knob('GET', '/faults')).body).toEqual([]);
  });

  it('a drop-after-write fault creates the site but the caller never hears back', async () => {
    await knob('POST', '/netlify/faults', { route: 'create-site', kind: 'drop-after-write' });

    await expect(createSite({ name: 'acme', custom_domain: 'acme.example' })).rejects.toThrow();

    expect((await knob('GET', '/netlify/sites')).body).toEqual([expect.objectContaining({ name: 'acme', custom_domain: 'acme.example' })]);
    // A blind retry finds the name taken: the client must look the site up first.
    expect((await createSite({ name: 'acme', custom_domain: 'acme.example' })).body).toEqual({ errors: { subdomain: ['must be unique'] } });
    expect((await netlify('GET', '/sites/acme.example')).status).toBe(200);
  });

  it('a dropped token mint leaves a token the user can get replaced by minting again', async () => {
    await knob('POST', '/netlify/faults', { route: 'access-tokens', kind: 'drop-after-write' });
    await expect(mintToken('crm-1', 'owner@one.example')).rejects.toThrow();
    const again = await mintToken('crm-1', 'owner@one.example');
    const [user] = (await knob('GET', '/netlify/users')).body;
    expect(user.tokens).toHaveLength(2);
    expect(user.tokens[1]).toBe(again.body.access_token);
  });

  it('a malformed fault rule names the problem; a NextNet route is not a Netlify route', async () => {
    const answer = await knob('POST', '/netlify/faults', { route: 'register', kind: 'status', status: 500 });
    expect(answer.status).toBe(400);
    expect(answer.body.detail).toContain('route');
  });

  it('logs every Netlify call with its route, status and domain, apart from NextNet\'s, and never a token', async () => {
    const token = await userToken('crm-1');
    const site = await createSite({ name: 'acme', custom_domain: 'acme.example' }, token);
    await netlify('GET', '/sites/www.unknown.example');
    await netlify('GET', '/sites', { token: 'nfp_wrong' });
    await knob('POST', '/netlify/faults', { route: 'delete-site', kind: 'drop-after-write' });
    await expect(netlify('DELETE', `/sites/${site.body.id}`)).rejects.toThrow();
    await netlify('POST', `/sites/${site.body.id}/ssl`);

    const calls = await knob('GET', '/netlify/calls');

    expect(calls.body).toEqual([
      expect.objectContaining({ method: 'POST', route: 'access-tokens', status: 201, path: '/netlify/api/v1/access_tokens' }),
      expect.objectContaining({ method: 'POST', route: 'create-site', status: 201, domainHost: 'acme.example' }),
      expect.objectContaining({ method: 'GET', route: 'get-site', status: 404, domainHost: 'www.unknown.example' }),
      expect.objectContaining({ method: 'GET', route: 'list-sites', status: 401 }),
      expect.objectContaining({ method: 'DELETE', route: 'delete-site', status: 'dropped', domainHost: 'acme.example' }),
      expect.objectContaining({ method: 'POST', route: 'provision-ssl', status: 404, domainHost: 'acme.example' }),
    ]);
    expect(calls.text).not.toContain(token);
    expect(calls.text).not.toContain(RESELLER_TOKEN);
    expect(calls.text).not.toContain('nfp_wrong');
    expect((await knob('GET', '/calls')).body).toEqual([]);
  });

  it('a latency fault on a Netlify route delays the answer', async () => {
    await knob('POST', '/netlify/faults', { route: 'list-sites', kind: 'latency', latencyMs: 200 });
    const startedAt = performance.now();
    expect((await netlify('GET', '/sites')).status).toBe(200);
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(180);
  });

  it('reset forgets both platforms, their faults and calls, and the DNS overrides', async () => {
    await userToken('crm-1');
    await createSite({ name: 'acme', custom_domain: 'acme.example' });
    await knob('POST', '/netlify/foreign-domains', { host: 'taken.example' });
    await knob('POST', '/netlify/faults', { route: 'list-sites', kind: 'status', status: 500 });
    await knob('PUT', '/dns/records/acme.example', { records: [{ type: 'A', value: '192.0.2.10' }] });

    expect((await knob('POST', '/reset')).status).toBe(204);

    expect((await knob('GET', '/netlify/sites')).body).toEqual([]);
    expect((await knob('GET', '/netlify/users')).body).toEqual([]);
    expect((await knob('GET', '/netlify/calls')).body).toEqual([]);
    expect((await knob('GET', '/dns/records')).body).toEqual([]);
    expect((await netlify('GET', '/sites')).status).toBe(200);
    expect((await createSite({ name: 'acme', custom_domain: 'taken.example' })).status).toBe(201);
  });
});

describe('state file', () => {
  let stateDirectory: string;
  beforeEach(() => {
    stateDirectory = mkdtempSync(join(tmpdir(), 'netlify-simulator-'));
  });
  afterEach(() => {
    rmSync(stateDirectory, { recursive: true, force: true });
  });

  it('users, tokens, sites, certificates and submissions survive a restart', async () => {
    const stateFile = join(stateDirectory, 'state.json');
    const first = await start({ stateFile, dnsVerifyAfterMs: 0 });
    const minted = await mintToken('crm-1', 'owner@acme.example', first);
    const site = await createSite({ name: 'acme', custom_domain: 'acme.example' }, minted.body.access_token, first);
    await netlify('POST', `/sites/${site.body.id}/ssl`, { on: first });
    await knob('POST', '/netlify/submissions', { siteId: site.body.id, email: 'visitor@mail.example' }, first);
    await first.close();

    const second = await start({ stateFile, dnsVerifyAfterMs: null });

    const found = await netlify('GET', '/sites/acme.example', { token: minted.body.access_token, on: second });
    expect(found.status).toBe(200);
    expect(found.body).toMatchObject({ id: site.body.id, ssl: true, user_id: minted.body.user_id });
    expect((await netlify('GET', '/submissions', { on: second })).body).toHaveLength(1);
    // The client's records stayed in place, whatever the new delay.
    expect((await knob('GET', '/netlify/sites', undefined, second)).body[0].client_dns_records_in_place).toBe(true);
    expect((await createSite({ name: 'acme' }, RESELLER_TOKEN, second)).body).toEqual({ errors: { subdomain: ['must be unique'] } });

    const netlifyFile = netlifyStateFileOf(stateFile);
    expect(netlifyFile).toBe(join(stateDirectory, 'state.netlify.json'));
    expect(statSync(netlifyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(netlifyFile, 'utf8')).not.toContain(RESELLER_TOKEN);
  });
});
