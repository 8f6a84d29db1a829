import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/index.js';
import { DEV_GHL_API_TOKEN } from '../simulator/crm/gohighlevel.js';
import { DEV_HUBSPOT_ACCESS_TOKEN } from '../simulator/crm/hubspot.js';
import { DEV_PIPEDRIVE_API_TOKEN } from '../simulator/crm/pipedrive.js';
import { getStatus, type OnboardingStatus } from '../workflows/definitions.js';
import { eventually, serveApi, startTestStack, type TestStack } from './support.js';

// Whole onboardings started by each CRM's own webhook, as the simulated CRMs send it: the engine reads the client
// from the CRM and writes its progress back there.
let stack: TestStack;
let api: Awaited<ReturnType<typeof serveApi>>;

beforeAll(async () => {
  stack = await startTestStack({ dnsVerifyAfterMs: 300 });
  api = await serveApi({
    temporal: stack.client,
    vault: stack.vault,
    taskQueue: stack.taskQueue,
    // The development intake settings, for this stack's own HighLevel location.
    crmIntake: loadConfig({ GHL_LOCATION_IDS: stack.simulator.knobs.crm.gohighlevel.locationId() }).crmIntake,
    defaultServices: ['netlify', 'nextnet'],
  });
  await stack.simulatorCall('POST', '/_simulator/crm/webhooks', { webhookUrl: `${api.url}/webhooks` });
});
afterAll(async () => {
  await api?.close();
  await stack?.close();
});

const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

async function crmCall(crm: 'hubspot' | 'pipedrive' | 'gohighlevel', method: string, path: string, body?: unknown): Promise<any> {
  const headers: Record<string, string> = {
    hubspot: { authorization: `Bearer ${DEV_HUBSPOT_ACCESS_TOKEN}` },
    pipedrive: { 'x-api-token': DEV_PIPEDRIVE_API_TOKEN },
    gohighlevel: { authorization: `Bearer ${DEV_GHL_API_TOKEN}`, version: '2021-07-28' },
  }[crm];
  const response = await fetch(`${stack.simulator.crmBaseUrls[crm]}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${crm} ${method} ${path} answered ${response.status}: ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function statusOf(onboardingId: string): Promise<OnboardingStatus | undefined> {
  try {
    return await stack.client.workflow.getHandle(onboardingId).query(getStatus);
  } catch {
    return undefined;
  }
}

const completed = async (onboardingId: string) => {
  try {
    return await eventually(async () => {
      const status = await statusOf(onboardingId);
      return status?.status === 'completed' && status;
    }, { what: `${onboardingId} to complete`, timeoutMs: 60_000 });
  } catch (err) {
    // Say where it stopped: the CRM's webhook deliveries and the onboarding's status.
    const deliveries = stack.simulator.knobs.crm.deliveries().map((d) => ({ source: d.source, event: d.event, state: d.state, attempts: d.attempts.map((a) => a.outcome) }));
    throw new Error(`${(err as Error).message}; deliveries: ${JSON.stringify(deliveries)}; status: ${JSON.stringify(await statusOf(onboardingId))}`);
  }
};

describe('onboardings from a CRM’s own webhook', { timeout: 120_000 }, () => {
  it('HubSpot: a contact created in the CRM is onboarded from its record, and the contact shows completed with the site URL', async () => {
    const domain = `hs-${unique()}.example.com`;
    const contact = await crmCall('hubspot', 'POST', '/crm/v3/objects/contacts', { properties: { email: `owner@${domain}`, firstname: 'Ada', lastname: 'Lovelace', website: `https://${domain}/` } });
    const portalId = stack.simulator.knobs.crm.hubspot.portalId();
    const onboardingId = `onboarding-hubspot-${portalId}-${contact.id}`;

    const status = await completed(onboardingId);
    expect(status.client).toMatchObject({ email: `owner@${domain}`, domain, name: 'Ada Lovelace' });
    expect(status.steps[0]).toMatchObject({ name: 'read-crm', state: 'done' });

    const written = await eventually(async () => {
      const read = await crmCall('hubspot', 'GET', `/crm/v3/objects/contacts/${contact.id}?properties=onboarding_status,onboarding_site_url,onboarding_needs_attention`);
      return read.properties.onboarding_status === 'completed' && read.properties;
    }, { what: 'the completed status on the HubSpot contact' });
    expect(written.onboarding_site_url).toBe(`https://${domain}`);
    expect(written.onboarding_needs_attention ?? '').toBe('');
    // The domain the record gave is searchable like any other.
    const found: string[] = [];
    for await (const run of stack.client.workflow.list({ query: `OnboardingDomain = '${domain}'` })) found.push(run.workflowId);
    expect(found).toEqual([onboardingId]);
  });

  it('HubSpot: the contact created and then its deal won start one onboarding', async () => {
    const domain = `hsdeal-${unique()}.example.com`;
    const contact = await crmCall('hubspot', 'POST', '/crm/v3/objects/contacts', { properties: { email: `owner@${domain}`, website: domain } });
    const deal = await crmCall('hubspot', 'POST', '/crm/v3/objects/deals', { properties: { dealname: 'Website', dealstage: 'contractsent' } });
    await crmCall('hubspot', 'PUT', `/crm/v4/objects/deals/${deal.id}/associations/default/contacts/${contact.id}`);
    await crmCall('hubspot', 'PATCH', `/crm/v3/objects/deals/${deal.id}`, { properties: { dealstage: 'closedwon' } });
    const portalId = stack.simulator.knobs.crm.hubspot.portalId();

    const resolver = stack.client.workflow.getHandle(`crm-deal-hubspot-${portalId}-${deal.id}`);
    await eventually(async () => (await resolver.describe().catch(() => undefined)) !== undefined, { what: 'the deal to be resolved' });
    const resolved = (await resolver.result()) as { onboardingId: string; status: string };
    expect(resolved).toEqual({ onboardingId: `onboarding-hubspot-${portalId}-${contact.id}`, status: 'already-started' });
    await completed(resolved.onboardingId);
    const runs = [];
    for await (const run of stack.client.workflow.list({ query: `WorkflowId = '${resolved.onboardingId}'` })) runs.push(run);
    expect(runs).toHaveLength(1);
  });

  it('Pipedrive: a won deal whose person has no email needs attention naming the field; fixed in the CRM and retried, it completes', async () => {
    const domain = `pd-${unique()}.example.com`;
    const organization = await crmCall('pipedrive', 'POST', '/api/v2/organizations', { name: 'Acme', custom_fields: { [loadConfig({}).crmApis.pipedrive!.websiteField!]: `https://${domain}` } });
    const person = await crmCall('pipedrive', 'POST', '/api/v2/persons', { name: 'Grace Hopper', org_id: organization.data.id });
    const deal = await crmCall('pipedrive', 'POST', '/api/v2/deals', { title: 'Website', person_id: person.data.id });
    await crmCall('pipedrive', 'PATCH', `/api/v2/deals/${deal.data.id}`, { status: 'won' });
    const companyId = stack.simulator.knobs.crm.pipedrive.companyId();
    const onboardingId = `onboarding-pipedrive-${companyId}-${person.data.id}`;

    const failed = await eventually(async () => {
      const status = await statusOf(onboardingId);
      return status?.status === 'failed' && status;
    }, { what: 'the onboarding to need attention', timeoutMs: 30_000 });
    expect(failed.failure?.type).toBe('CrmRecordIncomplete');
    expect(failed.failure?.reason).toMatch(/email/i);
    expect(failed.failure?.reason).toContain(String(person.data.id));
    // The account manager sees it in the CRM: a note on the person says so.
    await eventually(async () => {
      const notes = await crmCall('pipedrive', 'GET', `/api/v1/notes?person_id=${person.data.id}`);
      return (notes.data ?? []).some((note: { content: string }) => /failed/.test(note.content));
    }, { what: 'the note on the person' });

    await crmCall('pipedrive', 'PATCH', `/api/v2/persons/${person.data.id}`, { emails: [{ value: `grace@${domain}`, primary: true }] });
    const retried = await api.opsJson('POST', `/v1/onboardings/${onboardingId}/retry`, { reason: 'email filled in in Pipedrive' });
    expect(retried.status).toBe(202);
    const status = await completed(onboardingId);
    expect(status.client).toMatchObject({ email: `grace@${domain}`, domain });
  });

  it('GoHighLevel: a contact created is onboarded, and its tags say completed', async () => {
    const domain = `ghl-${unique()}.example.com`;
    const created = await crmCall('gohighlevel', 'POST', '/contacts/', { locationId: stack.simulator.knobs.crm.gohighlevel.locationId(), email: `owner@${domain}`, firstName: 'Alan', website: domain });
    const contactId = created.contact.id as string;
    const onboardingId = `onboarding-gohighlevel-${stack.simulator.knobs.crm.gohighlevel.locationId()}-${contactId}`;
    await completed(onboardingId);
    await eventually(async () => {
      const read = await crmCall('gohighlevel', 'GET', `/contacts/${contactId}`);
      return (read.contact.tags as string[]).includes('onboarding:completed');
    }, { what: 'the completed tag' });
  });

  it('write-back failing (429 with Retry-After, then 5xx) never holds up the onboarding; the record catches up once the CRM answers', async () => {
    const domain = `slowcrm-${unique()}.example.com`;
    await stack.simulatorCall('POST', '/_simulator/hubspot/faults', { route: 'update-contact', kind: 'status', status: 429, retryAfterSeconds: 5, times: 1 });
    await stack.simulatorCall('POST', '/_simulator/hubspot/faults', { route: 'update-contact', kind: 'status', status: 503, times: 1_000 });
    let contactId: string;
    try {
      const contact = await crmCall('hubspot', 'POST', '/crm/v3/objects/contacts', { properties: { email: `owner@${domain}`, website: domain } });
      contactId = contact.id;
      await completed(`onboarding-hubspot-${stack.simulator.knobs.crm.hubspot.portalId()}-${contactId}`);
      // Completed while HubSpot still refuses every write.
      const read = await crmCall('hubspot', 'GET', `/crm/v3/objects/contacts/${contactId}?properties=onboarding_status`);
      expect(read.properties.onboarding_status ?? null).toBeNull();
    } finally {
      await stack.simulatorCall('DELETE', '/_simulator/hubspot/faults');
    }
    await eventually(async () => {
      const read = await crmCall('hubspot', 'GET', `/crm/v3/objects/contacts/${contactId}?properties=onboarding_status`);
      return read.properties.onboarding_status === 'completed';
    }, { what: 'the record to catch up', timeoutMs: 50_000 });
  });

  it('write-back failing past the stall alert: the onboarding needs attention for it, keeps its run open until the write lands, and never tells the CRM about itself', async () => {
    // An API whose onboardings raise the alert after 1.5 s of failing calls; the CRM's webhooks go to it for this test.
    const alerting = await serveApi({
      temporal: stack.client,
      vault: stack.vault,
      taskQueue: stack.taskQueue,
      crmIntake: loadConfig({ GHL_LOCATION_IDS: stack.simulator.knobs.crm.gohighlevel.locationId() }).crmIntake,
      defaultServices: ['nextnet'],
      stallAlertMs: 1_500,
    });
    await stack.simulatorCall('POST', '/_simulator/crm/webhooks', { webhookUrl: `${alerting.url}/webhooks` });
    const domain = `stuckcrm-${unique()}.example.com`;
    await stack.simulatorCall('POST', '/_simulator/hubspot/faults', { route: 'update-contact', kind: 'status', status: 503, times: 1_000 });
    let onboardingId = '';
    let contactId = '';
    try {
      const contact = await crmCall('hubspot', 'POST', '/crm/v3/objects/contacts', { properties: { email: `owner@${domain}`, website: domain } });
      contactId = contact.id;
      onboardingId = `onboarding-hubspot-${stack.simulator.knobs.crm.hubspot.portalId()}-${contactId}`;
      const stuck = await eventually(async () => {
        const status = await statusOf(onboardingId);
        return status?.status === 'completed' && status.needsAttention?.items.some((item) => item.code === 'crm-write-failing') && status;
      }, { what: 'the write-back stall alert', timeoutMs: 60_000 });
      expect(stuck.needsAttention?.reason).toMatch(/HubSpot/);
      // The run stays open while its last progress has not reached the CRM.
      expect((await stack.client.workflow.getHandle(onboardingId).describe()).status.name).toBe('RUNNING');
    } finally {
      await stack.simulatorCall('DELETE', '/_simulator/hubspot/faults');
      await stack.simulatorCall('POST', '/_simulator/crm/webhooks', { webhookUrl: `${api.url}/webhooks` });
      await alerting.close();
    }
    // Once HubSpot answers: the record reads completed with nothing to do, the alert clears and the run completes.
    const read = await eventually(async () => {
      const r = await crmCall('hubspot', 'GET', `/crm/v3/objects/contacts/${contactId}?properties=onboarding_status,onboarding_needs_attention`);
      return r.properties.onboarding_status === 'completed' && r;
    }, { what: 'the record to catch up', timeoutMs: 50_000 });
    expect(read.properties.onboarding_needs_attention ?? '').toBe('');
    const result = await stack.client.workflow.getHandle(onboardingId).result();
    expect(result.status).toBe('completed');
    expect(result.needsAttention).toBeNull();
  });
});
