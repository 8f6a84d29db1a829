import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import type { Config } from '../config/index.js';
import type { SecretVault } from '../vault/index.js';
import {
  checkDnsNow,
  getStatus,
  onboardingIdFor,
  ONBOARDING_WORKFLOW_TYPE,
  type OnboardingInput,
} from '../workflows/definitions.js';
import type { onboardClient } from '../workflows/onboarding.js';
import { CrmEvent } from './crm-events.js';
import { errorHandler, fieldProblems, HttpError } from './errors.js';
import { isTemporalUnreachable, temporalUnavailable, translateTemporalError } from './temporal-errors.js';

export const WEBHOOK_BODY_LIMIT_BYTES = 64 * 1024;
const TEMPORAL_CALL_TIMEOUT_MS = 5_000;

export interface ApiDependencies {
  config: Pick<Config, 'webhookSecret' | 'opsApiToken' | 'temporal' | 'dns'>;
  temporal: Client;
  vault: SecretVault;
  logger: Logger;
}

/** The HTTP surface: the CRM intake, the ops endpoints and health checks. Listening is the caller's job. */
export function createApp(deps: ApiDependencies): express.Express {
  const { config, temporal, vault, logger } = deps;
  const webhook = new Webhook(config.webhookSecret);
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(requestLog(logger));

  // Bounded so a stuck Temporal answers 503 quickly instead of holding the CRM's request open.
  const withTemporalDeadline = <T>(fn: () => Promise<T>) => temporal.connection.withDeadline(Date.now() + TEMPORAL_CALL_TIMEOUT_MS, fn);

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

  app.post(
    '/webhooks/crm',
    express.raw({ type: () => true, limit: WEBHOOK_BODY_LIMIT_BYTES }),
    async (req: Request, res: Response) => {
      const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      try {
        webhook.verify(raw, req.headers as Record<string, string>, { jsonParse: false });
      } catch (err) {
        const reason = err instanceof WebhookVerificationError ? err.message : 'signature could not be checked';
        throw new HttpError(401, 'invalid_signature', `webhook signature rejected: ${reason.toLowerCase()} (Standard Webhooks, headers webhook-id, webhook-timestamp, webhook-signature)`);
      }

      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        throw new HttpError(400, 'malformed_json', 'request body is not valid JSON');
      }
      const parsed = CrmEvent.safeParse(body);
      if (!parsed.success) throw new HttpError(400, 'invalid_payload', 'the webhook payload is invalid', fieldProblems(parsed.error));

      const { data } = parsed.data;
      const onboardingId = onboardingIdFor(data.clientId);
      const deliveryId = req.get('webhook-id');
      const log = logger.child({ onboardingId, workflowId: onboardingId, deliveryId });
      const input: OnboardingInput = {
        onboardingId,
        client: data,
        settings: { dnsPollInitialMs: config.dns.pollInitialMs, dnsPollMaxMs: config.dns.pollMaxMs, dnsDeadlineMs: config.dns.deadlineMs },
        receivedAt: new Date().toISOString(),
      };
      try {
        await withTemporalDeadline(() =>
          temporal.workflow.start<typeof onboardClient>(ONBOARDING_WORKFLOW_TYPE, {
            workflowId: onboardingId,
            taskQueue: config.temporal.taskQueue,
            args: [input],
            // Never a second onboarding for a client, even after the first one has finished.
            workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          }),
        );
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) {
          log.info('duplicate delivery: onboarding already started');
          res.status(202).json({ onboardingId, workflowId: onboardingId, status: 'already-started' });
          return;
        }
        if (isTemporalUnreachable(err)) {
          log.warn({ err: (err as Error).message }, 'Temporal unreachable; asking the CRM to retry');
          throw temporalUnavailable();
        }
        throw err;
      }
      log.info({ domain: data.domain }, 'onboarding started');
      res.status(202).json({ onboardingId, workflowId: onboardingId, status: 'started' });
    },
  );

  const ops = express.Router();
  ops.use(bearerToken(config.opsApiToken));

  ops.get('/onboardings/:onboardingId', async (req, res) => {
    const onboardingId = req.params.onboardingId!;
    const handle = temporal.workflow.getHandle(onboardingId);
    try {
      const [description, status] = await withTemporalDeadline(() => Promise.all([handle.describe(), handle.query(getStatus)]));
      res.json({ ...status, workflowId: onboardingId, workflowStatus: description.status.name });
    } catch (err) {
      throw translateTemporalError(err, { onboardingId });
    }
  });

  ops.get('/onboardings/:onboardingId/secrets/wordpress-api-key', async (req, res) => {
    const onboardingId = req.params.onboardingId!;
    const actor = `ops-api token holder${req.get('x-ops-actor') ? ` (${req.get('x-ops-actor')})` : ''} from ${req.ip}`;
    const value = await vault.reveal({ onboardingId, name: 'wordpress-api-key' }, { actor, purpose: 'ops endpoint' });
    res.setHeader('Cache-Control', 'no-store');
    if (value === undefined) throw new HttpError(404, 'secret_not_found', `no WordPress key is stored for onboarding ${JSON.stringify(onboardingId)}`);
    res.json({ value });
  });

  ops.post('/onboardings/:onboardingId/dns-check', async (req, res) => {
    const onboardingId = req.params.onboardingId!;
    const handle = temporal.workflow.getHandle(onboardingId);
    try {
      const description = await withTemporalDeadline(() => handle.describe());
      if (description.status.name !== 'RUNNING') {
        throw new HttpError(409, 'onboarding_not_running', `onboarding ${onboardingId} is ${description.status.name.toLowerCase()}; there is no DNS wait to speed up`);
      }
      await withTemporalDeadline(() => handle.signal(checkDnsNow));
    } catch (err) {
      throw translateTemporalError(err, { onboardingId });
    }
    res.status(202).json({ onboardingId, signal: 'checkDnsNow', status: 'sent' });
  });

  app.use('/v1', ops);

  app.use((req, _res, next) => next(new HttpError(404, 'not_found', `no route for ${req.method} ${req.path}`)));
  app.use(errorHandler(logger));
  return app;
}

function bearerToken(expected: string): RequestHandler {
  const expectedDigest = createHash('sha256').update(expected).digest();
  return (req, _res, next) => {
    const match = /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '');
    // Comparing digests keeps the comparison constant-time whatever the token's length.
    const given = match ? createHash('sha256').update(match[1]!.trim()).digest() : undefined;
    if (!given || !timingSafeEqual(given, expectedDigest)) {
      next(new HttpError(401, 'unauthorized', 'missing or wrong ops token; send "Authorization: Bearer <OPS_API_TOKEN>"', undefined, { 'WWW-Authenticate': 'Bearer' }));
      return;
    }
    next();
  };
}

function requestLog(logger: Logger): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.info({ method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request');
    });
    next();
  };
}
