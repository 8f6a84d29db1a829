import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { Webhook } from 'standardwebhooks';
import type { Logger } from 'pino';
import { inject } from 'vitest';
import { eventually } from './eventually.js';
import { freePort } from './free-port.js';

export { eventually, freePort };
import { domainHoldersFrom } from '../activities/domain-holders.js';
import { crmClientsFrom } from '../crm/clients.js';
import { createActivities } from '../activities/index.js';
import { createApp } from '../api/app.js';
import { BUSINESS_HISTOGRAM_BUCKETS, createSiteCreationWorker } from '../worker/index.js';
import { createSmtpMailer, type Mailer } from '../activities/mailer.js';
import { NextNetClient } from '../platforms/nextnet/client.js';
import { NetlifyClient } from '../platforms/netlify/client.js';
import type { PlatformName } from '../platforms/catalog.js';
import { FileSentEmailLedger } from '../activities/sent-email-ledger.js';
import { DEV_DEFAULTS, DEV_GHL_WEBHOOK_PRIVATE_KEY, DEV_PAYLOAD_KEY, loadConfig, type Config } from '../config/index.js';
import { createLogger } from '../config/logger.js';
import { isEncrypted, payloadDataConverter } from '../config/payload-codec.js';
import { startMailDev, type RunningMailDev } from '../scripts/maildev.js';
import { startSimulator, type RunningSimulator } from '../simulator/app.js';
import { FileVault, type SecretVault } from '../vault/index.js';
import {
  getStatus,
  onboardingIdFor,
  ONBOARDING_WORKFLOW_TYPE,
  type ClientDetails,
  type OnboardingInput,
  type OnboardingSettings,
  type OnboardingStatus,
} from '../workflows/definitions.js';
import type { onboardClient } from '../workflows/onboarding.js';

let workerMetricsUrl: string | undefined;
/** The Temporal runtime of this test process, installed once: quiet logs, and Prometheus metrics on a free port. */
async function installTestRuntime(): Promise<string> {
  if (!workerMetricsUrl) {
    const address = `127.0.0.1:${await freePort()}`;
    // Worker chatter (and the activity failures tests provoke on purpose) would bury test output; errors still show.
    Runtime.install({
      logger: new DefaultLogger('ERROR'),
      telemetryOptions: { metrics: { prometheus: { bindAddress: address, useSecondsForDurations: true, histogramBucketOverrides: BUSINESS_HISTOGRAM_BUCKETS } } },
    });
    workerMetricsUrl = `http://${address}/metrics`;
  }
  return workerMetricsUrl;
}

export const TEST_RESELLER_KEY = 'sk_org_test_reseller_key_0123456789';
export const TEST_NETLIFY_TOKEN = 'nfr_test_reseller_token_0123456789';
export const TEST_LOAD_BALANCER_IP = '75.2.60.5';
export const TEST_EMAIL_FROM = 'Acme Agency <onboarding@agency.test>';
export const TEST_SIGNUP_URL = 'https://app.bediscovered.ai/auth/signup';

/**
 * The data converter of every test's Temporal clients and workers, as the engine's (config/payload-codec.ts): payloads
 * encrypted with the development key, which `npm run record-histories` uses too, so recorded histories replay.
 */
export const TEST_DATA_CONVERTER = payloadDataConverter({ payloadKeys: [DEV_PAYLOAD_KEY] });

/**
 * A workflow's history with every encrypted payload decrypted, for tests that read inputs, summaries or results in it
 * (`fetchHistory` gives it as Temporal stores it: encrypted).
 */
export async function decodedHistory(handle: Pick<WorkflowHandle, 'fetchHistory'>): Promise<temporal.api.history.v1.IHistory> {
  const history = await handle.fetchHistory();
  const codec = TEST_DATA_CONVERTER.payloadCodecs![0]!;
  const decodeIn = async (node: unknown): Promise<void> => {
    if (!node || typeof node !== 'object' || ArrayBuffer.isView(node)) return;
    for (const [key, value] of Object.entries(node)) {
      if (value && typeof value === 'object' && 'metadata' in value && isEncrypted(value as Payload)) {
        (node as Record<string, unknown>)[key] = (await codec.decode([value as Payload]))[0];
      } else {
        await decodeIn(value);
      }
    }
  };
  await decodeIn(history);
  return history;
}

/** Fast but realistic timings: polls every 200 ms doubling to 1 s, deadline far away unless a test says otherwise. */
export const FAST_SETTINGS: OnboardingSettings = { dnsPollInitialMs: 200, dnsPollMaxMs: 1_000, dnsDeadlineMs: 3_600_000 };


/** Collects every log line the code under test writes, so tests can look for leaked secrets. */
export function capturedLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger({ level: 'debug' }, stream), lines, entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

let clientCounter = 0;
export function uniqueClient(overrides: Partial<ClientDetails> = {}): ClientDetails {
  const n = `${Date.now().toString(36)}-${(clientCounter++).toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  return {
    clientId: `crm-${n}`,
    email: `owner-${n}@acme-plumbing.test`,
    name: 'Acme Plumbing',
    domain: `acme-${n}.example.com`,
    cms: 'wordpress',
    subscriptionTier: 'pro',
    industry: 'plumbing',
    businessScope: 'local',
    city: 'Tampa',
    state: 'Florida',
    ...overrides,
  };
}

/** The real activities, wired to a simulator (both platforms and its DNS server), a mailer, a vault and a data directory of the test's own. */
export function testActivities(options: { simulator: RunningSimulator; vault: SecretVault; mailer: Mailer; logger: Logger; dataDir: string; opsAlertTo?: string; emailReplyTo?: string; temporal?: Client }) {
  return createActivities({
    nextnet: new NextNetClient({ baseUrl: options.simulator.baseUrl, apiKey: TEST_RESELLER_KEY, timeoutMs: 2_000 }),
    netlify: {
      client: new NetlifyClient({ baseUrl: netlifyUrlOf(options.simulator), resellerToken: TEST_NETLIFY_TOKEN, timeoutMs: 2_000, userAgent: 'client-onboarding-engine tests (ops@agency.test)' }),
      loadBalancerIp: TEST_LOAD_BALANCER_IP,
      dnsResolvers: options.simulator.dns ? [options.simulator.dns.address] : [],
      paymentMethodId: 'pm_test_0001',
    },
    vault: options.vault,
    mailer: options.mailer,
    sentEmails: new FileSentEmailLedger(path.join(options.dataDir, 'sent-emails')),
    logger: options.logger,
    signupUrl: TEST_SIGNUP_URL,
    emailFrom: TEST_EMAIL_FROM,
    agencyName: 'Acme Agency',
    emailReplyTo: options.emailReplyTo,
    opsAlertTo: options.opsAlertTo,
    temporalUiUrl: 'http://127.0.0.1:8233',
    namespace: 'default',
    ...(options.temporal ? { domainHolders: domainHoldersFrom(options.temporal) } : {}),
    // Every CRM's API at the simulator, with the development tokens and field keys.
    crms: crmClientsFrom(
      loadConfig({
        HUBSPOT_API_URL: options.simulator.crmBaseUrls.hubspot,
        PIPEDRIVE_API_URL: options.simulator.crmBaseUrls.pipedrive,
        GHL_API_URL: options.simulator.crmBaseUrls.gohighlevel,
        PIPEDRIVE_WEBSITE_FIELD: DEV_DEFAULTS.PIPEDRIVE_WEBSITE_FIELD,
        PIPEDRIVE_DEAL_STATUS_FIELD: DEV_DEFAULTS.PIPEDRIVE_DEAL_STATUS_FIELD,
        GHL_STATUS_FIELD_ID: DEV_DEFAULTS.GHL_STATUS_FIELD_ID,
      }).crmApis,
    ),
  });
}

export interface TestStack {
  simulator: RunningSimulator;
  mail: RunningMailDev;
  vault: FileVault;
  logs: string[];
  client: Client;
  taskQueue: string;
  temporalAddress: string;
  /** The worker's Prometheus endpoint (SDK and business metrics). */
  metricsUrl: string;
  /** Starts an onboarding of the plan's platforms (default: NextNet alone, the shape before plans). */
  startOnboarding(client: ClientDetails, settings?: Partial<OnboardingSettings>, services?: PlatformName[]): Promise<WorkflowHandle<typeof onboardClient>>;
  /** The simulator's Netlify API base URL. */
  netlifyUrl: string;
  /** The worker's activities, for tests that run one directly (MockActivityEnvironment). */
  activities: ReturnType<typeof testActivities>;
  simulatorCall(method: string, path: string, body?: unknown): Promise<unknown>;
  /** Runs `fn` while the simulator verifies no domain by itself (tests verify by hand), then restores the delay. */
  whileDnsNeverVerifies(fn: () => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

/**
 * The real parts an onboarding touches, on random ports: the shared Temporal dev server, a worker on its own
 * task queue, the NextNet simulator over HTTP, MailDev over SMTP and a vault in a temp directory.
 */
export async function startTestStack(options: { dnsVerifyAfterMs?: number | null; siteCreatesPerMinute?: number } = {}): Promise<TestStack> {
  const metricsUrl = await installTestRuntime();
  const temporalAddress = inject('temporalAddress');
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'onboarding-stack-'));
  const { logger, lines } = capturedLogger();
  const simulator = await startSimulator({
    apiKeys: [TEST_RESELLER_KEY],
    netlifyResellerTokens: [TEST_NETLIFY_TOKEN],
    netlify: { loadBalancerIp: TEST_LOAD_BALANCER_IP, siteCreatesPerMinute: 1_000 },
    dnsVerifyAfterMs: options.dnsVerifyAfterMs ?? 300,
    dns: { port: 0 },
    // The CRMs sign their webhooks as npm start's do, so the development intake settings accept them.
    // Accounts of this stack's own: every test file shares one dev server, where onboarding ids are per account and record.
    crm: {
      webhookRetryDelaysMs: [200, 1_000],
      hubspot: { portalId: String(100_000 + Math.floor(Math.random() * 900_000)) },
      pipedrive: { companyId: String(100_000 + Math.floor(Math.random() * 900_000)) },
      gohighlevel: { webhookPrivateKey: DEV_GHL_WEBHOOK_PRIVATE_KEY, locationId: `TestLocation${Math.random().toString(36).slice(2, 10)}` },
    },
  });
  const mail = await startMailDev({ smtpPort: await freePort(), webPort: await freePort(), mailDirectory: path.join(dataDir, 'mail') });
  const vault = new FileVault(path.join(dataDir, 'vault'), Buffer.alloc(32, 7), logger);
  const mailer = createSmtpMailer(mail.smtpUrl, TEST_EMAIL_FROM);
  const taskQueue = `onboarding-test-${Math.random().toString(36).slice(2, 10)}`;

  const nativeConnection = await NativeConnection.connect({ address: temporalAddress });
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection, dataConverter: TEST_DATA_CONVERTER });
  const activities = testActivities({ simulator, vault, mailer, logger, dataDir, opsAlertTo: 'ops@agency.test', temporal: client });
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    activities,
    dataConverter: TEST_DATA_CONVERTER,
    shutdownGraceTime: '1 second',
  });
  const siteWorker = await createSiteCreationWorker({ connection: nativeConnection, taskQueue, activities, perMinute: options.siteCreatesPerMinute ?? 6_000, dataConverter: TEST_DATA_CONVERTER });
  const workerRun = Promise.all([worker.run(), siteWorker.run()]);

  const simulatorCall = async (method: string, urlPath: string, body?: unknown): Promise<unknown> => {
    const response = await fetch(`${simulator.url}${urlPath}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`simulator ${method} ${urlPath} answered ${response.status}: ${await response.text()}`);
    return response.status === 204 ? undefined : response.json();
  };

  return {
    simulator,
    mail,
    vault,
    logs: lines,
    client,
    taskQueue,
    temporalAddress,
    metricsUrl,
    netlifyUrl: netlifyUrlOf(simulator),
    activities,
    async startOnboarding(details, settings = {}, services = ['nextnet']) {
      const onboardingId = onboardingIdFor(details.clientId);
      const input: OnboardingInput = { onboardingId, client: details, settings: { ...FAST_SETTINGS, ...settings }, services, receivedAt: new Date().toISOString() };
      return client.workflow.start<typeof onboardClient>(ONBOARDING_WORKFLOW_TYPE, { workflowId: onboardingId, taskQueue, args: [input] });
    },
    simulatorCall,
    async whileDnsNeverVerifies(fn) {
      await simulatorCall('POST', '/_simulator/config', { dnsVerifyAfterMs: null });
      try {
        await fn();
      } finally {
        await simulatorCall('POST', '/_simulator/config', { dnsVerifyAfterMs: options.dnsVerifyAfterMs ?? 300 });
      }
    },
    async close() {
      worker.shutdown();
      siteWorker.shutdown();
      await workerRun;
      await connection.close();
      await nativeConnection.close();
      mailer.close();
      await mail.close();
      await simulator.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export function netlifyUrlOf(simulator: RunningSimulator): string {
  return `${simulator.url}/netlify/api/v1`;
}

/**
 * The status once the onboarding has completed. One that still needs a person (a lost WordPress key) completes but
 * stays open for ops, so `result()` would wait; this returns at completion either way.
 */
export async function completedStatus(handle: WorkflowHandle<typeof onboardClient>): Promise<OnboardingStatus> {
  return eventually(async () => {
    const status = await handle.query(getStatus);
    return status.status === 'completed' && status;
  }, { what: `${handle.workflowId} to complete` });
}


export const TEST_WEBHOOK_SECRET = 'whsec_' + Buffer.from('test-webhook-secret-of-32-bytes!').toString('base64');
export const TEST_OPS_TOKEN = 'test-ops-token-0123456789';

/** Signs a CRM delivery the way a Standard Webhooks sender does. */
export function signedDelivery(body: string, options: { secret?: string; id?: string; at?: Date } = {}): Record<string, string> {
  const id = options.id ?? `msg_${Math.random().toString(36).slice(2)}`;
  const at = options.at ?? new Date();
  const signature = new Webhook(options.secret ?? TEST_WEBHOOK_SECRET).sign(id, at, body);
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signature,
  };
}

/** A CRM event of any type, as the intake takes it (`timestamp` now unless given). */
export function crmEvent(type: string, data: object, timestamp = new Date()) {
  return { type, timestamp: timestamp.toISOString(), data };
}

/** Posts a signed CRM delivery to an API served by `serveApi`. */
export function deliver(api: { post(path: string, body: string, headers: Record<string, string>): Promise<Response> }, event: unknown): Promise<Response> {
  const body = JSON.stringify(event);
  return api.post('/webhooks/crm', body, signedDelivery(body));
}

/**
 * A test stack with two ops APIs on it: `api` offboards a churned client at once, `graceApi` after `graceMs`.
 * Deliveries without `services` get `defaultServices` (NextNet alone unless said).
 */
export async function startStackWithApis(options: { graceMs: number; defaultServices?: PlatformName[] }) {
  const stack = await startTestStack({ dnsVerifyAfterMs: 300 });
  const common = { temporal: stack.client, vault: stack.vault, taskQueue: stack.taskQueue, defaultServices: options.defaultServices };
  const api = await serveApi({ ...common, offboardingGraceMs: 0, inFlightSettleMs: 3_000 });
  const graceApi = await serveApi({ ...common, offboardingGraceMs: options.graceMs });
  return {
    stack,
    api,
    graceApi,
    async close() {
      await graceApi.close();
      await api.close();
      await stack.close();
    },
  };
}

export function clientCreatedEvent(client: Partial<ClientDetails> & { clientId: string; services?: string[] }) {
  return { type: 'client.created', timestamp: new Date().toISOString(), data: client };
}

/** Runs the API's express app on a random port over real HTTP. */
export async function serveApi(options: {
  temporal: Client;
  vault: SecretVault;
  taskQueue: string;
  logger?: ReturnType<typeof createLogger>;
  offboardingGraceMs?: number;
  inFlightSettleMs?: number;
  failedRetentionMs?: number;
  /** How long a call may keep failing before the onboarding needs attention; absent: the engine's default. */
  stallAlertMs?: number;
  defaultServices?: PlatformName[];
  availableServices?: PlatformName[];
  /** The CRMs' own webhooks (POST /webhooks/<source>); absent: every one answers 404 (not configured). */
  crmIntake?: Config['crmIntake'];
  /** The Temporal Web UI whose origin may call the codec endpoint from a browser. */
  temporalUiUrl?: string;
}) {
  const app = createApp({
    config: {
      webhookSecret: TEST_WEBHOOK_SECRET,
      opsApiToken: TEST_OPS_TOKEN,
      availableServices: options.availableServices ?? ['netlify', 'nextnet'],
      defaultServices: options.defaultServices ?? ['nextnet'],
      temporal: { address: 'unused', namespace: 'default', taskQueue: options.taskQueue, startsOwnServer: false, workflowBundlePath: undefined, apiKey: undefined, tls: undefined, uiUrl: options.temporalUiUrl },
      dns: { pollInitialMs: FAST_SETTINGS.dnsPollInitialMs, pollMaxMs: FAST_SETTINGS.dnsPollMaxMs, deadlineMs: FAST_SETTINGS.dnsDeadlineMs },
      offboardingGraceMs: options.offboardingGraceMs ?? 0,
      ...(options.inFlightSettleMs !== undefined ? { inFlightSettleMs: options.inFlightSettleMs } : {}),
      ...(options.failedRetentionMs !== undefined ? { failedRetentionMs: options.failedRetentionMs } : {}),
      ...(options.stallAlertMs !== undefined ? { stallAlertMs: options.stallAlertMs } : {}),
      ...(options.crmIntake ? { crmIntake: options.crmIntake } : {}),
    },
    temporal: options.temporal,
    vault: options.vault,
    logger: options.logger ?? createLogger({ level: 'silent' }),
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    async post(path: string, body: string, headers: Record<string, string>) {
      return fetch(`${url}${path}`, { method: 'POST', headers, body });
    },
    async ops(method: string, path: string, token: string | null = TEST_OPS_TOKEN) {
      return fetch(`${url}${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
    },
    /** An ops request with a JSON body, as `actor` (the X-Ops-Actor header). */
    async opsJson(method: string, path: string, body: unknown, actor = 'test operator') {
      return fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${TEST_OPS_TOKEN}`, 'content-type': 'application/json', 'x-ops-actor': actor },
        body: JSON.stringify(body),
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
