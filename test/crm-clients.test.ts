import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { DEV_GHL_WEBHOOK_PRIVATE_KEY, loadConfig } from '../config/index.js';
import { createCrmActivities } from '../crm/activities.js';
import { GoHighLevelClient } from '../crm/gohighlevel/client.js';
import { goHighLevelIntents, goHighLevelPublicKey, verifyGoHighLevelDelivery } from '../crm/gohighlevel/webhook.js';
import { HubSpotClient } from '../crm/hubspot/client.js';
import { hubspotIntents, verifyHubspotDelivery } from '../crm/hubspot/webhook.js';
import { PipedriveClient } from '../crm/pipedrive/client.js';
import { pipedriveIntents, PipedriveDelivery, verifyPipedriveDelivery } from '../crm/pipedrive/webhook.js';
import { CrmFailureTypes, type CrmApi, type CrmProgress, type CrmRecord } from '../crm/types.js';
import { ResellerApiError } from '../platforms/api-errors.js';
import type { RunningSimulator } from '../simulator/app.js';
import { DEV_GHL_API_TOKEN, GHL_SIM_STATUS_FIELD } from '../simulator/crm/gohighlevel.js';
import { DEV_HUBSPOT_ACCESS_TOKEN, DEV_HUBSPOT_CLIENT_SECRET } from '../simulator/crm/hubspot.js';
import { DEV_PIPEDRIVE_API_TOKEN, DEV_PIPEDRIVE_WEBHOOK_PASSWORD, DEV_PIPEDRIVE_WEBHOOK_USER, PIPEDRIVE_SIM_FIELDS } from '../simulator/crm/pipedrive.js';
import { type Answer, callKnob, sendJson, simulatorsClosedAfterEach } from './simulator-http.js';
import { serveApi, TEST_DATA_CONVERTER } from './support.js';
import { FileVault } from '../vault/index.js';

const startSimulator = simulatorsClosedAfterEach();
const logger = pino({ level: 'silent' });

/** What the engine's webhook endpoint received: each request's method, URL, headers and exact bytes. */
interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
}

/** A stand-in for the engine's /webhooks: answers each request with the next status of `statuses` (then 200). */
class WebhookReceiver {
  readonly requests: Received[] = [];
  statuses: number[] = [];
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        this.requests.push({ method: req.method ?? '', url: `${this.url}${(req.url ?? '').replace(/^\/webhooks/, '')}`, headers: req.headers, rawBody: Buffer.concat(chunks) });
        res.statusCode = this.statuses.shift() ?? 200;
        res.end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/webhooks`;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}

let simulator: RunningSimulator;
let receiver: WebhookReceiver;
let hubspot: HubSpotClient;
let pipedrive: PipedriveClient;
let gohighlevel: GoHighLevelClient;

beforeEach(async () => {
  receiver = new WebhookReceiver();
  await receiver.start();
  simulator = await startSimulator({ apiKeys: ['sk_org_test'], dnsVerifyAfterMs: null, crm: { webhookUrl: receiver.url, webhookRetryDelaysMs: [50, 50] } });
  hubspot = new HubSpotClient({ baseUrl: simulator.crmBaseUrls.hubspot, accessToken: DEV_HUBSPOT_ACCESS_TOKEN, timeoutMs: 5_000 });
  pipedrive = new PipedriveClient({
    baseUrl: simulator.crmBaseUrls.pipedrive,
    apiToken: DEV_PIPEDRIVE_API_TOKEN,
    timeoutMs: 5_000,
    websiteField: PIPEDRIVE_SIM_FIELDS.organizationWebsite.key,
    dealStatusField: PIPEDRIVE_SIM_FIELDS.dealOnboardingStatus.key,
  });
  gohighlevel = new GoHighLevelClient({ baseUrl: simulator.crmBaseUrls.gohighlevel, apiToken: DEV_GHL_API_TOKEN, timeoutMs: 5_000, statusFieldId: GHL_SIM_STATUS_FIELD.id });
});

afterEach(async () => {
  await receiver.close();
});

// --- each CRM's API as a developer (or the CRM's own UI) uses it ---

async function hubspotApi(method: string, path: string, body?: unknown): Promise<Answer> {
  return sendJson(method, `${simulator.crmBaseUrls.hubspot}${path}`, body, { authorization: `Bearer ${DEV_HUBSPOT_ACCESS_TOKEN}` });
}
async function pipedriveApi(method: string, path: string, body?: unknown): Promise<Answer> {
  return sendJson(method, `${simulator.crmBaseUrls.pipedrive}${path}`, body, { 'x-api-token': DEV_PIPEDRIVE_API_TOKEN });
}
async function ghlApi(method: string, path: string, body?: unknown): Promise<Answer> {
  return sendJson(method, `${simulator.crmBaseUrls.gohighlevel}${path}`, body, { authorization: `Bearer ${DEV_GHL_API_TOKEN}`, version: '2021-07-28' });
}

async function hubspotContact(properties: Record<string, string>, associations?: unknown): Promise<string> {
  const answer = await hubspotApi('POST', '/crm/v3/objects/contacts', { properties, ...(associations ? { associations } : {}) });
  expect(answer.status).toBe(201);
  return answer.body.id;
}

const hubspotRecord = (contactId: string): CrmRecord => ({ source: 'hubspot', account: simulator.knobs.crm.hubspot.portalId(), client: { type: 'contact', id: contactId } });
const pipedriveRecord = (personId: number, dealId?: number): CrmRecord => ({
  source: 'pipedrive',
  account: simulator.knobs.crm.pipedrive.companyId(),
  client: { type: 'person', id: String(personId) },
  ...(dealId === undefined ? {} : { trigger: { type: 'deal', id: String(dealId) } }),
});
const ghlRecord = (contactId: string): CrmRecord => ({ source: 'gohighlevel', account: simulator.knobs.crm.gohighlevel.locationId(), client: { type: 'contact', id: contactId } });

const progress = (status: string, extra: Partial<CrmProgress> = {}): CrmProgress => ({ status, needsAttention: null, siteUrl: null, onboardingId: 'onboarding-hubspot-62515-1001', ...extra });

function activities(crms: Partial<Record<'hubspot' | 'pipedrive' | 'gohighlevel', CrmApi>>) {
  return createCrmActivities({ crms, logger });
}

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  return error as ApplicationFailure;
}

describe('reading the client from HubSpot', () => {
  it("a contact with a website gives its email, name and the website's bare domain", async () => {
    const id = await hubspotContact({ email: 'Owner@Acme-Plumbing.com', firstname: 'Ada', lastname: 'Lovelace', website: 'https://www.acme-plumbing.com/about' });
    expect(await hubspot.readClient(hubspotRecord(id))).toEqual({ email: 'owner@acme-plumbing.com', name: 'Ada Lovelace', domain: 'acme-plumbing.com', problems: [] });
  });

  it("a contact without a website takes its company's domain name", async () => {
    const company = await hubspotApi('POST', '/crm/v3/objects/companies', { properties: { name: 'Acme Plumbing', domain: 'acme-plumbing.com' } });
    const id = await hubspotContact({ email: 'owner@acme-plumbing.com' }, [{ to: { id: company.body.id }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 279 }] }]);
    const details = await hubspot.readClient(hubspotRecord(id));
    expect(details).toEqual({ email: 'owner@acme-plumbing.com', name: 'Acme Plumbing', domain: 'acme-plumbing.com', problems: [] });
  });

  it('a contact without an email or a website is told apart, each with where to fill it in', async () => {
    const id = await hubspotContact({ firstname: 'Ada' });
    const details = await hubspot.readClient(hubspotRecord(id));
    expect(details.email).toBeUndefined();
    expect(details.domain).toBeUndefined();
    expect(details.problems).toEqual([
      { field: 'email', message: `the HubSpot contact ${id} has no email: fill in Email on the contact` },
      { field: 'domain', message: `the HubSpot contact ${id} has no website: fill in Website URL on the contact, or Company domain name on its primary company` },
    ]);
  });

  it('a website that is no domain is a problem that quotes it', async () => {
    const id = await hubspotContact({ email: 'owner@acme-plumbing.com', website: 'not a website' });
    const { problems } = await hubspot.readClient(hubspotRecord(id));
    expect(problems).toHaveLength(1);
    expect(problems[0]!.field).toBe('domain');
    expect(problems[0]!.message).toContain('"not a website"');
  });

  it("a won deal's contact is found through the deal's associations", async () => {
    const contactId = await hubspotContact({ email: 'owner@acme-plumbing.com' });
    const deal = await hubspotApi('POST', '/crm/v3/objects/deals', {
      properties: { dealname: 'Acme', dealstage: 'contractsent', pipeline: 'default' },
      associations: [{ to: { id: contactId }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 3 }] }],
    });
    const lonely = await hubspotApi('POST', '/crm/v3/objects/deals', { properties: { dealname: 'Nobody', dealstage: 'closedwon' } });
    expect(await hubspot.contactOfDeal(hubspotRecord(contactId).account, deal.body.id)).toBe(contactId);
    expect(await hubspot.contactOfDeal(hubspotRecord(contactId).account, lonely.body.id)).toBeNull();
  });
});

describe('writing progress to HubSpot', () => {
  it('the first write creates the onboarding property group and properties, later writes only patch', async () => {
    const id = await hubspotContact({ email: 'owner@acme-plumbing.com' });
    await hubspot.writeProgress(hubspotRecord(id), progress('registering'));
    await hubspot.writeProgress(hubspotRecord(id), progress('completed', { siteUrl: 'https://acme-plumbing.com' }));

    const routes = simulator.knobs.crm.hubspot.calls().filter((call) => call.route !== 'create-contact').map((call) => `${call.route} ${call.status}`);
    expect(routes).toEqual([
      'update-contact 400',
      'create-property-group 201',
      'create-property 201',
      'create-property 201',
      'create-property 201',
      'update-contact 200',
      'update-contact 200',
    ]);
    expect(simulator.knobs.crm.hubspot.properties().map((p) => [p.name, p.groupName])).toEqual([
      ['onboarding_status', 'onboarding'],
      ['onboarding_needs_attention', 'onboarding'],
      ['onboarding_site_url', 'onboarding'],
    ]);
    expect(simulator.knobs.crm.hubspot.contactProperties(id)).toMatchObject({ onboarding_status: 'completed', onboarding_needs_attention: '', onboarding_site_url: 'https://acme-plumbing.com' });
  });

  it('properties someone else created first (409) are used as they are', async () => {
    await hubspotApi('POST', '/crm/v3/properties/contacts/groups', { name: 'onboarding', label: 'Onboarding' });
    await hubspotApi('POST', '/crm/v3/properties/contacts', { name: 'onboarding_status', label: 'Status', type: 'string', fieldType: 'text', groupName: 'onboarding' });
    const id = await hubspotContact({ email: 'owner@acme-plumbing.com' });
    await hubspot.writeProgress(hubspotRecord(id), progress('needs-attention', { needsAttention: 'fix the A record' }));
    expect(simulator.knobs.crm.hubspot.contactProperties(id)).toMatchObject({ onboarding_status: 'needs-attention', onboarding_needs_attention: 'fix the A record' });
  });
});

describe("the CRM's answers as failures the workflow acts on", () => {
  it('a 429 with Retry-After is a retryable failure that waits that long', async () => {
    const id = await hubspotContact({ email: 'owner@acme-plumbing.com', website: 'acme-plumbing.com' });
    simulator.knobs.crm.hubspot.addFault({ route: 'get-contact', kind: 'status', status: 429, retryAfterSeconds: 7 });
    const failure = await failureOf(new MockActivityEnvironment().run(activities({ hubspot }).readCrmClient, { onboardingId: 'onboarding-x', record: hubspotRecord(id) }));
    expect(failure.nonRetryable).toBe(false);
    expect(failure.nextRetryDelay).toBe(7_000);
    expect(failure.type).toBe('Reseller.rate-limited');
    expect(failure.message).toContain('HubSpot GET /crm/v3/objects/contacts/');
    expect(failure.message).toContain('ten_secondly_rolling');
  });

  it("a HubSpot 429 without Retry-After waits for HubSpot's rate-limit window", async () => {
    const server = createServer((_req, res) => {
      res.writeHead(429, { 'content-type': 'application/json', 'x-hubspot-ratelimit-interval-milliseconds': '10000' });
      res.end(JSON.stringify({ status: 'error', message: 'You have reached your secondly limit.', errorType: 'RATE_LIMIT' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const client = new HubSpotClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, accessToken: 'pat-test-token', timeoutMs: 2_000 });
      await expect(client.readClient(hubspotRecord('1'))).rejects.toMatchObject({ kind: 'rate-limited', retryAfterMs: 10_000 });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('a 5xx is a retryable failure, for every CRM', async () => {
    const hubspotId = await hubspotContact({ email: 'owner@acme-plumbing.com' });
    simulator.knobs.crm.hubspot.addFault({ route: 'get-contact', kind: 'status', status: 503 });
    simulator.knobs.crm.pipedrive.addFault({ route: 'get-person', kind: 'status', status: 500 });
    simulator.knobs.crm.gohighlevel.addFault({ route: 'get-contact', kind: 'status', status: 502 });
    const crmActivities = activities({ hubspot, pipedrive, gohighlevel });
    for (const record of [hubspotRecord(hubspotId), pipedriveRecord(1), ghlRecord('abc')]) {
      const failure = await failureOf(new MockActivityEnvironment().run(crmActivities.readCrmClient, { onboardingId: 'onboarding-x', record }));
      expect(failure.nonRetryable, record.source).toBe(false);
      expect(failure.type).toBe('Reseller.unavailable');
    }
  });

  it('a client record that is gone is a non-retryable failure naming it', async () => {
    const failure = await failureOf(new MockActivityEnvironment().run(activities({ hubspot }).readCrmClient, { onboardingId: 'onboarding-x', record: hubspotRecord('999999') }));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe(CrmFailureTypes.recordNotFound);
    expect(failure.message).toMatch(/^the HubSpot contact 999999 does not exist in portal 62515/);
  });

  it('a CRM without API settings on this worker fails for good, naming the variables to set', async () => {
    const failure = await failureOf(new MockActivityEnvironment().run(activities({}).writeCrmProgress, { record: pipedriveRecord(1), progress: progress('registering') }));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe(CrmFailureTypes.notConfigured);
    expect(failure.message).toContain('PIPEDRIVE_API_TOKEN');
  });

  it('a refused token names the setting to check and never shows the token', async () => {
    const client = new HubSpotClient({ baseUrl: simulator.crmBaseUrls.hubspot, accessToken: 'pat-wrong-token-123', timeoutMs: 5_000 });
    const error = await client.readClient(hubspotRecord('1')).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ResellerApiError);
    expect((error as ResellerApiError).kind).toBe('unauthorized');
    expect((error as Error).message).toContain('HUBSPOT_ACCESS_TOKEN');
    expect((error as Error).message).not.toContain('pat-wrong-token-123');
  });

  it('no token follows a redirect, whichever the CRM', async () => {
    const seenElsewhere: IncomingHttpHeaders[] = [];
    const elsewhere = createServer((req, res) => {
      seenElsewhere.push(req.headers);
      res.end('{}');
    });
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
    const target = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}`;
    const redirecting = createServer((req, res) => {
      res.writeHead(307, { location: `${target}${req.url ?? '/'}` });
      res.end();
    });
    await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
    const baseUrl = `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}`;
    try {
      const clients: [CrmApi, CrmRecord][] = [
        [new HubSpotClient({ baseUrl, accessToken: 'pat-secret-token', timeoutMs: 2_000 }), hubspotRecord('1')],
        [new PipedriveClient({ baseUrl, apiToken: 'pipedrive-secret-token', timeoutMs: 2_000, websiteField: 'website', dealStatusField: undefined }), pipedriveRecord(1)],
        [new GoHighLevelClient({ baseUrl, apiToken: 'pit-secret-token', timeoutMs: 2_000, statusFieldId: undefined }), ghlRecord('abc')],
      ];
      for (const [client, record] of clients) {
        const error = await client.readClient(record).catch((err: unknown) => err);
        expect(error, client.source).toBeInstanceOf(ResellerApiError);
        expect((error as Error).message).toContain(`a redirect (to ${target}); not followed, so the token stays here`);
      }
      expect(seenElsewhere).toEqual([]);
    } finally {
      for (const server of [elsewhere, redirecting]) {
        server.closeAllConnections();
        server.close();
      }
    }
  });
});

describe('Pipedrive', () => {
  async function person(body: Record<string, unknown>): Promise<number> {
    const answer = await pipedriveApi('POST', '/api/v2/persons', body);
    expect(answer.status).toBe(200);
    return answer.body.data.id;
  }

  it("a person's primary email and the website of its organization make the client's details", async () => {
    const org = await pipedriveApi('POST', '/api/v2/organizations', { name: 'Acme Plumbing', custom_fields: { [PIPEDRIVE_SIM_FIELDS.organizationWebsite.key]: 'http://acme-plumbing.com' } });
    const id = await person({ name: 'Ada Lovelace', org_id: org.body.data.id, emails: [{ value: 'home@example.org', primary: false }, { value: 'owner@acme-plumbing.com', primary: true }] });
    expect(await pipedrive.readClient(pipedriveRecord(id))).toEqual({ email: 'owner@acme-plumbing.com', name: 'Ada Lovelace', domain: 'acme-plumbing.com', problems: [] });
  });

  it('a person without an organization is told to get one, with a website', async () => {
    const id = await person({ name: 'Ada Lovelace', emails: [{ value: 'owner@acme-plumbing.com' }] });
    const { problems } = await pipedrive.readClient(pipedriveRecord(id));
    expect(problems).toEqual([{ field: 'domain', message: `the Pipedrive person ${id} has no website: link the person to an organization and fill in the organization's website field` }]);
  });

  it('progress sets the deal field and adds a note only when the phase changes', async () => {
    const org = await pipedriveApi('POST', '/api/v2/organizations', { name: 'Acme' });
    const id = await person({ name: 'Ada', org_id: org.body.data.id });
    const deal = await pipedriveApi('POST', '/api/v2/deals', { title: 'Acme website', person_id: id });
    const record = pipedriveRecord(id, deal.body.data.id);
    await pipedrive.writeProgress(record, progress('registering'));
    await pipedrive.writeProgress(record, progress('registering'));
    await pipedrive.writeProgress(record, progress('awaiting-dns', { needsAttention: 'point the A record of acme.com at 75.2.60.5' }));

    const notes = simulator.knobs.crm.pipedrive.notes();
    expect(notes.map((note) => note.content)).toEqual([
      'Onboarding status: registering<br>Onboarding: onboarding-hubspot-62515-1001',
      'Onboarding status: awaiting-dns<br>Needs attention: point the A record of acme.com at 75.2.60.5<br>Onboarding: onboarding-hubspot-62515-1001',
    ]);
    expect(notes.every((note) => note.person_id === id && note.deal_id === deal.body.data.id)).toBe(true);
    expect(simulator.knobs.crm.pipedrive.deals()[0]!.custom_fields).toEqual({ [PIPEDRIVE_SIM_FIELDS.dealOnboardingStatus.key]: 'awaiting-dns' });
  });

  it("a won deal's person is the client", async () => {
    const id = await person({ name: 'Ada' });
    const deal = await pipedriveApi('POST', '/api/v2/deals', { title: 'Acme website', person_id: id });
    expect(await pipedrive.contactOfDeal('1', String(deal.body.data.id))).toBe(String(id));
  });
});

describe('GoHighLevel', () => {
  async function contact(body: Record<string, unknown>): Promise<string> {
    const answer = await ghlApi('POST', '/contacts/', { locationId: simulator.knobs.crm.gohighlevel.locationId(), ...body });
    expect(answer.status).toBe(201);
    return answer.body.contact.id;
  }

  it("a contact's email, name and website make the client's details", async () => {
    const id = await contact({ firstName: 'Ada', lastName: 'Lovelace', email: 'owner@acme-plumbing.com', website: 'acme-plumbing.com' });
    expect(await gohighlevel.readClient(ghlRecord(id))).toEqual({ email: 'owner@acme-plumbing.com', name: 'Ada Lovelace', domain: 'acme-plumbing.com', problems: [] });
  });

  it('a contact without an email says to fill it in on the contact', async () => {
    const id = await contact({ firstName: 'Ada', website: 'acme-plumbing.com' });
    expect((await gohighlevel.readClient(ghlRecord(id))).problems).toEqual([{ field: 'email', message: `the GoHighLevel contact ${id} has no email: fill in Email on the contact` }]);
  });

  it('progress replaces the older onboarding tag, leaves other tags alone and sets the summary field', async () => {
    const id = await contact({ email: 'owner@acme-plumbing.com', tags: ['vip'] });
    await gohighlevel.writeProgress(ghlRecord(id), progress('registering'));
    await gohighlevel.writeProgress(ghlRecord(id), progress('completed', { siteUrl: 'https://acme-plumbing.com' }));
    await gohighlevel.writeProgress(ghlRecord(id), progress('completed', { siteUrl: 'https://acme-plumbing.com' }));
    const stored = simulator.knobs.crm.gohighlevel.contacts()[0]!;
    expect(stored.tags).toEqual(['vip', 'onboarding:completed']);
    expect(stored.customFields).toEqual([{ id: GHL_SIM_STATUS_FIELD.id, value: 'completed — https://acme-plumbing.com' }]);
    // The third write changed nothing, so it only read the contact.
    expect(simulator.knobs.crm.gohighlevel.calls().slice(-1).map((call) => call.route)).toEqual(['get-contact']);
  });
});

describe('webhooks the simulated CRMs send', () => {
  const settled = () => simulator.knobs.crm.deliveriesSettled();

  it('a HubSpot contact created and a deal won reach the engine signed with the app secret', async () => {
    const contactId = await hubspotContact({ email: 'owner@acme-plumbing.com' });
    const deal = await hubspotApi('POST', '/crm/v3/objects/deals', { properties: { dealname: 'Acme', dealstage: 'contractsent' } });
    await hubspotApi('PATCH', `/crm/v3/objects/deals/${deal.body.id}`, { properties: { dealstage: 'closedwon' } });
    await settled();

    expect(receiver.requests).toHaveLength(3);
    // Deliveries travel on their own, so they may arrive in any order: HubSpot's event ids give theirs.
    const eventIdOf = (request: Received) => Number(JSON.parse(request.rawBody.toString('utf8'))[0].eventId);
    receiver.requests.sort((a, b) => eventIdOf(a) - eventIdOf(b));
    for (const request of receiver.requests) {
      expect(request.url).toBe(`${receiver.url}/hubspot`);
      expect(verifyHubspotDelivery({ ...request, method: 'POST' }, DEV_HUBSPOT_CLIENT_SECRET)).toBeUndefined();
    }
    const intents = receiver.requests.flatMap((request) => hubspotIntents(JSON.parse(request.rawBody.toString('utf8')), { wonStages: ['closedwon'], startEvents: ['contact.creation', 'deal.won'] }));
    expect(intents.map((intent) => intent.kind)).toEqual(['start', 'ignore', 'start-from-deal']);
    expect(intents[0]).toMatchObject({ record: { source: 'hubspot', account: '62515', client: { type: 'contact', id: contactId } } });
    expect(intents[2]).toMatchObject({ source: 'hubspot', account: '62515', dealId: deal.body.id });
  });

  it('a Pipedrive deal marked won reaches the engine with the webhook user and password', async () => {
    const personAnswer = await pipedriveApi('POST', '/api/v2/persons', { name: 'Ada', emails: [{ value: 'owner@acme-plumbing.com' }] });
    const deal = await pipedriveApi('POST', '/api/v2/deals', { title: 'Acme website', person_id: personAnswer.body.data.id });
    await pipedriveApi('PATCH', `/api/v2/deals/${deal.body.data.id}`, { status: 'won' });
    await settled();

    expect(receiver.requests.map((request) => request.url)).toEqual([`${receiver.url}/pipedrive`, `${receiver.url}/pipedrive`]);
    const won = receiver.requests.find((request) => JSON.parse(request.rawBody.toString('utf8')).meta.entity === 'deal')!;
    expect(verifyPipedriveDelivery(won, { user: DEV_PIPEDRIVE_WEBHOOK_USER, password: DEV_PIPEDRIVE_WEBHOOK_PASSWORD })).toBeUndefined();
    const intents = pipedriveIntents(PipedriveDelivery.parse(JSON.parse(won.rawBody.toString('utf8'))), { startEvents: ['deal.won'] }, new Date());
    expect(intents).toEqual([
      expect.objectContaining({ kind: 'start', record: { source: 'pipedrive', account: '7404010', client: { type: 'person', id: String(personAnswer.body.data.id) }, trigger: { type: 'deal', id: String(deal.body.data.id) } } }),
    ]);
  });

  it("a GoHighLevel contact created reaches the engine signed with the key the simulator publishes", async () => {
    const published = await sendJson('GET', `${simulator.crmBaseUrls.gohighlevel}/.well-known/webhook-public-key`);
    const id = await ghlApi('POST', '/contacts/', { locationId: simulator.knobs.crm.gohighlevel.locationId(), email: 'owner@acme-plumbing.com', website: 'https://acme-plumbing.com' });
    await settled();

    expect(receiver.requests).toHaveLength(1);
    const [request] = receiver.requests;
    expect(request!.url).toBe(`${receiver.url}/gohighlevel`);
    expect(verifyGoHighLevelDelivery(request!, goHighLevelPublicKey(published.body.publicKey))).toBeUndefined();
    const intents = goHighLevelIntents(JSON.parse(request!.rawBody.toString('utf8')), { startEvents: ['contact.create'] }, new Date());
    expect(intents).toEqual([
      expect.objectContaining({ kind: 'start', record: { source: 'gohighlevel', account: 'SimLocation4010dev01', client: { type: 'contact', id: id.body.contact.id } }, known: { email: 'owner@acme-plumbing.com', domain: 'acme-plumbing.com' } }),
    ]);
  });

  it('a delivery the engine fails is retried, signed anew, and one refused with a 4xx is not', async () => {
    receiver.statuses = [503, 200, 401];
    await hubspotContact({ email: 'first@acme-plumbing.com' });
    await settled();
    await hubspotContact({ email: 'second@acme-plumbing.com' });
    await settled();

    const deliveries = (await callKnob(simulator, 'GET', '/crm/deliveries')).body;
    expect(deliveries.map((d: { state: string; attempts: { outcome: number }[] }) => [d.state, d.attempts.map((a) => a.outcome)])).toEqual([
      ['delivered', [503, 200]],
      ['failed', [401]],
    ]);
    const [first, retry] = receiver.requests;
    expect(JSON.parse(first!.rawBody.toString('utf8'))[0].attemptNumber).toBe(0);
    expect(JSON.parse(retry!.rawBody.toString('utf8'))[0].attemptNumber).toBe(1);
    expect(verifyHubspotDelivery({ ...retry!, method: 'POST' }, DEV_HUBSPOT_CLIENT_SECRET)).toBeUndefined();
  });
});

describe('the CRM simulators', () => {
  it('refuse calls without the token, as the CRMs do', async () => {
    expect((await sendJson('GET', `${simulator.crmBaseUrls.hubspot}/crm/v3/objects/contacts/1`)).status).toBe(401);
    expect((await sendJson('GET', `${simulator.crmBaseUrls.pipedrive}/api/v2/persons/1`)).status).toBe(401);
    expect((await sendJson('GET', `${simulator.crmBaseUrls.gohighlevel}/contacts/abc`, undefined, { authorization: `Bearer ${DEV_GHL_API_TOKEN}` })).body).toEqual({ statusCode: 400, message: 'Version header was not found', error: 'Bad Request' });
  });

  it('keep their records in the state file across restarts, and reset empties them', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'crm-sim-'));
    try {
      const stateFile = join(dir, 'state.json');
      const first = await startSimulator({ apiKeys: ['sk_org_test'], dnsVerifyAfterMs: null, stateFile });
      const created = await sendJson('POST', `${first.crmBaseUrls.hubspot}/crm/v3/objects/contacts`, { properties: { email: 'a@acme.com' } }, { authorization: `Bearer ${DEV_HUBSPOT_ACCESS_TOKEN}` });
      const key = first.knobs.crm.gohighlevel.webhookPublicKey();
      await first.close();
      const second = await startSimulator({ apiKeys: ['sk_org_test'], dnsVerifyAfterMs: null, stateFile });
      expect(second.knobs.crm.hubspot.contacts().map((contact) => contact.id)).toEqual([created.body.id]);
      expect(second.knobs.crm.gohighlevel.webhookPublicKey()).toBe(key);
      await callKnob(second, 'POST', '/reset');
      expect(second.knobs.crm.hubspot.contacts()).toEqual([]);
      expect(second.knobs.crm.gohighlevel.webhookPublicKey()).toBe(key);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the engine's own intake", () => {
  it('accepts what each simulated CRM sends with the development settings npm start uses', async () => {
    const { crmIntake } = loadConfig({});
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    // No worker polls this task queue: the intake's part ends once it has started the workflows.
    const api = await serveApi({
      temporal: new Client({ connection, dataConverter: TEST_DATA_CONVERTER }),
      vault: new FileVault('/tmp/crm-clients-test-vault-unused', Buffer.alloc(32, 1), logger),
      taskQueue: `crm-clients-test-${Math.random().toString(36).slice(2, 8)}`,
      crmIntake,
    });
    try {
      const sim = await startSimulator({
        apiKeys: ['sk_org_test'],
        dnsVerifyAfterMs: null,
        crm: { webhookUrl: `${api.url}/webhooks`, webhookRetryDelaysMs: [], gohighlevel: { webhookPrivateKey: DEV_GHL_WEBHOOK_PRIVATE_KEY } },
      });
      const unique = Math.random().toString(36).slice(2, 8);
      const call = (crm: keyof RunningSimulator['crmBaseUrls'], method: string, path: string, body: unknown, headers: Record<string, string>) => sendJson(method, `${sim.crmBaseUrls[crm]}${path}`, body, headers);
      await call('hubspot', 'POST', '/crm/v3/objects/contacts', { properties: { email: `owner@${unique}-hubspot.com` } }, { authorization: `Bearer ${DEV_HUBSPOT_ACCESS_TOKEN}` });
      const pd = { 'x-api-token': DEV_PIPEDRIVE_API_TOKEN };
      const person = await call('pipedrive', 'POST', '/api/v2/persons', { name: 'Ada', emails: [{ value: `owner@${unique}-pipedrive.com` }] }, pd);
      const deal = await call('pipedrive', 'POST', '/api/v2/deals', { title: 'Website', person_id: person.body.data.id }, pd);
      await call('pipedrive', 'PATCH', `/api/v2/deals/${deal.body.data.id}`, { status: 'won' }, pd);
      const ghl = { authorization: `Bearer ${DEV_GHL_API_TOKEN}`, version: '2021-07-28' };
      await call('gohighlevel', 'POST', '/contacts/', { locationId: sim.knobs.crm.gohighlevel.locationId(), email: `owner@${unique}-ghl.com`, website: `${unique}-ghl.com` }, ghl);
      await sim.knobs.crm.deliveriesSettled();

      expect(sim.knobs.crm.deliveries().map((delivery) => [delivery.source, delivery.event, delivery.state, delivery.attempts.map((a) => a.outcome)])).toEqual([
        ['hubspot', 'contact.creation', 'delivered', [expect.toSatisfy((status: number) => status >= 200 && status < 300)]],
        ['pipedrive', 'person.create', 'delivered', [expect.toSatisfy((status: number) => status >= 200 && status < 300)]],
        ['pipedrive', 'deal.change', 'delivered', [expect.toSatisfy((status: number) => status >= 200 && status < 300)]],
        ['gohighlevel', 'ContactCreate', 'delivered', [expect.toSatisfy((status: number) => status >= 200 && status < 300)]],
      ]);
    } finally {
      await api.close();
      await connection.close();
    }
  });
});
