/**
 * Section 1, the intake: signed `client.created` deliveries through the real API against the bare handler that
 * only starts the same workflow with the same options, on one server, alternating (bare, real, real, bare) so
 * drift on a shared machine falls on both. At several concurrencies (closed loop: rate), then at a fixed arrival
 * rate (open loop, half the bare handler's best rate: p50/p99, timed from when each request was due).
 */
import { clientCreatedBody, pool, round, signedHeaders, sleep, summarise } from './harness.js';
import type { Served } from './stack.js';

export interface IntakeOptions {
  real: Served;
  bare: Served;
  run: string;
  concurrencies: number[];
  requestsPerRun: number;
  fixedRateSeconds: number;
}

export interface IntakeResult {
  concurrency: { concurrency: number; realPerSecond: number; barePerSecond: number; ratio: number; realP99Ms: number; bareP99Ms: number; errors: number }[];
  fixedRate: { perSecond: number; seconds: number; real: { p50Ms: number; p99Ms: number; errors: number }; bare: { p50Ms: number; p99Ms: number; errors: number }; p99Ratio: number; p50Ratio: number };
  /** The figure the goal is about: the rate ratio at the highest concurrency. */
  rateRatio: number;
}

let counter = 0;

async function deliver(target: Served, run: string): Promise<{ ms: number; ok: boolean }> {
  const i = counter++;
  const { body } = clientCreatedBody(`${run}i`, i);
  const t0 = performance.now();
  const response = await fetch(`${target.url}/webhooks/crm`, { method: 'POST', headers: signedHeaders(body, `msg_${run}_${i}`), body });
  await response.arrayBuffer();
  return { ms: performance.now() - t0, ok: response.status === 202 };
}

async function closedLoop(target: Served, run: string, requests: number, concurrency: number) {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  await pool(requests, concurrency, async () => {
    const { ms, ok } = await deliver(target, run);
    latencies.push(ms);
    if (!ok) errors += 1;
  });
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: requests / seconds, latencies, errors };
}

async function openLoop(target: Served, run: string, perSecond: number, seconds: number) {
  const total = Math.max(1, Math.round(perSecond * seconds));
  const latencies: number[] = [];
  let errors = 0;
  const t0 = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    inFlight.push(
      (async () => {
        const i2 = counter++;
        const { body } = clientCreatedBody(`${run}f`, i2);
        try {
          const response = await fetch(`${target.url}/webhooks/crm`, { method: 'POST', headers: signedHeaders(body, `msg_${run}_f${i2}`), body });
          await response.arrayBuffer();
          if (response.status !== 202) errors += 1;
        } catch {
          errors += 1;
        }
        // From when the request was due, so a stalled server is not hidden by requests that were sent late.
        latencies.push(performance.now() - due);
      })(),
    );
  }
  await Promise.all(inFlight);
  return { latencies, errors };
}

export async function benchIntake(options: IntakeOptions, progress: (line: string) => void): Promise<IntakeResult> {
  const { real, bare, run } = options;
  // Warm both paths (connections, JIT) before anything counts.
  await closedLoop(bare, run, 30, 5);
  await closedLoop(real, run, 30, 5);

  const concurrency: IntakeResult['concurrency'] = [];
  for (const c of options.concurrencies) {
    progress(`  intake at concurrency ${c}: ${options.requestsPerRun} deliveries each to the bare handler and the API, twice, alternating…`);
    const half = Math.max(10, Math.round(options.requestsPerRun / 2));
    const b1 = await closedLoop(bare, run, half, c);
    const r1 = await closedLoop(real, run, half, c);
    const r2 = await closedLoop(real, run, half, c);
    const b2 = await closedLoop(bare, run, half, c);
    const realRate = (r1.perSecond + r2.perSecond) / 2;
    const bareRate = (b1.perSecond + b2.perSecond) / 2;
    concurrency.push({
      concurrency: c,
      realPerSecond: round(realRate),
      barePerSecond: round(bareRate),
      ratio: round(realRate / bareRate, 3),
      realP99Ms: round(summarise([...r1.latencies, ...r2.latencies]).p99),
      bareP99Ms: round(summarise([...b1.latencies, ...b2.latencies]).p99),
      // Answers other than 202, either side (none expected).
      errors: b1.errors + r1.errors + r2.errors + b2.errors,
    });
  }

  const best = Math.max(...concurrency.map((c) => c.barePerSecond));
  const rate = Math.max(5, Math.round(best / 2));
  progress(`  intake at a fixed rate of ${rate}/s for ${options.fixedRateSeconds} s each (half the bare handler's best rate), alternating…`);
  const half = options.fixedRateSeconds / 2;
  const fb1 = await openLoop(bare, run, rate, half);
  const fr1 = await openLoop(real, run, rate, half);
  const fr2 = await openLoop(real, run, rate, half);
  const fb2 = await openLoop(bare, run, rate, half);
  const realStats = summarise([...fr1.latencies, ...fr2.latencies]);
  const bareStats = summarise([...fb1.latencies, ...fb2.latencies]);
  return {
    concurrency,
    fixedRate: {
      perSecond: rate,
      seconds: options.fixedRateSeconds,
      real: { p50Ms: round(realStats.p50), p99Ms: round(realStats.p99), errors: fr1.errors + fr2.errors },
      bare: { p50Ms: round(bareStats.p50), p99Ms: round(bareStats.p99), errors: fb1.errors + fb2.errors },
      p99Ratio: round(realStats.p99 / bareStats.p99, 3),
      p50Ratio: round(realStats.p50 / bareStats.p50, 3),
    },
    rateRatio: concurrency.at(-1)!.ratio,
  };
}
