import { Context } from '@temporalio/activity';
import type { Logger } from 'pino';

/** A logger for the running activity: every line names the workflow (and onboarding) it works for. */
export function activityLogger(logger: Logger, fields: Record<string, unknown> = {}): Logger {
  const workflowId = Context.current().info.workflowExecution?.workflowId ?? 'unknown';
  return logger.child({ workflowId, onboardingId: workflowId.replace(/^offboarding-/, 'onboarding-'), ...fields });
}

/**
 * A one-time secret exists only in the calling function's memory until the vault has it: a failed write is
 * retried here, because an activity retry might not get the secret again.
 */
export async function putWithRetries<T>(put: () => Promise<T>, log: Logger, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await put();
    } catch (err) {
      if (attempt >= attempts) {
        log.error({ err: (err as Error).message, attempts }, 'could not store the secret in the vault; it is lost');
        throw err;
      }
      log.warn({ err: (err as Error).message, attempt }, 'vault write failed; retrying');
      await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
    }
  }
}

/** Heartbeats every `everyMs` while `work` runs, so Temporal sees a slow call is alive and a dead worker is noticed soon. */
export async function withHeartbeats<T>(work: Promise<T>, everyMs = 5_000): Promise<T> {
  const context = Context.current();
  const timer = setInterval(() => context.heartbeat(), everyMs);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}
