/**
 * `npm run record-histories`: runs a set of onboardings and offboardings with the workflow code as it is now, on a
 * throwaway Temporal dev server with the simulator and MailDev, and saves each history under `test/histories/`.
 * `test/replay.test.ts` replays them against the current code, so a change that would break onboardings already
 * running (weeks-long DNS waits) fails a test instead of a production worker. Record before changing workflow code;
 * keep the older files.
 *
 *   npm run record-histories -- --label v1     # writes test/histories/v1-*.json
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { createSmtpMailer } from '../activities/mailer.js';
import { NextNetClient } from '../platforms/nextnet/client.js';
import { FileSentEmailLedger } from '../activities/sent-email-ledger.js';
import { DEV_DEFAULTS, DEV_PAYLOAD_KEY, loadConfig } from '../config/index.js';
import { createLogger } from '../config/logger.js';
import { crmClientsFrom } from '../crm/clients.js';
import { crmClientId, crmDealWorkflowId, RESOLVE_CRM_DEAL_WORKFLOW_TYPE, type CrmRecord, type ResolveCrmDealInput } from '../crm/types.js';
import { payloadDataConverter } from '../config/payload-codec.js';
import { startSimulator } from '../simulator/app.js';
import { FileVault } from '../vault/index.js';
import { createSiteCreationWorker, WORKFLOWS_PATH } from '../worker/index.js';
import { NetlifyClient } from '../platforms/netlify/client.js';
import type { PlatformName } from '../platforms/catalog.js';
import {
  getStatus,
  offboardingIdFor,
  OFFBOARDING_WORKFLOW_TYPE,
  onboardingIdFor,
  ONBOARDING_WORKFLOW_TYPE,
  retryOnboarding,
  type ClientDetails,
  type OnboardingInput,
} from '../workflows/definitions.js';
import { ONBOARDING_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';
import { findTemporalCli } from './temporal-cli.mjs';
import { startMailDev } from './maildev.js';
import { freePort } from '../test/free-port.js';

const { temporal } = proto;

const { values } = parseArgs({ options: { label: { type: 'string', default: 'v1' }, out: { type: 'string', default: 'test/histories' } } });
const label = values.label!;
const outDir = path.resolve(values.out!);
const KEY = 'sk_org_recording_key_0123456789';
const SETTINGS = { dnsPollInitialMs: 200, dnsPollMaxMs: 1_000, dnsDeadlineMs: 3_600_000 };

Runtime.install({ logger: new DefaultLogger('ERROR') });
const cli = findTemporalCli();
if (!cli) throw new Error('no Temporal CLI: run node scripts/setup.mjs first');
const env = await TestWorkflowEnvironment.createLocal({
  server: { executable: { type: 'existing-path', path: cli }, ip: '127.0.0.1', log: { format: 'pretty', level: 'error' }, searchAttributes: ONBOARDING_SEARCH_ATTRIBUTES },
});
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'record-histories-'));
const logger = createLogger({ level: 'silent' });
const NETLIFY_TOKEN = 'nfr_recording_token_0123456789';
const simulator = await startSimulator({ apiKeys: [KEY], netlifyResellerTokens: [NETLIFY_TOKEN], dnsVerifyAfterMs: 300, dns: { port: 0 } });
const mail = await startMailDev({ smtpPort: await freePort(), webPort: await freePort(), mailDirectory: path.join(dataDir, 'mail') });
const mailer = createSmtpMailer(mail.smtpUrl, 'Agency <onboarding@agency.test>');
const taskQueue = 'record-histories';
// Encrypted as the engine encrypts, with the development key, which test/replay.test.ts holds.
const dataConverter = payloadDataConverter({ payloadKeys: [DEV_PAYLOAD_KEY] });
const nativeConnection = await NativeConnection.connect({ address: env.address });
const activities = createActivities({
    nextnet: new NextNetClient({ baseUrl: simulator.baseUrl, apiKey: KEY, timeoutMs: 2_000 }),
    netlify: {
      client: new NetlifyClient({ baseUrl: simulator.netlifyBaseUrl, resellerToken: NETLIFY_TOKEN, timeoutMs: 2_000, userAgent: 'record-histories' }),
      loadBalancerIp: '75.2.60.5',
      dnsResolvers: simulator.dns ? [simulator.dns.address] : [],
      paymentMethodId: undefined,
    },
    vault: new FileVault(path.join(dataDir, 'vault'), Buffer.alloc(32, 3), logger),
    mailer,
    sentEmails: new FileSentEmailLedger(path.join(dataDir, 'sent-emails')),
    logger,
    signupUrl: 'https://app.bediscovered.ai/auth/signup',
    emailFrom: 'Agency <onboarding@agency.test>',
    opsAlertTo: 'ops@agency.test',
    crms: crmClientsFrom(
      loadConfig({
        HUBSPOT_API_URL: simulator.crmBaseUrls.hubspot,
        PIPEDRIVE_API_URL: simulator.crmBaseUrls.pipedrive,
        GHL_API_URL: simulator.crmBaseUrls.gohighlevel,
        PIPEDRIVE_WEBSITE_FIELD: DEV_DEFAULTS.PIPEDRIVE_WEBSITE_FIELD,
        GHL_STATUS_FIELD_ID: DEV_DEFAULTS.GHL_STATUS_FIELD_ID,
      }).crmApis,
    ),
});
const worker = await Worker.create({ connection: nativeConnection, taskQueue, workflowsPath: WORKFLOWS_PATH, activities, dataConverter, shutdownGraceTime: '1 second' });
const siteWorker = await createSiteCreationWorker({ connection: nativeConnection, taskQueue, activities, perMinute: 600, dataConverter });
const siteWorkerRun = siteWorker.run();
const client = new Client({ connection: await Connection.connect({ address: env.address }), dataConverter });
const knob = async (method: string, urlPath: string, body?: unknown) => {
  const response = await fetch(`${simulator.url}/_simulator${urlPath}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) throw new Error(`simulator ${urlPath}: ${response.status} ${await response.text()}`);
};
let n = 0;
const details = (name: string, overrides: Partial<ClientDetails> = {}): ClientDetails => ({
  clientId: `rec-${name}-${++n}`,
  email: `owner-${name}@client.test`,
  name: 'Recorded Client',
  domain: `${name}-${n}.example.com`,
  cms: 'wordpress',
  subscriptionTier: 'pro',
  ...overrides,
});
const start = (client_: ClientDetails, settings = {}, services?: PlatformName[]) => {
  const input: OnboardingInput = { onboardingId: onboardingIdFor(client_.clientId), client: client_, settings: { ...SETTINGS, ...settings }, services, receivedAt: new Date().toISOString() };
  return client.workflow.start(ONBOARDING_WORKFLOW_TYPE, { workflowId: input.onboardingId, taskQueue, args: [input] });
};
const until = async (what: string, check: () => Promise<boolean>) => {
  for (let i = 0; i < 300; i += 1) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
};
const saved: string[] = [];
const save = async (name: string, handle: WorkflowHandle) => {
  const history = await handle.fetchHistory();
  await mkdir(outDir, { recursive: true });
  const file = path.join(outDir, `${label}-${name}.json`);
  // The history's protobuf bytes: exact, and read back without the SDK's proto-JSON conversion.
  const data = Buffer.from(temporal.api.history.v1.History.encode(history).finish()).toString('base64');
  await writeFile(file, JSON.stringify({ workflowId: handle.workflowId, workflowType: history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name, encoding: 'protobuf/base64', data }) + '\n');
  saved.push(path.relative(process.cwd(), file));
  console.log(`recorded ${name} (${history.events?.length ?? 0} events)`);
};

await worker.runUntil(async () => {
  // 1. A whole onboarding: registered, key vaulted, DNS verified after a few polls, email sent.
  const completed = await start(details('completed'));
  await completed.result();
  await save('completed', completed);

  // 2. Still waiting for DNS: the shape of most onboardings in flight at any moment.
  await knob('POST', '/config', { dnsVerifyAfterMs: null });
  const waiting = await start(details('awaiting-dns'));
  await until('a few DNS checks', async () => (await waiting.query(getStatus)).dns.checks >= 3);
  await save('awaiting-dns', waiting);

  // 3. Past the DNS deadline (needs attention, ops alerted), then retried with a corrected domain, then verified.
  const stalled = await start(details('stalled'), { dnsDeadlineMs: 500 });
  await until('needs attention', async () => (await stalled.query(getStatus)).needsAttention !== null);
  await stalled.executeUpdate(retryOnboarding, { args: [{ corrections: { domain: `corrected-${n}.example.com` }, reason: 'typo', by: 'recorder' }] });
  await knob('POST', '/config', { dnsVerifyAfterMs: 300 });
  await stalled.result();
  await save('retried-with-correction', stalled);

  // 4. Lost WordPress key: the register answer dropped after NextNet wrote it.
  await knob('POST', '/faults', { route: 'register', kind: 'drop-after-write' });
  const lost = await start(details('key-lost'));
  // Completed with the key lost: open for ops (from v2 on) or closed (v1); either way its status says completed.
  await until('completion', async () => (await lost.query(getStatus)).status === 'completed');
  await save('key-lost', lost);

  // 5. A business failure: the domain belongs to another account.
  const foreign = details('foreign');
  await knob('POST', '/foreign-domains', { host: foreign.domain });
  const failed = await start(foreign);
  // Failed: closed at once (v1), or open and waiting for ops (from v2 on).
  await until('the failure', async () => (await failed.query(getStatus)).status === 'failed');
  await save('failed-foreign-domain', failed);

  // 6. Churn of a completed client with no grace period: domain removed, key revoked.
  const churned = details('churned');
  const onboarded = await start(churned);
  const status = await onboarded.result();
  const offboardingId = offboardingIdFor(churned.clientId);
  const offboarding = await client.workflow.start(OFFBOARDING_WORKFLOW_TYPE, {
    workflowId: offboardingId,
    taskQueue,
    args: [{ offboardingId, onboardingId: onboarded.workflowId, clientId: churned.clientId, domain: status.domain, domainId: status.registration?.domainId ?? null, onboardingRunning: false, graceMs: 0, churnedAt: new Date().toISOString() }],
  });
  await offboarding.result();
  await save('offboarded', offboarding);

  // Plans (from v2 on): both platforms, Netlify alone, and a churned client with a Netlify site.
  const both = await start(details('both-platforms'), {}, ['netlify', 'nextnet']);
  await both.result();
  await save('both-platforms', both);

  await knob('POST', '/config', { dnsVerifyAfterMs: null });
  const netlifyWaiting = await start(details('netlify-awaiting-dns'), {}, ['netlify']);
  await until('a few DNS checks', async () => (await netlifyWaiting.query(getStatus)).dns.checks >= 3);
  await save('netlify-awaiting-dns', netlifyWaiting);
  await knob('POST', '/config', { dnsVerifyAfterMs: 300 });

  const churnedSite = details('netlify-churned');
  const siteStatus = await (await start(churnedSite, {}, ['netlify', 'nextnet'])).result();
  const siteOffboardingId = offboardingIdFor(churnedSite.clientId);
  const siteOffboarding = await client.workflow.start(OFFBOARDING_WORKFLOW_TYPE, {
    workflowId: siteOffboardingId,
    taskQueue,
    args: [
      {
        offboardingId: siteOffboardingId,
        onboardingId: siteStatus.onboardingId,
        clientId: churnedSite.clientId,
        domain: siteStatus.domain,
        registeredAtNextNet: true,
        domainId: siteStatus.registration?.domainId ?? null,
        netlifySite: siteStatus.netlify?.site ? { id: siteStatus.netlify.site.id, name: siteStatus.netlify.site.name } : null,
        onboardingRunning: false,
        graceMs: 0,
        churnedAt: new Date().toISOString(),
      },
    ],
  });
  await siteOffboarding.result();
  await save('netlify-offboarded', siteOffboarding);

  // Continued as new while waiting for DNS (from v4 on): the run that carries the status of the one before.
  await knob('POST', '/config', { dnsVerifyAfterMs: null });
  const continued = await start(details('continued'), { dnsChecksPerRun: 2 });
  await until('a run after continue-as-new', async () => (await continued.query(getStatus)).runs >= 2 && (await continued.query(getStatus)).dns.checks >= 3);
  await save('continued-as-new', continued);
  await knob('POST', '/config', { dnsVerifyAfterMs: 300 });

  // From a CRM's own webhook (from v4 on): the client read from its HubSpot record, progress written back; a Pipedrive
  // person without an email, failed and waiting for ops; a won HubSpot deal resolved to its contact.
  const hubspot = async (method: string, urlPath: string, body?: unknown) => {
    const response = await fetch(`${simulator.crmBaseUrls.hubspot}${urlPath}`, { method, headers: { authorization: `Bearer ${DEV_DEFAULTS.HUBSPOT_ACCESS_TOKEN}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!response.ok) throw new Error(`HubSpot ${urlPath}: ${response.status} ${await response.text()}`);
    return (await response.json().catch(() => undefined)) as { id: string };
  };
  const portalId = simulator.knobs.crm.hubspot.portalId();
  const fromCrm = (record: CrmRecord) => {
    const clientId = crmClientId(record);
    const input: OnboardingInput = { onboardingId: onboardingIdFor(clientId), client: { clientId, email: '', domain: '' }, settings: SETTINGS, services: ['netlify', 'nextnet'], receivedAt: new Date().toISOString(), crm: { record } };
    return client.workflow.start(ONBOARDING_WORKFLOW_TYPE, { workflowId: input.onboardingId, taskQueue, args: [input] });
  };
  const contact = await hubspot('POST', '/crm/v3/objects/contacts', { properties: { email: 'owner@crm-recorded.example.com', firstname: 'Recorded', website: `crm-${++n}.example.com` } });
  const crmOnboarding = await fromCrm({ source: 'hubspot', account: portalId, client: { type: 'contact', id: contact.id } });
  await crmOnboarding.result();
  await save('crm-completed', crmOnboarding);

  const noEmail = await hubspot('POST', '/crm/v3/objects/contacts', { properties: { firstname: 'No Email', website: `crm-${++n}.example.com` } });
  const incomplete = await fromCrm({ source: 'hubspot', account: portalId, client: { type: 'contact', id: noEmail.id } });
  await until('the failure', async () => (await incomplete.query(getStatus)).status === 'failed');
  await save('crm-record-incomplete', incomplete);

  const dealContact = await hubspot('POST', '/crm/v3/objects/contacts', { properties: { email: 'deal@crm-recorded.example.com', website: `crm-${++n}.example.com` } });
  const deal = await hubspot('POST', '/crm/v3/objects/deals', { properties: { dealname: 'Recorded', dealstage: 'closedwon' } });
  await hubspot('PUT', `/crm/v4/objects/deals/${deal.id}/associations/default/contacts/${dealContact.id}`);
  const resolve: ResolveCrmDealInput = { source: 'hubspot', account: portalId, dealId: deal.id, services: ['netlify', 'nextnet'], receivedAt: new Date().toISOString(), settings: SETTINGS };
  const resolver = await client.workflow.start(RESOLVE_CRM_DEAL_WORKFLOW_TYPE, { workflowId: crmDealWorkflowId(resolve), taskQueue, args: [resolve] });
  await resolver.result();
  await save('crm-deal-resolved', resolver);
});
siteWorker.shutdown();
await siteWorkerRun;

mailer.close();
await mail.close();
await simulator.close();
await env.teardown();
await rm(dataDir, { recursive: true, force: true });
console.log(`\n${saved.length} histories written:\n  ${saved.join('\n  ')}`);
