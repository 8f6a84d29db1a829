import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  classifyVerificationStatus,
  describeErrorBody,
  NextNetClient,
  parseRetryAfter,
  ResellerApiError,
} from '../platforms/nextnet/client.js';
import { type RunningSimulator, startSimulator } from '../simulator/app.js';

const RESELLER_KEY = 'sk_org_test_reseller_0123456789';
const NON_RESELLER_KEY = 'sk_org_test_not_a_reseller_0123';
const FAKE_WORDPRESS_KEY = 'nn_wp_ffffffffffffffffffffffffffffffff';

let simulator: RunningSimulator;
const stubServers: Server[] = [];

beforeEach(async () => {
  simulator = await startSimulator({ port: 0, apiKeys: [RESELLER_KEY], nonResellerKeys: [NON_RESELLER_KEY], dnsVerifyAfterMs: null });
});

afterEach(async () => {
  await simulator.close();
  await Promise.all(
    stubServers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    ),
  );
});

function clientFor(baseUrl: string, options: { apiKey?: string; timeoutMs?: number } = {}): NextNetClient {
  return new NextNetClient({ baseUrl, apiKey: options.apiKey ?? RESELLER_KEY, timeoutMs: options.timeoutMs ?? 2_000 });
}

/** A stand-in NextNet for answers the simulator cannot give; returns the base URL a client uses. */
async function stubNextNet(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  stubServers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/accounts`;
}

function answerJson(status: number, body: unknown, headers: Record<string, string> = {}) {
  return (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
}

/** The ResellerApiError a call fails with; fails the test if the call succeeds or fails otherwise. */
async function failureOf(call: Promise<unknown>): Promise<ResellerApiError> {
  const outcome = await call.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected the call to fail, it returned ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(ResellerApiError);
  return outcome.error as ResellerApiError;
}

const plumber = { client_user_email: 'owner@plumber.example', domain_host: 'plumber.example' };

describe('talking to the reseller API', () => {
  it('registering a WordPress client returns its domain and the one-time plugin key', async () => {
    const registered = await clientFor(simulator.baseUrl).registerDomain({ ...plumber, cms_platform: 'wordpress', subscription_tier: 'pro' });

    expect(registered.domain).toMatchObject({ host: 'plumber.example', verification_status: 'pending' });
    expect(registered.domain.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(registered.client_user?.email).toBe('owner@plumber.example');
    expect(registered.subscription?.tier).toBe('pro');
    expect(registered.wordpress?.api_key).toMatch(/^nn_wp_[0-9a-f]{32}$/);
    expect(registered.wordpress?.api_key).toBe(simulator.knobs.domains()[0]?.wordpressApiKey);
  });

  it('a client without WordPress gets no plugin key', async () => {
    const registered = await clientFor(simulator.baseUrl).registerDomain(plumber);
    expect(registered.wordpress ?? undefined).toBeUndefined();
  });

  it('every operation uses its documented path with the trailing slash', async () => {
    const client = clientFor(simulator.baseUrl);
    const { domain } = await client.registerDomain(plumber);
    await client.listDomains();
    await client.domainDashboard(domain.id);
    await client.removeDomain(domain.id);

    expect(simulator.knobs.calls().map(({ method, path, route, status }) => ({ method, path, route, status }))).toEqual([
      { method: 'POST', path: '/accounts/reseller/domains/', route: 'register', status: 201 },
      { method: 'GET', path: '/accounts/reseller/domains/list/', route: 'list', status: 200 },
      { method: 'GET', path: `/accounts/reseller/domains/${domain.id}/dashboard/`, route: 'dashboard', status: 200 },
      { method: 'DELETE', path: `/accounts/reseller/domains/${domain.id}/remove/`, route: 'remove', status: 204 },
    ]);
  });

  it('the API key goes in the X-Serendipity-API-Key header and the request body is JSON', async () => {
    const seen: { method?: string; url?: string; headers: IncomingMessage['headers']; body: string }[] = [];
    const baseUrl = await stubNextNet((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body });
        answerJson(201, { domain: { id: 7, host: 'plumber.example' } })(req, res);
      });
    });

    await clientFor(baseUrl).registerDomain(plumber);

    expect(seen).toHaveLength(1);
    expect(seen[0]?.url).toBe('/accounts/reseller/domains/');
    expect(seen[0]?.headers['x-serendipity-api-key']).toBe(RESELLER_KEY);
    expect(seen[0]?.headers['accept']).toBe('application/json');
    expect(seen[0]?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual(plumber);
  });

  it('a domain id is escaped in the path', async () => {
    const paths: string[] = [];
    const baseUrl = await stubNextNet((req, res) => {
      paths.push(req.url ?? '');
      answerJson(200, { id: 'a/b?c', host: 'plumber.example', verification_status: 'pending' })(req, res);
    });

    await clientFor(baseUrl).domainDashboard('a/b?c');

    expect(paths).toEqual(['/accounts/reseller/domains/a%2Fb%3Fc/dashboard/']);
  });

  it('the dashboard reports the verification status NextNet shows', async () => {
    const client = clientFor(simulator.baseUrl);
    const { domain } = await client.registerDomain(plumber);

    expect((await client.domainDashboard(domain.id)).verification_status).toBe('pending');
    simulator.knobs.verifyDomain('plumber.example');
    expect(await client.domainDashboard(domain.id)).toMatchObject({ id: domain.id, host: 'plumber.example', verification_status: 'verified' });
  });

  it('removing a domain that exists reports it removed, and removing it again reports it already gone', async () => {
    const client = clientFor(simulator.baseUrl);
    const { domain } = await client.registerDomain(plumber);

    expect(await client.removeDomain(domain.id)).toBe('removed');
    expect(await client.removeDomain(domain.id)).toBe('already-gone');
    expect(await client.listDomains()).toEqual([]);
  });
});

describe('reading the domain list', () => {
  it('the paginated list of the simulator is read, with client users', async () => {
    const client = clientFor(simulator.baseUrl);
    const { domain } = await client.registerDomain(plumber);

    const listed = await client.listDomains();

    expect(listed).toEqual([expect.objectContaining({ id: domain.id, host: 'plumber.example', client_user: expect.objectContaining({ email: 'owner@plumber.example' }) })]);
  });

  it.each([
    ['{results: [...]}', (domains: unknown[]) => ({ count: domains.length, results: domains })],
    ['{domains: [...]}', (domains: unknown[]) => ({ domains })],
    ['a bare array', (domains: unknown[]) => domains],
  ])('a list sent as %s is accepted, with numeric ids read as strings', async (_shape, envelope) => {
    const domains = [
      { id: 41, host: 'plumber.example', verification_status: 'verified', client_user_email: 'owner@plumber.example', extra: 'kept' },
      { id: 'd-42', host: 'bakery.example', client_user: { id: 9, email: 'owner@bakery.example' } },
    ];
    const baseUrl = await stubNextNet(answerJson(200, envelope(domains)));

    const listed = await clientFor(baseUrl).listDomains();

    expect(listed).toEqual([
      expect.objectContaining({ id: '41', host: 'plumber.example', client_user_email: 'owner@plumber.example', extra: 'kept' }),
      expect.objectContaining({ id: 'd-42', host: 'bakery.example', client_user: { id: '9', email: 'owner@bakery.example' } }),
    ]);
  });
});

describe('failures', () => {
  it('a 400 is a rejection carrying the field message NextNet gave', async () => {
    const client = clientFor(simulator.baseUrl);
    await client.registerDomain(plumber);

    const error = await failureOf(client.registerDomain(plumber));

    expect(error.kind).toBe('rejected');
    expect(error.status).toBe(400);
    expect(error.message).toBe('NextNet POST /reseller/domains/ answered 400: domain_host: A domain with this host is already registered.');
  });

  it.each([409, 422])('a %d is a rejection too', async (status) => {
    const baseUrl = await stubNextNet(answerJson(status, { detail: 'Conflict with the current state.' }));
    const error = await failureOf(clientFor(baseUrl).registerDomain(plumber));
    expect(error).toMatchObject({ kind: 'rejected', status });
    expect(error.message).toContain('Conflict with the current state.');
  });

  it('an unknown API key is unauthorized, with advice about RESELLER_API_KEY and without the key', async () => {
    const wrongKey = 'sk_org_revoked_key_9876543210';
    const error = await failureOf(clientFor(simulator.baseUrl, { apiKey: wrongKey }).listDomains());

    expect(error).toMatchObject({ kind: 'unauthorized', status: 401 });
    expect(error.message).toContain('Invalid API key.');
    expect(error.message).toContain('check RESELLER_API_KEY');
    expect(error.message).not.toContain(wrongKey);
  });

  it('a key of an organisation that is not a reseller is unauthorized, without the key', async () => {
    const error = await failureOf(clientFor(simulator.baseUrl, { apiKey: NON_RESELLER_KEY }).registerDomain(plumber));

    expect(error).toMatchObject({ kind: 'unauthorized', status: 403 });
    expect(error.message).toContain('Your organization is not a reseller.');
    expect(error.message).toContain('RESELLER_API_KEY');
    expect(error.message).not.toContain(NON_RESELLER_KEY);
  });

  // Hardening gap: the message quotes the error body, so a server that echoes the key puts it in the error.
  it('an error body that echoes the API key does not carry the key into the error message', async () => {
    const baseUrl = await stubNextNet(answerJson(401, { detail: `Invalid API key ${RESELLER_KEY}.` }));
    const error = await failureOf(clientFor(baseUrl).listDomains());
    expect(error.kind).toBe('unauthorized');
    expect(error.message).not.toContain(RESELLER_KEY);
  });

  it('a dashboard for an unknown domain is not found', async () => {
    const error = await failureOf(clientFor(simulator.baseUrl).domainDashboard('00000000-0000-0000-0000-000000000000'));
    expect(error).toMatchObject({ kind: 'not-found', status: 404 });
    expect(error.message).toContain('Not found.');
  });

  it('a 429 is rate limited, with the Retry-After seconds as the wait', async () => {
    simulator.knobs.addFault({ route: 'list', kind: 'status', status: 429, retryAfterSeconds: 7 });

    const error = await failureOf(clientFor(simulator.baseUrl).listDomains());

    expect(error).toMatchObject({ kind: 'rate-limited', status: 429, retryAfterMs: 7_000 });
    expect(error.message).toContain('Request was throttled.');
  });

  it('a 429 with a Retry-After date waits until that date', async () => {
    const retryAt = new Date(Math.ceil((Date.now() + 60_000) / 1000) * 1000);
    const baseUrl = await stubNextNet(answerJson(429, { detail: 'Request was throttled.' }, { 'retry-after': retryAt.toUTCString() }));

    const error = await failureOf(clientFor(baseUrl).listDomains());

    expect(error.kind).toBe('rate-limited');
    expect(error.retryAfterMs).toBeGreaterThan(55_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(61_000);
  });

  it('a 429 without Retry-After leaves the wait to the retry policy', async () => {
    simulator.knobs.addFault({ route: 'register', kind: 'status', status: 429 });
    const error = await failureOf(clientFor(simulator.baseUrl).registerDomain(plumber));
    expect(error).toMatchObject({ kind: 'rate-limited', retryAfterMs: undefined });
  });

  it.each([500, 502, 503, 504])('a %d means NextNet is unavailable', async (status) => {
    simulator.knobs.addFault({ route: 'dashboard', kind: 'status', status });
    const error = await failureOf(clientFor(simulator.baseUrl).domainDashboard('any-id'));
    expect(error).toMatchObject({ kind: 'unavailable', status });
  });

  it('a 503 with Retry-After carries the wait', async () => {
    simulator.knobs.addFault({ route: 'list', kind: 'status', status: 503, retryAfterSeconds: 30 });
    const error = await failureOf(clientFor(simulator.baseUrl).listDomains());
    expect(error).toMatchObject({ kind: 'unavailable', status: 503, retryAfterMs: 30_000 });
  });

  it('an HTML error page from a proxy is summarised on one line', async () => {
    const baseUrl = await stubNextNet((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html>\n  <body>\n    <h1>502 Bad Gateway</h1>\n  </body>\n</html>\n');
    });

    const error = await failureOf(clientFor(baseUrl).listDomains());

    expect(error.kind).toBe('unavailable');
    expect(error.message).toBe('NextNet GET /reseller/domains/list/ answered 502: <html> <body> <h1>502 Bad Gateway</h1> </body> </html>');
  });

  it('a status the client has no rule for is unexpected', async () => {
    const baseUrl = await stubNextNet(answerJson(418, { detail: "I'm a teapot" }));
    expect(await failureOf(clientFor(baseUrl).listDomains())).toMatchObject({ kind: 'unexpected', status: 418 });
  });

  it('a refused connection is unavailable, saying the API did not answer', async () => {
    const closedUrl = await stubNextNet(() => undefined);
    const server = stubServers.pop();
    await new Promise<void>((resolve) => server?.close(() => resolve()));

    const error = await failureOf(clientFor(closedUrl).listDomains());

    expect(error.kind).toBe('unavailable');
    expect(error.status).toBeUndefined();
    expect(error.message).toBe('NextNet GET /reseller/domains/list/ did not answer: ECONNREFUSED');
  });

  it('an answer slower than the timeout is unavailable, saying it timed out', async () => {
    simulator.knobs.addFault({ route: 'list', kind: 'latency', latencyMs: 5_000 });

    const startedAt = Date.now();
    const error = await failureOf(clientFor(simulator.baseUrl, { timeoutMs: 200 }).listDomains());

    expect(error.kind).toBe('unavailable');
    expect(error.message).toBe('NextNet GET /reseller/domains/list/ did not answer: timed out');
    expect(Date.now() - startedAt).toBeLessThan(3_000);
  });

  it('a connection dropped before the answer is unavailable', async () => {
    simulator.knobs.addFault({ route: 'register', kind: 'drop-after-write' });

    const error = await failureOf(clientFor(simulator.baseUrl).registerDomain(plumber));

    expect(error.kind).toBe('unavailable');
    expect(error.message).toMatch(/^NextNet POST \/reseller\/domains\/ did not answer: \S+/);
  });

  // Bug: a failed body read is swallowed (`.catch(() => '')`), so it is reported as an unexpected shape.
  it('a connection cut while the answer is being read is unavailable, not an unexpected shape', async () => {
    const baseUrl = await stubNextNet((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
      res.write('{"domain": {"id": "d-1", ');
      setTimeout(() => res.socket?.destroy(), 50);
    });

    const error = await failureOf(clientFor(baseUrl).registerDomain(plumber));

    expect(error.kind).toBe('unavailable');
    expect(error.message).not.toContain('unexpected shape');
  });

  it('an answer of an unexpected shape names the fields, never a value from the body', async () => {
    const baseUrl = await stubNextNet(
      answerJson(201, {
        domain: { id: 'd-1', host: 12345 },
        wordpress: { enabled: FAKE_WORDPRESS_KEY, api_key: FAKE_WORDPRESS_KEY },
      }),
    );

    const error = await failureOf(clientFor(baseUrl).registerDomain(plumber));

    expect(error).toMatchObject({ kind: 'unexpected', status: 201 });
    expect(error.message).toBe('NextNet POST /reseller/domains/ answered 201 with an unexpected shape (fields: domain.host, wordpress.enabled)');
    expect(error.message).not.toContain(FAKE_WORDPRESS_KEY);
    expect(error.message).not.toContain('12345');
  });

  it('a list in no known envelope is unexpected, without its contents', async () => {
    const baseUrl = await stubNextNet(answerJson(200, { items: [{ id: 1, host: 'plumber.example', api_key: FAKE_WORDPRESS_KEY }] }));

    const error = await failureOf(clientFor(baseUrl).listDomains());

    expect(error.kind).toBe('unexpected');
    expect(error.message).toContain('unexpected shape');
    expect(error.message).not.toContain(FAKE_WORDPRESS_KEY);
  });

  it('a success answer that is not JSON is unexpected, without the body', async () => {
    const baseUrl = await stubNextNet((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`key=${FAKE_WORDPRESS_KEY}`);
    });

    const error = await failureOf(clientFor(baseUrl).registerDomain(plumber));

    expect(error).toMatchObject({ kind: 'unexpected', status: 200 });
    expect(error.message).toBe('NextNet POST /reseller/domains/ answered 200 with a body that is not JSON');
  });

  it('an empty success answer to a remove counts as removed', async () => {
    const baseUrl = await stubNextNet((_req, res) => {
      res.writeHead(204);
      res.end();
    });
    expect(await clientFor(baseUrl).removeDomain('d-1')).toBe('removed');
  });

  it('a remove that fails for another reason than not-found still fails', async () => {
    simulator.knobs.addFault({ route: 'remove', kind: 'status', status: 503 });
    const error = await failureOf(clientFor(simulator.baseUrl).removeDomain('d-1'));
    expect(error.kind).toBe('unavailable');
  });
});

describe('Retry-After', () => {
  const now = Date.parse('2026-03-02T09:00:00.000Z');

  it('seconds become milliseconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(1_500);
  });

  it('an HTTP date becomes the time left until it', () => {
    expect(parseRetryAfter('Mon, 02 Mar 2026 09:01:30 GMT', now)).toBe(90_000);
  });

  it('a date already past means retry now', () => {
    expect(parseRetryAfter('Mon, 02 Mar 2026 08:00:00 GMT', now)).toBe(0);
  });

  it('a missing or unreadable header gives no wait', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});

describe('redirects', () => {
  it('a redirect to another origin is not followed, so the API key never leaves for it', async () => {
    const received: (string | undefined)[] = [];
    const elsewhere = createServer((req, res) => {
      received.push(req.headers['x-serendipity-api-key'] as string | undefined);
      res.end('{}');
    });
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
    const elsewhereUrl = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}`;
    const redirecting = createServer((_req, res) => {
      res.writeHead(307, { location: `${elsewhereUrl}/steal?x=1` }).end();
    });
    await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
    try {
      const client = new NextNetClient({ baseUrl: `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}/accounts`, apiKey: 'sk_org_must_stay_here', timeoutMs: 2_000 });
      const error = await client.listDomains().catch((err: unknown) => err);
      expect(error).toBeInstanceOf(ResellerApiError);
      expect((error as ResellerApiError).kind).toBe('unexpected');
      expect((error as ResellerApiError).message).toBe(`NextNet GET /reseller/domains/list/ answered 307, a redirect (to ${elsewhereUrl}); not followed, so the API key stays here: check RESELLER_API_URL`);
      expect(received).toEqual([]);
    } finally {
      redirecting.close();
      elsewhere.close();
    }
  });
});

describe('error bodies', () => {
  it('a detail message is used as it is', () => {
    expect(describeErrorBody('{"detail": "Invalid API key."}')).toBe('Invalid API key.');
  });

  it('field errors are flattened to one line, field by field', () => {
    expect(describeErrorBody('{"domain_host": ["This field is required."], "client_user_email": ["Enter a valid email address.", "Too long."]}')).toBe(
      'domain_host: This field is required.; client_user_email: Enter a valid email address. Too long.',
    );
  });

  it('never copies a secret-like field or a nested object into the message (it reaches workflow history)', () => {
    const body = JSON.stringify({ detail: 'Domain already registered.', api_key: 'wp_live_echoed_secret', wordpress: { enabled: true, api_key: 'wp_live_nested_secret' }, client_user_email: ['Enter a valid email address.'] });
    const message = describeErrorBody(body);
    expect(message).toBe('Domain already registered.; api_key: [REDACTED]; wordpress: (object); client_user_email: Enter a valid email address.');
    expect(message).not.toContain('secret');
  });

  it('a long body is cut short', () => {
    expect(describeErrorBody('x'.repeat(1_000))).toHaveLength(200);
    expect(describeErrorBody(JSON.stringify({ detail: 'y'.repeat(1_000) }))).toHaveLength(300);
  });
});

describe('verification status', () => {
  it.each([
    ['verified', 'verified'],
    ['Verified', 'verified'],
    [' ACTIVE ', 'verified'],
    ['completed', 'verified'],
    ['pending', 'pending'],
    ['weird_state', 'pending'],
    ['', 'pending'],
    [null, 'pending'],
    [undefined, 'pending'],
    ['failed', 'failing'],
    ['EXPIRED', 'failing'],
    ['rejected', 'failing'],
  ] as const)('NextNet status %j counts as %s', (raw, state) => {
    expect(classifyVerificationStatus(raw)).toBe(state);
  });
});
