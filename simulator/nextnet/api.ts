import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import type { CallLog } from '../platform/call-log.js';
import type { FaultQueue } from '../platform/faults.js';
import { ApiError, type Reply, createPlatformPipeline } from '../platform/pipeline.js';
import {
  DEFAULT_SUBSCRIPTION_TIER,
  DomainAlreadyRegistered,
  type DomainRecord,
  type DomainSettings,
  type ResellerStore,
  maxPagesOf,
} from './store.js';

/** Names of the reseller API operations, as they appear in the call log and in fault rules. */
export const RESELLER_ROUTES = ['register', 'list', 'dashboard', 'patch', 'remove', 'topics'] as const;
export type ResellerRoute = (typeof RESELLER_ROUTES)[number];

export const API_KEY_HEADER = 'X-Serendipity-API-Key';

export interface ResellerApiDeps {
  store: ResellerStore;
  faults: FaultQueue<ResellerRoute>;
  callLog: CallLog<ResellerRoute>;
  apiKeys: ReadonlySet<string>;
  nonResellerKeys: ReadonlySet<string>;
  /** Aborted when the simulator shuts down, so injected latency does not hold the process open. */
  shutdownSignal: AbortSignal;
}

const NOT_FOUND = { detail: 'Not found.' };

// --- request bodies, with Django REST Framework's wording so error bodies look like the real service's ---

const REQUIRED = 'This field is required.';
const HOSTNAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

function textField() {
  return z.string({
    error: (issue) =>
      issue.input === undefined ? REQUIRED : issue.input === null ? 'This field may not be null.' : 'Not a valid string.',
  });
}

const optionalText = () => textField().trim().nullish();

const RegisterDomainBody = z.object({
  client_user_email: textField()
    .trim()
    .min(1, { error: 'This field may not be blank.', abort: true })
    .pipe(z.email({ error: 'Enter a valid email address.' })),
  domain_host: textField()
    .trim()
    .toLowerCase()
    .min(1, { error: 'This field may not be blank.', abort: true })
    .regex(HOSTNAME, { error: 'Enter a bare hostname such as example.com, without scheme, port or path.' }),
  subscription_tier: optionalText(),
  industry: optionalText(),
  business_scope: optionalText(),
  city: optionalText(),
  state: optionalText(),
  cms_platform: optionalText(),
  auto_trigger_processing: z.boolean({ error: 'Must be a valid boolean.' }).nullish(),
});

const UpdateDomainSettingsBody = z.object({
  subscription_tier: textField().trim().min(1, { error: 'This field may not be blank.' }).optional(),
  industry: optionalText(),
  business_scope: optionalText(),
  city: optionalText(),
  state: optionalText(),
  cms_platform: optionalText(),
});

const AddTopicsBody = z.object({
  topics: z
    .array(textField().trim().min(1, { error: 'This field may not be blank.' }), {
      error: (issue) => (issue.input === undefined ? REQUIRED : 'Expected a list of items.'),
    })
    .min(1, { error: 'This list may not be empty.' }),
});

/** DRF answers a non-object body with non_field_errors and a field problem as `{field: [messages]}`. */
function parseBody<Schema extends z.ZodType>(schema: Schema, body: unknown): z.output<Schema> {
  const candidate: unknown = body === undefined ? {} : body;
  if (typeof candidate !== 'object' || candidate === null || Array.isArray(candidate)) {
    const got = Array.isArray(candidate) ? 'list' : typeof candidate;
    throw new ApiError(400, { non_field_errors: [`Invalid data. Expected a dictionary, but got ${got}.`] });
  }
  const parsed = schema.safeParse(candidate);
  if (parsed.success) return parsed.data;
  const fieldErrors: Record<string, string[]> = {};
  for (const issue of parsed.error.issues) {
    const field = typeof issue.path[0] === 'string' ? issue.path[0] : 'non_field_errors';
    (fieldErrors[field] ??= []).push(issue.message);
  }
  throw new ApiError(400, fieldErrors);
}

// --- response shapes ---

function domainSummary(store: ResellerStore, domain: DomainRecord) {
  return {
    id: domain.id,
    host: domain.host,
    verification_status: store.verificationStatusOf(domain),
    created: domain.created,
  };
}

function domainWithSettings(store: ResellerStore, domain: DomainRecord) {
  return {
    ...domainSummary(store, domain),
    subscription_tier: domain.settings.subscriptionTier,
    industry: domain.settings.industry,
    business_scope: domain.settings.businessScope,
    city: domain.settings.city,
    state: domain.settings.state,
    cms_platform: domain.settings.cmsPlatform,
  };
}

/** Only fields the caller actually sent change; `undefined` means "leave as is". */
function settingsChanges(body: z.output<typeof UpdateDomainSettingsBody>): Partial<DomainSettings> {
  const changes: Partial<DomainSettings> = {};
  if (body.subscription_tier !== undefined) changes.subscriptionTier = body.subscription_tier;
  if (body.industry !== undefined) changes.industry = body.industry;
  if (body.business_scope !== undefined) changes.businessScope = body.business_scope;
  if (body.city !== undefined) changes.city = body.city;
  if (body.state !== undefined) changes.state = body.state;
  if (body.cms_platform !== undefined) changes.cmsPlatform = body.cms_platform;
  return changes;
}

/** The `/accounts` part of the NextNet reseller API. Trailing slashes are required, as in the documented paths. */
export function createResellerApiRouter(deps: ResellerApiDeps): express.Router {
  const { store, faults, callLog } = deps;
  const router = express.Router({ strict: true });
  const { nameCall, applyInjectedFault, perform } = createPlatformPipeline({
    faults,
    callLog,
    shutdownSignal: deps.shutdownSignal,
    faultBody: (status, retryAfterSeconds) => ({ detail: faultDetail(status, retryAfterSeconds) }),
  });

  const authenticateReseller: RequestHandler = (req, res, next) => {
    const apiKey = req.get(API_KEY_HEADER);
    if (!apiKey) {
      res.status(401).json({ detail: 'Authentication credentials were not provided.' });
    } else if (deps.apiKeys.has(apiKey)) {
      next();
    } else if (deps.nonResellerKeys.has(apiKey)) {
      res.status(403).json({ detail: 'Your organization is not a reseller.' });
    } else {
      res.status(401).json({ detail: 'Invalid API key.' });
    }
  };

  const methodNotAllowed: RequestHandler = (req, res) => {
    res.status(405).json({ detail: `Method "${req.method}" not allowed.` });
  };

  /** Authentication comes before everything else, as in DRF; injected faults only hit authenticated calls. */
  const endpoint = (route: ResellerRoute, operation: (req: Request, res: Response) => Reply): RequestHandler[] => [
    nameCall(route),
    authenticateReseller,
    express.json(),
    noteDomainHost,
    applyInjectedFault(route),
    perform(operation),
  ];
  const wrongMethod = (route: ResellerRoute): RequestHandler[] => [nameCall(route), authenticateReseller, methodNotAllowed];

  // Named before faults apply, so a faulted call still shows which domain it was about.
  const noteDomainHost: RequestHandler = (req, res, next) => {
    const claimedHost: unknown = (req.body as { domain_host?: unknown } | undefined)?.domain_host;
    if (typeof claimedHost === 'string') callLog.noteDomainHost(res, claimedHost.trim().toLowerCase());
    const domainId = req.params['domainId'];
    const known = domainId === undefined ? undefined : store.findAnyDomain(String(domainId));
    if (known) callLog.noteDomainHost(res, known.host);
    next();
  };

  const activeDomainFromPath = (req: Request, res: Response): DomainRecord => {
    const domainId = String(req.params['domainId']);
    const domain = store.findActiveDomain(domainId);
    if (!domain) throw new ApiError(404, NOT_FOUND);
    return domain;
  };

  const registerDomain = (req: Request, res: Response): Reply => {
    const body = parseBody(RegisterDomainBody, req.body);
    const wantsWordpress = body.cms_platform === 'wordpress';
    try {
      const { domain, clientUser } = store.registerDomain({
        clientUserEmail: body.client_user_email,
        host: body.domain_host,
        issueWordpressKey: wantsWordpress,
        settings: {
          subscriptionTier: body.subscription_tier ?? DEFAULT_SUBSCRIPTION_TIER,
          industry: body.industry ?? null,
          businessScope: body.business_scope ?? null,
          city: body.city ?? null,
          state: body.state ?? null,
          cmsPlatform: body.cms_platform ?? null,
        },
      });
      return {
        status: 201,
        body: {
          domain: domainSummary(store, domain),
          client_user: { id: clientUser.id, email: clientUser.email, name: clientUser.name, created: clientUser.created },
          subscription: {
            tier: domain.settings.subscriptionTier,
            status: 'active',
            max_pages: maxPagesOf(domain.settings.subscriptionTier),
          },
          ...(domain.wordpressApiKey !== null && { wordpress: { enabled: true, api_key: domain.wordpressApiKey } }),
          ...(body.auto_trigger_processing === true && { processing_run_id: randomUUID() }),
        },
      };
    } catch (error) {
      if (error instanceof DomainAlreadyRegistered) {
        throw new ApiError(400, { domain_host: ['A domain with this host is already registered.'] });
      }
      throw error;
    }
  };

  const listDomains = (): Reply => {
    const results = store.activeDomains().map((domain) => {
      const clientUser = store.clientUserOf(domain);
      return {
        ...domainSummary(store, domain),
        client_user: { id: clientUser.id, email: clientUser.email },
        subscription_tier: domain.settings.subscriptionTier,
      };
    });
    return { status: 200, body: { count: results.length, results } };
  };

  const showDashboard = (req: Request, res: Response): Reply => {
    const domain = activeDomainFromPath(req, res);
    return {
      status: 200,
      body: { domain: domainSummary(store, domain), metrics: { pages_indexed: 0, ai_visibility_score: null } },
    };
  };

  const updateDomainSettings = (req: Request, res: Response): Reply => {
    const domain = activeDomainFromPath(req, res);
    const body = parseBody(UpdateDomainSettingsBody, req.body);
    store.updateDomainSettings(domain, settingsChanges(body));
    return { status: 200, body: domainWithSettings(store, domain) };
  };

  const removeDomain = (req: Request, res: Response): Reply => {
    store.removeDomain(activeDomainFromPath(req, res));
    return { status: 204 };
  };

  const listTopics = (req: Request, res: Response): Reply => {
    const domain = activeDomainFromPath(req, res);
    return { status: 200, body: { results: domain.topics } };
  };

  const addTopics = (req: Request, res: Response): Reply => {
    const domain = activeDomainFromPath(req, res);
    const body = parseBody(AddTopicsBody, req.body);
    return { status: 201, body: { results: store.addTopics(domain, body.topics) } };
  };

  router
    .route('/reseller/domains/')
    .post(...endpoint('register', registerDomain))
    .all(...wrongMethod('register'));
  router
    .route('/reseller/domains/list/')
    .get(...endpoint('list', listDomains))
    .all(...wrongMethod('list'));
  router
    .route('/reseller/domains/:domainId/dashboard/')
    .get(...endpoint('dashboard', showDashboard))
    .all(...wrongMethod('dashboard'));
  router
    .route('/reseller/domains/:domainId/')
    .patch(...endpoint('patch', updateDomainSettings))
    .all(...wrongMethod('patch'));
  router
    .route('/reseller/domains/:domainId/remove/')
    .delete(...endpoint('remove', removeDomain))
    .all(...wrongMethod('remove'));
  router
    .route('/reseller/domains/:domainId/topics/')
    .get(...endpoint('topics', listTopics))
    .all(...wrongMethod('topics'));
  router
    .route('/reseller/domains/:domainId/topics/add/')
    .post(...endpoint('topics', addTopics))
    .all(...wrongMethod('topics'));

  // Unknown paths (including a missing trailing slash) answer like DRF's 404, not Express's HTML page.
  router.use((_req: Request, res: Response, _next: NextFunction) => {
    res.status(404).json(NOT_FOUND);
  });

  return router;
}

/** DRF-like texts for the statuses a test is likely to inject. */
export function faultDetail(status: number, retryAfterSeconds: number | undefined): string {
  switch (status) {
    case 429:
      return retryAfterSeconds === undefined
        ? 'Request was throttled.'
        : `Request was throttled. Expected available in ${retryAfterSeconds} seconds.`;
    case 500:
      return 'A server error occurred.';
    case 502:
      return 'Bad gateway.';
    case 503:
      return 'Service temporarily unavailable.';
    case 504:
      return 'Gateway timeout.';
    default:
      return `Simulated fault with status ${status}.`;
  }
}
