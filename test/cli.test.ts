import { execFile } from 'node:child_process';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { EventEmitter } from 'node:events';
import { createServer as createNetServer } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { InputStream } from '../cli/io.js';
import { runCli } from '../cli/main.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TOKEN = 'test-ops-token-7f3a';
const HOUR = 3_600_000;

// --- A small fake of the ops API: the contract in cli/README.md, answering from fixtures and recording requests ---

interface Fixture {
  id: string;
  status: string;
  workflowStatus: string;
  startedAgoMs: number;
  closedAgoMs?: number;
  needsAttention?: boolean;
  failureReason?: string;
  /** When it failed, when not when it closed (a failure waits for ops, running). */
  failedAgoMs?: number;
  /** How POST /retry answers. */
  retry: 'accepted' | 'running-normally' | 'completed' | 'server-error' | 'cancelled';
  wordpressKey?: string;
  netlifyToken?: string;
}

const FIXTURES: Fixture[] = [
  { id: 'onboarding-crm-1', status: 'awaiting-dns', workflowStatus: 'RUNNING', startedAgoMs: 80.1 * HOUR, needsAttention: true, retry: 'accepted', wordpressKey: 'wp_live_key_for_crm_1', netlifyToken: 'nf_user_token_for_crm_1' },
  { id: 'onboarding-crm-2', status: 'completed', workflowStatus: 'COMPLETED', startedAgoMs: 40 * HOUR, closedAgoMs: 30 * HOUR, retry: 'completed' },
  { id: 'onboarding-crm-3', status: 'failed', workflowStatus: 'FAILED', startedAgoMs: 3 * HOUR, closedAgoMs: 2 * HOUR, failureReason: 'NextNet rejected the registration: domain is owned by another account', retry: 'accepted' },
  { id: 'onboarding-crm-4', status: 'failed', workflowStatus: 'FAILED', startedAgoMs: 4 * HOUR, closedAgoMs: 3 * HOUR, failureReason: 'NextNet rejected the registration: email is not valid', retry: 'server-error' },
  { id: 'onboarding-crm-5', status: 'failed', workflowStatus: 'FAILED', startedAgoMs: 6 * HOUR, closedAgoMs: 5 * HOUR, failureReason: 'The SMTP server REJECTED the signup email', retry: 'accepted' },
  { id: 'onboarding-crm-6', status: 'failed', workflowStatus: 'FAILED', startedAgoMs: 7 * HOUR, closedAgoMs: 6 * HOUR, failureReason: 'the domain was removed at NextNet during the DNS wait', retry: 'accepted' },
  { id: 'onboarding-crm-7', status: 'failed', workflowStatus: 'FAILED', startedAgoMs: 80 * HOUR, closedAgoMs: 72 * HOUR, failureReason: 'NextNet rejected the registration long ago', retry: 'accepted' },
  { id: 'onboarding-crm-8', status: 'registering', workflowStatus: 'RUNNING', startedAgoMs: 0.1 * HOUR, retry: 'running-normally' },
  // Failures now wait for ops, running: one since an hour, one since before the bulk retries' 24 hours.
  { id: 'onboarding-crm-9', status: 'failed', workflowStatus: 'RUNNING', startedAgoMs: 2 * HOUR, failedAgoMs: HOUR, needsAttention: true, failureReason: 'NextNet rejected the registration: the domain is on hold', retry: 'accepted' },
  { id: 'onboarding-crm-10', status: 'failed', workflowStatus: 'RUNNING', startedAgoMs: 31 * HOUR, failedAgoMs: 30 * HOUR, needsAttention: true, failureReason: 'NextNet rejected the registration a day ago', retry: 'accepted' },
  { id: 'onboarding-crm-11', status: 'cancelled', workflowStatus: 'CANCELLED', startedAgoMs: 5 * HOUR, closedAgoMs: 4 * HOUR, retry: 'cancelled' },
];
/** Like a real server, the fake returns at most this many items per page whatever pageSize asks for. */
const SERVER_PAGE_CAP = 2;

interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
}

function iso(agoMs: number | undefined): string | null {
  return agoMs === undefined ? null : new Date(Date.now() - agoMs).toISOString();
}

function listItem(f: Fixture) {
  const clientId = f.id.replace(/^onboarding-/, '');
  return {
    id: f.id,
    onboardingId: f.id,
    workflowId: f.id,
    runId: `run-of-${clientId}`,
    kind: 'onboarding',
    clientId,
    domain: `${clientId}.example.com`,
    status: f.status,
    needsAttention: f.needsAttention ?? false,
    reason: f.failureReason ?? (f.needsAttention ? 'DNS for the domain not verified after 72 h: verification pending\nsecond line' : null),
    workflowStatus: f.workflowStatus,
    startedAt: iso(f.startedAgoMs),
    closedAt: iso(f.closedAgoMs),
  };
}

function statusView(f: Fixture) {
  const item = listItem(f);
  const attentionSince = iso(8 * HOUR)!;
  return {
    onboardingId: f.id,
    clientId: item.clientId,
    domain: item.domain,
    status: f.status,
    services: f.status === 'awaiting-dns' ? ['netlify', 'nextnet'] : undefined,
    netlify:
      f.status === 'awaiting-dns'
        ? { userId: 'nu-1', tokenReference: `vault:${f.id}/netlify-access-token`, site: { id: 'site-1', name: 'crm-1-example-com', customDomain: item.domain, url: `http://${item.domain}`, sslUrl: null, adminUrl: null, adopted: false }, tls: null }
        : undefined,
    needsAttention: f.needsAttention
      ? {
          reason: 'DNS not verified after 72 hours; ask the client to check their DNS records',
          since: attentionSince,
          items: [{ code: 'dns-stalled', reason: 'DNS not verified after 72 hours; ask the client to check their DNS records', since: attentionSince }],
        }
      : null,
    failure: f.failureReason ? { reason: f.failureReason, type: 'ResellerRejected', at: iso(f.failedAgoMs ?? f.closedAgoMs) } : null,
    closesAt: f.failureReason && f.workflowStatus === 'RUNNING' ? iso(-29 * 24 * HOUR) : null,
    lastError:
      f.status === 'awaiting-dns'
        ? { platform: 'netlify', activity: 'checkNetlifyDns', message: 'Netlify answered 502 Bad Gateway', attempt: 4, nextAttemptAt: iso(-30_000) }
        : null,
    lastErrors:
      f.status === 'awaiting-dns'
        ? [
            { platform: 'netlify', activity: 'checkNetlifyDns', message: 'Netlify answered 502 Bad Gateway', attempt: 4, nextAttemptAt: iso(-30_000) },
            { platform: 'nextnet', activity: 'checkDomainVerification', message: 'NextNet answered 503', attempt: 2, nextAttemptAt: null },
          ]
        : [],
    offboarding: null,
    previousRun: null,
    steps: [
      { name: 'register', state: f.failureReason ? 'failed' : 'done', startedAt: item.startedAt, finishedAt: item.startedAt, detail: f.failureReason ?? 'registered as domain 4711' },
      { name: 'secure-wordpress-key', state: f.failureReason ? 'pending' : 'done', startedAt: null, finishedAt: null, detail: null },
      { name: 'await-dns', state: f.status === 'awaiting-dns' ? 'needs-attention' : 'pending', startedAt: item.startedAt, finishedAt: null, detail: 'verification pending' },
      { name: 'send-signup-email', state: 'pending', startedAt: null, finishedAt: null, detail: null },
    ],
    registration: f.failureReason
      ? null
      : { domainId: '4711', host: item.domain, clientUserId: 'u-1', wordpressKey: 'stored', keyReference: `vault:${f.id}/wordpress-api-key`, foundExisting: false },
    dns: {
      verificationStatus: f.status === 'awaiting-dns' ? 'pending' : null,
      checks: f.status === 'awaiting-dns' ? 17 : 0,
      waitingSince: item.startedAt,
      lastCheckedAt: iso(10.5 * 60_000),
      nextCheckAt: iso(-20.5 * 60_000),
      deadlineAt: iso(-8.5 * HOUR),
      verifiedAt: null,
      nextIntervalMs: 1_800_000,
      records:
        f.status === 'awaiting-dns'
          ? [
              { name: item.domain, type: 'A', found: ['75.2.60.5'], expected: '75.2.60.5', ok: true, fix: null },
              { name: `www.${item.domain}`, type: 'CNAME', found: ['old-host.example'], expected: 'crm-1-example-com.netlify.app', ok: false, fix: `www.${item.domain} is a CNAME to old-host.example; point it at crm-1-example-com.netlify.app` },
            ]
          : undefined,
    },
    signupEmail: null,
    startedAt: item.startedAt,
    updatedAt: iso(10 * 60_000),
    runs: 1,
    kind: 'onboarding',
    workflowId: f.id,
    runId: item.runId,
    workflowStatus: f.workflowStatus,
    changes:
      f.status === 'cancelled'
        ? [{ kind: 'cancel', at: item.closedAt, by: 'alice@ops-laptop via cli', reason: 'the client asked to wait', fields: {}, resumesAt: 'await-dns' }]
        : [],
  };
}

/** `GET /v1/onboardings/offboarding-crm-2`: the offboarding of a client who churned after its onboarding completed. */
const OFFBOARDING = {
  kind: 'offboarding',
  offboardingId: 'offboarding-crm-2',
  workflowId: 'offboarding-crm-2',
  runId: 'run-of-offboarding-crm-2',
  onboardingId: 'onboarding-crm-2',
  clientId: 'crm-2',
  domain: 'crm-2.example.com',
  status: 'offboarded',
  workflowStatus: 'COMPLETED',
  churnedAt: iso(8 * 24 * HOUR),
  removeAfter: iso(24 * HOUR),
  removal: 'removed',
  siteRemoval: 'removed',
  secretsRevoked: true,
  offboardedAt: iso(24 * HOUR - 60_000),
  reactivatedAt: null,
  onboardingCancelled: false,
  updatedAt: iso(24 * HOUR - 60_000),
};

// --- The reseller account as /v1/reseller describes it ---

const RESELLER_SITES = {
  sites: [
    {
      id: 'site-1',
      name: 'crm-1-example-com',
      url: 'https://www.crm-1.example.com',
      sslUrl: 'https://www.crm-1.example.com',
      adminUrl: 'https://app.netlify.com/sites/crm-1-example-com',
      customDomain: 'www.crm-1.example.com',
      domainAliases: [],
      domain: 'crm-1.example.com',
      state: 'current',
      ssl: true,
      forceSsl: true,
      sslStatus: null,
      onboarding: { onboardingId: 'onboarding-crm-1', clientId: 'crm-1', domain: 'crm-1.example.com', status: 'awaiting-dns', workflowStatus: 'RUNNING' },
    },
    {
      id: 'site-9',
      name: 'old-client-com',
      url: 'http://old-client.com',
      sslUrl: null,
      adminUrl: null,
      customDomain: 'old-client.com',
      domainAliases: [],
      domain: 'old-client.com',
      state: 'current',
      ssl: false,
      forceSsl: false,
      sslStatus: null,
      onboarding: null,
    },
  ],
  orphans: {
    sitesWithoutOnboarding: [{ id: 'site-9', name: 'old-client-com', customDomain: 'old-client.com', url: 'http://old-client.com' }],
    onboardingsWithoutSite: [
      { onboardingId: 'onboarding-crm-2', clientId: 'crm-2', domain: 'crm-2.example.com', status: 'completed', workflowStatus: 'COMPLETED', site: { id: 'site-2', name: 'crm-2-example-com', customDomain: 'www.crm-2.example.com' } },
    ],
    unchecked: [],
  },
};

function resellerSubmissions(since: string) {
  return {
    since,
    submissions: [
      {
        id: 'sub-1',
        number: 2,
        createdAt: iso(HOUR / 2),
        siteUrl: 'https://www.crm-1.example.com',
        host: 'www.crm-1.example.com',
        formName: 'contact',
        email: 'visitor@mail.test',
        name: 'Vera Visitor',
        company: null,
        data: { message: 'Do you fix boilers?' },
        client: { onboardingId: 'onboarding-crm-1', clientId: 'crm-1', domain: 'crm-1.example.com' },
      },
      { id: 'sub-2', number: 1, createdAt: iso(HOUR), siteUrl: 'http://old-client.com', host: 'old-client.com', formName: null, email: null, name: null, company: null, data: {}, client: null },
    ],
  };
}

const CHECK_ITEMS = [
  { check: 'preview domain wildcard CNAME', ok: true, detail: '*.sites.agency.example is a CNAME to agency.r.netlify.com', fix: null },
  { check: 'SPF of mail.agency.example', ok: false, detail: 'mail.agency.example has no SPF record', fix: 'add a TXT record at mail.agency.example: "v=spf1 include:spf.mandrillapp.com ~all"' },
  { check: 'custom page 404.html', ok: true, detail: '404.html is self-contained', fix: null },
];

const AUDIT_ENTRIES = [
  { id: 1, at: iso(3 * HOUR)!, onboardingId: 'onboarding-crm-1', secretName: 'wordpress-api-key', action: 'write', actor: 'engine', purpose: 'registration', outcome: 'created', version: 1, origin: 'worker-1:42' },
  {
    id: 2,
    at: iso(HOUR)!,
    onboardingId: 'onboarding-crm-1',
    secretName: 'wordpress-api-key',
    action: 'read',
    actor: 'ops-api token holder (ana@laptop via cli) from 127.0.0.1',
    purpose: 'ops endpoint',
    outcome: 'revealed',
    version: 1,
    origin: 'api-1:7',
  },
  { id: 3, at: iso(HOUR / 2)!, onboardingId: 'onboarding-crm-3', secretName: 'netlify-access-token', action: 'read', actor: 'engine', purpose: null, outcome: 'not-found', version: null, origin: 'worker-1:42' },
];

/** What the fake reseller endpoints answer; reset before each test. */
const reseller = { netlifyConfigured: true, checkPasses: false };
/** Whether the fake API's vault keeps an audit trail (PostgreSQL) or not (the file vault); reset before each test. */
const audit = { available: true };
/** Secrets stored through the fake API, `id/name` → value. */
const storedSecrets = new Map<string, string>();

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function apiError(res: ServerResponse, status: number, code: string, message: string) {
  send(res, status, { error: { code, message } });
}

function handle(req: IncomingMessage, res: ServerResponse, url: URL, body: unknown) {
  if (req.headers.authorization !== `Bearer ${TOKEN}`) return apiError(res, 401, 'unauthorized', 'missing or wrong bearer token');

  if (req.method === 'GET' && url.pathname === '/v1/onboardings') {
    const q = url.searchParams;
    const closedSince = q.get('closedSince') ? Date.parse(q.get('closedSince')!) : undefined;
    const matching = FIXTURES.map(listItem).filter(
      (item) =>
        (!q.get('status') || item.status === q.get('status')) &&
        (!q.get('needsAttention') || String(item.needsAttention) === q.get('needsAttention')) &&
        (closedSince === undefined || (item.closedAt !== null && Date.parse(item.closedAt) >= closedSince)),
    );
    const offset = Number(q.get('pageToken') ?? '0');
    const size = Math.min(Number(q.get('pageSize') ?? '50'), SERVER_PAGE_CAP);
    const next = offset + size < matching.length ? String(offset + size) : null;
    return send(res, 200, { items: matching.slice(offset, offset + size), nextPageToken: next });
  }

  if (req.method === 'GET' && url.pathname === '/v1/reseller/sites') {
    if (!reseller.netlifyConfigured) {
      return apiError(res, 503, 'netlify_not_configured', 'Netlify is not configured on this engine: set NETLIFY_RESELLER_TOKEN (and NETLIFY_API_URL unless it is https://api.netlify.com/api/v1) where the API runs, then restart it');
    }
    return send(res, 200, RESELLER_SITES);
  }
  if (req.method === 'GET' && url.pathname === '/v1/reseller/submissions') return send(res, 200, resellerSubmissions(url.searchParams.get('since') ?? ''));
  if (req.method === 'GET' && url.pathname === '/v1/reseller/check') {
    const items = reseller.checkPasses ? CHECK_ITEMS.map((item) => ({ ...item, ok: true, fix: null })) : CHECK_ITEMS;
    return send(res, 200, { ok: items.every((item) => item.ok), items });
  }

  if (req.method === 'GET' && url.pathname === '/v1/audit') {
    if (!audit.available) return apiError(res, 404, 'audit_unavailable', 'this engine keeps its secrets in the file vault; the audit trail is kept in PostgreSQL: set DATABASE_URL');
    const onboardingId = url.searchParams.get('onboardingId');
    const limit = Number(url.searchParams.get('limit') ?? '100');
    return send(res, 200, { items: AUDIT_ENTRIES.filter((entry) => !onboardingId || entry.onboardingId === onboardingId).slice(-limit) });
  }

  if (req.method === 'GET' && url.pathname === `/v1/onboardings/${OFFBOARDING.offboardingId}`) return send(res, 200, OFFBOARDING);

  const match = /^\/v1\/onboardings\/([^/]+)(\/.*)?$/.exec(url.pathname);
  const fixture = match ? FIXTURES.find((f) => f.id === decodeURIComponent(match[1]!)) : undefined;
  if (!match || !fixture) return apiError(res, 404, 'onboarding_not_found', `no onboarding with id ${JSON.stringify(match ? decodeURIComponent(match[1]!) : '')}`);
  const action = `${req.method} ${match[2] ?? ''}`;

  if (action === 'GET ') return send(res, 200, statusView(fixture));
  if (action === 'POST /retry') {
    const corrections = (body as { corrections?: { email?: string } } | undefined)?.corrections;
    if (corrections?.email !== undefined && !corrections.email.includes('@')) {
      return send(res, 400, { error: { code: 'invalid_corrections', message: 'the corrections are invalid', fields: [{ field: 'corrections.email', message: 'must be an email address' }] } });
    }
    switch (fixture.retry) {
      case 'accepted':
        return send(res, 202, { onboardingId: fixture.id, status: 'retrying', resumesAt: 'register' });
      case 'running-normally':
        return apiError(res, 409, 'not_retryable', `onboarding ${fixture.id} is running normally; there is nothing to retry`);
      case 'completed':
        return apiError(res, 409, 'not_retryable', `onboarding ${fixture.id} has completed; there is nothing to retry`);
      case 'server-error':
        return apiError(res, 500, 'internal_error', 'something went wrong on our side; it has been logged');
      case 'cancelled':
        if ((body as { resumeCancelled?: boolean } | undefined)?.resumeCancelled === true) return send(res, 202, { onboardingId: fixture.id, status: 'retrying', resumesAt: 'await-dns' });
        return apiError(res, 409, 'onboarding_cancelled', `onboarding ${fixture.id} was cancelled by alice; to resume it where it stopped, retry with "resumeCancelled": true (CLI: --resume-cancelled)`);
    }
  }
  if (action === 'POST /dns-check' || action === 'POST /cancel') {
    if (fixture.workflowStatus !== 'RUNNING') return apiError(res, 409, 'onboarding_not_running', `onboarding ${fixture.id} is ${fixture.workflowStatus.toLowerCase()}`);
    return send(res, 202, action === 'POST /cancel' ? { onboardingId: fixture.id, status: 'cancelling' } : { onboardingId: fixture.id, signal: 'checkDnsNow', status: 'sent' });
  }
  const secret = /^\/secrets\/([^/]+)$/.exec(match[2] ?? '');
  if (secret && (req.method === 'GET' || req.method === 'PUT')) {
    const name = decodeURIComponent(secret[1]!);
    const labels: Record<string, string> = { 'wordpress-api-key': 'WordPress key', 'netlify-access-token': 'Netlify access token' };
    if (!labels[name]) return apiError(res, 404, 'unknown_secret', `no platform declares a secret named ${JSON.stringify(name)}`);
    const stored = storedSecrets.get(`${fixture.id}/${name}`) ?? (name === 'wordpress-api-key' ? fixture.wordpressKey : fixture.netlifyToken);
    if (req.method === 'PUT') {
      storedSecrets.set(`${fixture.id}/${name}`, (body as { value: string }).value);
      return send(res, stored ? 200 : 201, { onboardingId: fixture.id, secret: name, outcome: stored ? 'replaced' : 'created' });
    }
    if (!stored) return apiError(res, 404, 'secret_not_found', `no ${labels[name]} is stored for onboarding ${JSON.stringify(fixture.id)}`);
    return send(res, 200, { value: stored });
  }
  return apiError(res, 404, 'not_found', `no route for ${req.method} ${url.pathname}`);
}

let server: Server;
let apiUrl: string;
const requests: RecordedRequest[] = [];

beforeAll(async () => {
  server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const raw = Buffer.concat(chunks).toString('utf8');
      const body: unknown = raw ? JSON.parse(raw) : undefined;
      requests.push({ method: req.method ?? '', path: url.pathname, query: url.searchParams, headers: req.headers, body });
      handle(req, res, url, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  apiUrl = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  requests.length = 0;
  storedSecrets.clear();
  Object.assign(reseller, { netlifyConfigured: true, checkPasses: false });
  audit.available = true;
});

function collector(isTTY = false) {
  const chunks: string[] = [];
  return {
    isTTY,
    columns: 200,
    write(chunk: string) {
      chunks.push(chunk);
      return true;
    },
    get text() {
      return chunks.join('');
    },
  };
}

async function cli(args: string[], options: { env?: Record<string, string | undefined>; stdoutIsTTY?: boolean; stderrIsTTY?: boolean; stdin?: InputStream } = {}) {
  const stdout = collector(options.stdoutIsTTY);
  const stderr = collector(options.stderrIsTTY);
  const code = await runCli(args, { stdout, stderr, stdin: options.stdin ?? Readable.from([]), env: { ONBOARDING_API_URL: apiUrl, OPS_API_TOKEN: TOKEN, ...options.env } });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

async function closedPort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

const ANSI = /\u001b\[/;

/** A terminal at the hidden prompt: raw mode switched on and off, the keys typed once the CLI listens. */
class FakeTerminal extends EventEmitter implements InputStream {
  readonly isTTY = true;
  readonly rawModes: boolean[] = [];
  constructor(private readonly keys: string[]) {
    super();
  }
  setRawMode(mode: boolean) {
    this.rawModes.push(mode);
  }
  resume() {
    setImmediate(() => {
      for (const key of this.keys) this.emit('data', Buffer.from(key));
    });
  }
  pause() {}
  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {}
}

describe('onboarding CLI', () => {
  it('lists onboardings as an aligned table with an attention mark, and as parseable JSON with --json', async () => {
    const table = await cli(['list', '--needs-attention']);
    expect(table.code).toBe(0);
    const [header, row, ...rest] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID\s+KIND\s+CLIENT\s+DOMAIN\s+STATUS\s+ATTENTION\s+WORKFLOW\s+STARTED\s+AGE\s+REASON$/);
    // The first page (the fake API's pages hold two).
    expect(rest.map((line) => line.split(/\s+/)[0])).toEqual(['onboarding-crm-9']);
    expect(row).toMatch(/^onboarding-crm-1\s+onboarding\s+crm-1\s/);
    expect(row).toContain('crm-1.example.com');
    expect(row).toContain('⚠');
    // The reason's first line only.
    expect(row).toMatch(/3d 8h\s+DNS for the domain not verified after 72 h: verification pending$/);
    // Columns line up: each value starts under its header.
    expect(row!.indexOf(' onboarding ') + 1).toBe(header!.indexOf('KIND'));
    for (const [column, value] of [['STATUS', 'awaiting-dns'], ['WORKFLOW', 'RUNNING'], ['ATTENTION', '⚠'], ['REASON', 'DNS for']] as const) {
      expect(row!.indexOf(value)).toBe(header!.indexOf(column));
    }
    expect(table.stdout).not.toMatch(ANSI);
    expect(requests[0]!.query.get('needsAttention')).toBe('true');

    const json = await cli(['list', '--status', 'failed', '--json']);
    expect(json.code).toBe(0);
    const page = JSON.parse(json.stdout) as { items: Array<{ onboardingId: string }>; nextPageToken: string | null };
    expect(page.items.map((item) => item.onboardingId)).toEqual(['onboarding-crm-3', 'onboarding-crm-4']);
    expect(page.nextPageToken).toBe('2');
    expect(requests.at(-1)!.query.get('status')).toBe('failed');
  });

  it('shows one page by default and follows every page with --all', async () => {
    const firstPage = await cli(['list']);
    expect(firstPage.stdout).toContain('onboarding-crm-2');
    expect(firstPage.stdout).not.toContain('onboarding-crm-3');
    expect(firstPage.stderr).toContain('pass --all');

    requests.length = 0;
    const all = await cli(['list', '--all']);
    expect(all.code).toBe(0);
    for (const fixture of FIXTURES) expect(all.stdout).toContain(fixture.id);
    expect(requests.map((r) => r.query.get('pageToken'))).toEqual([null, '2', '4', '6', '8', '10']);
    expect(requests.every((r) => r.query.get('pageSize') === '200')).toBe(true);
  });

  it('colours the table only on a terminal, and not when NO_COLOR is set', async () => {
    expect((await cli(['list', '--status', 'failed'], { stdoutIsTTY: true })).stdout).toMatch(ANSI);
    expect((await cli(['list', '--status', 'failed'], { stdoutIsTTY: true, env: { NO_COLOR: '1' } })).stdout).not.toMatch(ANSI);
  });

  it('shows an onboarding: status, why it needs attention, each step, DNS progress and the failure', async () => {
    const waiting = await cli(['show', 'onboarding-crm-1']);
    expect(waiting.code).toBe(0);
    expect(waiting.stdout).toMatch(/status\s+awaiting-dns\s+\(workflow RUNNING\)/);
    expect(waiting.stdout).toContain('DNS not verified after 72 hours; ask the client to check their DNS records');
    expect(waiting.stdout).toMatch(/await-dns\s+needs-attention\s+.*verification pending/);
    expect(waiting.stdout).toMatch(/register\s+done\s+.*registered as domain 4711/);
    expect(waiting.stdout).toMatch(/dns\s+verification pending · 17 checks · last checked 10m ago · next check in 20m/);
    expect(waiting.stdout).toMatch(/signup email\s+not sent yet/);
    expect(waiting.stdout).toMatch(/plan\s+Netlify \+ NextNet/);
    expect(waiting.stdout).toMatch(/netlify\s+user nu-1 · site crm-1-example-com \(http:\/\/crm-1\.example\.com\)/);
    expect(waiting.stdout).toContain('✗ www.crm-1.example.com CNAME old-host.example — www.crm-1.example.com is a CNAME to old-host.example; point it at crm-1-example-com.netlify.app');
    expect(waiting.stdout).toContain('✓ crm-1.example.com A 75.2.60.5');
    expect(requests[0]).toMatchObject({ method: 'GET', path: '/v1/onboardings/onboarding-crm-1' });

    const failed = await cli(['show', 'onboarding-crm-3']);
    expect(failed.stdout).toMatch(/failure\s+NextNet rejected the registration: domain is owned by another account \(ResellerRejected/);
  });

  it('shows the last error of each call that keeps failing, and when a failure waiting for ops closes', async () => {
    const waiting = await cli(['show', 'onboarding-crm-1']);
    expect(waiting.stdout).toMatch(/last error\s+Netlify: Netlify answered 502 Bad Gateway \(checkNetlifyDns, attempt 4, next attempt in 30s\)\n\s+NextNet: NextNet answered 503 \(checkDomainVerification, attempt 2, an attempt is running\)/);
    const failing = await cli(['show', 'onboarding-crm-9']);
    expect(failing.stdout).toMatch(/closes\s+.* \(in 29d\) as failed, unless retried or cancelled before/);
    expect(failing.stdout).not.toContain('last error');
  });

  it('shows a cancelled onboarding without a next check, with who cancelled it and why', async () => {
    const result = await cli(['show', 'onboarding-crm-11']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/status\s+cancelled\s+\(workflow CANCELLED\)/);
    expect(result.stdout).not.toContain('next check');
    expect(result.stdout).not.toContain('deadline');
    expect(result.stdout).toMatch(/cancelled at await-dns by alice@ops-laptop via cli: the client asked to wait/);
  });

  it('shows an offboarding by its own id: churned, removal due, what was removed, when the secrets were revoked', async () => {
    const result = await cli(['show', 'offboarding-crm-2']);
    expect(result.code).toBe(0);
    expect(requests[0]).toMatchObject({ method: 'GET', path: '/v1/onboardings/offboarding-crm-2' });
    expect(result.stdout).toMatch(/^offboarding-crm-2\n/);
    expect(result.stdout).toMatch(/onboarding\s+onboarding-crm-2\n/);
    expect(result.stdout).toMatch(/status\s+offboarded\s+\(workflow COMPLETED\)/);
    expect(result.stdout).toMatch(/churned\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC \(8d ago\)/);
    expect(result.stdout).toMatch(/removal due\s+.*\(1d ago\)/);
    expect(result.stdout).toMatch(/domain\s+removed from NextNet/);
    expect(result.stdout).toMatch(/site\s+deleted at Netlify/);
    expect(result.stdout).toMatch(/secrets\s+revoked \d{4}-.* \(23h 59m ago\)/);
    expect(JSON.parse((await cli(['show', 'offboarding-crm-2', '--json'])).stdout)).toEqual(OFFBOARDING);
  });

  it('retries one onboarding with the corrections and reason given, authenticated with the bearer token', async () => {
    const result = await cli(['retry', 'onboarding-crm-3', '--email', 'owner@acme.test', '--domain', 'acme-plumbing.com', '--reason', 'client fixed the typo']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('onboarding-crm-3 is retrying; it resumes at register');
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      method: 'POST',
      path: '/v1/onboardings/onboarding-crm-3/retry',
      body: { corrections: { email: 'owner@acme.test', domain: 'acme-plumbing.com' }, reason: 'client fixed the typo' },
    });
    expect(requests[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(requests[0]!.headers['content-type']).toBe('application/json');
  });

  it('resumes a cancelled onboarding only with --resume-cancelled; without it exits 4 naming the flag', async () => {
    const refused = await cli(['retry', 'onboarding-crm-11']);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('was cancelled by alice');
    expect(refused.stderr).toContain('hint: someone cancelled it on purpose; to resume it anyway: onboarding retry onboarding-crm-11 --resume-cancelled');
    expect(requests[0]!.body).toEqual({});

    const resumed = await cli(['retry', 'onboarding-crm-11', '--resume-cancelled', '--reason', 'the client is ready']);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('onboarding-crm-11 is retrying; it resumes at await-dns');
    expect(requests[1]!.body).toEqual({ reason: 'the client is ready', resumeCancelled: true });
  });

  it('a retry the API refuses (409) exits 4 and prints the API\'s reason', async () => {
    const result = await cli(['retry', 'onboarding-crm-8']);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('error: onboarding onboarding-crm-8 is running normally; there is nothing to retry');
    expect(result.stderr).toContain('onboarding show onboarding-crm-8');
    expect(result.stdout).toBe('');
  });

  it('corrections the API rejects (400) exit 2 and name the bad field', async () => {
    const result = await cli(['retry', 'onboarding-crm-3', '--email', 'not-an-email']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('corrections.email: must be an email address');
  });

  it('an unknown onboarding exits 3', async () => {
    const result = await cli(['show', 'onboarding-nobody']);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('error: no onboarding with id "onboarding-nobody"');
    expect(result.stderr).toContain('onboarding list');
  });

  it('a wrong token exits 6 with a hint about OPS_API_TOKEN and never prints the token', async () => {
    const result = await cli(['list', '--token', 'wrong-secret-token-123']);
    expect(result.code).toBe(6);
    expect(result.stderr).toContain('error: missing or wrong bearer token');
    expect(result.stderr).toContain('set OPS_API_TOKEN or pass --token');
    expect(result.stdout + result.stderr).not.toContain('wrong-secret-token-123');
    expect(requests[0]!.headers.authorization).toBe('Bearer wrong-secret-token-123');
  });

  it('an API nobody listens on exits 5 and suggests starting it', async () => {
    const port = await closedPort();
    const result = await cli(['show', 'onboarding-crm-1'], { env: { ONBOARDING_API_URL: `http://127.0.0.1:${port}` } });
    expect(result.code).toBe(5);
    expect(result.stderr).toContain(`cannot reach the ops API at http://127.0.0.1:${port}`);
    expect(result.stderr).toContain('is the API running? npm start');
    expect(result.stderr).not.toContain(TOKEN);
  });

  it('a bulk retry retries only failed onboardings since the time whose reason matches, goes on past one that errors, and exits 1 naming it', async () => {
    const before = Date.now();
    const result = await cli(['retry', '--failed-since', '24h', '--reason', 'rejected']);
    expect(result.code).toBe(1);

    // Every failed onboarding: the ones waiting for ops (running) and the ones given up; two per page.
    const listing = requests.filter((r) => r.path === '/v1/onboardings');
    expect(listing.length).toBe(4);
    expect(listing[0]!.query.get('status')).toBe('failed');
    expect(listing[0]!.query.get('closedSince')).toBeNull();
    // Each is read for when (and why) it failed, except one that closed before the time.
    const read = requests.filter((r) => r.method === 'GET' && r.path !== '/v1/onboardings').map((r) => r.path.split('/').at(-1));
    expect(read).toEqual(['onboarding-crm-3', 'onboarding-crm-4', 'onboarding-crm-5', 'onboarding-crm-6', 'onboarding-crm-9', 'onboarding-crm-10']);
    expect(Date.now() - before).toBeLessThan(60_000);

    const retried = requests.filter((r) => r.method === 'POST').map((r) => r.path);
    expect(retried).toEqual([
      '/v1/onboardings/onboarding-crm-3/retry',
      '/v1/onboardings/onboarding-crm-4/retry',
      '/v1/onboardings/onboarding-crm-5/retry',
      '/v1/onboardings/onboarding-crm-9/retry',
    ]);

    expect(result.stdout).toContain('5 onboardings failed since');
    expect(result.stdout).toContain('4 with a failure reason containing "rejected"');
    expect(result.stdout).toContain('retried 3, skipped 1, failed 1');
    expect(result.stdout).toMatch(/failed\s+onboarding-crm-4: something went wrong on our side/);
    expect(result.stdout).toMatch(/skipped\s+onboarding-crm-6: failure reason does not contain "rejected"/);
    expect(result.stdout).not.toContain('onboarding-crm-7');
    expect(result.stdout).not.toContain('onboarding-crm-10');
    // Not a terminal: one progress line per onboarding, no bar.
    expect(result.stderr.split('\n').filter((line) => /^retry \d\/4: /.test(line))).toHaveLength(4);
    expect(result.stderr).not.toContain('\r');
  });

  it('a bulk dry run with --json prints a summary object and retries nothing', async () => {
    const result = await cli(['--json', 'retry', '--failed-since', new Date(Date.now() - 24 * HOUR).toISOString(), '--reason-contains', 'REJECTED', '--dry-run']);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as { found: number; matched: number; wouldRetry: string[]; retried: unknown[] };
    expect(summary).toMatchObject({ found: 5, matched: 4, wouldRetry: ['onboarding-crm-3', 'onboarding-crm-4', 'onboarding-crm-5', 'onboarding-crm-9'], retried: [] });
    expect(requests.filter((r) => r.method === 'POST')).toEqual([]);
    expect(result.stderr).toBe('');
  });

  it('on a terminal a bulk retry draws a progress bar on stderr', async () => {
    const result = await cli(['retry', '--failed-since', '24h'], { stderrIsTTY: true });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('\r');
    expect(result.stderr).toMatch(/retrying \[█+░*\] 5\/5/);
    expect(result.stdout).toContain('retried 4, skipped 0, failed 1');
  });

  it('dns-check and cancel post to the onboarding and a finished one is refused with exit 4', async () => {
    expect((await cli(['dns-check', 'onboarding-crm-1'])).code).toBe(0);
    const cancelled = await cli(['cancel', 'onboarding-crm-1', '--reason', 'the client withdrew']);
    expect(cancelled.stdout).toContain('onboarding-crm-1 is cancelling');
    expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /v1/onboardings/onboarding-crm-1/dns-check',
      'POST /v1/onboardings/onboarding-crm-1/cancel',
    ]);
    expect(requests[1]!.body).toEqual({ reason: 'the client withdrew' });
    expect(requests[1]!.headers['x-ops-actor']).toMatch(/ via cli$/);
    const refused = await cli(['dns-check', 'onboarding-crm-2']);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('error: onboarding onboarding-crm-2 is completed');
  });

  it('secret prints only the key on stdout, warns that the read is audited, and says who is reading', async () => {
    const result = await cli(['secret', 'onboarding-crm-1']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('wp_live_key_for_crm_1\n');
    expect(result.stderr).toContain('audited');
    expect(requests[0]!.path).toBe('/v1/onboardings/onboarding-crm-1/secrets/wordpress-api-key');
    expect(requests[0]!.headers['x-ops-actor']).toMatch(/^[^@\s]+@\S+ via cli$/);

    const none = await cli(['secret', 'onboarding-crm-3']);
    expect(none.code).toBe(3);
    expect(none.stdout).toBe('');
  });

  it('secret takes the name of the secret, and refuses a name no platform declares without calling the API', async () => {
    const token = await cli(['secret', 'onboarding-crm-1', 'netlify-access-token']);
    expect(token.code).toBe(0);
    expect(token.stdout).toBe('nf_user_token_for_crm_1\n');
    expect(token.stderr).toContain('audited');
    expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/onboardings/onboarding-crm-1/secrets/netlify-access-token']);

    const wordpress = await cli(['secret', 'onboarding-crm-1', 'wordpress-api-key', '--json']);
    expect(JSON.parse(wordpress.stdout)).toEqual({ value: 'wp_live_key_for_crm_1' });

    requests.length = 0;
    const unknown = await cli(['secret', 'onboarding-crm-1', 'ftp-password']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('wordpress-api-key');
    expect(requests).toEqual([]);
  });

  it('secret set reads the value from stdin, stores it with PUT, and never prints it', async () => {
    const result = await cli(['secret', 'set', 'onboarding-crm-1', 'wordpress-api-key'], { stdin: Readable.from(['wp_regenerated_key_42\n']) });
    expect(result.code).toBe(0);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ method: 'PUT', path: '/v1/onboardings/onboarding-crm-1/secrets/wordpress-api-key', body: { value: 'wp_regenerated_key_42' } });
    expect(requests[0]!.headers['x-ops-actor']).toMatch(/^[^@\s]+@\S+ via cli$/);
    expect(result.stdout).toContain('Stored the WordPress key of onboarding-crm-1 (replaced)');
    expect(result.stdout).toContain('onboarding retry onboarding-crm-1');
    expect(result.stdout + result.stderr).not.toContain('wp_regenerated_key_42');

    const created = await cli(['--json', 'secret', 'set', 'onboarding-crm-3', 'netlify-access-token'], { stdin: Readable.from([Buffer.from('nf_new_token_0001')]) });
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toEqual({ onboardingId: 'onboarding-crm-3', secret: 'netlify-access-token', outcome: 'created' });
    expect((await cli(['secret', 'onboarding-crm-3', 'netlify-access-token'])).stdout).toBe('nf_new_token_0001\n');
  });

  it('secret set never takes the value from the command line, and sends nothing when stdin is empty', async () => {
    const inArgv = await cli(['secret', 'set', 'onboarding-crm-1', 'wordpress-api-key', 'wp_key_on_the_command_line'], { stdin: Readable.from(['ignored\n']) });
    expect(inArgv.code).toBe(2);
    const empty = await cli(['secret', 'set', 'onboarding-crm-1', 'wordpress-api-key'], { stdin: Readable.from(['\n']) });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('no WordPress key given');
    const unknownName = await cli(['secret', 'set', 'onboarding-crm-1', 'ftp-password'], { stdin: Readable.from(['value-1234\n']) });
    expect(unknownName.code).toBe(2);
    expect(requests).toEqual([]);

    const nobody = await cli(['secret', 'set', 'onboarding-nobody', 'wordpress-api-key'], { stdin: Readable.from(['wp_key_for_nobody\n']) });
    expect(nobody.code).toBe(3);
    expect(nobody.stderr).toContain('onboarding list');
  });

  it('secret set on a terminal asks at a prompt on stderr without echoing what is typed', async () => {
    const terminal = new FakeTerminal(['nf_tokeX', '\u007f', 'n_typed', '\r']);
    const result = await cli(['secret', 'set', 'onboarding-crm-1', 'netlify-access-token'], { stdin: terminal });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('Netlify access token for onboarding-crm-1 (typing is not shown): ');
    expect(terminal.rawModes).toEqual([true, false]);
    expect(requests[0]).toMatchObject({ method: 'PUT', body: { value: 'nf_token_typed' } });
    expect(result.stdout + result.stderr).not.toMatch(/nf_toke/);

    requests.length = 0;
    const cancelled = await cli(['secret', 'set', 'onboarding-crm-1', 'netlify-access-token'], { stdin: new FakeTerminal(['nf_', '\u0003']) });
    expect(cancelled.code).toBe(2);
    expect(cancelled.stderr).toContain('nothing was stored');
    expect(requests).toEqual([]);
  });

  it('sites shows every site with its onboarding or ORPHAN, then both kinds of orphan', async () => {
    const result = await cli(['sites']);
    expect(result.code).toBe(0);
    expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/reseller/sites']);
    const [header, first, second] = result.stdout.split('\n');
    expect(header).toMatch(/^SITE\s+DOMAIN\s+ONBOARDING\s+SSL$/);
    expect(first).toMatch(/^crm-1-example-com\s+www\.crm-1\.example\.com\s+onboarding-crm-1\s+https \(forced\)$/);
    expect(second).toMatch(/^old-client-com\s+old-client\.com\s+ORPHAN\s+none$/);
    expect(second!.indexOf('ORPHAN')).toBe(header!.indexOf('ONBOARDING'));
    expect(result.stdout).toMatch(/Sites without an onboarding \(1\)\n\s+SITE\s+DOMAIN\s+URL\n\s+old-client-com\s+old-client\.com\s+http:\/\/old-client\.com/);
    expect(result.stdout).toMatch(/Onboardings whose site is gone \(1\)\n.*\n\s+onboarding-crm-2\s+crm-2\.example\.com\s+completed\s+crm-2-example-com \(site-2\)/);
    // A slow listing says so on stderr; stdout stays the result.
    expect(result.stderr).toContain('listing every site of the reseller account');

    const json = await cli(['sites', '--json']);
    expect(JSON.parse(json.stdout)).toEqual(RESELLER_SITES);
    expect(json.stderr).toBe('');
  });

  it('sites exits 5 with a hint about the API\'s Netlify settings when Netlify is not configured', async () => {
    reseller.netlifyConfigured = false;
    const result = await cli(['sites']);
    expect(result.code).toBe(5);
    expect(result.stderr).toContain('error: Netlify is not configured on this engine');
    expect(result.stderr).toMatch(/hint: set NETLIFY_RESELLER_TOKEN .* in the environment of the API/);
    expect(result.stdout).toBe('');
  });

  it('submissions asks for the window given (24 hours unless told) and shows each with its client', async () => {
    const before = Date.now();
    const result = await cli(['submissions', '--since', '2h']);
    expect(result.code).toBe(0);
    const since = Date.parse(requests[0]!.query.get('since')!);
    expect(Math.abs(since - (before - 2 * HOUR))).toBeLessThan(60_000);
    const [header, first, second] = result.stdout.split('\n');
    expect(header).toMatch(/^RECEIVED\s+SITE\s+ONBOARDING\s+CLIENT\s+FORM\s+FROM$/);
    expect(first).toMatch(/www\.crm-1\.example\.com\s+onboarding-crm-1\s+crm-1\s+contact\s+Vera Visitor <visitor@mail\.test>$/);
    expect(second).toMatch(/old-client\.com\s+no onboarding\s+-\s+-\s+-$/);
    expect(result.stdout).toContain('2 submissions since');

    requests.length = 0;
    await cli(['submissions', '--json']);
    expect(Math.abs(Date.parse(requests[0]!.query.get('since')!) - (Date.now() - 24 * HOUR))).toBeLessThan(60_000);

    requests.length = 0;
    const bad = await cli(['submissions', '--since', 'last tuesday']);
    expect(bad.code).toBe(2);
    expect(requests).toEqual([]);
  });

  it('audit shows the vault\'s audit trail as a table, and the API\'s JSON with --json', async () => {
    const before = Date.now();
    const result = await cli(['audit', '--onboarding', 'onboarding-crm-1', '--since', '24h', '--limit', '50']);
    expect(result.code).toBe(0);
    expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/audit']);
    expect(requests[0]!.query.get('onboardingId')).toBe('onboarding-crm-1');
    expect(requests[0]!.query.get('limit')).toBe('50');
    expect(Math.abs(Date.parse(requests[0]!.query.get('since')!) - (before - 24 * HOUR))).toBeLessThan(60_000);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^AT\s+ONBOARDING\s+SECRET\s+ACTION\s+OUTCOME\s+ACTOR\s+PURPOSE$/);
    expect(lines[1]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\s+onboarding-crm-1\s+wordpress-api-key\s+write\s+created\s+engine\s+registration$/);
    expect(lines[2]).toMatch(/onboarding-crm-1\s+wordpress-api-key\s+read\s+revealed\s+ops-api token holder \(ana@laptop via cli\) from 127\.0\.0\.1\s+ops endpoint$/);
    expect(result.stdout).not.toMatch(ANSI);

    requests.length = 0;
    const all = await cli(['audit']);
    expect(all.code).toBe(0);
    expect(requests[0]!.query.get('limit')).toBe('100');
    expect(requests[0]!.query.has('since')).toBe(false);
    expect(requests[0]!.query.has('onboardingId')).toBe(false);
    expect(all.stdout).toMatch(/onboarding-crm-3\s+netlify-access-token\s+read\s+not-found\s+engine\s+-$/m);

    const json = await cli(['audit', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ items: AUDIT_ENTRIES });

    const none = await cli(['audit', '--onboarding', 'onboarding-crm-2']);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('No audit entries for onboarding-crm-2.\n');
  });

  it('audit exits 3 with a hint when the API keeps no audit trail (file vault), 2 for a bad --since or --limit', async () => {
    audit.available = false;
    const unavailable = await cli(['audit']);
    expect(unavailable.code).toBe(3);
    expect(unavailable.stderr).toContain('error: this engine keeps its secrets in the file vault');
    expect(unavailable.stderr).toMatch(/hint: run the API with DATABASE_URL set/);
    expect(unavailable.stdout).toBe('');

    requests.length = 0;
    for (const args of [
      ['audit', '--since', 'last tuesday'],
      ['audit', '--limit', '0'],
      ['audit', '--limit', '1001'],
    ]) {
      const result = await cli(args);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
    }
    expect(requests).toEqual([]);
  });

  it('reseller check prints a checklist with what to fix and exits 1 when anything fails, 0 when all pass', async () => {
    const failing = await cli(['reseller', 'check']);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toContain('✓ preview domain wildcard CNAME: *.sites.agency.example is a CNAME to agency.r.netlify.com');
    expect(failing.stdout).toContain('✗ SPF of mail.agency.example: mail.agency.example has no SPF record\n    fix: add a TXT record at mail.agency.example');
    expect(failing.stdout).toContain('1 of 3 checks failed');
    expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/reseller/check']);

    const json = await cli(['reseller', 'check', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, items: CHECK_ITEMS });

    reseller.checkPasses = true;
    const passing = await cli(['reseller', 'check']);
    expect(passing.code).toBe(0);
    expect(passing.stdout).not.toContain('✗');
    expect(passing.stdout).toContain('All 3 checks pass.');
  });

  it('a mistyped command, option or time exits 2 without calling the API', async () => {
    for (const args of [
      ['frobnicate'],
      [],
      ['list', '--status', 'sleeping'],
      ['list', '--limit', '0'],
      ['retry'],
      ['retry', '--failed-since', 'yesterday'],
      ['retry', 'onboarding-crm-3', '--dry-run'],
      ['retry', 'onboarding-crm-3', '--failed-since', '24h'],
      ['retry', '--failed-since', '24h', '--email', 'a@b.test'],
      ['retry', '--failed-since', '24h', '--resume-cancelled'],
      ['list', '--kind', 'everything'],
      ['show'],
      ['list', '--api-url', 'not a url'],
    ]) {
      const result = await cli(args);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toMatch(/error|Usage/);
    }
    expect(requests).toEqual([]);
  });

  it('the installed command runs: bin/onboarding.mjs --help exits 0 and lists every command', async () => {
    const { stdout } = await promisify(execFile)(path.join(ROOT, 'bin', 'onboarding.mjs'), ['--help'], { cwd: ROOT, timeout: 30_000 });
    for (const command of ['list', 'show <id>', 'retry', 'dns-check <id>', 'cancel [options] <id>', 'secret <id>', 'secret <id> [name]', 'sites', 'submissions', 'audit', 'reseller']) expect(stdout).toContain(command);
    expect(stdout).toContain('Exit codes:');
  });
});
