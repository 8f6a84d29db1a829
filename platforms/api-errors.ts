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

/** What a platform client adds when it classifies a failed answer. */
export interface ErrorAnswerHints {
  /** Said after a 401 or 403: which setting to check, and what it must allow. */
  unauthorized: string;
  /** Said instead of a bare 404 (what was not found), the answer in brackets. */
  notFound?: string;
  /** A 429's delay when the answer has no Retry-After (a CRM's own rate-limit headers). */
  rateLimitDelayMs?: (headers: Headers) => number | undefined;
}

/**
 * A failed answer, classified: `said` is "<what> answered <status>: <reason>", the reason already read from the body
 * without any secret. A 429 or 5xx keeps its Retry-After as the next attempt's delay.
 */
export function errorForAnswer(said: string, response: Pick<Response, 'status' | 'headers'>, hints: ErrorAnswerHints): ResellerApiError {
  const { status } = response;
  const retryAfter = () => parseRetryAfter(response.headers.get('retry-after'));
  if (status === 400 || status === 409 || status === 422) return new ResellerApiError('rejected', said, status);
  if (status === 401 || status === 403) return new ResellerApiError('unauthorized', `${said} (${hints.unauthorized})`, status);
  if (status === 404) return new ResellerApiError('not-found', hints.notFound ? `${hints.notFound} (${said})` : said, status);
  if (status === 429) return new ResellerApiError('rate-limited', said, status, retryAfter() ?? hints.rateLimitDelayMs?.(response.headers));
  if (status >= 500) return new ResellerApiError('unavailable', said, status, retryAfter());
  return new ResellerApiError('unexpected', said, status);
}

/** A body that is not JSON, as one short line. */
export const bodyAsOneLine = (text: string) => text.replace(/\s+/g, ' ').trim().slice(0, 200);

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
