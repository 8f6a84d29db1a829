/**
 * The long waits with their real lengths (DNS_DEADLINE 72 h, DNS_POLL_INITIAL 1 min doubling to DNS_POLL_MAX 30 min,
 * OFFBOARDING_GRACE 7 days), on Temporal's time-skipping test server: days of workflow time pass in seconds, while
 * the activities still call the simulator over HTTP and DNS and MailDev over SMTP in real time.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes.js';
import type { WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createSmtpMailer, type Mailer } from '../activities/mailer.js';
import { loadConfig } from '../config/index.js';
import type { PlatformName } from '../platforms/catalog.js';
import { findTimeSkippingTestServer } from '../scripts/setup.mjs';
import { startMailDev, type RunningMailDev } from '../scripts/maildev.js';
import { startSimulator, type RunningSimulator } from '../simulator/app.js';
import { FileVault } from '../vault/index.js';
import { createSiteCreationWorker } from '../worker/index.js';
import {
  getOffboardingStatus,
  getStatus,
  OFFBOARDING_WORKFLOW_TYPE,
  offboardingIdFor,
  ONBOARDING_WORKFLOW_TYPE,
  onboardingIdFor,
  reactivateClient,
  type OffboardingInput,
  type OnboardingInput,
  type OnboardingSettings,
  type OnboardingStatus,
} from '../workflows/definitions.js';
import type { offboardClient } from '../workflows/offboarding.js';
import type { onboardClient } from '../workflows/onboarding.js';
import { ONBOARDING_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';
import { callKnob } from './simulator-http.js';
import { capturedLogger, eventually, freePort, TEST_DATA_CONVERTER, TEST_EMAIL_FROM, TEST_LOAD_BALANCER_IP, TEST_NETLIFY_TOKEN, TEST_RESELLER_KEY, testActivities, uniqueClient } from './support.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// The product's defaults, as a deployment without those variables runs them.
const config = loadConfig({});
const SETTINGS: OnboardingSettings = {
  dnsPollInitialMs: config.dns.pollInitialMs,
  dnsPollMaxMs: config.dns.pollMaxMs,
  dnsDeadlineMs: config.dns.deadlineMs,
  stallAlertMs: config.stallAlertMs,
};
const OPS = 'ops@agency.test';

/**
 * How many DNS checks an onboarding makes from the first one up to and including the one at the deadline: one at
 * once, then after each back-off interval (doubling from the initial one up to the maximum), the last wait cut short
 * so that it wakes at the deadline.
 */
function dnsChecksThroughDeadline(settings: OnboardingSettings): number {
  let at = 0;
  let interval = settings.dnsPollInitialMs;
  let checks = 1;
  while (at < settings.dnsDeadlineMs) {
    at = Math.min(at + interval, settings.dnsDeadlineMs);
    interval = Math.min(interval * 2, settings.dnsPollMaxMs);
    checks += 1;
  }
  return checks;
}

interface SimDomain {
  host: string;
  removedAt: string | null;
}
interface SimSite {
  id: string;
  custom_domain: string | null;
  removed_at: string | null;
}

let env: TestWorkflowEnvironment;
let simulator: RunningSimulator;
let mail: RunningMailDev;
let mailer: Mailer;
let vault: FileVault;
let dataDir: string;
let workers: Worker[] = [];
let workersRunning: Promise<unknown>;
const taskQueue = `time-skipping-${Math.random().toString(36).slice(2, 10)}`;
/** Workflows a test started; any still running after it are ended, so later skips of days do not drive them on. */
const started: WorkflowHandle[] = [];

beforeAll(async () => {
  const testServer = findTimeSkippingTestServer();
  if (!testServer) throw new Error("Temporal's time-skipping test server is not set up: run `node scripts/setup.mjs --with-time-skipping` (npm test does)");
  // Worker chatter would bury the test output; errors still show.
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: testServer } }, client: { dataConverter: TEST_DATA_CONVERTER } });
  // The test server validates search attributes against its own registry, which starts with only its built-in ones.
  await env.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: Object.fromEntries(
      ONBOARDING_SEARCH_ATTRIBUTES.map((key) => {
        const type = encodeSearchAttributeIndexedValueType(key.type);
        if (type === undefined) throw new Error(`no indexed value type for search attribute ${key.name} (${key.type})`);
        return [key.name, type];
      }),
    ),
  });

  dataDir = await mkdtemp(path.join(os.tmpdir(), 'onboarding-time-skipping-'));
  simulator = await startSimulator({
    apiKeys: [TEST_RESELLER_KEY],
    netlifyResellerTokens: [TEST_NETLIFY_TOKEN],
    netlify: { loadBalancerIp: TEST_LOAD_BALANCER_IP, siteCreatesPerMinute: 1_000 },
    // Clients add their DNS records only when a test says so.
    dnsVerifyAfterMs: null,
    dns: { port: 0 },
  });
  mail = await startMailDev({ smtpPort: await freePort(), webPort: await freePort(), mailDirectory: path.join(dataDir, 'mail') });
  const { logger } = capturedLogger();
  vault = new FileVault(path.join(dataDir, 'vault'), Buffer.alloc(32, 7), logger);
  mailer = createSmtpMailer(mail.smtpUrl, TEST_EMAIL_FROM);
  const activities = testActivities({ simulator, vault, mailer, logger, dataDir, opsAlertTo: OPS });
  workers = [
    await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: { codePath: inject('workflowBundlePath') }, activities, dataConverter: TEST_DATA_CONVERTER, shutdownGraceTime: '1 second' }),
    await createSiteCreationWorker({ connection: env.nativeConnection, taskQueue, activities, perMinute: 6_000, dataConverter: TEST_DATA_CONVERTER }),
  ];
  workersRunning = Promise.all(workers.map((worker) => worker.run()));
});

afterEach(async () => {
  for (const handle of started.splice(0)) {
    if ((await handle.describe()).status.name === 'RUNNING') await handle.terminate('the test is over');
  }
});

afterAll(async () => {
  for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
  await workersRunning;
  await env?.teardown();
  mailer?.close();
  await mail?.close();
  await simulator?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function startOnboarding(services: PlatformName[]) {
  const client = uniqueClient();
  const onboardingId = onboardingIdFor(client.clientId);
  const input: OnboardingInput = { onboardingId, client, settings: SETTINGS, services, receivedAt: new Date(await env.currentTimeMs()).toISOString() };
  const handle = await env.client.workflow.start<typeof onboardClient>(ONBOARDING_WORKFLOW_TYPE, { workflowId: onboardingId, taskQueue, args: [input] });
  started.push(handle);
  const startedAt = (await handle.describe()).startTime.getTime();
  // Registration (and the Netlify site) take real time; time is only skipped below, once it waits for DNS.
  await eventually(async () => {
    const status = await handle.query(getStatus);
    return status.status === 'awaiting-dns' && status.dns.checks >= 1;
  }, { what: 'the first DNS check' });
  return { client, handle, startedAt };
}

/** The client adds its DNS records (NextNet reads verified, the simulator's DNS answers for the domain). */
async function clientFixesDns(domain: string) {
  const answer = await callKnob(simulator, 'POST', `/domains/${domain}/verify`);
  expect(answer.status).toBe(200);
}

const nextnetDomain = async (host: string) => ((await callKnob(simulator, 'GET', '/domains')).body as SimDomain[]).find((d) => d.host === host);
const netlifySite = async (host: string) => ((await callKnob(simulator, 'GET', '/netlify/sites')).body as SimSite[]).find((s) => s.custom_domain === host);
const alertsAbout = async (domain: string) => (await mail.emails()).filter((m) => m.to.some((to) => to.address === OPS) && m.subject === `Onboarding of ${domain} needs attention`);

describe('the 72-hour DNS deadline, in workflow time', () => {
  const expectedChecks = dnsChecksThroughDeadline(SETTINGS);

  it.each<[string, PlatformName[]]>([
    ['NextNet only', ['nextnet']],
    ['Netlify and NextNet', ['netlify', 'nextnet']],
  ])('%s: DNS never verifies, so it needs attention right at 72 h, keeps checking with the back-off, then completes once DNS is fixed', async (_plan, services) => {
    const { client, handle, startedAt } = await startOnboarding(services);

    await env.sleep(SETTINGS.dnsDeadlineMs);
    // The check at the deadline may still be running (activities take real time) when the skipped time is up.
    const stalled = await eventually(async () => {
      const status = await handle.query(getStatus);
      return status.needsAttention?.items.some((item) => item.code === 'dns-stalled') && status;
    }, { what: 'dns-stalled' });

    const deadline = startedAt + SETTINGS.dnsDeadlineMs;
    const since = Date.parse(stalled.needsAttention!.since);
    expect(since).toBeGreaterThanOrEqual(deadline);
    expect(since - deadline).toBeLessThan(SETTINGS.dnsPollMaxMs);
    expect(Date.parse(stalled.dns.deadlineAt!) - deadline).toBeLessThan(MINUTE);
    // Nothing else went wrong on the way: only the DNS deadline needs a person.
    expect(stalled.needsAttention!.items.map((item) => item.code)).toEqual(['dns-stalled']);
    expect(stalled.status).toBe('awaiting-dns');
    // 1 min doubling to 30 min over 72 h: 149 checks (a check at the end of a sleep can land either side of it).
    expect(expectedChecks).toBe(149);
    expect(stalled.dns.checks).toBeGreaterThanOrEqual(expectedChecks - 1);
    expect(stalled.dns.checks).toBeLessThanOrEqual(expectedChecks + 1);
    expect(stalled.dns.nextIntervalMs).toBe(SETTINGS.dnsPollMaxMs);
    await eventually(async () => (await alertsAbout(client.domain)).length === 1, { what: 'the ops alert' });
    expect((await alertsAbout(client.domain))[0]!.text).toContain('not verified after 72 h');

    // It keeps checking every 30 minutes, still needing attention.
    await env.sleep(3 * HOUR);
    const later = await eventually(async () => {
      const status = await handle.query(getStatus);
      return status.dns.checks >= stalled.dns.checks + 6 && status;
    }, { what: 'the checks after the deadline' });
    expect(later.dns.checks).toBeLessThanOrEqual(stalled.dns.checks + 7);
    expect(later.status).toBe('awaiting-dns');
    expect(later.needsAttention?.items.map((item) => item.code)).toEqual(['dns-stalled']);
    // One alert per stall, not one per check.
    expect(await alertsAbout(client.domain)).toHaveLength(1);

    await clientFixesDns(client.domain);
    const fixedAt = await env.currentTimeMs();
    const result: OnboardingStatus = await handle.result();
    expect(result.status).toBe('completed');
    expect(result.needsAttention).toBeNull();
    // Seen at the next poll, at most 30 minutes later.
    expect(Date.parse(result.dns.verifiedAt!) - fixedAt).toBeLessThanOrEqual(SETTINGS.dnsPollMaxMs + MINUTE);
    expect(result.signupEmail).not.toBeNull();
    if (services.includes('netlify')) expect(result.netlify?.tls).toMatchObject({ state: 'issued' });
  }, 180_000);
});

describe('the 7-day offboarding grace, in workflow time', () => {
  /** A completed Netlify and NextNet onboarding, then its offboarding with the default grace. */
  async function churnedClient() {
    const { client, handle } = await startOnboarding(['netlify', 'nextnet']);
    await clientFixesDns(client.domain);
    const onboarded = await handle.result();
    expect(onboarded.status).toBe('completed');

    const offboardingId = offboardingIdFor(client.clientId);
    const input: OffboardingInput = {
      offboardingId,
      onboardingId: onboarded.onboardingId,
      clientId: client.clientId,
      domain: onboarded.domain,
      registeredAtNextNet: onboarded.registration !== null,
      domainId: onboarded.registration?.domainId ?? null,
      netlifySite: onboarded.netlify?.site ? { id: onboarded.netlify.site.id, name: onboarded.netlify.site.name } : null,
      onboardingRunning: false,
      graceMs: config.offboardingGraceMs,
      churnedAt: new Date(await env.currentTimeMs()).toISOString(),
    };
    const offboarding = await env.client.workflow.start<typeof offboardClient>(OFFBOARDING_WORKFLOW_TYPE, { workflowId: offboardingId, taskQueue, args: [input] });
    started.push(offboarding);
    const startedAt = (await offboarding.describe()).startTime.getTime();
    return { client, onboardingId: onboarded.onboardingId, offboarding, startedAt };
  }

  async function expectNothingRemoved(domain: string, onboardingId: string) {
    expect((await nextnetDomain(domain))?.removedAt).toBeNull();
    expect((await netlifySite(domain))?.removed_at).toBeNull();
    expect(await vault.has({ onboardingId, name: 'wordpress-api-key' })).toBe(true);
    expect(await vault.has({ onboardingId, name: 'netlify-access-token' })).toBe(true);
  }

  it('a reactivation on day 6 ends it reactivated, with nothing removed', async () => {
    const { client, onboardingId, offboarding, startedAt } = await churnedClient();
    expect(config.offboardingGraceMs).toBe(7 * DAY);

    await env.sleep(6 * DAY);
    expect(await offboarding.query(getOffboardingStatus)).toMatchObject({ status: 'grace-period', removal: null, secretsRevoked: false });
    await expectNothingRemoved(client.domain, onboardingId);

    const at = new Date(await env.currentTimeMs()).toISOString();
    await offboarding.signal(reactivateClient, { at });
    const result = await offboarding.result();
    expect(result).toMatchObject({ status: 'reactivated', reactivatedAt: at, removal: null, secretsRevoked: false });
    expect(Date.parse(result.updatedAt) - startedAt).toBeGreaterThanOrEqual(6 * DAY);
    expect(Date.parse(result.updatedAt) - startedAt).toBeLessThan(7 * DAY);
    await expectNothingRemoved(client.domain, onboardingId);
  }, 120_000);

  it('left alone, it removes the domain and the Netlify site right after day 7 and revokes the secrets', async () => {
    const { client, onboardingId, offboarding, startedAt } = await churnedClient();

    await env.sleep(7 * DAY - HOUR);
    expect(await offboarding.query(getOffboardingStatus)).toMatchObject({ status: 'grace-period', removal: null, secretsRevoked: false });
    await expectNothingRemoved(client.domain, onboardingId);

    const result = await offboarding.result();
    expect(result).toMatchObject({ status: 'offboarded', removal: 'removed', siteRemoval: 'removed', secretsRevoked: true, reactivatedAt: null });
    const graceEnd = startedAt + config.offboardingGraceMs;
    expect(Date.parse(result.removeAfter) - graceEnd).toBeLessThan(MINUTE);
    expect(Date.parse(result.offboardedAt!)).toBeGreaterThanOrEqual(graceEnd);
    expect(Date.parse(result.offboardedAt!) - graceEnd).toBeLessThan(5 * MINUTE);

    expect((await nextnetDomain(client.domain))?.removedAt).not.toBeNull();
    expect((await netlifySite(client.domain))?.removed_at).not.toBeNull();
    expect(await vault.has({ onboardingId, name: 'wordpress-api-key' })).toBe(false);
    expect(await vault.has({ onboardingId, name: 'netlify-access-token' })).toBe(false);
  }, 120_000);
});
