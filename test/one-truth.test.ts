/**
 * Ops see one truth: the Temporal UI's filters (as the README writes them), the ops API and the CLI name the same
 * onboardings; offboardings, the last error of a failing call, cancellations and returning clients read the same
 * everywhere. On the shared dev server, with a real worker.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/main.js';
import { getStatus, type OnboardingInput } from '../workflows/definitions.js';
import type { onboardClient } from '../workflows/onboarding.js';
import { clientCreatedEvent, decodedHistory, eventually, serveApi, TEST_OPS_TOKEN, TEST_WEBHOOK_SECRET, uniqueClient, type TestStack, completedStatus, crmEvent, deliver, startStackWithApis } from './support.js';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

/** The Temporal UI filters the README gives ops, word for word. */
const UI = {
  failedAwaitingAction: 'OnboardingStatus="failed" AND ExecutionStatus="Running"',
  failedGivenUp: 'OnboardingStatus="failed" AND ExecutionStatus!="Running"',
  needsAttention: 'NeedsAttention=true AND ExecutionStatus!="ContinuedAsNew"',
};

interface ListItem {
  id: string;
  onboardingId: string;
  runId: string;
  kind: string;
  status: string | null;
  needsAttention: boolean;
  reason: string | null;
  workflowStatus: string;
}
interface View {
  kind: string;
  status: string;
  workflowStatus: string;
  runId: string;
  needsAttention: { items: { code: string }[] } | null;
  lastError: { platform: string; activity: string; message: string; attempt: number; nextAttemptAt: string | null } | null;
  offboarding: { offboardingId: string; status: string; removal: string | null; secretsRevoked: boolean; offboardedAt: string | null; churnedAt: string; removeAfter: string } | null;
  previousRun: { runId: string; offboardedAt: string } | null;
  changes: { kind?: string; by: string; reason: string | null; resumesAt: string }[];
}

let setup: Awaited<ReturnType<typeof startStackWithApis>>;
let stack: TestStack;
let api: Awaited<ReturnType<typeof serveApi>>;
let graceApi: Awaited<ReturnType<typeof serveApi>>;
beforeAll(async () => {
  setup = await startStackWithApis({ graceMs: 3_600_000 });
  ({ stack, api, graceApi } = setup);
});
afterAll(async () => {
  await setup?.close();
});

const view = async (id: string) => (await (await api.ops('GET', `/v1/onboardings/${id}`)).json()) as View;
const event = crmEvent;

async function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli([...args, '--api-url', api.url, '--token', TEST_OPS_TOKEN], {
    stdout: { write: (chunk: string) => (stdout += chunk) },
    stderr: { write: (chunk: string) => (stderr += chunk) },
    env: {},
  });
  return { code, stdout, stderr };
}

/** Every run the UI's filter lists, as workflow ids (a workflow listed twice appears twice), among `ids`. */
async function uiList(query: string, ids: Set<string>): Promise<string[]> {
  const found: string[] = [];
  for await (const run of stack.client.workflow.list({ query })) if (ids.has(run.workflowId)) found.push(run.workflowId);
  return found.sort();
}

/** Every page of the ops API's list, `pageSize` at a time, among `ids`. */
async function apiList(filters: string, ids: Set<string>, pageSize: number): Promise<ListItem[]> {
  const items: ListItem[] = [];
  let token: string | null = null;
  do {
    const response = await api.ops('GET', `/v1/onboardings?${filters}&pageSize=${pageSize}${token ? `&pageToken=${token}` : ''}`);
    expect(response.status).toBe(200);
    const page = (await response.json()) as { items: ListItem[]; nextPageToken: string | null };
    expect(page.items.length).toBeLessThanOrEqual(pageSize);
    if (page.nextPageToken) expect(page.items).toHaveLength(pageSize);
    items.push(...page.items);
    token = page.nextPageToken;
  } while (token);
  return items.filter((item) => ids.has(item.id));
}

async function cliList(args: string[], ids: Set<string>): Promise<ListItem[]> {
  const result = await cli(['list', '--all', '--json', ...args]);
  expect(result.code).toBe(0);
  return (JSON.parse(result.stdout) as { items: ListItem[] }).items.filter((item) => ids.has(item.id));
}

const idsOf = (items: ListItem[]) => items.map((item) => item.id).sort();

/**
 * Waits (briefly) for a listing to equal what is expected: visibility may lag a moment behind a run that just
 * continued as new. Returns the last listing.
 */
async function settles<T>(list: () => Promise<T>, expected: unknown, project: (value: T) => unknown = (value) => value): Promise<T> {
  let last: T | undefined;
  try {
    return await eventually(async () => {
      last = await list();
      return JSON.stringify(project(last)) === JSON.stringify(expected) && last;
    }, { what: 'the listing', timeoutMs: 10_000, intervalMs: 500 });
  } catch {
    expect(project(last as T)).toEqual(expected);
    throw new Error('unreachable');
  }
}

async function failedOpen(handleId: string) {
  return eventually(async () => {
    const v = await view(handleId);
    return v.status === 'failed' && v.workflowStatus === 'RUNNING' && v;
  }, { what: `${handleId} to fail and wait for ops` });
}

describe('the Temporal UI, the ops API and the CLI list the same onboardings', () => {
  it('agree on failed and needs-attention among completed, failed, retried, cancelled, offboarded and continued-as-new onboardings', { timeout: 240_000 }, async () => {
    for (const query of Object.values(UI)) expect(README, query).toContain(`\`${query}\``);

    const completed = uniqueClient();
    const failed = uniqueClient();
    const retried = uniqueClient();
    const givenUp = uniqueClient();
    const keyLost = uniqueClient();
    const offboarded = uniqueClient();
    const cancelled = uniqueClient();
    const continued = uniqueClient();
    const id = (client: { clientId: string }) => `onboarding-${client.clientId}`;

    // First, alone, so that no other registration meets the fault: completed, but its WordPress key was lost.
    await stack.simulatorCall('POST', '/_simulator/faults', { route: 'register', kind: 'drop-after-write', times: 1 });
    await completedStatus(await stack.startOnboarding(keyLost));

    for (const client of [failed, retried, givenUp]) await stack.simulatorCall('POST', '/_simulator/foreign-domains', { host: client.domain });
    await stack.startOnboarding(completed);
    await stack.startOnboarding(failed, { failedRetentionMs: 3_600_000 });
    await stack.startOnboarding(retried, { failedRetentionMs: 3_600_000 });
    const givenUpHandle = await stack.startOnboarding(givenUp, { failedRetentionMs: 500 });
    await deliver(api, clientCreatedEvent(offboarded));
    await failedOpen(id(retried));
    expect((await api.opsJson('POST', `/v1/onboardings/${id(retried)}/retry`, { corrections: { domain: `right-${retried.domain}` } })).status).toBe(202);
    await expect(givenUpHandle.result()).rejects.toThrow();
    for (const client of [completed, retried, offboarded]) await stack.client.workflow.getHandle(id(client)).result();
    const churn = await deliver(api, event('client.churned', { clientId: offboarded.clientId }));
    await stack.client.workflow.getHandle(((await churn.json()) as { offboardingId: string }).offboardingId).result();

    await stack.whileDnsNeverVerifies(async () => {
      await stack.startOnboarding(cancelled, { dnsPollInitialMs: 3_600_000 });
      // A DNS wait that continues as new every other check and is overdue: it needs attention, in its third run or later.
      await stack.startOnboarding(continued, { dnsChecksPerRun: 2, dnsDeadlineMs: 300, dnsPollInitialMs: 100, dnsPollMaxMs: 3_600_000 });
      await eventually(async () => (await view(id(cancelled))).status === 'awaiting-dns', { what: 'the wait to cancel' });
      expect((await api.opsJson('POST', `/v1/onboardings/${id(cancelled)}/cancel`, { reason: 'the client withdrew' })).status).toBe(202);
      await eventually(async () => {
        const status = await stack.client.workflow.getHandle(id(continued)).query(getStatus);
        return status.runs >= 3 && status.needsAttention !== null;
      }, { what: 'a stalled DNS wait in its third run' });

      const ids = new Set([completed, failed, retried, givenUp, keyLost, offboarded, cancelled, continued].flatMap((c) => [id(c), `offboarding-${c.clientId}`]));
      const expectedFailed = [id(failed), id(givenUp)].sort();
      const expectedAttention = [id(failed), id(givenUp), id(keyLost), id(continued)].sort();

      // What ops see in the Temporal UI with the README's filters (visibility settles within moments).
      await eventually(async () => {
        const failedInUi = [...(await uiList(UI.failedAwaitingAction, ids)), ...(await uiList(UI.failedGivenUp, ids))].sort();
        const attentionInUi = await uiList(UI.needsAttention, ids);
        return JSON.stringify(failedInUi) === JSON.stringify(expectedFailed) && JSON.stringify(attentionInUi) === JSON.stringify(expectedAttention);
      }, { what: 'the UI filters to show the expected onboardings', timeoutMs: 20_000 });
      expect(await uiList(UI.failedAwaitingAction, ids)).toEqual([id(failed)]);
      expect(await uiList(UI.failedGivenUp, ids)).toEqual([id(givenUp)]);

      // The API, a few rows a page (pages end in the middle of visibility pages), and the CLI, every page.
      await settles(async () => idsOf(await apiList('status=failed', ids, 2)), expectedFailed);
      await settles(async () => idsOf(await cliList(['--status', 'failed'], ids)), expectedFailed);
      await settles(async () => idsOf(await apiList('needsAttention=true', ids, 3)), expectedAttention);
      await settles(async () => idsOf(await cliList(['--needs-attention'], ids)), expectedAttention);

      // Unfiltered: one row per onboarding (never a continued-as-new run), and the offboarding as a row of its own.
      const onboardingIds = [completed, failed, retried, givenUp, keyLost, offboarded, cancelled, continued].map(id).sort();
      await settles(async () => idsOf(await apiList('kind=onboarding', ids, 4)), onboardingIds);
      const everything = await settles(async () => await cliList([], ids), [...onboardingIds, `offboarding-${offboarded.clientId}`].sort(), idsOf);
      const offboardingRow = everything.find((item) => item.id === `offboarding-${offboarded.clientId}`)!;
      expect(offboardingRow).toMatchObject({ kind: 'offboarding', onboardingId: id(offboarded), status: 'offboarded' });
      expect(offboardingRow.reason).toMatch(/^Offboarded at /);
      const row = (client: { clientId: string }) => everything.find((item) => item.id === id(client))!;
      expect(row(failed).reason).toContain('already registered with NextNet by another account');
      expect(row(continued).reason).toMatch(/DNS .* not verified/);
      expect(row(completed).reason).toBeNull();
      expect(row(cancelled)).toMatchObject({ status: 'cancelled', workflowStatus: 'CANCELLED', needsAttention: false });

      // The table shows the same: its own id, its kind and the reason, first line only.
      const table = await cli(['list', '--domain', failed.domain]);
      const [header, line] = table.stdout.split('\n');
      expect(header).toMatch(/^ID\s+KIND\s+CLIENT\s+DOMAIN\s+STATUS\s+ATTENTION\s+WORKFLOW\s+STARTED\s+AGE\s+REASON$/);
      expect(line).toMatch(new RegExp(`^${id(failed)}\\s+onboarding\\s+.*failed\\s+⚠\\s+RUNNING\\s+.*already registered`));
      // Ops cancel a failure waiting for them like any running onboarding.
      expect((await api.opsJson('POST', `/v1/onboardings/${id(failed)}/cancel`, { reason: 'the client found another agency' })).status).toBe(202);
      await eventually(async () => (await view(id(failed))).status === 'cancelled', { what: 'the failure to be cancelled' });
      expect((await view(id(failed))).changes.at(-1)).toMatchObject({ kind: 'cancel', by: expect.stringContaining('test operator'), reason: 'the client found another agency' });
      await stack.client.workflow.getHandle(id(continued)).cancel();
    });

    // A given-up failure retried later gets a new run; its old run stays in the UI's list, never in ours.
    expect((await api.opsJson('POST', `/v1/onboardings/${id(givenUp)}/retry`, { corrections: { domain: `right-${givenUp.domain}` } })).status).toBe(202);
    const retriedRun = await stack.client.workflow.getHandle(id(givenUp)).result();
    expect(retriedRun.status).toBe('completed');
    const onlyIt = new Set([id(givenUp)]);
    await eventually(async () => (await uiList('ExecutionStatus!="ContinuedAsNew"', onlyIt)).length === 2, { what: 'both runs in visibility' });
    const rows = await apiList('kind=onboarding', onlyIt, 50);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'completed', workflowStatus: 'COMPLETED', runId: (await stack.client.workflow.getHandle(id(givenUp)).describe()).runId });
    expect(await apiList('status=failed', onlyIt, 5)).toEqual([]);
  });

  it('refuses a page token made for other filters', async () => {
    const first = (await (await api.ops('GET', '/v1/onboardings?pageSize=1')).json()) as { nextPageToken: string | null };
    expect(first.nextPageToken).not.toBeNull();
    const other = await api.ops('GET', `/v1/onboardings?pageSize=1&status=completed&pageToken=${first.nextPageToken}`);
    expect(other.status).toBe(400);
    expect(((await other.json()) as { error: { fields: { field: string }[] } }).error.fields[0]?.field).toBe('pageToken');
  });

  it('refuses a page token re-made by hand, however well its checksum is recomputed without the key', async () => {
    const first = (await (await api.ops('GET', '/v1/onboardings?pageSize=1')).json()) as { nextPageToken: string | null };
    const token = JSON.parse(Buffer.from(first.nextPageToken!, 'base64url').toString('utf8')) as { p: string | null; s: number; a: string | null; n: number; q: string; c: string };
    const edited = { ...token, s: token.s + 1, a: null };
    // What someone reading the code would compute: the digest of the fields, without the deployment's key.
    edited.c = createHash('sha256').update(JSON.stringify([edited.p, edited.s, edited.a, edited.n, edited.q])).digest('base64url').slice(0, 16);
    const forged = await api.ops('GET', `/v1/onboardings?pageSize=1&pageToken=${Buffer.from(JSON.stringify(edited)).toString('base64url')}`);
    expect(forged.status).toBe(400);
    expect(((await forged.json()) as { error: { fields: { field: string }[] } }).error.fields[0]?.field).toBe('pageToken');
    // The token as given still reads.
    expect((await api.ops('GET', `/v1/onboardings?pageSize=1&pageToken=${first.nextPageToken}`)).status).toBe(200);
  });
});

describe('offboardings, first-class', () => {
  it('reads an offboarding by its own id, and shows it with the onboarding it offboarded', async () => {
    const client = uniqueClient();
    await deliver(api, clientCreatedEvent(client));
    const onboardingId = `onboarding-${client.clientId}`;
    await stack.client.workflow.getHandle(onboardingId).result();
    const { offboardingId } = (await (await deliver(api, event('client.churned', { clientId: client.clientId }))).json()) as { offboardingId: string };
    await stack.client.workflow.getHandle(offboardingId).result();

    const offboarding = (await (await api.ops('GET', `/v1/onboardings/${offboardingId}`)).json()) as Record<string, unknown>;
    expect(offboarding).toMatchObject({
      kind: 'offboarding',
      workflowId: offboardingId,
      onboardingId,
      clientId: client.clientId,
      status: 'offboarded',
      workflowStatus: 'COMPLETED',
      removal: 'removed',
      secretsRevoked: true,
      reactivatedAt: null,
    });
    expect(Date.parse(offboarding.offboardedAt as string)).toBeGreaterThanOrEqual(Date.parse(offboarding.churnedAt as string));

    const onboarding = await view(onboardingId);
    expect(onboarding.kind).toBe('onboarding');
    expect(onboarding.offboarding).toMatchObject({ offboardingId, status: 'offboarded', removal: 'removed', secretsRevoked: true, offboardedAt: offboarding.offboardedAt });

    const shown = await cli(['show', offboardingId]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/status\s+offboarded\s+\(workflow COMPLETED\)/);
    expect(shown.stdout).toMatch(/removal due\s+\d{4}-/);
    expect(shown.stdout).toMatch(/domain\s+removed from NextNet/);
    expect(shown.stdout).toMatch(/secrets\s+revoked \d{4}-/);
    const shownOnboarding = await cli(['show', onboardingId]);
    expect(shownOnboarding.stdout).toMatch(new RegExp(`offboarding\\s+${offboardingId} \\(offboarded\\) · churned .* · domain removed from NextNet · secrets revoked · offboarded `));

    // What ops do applies to onboardings: an offboarding id is refused, with what to do instead.
    const refused = await cli(['cancel', offboardingId]);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('is an offboarding');
  });

  it('shows the removal due during the grace period', async () => {
    await stack.whileDnsNeverVerifies(async () => {
      const client = uniqueClient();
      await deliver(graceApi, clientCreatedEvent(client));
      const onboardingId = `onboarding-${client.clientId}`;
      await eventually(async () => (await view(onboardingId)).status === 'awaiting-dns', { what: 'awaiting DNS' });
      const { offboardingId } = (await (await deliver(graceApi, event('client.churned', { clientId: client.clientId }))).json()) as { offboardingId: string };
      const inGrace = await eventually(async () => {
        const v = await view(onboardingId);
        return v.workflowStatus === 'CANCELLED' && v.offboarding?.status === 'grace-period' && v;
      }, { what: 'the churn to cancel the onboarding' });
      expect(Date.parse(inGrace.offboarding!.removeAfter) - Date.parse(inGrace.offboarding!.churnedAt)).toBeGreaterThanOrEqual(3_500_000);
      const shown = await cli(['show', offboardingId]);
      expect(shown.stdout).toMatch(/status\s+grace-period\s+\(workflow RUNNING\)/);
      expect(shown.stdout).toMatch(/removal due\s+.*\(in 59m\); a client\.reactivated before then keeps everything/);
      // A cancelled onboarding checks nothing any more.
      expect((await cli(['show', onboardingId])).stdout).not.toContain('next check');
      expect(await (await deliver(graceApi, event('client.reactivated', { clientId: client.clientId }))).json()).toMatchObject({ status: 'removal-cancelled-onboarding-resumed' });
      await stack.client.workflow.getHandle(onboardingId).cancel();
    });
  });
});

describe('what ops need to act', () => {
  it('shows the last error of a call that keeps failing, with its platform, attempt and next attempt', async () => {
    const client = uniqueClient();
    await stack.simulatorCall('POST', '/_simulator/faults', { route: 'register', kind: 'status', status: 503, times: 3 });
    const handle = await stack.startOnboarding(client);
    const failing = await eventually(async () => {
      const v = await view(handle.workflowId);
      return v.lastError !== null && v.lastError.attempt >= 2 && v.lastError.nextAttemptAt !== null && v;
    }, { what: 'the pending registration to have failed' });
    expect(failing.lastError).toMatchObject({ platform: 'nextnet', activity: 'registerClientDomain', message: expect.stringContaining('503') });
    const shown = await cli(['show', handle.workflowId]);
    expect(shown.stdout).toMatch(/last error\s+NextNet: .*503.* \(registerClientDomain, attempt \d+, (next attempt in \d+s|an attempt is running)\)/);

    expect((await handle.result()).status).toBe('completed');
    expect((await view(handle.workflowId)).lastError).toBeNull();
  });

  it('cancels with a reason recorded, and resumes a cancelled onboarding only when asked to', async () => {
    await stack.whileDnsNeverVerifies(async () => {
      const client = uniqueClient();
      const handle = await stack.startOnboarding(client, { dnsPollInitialMs: 3_600_000 });
      await eventually(async () => (await view(handle.workflowId)).status === 'awaiting-dns', { what: 'awaiting DNS' });
      expect((await cli(['show', handle.workflowId])).stdout).toContain('next check in');

      const cancelled = await cli(['cancel', handle.workflowId, '--reason', 'the client asked to wait']);
      expect(cancelled.code).toBe(0);
      const after = await eventually(async () => {
        const v = await view(handle.workflowId);
        return v.workflowStatus === 'CANCELLED' && v;
      }, { what: 'the cancellation' });
      expect(after.changes.at(-1)).toMatchObject({ kind: 'cancel', reason: 'the client asked to wait', by: expect.stringContaining('via cli'), resumesAt: 'await-dns' });
      const shown = await cli(['show', handle.workflowId]);
      expect(shown.stdout).not.toContain('next check');
      expect(shown.stdout).toMatch(/cancelled at await-dns by .* via cli.*: the client asked to wait/);

      const refused = await api.opsJson('POST', `/v1/onboardings/${handle.workflowId}/retry`, {});
      expect(refused.status).toBe(409);
      expect(((await refused.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'onboarding_cancelled', message: expect.stringContaining('the client asked to wait') });
      const refusedCli = await cli(['retry', handle.workflowId]);
      expect(refusedCli.code).toBe(4);
      expect(refusedCli.stderr).toContain(`onboarding retry ${handle.workflowId} --resume-cancelled`);

      const resumed = await cli(['retry', handle.workflowId, '--resume-cancelled', '--reason', 'the client is ready']);
      expect(resumed.code).toBe(0);
      expect(resumed.stdout).toContain('resumes at await-dns');
      await stack.simulatorCall('POST', `/_simulator/domains/${client.domain}/verify`);
      await stack.client.workflow.getHandle(handle.workflowId).signal('checkDnsNow');
      const done = await stack.client.workflow.getHandle<typeof onboardClient>(handle.workflowId).result();
      expect(done.status).toBe('completed');
      expect(done.changes.map((change) => change.kind ?? 'retry')).toEqual(['cancel', 'retry']);
    });
  });
});

describe('a client who churned, was offboarded and signs again', () => {
  it('gets a new onboarding run linked to the one before; redeliveries of either event start nothing', async () => {
    const client = uniqueClient();
    const onboardingId = `onboarding-${client.clientId}`;
    const signedAt = new Date();
    const original = event('client.created', client, signedAt);
    expect(await (await deliver(api, original)).json()).toMatchObject({ status: 'started' });
    await stack.client.workflow.getHandle(onboardingId).result();
    const firstRun = (await stack.client.workflow.getHandle(onboardingId).describe()).runId;

    // While the offboarding is open, the client cannot come back yet.
    const { offboardingId } = (await (await deliver(api, event('client.churned', { clientId: client.clientId }))).json()) as { offboardingId: string };
    await stack.client.workflow.getHandle(offboardingId).result();
    const { offboardedAt } = (await (await api.ops('GET', `/v1/onboardings/${offboardingId}`)).json()) as { offboardedAt: string };

    expect(await (await deliver(api, original)).json()).toMatchObject({ status: 'already-started' });

    const again = await deliver(api, event('client.created', client));
    expect(again.status).toBe(202);
    expect(await again.json()).toEqual({ onboardingId, workflowId: onboardingId, status: 'restarted', previousRun: { runId: firstRun, offboardedAt } });
    expect(await (await deliver(api, event('client.created', client))).json()).toMatchObject({ status: 'already-started' });

    const handle = stack.client.workflow.getHandle(onboardingId);
    const history = await decodedHistory(handle);
    const input = JSON.parse(Buffer.from(history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!.data!).toString('utf8')) as OnboardingInput;
    expect(input.previousRun).toEqual({ runId: firstRun, offboardedAt });
    const done = await handle.result();
    expect(done).toMatchObject({ status: 'completed', previousRun: { runId: firstRun, offboardedAt }, needsAttention: null });
    // The first life's key was revoked for good; the returning client's new key lives in a vault scope of its own.
    expect(done.secretScope).toBe(`${onboardingId}~after-${firstRun}`);
    expect(done.registration?.keyReference).toBe(`vault:${onboardingId}~after-${firstRun}/wordpress-api-key`);
    expect((await api.ops('GET', `/v1/onboardings/${onboardingId}/secrets/wordpress-api-key`)).status).toBe(200);
    const current = await view(onboardingId);
    expect(current).toMatchObject({ previousRun: { runId: firstRun, offboardedAt }, offboarding: null });
    expect(current.runId).not.toBe(firstRun);
    expect((await cli(['show', onboardingId])).stdout).toMatch(new RegExp(`previous run\\s+${firstRun} \\(the client was offboarded `));

    // Once it has finished too, the same events still start nothing new.
    expect(await (await deliver(api, original)).json()).toMatchObject({ status: 'already-started' });
    expect(await (await deliver(api, event('client.created', client))).json()).toMatchObject({ status: 'already-started' });

    // A churn of the new onboarding offboards it anew; a redelivery of the old churn does not.
    expect(await (await deliver(api, event('client.churned', { clientId: client.clientId }, signedAt))).json()).toMatchObject({ status: 'already-offboarded' });
    const churnedAgain = await deliver(api, event('client.churned', { clientId: client.clientId }));
    expect(await churnedAgain.json()).toMatchObject({ offboardingId, status: 'started' });
    expect(await stack.client.workflow.getHandle(offboardingId).result()).toMatchObject({ status: 'offboarded', removal: 'removed' });
  });
});

describe('npm run send-webhook', () => {
  const ROOT = new URL('..', import.meta.url).pathname;
  const sendWebhook = async (target: typeof api, args: string[]) => {
    const { stdout } = await promisify(execFile)(`${ROOT}node_modules/.bin/tsx`, ['scripts/send-webhook.ts', ...args, '--url', target.url, '--json'], {
      cwd: ROOT,
      env: { ...process.env, CRM_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET },
      timeout: 30_000,
    });
    return JSON.parse(stdout) as { httpStatus: number; status: string; onboardingId: string; offboardingId?: string };
  };

  it('sends every event type the intake accepts, signed as the CRM signs them', { timeout: 120_000 }, async () => {
    const { domain, email } = uniqueClient();
    const clientId = `crm-${domain.replace(/[^a-z0-9]+/gi, '-')}`;
    const createdAt = new Date().toISOString();
    expect(await sendWebhook(graceApi, ['--domain', domain, '--email', email, '--services', 'nextnet', '--timestamp', createdAt])).toMatchObject({
      httpStatus: 202,
      onboardingId: `onboarding-${clientId}`,
      status: 'started',
    });
    await stack.client.workflow.getHandle(`onboarding-${clientId}`).result();
    expect(await sendWebhook(graceApi, ['--type', 'client.churned', '--domain', domain, '--reason', 'moved to another agency'])).toMatchObject({
      httpStatus: 202,
      offboardingId: `offboarding-${clientId}`,
      status: 'started',
    });
    expect(await sendWebhook(graceApi, ['--type', 'client.reactivated', '--client-id', clientId])).toMatchObject({ httpStatus: 202, status: 'removal-cancelled' });
    expect(await sendWebhook(graceApi, ['--domain', domain, '--email', email, '--timestamp', createdAt])).toMatchObject({ httpStatus: 202, status: 'already-started' });

    const wrongType = await promisify(execFile)(`${ROOT}node_modules/.bin/tsx`, ['scripts/send-webhook.ts', '--type', 'client.exploded', '--url', api.url], { cwd: ROOT }).catch((err: { code: number; stderr: string }) => err);
    expect(wrongType).toMatchObject({ code: 2, stderr: expect.stringContaining('--type must be one of client.created, client.churned, client.reactivated') });
  });
});
