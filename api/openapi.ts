import { readFileSync } from 'node:fs';
import type { Application, RequestHandler } from 'express';
import { z } from 'zod';
import { CrmEvent } from './crm-events.js';
import { SECRET_NAMES } from '../platforms/catalog.js';
import {
  AuditQuery,
  CancelRequest,
  ClientOffboarding,
  ErrorBody,
  LastError,
  ListOnboardingsQuery,
  OffboardingView,
  OnboardingList,
  ResellerCheck,
  ResellerSites,
  ResellerSubmissions,
  ResellerSubmissionsQuery,
  RetryRequest,
  SecretAuditList,
  StoreSecretRequest,
} from './ops-schemas.js';

type JsonSchema = Record<string, unknown>;

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  description?: string;
  schema: JsonSchema;
}

interface MediaContent {
  [mediaType: string]: { schema: JsonSchema };
}

interface ResponseObject {
  description: string;
  headers?: Record<string, { description: string; schema: JsonSchema }>;
  content?: MediaContent;
}

interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  security?: Record<string, string[]>[];
  parameters?: Parameter[];
  requestBody?: { required: boolean; description?: string; content: MediaContent };
  responses: Record<string, ResponseObject>;
}

type HttpMethod = 'get' | 'put' | 'post' | 'delete' | 'patch';

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  tags: { name: string; description: string }[];
  paths: Record<string, Partial<Record<HttpMethod, Operation>>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, JsonSchema> };
}

/**
 * The JSON Schema of a zod schema the routes validate with. Request bodies are described as the client sends them
 * (`input`: before trims, lower-casing and defaults); responses as the API writes them (`output`).
 */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  // The OpenAPI 3.1 document sets the dialect once; a `$schema` in every component would only repeat it.
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io, target: 'draft-2020-12' }) as JsonSchema;
  return json;
}

const schemaRef = (name: keyof typeof componentSchemas) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: JsonSchema): MediaContent => ({ 'application/json': { schema } });
const object = (description: string): JsonSchema => ({ type: 'object', description });
const answer = (description: string, schema?: JsonSchema): ResponseObject => (schema ? { description, content: json(schema) } : { description });
const failure = (description: string): ResponseObject => answer(description, schemaRef('ErrorBody'));
const retryAfter = { 'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer' } } };

// Every route that can reach Temporal answers 503 with Retry-After when it cannot.
const temporalUnavailable: ResponseObject = { ...failure('Temporal is unreachable right now (`temporal_unavailable`); retry after `Retry-After` seconds.'), headers: retryAfter };
const unauthorized = failure('The `Authorization: Bearer <OPS_API_TOKEN>` header is missing or wrong (`unauthorized`).');
const unknownOnboarding = failure('No onboarding has this id (`onboarding_not_found`).');
const notRunning = failure('The onboarding is no longer running (`onboarding_not_running`), or the id is an offboarding\'s (`not_an_onboarding`).');
const netlifyUnavailable: ResponseObject = {
  ...failure(
    'Netlify is not configured on this engine (`netlify_not_configured`: set `NETLIFY_RESELLER_TOKEN`, and `NETLIFY_API_URL` unless it is the public API), ' +
      'or its API could not be reached or refused the reseller token (`netlify_unavailable`: check `NETLIFY_API_URL` and `NETLIFY_RESELLER_TOKEN`). The token itself is never shown.',
  ),
  headers: retryAfter,
};

const componentSchemas = {
  CrmEvent: () => jsonSchemaOf(CrmEvent, 'input'),
  RetryRequest: () => jsonSchemaOf(RetryRequest, 'input'),
  CancelRequest: () => jsonSchemaOf(CancelRequest, 'input'),
  StoreSecretRequest: () => jsonSchemaOf(StoreSecretRequest, 'input'),
  OnboardingList: () => jsonSchemaOf(OnboardingList, 'output'),
  LastError: () => jsonSchemaOf(LastError, 'output'),
  ClientOffboarding: () => jsonSchemaOf(ClientOffboarding, 'output'),
  OffboardingView: () => jsonSchemaOf(OffboardingView, 'output'),
  ResellerSites: () => jsonSchemaOf(ResellerSites, 'output'),
  ResellerSubmissions: () => jsonSchemaOf(ResellerSubmissions, 'output'),
  ResellerCheck: () => jsonSchemaOf(ResellerCheck, 'output'),
  SecretAuditList: () => jsonSchemaOf(SecretAuditList, 'output'),
  ErrorBody: () => jsonSchemaOf(ErrorBody, 'output'),
  // No zod schema shapes this answer: it is the workflow's own `OnboardingStatus` (workflows/definitions.ts),
  // passed through as the getStatus query returns it, so it is described rather than copied here.
  OnboardingStatus: () =>
    object(
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

const secretName: Parameter = {
  name: 'secretName',
  in: 'path',
  required: true,
  description: 'A secret some platform of the catalogue declares: `wordpress-api-key` (NextNet), `netlify-access-token` (Netlify).',
  schema: { type: 'string', enum: [...SECRET_NAMES] },
};

const onboardingId: Parameter = {
  name: 'onboardingId',
  in: 'path',
  required: true,
  description: '`onboarding-<clientId>`, as the intake answered it; `GET` also reads an offboarding, `offboarding-<clientId>`.',
  schema: { type: 'string' },
};

/** A query schema's fields (ListOnboardingsQuery, ResellerSubmissionsQuery), one query parameter each, with the schema the route checks them against. */
function queryParameters(schema: z.ZodObject): Parameter[] {
  const json = jsonSchemaOf(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: json.required?.includes(name) ?? false,
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
    schema: property,
  }));
}

const OPS = { tags: ['ops'], security: [{ opsToken: [] }] };
const RESELLER = { tags: ['reseller'], security: [{ opsToken: [] }] };
const PUBLIC = { security: [] };

function paths(): OpenApiDocument['paths'] {
  return {
    '/webhooks/crm': {
      post: {
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
        parameters: (['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const).map((name) => ({
          name,
          in: 'header' as const,
          required: true,
          description: {
            'webhook-id': 'The delivery\'s unique id (the same on redelivery).',
            'webhook-timestamp': 'Unix seconds when it was signed; more than 5 minutes off is refused.',
            'webhook-signature': 'Space-separated `v1,<base64 HMAC-SHA256>` signatures of `<webhook-id>.<webhook-timestamp>.<body>`.',
          }[name],
          schema: { type: 'string' },
        })),
        requestBody: { required: true, description: 'At most 64 KiB.', content: json(schemaRef('CrmEvent')) },
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
    },
    '/healthz': {
      get: { operationId: 'health', summary: 'The process is up', tags: ['health'], ...PUBLIC, responses: { '200': answer('`{"status": "ok"}`', object('Always `{"status": "ok"}`.')) } },
    },
    '/readyz': {
      get: {
        operationId: 'readiness',
        summary: 'Temporal is reachable',
        tags: ['health'],
        ...PUBLIC,
        responses: {
          '200': answer('`{"status": "ready", "temporal": "reachable"}`', object('Readiness.')),
          '503': { ...answer('`{"status": "not-ready", "temporal": "unreachable"}`', object('Readiness.')), headers: retryAfter },
        },
      },
    },
    '/v1/onboardings': {
      get: {
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
        parameters: queryParameters(ListOnboardingsQuery),
        responses: { '200': answer('A page of onboardings.', schemaRef('OnboardingList')), '400': failure('A query parameter is invalid (`invalid_query`).'), '401': unauthorized, '503': temporalUnavailable },
      },
    },
    '/v1/onboardings/{onboardingId}': {
      get: {
        operationId: 'getOnboarding',
        summary: 'One onboarding\'s (or offboarding\'s) status',
        description:
          'An onboarding: its status as the workflow reports it, the last error of a call that keeps failing, and the client\'s offboarding. ' +
          'An offboarding (`offboarding-<clientId>`): churned at, removal due (`removeAfter`), what became of the domain and the site, whether and ' +
          'when the secrets were revoked, and any reactivation.',
        ...OPS,
        parameters: [onboardingId],
        responses: {
          '200': answer('Its status; `kind` says which.', { oneOf: [schemaRef('OnboardingStatus'), schemaRef('OffboardingView')] }),
          '401': unauthorized,
          '404': unknownOnboarding,
          '503': temporalUnavailable,
        },
      },
    },
    '/v1/onboardings/{onboardingId}/retry': {
      post: {
        operationId: 'retryOnboarding',
        summary: 'Retry from the step that failed, with optional corrections',
        description:
          'A running onboarding that needs attention (a failure waiting for ops is one) is retried in place; one that closed (given up, failed ' +
          'before failures stayed open, cancelled, or completed with a lost WordPress key) gets a new run carrying what was already done. A ' +
          'cancelled one only with `resumeCancelled: true`.',
        ...OPS,
        parameters: [onboardingId],
        requestBody: { required: false, content: json(schemaRef('RetryRequest')) },
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
    },
    '/v1/onboardings/{onboardingId}/cancel': {
      post: {
        operationId: 'cancelOnboarding',
        summary: 'Cancel a running onboarding',
        description: 'Also a failed one waiting for ops. Who asked (the token holder and `X-Ops-Actor`) and `reason` are recorded in its `changes` first.',
        ...OPS,
        parameters: [onboardingId],
        requestBody: { required: false, content: json(schemaRef('CancelRequest')) },
        responses: {
          '202': answer('`{onboardingId, status: "cancelling"}`', object('The cancellation that was requested.')),
          '400': failure('The cancel request is invalid (`invalid_cancel`).'),
          '401': unauthorized,
          '404': unknownOnboarding,
          '409': notRunning,
          '503': temporalUnavailable,
        },
      },
    },
    '/v1/onboardings/{onboardingId}/dns-check': {
      post: {
        operationId: 'checkDnsNow',
        summary: 'Check the client\'s DNS now instead of at the next poll',
        ...OPS,
        parameters: [onboardingId],
        responses: { '202': answer('`{onboardingId, signal: "checkDnsNow", status: "sent"}`', object('The signal that was sent.')), '401': unauthorized, '404': unknownOnboarding, '409': notRunning, '503': temporalUnavailable },
      },
    },
    '/v1/onboardings/{onboardingId}/secrets/{secretName}': {
      get: {
        operationId: 'revealSecret',
        summary: 'Reveal one of the client\'s platform secrets (audited)',
        description:
          'A secret a platform handed over for the client, by name: the NextNet WordPress API key (`wordpress-api-key`) or the Netlify access token of ' +
          'the client\'s user (`netlify-access-token`). Every read is an audit log line (who, what, when; never the value). Answered with `Cache-Control: no-store`.',
        ...OPS,
        parameters: [onboardingId, secretName],
        responses: {
          '200': answer('`{"value": "..."}`', object('The secret.')),
          '401': unauthorized,
          '404': failure('No such secret is stored for this onboarding (`secret_not_found`), or no platform declares a secret of that name (`unknown_secret`).'),
          '410': failure('The secret was revoked when the client was offboarded (`secret_revoked`).'),
        },
      },
      put: {
        operationId: 'storeSecret',
        summary: 'Store a secret by hand, e.g. a WordPress API key regenerated in NextNet\'s dashboard',
        description: 'For an onboarding that needs attention because a secret was lost: store the new one here, then retry. Every write is an audit log line (never the value).',
        ...OPS,
        parameters: [onboardingId, secretName],
        requestBody: { required: true, content: json(schemaRef('StoreSecretRequest')) },
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
    },
    '/v1/audit': {
      get: {
        operationId: 'listSecretAudit',
        summary: 'The vault\'s audit trail: who read, wrote or revoked which secret, when, and how it ended',
        description:
          'The `secret_audit` table of the PostgreSQL vault, oldest first: every read, write, revocation and import of a secret, with its actor, ' +
          'purpose, outcome and the process that acted; never a value. With `since`, the first `limit` entries at or after then; without it, the latest `limit`. ' +
          'Answered with `Cache-Control: no-store`.',
        ...OPS,
        parameters: queryParameters(AuditQuery),
        responses: {
          '200': answer('`{items}`: the entries, oldest first.', schemaRef('SecretAuditList')),
          '400': failure('A query parameter is invalid (`invalid_query`, naming it): `since` neither an ISO 8601 date or date-time nor a span such as `24h`, `limit` not from 1 to 1000.'),
          '401': unauthorized,
          '404': failure(
            'This engine keeps its secrets in the file vault, which keeps no audit trail (`audit_unavailable`): the trail is kept in PostgreSQL (`DATABASE_URL`, or the one `npm start` embeds).',
          ),
        },
      },
    },
    '/v1/reseller/sites': {
      get: {
        operationId: 'listResellerSites',
        summary: 'Every site of the Netlify reseller account, with the onboarding it belongs to, and the orphans',
        description:
          'Lists the reseller account\'s sites (every page of Netlify\'s `GET /sites` with the reseller token) and matches each to the onboarding ' +
          'whose `OnboardingDomain` is the site\'s custom domain or one of its aliases (without `www.`), found with one visibility query over all ' +
          'onboardings. `orphans.sitesWithoutOnboarding`: sites no onboarding knows. `orphans.onboardingsWithoutSite`: running or completed ' +
          'onboardings whose plan includes Netlify and which made a site Netlify no longer lists; only onboardings whose domain has no site are ' +
          'asked for their status. Those whose status could not be read are in `orphans.unchecked`.',
        ...RESELLER,
        responses: {
          '200': answer('The sites and the orphans.', schemaRef('ResellerSites')),
          '401': unauthorized,
          '503': { ...netlifyUnavailable, description: `${netlifyUnavailable.description} Or Temporal is unreachable (\`temporal_unavailable\`).` },
        },
      },
    },
    '/v1/reseller/submissions': {
      get: {
        operationId: 'listResellerSubmissions',
        summary: 'The latest form submissions across the reseller account, each with its client',
        description:
          'Netlify\'s reseller-wide `GET /submissions`, newest first, back to `since`. Each submission names the client it belongs to: the onboarding ' +
          'whose domain is the host of the submission\'s `site_url` (without `www.`).',
        ...RESELLER,
        parameters: queryParameters(ResellerSubmissionsQuery),
        responses: {
          '200': answer('The submissions since then.', schemaRef('ResellerSubmissions')),
          '400': failure('`since` is neither an ISO 8601 date or date-time nor a span such as `24h` (`invalid_query`).'),
          '401': unauthorized,
          '503': { ...netlifyUnavailable, description: `${netlifyUnavailable.description} Or Temporal is unreachable (\`temporal_unavailable\`).` },
        },
      },
    },
    '/v1/reseller/check': {
      get: {
        operationId: 'checkResellerSettings',
        summary: 'Check the reseller account settings Netlify cannot check itself',
        description:
          'Looks, for real, at what `NETLIFY_PREVIEW_DOMAIN`, `NETLIFY_RESELLER_NAME`, `NETLIFY_NOTIFICATION_DOMAIN` and `RESELLER_PAGES_DIR` point at: ' +
          'the preview domain\'s wildcard CNAME to `<reseller-name>.r.netlify.com`, the notification sender domain\'s Mandrill SPF include and DKIM key, ' +
          'and the custom 404, form success and password pages. Always `200`; `ok` is false when any check fails, and each failing item says what to fix.',
        ...RESELLER,
        responses: { '200': answer('The checklist.', schemaRef('ResellerCheck')), '401': unauthorized },
      },
    },
    '/metrics': {
      get: {
        operationId: 'metrics',
        summary: 'Prometheus metrics of this API process',
        description: '`webhooks_received_total{type, outcome}`, `onboardings_started_total`, `http_request_duration_seconds{method, route, status}` and the default process metrics.',
        tags: ['health'],
        ...PUBLIC,
        responses: { '200': { description: 'Prometheus text exposition format.', content: { 'text/plain': { schema: { type: 'string' } } } } },
      },
    },
    '/openapi.json': {
      get: { operationId: 'openApiDocument', summary: 'This document', tags: ['docs'], ...PUBLIC, responses: { '200': answer('The OpenAPI 3.1 document.', object('OpenAPI 3.1.')) } },
    },
    '/docs': {
      get: {
        operationId: 'docsPage',
        summary: 'This document as a readable page',
        tags: ['docs'],
        ...PUBLIC,
        responses: { '200': { description: 'An HTML page.', content: { 'text/html': { schema: { type: 'string' } } } } },
      },
    },
  };
}

const packageVersion = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The API's OpenAPI 3.1 document; every request and response shape that has a zod schema comes from that schema. */
export function openApiDocument(): OpenApiDocument {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Client onboarding engine',
      version: packageVersion,
      description:
        'A signed CRM webhook starts a durable Temporal onboarding: the client\'s domain is registered with NextNet.ai, the one-time WordPress key is ' +
        'sealed in the vault, DNS verification is awaited, and the client is emailed the signup link. The ops endpoints under /v1 watch and steer it.',
    },
    tags: [
      { name: 'intake', description: 'The CRM webhook.' },
      { name: 'ops', description: 'Watch and steer onboardings; every call needs the ops token.' },
      { name: 'reseller', description: 'The Netlify reseller account as a whole: its sites and their onboardings, form submissions, settings; every call needs the ops token.' },
      { name: 'health', description: 'Liveness, readiness and metrics; no token.' },
      { name: 'docs', description: 'This document; no token.' },
    ],
    paths: paths(),
    components: {
      schemas: Object.fromEntries(Object.entries(componentSchemas).map(([name, build]) => [name, build()])),
      securitySchemes: {
        opsToken: { type: 'http', scheme: 'bearer', description: '`Authorization: Bearer <OPS_API_TOKEN>`; every endpoint under /v1.' },
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
  };
}

/** `/v1/onboardings/:onboardingId` (Express) to `/v1/onboardings/{onboardingId}` (OpenAPI). */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/[:*]([A-Za-z_$][\w$]*)/g, '{$1}');
}

/** The shape of router 2.x's layers that this module reads; Express's typings still describe router 1.x. */
interface RouterLayer {
  rawPath?: unknown;
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: RouterLayer[] };
}

/** Every route an Express app serves, as `{ method, path }` with the Express path pattern, in matching order. */
export function expressRoutes(app: Application): { method: string; path: string }[] {
  const routes: { method: string; path: string }[] = [];
  const walk = (stack: RouterLayer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const [method, enabled] of Object.entries(layer.route.methods)) {
          if (enabled) routes.push({ method: method === '_all' ? 'ALL' : method.toUpperCase(), path: prefix + layer.route.path });
        }
      } else if (layer.handle.stack) {
        walk(layer.handle.stack, prefix + (layer.rawPath === '/' ? '' : String(layer.rawPath)));
      }
    }
  };
  walk((app.router as unknown as { stack: RouterLayer[] }).stack, '');
  return routes;
}

/** GET /openapi.json and GET /docs; the document is built once, when the app is. */
export function apiDocs(): { openApiJson: RequestHandler; page: RequestHandler } {
  const document = openApiDocument();
  const html = docsPage(document);
  return {
    openApiJson: (_req, res) => {
      res.json(document);
    },
    page: (_req, res) => {
      res.type('html').send(html);
    },
  };
}

// --- The docs page: the document rendered as one self-contained HTML page (no scripts, no CDN) ----------------

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const prose = (text: string | undefined) => (text ? escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>') : '');
const anchor = (text: string) => text.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '');

function schemaHtml(schema: JsonSchema | undefined): string {
  if (!schema) return '';
  const ref = typeof schema.$ref === 'string' ? schema.$ref.replace('#/components/schemas/', '') : undefined;
  if (ref) return `<a href="#schema-${anchor(ref)}"><code>${escapeHtml(ref)}</code></a>`;
  if (Array.isArray(schema.oneOf)) return (schema.oneOf as JsonSchema[]).map(schemaHtml).join(' or ');
  if (schema.type === 'object' && typeof schema.description === 'string' && !schema.properties) return `object`;
  return escapeHtml(schemaSummary(schema));
}

/** `string (date-time)`, `integer, 1 to 200, default 50`: what a reader needs of a parameter's schema, in one line. */
function schemaSummary(schema: JsonSchema): string {
  if (Array.isArray(schema.anyOf)) {
    const alternatives = (schema.anyOf as JsonSchema[]).map((alternative) => (alternative.format ? `${String(alternative.type)} (${String(alternative.format)})` : schemaSummary(alternative)));
    return alternatives.join(' or ') + (schema.default !== undefined ? `, default ${JSON.stringify(schema.default)}` : '');
  }
  const parts = [Array.isArray(schema.type) ? schema.type.join(' or ') : String(schema.type ?? 'any') + (schema.format ? ` (${String(schema.format)})` : '')];
  if (Array.isArray(schema.enum)) parts.push(`one of ${schema.enum.join(' | ')}`);
  const [min, max] = [schema.minLength, schema.maxLength].map((n) => (n === undefined ? undefined : String(n)));
  if (min !== undefined || max !== undefined) parts.push(max === undefined ? `at least ${min} characters` : min === undefined ? `at most ${max} characters` : `${min} to ${max} characters`);
  if (schema.minimum !== undefined || schema.maximum !== undefined) parts.push(`${String(schema.minimum ?? '')} to ${String(schema.maximum ?? '')}`);
  if (schema.pattern !== undefined && schema.format === undefined) parts.push(`matching ${String(schema.pattern)}`);
  if (schema.default !== undefined) parts.push(`default ${JSON.stringify(schema.default)}`);
  return parts.join(', ');
}

function operationHtml(path: string, method: string, op: Operation): string {
  const auth = op.security?.length ? op.security.map((s) => Object.keys(s).join(', ')).join(' or ') : 'none';
  const parameters = op.parameters?.length
    ? `<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>required</th><th>schema</th><th>description</th></tr>${op.parameters
        .map((p) => `<tr><td><code>${escapeHtml(p.name)}</code></td><td>${p.in}</td><td>${p.required ? 'yes' : 'no'}</td><td>${schemaHtml(p.schema)}</td><td>${prose(p.description)}</td></tr>`)
        .join('')}</table>`
    : '';
  const body = op.requestBody
    ? `<h4>Request body${op.requestBody.required ? '' : ' (optional)'}</h4><p>${Object.entries(op.requestBody.content)
        .map(([type, media]) => `<code>${escapeHtml(type)}</code> ${schemaHtml(media.schema)}`)
        .join('<br>')} ${prose(op.requestBody.description)}</p>`
    : '';
  const responses = `<h4>Responses</h4><table><tr><th>status</th><th>description</th><th>body</th></tr>${Object.entries(op.responses)
    .map(
      ([status, r]) =>
        `<tr><td class="status s${status[0]}">${status}</td><td>${prose(r.description)}${r.headers ? ` Headers: ${Object.keys(r.headers).map((h) => `<code>${escapeHtml(h)}</code>`).join(', ')}.` : ''}</td><td>${Object.entries(
          r.content ?? {},
        )
          .map(([type, media]) => `<code>${escapeHtml(type)}</code> ${schemaHtml(media.schema)}`)
          .join('<br>')}</td></tr>`,
    )
    .join('')}</table>`;
  return `<section class="operation" id="${escapeHtml(op.operationId)}">
<h3><span class="method ${method}">${method.toUpperCase()}</span> <code class="path">${escapeHtml(path)}</code> <span class="summary">${prose(op.summary)}</span></h3>
<p class="auth">Auth: <code>${escapeHtml(auth)}</code></p>
${op.description ? `<p>${prose(op.description)}</p>` : ''}${parameters}${body}${responses}
</section>`;
}

function docsPage(document: OpenApiDocument): string {
  const operations = Object.entries(document.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op: op as Operation })));
  const sections = document.tags
    .map((tag) => {
      const ops = operations.filter(({ op }) => op.tags.includes(tag.name));
      return `<h2 id="tag-${anchor(tag.name)}">${escapeHtml(tag.name)}</h2><p>${prose(tag.description)}</p>${ops.map(({ path, method, op }) => operationHtml(path, method, op)).join('\n')}`;
    })
    .join('\n');
  const schemes = Object.entries(document.components.securitySchemes)
    .map(([name, scheme]) => `<dt><code>${escapeHtml(name)}</code></dt><dd>${prose(String(scheme.description ?? ''))}</dd>`)
    .join('');
  const schemas = Object.entries(document.components.schemas)
    .map(([name, schema]) => `<section id="schema-${anchor(name)}"><h3>${escapeHtml(name)}</h3>${schema.description && !schema.properties ? `<p>${prose(String(schema.description))}</p>` : `<pre>${escapeHtml(JSON.stringify(schema, null, 2))}</pre>`}</section>`)
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(document.info.title)} API</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; max-width: 64rem; margin: 2rem auto; padding: 0 1rem; color: #1f2328; }
code, pre { font: 13px ui-monospace, SFMono-Regular, Menlo, monospace; }
pre { background: #f6f8fa; padding: .75rem; overflow-x: auto; border-radius: 6px; }
.operation { border: 1px solid #d0d7de; border-radius: 6px; padding: 0 1rem .5rem; margin: 1rem 0; }
.method { display: inline-block; min-width: 3.5rem; text-align: center; color: #fff; border-radius: 4px; padding: 0 .4rem; font-size: 13px; }
.get { background: #0969da; } .post { background: #1a7f37; } .put { background: #9a6700; } .delete { background: #cf222e; } .patch { background: #8250df; }
.summary { font-weight: normal; color: #57606a; }
table { border-collapse: collapse; width: 100%; margin-bottom: .5rem; } th, td { border-bottom: 1px solid #d8dee4; text-align: left; padding: .25rem .5rem; vertical-align: top; }
.status { font-weight: bold; } .s2 { color: #1a7f37; } .s4 { color: #9a6700; } .s5 { color: #cf222e; }
.auth { color: #57606a; margin: 0; }
</style>
</head>
<body>
<h1>${escapeHtml(document.info.title)} <small>${escapeHtml(document.info.version)}</small></h1>
<p>${prose(document.info.description)}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${document.openapi}).</p>
<h2>Authentication</h2><dl>${schemes}</dl>
${sections}
<h2 id="schemas">Schemas</h2>
${schemas}
</body>
</html>
`;
}
