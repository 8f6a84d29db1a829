/**
 * `npm run bench [-- --quick] [--out docs/bench.json] [--svg docs/bench.svg] [--sections 1,2,3,4,5] [--parked 1000,3000,10000]`
 * `npm run bench -- --render docs/bench.json` prints the table and redraws the chart of a saved report.
 *
 * The whole onboarding measured against its limits, each figure against its own baseline in the same run on the
 * same server (README, "Benchmark"): 1 the intake against a bare handler; 2 whole onboardings against a bare
 * workflow with the same activities; 3 N onboardings parked in awaiting-dns (memory, then every domain verified at
 * once); 4 ops reads with them on the server; 5 how history grows. Prints a table, writes JSON and an SVG chart.
 * `--quick` (under two minutes, small numbers) is the smoke run `npm test` makes; its figures mean little.
 * `npm run bench:intake` remains the intake alone, in absolute numbers.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig } from '../config/index.js';
import { createLogger } from '../config/logger.js';
import { payloadDataConverter } from '../config/payload-codec.js';
import { openDatabase } from '../database/index.js';
import { benchCost, type CostResult } from './bench/cost.js';
import { clientCreatedBody, forkRpc, freePort, machine, REPO_ROOT, round, signedHeaders, type Rpc } from './bench/harness.js';
import { benchIntake, type IntakeResult } from './bench/intake.js';
import { benchOnboardings, type OnboardingsResult, type OnboardingVariant } from './bench/onboardings.js';
import { benchParked, type ParkedResult } from './bench/parked.js';
import { goalsOf, printReport, renderSvg, type BenchReport } from './bench/report.js';
import {
  BARE_WORKFLOW_TYPE,
  bundleAll,
  engineEnv,
  ONBOARDING_WORKFLOW_TYPE,
  PRODUCTION_DNS,
  serveBareHandler,
  serveRealApi,
  startServerStack,
  startWorkerProcess,
  workerEnv,
  type ServerStack,
  type WorkerSettings,
} from './bench/stack.js';
import type { WorldReady } from './bench/world.js';
import { startEmbeddedPostgres } from './postgres.js';
import { findTemporalCli } from './temporal-cli.mjs';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    svg: { type: 'string' },
    sections: { type: 'string', default: '1,2,3,4,5' },
    parked: { type: 'string' },
    onboardings: { type: 'string' },
    cache: { type: 'string' },
    'sweep-interval': { type: 'string' },
    'keep-logs': { type: 'boolean', default: false },
    untuned: { type: 'boolean', default: false },
    'poll-only': { type: 'string' },
    compare: { type: 'string' },
    'tuned-env': { type: 'string' },
    render: { type: 'string' },
  },
});

const quick = values.quick;
const sections = new Set(values.sections.split(',').map((s) => Number(s.trim())));
const numbers = (text: string | undefined) => text?.split(',').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n > 0);

/** The worker settings the README recommends; every figure of sections 2 and 3 runs with them. */
const TUNED: WorkerSettings = {
  maxCachedWorkflows: Number(values.cache ?? 250),
  dnsSweepIntervalMs: values['sweep-interval'] ? Number(values['sweep-interval']) : quick ? 3_000 : 60_000,
  // As the Dockerfile sets them: two malloc arenas instead of eight per core, and V8 heaps (the workflow thread's too)
  // capped, so the garbage of replays is collected rather than kept as resident memory.
  processEnv: values['tuned-env'] ? JSON.parse(values['tuned-env']) : { MALLOC_ARENA_MAX: '2', NODE_OPTIONS: '--max-old-space-size=256 --max-semi-space-size=4' },
};
/** The SDK's default cache for this machine's default heap: max(floor((heap limit - 200 MiB) * 600 / 1024), 10). */
const SDK_DEFAULT_CACHE = Math.max(Math.floor(((v8.getHeapStatistics().heap_size_limit / 2 ** 20 - 200) * 600) / 1024), 10);
/** What the worker did before tuning: the SDK's defaults (cache of ~600 workflows per GiB of heap), no process settings. */
const SDK_DEFAULTS: WorkerSettings = { maxCachedWorkflows: SDK_DEFAULT_CACHE, dnsSweepIntervalMs: TUNED.dnsSweepIntervalMs };
/** Worker settings measured beside the tuned ones with the parked onboardings (section 3). */
const COMPARED: { label: string; settings: WorkerSettings }[] = values['compare']
  ? JSON.parse(values['compare'])
  : [{ label: `SDK defaults (cache ${SDK_DEFAULT_CACHE})`, settings: SDK_DEFAULTS }];

const plan = quick
  ? {
      intake: { concurrencies: [5, 20], requestsPerRun: 40, fixedRateSeconds: 2 },
      onboardings: { count: numbers(values.onboardings)?.[0] ?? 12, concurrency: 6, historySample: 6, untuned: false },
      parked: { counts: numbers(values.parked) ?? [24], compare: false, settleSeconds: 2, readRepeats: 2, verifyTimeoutMs: 60_000 },
      pollOnly: { count: 8, dns: { pollInitialMs: 250, pollMaxMs: 2_000 }, waitBeforeVerifyMs: 4_000, verifyTimeoutMs: 30_000 },
      cost: { checksPerRun: 5 },
    }
  : {
      intake: { concurrencies: [5, 20, 50], requestsPerRun: 600, fixedRateSeconds: 20 },
      onboardings: { count: numbers(values.onboardings)?.[0] ?? 300, concurrency: 20, historySample: 40, untuned: true },
      parked: { counts: numbers(values.parked) ?? [1_000, 3_000, 10_000], compare: true, settleSeconds: 30, readRepeats: 10, verifyTimeoutMs: 20 * 60_000 },
      pollOnly: { count: values['poll-only'] === '0' ? 0 : (numbers(values['poll-only'])?.[0] ?? 1_000), dns: { pollInitialMs: 2_000, pollMaxMs: 60_000 }, waitBeforeVerifyMs: 180_000, verifyTimeoutMs: 5 * 60_000 },
      cost: { checksPerRun: 200 },
    };

const out = path.resolve(values.out ?? (quick ? path.join(os.tmpdir(), 'bench-quick.json') : path.join(REPO_ROOT, 'docs', 'bench.json')));
const svgOut = path.resolve(values.svg ?? out.replace(/\.json$/, '') + '.svg');
const started = Date.now();
const progress = (line: string) => process.stderr.write(`[${String(Math.round((Date.now() - started) / 1000)).padStart(4)} s] ${line}\n`);

// `--render docs/bench.json`: the table and the chart again from a report, without measuring anything.
if (values.render) {
  const saved = JSON.parse(await readFile(values.render, 'utf8')) as BenchReport;
  saved.goals = goalsOf(saved);
  await writeFile(values.svg ?? values.render.replace(/\.json$/, '') + '.svg', renderSvg(saved));
  printReport(saved);
  process.exit(0);
}

// The replay workers of section 5 run in this process: their lifecycle chatter stays out of the report.
Runtime.install({ logger: new DefaultLogger('WARN') });

const cli = findTemporalCli();
if (!cli) {
  console.error('No Temporal CLI found: run `node scripts/setup.mjs` first, or set TEMPORAL_CLI_PATH.');
  process.exit(1);
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-'));
const run = Date.now().toString(36);
const cleanups: (() => Promise<unknown>)[] = [];
const report: BenchReport = {
  version: 1,
  mode: quick ? 'quick' : 'full',
  startedAt: new Date(started).toISOString(),
  machine: machine(),
  settings: { tuned: TUNED, sdkDefaults: SDK_DEFAULTS, dnsPolls: PRODUCTION_DNS, plan },
  sections: {},
  goals: [],
};

try {
  progress(`bench (${report.mode}) in ${dir}: bundling the workflows, starting PostgreSQL and the simulated world…`);
  const [bundles, postgres, world] = await Promise.all([
    bundleAll(dir),
    startEmbeddedPostgres({ port: await freePort(), database: 'onboarding', onProgress: () => undefined }),
    forkRpc<WorldReady>(path.join(REPO_ROOT, 'scripts', 'bench', 'world.ts'), {}),
  ]);
  cleanups.push(() => postgres.close(), () => world.stop());
  const database = openDatabase(postgres.url, createLogger({ level: 'warn' }), { applicationName: 'bench' });
  cleanups.unshift(() => database.close());
  await database.migrate();
  const payloadConfig = loadConfig(engineEnv({ address: '127.0.0.1:1', pid: 0, dbFile: '', stop: async () => {} }, world.ready, postgres.url, 'unused'));
  // The dev server of sections 1, 2 and 5 (and, in the quick run, of 3 and 4 too).
  let mainStack: ServerStack | undefined;
  const mainServer = async () => {
    if (!mainStack) {
      mainStack = await startServerStack(cli, path.join(dir, 'temporal-main.db'), payloadConfig);
      const started = mainStack;
      cleanups.unshift(() => started.close());
    }
    return mainStack;
  };

  let onboardings: OnboardingsResult | undefined;
  if (sections.has(1) || sections.has(2) || sections.has(5)) {
    const stack = await mainServer();
    const workers: Rpc<unknown>[] = [];
    try {
      if (sections.has(1)) {
        progress('1 intake: the API against a bare handler that only starts the same workflow…');
        const queue = `bench-intake-${run}`;
        const env = engineEnv(stack.server, world.ready, postgres.url, queue);
        const real = await serveRealApi(stack, env, database, path.join(dir, 'api.log'));
        const bare = await serveBareHandler(stack, { taskQueue: queue, workflowType: ONBOARDING_WORKFLOW_TYPE, dns: PRODUCTION_DNS });
        try {
          report.sections.intake = await benchIntake({ real, bare, run, ...plan.intake }, progress);
        } finally {
          await real.close();
          await bare.close();
        }
      }

      if (sections.has(2) || sections.has(5)) {
        const realQueue = `bench-real-${run}`;
        const bareQueue = `bench-bare-${run}`;
        const realEnv = engineEnv(stack.server, world.ready, postgres.url, realQueue);
        const realWorker = await startWorkerProcess('real', { ...realEnv, ...defined(workerEnv(TUNED)) }, bundles, path.join(dir, 'worker.log'));
        workers.push(realWorker);
        const real = await serveRealApi(stack, realEnv, database, path.join(dir, 'api.log'));
        await world.call('dnsVerifyAfter', 0);
        // The baseline's result weighs what a real onboarding's status does.
        let padding = 2_000;
        if (sections.has(2)) {
          progress('2 whole onboardings: webhook to signup email, against a bare workflow with the same activities…');
          const bareEnv = engineEnv(stack.server, world.ready, postgres.url, bareQueue);
          const bareWorker = await startWorkerProcess('bare', { ...bareEnv, ...defined(workerEnv({ ...TUNED, dnsSweepIntervalMs: null })) }, bundles, path.join(dir, 'worker.log'));
          workers.push(bareWorker);
          padding = await statusSize(stack.client, real.url, run);
          const bare = await serveBareHandler(stack, { taskQueue: bareQueue, workflowType: BARE_WORKFLOW_TYPE, dns: PRODUCTION_DNS, resultPadding: () => padding });
          const served = [bare];
          const variants: OnboardingVariant[] = [
            { name: 'bare', target: bare, worker: bareWorker, description: 'the same three activities with no-op bodies, no workflow code of ours; the same worker settings' },
            { name: 'engine', target: real, worker: realWorker, description: 'the API and the worker as tuned (README, Production: sizing)' },
          ];
          if (plan.onboardings.untuned || values.untuned) {
            // The engine as it ran before this tuning: the SDK's default worker options, a new SMTP connection per email.
            const untunedQueue = `bench-untuned-${run}`;
            const untunedEnv = engineEnv(stack.server, world.ready, postgres.url, untunedQueue, { SMTP_URL: `${world.ready.smtpUrl}?pool=false` });
            const untunedWorker = await startWorkerProcess('real', { ...untunedEnv, ...defined(workerEnv(SDK_DEFAULTS)) }, bundles, path.join(dir, 'worker.log'));
            workers.push(untunedWorker);
            const untunedApi = await serveRealApi(stack, untunedEnv, database, path.join(dir, 'api.log'));
            served.push(untunedApi);
            variants.push({ name: 'untuned', target: untunedApi, worker: untunedWorker, description: "the engine with the SDK's default worker options and an SMTP connection per email (before tuning)" });
          }
          try {
            onboardings = await benchOnboardings({ client: stack.client, variants, world, serverPid: stack.server.pid, run, ...plan.onboardings }, progress);
            const { realIds: _ids, ...figures } = onboardings;
            report.sections.onboardings = { ...figures, resultPaddingChars: padding };
          } finally {
            for (const s of served) await s.close();
          }
        }
        if (sections.has(5)) {
          progress('5 cost growth: histories of DNS waits and completed onboardings…');
          report.sections.cost = await benchCost(
            {
              client: stack.client,
              taskQueue: realQueue,
              world,
              run,
              checksPerRun: plan.cost.checksPerRun,
              tunedChecksPerRun: payloadConfig.dns.checksPerRun ?? 200,
              completedSample: onboardings ? [{ plan: 'nextnet', ids: onboardings.realIds }] : [],
              bundlePath: bundles.real,
              dataConverter: payloadDataConverter(payloadConfig),
            },
            progress,
          );
        }
        await real.close();
      }
    } finally {
      for (const worker of workers) await worker.stop().catch(() => undefined);
    }
  }

  if (sections.has(3) || sections.has(4)) {
    const parked: ParkedResult[] = [];
    for (const count of plan.parked.counts) {
      progress(`3 ${count} onboardings parked in awaiting-dns (a fresh dev server)…`);
      parked.push(
        await benchParked(
          {
            cli, dir, config: payloadConfig, world, databaseUrl: postgres.url, database, bundles, run, count,
            settings: TUNED,
            dns: PRODUCTION_DNS,
            touch: true,
            ...(plan.parked.compare ? { compareWith: COMPARED } : {}),
            settleSeconds: plan.parked.settleSeconds,
            readRepeats: sections.has(4) ? plan.parked.readRepeats : 0,
            // Completions run at a few a second on 2 cores: a larger N gets the time it needs, and the figure says so.
            verifyTimeoutMs: Math.max(plan.parked.verifyTimeoutMs, count * 250),
            intakeConcurrency: 20,
            ...(quick ? { stack: await mainServer() } : {}),
          },
          progress,
        ),
      );
    }
    let pollOnly: ParkedResult | undefined;
    if (sections.has(3) && plan.pollOnly.count > 0) {
      const p = plan.pollOnly;
      progress(`3 the same without the sweep, polls only (DNS_POLL_INITIAL ${p.dns.pollInitialMs} ms to DNS_POLL_MAX ${p.dns.pollMaxMs} ms, time scaled down): ${p.count} parked…`);
      pollOnly = await benchParked(
        {
          cli, dir, config: payloadConfig, world, databaseUrl: postgres.url, database, bundles, run, count: p.count,
          settings: { ...TUNED, dnsSweepIntervalMs: null },
          dns: p.dns,
          touch: false,
          settleSeconds: 1,
          readRepeats: 0,
          waitBeforeVerifyMs: p.waitBeforeVerifyMs,
          verifyTimeoutMs: p.verifyTimeoutMs,
          intakeConcurrency: 20,
          ...(quick ? { stack: await mainServer() } : {}),
        },
        progress,
      );
    }
    report.sections.parked = {
      sweep: parked.map(({ reads: _reads, ...rest }) => rest),
      ...(pollOnly ? { pollOnly: { ...pollOnly, reads: undefined, worstLagPerPollMax: round(pollOnly.verification.worstLagSeconds / (plan.pollOnly.dns.pollMaxMs / 1000), 2) } } : {}),
    };
    if (sections.has(4)) report.sections.ops = parked.map((p) => ({ count: p.count, reads: p.reads }));
  }

  report.finishedAt = new Date().toISOString();
  report.seconds = round((Date.now() - started) / 1000);
  report.goals = goalsOf(report);
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(svgOut, renderSvg(report));
  printReport(report);
  console.log(`\nWritten: ${path.relative(process.cwd(), out) || out}, ${path.relative(process.cwd(), svgOut) || svgOut} (${report.seconds} s)`);
} catch (err) {
  console.error(`\nbench failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
} finally {
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  if (values['keep-logs']) console.error(`logs kept in ${dir}`);
  else await rm(dir, { recursive: true, force: true });
}
process.exit();

function defined(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** The size of a real onboarding's result (its status), from one onboarding through the real API. */
async function statusSize(client: Client, apiUrl: string, runTag: string): Promise<number> {
  const { body } = clientCreatedBody(`${runTag}size`, 0);
  const response = await fetch(`${apiUrl}/webhooks/crm`, { method: 'POST', headers: signedHeaders(body, `msg_${runTag}_size`), body });
  const { workflowId } = (await response.json()) as { workflowId: string };
  const status = await client.workflow.getHandle(workflowId).result();
  return JSON.stringify(status).length;
}
