import { z } from 'zod';
import { describeNetworkError, parseRetryAfter, ResellerApiError } from '../platforms/api-errors.js';
import { CRM_SOURCE_LABELS, type CrmSource } from './types.js';

/**
 * The one HTTP path of every CRM client: a timeout on each call, redirects never followed (the token would go
 * with them), failures classified as ResellerApiError (so `asRetryableFailure` and the workflow treat a CRM like any
 * platform), the CRM's rate-limit delay carried on a 429, and messages that never hold the token or a whole body.
 */
export interface CrmHttpOptions {
  source: CrmSource;
  baseUrl: string;
  timeoutMs: number;
  /** The authentication (and version) headers of every call. */
  headers: Record<string, string>;
  /** Values that must never appear in a message (the token). */
  secrets: string[];
  /** The settings to check when the CRM refuses the credentials, or redirects: e.g. HUBSPOT_ACCESS_TOKEN, HUBSPOT_API_URL. */
  settings: { credentials: string; url: string };
  /** The CRM's own "try again in" when a 429 has no Retry-After (its rate-limit window headers). */
  rateLimitDelayMs?(headers: Headers): number | undefined;
  fetch?: typeof fetch;
}

export interface CrmCallOptions {
  body?: unknown;
  /** Statuses answered as results rather than errors (409 "already exists", a 400 the caller reads). */
  accept?: number[];
  /** The message of a 404: which record is gone, in the CRM's own words. */
  notFound?: string;
}

export interface CrmAnswer {
  status: number;
  /** The body as JSON; undefined when empty. */
  json: unknown;
}

export class CrmHttp {
  readonly label: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: CrmHttpOptions) {
    this.label = CRM_SOURCE_LABELS[options.source];
    this.fetch = options.fetch ?? fetch;
  }

  /** Calls the CRM and parses a 2xx answer with `schema`; field paths only in a shape error. */
  async call<T extends z.ZodType>(method: string, path: string, schema: T, options: CrmCallOptions = {}): Promise<z.output<T>> {
    const answer = await this.send(method, path, options);
    const parsed = schema.safeParse(answer.json);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
      throw new ResellerApiError('unexpected', `${this.what(method, path)} answered ${answer.status} with an unexpected shape (fields: ${fields})`, answer.status);
    }
    return parsed.data;
  }

  /** Calls the CRM; a status outside 2xx and `accept` throws a classified ResellerApiError. */
  async send(method: string, path: string, options: CrmCallOptions = {}): Promise<CrmAnswer> {
    const what = this.what(method, path);
    let response: Response;
    try {
      response = await this.fetch(`${this.options.baseUrl}${path}`, {
        method,
        headers: {
          ...this.options.headers,
          Accept: 'application/json',
          ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(this.options.timeoutMs),
        // A redirect is never followed: it would carry the token to wherever it points.
        redirect: 'manual',
      });
    } catch (err) {
      throw new ResellerApiError('unavailable', `${what} did not answer: ${describeNetworkError(err)}`);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (err) {
      throw new ResellerApiError('unavailable', `${what} answered ${response.status} but the body could not be read: ${describeNetworkError(err)}`, response.status);
    }
    const { status } = response;
    if (status >= 300 && status < 400) {
      throw new ResellerApiError(
        'unexpected',
        `${what} answered ${status}, a redirect (to ${redirectTarget(response)}); not followed, so the token stays here: check ${this.options.settings.url}`,
        status,
      );
    }
    const accepted = response.ok || (options.accept ?? []).includes(status);
    if (!accepted) throw this.errorFor(what, response, this.redact(text), options);
    let json: unknown = undefined;
    if (text !== '') {
      try {
        json = JSON.parse(text);
      } catch {
        throw new ResellerApiError('unexpected', `${what} answered ${status} with a body that is not JSON`, status);
      }
    }
    return { status, json };
  }

  private what(method: string, path: string): string {
    return `${this.label} ${method} ${path.split('?')[0]}`;
  }

  private redact(text: string): string {
    return this.options.secrets.filter((secret) => secret.length > 0).reduce((redacted, secret) => redacted.replaceAll(secret, '[REDACTED]'), text);
  }

  private errorFor(what: string, response: Response, text: string, options: CrmCallOptions): ResellerApiError {
    const { status } = response;
    const reason = describeCrmErrorBody(text);
    const said = `${what} answered ${status}${reason ? `: ${reason}` : ''}`;
    if (status === 404) return new ResellerApiError('not-found', options.notFound ? `${options.notFound} (${said})` : said, status);
    if (status === 401 || status === 403) {
      return new ResellerApiError('unauthorized', `${said} (check ${this.options.settings.credentials}: the token must be valid and allowed to read and write contacts)`, status);
    }
    if (status === 429) {
      const delay = parseRetryAfter(response.headers.get('retry-after')) ?? this.options.rateLimitDelayMs?.(response.headers);
      return new ResellerApiError('rate-limited', said, status, delay);
    }
    if (status >= 500) return new ResellerApiError('unavailable', said, status, parseRetryAfter(response.headers.get('retry-after')));
    if (status === 400 || status === 409 || status === 422) return new ResellerApiError('rejected', said, status);
    return new ResellerApiError('unexpected', said, status);
  }
}

/**
 * A CRM error body as one short line. CRMs put their explanation in a known field (HubSpot `message` and `category`,
 * Pipedrive `error`, GoHighLevel `message`), so only those are copied, never the rest of the body.
 */
export function describeCrmErrorBody(text: string): string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return text.replace(/\s+/g, ' ').trim().slice(0, 200);
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) return '';
  const fields = body as Record<string, unknown>;
  const message = [fields['message'], fields['error'], fields['msg']]
    .map((value) => (Array.isArray(value) ? value.filter((item) => typeof item === 'string').join('; ') : value))
    .find((value): value is string => typeof value === 'string' && value.trim() !== '');
  const code = [fields['category'], fields['errorCode'], fields['code']].find((value) => typeof value === 'string' || typeof value === 'number');
  const parts = [message?.replace(/\s+/g, ' ').trim().slice(0, 240), code === undefined ? undefined : `(${String(code)})`].filter(Boolean);
  return parts.join(' ');
}

/** Where a redirect points, as scheme and host only (its path or query could carry anything). */
function redirectTarget(response: Response): string {
  try {
    return new URL(response.headers.get('location') ?? '', response.url || 'http://unknown').origin;
  } catch {
    return 'an unreadable location';
  }
}

/** A rate-limit window header in milliseconds (`X-HubSpot-RateLimit-Interval-Milliseconds`, GoHighLevel's alike). */
export function headerMs(headers: Headers, name: string): number | undefined {
  const value = Number(headers.get(name));
  return headers.get(name) !== null && Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined;
}

/** Pipedrive's `x-ratelimit-reset` and the like: seconds until the window resets. */
export function headerSecondsMs(headers: Headers, name: string): number | undefined {
  const value = Number(headers.get(name));
  return headers.get(name) !== null && Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined;
}
