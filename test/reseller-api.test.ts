import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { createApp } from '../api/app.js';
import { loadConfig, type Config } from '../config/index.js';
import { createLogger } from '../config/logger.js';
import type { PlatformName } from '../platforms/catalog.js';
import { NetlifyClient } from '../platforms/netlify/client.js';
import type { NetlifySiteRef } from '../platforms/netlify/platform.js';
import { startDnsServer, type RunningDnsServer } from '../simulator/dns-server.js';
import { FileVault } from '../vault/index.js';
import { ONBOARDING_WORKFLOW_TYPE, STEP_ORDER, type ClientDetails, type OnboardingStatus } from '../workflows/definitions.js';
import type { onboardClient } from '../workflows/onboarding.js';
import { CrmClientId, NeedsAttention, OnboardingDomain, OnboardingStatus as OnboardingStatusKey } from '../workflows/search-attributes.js';
import { TEST_DATA_CONVERTER } from './support.js';

const OPS_TOKEN = 'reseller-test-ops-token-0123456789';
const NETLIFY_TOKEN = 'nfr_reseller_api_test_token_0123456789';
const WRONG_NETLIFY_TOKEN = 'nfr_not_the_reseller_token_9876543210';
const GOOD_PAGES = fileURLToPath(new URL('./fixtures/reseller-pages/good/', import.meta.url));
const BAD_PAGES = fileURLToPath(new URL('./fixtures/reseller-pages/bad/', import.meta.url));
const DKIM_KEY = 'v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCrLHiExVd55zd/IQ/J/mRwSRMAocV/hMB3jXwaHH36d9NaVynQFYV8NaWi';
const MINUTE = 60_000;

// --- A small stand-in for Netlify's reseller-wide listings: GET /sites and GET /submissions, two items a page -------

interface FakeNetlify {
  apiUrl: string;
  sites: Record<string, unknown>[];
  submissions: Record<string, unknown>[];
  requests: { path: string; query: URLSearchParams }[];
  close(): Promise<void>;
}

const NETLIFY_PAGE = 2;

async function startFakeNetlify(): Promise<FakeNetlify> {
  const fake = { sites: [] as Record<string, unknown>[], submissions: [] as Record<string, unknown>[], requests: [] as FakeNetlify['requests'] };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://netlify.test');
    fake.requests.push({ path: url.pathname, query: url.searchParams });
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    if (req.headers.authorization !== `Bearer ${NETLIFY_TOKEN}`) {
      // Echoes what it was given, as some servers do: the engine must not pass that on.
      return send(401, { code: 401, message: `Access Denied: ${String(req.headers.authorization)} is not a reseller token` });
    }
    const items = url.pathname === '/api/v1/sites' ? fake.sites : url.pathname === '/api/v1/submissions' ? fake.submissions : undefined;
    if (!items) return send(404, { code: 404, message: 'Not Found' });
    const page = Number(url.searchParams.get('page') ?? '1');
    const slice = items.slice((page - 1) * NETLIFY_PAGE, page * NETLIFY_PAGE);
    const next = new URL(url);
    next.searchParams.set('page', String(page + 1));
    const link: Record<string, string> = page * NETLIFY_PAGE < items.length ? { link: `<http://${req.headers.host}${next.pathname}${next.search}>; rel="next"` } : {};
    send(200, slice, link);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    ...fake,
    apiUrl: `http://127.0.0.1:${port}/api/v1`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function netlifySite(id: string, name: string, customDomain: string | null, extra: Record<string, unknown> = {}) {
  return {
    id,
    name,
    url: `https://${customDomain ?? `${name}.netlify.app`}`,
    ssl_url: `https://${customDomain ?? `${name}.netlify.app`}`,
    admin_url: `https://app.netlify.com/sites/${name}`,
    custom_domain: customDomain,
    domain_aliases: [],
    ssl: true,
    force_ssl: true,
    state: 'current',
    ...extra,
  };
}

// --- Onboardings on the real Temporal dev server, in a namespace of this file's own --------------------------------

const namespace = `reseller-api-test-${Math.random().toString(36).slice(2, 8)}`;
const taskQueue = `reseller-api-test-${Math.random().toString(36).slice(2, 8)}`;
const run = Math.random().toString(36).slice(2, 7);

let connection: Connection;
let client: Client;
let nativeConnection: NativeConnection;
let worker: Worker;
let workerRun: Promise<void>;
let netlify: FakeNetlify;
let dns: RunningDnsServer;
let dataDir: string;
const logLines: string[] = [];

interface Planned {
  key: string;
  services: PlatformName[];
  site: NetlifySiteRef | null;
  /** completed: every step done; running: waiting for DNS (no activity worker runs, so it keeps waiting); cancelled: running, then cancelled. */
  ends: 'completed' | 'running' | 'cancelled';
}

function clientFor(key: string): ClientDetails {
  return { clientId: `crm-${run}-${key}`, email: `owner@${key}-${run}.example`, name: `Client ${key}`, domain: `${key}-${run}.example` };
}

function siteRef(id: string, key: string): NetlifySiteRef {
  const domain = `www.${key}-${run}.example`;
  return { id, name: `${key}-${run}-example`, customDomain: domain, url: `http://${key}-${run}-example.netlify.app`, sslUrl: `https://${domain}`, adminUrl: null, adopted: false };
}

/** What an onboarding run carries from an earlier one: with every step done it completes at once, without any activity. */
function carriedStatus(onboardingId: string, details: ClientDetails, plan: Planned): OnboardingStatus {
  const at = new Date().toISOString();
  const waiting = plan.ends !== 'completed';
  const doneBeforeDns = new Set(['netlify-account', 'register', 'secure-wordpress-key', 'netlify-site']);
  return {
    onboardingId,
    clientId: details.clientId,
    domain: details.domain,
    client: details,
    settings: { dnsPollInitialMs: 3_600_000, dnsPollMaxMs: 3_600_000, dnsDeadlineMs: 86_400_000, stallAlertMs: 86_400_000 },
    changes: [],
    services: plan.services,
    status: waiting ? 'awaiting-dns' : 'completed',
    needsAttention: null,
    failure: null,
    steps: STEP_ORDER.map((name) =>
      !waiting || doneBeforeDns.has(name) ? { name, state: 'done', startedAt: at, finishedAt: at, detail: null } : { name, state: 'pending', startedAt: null, finishedAt: null, detail: null },
    ),
    registration: plan.services.includes('nextnet')
      ? { domainId: '4711', host: details.domain, clientUserId: 'u-1', wordpressKey: 'stored', keyReference: `vault:${onboardingId}/wordpress-api-key`, foundExisting: false }
      : null,
    netlify: plan.services.includes('netlify')
      ? { userId: 'nu-1', tokenReference: `vault:${onboardingId}/netlify-access-token`, site: plan.site, tls: waiting ? null : { state: 'issued', requestedAt: at, issuedAt: at, detail: null } }
      : null,
    dns: { verificationStatus: waiting ? null : 'verified', checks: waiting ? 0 : 1, waitingSince: null, lastCheckedAt: null, nextCheckAt: null, deadlineAt: null, verifiedAt: waiting ? null : at, nextIntervalMs: null },
    signupEmail: waiting ? null : { sentAt: at, messageId: '<m-1@agency.test>' },
    startedAt: at,
    updatedAt: at,
    runs: 1,
  };
}

async function startOnboarding(plan: Planned): Promise<WorkflowHandle<typeof onboardClient>> {
  const details = clientFor(plan.key);
  const onboardingId = `onboarding-${details.clientId}`;
  const carried = carriedStatus(onboardingId, details, plan);
  const handle = await client.workflow.start<typeof onboardClient>(ONBOARDING_WORKFLOW_TYPE, {
    workflowId: onboardingId,
    taskQueue,
    args: [{ onboardingId, client: details, settings: carried.settings, receivedAt: carried.startedAt, services: plan.services, carried }],
    typedSearchAttributes: [
      { key: CrmClientId, value: details.clientId },
      { key: OnboardingDomain, value: details.domain },
      { key: OnboardingStatusKey, value: 'registering' },
      { key: NeedsAttention, value: false },
    ],
  });
  if (plan.ends === 'completed') await handle.result();
  if (plan.ends === 'cancelled') {
    await eventually(async () => (await handle.query('getStatus').catch(() => null)) !== null, 'the onboarding to answer getStatus');
    await handle.cancel();
    await handle.result().catch(() => undefined);
  }
  return handle;
}

async function eventually<T>(check: () => Promise<T | false | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const PLANS: Planned[] = [
  // Its site is listed, under www.
  { key: 'listed', services: ['netlify'], site: siteRef('site-listed', 'listed'), ends: 'completed' },
  // NextNet alone; a site of the account carries its domain as an alias.
  { key: 'aliased', services: ['nextnet'], site: null, ends: 'completed' },
  // Made a site that Netlify no longer lists: completed, and still running.
  { key: 'lost-done', services: ['netlify', 'nextnet'], site: siteRef('site-lost-done', 'lost-done'), ends: 'completed' },
  { key: 'lost-running', services: ['netlify'], site: siteRef('site-lost-running', 'lost-running'), ends: 'running' },
  // Not orphans: NextNet only; Netlify but no site made; cancelled.
  { key: 'nextnet-only', services: ['nextnet'], site: null, ends: 'completed' },
  { key: 'no-site-yet', services: ['netlify'], site: null, ends: 'completed' },
  { key: 'cancelled', services: ['netlify'], site: siteRef('site-cancelled', 'cancelled'), ends: 'cancelled' },
];
const idOf = (key: string) => `onboarding-crm-${run}-${key}`;
const domainOf = (key: string) => `${key}-${run}.example`;

beforeAll(async () => {
  const address = inject('temporalAddress');
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  connection = await Connection.connect({ address });
  // A namespace of its own: the sites listing reads every onboarding there is, and other test files start theirs too.
  await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
  // Temporal's IndexedValueType: 2 keyword, 5 bool.
  await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: { CrmClientId: 2, OnboardingDomain: 2, OnboardingStatus: 2, NeedsAttention: 5 } });
  client = new Client({ connection, namespace, dataConverter: TEST_DATA_CONVERTER });
  nativeConnection = await NativeConnection.connect({ address });
  // Workflows only: the onboardings here are past their activities, or wait for ones nobody runs.
  worker = await Worker.create({ connection: nativeConnection, namespace, taskQueue, workflowBundle: { codePath: inject('workflowBundlePath') }, activities: {}, dataConverter: TEST_DATA_CONVERTER });
  workerRun = worker.run();

  netlify = await startFakeNetlify();
  dns = await startDnsServer({
    records: {
      recordsFor: (name: string) => {
        if (name.endsWith('.sites.agency.example')) return [{ type: 'CNAME', value: 'agency.r.netlify.com' }];
        if (name === 'mail.agency.example') return [{ type: 'TXT', value: 'v=spf1 include:spf.mandrillapp.com ~all' }];
        if (name === 'mandrill._domainkey.mail.agency.example') return [{ type: 'TXT', value: DKIM_KEY }];
        return undefined;
      },
    },
  });
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'reseller-api-test-'));

  await Promise.all(PLANS.map(startOnboarding));
  // Visibility catches up with the workflows' own state a moment later.
  const count = async (query: string) =>
    (await connection.workflowService.listWorkflowExecutions({ namespace, query: `WorkflowType = '${ONBOARDING_WORKFLOW_TYPE}' AND ${query}` })).executions.length;
  await eventually(
    async () =>
      (await count(`ExecutionStatus = 'Completed' AND OnboardingStatus = 'completed'`)) === PLANS.filter((plan) => plan.ends === 'completed').length &&
      (await count(`ExecutionStatus = 'Running' AND OnboardingStatus = 'awaiting-dns'`)) === PLANS.filter((plan) => plan.ends === 'running').length &&
      (await count(`ExecutionStatus = 'Canceled'`)) === PLANS.filter((plan) => plan.ends === 'cancelled').length,
    'visibility to show every onboarding as it ended',
  );

  netlify.sites.push(
    netlifySite('site-listed', `listed-${run}-example`, `www.${domainOf('listed')}`),
    netlifySite('site-aliased', `brand-${run}`, `brand-${run}.example`, { domain_aliases: [`www.${domainOf('aliased')}`, domainOf('aliased')] }),
    netlifySite('site-stray', `stray-${run}`, `stray-${run}.example`, { ssl: false, force_ssl: false }),
    netlifySite('site-preview', `preview-${run}`, null),
  );
  const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
  netlify.submissions.push(
    { id: 'sub-1', number: 3, email: 'visitor@mail.test', name: 'Vera Visitor', data: { message: 'Do you fix boilers?' }, created_at: ago(10 * MINUTE), site_url: `https://www.${domainOf('listed')}`, form_name: 'contact' },
    { id: 'sub-2', number: 2, email: null, name: 'Ann', data: { message: 'Quote please' }, created_at: ago(20 * MINUTE), site_url: `https://${domainOf('aliased')}` },
    { id: 'sub-3', number: 1, email: 'x@mail.test', name: null, data: {}, created_at: ago(30 * MINUTE), site_url: `https://stray-${run}.example` },
    { id: 'sub-4', number: 9, email: 'old@mail.test', name: 'Old', data: {}, created_at: ago(3 * 60 * MINUTE), site_url: `https://www.${domainOf('listed')}` },
  );
}, 120_000);

afterAll(async () => {
  worker?.shutdown();
  await workerRun;
  await nativeConnection?.close();
  await connection?.close();
  await netlify?.close();
  await dns?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  netlify.requests.length = 0;
});

// --- The API under test: the real app, with /v1/reseller mounted as in production ----------------------------------

interface Served {
  url: string;
  get(path: string, token?: string | null): Promise<Response>;
  close(): Promise<void>;
}

async function serve(options: { netlify?: NetlifyClient; settings?: Partial<Config['netlify']>; dnsResolvers?: string[] } = {}): Promise<Served> {
  const base = loadConfig({});
  const stream = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  const logger = createLogger({ level: 'debug' }, stream);
  const app = createApp({
    config: {
      ...base,
      opsApiToken: OPS_TOKEN,
      temporal: { ...base.temporal, namespace, taskQueue },
      netlify: { ...base.netlify, apiUrl: netlify.apiUrl, resellerToken: NETLIFY_TOKEN, pagesDir: BAD_PAGES, previewDomain: undefined, resellerName: undefined, notificationDomain: undefined, ...options.settings },
      dnsResolvers: options.dnsResolvers ?? [dns.address],
    },
    temporal: client,
    vault: new FileVault(path.join(dataDir, 'vault'), Buffer.alloc(32, 3), logger),
    logger,
    netlify: options.netlify,
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    get: (urlPath, token = OPS_TOKEN) => fetch(`${url}${urlPath}`, { headers: token ? { authorization: `Bearer ${token}` } : {} }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const resellerClient = (token = NETLIFY_TOKEN, apiUrl = netlify.apiUrl) => new NetlifyClient({ baseUrl: apiUrl, resellerToken: token, timeoutMs: 2_000, userAgent: 'client-onboarding-engine tests (ops@agency.test)' });

interface SitesBody {
  sites: { id: string; name: string | null; customDomain: string | null; domain: string | null; ssl: boolean; onboarding: { onboardingId: string; clientId: string | null; domain: string | null; workflowStatus: string } | null }[];
  orphans: {
    sitesWithoutOnboarding: { id: string; name: string | null; customDomain: string | null }[];
    onboardingsWithoutSite: { onboardingId: string; domain: string | null; workflowStatus: string; site: { id: string; name: string; customDomain: string } }[];
    unchecked: { onboardingId: string; reason: string }[];
  };
}

describe('GET /v1/reseller/sites', () => {
  it('lists every site of the reseller account with the onboarding its domain or an alias belongs to, and the orphans on both sides', async () => {
    const api = await serve({ netlify: resellerClient() });
    const getHandle = vi.spyOn(client.workflow, 'getHandle');
    const listExecutions = vi.spyOn(client.workflowService, 'listWorkflowExecutions');
    try {
      const response = await api.get('/v1/reseller/sites');
      expect(response.status).toBe(200);
      const body = (await response.json()) as SitesBody;

      // Every page of Netlify's listing (two sites a page), with the reseller token.
      expect(netlify.requests.filter((r) => r.path === '/api/v1/sites').map((r) => r.query.get('page'))).toEqual(['1', '2']);
      expect(body.sites.map((site) => site.id)).toEqual(['site-listed', 'site-aliased', 'site-stray', 'site-preview']);
      const onboardingOf = (id: string) => body.sites.find((site) => site.id === id)?.onboarding;
      expect(onboardingOf('site-listed')).toEqual({ onboardingId: idOf('listed'), clientId: `crm-${run}-listed`, domain: domainOf('listed'), status: 'completed', workflowStatus: 'COMPLETED' });
      expect(body.sites.find((site) => site.id === 'site-listed')?.domain).toBe(domainOf('listed'));
      expect(onboardingOf('site-aliased')).toMatchObject({ onboardingId: idOf('aliased'), domain: domainOf('aliased') });
      expect(onboardingOf('site-stray')).toBeNull();
      expect(onboardingOf('site-preview')).toBeNull();

      expect(body.orphans.sitesWithoutOnboarding.map((site) => site.id)).toEqual(['site-stray', 'site-preview']);
      expect(body.orphans.onboardingsWithoutSite).toEqual([
        { onboardingId: idOf('lost-done'), clientId: `crm-${run}-lost-done`, domain: domainOf('lost-done'), status: 'completed', workflowStatus: 'COMPLETED', site: { id: 'site-lost-done', name: `lost-done-${run}-example`, customDomain: `www.${domainOf('lost-done')}` } },
        { onboardingId: idOf('lost-running'), clientId: `crm-${run}-lost-running`, domain: domainOf('lost-running'), status: 'awaiting-dns', workflowStatus: 'RUNNING', site: { id: 'site-lost-running', name: `lost-running-${run}-example`, customDomain: `www.${domainOf('lost-running')}` } },
      ]);
      expect(body.orphans.unchecked).toEqual([]);

      // Bounded: one visibility listing, and a status query only for running or completed onboardings whose domain has no site.
      expect(listExecutions).toHaveBeenCalledTimes(1);
      expect(getHandle.mock.calls.map(([id]) => id).sort()).toEqual([idOf('lost-done'), idOf('lost-running'), idOf('nextnet-only'), idOf('no-site-yet')].sort());
    } finally {
      getHandle.mockRestore();
      listExecutions.mockRestore();
      await api.close();
    }
  });

  it('does not call a site lost while Netlify still lists it, under another domain', async () => {
    const api = await serve({ netlify: resellerClient() });
    // The site of lost-done is back, renamed to a domain no onboarding has.
    netlify.sites.push(netlifySite('site-lost-done', `lost-done-${run}-example`, `renamed-${run}.example`));
    try {
      const body = (await (await api.get('/v1/reseller/sites')).json()) as SitesBody;
      expect(body.orphans.onboardingsWithoutSite.map((o) => o.onboardingId)).toEqual([idOf('lost-running')]);
    } finally {
      netlify.sites.pop();
      await api.close();
    }
  });

  it('lists an onboarding whose status no worker answers as unchecked instead of failing the listing', async () => {
    const details = clientFor('no-worker');
    const onboardingId = `onboarding-${details.clientId}`;
    const plan: Planned = { key: 'no-worker', services: ['netlify'], site: siteRef('site-no-worker', 'no-worker'), ends: 'running' };
    const carried = carriedStatus(onboardingId, details, plan);
    // A task queue no worker polls: the onboarding runs, but nothing answers its queries.
    const handle = await client.workflow.start<typeof onboardClient>(ONBOARDING_WORKFLOW_TYPE, {
      workflowId: onboardingId,
      taskQueue: `${taskQueue}-unpolled`,
      args: [{ onboardingId, client: details, settings: carried.settings, receivedAt: carried.startedAt, services: plan.services, carried }],
      typedSearchAttributes: [
        { key: CrmClientId, value: details.clientId },
        { key: OnboardingDomain, value: details.domain },
      ],
    });
    const api = await serve({ netlify: resellerClient() });
    try {
      await eventually(async () => (await connection.workflowService.listWorkflowExecutions({ namespace, query: `WorkflowId = '${onboardingId}'` })).executions.length === 1, 'visibility');
      const response = await api.get('/v1/reseller/sites');
      expect(response.status).toBe(200);
      const body = (await response.json()) as SitesBody;
      expect(body.orphans.unchecked).toEqual([{ onboardingId, domain: details.domain, reason: expect.stringMatching(/getStatus/) }]);
      expect(body.orphans.onboardingsWithoutSite.map((o) => o.onboardingId)).toEqual([idOf('lost-done'), idOf('lost-running')]);
    } finally {
      await handle.terminate('test over');
      await api.close();
    }
  });

  it('needs the ops token', async () => {
    const api = await serve({ netlify: resellerClient() });
    try {
      expect((await api.get('/v1/reseller/sites', null)).status).toBe(401);
      expect((await api.get('/v1/reseller/sites', 'wrong-token-0000000000')).status).toBe(401);
      expect(netlify.requests).toEqual([]);
    } finally {
      await api.close();
    }
  });

  it('answers 503 naming NETLIFY_RESELLER_TOKEN and NETLIFY_API_URL when Netlify is not configured', async () => {
    const api = await serve({ netlify: undefined });
    try {
      const response = await api.get('/v1/reseller/sites');
      expect(response.status).toBe(503);
      const { error } = (await response.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe('netlify_not_configured');
      expect(error.message).toContain('NETLIFY_RESELLER_TOKEN');
      expect(error.message).toContain('NETLIFY_API_URL');
      expect((await api.get('/v1/reseller/submissions')).status).toBe(503);
    } finally {
      await api.close();
    }
  });

  it('answers 503 naming NETLIFY_RESELLER_TOKEN, never the token, when Netlify refuses it', async () => {
    const before = logLines.length;
    const api = await serve({ netlify: resellerClient(WRONG_NETLIFY_TOKEN), settings: { resellerToken: WRONG_NETLIFY_TOKEN } });
    try {
      const response = await api.get('/v1/reseller/sites');
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
      const text = await response.text();
      expect(JSON.parse(text)).toMatchObject({ error: { code: 'netlify_unavailable', message: expect.stringContaining('NETLIFY_RESELLER_TOKEN') } });
      expect(text).toContain('401');
      expect(text).not.toContain(WRONG_NETLIFY_TOKEN);
      expect(logLines.slice(before).join('')).not.toContain(WRONG_NETLIFY_TOKEN);
    } finally {
      await api.close();
    }
  });

  it('answers 503 naming NETLIFY_API_URL when Netlify cannot be reached', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const closedUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}/api/v1`;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const api = await serve({ netlify: resellerClient(NETLIFY_TOKEN, closedUrl), settings: { apiUrl: closedUrl } });
    try {
      const response = await api.get('/v1/reseller/sites');
      expect(response.status).toBe(503);
      const { error } = (await response.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe('netlify_unavailable');
      expect(error.message).toContain(`NETLIFY_API_URL (now ${closedUrl})`);
      expect(error.message).not.toContain(NETLIFY_TOKEN);
    } finally {
      await api.close();
    }
  });
});

interface SubmissionsBody {
  since: string;
  submissions: { id: string; host: string | null; formName: string | null; email: string | null; data: Record<string, unknown>; client: { onboardingId: string; clientId: string | null; domain: string } | null }[];
}

describe('GET /v1/reseller/submissions', () => {
  it('lists the submissions since a span back from now, each with the client of its site, and stops paging once past it', async () => {
    const api = await serve({ netlify: resellerClient() });
    try {
      const before = Date.now();
      const response = await api.get('/v1/reseller/submissions?since=1h');
      expect(response.status).toBe(200);
      const body = (await response.json()) as SubmissionsBody;
      expect(Math.abs(Date.parse(body.since) - (before - 60 * MINUTE))).toBeLessThan(MINUTE);
      expect(body.submissions.map((s) => s.id)).toEqual(['sub-1', 'sub-2', 'sub-3']);
      expect(body.submissions[0]).toMatchObject({
        host: `www.${domainOf('listed')}`,
        formName: 'contact',
        email: 'visitor@mail.test',
        data: { message: 'Do you fix boilers?' },
        client: { onboardingId: idOf('listed'), clientId: `crm-${run}-listed`, domain: domainOf('listed') },
      });
      expect(body.submissions[1]!.client).toEqual({ onboardingId: idOf('aliased'), clientId: `crm-${run}-aliased`, domain: domainOf('aliased') });
      expect(body.submissions[2]!.client).toBeNull();
      // The second page reached back past the hour: no third page was asked for.
      expect(netlify.requests.filter((r) => r.path === '/api/v1/submissions').map((r) => r.query.get('page'))).toEqual(['1', '2']);
    } finally {
      await api.close();
    }
  });

  it('takes an ISO date-time, defaults to the last 24 hours, and rejects anything else with 400', async () => {
    const api = await serve({ netlify: resellerClient() });
    try {
      const since = new Date(Date.now() - 25 * MINUTE).toISOString();
      const recent = (await (await api.get(`/v1/reseller/submissions?since=${encodeURIComponent(since)}`)).json()) as SubmissionsBody;
      expect(recent.since).toBe(since);
      expect(recent.submissions.map((s) => s.id)).toEqual(['sub-1', 'sub-2']);

      const day = (await (await api.get('/v1/reseller/submissions')).json()) as SubmissionsBody;
      expect(day.submissions.map((s) => s.id)).toEqual(['sub-1', 'sub-2', 'sub-3', 'sub-4']);
      expect(day.submissions[3]!.client?.onboardingId).toBe(idOf('listed'));

      netlify.requests.length = 0;
      const bad = await api.get('/v1/reseller/submissions?since=yesterday');
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ error: { code: 'invalid_query', fields: [{ field: 'since' }] } });
      expect(netlify.requests).toEqual([]);
    } finally {
      await api.close();
    }
  });
});

interface CheckBody {
  ok: boolean;
  items: { check: string; ok: boolean; detail: string; fix: string | null }[];
}

describe('GET /v1/reseller/check', () => {
  it('answers 200 with every check passing when the settings are right', async () => {
    const api = await serve({
      netlify: undefined,
      settings: { previewDomain: 'sites.agency.example', resellerName: 'agency', notificationDomain: 'mail.agency.example', pagesDir: GOOD_PAGES },
    });
    try {
      const response = await api.get('/v1/reseller/check');
      expect(response.status).toBe(200);
      const body = (await response.json()) as CheckBody;
      expect(body.ok).toBe(true);
      expect(body.items.map((item) => item.check)).toEqual([
        'preview domain wildcard CNAME',
        'SPF of mail.agency.example',
        'DKIM of mail.agency.example',
        'custom page 404.html',
        'custom page form-success.html',
        'custom page password.html',
      ]);
      expect(body.items.every((item) => item.ok && item.fix === null)).toBe(true);
    } finally {
      await api.close();
    }
  });

  it('answers 200 with ok false and what to fix for each failing check', async () => {
    const api = await serve({ netlify: resellerClient(), settings: { pagesDir: BAD_PAGES } });
    try {
      const response = await api.get('/v1/reseller/check');
      expect(response.status).toBe(200);
      const body = (await response.json()) as CheckBody;
      expect(body.ok).toBe(false);
      const failing = body.items.filter((item) => !item.ok);
      expect(failing.map((item) => item.check)).toEqual(expect.arrayContaining(['reseller name', 'preview domain wildcard CNAME', 'notification sender domain', 'custom page form-success.html']));
      for (const item of failing) expect(item.fix, item.check).toEqual(expect.any(String));
      expect(failing.find((item) => item.check === 'reseller name')?.fix).toContain('NETLIFY_RESELLER_NAME');
    } finally {
      await api.close();
    }
  });
});
