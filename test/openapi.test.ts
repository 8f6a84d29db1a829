import { Client, Connection } from '@temporalio/client';
import type express from 'express';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { createApp, WEBHOOK_BODY_LIMIT_BYTES } from '../api/app.js';
import { CrmEvent } from '../api/crm-events.js';
import { expressRoutes, openApiDocument, openApiPath, type OpenApiDocument } from '../api/openapi.js';
import {
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
  StoreSecretRequest,
} from '../api/ops-schemas.js';
import { loadConfig } from '../config/index.js';
import { createLogger } from '../config/logger.js';
import { SECRET_NAMES } from '../platforms/catalog.js';
import { FileVault } from '../vault/index.js';
import { capturedLogger, serveApi } from './support.js';

type Json = Record<string, unknown>;
type Operation = Json & { operationId: string; parameters?: Json[]; requestBody?: Json; responses: Record<string, Json>; security?: Json[] };

let connection: Connection;
let temporal: Client;
let api: Awaited<ReturnType<typeof serveApi>>;
let app: express.Express;
const vault = new FileVault('/tmp/openapi-test-vault-unused', Buffer.alloc(32, 1), capturedLogger().logger);
const document = openApiDocument();

beforeAll(async () => {
  connection = await Connection.connect({ address: inject('temporalAddress') });
  temporal = new Client({ connection });
  api = await serveApi({ temporal, vault, taskQueue: 'openapi-test-unused' });
  // The same app the API serves, built here only to read its route table.
  app = createApp({ config: loadConfig({}), temporal, vault, logger: createLogger({ level: 'silent' }) });
});
afterAll(async () => {
  await api?.close();
  await connection?.close();
});

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
const operations = (doc: OpenApiDocument) =>
  Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).filter(([method]) => METHODS.includes(method)).map(([method, op]) => ({ path, method, op: op as unknown as Operation })));
const operation = (path: string, method: string) => operations(document).find((o) => o.path === path && o.method === method)?.op;

/** Follows a local `$ref` (`#/components/schemas/X`) to what it points at. */
function resolve(doc: unknown, schema: Json | undefined): Json | undefined {
  const ref = schema?.$ref;
  if (typeof ref !== 'string') return schema;
  return ref
    .replace(/^#\//, '')
    .split('/')
    .reduce<unknown>((node, key) => (node as Json | undefined)?.[key], doc) as Json | undefined;
}
const jsonBodySchema = (holder: Json | undefined) => resolve(document, (holder?.content as Record<string, { schema: Json }> | undefined)?.['application/json']?.schema);
/** What zod itself makes of a schema, without the dialect line the document states once for all. */
const zodJsonSchema = (schema: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io }) as Json;
  return json;
};

function refsIn(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(refsIn);
  if (node && typeof node === 'object') return Object.entries(node).flatMap(([key, value]) => (key === '$ref' && typeof value === 'string' ? [value] : refsIn(value)));
  return [];
}

describe('the OpenAPI document', () => {
  it('documents every route the API serves with its method, and no route it does not serve', () => {
    const served = expressRoutes(app).map(({ method, path }) => `${method} ${openApiPath(path)}`);
    const documented = operations(document).map(({ method, path }) => `${method.toUpperCase()} ${path}`);
    expect(served).toEqual(
      expect.arrayContaining([
        'POST /webhooks/crm',
        'GET /v1/onboardings/{onboardingId}',
        'PUT /v1/onboardings/{onboardingId}/secrets/{secretName}',
        'GET /v1/reseller/sites',
        'GET /v1/reseller/submissions',
        'GET /v1/reseller/check',
      ]),
    );
    expect([...documented].sort()).toEqual([...served].sort());
  });

  it('has the structure of an OpenAPI 3.1 document', () => {
    expect(document.openapi).toMatch(/^3\.1\.\d+$/);
    expect(document.info).toMatchObject({ title: expect.any(String), version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    const ids = operations(document).map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);

    for (const { path, method, op } of operations(document)) {
      const where = `${method.toUpperCase()} ${path}`;
      expect(Object.keys(op.responses).length, where).toBeGreaterThan(0);
      for (const [status, response] of Object.entries(op.responses)) {
        expect(status, where).toMatch(/^[1-5]\d\d$/);
        expect(response.description, `${where} ${status}`).toEqual(expect.any(String));
      }
      // Each {param} in the path is a required path parameter, and each path parameter is in the path.
      const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const declared = (op.parameters ?? []).filter((p) => p.in === 'path');
      expect(declared.map((p) => p.name), where).toEqual(inPath);
      expect(declared.every((p) => p.required === true), where).toBe(true);
      for (const requirement of op.security ?? []) {
        for (const scheme of Object.keys(requirement)) expect(document.components.securitySchemes, where).toHaveProperty(scheme);
      }
    }
    for (const ref of refsIn(document)) expect(resolve(document, { $ref: ref }), ref).toBeDefined();
  });

  it('asks for the ops bearer token on every /v1 endpoint and for no token elsewhere but the signed webhook', () => {
    expect(document.components.securitySchemes.opsToken).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(String(document.components.securitySchemes.standardWebhooks?.description)).toMatch(/webhook-id.*webhook-timestamp.*webhook-signature/s);
    for (const { path, method, op } of operations(document)) {
      const schemes = (op.security ?? []).flatMap((requirement) => Object.keys(requirement));
      const expected = path.startsWith('/v1/') ? ['opsToken'] : path === '/webhooks/crm' ? ['standardWebhooks'] : [];
      expect(schemes, `${method.toUpperCase()} ${path}`).toEqual(expected);
    }
    const headers = operation('/webhooks/crm', 'post')!.parameters!.filter((p) => p.in === 'header').map((p) => p.name);
    expect(headers).toEqual(['webhook-id', 'webhook-timestamp', 'webhook-signature']);
  });

  it("describes the webhook's body with the JSON Schema of the CrmEvent zod schema the intake validates with", () => {
    const webhook = operation('/webhooks/crm', 'post')!;
    const body = jsonBodySchema(webhook.requestBody) as { oneOf: { properties: { type: { const: string }; data: { required: string[] } } }[] };
    expect(body).toEqual(zodJsonSchema(CrmEvent, 'input'));
    expect(body.oneOf.map((event) => event.properties.type.const)).toEqual(['client.created', 'client.churned', 'client.reactivated']);
    const created = body.oneOf.find((event) => event.properties.type.const === 'client.created')!;
    expect(created.properties.data.required).toEqual(['clientId', 'email', 'domain']);
    expect(Object.keys(webhook.responses).sort()).toEqual(['202', '400', '401', '409', '413', '503']);
    expect(webhook.responses['413']!.description).toContain(`${WEBHOOK_BODY_LIMIT_BYTES / 1024} KiB`);
    expect(webhook.responses['202']!.description).toMatch(/already-started/);
    expect(webhook.responses['202']!.description).toMatch(/`restarted`.*previousRun/s);
  });

  it('takes every other request and response shape from the zod schema its route uses', () => {
    expect(jsonBodySchema(operation('/v1/onboardings/{onboardingId}/retry', 'post')!.requestBody)).toEqual(zodJsonSchema(RetryRequest, 'input'));
    expect(jsonBodySchema(operation('/v1/onboardings/{onboardingId}/secrets/{secretName}', 'put')!.requestBody)).toEqual(zodJsonSchema(StoreSecretRequest, 'input'));
    expect(jsonBodySchema(operation('/v1/onboardings/{onboardingId}/cancel', 'post')!.requestBody)).toEqual(zodJsonSchema(CancelRequest, 'input'));
    expect(zodJsonSchema(RetryRequest, 'input')).toMatchObject({ properties: { resumeCancelled: { type: 'boolean' } } });
    // One path reads an onboarding or an offboarding; the parts the API adds to an onboarding's status have schemas of their own.
    const one = (operation('/v1/onboardings/{onboardingId}', 'get')!.responses['200']!.content as Record<string, { schema: { oneOf: Json[] } }>)['application/json']!.schema;
    expect(one.oneOf.map((schema) => resolve(document, schema))).toEqual([document.components.schemas.OnboardingStatus, zodJsonSchema(OffboardingView, 'output')]);
    expect(document.components.schemas.LastError).toEqual(zodJsonSchema(LastError, 'output'));
    expect(document.components.schemas.ClientOffboarding).toEqual(zodJsonSchema(ClientOffboarding, 'output'));
    expect(String(document.components.schemas.OnboardingStatus?.description)).toMatch(/lastError.*offboarding/s);
    const list = operation('/v1/onboardings', 'get')!;
    expect(jsonBodySchema(list.responses['200'])).toEqual(zodJsonSchema(OnboardingList, 'output'));
    const query = list.parameters!.filter((p) => p.in === 'query');
    expect(query.map((p) => p.name)).toEqual(Object.keys(ListOnboardingsQuery.shape));
    expect(query.find((p) => p.name === 'pageSize')).toMatchObject({ required: false, schema: { type: 'integer', default: 50, maximum: 200 } });
    expect(query.find((p) => p.name === 'status')?.schema).toMatchObject({ enum: expect.arrayContaining(['awaiting-dns', 'failed']) });

    expect(jsonBodySchema(operation('/v1/reseller/sites', 'get')!.responses['200'])).toEqual(zodJsonSchema(ResellerSites, 'output'));
    expect(jsonBodySchema(operation('/v1/reseller/submissions', 'get')!.responses['200'])).toEqual(zodJsonSchema(ResellerSubmissions, 'output'));
    expect(jsonBodySchema(operation('/v1/reseller/check', 'get')!.responses['200'])).toEqual(zodJsonSchema(ResellerCheck, 'output'));
    const submissionsQuery = operation('/v1/reseller/submissions', 'get')!.parameters!.filter((p) => p.in === 'query');
    expect(submissionsQuery.map((p) => p.name)).toEqual(Object.keys(ResellerSubmissionsQuery.shape));
    expect(submissionsQuery[0]).toMatchObject({ name: 'since', required: false, schema: { default: '24h' } });

    const errorBody = zodJsonSchema(ErrorBody, 'output');
    // Readiness answers 503 with its own not-ready body; every other failure is the one error shape.
    for (const { path, method, op } of operations(document).filter((o) => o.path !== '/readyz')) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) >= 400) expect(jsonBodySchema(response), `${method.toUpperCase()} ${path} ${status}`).toEqual(errorBody);
      }
    }
  });

  it('lists the answers each ops endpoint can give', () => {
    const statuses = (path: string, method: string) => Object.keys(operation(path, method)!.responses).sort();
    expect(statuses('/v1/onboardings/{onboardingId}/retry', 'post')).toEqual(expect.arrayContaining(['202', '400', '404', '409']));
    expect(statuses('/v1/onboardings/{onboardingId}/secrets/{secretName}', 'get')).toEqual(expect.arrayContaining(['200', '404', '410']));
    expect(statuses('/v1/onboardings/{onboardingId}/secrets/{secretName}', 'put')).toEqual(expect.arrayContaining(['200', '201', '404']));
    expect(statuses('/v1/reseller/sites', 'get')).toEqual(['200', '401', '503']);
    expect(statuses('/v1/reseller/submissions', 'get')).toEqual(['200', '400', '401', '503']);
    expect(statuses('/v1/reseller/check', 'get')).toEqual(['200', '401']);
    expect(statuses('/v1/onboardings/{onboardingId}/dns-check', 'post')).toEqual(expect.arrayContaining(['202', '404', '409']));
  });

  it('describes one secrets path for every secret a platform declares, by name', () => {
    const secretPaths = Object.keys(document.paths).filter((path) => path.includes('/secrets/'));
    expect(secretPaths).toEqual(['/v1/onboardings/{onboardingId}/secrets/{secretName}']);
    for (const method of ['get', 'put']) {
      const parameter = operation(secretPaths[0]!, method)!.parameters!.find((p) => p.name === 'secretName');
      expect(parameter, method).toMatchObject({ in: 'path', required: true, schema: { type: 'string', enum: SECRET_NAMES } });
    }
    expect(SECRET_NAMES).toEqual(expect.arrayContaining(['wordpress-api-key', 'netlify-access-token']));
    expect(operation(secretPaths[0]!, 'get')!.responses['404']!.description).toContain('unknown_secret');
  });
});

describe('the API documentation over HTTP', () => {
  it('serves the OpenAPI document at /openapi.json without a token', async () => {
    const response = await fetch(`${api.url}/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual(JSON.parse(JSON.stringify(document)));
  });

  it('serves a readable page at /docs without a token that links /openapi.json and shows every operation', async () => {
    const response = await fetch(`${api.url}/docs`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toContain('href="/openapi.json"');
    for (const { path, method, op } of operations(document)) {
      expect(html, op.operationId).toContain(`id="${op.operationId}"`);
      expect(html).toContain(`${method.toUpperCase()}</span> <code class="path">${path}</code>`);
    }
    expect(html).toContain('id="schema-CrmEvent"');
    expect(html).toContain('client.reactivated');

    // Everything the page loads or links on this server answers 200.
    const local = [...html.matchAll(/(?:src|href)="(\/[^"]*)"/g)].map((m) => m[1]!);
    expect(local.length).toBeGreaterThan(0);
    for (const url of local) expect((await fetch(`${api.url}${url}`)).status, url).toBe(200);
  });
});
