import { randomUUID } from 'node:crypto';
import express, { type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { pipedriveBasicAuth } from '../../crm/pipedrive/webhook.js';
import { CallLog } from '../platform/call-log.js';
import { FaultQueue } from '../platform/faults.js';
import { addPlatformKnobRoutes, createPlatformKnobs, knobRouter } from '../platform/knobs.js';
import { ApiError, type Reply, createPlatformPipeline } from '../platform/pipeline.js';
import { CrmState } from './state.js';
import type { CrmWebhookSender } from './webhooks.js';

/**
 * Pipedrive's API as the onboarding and a developer use it, under `/pipedrive` (standing for https://api.pipedrive.com):
 * persons, organizations and deals (v2: create, read, patch) and notes (v1: add, list), with the API token in the
 * `x-api-token` header (or `api_token` in the query). Adding a person or changing a deal sends the v2 webhook, with
 * the webhook's HTTP Basic auth, to the configured URL.
 *
 * Custom fields: Pipedrive keeps the client's website nowhere standard, so the simulated company has an organization
 * field "Website" and a deal field "Onboarding status", with fixed 40-character keys (PIPEDRIVE_SIM_FIELDS); a
 * custom_fields key it does not know is refused.
 */

export const PIPEDRIVE_ROUTES = ['create-person', 'get-person', 'update-person', 'create-organization', 'get-organization', 'update-organization', 'create-deal', 'get-deal', 'update-deal', 'add-note', 'list-notes', 'fields'] as const;
export type PipedriveRoute = (typeof PIPEDRIVE_ROUTES)[number];

/** Accepted when no token is configured; not a secret. */
export const DEV_PIPEDRIVE_API_TOKEN = 'dev-simulator-pipedrive-api-token';
/** The webhook's http_auth_user / http_auth_password when none are configured (the engine's development pair). */
export const DEV_PIPEDRIVE_WEBHOOK_USER = 'pipedrive';
export const DEV_PIPEDRIVE_WEBHOOK_PASSWORD = 'dev-pipedrive-webhook-password';
export const DEFAULT_PIPEDRIVE_COMPANY_ID = '7404010';

/** The simulated company's custom fields (the engine's development PIPEDRIVE_WEBSITE_FIELD and PIPEDRIVE_DEAL_STATUS_FIELD). */
export const PIPEDRIVE_SIM_FIELDS = {
  organizationWebsite: { key: '9aaf47c2da8bc5f5c289b45fc4ef9a61864a7978', name: 'Website', field_type: 'varchar' },
  dealOnboardingStatus: { key: '43a46675519b2f4ed537c6f52ff79496e78a7947', name: 'Onboarding status', field_type: 'varchar' },
} as const;
const CUSTOM_FIELD_KEYS = {
  persons: new Set<string>(),
  organizations: new Set<string>([PIPEDRIVE_SIM_FIELDS.organizationWebsite.key]),
  deals: new Set<string>([PIPEDRIVE_SIM_FIELDS.dealOnboardingStatus.key]),
};

const CustomFields = z.record(z.string(), z.unknown());
const Email = z.object({ value: z.string(), primary: z.boolean(), label: z.string() });
const PersonRecord = z.object({ id: z.number(), name: z.string(), emails: z.array(Email), org_id: z.number().nullable(), custom_fields: CustomFields, add_time: z.string(), update_time: z.string() });
type PersonRecord = z.infer<typeof PersonRecord>;
const OrganizationRecord = z.object({ id: z.number(), name: z.string(), custom_fields: CustomFields, add_time: z.string(), update_time: z.string() });
type OrganizationRecord = z.infer<typeof OrganizationRecord>;
const DealRecord = z.object({
  id: z.number(),
  title: z.string(),
  person_id: z.number().nullable(),
  org_id: z.number().nullable(),
  status: z.enum(['open', 'won', 'lost']),
  value: z.number(),
  currency: z.string(),
  stage_id: z.number(),
  pipeline_id: z.number(),
  custom_fields: CustomFields,
  add_time: z.string(),
  update_time: z.string(),
  won_time: z.string().nullable(),
});
type DealRecord = z.infer<typeof DealRecord>;
const NoteRecord = z.object({ id: z.number(), content: z.string(), person_id: z.number().nullable(), deal_id: z.number().nullable(), org_id: z.number().nullable(), add_time: z.string(), update_time: z.string() });
type NoteRecord = z.infer<typeof NoteRecord>;

const PipedriveState = z.object({
  version: z.literal(1),
  companyId: z.string(),
  userId: z.number(),
  nextId: z.number().int(),
  persons: z.array(PersonRecord),
  organizations: z.array(OrganizationRecord),
  deals: z.array(DealRecord),
  notes: z.array(NoteRecord),
});
type PipedriveState = z.infer<typeof PipedriveState>;

export interface PipedriveSimulatorOptions {
  /** API tokens accepted; default [DEV_PIPEDRIVE_API_TOKEN]. */
  apiTokens?: string[];
  /** The webhook's HTTP Basic auth; default DEV_PIPEDRIVE_WEBHOOK_USER / DEV_PIPEDRIVE_WEBHOOK_PASSWORD. */
  webhookUser?: string;
  webhookPassword?: string;
  /** The company id of a fresh state; default 7404010. */
  companyId?: string;
}

export interface PipedriveSimulatorDeps {
  options: PipedriveSimulatorOptions;
  stateFile: string | undefined;
  webhooks: CrmWebhookSender;
  now: () => number;
  shutdownSignal: AbortSignal;
}

const EmailsInput = z.array(z.object({ value: z.string().trim().min(1), primary: z.boolean().default(false), label: z.string().default('work') }));
const PersonInput = z.object({ name: z.string().trim().min(1), emails: EmailsInput.optional(), org_id: z.number().int().nullable().optional(), custom_fields: CustomFields.optional() });
const OrganizationInput = z.object({ name: z.string().trim().min(1), custom_fields: CustomFields.optional() });
const DealInput = z.object({
  title: z.string().trim().min(1),
  person_id: z.number().int().nullable().optional(),
  org_id: z.number().int().nullable().optional(),
  status: z.enum(['open', 'won', 'lost']).optional(),
  value: z.number().optional(),
  currency: z.string().optional(),
  stage_id: z.number().int().optional(),
  custom_fields: CustomFields.optional(),
});
const NoteInput = z.object({
  content: z.string().min(1),
  person_id: z.coerce.number().int().optional(),
  deal_id: z.coerce.number().int().optional(),
  org_id: z.coerce.number().int().optional(),
});

const ERROR_INFO = 'Please check developers.pipedrive.com for more information about Pipedrive API.';
function pipedriveError(status: number, error: string): ApiError {
  return new ApiError(status, { success: false, error, error_info: ERROR_INFO, data: null, additional_data: null });
}
function faultBody(status: number): unknown {
  return { success: false, error: status === 429 ? 'Request over limit' : status >= 500 ? 'Internal server error' : `Simulated fault with status ${status}`, errorCode: status, error_info: ERROR_INFO, data: null, additional_data: null };
}

/** The simulated Pipedrive company: its records, API router and knobs. */
export function createPipedriveSimulator(deps: PipedriveSimulatorDeps) {
  const { now, webhooks } = deps;
  const apiTokens = new Set(deps.options.apiTokens ?? [DEV_PIPEDRIVE_API_TOKEN]);
  const webhookAuth = pipedriveBasicAuth(deps.options.webhookUser ?? DEV_PIPEDRIVE_WEBHOOK_USER, deps.options.webhookPassword ?? DEV_PIPEDRIVE_WEBHOOK_PASSWORD);
  const empty = (): PipedriveState => ({ version: 1, companyId: deps.options.companyId ?? DEFAULT_PIPEDRIVE_COMPANY_ID, userId: 12001, nextId: 1, persons: [], organizations: [], deals: [], notes: [] });
  const store = new CrmState(deps.stateFile, PipedriveState, empty);
  const faults = new FaultQueue(PIPEDRIVE_ROUTES);
  const callLog = new CallLog<PipedriveRoute>(now);
  const s = () => store.state;
  /** v2 answers RFC 3339; v1 `YYYY-MM-DD HH:MM:SS` (UTC). */
  const rfc3339 = () => new Date(now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const v1Time = (at: string) => at.replace('T', ' ').replace('Z', '');
  const nextId = () => {
    const id = s().nextId;
    s().nextId += 1;
    return id;
  };

  const parse = <T extends z.ZodType>(schema: T, body: unknown): z.output<T> => {
    const parsed = schema.safeParse(body ?? {});
    if (!parsed.success) throw pipedriveError(400, `Validation failed: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`);
    return parsed.data;
  };
  const checkCustomFields = (entity: keyof typeof CUSTOM_FIELD_KEYS, fields: Record<string, unknown> | undefined) => {
    const unknown = Object.keys(fields ?? {}).filter((key) => !CUSTOM_FIELD_KEYS[entity].has(key));
    if (unknown.length > 0) throw pipedriveError(400, `Custom field with key '${unknown[0]}' does not exist.`);
    return fields ?? {};
  };
  const idParam = (req: Request): number => Number(req.params['id']);
  const findPerson = (id: number) => s().persons.find((p) => p.id === id);
  const findOrganization = (id: number) => s().organizations.find((o) => o.id === id);
  const findDeal = (id: number) => s().deals.find((d) => d.id === id);
  const personOr404 = (req: Request) => findPerson(idParam(req)) ?? throwNotFound('Person');
  const organizationOr404 = (req: Request) => findOrganization(idParam(req)) ?? throwNotFound('Organization');
  const dealOr404 = (req: Request) => findDeal(idParam(req)) ?? throwNotFound('Deal');
  function throwNotFound(what: string): never {
    throw pipedriveError(404, `${what} not found`);
  }
  const checkLinks = (links: { person_id?: number | null; org_id?: number | null }) => {
    if (links.person_id != null && !findPerson(links.person_id)) throw pipedriveError(400, `Person with id ${links.person_id} does not exist`);
    if (links.org_id != null && !findOrganization(links.org_id)) throw pipedriveError(400, `Organization with id ${links.org_id} does not exist`);
  };

  const personView = (p: PersonRecord) => {
    const [first = '', ...rest] = p.name.split(/\s+/);
    return { id: p.id, name: p.name, first_name: first, last_name: rest.join(' ') || null, owner_id: s().userId, org_id: p.org_id, emails: p.emails, phones: [], add_time: p.add_time, update_time: p.update_time, visible_to: 3, label_ids: [], is_deleted: false, custom_fields: p.custom_fields };
  };
  const organizationView = (o: OrganizationRecord) => ({ id: o.id, name: o.name, owner_id: s().userId, add_time: o.add_time, update_time: o.update_time, visible_to: 3, label_ids: [], address: null, is_deleted: false, custom_fields: o.custom_fields });
  const dealView = (d: DealRecord) => ({ ...d, owner_id: s().userId, creator_user_id: s().userId, is_deleted: false, probability: null, lost_reason: null, visible_to: 3, close_time: d.won_time, lost_time: null, expected_close_date: null, label_ids: [] });
  const noteView = (n: NoteRecord) => ({ id: n.id, content: n.content, person_id: n.person_id, deal_id: n.deal_id, org_id: n.org_id, lead_id: null, user_id: s().userId, add_time: v1Time(n.add_time), update_time: v1Time(n.update_time), active_flag: true, pinned_to_person_flag: false, pinned_to_deal_flag: false });
  const ok = (data: unknown, status = 200): Reply => ({ status, body: { success: true, data } });

  /** Pipedrive's v2 webhook: one event per delivery; the delivery id stays across retries, `attempt` counts them. */
  const deliver = (action: 'create' | 'change', entity: 'person' | 'deal', entityId: number, data: unknown, previous: Record<string, unknown> | null) => {
    const id = randomUUID();
    const at = rfc3339();
    webhooks.send('pipedrive', `${entity}.${action}`, String(entityId), (attempt) => ({
      body: JSON.stringify({
        meta: {
          action,
          entity,
          entity_id: String(entityId),
          id,
          correlation_id: id,
          company_id: s().companyId,
          user_id: String(s().userId),
          host: 'simulated.pipedrive.com',
          timestamp: at,
          attempt,
          version: '2.0',
          type: 'general',
          change_source: 'api',
          is_bulk_edit: false,
          webhook_id: '1',
          webhook_owner_id: String(s().userId),
        },
        data,
        previous,
      }),
      headers: webhookAuth,
    }));
  };

  // --- operations ---

  const createPerson = (req: Request): Reply => {
    const input = parse(PersonInput, req.body);
    checkLinks(input);
    const emails = (input.emails ?? []).map((email, index, all) => ({ ...email, primary: email.primary || (index === 0 && !all.some((e) => e.primary)) }));
    const at = rfc3339();
    const person: PersonRecord = { id: nextId(), name: input.name, emails, org_id: input.org_id ?? null, custom_fields: checkCustomFields('persons', input.custom_fields), add_time: at, update_time: at };
    s().persons.push(person);
    store.save();
    deliver('create', 'person', person.id, personView(person), null);
    return ok(personView(person));
  };

  const updatePerson = (req: Request): Reply => {
    const person = personOr404(req);
    const input = parse(PersonInput.partial(), req.body);
    checkLinks(input);
    if (input.name !== undefined) person.name = input.name;
    if (input.emails !== undefined) person.emails = input.emails.map((email, index, all) => ({ ...email, primary: email.primary || (index === 0 && !all.some((e) => e.primary)) }));
    if (input.org_id !== undefined) person.org_id = input.org_id;
    if (input.custom_fields !== undefined) person.custom_fields = { ...person.custom_fields, ...checkCustomFields('persons', input.custom_fields) };
    person.update_time = rfc3339();
    store.save();
    return ok(personView(person));
  };

  const createOrganization = (req: Request): Reply => {
    const input = parse(OrganizationInput, req.body);
    const at = rfc3339();
    const organization: OrganizationRecord = { id: nextId(), name: input.name, custom_fields: checkCustomFields('organizations', input.custom_fields), add_time: at, update_time: at };
    s().organizations.push(organization);
    store.save();
    return ok(organizationView(organization));
  };

  const updateOrganization = (req: Request): Reply => {
    const organization = organizationOr404(req);
    const input = parse(OrganizationInput.partial(), req.body);
    if (input.name !== undefined) organization.name = input.name;
    if (input.custom_fields !== undefined) organization.custom_fields = { ...organization.custom_fields, ...checkCustomFields('organizations', input.custom_fields) };
    organization.update_time = rfc3339();
    store.save();
    return ok(organizationView(organization));
  };

  const createDeal = (req: Request): Reply => {
    const input = parse(DealInput, req.body);
    checkLinks(input);
    const at = rfc3339();
    const status = input.status ?? 'open';
    const deal: DealRecord = {
      id: nextId(),
      title: input.title,
      person_id: input.person_id ?? null,
      org_id: input.org_id ?? null,
      status,
      value: input.value ?? 0,
      currency: input.currency ?? 'USD',
      stage_id: input.stage_id ?? 1,
      pipeline_id: 1,
      custom_fields: checkCustomFields('deals', input.custom_fields),
      add_time: at,
      update_time: at,
      won_time: status === 'won' ? at : null,
    };
    s().deals.push(deal);
    store.save();
    return ok(dealView(deal));
  };

  /** Changing a deal (marking it won, most of all) sends `change` with the fields it had before. */
  const updateDeal = (req: Request): Reply => {
    const deal = dealOr404(req);
    const input = parse(DealInput.partial(), req.body);
    checkLinks(input);
    const customFields = input.custom_fields === undefined ? undefined : checkCustomFields('deals', input.custom_fields);
    const previous: Record<string, unknown> = {};
    const change = <K extends keyof DealRecord>(key: K, value: DealRecord[K] | undefined) => {
      if (value === undefined || JSON.stringify(deal[key]) === JSON.stringify(value)) return;
      previous[key] = deal[key];
      deal[key] = value;
    };
    change('title', input.title);
    change('person_id', input.person_id);
    change('org_id', input.org_id);
    change('status', input.status);
    change('value', input.value);
    change('currency', input.currency);
    change('stage_id', input.stage_id);
    if (customFields !== undefined) change('custom_fields', { ...deal.custom_fields, ...customFields });
    if (previous['status'] !== undefined) deal.won_time = deal.status === 'won' ? rfc3339() : null;
    if (Object.keys(previous).length > 0) deal.update_time = rfc3339();
    store.save();
    if (Object.keys(previous).length > 0) deliver('change', 'deal', deal.id, dealView(deal), previous);
    return ok(dealView(deal));
  };

  const addNote = (req: Request): Reply => {
    const input = parse(NoteInput, req.body);
    if (input.person_id === undefined && input.deal_id === undefined && input.org_id === undefined) throw pipedriveError(400, 'Note must be associated with a deal, person, organization or lead.');
    if (input.person_id !== undefined && !findPerson(input.person_id)) throwNotFound('Person');
    if (input.deal_id !== undefined && !findDeal(input.deal_id)) throwNotFound('Deal');
    if (input.org_id !== undefined && !findOrganization(input.org_id)) throwNotFound('Organization');
    const at = rfc3339();
    const note: NoteRecord = { id: nextId(), content: input.content, person_id: input.person_id ?? null, deal_id: input.deal_id ?? null, org_id: input.org_id ?? null, add_time: at, update_time: at };
    s().notes.push(note);
    store.save();
    return ok(noteView(note), 201);
  };

  const listNotes = (req: Request): Reply => {
    const filter = (name: 'person_id' | 'deal_id' | 'org_id') => (req.query[name] === undefined ? undefined : Number(req.query[name]));
    const personId = filter('person_id');
    const dealId = filter('deal_id');
    const orgId = filter('org_id');
    const descending = /\bDESC\b/i.test(String(req.query['sort'] ?? ''));
    const start = Number(req.query['start'] ?? 0) || 0;
    const limit = Math.min(Number(req.query['limit'] ?? 100) || 100, 500);
    const matching = s()
      .notes.filter((n) => (personId === undefined || n.person_id === personId) && (dealId === undefined || n.deal_id === dealId) && (orgId === undefined || n.org_id === orgId))
      .sort((a, b) => (descending ? b.id - a.id : a.id - b.id));
    const page = matching.slice(start, start + limit);
    return {
      status: 200,
      body: { success: true, data: page.length > 0 ? page.map(noteView) : null, additional_data: { pagination: { start, limit, more_items_in_collection: start + limit < matching.length } } },
    };
  };

  const fieldsOf = (entity: 'organizations' | 'deals') => (): Reply => {
    const custom = entity === 'organizations' ? [PIPEDRIVE_SIM_FIELDS.organizationWebsite] : [PIPEDRIVE_SIM_FIELDS.dealOnboardingStatus];
    const standard = entity === 'organizations' ? [{ key: 'name', name: 'Name', field_type: 'varchar' }] : [{ key: 'title', name: 'Title', field_type: 'varchar' }, { key: 'status', name: 'Status', field_type: 'status' }];
    return ok([...standard.map((f, i) => ({ id: i + 1, ...f, edit_flag: false })), ...custom.map((f, i) => ({ id: 100 + i, ...f, edit_flag: true }))]);
  };

  // --- the router ---

  const { nameCall, applyInjectedFault, perform } = createPlatformPipeline({ faults, callLog, shutdownSignal: deps.shutdownSignal, faultBody });

  const authenticate: RequestHandler = (req, res, next) => {
    const token = req.get('x-api-token') ?? (typeof req.query['api_token'] === 'string' ? req.query['api_token'] : undefined);
    if (token && apiTokens.has(token)) {
      next();
      return;
    }
    res.status(401).json({ success: false, error: 'unauthorized access', errorCode: 401, error_info: ERROR_INFO, data: null, additional_data: null });
  };

  /** Pipedrive reports its 2-second window on every answer. */
  const rateLimitHeaders: RequestHandler = (_req, res, next) => {
    res.set({ 'x-ratelimit-limit': '80', 'x-ratelimit-remaining': '79', 'x-ratelimit-reset': '2' });
    next();
  };

  const endpoint = (route: PipedriveRoute, operation: (req: Request, res: Response) => Reply): RequestHandler[] => [nameCall(route), authenticate, rateLimitHeaders, express.json(), applyInjectedFault(route), perform(operation)];

  const router = express.Router();
  router.post('/api/v2/persons', ...endpoint('create-person', createPerson));
  router.get('/api/v2/persons/:id', ...endpoint('get-person', (req) => ok(personView(personOr404(req)))));
  router.patch('/api/v2/persons/:id', ...endpoint('update-person', updatePerson));
  router.post('/api/v2/organizations', ...endpoint('create-organization', createOrganization));
  router.get('/api/v2/organizations/:id', ...endpoint('get-organization', (req) => ok(organizationView(organizationOr404(req)))));
  router.patch('/api/v2/organizations/:id', ...endpoint('update-organization', updateOrganization));
  router.post('/api/v2/deals', ...endpoint('create-deal', createDeal));
  router.get('/api/v2/deals/:id', ...endpoint('get-deal', (req) => ok(dealView(dealOr404(req)))));
  router.patch('/api/v2/deals/:id', ...endpoint('update-deal', updateDeal));
  router.post('/api/v1/notes', ...endpoint('add-note', addNote));
  router.get('/api/v1/notes', ...endpoint('list-notes', listNotes));
  router.get('/api/v1/organizationFields', ...endpoint('fields', fieldsOf('organizations')));
  router.get('/api/v1/dealFields', ...endpoint('fields', fieldsOf('deals')));
  router.use((_req: Request, res: Response) => {
    res.status(404).json({ success: false, error: 'Unknown method .', error_info: ERROR_INFO, data: null, additional_data: null });
  });

  // --- knobs ---

  const knobs = {
    ...createPlatformKnobs(faults, callLog),
    companyId: () => s().companyId,
    persons: () => s().persons.map(personView),
    organizations: () => s().organizations.map(organizationView),
    deals: () => s().deals.map(dealView),
    notes: () => s().notes.map(noteView),
    reset(): void {
      store.reset();
      faults.clear();
      callLog.clear();
    },
  };

  const knobRoutes = knobRouter();
  addPlatformKnobRoutes(knobRoutes, knobs);
  knobRoutes.get('/persons', (_req, res) => {
    res.json(knobs.persons());
  });
  knobRoutes.get('/organizations', (_req, res) => {
    res.json(knobs.organizations());
  });
  knobRoutes.get('/deals', (_req, res) => {
    res.json(knobs.deals());
  });
  knobRoutes.get('/notes', (_req, res) => {
    res.json(knobs.notes());
  });

  return { router, knobs, knobRoutes, callLog };
}

export type PipedriveSimulator = ReturnType<typeof createPipedriveSimulator>;
export type PipedriveKnobs = PipedriveSimulator['knobs'];
