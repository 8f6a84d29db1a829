import { z } from 'zod';
import { bodyAsOneLine, ResellerApiError } from '../api-errors.js';
import { answerOfShape, callJson } from '../json-call.js';

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
    const answer = await callJson({
      what,
      url: `${this.options.baseUrl}${path}`,
      method,
      headers: { 'X-Serendipity-API-Key': this.options.apiKey },
      body,
      timeoutMs: this.options.timeoutMs,
      fetch: this.fetch,
      credential: 'API key',
      urlSetting: 'RESELLER_API_URL',
      describeError: (text) => describeErrorBody(text.replaceAll(this.options.apiKey, '[REDACTED]')),
      hints: { unauthorized: 'check RESELLER_API_KEY: it must be an organisation-scoped key of a reseller organisation' },
    });
    return answerOfShape(what, answer, schema);
  }
}

/** `{"detail": "..."}` or Django-style field errors `{"field": ["..."]}`, flattened to one short line. */
export function describeErrorBody(text: string): string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return bodyAsOneLine(text);
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

/** Verification states we act on; NextNet does not document its strings, so unknown ones count as pending. */
export type VerificationState = 'verified' | 'pending' | 'failing';

export function classifyVerificationStatus(raw: string | null | undefined): VerificationState {
  const value = (raw ?? '').trim().toLowerCase();
  if (['verified', 'active', 'complete', 'completed', 'success', 'succeeded', 'valid', 'ok', 'done'].includes(value)) return 'verified';
  if (['failed', 'failure', 'error', 'invalid', 'rejected', 'expired'].includes(value)) return 'failing';
  return 'pending';
}
