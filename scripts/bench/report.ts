/**
 * The benchmark's report: the goals of issue 10 checked against the figures, a table on the terminal, and an SVG
 * chart (hand-written: horizontal bars, one panel per question) for the README.
 */
import type { CostResult } from './cost.js';
import type { IntakeResult } from './intake.js';
import type { OnboardingsResult } from './onboardings.js';
import type { ReadFigure } from './ops.js';
import type { ParkedResult } from './parked.js';

export interface Goal {
  goal: string;
  target: string;
  value: number;
  unit: string;
  met: boolean;
  note?: string;
}

export interface BenchReport {
  version: 1;
  mode: 'quick' | 'full';
  startedAt: string;
  finishedAt?: string;
  seconds?: number;
  machine: Record<string, unknown>;
  settings: Record<string, unknown>;
  sections: {
    intake?: IntakeResult;
    onboardings?: Omit<OnboardingsResult, 'realIds'> & { resultPaddingChars: number };
    parked?: { sweep: Omit<ParkedResult, 'reads'>[]; pollOnly?: Omit<ParkedResult, 'reads'> & { reads?: undefined; worstLagPerPollMax: number } };
    ops?: { count: number; reads: ReadFigure[] }[];
    cost?: CostResult;
  };
  goals: Goal[];
}

const largest = <T extends { count: number }>(items: T[] | undefined) => items?.reduce<T | undefined>((a, b) => (!a || b.count > a.count ? b : a), undefined);

export function goalsOf(report: BenchReport): Goal[] {
  const goals: Goal[] = [];
  const { intake, onboardings, parked, ops } = report.sections;
  if (intake) {
    goals.push({ goal: `Intake rate vs bare handler (concurrency ${intake.concurrency.at(-1)!.concurrency})`, target: '≥ 0.90', value: intake.rateRatio, unit: '×', met: intake.rateRatio >= 0.9 });
    goals.push({ goal: `Intake p99 at ${intake.fixedRate.perSecond}/s vs bare handler`, target: '≤ 1.5', value: intake.fixedRate.p99Ratio, unit: '×', met: intake.fixedRate.p99Ratio <= 1.5 });
  }
  if (onboardings) {
    goals.push({ goal: 'Whole onboardings completed/s vs bare workflow', target: '≥ 0.80', value: onboardings.ratio, unit: '×', met: onboardings.ratio >= 0.8 });
  }
  const top = largest(parked?.sweep);
  if (top) {
    const tuned = top.memory.find((m) => m.label === 'tuned');
    const rss = Math.max(tuned?.workerRssMiB ?? 0, top.idle.workerRssMiB);
    goals.push({ goal: `Worker RSS, ${top.count} parked (cache full)`, target: '≤ 512 MiB', value: rss, unit: 'MiB', met: rss <= 512 });
    const all = top.verification.allCompletedSeconds;
    goals.push({
      goal: `All ${top.count} completed after verification`,
      target: '≤ 120 s',
      value: Number.isFinite(all) ? all : top.verification.worstLagSeconds,
      unit: 's',
      met: Number.isFinite(all) && all <= 120,
      ...(Number.isFinite(all) ? {} : { note: `only ${top.verification.completed} of ${top.count} within the timeout` }),
    });
  }
  const topReads = largest(ops);
  if (topReads) {
    const lists = topReads.reads.filter((r) => r.read.includes('onboardings') && !r.read.includes('{id}'));
    const worst = Math.max(...lists.map((r) => r.p50Ms));
    goals.push({ goal: `Ops list, page of 100, ${topReads.count} on the server (slowest filter, p50)`, target: '≤ 300 ms', value: worst, unit: 'ms', met: worst <= 300 });
  }
  return goals;
}

// --- The table ------------------------------------------------------------------------------------------------------

function table(title: string, header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? format(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  const line = (r: (string | number)[]) => r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]!) : String(c).padStart(widths[i]!))).join('  ');
  return [`\n${title}`, line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

const format = (n: number) => (Number.isFinite(n) ? (Math.abs(n) >= 100 ? String(Math.round(n)) : String(Number(n.toFixed(2)))) : 'n/a');

export function printReport(report: BenchReport): void {
  const { intake, onboardings, parked, ops, cost } = report.sections;
  const m = report.machine as { cpus: number; node: string; loadAverage: number[] };
  console.log(`\nBenchmark (${report.mode}), ${m.cpus} cores, Node ${m.node}, load average at start ${m.loadAverage.join(' ')}; engine and baseline measured in the same run on the same server.`);
  if (intake) {
    console.log(
      table(
        '1. Intake: signed deliveries through the API vs a bare handler that only starts the same workflow',
        ['concurrency', 'API /s', 'bare /s', 'ratio', 'API p99 ms', 'bare p99 ms'],
        intake.concurrency.map((c) => [c.concurrency, c.realPerSecond, c.barePerSecond, c.ratio, c.realP99Ms, c.bareP99Ms]),
      ),
    );
    const f = intake.fixedRate;
    console.log(`   at a fixed ${f.perSecond}/s for ${f.seconds} s: API p50 ${f.real.p50Ms} ms, p99 ${f.real.p99Ms} ms; bare p50 ${f.bare.p50Ms} ms, p99 ${f.bare.p99Ms} ms (p99 ratio ${f.p99Ratio})`);
  }
  if (onboardings) {
    const row = (v: (typeof onboardings.variants)[number]) => [
      v.name, v.perSecond, v.ratio, v.latencyP50Ms, v.latencyP99Ms, v.breakdown.workflowTasks, v.breakdown.workflowTaskQueueMs, v.breakdown.workflowTaskRunMs, v.breakdown.activityQueueMs, v.breakdown.activityRunMs, v.breakdown.otherMs,
      v.breakdown.events, v.cpuMsPerOnboarding.worker, v.cpuMsPerOnboarding.temporalServer, v.connectionsPerOnboarding.nextnetHttp, v.connectionsPerOnboarding.smtp,
    ];
    console.log(
      table(
        `2. Whole onboardings, webhook to signup email (${onboardings.count} each, ${onboardings.concurrency} in flight; times in ms per onboarding, from histories)`,
        ['workflow', 'done/s', 'ratio', 'p50', 'p99', 'WFTs', 'WFT wait', 'WFT run', 'act wait', 'act run', 'other', 'events', 'worker CPU', 'server CPU', 'HTTP conns', 'SMTP conns'],
        onboardings.variants.map(row),
      ),
    );
  }
  if (parked) {
    const rows = parked.sweep.flatMap((p) =>
      p.memory.map((mem) => [
        p.count,
        mem.label,
        String(mem.settings.maxCachedWorkflows ?? ''),
        mem.startRssMiB ?? Number.NaN,
        mem.workerRssMiB,
        mem.serverRssMiB,
        mem.coldTouchSeconds ?? Number.NaN,
        mem.coldWorkerCpuMsPerPoll ?? Number.NaN,
        mem.touchSeconds,
        mem.workerCpuMsPerPoll,
        mem.label === 'tuned' ? p.verification.allCompletedSeconds : Number.NaN,
        mem.label === 'tuned' ? p.verification.worstLagSeconds : Number.NaN,
      ]),
    );
    console.log(
      table(
        `3. Parked in awaiting-dns, all woken twice on a fresh worker (1st: replayed; 2nd: cache as full as it gets), then all verified at once (sweep every ${parked.sweep[0]?.dnsSweepIntervalMs ?? 'off'} ms)`,
        ['parked', 'worker', 'cache', 'RSS at start', 'worker RSS MiB', 'server RSS MiB', '1st wake s', '1st CPU ms/poll', '2nd wake s', '2nd CPU ms/poll', 'all done s', 'worst lag s'],
        rows,
      ),
    );
    for (const p of parked.sweep) console.log(`   ${p.count} parked in ${p.parkSeconds} s; left alone ${p.idle.seconds} s: worker ${p.idle.workerRssMiB} MiB at ${p.idle.workerCpuPercent} % CPU, server ${p.idle.serverRssMiB} MiB at ${p.idle.serverCpuPercent} % CPU`);
    if (parked.pollOnly) {
      const p = parked.pollOnly;
      console.log(
        `   polls only (no sweep), ${p.count} parked, DNS_POLL_MAX ${p.dns.pollMaxMs} ms: all completed ${p.verification.allCompletedSeconds} s after verification (first ${p.verification.firstLagSeconds} s, p50 ${p.verification.p50LagSeconds} s, worst ${p.verification.worstLagSeconds} s = ${p.worstLagPerPollMax} × DNS_POLL_MAX)`,
      );
    }
  }
  if (ops) {
    console.log(
      table(
        '4. Ops reads with the parked onboardings on the server (p50 of repeats, against the one Temporal call each needs)',
        ['on server', 'read', 'p50 ms', 'max ms', 'baseline p50 ms', 'ratio', 'baseline'],
        ops.flatMap((o) => o.reads.map((r) => [o.count, r.read, r.p50Ms, r.maxMs, r.baselineP50Ms, r.ratio, r.baseline])),
      ),
    );
  }
  if (cost) {
    console.log(
      table(
        `5. Cost growth, from real histories (payloads encrypted; a first run of ${cost.checksPerRunMeasured} checks measured)`,
        ['plan', 'completed at once', 'per DNS check', 'per continue-as-new', 'replay after k checks (cache miss)', ...cost.plans[0]!.storage.map((s) => `${s.days} d, ${s.checksPerRun}/run`)],
        cost.plans.map((p) => [
          p.plan,
          `${p.completedAtOnce.events} ev, ${(p.completedAtOnce.bytes / 1024).toFixed(1)} KiB`,
          `${p.perCheck.events} ev, ${p.perCheck.bytes} B`,
          `${p.perRun.overheadEvents} ev, ${(p.perRun.overheadBytes / 1024).toFixed(1)} KiB`,
          p.replay.map((r) => `k=${r.checks}: ${format(r.cpuMs)} ms`).join(', '),
          ...p.storage.map((s) => `${s.checks} checks, ${s.runs} runs, ${s.kib} KiB`),
        ]),
      ),
    );
  }
  if (report.goals.length) {
    console.log(table('Goals (issue 10)', ['goal', 'target', 'measured', 'met'], report.goals.map((g) => [g.goal, g.target, `${format(g.value)} ${g.unit}${g.note ? ` (${g.note})` : ''}`, g.met ? 'yes' : 'NO'])));
  }
}

// --- The chart ------------------------------------------------------------------------------------------------------

interface Bar {
  label: string;
  value: number;
  color: string;
  text?: string;
}

const COLORS = { engine: '#2563eb', baseline: '#94a3b8', alt: '#f59e0b', server: '#10b981', bad: '#dc2626' };
const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function panel(x: number, y: number, width: number, title: string, bars: Bar[], options: { goal?: { value: number; label: string }; unit: string; max?: number }): { svg: string; height: number } {
  const labelWidth = 250;
  const barHeight = 16;
  const gap = 6;
  const top = 28;
  const plotWidth = width - labelWidth - 70;
  const finite = bars.map((b) => b.value).filter(Number.isFinite);
  const max = options.max ?? Math.max(1e-9, ...finite, options.goal?.value ?? 0) * 1.1;
  const scale = (v: number) => (Number.isFinite(v) ? Math.max(0, Math.min(v, max)) / max : 0) * plotWidth;
  const parts: string[] = [`<text x="${x}" y="${y + 16}" class="title">${escape(title)}</text>`];
  bars.forEach((bar, i) => {
    const by = y + top + i * (barHeight + gap);
    parts.push(`<text x="${x + labelWidth - 8}" y="${by + 12}" class="label" text-anchor="end">${escape(bar.label)}</text>`);
    parts.push(`<rect x="${x + labelWidth}" y="${by}" width="${scale(bar.value).toFixed(1)}" height="${barHeight}" fill="${bar.color}" rx="2"/>`);
    const text = bar.text ?? (Number.isFinite(bar.value) ? `${format(bar.value)} ${options.unit}` : 'n/a');
    parts.push(`<text x="${(x + labelWidth + scale(bar.value) + 4).toFixed(1)}" y="${by + 12}" class="value">${escape(text)}</text>`);
  });
  const height = top + bars.length * (barHeight + gap) + 14;
  if (options.goal) {
    const gx = x + labelWidth + scale(options.goal.value);
    parts.push(`<line x1="${gx.toFixed(1)}" y1="${y + top - 4}" x2="${gx.toFixed(1)}" y2="${y + height - 10}" class="goal"/>`);
    parts.push(`<text x="${gx.toFixed(1)}" y="${y + height}" class="goaltext" text-anchor="middle">${escape(options.goal.label)}</text>`);
  }
  return { svg: parts.join('\n'), height: height + 14 };
}

export function renderSvg(report: BenchReport): string {
  const width = 960;
  const { intake, onboardings, parked, ops, cost } = report.sections;
  const panels: { title: string; bars: Bar[]; goal?: { value: number; label: string }; unit: string; max?: number }[] = [];

  const ratios: Bar[] = [];
  for (const c of intake?.concurrency ?? []) ratios.push({ label: `intake rate, concurrency ${c.concurrency}`, value: c.ratio, color: c.ratio >= 0.9 ? COLORS.engine : COLORS.bad });
  if (intake) ratios.push({ label: `intake p99 at ${intake.fixedRate.perSecond}/s (lower is better)`, value: intake.fixedRate.p99Ratio, color: intake.fixedRate.p99Ratio <= 1.5 ? COLORS.alt : COLORS.bad });
  for (const v of onboardings?.variants.slice(1) ?? []) ratios.push({ label: `whole onboardings/s, ${v.name}`, value: v.ratio, color: v.ratio >= 0.8 ? COLORS.engine : COLORS.bad });
  if (ratios.length) panels.push({ title: 'Engine ÷ its baseline, same run, same server (1.0 = as fast as the baseline)', bars: ratios, goal: { value: 1, label: '1.0' }, unit: '×', max: Math.max(1.6, ...ratios.map((r) => r.value * 1.1)) });

  if (onboardings) {
    const colors = [COLORS.baseline, COLORS.engine, COLORS.alt];
    const bars = onboardings.variants.flatMap((v, i): Bar[] => [
      { label: `${v.name}: activities running`, value: v.breakdown.activityRunMs, color: colors[i] ?? COLORS.alt },
      { label: `${v.name}: workflow tasks running`, value: v.breakdown.workflowTaskRunMs, color: colors[i] ?? COLORS.alt },
      { label: `${v.name}: waiting in task queues`, value: v.breakdown.workflowTaskQueueMs + v.breakdown.activityQueueMs, color: colors[i] ?? COLORS.alt },
      { label: `${v.name}: worker CPU per onboarding`, value: v.cpuMsPerOnboarding.worker, color: colors[i] ?? COLORS.alt },
    ]);
    panels.push({ title: "Where one onboarding's time goes (ms per onboarding, mean of sampled histories)", bars, unit: 'ms' });
  }

  if (parked?.sweep.length) {
    const memory: Bar[] = [];
    for (const p of parked.sweep) {
      for (const m of p.memory) memory.push({ label: `${p.count} parked: worker, ${m.label}`, value: m.workerRssMiB, color: m.label === 'tuned' ? (m.workerRssMiB <= 512 ? COLORS.engine : COLORS.bad) : COLORS.baseline });
      memory.push({ label: `${p.count} parked: Temporal dev server`, value: Math.max(...p.memory.map((m) => m.serverRssMiB), p.idle.serverRssMiB), color: COLORS.server });
    }
    panels.push({ title: 'Memory while parked in awaiting-dns (peak RSS, MiB, every workflow woken twice)', bars: memory, goal: { value: 512, label: '512 MiB goal (worker)' }, unit: 'MiB' });

    const verify: Bar[] = parked.sweep.map((p) => ({
      label: `${p.count} parked, sweep every ${Math.round((p.dnsSweepIntervalMs ?? 0) / 1000)} s`,
      value: Number.isFinite(p.verification.allCompletedSeconds) ? p.verification.allCompletedSeconds : p.verification.worstLagSeconds,
      color: p.verification.allCompletedSeconds <= 120 ? COLORS.engine : COLORS.bad,
    }));
    if (parked.pollOnly) {
      const p = parked.pollOnly;
      verify.push({ label: `polls only: worst lag ÷ DNS_POLL_MAX`, value: p.worstLagPerPollMax * 60, color: COLORS.baseline, text: `${p.worstLagPerPollMax} × DNS_POLL_MAX (30 min in production)` });
    }
    panels.push({ title: 'Every domain verified at once: seconds until all are completed', bars: verify, goal: { value: 120, label: '2 min goal' }, unit: 's' });
  }

  if (ops?.length) {
    const reads: Bar[] = [];
    for (const o of ops) {
      for (const r of o.reads) reads.push({ label: `${o.count}: ${r.read.replace('GET /v1/onboardings', 'list').replace('npx onboarding ', '')}`.slice(0, 44), value: r.p50Ms, color: r.read.startsWith('npx') ? COLORS.alt : COLORS.engine });
    }
    panels.push({ title: 'Ops reads with N on the server (p50, ms)', bars: reads, goal: { value: 300, label: '300 ms goal (list page)' }, unit: 'ms' });
  }

  if (cost?.plans.length) {
    const bars: Bar[] = [];
    for (const p of cost.plans) {
      for (const st of p.storage) bars.push({ label: `${p.plan}, ${st.days} d, ${st.checksPerRun} checks/run`, value: st.kib, color: st.days === 1 ? COLORS.server : COLORS.engine });
    }
    panels.push({ title: 'Temporal history of one onboarding (KiB) after days of waiting for DNS', bars, unit: 'KiB' });
    const replays: Bar[] = cost.plans.flatMap((p) => p.replay.map((r) => ({ label: `${p.plan}, after ${r.checks} checks`, value: r.cpuMs, color: r.checks > 50 ? COLORS.bad : COLORS.engine })));
    panels.push({ title: 'Worker CPU of one DNS poll that misses the cache: replaying the run so far (ms)', bars: replays, unit: 'ms' });
  }

  let y = 40;
  const body: string[] = [];
  for (const p of panels) {
    const rendered = panel(20, y, width - 40, p.title, p.bars, { goal: p.goal, unit: p.unit, max: p.max });
    body.push(rendered.svg);
    y += rendered.height + 10;
  }
  const m = report.machine as { cpus: number; node: string };
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 10}" viewBox="0 0 ${width} ${y + 10}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">
<style>
  .title { font-size: 14px; font-weight: 600; fill: #0f172a; }
  .label { font-size: 12px; fill: #334155; }
  .value { font-size: 11px; fill: #0f172a; }
  .goal { stroke: #dc2626; stroke-width: 1.5; stroke-dasharray: 4 3; }
  .goaltext { font-size: 11px; fill: #dc2626; }
  .head { font-size: 16px; font-weight: 700; fill: #0f172a; }
  .sub { font-size: 11px; fill: #64748b; }
</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="20" y="22" class="head">npm run bench (${report.mode}): the onboarding engine against its baselines</text>
<text x="${width - 20}" y="22" class="sub" text-anchor="end">${escape(`${m.cpus} cores, Node ${m.node}, ${report.startedAt.slice(0, 10)}`)}</text>
${body.join('\n')}
</svg>
`;
}
