import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getStatus, checkDnsNow, MEMO_REASON, retryOnboarding } from '../workflows/definitions.js';
import { completedStatus, decodedHistory, eventually, startTestStack, uniqueClient, type TestStack } from './support.js';

interface SimDomain {
  host: string;
  wordpressApiKey: string | null;
  verification_status: string;
}
interface SimCall {
  at: string;
  method: string;
  route: string;
  status: number | 'dropped';
  domainHost?: string;
}

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ dnsVerifyAfterMs: 300 });
});
afterAll(async () => {
  await stack?.close();
});

const simDomain = async (host: string) =>
  ((await stack.simulatorCall('GET', '/_simulator/domains')) as SimDomain[]).find((d) => d.host === host);
const registerCalls = async (host: string) =>
  ((await stack.simulatorCall('GET', '/_simulator/calls')) as SimCall[]).filter((c) => c.route === 'register' && c.domainHost === host);

describe('the onboarding workflow, on a real Temporal dev server', () => {
  it('registers the client, vaults the WordPress key, waits for DNS and emails the signup link', async () => {
    const client = uniqueClient();
    const handle = await stack.startOnboarding(client);
    const result = await handle.result();

    expect(result.status).toBe('completed');
    expect(result.needsAttention).toBeNull();
    expect(result.steps.map((s) => [s.name, s.state])).toEqual([
      ['register', 'done'],
      ['secure-wordpress-key', 'done'],
      ['await-dns', 'done'],
      ['send-signup-email', 'done'],
    ]);
    expect(result.dns.verificationStatus).toBe('verified');

    const issued = await simDomain(client.domain);
    expect(issued?.wordpressApiKey).toMatch(/\S{16,}/);
    const stored = await stack.vault.reveal({ onboardingId: handle.workflowId, name: 'wordpress-api-key' }, { actor: 'test', purpose: 'assert' });
    expect(stored).toBe(issued!.wordpressApiKey);
    expect(result.registration?.keyReference).toBe(`vault:${handle.workflowId}/wordpress-api-key`);

    const history = JSON.stringify(await decodedHistory(handle));
    expect(history).not.toContain(issued!.wordpressApiKey);
    expect(stack.logs.join('')).not.toContain(issued!.wordpressApiKey);

    const mails = await stack.mail.emails();
    const signup = mails.find((m) => m.to.some((t) => t.address === client.email));
    expect(signup?.subject).toContain(client.domain);
    expect(signup?.text).toContain('https://app.bediscovered.ai/auth/signup');
    expect(signup?.text).toContain(client.email);
    expect(signup?.from[0]?.address).toBe('onboarding@agency.test');

    // Business metrics come out of the worker's Prometheus endpoint beside the SDK's own.
    const metrics = await eventually(async () => {
      const text = await (await fetch(stack.metricsUrl)).text();
      return /^onboardings_completed\{[^}]*\} [1-9]/m.test(text) && text;
    }, { what: 'the completed-onboardings metric' });
    expect(metrics).toMatch(/^onboarding_webhook_to_completion_count\{[^}]*\} [1-9]/m);
    expect(metrics).toMatch(/^onboarding_dns_wait_count\{[^}]*\} [1-9]/m);
    expect(metrics).toContain('onboarding_dns_wait_bucket{namespace="default",taskQueue="' + stack.taskQueue + '",workflowType="onboardClient",le="86400"}');
    expect(metrics).toContain('temporal_activity_execution_latency');
  });

  it('refuses a second workflow for the same client', async () => {
    const client = uniqueClient();
    const first = await stack.startOnboarding(client);
    await expect(stack.startOnboarding(client)).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
    // Let it finish, so it can't take the simulator faults queued by the next tests.
    expect((await first.result()).status).toBe('completed');
    expect(await registerCalls(client.domain)).toHaveLength(1);
  });

  it('rides out storms of 5xx and 429 answers and still completes, registering once', async () => {
    const client = uniqueClient();
    await stack.simulatorCall('POST', '/_simulator/faults', { route: 'register', kind: 'status', status: 429, retryAfterSeconds: 3, times: 1 });
    await stack.simulatorCall('POST', '/_simulator/faults', { route: 'register', kind: 'status', status: 503, times: 2 });
    await stack.simulatorCall('POST', '/_simulator/faults', { route: 'dashboard', kind: 'status', status: 502, times: 2 });
    const result = await (await stack.startOnboarding(client)).result();

    expect(result.status).toBe('completed');
    const calls = await registerCalls(client.domain);
    expect(calls.map((c) => c.status)).toEqual([429, 503, 503, 201]);
    // The retry after the 429 waited for its Retry-After (3 s), not the 1 s of the retry policy.
    expect(Date.parse(calls[1]!.at) - Date.parse(calls[0]!.at)).toBeGreaterThanOrEqual(2_900);
  });

  it('tells people when NextNet keeps failing, keeps retrying, and clears the alert once NextNet answers', async () => {
    const client = uniqueClient();
    await stack.simulatorCall('POST', '/_simulator/faults', { route: 'register', kind: 'status', status: 503, times: 3 });
    const handle = await stack.startOnboarding(client, { stallAlertMs: 1_000 });
    const stuck = await eventually(async () => {
      const s = await handle.query(getStatus);
      return s.needsAttention ? s : undefined;
    }, { what: 'the stall alert' });
    expect(stuck.status).toBe('registering');
    expect(stuck.needsAttention?.items.map((i) => i.code)).toEqual(['reseller-failing']);
    expect(stuck.needsAttention?.reason).toContain(`Registering ${client.domain} with NextNet has been failing for 1 s`);
    const alert = await eventually(async () => (await stack.mail.emails()).find((m) => m.to.some((t) => t.address === 'ops@agency.test') && m.text?.includes(`Registering ${client.domain}`)), { what: 'the ops alert' });
    expect(alert.subject).toContain(client.domain);

    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(result.needsAttention).toBeNull();
  });

  it('marks a lost WordPress key as needing attention, without registering twice, and carries on', async () => {
    const client = uniqueClient();
    await stack.simulatorCall('POST', '/_simulator/faults', { route: 'register', kind: 'drop-after-write', times: 1 });
    const handle = await stack.startOnboarding(client);
    const result = await completedStatus(handle);

    expect(result.status).toBe('completed');
    // Completed, but open for ops until the key is stored and retried (or the retention passes).
    expect((await handle.describe()).status.name).toBe('RUNNING');
    expect(result.closesAt).not.toBeNull();
    expect(result.needsAttention?.reason).toBe('WordPress key lost; regenerate it in the NextNet dashboard');
    expect(result.needsAttention?.items.map((i) => i.code)).toEqual(['wordpress-key-lost']);
    expect(result.registration).toMatchObject({ wordpressKey: 'lost', foundExisting: true, keyReference: null });
    expect(result.steps.find((s) => s.name === 'secure-wordpress-key')?.state).toBe('needs-attention');
    // The dropped call registered the domain; the retry was refused as a duplicate and nothing else was written.
    expect((await registerCalls(client.domain)).map((c) => c.status)).toEqual(['dropped', 400]);
    const domains = ((await stack.simulatorCall('GET', '/_simulator/domains')) as SimDomain[]).filter((d) => d.host === client.domain);
    expect(domains).toHaveLength(1);
    expect(await stack.vault.has({ onboardingId: handle.workflowId, name: 'wordpress-api-key' })).toBe(false);
  });

  it('stays open as failed when another account owns the domain, says what to do, and completes in the same run once retried', async () => {
    const client = uniqueClient();
    await stack.simulatorCall('POST', '/_simulator/foreign-domains', { host: client.domain });
    const handle = await stack.startOnboarding(client, { failedRetentionMs: 600_000 });

    const status = await eventually(async () => {
      const s = await handle.query(getStatus);
      return s.status === 'failed' && s;
    }, { what: 'the failure' });
    const { runId } = await handle.describe();
    expect((await handle.describe()).status.name).toBe('RUNNING');
    expect(status.failure?.type).toBe('DomainOwnedElsewhere');
    expect(status.failure?.reason).toContain('already registered with NextNet by another account');
    expect(status.steps.find((s) => s.name === 'register')?.state).toBe('failed');
    expect(status.needsAttention?.items.map((i) => i.code)).toEqual(['failed']);
    expect(status.needsAttention?.items[0]?.action).toBe(`Fix the cause, then retry or cancel: ${status.failure?.reason}`);
    expect(Date.parse(status.closesAt!) - Date.parse(status.failure!.at)).toBe(600_000);
    // The ops alert names the failure too.
    await eventually(async () => (await stack.mail.emails()).find((m) => m.to.some((t) => t.address === 'ops@agency.test') && m.text?.includes(`Failed: ${client.domain}`)), {
      what: 'the ops alert',
    });

    const corrected = `right-${client.domain}`;
    const outcome = await handle.executeUpdate(retryOnboarding, { args: [{ corrections: { domain: corrected }, reason: 'the client gave the wrong domain', by: 'test' }] });
    expect(outcome).toMatchObject({ resumesAt: 'register', changedFields: ['domain'] });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', domain: corrected, failure: null, needsAttention: null, closesAt: null });
    expect((await handle.describe()).runId).toBe(runId);
  });

  it('a domain corrected while its registration is under way: the attempt ends, its registration is removed, the corrected domain is registered', async () => {
    const client = uniqueClient();
    // The registration answers slowly: the stall alert fires while it is still under way.
    await stack.simulatorCall('POST', '/_simulator/faults', { route: 'register', kind: 'latency', latencyMs: 1_200, times: 1 });
    const handle = await stack.startOnboarding(client, { stallAlertMs: 300 });
    await eventually(async () => (await handle.query(getStatus)).needsAttention?.items.some((i) => i.code === 'reseller-failing'), { what: 'the stall alert' });
    expect((await handle.query(getStatus)).steps.find((s) => s.name === 'register')?.state).toBe('running');

    const corrected = `fixed-${client.domain}`;
    const outcome = await handle.executeUpdate(retryOnboarding, { args: [{ corrections: { domain: corrected }, reason: 'typo in the CRM', by: 'test' }] });
    expect(outcome).toEqual({ resumesAt: 'register', changedFields: ['domain'] });

    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', domain: corrected, needsAttention: null });
    expect(result.registration?.host).toBe(corrected);
    // What the slow attempt registered under the old domain is gone again; the corrected one is the live one.
    expect((await simDomain(client.domain)) as unknown).toMatchObject({ removedAt: expect.any(String) });
    expect((await simDomain(corrected)) as unknown).toMatchObject({ removedAt: null });
    expect(await registerCalls(corrected)).toHaveLength(1);
    const change = result.changes.find((c) => c.fields.domain);
    expect(change).toMatchObject({ by: 'test', fields: { domain: { from: client.domain, to: corrected } } });
  });

  // With Netlify in the plan too, Netlify has steps to redo for the corrected domain: the interrupted registration is
  // still looked for.
  it.each([[['nextnet']], [['netlify', 'nextnet']]] as const)('a domain corrected while its registration keeps failing: the failing call stops, what it may have registered is removed, the corrected domain is registered (plan %j)', async (plan) => {
    const client = uniqueClient();
    // The first attempt registers the domain but its answer is lost; every later one fails.
    await stack.simulatorCall('POST', '/_simulator/faults', { route: 'register', kind: 'drop-after-write', times: 1 });
    await stack.simulatorCall('POST', '/_simulator/faults', { route: 'register', kind: 'status', status: 503, times: 1_000 });
    try {
      const handle = await stack.startOnboarding(client, { stallAlertMs: 300 }, [...plan]);
      await eventually(async () => (await handle.query(getStatus)).needsAttention?.items.some((i) => i.code === 'reseller-failing'), { what: 'the stall alert' });
      const corrected = `fixed-${client.domain}`;
      const outcome = await handle.executeUpdate(retryOnboarding, { args: [{ corrections: { domain: corrected }, by: 'test' }] });
      expect(outcome).toEqual({ resumesAt: 'register', changedFields: ['domain'] });
      await stack.simulatorCall('DELETE', '/_simulator/faults');
      const result = await handle.result();
      expect(result).toMatchObject({ status: 'completed', domain: corrected, needsAttention: null });
      expect((await simDomain(client.domain)) as unknown).toMatchObject({ removedAt: expect.any(String) });
      expect((await registerCalls(corrected)).filter((c) => c.status === 201)).toHaveLength(1);
    } finally {
      await stack.simulatorCall('DELETE', '/_simulator/faults');
    }
  });

  it('a duplicate client in the CRM (same domain and email, another client id) fails naming the first onboarding, not as a lost key', async () => {
    const first = uniqueClient({ cms: 'wordpress' });
    const firstRun = await stack.startOnboarding(first);
    expect((await firstRun.result()).status).toBe('completed');

    const duplicate = { ...uniqueClient({ cms: 'wordpress' }), domain: first.domain, email: first.email };
    const handle = await stack.startOnboarding(duplicate, { failedRetentionMs: 600_000 });
    const status = await eventually(async () => {
      const s = await handle.query(getStatus);
      return s.status === 'failed' && s;
    }, { what: 'the failure' });
    expect(status.failure?.type).toBe('DomainAlreadyOnboarded');
    expect(status.failure?.reason).toContain(`${first.domain} is already onboarded as ${firstRun.workflowId}`);
    expect(status.needsAttention?.items.map((i) => i.code)).toEqual(['failed']);
    await handle.cancel();
  });

  it('closes as failed with NextNet reason once nobody acted within the retention', async () => {
    const client = uniqueClient();
    await stack.simulatorCall('POST', '/_simulator/faults', { route: 'register', kind: 'status', status: 400, times: 1 });
    const handle = await stack.startOnboarding(client, { failedRetentionMs: 1_000 });
    await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    const status = await handle.query(getStatus);
    expect(status.status).toBe('failed');
    expect(status.failure?.type).toBe('ResellerRejected');
    expect(status.failure?.reason).toMatch(/^NextNet rejected the registration: NextNet POST \/reseller\/domains\/ answered 400/);
  });

  it('a DNS check asked for while a check is running is not lost: another check follows at once', async () => {
    const client = uniqueClient();
    await stack.whileDnsNeverVerifies(async () => {
      const handle = await stack.startOnboarding(client, { dnsPollInitialMs: 3_600_000, dnsPollMaxMs: 3_600_000 });
      await eventually(async () => (await handle.query(getStatus)).dns.checks >= 1, { what: 'the first DNS check' });
      // The next check answers slowly; the second nudge arrives while it runs.
      await stack.simulatorCall('POST', '/_simulator/faults', { route: 'dashboard', kind: 'latency', latencyMs: 1_500, times: 1 });
      await handle.signal(checkDnsNow);
      await eventually(async () => ((await stack.simulatorCall('GET', '/_simulator/faults')) as unknown[]).length === 0, { what: 'the slow check to start' });
      await handle.signal(checkDnsNow);
      // Without the fix the onboarding would now sleep for an hour after the slow check.
      await eventually(async () => (await handle.query(getStatus)).dns.checks >= 3, { what: 'the check asked for during the slow one', timeoutMs: 15_000 });
      await handle.cancel();
    });
  });

  it('keeps polling while DNS is pending and completes when it verifies late', async () => {
    const client = uniqueClient();
    await stack.whileDnsNeverVerifies(async () => {
      const handle = await stack.startOnboarding(client);
      const waiting = await eventually(async () => {
        const s = await handle.query(getStatus);
        return s.dns.checks >= 3 && s;
      }, { what: 'three DNS checks' });
      expect(waiting.status).toBe('awaiting-dns');
      expect(waiting.dns.verificationStatus).toBe('pending');

      await stack.simulatorCall('POST', `/_simulator/domains/${client.domain}/verify`);
      const result = await handle.result();
      expect(result.status).toBe('completed');
      expect(result.dns.checks).toBeGreaterThan(3);
    });
  });

  it('checks DNS at once when signalled instead of waiting for the next poll', async () => {
    const client = uniqueClient();
    await stack.whileDnsNeverVerifies(async () => {
      const handle = await stack.startOnboarding(client, { dnsPollInitialMs: 3_600_000, dnsPollMaxMs: 3_600_000 });
      await eventually(async () => (await handle.query(getStatus)).dns.checks === 1, { what: 'the first DNS check' });
      await stack.simulatorCall('POST', `/_simulator/domains/${client.domain}/verify`);
      const signalledAt = Date.now();
      await handle.signal(checkDnsNow);
      const result = await handle.result();
      expect(result.status).toBe('completed');
      expect(result.dns.checks).toBe(2);
      expect(Date.now() - signalledAt).toBeLessThan(30_000);
    });
  });

  it('needs attention past the DNS deadline but keeps waiting, and clears it once DNS verifies', async () => {
    const client = uniqueClient();
    await stack.whileDnsNeverVerifies(async () => {
      const handle = await stack.startOnboarding(client, { dnsDeadlineMs: 1_000, dnsPollInitialMs: 300, dnsPollMaxMs: 300 });
      const stalled = await eventually(async () => {
        const s = await handle.query(getStatus);
        return s.needsAttention ? s : undefined;
      }, { what: 'needs attention' });
      expect(stalled.status).toBe('awaiting-dns');
      expect(stalled.needsAttention?.items[0]?.code).toBe('dns-stalled');
      expect(stalled.needsAttention?.reason).toContain(`DNS for ${client.domain} not verified`);
      const alert = await eventually(async () => (await stack.mail.emails()).find((m) => m.to.some((t) => t.address === 'ops@agency.test') && m.subject.includes(client.domain)), { what: 'the ops alert email' });
      expect(alert.text).toContain(handle.workflowId);

      await stack.simulatorCall('POST', `/_simulator/domains/${client.domain}/verify`);
      const result = await handle.result();
      expect(result.status).toBe('completed');
      expect(result.needsAttention).toBeNull();
    });
  });

  it('shows an unknown verification status as it is and keeps waiting', async () => {
    const client = uniqueClient();
    await stack.whileDnsNeverVerifies(async () => {
      const handle = await stack.startOnboarding(client);
      await eventually(async () => (await handle.query(getStatus)).dns.checks >= 1, { what: 'a DNS check' });
      await stack.simulatorCall('POST', `/_simulator/domains/${client.domain}/status`, { status: 'awaiting_txt_record_v2' });
      const odd = await eventually(async () => {
        const s = await handle.query(getStatus);
        return s.dns.verificationStatus === 'awaiting_txt_record_v2' && s;
      }, { what: 'the unknown status to show' });
      expect(odd.status).toBe('awaiting-dns');
      await stack.simulatorCall('POST', `/_simulator/domains/${client.domain}/verify`);
      expect((await handle.result()).status).toBe('completed');
    });
  });

  it('continues as new during a long DNS wait, keeping its progress and a short history', async () => {
    const client = uniqueClient();
    await stack.whileDnsNeverVerifies(async () => {
      const handle = await stack.startOnboarding(client, { dnsChecksPerRun: 2, dnsPollInitialMs: 100, dnsPollMaxMs: 100 });
      await eventually(async () => (await handle.query(getStatus)).runs >= 3, { what: 'two continue-as-new hops' });
      await stack.simulatorCall('POST', `/_simulator/domains/${client.domain}/verify`);
      const result = await handle.result();
      expect(result.status).toBe('completed');
      expect(result.runs).toBeGreaterThanOrEqual(3);
      expect(result.dns.checks).toBeGreaterThanOrEqual(5);
      expect(result.steps.find((s) => s.name === 'register')?.state).toBe('done');
      // Registration happened once, in the first run, and was carried across runs.
      expect(await registerCalls(client.domain)).toHaveLength(1);
      const lastRunEvents = (await handle.fetchHistory()).events ?? [];
      expect(lastRunEvents.length).toBeLessThan(60);
      // The run started with its reason in the memo, so the ops list never shows it without one.
      const reason = (await decodedHistory(handle)).events?.[0]?.workflowExecutionStartedEventAttributes?.memo?.fields?.[MEMO_REASON];
      expect(reason?.data ? (JSON.parse(Buffer.from(reason.data).toString('utf8')) as unknown) : null).toMatch(/\S/);
    });
  });
});
