/**
 * Section 5, how cost grows, from real histories: events and bytes of a completed onboarding, of one DNS check
 * (one round of the DNS phase) and of one run of the DNS wait (it continues as new every `dnsChecksPerRun`
 * checks), for a NextNet plan and a Netlify + NextNet plan; then what Temporal stores for one onboarding after 1
 * day and 30 days of DNS waiting with the production back-off (DNS_POLL_INITIAL 1 min doubling to DNS_POLL_MAX
 * 30 min, 200 checks a run). Bytes are the history as the server returns it (protobuf, payloads encrypted).
 */
import type { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { getStatus, ONBOARDING_WORKFLOW_TYPE, type OnboardingInput } from '../../workflows/definitions.js';
import { CrmClientId, NeedsAttention, OnboardingDomain, OnboardingPlatforms, OnboardingStatus } from '../../workflows/search-attributes.js';
import type { PlatformName } from '../../platforms/catalog.js';
import { round, waitFor, type Rpc } from './harness.js';
import { eventBytes, EventType, fetchHistories, historyBytes, type History } from './history.js';
import type { WorldReady } from './world.js';

export interface PlanCost {
  plan: string;
  completedAtOnce: { events: number; bytes: number };
  perCheck: { events: number; bytes: number };
  perRun: { checks: number; events: number; bytes: number; overheadEvents: number; overheadBytes: number };
  /**
   * Worker CPU to replay a full run of the DNS wait (ms, wall on an otherwise idle process): what a DNS poll costs when
   * the workflow is no longer in the worker's cache, at the end of a run.
   */
  replayFullRunMs: number;
  storage: { days: number; checks: number; runs: number; kib: number }[];
}

export interface CostResult {
  checksPerRunMeasured: number;
  plans: PlanCost[];
}

/** When the DNS checks of a wait happen with the production back-off: at once, then 1, 2, 4, 8, 16, 30, 30… minutes apart. */
export function checksWithin(days: number, initialMin = 1, maxMin = 30): number {
  const horizon = days * 24 * 60;
  let t = 0;
  let interval = initialMin;
  let checks = 1;
  for (;;) {
    t += interval;
    if (t > horizon) return checks;
    checks += 1;
    interval = Math.min(interval * 2, maxMin);
  }
}

function checkActivityOf(plan: PlatformName[]): string {
  return plan.includes('nextnet') ? 'checkDomainVerification' : 'checkNetlifyDns';
}

/** Events and bytes between consecutive DNS rounds of a run, averaged over its middle rounds. */
function perRound(history: History, activity: string): { events: number; bytes: number; rounds: number } {
  const events = history.events ?? [];
  const starts = events
    .map((e, i) => ({ e, i }))
    .filter(({ e }) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED && e.activityTaskScheduledEventAttributes?.activityType?.name === activity)
    .map(({ i }) => i);
  if (starts.length < 3) return { events: Number.NaN, bytes: Number.NaN, rounds: starts.length };
  const first = starts[1]!;
  const last = starts.at(-1)!;
  let bytes = 0;
  for (let i = first; i < last; i++) bytes += eventBytes(events[i]!);
  return { events: (last - first) / (starts.length - 2), bytes: bytes / (starts.length - 2), rounds: starts.length };
}

/** Mean time to replay `history` (a few times, after one warm-up), as a worker does on a cache miss. */
async function replayMs(bundlePath: string, dataConverter: DataConverter, history: History, times = 5): Promise<number> {
  const histories = async function* () {
    for (let i = 0; i <= times; i++) yield { workflowId: `replay-${i}`, history };
  };
  let first = 0;
  let t0 = performance.now();
  let i = 0;
  for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: bundlePath }, dataConverter }, histories())) {
    if (result.error) throw result.error;
    if (i++ === 0) {
      first = performance.now() - t0;
      t0 = performance.now();
    }
  }
  void first;
  return (performance.now() - t0) / times;
}

export async function benchCost(
  options: {
    client: Client;
    taskQueue: string;
    world: Rpc<WorldReady>;
    run: string;
    checksPerRun: number;
    completedSample: { plan: string; ids: string[] }[];
    bundlePath: string;
    dataConverter: DataConverter;
  },
  progress: (line: string) => void,
): Promise<CostResult> {
  const { client } = options;
  const plans: PlatformName[][] = [['nextnet'], ['netlify', 'nextnet']];
  const ids = plans.map((plan) => `onboarding-bench-${options.run}-cost-${plan.join('-')}`);
  await options.world.call('dnsVerifyAfter', null);
  progress(`  two DNS waits (NextNet; Netlify + NextNet), polling every 20 ms, continuing as new every ${options.checksPerRun} checks, until their third run…`);
  for (const [i, plan] of plans.entries()) {
    const clientId = ids[i]!.replace(/^onboarding-/, '');
    const domain = `${clientId}.example.com`;
    const input: OnboardingInput = {
      onboardingId: ids[i]!,
      client: { clientId, email: `owner@${domain}`, name: 'Cost Client', domain, cms: 'wordpress', subscriptionTier: 'pro', industry: 'plumbing', businessScope: 'local', city: 'Tampa', state: 'Florida' },
      services: plan,
      settings: { dnsPollInitialMs: 20, dnsPollMaxMs: 20, dnsDeadlineMs: 259_200_000, stallAlertMs: 900_000, dnsChecksPerRun: options.checksPerRun },
      receivedAt: new Date().toISOString(),
    };
    await client.workflow.start(ONBOARDING_WORKFLOW_TYPE, {
      workflowId: ids[i]!,
      taskQueue: options.taskQueue,
      args: [input],
      typedSearchAttributes: [
        { key: CrmClientId, value: clientId },
        { key: OnboardingDomain, value: domain },
        { key: OnboardingStatus, value: 'registering' },
        { key: NeedsAttention, value: false },
        { key: OnboardingPlatforms, value: plan },
      ],
    });
  }
  for (const id of ids) {
    await waitFor(`${id} in its third run`, async () => (await client.workflow.getHandle(id).query(getStatus)).runs >= 3, 10 * 60_000, 500);
  }
  await options.world.call('dnsVerifyAfter', 0);
  for (const id of ids) await client.workflow.getHandle(id).result();

  const result: PlanCost[] = [];
  for (const [i, plan] of plans.entries()) {
    const runIds: string[] = [];
    for await (const run of client.workflow.list({ query: `WorkflowId = '${ids[i]}'` })) runIds.push(run.runId);
    const histories: History[] = [];
    for (const runId of runIds) histories.push(await client.workflow.getHandle(ids[i]!, runId).fetchHistory());
    // The runs in order of their start; a middle one is a full run of the DNS wait (started by continue-as-new, ended by the next).
    histories.sort((a, b) => Number(a.events![0]!.eventTime!.seconds) - Number(b.events![0]!.eventTime!.seconds) || (a.events![0]!.eventTime!.nanos ?? 0) - (b.events![0]!.eventTime!.nanos ?? 0));
    const full = histories.slice(1, -1);
    const round1 = perRound(full[0] ?? histories[0]!, checkActivityOf(plan));
    const runEvents = full.length ? full.reduce((s, h) => s + (h.events?.length ?? 0), 0) / full.length : Number.NaN;
    const runBytes = full.length ? full.reduce((s, h) => s + historyBytes(h), 0) / full.length : Number.NaN;
    const sample = options.completedSample.find((s) => s.plan === plan.join('+'));
    let completed = { events: Number.NaN, bytes: Number.NaN };
    if (sample && sample.ids.length > 0) {
      const done = await fetchHistories(client, sample.ids.slice(0, 20));
      completed = { events: done.reduce((s, h) => s + (h.events?.length ?? 0), 0) / done.length, bytes: done.reduce((s, h) => s + historyBytes(h), 0) / done.length };
    } else {
      // No onboarding of this plan completed at once in this run: the verified tail of the wait stands in.
      completed = { events: histories.at(-1)!.events!.length, bytes: historyBytes(histories.at(-1)!) };
    }
    const overheadEvents = runEvents - options.checksPerRun * round1.events;
    const overheadBytes = runBytes - options.checksPerRun * round1.bytes;
    const storage = [1, 30].map((days) => {
      const checks = checksWithin(days);
      const runs = Math.ceil(checks / 200);
      const bytes = completed.bytes + (checks - 1) * round1.bytes + (runs - 1) * overheadBytes;
      return { days, checks, runs, kib: round(bytes / 1024) };
    });
    const replay = full[0] ? await replayMs(options.bundlePath, options.dataConverter, full[0]) : Number.NaN;
    result.push({
      plan: plan.join('+'),
      replayFullRunMs: round(replay),
      completedAtOnce: { events: round(completed.events), bytes: Math.round(completed.bytes) },
      perCheck: { events: round(round1.events), bytes: Math.round(round1.bytes) },
      perRun: { checks: options.checksPerRun, events: round(runEvents), bytes: Math.round(runBytes), overheadEvents: round(overheadEvents), overheadBytes: Math.round(overheadBytes) },
      storage,
    });
  }
  return { checksPerRunMeasured: options.checksPerRun, plans: result };
}
