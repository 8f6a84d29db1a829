import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { Signature } from '@hubspot/api-client';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { ConfigError, loadConfig, type Config } from '../config/index.js';
import { goHighLevelContactCreate, goHighLevelIntents, goHighLevelOpportunityWon, signGoHighLevelDelivery } from '../crm/gohighlevel/webhook.js';
import { hubspotContactCreation, hubspotDealStageChange, hubspotIntents, signHubspotDelivery, type HubspotWireEvent } from '../crm/hubspot/webhook.js';
import { pipedriveBasicAuth, pipedriveDealWon, pipedriveIntents, pipedrivePersonCreated, PipedriveDelivery } from '../crm/pipedrive/webhook.js';
import type { CrmRecord, ResolveCrmDealInput } from '../crm/types.js';
import { FileVault } from '../vault/index.js';
import type { OnboardingInput } from '../workflows/definitions.js';
import { OnboardingDomain } from '../workflows/search-attributes.js';
import { capturedLogger, clientCreatedEvent, decodedHistory, eventually, serveApi, signedDelivery, TEST_DATA_CONVERTER, uniqueClient } from './support.js';

type Api = Awaited<ReturnType<typeof serveApi>>;

const HUBSPOT_SECRET = 'test-hubspot-client-secret-0123456789';
const PIPEDRIVE = { user: 'pipedrive-test', password: 'pipedrive-test-password' };
const ghlKeys = generateKeyPairSync('ed25519');
const crmIntake: Config['crmIntake'] = {
  hubspot: { clientSecret: HUBSPOT_SECRET, wonStages: ['closedwon'], startEvents: ['contact.creation', 'deal.won'] },
  pipedrive: { ...PIPEDRIVE, startEvents: ['deal.won', 'person.create'] },
  gohighlevel: { publicKey: ghlKeys.publicKey.export({ type: 'spki', format: 'pem' }).toString(), startEvents: ['contact.create', 'opportunity.won'] },
};

let connection: Connection;
let temporal: Client;
let api: Api;
// No worker polls this task queue: the intake's job ends once a workflow is durably started.
const taskQueue = `crm-intake-test-${Math.random().toString(36).slice(2, 8)}`;
const vault = new FileVault('/tmp/crm-intake-test-vault-unused', Buffer.alloc(32, 1), capturedLogger().logger);
/** Every HTTP call the process makes other than the tests' own to the API: the intake must make none. */
const outboundCalls: string[] = [];
const realFetch = globalThis.fetch;

beforeAll(async () => {
  connection = await Connection.connect({ address: inject('temporalAddress') });
  temporal = new Client({ connection, dataConverter: TEST_DATA_CONVERTER });
  api = await serveApi({ temporal, vault, taskQueue, crmIntake });
  globalThis.fetch = (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (!url.startsWith(api.url)) outboundCalls.push(url);
    return realFetch(input, init);
  };
});
afterAll(async () => {
  globalThis.fetch = realFetch;
  await api?.close();
  await connection?.close();
});

const uniqueNumber = () => Math.floor(Math.random() * 1e9) + 1;
const uniqueText = () => randomBytes(6).toString('hex');
const hubspotUrl = () => `${api.url}/webhooks/hubspot`;

/** A HubSpot delivery signed the way HubSpot signs it, with the SDK's own Signature helper. */
function hubspotHeaders(body: string, options: { url?: string; timestampMs?: number; secret?: string } = {}): Record<string, string> {
  const timestamp = options.timestampMs ?? Date.now();
  const signature = Signature.getSignature('POST', 'v3', { signature: '', clientSecret: options.secret ?? HUBSPOT_SECRET, requestBody: body, url: options.url ?? hubspotUrl(), timestamp });
  return { 'content-type': 'application/json', 'x-hubspot-signature-v3': signature, 'x-hubspot-request-timestamp': String(timestamp) };
}

const postHubspot = (events: HubspotWireEvent[], headers?: (body: string) => Record<string, string>) => {
  const body = JSON.stringify(events);
  return api.post('/webhooks/hubspot', body, headers ? headers(body) : hubspotHeaders(body));
};
const postPipedrive = (delivery: unknown, auth = pipedriveBasicAuth(PIPEDRIVE.user, PIPEDRIVE.password)) =>
  api.post('/webhooks/pipedrive', JSON.stringify(delivery), { 'content-type': 'application/json', ...auth });
const postGoHighLevel = (event: unknown) => {
  const body = JSON.stringify(event);
  return api.post('/webhooks/gohighlevel', body, signGoHighLevelDelivery(ghlKeys.privateKey, body));
};

interface Answer {
  results: { eventId: string; outcome: string; onboardingId?: string; workflowId?: string; why?: string }[];
}
const errorOf = async (response: Response) => ((await response.json()) as { error: { code: string; message: string } }).error;

async function inputOf<T = OnboardingInput>(workflowId: string): Promise<T> {
  const history = await decodedHistory(temporal.workflow.getHandle(workflowId));
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
  return JSON.parse(Buffer.from(payload!).toString('utf8')) as T;
}

async function expectNoWorkflow(workflowId: string) {
  await expect(temporal.workflow.getHandle(workflowId).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
}

/** Every run Temporal has of this workflow id (visibility is eventually consistent: waits for the first). */
async function runsOf(workflowId: string): Promise<string[]> {
  return eventually(async () => {
    const runs: string[] = [];
    for await (const execution of temporal.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(execution.runId);
    return runs.length > 0 && runs;
  }, { what: `${workflowId} in visibility` });
}

describe('HubSpot: POST /webhooks/hubspot', () => {
  it('a contact created in HubSpot starts its onboarding, with the CRM record in its input, and calls no HubSpot API', async () => {
    const portalId = uniqueNumber();
    const contactId = uniqueNumber();
    const event = hubspotContactCreation({ portalId, contactId });
    outboundCalls.length = 0;
    const response = await postHubspot([event]);

    expect(response.status).toBe(202);
    const onboardingId = `onboarding-hubspot-${portalId}-${contactId}`;
    expect(await response.json()).toEqual({ results: [{ eventId: String(event.eventId), outcome: 'started', onboardingId, workflowId: onboardingId }] });
    expect(outboundCalls).toEqual([]);

    const input = await inputOf(onboardingId);
    const record: CrmRecord = { source: 'hubspot', account: String(portalId), client: { type: 'contact', id: String(contactId) } };
    expect(input.crm).toEqual({ record });
    // HubSpot sends ids only: the onboarding reads the contact's details itself.
    expect(input.client).toEqual({ clientId: `hubspot-${portalId}-${contactId}`, email: '', domain: '' });
    expect(input.services).toEqual(['nextnet']);
    const description = await temporal.workflow.getHandle(onboardingId).describe();
    expect(description.taskQueue).toBe(taskQueue);
    expect(description.typedSearchAttributes.get(OnboardingDomain)).toBeUndefined();
  });

  it('signHubspotDelivery signs as HubSpot does: the SDK checks its headers', () => {
    const body = JSON.stringify([hubspotContactCreation({ portalId: 1, contactId: 2 })]);
    const url = 'https://onboarding.agency.example/webhooks/hubspot';
    const headers = signHubspotDelivery({ clientSecret: HUBSPOT_SECRET, method: 'POST', url, body });
    const valid = Signature.isValid({ signatureVersion: 'v3', method: 'POST', signature: headers['x-hubspot-signature-v3']!, clientSecret: HUBSPOT_SECRET, requestBody: body, url, timestamp: Number(headers['x-hubspot-request-timestamp']) });
    expect(valid).toBe(true);
  });

  it('a delivery signed with another secret is refused with 401 and starts nothing', async () => {
    const portalId = uniqueNumber();
    const contactId = uniqueNumber();
    const response = await postHubspot([hubspotContactCreation({ portalId, contactId })], (body) => hubspotHeaders(body, { secret: 'another-client-secret-0000' }));
    expect(response.status).toBe(401);
    expect((await errorOf(response)).message).toContain('X-HubSpot-Signature-v3 does not match');
    await expectNoWorkflow(`onboarding-hubspot-${portalId}-${contactId}`);
  });

  it('a delivery without signature headers is refused with 401', async () => {
    const response = await postHubspot([hubspotContactCreation({ portalId: 1, contactId: uniqueNumber() })], () => ({ 'content-type': 'application/json' }));
    expect(response.status).toBe(401);
    expect((await errorOf(response)).message).toContain('missing X-HubSpot-Signature-v3');
  });

  it('a delivery signed more than 5 minutes ago is refused with 401 and starts nothing', async () => {
    const portalId = uniqueNumber();
    const contactId = uniqueNumber();
    const response = await postHubspot([hubspotContactCreation({ portalId, contactId })], (body) => hubspotHeaders(body, { timestampMs: Date.now() - 5 * 60_000 - 1_000 }));
    expect(response.status).toBe(401);
    expect((await errorOf(response)).message).toContain('more than 5 minutes');
    await expectNoWorkflow(`onboarding-hubspot-${portalId}-${contactId}`);
  });

  it('a signature whose + signs arrived as spaces is accepted, a leading one too', async () => {
    const event = hubspotContactCreation({ portalId: uniqueNumber(), contactId: uniqueNumber() });
    const body = JSON.stringify([event]);
    // A timestamp (within the window) whose signature starts with +, the case where HTTP trims the space away.
    let headers = hubspotHeaders(body);
    for (let ms = Date.now(); !headers['x-hubspot-signature-v3']!.startsWith('+'); ms -= 1) headers = hubspotHeaders(body, { timestampMs: ms });
    const mangled = { ...headers, 'x-hubspot-signature-v3': headers['x-hubspot-signature-v3']!.replace(/\+/g, ' ') };
    const response = await api.post('/webhooks/hubspot', body, mangled);
    expect(response.status).toBe(202);
    expect(((await response.json()) as Answer).results[0]?.outcome).toBe('started');
  });

  it('behind a proxy on this machine, the URL HubSpot called (X-Forwarded-Proto and -Host) is the one checked', async () => {
    const publicUrl = 'https://onboarding.agency.example/webhooks/hubspot';
    const response = await postHubspot([hubspotContactCreation({ portalId: uniqueNumber(), contactId: uniqueNumber() })], (body) => ({
      ...hubspotHeaders(body, { url: publicUrl }),
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'onboarding.agency.example',
    }));
    expect(response.status).toBe(202);
  });

  it('HUBSPOT_WEBHOOK_URL pins the URL checked, whatever the request says', async () => {
    const pinned = 'https://hooks.agency.example/crm/hubspot?tenant=acme';
    const pinnedApi = await serveApi({ temporal, vault, taskQueue, crmIntake: { ...crmIntake, hubspot: { ...crmIntake.hubspot!, webhookUrl: pinned } } });
    try {
      const body = JSON.stringify([hubspotContactCreation({ portalId: uniqueNumber(), contactId: uniqueNumber() })]);
      expect((await pinnedApi.post('/webhooks/hubspot', body, hubspotHeaders(body, { url: pinned }))).status).toBe(202);
      expect((await pinnedApi.post('/webhooks/hubspot', body, hubspotHeaders(body, { url: `${pinnedApi.url}/webhooks/hubspot` }))).status).toBe(401);
    } finally {
      await pinnedApi.close();
    }
  });

  it('a batch mixing a starting event, irrelevant ones and duplicates starts one onboarding, and its retry none', async () => {
    const portalId = uniqueNumber();
    const contactId = uniqueNumber();
    const created = hubspotContactCreation({ portalId, contactId });
    const batch: HubspotWireEvent[] = [
      created,
      hubspotDealStageChange({ portalId, dealId: uniqueNumber(), stage: 'appointmentscheduled' }),
      { ...created, eventId: uniqueNumber(), subscriptionType: 'contact.propertyChange', propertyName: 'phone', propertyValue: '555' },
      created,
      { ...created, eventId: uniqueNumber() },
    ];
    const answer = (await (await postHubspot(batch)).json()) as Answer;
    expect(answer.results.map((result) => result.outcome)).toEqual(['started', 'ignored', 'ignored', 'already-started', 'already-started']);
    expect(answer.results[1]?.why).toContain('not a won stage');
    expect(answer.results[2]?.why).toBe('contact.propertyChange of phone starts no onboarding');

    const retry = (await (await postHubspot(batch.map((event) => ({ ...event, attemptNumber: 1 })))).json()) as Answer;
    expect(retry.results.map((result) => result.outcome)).toEqual(['already-started', 'ignored', 'ignored', 'already-started', 'already-started']);
    expect(await runsOf(`onboarding-hubspot-${portalId}-${contactId}`)).toHaveLength(1);
  });

  it('a deal won starts its resolution to the deal\'s contact, once per deal', async () => {
    const portalId = uniqueNumber();
    const dealId = uniqueNumber();
    const won = hubspotDealStageChange({ portalId, dealId });
    const workflowId = `crm-deal-hubspot-${portalId}-${dealId}`;
    const first = (await (await postHubspot([won])).json()) as Answer;
    expect(first.results).toEqual([{ eventId: String(won.eventId), outcome: 'started', workflowId }]);
    const again = (await (await postHubspot([{ ...won, eventId: uniqueNumber() }])).json()) as Answer;
    expect(again.results[0]?.outcome).toBe('already-started');

    const description = await temporal.workflow.getHandle(workflowId).describe();
    expect(description.type).toBe('resolveCrmDeal');
    const input = await inputOf<ResolveCrmDealInput>(workflowId);
    expect(input).toMatchObject({ source: 'hubspot', account: String(portalId), dealId: String(dealId), services: ['nextnet'] });
    expect(input.settings.dnsPollInitialMs).toBeGreaterThan(0);
    expect(await runsOf(workflowId)).toHaveLength(1);
  });

  it('an event that cannot be read is ignored on its own; a body that is not a batch is a 400', async () => {
    const portalId = uniqueNumber();
    const contactId = uniqueNumber();
    const answer = (await (await postHubspot([{ eventId: 7, subscriptionType: 'contact.creation' } as HubspotWireEvent, hubspotContactCreation({ portalId, contactId })])).json()) as Answer;
    expect(answer.results.map((result) => result.outcome)).toEqual(['ignored', 'started']);
    expect(answer.results[0]).toMatchObject({ eventId: '7', why: expect.stringContaining('portalId') });

    const body = JSON.stringify({ not: 'a batch' });
    const response = await api.post('/webhooks/hubspot', body, hubspotHeaders(body));
    expect(response.status).toBe(400);
  });

  it('which events start is a setting: the won stages and the start events', () => {
    const events = [hubspotContactCreation({ portalId: 1, contactId: 2, eventId: 1 }), hubspotDealStageChange({ portalId: 1, dealId: 3, stage: 'contractsigned', eventId: 2 })];
    const intents = hubspotIntents(events, { wonStages: ['closedwon', 'contractsigned'], startEvents: ['deal.won'] });
    expect(intents).toEqual([
      { kind: 'ignore', eventId: '1', why: 'contact.creation starts no onboarding here (HUBSPOT_START_EVENTS)' },
      { kind: 'start-from-deal', eventId: '2', occurredAt: expect.any(String), source: 'hubspot', account: '1', dealId: '3' },
    ]);
  });
});

describe('Pipedrive: POST /webhooks/pipedrive', () => {
  it('a deal won twice starts one onboarding of its person, with the deal as the trigger', async () => {
    const companyId = uniqueNumber();
    const personId = uniqueNumber();
    const dealId = uniqueNumber();
    const won = pipedriveDealWon({ companyId, dealId, personId });
    outboundCalls.length = 0;
    const first = await postPipedrive(won);
    expect(first.status).toBe(202);
    const onboardingId = `onboarding-pipedrive-${companyId}-${personId}`;
    expect(await first.json()).toEqual({ results: [{ eventId: won.meta.id, outcome: 'started', onboardingId, workflowId: onboardingId }] });
    // Pipedrive's retry of the same delivery, then the deal reopened and won again.
    const retry = (await (await postPipedrive(won)).json()) as Answer;
    const wonAgain = (await (await postPipedrive(pipedriveDealWon({ companyId, dealId, personId }))).json()) as Answer;
    expect([retry.results[0]?.outcome, wonAgain.results[0]?.outcome]).toEqual(['already-started', 'already-started']);
    expect(outboundCalls).toEqual([]);

    const input = await inputOf(onboardingId);
    expect(input.crm?.record).toEqual({ source: 'pipedrive', account: String(companyId), client: { type: 'person', id: String(personId) }, trigger: { type: 'deal', id: String(dealId) } });
    expect(await runsOf(onboardingId)).toHaveLength(1);
  });

  it('a wrong or missing Basic auth is refused with 401 and starts nothing', async () => {
    const companyId = uniqueNumber();
    const personId = uniqueNumber();
    const won = pipedriveDealWon({ companyId, dealId: uniqueNumber(), personId });
    const wrong = await postPipedrive(won, pipedriveBasicAuth(PIPEDRIVE.user, 'not-the-password'));
    expect(wrong.status).toBe(401);
    expect((await errorOf(wrong)).message).toContain('wrong HTTP Basic auth');
    expect((await postPipedrive(won, {})).status).toBe(401);
    await expectNoWorkflow(`onboarding-pipedrive-${companyId}-${personId}`);
  });

  it('reads what starts an onboarding and ignores the rest', () => {
    const at = new Date();
    const settings = { startEvents: ['deal.won', 'person.create'] as const };
    const read = (delivery: unknown) => pipedriveIntents(PipedriveDelivery.parse(delivery), { startEvents: [...settings.startEvents] }, at);
    const won = pipedriveDealWon({ companyId: 5, dealId: 6, personId: 7, deliveryId: 'd-1' });
    // A won deal edited later: v2's `previous` holds only the changed fields.
    expect(read({ ...won, previous: { title: 'Old title' } })).toEqual([{ kind: 'ignore', eventId: 'd-1', why: 'deal 6 was already won; this change is to other fields' }]);
    expect(read({ ...won, data: { ...won.data, status: 'lost' } })[0]).toMatchObject({ kind: 'ignore', why: 'deal 6 is lost, not won' });
    expect(read(pipedriveDealWon({ companyId: 5, dealId: 6, personId: null }))[0]).toMatchObject({ kind: 'ignore', why: expect.stringContaining('has no person') });
    expect(read(pipedrivePersonCreated({ companyId: 5, personId: 8, name: 'Acme Plumbing', email: 'Owner@Acme-Plumbing.com' }))[0]).toMatchObject({
      kind: 'start',
      record: { source: 'pipedrive', account: '5', client: { type: 'person', id: '8' } },
      known: { email: 'owner@acme-plumbing.com', name: 'Acme Plumbing' },
    });
    expect(pipedriveIntents(PipedriveDelivery.parse(pipedrivePersonCreated({ companyId: 5, personId: 8 })), { startEvents: ['deal.won'] }, at)[0]).toMatchObject({ kind: 'ignore', why: expect.stringContaining('PIPEDRIVE_START_EVENTS') });
    // Without company_id, the company's subdomain names the account.
    const { company_id: _companyId, ...meta } = won.meta as Record<string, unknown>;
    expect(read({ ...won, meta: { ...meta, host: 'acme.pipedrive.com' } })[0]).toMatchObject({ record: { account: 'acme' } });
  });
});

describe('GoHighLevel: POST /webhooks/gohighlevel', () => {
  it('a contact created starts its onboarding with the email, name and domain it carries', async () => {
    const locationId = `loc-${uniqueText()}`;
    const contactId = `c-${uniqueText()}`;
    const event = goHighLevelContactCreate({ locationId, contactId, email: 'Owner@Acme-Plumbing.com', firstName: 'Ada', lastName: 'Owner', companyName: 'Acme Plumbing', website: 'https://www.Acme-Plumbing.com/contact' });
    const response = await postGoHighLevel(event);
    expect(response.status).toBe(202);
    const onboardingId = `onboarding-gohighlevel-${locationId}-${contactId}`;
    expect(await response.json()).toEqual({ results: [{ eventId: event.webhookId, outcome: 'started', onboardingId, workflowId: onboardingId }] });

    const input = await inputOf(onboardingId);
    expect(input.client).toEqual({ clientId: `gohighlevel-${locationId}-${contactId}`, email: 'owner@acme-plumbing.com', name: 'Acme Plumbing', domain: 'acme-plumbing.com' });
    expect(input.crm?.record).toEqual({ source: 'gohighlevel', account: locationId, client: { type: 'contact', id: contactId } });
    const description = await temporal.workflow.getHandle(onboardingId).describe();
    expect(description.typedSearchAttributes.get(OnboardingDomain)).toBe('acme-plumbing.com');
  });

  it('an opportunity won starts the onboarding of its contact', async () => {
    const locationId = `loc-${uniqueText()}`;
    const contactId = `c-${uniqueText()}`;
    const answer = (await (await postGoHighLevel(goHighLevelOpportunityWon({ locationId, opportunityId: 'opp-1', contactId }))).json()) as Answer;
    expect(answer.results[0]).toMatchObject({ outcome: 'started', onboardingId: `onboarding-gohighlevel-${locationId}-${contactId}` });
    expect((await inputOf(`onboarding-gohighlevel-${locationId}-${contactId}`)).crm?.record.trigger).toEqual({ type: 'opportunity', id: 'opp-1' });
  });

  it('a body changed after signing is refused with 401 and starts nothing', async () => {
    const locationId = `loc-${uniqueText()}`;
    const contactId = `c-${uniqueText()}`;
    const body = JSON.stringify(goHighLevelContactCreate({ locationId, contactId, email: 'owner@acme.example' }));
    const headers = signGoHighLevelDelivery(ghlKeys.privateKey, body);
    const response = await api.post('/webhooks/gohighlevel', body.replace('owner@acme.example', 'owner@evil.example'), headers);
    expect(response.status).toBe(401);
    expect((await errorOf(response)).message).toContain('X-GHL-Signature does not match');
    await expectNoWorkflow(`onboarding-gohighlevel-${locationId}-${contactId}`);
    // Signed by another key than the one configured.
    const other = generateKeyPairSync('ed25519').privateKey;
    expect((await api.post('/webhooks/gohighlevel', body, signGoHighLevelDelivery(other, body))).status).toBe(401);
  });

  it('an unusable website is left unknown, and a location that is not the agency\'s starts nothing', () => {
    const settings = { startEvents: ['contact.create', 'opportunity.won'] as ('contact.create' | 'opportunity.won')[] };
    const at = new Date();
    const [intent] = goHighLevelIntents(goHighLevelContactCreate({ locationId: 'L1', contactId: 'C1', website: 'my site, under construction', webhookId: 'w-1' }), settings, at);
    expect(intent).toMatchObject({ kind: 'start', known: {} });
    const [other] = goHighLevelIntents(goHighLevelContactCreate({ locationId: 'L2', contactId: 'C1', webhookId: 'w-2' }), { ...settings, locationIds: ['L1'] }, at);
    expect(other).toEqual({ kind: 'ignore', eventId: 'w-2', why: "location L2 is not one of the agency's (GHL_LOCATION_IDS)" });
  });
});

describe('a CRM whose webhook is not configured', () => {
  it('answers 404 naming the variables to set, while /webhooks/crm keeps working', async () => {
    const bare = await serveApi({ temporal, vault, taskQueue });
    try {
      const messages: Record<string, string> = {};
      for (const source of ['hubspot', 'pipedrive', 'gohighlevel']) {
        const response = await bare.post(`/webhooks/${source}`, '[]', { 'content-type': 'application/json' });
        expect(response.status).toBe(404);
        messages[source] = (await errorOf(response)).message;
      }
      expect(messages.hubspot).toBe('the HubSpot webhook is not configured on this engine; set HUBSPOT_CLIENT_SECRET (see .env.example)');
      expect(messages.pipedrive).toContain('set PIPEDRIVE_WEBHOOK_USER and PIPEDRIVE_WEBHOOK_PASSWORD');
      expect(messages.gohighlevel).toContain('set GHL_LOCATION_IDS');
      expect((await errorOf(await bare.post('/webhooks/salesforce', '{}', {}))).code).toBe('unknown_crm');

      const body = JSON.stringify(clientCreatedEvent(uniqueClient()));
      expect((await bare.post('/webhooks/crm', body, signedDelivery(body))).status).toBe(202);
    } finally {
      await bare.close();
    }
  });
});

describe('npm run send-webhook -- --source <crm>', () => {
  const ROOT = new URL('..', import.meta.url).pathname;
  const sendWebhook = async (url: string, args: string[]) => {
    const { stdout } = await promisify(execFile)(`${ROOT}node_modules/.bin/tsx`, ['scripts/send-webhook.ts', ...args, '--url', url, '--json'], { cwd: ROOT, timeout: 30_000 });
    return JSON.parse(stdout) as { httpStatus: number } & Answer;
  };

  it('sends a contact created or a deal won of each CRM, signed with the development settings', { timeout: 120_000 }, async () => {
    const devApi = await serveApi({ temporal, vault, taskQueue, crmIntake: loadConfig({}).crmIntake });
    try {
      const [hubspotCreated, hubspotWon, pipedriveWon, ghlCreated] = await Promise.all([
        sendWebhook(devApi.url, ['--source', 'hubspot', '--event', 'created']),
        sendWebhook(devApi.url, ['--source', 'hubspot', '--event', 'won', '--account', '42']),
        sendWebhook(devApi.url, ['--source', 'pipedrive', '--account', '7']),
        sendWebhook(devApi.url, ['--source', 'gohighlevel', '--account', `loc-${uniqueText()}`, '--email', 'owner@acme-plumbing.com', '--name', 'Acme Plumbing', '--domain', 'www.acme-plumbing.com']),
      ]);
      expect(hubspotCreated).toMatchObject({ httpStatus: 202, results: [{ outcome: 'started', onboardingId: expect.stringMatching(/^onboarding-hubspot-\d+-\d+$/) }] });
      expect(hubspotWon).toMatchObject({ httpStatus: 202, results: [{ outcome: 'started', workflowId: expect.stringMatching(/^crm-deal-hubspot-42-\d+$/) }] });
      expect(pipedriveWon).toMatchObject({ httpStatus: 202, results: [{ outcome: 'started', onboardingId: expect.stringMatching(/^onboarding-pipedrive-7-\d+$/) }] });
      expect(ghlCreated).toMatchObject({ httpStatus: 202, results: [{ outcome: 'started' }] });
      expect((await inputOf(ghlCreated.results[0]!.onboardingId!)).client.domain).toBe('acme-plumbing.com');
    } finally {
      await devApi.close();
    }
  });
});

describe('the intake settings', () => {
  const productionEnv = {
    NODE_ENV: 'production',
    RESELLER_API_URL: 'https://api.nextnet.ai/accounts',
    RESELLER_API_KEY: 'sk_org_live_0123456789',
    CRM_WEBHOOK_SECRET: 'whsec_' + randomBytes(32).toString('base64'),
    OPS_API_TOKEN: 'ops-token-0123456789',
    VAULT_KEY: randomBytes(32).toString('base64'),
    PAYLOAD_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    SMTP_URL: 'smtps://mailer:pw@smtp.agency.example:465',
    EMAIL_FROM: 'Acme Agency <onboarding@agency.example>',
    TEMPORAL_ADDRESS: 'temporal.internal:7233',
    DATABASE_URL: 'postgres://onboarding:db-password@db.internal:5432/onboarding',
  };
  const problemsOf = (env: NodeJS.ProcessEnv) => {
    try {
      loadConfig(env);
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    return [];
  };

  it('in development every CRM webhook is on, against the simulators', () => {
    const { crmIntake: intake } = loadConfig({});
    expect(intake.hubspot).toMatchObject({ wonStages: ['closedwon'], startEvents: ['contact.creation', 'deal.won'] });
    expect(intake.hubspot?.webhookUrl).toBeUndefined();
    expect(intake.pipedrive).toMatchObject({ user: 'pipedrive', startEvents: ['deal.won'] });
    expect(intake.gohighlevel).toMatchObject({ startEvents: ['contact.create', 'opportunity.won'] });
    expect(intake.gohighlevel?.locationIds).toBeUndefined();
  });

  it('in production a CRM webhook is on only once its variables are set', () => {
    expect(loadConfig(productionEnv).crmIntake).toEqual({ hubspot: undefined, pipedrive: undefined, gohighlevel: undefined });
    const intake = loadConfig({
      ...productionEnv,
      HUBSPOT_CLIENT_SECRET: 'live-client-secret-0000',
      HUBSPOT_WON_STAGE: 'closedwon, 12345678',
      HUBSPOT_WEBHOOK_URL: 'https://onboarding.agency.example/webhooks/hubspot',
      PIPEDRIVE_WEBHOOK_USER: 'agency',
      PIPEDRIVE_WEBHOOK_PASSWORD: 'a-long-webhook-password',
      PIPEDRIVE_START_EVENTS: 'person.create,deal.won',
      GHL_LOCATION_IDS: 'loc1, loc2',
    }).crmIntake;
    expect(intake.hubspot).toEqual({ clientSecret: 'live-client-secret-0000', wonStages: ['closedwon', '12345678'], startEvents: ['contact.creation', 'deal.won'], webhookUrl: 'https://onboarding.agency.example/webhooks/hubspot' });
    expect(intake.pipedrive).toEqual({ user: 'agency', password: 'a-long-webhook-password', startEvents: ['person.create', 'deal.won'] });
    // HighLevel's published key (unconfirmed; GHL_WEBHOOK_PUBLIC_KEY overrides it).
    expect(intake.gohighlevel).toEqual({ publicKey: 'MCowBQYDK2VwAyEAi2HR1srL4o18O8BRa7gVJY7G7bupbN3H9AwJrHCDiOg=', startEvents: ['contact.create', 'opportunity.won'], locationIds: ['loc1', 'loc2'] });
  });

  it('a half-set Pipedrive pair, an unknown event or a key that is not Ed25519 is refused, naming the variable', () => {
    expect(problemsOf({ PIPEDRIVE_WEBHOOK_USER: 'agency' })).toEqual([expect.stringMatching(/^PIPEDRIVE_WEBHOOK_USER and PIPEDRIVE_WEBHOOK_PASSWORD: set both/)]);
    expect(problemsOf({ HUBSPOT_START_EVENTS: 'contact.creation,company.creation' })).toEqual(['HUBSPOT_START_EVENTS: must be a comma list of contact.creation, deal.won (unknown: company.creation)']);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    expect(problemsOf({ GHL_WEBHOOK_PUBLIC_KEY: rsa })).toEqual([expect.stringMatching(/^GHL_WEBHOOK_PUBLIC_KEY: must be an Ed25519 public key/)]);
  });
});
