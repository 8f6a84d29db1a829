import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel, type WorkerOptions } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities } from '../activities/index.js';
import { createSmtpMailer } from '../activities/mailer.js';
import { NextNetClient } from '../activities/nextnet-client.js';
import { FileSentEmailLedger } from '../activities/sent-email-ledger.js';
import type { Config } from '../config/index.js';
import { temporalConnectionOptions } from '../config/temporal-connection.js';
import type { SecretVault } from '../vault/index.js';

export const WORKFLOWS_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'index.ts');

export interface OnboardingWorkerOptions {
  config: Config;
  logger: Logger;
  vault: SecretVault;
  connection: NativeConnection;
  /** A prebuilt bundle (production); without it the workflows are bundled from source at start. */
  workflowBundlePath?: string;
}

/** Builds the worker that runs onboarding workflows and their activities on the configured task queue. */
export async function createOnboardingWorker(options: OnboardingWorkerOptions): Promise<{ worker: Worker; close(): void }> {
  const { config, logger } = options;
  const mailer = createSmtpMailer(config.email.smtpUrl, config.email.from);
  const activities = createActivities({
    nextnet: new NextNetClient({ baseUrl: config.reseller.apiUrl, apiKey: config.reseller.apiKey, timeoutMs: config.reseller.timeoutMs }),
    vault: options.vault,
    mailer,
    sentEmails: new FileSentEmailLedger(path.resolve(config.dataDir, 'sent-emails')),
    logger: logger.child({ component: 'activities' }),
    signupUrl: config.email.signupUrl,
    emailFrom: config.email.from,
    opsAlertTo: config.email.opsAlertTo,
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
    shutdownGraceTime: '10 seconds',
  });
  return { worker, close: () => mailer.close() };
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
