import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel, type WorkerOptions } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities } from '../activities/index.js';
import { createSmtpMailer } from '../activities/mailer.js';
import { NextNetClient } from '../activities/nextnet-client.js';
import { FileSentEmailLedger } from '../activities/sent-email-ledger.js';
import type { Config } from '../config/index.js';
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
  return NativeConnection.connect({ address: config.temporal.address });
}

/** Sends the Temporal SDK's own log lines (worker lifecycle, bundling, retries) through our pino logger. */
export function routeTemporalLogsTo(logger: Logger, level: LogLevel = 'INFO'): void {
  const sdkLogger = logger.child({ component: 'temporal-sdk' });
  Runtime.install({
    logger: new DefaultLogger(level, ({ level: entryLevel, message, meta }) => {
      const method = ({ TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const)[entryLevel];
      sdkLogger[method](meta ?? {}, message);
    }),
  });
}
