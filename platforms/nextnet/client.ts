import { z } from 'zod';
import { describeNetworkError, parseRetryAfter, ResellerApiError } from '../api-errors.js';

export { parseRetryAfter, ResellerApiError, type ResellerErrorKind } from '../api-errors.js';

/**
 * HTTP client for NextNet.ai's reseller API, as documented in its Reseller API guide: header
 * `X-Serendipity-API-Key`, paths with trailing slashes. Responses are parsed leniently (unknown fields kept,
 * ids as strings) because the guide documents fields, not exact shapes.
 */
export interface NextNetClientOptions {
  baseUrl: string;
  apiKey: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

export interface RegisterDomainRequest {
  client_user_email: string;
  domain_host: string;
  subscription_tier?: string;
  industry?: string;
  business_scope?: string;
  city?: string;
  state?: string;
  cms_platform?: string;
  auto_trigger_processing?: boolean;
}

const Id = z.union([z.string(), z.number()]).transform(String);

const DomainSummary = z.looseObject({
  id: Id,
  host: z.string(),
  verification_status: z.string().nullish(),
  created: z.string().nullish(),
});

const RegisterDomainResponse = z.looseObject({
  domain: DomainSummary,
  client_user: z.looseObject({ id: Id, email: z.string().nullish() }).nullish(),
  subscription: z.looseObject({ tier: z.string().nullish(), status: z.string().nullish() }).nullish(),
  wordpress: z.looseObject({ enabled: z.boolean().nullish(), api_key: z.string().nullish() }).nullish(),
  processing_run_id: z.string().nullish(),
});
export type RegisterDomainResponse = z.infer<typeof RegisterDomainResponse>;

const ListedDomain = DomainSummary.extend({
  client_user: z.looseObject({ id: Id.nullish(), email: z.string().nullish() }).nullish(),
  client_user_email: z.string().nullish(),
});
export type ListedDomain = z.infer<typeof ListedDomain>;

// The list's envelope is undocumented: accept a bare array or the usual paginated shapes.
const DomainList = z.union([
  z.array(ListedDomain),
  z.looseObject({ results: z.array(ListedDomain) }).transform((body) => body.results),
  z.looseObject({ domains: z.array(ListedDomain) }).transform((body) => body.domains),
]);

const DomainDashboard = z.union([
  z.looseObject({ domain: DomainSummary }).transform((body) => body.domain),
  DomainSummary,
]);
export type DomainDashboard = z.infer<typeof DomainSummary>;

export class NextNetClient {
  private readonly fetch: typeof fetch;

  constructor(private readonly options: NextNetClientOptions) {
    this.fetch = options.fetch ?? fetch;
  }

  registerDomain(request: RegisterDomainRequest): Promise<RegisterDomainResponse> {
    return this.call('POST', '/reseller/domains/', RegisterDomainResponse, request);
  }

  listDomains(): Promise<ListedDomain[]> {
    return this.call('GET', '/reseller/domains/list/', DomainList);
  }

  domainDashboard(domainId: string): Promise<DomainDashboard> {
    return this.call('GET', `/reseller/domains/${encodeURIComponent(domainId)}/dashboard/`, DomainDashboard);
  }

  /** Removes a domain; one that is already gone counts as removed. */
  async removeDomain(domainId: string): Promise<'removed' | 'already-gone'> {
    try {
      await this.call('DELETE', `/reseller/domains/${encodeURIComponent(domainId)}/remove/`, z.unknown());
      return 'removed';
    } catch (err) {
      if (err instanceof ResellerApiError && err.kind === 'not-found') return 'already-gone';
      throw err;
    }
  }

  private async call<T extends z.ZodType>(method: string, path: string, schema: T, body?: unknown): Promise<z.output<T>> {
    const what = `NextNet ${method} ${path}`;
    let response: Response;
    try {
      response = await this.fetch(`${this.options.baseUrl}${path}`, {
        method,
        headers: {
          'X-Serendipity-API-Key': this.options.apiKey,
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs),
        // A redirect is never followed: it would carry the API key to wherever it points.
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
    if (response.status >= 300 && response.status < 400) {
      throw new ResellerApiError('unexpected', `${what} answered ${response.status}, a redirect (to ${redirectTarget(response)}); not followed, so the API key stays here: check RESELLER_API_URL`, response.status);
    }
    if (!response.ok) throw errorFor(what, response, text.replaceAll(this.options.apiKey, '[REDACTED]'));
    let json: unknown = undefined;
    if (text !== '') {
      try {
        json = JSON.parse(text);
      } catch {
        throw new ResellerApiError('unexpected', `${what} answered ${response.status} with a body that is not JSON`, response.status);
      }
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      // Field paths only: the body may hold a WordPress key.
      const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
      throw new ResellerApiError('unexpected', `${what} answered ${response.status} with an unexpected shape (fields: ${fields})`, response.status);
    }
    return parsed.data;
  }
}

function errorFor(what: string, response: Response, text: string): ResellerApiError {
  const reason = describeErrorBody(text);
  const status = response.status;
  const said = `${what} answered ${status}${reason ? `: ${reason}` : ''}`;
  if (status === 400 || status === 409 || status === 422) return new ResellerApiError('rejected', said, status);
  if (status === 401 || status === 403) {
    return new ResellerApiError('unauthorized', `${said} (check RESELLER_API_KEY: it must be an organisation-scoped key of a reseller organisation)`, status);
  }
  if (status === 404) return new ResellerApiError('not-found', said, status);
  if (status === 429) return new ResellerApiError('rate-limited', said, status, parseRetryAfter(response.headers.get('retry-after')));
  if (status >= 500) return new ResellerApiError('unavailable', said, status, parseRetryAfter(response.headers.get('retry-after')));
  return new ResellerApiError('unexpected', said, status);
}

/** `{"detail": "..."}` or Django-style field errors `{"field": ["..."]}`, flattened to one short line. */
export function describeErrorBody(text: string): string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return text.replace(/\s+/g, ' ').trim().slice(0, 200);
  }
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    // Failure messages reach workflow history and the UI: only messages are copied, never a secret-like field's
    // value nor a nested object (an echoed registration could carry the WordPress key).
    const parts = Object.entries(body as Record<string, unknown>).map(([field, value]) => {
      const message = SECRET_FIELD.test(field)
        ? '[REDACTED]'
        : Array.isArray(value)
          ? value.map((item) => (typeof item === 'string' || typeof item === 'number' ? String(item) : '(object)')).join(' ')
          : typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
            ? String(value)
            : '(object)';
      return field === 'detail' || field === 'error' || field === 'message' ? message : `${field}: ${message}`;
    });
    return parts.join('; ').slice(0, 300);
  }
  return String(body).slice(0, 200);
}

const SECRET_FIELD = /key|token|secret|password|authorization/i;

/** Where a redirect points, as scheme and host only (its path or query could carry anything). */
function redirectTarget(response: Response): string {
  try {
    const location = new URL(response.headers.get('location') ?? '', response.url || 'http://unknown');
    return location.origin;
  } catch {
    return 'an unreadable location';
  }
}

/** Verification states we act on; NextNet does not document its strings, so unknown ones count as pending. */
export type VerificationState = 'verified' | 'pending' | 'failing';

export function classifyVerificationStatus(raw: string | null | undefined): VerificationState {
  const value = (raw ?? '').trim().toLowerCase();
  if (['verified', 'active', 'complete', 'completed', 'success', 'succeeded', 'valid', 'ok', 'done'].includes(value)) return 'verified';
  if (['failed', 'failure', 'error', 'invalid', 'rejected', 'expired'].includes(value)) return 'failing';
  return 'pending';
}
