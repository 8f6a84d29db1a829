import { z } from 'zod';
import { bodyAsOneLine, ResellerApiError } from '../platforms/api-errors.js';
import { answerOfShape, callJson, type JsonAnswer } from '../platforms/json-call.js';
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

export type { JsonAnswer as CrmAnswer } from '../platforms/json-call.js';

export class CrmHttp {
  readonly label: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: CrmHttpOptions) {
    this.label = CRM_SOURCE_LABELS[options.source];
    this.fetch = options.fetch ?? fetch;
  }

  /** Calls the CRM and parses a 2xx answer with `schema`; field paths only in a shape error. */
  async call<T extends z.ZodType>(method: string, path: string, schema: T, options: CrmCallOptions = {}): Promise<z.output<T>> {
    return answerOfShape(this.what(method, path), await this.send(method, path, options), schema);
  }

  /** Calls the CRM; a status outside 2xx and `accept` throws a classified ResellerApiError. */
  async send(method: string, path: string, options: CrmCallOptions = {}): Promise<JsonAnswer> {
    return callJson({
      what: this.what(method, path),
      url: `${this.options.baseUrl}${path}`,
      method,
      headers: this.options.headers,
      body: options.body,
      timeoutMs: this.options.timeoutMs,
      fetch: this.fetch,
      credential: 'token',
      urlSetting: this.options.settings.url,
      accept: options.accept,
      describeError: (text) => describeCrmErrorBody(this.redact(text)),
      hints: {
        unauthorized: `check ${this.options.settings.credentials}: the token must be valid and allowed to read and write contacts`,
        notFound: options.notFound,
        rateLimitDelayMs: this.options.rateLimitDelayMs,
      },
    });
  }

  private what(method: string, path: string): string {
    return `${this.label} ${method} ${path.split('?')[0]}`;
  }

  private redact(text: string): string {
    return this.options.secrets.filter((secret) => secret.length > 0).reduce((redacted, secret) => redacted.replaceAll(secret, '[REDACTED]'), text);
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
    return bodyAsOneLine(text);
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
