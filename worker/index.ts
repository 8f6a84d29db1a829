import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel, type WorkerOptions } from '@temporalio/worker';
import type { Logger } from 'pino';
import { Client, Connection } from '@temporalio/client';
import { domainHoldersFrom } from '../activities/domain-holders.js';
import { createActivities } from '../activities/index.js';
import { createSmtpMailer } from '../activities/mailer.js';
import { NetlifyClient } from '../platforms/netlify/client.js';
import { siteCreationQueueFor } from '../platforms/netlify/platform.js';
import { NextNetClient } from '../platforms/nextnet/client.js';
import { crmClientsFrom } from '../crm/clients.js';
import { FileSentEmailLedger, type SentEmailLedger } from '../activities/sent-email-ledger.js';
import type { Config } from '../config/index.js';
import { payloadDataConverter } from '../config/payload-codec.js';
import { temporalConnectionOptions } from '../config/temporal-connection.js';
import type { SecretVault } from '../vault/index.js';

export const WORKFLOWS_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'index.ts');

export interface OnboardingWorkerOptions {
  config: Config;
  logger: Logger;
  vault: SecretVault;
  /** Which signup emails went out: the PostgreSQL ledger shared by every worker; unset: files under DATA_DIR (development). */
  sentEmails?: SentEmailLedger;
  connection: NativeConnection;
  /** A prebuilt bundle (production); without it the workflows are bundled from source at start. */
  workflowBundlePath?: string;
  /** Cache and concurrency of the main worker; default: the configuration's (`config.worker`). */
  tuning?: WorkerTuning;
}

/**
 * The main worker's cache and concurrency (WORKER_MAX_CACHED_WORKFLOWS, WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
 * WORKER_MAX_CONCURRENT_ACTIVITIES); unset ones take the SDK's defaults. The README's production section gives the
 * benchmark figures behind the defaults.
 */
export interface WorkerTuning {
  /** Workflows kept in memory between their tasks (sticky cache); 0 = none. */
  maxCachedWorkflows?: number;
  maxConcurrentWorkflowTaskExecutions?: number;
  maxConcurrentActivityTaskExecutions?: number;
}

/** The Worker.create options of a tuning (the benchmark's bare worker takes the same). */
export function workerTuningOptions(tuning: WorkerTuning | undefined): Pick<WorkerOptions, 'maxCachedWorkflows' | 'maxConcurrentWorkflowTaskExecutions' | 'maxConcurrentActivityTaskExecutions'> {
  return {
    ...(tuning?.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: tuning.maxCachedWorkflows } : {}),
    ...(tuning?.maxConcurrentWorkflowTaskExecutions !== undefined ? { maxConcurrentWorkflowTaskExecutions: tuning.maxConcurrentWorkflowTaskExecutions } : {}),
    ...(tuning?.maxConcurrentActivityTaskExecutions !== undefined ? { maxConcurrentActivityTaskExecutions: tuning.maxConcurrentActivityTaskExecutions } : {}),
  };
}

export interface OnboardingWorkers {
  /** The worker of the main task queue (workflows and every activity). */
  worker: Worker;
  /** Runs every worker until all have stopped (each drains on SIGINT/SIGTERM by itself). */
  run(): Promise<void>;
  shutdown(): void;
  close(): void;
}

/**
 * Builds the worker that runs onboarding workflows and their activities on the configured task queue, and the one
 * that creates Netlify sites from their own throttled queue (the limit holds across every worker of that queue).
 */
export async function createOnboardingWorker(options: OnboardingWorkerOptions): Promise<OnboardingWorkers> {
  const { config, logger } = options;
  const mailer = createSmtpMailer(config.email.smtpUrl, config.email.from, { fromName: config.email.agencyName });
  // A client of its own, for the rare look-ups activities make in Temporal's visibility (a duplicate client's domain).
  const lookupConnection = await Connection.connect(temporalConnectionOptions(config.temporal));
  // The one data converter of every client and worker: visibility answers carry encrypted memos.
  const dataConverter = payloadDataConverter(config);
  const lookups = new Client({ connection: lookupConnection, namespace: config.temporal.namespace, dataConverter });
  const available = new Set(config.availableServices);
  const activities = createActivities({
    nextnet: available.has('nextnet') ? new NextNetClient({ baseUrl: config.reseller.apiUrl, apiKey: config.reseller.apiKey, timeoutMs: config.reseller.timeoutMs }) : undefined,
    netlify: available.has('netlify')
      ? {
          client: new NetlifyClient({ baseUrl: config.netlify.apiUrl, resellerToken: config.netlify.resellerToken, timeoutMs: config.netlify.timeoutMs, userAgent: config.netlify.userAgent }),
          loadBalancerIp: config.netlify.loadBalancerIp,
          dnsResolvers: config.dnsResolvers,
          paymentMethodId: config.netlify.paymentMethodId,
        }
      : undefined,
    crms: crmClientsFrom(config.crmApis),
    vault: options.vault,
    mailer,
    sentEmails: options.sentEmails ?? new FileSentEmailLedger(path.resolve(config.dataDir, 'sent-emails')),
    logger: logger.child({ component: 'activities' }),
    signupUrl: config.email.signupUrl,
    emailFrom: config.email.from,
    agencyName: config.email.agencyName,
    emailReplyTo: config.email.replyTo,
    opsAlertTo: config.email.opsAlertTo,
    temporalUiUrl: config.temporal.uiUrl,
    namespace: config.temporal.namespace,
    domainHolders: domainHoldersFrom(lookups),
  });
  const workflowSource: Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> = options.workflowBundlePath
    ? { workflowBundle: { codePath: options.workflowBundlePath } }
    : { workflowsPath: WORKFLOWS_PATH };
  const worker = await Worker.create({
    connection: options.connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    activities,
    ...workflowSource,
    dataConverter,
    ...workerTuningOptions(options.tuning ?? config.worker),
    shutdownGraceTime: '10 seconds',
  });
  const siteCreation = await createSiteCreationWorker({
    connection: options.connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    activities,
    perMinute: config.netlify.siteCreatesPerMinute,
    dataConverter,
  });
  const workers = [worker, siteCreation];
  return {
    worker,
    run: async () => {
      await Promise.all(workers.map((w) => w.run()));
    },
    shutdown: () => {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    },
    close: () => {
      mailer.close();
      void lookupConnection.close();
    },
  };
}

/**
 * The worker of Netlify site creations: only that activity, from its own queue, at most `perMinute` a minute across
 * all workers (Temporal's task-queue rate limit); 429s still arrive now and then and wait for Netlify's reset.
 */
export async function createSiteCreationWorker(options: {
  connection: NativeConnection;
  namespace?: string;
  taskQueue: string;
  activities: Pick<ReturnType<typeof createActivities>, 'ensureNetlifySite'>;
  perMinute: number;
  /** The data converter of the main worker (payloadDataConverter): its activities read and write the same payloads. */
  dataConverter: DataConverter;
}): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: siteCreationQueueFor(options.taskQueue),
    activities: { ensureNetlifySite: options.activities.ensureNetlifySite },
    dataConverter: options.dataConverter,
    maxTaskQueueActivitiesPerSecond: options.perMinute / 60,
    shutdownGraceTime: '10 seconds',
  });
}

export async function connectWorker(config: Config): Promise<NativeConnection> {
  return NativeConnection.connect(temporalConnectionOptions(config.temporal));
}

// Onboardings take minutes to weeks: the SDK's default buckets (up to 10 s) would put every one in +Inf.
const DURATION_BUCKETS_SECONDS = [60, 300, 900, 1_800, 3_600, 3 * 3_600, 6 * 3_600, 12 * 3_600, 86_400, 3 * 86_400, 7 * 86_400, 14 * 86_400, 30 * 86_400];
export const BUSINESS_HISTOGRAM_BUCKETS = {
  onboarding_webhook_to_completion: DURATION_BUCKETS_SECONDS,
  onboarding_dns_wait: DURATION_BUCKETS_SECONDS,
};

/**
 * Installs the Temporal runtime once per process, before any connection: the SDK's own log lines go through our
 * pino logger, and its metrics (the SDK's `temporal_*` runtime metrics plus our business metrics,
 * `onboardings_completed`, `onboardings_failed`, `onboarding_webhook_to_completion`, `onboarding_dns_wait`) are served
 * for Prometheus at `metricsAddress` (`/metrics`).
 */
export function configureTemporalRuntime(options: { logger: Logger; logLevel?: LogLevel; metricsAddress?: string }): void {
  const sdkLogger = options.logger.child({ component: 'temporal-sdk' });
  Runtime.install({
    logger: new DefaultLogger(options.logLevel ?? 'INFO', ({ level: entryLevel, message, meta }) => {
      const method = ({ TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const)[entryLevel];
      sdkLogger[method](meta ?? {}, message);
    }),
    ...(options.metricsAddress
      ? {
          telemetryOptions: {
            metrics: { prometheus: { bindAddress: options.metricsAddress, useSecondsForDurations: true, histogramBucketOverrides: BUSINESS_HISTOGRAM_BUCKETS } },
          },
        }
      : {}),
  });
}
