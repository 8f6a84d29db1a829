import { readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import express from 'express';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { createApp, WEBHOOK_BODY_LIMIT_BYTES } from '../api/app.js';
import { CrmEvent } from '../api/crm-events.js';
import { describedRoutes, expressRoutes, openApiDocument, openApiPath, servedOperations } from '../api/openapi.js';
import { validated } from '../api/request-schemas.js';
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
import { PipedriveDelivery } from '../crm/pipedrive/webhook.js';
import { SECRET_NAMES } from '../platforms/catalog.js';
import { FileVault } from '../vault/index.js';
import { capturedLogger, TEST_DATA_CONVERTER } from './support.js';

type Json = Record<string, unknown>;
type Operation = Json & { operationId: string; parameters?: Json[]; requestBody?: Json; responses: Record<string, Json>; security?: Json[] };
/** The document as JSON, as a client reads it. */
interface OpenApiDocument {
  openapi: string;
  info: Json;
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, Json>; securitySchemes: Record<string, Json> };
}

let connection: Connection;
let temporal: Client;
let server: Server;
let apiUrl: string;
let app: express.Express;
let document: OpenApiDocument;
const vault = new FileVault('/tmp/openapi-test-vault-unused', Buffer.alloc(32, 1), capturedLogger().logger);

beforeAll(async () => {
  connection = await Connection.connect({ address: inject('temporalAddress') });
  temporal = new Client({ connection, dataConverter: TEST_DATA_CONVERTER });
  // The development configuration: every platform, the reseller routes included.
  app = createApp({ config: loadConfig({}), temporal, vault, logger: createLogger({ level: 'silent' }) });
  document = openApiDocument(app) as unknown as OpenApiDocument;
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
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

/** zod-openapi adds what zod leaves implicit beside a union: that each alternative is an object. */
const asZodSaysIt = (schema: Json | undefined) => {
  if (!schema?.oneOf || schema.type !== 'object') return schema;
  const { type: _implicit, ...rest } = schema;
  return rest;
};

function refsIn(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(refsIn);
  if (node && typeof node === 'object') return Object.entries(node).flatMap(([key, value]) => (key === '$ref' && typeof value === 'string' ? [value] : refsIn(value)));
  return [];
}

describe('the OpenAPI document', () => {
  it('documents every route the API serves with its method, and no route it does not serve', () => {
    const served = servedOperations(app).map(({ method, path }) => `${method} ${path}`);
    const documented = operations(document).map(({ method, path }) => `${method.toUpperCase()} ${path}`);
    // One Express route per path pattern; `/webhooks/:source` is one operation per CRM, each with its own body.
    expect(expressRoutes(app).map(({ method, path }) => `${method} ${openApiPath(path)}`)).toContain('POST /webhooks/{source}');
    expect(served).toEqual(
      expect.arrayContaining([
        'POST /webhooks/crm',
        'POST /webhooks/hubspot',
        'POST /webhooks/pipedrive',
        'POST /webhooks/gohighlevel',
        'GET /v1/onboardings/{onboardingId}',
        'PUT /v1/onboardings/{onboardingId}/secrets/{secretName}',
        'GET /v1/reseller/sites',
        'GET /v1/reseller/submissions',
        'GET /v1/reseller/check',
      ]),
    );
    expect([...documented].sort()).toEqual([...served].sort());
    // Each route has its summary, description and answers written down, and nothing is written down for a route that is gone.
    expect([...describedRoutes()].sort()).toEqual([...served].sort());
  });

  it('describes each query and body with the zod schema its route validates with, and only those', () => {
    const validating = servedOperations(app).filter((served) => served.body ?? served.query);
    expect(validating.map(({ method, path }) => `${method} ${path}`)).toEqual(
      expect.arrayContaining(['POST /webhooks/crm', 'POST /webhooks/hubspot', 'GET /v1/onboardings', 'POST /v1/onboardings/{onboardingId}/retry', 'GET /v1/reseller/submissions']),
    );
    expect(servedOperations(app).find((served) => served.path === '/webhooks/pipedrive')?.body).toBe(PipedriveDelivery);
    for (const { method, path, query, body } of servedOperations(app)) {
      const where = `${method} ${path}`;
      const op = operation(path, method.toLowerCase())!;
      if (body) expect(asZodSaysIt(jsonBodySchema(op.requestBody)), where).toEqual(zodJsonSchema(body, 'input'));
      else expect(op.requestBody, where).toBeUndefined();
      const parameters = (op.parameters ?? []).filter((p) => p.in === 'query');
      const fields = (zodJsonSchema(query ?? z.object({}), 'input').properties ?? {}) as Record<string, Json>;
      expect(Object.fromEntries(parameters.map((p) => [p.name, p.schema])), where).toEqual(fields);
      // The examples "try it out" starts from are bodies the route accepts.
      const examples = (op.requestBody?.content as Record<string, { examples?: Record<string, { value: unknown }> }> | undefined)?.['application/json']?.examples ?? {};
      for (const [name, example] of Object.entries(examples)) expect(body!.safeParse(example.value).error, `${where} example ${name}`).toBeUndefined();
    }
  });

  it("follows a route's schema when the route changes it: the document has no copy of its own", () => {
    const changed = express();
    const Note = z.object({ note: z.string().max(10) }).strict();
    changed.post('/v1/onboardings/:onboardingId/cancel', validated({ body: Note }, { code: 'invalid_cancel', message: 'invalid' }, () => {}));
    const cancel = (openApiDocument(changed) as unknown as OpenApiDocument).paths['/v1/onboardings/{onboardingId}/cancel']?.post as Operation;
    expect(jsonBodySchema(cancel.requestBody)).toEqual(zodJsonSchema(Note, 'input'));
    expect(cancel.operationId).toBe('cancelOnboarding');
  });

  it('leaves no handler in api/ to parse a query or body itself, where the document cannot see the schema', () => {
    // `validated(...)` (api/request-schemas.ts) checks a route's query and body and shows their schemas to the document.
    const apiDir = new URL('../api/', import.meta.url);
    for (const file of readdirSync(apiDir).filter((name) => name.endsWith('.ts'))) {
      const source = readFileSync(new URL(file, apiDir), 'utf8');
      expect(source, `api/${file}`).not.toMatch(/\.safeParse\(\s*req\.(body|query)/);
    }
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

  it('asks for the ops bearer token on every /v1 endpoint and for no token elsewhere but the signed webhooks and the codec server', () => {
    expect(document.components.securitySchemes.opsToken).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(String(document.components.securitySchemes.standardWebhooks?.description)).toMatch(/webhook-id.*webhook-timestamp.*webhook-signature/s);
    const webhookSchemes: Record<string, string[]> = {
      '/webhooks/crm': ['standardWebhooks'],
      '/webhooks/hubspot': ['hubspotSignatureV3'],
      '/webhooks/pipedrive': ['pipedriveBasicAuth'],
      '/webhooks/gohighlevel': ['goHighLevelSignature'],
    };
    for (const { path, method, op } of operations(document)) {
      const schemes = (op.security ?? []).flatMap((requirement) => Object.keys(requirement));
      const codec = ['/codec/decode', '/codec/encode'].includes(path) ? ['opsToken', 'codecSession'] : [];
      const expected = path.startsWith('/v1/') ? ['opsToken'] : (webhookSchemes[path] ?? codec);
      expect(schemes, `${method.toUpperCase()} ${path}`).toEqual(expected);
    }
    // Each CRM's webhook says how its deliveries are signed.
    expect(String(document.components.securitySchemes.hubspotSignatureV3?.description)).toMatch(/HMAC-SHA256.*HUBSPOT_CLIENT_SECRET/s);
    expect(document.components.securitySchemes.pipedriveBasicAuth).toMatchObject({ type: 'http', scheme: 'basic' });
    expect(String(document.components.securitySchemes.goHighLevelSignature?.description)).toMatch(/Ed25519/);
    const headers = operation('/webhooks/crm', 'post')!.parameters!.filter((p) => p.in === 'header').map((p) => p.name);
    expect(headers).toEqual(['webhook-id', 'webhook-timestamp', 'webhook-signature']);
  });

  it("describes the webhook's body with the JSON Schema of the CrmEvent zod schema the intake validates with", () => {
    const webhook = operation('/webhooks/crm', 'post')!;
    const body = jsonBodySchema(webhook.requestBody) as { oneOf: { properties: { type: { const: string }; data: { required: string[] } } }[] };
    expect(asZodSaysIt(body)).toEqual(zodJsonSchema(CrmEvent, 'input'));
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
    expect(query.find((p) => p.name === 'pageSize')).toMatchObject({ schema: { type: 'integer', default: 50, maximum: 200 } });
    expect(query.find((p) => p.name === 'pageSize')?.required).not.toBe(true);
    expect(query.find((p) => p.name === 'status')?.schema).toMatchObject({ enum: expect.arrayContaining(['awaiting-dns', 'failed']) });

    expect(jsonBodySchema(operation('/v1/reseller/sites', 'get')!.responses['200'])).toEqual(zodJsonSchema(ResellerSites, 'output'));
    expect(jsonBodySchema(operation('/v1/reseller/submissions', 'get')!.responses['200'])).toEqual(zodJsonSchema(ResellerSubmissions, 'output'));
    expect(jsonBodySchema(operation('/v1/reseller/check', 'get')!.responses['200'])).toEqual(zodJsonSchema(ResellerCheck, 'output'));
    const submissionsQuery = operation('/v1/reseller/submissions', 'get')!.parameters!.filter((p) => p.in === 'query');
    expect(submissionsQuery.map((p) => p.name)).toEqual(Object.keys(ResellerSubmissionsQuery.shape));
    expect(submissionsQuery[0]).toMatchObject({ name: 'since', schema: { default: '24h' } });
    expect(submissionsQuery[0]?.required).not.toBe(true);

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
    const response = await fetch(`${apiUrl}/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual(JSON.parse(JSON.stringify(document)));
  });

  it('serves the API reference at /docs without a token, loading only files this server answers', async () => {
    const response = await fetch(`${apiUrl}/docs`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toMatch(/script-src 'self';.*connect-src 'self'/);
    const html = await response.text();
    expect(html).toContain('href="/openapi.json"');
    // No CDN: every script, stylesheet and link is a path on this origin, and no script is inline.
    const references = [...html.matchAll(/(?:src|href)="([^"]*)"/g)].map((m) => m[1]!);
    expect(references.length).toBeGreaterThan(2);
    for (const url of references) expect(url, url).toMatch(/^\/(?!\/)/);
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    for (const url of references) {
      const asset = await fetch(`${apiUrl}${url}`);
      expect(asset.status, url).toBe(200);
      if (url.endsWith('.js')) expect(asset.headers.get('content-type'), url).toMatch(/javascript/);
    }
    const initializer = await (await fetch(`${apiUrl}/docs/assets/swagger-initializer.js`)).text();
    expect(initializer).toContain("url: '/openapi.json'");
    // Only the files the page needs: not swagger-ui-dist's demo page, which loads the Petstore from the internet.
    expect((await fetch(`${apiUrl}/docs/assets/index.html`)).status).toBe(404);
  });
});
