/**
 * Section 3 (and the ops reads of section 4 while they wait): N onboardings parked in awaiting-dns on a fresh dev
 * server, with the worker's and the server's memory and CPU while they wait; then every domain verified at once,
 * and how long until all are completed.
 *
 * "While they wait" is measured with every parked workflow woken once (a `checkDnsNow` to each, one DNS check each):
 * over DNS_POLL_MAX (30 min) every parked onboarding polls at least once, so the worker's workflow cache is as full
 * as it gets in steady state; the same round gives the cost of one DNS poll. With `compareWith`, the same is done
 * first with other worker settings (the SDK's defaults, say), on the same parked workflows.
 */
import path from 'node:path';
import { checkDnsNow, getStatus, ONBOARDING_WORKFLOW_TYPE } from '../../workflows/definitions.js';
import type { Config } from '../../config/index.js';
import type { Database } from '../../database/index.js';
import { benchOpsReads, type ReadFigure } from './ops.js';
import { clientCreatedBody, cpuMsOf, MiB, pool, round, rssOf, signedHeaders, sleep, summarise, waitFor, type ProcessUsage, type Rpc } from './harness.js';
import { engineEnv, serveRealApi, startServerStack, startWorkerProcess, workerEnv, type Bundles, type DnsSettings, type ServerStack, type WorkerReady, type WorkerSettings } from './stack.js';
import type { WorldReady } from './world.js';

export interface ParkedOptions {
  cli: string;
  dir: string;
  config: Pick<Config, 'payloadKeys'>;
  world: Rpc<WorldReady>;
  databaseUrl: string;
  database: Database;
  bundles: Bundles;
  run: string;
  count: number;
  settings: WorkerSettings;
  dns: DnsSettings;
  /** Wake every parked onboarding once and measure memory with the cache as full as it gets. */
  touch: boolean;
  /** Other worker settings measured the same way first, on the same parked workflows. */
  compareWith?: { label: string; settings: WorkerSettings }[];
  settleSeconds: number;
  /** Ops reads while parked; 0 = none. */
  readRepeats: number;
  /** Before verifying, wait until every onboarding has waited this long (so their polls have backed off). */
  waitBeforeVerifyMs?: number;
  verifyTimeoutMs: number;
  intakeConcurrency: number;
  /** A dev server to use instead of a fresh one. */
  stack?: ServerStack;
}

export interface MemoryFigure {
  label: string;
  settings: Record<string, unknown>;
  workerRssMiB: number;
  workerHeapMiB: number;
  workerExternalMiB: number;
  serverRssMiB: number;
  /** Seconds to wake all N once (signal, one DNS check each), the second time (the cache as full as it gets). */
  touchSeconds: number;
  /** Worker CPU per DNS poll of a parked onboarding (woken, checked, asleep again), the second time. */
  workerCpuMsPerPoll: number;
  serverCpuMsPerPoll: number;
  /** The fresh worker's RSS before any workflow (the process, the SDK, the bundle loaded). */
  startRssMiB?: number;
  /** The same, the first time on a fresh worker: every workflow replayed from its history. */
  coldTouchSeconds?: number;
  coldWorkerCpuMsPerPoll?: number;
}

export interface ParkedResult {
  count: number;
  settings: Record<string, unknown>;
  dns: DnsSettings;
  dnsSweepIntervalMs: number | null;
  /** Seconds from the first delivery until all N were awaiting DNS. */
  parkSeconds: number;
  memory: MemoryFigure[];
  /** While parked and left alone (no wake-ups forced) for settleSeconds. */
  idle: { seconds: number; workerRssMiB: number; serverRssMiB: number; workerCpuPercent: number; serverCpuPercent: number };
  reads: ReadFigure[];
  verification: {
    /** Seconds from verification until the last one completed (NaN when not all did within the timeout). */
    allCompletedSeconds: number;
    completed: number;
    firstLagSeconds: number;
    p50LagSeconds: number;
    p99LagSeconds: number;
    worstLagSeconds: number;
    workerPeakRssMiB: number;
  };
}

const awaitingQuery = (taskQueue: string) => `WorkflowType = '${ONBOARDING_WORKFLOW_TYPE}' AND TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running' AND OnboardingStatus = 'awaiting-dns'`;
// Completed as the onboarding sees it (one that still needs a person, say a lost WordPress key, stays open).
const completedQuery = (taskQueue: string) => `WorkflowType = '${ONBOARDING_WORKFLOW_TYPE}' AND TaskQueue = '${taskQueue}' AND OnboardingStatus = 'completed'`;

async function count(stack: ServerStack, query: string): Promise<number> {
  return (await stack.client.workflow.count(query)).count;
}

/** Wakes every parked onboarding once; resolves when the simulator has seen one more DNS check of each. */
async function touchAll(stack: ServerStack, world: Rpc<WorldReady>, worker: Rpc<WorkerReady>, serverPid: number, ids: string[], label: string, settings: WorkerSettings): Promise<MemoryFigure> {
  const before = (await world.call<Record<string, number>>('calls')).dashboard ?? 0;
  const workerBefore = await worker.call<ProcessUsage>('usage');
  const serverBefore = cpuMsOf(serverPid);
  const t0 = performance.now();
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, rssOf(worker.pid));
  }, 500);
  try {
    await pool(ids.length, 50, async (i) => {
      await stack.client.workflow.getHandle(ids[i]!).signal(checkDnsNow);
    });
    await waitFor('one DNS check of every parked onboarding', async () => ((await world.call<Record<string, number>>('calls')).dashboard ?? 0) - before >= ids.length, 30 * 60_000, 500);
    // The last checks' workflow tasks (recording the check, sleeping again) finish just after their activities.
    await sleep(2_000);
  } finally {
    clearInterval(sampler);
  }
  const seconds = (performance.now() - t0) / 1000;
  const workerAfter = await worker.call<ProcessUsage>('usage');
  return {
    label,
    settings: { ...worker.ready.tuning, ...(settings.processEnv ?? {}) },
    workerRssMiB: round(Math.max(peakRss, rssOf(worker.pid)) / MiB),
    workerHeapMiB: round(workerAfter.heapUsed / MiB),
    workerExternalMiB: round(workerAfter.external / MiB),
    serverRssMiB: round(rssOf(serverPid) / MiB),
    touchSeconds: round(seconds),
    workerCpuMsPerPoll: round((workerAfter.cpuMs - workerBefore.cpuMs) / ids.length, 2),
    serverCpuMsPerPoll: round((cpuMsOf(serverPid) - serverBefore) / ids.length, 2),
  };
}

export async function benchParked(options: ParkedOptions, progress: (line: string) => void): Promise<ParkedResult> {
  const n = options.count;
  const tag = `${options.run}p${n}${options.settings.dnsSweepIntervalMs === null ? 'poll' : ''}`;
  // A fresh dev server for each N (its memory is then theirs), unless one is given (the quick run shares one).
  const stack = options.stack ?? (await startServerStack(options.cli, path.join(options.dir, `temporal-${tag}.db`), options.config));
  const taskQueue = `bench-parked-${tag}`;
  const env = engineEnv(stack.server, options.world.ready, options.databaseUrl, taskQueue, {
    DNS_POLL_INITIAL: `${options.dns.pollInitialMs}ms`,
    DNS_POLL_MAX: `${options.dns.pollMaxMs}ms`,
  });
  const api = await serveRealApi(stack, env, options.database, path.join(options.dir, 'api.log'));
  const workerLog = path.join(options.dir, 'worker.log');
  let worker = await startWorkerProcess('real', { ...env, ...clean(workerEnv(options.settings)) }, options.bundles, workerLog);
  try {
    await options.world.call('dnsVerifyAfter', null);
    progress(`  parking ${n} onboardings (webhooks ${options.intakeConcurrency} at a time, then registration)…`);
    const ids: string[] = [];
    const t0 = performance.now();
    await pool(n, options.intakeConcurrency, async (i) => {
      const { clientId, body } = clientCreatedBody(tag, i);
      const response = await fetch(`${api.url}/webhooks/crm`, { method: 'POST', headers: signedHeaders(body, `msg_${tag}_${i}`), body });
      await response.arrayBuffer();
      if (response.status !== 202) throw new Error(`the intake answered ${response.status}`);
      ids.push(`onboarding-${clientId}`);
    });
    await waitFor(`${n} onboardings awaiting DNS`, async () => (await count(stack, awaitingQuery(taskQueue))) >= n, 120_000 + n * 500, 1_000);
    const parkedAt = Date.now();
    const parkSeconds = round((performance.now() - t0) / 1000);
    progress(`  ${n} parked in ${parkSeconds} s`);

    // Each worker setting on a fresh worker: a first wake-up of all N replays every one (cold); a second finds in
    // the cache whatever fits (steady state). The tuned one goes last and stays for the rest.
    const memory: MemoryFigure[] = [];
    if (options.touch) {
      for (const variant of [...(options.compareWith ?? []), { label: 'tuned', settings: options.settings }]) {
        await worker.stop();
        worker = await startWorkerProcess('real', { ...env, ...clean(workerEnv(variant.settings)) }, options.bundles, workerLog);
        await sleep(2_000);
        const startRssMiB = round(rssOf(worker.pid) / MiB);
        progress(`  waking all ${n} twice on a fresh worker with ${variant.label === 'tuned' ? 'the tuned settings' : variant.label}…`);
        const cold = await touchAll(stack, options.world, worker, stack.server.pid, ids, variant.label, variant.settings);
        const warm = await touchAll(stack, options.world, worker, stack.server.pid, ids, variant.label, variant.settings);
        memory.push({
          ...warm,
          startRssMiB,
          workerRssMiB: Math.max(cold.workerRssMiB, warm.workerRssMiB),
          serverRssMiB: Math.max(cold.serverRssMiB, warm.serverRssMiB),
          coldTouchSeconds: cold.touchSeconds,
          coldWorkerCpuMsPerPoll: cold.workerCpuMsPerPoll,
        });
      }
    }

    progress(`  left alone for ${options.settleSeconds} s…`);
    const workerCpu0 = (await worker.call<ProcessUsage>('usage')).cpuMs;
    const serverCpu0 = cpuMsOf(stack.server.pid);
    const w0 = performance.now();
    let idleWorkerRss = 0;
    let idleServerRss = 0;
    for (let s = 0; s < options.settleSeconds; s++) {
      await sleep(1_000);
      idleWorkerRss = Math.max(idleWorkerRss, rssOf(worker.pid));
      idleServerRss = Math.max(idleServerRss, rssOf(stack.server.pid));
    }
    const wallMs = performance.now() - w0;
    const idle = {
      seconds: options.settleSeconds,
      workerRssMiB: round(idleWorkerRss / MiB),
      serverRssMiB: round(idleServerRss / MiB),
      workerCpuPercent: round((100 * ((await worker.call<ProcessUsage>('usage')).cpuMs - workerCpu0)) / wallMs),
      serverCpuPercent: round((100 * (cpuMsOf(stack.server.pid) - serverCpu0)) / wallMs),
    };

    let reads: ReadFigure[] = [];
    if (options.readRepeats > 0) {
      progress(`  ops reads with ${n} on the server…`);
      reads = await benchOpsReads({ api, client: stack.client, sampleIds: ids, repeats: options.readRepeats });
    }

    if (options.waitBeforeVerifyMs) {
      const left = parkedAt + options.waitBeforeVerifyMs - Date.now();
      if (left > 0) {
        progress(`  letting the polls back off for ${Math.round(left / 1000)} s more…`);
        await sleep(left);
      }
    }

    progress(`  verifying every domain at once; waiting for ${n} completions…`);
    const verifiedAt = Date.now();
    await options.world.call('dnsVerifyAfter', 0);
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssOf(worker.pid));
    }, 500);
    let completed = 0;
    try {
      await waitFor(`${n} completions`, async () => (completed = await count(stack, completedQuery(taskQueue))) >= n, options.verifyTimeoutMs, 1_000);
    } catch {
      progress(`  only ${completed} of ${n} completed within ${Math.round(options.verifyTimeoutMs / 1000)} s`);
      await describeStragglers(stack, taskQueue, progress);
    } finally {
      clearInterval(sampler);
    }
    const lags: number[] = [];
    for await (const run of stack.client.workflow.list({ query: completedQuery(taskQueue), pageSize: 1_000 })) {
      if (run.closeTime) lags.push((run.closeTime.getTime() - verifiedAt) / 1000);
    }
    const stats = summarise(lags);
    return {
      count: n,
      settings: worker.ready.tuning,
      dns: options.dns,
      dnsSweepIntervalMs: worker.ready.dnsSweepIntervalMs,
      parkSeconds,
      memory,
      idle,
      reads,
      verification: {
        allCompletedSeconds: lags.length >= n ? round(stats.max) : Number.NaN,
        completed: lags.length,
        firstLagSeconds: round(Math.min(...lags)),
        p50LagSeconds: round(stats.p50),
        p99LagSeconds: round(stats.p99),
        worstLagSeconds: round(stats.max),
        workerPeakRssMiB: round(peak / MiB),
      },
    };
  } finally {
    await worker.stop().catch(() => undefined);
    await api.close();
    if (!options.stack) await stack.close();
  }
}

function clean(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** Why some did not complete: the phase and the pending work of a few that are still open. */
async function describeStragglers(stack: ServerStack, taskQueue: string, progress: (line: string) => void): Promise<void> {
  let shown = 0;
  for await (const run of stack.client.workflow.list({ query: `WorkflowType = '${ONBOARDING_WORKFLOW_TYPE}' AND TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'`, pageSize: 100 })) {
    if (shown++ >= 3) break;
    try {
      const handle = stack.client.workflow.getHandle(run.workflowId);
      const description = await handle.describe();
      const status = await handle.query(getStatus);
      const since = (t: { seconds?: unknown } | null | undefined) => (t?.seconds ? `${Math.round(Date.now() / 1000 - Number(t.seconds))} s ago` : '-');
      const pending = description.raw.pendingActivities
        ?.map((a) => `${a.activityType?.name} state ${a.state} attempt ${a.attempt} scheduled ${since(a.scheduledTime)} started ${since(a.lastStartedTime)} ${a.lastFailure?.message ?? ''}`)
        .join('; ');
      progress(`    ${run.workflowId}: ${status.status}, checks ${status.dns.checks}, next ${status.dns.nextCheckAt}, attention ${status.needsAttention?.reason ?? 'none'}, pending: ${pending || 'none'}`);
    } catch (err) {
      progress(`    ${run.workflowId}: ${(err as Error).message}`);
    }
  }
}
