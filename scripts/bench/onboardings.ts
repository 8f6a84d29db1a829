/**
 * Section 2, whole onboardings: from the signed webhook to the signup email (the workflow's completion), NextNet
 * plan, DNS verified at once, the simulator and MailDev answering without delay; against the baseline workflow
 * (bare-workflow.ts: the same three activities with no-op bodies) started by the bare handler and run by a worker
 * with the same settings. Closed loop, `concurrency` onboardings in flight; alternating bare, real, real, bare.
 * Then, from a sample of histories, where the time went, and every process's CPU per onboarding.
 */
import type { Client } from '@temporalio/client';
import { clientCreatedBody, cpuMsOf, pool, round, signedHeaders, summarise, type ProcessUsage, type Rpc } from './harness.js';
import { breakdownOf, eventTimeMs, EventType, fetchHistories, meanBreakdown, type Breakdown } from './history.js';
import type { Served, WorkerReady } from './stack.js';

export interface OnboardingVariant {
  name: string;
  target: Served;
  worker: Rpc<WorkerReady>;
  /** What the variant is, for the report. */
  description: string;
}

export interface OnboardingsOptions {
  client: Client;
  /** The baseline first (the bare workflow), then the engine, then any others. */
  variants: OnboardingVariant[];
  world: Rpc<unknown>;
  serverPid: number;
  run: string;
  count: number;
  concurrency: number;
  historySample: number;
}

export interface VariantResult {
  name: string;
  description: string;
  settings: Record<string, unknown>;
  perSecond: number;
  /** perSecond ÷ the baseline's. */
  ratio: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  errors: number;
  breakdown: Breakdown;
  /** CPU milliseconds per onboarding, by process. */
  cpuMsPerOnboarding: { worker: number; temporalServer: number; world: number; apiAndLoad: number };
  /** Connections the simulator and the mail server accepted per onboarding (keep-alive and pooling show here). */
  connectionsPerOnboarding: { nextnetHttp: number; smtp: number };
}

export interface OnboardingsResult {
  count: number;
  concurrency: number;
  variants: VariantResult[];
  /** The engine's completed/s ÷ the baseline's: the goal's figure. */
  ratio: number;
  /** Completed ids of the engine's runs, for the cost section. */
  realIds: string[];
}

let counter = 0;

interface Connections {
  simulatorHttp: number;
  smtp: number;
}

async function runBatch(options: OnboardingsOptions, variant: OnboardingVariant, count: number) {
  const ids: string[] = [];
  const latencies: number[] = [];
  const slow: { id: string; ms: number }[] = [];
  let errors = 0;
  const tag = variant.name.replace(/[^a-z]/gi, '').slice(0, 6);
  const workerBefore = await variant.worker.call<ProcessUsage>('usage');
  const worldBefore = await options.world.call<ProcessUsage>('usage');
  const connectionsBefore = await options.world.call<Connections>('connections');
  const serverBefore = cpuMsOf(options.serverPid);
  const ownBefore = process.cpuUsage();
  const started = performance.now();
  await pool(count, options.concurrency, async () => {
    const i = counter++;
    const { body } = clientCreatedBody(`${options.run}${tag}`, i);
    const t0 = performance.now();
    try {
      const response = await fetch(`${variant.target.url}/webhooks/crm`, { method: 'POST', headers: signedHeaders(body, `msg_${options.run}_${tag}${i}`), body });
      const answer = (await response.json()) as { workflowId?: string };
      if (response.status !== 202 || !answer.workflowId) throw new Error(`answered ${response.status}`);
      await options.client.workflow.getHandle(answer.workflowId).result();
      ids.push(answer.workflowId);
      latencies.push(performance.now() - t0);
      slow.push({ id: answer.workflowId, ms: performance.now() - t0 });
    } catch {
      errors += 1;
    }
  });
  const seconds = (performance.now() - started) / 1000;
  if (process.env.BENCH_DEBUG) {
    const worst = slow.sort((a, b) => b.ms - a.ms)[0];
    if (worst) {
      const history = await options.client.workflow.getHandle(worst.id).fetchHistory();
      const t0h = eventTimeMs(history.events![0]!);
      console.error(`slowest ${variant.name} ${worst.id} ${Math.round(worst.ms)} ms:\n${history.events!.map((e) => `  +${eventTimeMs(e) - t0h} ${EventType[e.eventType!]}`).join('\n')}`);
    }
  }
  const workerAfter = await variant.worker.call<ProcessUsage>('usage');
  const worldAfter = await options.world.call<ProcessUsage>('usage');
  const connectionsAfter = await options.world.call<Connections>('connections');
  const own = process.cpuUsage(ownBefore);
  const n = Math.max(1, ids.length);
  return {
    ids,
    latencies,
    errors,
    seconds,
    cpu: {
      worker: (workerAfter.cpuMs - workerBefore.cpuMs) / n,
      temporalServer: (cpuMsOf(options.serverPid) - serverBefore) / n,
      world: (worldAfter.cpuMs - worldBefore.cpuMs) / n,
      apiAndLoad: (own.user + own.system) / 1000 / n,
    },
    connections: { nextnetHttp: (connectionsAfter.simulatorHttp - connectionsBefore.simulatorHttp) / n, smtp: (connectionsAfter.smtp - connectionsBefore.smtp) / n },
  };
}

type Batch = Awaited<ReturnType<typeof runBatch>>;

async function variantOf(client: Client, variant: OnboardingVariant, batches: Batch[], sample: number): Promise<Omit<VariantResult, 'ratio'>> {
  const ids = batches.flatMap((b) => b.ids);
  const seconds = batches.reduce((s, b) => s + b.seconds, 0);
  const done = ids.length;
  const stats = summarise(batches.flatMap((b) => b.latencies));
  const histories = await fetchHistories(client, ids.slice(0, sample));
  const weighted = (pick: (b: Batch) => number) => round(batches.reduce((s, b) => s + pick(b) * b.ids.length, 0) / Math.max(1, done), 2);
  return {
    name: variant.name,
    description: variant.description,
    settings: variant.worker.ready.tuning,
    perSecond: round(done / seconds, 2),
    latencyP50Ms: round(stats.p50),
    latencyP99Ms: round(stats.p99),
    errors: batches.reduce((s, b) => s + b.errors, 0),
    breakdown: meanBreakdown(histories.map(breakdownOf)),
    cpuMsPerOnboarding: { worker: weighted((b) => b.cpu.worker), temporalServer: weighted((b) => b.cpu.temporalServer), world: weighted((b) => b.cpu.world), apiAndLoad: weighted((b) => b.cpu.apiAndLoad) },
    connectionsPerOnboarding: { nextnetHttp: weighted((b) => b.connections.nextnetHttp), smtp: weighted((b) => b.connections.smtp) },
  };
}

export async function benchOnboardings(options: OnboardingsOptions, progress: (line: string) => void): Promise<OnboardingsResult> {
  const { variants } = options;
  progress(`  warming up ${variants.length} workers…`);
  for (const variant of variants) await runBatch(options, variant, Math.min(Math.max(4, options.concurrency), options.count));
  const half = Math.max(4, Math.round(options.count / 2));
  // Each variant twice, in an order and its reverse (A B C C B A), so drift on a shared machine falls on all alike.
  const order = [...variants, ...[...variants].reverse()];
  progress(`  ${half * 2} onboardings of each of ${variants.map((v) => v.name).join(', ')}; ${options.concurrency} in flight; order ${order.map((v) => v.name).join(', ')}…`);
  const batches = new Map<string, Batch[]>(variants.map((v) => [v.name, []]));
  for (const variant of order) batches.get(variant.name)!.push(await runBatch(options, variant, half));
  progress(`  reading ${options.historySample} histories of each for where the time went…`);
  const results: VariantResult[] = [];
  for (const variant of variants) {
    const result = await variantOf(options.client, variant, batches.get(variant.name)!, options.historySample);
    results.push({ ...result, ratio: Number.NaN });
  }
  const baseline = results[0]!.perSecond;
  for (const result of results) result.ratio = round(result.perSecond / baseline, 3);
  return {
    count: half * 2,
    concurrency: options.concurrency,
    variants: results,
    ratio: results[1]!.ratio,
    realIds: batches.get(variants[1]!.name)!.flatMap((b) => b.ids),
  };
}
