import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  describeNetlifyErrorBody,
  NETLIFY_PAYMENT_METHOD_PARAM,
  NetlifyApiError,
  NetlifyClient,
  nextLink,
  rateLimitWait,
  ResellerApiError,
  siteNameFor,
  siteRejection,
  suffixedSiteName,
} from '../platforms/netlify/client.js';

const RESELLER_TOKEN = 'nfr_reseller_token_0123456789abcdef';
const USER_TOKEN = 'nfu_user_token_fedcba9876543210';
const USER_AGENT = 'client-onboarding-engine (ops@agency.example)';

interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}

const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    ),
  );
});

type Handler = (req: Recorded, res: ServerResponse) => void;

/** A stand-in Netlify API; returns its base URL and every request it got. */
async function stubNetlify(handler: Handler): Promise<{ baseUrl: string; origin: string; requests: Recorded[] }> {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stub');
      const recorded = { method: req.method ?? '', path: url.pathname, query: url.searchParams, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(recorded);
      handler(recorded, res);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { baseUrl: `${origin}/api/v1`, origin, requests };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

function clientFor(baseUrl: string, options: { timeoutMs?: number; paymentMethodParam?: string } = {}): NetlifyClient {
  return new NetlifyClient({ baseUrl, resellerToken: RESELLER_TOKEN, timeoutMs: options.timeoutMs ?? 2_000, userAgent: USER_AGENT, paymentMethodParam: options.paymentMethodParam });
}

async function failureOf(call: Promise<unknown>): Promise<NetlifyApiError> {
  const outcome = await call.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected the call to fail, it returned ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(NetlifyApiError);
  expect(outcome.error).toBeInstanceOf(ResellerApiError);
  return outcome.error as NetlifyApiError;
}

const SITE = {
  id: '3970e0fe-8564-4903-9a55-c5f8de49fb8b',
  name: 'acme-plumbing-com',
  url: 'http://acme-plumbing.com',
  ssl_url: 'https://acme-plumbing.com',
  admin_url: 'https://app.netlify.com/sites/acme-plumbing-com',
  custom_domain: 'acme-plumbing.com',
  domain_aliases: ['www.acme-plumbing.com'],
  ssl: true,
  force_ssl: false,
  state: 'current',
  user_id: '5c2e63c3e7b0b1b0f1f0a0a0',
  account_slug: 'agency-reseller',
  managed_dns: false,
  ssl_status: 'pending',
  plan: 'nf_team_dev',
  default_hooks_data: { access_token: 'site-hook-secret-token' },
};

describe('a client user and its token', () => {
  it('mints a token with the reseller token, sending the seed body, and maps the answer', async () => {
    const stub = await stubNetlify((_req, res) =>
      json(res, 200, { id: '54321', access_token: USER_TOKEN, user_id: '12345', created_at: '2015-11-06T02:48:15Z', email: 'owner@acme-plumbing.com' }),
    );
    const token = await clientFor(stub.baseUrl).createAccessToken({ email: 'owner@acme-plumbing.com', uid: 'crm-123' });

    expect(token).toEqual({ id: '54321', accessToken: USER_TOKEN, userId: '12345', email: 'owner@acme-plumbing.com', createdAt: '2015-11-06T02:48:15Z' });
    const [request] = stub.requests;
    expect(request).toMatchObject({ method: 'POST', path: '/api/v1/access_tokens' });
    expect(JSON.parse(request?.body ?? '')).toEqual({ user: { email: 'owner@acme-plumbing.com', uid: 'crm-123' } });
    expect(request?.headers).toMatchObject({
      authorization: `Bearer ${RESELLER_TOKEN}`,
      'user-agent': USER_AGENT,
      accept: 'application/json',
      'content-type': 'application/json',
    });
  });

  it('never shows the minted token when the answer has an unexpected shape', async () => {
    const stub = await stubNetlify((_req, res) => json(res, 200, { access_token: USER_TOKEN, user_id: null }));
    const error = await failureOf(clientFor(stub.baseUrl).createAccessToken({ email: 'owner@acme-plumbing.com', uid: 'crm-123' }));
    expect(error.kind).toBe('unexpected');
    expect(error.message).toMatch(/unexpected shape \(fields: id, user_id\)/);
    expect(error.message).not.toContain(USER_TOKEN);
  });
});

describe("the client's site, as the client user", () => {
  it('finds a site by its custom domain with the user token, keeping unknown fields', async () => {
    const stub = await stubNetlify((_req, res) => json(res, 200, SITE));
    const site = await clientFor(stub.baseUrl).asUser(USER_TOKEN).getSite('acme-plumbing.com');

    expect(stub.requests[0]).toMatchObject({ method: 'GET', path: '/api/v1/sites/acme-plumbing.com' });
    expect(stub.requests[0]?.headers.authorization).toBe(`Bearer ${USER_TOKEN}`);
    expect(site).toMatchObject({
      id: SITE.id,
      name: 'acme-plumbing-com',
      url: 'http://acme-plumbing.com',
      sslUrl: 'https://acme-plumbing.com',
      customDomain: 'acme-plumbing.com',
      domainAliases: ['www.acme-plumbing.com'],
      ssl: true,
      forceSsl: false,
      state: 'current',
      userId: SITE.user_id,
      accountSlug: 'agency-reseller',
      adminUrl: SITE.admin_url,
      sslStatus: 'pending',
    });
    expect(site?.raw).toMatchObject({ plan: 'nf_team_dev', managed_dns: false, default_hooks_data: { access_token: '[REDACTED]' } });
    expect(JSON.stringify(site)).not.toContain('site-hook-secret-token');
  });

  it('answers null for a site that does not exist', async () => {
    const stub = await stubNetlify((_req, res) => json(res, 404, { code: 404, message: 'Not Found' }));
    expect(await clientFor(stub.baseUrl).asUser(USER_TOKEN).getSite('nobody.example')).toBeNull();
    expect(await clientFor(stub.baseUrl).getSite('nobody.example')).toBeNull();
    expect(stub.requests.map((request) => request.headers.authorization)).toEqual([`Bearer ${USER_TOKEN}`, `Bearer ${RESELLER_TOKEN}`]);
  });

  it('reads a site with few fields and null ones, as live answers have', async () => {
    const stub = await stubNetlify((_req, res) => json(res, 200, { id: 'abc', name: 'acme', custom_domain: null, domain_aliases: null, ssl: null }));
    expect(await clientFor(stub.baseUrl).getSite('abc')).toMatchObject({ id: 'abc', name: 'acme', customDomain: null, domainAliases: [], ssl: false, forceSsl: false, url: null });
  });

  it('creates a site with its name and custom domain', async () => {
    const stub = await stubNetlify((_req, res) => json(res, 201, SITE));
    const site = await clientFor(stub.baseUrl).asUser(USER_TOKEN).createSite({ name: 'acme-plumbing-com', customDomain: 'acme-plumbing.com' });
    expect(site.id).toBe(SITE.id);
    expect(stub.requests[0]).toMatchObject({ method: 'POST', path: '/api/v1/sites' });
    expect(JSON.parse(stub.requests[0]?.body ?? '')).toEqual({ name: 'acme-plumbing-com', custom_domain: 'acme-plumbing.com' });
  });

  it('tells a taken name from a custom domain held elsewhere', async () => {
    const answers = [{ errors: { subdomain: ['must be unique'] } }, { errors: { custom_domain: ['must be unique'] } }, { code: 422, message: 'Validation failed' }];
    const stub = await stubNetlify((_req, res) => json(res, 422, answers.shift()));
    const user = clientFor(stub.baseUrl).asUser(USER_TOKEN);

    const nameTaken = await failureOf(user.createSite({ name: 'acme-plumbing-com', customDomain: 'acme-plumbing.com' }));
    expect(nameTaken).toMatchObject({ kind: 'rejected', status: 422, fieldErrors: { subdomain: ['must be unique'] } });
    expect(nameTaken.message).toBe('Netlify POST /api/v1/sites answered 422: subdomain must be unique');
    expect(siteRejection(nameTaken)).toBe('name-taken');

    const domainTaken = await failureOf(user.createSite({ name: 'acme-plumbing-com-2', customDomain: 'acme-plumbing.com' }));
    expect(domainTaken.fieldErrors).toEqual({ custom_domain: ['must be unique'] });
    expect(siteRejection(domainTaken)).toBe('custom-domain-taken');

    const other = await failureOf(user.createSite({ name: 'x', customDomain: 'acme-plumbing.com' }));
    expect(other.message).toBe('Netlify POST /api/v1/sites answered 422: Validation failed');
    expect(other.fieldErrors).toEqual({});
    expect(siteRejection(other)).toBeUndefined();
    expect(siteRejection(new Error('boom'))).toBeUndefined();
  });

  it('updates only the fields given', async () => {
    const stub = await stubNetlify((_req, res) => json(res, 200, { ...SITE, force_ssl: true }));
    const site = await clientFor(stub.baseUrl).asUser(USER_TOKEN).updateSite(SITE.id, { domainAliases: ['www.acme-plumbing.com'], forceSsl: true });
    expect(site.forceSsl).toBe(true);
    expect(stub.requests[0]).toMatchObject({ method: 'PATCH', path: `/api/v1/sites/${SITE.id}` });
    expect(JSON.parse(stub.requests[0]?.body ?? '')).toEqual({ domain_aliases: ['www.acme-plumbing.com'], force_ssl: true });
  });

  it('deletes a site: 204 or 200 is removed, 404 is already gone', async () => {
    const statuses = [204, 200, 404];
    const stub = await stubNetlify((_req, res) => {
      const status = statuses.shift() ?? 500;
      if (status === 204) return void res.writeHead(204).end();
      json(res, status, status === 404 ? { code: 404, message: 'Not Found' } : {});
    });
    const user = clientFor(stub.baseUrl).asUser(USER_TOKEN);
    expect(await user.deleteSite(SITE.id)).toBe('removed');
    expect(await user.deleteSite(SITE.id)).toBe('removed');
    expect(await clientFor(stub.baseUrl).deleteSite(SITE.id)).toBe('already-gone');
    expect(stub.requests.map((request) => `${request.method} ${request.path}`)).toEqual(Array(3).fill(`DELETE /api/v1/sites/${SITE.id}`));
  });
});

describe('TLS', () => {
  const certificate = { state: 'pending', domains: ['acme-plumbing.com', 'www.acme-plumbing.com'], expires_at: '2027-02-20T10:00:00Z', created_at: '2026-11-22T10:00:00Z' };

  it('asks for a certificate, naming the payment method in the one configured parameter', async () => {
    const stub = await stubNetlify((_req, res) => json(res, 200, certificate));
    const result = await clientFor(stub.baseUrl).asUser(USER_TOKEN).provisionTls(SITE.id, { paymentMethodId: 'pm_123' });
    expect(result).toEqual({
      outcome: 'requested',
      certificate: { state: 'pending', domains: ['acme-plumbing.com', 'www.acme-plumbing.com'], expiresAt: '2027-02-20T10:00:00Z', createdAt: '2026-11-22T10:00:00Z', updatedAt: null },
    });
    expect(stub.requests[0]).toMatchObject({ method: 'POST', path: `/api/v1/sites/${SITE.id}/ssl`, body: '' });
    expect(NETLIFY_PAYMENT_METHOD_PARAM).toBe('payment_method_id');
    expect([...(stub.requests[0]?.query ?? [])]).toEqual([['payment_method_id', 'pm_123']]);

    await clientFor(stub.baseUrl, { paymentMethodParam: 'billing_method' }).asUser(USER_TOKEN).provisionTls(SITE.id, { paymentMethodId: 'pm_123' });
    await clientFor(stub.baseUrl).asUser(USER_TOKEN).provisionTls(SITE.id);
    expect([...(stub.requests[1]?.query ?? [])]).toEqual([['billing_method', 'pm_123']]);
    expect([...(stub.requests[2]?.query ?? [])]).toEqual([]);
  });

  it('waits for DNS when Netlify says the DNS is not there yet', async () => {
    const answers = [
      { code: 422, message: 'bad dns for custom domain' },
      { code: 422, message: 'No custom domain configured' },
      { errors: { base: ['DNS verification failed for www.acme-plumbing.com'] } },
      { code: 422, message: 'certificate parameter is required when updating an existing certificate' },
      { code: 422, message: 'payment method declined' },
    ];
    const stub = await stubNetlify((_req, res) => json(res, 422, answers.shift()));
    const user = clientFor(stub.baseUrl).asUser(USER_TOKEN);
    expect(await user.provisionTls(SITE.id)).toEqual({ outcome: 'waiting-for-dns', reason: 'bad dns for custom domain' });
    expect(await user.provisionTls(SITE.id)).toEqual({ outcome: 'waiting-for-dns', reason: 'No custom domain configured' });
    expect(await user.provisionTls(SITE.id)).toEqual({ outcome: 'waiting-for-dns', reason: 'base DNS verification failed for www.acme-plumbing.com' });
    expect(await user.provisionTls(SITE.id)).toMatchObject({ outcome: 'already-provisioned' });
    const declined = await failureOf(user.provisionTls(SITE.id));
    expect(declined).toMatchObject({ kind: 'rejected', status: 422, reason: 'payment method declined' });
  });

  it('shows the certificate, or null when the site has none', async () => {
    const answers: Array<[number, unknown]> = [
      [200, { ...certificate, state: 'issued' }],
      [404, { code: 404, message: 'Not Found' }],
    ];
    const stub = await stubNetlify((_req, res) => json(res, ...(answers.shift() ?? [500, {}])));
    const user = clientFor(stub.baseUrl).asUser(USER_TOKEN);
    expect(await user.showTls(SITE.id)).toMatchObject({ state: 'issued', domains: certificate.domains, expiresAt: certificate.expires_at });
    expect(await user.showTls(SITE.id)).toBeNull();
    expect(stub.requests[0]).toMatchObject({ method: 'GET', path: `/api/v1/sites/${SITE.id}/ssl` });
  });
});

describe('reseller-wide listings', () => {
  const site = (n: number) => ({ ...SITE, id: `site-${n}`, name: `site-${n}` });

  it('lists every site, following the Link header', async () => {
    const stub = await stubNetlify((req, res) => {
      const page = Number(req.query.get('page'));
      const link = page < 3 ? `<${stub.baseUrl}/sites?filter=all&page=${page + 1}&per_page=100>; rel="next", <${stub.baseUrl}/sites?page=3>; rel="last"` : `<${stub.baseUrl}/sites?page=1>; rel="first"`;
      json(res, 200, [site(page * 10), site(page * 10 + 1)], { link });
    });
    const sites = await clientFor(stub.baseUrl).listSites();
    expect(sites.map((s) => s.id)).toEqual(['site-10', 'site-11', 'site-20', 'site-21', 'site-30', 'site-31']);
    expect(stub.requests.map((request) => Object.fromEntries(request.query))).toEqual([
      { filter: 'all', page: '1', per_page: '100' },
      { filter: 'all', page: '2', per_page: '100' },
      { filter: 'all', page: '3', per_page: '100' },
    ]);
    expect(stub.requests.every((request) => request.headers.authorization === `Bearer ${RESELLER_TOKEN}`)).toBe(true);
  });

  it('without a Link header, asks for pages until a short one', async () => {
    const stub = await stubNetlify((req, res) => {
      const page = Number(req.query.get('page'));
      const count = page < 3 ? 100 : 7;
      json(res, 200, Array.from({ length: count }, (_, i) => site(page * 1000 + i)));
    });
    const sites = await clientFor(stub.baseUrl).listSites();
    expect(sites).toHaveLength(207);
    expect(stub.requests.map((request) => request.query.get('page'))).toEqual(['1', '2', '3']);
  });

  it('does not follow a next page on another address with the token', async () => {
    const elsewhere = await stubNetlify((_req, res) => json(res, 200, []));
    const stub = await stubNetlify((_req, res) => json(res, 200, [site(1)], { link: `<${elsewhere.origin}/api/v1/sites?page=2>; rel="next"` }));
    const error = await failureOf(clientFor(stub.baseUrl).listSites());
    expect(error.kind).toBe('unexpected');
    expect(error.message).toMatch(/next page at another address/);
    expect(elsewhere.requests).toEqual([]);
  });

  it('lists form submissions back to a given time, newest first', async () => {
    const at = (day: number) => `2026-11-${String(day).padStart(2, '0')}T10:00:00Z`;
    const pages: Record<string, unknown[]> = {
      '1': Array.from({ length: 100 }, (_, i) => ({ id: `s${i}`, email: 'lead@example.com', data: { message: 'hi' }, created_at: at(30), site_url: 'https://acme-plumbing.com' })),
      '2': [
        { id: 'recent', created_at: at(20), name: 'Recent', company: 'ACME' },
        { id: 'old', created_at: at(10) },
      ],
      '3': [{ id: 'older', created_at: at(1) }],
    };
    const stub = await stubNetlify((req, res) => json(res, 200, pages[req.query.get('page') ?? ''] ?? []));
    const submissions = await clientFor(stub.baseUrl).listSubmissions({ since: new Date(at(15)) });
    expect(submissions).toHaveLength(101);
    expect(submissions[0]).toMatchObject({ id: 's0', email: 'lead@example.com', data: { message: 'hi' }, createdAt: at(30), siteUrl: 'https://acme-plumbing.com', name: null });
    expect(submissions[100]).toMatchObject({ id: 'recent', name: 'Recent', company: 'ACME', data: {} });
    expect(stub.requests.map((request) => `${request.path}?${request.query}`)).toEqual(['/api/v1/submissions?page=1&per_page=100', '/api/v1/submissions?page=2&per_page=100']);

    expect(await clientFor(stub.baseUrl).listSubmissions()).toHaveLength(102);
  });
});

describe('failures', () => {
  it('classifies statuses as the activities expect', async () => {
    const answers: Array<[number, unknown]> = [
      [400, { code: 400, message: 'Bad request' }],
      [404, { code: 404, message: 'Not Found' }],
      [500, { code: 500, message: 'Internal error' }],
      [503, 'upstream down'],
      [418, {}],
    ];
    const stub = await stubNetlify((_req, res) => {
      const [status, body] = answers.shift() ?? [500, {}];
      if (typeof body === 'string') return void res.writeHead(status, { 'retry-after': '7' }).end(body);
      json(res, status, body);
    });
    const client = clientFor(stub.baseUrl);
    expect(await failureOf(client.listSites())).toMatchObject({ kind: 'rejected', status: 400, message: 'Netlify GET /api/v1/sites answered 400: Bad request' });
    expect(await failureOf(client.asUser(USER_TOKEN).updateSite('x', { name: 'y' }))).toMatchObject({ kind: 'not-found', status: 404 });
    expect(await failureOf(client.listSites())).toMatchObject({ kind: 'unavailable', status: 500 });
    expect(await failureOf(client.listSites())).toMatchObject({ kind: 'unavailable', status: 503, retryAfterMs: 7_000, message: 'Netlify GET /api/v1/sites answered 503: upstream down' });
    expect(await failureOf(client.listSites())).toMatchObject({ kind: 'unexpected', status: 418 });
  });

  it('says which token to check on 401 and 403, never showing a token', async () => {
    const stub = await stubNetlify((req, res) =>
      json(res, req.path.endsWith('/access_tokens') ? 401 : 403, { code: 401, message: `token ${req.headers.authorization?.slice(7)} is not valid`, access_token: 'nfu_other_secret_token' }),
    );
    const resellerError = await failureOf(clientFor(stub.baseUrl).createAccessToken({ email: 'a@b.example', uid: '1' }));
    expect(resellerError.kind).toBe('unauthorized');
    expect(resellerError.message).toMatch(/check NETLIFY_RESELLER_TOKEN/);
    expect(resellerError.message).toContain('token [REDACTED] is not valid');
    expect(resellerError.message).not.toContain(RESELLER_TOKEN);

    const userError = await failureOf(clientFor(stub.baseUrl).asUser(USER_TOKEN).getSite('acme-plumbing.com'));
    expect(userError).toMatchObject({ kind: 'unauthorized', status: 403 });
    expect(userError.message).toMatch(/access token was refused: mint a new one/);
    for (const error of [resellerError, userError]) {
      for (const secret of [RESELLER_TOKEN, USER_TOKEN, 'nfu_other_secret_token']) {
        expect(error.message).not.toContain(secret);
        expect(JSON.stringify(error)).not.toContain(secret);
        expect(error.reason ?? '').not.toContain(secret);
      }
    }
  });

  it('keeps access tokens an error body echoes out of the message', async () => {
    const stub = await stubNetlify((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`{"access_token": "nfu_leaked_1234", "note": "broken`);
    });
    const error = await failureOf(clientFor(stub.baseUrl).createAccessToken({ email: 'a@b.example', uid: '1' }));
    expect(error.message).toContain('"access_token": "[REDACTED]"');
    expect(error.message).not.toContain('nfu_leaked_1234');
  });

  it("waits as a 429 says: Retry-After, else until X-RateLimit-Reset, at least a second", async () => {
    const reset = Math.floor(Date.now() / 1000) + 30;
    const answers: Array<Record<string, string>> = [{ 'retry-after': '12', 'x-ratelimit-reset': String(reset) }, { 'x-ratelimit-reset': String(reset) }, { 'x-ratelimit-reset': '1000' }, {}];
    const stub = await stubNetlify((_req, res) => json(res, 429, { code: 429, message: 'Too many requests' }, answers.shift()));
    const user = clientFor(stub.baseUrl).asUser(USER_TOKEN);
    expect(await failureOf(user.createSite({ name: 'a' }))).toMatchObject({ kind: 'rate-limited', status: 429, retryAfterMs: 12_000 });
    const untilReset = (await failureOf(user.createSite({ name: 'a' }))).retryAfterMs ?? 0;
    expect(untilReset).toBeGreaterThan(25_000);
    expect(untilReset).toBeLessThanOrEqual(30_000);
    expect((await failureOf(user.createSite({ name: 'a' }))).retryAfterMs).toBe(1_000);
    expect((await failureOf(user.createSite({ name: 'a' }))).retryAfterMs).toBeUndefined();
  });

  it('does not follow a redirect, so the token never reaches another address', async () => {
    const elsewhere = await stubNetlify((_req, res) => json(res, 200, SITE));
    const stub = await stubNetlify((_req, res) => {
      res.writeHead(302, { location: `${elsewhere.origin}/api/v1/sites/acme-plumbing.com` });
      res.end();
    });
    const error = await failureOf(clientFor(stub.baseUrl).asUser(USER_TOKEN).getSite('acme-plumbing.com'));
    expect(error).toMatchObject({ kind: 'unexpected', status: 302 });
    expect(error.message).toMatch(/answered 302, a redirect; not followed/);
    expect(elsewhere.requests).toEqual([]);
  });

  it('reports a server that is not there, or too slow, as unavailable', async () => {
    const stub = await stubNetlify(() => {
      // never answers
    });
    expect(await failureOf(clientFor(stub.baseUrl, { timeoutMs: 200 }).listSites())).toMatchObject({ kind: 'unavailable', message: 'Netlify GET /api/v1/sites did not answer: timed out' });

    const closed = await stubNetlify(() => undefined);
    const server = servers.pop();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    expect(await failureOf(clientFor(closed.baseUrl).listSites())).toMatchObject({ kind: 'unavailable', message: 'Netlify GET /api/v1/sites did not answer: ECONNREFUSED' });
  });

  it('refuses a body that is not JSON', async () => {
    const stub = await stubNetlify((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>'));
    expect(await failureOf(clientFor(stub.baseUrl).getSite('x'))).toMatchObject({ kind: 'unexpected', message: 'Netlify GET /api/v1/sites/x answered 200 with a body that is not JSON' });
  });
});

describe('helpers', () => {
  it('reads both error body shapes', () => {
    expect(describeNetlifyErrorBody('{"errors": {"subdomain": ["must be unique"], "custom_domain": ["is invalid", "must be unique"]}}')).toEqual({
      message: 'subdomain must be unique; custom_domain is invalid, must be unique',
      fieldErrors: { subdomain: ['must be unique'], custom_domain: ['is invalid', 'must be unique'] },
    });
    expect(describeNetlifyErrorBody('{"code": 422, "message": "No custom domain configured"}')).toEqual({ message: 'No custom domain configured', fieldErrors: {} });
    expect(describeNetlifyErrorBody('{"errors": ["one", "two"]}').message).toBe('one; two');
    expect(describeNetlifyErrorBody('Service   Unavailable\n').message).toBe('Service Unavailable');
  });

  it('finds the next page in a Link header', () => {
    const header = '<https://api.netlify.com/api/v1/sites?page=3&per_page=100>; rel="last", <https://api.netlify.com/api/v1/sites?page=2&per_page=100>; rel="next"';
    expect(nextLink(header, 'https://api.netlify.com/api/v1/sites?page=1')?.href).toBe('https://api.netlify.com/api/v1/sites?page=2&per_page=100');
    expect(nextLink('</api/v1/sites?page=2>; rel=next', 'https://api.netlify.com/api/v1/sites')?.href).toBe('https://api.netlify.com/api/v1/sites?page=2');
    expect(nextLink('<https://x/sites?page=1>; rel="prev"', 'https://x/')).toBeUndefined();
  });

  it('computes the wait until X-RateLimit-Reset', () => {
    const now = 1_800_000_000_000;
    expect(rateLimitWait(new Headers({ 'x-ratelimit-reset': String(now / 1000 + 42) }), now)).toBe(42_000);
    expect(rateLimitWait(new Headers({ 'x-ratelimit-reset': String(now / 1000 - 5) }), now)).toBe(1_000);
    expect(rateLimitWait(new Headers({ 'retry-after': '3' }), now)).toBe(3_000);
    expect(rateLimitWait(new Headers(), now)).toBeUndefined();
  });

  it('derives a site name from the domain', () => {
    expect(siteNameFor('acme-plumbing.com')).toBe('acme-plumbing-com');
    expect(siteNameFor('Shop.ACME-Plumbing.co.uk.')).toBe('shop-acme-plumbing-co-uk');
    expect(siteNameFor('xn--bcher-kva.example')).toBe('xn--bcher-kva-example');
    expect(siteNameFor('a_b.example')).toBe('a-b-example');
    expect(siteNameFor(`${'a'.repeat(60)}.example.com`)).toBe(`${'a'.repeat(60)}-ex`);
    expect(siteNameFor(`${'a'.repeat(62)}.com`)).toBe('a'.repeat(62));
    expect(siteNameFor(`${'b'.repeat(70)}.com`)).toBe('b'.repeat(63));
    expect(() => siteNameFor('...')).toThrow(TypeError);
  });

  it('suffixes a taken name, staying within 63 characters', () => {
    expect(suffixedSiteName('acme-plumbing-com', 2)).toBe('acme-plumbing-com-2');
    expect(suffixedSiteName('c'.repeat(63), 12)).toBe(`${'c'.repeat(60)}-12`);
    expect(suffixedSiteName(`${'d'.repeat(61)}-x`, 3)).toBe(`${'d'.repeat(61)}-3`);
    expect(() => suffixedSiteName('acme', 0)).toThrow(RangeError);
  });
});
