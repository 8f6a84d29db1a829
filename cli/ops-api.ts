import type { z } from 'zod';
import type {
  ClientOffboarding,
  LastError,
  OffboardingView as OffboardingViewSchema,
  OnboardingList,
  ResellerCheck,
  ResellerSites,
  ResellerSubmissions,
  RetryRequest,
  SecretAuditList,
} from '../api/ops-schemas.js';
import type { OnboardingStatus, PreviousRun } from '../workflows/definitions.js';
import { ExitCode } from './exit-codes.js';

export type OnboardingPage = z.infer<typeof OnboardingList>;
export type OnboardingListItem = OnboardingPage['items'][number];
export type ResellerSitesView = z.infer<typeof ResellerSites>;
export type ResellerSubmissionsView = z.infer<typeof ResellerSubmissions>;
export type ResellerCheckView = z.infer<typeof ResellerCheck>;
export type SecretAuditPage = z.infer<typeof SecretAuditList>;
export type SecretAuditEntryView = SecretAuditPage['items'][number];

export interface AuditListQuery {
  onboardingId?: string;
  /** ISO 8601. */
  since?: string;
  limit?: number;
}

/** `PUT .../secrets/{name}`: what the vault did with the value. */
export interface SecretStored {
  onboardingId: string;
  secret: string;
  outcome: 'created' | 'replaced' | 'unchanged';
}

export interface OnboardingListQuery {
  status?: string;
  needsAttention?: boolean;
  kind?: string;
  domain?: string;
  clientId?: string;
  closedSince?: string;
  pageSize?: number;
  pageToken?: string;
}

/** One entry of an onboarding's change log (a retry with corrections, or a cancellation); `fields` is shown as the API sends it. */
export interface OnboardingChange {
  /** Absent on records from before cancellations were recorded: a retry. */
  kind?: string;
  at: string;
  by: string;
  reason: string | null;
  fields?: unknown;
  resumesAt?: string;
}

export type LastErrorView = z.infer<typeof LastError>;
export type ClientOffboardingView = z.infer<typeof ClientOffboarding>;

/** `GET /v1/onboardings/{id}` of an onboarding: the workflow's status plus what the API adds. */
export type OnboardingView = Omit<OnboardingStatus, 'status' | 'changes' | 'previousRun' | 'closesAt'> & {
  kind?: 'onboarding';
  status: string;
  workflowId: string;
  runId?: string;
  workflowStatus: string;
  changes?: OnboardingChange[];
  previousRun?: PreviousRun | null;
  closesAt?: string | null;
  lastError?: LastErrorView | null;
  lastErrors?: LastErrorView[];
  offboarding?: ClientOffboardingView | null;
};

/** `GET /v1/onboardings/offboarding-<clientId>`: a churned client's offboarding. */
export type OffboardingView = z.infer<typeof OffboardingViewSchema>;

export function isOffboardingView(view: OnboardingView | OffboardingView): view is OffboardingView {
  return view.kind === 'offboarding';
}

export interface RetryAccepted {
  onboardingId: string;
  status: 'retrying';
  resumesAt: string;
}

export interface FieldProblem {
  field: string;
  message: string;
}

/** A request the ops API did not carry out: its answer (status, code, message), or no answer at all. */
export class OpsApiError extends Error {
  constructor(
    message: string,
    /** The HTTP status, or `unreachable` when no answer came back. */
    readonly status: number | 'unreachable',
    readonly request: { method: string; path: string; onboardingId?: string },
    readonly details: { code?: string; fields?: FieldProblem[]; retryAfterSeconds?: number } = {},
  ) {
    super(message);
    this.name = 'OpsApiError';
  }

  get exitCode(): ExitCode {
    switch (this.status) {
      case 'unreachable':
      case 503:
        return ExitCode.unreachable;
      case 400:
        return ExitCode.usage;
      case 401:
        return ExitCode.unauthorized;
      case 404:
      case 410:
        return ExitCode.notFound;
      case 409:
        return ExitCode.refused;
      default:
        return ExitCode.failed;
    }
  }
}

export interface OpsApiOptions {
  baseUrl: URL;
  token: string;
  /** Who is asking (`user@host via cli`), sent as X-Ops-Actor so the API's audit log names a person. */
  actor: string;
  fetch: typeof fetch;
  timeoutMs?: number;
}

const MAX_PAGE_SIZE = 200;
/** How long the reseller-wide listings may take: they page through the whole Netlify account. */
const SLOW_LISTING_TIMEOUT_MS = 120_000;

/** The ops HTTP API (`/v1/onboardings`, `/v1/reseller`), as the CLI uses it. */
export class OpsApi {
  private readonly timeoutMs: number;

  constructor(private readonly options: OpsApiOptions) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  get baseUrl(): URL {
    return this.options.baseUrl;
  }

  listOnboardings(query: OnboardingListQuery): Promise<OnboardingPage> {
    return this.request<OnboardingPage>('GET', 'v1/onboardings', {
      query: {
        status: query.status,
        needsAttention: query.needsAttention === undefined ? undefined : String(query.needsAttention),
        kind: query.kind,
        domain: query.domain,
        clientId: query.clientId,
        closedSince: query.closedSince,
        pageSize: query.pageSize === undefined ? undefined : String(query.pageSize),
        pageToken: query.pageToken,
      },
    });
  }

  /** Every page of a listing, following `nextPageToken` to the end. */
  async listAllOnboardings(query: Omit<OnboardingListQuery, 'pageToken'>): Promise<OnboardingListItem[]> {
    const items: OnboardingListItem[] = [];
    const seenTokens = new Set<string>();
    let pageToken: string | undefined;
    do {
      const page = await this.listOnboardings({ ...query, pageSize: query.pageSize ?? MAX_PAGE_SIZE, pageToken });
      items.push(...page.items);
      pageToken = page.nextPageToken ?? undefined;
      // A token seen before would loop forever; stop rather than hang an operator's terminal.
      if (pageToken !== undefined && seenTokens.has(pageToken)) {
        throw new OpsApiError('the API returned the same page token twice; the listing is incomplete', 502, { method: 'GET', path: 'v1/onboardings' });
      }
      if (pageToken !== undefined) seenTokens.add(pageToken);
    } while (pageToken !== undefined);
    return items;
  }

  getOnboarding(onboardingId: string): Promise<OnboardingView> {
    return this.request<OnboardingView>('GET', onboardingPath(onboardingId), { onboardingId });
  }

  /** An onboarding, or an offboarding (`offboarding-<clientId>`): the same path answers both. */
  getOnboardingOrOffboarding(id: string): Promise<OnboardingView | OffboardingView> {
    return this.request<OnboardingView | OffboardingView>('GET', onboardingPath(id), { onboardingId: id });
  }

  retry(onboardingId: string, body: RetryRequest): Promise<RetryAccepted> {
    return this.request<RetryAccepted>('POST', `${onboardingPath(onboardingId)}/retry`, { onboardingId, body });
  }

  checkDnsNow(onboardingId: string): Promise<Record<string, unknown>> {
    return this.request('POST', `${onboardingPath(onboardingId)}/dns-check`, { onboardingId });
  }

  /** Cancels a running onboarding; the reason (and who asked) is recorded in its change log. */
  cancel(onboardingId: string, reason?: string): Promise<{ onboardingId: string; status: string }> {
    return this.request('POST', `${onboardingPath(onboardingId)}/cancel`, { onboardingId, body: reason === undefined ? {} : { reason } });
  }

  /** Reads one of the client's secrets by name (`wordpress-api-key`, `netlify-access-token`); the API writes an audit line naming `actor`. */
  revealSecret(onboardingId: string, secretName: string): Promise<{ value: string }> {
    return this.request('GET', secretPath(onboardingId, secretName), { onboardingId });
  }

  /** Stores a secret put in by hand; the API writes an audit line naming `actor`, never the value. */
  storeSecret(onboardingId: string, secretName: string, value: string): Promise<SecretStored> {
    return this.request('PUT', secretPath(onboardingId, secretName), { onboardingId, body: { value } });
  }

  /** The vault's audit trail, oldest first: who read, wrote or revoked which secret; never a value. */
  listAudit(query: AuditListQuery): Promise<SecretAuditPage> {
    return this.request('GET', 'v1/audit', {
      query: { onboardingId: query.onboardingId, since: query.since, limit: query.limit === undefined ? undefined : String(query.limit) },
      onboardingId: query.onboardingId,
    });
  }

  /** Every site of the Netlify reseller account, with its onboarding, and the orphans. */
  resellerSites(): Promise<ResellerSitesView> {
    // Every page of Netlify's listing, then visibility and status queries: slower than one onboarding's answer.
    return this.request('GET', 'v1/reseller/sites', { timeoutMs: Math.max(this.timeoutMs, SLOW_LISTING_TIMEOUT_MS) });
  }

  /** Form submissions across the reseller account since a time (ISO 8601). */
  resellerSubmissions(since: string): Promise<ResellerSubmissionsView> {
    return this.request('GET', 'v1/reseller/submissions', { query: { since }, timeoutMs: Math.max(this.timeoutMs, SLOW_LISTING_TIMEOUT_MS) });
  }

  resellerCheck(): Promise<ResellerCheckView> {
    return this.request('GET', 'v1/reseller/check');
  }

  private async request<T>(
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    options: { query?: Record<string, string | undefined>; body?: unknown; onboardingId?: string; timeoutMs?: number } = {},
  ): Promise<T> {
    const url = new URL(path, this.options.baseUrl);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, value);
    }
    const requestInfo = { method, path: url.pathname, onboardingId: options.onboardingId };
    const headers: Record<string, string> = {
      accept: 'application/json',
      authorization: `Bearer ${this.options.token}`,
      'x-ops-actor': this.options.actor,
    };
    if (options.body !== undefined) headers['content-type'] = 'application/json';

    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      const response = await this.options.fetch(url, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(options.timeoutMs ?? this.timeoutMs),
      });
      status = response.status;
      retryAfter = response.headers.get('retry-after');
      text = await response.text();
    } catch (err) {
      throw new OpsApiError(`cannot reach the ops API at ${this.options.baseUrl.origin} (${networkProblem(err)})`, 'unreachable', requestInfo);
    }

    const json = parseJson(text);
    if (status >= 200 && status < 300) return json as T;

    const error = errorBody(json);
    const retryAfterSeconds = retryAfter !== null && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
    throw new OpsApiError(error?.message ?? `the API answered HTTP ${status}`, status, requestInfo, {
      code: error?.code,
      fields: error?.fields,
      retryAfterSeconds,
    });
  }
}

function onboardingPath(onboardingId: string): string {
  return `v1/onboardings/${encodeURIComponent(onboardingId)}`;
}

function secretPath(onboardingId: string, secretName: string): string {
  return `${onboardingPath(onboardingId)}/secrets/${encodeURIComponent(secretName)}`;
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function errorBody(json: unknown): { code?: string; message?: string; fields?: FieldProblem[] } | undefined {
  const error = (json as { error?: unknown } | undefined)?.error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, message, fields } = error as Record<string, unknown>;
  return {
    code: typeof code === 'string' ? code : undefined,
    message: typeof message === 'string' ? message : undefined,
    fields: Array.isArray(fields) ? (fields as FieldProblem[]) : undefined,
  };
}

/** fetch hides the socket error in `cause`; its code (ECONNREFUSED, ENOTFOUND) is what tells an operator what is wrong. */
function networkProblem(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return 'no answer in time';
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return err instanceof Error ? err.message : String(err);
}
