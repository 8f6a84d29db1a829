/**
 * Section 4, ops reads at scale: with the parked onboardings on the server, each read timed against its own
 * baseline, the one Temporal call it cannot do without: a page of the list against one visibility page of the same
 * query; `npx onboarding list --needs-attention` against the same command's start-up alone (`--version`); one
 * onboarding's status against describing its workflow.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { visibilityQueryOf } from '../../api/onboarding-list.js';
import type { ListOnboardingsQuery } from '../../api/ops-schemas.js';
import { BENCH_OPS_TOKEN, REPO_ROOT, round, summarise } from './harness.js';
import type { Served } from './stack.js';

export interface ReadFigure {
  read: string;
  p50Ms: number;
  maxMs: number;
  baseline: string;
  baselineP50Ms: number;
  ratio: number;
  /** Rows the read answered (list pages). */
  rows?: number;
}

async function time(repeats: number, work: (i: number) => Promise<unknown>): Promise<{ p50: number; max: number; last: unknown }> {
  const times: number[] = [];
  let last: unknown;
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    last = await work(i);
    times.push(performance.now() - t0);
  }
  const stats = summarise(times);
  return { p50: stats.p50, max: stats.max, last };
}

function runCommand(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'onboarding.mjs'), ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(code) : reject(new Error(`onboarding ${args.join(' ')} exited ${code}: ${stderr.slice(0, 300)}`))));
  });
}

export async function benchOpsReads(options: { api: Served; client: Client; sampleIds: string[]; repeats: number }): Promise<ReadFigure[]> {
  const { api, client, repeats } = options;
  const get = async (pathAndQuery: string) => {
    const response = await fetch(`${api.url}${pathAndQuery}`, { headers: { authorization: `Bearer ${BENCH_OPS_TOKEN}` } });
    if (!response.ok) throw new Error(`GET ${pathAndQuery} answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
    return response.json() as Promise<{ items?: unknown[] }>;
  };
  const visibilityPage = (query: Partial<ListOnboardingsQuery>) =>
    client.workflowService.listWorkflowExecutions({ namespace: 'default', query: visibilityQueryOf({ pageSize: 100, ...query } as ListOnboardingsQuery), pageSize: 100 });

  const figures: ReadFigure[] = [];
  const list = async (name: string, queryString: string, query: Partial<ListOnboardingsQuery>) => {
    await get(`/v1/onboardings?pageSize=100${queryString}`); // warm
    const real = await time(repeats, () => get(`/v1/onboardings?pageSize=100${queryString}`));
    const base = await time(repeats, () => visibilityPage(query));
    figures.push({ read: name, p50Ms: round(real.p50), maxMs: round(real.max), baseline: 'one visibility page, same query', baselineP50Ms: round(base.p50), ratio: round(real.p50 / base.p50, 2), rows: (real.last as { items?: unknown[] }).items?.length ?? 0 });
  };
  await list('GET /v1/onboardings, page of 100', '', {});
  await list('… status=awaiting-dns', '&status=awaiting-dns', { status: 'awaiting-dns' } as Partial<ListOnboardingsQuery>);
  await list('… needsAttention=true', '&needsAttention=true', { needsAttention: true } as Partial<ListOnboardingsQuery>);

  const cliRepeats = Math.max(2, Math.min(repeats, 5));
  const token = ['--api-url', api.url, '--token', BENCH_OPS_TOKEN];
  const cli = await time(cliRepeats, () => runCommand(['list', '--needs-attention', ...token]));
  const cliBase = await time(cliRepeats, () => runCommand(['--version']));
  figures.push({ read: 'npx onboarding list --needs-attention', p50Ms: round(cli.p50), maxMs: round(cli.max), baseline: 'npx onboarding --version (start-up)', baselineP50Ms: round(cliBase.p50), ratio: round(cli.p50 / cliBase.p50, 2) });

  const ids = options.sampleIds;
  const status = await time(repeats, (i) => get(`/v1/onboardings/${ids[(i * 7919) % ids.length]}`));
  const describe = await time(repeats, (i) => client.workflow.getHandle(ids[(i * 7919 + 1) % ids.length]!).describe());
  figures.push({ read: 'GET /v1/onboardings/{id} (one status)', p50Ms: round(status.p50), maxMs: round(status.max), baseline: 'describe the workflow', baselineP50Ms: round(describe.p50), ratio: round(status.p50 / describe.p50, 2) });
  return figures;
}
