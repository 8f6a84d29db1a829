import { z } from 'zod';
import { describeNetworkError, parseRetryAfter, ResellerApiError, type ResellerErrorKind } from '../api-errors.js';

export { ResellerApiError, type ResellerErrorKind } from '../api-errors.js';

/**
 * HTTP client for Netlify's API as a reseller (`https://api.netlify.com/api/v1`): the reseller token mints a
 * token for each client user (`POST /access_tokens`), and that token acts on the client's own sites. With the
 * reseller token, account-wide listings (`GET /sites`, `GET /submissions`) cover the whole reseller account.
 *
 * Answers are parsed leniently (unknown fields kept) because Netlify's OpenAPI description names fields but
 * requires none. Redirects are never followed: a token must not travel to another address.
 */
export interface NetlifyClientOptions {
  /** e.g. `https://api.netlify.com/api/v1` */
  baseUrl: string;
  resellerToken: string;
  timeoutMs: number;
  /** Netlify asks integrations to name the app and a contact address, e.g. `onboarding-engine (ops@agency.example)`. */
  userAgent: string;
  fetch?: typeof fetch;
  /** Name of the payment-method parameter sent with paid actions; see {@link NETLIFY_PAYMENT_METHOD_PARAM}. */
  paymentMethodParam?: string;
}

/**
 * The query parameter that names the payment method charged for a paid action (a Netlify-provisioned TLS
 * certificate). UNCONFIRMED: the reseller documentation says paid actions must name a payment method id but not
 * how; the public API description only has `payment_method_id` on accounts. Change it here (or with the
 * `paymentMethodParam` option) once Netlify confirms the name.
 */
export const NETLIFY_PAYMENT_METHOD_PARAM = 'payment_method_id';

/** Netlify's API answers 100 items a page at most. */
const PAGE_SIZE = 100;
/** A bound on paging, so a server that always says "next" cannot keep a listing going forever. */
const MAX_PAGES = 1_000;

/** A failed Netlify call, with Netlify's own reason and a 422's per-field reasons (`{"subdomain": ["must be unique"]}`). */
export class NetlifyApiError extends ResellerApiError {
  /** Per-field reasons of a validation error, e.g. `{ subdomain: ['must be unique'] }`; empty when there are none. */
  readonly fieldErrors: Record<string, string[]>;
  /** Netlify's own words for the failure, without our prefix; undefined when it gave none. */
  readonly reason: string | undefined;

  constructor(
    kind: ResellerErrorKind,
    message: string,
    details: { status?: number; retryAfterMs?: number; fieldErrors?: Record<string, string[]>; reason?: string } = {},
  ) {
    super(kind, message, details.status, details.retryAfterMs);
    this.fieldErrors = details.fieldErrors ?? {};
    this.reason = details.reason;
  }
}

/**
 * Why Netlify refused to create or rename a site, when it says: `name-taken` (the site name, a `*.netlify.app`
 * subdomain, is used by someone: pick another name) or `custom-domain-taken` (another site, possibly of another
 * account, already has the domain: a person must sort that out). Undefined for any other failure.
 */
export function siteRejection(err: unknown): 'name-taken' | 'custom-domain-taken' | undefined {
  if (!(err instanceof NetlifyApiError) || err.kind !== 'rejected') return undefined;
  const fields = Object.keys(err.fieldErrors);
  if (fields.some((field) => field === 'custom_domain' || field === 'domain_aliases')) return 'custom-domain-taken';
  if (fields.some((field) => field === 'subdomain' || field === 'name')) return 'name-taken';
  return undefined;
}

const Id = z.union([z.string(), z.number()]).transform(String);
const OptionalText = z.string().nullish();

const SiteBody = z.looseObject({
  id: Id,
  name: OptionalText,
  url: OptionalText,
  ssl_url: OptionalText,
  admin_url: OptionalText,
  custom_domain: OptionalText,
  domain_aliases: z.array(z.string()).nullish(),
  ssl: z.boolean().nullish(),
  force_ssl: z.boolean().nullish(),
  state: OptionalText,
  user_id: Id.nullish(),
  account_slug: OptionalText,
  // Live answers carry it; the API description does not.
  ssl_status: z.string().nullish(),
});

/** A site as Netlify describes it; `raw` keeps every field of the answer, known or not (but no token). */
export interface NetlifySite {
  id: string;
  name: string | null;
  url: string | null;
  sslUrl: string | null;
  customDomain: string | null;
  domainAliases: string[];
  ssl: boolean;
  forceSsl: boolean;
  state: string | null;
  userId: string | null;
  accountSlug: string | null;
  adminUrl: string | null;
  sslStatus?: string;
  raw: Record<string, unknown>;
}

const Site = SiteBody.transform(
  (body): NetlifySite => ({
    id: body.id,
    name: body.name ?? null,
    url: body.url ?? null,
    sslUrl: body.ssl_url ?? null,
    customDomain: body.custom_domain ?? null,
    domainAliases: body.domain_aliases ?? [],
    ssl: body.ssl ?? false,
    forceSsl: body.force_ssl ?? false,
    state: body.state ?? null,
    userId: body.user_id ?? null,
    accountSlug: body.account_slug ?? null,
    adminUrl: body.admin_url ?? null,
    ...(body.ssl_status ? { sslStatus: body.ssl_status } : {}),
    raw: withoutHookToken(body),
  }),
);

/**
 * A site answer may carry `default_hooks_data.access_token`, a token of its own: kept out of `raw`, so a site
 * can be logged or returned from an activity as it is.
 */
function withoutHookToken(body: Record<string, unknown>): Record<string, unknown> {
  const hooks = body.default_hooks_data;
  if (!hooks || typeof hooks !== 'object' || !('access_token' in hooks)) return body;
  return { ...body, default_hooks_data: { ...hooks, access_token: '[REDACTED]' } };
}

const AccessTokenBody = z.looseObject({
  id: Id,
  access_token: z.string().min(1),
  user_id: Id,
  email: OptionalText,
  created_at: OptionalText,
});

/** A client user's token. `accessToken` acts on the client's account: it belongs in the vault, nowhere else. */
export interface NetlifyAccessToken {
  id: string;
  accessToken: string;
  userId: string;
  email: string | null;
  createdAt: string | null;
}

const CertificateBody = z.looseObject({
  state: OptionalText,
  domains: z.array(z.string()).nullish(),
  expires_at: OptionalText,
  created_at: OptionalText,
  updated_at: OptionalText,
});

/** A site's TLS certificate; Netlify's own tooling waits for `state` `issued` (or `custom`). */
export interface NetlifyCertificate {
  state: string | null;
  domains: string[];
  expiresAt: string | null;
  createdAt: string | null;
  updatedAt: string | null;
}

const Certificate = CertificateBody.transform(
  (body): NetlifyCertificate => ({
    state: body.state ?? null,
    domains: body.domains ?? [],
    expiresAt: body.expires_at ?? null,
    createdAt: body.created_at ?? null,
    updatedAt: body.updated_at ?? null,
  }),
);

const SubmissionBody = z.looseObject({
  id: Id,
  number: z.number().nullish(),
  email: OptionalText,
  name: OptionalText,
  company: OptionalText,
  data: z.record(z.string(), z.unknown()).nullish(),
  created_at: OptionalText,
  site_url: OptionalText,
});

/** A form submission; `raw` keeps every field of the answer (form ids, names and the like). */
export interface NetlifySubmission {
  id: string;
  number: number | null;
  email: string | null;
  name: string | null;
  company: string | null;
  data: Record<string, unknown>;
  createdAt: string | null;
  siteUrl: string | null;
  raw: Record<string, unknown>;
}

const Submission = SubmissionBody.transform(
  (body): NetlifySubmission => ({
    id: body.id,
    number: body.number ?? null,
    email: body.email ?? null,
    name: body.name ?? null,
    company: body.company ?? null,
    data: body.data ?? {},
    createdAt: body.created_at ?? null,
    siteUrl: body.site_url ?? null,
    raw: body,
  }),
);

export type ProvisionTlsResult =
  | { outcome: 'requested'; certificate: NetlifyCertificate }
  /** The domain does not point at Netlify yet (or the site has no custom domain): try again later. */
  | { outcome: 'waiting-for-dns'; reason: string }
  /** The site already has a certificate (an earlier request got through): read it with `showTls`. */
  | { outcome: 'already-provisioned'; reason: string };

export interface UpdateSiteRequest {
  name?: string;
  customDomain?: string;
  domainAliases?: string[];
  forceSsl?: boolean;
}

type Who = 'reseller' | 'user';

interface CallOptions {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
}

interface Answer {
  status: number;
  json: unknown;
  headers: Headers;
}

/** The one place requests are made: headers, timeout, redirects, error classification, redaction. */
class NetlifyHttp {
  private readonly fetch: typeof fetch;
  private readonly base: URL;

  constructor(readonly options: NetlifyClientOptions) {
    this.fetch = options.fetch ?? fetch;
    this.base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
  }

  urlFor(path: string, query: CallOptions['query'] = {}): URL {
    const url = new URL(path.replace(/^\//, ''), this.base);
    for (const [name, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(name, String(value));
    return url;
  }

  /** Only URLs under the configured base may carry a token (a `Link` header could name any address). */
  isOurs(url: URL): boolean {
    return url.origin === this.base.origin && url.pathname.startsWith(this.base.pathname);
  }

  async send(token: string, who: Who, method: string, url: URL, options: CallOptions = {}): Promise<Answer> {
    const what = `Netlify ${method} ${url.pathname}`;
    const redact = (text: string) => redactSecrets(text, [this.options.resellerToken, token]);
    let response: Response;
    try {
      response = await this.fetch(url, {
        method,
        redirect: 'manual',
        headers: {
          Authorization: `Bearer ${token}`,
          'User-Agent': this.options.userAgent,
          Accept: 'application/json',
          ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (err) {
      throw new NetlifyApiError('unavailable', `${what} did not answer: ${redact(describeNetworkError(err))}`);
    }

    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel().catch(() => undefined);
      throw new NetlifyApiError(
        'unexpected',
        `${what} answered ${response.status}, a redirect; not followed, so the token is not sent to another address (check the Netlify API base URL)`,
        { status: response.status },
      );
    }

    let text: string;
    try {
      text = await response.text();
    } catch (err) {
      throw new NetlifyApiError('unavailable', `${what} answered ${response.status} but the body could not be read: ${redact(describeNetworkError(err))}`, { status: response.status });
    }
    if (!response.ok) throw errorFor(what, who, response, redact(text));

    let json: unknown = undefined;
    if (text.trim() !== '') {
      try {
        json = JSON.parse(text);
      } catch {
        throw new NetlifyApiError('unexpected', `${what} answered ${response.status} with a body that is not JSON`, { status: response.status });
      }
    }
    return { status: response.status, json, headers: response.headers };
  }

  async call<T extends z.ZodType>(token: string, who: Who, method: string, path: string, schema: T, options: CallOptions = {}): Promise<z.output<T>> {
    const url = this.urlFor(path, options.query);
    const answer = await this.send(token, who, method, url, options);
    return parse(`Netlify ${method} ${url.pathname}`, answer, schema);
  }

  /** Every page of a listing: follows `Link: <...>; rel="next"`, or without one asks for pages until a short one. */
  async *pages<T extends z.ZodType>(token: string, who: Who, path: string, itemSchema: T, query: CallOptions['query'] = {}): AsyncGenerator<z.output<T>[]> {
    let url: URL | undefined = this.urlFor(path, { ...query, page: 1, per_page: PAGE_SIZE });
    const seen = new Set<string>();
    for (let page = 1; url && page <= MAX_PAGES; page += 1) {
      seen.add(url.href);
      const answer = await this.send(token, who, 'GET', url);
      const items = parse(`Netlify GET ${url.pathname}`, answer, z.array(itemSchema));
      yield items;

      const link = answer.headers.get('link');
      const next: URL | undefined = link === null ? undefined : nextLink(link, url);
      if (next) {
        if (!this.isOurs(next)) {
          throw new NetlifyApiError('unexpected', `Netlify GET ${url.pathname} pointed its next page at another address; not followed, so the token stays with Netlify`);
        }
        url = seen.has(next.href) ? undefined : next;
      } else if (link === null && items.length >= PAGE_SIZE) {
        url = this.urlFor(path, { ...query, page: page + 1, per_page: PAGE_SIZE });
      } else {
        url = undefined;
      }
    }
  }
}

/** Calls made with the reseller token: client users' tokens, reseller-wide listings, any site by id or domain. */
export class NetlifyClient {
  private readonly http: NetlifyHttp;

  constructor(options: NetlifyClientOptions) {
    this.http = new NetlifyHttp(options);
  }

  /**
   * Creates the client user if Netlify has none with this email (or logs the existing one in anew) and returns a
   * token acting for it. Safe to repeat: a lost token is replaced by calling again. `uid` is our own id for the user.
   */
  async createAccessToken(user: { email: string; uid: string }): Promise<NetlifyAccessToken> {
    const body = await this.http.call(this.http.options.resellerToken, 'reseller', 'POST', '/access_tokens', AccessTokenBody, {
      body: { user: { email: user.email, uid: user.uid } },
    });
    return { id: body.id, accessToken: body.access_token, userId: body.user_id, email: body.email ?? null, createdAt: body.created_at ?? null };
  }

  /** A client whose calls act as one client user, with the token `createAccessToken` returned. */
  asUser(accessToken: string): NetlifyUserClient {
    return new NetlifyUserClient(this.http, accessToken);
  }

  /** Every site of the reseller account, all pages. */
  async listSites(): Promise<NetlifySite[]> {
    const sites: NetlifySite[] = [];
    for await (const page of this.http.pages(this.http.options.resellerToken, 'reseller', '/sites', Site, { filter: 'all' })) sites.push(...page);
    return sites;
  }

  /**
   * The reseller account's form submissions, newest first. With `since`, paging stops at the first page that
   * reaches back past it, and older submissions are left out.
   */
  async listSubmissions(options: { since?: Date } = {}): Promise<NetlifySubmission[]> {
    const since = options.since?.getTime();
    const submissions: NetlifySubmission[] = [];
    for await (const page of this.http.pages(this.http.options.resellerToken, 'reseller', '/submissions', Submission)) {
      if (since === undefined) {
        submissions.push(...page);
        continue;
      }
      const recent = page.filter((submission) => !isOlderThan(submission.createdAt, since));
      submissions.push(...recent);
      if (recent.length < page.length) break;
    }
    return submissions;
  }

  /** Any site of the reseller account by id or by custom domain; null when there is none. */
  getSite(siteIdOrDomain: string): Promise<NetlifySite | null> {
    return getSite(this.http, this.http.options.resellerToken, 'reseller', siteIdOrDomain);
  }

  /** Deletes any site of the reseller account; one that is already gone counts as removed. */
  deleteSite(siteId: string): Promise<'removed' | 'already-gone'> {
    return deleteSite(this.http, this.http.options.resellerToken, 'reseller', siteId);
  }
}

/** Calls made as one client user (its access token): the client's own sites and their TLS certificates. */
export class NetlifyUserClient {
  /** @internal made by `NetlifyClient.asUser` */
  constructor(
    private readonly http: NetlifyHttp,
    private readonly token: string,
  ) {}

  /** The site by id or by custom domain (`GET /sites/www.client.com` works); null when there is none. */
  getSite(siteIdOrDomain: string): Promise<NetlifySite | null> {
    return getSite(this.http, this.token, 'user', siteIdOrDomain);
  }

  /**
   * Creates a site named `name` (its `<name>.netlify.app` address) on the client's custom domain. Not safe to
   * repeat blindly: look the domain up with `getSite` first. A 422 `NetlifyApiError` tells a taken name from a
   * domain held elsewhere through `siteRejection`.
   */
  createSite(site: { name: string; customDomain?: string }): Promise<NetlifySite> {
    return this.http.call(this.token, 'user', 'POST', '/sites', Site, {
      body: { name: site.name, ...(site.customDomain === undefined ? {} : { custom_domain: site.customDomain }) },
    });
  }

  /** Changes only the fields given; safe to repeat. Domain aliases and forced HTTPS are only honoured here, not on create. */
  updateSite(siteId: string, changes: UpdateSiteRequest): Promise<NetlifySite> {
    const body: Record<string, unknown> = {};
    if (changes.name !== undefined) body.name = changes.name;
    if (changes.customDomain !== undefined) body.custom_domain = changes.customDomain;
    if (changes.domainAliases !== undefined) body.domain_aliases = changes.domainAliases;
    if (changes.forceSsl !== undefined) body.force_ssl = changes.forceSsl;
    return this.http.call(this.token, 'user', 'PATCH', sitePath(siteId), Site, { body });
  }

  deleteSite(siteId: string): Promise<'removed' | 'already-gone'> {
    return deleteSite(this.http, this.token, 'user', siteId);
  }

  /**
   * Asks for a Let's Encrypt certificate for the site's domains (a paid action for resellers: `paymentMethodId`
   * names what is charged). A 422 saying the DNS is not right yet, or that the site has no custom domain, is
   * `waiting-for-dns`: try again later.
   */
  async provisionTls(siteId: string, options: { paymentMethodId?: string } = {}): Promise<ProvisionTlsResult> {
    const param = this.http.options.paymentMethodParam ?? NETLIFY_PAYMENT_METHOD_PARAM;
    try {
      const certificate = await this.http.call(this.token, 'user', 'POST', `${sitePath(siteId)}/ssl`, Certificate, {
        query: { [param]: options.paymentMethodId },
      });
      return { outcome: 'requested', certificate };
    } catch (err) {
      if (err instanceof NetlifyApiError && err.status === 422) {
        const reason = err.reason ?? err.message;
        if (/\bdns\b|no custom domain configured/i.test(reason)) return { outcome: 'waiting-for-dns', reason };
        if (/certificate parameter is required when updating an existing certificate/i.test(reason)) return { outcome: 'already-provisioned', reason };
      }
      throw err;
    }
  }

  /** The site's certificate; null when it has none. */
  async showTls(siteId: string): Promise<NetlifyCertificate | null> {
    try {
      return await this.http.call(this.token, 'user', 'GET', `${sitePath(siteId)}/ssl`, Certificate);
    } catch (err) {
      if (err instanceof ResellerApiError && err.kind === 'not-found') return null;
      throw err;
    }
  }
}

async function getSite(http: NetlifyHttp, token: string, who: Who, siteIdOrDomain: string): Promise<NetlifySite | null> {
  try {
    return await http.call(token, who, 'GET', sitePath(siteIdOrDomain), Site);
  } catch (err) {
    if (err instanceof ResellerApiError && err.kind === 'not-found') return null;
    throw err;
  }
}

async function deleteSite(http: NetlifyHttp, token: string, who: Who, siteId: string): Promise<'removed' | 'already-gone'> {
  try {
    await http.call(token, who, 'DELETE', sitePath(siteId), z.unknown());
    return 'removed';
  } catch (err) {
    if (err instanceof ResellerApiError && err.kind === 'not-found') return 'already-gone';
    throw err;
  }
}

function sitePath(siteIdOrDomain: string): string {
  if (siteIdOrDomain.trim() === '') throw new TypeError('a Netlify site id or domain is required');
  return `/sites/${encodeURIComponent(siteIdOrDomain)}`;
}

function parse<T extends z.ZodType>(what: string, answer: Answer, schema: T): z.output<T> {
  const parsed = schema.safeParse(answer.json);
  if (!parsed.success) {
    // Field paths only: the body may hold an access token.
    const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(root)'))].slice(0, 10).join(', ');
    throw new NetlifyApiError('unexpected', `${what} answered ${answer.status} with an unexpected shape (fields: ${fields})`, { status: answer.status });
  }
  return parsed.data;
}

function isOlderThan(createdAt: string | null, since: number): boolean {
  if (!createdAt) return false;
  const time = Date.parse(createdAt);
  return !Number.isNaN(time) && time < since;
}

/** The `rel="next"` target of a `Link` header, resolved against the current page. */
export function nextLink(header: string, current: URL | string): URL | undefined {
  for (const part of header.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (!match) continue;
    const rels = /\brel\s*=\s*(?:"([^"]*)"|([^\s;]+))/i.exec(match[2] ?? '');
    const rel = (rels?.[1] ?? rels?.[2] ?? '').toLowerCase().split(/\s+/);
    if (!rel.includes('next')) continue;
    try {
      return new URL(match[1] ?? '', current);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The tokens given, and any `access_token` value in a JSON body, replaced with `[REDACTED]`. */
function redactSecrets(text: string, tokens: string[]): string {
  let redacted = text;
  for (const token of tokens) if (token) redacted = redacted.replaceAll(token, '[REDACTED]');
  return redacted.replace(/("access_token"\s*:\s*)"(?:[^"\\]|\\.)*"/g, '$1"[REDACTED]"');
}

function errorFor(what: string, who: Who, response: Response, text: string): NetlifyApiError {
  const { message: reason, fieldErrors } = describeNetlifyErrorBody(text);
  const status = response.status;
  const said = `${what} answered ${status}${reason ? `: ${reason}` : ''}`;
  const details = { status, reason: reason || undefined };
  if (status === 400 || status === 409 || status === 422) return new NetlifyApiError('rejected', said, { ...details, fieldErrors });
  if (status === 401 || status === 403) {
    const hint =
      who === 'reseller'
        ? 'check NETLIFY_RESELLER_TOKEN: it must be a reseller token from the Netlify reseller panel'
        : "the client user's access token was refused: mint a new one with POST /access_tokens; if that fails too, check NETLIFY_RESELLER_TOKEN";
    return new NetlifyApiError('unauthorized', `${said} (${hint})`, details);
  }
  if (status === 404) return new NetlifyApiError('not-found', said, details);
  if (status === 429) return new NetlifyApiError('rate-limited', said, { ...details, retryAfterMs: rateLimitWait(response.headers) });
  if (status >= 500) return new NetlifyApiError('unavailable', said, { ...details, retryAfterMs: parseRetryAfter(response.headers.get('retry-after')) });
  return new NetlifyApiError('unexpected', said, details);
}

/**
 * How long a 429 asks us to wait: `Retry-After` when present, otherwise until `X-RateLimit-Reset` (Unix seconds),
 * at least one second. Undefined when the answer says neither.
 */
export function rateLimitWait(headers: Headers, now = Date.now()): number | undefined {
  const retryAfter = parseRetryAfter(headers.get('retry-after'), now);
  if (retryAfter !== undefined) return retryAfter;
  const reset = Number(headers.get('x-ratelimit-reset') ?? '');
  if (!headers.get('x-ratelimit-reset') || !Number.isFinite(reset)) return undefined;
  return Math.max(1_000, Math.ceil(reset * 1000 - now));
}

/**
 * Netlify's error bodies, as one short line plus the per-field reasons: validation errors
 * `{"errors": {"subdomain": ["must be unique"]}}`, the documented `{"code": 422, "message": "..."}`, or text.
 */
export function describeNetlifyErrorBody(text: string): { message: string; fieldErrors: Record<string, string[]> } {
  const fieldErrors: Record<string, string[]> = {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { message: text.replace(/\s+/g, ' ').trim().slice(0, 200), fieldErrors };
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) return { message: String(body).slice(0, 200), fieldErrors };

  const record = body as Record<string, unknown>;
  const parts: string[] = [];
  if (typeof record.message === 'string' && record.message.trim()) parts.push(record.message.trim());
  else if (typeof record.error === 'string' && record.error.trim()) parts.push(record.error.trim());

  const errors = record.errors;
  if (typeof errors === 'string') parts.push(errors);
  else if (Array.isArray(errors)) parts.push(...errors.map(asText));
  else if (errors && typeof errors === 'object') {
    for (const [field, value] of Object.entries(errors as Record<string, unknown>)) {
      const reasons = (Array.isArray(value) ? value : [value]).map(asText).filter(Boolean);
      fieldErrors[field] = reasons;
      parts.push(`${field} ${reasons.join(', ')}`.trim());
    }
  }
  return { message: parts.join('; ').slice(0, 300), fieldErrors };
}

function asText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * A Netlify site name for a domain: lower case, dots as dashes, only `[a-z0-9-]`, at most 63 characters
 * (`acme-plumbing.com` → `acme-plumbing-com`). The name is also the site's `<name>.netlify.app` address.
 */
export function siteNameFor(domain: string): string {
  const name = domain
    .trim()
    .toLowerCase()
    .replace(/\.+$/, '')
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  if (!name) throw new TypeError(`no Netlify site name can be made from ${JSON.stringify(domain)}`);
  return name;
}

/** The `n`th alternative to a taken site name: `acme-plumbing-com-2`, still at most 63 characters. */
export function suffixedSiteName(name: string, n: number): string {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`the suffix must be a positive whole number, not ${n}`);
  const suffix = `-${n}`;
  const base = name.slice(0, 63 - suffix.length).replace(/-+$/, '');
  return `${base}${suffix}`;
}
