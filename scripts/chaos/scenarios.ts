/**
 * The chaos scenarios: what each one does to the running engine while its onboardings run. Each returns its
 * clients, how many deliveries per client were answered "started", and a line saying what was done; the run then
 * waits for the onboardings to settle and counts what happened (audit.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { eachLimited, makeClients, type ChaosClient, type Crm, type DeliveryResult } from './crm.js';
import type { Stack } from './stack.js';

export const SCENARIOS = ['worker-kill', 'temporal-restart', 'fault-storm', 'duplicates'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface ScenarioContext {
  stack: Stack;
  crm: Crm;
  runTag: string;
  short: boolean;
  /** Onboardings of scenarios 1–3. */
  onboardings: number;
  /** Clients of scenario 4 (each delivered 5 times at once). */
  clients: number;
  random: () => number;
  progress: (line: string) => void;
}

export interface ScenarioRun {
  clients: ChaosClient[];
  /** Clients with at least one delivery answered 202. */
  accepted: Set<string>;
  /** Deliveries answered "started" (or "restarted") per client: more than one is a duplicate onboarding. */
  starts: Map<string, number>;
  /** Deliveries that were never accepted, with why (for the report). */
  refused: string[];
  /** Keeps going while the onboardings settle (e.g. more kills); resolves with what was done once it has stopped. */
  chaos: Promise<string>;
  /** Asks a chaos loop that is still going to stop after its current step. */
  stopChaos(): void;
}

/** Delivers each client's event once, spread over the APIs, `concurrency` at a time. */
async function deliverAll(ctx: ScenarioContext, clients: ChaosClient[], concurrency = 8): Promise<Pick<ScenarioRun, 'accepted' | 'starts' | 'refused'>> {
  const accepted = new Set<string>();
  const starts = new Map<string, number>();
  const refused: string[] = [];
  await eachLimited(clients, concurrency, async (client, index) => {
    const result = await ctx.crm.deliver(ctx.stack.apiUrls[index % ctx.stack.apiUrls.length]!, ctx.crm.eventFor(client));
    note(client, result, accepted, starts, refused);
  });
  return { accepted, starts, refused };
}

function note(client: ChaosClient, result: DeliveryResult, accepted: Set<string>, starts: Map<string, number>, refused: string[]): void {
  if (['started', 'already-started', 'restarted'].includes(result.outcome)) accepted.add(client.clientId);
  else refused.push(`${client.clientId}: ${result.outcome}`);
  if (result.outcome === 'started' || result.outcome === 'restarted') starts.set(client.clientId, (starts.get(client.clientId) ?? 0) + 1);
}

const between = (random: () => number, minMs: number, maxMs: number) => Math.round(minMs + random() * (maxMs - minMs));

/** 1. Workers killed with SIGKILL at random moments and restarted, while the onboardings run. */
async function workerKill(ctx: ScenarioContext): Promise<ScenarioRun> {
  const { stack, random, progress } = ctx;
  const clients = makeClients('kill', ctx.onboardings, ctx.runTag);
  const maxKills = ctx.short ? 2 : 8;
  let stop = false;
  let kills = 0;
  let allAtOnce = 0;
  const chaos = (async () => {
    // The first kill lands while the first activities run.
    await sleep(between(random, 300, 1_200));
    while (!stop && kills < maxKills) {
      // Now and then every worker at once: nothing runs until they are back.
      const everyone = !ctx.short && kills === maxKills - 1;
      const victims = everyone ? stack.workers : [stack.workers[Math.floor(random() * stack.workers.length)]!];
      await Promise.all(victims.map((worker) => worker.kill('SIGKILL')));
      kills += 1;
      if (everyone) allAtOnce += 1;
      progress(`  SIGKILL ${victims.map((w) => w.name).join(' and ')} (kill ${kills}/${maxKills})`);
      await sleep(between(random, 200, 2_500));
      // (Unless the supervisor has already restarted one that crashed by itself meanwhile.)
      await Promise.all(victims.map((worker) => worker.ensureRunning()));
      if (kills < maxKills) await sleep(between(random, 1_000, ctx.short ? 3_000 : 8_000));
    }
    return `${ctx.onboardings} onboardings; ${kills} SIGKILLs of random workers (of ${stack.workers.length}) at random moments${allAtOnce ? `, the last one of every worker at once` : ''}, each restarted after 0.2–2.5 s`;
  })();
  const delivered = await deliverAll(ctx, clients);
  return { clients, ...delivered, chaos, stopChaos: () => (stop = true) };
}

/** 2. The Temporal dev server stopped (SIGTERM) and crashed (SIGKILL) mid-run, restarted on its db file. */
async function temporalRestart(ctx: ScenarioContext): Promise<ScenarioRun> {
  const { stack, random, progress } = ctx;
  const clients = makeClients('temporal', ctx.onboardings, ctx.runTag);
  const half = Math.ceil(clients.length / 2);
  const first = await deliverAll(ctx, clients.slice(0, half));
  const outages: string[] = [];
  let secondHalf: Promise<Pick<ScenarioRun, 'accepted' | 'starts' | 'refused'>> | undefined;
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGKILL'];
  for (const [index, signal] of signals.entries()) {
    await sleep(between(random, 800, 2_500));
    await stack.temporal.kill(signal);
    const downMs = between(random, ctx.short ? 2_000 : 3_000, ctx.short ? 3_500 : 10_000);
    progress(`  Temporal dev server ${signal === 'SIGTERM' ? 'stopped (SIGTERM)' : 'killed (SIGKILL)'}; down for ${(downMs / 1000).toFixed(1)} s`);
    // The second half of the deliveries arrive while it is down: the APIs answer 503 and the CRM retries.
    if (index === 0) secondHalf = deliverAll(ctx, clients.slice(half));
    await sleep(downMs);
    await stack.startTemporal();
    progress('  Temporal dev server back (same db file)');
    outages.push(`${signal === 'SIGTERM' ? 'stopped' : 'SIGKILLed'} for ${(downMs / 1000).toFixed(1)} s`);
  }
  const second = await secondHalf!;
  return {
    clients,
    accepted: new Set([...first.accepted, ...second.accepted]),
    starts: new Map([...first.starts, ...second.starts]),
    refused: [...first.refused, ...second.refused],
    chaos: Promise.resolve(
      `${ctx.onboardings} onboardings; Temporal dev server ${outages.join(', then ')} mid-run, restarted on its db file; half the deliveries sent while it was down`,
    ),
    stopChaos: () => {},
  };
}

type FaultRule = Record<string, unknown>;

/** One platform's storm: every kind of trouble, shuffled, on the routes an onboarding calls. */
function storm(random: () => number, routes: string[], writeRoutes: string[], size: number, bareTooManyRoutes = ['any', ...routes]): FaultRule[] {
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;
  const makers: (() => FaultRule)[] = [
    () => ({ route: pick(['any', ...routes]), kind: 'status', status: pick([500, 502, 503, 504]) }),
    () => ({ route: pick(['any', ...routes]), kind: 'status', status: 503, retryAfterSeconds: 1 }),
    () => ({ route: pick(['any', ...routes]), kind: 'status', status: 429, retryAfterSeconds: pick([1, 2]) }),
    // A 429 without Retry-After: the engine waits for the rate limit's X-RateLimit-Reset (Netlify) or backs off.
    () => ({ route: pick(bareTooManyRoutes), kind: 'status', status: 429 }),
    () => ({ route: pick(writeRoutes), kind: 'drop-after-write' }),
    // Slow, but within the engine's 3 s timeout (RESELLER_TIMEOUT) …
    () => ({ route: pick(['any', ...routes]), kind: 'latency', latencyMs: between(random, 500, 2_000) }),
    // … and slower than it: the engine gives up while the platform does the work anyway.
    () => ({ route: pick(writeRoutes), kind: 'latency', latencyMs: between(random, 3_500, 5_000) }),
  ];
  return Array.from({ length: size }, () => ({ ...pick(makers)(), times: between(random, 1, 3) }));
}

const NEXTNET_ROUTES = ['register', 'list', 'dashboard'];
const NEXTNET_WRITES = ['register'];
const NETLIFY_ROUTES = ['access-tokens', 'get-site', 'create-site', 'update-site', 'provision-ssl', 'show-ssl'];
const NETLIFY_WRITES = ['access-tokens', 'create-site', 'update-site', 'provision-ssl'];

/** 3. Fault storms at both simulated platforms: 5xx, 429 with and without Retry-After, dropped answers, slow answers. */
async function faultStorm(ctx: ScenarioContext): Promise<ScenarioRun> {
  const { stack, random, progress } = ctx;
  const clients = makeClients('storm', ctx.onboardings, ctx.runTag);
  const counts = { nextnet: 0, netlify: 0 };
  const kinds = new Map<string, number>();
  const queue = async (platform: 'nextnet' | 'netlify', rules: FaultRule[]) => {
    for (const rule of rules) {
      const response = await fetch(`${stack.simulatorUrl}/_simulator${platform === 'netlify' ? '/netlify' : ''}/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(rule),
      });
      if (!response.ok) throw new Error(`the simulator refused fault ${JSON.stringify(rule)}: ${response.status} ${await response.text()}`);
      counts[platform] += rule.times as number;
      const kind = rule.kind === 'status' ? `${rule.status}${rule.retryAfterSeconds !== undefined ? '+Retry-After' : ''}` : String(rule.kind);
      kinds.set(kind, (kinds.get(kind) ?? 0) + (rule.times as number));
    }
  };
  const wave = async () => {
    await queue('nextnet', storm(random, NEXTNET_ROUTES, NEXTNET_WRITES, Math.max(6, ctx.onboardings)));
    // --short: Netlify's bare 429s only on site creation, whose limit window the run shortens (chaos.ts): a bare 429
    // elsewhere waits for the general minute-long window, too long for a test.
    await queue('netlify', storm(random, NETLIFY_ROUTES, NETLIFY_WRITES, Math.max(8, Math.round(ctx.onboardings * 1.5)), ctx.short ? ['create-site'] : undefined));
  };
  await wave();
  progress('  fault storm queued at NextNet and Netlify');
  const delivered = await deliverAll(ctx, clients);
  let stop = false;
  const waves = ctx.short ? 1 : 3;
  const chaos = (async () => {
    // Later waves hit the onboardings in their DNS and TLS phases.
    for (let n = 1; n < waves && !stop; n += 1) {
      await sleep(between(random, 3_000, 6_000));
      await wave();
      progress(`  fault storm wave ${n + 1}/${waves} queued`);
    }
    const summary = [...kinds].sort((a, b) => b[1] - a[1]).map(([kind, times]) => `${kind} ×${times}`).join(', ');
    return `${ctx.onboardings} onboardings; ${waves} storm wave(s): ${counts.nextnet} faulty answers queued at NextNet, ${counts.netlify} at Netlify (${summary})`;
  })();
  return { clients, ...delivered, chaos, stopChaos: () => (stop = true) };
}

/** 4. Every client's event delivered 5 times at once, over both API processes (retries and fresh redeliveries). */
async function duplicates(ctx: ScenarioContext): Promise<ScenarioRun> {
  const { stack, random, progress } = ctx;
  const clients = makeClients('dup', ctx.clients, ctx.runTag);
  const accepted = new Set<string>();
  const starts = new Map<string, number>();
  const refused: string[] = [];
  let done = 0;
  const started = Date.now();
  await eachLimited(clients, 10, async (client) => {
    const body = ctx.crm.eventFor(client);
    const retryId = `msg_${client.clientId}_retry`;
    // Two CRM retries of one delivery (same webhook-id) and three fresh deliveries of the same event, at once.
    const ids = [retryId, retryId, undefined, undefined, undefined];
    const results = await Promise.all(
      ids.map((id, n) => ctx.crm.deliver(stack.apiUrls[(n + Math.floor(random() * 2)) % stack.apiUrls.length]!, body, id)),
    );
    for (const result of results) note(client, result, accepted, starts, refused);
    done += 1;
    if (done % 100 === 0) progress(`  ${done}/${clients.length} clients delivered ×5 (${Math.round((done * 5) / ((Date.now() - started) / 1000))} deliveries/s)`);
  });
  const seconds = (Date.now() - started) / 1000;
  return {
    clients,
    accepted,
    starts,
    refused,
    chaos: Promise.resolve(`${clients.length} clients × 5 concurrent deliveries (2 retries with one webhook-id, 3 fresh) over ${stack.apiUrls.length} API processes, ${clients.length * 5} in ${seconds.toFixed(0)} s`),
    stopChaos: () => {},
  };
}

export const SCENARIO_RUNNERS: Record<ScenarioName, (ctx: ScenarioContext) => Promise<ScenarioRun>> = {
  'worker-kill': workerKill,
  'temporal-restart': temporalRestart,
  'fault-storm': faultStorm,
  duplicates,
};

export const SCENARIO_TITLES: Record<ScenarioName, string> = {
  'worker-kill': '1. worker SIGKILLed',
  'temporal-restart': '2. Temporal restarted',
  'fault-storm': '3. fault storms',
  duplicates: '4. duplicate deliveries',
};

/** Clears both platforms' fault queues (what a storm left unused). */
export async function clearFaults(simulatorUrl: string): Promise<void> {
  for (const knob of ['/_simulator/faults', '/_simulator/netlify/faults']) await fetch(`${simulatorUrl}${knob}`, { method: 'DELETE' });
}

