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
  /** A full first run (registration, then `checks` checks); the overhead is what each continue-as-new adds. */
  perRun: { checks: number; events: number; bytes: number; overheadEvents: number; overheadBytes: number };
  /**
   * Worker CPU to replay a run as far as its k-th DNS check (what a DNS poll costs when the parked workflow is no
   * longer in the worker's cache), for k = the tuned DNS_CHECKS_PER_RUN and the measured run length.
   */
  replay: { checks: number; events: number; cpuMs: number }[];
  /** Temporal's history of one onboarding after `days` of DNS waiting, continuing as new every `checksPerRun` checks. */
  storage: { days: number; checksPerRun: number; checks: number; runs: number; kib: number }[];
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

/** Worker CPU (ms) to replay `history` once, as a worker does on a cache miss (a mean of a few, after a warm-up). */
async function replayCpuMs(bundlePath: string, dataConverter: DataConverter, history: History, times = 3): Promise<number> {
  const histories = async function* () {
    for (let i = 0; i <= times; i++) yield { workflowId: `replay-${i}`, history };
  };
  let cpu = process.cpuUsage();
  let i = 0;
  for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: bundlePath }, dataConverter }, histories())) {
    if (result.error) throw result.error;
    if (i++ === 0) cpu = process.cpuUsage();
  }
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / 1000 / times;
}

/** The history up to the workflow task that follows the k-th DNS check: where a poll after k checks starts replaying. */
function prefixAfterCheck(history: History, activity: string, k: number): History | undefined {
  const events = history.events ?? [];
  let seen = 0;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED && e.activityTaskScheduledEventAttributes?.activityType?.name === activity) seen += 1;
    if (seen >= k && e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED && i > 0) {
      // The first workflow task started after the k-th check was scheduled and completed: that check's own.
      const completedBefore = events.slice(0, i).some((x, j) => j > 0 && x.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
      if (completedBefore) return { events: events.slice(0, i + 1) };
    }
  }
  return undefined;
}

export async function benchCost(
  options: {
    client: Client;
    taskQueue: string;
    world: Rpc<WorldReady>;
    run: string;
    checksPerRun: number;
    /** DNS_CHECKS_PER_RUN as tuned, for the replay figure and the storage estimate. */
    tunedChecksPerRun: number;
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
  progress(`  two DNS waits (NextNet; Netlify + NextNet), polling as fast as timers fire, continuing as new every ${options.checksPerRun} checks, into their second run…`);
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
    await waitFor(`${id} in its second run`, async () => (await client.workflow.getHandle(id).query(getStatus)).runs >= 2, 20 * 60_000, 500);
  }
  await options.world.call('dnsVerifyAfter', 0);
  for (const id of ids) await client.workflow.getHandle(id).result();

  const result: PlanCost[] = [];
  for (const [i, plan] of plans.entries()) {
    const runIds: string[] = [];
    for await (const run of client.workflow.list({ query: `WorkflowId = '${ids[i]}'` })) runIds.push(run.runId);
    const histories: History[] = [];
    for (const runId of runIds) histories.push(await client.workflow.getHandle(ids[i]!, runId).fetchHistory());
    // The runs in order of their start: the first (registration, then checksPerRun checks, then continue-as-new),
    // and the second (started with the carried status, ended by the verification).
    histories.sort((a, b) => Number(a.events![0]!.eventTime!.seconds) - Number(b.events![0]!.eventTime!.seconds) || (a.events![0]!.eventTime!.nanos ?? 0) - (b.events![0]!.eventTime!.nanos ?? 0));
    const [first, second] = histories;
    const activity = checkActivityOf(plan);
    const round1 = perRound(first!, activity);
    const runEvents = first!.events!.length;
    const runBytes = historyBytes(first!);
    // What continuing as new adds: the first run's last event, and the second run's events before its first check.
    const secondEvents = second?.events ?? [];
    const firstCheck = secondEvents.findIndex((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED && e.activityTaskScheduledEventAttributes?.activityType?.name === activity);
    const startOfSecond = secondEvents.slice(0, firstCheck < 0 ? secondEvents.length : firstCheck);
    const overheadEvents = 1 + startOfSecond.length;
    const overheadBytes = eventBytes(first!.events!.at(-1)!) + startOfSecond.reduce((sum, e) => sum + eventBytes(e), 0);
    const sample = options.completedSample.find((s) => s.plan === plan.join('+'));
    let completed = { events: Number.NaN, bytes: Number.NaN };
    if (sample && sample.ids.length > 0) {
      const done = await fetchHistories(client, sample.ids.slice(0, 20));
      completed = { events: done.reduce((s, h) => s + (h.events?.length ?? 0), 0) / done.length, bytes: done.reduce((s, h) => s + historyBytes(h), 0) / done.length };
    } else {
      // No onboarding of this plan completed at once in this run: the verified tail of the wait stands in.
      completed = { events: histories.at(-1)!.events!.length, bytes: historyBytes(histories.at(-1)!) };
    }
    const storage = [options.tunedChecksPerRun, 200].flatMap((perRun) =>
      [1, 30].map((days) => {
        const checks = checksWithin(days);
        const runs = Math.ceil(checks / perRun);
        const bytes = completed.bytes + (checks - 1) * round1.bytes + (runs - 1) * overheadBytes;
        return { days, checksPerRun: perRun, checks, runs, kib: round(bytes / 1024) };
      }),
    );
    const replay: PlanCost['replay'] = [];
    for (const k of [...new Set([options.tunedChecksPerRun, options.checksPerRun])].sort((a, b) => a - b)) {
      const prefix = prefixAfterCheck(first!, activity, k);
      if (prefix) replay.push({ checks: k, events: prefix.events!.length, cpuMs: round(await replayCpuMs(options.bundlePath, options.dataConverter, prefix)) });
    }
    result.push({
      plan: plan.join('+'),
      replay,
      completedAtOnce: { events: round(completed.events), bytes: Math.round(completed.bytes) },
      perCheck: { events: round(round1.events), bytes: Math.round(round1.bytes) },
      perRun: { checks: options.checksPerRun, events: round(runEvents), bytes: Math.round(runBytes), overheadEvents: round(overheadEvents), overheadBytes: Math.round(overheadBytes) },
      storage,
    });
  }
  return { checksPerRunMeasured: options.checksPerRun, plans: result };
}
