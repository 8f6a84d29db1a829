import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { CallLog } from '../platform/call-log.js';
import type { FaultQueue } from '../platform/faults.js';
import { ApiError, type Reply, createPlatformPipeline } from '../platform/pipeline.js';
import { type RateLimitStatus, type SlidingWindowLimit, rateLimitHeaders } from './rate-limit.js';
import {
  type CertificateRecord,
  type NetlifyStore,
  SiteRejected,
  type SiteChanges,
  type SiteRecord,
  type SubmissionRecord,
  type UserRecord,
  NETLIFY_APP_DOMAIN,
  normaliseHost,
} from './store.js';

/** Names of the Netlify API operations, as they appear in the call log and in fault rules. */
export const NETLIFY_ROUTES = [
  'access-tokens',
  'get-site',
  'create-site',
  'update-site',
  'delete-site',
  'list-sites',
  'provision-ssl',
  'show-ssl',
  'list-submissions',
] as const;
export type NetlifyRoute = (typeof NETLIFY_ROUTES)[number];

/** Netlify has not confirmed the name of the payment-method parameter of paid actions; it is read here only. */
export const PAYMENT_METHOD_PARAMETER = 'payment_method_id';

export interface NetlifyLimits {
  /** About 500 requests a minute; reported on every answer, never enforced. */
  general: SlidingWindowLimit;
  /** Site creation, far tighter, enforced with 429 (without Retry-After). */
  siteCreates: SlidingWindowLimit;
}

export interface NetlifyApiDeps {
  store: NetlifyStore;
  faults: FaultQueue<NetlifyRoute>;
  callLog: CallLog<NetlifyRoute>;
  resellerTokens: ReadonlySet<string>;
  limits: NetlifyLimits;
  /** True when the simulated DNS answers records pointing every domain of the site at Netlify. */
  dnsPointsAtSite(site: SiteRecord): boolean;
  /** Aborted when the simulator shuts down, so injected latency does not hold the process open. */
  shutdownSignal: AbortSignal;
}

/** Who a bearer token acts for: the reseller account as a whole, or one client user. */
type Principal = { kind: 'reseller' } | { kind: 'user'; user: UserRecord };

const NOT_FOUND = { code: 404, message: 'Not Found' };
const MAX_PER_PAGE = 100;

function problem(status: number, message: string): ApiError {
  return new ApiError(status, { code: status, message });
}

function invalid(field: string, message: string): ApiError {
  return new ApiError(422, { errors: { [field]: [message] } });
}

export function siteHostOf(site: SiteRecord): string {
  return `${site.name}.${NETLIFY_APP_DOMAIN}`;
}

function hasIssuedCertificate(site: SiteRecord): boolean {
  return site.customDomain !== null && site.certificate?.state === 'issued';
}

/** The swagger `site` definition's fields that a site of ours has, plus the undocumented `ssl_status`. */
export function siteView(store: NetlifyStore, site: SiteRecord) {
  const owner = site.ownerUserId === null ? undefined : store.findUser(site.ownerUserId);
  const netlifyUrl = `https://${siteHostOf(site)}`;
  const tls = hasIssuedCertificate(site);
  return {
    id: site.id,
    site_id: site.id,
    name: site.name,
    state: 'current',
    url: site.customDomain === null ? netlifyUrl : `http://${site.customDomain}`,
    ssl_url: tls ? `https://${site.customDomain}` : netlifyUrl,
    admin_url: `https://app.netlify.com/sites/${site.name}`,
    custom_domain: site.customDomain,
    domain_aliases: [...site.domainAliases],
    ssl: tls,
    force_ssl: site.forceSsl,
    managed_dns: false,
    account_slug: owner?.accountSlug ?? store.reseller.accountSlug,
    user_id: owner?.id ?? store.reseller.userId,
    created_at: site.createdAt,
    updated_at: site.updatedAt,
    ssl_status: site.certificate?.state ?? null,
  };
}

function certificateView(certificate: CertificateRecord) {
  return {
    state: certificate.state,
    domains: [...certificate.domains],
    expires_at: certificate.expiresAt,
    created_at: certificate.createdAt,
    updated_at: certificate.updatedAt,
  };
}

/** The swagger `submission` definition. */
export function submissionView(store: NetlifyStore, submission: SubmissionRecord) {
  const site = store.allSites().find((candidate) => candidate.id === submission.siteId);
  const [firstName = null, ...rest] = (submission.name ?? '').split(/\s+/).filter((part) => part !== '');
  const text = (key: string): string | null => {
    const value = submission.data[key];
    return typeof value === 'string' ? value : null;
  };
  const body = text('message') ?? text('body') ?? '';
  return {
    id: submission.id,
    number: submission.number,
    email: submission.email,
    name: submission.name,
    first_name: firstName,
    last_name: rest.length > 0 ? rest.join(' ') : null,
    company: text('company'),
    summary: `<strong>${submission.name ?? submission.email ?? ''}</strong> ${body}`.trim().slice(0, 200),
    body,
    data: { ...submission.data, ...(submission.email !== null && { email: submission.email }), ...(submission.name !== null && { name: submission.name }) },
    created_at: submission.createdAt,
    site_url: site ? `https://${site.customDomain ?? siteHostOf(site)}` : null,
  };
}

/** `page` (from 1) and `per_page` (at most 100); the answer's `Link` header names the next and last pages. */
function paginate<Item>(req: Request, res: Response, items: Item[]): Item[] {
  const positive = (value: unknown, fallback: number): number => {
    const parsed = typeof value === 'string' ? Number.parseInt(value, 10) : Number.NaN;
    return Number.isInteger(parsed) && parsed > 0 ? parsed : fallback;
  };
  const perPage = Math.min(positive(req.query['per_page'], MAX_PER_PAGE), MAX_PER_PAGE);
  const page = positive(req.query['page'], 1);
  const lastPage = Math.max(1, Math.ceil(items.length / perPage));

  const linkTo = (target: number): string => {
    const url = new URL(req.originalUrl, `${req.protocol}://${req.get('host') ?? 'localhost'}`);
    url.searchParams.set('page', String(target));
    url.searchParams.set('per_page', String(perPage));
    return `<${url.toString()}>`;
  };
  const links: string[] = [];
  if (page > 1) links.push(`${linkTo(1)}; rel="first"`, `${linkTo(Math.min(page - 1, lastPage))}; rel="prev"`);
  if (page < lastPage) links.push(`${linkTo(page + 1)}; rel="next"`, `${linkTo(lastPage)}; rel="last"`);
  if (links.length > 0) res.set('Link', links.join(', '));
  return items.slice((page - 1) * perPage, page * perPage);
}

function bodyObject(body: unknown): Record<string, unknown> {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw problem(400, 'Request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

/** Only fields the caller sent change; each must have the right type. */
function siteChanges(body: Record<string, unknown>, allowed: ReadonlySet<string>): SiteChanges {
  const changes: SiteChanges = {};
  const { name, custom_domain: customDomain, domain_aliases: aliases, force_ssl: forceSsl } = body;
  if (allowed.has('name') && name !== undefined && name !== null) {
    if (typeof name !== 'string') throw invalid('name', 'is invalid');
    changes.name = name;
  }
  if (allowed.has('custom_domain') && customDomain !== undefined) {
    if (customDomain !== null && typeof customDomain !== 'string') throw invalid('custom_domain', 'is invalid');
    changes.customDomain = customDomain;
  }
  if (allowed.has('domain_aliases') && aliases !== undefined) {
    if (aliases !== null && (!Array.isArray(aliases) || aliases.some((alias) => typeof alias !== 'string'))) {
      throw invalid('domain_aliases', 'is invalid');
    }
    changes.domainAliases = (aliases ?? []) as string[];
  }
  if (allowed.has('force_ssl') && forceSsl !== undefined && forceSsl !== null) {
    if (typeof forceSsl !== 'boolean') throw invalid('force_ssl', 'is invalid');
    changes.forceSsl = forceSsl;
  }
  return changes;
}

const CREATE_FIELDS: ReadonlySet<string> = new Set(['name', 'custom_domain']);
const UPDATE_FIELDS: ReadonlySet<string> = new Set(['name', 'custom_domain', 'domain_aliases', 'force_ssl']);

/** Netlify's API under `/api/v1`, as a reseller and its client users see it. */
export function createNetlifyApiRouter(deps: NetlifyApiDeps): express.Router {
  const { store, callLog, limits } = deps;
  const router = express.Router();
  const { nameCall, applyInjectedFault, perform } = createPlatformPipeline({
    faults: deps.faults,
    callLog,
    shutdownSignal: deps.shutdownSignal,
    faultBody: (status) => ({ code: status, message: faultMessage(status) }),
  });

  const principalOf = (res: Response): Principal => res.locals['netlifyPrincipal'] as Principal;

  const setLimitHeaders = (res: Response, status: RateLimitStatus): void => {
    res.set(rateLimitHeaders(status));
  };

  // Every answer reports the general limit; site creation overrides it with its own below.
  router.use((_req: Request, res: Response, next: NextFunction) => {
    limits.general.count();
    setLimitHeaders(res, limits.general.status());
    next();
  });

  const authenticate: RequestHandler = (req, res, next) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    const token = match?.[1];
    if (!token) {
      res.status(401).json({ code: 401, message: 'Access Denied: no access token given' });
      return;
    }
    if (deps.resellerTokens.has(token)) {
      res.locals['netlifyPrincipal'] = { kind: 'reseller' } satisfies Principal;
      next();
      return;
    }
    const user = store.userByToken(token);
    if (!user) {
      res.status(401).json({ code: 401, message: 'Access Denied: invalid access token' });
      return;
    }
    res.locals['netlifyPrincipal'] = { kind: 'user', user } satisfies Principal;
    next();
  };

  const showSiteCreateLimit: RequestHandler = (_req, res, next) => {
    setLimitHeaders(res, limits.siteCreates.status());
    next();
  };

  const enforceSiteCreateLimit: RequestHandler = (_req, res, next) => {
    const allowed = limits.siteCreates.tryTake();
    setLimitHeaders(res, limits.siteCreates.status());
    if (!allowed) {
      res.status(429).json({ code: 429, message: 'API rate limit exceeded for site creation' });
      return;
    }
    next();
  };

  // Named before faults apply, so a faulted call still shows which domain it was about.
  const noteDomainHost: RequestHandler = (req, res, next) => {
    const claimed: unknown = (req.body as { custom_domain?: unknown } | undefined)?.custom_domain;
    const siteParam = req.params['site'];
    const site = siteParam === undefined ? undefined : store.findAnySite(String(siteParam));
    if (typeof claimed === 'string' && claimed.trim() !== '') callLog.noteDomainHost(res, normaliseHost(claimed));
    else if (site?.customDomain) callLog.noteDomainHost(res, site.customDomain);
    else if (!site && siteParam !== undefined && String(siteParam).includes('.')) {
      callLog.noteDomainHost(res, normaliseHost(String(siteParam)));
    }
    next();
  };

  /** Authentication first; injected faults only hit authenticated calls. */
  const endpoint = (
    route: NetlifyRoute,
    operation: (req: Request, res: Response) => Reply,
    limit: RequestHandler[] = [],
  ): RequestHandler[] => [
    nameCall(route),
    ...(limit.length > 0 ? [showSiteCreateLimit] : []),
    authenticate,
    express.json(),
    noteDomainHost,
    ...limit,
    applyInjectedFault(route),
    perform(operation),
  ];

  const methodNotAllowed: RequestHandler = (_req, res) => {
    res.status(405).json({ code: 405, message: 'Method Not Allowed' });
  };

  const canSee = (principal: Principal, site: SiteRecord): boolean =>
    principal.kind === 'reseller' || site.ownerUserId === principal.user.id;

  /** A user token sees its own user's sites only; the reseller token sees every site of the account. */
  const visibleSites = (principal: Principal): SiteRecord[] =>
    store.activeSites().filter((site) => canSee(principal, site));

  const siteFromPath = (req: Request, res: Response): SiteRecord => {
    const site = store.findActiveSite(String(req.params['site']));
    if (!site || !canSee(principalOf(res), site)) throw new ApiError(404, NOT_FOUND);
    return site;
  };

  const rejectedSite = (error: unknown): never => {
    if (error instanceof SiteRejected) throw new ApiError(422, { errors: error.errors });
    throw error;
  };

  const createAccessToken = (req: Request, res: Response): Reply => {
    if (principalOf(res).kind !== 'reseller') {
      throw problem(403, 'Forbidden: only a reseller token can create access tokens');
    }
    const user = bodyObject(req.body)['user'];
    const fields = typeof user === 'object' && user !== null && !Array.isArray(user) ? (user as Record<string, unknown>) : {};
    const email = typeof fields['email'] === 'string' ? fields['email'].trim() : '';
    const uid = typeof fields['uid'] === 'string' || typeof fields['uid'] === 'number' ? String(fields['uid']).trim() : '';
    const problems = [
      ...(email === '' ? ["email can't be blank"] : /^[^\s@]+@[^\s@]+$/.test(email) ? [] : ['email is invalid']),
      ...(uid === '' ? ["uid can't be blank"] : []),
    ];
    if (problems.length > 0) throw new ApiError(422, { errors: { user: problems } });
    const minted = store.mintAccessToken({ email, uid });
    return {
      status: 201,
      body: {
        id: minted.user.id,
        access_token: minted.token.token,
        user_id: minted.user.id,
        created_at: minted.token.createdAt,
        email: minted.user.email,
      },
    };
  };

  const listSites = (req: Request, res: Response): Reply => {
    const nameFilter = typeof req.query['name'] === 'string' ? req.query['name'].toLowerCase() : '';
    const sites = visibleSites(principalOf(res)).filter((site) => site.name.includes(nameFilter));
    return { status: 200, body: paginate(req, res, sites).map((site) => siteView(store, site)) };
  };

  const createSite = (req: Request, res: Response): Reply => {
    const principal = principalOf(res);
    // domain_aliases, force_ssl and the rest are ignored on create, as by Netlify: set them with a PATCH.
    const changes = siteChanges(bodyObject(req.body), CREATE_FIELDS);
    try {
      const site = store.createSite({
        name: changes.name,
        customDomain: changes.customDomain,
        ownerUserId: principal.kind === 'user' ? principal.user.id : null,
      });
      return { status: 201, body: siteView(store, site) };
    } catch (error) {
      return rejectedSite(error);
    }
  };

  const getSite = (req: Request, res: Response): Reply => ({ status: 200, body: siteView(store, siteFromPath(req, res)) });

  const updateSite = (req: Request, res: Response): Reply => {
    const site = siteFromPath(req, res);
    const changes = siteChanges(bodyObject(req.body), UPDATE_FIELDS);
    try {
      return { status: 200, body: siteView(store, store.updateSite(site, changes)) };
    } catch (error) {
      return rejectedSite(error);
    }
  };

  const deleteSite = (req: Request, res: Response): Reply => {
    store.removeSite(siteFromPath(req, res));
    return { status: 204 };
  };

  const provisionCertificate = (req: Request, res: Response): Reply => {
    const site = siteFromPath(req, res);
    const fromQuery = req.query[PAYMENT_METHOD_PARAMETER];
    const fromBody = (req.body as Record<string, unknown> | undefined)?.[PAYMENT_METHOD_PARAMETER];
    const paymentMethodId =
      typeof fromQuery === 'string' && fromQuery !== ''
        ? fromQuery
        : typeof fromBody === 'string' && fromBody !== ''
          ? fromBody
          : null;
    if (site.customDomain === null) throw problem(422, 'No custom domain configured');
    // Netlify's description: a site with a certificate only takes an uploaded one; Let's Encrypt renews by itself.
    if (site.certificate !== null) {
      throw problem(422, 'certificate parameter is required when updating an existing certificate');
    }
    if (!deps.dnsPointsAtSite(site)) throw problem(422, 'bad dns for custom domain');
    return { status: 200, body: certificateView(store.issueCertificate(site, paymentMethodId)) };
  };

  const showCertificate = (req: Request, res: Response): Reply => {
    const site = siteFromPath(req, res);
    if (site.certificate === null) throw new ApiError(404, NOT_FOUND);
    return { status: 200, body: certificateView(site.certificate) };
  };

  const listSubmissions = (req: Request, res: Response): Reply => {
    const sites = req.params['site'] === undefined ? visibleSites(principalOf(res)) : [siteFromPath(req, res)];
    const submissions = store.submissionsOf(new Set(sites.map((site) => site.id)));
    return { status: 200, body: paginate(req, res, submissions).map((submission) => submissionView(store, submission)) };
  };

  router
    .route('/access_tokens')
    .post(...endpoint('access-tokens', createAccessToken))
    .all(methodNotAllowed);
  router
    .route('/sites')
    .get(...endpoint('list-sites', listSites))
    .post(...endpoint('create-site', createSite, [enforceSiteCreateLimit]))
    .all(methodNotAllowed);
  router
    .route('/sites/:site')
    .get(...endpoint('get-site', getSite))
    .patch(...endpoint('update-site', updateSite))
    .delete(...endpoint('delete-site', deleteSite))
    .all(methodNotAllowed);
  router
    .route('/sites/:site/ssl')
    .post(...endpoint('provision-ssl', provisionCertificate))
    .get(...endpoint('show-ssl', showCertificate))
    .all(methodNotAllowed);
  router
    .route('/sites/:site/submissions')
    .get(...endpoint('list-submissions', listSubmissions))
    .all(methodNotAllowed);
  router
    .route('/submissions')
    .get(...endpoint('list-submissions', listSubmissions))
    .all(methodNotAllowed);

  router.use((_req: Request, res: Response) => {
    res.status(404).json(NOT_FOUND);
  });

  // Malformed JSON and oversized bodies answer in Netlify's {code, message} shape.
  router.use((error: unknown, req: Request, res: Response, next: NextFunction) => {
    const { status, type } = (error ?? {}) as { status?: unknown; type?: unknown };
    if (!(error instanceof Error) || typeof status !== 'number' || status < 400 || status >= 500 || typeof type !== 'string') {
      next(error);
      return;
    }
    if (res.headersSent || req.socket.destroyed) return;
    res.status(status).json({ code: status, message: error.message });
  });

  return router;
}

function faultMessage(status: number): string {
  switch (status) {
    case 429:
      return 'Rate limit exceeded';
    case 500:
      return 'Internal Server Error';
    case 502:
      return 'Bad Gateway';
    case 503:
      return 'Service Unavailable';
    case 504:
      return 'Gateway Timeout';
    default:
      return `Simulated fault with status ${status}`;
  }
}
