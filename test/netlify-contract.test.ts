import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ajv, type AnySchema, type ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { NETLIFY_PAYMENT_METHOD_PARAM, NetlifyApiError, NetlifyClient } from '../platforms/netlify/client.js';

/**
 * Holds the Netlify client to Netlify's own OpenAPI 2.0 description: every request it sends goes to a path and
 * method the description has, with query parameters it declares and a body its schema accepts, and every answer
 * the client is fed here is one the description allows. `POST /access_tokens` and the reseller-wide
 * `GET /submissions` are reseller-only and not in the description: they are held to the reseller documentation.
 */

const REFERENCE = new URL('../../shared/reference/', import.meta.url);
const SPEC_FILE = new URL('netlify-open-api.swagger.yml', REFERENCE);
const SEEDS = new URL('seeds/', REFERENCE);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface Parameter {
  name: string;
  in: string;
  type?: string;
  enum?: string[];
  schema?: JsonObject;
  required?: boolean;
}
interface Operation {
  operationId: string;
  parameters?: Array<Parameter | { $ref: string }>;
  responses: Record<string, { schema?: JsonObject; $ref?: string }>;
}
interface Spec {
  basePath: string;
  paths: Record<string, Record<string, Operation | Parameter[]> & { parameters?: Parameter[] }>;
  definitions: Record<string, JsonObject>;
  parameters: Record<string, Parameter>;
  responses: Record<string, { schema: JsonObject }>;
}

const spec = parseYaml(readFileSync(SPEC_FILE, 'utf8')) as Spec;
const seedText = readdirSync(SEEDS)
  .filter((file) => file.endsWith('.txt'))
  .map((file) => readFileSync(new URL(file, SEEDS), 'utf8'))
  .find((text) => text.includes('POST https://api.netlify.com/api/v1/access_tokens'));

// ---- the description as JSON Schema -------------------------------------------------------------------------

/** Swagger 2.0's `x-nullable: true` lets a value be null; JSON Schema says so in `type`. */
function withNullables(node: Json): Json {
  if (Array.isArray(node)) return node.map(withNullables);
  if (node === null || typeof node !== 'object') return node;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) out[key] = withNullables(value);
  if (node['x-nullable'] === true && typeof node.type === 'string') out.type = [node.type, 'null'];
  return out;
}

/** Refs inside the description (`#/definitions/site`) resolved against the description, from any schema. */
function anchored(node: Json): Json {
  if (Array.isArray(node)) return node.map(anchored);
  if (node === null || typeof node !== 'object') return node;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) out[key] = key === '$ref' && typeof value === 'string' && value.startsWith('#/') ? `netlify${value}` : anchored(value);
  return out;
}

const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addFormat('dateTime', { type: 'string', validate: (value: string) => !Number.isNaN(Date.parse(value)) });
ajv.addFormat('int32', { type: 'number', validate: (value: number) => Number.isInteger(value) && Math.abs(value) <= 2 ** 31 });
ajv.addFormat('int64', { type: 'number', validate: (value: number) => Number.isInteger(value) });
ajv.addSchema({ $id: 'netlify', definitions: withNullables(spec.definitions as unknown as Json) } as AnySchema);

const compiled = new Map<string, ValidateFunction>();
function validatorFor(schema: JsonObject): ValidateFunction {
  const key = JSON.stringify(schema);
  let validate = compiled.get(key);
  if (!validate) {
    validate = ajv.compile(anchored(withNullables(schema)) as AnySchema);
    compiled.set(key, validate);
  }
  return validate;
}

function expectValid(schema: JsonObject, value: unknown, what: string) {
  const validate = validatorFor(schema);
  const valid = validate(value);
  expect(valid, `${what}: ${ajv.errorsText(validate.errors)}`).toBe(true);
}

const definition = (name: string): JsonObject => ({ $ref: `#/definitions/${name}` });

/** The description's operation for a request path (under basePath) and method, preferring literal segments. */
function operationFor(method: string, path: string): { template: string; operation: Operation; parameters: Parameter[] } | undefined {
  const candidates = Object.entries(spec.paths)
    .filter(([template, item]) => new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path) && method.toLowerCase() in item)
    .sort(([a], [b]) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0));
  const [template, item] = candidates[0] ?? [];
  if (!template || !item) return undefined;
  const operation = item[method.toLowerCase()] as Operation;
  const resolve = (parameter: Parameter | { $ref: string }): Parameter =>
    '$ref' in parameter ? (spec.parameters[parameter.$ref.replace('#/parameters/', '')] as Parameter) : parameter;
  const parameters = [...(item.parameters ?? []), ...(operation.parameters ?? [])].map(resolve);
  return { template, operation, parameters };
}

function responseSchema(operation: Operation, status: number): JsonObject | undefined {
  // A listed status without a schema (provisionSiteTLSCertificate's 422) answers in the default error shape.
  const listed = operation.responses[String(status)];
  const response = listed?.schema || listed?.$ref ? listed : operation.responses.default;
  if (!response) return undefined;
  if (response.$ref) return spec.responses[response.$ref.replace('#/responses/', '')]?.schema;
  return response.schema;
}

// ---- the reseller documentation's shapes ----------------------------------------------------------------------

/** A schema that accepts exactly the example's shape: the same keys, each of the same JSON type. */
function shapeOf(example: Json): JsonObject {
  if (example === null) return { type: 'null' };
  if (Array.isArray(example)) return { type: 'array', items: example.length > 0 ? shapeOf(example[0] as Json) : {} };
  if (typeof example === 'object') {
    return {
      type: 'object',
      required: Object.keys(example),
      additionalProperties: false,
      properties: Object.fromEntries(Object.entries(example).map(([key, value]) => [key, shapeOf(value)])),
    };
  }
  return { type: typeof example === 'number' ? 'number' : typeof example };
}

/** The JSON examples that follow `POST .../access_tokens` in the reseller documentation (it uses typographic quotes). */
function seedAccessTokenExamples(): { request: Json; response: Json } {
  if (!seedText) throw new Error(`no reseller documentation under ${SEEDS.pathname} describes POST /access_tokens`);
  const section = seedText.slice(seedText.indexOf('POST https://api.netlify.com/api/v1/access_tokens'));
  const objects = [...section.matchAll(/\{.*\}/g)].slice(0, 2).map((match) => JSON.parse(match[0].replace(/[“”]/g, '"')) as Json);
  const [request, response] = objects;
  if (request === undefined || response === undefined) throw new Error('the reseller documentation no longer shows the access token request and answer');
  return { request, response };
}

// ---- a Netlify that answers with examples and records what it got ----------------------------------------------

interface Exchange {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  status: number;
  answer: unknown;
}

type Answer = { status: number; body?: unknown; headers?: Record<string, string> };

const exchanges: Exchange[] = [];
const queued = new Map<string, Answer[]>();
let server: Server;
let baseUrl: string;

/** Queues the next answers for `METHOD /path` (under basePath). */
function answer(route: string, ...answers: Answer[]) {
  queued.set(route, [...(queued.get(route) ?? []), ...answers]);
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://netlify.test');
      const path = url.pathname.slice(spec.basePath.length);
      const next = queued.get(`${req.method} ${path}`)?.shift() ?? { status: 599, body: { code: 599, message: `no example queued for ${req.method} ${path}` } };
      exchanges.push({ method: req.method ?? '', path, query: url.searchParams, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status: next.status, answer: next.body });
      res.writeHead(next.status, { ...(next.body === undefined ? {} : { 'content-type': 'application/json' }), ...next.headers });
      res.end(next.body === undefined ? undefined : JSON.stringify(next.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}${spec.basePath}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => {
    server?.close(() => resolve());
    server?.closeAllConnections();
  });
});

const client = () => new NetlifyClient({ baseUrl, resellerToken: 'reseller-token', timeoutMs: 2_000, userAgent: 'contract-test (ops@agency.example)' });

const SITE_ID = '3970e0fe-8564-4903-9a55-c5f8de49fb8b';
const site: JsonObject = {
  id: SITE_ID,
  state: 'current',
  plan: 'nf_team_dev',
  name: 'acme-plumbing-com',
  custom_domain: 'acme-plumbing.com',
  domain_aliases: ['www.acme-plumbing.com'],
  url: 'http://acme-plumbing.com',
  ssl_url: 'https://acme-plumbing.com',
  admin_url: 'https://app.netlify.com/sites/acme-plumbing-com',
  screenshot_url: 'https://d33wubrfki0l68.cloudfront.net/screenshot.png',
  created_at: '2026-11-22T10:00:00.000Z',
  updated_at: '2026-11-22T10:05:00.000Z',
  user_id: '5c2e63c3e7b0b1b0f1f0a0a0',
  ssl: false,
  force_ssl: false,
  managed_dns: false,
  deploy_url: 'http://main--acme-plumbing-com.netlify.app',
  account_id: '5c2e63c3e7b0b1b0f1f0a0a1',
  account_name: 'Agency Reseller',
  account_slug: 'agency-reseller',
  capabilities: { title: {} },
  processing_settings: { html: { pretty_urls: true } },
  build_settings: { provider: 'github', repo_path: 'agency/acme', repo_branch: 'main', env: {} },
  id_domain: `${SITE_ID}.netlify.app`,
  default_hooks_data: { access_token: 'hooks-token-in-a-site' },
  prevent_non_git_prod_deploys: false,
};
const certificate: JsonObject = {
  state: 'pending',
  domains: ['acme-plumbing.com', 'www.acme-plumbing.com'],
  created_at: '2026-11-22T10:10:00Z',
  updated_at: '2026-11-22T10:10:00Z',
  expires_at: '2027-02-20T10:10:00Z',
};
const submission: JsonObject = {
  id: '5e8f2c1d0c4b7a0007a1b2c3',
  number: 4,
  email: 'lead@example.com',
  name: 'Pat Lead',
  first_name: 'Pat',
  last_name: 'Lead',
  company: 'Lead Co',
  summary: '<strong>Pat Lead</strong> asked for a quote',
  body: 'Please call me back',
  data: { phone: '+1 555 0100', message: 'Please call me back' },
  created_at: '2026-11-23T09:00:00Z',
  site_url: 'https://acme-plumbing.com',
};

describe("the Netlify client against Netlify's API description", () => {
  it('sends only requests the description (or the reseller documentation) allows, and reads the answers it allows', async () => {
    const seed = seedAccessTokenExamples();
    answer('POST /access_tokens', { status: 200, body: seed.response });
    answer(`GET /sites/acme-plumbing.com`, { status: 200, body: site });
    answer('GET /sites/nobody.example', { status: 404, body: { code: 404, message: 'Not Found' } });
    answer('POST /sites', { status: 201, body: site });
    answer(`PATCH /sites/${SITE_ID}`, { status: 200, body: { ...site, force_ssl: true } });
    answer(`POST /sites/${SITE_ID}/ssl`, { status: 422, body: { code: 422, message: 'bad dns for custom domain' } }, { status: 200, body: certificate });
    answer(`GET /sites/${SITE_ID}/ssl`, { status: 200, body: { ...certificate, state: 'issued' } });
    answer('GET /sites', { status: 200, body: [site], headers: { link: `<${baseUrl}/sites?filter=all&page=2&per_page=100>; rel="next"` } }, { status: 200, body: [{ ...site, id: 'second' }] });
    answer('GET /submissions', { status: 200, body: [submission] });
    answer(`DELETE /sites/${SITE_ID}`, { status: 204 }, { status: 404, body: { code: 404, message: 'Not Found' } });

    const reseller = client();
    const token = await reseller.createAccessToken({ email: 'owner@acme-plumbing.com', uid: 'crm-123' });
    expect(token.accessToken).toBe((seed.response as JsonObject).access_token);
    const user = reseller.asUser(token.accessToken);
    expect((await user.getSite('acme-plumbing.com'))?.id).toBe(SITE_ID);
    expect(await user.getSite('nobody.example')).toBeNull();
    expect((await user.createSite({ name: 'acme-plumbing-com', customDomain: 'acme-plumbing.com' })).customDomain).toBe('acme-plumbing.com');
    expect((await user.updateSite(SITE_ID, { domainAliases: ['www.acme-plumbing.com'], forceSsl: true })).forceSsl).toBe(true);
    expect(await user.provisionTls(SITE_ID, { paymentMethodId: 'pm_1' })).toMatchObject({ outcome: 'waiting-for-dns' });
    expect(await user.provisionTls(SITE_ID, { paymentMethodId: 'pm_1' })).toMatchObject({ outcome: 'requested', certificate: { state: 'pending' } });
    expect(await user.showTls(SITE_ID)).toMatchObject({ state: 'issued' });
    expect((await reseller.listSites()).map((s) => s.id)).toEqual([SITE_ID, 'second']);
    expect(await reseller.listSubmissions()).toMatchObject([{ id: submission.id, email: 'lead@example.com' }]);
    expect(await user.deleteSite(SITE_ID)).toBe('removed');
    expect(await reseller.deleteSite(SITE_ID)).toBe('already-gone');

    expect(exchanges.map((exchange) => `${exchange.method} ${exchange.path} ${exchange.status}`)).toEqual([
      'POST /access_tokens 200',
      'GET /sites/acme-plumbing.com 200',
      'GET /sites/nobody.example 404',
      'POST /sites 201',
      `PATCH /sites/${SITE_ID} 200`,
      `POST /sites/${SITE_ID}/ssl 422`,
      `POST /sites/${SITE_ID}/ssl 200`,
      `GET /sites/${SITE_ID}/ssl 200`,
      'GET /sites 200',
      'GET /sites 200',
      'GET /submissions 200',
      `DELETE /sites/${SITE_ID} 204`,
      `DELETE /sites/${SITE_ID} 404`,
    ]);

    for (const exchange of exchanges) {
      const what = `${exchange.method} ${exchange.path}`;
      expect(exchange.headers.accept, what).toBe('application/json');
      expect(exchange.headers.authorization, what).toMatch(/^Bearer \S+$/);
      expect(exchange.headers['user-agent'], what).toBe('contract-test (ops@agency.example)');

      if (exchange.path === '/access_tokens') {
        // Reseller-only: held to the request and answer the reseller documentation shows.
        expect(exchange.method).toBe('POST');
        expectValid(shapeOf(seed.request), JSON.parse(exchange.body), `${what} request body`);
        expectValid(shapeOf(seed.response), exchange.answer, `${what} answer`);
        continue;
      }
      // The reseller-wide listing is documented by the reseller pages; its items are the description's submissions.
      const described = exchange.path === '/submissions' ? operationFor('GET', '/sites/{site_id}/submissions') : operationFor(exchange.method, exchange.path);
      if (exchange.path === '/submissions') expect(seedText).toContain('GET /api/v1/submissions');
      expect(described, `${what} is not in Netlify's API description`).toBeDefined();
      if (!described) continue;
      const { operation, parameters } = described;

      for (const [name, value] of exchange.query) {
        if (operation.operationId === 'provisionSiteTLSCertificate' && name === NETLIFY_PAYMENT_METHOD_PARAM) continue; // unconfirmed by design
        const parameter = parameters.find((candidate) => candidate.in === 'query' && candidate.name === name);
        expect(parameter, `${what} sends query parameter ${name}, which ${operation.operationId} does not declare`).toBeDefined();
        if (parameter?.enum) expect(parameter.enum, `${what} ${name}`).toContain(value);
        if (parameter?.type === 'integer') expect(value, `${what} ${name}`).toMatch(/^\d+$/);
      }

      const bodyParameter = parameters.find((candidate) => candidate.in === 'body');
      if (bodyParameter?.schema) expectValid(bodyParameter.schema, JSON.parse(exchange.body), `${what} request body (${operation.operationId})`);
      else expect(exchange.body, `${what} sends a body ${operation.operationId} does not take`).toBe('');

      const schema = responseSchema(operation, exchange.status);
      if (exchange.status === 204) expect(exchange.answer).toBeUndefined();
      else {
        expect(schema, `${operation.operationId} has no schema for ${exchange.status}`).toBeDefined();
        if (schema) expectValid(schema, exchange.answer, `${what} answer ${exchange.status} (${operation.operationId})`);
      }
    }

    const used = new Set(exchanges.map((exchange) => operationFor(exchange.method, exchange.path)?.operation.operationId).filter(Boolean));
    expect([...used].sort()).toEqual(['createSite', 'deleteSite', 'getSite', 'listSites', 'provisionSiteTLSCertificate', 'showSiteTLSCertificate', 'updateSite']);
    // The description's createSite and updateSite bodies are `siteSetup`, as this test checked them against.
    expect(operationFor('POST', '/sites')?.parameters.find((p) => p.in === 'body')?.schema).toEqual(definition('siteSetup'));
    expect(operationFor('PATCH', `/sites/${SITE_ID}`)?.parameters.find((p) => p.in === 'body')?.schema).toEqual(definition('siteSetup'));
  });

  it('checks what it should: a body the description rejects fails validation', () => {
    expect(validatorFor(definition('siteSetup'))({ name: 'ok', force_ssl: 'yes' })).toBe(false);
    expect(validatorFor(definition('site'))({ id: 1 })).toBe(false);
    expect(validatorFor(definition('sniCertificate'))({ domains: 'acme-plumbing.com' })).toBe(false);
    expect(validatorFor(definition('error'))({ code: 422 })).toBe(false);
    expect(shapeOf(seedAccessTokenExamples().response)).toMatchObject({ required: ['id', 'access_token', 'user_id', 'created_at', 'email'] });
  });
});

/** A value of every property a schema describes, of the described type, as a full answer could have. */
function sample(schema: JsonObject, depth = 0): Json {
  if (typeof schema.$ref === 'string') return sample(spec.definitions[schema.$ref.replace('#/definitions/', '')] ?? {}, depth);
  if (Array.isArray(schema.allOf)) {
    return Object.assign({}, ...schema.allOf.map((part) => sample(part as JsonObject, depth))) as Json;
  }
  if (depth > 4) return schema.type === 'array' ? [] : schema.type === 'object' || schema.properties ? {} : null;
  switch (schema.type) {
    case 'string':
      return schema.format === 'dateTime' ? '2026-11-22T10:00:00Z' : Array.isArray(schema.enum) ? (schema.enum[0] as Json) : 'text';
    case 'integer':
    case 'number':
      return 1;
    case 'boolean':
      return true;
    case 'array':
      return [sample((schema.items as JsonObject) ?? {}, depth + 1)];
    default:
      if (schema.properties && typeof schema.properties === 'object') {
        return Object.fromEntries(Object.entries(schema.properties as JsonObject).map(([key, value]) => [key, sample(value as JsonObject, depth + 1)]));
      }
      return {};
  }
}

describe('what the description allows, the client reads', () => {
  async function served(route: string, body: unknown, status = 200) {
    answer(route, { status, body });
  }

  it('a site with every described field, or with only a few', async () => {
    const full = sample(definition('site')) as JsonObject;
    expectValid(definition('site'), full, 'generated full site');
    const fewer: JsonObject[] = [{ id: SITE_ID }, { id: SITE_ID, name: 'acme-plumbing-com', custom_domain: 'acme-plumbing.com' }, { ...site, future_field: { nested: [1, 2] } }];
    for (const body of [full, ...fewer]) {
      expectValid(definition('site'), body, 'site example');
      await served(`GET /sites/${SITE_ID}`, body);
      const parsed = await client().getSite(SITE_ID);
      expect(parsed?.id).toBe(body.id);
      expect(parsed?.name ?? null).toBe(body.name ?? null);
      expect(parsed?.domainAliases).toEqual(body.domain_aliases ?? []);
      const hooks = body.default_hooks_data as JsonObject | undefined;
      expect(parsed?.raw).toEqual(hooks?.access_token === undefined ? body : { ...body, default_hooks_data: { ...hooks, access_token: '[REDACTED]' } });
    }
  });

  it('certificates and submissions with every described field, or only a few', async () => {
    const user = client().asUser('user-token');
    for (const body of [sample(definition('sniCertificate')), { state: 'issued' }, {}]) {
      expectValid(definition('sniCertificate'), body, 'certificate example');
      await served(`GET /sites/${SITE_ID}/ssl`, body);
      expect(await user.showTls(SITE_ID)).toMatchObject({ state: (body as JsonObject).state ?? null });
    }
    const submissions = [sample(definition('submission')), { id: 'only-id' }, submission];
    expectValid({ type: 'array', items: definition('submission') }, submissions, 'submissions example');
    await served('GET /submissions', submissions);
    expect((await client().listSubmissions()).map((s) => s.id)).toEqual(['text', 'only-id', submission.id]);
  });

  it('a site without an id is allowed by the description but useless to us: refused, naming the field', async () => {
    const body = { name: 'acme-plumbing-com' };
    expectValid(definition('site'), body, 'site without id');
    await served(`GET /sites/${SITE_ID}`, body);
    const error = await client().getSite(SITE_ID).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(NetlifyApiError);
    expect((error as NetlifyApiError).message).toMatch(/unexpected shape \(fields: id\)/);
  });
});
