/**
 * The engine's own processes for `npm run chaos`, each on a free port: an embedded PostgreSQL (scripts/postgres.ts),
 * the Temporal dev server from .tools with a db file (so a restart keeps its state), the NextNet and Netlify
 * simulator, an SMTP sink, worker processes and API processes, all real child processes with production settings.
 * A process that exits when nobody asked is restarted, as `restart: unless-stopped` does in production, and counted.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../../worker/index.js';
import { ONBOARDING_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../postgres.js';
import { ensureTemporalCli } from '../temporal-cli.mjs';
import { freePort, ManagedProcess } from './processes.js';
import { startSmtpSink, type SmtpSink, type SmtpSinkOptions } from './smtp-sink.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Every secret value the engine is configured with; the run looks for each in every log. */
export interface ConfiguredSecrets {
  resellerApiKey: string;
  netlifyResellerToken: string;
  webhookSecret: string;
  opsApiToken: string;
  vaultKey: string;
  /** The key of PAYLOAD_KEYS (`chaos-1:<key>`), which encrypts what workflow histories hold. */
  payloadKey: string;
  databasePassword: string;
}

export interface StackOptions {
  runDir: string;
  workers: number;
  apis: number;
  /** The simulated clients add their DNS records this long after registration. */
  dnsVerifyAfterMs: number;
  /** A workflow bundle made already (the tests' global set-up makes one); default: bundled here. */
  workflowBundlePath?: string;
  /** Runs between the SMTP sink taking a message and its 250 (see smtp-sink.ts). */
  smtpBeforeReply?: SmtpSinkOptions['beforeReply'];
  log: (line: string) => void;
}

export interface Stack {
  secrets: ConfiguredSecrets;
  temporalAddress: string;
  taskQueue: string;
  simulatorUrl: string;
  sink: SmtpSink;
  temporal: ManagedProcess;
  simulator: ManagedProcess;
  workers: ManagedProcess[];
  apis: ManagedProcess[];
  apiUrls: string[];
  /** Every process whose logs are scanned (PostgreSQL's server log is `postgresLogFile`). */
  processes(): ManagedProcess[];
  postgresLogFile: string;
  /** Starts the Temporal dev server again on the same port and db file, and waits until it answers. */
  startTemporal(): Promise<void>;
  close(): Promise<void>;
}

const randomToken = (prefix: string) => `${prefix}${randomBytes(24).toString('base64url')}`;

/** A random key (vault, payloads): 32 bytes, base64. */
function vaultKey(): string {
  return randomBytes(32).toString('base64');
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const { runDir, log } = options;
  const logsDir = path.join(runDir, 'logs');
  await mkdir(logsDir, { recursive: true });
  const logFile = (name: string) => path.join(logsDir, `${name}.log`);
  const cleanups: (() => Promise<void>)[] = [];
  const processes: ManagedProcess[] = [];
  let supervising = true;

  const close = async () => {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((err: unknown) => log(`  while stopping: ${(err as Error).message}`));
    }
  };

  try {
    const secrets: Omit<ConfiguredSecrets, 'databasePassword'> = {
      resellerApiKey: randomToken('sk_org_chaos_'),
      netlifyResellerToken: randomToken('nfr_chaos_'),
      webhookSecret: `whsec_${randomBytes(32).toString('base64')}`,
      opsApiToken: randomToken('ops_chaos_'),
      vaultKey: vaultKey(),
      payloadKey: vaultKey(),
    };

    // PostgreSQL, the workflow bundle, Temporal, the SMTP sink and the simulator need nothing of each other: side by side.
    const postgresLogFile = logFile('postgres');
    const startPostgres = async () => {
      log('starting PostgreSQL (embedded, throwaway)…');
      const postgres: EmbeddedPostgres = await startEmbeddedPostgres({
        port: await freePort(),
        database: 'onboarding',
        onProgress: () => {},
        onServerLog: (line) => appendFileSync(postgresLogFile, `${line}\n`),
      });
      cleanups.push(() => postgres.close());
      return postgres.url;
    };

    const bundle = async () => {
      if (options.workflowBundlePath) return options.workflowBundlePath;
      log('bundling the workflows once (workers load the bundle, as in production)…');
      const bundlePath = path.join(runDir, 'workflow-bundle.js');
      const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger });
      await writeFile(bundlePath, code);
      return bundlePath;
    };

    const cli = await ensureTemporalCli({ log });
    const temporalPort = await freePort();
    const temporalAddress = `127.0.0.1:${temporalPort}`;
    const temporalDb = path.join(runDir, 'temporal.db');
    const temporal = new ManagedProcess({
      name: 'temporal',
      command: cli,
      args: [
        'server', 'start-dev', '--db-filename', temporalDb, '--ip', '127.0.0.1', '--port', String(temporalPort), '--headless', '--log-level', 'warn',
        ...ONBOARDING_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${searchAttributeTypeName(key.type)}`]),
      ],
      env: baseEnv(),
      cwd: runDir,
      logFile: logFile('temporal'),
    });
    processes.push(temporal);
    const startTemporal = async () => {
      await temporal.start();
      await waitForTemporal(temporalAddress, temporal);
    };

    const simulatorPort = await freePort();
    const simulatorDnsPort = await freePort();
    const simulator = new ManagedProcess({
      name: 'simulator',
      command: process.execPath,
      args: ['--import', 'tsx', 'simulator/main.ts'],
      env: {
        ...baseEnv(),
        SIM_PORT: String(simulatorPort),
        SIM_DNS_PORT: String(simulatorDnsPort),
        SIM_DNS_VERIFY_AFTER_MS: String(options.dnsVerifyAfterMs),
        RESELLER_API_KEY: secrets.resellerApiKey,
        NETLIFY_RESELLER_TOKEN: secrets.netlifyResellerToken,
      },
      cwd: REPO_ROOT,
      logFile: logFile('simulator'),
      readyLine: /simulator listening on/,
    });
    processes.push(simulator);
    const simulatorUrl = `http://127.0.0.1:${simulatorPort}`;

    // All settled before going on: a start that failed must not leave another one running unseen by close().
    const started = await Promise.allSettled([
      startPostgres(),
      bundle(),
      startSmtpSink(await freePort(), { beforeReply: options.smtpBeforeReply }).then((started) => {
        cleanups.push(() => started.close());
        return started;
      }),
      (async () => {
        log(`starting the Temporal dev server (${temporalAddress}, state in ${temporalDb})…`);
        await startTemporal();
        cleanups.push(() => temporal.stop());
      })(),
      (async () => {
        log('starting the NextNet and Netlify simulator…');
        await simulator.start();
        cleanups.push(() => simulator.stop());
      })(),
    ] as const);
    for (const result of started) if (result.status === 'rejected') throw result.reason;
    const value = <T,>(result: PromiseSettledResult<T>): T => (result as PromiseFulfilledResult<T>).value;
    const databaseUrl = value(started[0]);
    const bundlePath = value(started[1]);
    const sink = value(started[2]);
    const databasePassword = decodeURIComponent(new URL(databaseUrl).password);

    const taskQueue = `chaos-${randomBytes(4).toString('hex')}`;
    // Production settings (NODE_ENV=production: every secret set, nothing defaulted), pointed at the simulator and
    // the sink, with DNS checks and timeouts short enough for a run of minutes.
    const engineEnv: NodeJS.ProcessEnv = {
      ...baseEnv(),
      NODE_ENV: 'production',
      LOG_LEVEL: 'debug',
      DATA_DIR: path.join(runDir, 'data'),
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: taskQueue,
      TEMPORAL_UI_URL: 'http://127.0.0.1:8233',
      WORKFLOW_BUNDLE_PATH: bundlePath,
      RESELLER_API_URL: `${simulatorUrl}/accounts`,
      RESELLER_API_KEY: secrets.resellerApiKey,
      RESELLER_TIMEOUT: '3s',
      NETLIFY_API_URL: `${simulatorUrl}/netlify/api/v1`,
      NETLIFY_RESELLER_TOKEN: secrets.netlifyResellerToken,
      NETLIFY_PAYMENT_METHOD_ID: 'pm_chaos_0001',
      NETLIFY_SITE_CREATES_PER_MINUTE: '600',
      DNS_RESOLVERS: `127.0.0.1:${simulatorDnsPort}`,
      CRM_WEBHOOK_SECRET: secrets.webhookSecret,
      OPS_API_TOKEN: secrets.opsApiToken,
      VAULT_KEY: secrets.vaultKey,
      PAYLOAD_KEYS: `chaos-1:${secrets.payloadKey}`,
      SMTP_URL: sink.url,
      EMAIL_FROM: 'Chaos Agency <onboarding@agency.test>',
      OPS_ALERT_EMAIL: 'ops@agency.test',
      ONBOARDING_SERVICES: 'netlify,nextnet',
      DNS_POLL_INITIAL: '500ms',
      DNS_POLL_MAX: '2s',
      OFFBOARDING_GRACE: '0',
    };

    const workers: ManagedProcess[] = [];
    for (let n = 1; n <= options.workers; n += 1) {
      const worker = new ManagedProcess({
        name: `worker-${n}`,
        command: process.execPath,
        args: ['--import', 'tsx', 'worker/main.ts'],
        env: { ...engineEnv, WORKER_METRICS_ADDRESS: `127.0.0.1:${await freePort()}` },
        cwd: REPO_ROOT,
        logFile: logFile(`worker-${n}`),
        readyLine: /"msg":"worker started"/,
      });
      workers.push(worker);
    }
    const apiPorts = await Promise.all(Array.from({ length: options.apis }, () => freePort()));
    const apis = apiPorts.map(
      (port, index) =>
        new ManagedProcess({
          name: `api-${index + 1}`,
          command: process.execPath,
          args: ['--import', 'tsx', 'api/main.ts'],
          env: { ...engineEnv, PORT: String(port) },
          cwd: REPO_ROOT,
          logFile: logFile(`api-${index + 1}`),
          readyLine: /"msg":"API listening"/,
        }),
    );
    log(`starting ${workers.length} worker(s) and ${apis.length} API process(es)…`);
    // Side by side, as replicas start: their migrations run at once.
    await Promise.all([...workers, ...apis].map((p) => p.start()));
    processes.push(...workers, ...apis);
    cleanups.push(async () => {
      supervising = false;
      await Promise.all(apis.map((api) => api.stop()));
      await Promise.all(workers.map((worker) => worker.stop()));
    });

    // A crash nobody caused is restarted, as a supervisor would, and stays counted in the process's unexpectedExits.
    for (const managed of [simulator, ...workers, ...apis]) {
      managed.onUnexpectedExit = (how) => {
        if (!supervising) return;
        log(`  ! ${managed.name} exited by itself (${how}); restarting it in 1 s`);
        setTimeout(() => {
          if (!supervising) return;
          managed.ensureRunning().catch((err: unknown) => log(`  ! ${managed.name} did not restart: ${(err as Error).message.split('\n')[0]}`));
        }, 1_000);
      };
    }

    cleanups.push(async () => {
      for (const managed of processes) await managed.closeLog();
    });

    return {
      secrets: { ...secrets, databasePassword },
      temporalAddress,
      taskQueue,
      simulatorUrl,
      sink,
      temporal,
      simulator,
      workers,
      apis,
      apiUrls: apiPorts.map((port) => `http://127.0.0.1:${port}`),
      processes: () => processes,
      postgresLogFile,
      startTemporal,
      close,
    };
  } catch (err) {
    supervising = false;
    await close();
    throw err;
  }
}

/** What every child gets from our environment: enough to run, nothing that would point it elsewhere. */
function baseEnv(): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ', 'USER'];
  return Object.fromEntries(keep.filter((name) => process.env[name] !== undefined).map((name) => [name, process.env[name]]));
}

async function waitForTemporal(address: string, server: ManagedProcess, timeoutMs = 60_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        await connection.workflowService.getSystemInfo({});
      } finally {
        await connection.close();
      }
      return;
    } catch (err) {
      if (!server.running) throw new Error(`the Temporal dev server exited during start-up:\n${server.lastOutput()}`);
      if (Date.now() - started > timeoutMs) throw new Error(`Temporal at ${address} did not answer within ${timeoutMs / 1000} s: ${(err as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
}

/** The CLI's spelling of a search attribute type (Keyword, Bool, ...). */
function searchAttributeTypeName(valueType: string): string {
  return { KEYWORD: 'Keyword', BOOL: 'Bool', TEXT: 'Text', INT: 'Int', DOUBLE: 'Double', DATETIME: 'Datetime', KEYWORD_LIST: 'KeywordList' }[valueType] ?? valueType;
}

const quietBundlerLogger = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error(message: string, meta?: unknown) {
    console.error(message, meta ?? '');
  },
  log() {},
};
