/**
 * The CRMs' own webhooks, `POST /webhooks/hubspot|pipedrive|gohighlevel`: check a delivery the CRM's way, read its
 * events, and start what each asks for. Nothing here calls a CRM: the onboarding reads the client's record itself.
 */
import type { Request, RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { CRM_INTAKE_VARIABLES, type Config } from '../config/index.js';
import { GoHighLevelDelivery, goHighLevelIntents, goHighLevelPublicKey, verifyGoHighLevelDelivery } from '../crm/gohighlevel/webhook.js';
import { HubspotDelivery, hubspotCalledUrl, hubspotIntents, verifyHubspotDelivery } from '../crm/hubspot/webhook.js';
import { PipedriveDelivery, pipedriveIntents, verifyPipedriveDelivery } from '../crm/pipedrive/webhook.js';
import { CRM_SOURCE_LABELS, CRM_SOURCES, isCrmSource, type CrmIntent, type CrmSource } from '../crm/types.js';
import type { PlatformName } from '../platforms/catalog.js';
import { fieldProblems, HttpError, type FieldProblem } from './errors.js';
import type { ApiMetrics } from './metrics.js';
import type { Onboardings } from './onboardings.js';
import { checksRequestWith } from './request-schemas.js';

/** What one event of a delivery did, in the 202 answer `{ results: [...] }`. */
export interface CrmEventOutcome {
  eventId: string;
  outcome: 'started' | 'already-started' | 'ignored';
  /** The client's onboarding, when the event named its client. */
  onboardingId?: string;
  /** The workflow started (or found): the onboarding, or the `resolveCrmDeal` of a won deal. */
  workflowId?: string;
  why?: string;
}

/** How one CRM's deliveries are checked and read. */
interface CrmWebhook {
  /** Why the delivery is refused (401), or undefined when it is the CRM's. */
  refusal(req: Request, rawBody: Buffer): string | undefined;
  /** What the delivery's events ask, or why its payload can never be read (400). */
  read(body: unknown, receivedAt: Date): { intents: CrmIntent[] } | { problems: FieldProblem[] };
}

function reader<T>(schema: z.ZodType<T>, intentsOf: (delivery: T, receivedAt: Date) => CrmIntent[]): CrmWebhook['read'] {
  return (body, receivedAt) => {
    const parsed = schema.safeParse(body);
    return parsed.success ? { intents: intentsOf(parsed.data, receivedAt) } : { problems: fieldProblems(parsed.error) };
  };
}

/** Each CRM's delivery as its webhook's body is checked; /openapi.json describes each `/webhooks/<source>` with it. */
const CRM_DELIVERIES = { hubspot: HubspotDelivery, pipedrive: PipedriveDelivery, gohighlevel: GoHighLevelDelivery } satisfies Record<CrmSource, z.ZodType>;

/** The webhooks of the CRMs whose intake is configured. */
function configuredWebhooks(intake: Config['crmIntake'] | undefined): Partial<Record<CrmSource, CrmWebhook>> {
  const webhooks: Partial<Record<CrmSource, CrmWebhook>> = {};
  const hubspot = intake?.hubspot;
  if (hubspot) {
    webhooks.hubspot = {
      refusal: (req, rawBody) => verifyHubspotDelivery({ method: req.method, url: hubspotCalledUrl(req, hubspot.webhookUrl), headers: req.headers, rawBody }, hubspot.clientSecret),
      read: reader(CRM_DELIVERIES.hubspot, (delivery) => hubspotIntents(delivery, hubspot)),
    };
  }
  const pipedrive = intake?.pipedrive;
  if (pipedrive) {
    webhooks.pipedrive = {
      refusal: (req) => verifyPipedriveDelivery(req, pipedrive),
      read: reader(CRM_DELIVERIES.pipedrive, (delivery, receivedAt) => pipedriveIntents(delivery, pipedrive, receivedAt)),
    };
  }
  const gohighlevel = intake?.gohighlevel;
  if (gohighlevel) {
    const publicKey = goHighLevelPublicKey(gohighlevel.publicKey);
    webhooks.gohighlevel = {
      refusal: (req, rawBody) => verifyGoHighLevelDelivery({ headers: req.headers, rawBody }, publicKey),
      read: reader(CRM_DELIVERIES.gohighlevel, (delivery, receivedAt) => goHighLevelIntents(delivery, gohighlevel, receivedAt)),
    };
  }
  return webhooks;
}

/**
 * The route's handler, behind `express.raw` (every check runs over the exact bytes). A HubSpot batch is answered once
 * (202) after each of its events is handled on its own; duplicates, within a batch or across retries, find the
 * workflow their first delivery started (`already-started`).
 */
export function crmWebhookIntake(deps: {
  config: { crmIntake?: Config['crmIntake']; defaultServices: PlatformName[] };
  onboardings: Onboardings;
  metrics: ApiMetrics;
  logger: Logger;
}): RequestHandler {
  const { onboardings, metrics, logger } = deps;
  const webhooks = configuredWebhooks(deps.config.crmIntake);
  const plan = deps.config.defaultServices;

  const handle = async (intent: CrmIntent, receivedAt: Date): Promise<CrmEventOutcome> => {
    switch (intent.kind) {
      case 'ignore':
        return { eventId: intent.eventId, outcome: 'ignored', why: intent.why };
      case 'start': {
        const { onboardingId, status } = await onboardings.startForCrm(intent, plan, receivedAt);
        if (status === 'started') metrics.onboardingsStarted.inc();
        return { eventId: intent.eventId, outcome: status, onboardingId, workflowId: onboardingId };
      }
      case 'start-from-deal': {
        const { workflowId, status } = await onboardings.startFromCrmDeal(intent, plan, receivedAt);
        return { eventId: intent.eventId, outcome: status, workflowId };
      }
    }
  };

  return checksRequestWith({ bodyByParam: { param: 'source', bodies: CRM_DELIVERIES } }, async (req, res) => {
    const source = String(req.params.source);
    if (!isCrmSource(source)) {
      throw new HttpError(404, 'unknown_crm', `no webhook intake for ${JSON.stringify(source)}; there are /webhooks/crm (Standard Webhooks) and ${CRM_SOURCES.map((name) => `/webhooks/${name}`).join(', ')}`);
    }
    metrics.noteWebhook(res, { type: source });
    const label = CRM_SOURCE_LABELS[source];
    const webhook = webhooks[source];
    if (!webhook) {
      throw new HttpError(404, 'crm_not_configured', `the ${label} webhook is not configured on this engine; set ${CRM_INTAKE_VARIABLES[source].join(' and ')} (see .env.example)`);
    }
    const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const refusal = webhook.refusal(req, raw);
    if (refusal) throw new HttpError(401, 'invalid_signature', `${label} webhook rejected: ${refusal}`);
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new HttpError(400, 'malformed_json', 'request body is not valid JSON');
    }
    const receivedAt = new Date();
    const read = webhook.read(body, receivedAt);
    if ('problems' in read) throw new HttpError(400, 'invalid_payload', `the ${label} webhook payload is invalid`, read.problems);

    const results: CrmEventOutcome[] = [];
    // One at a time, in the delivery's order: a duplicate later in a batch meets the workflow the first one started.
    for (const intent of read.intents) results.push(await handle(intent, receivedAt));
    const outcomes = new Set(results.map((result) => result.outcome));
    metrics.noteWebhook(res, { outcome: outcomes.has('started') ? 'started' : outcomes.has('already-started') ? 'already-started' : 'ignored' });
    logger.info({ crm: source, results }, `${label} webhook: ${results.map((result) => `${result.eventId} ${result.outcome}`).join(', ')}`);
    res.status(202).json({ results });
  });
}
