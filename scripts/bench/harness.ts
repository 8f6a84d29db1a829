/**
 * What every part of `npm run bench` shares: the Temporal dev server it starts (so its pid, RSS and CPU can be
 * read), child processes spoken to over IPC, /proc readers, percentiles, signed deliveries and waits.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { Webhook } from 'standardwebhooks';
import { eventually } from '../../test/eventually.js';
import { freePort } from '../../test/free-port.js';
import { ONBOARDING_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';

export { freePort };

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MiB = 2 ** 20;
const CLOCK_TICKS = 100; // USER_HZ on Linux

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resident memory of a process, from /proc/<pid>/status (VmRSS), in bytes; NaN where /proc is missing. */
export function rssOf(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** CPU time (user + system) a process has used so far, from /proc/<pid>/stat, in milliseconds. */
export function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state(0) ppid(1) ... utime(11) stime(12)
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** A process's CPU share between two readings, as % of one core. */
export class CpuMeter {
  private startCpu: number;
  private startAt: number;
  constructor(private readonly read: () => number) {
    this.startCpu = read();
    this.startAt = performance.now();
  }
  /** CPU milliseconds used since the meter started. */
  usedMs(): number {
    return this.read() - this.startCpu;
  }
  /** % of one core since the meter started. */
  percent(): number {
    const wall = performance.now() - this.startAt;
    return wall > 0 ? (100 * this.usedMs()) / wall : Number.NaN;
  }
}

export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function summarise(values: number[]): { n: number; p50: number; p99: number; max: number; mean: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    max: sorted.at(-1) ?? Number.NaN,
    mean: sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : Number.NaN,
  };
}

export const round = (value: number, digits = 1) => (Number.isFinite(value) ? Number(value.toFixed(digits)) : value);

/** Runs `work(i)` for i in [0, count) with at most `concurrency` at once. */
export async function pool(count: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      for (let i = next++; i < count; i = next++) await work(i);
    }),
  );
}

/** Polls until `check` answers something truthy, or throws after `timeoutMs`. */
export function waitFor<T>(what: string, check: () => Promise<T | false | undefined | null>, timeoutMs: number, intervalMs = 250): Promise<T> {
  return eventually(check, { what, timeoutMs, intervalMs });
}

export const BENCH_WEBHOOK_SECRET = `whsec_${Buffer.from('benchmark-webhook-secret-32-byte').toString('base64')}`;
export const BENCH_OPS_TOKEN = 'bench-ops-token-0123';
const webhook = new Webhook(BENCH_WEBHOOK_SECRET);

/** Headers of a signed Standard Webhooks delivery of `body`. */
export function signedHeaders(body: string, id: string): Record<string, string> {
  const now = new Date();
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': webhook.sign(id, now, body),
  };
}

/** A `client.created` delivery body for client `i` of run `run`: NextNet alone, WordPress (the key goes to the vault). */
export function clientCreatedBody(run: string, i: number, services: string[] = ['nextnet']): { clientId: string; domain: string; body: string } {
  const clientId = `bench-${run}-${i}`;
  const domain = `bench-${run}-${i}.example.com`;
  const body = JSON.stringify({
    type: 'client.created',
    timestamp: new Date().toISOString(),
    data: { clientId, email: `owner${i}@bench-${run}.example.com`, name: `Bench Client ${i}`, domain, services, cms: 'wordpress', subscriptionTier: 'pro', industry: 'plumbing', businessScope: 'local', city: 'Tampa', state: 'Florida' },
  });
  return { clientId, domain, body };
}

// --- The Temporal dev server -------------------------------------------------------------------------------

export interface DevServer {
  address: string;
  pid: number;
  dbFile: string;
  stop(): Promise<void>;
}

/** `temporal server start-dev` with our search attributes, its state in a SQLite file (as `npm start` runs it). */
export async function startDevServer(cli: string, dbFile: string): Promise<DevServer> {
  const port = await freePort();
  const typeName = (t: string) => ({ KEYWORD: 'Keyword', BOOL: 'Bool', TEXT: 'Text', INT: 'Int', DOUBLE: 'Double', DATETIME: 'Datetime', KEYWORD_LIST: 'KeywordList' })[t] ?? t;
  const child = spawn(
    cli,
    [
      'server', 'start-dev', '--db-filename', dbFile, '--ip', '127.0.0.1', '--port', String(port), '--headless', '--log-level', 'error',
      ...ONBOARDING_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${typeName(key.type)}`]),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const address = `127.0.0.1:${port}`;
  await waitFor(
    'the Temporal dev server',
    async () => {
      if (child.exitCode !== null) throw new Error(`the dev server exited: ${stderr}`);
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        // Ready once the namespace answers, and the search attributes are registered.
        const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
        return ONBOARDING_SEARCH_ATTRIBUTES.every((key) => customAttributes && key.name in customAttributes);
      } finally {
        await connection.close();
      }
    },
    60_000,
    300,
  );
  return { address, pid: child.pid!, dbFile, stop: () => stopChild(child) };
}

export async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

// --- Child processes over IPC ----------------------------------------------------------------------------

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/** A TypeScript child process (run through tsx) that answers `call(command, args)` over IPC. */
export interface Rpc<Ready = unknown> {
  child: ChildProcess;
  pid: number;
  ready: Ready;
  call<T = unknown>(command: string, args?: unknown): Promise<T>;
  stop(): Promise<void>;
}

export async function forkRpc<Ready>(script: string, env: NodeJS.ProcessEnv, options: { execArgv?: string[]; stdout?: number } = {}): Promise<Rpc<Ready>> {
  const child = fork(script, [], {
    env: { ...process.env, ...env },
    execArgv: ['--import', 'tsx', ...(options.execArgv ?? [])],
    stdio: ['ignore', options.stdout ?? 'inherit', 'inherit', 'ipc'],
    cwd: REPO_ROOT,
  });
  const pending = new Map<number, Pending>();
  let nextId = 0;
  const ready = new Promise<Ready>((resolve, reject) => {
    child.once('exit', (code, signal) => {
      const err = new Error(`${path.basename(script)} exited (${signal ?? `code ${code}`})`);
      reject(err);
      for (const p of pending.values()) p.reject(err);
      pending.clear();
    });
    child.on('message', (raw) => {
      const message = raw as { type: string; id?: number; result?: unknown; error?: string; ready?: Ready };
      if (message.type === 'ready') resolve(message.ready as Ready);
      else if (message.type === 'failed') reject(new Error(`${path.basename(script)}: ${message.error}`));
      else if (message.type === 'result' && message.id !== undefined) {
        const p = pending.get(message.id);
        pending.delete(message.id);
        if (message.error !== undefined) p?.reject(new Error(message.error));
        else p?.resolve(message.result);
      }
    });
  });
  const readyValue = await ready;
  return {
    child,
    pid: child.pid!,
    ready: readyValue,
    call<T>(command: string, args?: unknown) {
      return new Promise<T>((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        child.send({ type: 'call', id, command, args });
      });
    },
    stop: () => stopChild(child, 30_000),
  };
}

/** The child's side of {@link forkRpc}: announces `ready` and answers calls with `handlers`. */
export function serveRpc(handlers: Record<string, (args: never) => unknown>, ready: unknown): void {
  process.on('message', (raw) => {
    const message = raw as { type: string; id: number; command: string; args: never };
    if (message.type !== 'call') return;
    const handler = handlers[message.command];
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown command ${message.command}`);
        return handler(message.args);
      })
      .then(
        (result) => process.send?.({ type: 'result', id: message.id, result }),
        (err: unknown) => process.send?.({ type: 'result', id: message.id, error: (err as Error).message ?? String(err) }),
      );
  });
  process.send?.({ type: 'ready', ready });
}

/** Usage figures a child reports about itself. */
export interface ProcessUsage {
  cpuMs: number;
  rss: number;
  heapUsed: number;
  /** Memory of C++ objects bound to JavaScript ones (buffers and the like). */
  external: number;
}

export function ownUsage(): ProcessUsage {
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  return { cpuMs: (cpu.user + cpu.system) / 1000, rss: memory.rss, heapUsed: memory.heapUsed, external: memory.external };
}

export function machine() {
  return { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', memoryGiB: round(os.totalmem() / 2 ** 30, 1), node: process.version, loadAverage: os.loadavg().map((l) => round(l, 2)) };
}
