/**
 * `npm run bench -- --quick` as a smoke test: the whole benchmark runs end to end with small numbers (its own dev
 * server, PostgreSQL, simulator, workers) and writes a report with every section, each holding finite figures. No
 * timing is asserted: on a shared machine the figures say little (README, Benchmark); the full run is
 * `npm run bench`.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let dir: string | undefined;
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Every number under `value`, with its path. */
function numbersIn(value: unknown, at = '$'): [string, unknown][] {
  if (typeof value === 'number' || value === null) return [[at, value]];
  if (Array.isArray(value)) return value.flatMap((item, i) => numbersIn(item, `${at}[${i}]`));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([key, item]) => numbersIn(item, `${at}.${key}`));
  return [];
}

const finite = (value: unknown) => typeof value === 'number' && Number.isFinite(value);

describe('npm run bench -- --quick', () => {
  it('measures every section against its baseline and writes them as JSON and SVG', { timeout: 600_000 }, async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'bench-quick-test-'));
    const out = path.join(dir, 'bench.json');
    const { stdout } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'bench.ts'), '--quick', '--out', out], { cwd: ROOT, maxBuffer: 16 * 2 ** 20, timeout: 590_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr.slice(-4000)}`)) : resolve({ stdout, stderr }),
      );
    });
    expect(stdout).toContain('Goals (issue 10)');

    const report = JSON.parse(await readFile(out, 'utf8'));
    expect(report).toMatchObject({ version: 1, mode: 'quick' });
    const { intake, onboardings, parked, ops, cost } = report.sections;

    // 1. The intake against the bare handler: a rate at each concurrency, latencies at a fixed rate.
    expect(intake.concurrency.length).toBeGreaterThanOrEqual(2);
    for (const c of intake.concurrency) for (const key of ['realPerSecond', 'barePerSecond', 'ratio', 'realP99Ms', 'bareP99Ms']) expect(finite(c[key]), key).toBe(true);
    for (const key of ['p50Ms', 'p99Ms']) {
      expect(finite(intake.fixedRate.real[key])).toBe(true);
      expect(finite(intake.fixedRate.bare[key])).toBe(true);
    }
    expect(finite(intake.fixedRate.p99Ratio)).toBe(true);

    // 2. Whole onboardings: the baseline, the engine, where the time goes and CPU per onboarding.
    expect(onboardings.variants.map((v: { name: string }) => v.name).slice(0, 2)).toEqual(['bare', 'engine']);
    expect(finite(onboardings.ratio)).toBe(true);
    for (const v of onboardings.variants) {
      for (const [at, n] of numbersIn({ perSecond: v.perSecond, breakdown: v.breakdown, cpu: v.cpuMsPerOnboarding, connections: v.connectionsPerOnboarding })) expect(finite(n), `${v.name} ${at}`).toBe(true);
      expect(v.errors).toBe(0);
    }

    // 3. Parked: memory with the cache settings stated, then all verified at once; and the polls-only comparison.
    const sweep = parked.sweep[0];
    expect(sweep.settings.maxCachedWorkflows).toEqual(expect.any(Number));
    for (const m of sweep.memory) for (const key of ['workerRssMiB', 'serverRssMiB', 'workerCpuMsPerPoll']) expect(finite(m[key]), key).toBe(true);
    for (const key of ['workerRssMiB', 'serverRssMiB', 'workerCpuPercent', 'serverCpuPercent']) expect(finite(sweep.idle[key]), key).toBe(true);
    expect(sweep.verification.completed).toBeGreaterThan(0);
    expect(finite(sweep.verification.worstLagSeconds)).toBe(true);
    expect(finite(parked.pollOnly.verification.worstLagSeconds)).toBe(true);
    expect(finite(parked.pollOnly.worstLagPerPollMax)).toBe(true);

    // 4. Ops reads, each with its baseline.
    const reads = ops[0].reads;
    expect(reads.map((r: { read: string }) => r.read)).toEqual(expect.arrayContaining(['GET /v1/onboardings, page of 100', 'npx onboarding list --needs-attention', 'GET /v1/onboardings/{id} (one status)']));
    for (const r of reads) for (const key of ['p50Ms', 'baselineP50Ms', 'ratio']) expect(finite(r[key]), `${r.read} ${key}`).toBe(true);

    // 5. Cost growth from real histories, for both plans, and the storage after 1 and 30 days.
    expect(cost.plans.map((p: { plan: string }) => p.plan)).toEqual(['nextnet', 'netlify+nextnet']);
    for (const p of cost.plans) for (const [at, n] of numbersIn(p)) expect(finite(n), `${p.plan} ${at}`).toBe(true);

    // The goals, each with a measured value, and the chart.
    expect(report.goals.length).toBe(6);
    for (const goal of report.goals) expect(finite(goal.value), goal.goal).toBe(true);
    const svg = await readFile(out.replace(/\.json$/, '.svg'), 'utf8');
    expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain('</svg>');
  });
});
