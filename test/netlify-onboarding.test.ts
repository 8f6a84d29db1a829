import { WorkflowFailedError } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlatformName } from '../platforms/catalog.js';
import { getStatus } from '../workflows/definitions.js';
import { clientCreatedEvent, decodedHistory, eventually, serveApi, TEST_LOAD_BALANCER_IP, TEST_NETLIFY_TOKEN, uniqueClient, type TestStack, crmEvent, deliver, startStackWithApis } from './support.js';

interface NetlifyCall {
  at: string;
  method: string;
  route: string;
  status: number | 'dropped';
  domainHost?: string;
}
interface SimSite {
  id: string;
  name: string;
  custom_domain: string | null;
  domain_aliases: string[];
  force_ssl: boolean;
  ssl_url: string;
  user_id: string;
}
interface SimUser {
  id: string;
  uid: string;
  email: string;
  tokens: string[];
}

let setup: Awaited<ReturnType<typeof startStackWithApis>>;
let stack: TestStack;
let api: Awaited<ReturnType<typeof serveApi>>;
let graceApi: Awaited<ReturnType<typeof serveApi>>;
beforeAll(async () => {
  // Deliveries without `services` get both platforms, like the development default.
  setup = await startStackWithApis({ graceMs: 60_000, defaultServices: ['netlify', 'nextnet'] });
  ({ stack, api, graceApi } = setup);
});
afterAll(async () => {
  await setup?.close();
});

const event = crmEvent;

const BOTH = ['netlify', 'nextnet'] as const;
const netlifyCalls = async (route: string, host?: string) =>
  ((await stack.simulatorCall('GET', '/_simulator/netlify/calls')) as NetlifyCall[]).filter((c) => c.route === route && (host === undefined || c.domainHost === host));
const simSites = async () => (await stack.simulatorCall('GET', '/_simulator/netlify/sites')) as SimSite[];
const simUsers = async () => (await stack.simulatorCall('GET', '/_simulator/netlify/users')) as SimUser[];
const netlify = (path: string, token: string, init: RequestInit = {}) =>
  fetch(`${stack.netlifyUrl}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });

describe('an onboarding onto Netlify and NextNet, on a real Temporal dev server', () => {
  it('creates the user and site, vaults the token and the key, waits for DNS, gets TLS and emails what is ready', async () => {
    const client = uniqueClient();
    const handle = await stack.startOnboarding(client, {}, [...BOTH]);
    const result = await handle.result();

    expect(result.status).toBe('completed');
    expect(result.needsAttention).toBeNull();
    expect(result.services).toEqual(['netlify', 'nextnet']);
    expect(result.steps.map((s) => [s.name, s.state])).toEqual([
      ['netlify-account', 'done'],
      ['register', 'done'],
      ['secure-wordpress-key', 'done'],
      ['netlify-site', 'done'],
      ['await-dns', 'done'],
      ['tls', 'done'],
      ['send-signup-email', 'done'],
    ]);
    expect(result.netlify?.tokenReference).toBe(`vault:${handle.workflowId}/netlify-access-token`);
    expect(result.netlify?.site).toMatchObject({ customDomain: client.domain, sslUrl: `https://${client.domain}` });
    expect(result.dns.records?.every((r) => r.ok)).toBe(true);

    // The token in the vault is the one Netlify minted, and it works: the client's own site is visible with it.
    const token = await stack.vault.reveal({ onboardingId: handle.workflowId, name: 'netlify-access-token' }, { actor: 'test', purpose: 'assert' });
    const user = (await simUsers()).find((u) => u.uid === client.clientId);
    expect(user?.tokens).toContain(token);
    const site = (await (await netlify(`/sites/${client.domain}`, token!)).json()) as SimSite;
    expect(site).toMatchObject({ custom_domain: client.domain, domain_aliases: [`www.${client.domain}`], force_ssl: true, ssl_url: `https://${client.domain}` });
    // The reseller-wide listing has it too.
    const listed = (await (await netlify('/sites?filter=all&per_page=100', TEST_NETLIFY_TOKEN)).json()) as SimSite[];
    expect(listed.map((s) => s.custom_domain)).toContain(client.domain);

    // Neither secret reaches history or logs.
    const key = await stack.vault.reveal({ onboardingId: handle.workflowId, name: 'wordpress-api-key' }, { actor: 'test', purpose: 'assert' });
    const history = JSON.stringify(await decodedHistory(handle));
    for (const secret of [token!, key!]) {
      expect(history).not.toContain(secret);
      expect(stack.logs.join('')).not.toContain(secret);
    }

    const mail = (await stack.mail.emails()).filter((m) => m.to.some((t) => t.address === client.email));
    expect(mail).toHaveLength(1);
    expect(mail[0]?.subject).toBe(`Your website and AI search visibility account for ${client.domain} are ready`);
    expect(mail[0]?.text).toContain(`https://${client.domain}`);
    expect(mail[0]?.text).toContain('https://app.bediscovered.ai/auth/signup');
  });

  it('onboards a Netlify-only plan without NextNet, and a NextNet-only plan without Netlify', async () => {
    const netlifyOnly = uniqueClient();
    const nextnetOnly = uniqueClient();
    const [a, b] = await Promise.all([
      stack.startOnboarding(netlifyOnly, {}, ['netlify']).then((h) => h.result()),
      stack.startOnboarding(nextnetOnly, {}, ['nextnet']).then((h) => h.result()),
    ]);

    expect(a.status).toBe('completed');
    expect(a.steps.map((s) => s.name)).toEqual(['netlify-account', 'netlify-site', 'await-dns', 'tls', 'send-signup-email']);
    expect(a.registration).toBeNull();
    expect(((await stack.simulatorCall('GET', '/_simulator/domains')) as { host: string }[]).some((d) => d.host === netlifyOnly.domain)).toBe(false);
    const mail = (await stack.mail.emails()).find((m) => m.to.some((t) => t.address === netlifyOnly.email));
    expect(mail?.subject).toBe(`Your website for ${netlifyOnly.domain} is ready`);
    expect(mail?.text).not.toContain('bediscovered');

    expect(b.status).toBe('completed');
    expect(b.steps.map((s) => s.name)).toEqual(['register', 'secure-wordpress-key', 'await-dns', 'send-signup-email']);
    expect(b.netlify).toBeNull();
    expect((await simSites()).some((s) => s.custom_domain === nextnetOnly.domain)).toBe(false);
  });

  it('heals a lost access_tokens answer by calling again: one user, the working token stored', async () => {
    const client = uniqueClient();
    await stack.simulatorCall('POST', '/_simulator/netlify/faults', { route: 'access-tokens', kind: 'drop-after-write', times: 1 });
    const result = await (await stack.startOnboarding(client, {}, ['netlify'])).result();

    expect(result.status).toBe('completed');
    expect(result.needsAttention).toBeNull();
    const users = (await simUsers()).filter((u) => u.uid === client.clientId);
    expect(users).toHaveLength(1);
    expect(users[0]!.tokens).toHaveLength(2);
    const stored = await stack.vault.reveal({ onboardingId: result.onboardingId, name: 'netlify-access-token' }, { actor: 'test', purpose: 'assert' });
    expect(stored).toBe(users[0]!.tokens[1]);
    expect((await netlify(`/sites/${client.domain}`, stored!)).status).toBe(200);
  });

  it('adopts a taken site name that is the client’s own, and suffixes one that belongs to someone else', async () => {
    // Someone at the agency already made the client's site by hand (its own user), without the custom domain.
    const own = uniqueClient();
    const ownToken = ((await (await netlify('/access_tokens', TEST_NETLIFY_TOKEN, { method: 'POST', body: JSON.stringify({ user: { email: own.email, uid: own.clientId } }) })).json()) as { access_token: string }).access_token;
    const ownName = own.domain.replace(/\./g, '-');
    expect((await netlify('/sites', ownToken, { method: 'POST', body: JSON.stringify({ name: ownName }) })).status).toBe(201);
    // Another account has the name this client's domain would give.
    const other = uniqueClient();
    const otherToken = ((await (await netlify('/access_tokens', TEST_NETLIFY_TOKEN, { method: 'POST', body: JSON.stringify({ user: { email: 'someone@else.test', uid: `other-${other.clientId}` } }) })).json()) as { access_token: string }).access_token;
    const otherName = other.domain.replace(/\./g, '-');
    expect((await netlify('/sites', otherToken, { method: 'POST', body: JSON.stringify({ name: otherName }) })).status).toBe(201);

    const [adopted, suffixed] = await Promise.all([
      stack.startOnboarding(own, {}, ['netlify']).then((h) => h.result()),
      stack.startOnboarding(other, {}, ['netlify']).then((h) => h.result()),
    ]);

    expect(adopted.netlify?.site).toMatchObject({ name: ownName, customDomain: own.domain, adopted: true });
    expect((await simSites()).filter((s) => s.name.startsWith(ownName))).toHaveLength(1);
    expect(suffixed.netlify?.site?.name).not.toBe(otherName);
    expect(suffixed.netlify?.site?.name.startsWith(otherName)).toBe(true);
    expect(suffixed.netlify?.site).toMatchObject({ customDomain: other.domain, adopted: false });
  });

  it('fails with the reason when another Netlify account holds the domain', async () => {
    const client = uniqueClient();
    await stack.simulatorCall('POST', '/_simulator/netlify/foreign-domains', { host: client.domain });
    const handle = await stack.startOnboarding(client, { failedRetentionMs: 500 }, ['netlify']);

    const failure = await handle.result().then(() => undefined, (err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const status = await handle.query(getStatus);
    expect(status.status).toBe('failed');
    expect(status.failure).toMatchObject({ type: 'DomainOwnedElsewhere' });
    expect(status.failure?.reason).toContain(`${client.domain} is already used by another Netlify account`);
    expect(status.steps.find((s) => s.name === 'netlify-site')).toMatchObject({ state: 'failed' });
  });

  it('waits for X-RateLimit-Reset after a 429 on site creation (no Retry-After), not sooner', async () => {
    const clients = [uniqueClient(), uniqueClient(), uniqueClient()];
    await stack.simulatorCall('POST', '/_simulator/netlify/config', { siteCreatesPerMinute: 2, siteCreateWindowMs: 4_000 });
    try {
      const results = await Promise.all(clients.map((c) => stack.startOnboarding(c, {}, ['netlify']).then((h) => h.result())));
      expect(results.map((r) => r.status)).toEqual(['completed', 'completed', 'completed']);
    } finally {
      await stack.simulatorCall('POST', '/_simulator/netlify/config', { siteCreatesPerMinute: 1_000, siteCreateWindowMs: 60_000 });
    }
    const calls = (await netlifyCalls('create-site')).filter((c) => clients.some((cl) => cl.domain === c.domainHost));
    const limited = calls.filter((c) => c.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(1);
    expect(calls.filter((c) => c.status === 201)).toHaveLength(3);
    for (const refused of limited) {
      const retry = calls.find((c) => c.domainHost === refused.domainHost && Date.parse(c.at) > Date.parse(refused.at));
      // The window frees a slot at its reset; the retry policy alone would have come back after 1 s.
      expect(Date.parse(retry!.at) - Date.parse(refused.at)).toBeGreaterThanOrEqual(1_500);
    }
  });

  it('says exactly which DNS record is wrong, then gets the certificate once the records are right', async () => {
    const client = uniqueClient();
    await stack.whileDnsNeverVerifies(async () => {
      await stack.simulatorCall('PUT', `/_simulator/dns/records/www.${client.domain}`, { records: [{ type: 'CNAME', value: 'old-host.example' }] });
      await stack.simulatorCall('PUT', `/_simulator/dns/records/${client.domain}`, { records: [{ type: 'A', value: TEST_LOAD_BALANCER_IP }] });
      const handle = await stack.startOnboarding(client, {}, ['netlify']);
      const waiting = await eventually(async () => {
        const s = await handle.query(getStatus);
        return s.status === 'awaiting-dns' && (s.dns.records?.length ?? 0) > 0 && s;
      }, { what: 'a DNS diagnosis' });
      const siteName = waiting.netlify!.site!.name;
      const www = waiting.dns.records!.find((r) => r.name === `www.${client.domain}`);
      expect(www).toMatchObject({ ok: false, found: ['old-host.example'] });
      expect(www?.fix).toBe(`www.${client.domain} is a CNAME to old-host.example; point it at ${siteName}.netlify.app`);
      expect(waiting.dns.records!.find((r) => r.name === client.domain)?.ok).toBe(true);
      expect(waiting.dns.waitingFor?.join(' ')).toContain('old-host.example');

      await stack.simulatorCall('DELETE', `/_simulator/dns/records/www.${client.domain}`);
      await stack.simulatorCall('DELETE', `/_simulator/dns/records/${client.domain}`);
      await stack.simulatorCall('POST', `/_simulator/domains/${client.domain}/verify`);
      const result = await handle.result();
      expect(result.status).toBe('completed');
      expect(result.netlify?.tls).toMatchObject({ state: 'issued' });
    });
  });
});

describe('the TLS activity against the simulator', () => {
  it('answers "waiting for DNS" (Netlify 422 bad dns) while the records are wrong, then issued', async () => {
    const client = uniqueClient();
    await stack.whileDnsNeverVerifies(async () => {
      const handle = await stack.startOnboarding(client, {}, ['netlify']);
      const waiting = await eventually(async () => {
        const s = await handle.query(getStatus);
        return s.status === 'awaiting-dns' && s.netlify?.site ? s : undefined;
      }, { what: 'the site' });
      const { activities } = stack;
      const env = new MockActivityEnvironment();
      type Tls = Awaited<ReturnType<typeof activities.secureNetlifySite>>;
      const early: Tls = await env.run(activities.secureNetlifySite, { onboardingId: handle.workflowId, siteId: waiting.netlify!.site!.id });
      expect(early).toMatchObject({ state: 'waiting-for-dns' });
      expect(early.detail).toContain('bad dns');
      expect((await netlifyCalls('provision-ssl', client.domain)).map((c) => c.status)).toContain(422);

      await stack.simulatorCall('POST', `/_simulator/domains/${client.domain}/verify`);
      const issued: Tls = await env.run(activities.secureNetlifySite, { onboardingId: handle.workflowId, siteId: waiting.netlify!.site!.id });
      expect(issued).toMatchObject({ state: 'issued', sslUrl: `https://${client.domain}` });
      expect((await handle.result()).status).toBe('completed');
    });
  });
});

describe('churn and reactivation of a Netlify and NextNet client', () => {
  it('a delivery without services onboards both; churn deletes the site and revokes both secrets', async () => {
    const client = uniqueClient();
    expect((await deliver(api, clientCreatedEvent(client))).status).toBe(202);
    const onboardingId = `onboarding-${client.clientId}`;
    const onboarded = await stack.client.workflow.getHandle(onboardingId).result();
    expect(onboarded.services).toEqual(['netlify', 'nextnet']);
    const siteId = onboarded.netlify!.site!.id;

    const churned = await deliver(api, event('client.churned', { clientId: client.clientId }));
    const { offboardingId } = (await churned.json()) as { offboardingId: string };
    const offboarded = await stack.client.workflow.getHandle(offboardingId).result();
    expect(offboarded).toMatchObject({ status: 'offboarded', removal: 'removed', siteRemoval: 'removed', secretsRevoked: true });

    expect((await netlify(`/sites/${siteId}`, TEST_NETLIFY_TOKEN)).status).toBe(404);
    for (const name of ['wordpress-api-key', 'netlify-access-token']) {
      expect((await api.ops('GET', `/v1/onboardings/${onboardingId}/secrets/${name}`)).status).toBe(410);
    }
  });

  it('a client who churns while its site is being created: the site that creation made is deleted', async () => {
    const client = uniqueClient();
    // Site creation answers slowly: the churn arrives while it is under way, and the site lands after the cancellation.
    await stack.simulatorCall('POST', '/_simulator/netlify/faults', { route: 'create-site', kind: 'latency', latencyMs: 1_500, times: 1 });
    await deliver(api, { ...clientCreatedEvent(client), data: { ...client, services: ['netlify'] } });
    const onboardingId = `onboarding-${client.clientId}`;
    const handle = stack.client.workflow.getHandle(onboardingId);
    await eventually(async () => (await handle.query(getStatus)).steps.some((s) => s.name === 'netlify-site' && s.state === 'running'), { what: 'the site creation under way' });

    const churned = await deliver(api, event('client.churned', { clientId: client.clientId }));
    const { offboardingId } = (await churned.json()) as { offboardingId: string };
    expect(await stack.client.workflow.getHandle(offboardingId).result()).toMatchObject({ status: 'offboarded', siteRemoval: 'removed' });
    const sites = (await (await netlify('/sites?filter=all', TEST_NETLIFY_TOKEN)).json()) as { custom_domain: string | null }[];
    expect(sites.filter((site) => site.custom_domain === client.domain)).toEqual([]);
  });

  it('a reactivation within the grace period keeps the site and both secrets', async () => {
    await stack.whileDnsNeverVerifies(async () => {
      const client = uniqueClient();
      await deliver(graceApi, clientCreatedEvent(client));
      const onboardingId = `onboarding-${client.clientId}`;
      const handle = stack.client.workflow.getHandle(onboardingId);
      await eventually(async () => (await handle.query(getStatus)).status === 'awaiting-dns', { what: 'awaiting DNS' });
      const { offboardingId } = (await (await deliver(graceApi, event('client.churned', { clientId: client.clientId }))).json()) as { offboardingId: string };
      await eventually(async () => (await handle.describe()).status.name === 'CANCELLED', { what: 'the onboarding to be cancelled' });

      const reactivated = await deliver(graceApi, event('client.reactivated', { clientId: client.clientId }));
      expect(await reactivated.json()).toMatchObject({ status: 'removal-cancelled-onboarding-resumed' });
      expect(await stack.client.workflow.getHandle(offboardingId).result()).toMatchObject({ status: 'reactivated', removal: null });
      expect((await simSites()).filter((s) => s.custom_domain === client.domain)).toHaveLength(1);
      for (const name of ['wordpress-api-key', 'netlify-access-token']) {
        expect((await graceApi.ops('GET', `/v1/onboardings/${onboardingId}/secrets/${name}`)).status).toBe(200);
      }

      await stack.simulatorCall('POST', `/_simulator/domains/${client.domain}/verify`);
      const resumed = await eventually(async () => {
        const d = await stack.client.workflow.getHandle(onboardingId).describe();
        return d.status.name === 'COMPLETED' && d;
      }, { what: 'the resumed onboarding to complete' });
      expect(resumed.status.name).toBe('COMPLETED');
      // Resumed where it stopped: one user, one site, however many runs.
      expect((await simUsers()).filter((u) => u.uid === client.clientId)).toHaveLength(1);
      expect((await simSites()).filter((s) => s.custom_domain === client.domain)).toHaveLength(1);
    });
  });

  it('a retry with a corrected domain moves the site instead of making a second one', async () => {
    await stack.whileDnsNeverVerifies(async () => {
      const client = uniqueClient();
      const handle = await stack.startOnboarding(client, { dnsDeadlineMs: 500 }, ['netlify']);
      const stalled = await eventually(async () => {
        const s = await handle.query(getStatus);
        return s.needsAttention?.items.some((i) => i.code === 'dns-stalled') && s;
      }, { what: 'the DNS deadline' });
      const siteId = stalled.netlify!.site!.id;
      const corrected = `fixed-${client.domain}`;
      const outcome = await handle.executeUpdate('retry', { args: [{ corrections: { domain: corrected }, reason: 'typo in the CRM', by: 'test' }] });
      expect(outcome).toMatchObject({ resumesAt: 'netlify-site', changedFields: ['domain'] });

      await eventually(async () => (await handle.query(getStatus)).netlify?.site?.customDomain === corrected, { what: 'the site to move' });
      await stack.simulatorCall('POST', `/_simulator/domains/${corrected}/verify`).catch(() => undefined);
      await stack.simulatorCall('PUT', `/_simulator/dns/records/${corrected}`, { records: [{ type: 'A', value: TEST_LOAD_BALANCER_IP }] });
      await stack.simulatorCall('PUT', `/_simulator/dns/records/www.${corrected}`, { records: [{ type: 'CNAME', value: `${stalled.netlify!.site!.name}.netlify.app` }] });
      await handle.signal('checkDnsNow');
      const result = await handle.result();
      expect(result.status).toBe('completed');
      expect(result.netlify?.site).toMatchObject({ id: siteId, customDomain: corrected });
      const sites = (await simSites()).filter((s) => s.user_id === (stalled.netlify!.userId ?? ''));
      expect(sites).toHaveLength(1);
    });
  });

  it.each<[PlatformName[]]>([[['netlify']], [[...BOTH]]])('a domain corrected while the site creation keeps failing after its answer was lost: the site it made moves, there is no second one (plan %j)', async (plan) => {
    const client = uniqueClient();
    // The first attempt finds no site and creates one, but its answer is lost; every later attempt fails at its first call.
    await stack.simulatorCall('POST', '/_simulator/netlify/faults', { route: 'get-site', kind: 'status', status: 404, times: 1 });
    await stack.simulatorCall('POST', '/_simulator/netlify/faults', { route: 'create-site', kind: 'drop-after-write', times: 1 });
    await stack.simulatorCall('POST', '/_simulator/netlify/faults', { route: 'get-site', kind: 'status', status: 503, times: 1_000 });
    const corrected = `fixed-${client.domain}`;
    try {
      const handle = await stack.startOnboarding(client, { stallAlertMs: 300 }, plan);
      await eventually(async () => (await handle.query(getStatus)).needsAttention?.items.some((i) => i.code === 'reseller-failing'), { what: 'the stall alert' });
      const made = (await simSites()).filter((site) => site.custom_domain === client.domain);
      expect(made).toHaveLength(1);
      const outcome = await handle.executeUpdate('retry', { args: [{ corrections: { domain: corrected }, by: 'test' }] });
      expect(outcome).toMatchObject({ resumesAt: 'netlify-site', changedFields: ['domain'] });
      await stack.simulatorCall('DELETE', '/_simulator/netlify/faults');

      const moved = await eventually(async () => {
        const s = await handle.query(getStatus);
        return s.netlify?.site?.customDomain === corrected && s;
      }, { what: 'the site to move' });
      expect(moved.netlify!.site!.id).toBe(made[0]!.id);
      await stack.simulatorCall('PUT', `/_simulator/dns/records/${corrected}`, { records: [{ type: 'A', value: TEST_LOAD_BALANCER_IP }] });
      await stack.simulatorCall('PUT', `/_simulator/dns/records/www.${corrected}`, { records: [{ type: 'CNAME', value: `${moved.netlify!.site!.name}.netlify.app` }] });
      await handle.signal('checkDnsNow');
      const result = await handle.result();
      expect(result).toMatchObject({ status: 'completed', domain: corrected, needsAttention: null });
      // One site for the client, on the corrected domain: none left behind on the old one.
      const sites = (await simSites()).filter((site) => site.user_id === (moved.netlify!.userId ?? ''));
      expect(sites.map((site) => site.custom_domain)).toEqual([corrected]);
    } finally {
      await stack.simulatorCall('DELETE', '/_simulator/netlify/faults');
    }
  });
});
