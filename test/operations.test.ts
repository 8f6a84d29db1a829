import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/main.js';
import { CrmClientId, NeedsAttention, OnboardingDomain, OnboardingStatus } from '../workflows/search-attributes.js';
import { getStatus } from '../workflows/definitions.js';
import { clientCreatedEvent, decodedHistory, eventually, serveApi, TEST_RESELLER_KEY, uniqueClient, type TestStack, completedStatus, crmEvent, deliver, startStackWithApis } from './support.js';

interface SimCall {
  at: string;
  route: string;
  status: number | 'dropped';
  domainHost?: string;
}
interface SimDomain {
  id: string;
  host: string;
  wordpressApiKey: string | null;
  removedAt: string | null;
}
interface Status {
  status: string;
  workflowStatus: string;
  needsAttention: { reason: string; items: { code: string }[] } | null;
  failure: { reason: string; type: string } | null;
  domain: string;
  client: { email: string; domain: string };
  changes: { by: string; reason: string | null; fields: Record<string, { from: string | null; to: string | null }> }[];
  steps: { name: string; state: string }[];
}

let setup: Awaited<ReturnType<typeof startStackWithApis>>;
let stack: TestStack;
let api: Awaited<ReturnType<typeof serveApi>>;
let graceApi: Awaited<ReturnType<typeof serveApi>>;
beforeAll(async () => {
  setup = await startStackWithApis({ graceMs: 60_000 });
  ({ stack, api, graceApi } = setup);
});
afterAll(async () => {
  await setup?.close();
});

const calls = async (route: string, host: string) =>
  ((await stack.simulatorCall('GET', '/_simulator/calls')) as SimCall[]).filter((c) => c.route === route && c.domainHost === host);
const simDomains = async (host: string) => ((await stack.simulatorCall('GET', '/_simulator/domains')) as SimDomain[]).filter((d) => d.host === host);
const statusOf = async (id: string) => (await (await api.ops('GET', `/v1/onboardings/${id}`)).json()) as Status;
const retry = (id: string, body: unknown = {}) =>
  fetch(`${api.url}/v1/onboardings/${id}/retry`, {
    method: 'POST',
    headers: { authorization: 'Bearer test-ops-token-0123456789', 'content-type': 'application/json', 'x-ops-actor': 'alice' },
    body: JSON.stringify(body),
  });
const event = crmEvent;

describe('retrying onboardings', () => {
  it('resumes a failed onboarding, waiting for ops, at the failed step in the same run without registering again', async () => {
    const client = uniqueClient();
    const handle = await stack.startOnboarding(client);
    const { runId } = await handle.describe();
    // NextNet loses the domain while we wait for DNS: the onboarding fails at that step, and waits for ops.
    await eventually(async () => (await calls('register', client.domain)).length === 1, { what: 'registration' });
    await stack.simulatorCall('POST', '/_simulator/faults', { route: 'dashboard', kind: 'status', status: 404, times: 1 });
    const failed = await eventually(async () => {
      const s = await statusOf(handle.workflowId);
      return s.status === 'failed' && s;
    }, { what: 'the failure' });
    expect(failed).toMatchObject({ status: 'failed', workflowStatus: 'RUNNING', failure: { type: 'DomainRemoved' }, needsAttention: { items: [{ code: 'failed' }] } });

    const answer = await retry(handle.workflowId, { reason: 'NextNet restored the domain' });
    expect(answer.status).toBe(202);
    expect(await answer.json()).toMatchObject({ status: 'retrying', resumesAt: 'await-dns' });
    expect((await handle.describe()).runId).toBe(runId);

    const done = await eventually(async () => {
      const s = await statusOf(handle.workflowId);
      return s.workflowStatus === 'COMPLETED' && s;
    }, { what: 'the retried onboarding to complete' });
    expect(done.status).toBe('completed');
    expect(done.changes.at(-1)).toMatchObject({ reason: 'NextNet restored the domain', by: expect.stringContaining('alice') });
    // The registration (and its one-time key) from the first run was kept: NextNet saw exactly one register call.
    expect(await calls('register', client.domain)).toHaveLength(1);
    expect(await stack.vault.has({ onboardingId: handle.workflowId, name: 'wordpress-api-key' })).toBe(true);
  });

  it('retries a failed registration given up (closed as failed) with a corrected domain in a new run, and records the change', async () => {
    const client = uniqueClient();
    await stack.simulatorCall('POST', '/_simulator/foreign-domains', { host: client.domain });
    const handle = await stack.startOnboarding(client, { failedRetentionMs: 500 });
    await expect(handle.result()).rejects.toThrow();
    expect(await statusOf(handle.workflowId)).toMatchObject({ status: 'failed', workflowStatus: 'FAILED' });

    const corrected = `fixed-${client.domain}`;
    const answer = await retry(handle.workflowId, { corrections: { domain: corrected.toUpperCase() }, reason: 'typo in CRM' });
    expect(answer.status).toBe(202);
    expect(await answer.json()).toMatchObject({ resumesAt: 'register', changedFields: ['domain'] });

    const done = await eventually(async () => {
      const s = await statusOf(handle.workflowId);
      return s.workflowStatus === 'COMPLETED' && s;
    }, { what: 'completion with the corrected domain' });
    expect(done.domain).toBe(corrected);
    expect(done.changes.at(-1)?.fields).toEqual({ domain: { from: client.domain, to: corrected } });
    expect((await calls('register', corrected)).map((c) => c.status)).toEqual([201]);
    const description = await stack.client.workflow.getHandle(handle.workflowId).describe();
    expect(description.typedSearchAttributes.get(OnboardingDomain)).toBe(corrected);
  });

  it('re-registers under a corrected domain when DNS stalled on a mistyped one, removing the old registration', async () => {
    await stack.whileDnsNeverVerifies(async () => {
      const client = uniqueClient();
      const handle = await stack.startOnboarding(client, { dnsDeadlineMs: 500, dnsPollInitialMs: 200, dnsPollMaxMs: 200 });
      await eventually(async () => (await statusOf(handle.workflowId)).needsAttention !== null, { what: 'DNS stalled' });

      const corrected = `right-${client.domain}`;
      await stack.simulatorCall('POST', '/_simulator/foreign-domains', { host: `never-${corrected}` }).catch(() => undefined);
      const answer = await retry(handle.workflowId, { corrections: { domain: corrected } });
      expect(answer.status).toBe(202);
      await eventually(async () => (await calls('register', corrected)).length === 1, { what: 'the corrected registration' });
      await stack.simulatorCall('POST', `/_simulator/domains/${corrected}/verify`);
      await stack.client.workflow.getHandle(handle.workflowId).signal('checkDnsNow');
      const done = await handle.result();
      expect(done.status).toBe('completed');
      expect(done.needsAttention).toBeNull();
      expect((await simDomains(client.domain))[0]?.removedAt).not.toBeNull();
      expect((await calls('remove', client.domain)).map((c) => c.status)).toEqual([204]);
    });
  });

  it('clears a lost-key alert once ops store a regenerated key and retry', async () => {
    const client = uniqueClient();
    await stack.simulatorCall('POST', '/_simulator/faults', { route: 'register', kind: 'drop-after-write', times: 1 });
    await stack.whileDnsNeverVerifies(async () => {
      const handle = await stack.startOnboarding(client);
      await eventually(async () => (await statusOf(handle.workflowId)).needsAttention?.items[0]?.code === 'wordpress-key-lost', { what: 'lost key' });
      const stored = await fetch(`${api.url}/v1/onboardings/${handle.workflowId}/secrets/wordpress-api-key`, {
        method: 'PUT',
        headers: { authorization: 'Bearer test-ops-token-0123456789', 'content-type': 'application/json' },
        body: JSON.stringify({ value: 'nn_wp_regenerated_by_hand_0001' }),
      });
      expect(stored.status).toBe(201);
      expect((await retry(handle.workflowId)).status).toBe(202);
      const fixed = await eventually(async () => {
        const s = await statusOf(handle.workflowId);
        return s.needsAttention === null && s;
      }, { what: 'the alert to clear' });
      expect(fixed.steps.find((s) => s.name === 'secure-wordpress-key')?.state).toBe('done');
      await stack.simulatorCall('POST', `/_simulator/domains/${client.domain}/verify`);
      expect((await handle.result()).status).toBe('completed');
    });
  });

  it('clears a lost-key alert on a completed onboarding once a regenerated key is stored, without redoing any step', async () => {
    const client = uniqueClient();
    await stack.simulatorCall('POST', '/_simulator/faults', { route: 'register', kind: 'drop-after-write', times: 1 });
    const handle = await stack.startOnboarding(client);
    expect((await completedStatus(handle)).needsAttention?.items[0]?.code).toBe('wordpress-key-lost');
    const mailsBefore = (await stack.mail.emails()).filter((m) => m.to.some((t) => t.address === client.email)).length;

    await fetch(`${api.url}/v1/onboardings/${handle.workflowId}/secrets/wordpress-api-key`, {
      method: 'PUT',
      headers: { authorization: 'Bearer test-ops-token-0123456789', 'content-type': 'application/json' },
      body: JSON.stringify({ value: 'nn_wp_regenerated_by_hand_0002' }),
    });
    const answer = await retry(handle.workflowId, { reason: 'key regenerated' });
    expect(answer.status).toBe(202);
    const fixed = await eventually(async () => {
      const s = await statusOf(handle.workflowId);
      return s.workflowStatus === 'COMPLETED' && s.needsAttention === null && s;
    }, { what: 'the completed onboarding without the alert' });
    expect(fixed.status).toBe('completed');
    expect((await calls('register', client.domain)).map((c) => c.status)).toEqual(['dropped', 400]);
    expect((await stack.mail.emails()).filter((m) => m.to.some((t) => t.address === client.email))).toHaveLength(mailsBefore);
    const attributes = (await stack.client.workflow.getHandle(handle.workflowId).describe()).typedSearchAttributes;
    expect(attributes.get(NeedsAttention)).toBe(false);
  });

  it('refuses to retry an onboarding that is running normally, one that completed, and an unknown one', async () => {
    await stack.whileDnsNeverVerifies(async () => {
      const client = uniqueClient();
      const handle = await stack.startOnboarding(client, { dnsPollInitialMs: 3_600_000 });
      await eventually(async () => (await statusOf(handle.workflowId)).status === 'awaiting-dns', { what: 'awaiting DNS' });
      const running = await retry(handle.workflowId);
      expect(running.status).toBe(409);
      expect(((await running.json()) as { error: { message: string } }).error.message).toContain('running normally');
      await handle.cancel();
    });
    const done = await stack.startOnboarding(uniqueClient());
    await done.result();
    const completed = await retry(done.workflowId);
    expect(completed.status).toBe(409);
    expect(((await completed.json()) as { error: { message: string } }).error.message).toContain('completed');
    expect((await retry('onboarding-no-such-client')).status).toBe(404);
    expect((await retry(done.workflowId, { corrections: { email: 'not-an-email' } })).status).toBe(400);
  });
});

describe('offboarding churned clients', () => {
  it('cancels the running onboarding, removes the domain and revokes the key', async () => {
    await stack.whileDnsNeverVerifies(async () => {
      const client = uniqueClient();
      await deliver(api, clientCreatedEvent(client));
      const onboardingId = `onboarding-${client.clientId}`;
      await eventually(async () => (await statusOf(onboardingId)).status === 'awaiting-dns', { what: 'awaiting DNS' });

      const churned = await deliver(api, event('client.churned', { clientId: client.clientId }));
      expect(churned.status).toBe(202);
      const { offboardingId, status } = (await churned.json()) as { offboardingId: string; status: string };
      expect(status).toBe('started');
      const offboarded = await stack.client.workflow.getHandle(offboardingId).result();
      expect(offboarded).toMatchObject({ status: 'offboarded', onboardingCancelled: true, removal: 'removed', secretsRevoked: true });

      const onboarding = await statusOf(onboardingId);
      expect(onboarding).toMatchObject({ workflowStatus: 'CANCELLED', status: 'cancelled' });
      expect((await simDomains(client.domain))[0]?.removedAt).not.toBeNull();
      const secret = await api.ops('GET', `/v1/onboardings/${onboardingId}/secrets/wordpress-api-key`);
      expect(secret.status).toBe(410);

      const again = await deliver(api, event('client.churned', { clientId: client.clientId }));
      expect(await again.json()).toMatchObject({ status: 'already-offboarded' });
    });
  });

  it('a client who churns while its registration is under way: the domain that registration made is removed', async () => {
    const client = uniqueClient();
    // The registration answers slowly: the churn arrives while it is under way, and it lands after the cancellation.
    await stack.simulatorCall('POST', '/_simulator/faults', { route: 'register', kind: 'latency', latencyMs: 1_500, times: 1 });
    await deliver(api, clientCreatedEvent(client));
    const onboardingId = `onboarding-${client.clientId}`;
    await eventually(async () => (await statusOf(onboardingId)).steps?.some((s) => s.name === 'register' && s.state === 'running'), { what: 'the registration under way' });

    const churned = await deliver(api, event('client.churned', { clientId: client.clientId }));
    const { offboardingId } = (await churned.json()) as { offboardingId: string };
    const offboarded = await stack.client.workflow.getHandle(offboardingId).result();
    expect(offboarded).toMatchObject({ status: 'offboarded', onboardingCancelled: true, removal: 'removed' });
    const [domain] = await simDomains(client.domain);
    expect(domain?.removedAt).not.toBeNull();
  });

  it('counts a domain NextNet no longer has as removed', async () => {
    const client = uniqueClient();
    await deliver(api, clientCreatedEvent(client));
    const onboardingId = `onboarding-${client.clientId}`;
    await stack.client.workflow.getHandle(onboardingId).result();
    const [domain] = await simDomains(client.domain);
    await fetch(`${stack.simulator.baseUrl}/reseller/domains/${domain!.id}/remove/`, { method: 'DELETE', headers: { 'X-Serendipity-API-Key': TEST_RESELLER_KEY } });

    const churned = await deliver(api, event('client.churned', { clientId: client.clientId }));
    const { offboardingId } = (await churned.json()) as { offboardingId: string };
    expect(await stack.client.workflow.getHandle(offboardingId).result()).toMatchObject({ status: 'offboarded', removal: 'already-gone', onboardingCancelled: false });
  });

  it('a reactivation dated before the churn it follows does not cancel that churn', async () => {
    await stack.whileDnsNeverVerifies(async () => {
      const client = uniqueClient();
      await deliver(graceApi, clientCreatedEvent(client));
      const onboardingId = `onboarding-${client.clientId}`;
      await eventually(async () => (await statusOf(onboardingId)).status === 'awaiting-dns', { what: 'awaiting DNS' });
      const churnedAt = new Date();
      const { offboardingId } = (await (await deliver(graceApi, event('client.churned', { clientId: client.clientId }, churnedAt))).json()) as { offboardingId: string };

      const late = await deliver(graceApi, event('client.reactivated', { clientId: client.clientId }, new Date(churnedAt.getTime() - 60_000)));
      expect(late.status).toBe(202);
      expect(await late.json()).toMatchObject({ status: 'stale-reactivation' });
      const description = await stack.client.workflow.getHandle(offboardingId).describe();
      expect(description.status.name).toBe('RUNNING');
      expect((await stack.client.workflow.getHandle(offboardingId).query('getOffboardingStatus')) as { status: string }).toMatchObject({ status: 'grace-period' });
      await stack.client.workflow.getHandle(offboardingId).terminate('test done');
    });
  });

  it('keeps the domain and resumes the onboarding when the client is reactivated within the grace period', async () => {
    await stack.whileDnsNeverVerifies(async () => {
      const client = uniqueClient();
      await deliver(graceApi, clientCreatedEvent(client));
      const onboardingId = `onboarding-${client.clientId}`;
      await eventually(async () => (await statusOf(onboardingId)).status === 'awaiting-dns', { what: 'awaiting DNS' });
      const { offboardingId } = (await (await deliver(graceApi, event('client.churned', { clientId: client.clientId }))).json()) as { offboardingId: string };
      await eventually(async () => (await statusOf(onboardingId)).workflowStatus === 'CANCELLED', { what: 'the onboarding to be cancelled' });

      const reactivated = await deliver(graceApi, event('client.reactivated', { clientId: client.clientId }));
      expect(reactivated.status).toBe(202);
      expect(await reactivated.json()).toMatchObject({ status: 'removal-cancelled-onboarding-resumed' });
      expect(await stack.client.workflow.getHandle(offboardingId).result()).toMatchObject({ status: 'reactivated', removal: null });
      expect((await simDomains(client.domain))[0]?.removedAt).toBeNull();

      await stack.simulatorCall('POST', `/_simulator/domains/${client.domain}/verify`);
      const resumed = await eventually(async () => {
        const s = await statusOf(onboardingId);
        return s.workflowStatus === 'COMPLETED' && s;
      }, { what: 'the resumed onboarding to complete' });
      expect(resumed.status).toBe('completed');
      expect(await calls('register', client.domain)).toHaveLength(1);
    });
  });
});

describe('finding onboardings', () => {
  it('tags each onboarding with search attributes and a readable summary for the Temporal UI', async () => {
    const client = uniqueClient();
    await deliver(api, clientCreatedEvent(client));
    const handle = stack.client.workflow.getHandle(`onboarding-${client.clientId}`);
    await handle.result();
    const description = await handle.describe();
    expect(description.typedSearchAttributes.get(CrmClientId)).toBe(client.clientId);
    expect(description.typedSearchAttributes.get(OnboardingDomain)).toBe(client.domain);
    expect(description.typedSearchAttributes.get(OnboardingStatus)).toBe('completed');
    expect(description.typedSearchAttributes.get(NeedsAttention)).toBe(false);
    expect(await description.staticSummary()).toBe(`Onboard ${client.domain} for ${client.clientId} (NextNet)`);
    const history = JSON.stringify(await decodedHistory(handle));
    expect(history).toContain(Buffer.from(JSON.stringify(`Register ${client.domain} with NextNet`)).toString('base64'));
    expect((await handle.query(getStatus)).status).toBe('completed');
  });

  it('lists onboardings filtered by domain, status and attention, page by page', async () => {
    const a = uniqueClient();
    const b = uniqueClient();
    await deliver(api, clientCreatedEvent(a));
    await deliver(api, clientCreatedEvent(b));
    await stack.client.workflow.getHandle(`onboarding-${a.clientId}`).result();
    await stack.client.workflow.getHandle(`onboarding-${b.clientId}`).result();

    const byDomain = await eventually(async () => {
      const list = (await (await api.ops('GET', `/v1/onboardings?domain=${a.domain}`)).json()) as { items: { clientId: string; status: string }[] };
      return list.items.length === 1 && list.items[0]!.status === 'completed' && list;
    }, { what: 'the onboarding in visibility' });
    expect(byDomain.items[0]).toMatchObject({ clientId: a.clientId, status: 'completed' });

    const completed = (await (await api.ops('GET', '/v1/onboardings?status=completed&needsAttention=false&pageSize=1')).json()) as { items: unknown[]; nextPageToken: string | null };
    expect(completed.items).toHaveLength(1);
    expect(completed.nextPageToken).not.toBeNull();
    const next = (await (await api.ops('GET', `/v1/onboardings?status=completed&needsAttention=false&pageSize=1&pageToken=${completed.nextPageToken}`)).json()) as { items: unknown[] };
    expect(next.items).toHaveLength(1);
    expect(next.items[0]).not.toEqual(completed.items[0]);

    const bad = await api.ops('GET', '/v1/onboardings?status=exploded');
    expect(bad.status).toBe(400);
  });
});

describe('one truth about an onboarding', () => {
  it('the CLI, the API and the Temporal UI search attributes agree on completed, failed and attention states', async () => {
    const failed = uniqueClient();
    await stack.simulatorCall('POST', '/_simulator/foreign-domains', { host: failed.domain });
    const handles = [await stack.startOnboarding(uniqueClient()), await stack.startOnboarding(failed)];
    await handles[0]!.result();
    // A failure stays open, waiting for ops.
    await eventually(async () => (await statusOf(handles[1]!.workflowId)).status === 'failed', { what: 'the failure' });
    // A lost WordPress key: completed, but needing attention.
    await stack.simulatorCall('POST', '/_simulator/faults', { route: 'register', kind: 'drop-after-write', times: 1 });
    const attention = await stack.startOnboarding(uniqueClient());
    await completedStatus(attention);
    handles.push(attention);

    for (const handle of handles) {
      const fromApi = await statusOf(handle.workflowId);
      let out = '';
      const code = await runCli(['show', handle.workflowId, '--json', '--api-url', api.url, '--token', 'test-ops-token-0123456789'], {
        stdout: { write: (chunk: string) => (out += chunk) },
        stderr: { write: () => true },
        env: {},
      });
      expect(code).toBe(0);
      const cli = JSON.parse(out) as Status;
      const attributes = (await stack.client.workflow.getHandle(handle.workflowId).describe()).typedSearchAttributes;
      expect(cli.status).toBe(fromApi.status);
      expect(cli.needsAttention).toEqual(fromApi.needsAttention);
      expect(attributes.get(OnboardingStatus)).toBe(fromApi.status);
      expect(attributes.get(NeedsAttention)).toBe(fromApi.needsAttention !== null);
    }
    expect((await statusOf(handles[0]!.workflowId)).status).toBe('completed');
    expect((await statusOf(handles[1]!.workflowId)).status).toBe('failed');
    expect((await statusOf(handles[2]!.workflowId)).needsAttention?.items[0]?.code).toBe('wordpress-key-lost');
    await handles[1]!.cancel();
  });
});
