import { ExitCode } from './exit-codes.js';
import { OpsApiError, type OpsApi } from './ops-api.js';
import type { Progress } from './progress.js';

export interface BulkRetryRequest {
  failedSince: Date;
  /** Only onboardings whose failure reason contains this (case-insensitive). */
  reasonContains?: string;
  dryRun: boolean;
}

export interface BulkRetrySummary {
  failedSince: string;
  reasonContains: string | null;
  dryRun: boolean;
  /** Onboardings that failed since `failedSince`: waiting for ops (running), or closed since. */
  found: number;
  /** Of those, the ones whose failure reason matched (all of them without a filter). */
  matched: number;
  retried: Array<{ onboardingId: string; resumesAt: string }>;
  /** Dry run only: what would have been retried. */
  wouldRetry: string[];
  skipped: Array<{ onboardingId: string; reason: string }>;
  failed: Array<{ onboardingId: string; reason: string }>;
  /** Set when the run stopped early because no further request could succeed (API unreachable, token refused). */
  stoppedEarly: { reason: string; exitCode: ExitCode; notAttempted: string[] } | null;
}

export interface BulkRetryProgress {
  /** While reading when (and why) each failed onboarding failed. */
  checking(total: number): Progress;
  retrying(total: number): Progress;
}

const MAX_REASON_LENGTH = 500;

/**
 * `retry --failed-since`: retries every onboarding that failed since a time (a failure waits for ops, running,
 * until it is given up and closes), optionally only those whose failure reason matches, one at a time. One
 * onboarding's refusal or error does not stop the others.
 */
export async function retryFailedOnboardings(api: OpsApi, request: BulkRetryRequest, progress: BulkRetryProgress): Promise<BulkRetrySummary> {
  const summary: BulkRetrySummary = {
    failedSince: request.failedSince.toISOString(),
    reasonContains: request.reasonContains ?? null,
    dryRun: request.dryRun,
    found: 0,
    matched: 0,
    retried: [],
    wouldRetry: [],
    skipped: [],
    failed: [],
    stoppedEarly: null,
  };

  const since = request.failedSince.getTime();
  // One that closed before the time failed before it too; the others say when they failed.
  const listed = (await api.listAllOnboardings({ status: 'failed', kind: 'onboarding' })).filter((item) => item.closedAt === null || Date.parse(item.closedAt) >= since);
  let candidates = listed.map((item) => item.onboardingId);

  // Stops the run when the trouble is not this onboarding's: every later request would fail the same way.
  const stopsTheRun = (err: unknown, remaining: string[]) => {
    if (!(err instanceof OpsApiError) || (err.exitCode !== ExitCode.unreachable && err.exitCode !== ExitCode.unauthorized)) return false;
    summary.stoppedEarly = { reason: err.message, exitCode: err.exitCode, notAttempted: remaining };
    return true;
  };

  const needle = request.reasonContains?.toLowerCase();
  const matching: string[] = [];
  const bar = progress.checking(candidates.length);
  try {
    for (const [index, onboardingId] of candidates.entries()) {
      try {
        const view = await api.getOnboarding(onboardingId);
        const failedAt = view.failure?.at ?? listed[index]!.closedAt;
        if (failedAt !== null && Date.parse(failedAt) < since) {
          bar.advance(`${onboardingId} failed before`);
          continue;
        }
        summary.found += 1;
        const reason = view.failure?.reason ?? '';
        if (needle === undefined || reason.toLowerCase().includes(needle)) matching.push(onboardingId);
        else summary.skipped.push({ onboardingId, reason: `failure reason does not contain ${JSON.stringify(request.reasonContains)}${reason ? ` (it is: ${reason})` : ''}` });
        bar.advance(onboardingId);
      } catch (err) {
        summary.found += 1;
        summary.failed.push({ onboardingId, reason: `could not read when and why it failed: ${(err as Error).message}` });
        bar.advance(`${onboardingId} could not be read`);
        if (stopsTheRun(err, candidates.slice(index + 1))) return summary;
      }
    }
  } finally {
    bar.finish();
  }
  candidates = matching;
  summary.matched = candidates.length;

  if (request.dryRun) {
    summary.wouldRetry = candidates;
    return summary;
  }

  const auditReason = `bulk retry from the CLI: failed since ${summary.failedSince}${
    request.reasonContains !== undefined ? `, failure reason contains ${JSON.stringify(request.reasonContains)}` : ''
  }`.slice(0, MAX_REASON_LENGTH);
  const retrying = progress.retrying(candidates.length);
  try {
    for (const [index, onboardingId] of candidates.entries()) {
      try {
        const accepted = await api.retry(onboardingId, { reason: auditReason });
        summary.retried.push({ onboardingId, resumesAt: accepted.resumesAt });
        retrying.advance(`retried ${onboardingId}`);
      } catch (err) {
        const reason = (err as Error).message;
        // A 409 means it is no longer retryable (retried by someone else meanwhile): nothing went wrong.
        if (err instanceof OpsApiError && err.status === 409) summary.skipped.push({ onboardingId, reason });
        else summary.failed.push({ onboardingId, reason });
        retrying.advance(`${err instanceof OpsApiError && err.status === 409 ? 'skipped' : 'failed'} ${onboardingId}: ${reason}`);
        if (stopsTheRun(err, candidates.slice(index + 1))) return summary;
      }
    }
  } finally {
    retrying.finish();
  }
  return summary;
}

export function bulkRetryExitCode(summary: BulkRetrySummary): ExitCode {
  if (summary.stoppedEarly) return summary.stoppedEarly.exitCode;
  return summary.failed.length > 0 ? ExitCode.failed : ExitCode.ok;
}

export function renderBulkRetrySummary(summary: BulkRetrySummary, formatTime: (iso: string) => string): string {
  const found = `${summary.found} onboarding${summary.found === 1 ? '' : 's'} failed since ${formatTime(summary.failedSince)}`;
  const lines = [
    summary.reasonContains === null ? `${found}.` : `${found}; ${summary.matched} with a failure reason containing ${JSON.stringify(summary.reasonContains)}.`,
  ];
  if (summary.dryRun) {
    lines.push(`dry run: would retry ${summary.wouldRetry.length}, skip ${summary.skipped.length}, could not check ${summary.failed.length}`);
    for (const onboardingId of summary.wouldRetry) lines.push(`  would retry  ${onboardingId}`);
  } else {
    lines.push(`retried ${summary.retried.length}, skipped ${summary.skipped.length}, failed ${summary.failed.length}`);
    for (const { onboardingId, resumesAt } of summary.retried) lines.push(`  retried  ${onboardingId} (resumes at ${resumesAt})`);
  }
  for (const { onboardingId, reason } of summary.skipped) lines.push(`  skipped  ${onboardingId}: ${reason}`);
  for (const { onboardingId, reason } of summary.failed) lines.push(`  failed   ${onboardingId}: ${reason}`);
  if (summary.stoppedEarly) {
    lines.push(`stopped early: ${summary.stoppedEarly.reason}; not attempted: ${summary.stoppedEarly.notAttempted.join(', ') || 'none'}`);
    lines.push('Run the same command again once that is fixed; an onboarding already retried is refused (409) and counted as skipped.');
  }
  return lines.join('\n') + '\n';
}
