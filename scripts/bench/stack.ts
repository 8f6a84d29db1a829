/**
 * The benchmark's stack, built from the production pieces: a Temporal dev server of its own (so its pid is known),
 * the embedded PostgreSQL (vault, sent-email ledger), the outside world (world.ts), the real API (createApp, with
 * the configuration loadConfig makes of the environment, as api/main.ts does) beside a bare HTTP handler that only
 * starts the same workflow with the same options, and workers in processes of their own (worker-process.ts).
 */
import { openSync, writeSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Client, Connection, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { bundleWorkflowCode } from '@temporalio/worker';
import express from 'express';
import { createApp } from '../../api/app.js';
import { loadConfig, type Config } from '../../config/index.js';
import { createLogger } from '../../config/logger.js';
import { payloadDataConverter } from '../../config/payload-codec.js';
import type { Database } from '../../database/index.js';
import { openVault } from '../../vault/index.js';
import { WORKFLOWS_PATH } from '../../worker/index.js';
import { ONBOARDING_WORKFLOW_TYPE, onboardingIdFor } from '../../workflows/definitions.js';
import { CrmClientId, NeedsAttention, OnboardingDomain, OnboardingPlatforms, OnboardingStatus } from '../../workflows/search-attributes.js';
import { BENCH_OPS_TOKEN, BENCH_WEBHOOK_SECRET, forkRpc, freePort, REPO_ROOT, startDevServer, type DevServer, type Rpc } from './harness.js';
import { WORLD_NETLIFY_TOKEN, WORLD_RESELLER_KEY, type WorldReady } from './world.js';

export const BENCH_VAULT_KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 255)).toString('base64');

export interface Bundles {
  real: string;
  bare: string;
}

/** Bundles the workflows once (as the Dockerfile does for production workers) and the baseline workflow. */
export async function bundleAll(dir: string): Promise<Bundles> {
  const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m), log() {} };
  const real = path.join(dir, 'workflow-bundle.js');
  const bare = path.join(dir, 'bare-workflow-bundle.js');
  const [realCode, bareCode] = await Promise.all([
    bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet }),
    bundleWorkflowCode({ workflowsPath: path.join(REPO_ROOT, 'scripts', 'bench', 'bare-workflow.ts'), logger: quiet }),
  ]);
  await writeFile(real, realCode.code);
  await writeFile(bare, bareCode.code);
  return { real, bare };
}

export interface DnsSettings {
  pollInitialMs: number;
  pollMaxMs: number;
}

export const PRODUCTION_DNS: DnsSettings = { pollInitialMs: 60_000, pollMaxMs: 30 * 60_000 };

export interface WorkerSettings {
  maxCachedWorkflows?: number;
  maxConcurrentWorkflowTaskExecutions?: number;
  maxConcurrentActivityTaskExecutions?: number;
  /** DNS_SWEEP_INTERVAL in ms; null = off. */
  dnsSweepIntervalMs: number | null;
  /** Process settings of the worker's environment (MALLOC_ARENA_MAX, NODE_OPTIONS). */
  processEnv?: Record<string, string>;
}

/** The environment of the engine's processes: the production configuration pointed at this stack. */
export function engineEnv(server: DevServer, world: WorldReady, databaseUrl: string, taskQueue: string, extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = {
    NODE_ENV: 'development',
    LOG_LEVEL: 'info',
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_TASK_QUEUE: taskQueue,
    RESELLER_API_URL: world.nextnetUrl,
    RESELLER_API_KEY: WORLD_RESELLER_KEY,
    NETLIFY_API_URL: world.netlifyUrl,
    NETLIFY_RESELLER_TOKEN: WORLD_NETLIFY_TOKEN,
    NETLIFY_SITE_CREATES_PER_MINUTE: '600',
    DNS_RESOLVERS: world.dnsAddress,
    SMTP_URL: world.smtpUrl,
    DATABASE_URL: databaseUrl,
    VAULT_KEY: BENCH_VAULT_KEY,
    CRM_WEBHOOK_SECRET: BENCH_WEBHOOK_SECRET,
    OPS_API_TOKEN: BENCH_OPS_TOKEN,
    ...extra,
  };
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

export function workerEnv(settings: WorkerSettings): Record<string, string | undefined> {
  return {
    WORKER_MAX_CACHED_WORKFLOWS: settings.maxCachedWorkflows?.toString(),
    WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: settings.maxConcurrentWorkflowTaskExecutions?.toString(),
    WORKER_MAX_CONCURRENT_ACTIVITIES: settings.maxConcurrentActivityTaskExecutions?.toString(),
    DNS_SWEEP_INTERVAL: settings.dnsSweepIntervalMs === null ? 'off' : `${settings.dnsSweepIntervalMs}ms`,
    ...settings.processEnv,
  };
}

export interface Served {
  url: string;
  close(): Promise<void>;
}

function listen(app: express.Express): Promise<Served> {
  const server = app.listen(0, '127.0.0.1');
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      }),
    );
  });
}

/** One Temporal dev server with a client, the real API and the bare handler on it. */
export interface ServerStack {
  server: DevServer;
  client: Client;
  connection: Connection;
  close(): Promise<void>;
}

export async function startServerStack(cli: string, dbFile: string, config: Pick<Config, 'payloadKeys'>): Promise<ServerStack> {
  const server = await startDevServer(cli, dbFile);
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: 'default', dataConverter: payloadDataConverter(config) });
  return {
    server,
    client,
    connection,
    async close() {
      await connection.close();
      await server.stop();
    },
  };
}

/** The real API (createApp) on a task queue, with its configuration from `env` as api/main.ts would make it. */
export async function serveRealApi(stack: ServerStack, env: Record<string, string>, database: Database, logFile: string): Promise<Served> {
  const config = loadConfig(env);
  const logger = createLogger({ level: config.logLevel, name: 'bench-api' }, fileStream(logFile));
  const { vault } = await openVault(config, logger, database);
  return listen(createApp({ config, temporal: stack.client, vault, logger }));
}

/**
 * The baseline of the intake: a bare handler that parses the delivery and starts the same workflow type (or, for
 * whole onboardings, the baseline workflow) with the same id, options, search attributes and input; no signature,
 * no validation, no logging, no metrics.
 */
export async function serveBareHandler(stack: ServerStack, options: { taskQueue: string; workflowType: string; dns: DnsSettings; stallAlertMs?: number; resultPadding?: () => number }): Promise<Served> {
  const app = express();
  app.post('/webhooks/crm', express.json({ limit: '64kb' }), async (req, res) => {
    const { data } = req.body as { data: { clientId: string; domain: string; services?: string[]; [key: string]: unknown } };
    const { services = ['nextnet'], ...client } = data;
    const onboardingId = onboardingIdFor(client.clientId);
    const input = {
      onboardingId,
      client,
      services,
      settings: { dnsPollInitialMs: options.dns.pollInitialMs, dnsPollMaxMs: options.dns.pollMaxMs, dnsDeadlineMs: 259_200_000, stallAlertMs: options.stallAlertMs ?? 900_000 },
      receivedAt: new Date().toISOString(),
      ...(options.resultPadding ? { resultPadding: options.resultPadding() } : {}),
    };
    try {
      await stack.client.workflow.start(options.workflowType, {
        workflowId: onboardingId,
        taskQueue: options.taskQueue,
        args: [input],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: [
          { key: CrmClientId, value: client.clientId },
          { key: OnboardingDomain, value: client.domain },
          { key: OnboardingStatus, value: 'registering' },
          { key: NeedsAttention, value: false },
          { key: OnboardingPlatforms, value: services },
        ],
        staticSummary: `Onboard ${client.domain} for ${client.clientId} (NextNet)`,
        staticDetails: `Onboarding of CRM client **${client.clientId}** onto NextNet: register ${client.domain}, wait for its DNS, send the signup email.`,
      });
      res.status(202).json({ onboardingId, workflowId: onboardingId, status: 'started' });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) res.status(202).json({ onboardingId, workflowId: onboardingId, status: 'already-started' });
      else res.status(503).json({ error: (err as Error).message });
    }
  });
  return listen(app);
}

export const BARE_WORKFLOW_TYPE = 'bareOnboarding';
export { ONBOARDING_WORKFLOW_TYPE };

export interface WorkerReady {
  mode: string;
  pid: number;
  tuning: Record<string, number>;
  dnsSweepIntervalMs: number | null;
}

/** A worker process (real or bare) with the production configuration from `env`; its log goes to `logFile`. */
export async function startWorkerProcess(mode: 'real' | 'bare', env: Record<string, string>, bundles: Bundles, logFile: string): Promise<Rpc<WorkerReady>> {
  return forkRpc<WorkerReady>(
    path.join(REPO_ROOT, 'scripts', 'bench', 'worker-process.ts'),
    { ...env, BENCH_WORKER: mode, WORKFLOW_BUNDLE_PATH: bundles.real, BENCH_BARE_BUNDLE: bundles.bare, WORKER_METRICS_ADDRESS: `127.0.0.1:${await freePort()}` },
    { stdout: openSync(logFile, 'a') },
  );
}

function fileStream(file: string) {
  const fd = openSync(file, 'a');
  return {
    write(chunk: string) {
      // Synchronous like pino's default destination: the API pays for its log lines as in production.
      writeSync(fd, chunk);
    },
  };
}
