import { readFileSync } from 'node:fs';
import type { Application, RequestHandler } from 'express';
import { z } from 'zod';
import {
  createDocument,
  type ZodOpenApiMediaTypeObject,
  type ZodOpenApiOperationObject,
  type ZodOpenApiParameters,
  type ZodOpenApiPathsObject,
  type ZodOpenApiResponseObject,
} from 'zod-openapi';
import { GHL_SIGNATURE_HEADER, goHighLevelContactCreate, goHighLevelOpportunityWon } from '../crm/gohighlevel/webhook.js';
import { HUBSPOT_SIGNATURE_HEADER, HUBSPOT_TIMESTAMP_HEADER, hubspotContactCreation, hubspotDealStageChange } from '../crm/hubspot/webhook.js';
import { pipedriveDealWon, pipedrivePersonCreated } from '../crm/pipedrive/webhook.js';
import { CRM_SOURCE_LABELS, CRM_SOURCES, type CrmSource } from '../crm/types.js';
import { SECRET_NAMES } from '../platforms/catalog.js';
import { CODEC_SESSION_COOKIE, CodecPayloads } from './codec-server.js';
import { apiReference } from './docs-page.js';
import {
  ClientOffboarding,
  ErrorBody,
  LastError,
  OffboardingView,
  OnboardingList,
  ResellerCheck,
  ResellerSites,
  ResellerSubmissions,
  SecretAuditList,
} from './ops-schemas.js';
import { requestSchemasOf, type RequestSchemas } from './request-schemas.js';

// --- The routes, as Express serves them ---------------------------------------------------------------------------

/** `/v1/onboardings/:onboardingId` (Express) to `/v1/onboardings/{onboardingId}` (OpenAPI). */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/[:*]([A-Za-z_$][\w$]*)/g, '{$1}');
}

/** The shape of router 2.x's layers that this module reads; Express's typings still describe router 1.x. */
interface RouterLayer {
  rawPath?: unknown;
  route?: { path: string; methods: Record<string, boolean>; stack: { handle: unknown }[] };
  handle: { stack?: RouterLayer[] };
}

export interface ServedRoute {
  method: string;
  /** The Express path pattern. */
  path: string;
  /** The zod schemas its handler checks the query and body against (`validated`, `checksRequestWith`), if any. */
  request?: RequestSchemas;
}

/** Every route an Express app serves, in matching order, with the schemas it validates its request with. */
export function expressRoutes(app: Application): ServedRoute[] {
  const routes: ServedRoute[] = [];
  const walk = (stack: RouterLayer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const request = layer.route.stack.map((handler) => requestSchemasOf(handler.handle)).find((schemas) => schemas !== undefined);
        for (const [method, enabled] of Object.entries(layer.route.methods)) {
          if (enabled) routes.push({ method: method === '_all' ? 'ALL' : method.toUpperCase(), path: prefix + layer.route.path, ...(request ? { request } : {}) });
        }
      } else if (layer.handle.stack) {
        walk(layer.handle.stack, prefix + (layer.rawPath === '/' ? '' : String(layer.rawPath)));
      }
    }
  };
  walk((app.router as unknown as { stack: RouterLayer[] }).stack, '');
  return routes;
}

// --- What the routes' schemas cannot say: summaries, descriptions, path and header parameters, answers ---------------

/** One operation's prose and answers; its query and body schemas are the ones its route validates with. */
type OperationText = Omit<ZodOpenApiOperationObject, 'requestParams' | 'requestBody'> & {
  operationId: string;
  requestParams?: Pick<ZodOpenApiParameters, 'path' | 'header'>;
  requestBody?: { required: boolean; description?: string; examples?: Record<string, { summary: string; value: unknown }> };
};

type Schema = NonNullable<ZodOpenApiMediaTypeObject['schema']>;
const json = (schema: Schema) => ({ 'application/json': { schema } });
/** An answer no zod schema shapes (its handler builds it from the workflow's own types), described in words. */
const object = (description: string) => ({ type: 'object' as const, description });
const answer = (description: string, schema?: Schema): ZodOpenApiResponseObject => (schema ? { description, content: json(schema) } : { description });
const failure = (description: string): ZodOpenApiResponseObject => answer(description, ErrorBody);
const retryAfter = { 'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer' as const } } };

// Every route that can reach Temporal answers 503 with Retry-After when it cannot.
const temporalUnavailable: ZodOpenApiResponseObject = { ...failure('Temporal is unreachable right now (`temporal_unavailable`); retry after `Retry-After` seconds.'), headers: retryAfter };
const unauthorized = failure('The `Authorization: Bearer <OPS_API_TOKEN>` header is missing or wrong (`unauthorized`).');
const unknownOnboarding = failure('No onboarding has this id (`onboarding_not_found`).');
const notRunning = failure('The onboarding is no longer running (`onboarding_not_running`), or the id is an offboarding\'s (`not_an_onboarding`).');
const netlifyUnavailable = (alsoTemporal: boolean): ZodOpenApiResponseObject => ({
  ...failure(
    'Netlify is not configured on this engine (`netlify_not_configured`: set `NETLIFY_RESELLER_TOKEN`, and `NETLIFY_API_URL` unless it is the public API), ' +
      'or its API could not be reached or refused the reseller token (`netlify_unavailable`: check `NETLIFY_API_URL` and `NETLIFY_RESELLER_TOKEN`). The token itself is never shown.' +
      (alsoTemporal ? ' Or Temporal is unreachable (`temporal_unavailable`).' : ''),
  ),
  headers: retryAfter,
});

const onboardingId = z
  .string()
  .meta({ description: '`onboarding-<clientId>`, as the intake answered it; `GET` also reads an offboarding, `offboarding-<clientId>`.', example: 'onboarding-crm-acme-plumbing-com' });
const secretName = z
  .enum(SECRET_NAMES as [string, ...string[]])
  .meta({ description: 'A secret some platform of the catalogue declares: `wordpress-api-key` (NextNet), `netlify-access-token` (Netlify).' });
const anOnboarding = { path: z.object({ onboardingId }) };
const anOnboardingSecret = { path: z.object({ onboardingId, secretName }) };

const OPS = { tags: ['ops'], security: [{ opsToken: [] }] };
const RESELLER = { tags: ['reseller'], security: [{ opsToken: [] }] };
const PUBLIC = { security: [] };

/** The examples' moment: a fixed one, so every build of the document is the same. */
const EXAMPLE_TIME = new Date('2026-01-15T09:30:00Z');
/** A Pipedrive delivery without the random `correlation_id` its helper gives it, for the same reason. */
const withoutRandomIds = <D extends { meta: { correlation_id?: string } }>({ meta: { correlation_id: _random, ...meta }, ...delivery }: D) => ({ ...delivery, meta });

/** How each CRM signs its deliveries, and a delivery of each event that can start an onboarding (built by the CRM's own helpers). */
const CRM_WEBHOOKS: Record<CrmSource, { scheme: string; signature: string; headers?: z.ZodObject; reads: string; examples: Record<string, { summary: string; value: unknown }> }> = {
  hubspot: {
    scheme: 'hubspotSignatureV3',
    signature:
      'HubSpot signature v3: `X-HubSpot-Signature-v3` is the base64 HMAC-SHA256, with the app\'s client secret (`HUBSPOT_CLIENT_SECRET`), of the method, ' +
      'the URL HubSpot called (`HUBSPOT_WEBHOOK_URL` when a proxy rewrites it), the raw body and `X-HubSpot-Request-Timestamp` (Unix milliseconds, at most 5 minutes off).',
    headers: z.object({
      [HUBSPOT_SIGNATURE_HEADER]: z.string().meta({ description: 'Signature v3 of the delivery.' }),
      [HUBSPOT_TIMESTAMP_HEADER]: z.string().meta({ description: 'Unix milliseconds when HubSpot sent it; more than 5 minutes off is refused.' }),
    }),
    reads:
      'A JSON array of events (a batch), each read on its own: `contact.creation`, and a deal\'s `dealstage` changed to a won stage (`HUBSPOT_WON_STAGE`), ' +
      'start an onboarding (`HUBSPOT_START_EVENTS`); a won deal\'s contact is looked up first. HubSpot sends ids only: the onboarding reads the contact\'s details.',
    examples: {
      contactCreation: { summary: 'A contact created', value: [hubspotContactCreation({ portalId: 1234567, contactId: 101, eventId: 1, occurredAt: EXAMPLE_TIME })] },
      dealWon: { summary: 'A deal moved to a won stage', value: [hubspotDealStageChange({ portalId: 1234567, dealId: 202, eventId: 2, occurredAt: EXAMPLE_TIME })] },
    },
  },
  pipedrive: {
    scheme: 'pipedriveBasicAuth',
    signature:
      'Pipedrive does not sign deliveries: the webhook is created with `http_auth_user` and `http_auth_password` (`PIPEDRIVE_WEBHOOK_USER`, ' +
      '`PIPEDRIVE_WEBHOOK_PASSWORD`), and every delivery carries them as HTTP Basic auth.',
    reads:
      'One event a delivery (webhooks v2): `{meta, data, previous}`. A deal whose status changed to `won` starts an onboarding, and so does a person ' +
      'created when `PIPEDRIVE_START_EVENTS` says so. Pipedrive bans a webhook that keeps failing, so only what can never succeed is refused; the rest is answered `ignored`.',
    examples: {
      dealWon: { summary: 'A deal won', value: withoutRandomIds(pipedriveDealWon({ companyId: 7654321, dealId: 303, personId: 404, deliveryId: 'd6f1c5de-0000-4000-8000-000000000303', at: EXAMPLE_TIME })) },
      personCreated: {
        summary: 'A person created',
        value: withoutRandomIds(pipedrivePersonCreated({ companyId: 7654321, personId: 404, name: 'Acme Plumbing', email: 'owner@acme-plumbing.com', deliveryId: 'd6f1c5de-0000-4000-8000-000000000404', at: EXAMPLE_TIME })),
      },
    },
  },
  gohighlevel: {
    scheme: 'goHighLevelSignature',
    signature:
      'HighLevel signs every delivery with Ed25519: `X-GHL-Signature` is the base64 signature of the raw body, checked with HighLevel\'s public key ' +
      '(`GHL_WEBHOOK_PUBLIC_KEY`). HighLevel signs every app\'s deliveries with that one key, so only the locations in `GHL_LOCATION_IDS` start onboardings.',
    headers: z.object({ [GHL_SIGNATURE_HEADER]: z.string().meta({ description: 'Ed25519 signature of the raw body, base64.' }) }),
    reads: 'One flat event a delivery: `ContactCreate`, and an `OpportunityStatusUpdate` to `won`, start an onboarding (`GHL_START_EVENTS`); any other is answered `ignored`.',
    examples: {
      contactCreate: {
        summary: 'A contact created',
        value: goHighLevelContactCreate({ locationId: 've9EPM428h8vShlRW1KT', contactId: 'nmFmQEsNgz6AVpgLVUJ0', email: 'owner@acme-plumbing.com', companyName: 'Acme Plumbing', website: 'https://acme-plumbing.com', webhookId: 'b7f0d9a4-0000-4000-8000-000000000505', at: EXAMPLE_TIME }),
      },
      opportunityWon: {
        summary: 'An opportunity won',
        value: goHighLevelOpportunityWon({ locationId: 've9EPM428h8vShlRW1KT', opportunityId: 'bCdEfGh1234567890', contactId: 'nmFmQEsNgz6AVpgLVUJ0', webhookId: 'b7f0d9a4-0000-4000-8000-000000000606', at: EXAMPLE_TIME }),
      },
    },
  },
};

/** POST /webhooks/hubspot, /pipedrive, /gohighlevel: one Express route, `/webhooks/:source`, whose body schema depends on the CRM. */
function crmWebhookOperation(source: CrmSource): OperationText {
  const label = CRM_SOURCE_LABELS[source];
  const webhook = CRM_WEBHOOKS[source];
  return {
    operationId: `receive${label.replace(/\W/g, '')}Webhook`,
    summary: `Receive ${label}'s webhook`,
    description: `${webhook.reads} ${webhook.signature} Redeliveries and duplicates start nothing new (\`already-started\`).`,
    tags: ['intake'],
    security: [{ [webhook.scheme]: [] }],
    ...(webhook.headers ? { requestParams: { header: webhook.headers } } : {}),
    requestBody: { required: true, description: 'At most 64 KiB.', examples: webhook.examples },
    responses: {
      '202': answer(
        '`{results: [{eventId, outcome, onboardingId, workflowId, why}]}`, one per event in the delivery\'s order: `outcome` `started` (the client\'s onboarding, or ' +
          'for a won deal the `resolveCrmDeal` workflow that finds its client first), `already-started` (the workflow the first delivery started) or `ignored` (with `why`).',
        object('What each event of the delivery did.'),
      ),
      '400': failure('Malformed JSON (`malformed_json`), or a payload this CRM never sends (`invalid_payload`, with `fields`).'),
      '401': failure(`The delivery is not ${label}'s (\`invalid_signature\`, saying which check failed). Nothing is started.`),
      '404': failure(`The ${label} webhook is not configured on this engine (\`crm_not_configured\`, naming the variables to set).`),
      '413': failure('The body is larger than 64 KiB (`payload_too_large`).'),
      '503': temporalUnavailable,
    },
  };
}

/** Keyed by `METHOD /openapi/path`, as `servedOperations` names the operation. */
const OPERATIONS: Record<string, OperationText> = {
  'POST /webhooks/crm': {
    operationId: 'receiveCrmEvent',
    summary: 'Receive a signed CRM event',
    description:
      'Standard Webhooks delivery from the CRM. `client.created` starts the client\'s onboarding (once per `clientId`: redeliveries answer ' +
      '`already-started` with the same ids), except for a client who came back: when the client\'s offboarding finished before the event\'s ' +
      '`timestamp`, a new run of the same onboarding id starts, linked to the one before (`restarted`). `client.churned` starts the offboarding ' +
      'after a grace period; `client.reactivated` within the grace period keeps the domain and resumes a cancelled onboarding. Domains are ' +
      'normalised (lower case, no trailing dot, IDN to punycode).',
    tags: ['intake'],
    security: [{ standardWebhooks: [] }],
    requestParams: {
      header: z.object({
        'webhook-id': z.string().meta({ description: 'The delivery\'s unique id (the same on redelivery).' }),
        'webhook-timestamp': z.string().meta({ description: 'Unix seconds when it was signed; more than 5 minutes off is refused.' }),
        'webhook-signature': z.string().meta({ description: 'Space-separated `v1,<base64 HMAC-SHA256>` signatures of `<webhook-id>.<webhook-timestamp>.<body>`.' }),
      }),
    },
    requestBody: { required: true, description: 'At most 64 KiB.' },
    responses: {
      '202': answer(
        'Accepted. For `client.created`: `{onboardingId, workflowId, status}` with `status` `started` (a new onboarding workflow), `already-started` ' +
          '(a duplicate delivery, or the client\'s onboarding or offboarding is still open; no second workflow) or `restarted` (a client offboarded ' +
          'before the event\'s `timestamp` signed again: a new run of the same id, with `previousRun: {runId, offboardedAt}`, the run before). ' +
          'For `client.churned` and `client.reactivated`: `{offboardingId, onboardingId, workflowId, status}` ' +
          'with `status` one of `started`, `already-started`, `already-offboarded`, `superseded-by-reactivation`, `nothing-to-offboard`, ' +
          '`removal-cancelled`, `removal-cancelled-onboarding-resumed` or `nothing-to-reactivate`.',
        object('The ids of the workflow the event started or found, and what happened.'),
      ),
      '400': failure('Malformed JSON (`malformed_json`), or a missing or invalid field or an unknown `type` (`invalid_payload`, with `fields` naming each one).'),
      '401': failure('The signature headers are missing, no signature matches, or the timestamp is more than 5 minutes off (`invalid_signature`). Nothing is started.'),
      '409': failure('A `client.reactivated` for a client whose domain was already removed (`already_offboarded`).'),
      '413': failure('The body is larger than 64 KiB (`payload_too_large`).'),
      '503': temporalUnavailable,
    },
  },
  ...Object.fromEntries(CRM_SOURCES.map((source) => [`POST /webhooks/${source}`, crmWebhookOperation(source)])),
  'GET /healthz': { operationId: 'health', summary: 'The process is up', tags: ['health'], ...PUBLIC, responses: { '200': answer('`{"status": "ok"}`', object('Always `{"status": "ok"}`.')) } },
  'GET /readyz': {
    operationId: 'readiness',
    summary: 'Temporal is reachable',
    tags: ['health'],
    ...PUBLIC,
    responses: {
      '200': answer('`{"status": "ready", "temporal": "reachable"}`', object('Readiness.')),
      '503': { ...answer('`{"status": "not-ready", "temporal": "unreachable"}`', object('Readiness.')), headers: retryAfter },
    },
  },
  'GET /v1/onboardings': {
    operationId: 'listOnboardings',
    summary: 'List onboardings and offboardings, newest first',
    description:
      'From Temporal\'s visibility store, one row per onboarding or offboarding: its current run, never a run that continued as new or one a later ' +
      'run superseded (a retry of a closed run, a returning client). `pageSize` rows a page, whatever the visibility pages hold; page with ' +
      '`pageToken` from `nextPageToken` (it may resume in the middle of a visibility page) and the same filters. Each row has its own `id` ' +
      '(`offboarding-…` for an offboarding), its `kind` and a one-line `reason`. The filters are the Temporal UI\'s: `status=failed` is ' +
      '`OnboardingStatus="failed"` (failures awaiting action run on; closed ones were given up), `needsAttention=true` is ' +
      '`NeedsAttention=true AND ExecutionStatus!="ContinuedAsNew"`.',
    ...OPS,
    responses: { '200': answer('A page of onboardings.', OnboardingList), '400': failure('A query parameter is invalid (`invalid_query`).'), '401': unauthorized, '503': temporalUnavailable },
  },
  'GET /v1/onboardings/{onboardingId}': {
    operationId: 'getOnboarding',
    summary: 'One onboarding\'s (or offboarding\'s) status',
    description:
      'An onboarding: its status as the workflow reports it, the last error of a call that keeps failing, and the client\'s offboarding. ' +
      'An offboarding (`offboarding-<clientId>`): churned at, removal due (`removeAfter`), what became of the domain and the site, whether and ' +
      'when the secrets were revoked, and any reactivation.',
    ...OPS,
    requestParams: anOnboarding,
    responses: {
      '200': answer('Its status; `kind` says which.', { oneOf: [{ $ref: '#/components/schemas/OnboardingStatus' }, { $ref: '#/components/schemas/OffboardingView' }] }),
      '401': unauthorized,
      '404': unknownOnboarding,
      '503': temporalUnavailable,
    },
  },
  'POST /v1/onboardings/{onboardingId}/retry': {
    operationId: 'retryOnboarding',
    summary: 'Retry from the step that failed, with optional corrections',
    description:
      'A running onboarding that needs attention (a failure waiting for ops is one) is retried in place; one that closed (given up, failed ' +
      'before failures stayed open, cancelled, or completed with a lost WordPress key) gets a new run carrying what was already done. A ' +
      'cancelled one only with `resumeCancelled: true`.',
    ...OPS,
    requestParams: anOnboarding,
    requestBody: { required: false },
    responses: {
      '202': answer('`{onboardingId, status: "retrying", resumesAt, changedFields}`: the step it resumes at and the client fields that changed.', object('The retry that was started.')),
      '400': failure('The retry request is invalid (`invalid_retry`).'),
      '401': unauthorized,
      '404': unknownOnboarding,
      '409': failure(
        'Nothing to retry: the onboarding is running normally, completed, already being retried, or its client churned (`not_retryable`); it was ' +
          'cancelled and the request lacks `resumeCancelled: true` (`onboarding_cancelled`); or the id is an offboarding\'s (`not_an_onboarding`).',
      ),
      '503': temporalUnavailable,
    },
  },
  'POST /v1/onboardings/{onboardingId}/cancel': {
    operationId: 'cancelOnboarding',
    summary: 'Cancel a running onboarding',
    description: 'Also a failed one waiting for ops. Who asked (the token holder and `X-Ops-Actor`) and `reason` are recorded in its `changes` first.',
    ...OPS,
    requestParams: anOnboarding,
    requestBody: { required: false },
    responses: {
      '202': answer('`{onboardingId, status: "cancelling"}`', object('The cancellation that was requested.')),
      '400': failure('The cancel request is invalid (`invalid_cancel`).'),
      '401': unauthorized,
      '404': unknownOnboarding,
      '409': notRunning,
      '503': temporalUnavailable,
    },
  },
  'POST /v1/onboardings/{onboardingId}/dns-check': {
    operationId: 'checkDnsNow',
    summary: 'Check the client\'s DNS now instead of at the next poll',
    ...OPS,
    requestParams: anOnboarding,
    responses: { '202': answer('`{onboardingId, signal: "checkDnsNow", status: "sent"}`', object('The signal that was sent.')), '401': unauthorized, '404': unknownOnboarding, '409': notRunning, '503': temporalUnavailable },
  },
  'GET /v1/onboardings/{onboardingId}/secrets/{secretName}': {
    operationId: 'revealSecret',
    summary: 'Reveal one of the client\'s platform secrets (audited)',
    description:
      'A secret a platform handed over for the client, by name: the NextNet WordPress API key (`wordpress-api-key`) or the Netlify access token of ' +
      'the client\'s user (`netlify-access-token`). Every read is an audit log line (who, what, when; never the value). Answered with `Cache-Control: no-store`.',
    ...OPS,
    requestParams: anOnboardingSecret,
    responses: {
      '200': answer('`{"value": "..."}`', object('The secret.')),
      '401': unauthorized,
      '404': failure('No such secret is stored for this onboarding (`secret_not_found`), or no platform declares a secret of that name (`unknown_secret`).'),
      '410': failure('The secret was revoked when the client was offboarded (`secret_revoked`).'),
    },
  },
  'PUT /v1/onboardings/{onboardingId}/secrets/{secretName}': {
    operationId: 'storeSecret',
    summary: 'Store a secret by hand, e.g. a WordPress API key regenerated in NextNet\'s dashboard',
    description: 'For an onboarding that needs attention because a secret was lost: store the new one here, then retry. Every write is an audit log line (never the value).',
    ...OPS,
    requestParams: anOnboardingSecret,
    requestBody: { required: true },
    responses: {
      '200': answer('`{onboardingId, secret, outcome}` with `outcome` `replaced` or `unchanged`.', object('What the vault did.')),
      '201': answer('`{onboardingId, secret, outcome: "created"}`', object('What the vault did.')),
      '400': failure('The value is invalid (`invalid_secret`).'),
      '401': unauthorized,
      '404': failure('No onboarding has this id (`onboarding_not_found`), or no platform declares a secret of that name (`unknown_secret`).'),
      '409': failure('The id is an offboarding\'s (`not_an_onboarding`): secrets belong to the onboarding.'),
      '503': temporalUnavailable,
    },
  },
  'GET /v1/audit': {
    operationId: 'listSecretAudit',
    summary: 'The vault\'s audit trail: who read, wrote or revoked which secret, when, and how it ended',
    description:
      'The `secret_audit` table of the PostgreSQL vault, oldest first: every read, write, revocation and import of a secret, with its actor, ' +
      'purpose, outcome and the process that acted; never a value. With `since`, the first `limit` entries at or after then; without it, the latest `limit`. ' +
      'Answered with `Cache-Control: no-store`.',
    ...OPS,
    responses: {
      '200': answer('`{items}`: the entries, oldest first.', SecretAuditList),
      '400': failure('A query parameter is invalid (`invalid_query`, naming it): `since` neither an ISO 8601 date or date-time nor a span such as `24h`, `limit` not from 1 to 1000.'),
      '401': unauthorized,
      '404': failure(
        'This engine keeps its secrets in the file vault, which keeps no audit trail (`audit_unavailable`): the trail is kept in PostgreSQL (`DATABASE_URL`, or the one `npm start` embeds).',
      ),
    },
  },
  'GET /v1/reseller/sites': {
    operationId: 'listResellerSites',
    summary: 'Every site of the Netlify reseller account, with the onboarding it belongs to, and the orphans',
    description:
      'Lists the reseller account\'s sites (every page of Netlify\'s `GET /sites` with the reseller token) and matches each to the onboarding ' +
      'whose `OnboardingDomain` is the site\'s custom domain or one of its aliases (without `www.`), found with one visibility query over all ' +
      'onboardings. `orphans.sitesWithoutOnboarding`: sites no onboarding knows. `orphans.onboardingsWithoutSite`: running or completed ' +
      'onboardings whose plan includes Netlify and which made a site Netlify no longer lists; only onboardings whose domain has no site are ' +
      'asked for their status. Those whose status could not be read are in `orphans.unchecked`.',
    ...RESELLER,
    responses: { '200': answer('The sites and the orphans.', ResellerSites), '401': unauthorized, '503': netlifyUnavailable(true) },
  },
  'GET /v1/reseller/submissions': {
    operationId: 'listResellerSubmissions',
    summary: 'The latest form submissions across the reseller account, each with its client',
    description:
      'Netlify\'s reseller-wide `GET /submissions`, newest first, back to `since`. Each submission names the client it belongs to: the onboarding ' +
      'whose domain is the host of the submission\'s `site_url` (without `www.`).',
    ...RESELLER,
    responses: {
      '200': answer('The submissions since then.', ResellerSubmissions),
      '400': failure('`since` is neither an ISO 8601 date or date-time nor a span such as `24h` (`invalid_query`).'),
      '401': unauthorized,
      '503': netlifyUnavailable(true),
    },
  },
  'GET /v1/reseller/check': {
    operationId: 'checkResellerSettings',
    summary: 'Check the reseller account settings Netlify cannot check itself',
    description:
      'Looks, for real, at what `NETLIFY_PREVIEW_DOMAIN`, `NETLIFY_RESELLER_NAME`, `NETLIFY_NOTIFICATION_DOMAIN` and `RESELLER_PAGES_DIR` point at: ' +
      'the preview domain\'s wildcard CNAME to `<reseller-name>.r.netlify.com`, the notification sender domain\'s Mandrill SPF include and DKIM key, ' +
      'and the custom 404, form success and password pages. Always `200`; `ok` is false when any check fails, and each failing item says what to fix.',
    ...RESELLER,
    responses: { '200': answer('The checklist.', ResellerCheck), '401': unauthorized },
  },
  'GET /metrics': {
    operationId: 'metrics',
    summary: 'Prometheus metrics of this API process',
    description: '`webhooks_received_total{type, outcome}`, `onboardings_started_total`, `http_request_duration_seconds{method, route, status}` and the default process metrics.',
    tags: ['health'],
    ...PUBLIC,
    responses: { '200': { description: 'Prometheus text exposition format.', content: { 'text/plain': { schema: { type: 'string' } } } } },
  },
  'GET /openapi.json': { operationId: 'openApiDocument', summary: 'This document', tags: ['docs'], ...PUBLIC, responses: { '200': answer('The OpenAPI 3.1 document.', object('OpenAPI 3.1.')) } },
  'GET /docs': {
    operationId: 'apiReference',
    summary: 'This document as an API reference page, where each endpoint can be tried out',
    description: 'Swagger UI, served by this API from its own copy (`/docs/assets/`); for the `/v1` endpoints, **Authorize** with the ops token first.',
    tags: ['docs'],
    ...PUBLIC,
    responses: { '200': { description: 'An HTML page.', content: { 'text/html': { schema: { type: 'string' } } } } },
  },
  'POST /codec/decode': codecOperation('decode'),
  'POST /codec/encode': codecOperation('encode'),
  'GET /codec/login': {
    operationId: 'codecLoginPage',
    summary: 'The page where ops paste the ops token once, so the Temporal UI can decrypt in this browser',
    description: 'Says whether this browser may decrypt (and until when) and how to point the Temporal UI\'s codec setting at this server.',
    tags: ['codec'],
    ...PUBLIC,
    responses: { '200': { description: 'An HTML page.', content: { 'text/html': { schema: { type: 'string' } } } } },
  },
  'POST /codec/login': {
    operationId: 'codecLogin',
    summary: 'Log this browser in to the codec server with the ops token',
    description:
      `The page's form, \`token=<OPS_API_TOKEN>\` (form-encoded). With the ops token: the HttpOnly cookie \`${CODEC_SESSION_COOKIE}\` for \`/codec\`, valid ` +
      '12 hours (SameSite=None and Secure over HTTPS, SameSite=Lax over plain HTTP), and back to the page; with another token: back to the page, which says so.',
    tags: ['codec'],
    ...PUBLIC,
    responses: {
      '303': { description: 'Back to `GET /codec/login` (`?failed=1` when the token was wrong).' },
      '403': failure('Posted by a page of another origin (`origin_not_allowed`).'),
    },
  },
};

/** POST /codec/decode and /codec/encode: the Temporal codec server protocol. */
function codecOperation(direction: 'decode' | 'encode'): OperationText {
  return {
    operationId: `${direction}Payloads`,
    summary: direction === 'decode' ? 'Decrypt Temporal payloads for the Web UI or the temporal CLI' : 'Encrypt payloads as the engine does',
    description:
      'The Temporal codec server protocol: the body and the answer are `{"payloads": [{"metadata": {"<key>": "<base64>"}, "data": "<base64>"}]}` (proto3 JSON). ' +
      (direction === 'decode'
        ? 'Payloads the engine encrypted (`encoding` `binary/encrypted`, `encryption-key-id` naming one of `PAYLOAD_KEYS`) come back as they were; others pass unchanged. '
        : 'Every payload comes back encrypted with the current key, the first of `PAYLOAD_KEYS`. ') +
      'Takes the ops token as a bearer token, or the cookie of `POST /codec/login`. Browsers may call it from the Temporal UI\'s origin (`TEMPORAL_UI_URL`) only, with credentials (CORS).',
    tags: ['codec'],
    security: [{ opsToken: [] }, { codecSession: [] }],
    responses: {
      '200': answer(`The payloads, ${direction}d, in the same order.`, CodecPayloads),
      '400': failure('The body is not the codec protocol\'s shape (`invalid_payloads`, with `fields`), or not JSON (`malformed_json`).'),
      '401': failure('Neither the ops token (`Authorization: Bearer <OPS_API_TOKEN>`) nor a valid login cookie (`unauthorized`); the message says where to log in.'),
      '403': failure('Sent by a browser page of another origin than the Temporal UI\'s (`origin_not_allowed`).'),
      ...(direction === 'decode'
        ? { '422': failure('A payload names a key id that `PAYLOAD_KEYS` lacks, or does not open with that key (`undecodable_payload`); the message names the key id, never a key.') }
        : {}),
    },
  };
}

/** Every route OPERATIONS describes, as `METHOD /openapi/path`: what test/openapi.test.ts holds against the routes served. */
export function describedRoutes(): string[] {
  return Object.keys(OPERATIONS);
}

/** A route served but missing from OPERATIONS: in the document all the same, saying so (test/openapi.test.ts fails on it). */
const undescribed = (method: string, path: string): OperationText => ({
  operationId: `undescribed ${method} ${path}`,
  summary: 'Not described yet',
  description: `Served, but api/openapi.ts has no entry \`${method} ${path}\` in OPERATIONS.`,
  responses: { default: { description: 'Not described yet.' } },
});

/** Named in `components.schemas`, so every use is a `$ref`; the request schemas stay inline, as each route validates them. */
const COMPONENT_SCHEMAS = {
  OnboardingList,
  LastError,
  ClientOffboarding,
  OffboardingView,
  ResellerSites,
  ResellerSubmissions,
  ResellerCheck,
  SecretAuditList,
  ErrorBody,
  // No zod schema shapes this answer: it is the workflow's own `OnboardingStatus` (workflows/definitions.ts),
  // passed through as the getStatus query returns it, so it is described rather than copied here.
  OnboardingStatus: object(
    'What the `getStatus` query of the onboarding workflow returns (`OnboardingStatus` in workflows/definitions.ts), with `kind: "onboarding"`, ' +
      'Temporal\'s `workflowId`, `runId` and `workflowStatus`: the phase (`status`), `needsAttention` (reason, since when and items, each with its action, or null), ' +
      '`failure` (or null) and `closesAt` (a failure waits for ops until then, then closes as failed; null otherwise), the `client` details with corrections, ' +
      '`steps` with their state and times, the NextNet `registration` (never the WordPress key, only its vault reference), Netlify\'s user, site and certificate, ' +
      '`dns` progress, `signupEmail`, `changes` (retries with the fields they corrected, and cancellations, each with who and why: `kind` `retry` or `cancel`), ' +
      '`startedAt`, `updatedAt`, `runs`, and `previousRun` (`{runId, offboardedAt}`: the client\'s onboarding before it churned and came back, or null). ' +
      'Added by the API: `lastError` (a `LastError`: the most recent failure of a call Temporal keeps retrying, for a running onboarding; or null), ' +
      '`lastErrors` (every pending activity that failed at least once, most recent first) and `offboarding` (a `ClientOffboarding`: the client\'s ' +
      'offboarding when it churned, or null).',
  ),
};

// --- The document ----------------------------------------------------------------------------------------------------

const packageVersion = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export type OpenApiDocument = ReturnType<typeof createDocument>;

/** One operation of the document: a route `app` serves, or one per value of a route whose body depends on a path parameter. */
export interface ServedOperation {
  method: string;
  /** The OpenAPI path: `/v1/onboardings/{onboardingId}`, `/webhooks/hubspot`. */
  path: string;
  query?: z.ZodType;
  body?: z.ZodType;
}

/** What the document describes of `app`: `POST /webhooks/:source` becomes `POST /webhooks/hubspot`, `/pipedrive` and `/gohighlevel`. */
export function servedOperations(app: Application): ServedOperation[] {
  return expressRoutes(app)
    .filter((route) => route.method !== 'ALL')
    .flatMap(({ method, path, request }): ServedOperation[] => {
      const { query, body, bodyByParam } = request ?? {};
      if (!bodyByParam) return [{ method, path: openApiPath(path), query, body }];
      return Object.entries(bodyByParam.bodies).map(([value, valueBody]) => ({ method, path: openApiPath(path).replace(`{${bodyByParam.param}}`, value), query, body: valueBody }));
    });
}

/**
 * The OpenAPI 3.1 document of the routes `app` serves: each operation's query and body are the zod schemas its route
 * validates with (`validated`, `checksRequestWith`); its prose and answers come from OPERATIONS.
 */
export function openApiDocument(app: Application): OpenApiDocument {
  const paths: ZodOpenApiPathsObject = {};
  for (const { method, path, query, body } of servedOperations(app)) {
    const { requestParams, requestBody, ...text } = OPERATIONS[`${method} ${path}`] ?? undescribed(method, path);
    (paths[path] ??= {})[method.toLowerCase() as 'get'] = {
      ...text,
      ...(requestParams || query ? { requestParams: { ...requestParams, ...(query ? { query: query as z.ZodObject } : {}) } } : {}),
      ...(body
        ? {
            requestBody: {
              required: requestBody?.required ?? true,
              ...(requestBody?.description ? { description: requestBody.description } : {}),
              content: { 'application/json': { schema: body, ...(requestBody?.examples ? { examples: requestBody.examples } : {}) } },
            },
          }
        : {}),
    };
  }
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Client onboarding engine',
      version: packageVersion,
      description:
        'A signed CRM webhook starts a durable Temporal onboarding: the client\'s domain is registered with NextNet.ai, the one-time WordPress key is ' +
        'sealed in the vault, DNS verification is awaited, and the client is emailed the signup link. The ops endpoints under /v1 watch and steer it.',
    },
    tags: [
      { name: 'intake', description: 'The CRM webhooks: Standard Webhooks from any CRM, and HubSpot\'s, Pipedrive\'s and HighLevel\'s own.' },
      { name: 'ops', description: 'Watch and steer onboardings; every call needs the ops token.' },
      { name: 'reseller', description: 'The Netlify reseller account as a whole: its sites and their onboardings, form submissions, settings; every call needs the ops token.' },
      { name: 'codec', description: 'The codec server of the Temporal Web UI: client data is encrypted in Temporal; holders of the ops token read it here.' },
      { name: 'health', description: 'Liveness, readiness and metrics; no token.' },
      { name: 'docs', description: 'This document; no token.' },
    ],
    paths,
    components: {
      schemas: COMPONENT_SCHEMAS,
      securitySchemes: {
        opsToken: { type: 'http', scheme: 'bearer', description: '`Authorization: Bearer <OPS_API_TOKEN>`; every endpoint under /v1, and the codec server.' },
        codecSession: { type: 'apiKey', in: 'cookie', name: CODEC_SESSION_COOKIE, description: 'The cookie `POST /codec/login` hands out for the ops token: the codec server only, for 12 hours.' },
        hubspotSignatureV3: { type: 'apiKey', in: 'header', name: HUBSPOT_SIGNATURE_HEADER, description: CRM_WEBHOOKS.hubspot.signature },
        pipedriveBasicAuth: { type: 'http', scheme: 'basic', description: CRM_WEBHOOKS.pipedrive.signature },
        goHighLevelSignature: { type: 'apiKey', in: 'header', name: GHL_SIGNATURE_HEADER, description: CRM_WEBHOOKS.gohighlevel.signature },
        standardWebhooks: {
          type: 'apiKey',
          in: 'header',
          name: 'webhook-signature',
          description:
            'Standard Webhooks (https://www.standardwebhooks.com/) signed with `CRM_WEBHOOK_SECRET` (`whsec_<base64>`): the headers `webhook-id`, ' +
            '`webhook-timestamp` (Unix seconds, at most 5 minutes off) and `webhook-signature` (`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<raw body>">`, ' +
            'several separated by spaces during a secret rotation). The raw body is verified before it is parsed.',
        },
      },
    },
  });
}

/** GET /openapi.json and the API reference at /docs; the document is built at the first request, when every route of `app` is there. */
export function apiDocs(app: Application): { openApiJson: RequestHandler; page: RequestHandler; assets: RequestHandler } {
  let document: OpenApiDocument | undefined;
  return {
    openApiJson: (_req, res) => {
      res.json((document ??= openApiDocument(app)));
    },
    ...apiReference(),
  };
}
