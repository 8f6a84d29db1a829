import { ApplicationFailure } from '@temporalio/common';
/**
 * What every platform client throws: a failed call, classified so the activities know whether to retry, wait
 * (rate limits) or give up, and described without the API key, token or any secret of the response.
 */
export type ResellerErrorKind = 'rejected' | 'unauthorized' | 'not-found' | 'rate-limited' | 'unavailable' | 'unexpected';

/** A failed call, described without the API key or any response secret. */
export class ResellerApiError extends Error {
  constructor(
    readonly kind: ResellerErrorKind,
    message: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ResellerApiError';
  }
}

export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export function describeNetworkError(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError') return 'timed out';
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ?? cause?.message ?? err.message;
  }
  return String(err);
}


/** Transient trouble retries by policy; a 429's or 503's Retry-After (or rate-limit reset) sets the next attempt's delay. */
export function asRetryableFailure(err: unknown): unknown {
  if (err instanceof ResellerApiError) {
    return ApplicationFailure.create({
      message: err.message,
      type: `Reseller.${err.kind}`,
      nonRetryable: false,
      nextRetryDelay: err.retryAfterMs,
    });
  }
  return err;
}
