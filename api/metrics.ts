import type { Application, Request, RequestHandler, Response } from 'express';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { CRM_SOURCES } from '../crm/types.js';
import { CRM_EVENT_TYPES } from './crm-events.js';
import { expressRoutes } from './openapi.js';

/** The label of a request that no route matched: its raw path could hold anything, so it never becomes a label. */
export const UNMATCHED_ROUTE = 'unmatched';

/** What the webhook route learned about a delivery before answering; the rest is read off the status code. */
interface WebhookNote {
  type?: string;
  outcome?: string;
}

export interface ApiMetrics {
  /** This API's own registry (not prom-client's global one), so several apps can live in one process. */
  registry: Registry;
  onboardingsStarted: Counter;
  /** Times every request, labelled with the Express route pattern that matched it. */
  timeRequests: RequestHandler;
  /** Mounted on the webhook route: counts each delivery once it is answered, whatever answered it. */
  countWebhooks: RequestHandler;
  /** The event type (only a known one becomes a label) and, for an accepted delivery, what it did. */
  noteWebhook(res: Response, note: { type?: unknown; outcome?: string }): void;
  /** GET /metrics, in the Prometheus text format. */
  serve: RequestHandler;
}

/** Outcomes of deliveries that were refused before (or instead of) reaching a business answer. */
const OUTCOME_BY_STATUS: Record<number, string> = {
  400: 'invalid-payload',
  401: 'invalid-signature',
  409: 'conflict',
  413: 'too-large',
  415: 'unsupported-encoding',
  503: 'unavailable',
};

export function createApiMetrics(registry = new Registry()): ApiMetrics {
  collectDefaultMetrics({ register: registry });
  const webhooksReceived = new Counter({
    name: 'webhooks_received_total',
    help: 'CRM webhook deliveries by event type (the CRM, for its own webhook; or unknown) and outcome (started, already-started, restarted, invalid-signature, invalid-payload, too-large, unavailable, churn outcomes...).',
    labelNames: ['type', 'outcome'] as const,
    registers: [registry],
  });
  const onboardingsStarted = new Counter({
    name: 'onboardings_started_total',
    help: 'Onboarding workflows started by the CRM intake, returning clients included (duplicate deliveries not counted).',
    registers: [registry],
  });
  const requestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: `HTTP request latency by method, Express route pattern (or "${UNMATCHED_ROUTE}") and status code.`,
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });

  const notes = new WeakMap<Response, WebhookNote>();
  let routeOf: ((req: Request) => string) | undefined;

  return {
    registry,
    onboardingsStarted,
    timeRequests: (req, res, next) => {
      const stop = requestDuration.startTimer();
      res.on('finish', () => {
        // Built on the first request: by then createApp has registered every route.
        routeOf ??= routeMatcher(req.app);
        stop({ method: req.method, route: routeOf(req), status: String(res.statusCode) });
      });
      next();
    },
    countWebhooks: (_req, res, next) => {
      res.on('finish', () => {
        const note = notes.get(res) ?? {};
        const outcome = note.outcome ?? OUTCOME_BY_STATUS[res.statusCode] ?? (res.statusCode >= 500 ? 'error' : `status-${res.statusCode}`);
        webhooksReceived.inc({ type: note.type ?? 'unknown', outcome });
      });
      next();
    },
    noteWebhook(res, { type, outcome }) {
      const note = notes.get(res) ?? {};
      // A label value per unknown type a sender makes up would grow the series without bound.
      // A CRM's own webhook (POST /webhooks/hubspot...) is labelled with the CRM: one delivery can hold several events.
      if (type !== undefined) note.type = ([...CRM_EVENT_TYPES, ...CRM_SOURCES] as readonly unknown[]).includes(type) ? String(type) : 'unknown';
      if (outcome !== undefined) note.outcome = outcome;
      notes.set(res, note);
    },
    serve: async (_req, res) => {
      res.type(registry.contentType).send(await registry.metrics());
    },
  };
}

/**
 * Finds the route pattern a request belongs to, the way Express matches it (first route in order, method and path,
 * case-insensitive, optional trailing slash). It matches the path itself rather than reading `req.route`, so a
 * request stopped before its route ran (a missing ops token, an error thrown in a sub-router) keeps its route.
 */
export function routeMatcher(app: Application): (req: Request) => string {
  const routes = expressRoutes(app).map(({ method, path }) => ({ method, path, pattern: pathPattern(path) }));
  return (req) => {
    // Express answers HEAD with the GET route when there is no HEAD route of its own.
    const methods = req.method === 'HEAD' ? ['HEAD', 'GET', 'ALL'] : [req.method, 'ALL'];
    const path = req.originalUrl.split('?')[0] ?? '';
    const route = routes.find((r) => methods.includes(r.method) && r.pattern.test(path));
    return route?.path ?? UNMATCHED_ROUTE;
  };
}

/** Express 5 path syntax (`:param`, `*wildcard`, `{optional}`) as a regular expression. */
function pathPattern(path: string): RegExp {
  let source = '';
  for (const token of path.match(/:[A-Za-z_$][\w$]*|\*[A-Za-z_$][\w$]*|[{}]|[^:*{}]+/g) ?? []) {
    if (token.startsWith(':')) source += '[^/]+';
    else if (token.startsWith('*')) source += '.+';
    else if (token === '{') source += '(?:';
    else if (token === '}') source += ')?';
    else source += token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}/?$`, 'i');
}
