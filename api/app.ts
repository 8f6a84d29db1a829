import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import type { Config } from '../config/index.js';
import { SECRET_NAMES, SECRETS } from '../platforms/catalog.js';
import type { NetlifyClient } from '../platforms/netlify/client.js';
import { SecretRevokedError, VaultEntryUnreadableError, type SecretVault } from '../vault/index.js';
import { createCodecRouter } from './codec-server.js';
import { crmWebhookIntake } from './crm-intake.js';
import { CrmEvent } from './crm-events.js';
import { errorHandler, HttpError } from './errors.js';
import { createApiMetrics, type ApiMetrics } from './metrics.js';
import { Offboardings, isOffboardingId } from './offboardings.js';
import { OnboardingListing } from './onboarding-list.js';
import { bearerToken } from './ops-token.js';
import { Onboardings, type OnboardingsConfig } from './onboardings.js';
import { apiDocs, expressRoutes } from './openapi.js';
import { AuditQuery, CancelRequest, ListOnboardingsQuery, RetryRequest, StoreSecretRequest } from './ops-schemas.js';
import { createResellerRouter, sinceDate } from './reseller.js';
import { validated } from './request-schemas.js';
import { TemporalCalls } from './temporal-calls.js';

export const WEBHOOK_BODY_LIMIT_BYTES = 64 * 1024;

export interface ApiDependencies {
  config: Pick<Config, 'webhookSecret' | 'opsApiToken' | 'availableServices' | 'defaultServices'> &
    OnboardingsConfig &
    Partial<Pick<Config, 'netlify' | 'dnsResolvers' | 'crmIntake'>> & {
      /** Tests only: how long a registration attempt under way at a churn may still take (default: the call timeout). */
      inFlightSettleMs?: number;
    };
  temporal: Client;
  vault: SecretVault;
  logger: Logger;
  /** The reseller-wide Netlify client behind /v1/reseller; without it those routes answer 503. */
  netlify?: NetlifyClient;
  /** Defaults to a registry of this app's own, so tests can run several apps in one process. */
  metrics?: ApiMetrics;
}

/** The HTTP surface: the CRM intake, the ops endpoints and health checks. Listening is the caller's job. */
export function createApp(deps: ApiDependencies): express.Express {
  const { config, temporal, vault, logger } = deps;
  const calls = new TemporalCalls(temporal, config.temporal);
  const onboardings = new Onboardings(calls, config, logger);
  const offboardings = new Offboardings(calls, onboardings, config, logger);
  const listing = new OnboardingListing(calls, config.opsApiToken);
  const webhook = new Webhook(config.webhookSecret);
  const metrics = deps.metrics ?? createApiMetrics();
  const app = express();
  const docs = apiDocs(app);
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(requestLog(logger));
  app.use(metrics.timeRequests);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    try {
      await temporal.connection.withDeadline(Date.now() + 2_000, () => temporal.workflowService.getSystemInfo({}));
      res.json({ status: 'ready', temporal: 'reachable' });
    } catch {
      res.status(503).setHeader('Retry-After', '5').json({ status: 'not-ready', temporal: 'unreachable' });
    }
  });

  app.get('/metrics', metrics.serve);
  app.get('/openapi.json', docs.openApiJson);
  app.get('/docs', docs.page);
  app.use('/docs/assets', docs.assets);

  const signedDelivery = [metrics.countWebhooks, express.raw({ type: () => true, limit: WEBHOOK_BODY_LIMIT_BYTES }), standardWebhookJson(webhook, metrics)];
  app.post('/webhooks/crm', signedDelivery, validated({ body: CrmEvent }, { code: 'invalid_payload', message: 'the webhook payload is invalid' }, async ({ body: event }, req, res) => {
    const log = logger.child({ deliveryId: req.get('webhook-id'), eventType: event.type, clientId: event.data.clientId });
    switch (event.type) {
      case 'client.created': {
        const { services, ...client } = event.data;
        const plan = services ?? config.defaultServices;
        const unavailable = plan.filter((name) => !config.availableServices.includes(name));
        if (unavailable.length > 0) {
          const message = `${unavailable.join(', ')} ${unavailable.length > 1 ? 'are' : 'is'} not configured on this engine (configured: ${config.availableServices.join(', ') || 'none'}); set its credentials (see .env.example) or leave it out of the plan`;
          throw new HttpError(400, 'invalid_payload', 'the webhook payload is invalid', [{ field: services ? 'data.services' : 'ONBOARDING_SERVICES', message }]);
        }
        const outcome = await onboardings.start(client, plan, new Date(), new Date(event.timestamp));
        const { onboardingId, status } = outcome;
        metrics.noteWebhook(res, { outcome: status });
        if (status !== 'already-started') metrics.onboardingsStarted.inc();
        const message = { started: 'onboarding started', restarted: 'returning client: onboarding started anew', 'already-started': 'duplicate delivery: onboarding already started' }[status];
        log.info({ onboardingId, workflowId: onboardingId, status, domain: event.data.domain }, message);
        res.status(202).json({ ...outcome, workflowId: onboardingId });
        return;
      }
      case 'client.churned':
      case 'client.reactivated': {
        const at = new Date(event.timestamp);
        const outcome = event.type === 'client.churned' ? await offboardings.offboard(event.data.clientId, at) : await offboardings.reactivate(event.data.clientId, at);
        metrics.noteWebhook(res, { outcome: outcome.status });
        log.info({ ...outcome, workflowId: outcome.offboardingId }, event.type === 'client.churned' ? 'client churned' : 'client reactivated');
        res.status(202).json({ ...outcome, workflowId: outcome.offboardingId });
        return;
      }
    }
  }));

  // The CRMs' own webhooks, each checked its CRM's way (HubSpot signature v3, Pipedrive Basic auth, HighLevel Ed25519).
  app.post('/webhooks/:source', metrics.countWebhooks, express.raw({ type: () => true, limit: WEBHOOK_BODY_LIMIT_BYTES }), crmWebhookIntake({ config, onboardings, metrics, logger }));

  const ops = express.Router();
  // Remembered for the request log line, so it too names the onboarding (and its workflow) it was about.
  ops.param('onboardingId', (_req, res, next, onboardingId: string) => {
    res.locals.onboardingId = onboardingId;
    next();
  });
  ops.use(bearerToken(config.opsApiToken));
  ops.use(express.json({ limit: '16kb' }));
  const actorOf = (req: Request) => `ops-api token holder${req.get('x-ops-actor') ? ` (${req.get('x-ops-actor')})` : ''} from ${req.ip}`;
  const idOf = (req: Request): string => String(req.params.onboardingId);

  ops.get('/onboardings', validated({ query: ListOnboardingsQuery }, { code: 'invalid_query', message: 'the list query is invalid' }, async ({ query }, _req, res) => {
    res.json(await listing.list(query));
  }));

  // Offboardings share the path: `offboarding-<clientId>` reads the client's offboarding.
  ops.get('/onboardings/:onboardingId', async (req, res) => {
    const id = idOf(req);
    res.json(isOffboardingId(id) ? await offboardings.view(id) : await onboardings.view(id));
  });

  ops.post('/onboardings/:onboardingId/retry', validated({ body: RetryRequest }, { code: 'invalid_retry', message: 'the retry request is invalid' }, async ({ body }, req, res) => {
    res.status(202).json(await onboardings.retry(idOf(req), body, actorOf(req)));
  }));

  ops.post('/onboardings/:onboardingId/cancel', validated({ body: CancelRequest }, { code: 'invalid_cancel', message: 'the cancel request is invalid' }, async ({ body }, req, res) => {
    await onboardings.cancel(idOf(req), body.reason, actorOf(req));
    res.status(202).json({ onboardingId: idOf(req), status: 'cancelling' });
  }));

  ops.post('/onboardings/:onboardingId/dns-check', async (req, res) => {
    await onboardings.checkDnsNow(idOf(req));
    res.status(202).json({ onboardingId: idOf(req), signal: 'checkDnsNow', status: 'sent' });
  });

  /** A secret name some platform declares (`wordpress-api-key`, `netlify-access-token`); 404 naming them otherwise. */
  const secretOf = (req: Request) => {
    const name = String(req.params.secretName);
    const declared = SECRETS.find((secret) => secret.name === name);
    if (!declared) throw new HttpError(404, 'unknown_secret', `no platform declares a secret named ${JSON.stringify(name)}; known: ${SECRET_NAMES.join(', ')}`);
    return declared;
  };

  ops.get('/onboardings/:onboardingId/secrets/:secretName', async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    const secret = secretOf(req);
    let value: string | undefined;
    const scope = await onboardings.secretScopeOf(idOf(req));
    try {
      value = await vault.reveal({ onboardingId: scope, name: secret.name }, { actor: actorOf(req), purpose: 'ops endpoint' });
    } catch (err) {
      if (err instanceof SecretRevokedError) throw new HttpError(410, 'secret_revoked', err.message);
      if (err instanceof VaultEntryUnreadableError) {
        throw new HttpError(500, 'vault_entry_unreadable', `the stored ${secret.label} cannot be read (${err.reason === 'corrupt' ? 'its entry is damaged' : 'it was sealed with another VAULT_KEY'}); store it again with PUT on this path`);
      }
      throw err;
    }
    if (value === undefined) throw new HttpError(404, 'secret_not_found', `no ${secret.label} is stored for onboarding ${JSON.stringify(idOf(req))}`);
    res.json({ value });
  });

  // After "WordPress key lost": ops regenerate the key in NextNet's dashboard, store it here, then retry.
  ops.put('/onboardings/:onboardingId/secrets/:secretName', validated({ body: StoreSecretRequest }, { code: 'invalid_secret', message: 'the secret is invalid' }, async ({ body }, req, res) => {
    const secret = secretOf(req);
    const scope = await onboardings.secretScopeOf(idOf(req)); // 404 for an unknown onboarding
    let outcome: 'created' | 'unchanged' | 'replaced';
    try {
      ({ outcome } = await vault.put({ onboardingId: scope, name: secret.name }, body.value, { actor: actorOf(req), purpose: 'ops endpoint' }));
    } catch (err) {
      if (err instanceof SecretRevokedError) throw new HttpError(410, 'secret_revoked', err.message);
      throw err;
    }
    logger.info({ audit: 'secret.write', onboardingId: idOf(req), secretName: secret.name, actor: actorOf(req), outcome }, `${secret.label} stored by ops`);
    res.status(outcome === 'created' ? 201 : 200).json({ onboardingId: idOf(req), secret: secret.name, outcome });
  }));

  // The vault's audit trail: who read, wrote or revoked which secret, when, and how it ended; never a value.
  ops.get('/audit', validated({ query: AuditQuery }, { code: 'invalid_query', message: 'the audit query is invalid' }, async ({ query }, _req, res) => {
    if (!vault.listAudit) {
      throw new HttpError(
        404,
        'audit_unavailable',
        'this engine keeps its secrets in the file vault, which writes its audit lines to the log only; the audit trail is kept in PostgreSQL: set DATABASE_URL (or run `npm start`, which uses its embedded PostgreSQL)',
      );
    }
    const { onboardingId, since, limit } = query;
    const items = await vault.listAudit({ onboardingId, since: since === undefined ? undefined : sinceDate(since, new Date()), limit });
    res.setHeader('Cache-Control', 'no-store');
    res.json({ items });
  }));

  if (config.netlify) {
    ops.use('/reseller', createResellerRouter({ netlify: deps.netlify, config: { netlify: config.netlify, dnsResolvers: config.dnsResolvers ?? [] }, temporal, namespace: config.temporal.namespace, logger }));
  }
  app.use('/v1', ops);

  // The Temporal UI's codec server: ops holding the ops token read client data that Temporal only stores encrypted.
  app.use('/codec', createCodecRouter({ codecs: temporal.options.loadedDataConverter.payloadCodecs, opsApiToken: config.opsApiToken, uiUrl: config.temporal.uiUrl }));

  // A path that exists with another method: 405 naming the methods it takes, not 404.
  let routes: { method: string; pattern: RegExp }[] | undefined;
  app.use((req, _res, next) => {
    routes ??= expressRoutes(app).map(({ method, path }) => ({ method, pattern: new RegExp(`^${path.replace(/:[^/]+/g, '[^/]+')}/?$`) }));
    const allowed = [...new Set(routes.filter((route) => route.pattern.test(req.path)).flatMap((route) => (route.method === 'GET' ? ['GET', 'HEAD'] : [route.method])))];
    if (allowed.length > 0) {
      next(new HttpError(405, 'method_not_allowed', `${req.method} is not allowed on ${req.path}; it takes ${allowed.join(', ')}`, undefined, { Allow: allowed.join(', ') }));
      return;
    }
    next(new HttpError(404, 'not_found', `no route for ${req.method} ${req.path}`));
  });
  app.use(errorHandler(logger));
  return app;
}

/** A Standard Webhooks delivery: its raw body verified against its signature headers (401 otherwise), then parsed as JSON into `req.body`. */
function standardWebhookJson(webhook: Webhook, metrics: ApiMetrics): RequestHandler {
  return (req, res, next) => {
    const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    try {
      webhook.verify(raw, req.headers as Record<string, string>, { jsonParse: false });
    } catch (err) {
      const reason = err instanceof WebhookVerificationError ? err.message : 'signature could not be checked';
      throw new HttpError(401, 'invalid_signature', `webhook signature rejected: ${reason.toLowerCase()} (Standard Webhooks, headers webhook-id, webhook-timestamp, webhook-signature)`);
    }
    try {
      req.body = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new HttpError(400, 'malformed_json', 'request body is not valid JSON');
    }
    metrics.noteWebhook(res, { type: (req.body as { type?: unknown } | null)?.type });
    next();
  };
}

function requestLog(logger: Logger): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const onboardingId = typeof res.locals.onboardingId === 'string' ? res.locals.onboardingId : undefined;
      const about = onboardingId ? { onboardingId, workflowId: onboardingId } : {};
      logger.info({ method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10, ...about }, 'request');
    });
    next();
  };
}
