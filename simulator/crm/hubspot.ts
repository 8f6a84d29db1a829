import { randomUUID } from 'node:crypto';
import express, { type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { hubspotContactCreation, hubspotDealStageChange, signHubspotDelivery } from '../../crm/hubspot/webhook.js';
import { CallLog } from '../platform/call-log.js';
import { FaultQueue } from '../platform/faults.js';
import { addPlatformKnobRoutes, createPlatformKnobs, knobRouter } from '../platform/knobs.js';
import { ApiError, type Reply, createPlatformPipeline } from '../platform/pipeline.js';
import { CrmState, bearerTokenOf } from './state.js';
import type { CrmWebhookSender } from './webhooks.js';

/**
 * HubSpot's CRM API as the onboarding and a developer use it, under `/hubspot` (standing for https://api.hubapi.com):
 * contacts, companies and deals (create, read, patch), their associations (v3 and v4), contact properties and
 * property groups. A private app token as `Authorization: Bearer`. Creating a contact, or moving a deal to another
 * stage, sends the app's webhook (signature v3) to the configured URL.
 */

export const HUBSPOT_ROUTES = [
  'create-contact',
  'get-contact',
  'update-contact',
  'create-company',
  'get-company',
  'update-company',
  'create-deal',
  'get-deal',
  'update-deal',
  'associations',
  'create-association',
  'properties',
  'create-property',
  'create-property-group',
] as const;
export type HubSpotRoute = (typeof HUBSPOT_ROUTES)[number];

/** Accepted when no token is configured; not a secret. */
export const DEV_HUBSPOT_ACCESS_TOKEN = 'pat-dev-simulator-hubspot-token';
/** The simulated app's client secret when none is configured (the engine's development HUBSPOT_CLIENT_SECRET). */
export const DEV_HUBSPOT_CLIENT_SECRET = 'dev-hubspot-client-secret-0123456789';
export const DEFAULT_HUBSPOT_PORTAL_ID = '62515';

type ObjectType = 'contacts' | 'companies' | 'deals';
const OBJECT_TYPES: readonly ObjectType[] = ['contacts', 'companies', 'deals'];

/** HubSpot's own properties of each object (custom contact properties come on top). */
const BUILT_IN_PROPERTIES: Record<ObjectType, readonly string[]> = {
  contacts: ['email', 'firstname', 'lastname', 'website', 'company', 'phone', 'jobtitle', 'city', 'state', 'lifecyclestage'],
  companies: ['name', 'domain', 'website', 'phone', 'city', 'state', 'industry'],
  deals: ['dealname', 'dealstage', 'pipeline', 'amount', 'closedate'],
};
const READ_ONLY_PROPERTIES = ['hs_object_id', 'createdate', 'lastmodifieddate'];
/** What GET answers when no `properties` are asked for. */
const DEFAULT_PROPERTIES: Record<ObjectType, readonly string[]> = {
  contacts: ['email', 'firstname', 'lastname'],
  companies: ['name', 'domain'],
  deals: ['dealname', 'dealstage', 'pipeline', 'amount', 'closedate'],
};
/** The default sales pipeline's stages. */
export const HUBSPOT_DEAL_STAGES = ['appointmentscheduled', 'qualifiedtobuy', 'presentationscheduled', 'decisionmakerboughtin', 'contractsent', 'closedwon', 'closedlost'];

/** HubSpot-defined association types: id → from, to, the inverse type, and its name in v3 answers. */
const ASSOCIATION_TYPES: Record<number, { from: ObjectType; to: ObjectType; inverse: number; name: string; label: string | null }> = {
  1: { from: 'contacts', to: 'companies', inverse: 2, name: 'contact_to_company', label: 'Primary' },
  2: { from: 'companies', to: 'contacts', inverse: 1, name: 'company_to_contact', label: 'Primary' },
  279: { from: 'contacts', to: 'companies', inverse: 280, name: 'contact_to_company_unlabeled', label: null },
  280: { from: 'companies', to: 'contacts', inverse: 279, name: 'company_to_contact_unlabeled', label: null },
  3: { from: 'deals', to: 'contacts', inverse: 4, name: 'deal_to_contact', label: null },
  4: { from: 'contacts', to: 'deals', inverse: 3, name: 'contact_to_deal', label: null },
  5: { from: 'deals', to: 'companies', inverse: 6, name: 'deal_to_company', label: 'Primary' },
  6: { from: 'companies', to: 'deals', inverse: 5, name: 'company_to_deal', label: 'Primary' },
  341: { from: 'deals', to: 'companies', inverse: 342, name: 'deal_to_company_unlabeled', label: null },
  342: { from: 'companies', to: 'deals', inverse: 341, name: 'company_to_deal_unlabeled', label: null },
};
/** The type a `default` association (v4) creates between two kinds of objects. */
const DEFAULT_ASSOCIATION: Record<string, number> = {
  'contacts>companies': 279,
  'companies>contacts': 280,
  'deals>contacts': 3,
  'contacts>deals': 4,
  'deals>companies': 341,
  'companies>deals': 342,
};

const ObjectRecord = z.object({
  id: z.string(),
  properties: z.record(z.string(), z.string().nullable()),
  createdAt: z.string(),
  updatedAt: z.string(),
});
type ObjectRecord = z.infer<typeof ObjectRecord>;
const Association = z.object({ fromType: z.enum(['contacts', 'companies', 'deals']), fromId: z.string(), toType: z.enum(['contacts', 'companies', 'deals']), toId: z.string(), typeId: z.number() });
type Association = z.infer<typeof Association>;
const PropertyGroup = z.object({ name: z.string(), label: z.string(), displayOrder: z.number() });
const Property = z.object({ name: z.string(), label: z.string(), type: z.string(), fieldType: z.string(), groupName: z.string(), description: z.string() });
type Property = z.infer<typeof Property>;

const HubSpotState = z.object({
  version: z.literal(1),
  portalId: z.string(),
  nextId: z.number().int(),
  nextEventId: z.number().int(),
  contacts: z.array(ObjectRecord),
  companies: z.array(ObjectRecord),
  deals: z.array(ObjectRecord),
  associations: z.array(Association),
  propertyGroups: z.array(PropertyGroup),
  properties: z.array(Property),
});
type HubSpotState = z.infer<typeof HubSpotState>;

export interface HubSpotSimulatorOptions {
  /** Private app tokens accepted as `Authorization: Bearer`; default [DEV_HUBSPOT_ACCESS_TOKEN]. */
  accessTokens?: string[];
  /** The app's client secret, which signs the webhooks; default DEV_HUBSPOT_CLIENT_SECRET. */
  clientSecret?: string;
  /** The portal (account) id of a fresh state; default 62515. */
  portalId?: string;
}

export interface HubSpotSimulatorDeps {
  options: HubSpotSimulatorOptions;
  stateFile: string | undefined;
  webhooks: CrmWebhookSender;
  now: () => number;
  shutdownSignal: AbortSignal;
}

const AssociationInput = z.array(
  z.object({
    to: z.object({ id: z.union([z.string(), z.number()]).transform(String) }),
    types: z.array(z.object({ associationCategory: z.string().optional(), associationTypeId: z.number().int() })).min(1),
  }),
);
const ObjectInput = z.object({ properties: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).default({}), associations: AssociationInput.optional() });
const PropertyGroupInput = z.object({ name: z.string().regex(/^[a-z0-9_]+$/), label: z.string().min(1), displayOrder: z.number().int().default(-1) });
const PropertyInput = z.object({
  name: z.string().regex(/^[a-z][a-z0-9_]*$/),
  label: z.string().min(1),
  type: z.enum(['string', 'number', 'date', 'datetime', 'enumeration', 'bool']),
  fieldType: z.string().min(1),
  groupName: z.string().min(1),
  description: z.string().default(''),
});

function hubspotError(status: number, message: string, category: string, extra: Record<string, unknown> = {}): ApiError {
  return new ApiError(status, { status: 'error', message, correlationId: randomUUID(), category, ...extra });
}

/** HubSpot's error bodies for the statuses a test is likely to inject. */
function faultBody(status: number): unknown {
  if (status === 429) return { status: 'error', message: 'You have reached your ten_secondly_rolling limit.', errorType: 'RATE_LIMIT', correlationId: randomUUID(), policyName: 'TEN_SECONDLY_ROLLING' };
  return { status: 'error', message: status >= 500 ? 'internal error' : `Simulated fault with status ${status}.`, correlationId: randomUUID(), category: status >= 500 ? 'INTERNAL_ERROR' : 'SIMULATED' };
}

/** The simulated HubSpot portal: its records, API router and knobs. */
export function createHubSpotSimulator(deps: HubSpotSimulatorDeps) {
  const { now, webhooks } = deps;
  const accessTokens = new Set(deps.options.accessTokens ?? [DEV_HUBSPOT_ACCESS_TOKEN]);
  const clientSecret = deps.options.clientSecret ?? DEV_HUBSPOT_CLIENT_SECRET;
  const empty = (): HubSpotState => ({
    version: 1,
    portalId: deps.options.portalId ?? DEFAULT_HUBSPOT_PORTAL_ID,
    nextId: 1001,
    nextEventId: 1,
    contacts: [],
    companies: [],
    deals: [],
    associations: [],
    propertyGroups: [],
    properties: [],
  });
  const store = new CrmState(deps.stateFile, HubSpotState, empty);
  const faults = new FaultQueue(HUBSPOT_ROUTES);
  const callLog = new CallLog<HubSpotRoute>(now);
  const s = () => store.state;
  const iso = () => new Date(now()).toISOString();

  const objectsOf = (type: ObjectType): ObjectRecord[] => s()[type];
  const find = (type: ObjectType, id: string): ObjectRecord | undefined => objectsOf(type).find((object) => object.id === id);
  const knownProperties = (type: ObjectType): Set<string> =>
    new Set([...BUILT_IN_PROPERTIES[type], ...READ_ONLY_PROPERTIES, ...(type === 'contacts' ? s().properties.map((p) => p.name) : [])]);

  const checkProperties = (type: ObjectType, properties: Record<string, unknown>): Record<string, string | null> => {
    const known = knownProperties(type);
    const invalid = Object.keys(properties).filter((name) => !known.has(name));
    if (invalid.length > 0) {
      const details = invalid.map((name) => ({ isValid: false, message: `Property "${name}" does not exist`, error: 'PROPERTY_DOESNT_EXIST', name, localizedErrorMessage: `Property "${name}" does not exist` }));
      throw hubspotError(400, `Property values were not valid: ${JSON.stringify(details)}`, 'VALIDATION_ERROR');
    }
    const readOnly = Object.keys(properties).filter((name) => READ_ONLY_PROPERTIES.includes(name));
    if (readOnly.length > 0) throw hubspotError(400, `Property values were not valid: ${readOnly.join(', ')} is read-only`, 'VALIDATION_ERROR');
    if (type === 'deals' && properties['dealstage'] !== undefined && !HUBSPOT_DEAL_STAGES.includes(String(properties['dealstage']))) {
      throw hubspotError(400, `Property values were not valid: ${JSON.stringify([{ isValid: false, message: `${String(properties['dealstage'])} was not one of the allowed options`, error: 'INVALID_OPTION', name: 'dealstage' }])}`, 'VALIDATION_ERROR');
    }
    return Object.fromEntries(Object.entries(properties).map(([name, value]) => [name, value === null ? null : String(value)]));
  };

  const associate = (fromType: ObjectType, fromId: string, toId: string, typeId: number): void => {
    const type = ASSOCIATION_TYPES[typeId];
    if (!type || type.from !== fromType) throw hubspotError(400, `association type ${typeId} is not valid from ${fromType}`, 'VALIDATION_ERROR');
    if (!find(type.to, toId)) throw hubspotError(400, `${type.to} ${toId} does not exist`, 'VALIDATION_ERROR');
    const add = (association: Association) => {
      const exists = s().associations.some((a) => a.fromType === association.fromType && a.fromId === association.fromId && a.toId === association.toId && a.typeId === association.typeId);
      if (!exists) s().associations.push(association);
    };
    add({ fromType, fromId, toType: type.to, toId, typeId });
    add({ fromType: type.to, fromId: toId, toType: fromType, toId: fromId, typeId: type.inverse });
    // A contact's first company becomes its primary one, as in HubSpot.
    if (fromType === 'contacts' && type.to === 'companies' && !s().associations.some((a) => a.fromType === 'contacts' && a.fromId === fromId && a.typeId === 1)) {
      add({ fromType, fromId, toType: 'companies', toId, typeId: 1 });
      add({ fromType: 'companies', fromId: toId, toType: 'contacts', toId: fromId, typeId: 2 });
    }
  };

  const associationsOf = (fromType: ObjectType, fromId: string, toType: ObjectType): Association[] =>
    s().associations.filter((a) => a.fromType === fromType && a.fromId === fromId && a.toType === toType && find(toType, a.toId));

  const view = (type: ObjectType, object: ObjectRecord, req?: Request) => {
    const asked = typeof req?.query['properties'] === 'string' ? String(req.query['properties']).split(',').map((p) => p.trim()).filter(Boolean) : [...DEFAULT_PROPERTIES[type]];
    const properties: Record<string, string | null> = {
      createdate: object.createdAt,
      hs_object_id: object.id,
      lastmodifieddate: object.updatedAt,
    };
    for (const name of asked) if (knownProperties(type).has(name)) properties[name] = object.properties[name] ?? null;
    const withAssociations = typeof req?.query['associations'] === 'string' ? String(req.query['associations']).split(',').map((t) => t.trim()) : [];
    const associations: Record<string, { results: { id: string; type: string }[] }> = {};
    for (const toType of withAssociations) {
      if (!OBJECT_TYPES.includes(toType as ObjectType)) continue;
      const results = associationsOf(type, object.id, toType as ObjectType).map((a) => ({ id: a.toId, type: ASSOCIATION_TYPES[a.typeId]?.name ?? String(a.typeId) }));
      if (results.length > 0) associations[toType] = { results };
    }
    return {
      id: object.id,
      properties,
      createdAt: object.createdAt,
      updatedAt: object.updatedAt,
      archived: false,
      ...(Object.keys(associations).length > 0 ? { associations } : {}),
    };
  };

  const nextEventId = (): number => {
    const id = s().nextEventId;
    s().nextEventId += 1;
    return id;
  };

  /** The app's webhook for one event; HubSpot counts attempts from 0. */
  const deliver = (event: ReturnType<typeof hubspotContactCreation>, name: string, objectId: string) => {
    webhooks.send('hubspot', name, objectId, (attempt, url) => {
      const body = JSON.stringify([{ ...event, attemptNumber: attempt - 1 }]);
      return { body, headers: signHubspotDelivery({ clientSecret, method: 'POST', url, body, timestampMs: now() }) };
    });
  };

  const stageChanged = (deal: ObjectRecord, before: string | null | undefined) => {
    const stage = deal.properties['dealstage'];
    if (!stage || stage === before) return;
    deliver(hubspotDealStageChange({ portalId: Number(s().portalId), dealId: Number(deal.id), stage, eventId: nextEventId(), occurredAt: new Date(now()) }), 'deal.propertyChange', deal.id);
  };

  // --- operations ---

  const objectFrom = (type: ObjectType, req: Request): ObjectRecord => {
    const object = find(type, String(req.params['id']));
    if (!object) throw hubspotError(404, 'Object not found.  objectId are usually numeric.', 'OBJECT_NOT_FOUND', { context: { id: [String(req.params['id'])] } });
    return object;
  };

  const parse = <T extends z.ZodType>(schema: T, body: unknown): z.output<T> => {
    const parsed = schema.safeParse(body ?? {});
    if (!parsed.success) throw hubspotError(400, `Invalid input JSON: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`, 'VALIDATION_ERROR');
    return parsed.data;
  };

  const create = (type: ObjectType) => (req: Request): Reply => {
    const input = parse(ObjectInput, req.body);
    const properties = checkProperties(type, input.properties);
    if (type === 'contacts' && properties['email']) {
      const email = properties['email'].toLowerCase();
      const existing = s().contacts.find((contact) => contact.properties['email']?.toLowerCase() === email);
      if (existing) throw hubspotError(409, `Contact already exists. Existing ID: ${existing.id}`, 'CONFLICT');
    }
    for (const association of input.associations ?? []) {
      for (const t of association.types) {
        const known = ASSOCIATION_TYPES[t.associationTypeId];
        if (!known || known.from !== type) throw hubspotError(400, `association type ${t.associationTypeId} is not valid from ${type}`, 'VALIDATION_ERROR');
        if (!find(known.to, association.to.id)) throw hubspotError(400, `${known.to} ${association.to.id} does not exist`, 'VALIDATION_ERROR');
      }
    }
    const at = iso();
    const object: ObjectRecord = { id: String(s().nextId), properties, createdAt: at, updatedAt: at };
    s().nextId += 1;
    objectsOf(type).push(object);
    for (const association of input.associations ?? []) for (const t of association.types) associate(type, object.id, association.to.id, t.associationTypeId);
    if (type === 'contacts') deliver(hubspotContactCreation({ portalId: Number(s().portalId), contactId: Number(object.id), eventId: nextEventId(), occurredAt: new Date(now()) }), 'contact.creation', object.id);
    if (type === 'deals') stageChanged(object, undefined);
    store.save();
    return { status: 201, body: view(type, object) };
  };

  const read = (type: ObjectType) => (req: Request): Reply => ({ status: 200, body: view(type, objectFrom(type, req), req) });

  const update = (type: ObjectType) => (req: Request): Reply => {
    const object = objectFrom(type, req);
    const input = parse(z.object({ properties: ObjectInput.shape.properties }), req.body);
    const properties = checkProperties(type, input.properties);
    const stageBefore = object.properties['dealstage'];
    object.properties = { ...object.properties, ...properties };
    object.updatedAt = iso();
    if (type === 'deals') stageChanged(object, stageBefore);
    store.save();
    return { status: 200, body: view(type, object) };
  };

  const objectTypeParam = (value: unknown): ObjectType => {
    const name = String(value);
    const aliases: Record<string, ObjectType> = { contacts: 'contacts', contact: 'contacts', '0-1': 'contacts', companies: 'companies', company: 'companies', '0-2': 'companies', deals: 'deals', deal: 'deals', '0-3': 'deals' };
    const type = aliases[name];
    if (!type) throw hubspotError(400, `Unable to infer object type from: ${name}`, 'VALIDATION_ERROR');
    return type;
  };

  const listAssociationsV3 = (req: Request): Reply => {
    const fromType = objectTypeParam(req.params['fromType']);
    const from = find(fromType, String(req.params['id']));
    if (!from) throw hubspotError(404, 'Object not found.', 'OBJECT_NOT_FOUND');
    const toType = objectTypeParam(req.params['toType']);
    return { status: 200, body: { results: associationsOf(fromType, from.id, toType).map((a) => ({ id: a.toId, type: ASSOCIATION_TYPES[a.typeId]?.name ?? String(a.typeId) })) } };
  };

  const listAssociationsV4 = (req: Request): Reply => {
    const fromType = objectTypeParam(req.params['fromType']);
    const from = find(fromType, String(req.params['id']));
    if (!from) throw hubspotError(404, 'Object not found.', 'OBJECT_NOT_FOUND');
    const toType = objectTypeParam(req.params['toType']);
    const byTarget = new Map<string, { category: string; typeId: number; label: string | null }[]>();
    for (const a of associationsOf(fromType, from.id, toType)) {
      const types = byTarget.get(a.toId) ?? [];
      types.push({ category: 'HUBSPOT_DEFINED', typeId: a.typeId, label: ASSOCIATION_TYPES[a.typeId]?.label ?? null });
      byTarget.set(a.toId, types);
    }
    return { status: 200, body: { results: [...byTarget].map(([toId, associationTypes]) => ({ toObjectId: Number(toId), associationTypes })) } };
  };

  const createDefaultAssociation = (req: Request): Reply => {
    const fromType = objectTypeParam(req.params['fromType']);
    const toType = objectTypeParam(req.params['toType']);
    const fromId = String(req.params['fromId']);
    const toId = String(req.params['toId']);
    if (!find(fromType, fromId) || !find(toType, toId)) throw hubspotError(404, 'Object not found.', 'OBJECT_NOT_FOUND');
    const typeId = DEFAULT_ASSOCIATION[`${fromType}>${toType}`];
    if (typeId === undefined) throw hubspotError(400, `No default association from ${fromType} to ${toType}`, 'VALIDATION_ERROR');
    associate(fromType, fromId, toId, typeId);
    store.save();
    return {
      status: 200,
      body: { status: 'COMPLETE', results: [{ from: { id: fromId }, to: { id: toId }, associationSpec: { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: typeId } }], startedAt: iso(), completedAt: iso() },
    };
  };

  const listProperties = (): Reply => ({
    status: 200,
    body: {
      results: [
        ...BUILT_IN_PROPERTIES.contacts.map((name) => ({ name, label: name, type: 'string', fieldType: 'text', groupName: 'contactinformation', hubspotDefined: true })),
        ...s().properties,
      ],
    },
  });

  const createPropertyGroup = (req: Request): Reply => {
    const group = parse(PropertyGroupInput, req.body);
    if (s().propertyGroups.some((g) => g.name === group.name)) throw hubspotError(409, `A property group named '${group.name}' already exists.`, 'OBJECT_ALREADY_EXISTS');
    s().propertyGroups.push(group);
    store.save();
    return { status: 201, body: { ...group, archived: false } };
  };

  const createProperty = (req: Request): Reply => {
    const property = parse(PropertyInput, req.body);
    if (knownProperties('contacts').has(property.name)) throw hubspotError(409, `Property named '${property.name}' already exists.`, 'OBJECT_ALREADY_EXISTS');
    if (!s().propertyGroups.some((g) => g.name === property.groupName) && property.groupName !== 'contactinformation') {
      throw hubspotError(400, `Property group ${property.groupName} does not exist.`, 'VALIDATION_ERROR');
    }
    s().properties.push(property);
    store.save();
    return { status: 201, body: { ...property, hidden: false, formField: false, archived: false, createdAt: iso() } };
  };

  // --- the router ---

  const { nameCall, applyInjectedFault, perform } = createPlatformPipeline({ faults, callLog, shutdownSignal: deps.shutdownSignal, faultBody });

  const authenticate: RequestHandler = (req, res, next) => {
    const token = bearerTokenOf(req.get('authorization'));
    if (token && accessTokens.has(token)) {
      next();
      return;
    }
    res.status(401).json({
      status: 'error',
      message: token ? 'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview' : 'Authentication credentials not found.',
      correlationId: randomUUID(),
      category: 'INVALID_AUTHENTICATION',
    });
  };

  /** HubSpot reports its rolling window on every answer. */
  const rateLimitHeaders: RequestHandler = (_req, res, next) => {
    res.set({ 'X-HubSpot-RateLimit-Interval-Milliseconds': '10000', 'X-HubSpot-RateLimit-Max': '100', 'X-HubSpot-RateLimit-Remaining': '99' });
    next();
  };

  const endpoint = (route: HubSpotRoute, operation: (req: Request, res: Response) => Reply): RequestHandler[] => [nameCall(route), authenticate, rateLimitHeaders, express.json(), applyInjectedFault(route), perform(operation)];

  const router = express.Router();
  for (const type of OBJECT_TYPES) {
    const singular = type === 'companies' ? 'company' : type.slice(0, -1);
    router.post(`/crm/v3/objects/${type}`, ...endpoint(`create-${singular}` as HubSpotRoute, create(type)));
    router.get(`/crm/v3/objects/${type}/:id`, ...endpoint(`get-${singular}` as HubSpotRoute, read(type)));
    router.patch(`/crm/v3/objects/${type}/:id`, ...endpoint(`update-${singular}` as HubSpotRoute, update(type)));
  }
  router.get('/crm/v3/objects/:fromType/:id/associations/:toType', ...endpoint('associations', listAssociationsV3));
  router.get('/crm/v4/objects/:fromType/:id/associations/:toType', ...endpoint('associations', listAssociationsV4));
  router.put('/crm/v4/objects/:fromType/:fromId/associations/default/:toType/:toId', ...endpoint('create-association', createDefaultAssociation));
  router.get('/crm/v3/properties/contacts', ...endpoint('properties', listProperties));
  router.post('/crm/v3/properties/contacts', ...endpoint('create-property', createProperty));
  router.post('/crm/v3/properties/contacts/groups', ...endpoint('create-property-group', createPropertyGroup));
  router.use((_req: Request, res: Response) => {
    res.status(404).json({ status: 'error', message: 'Resource not found', correlationId: randomUUID(), category: 'OBJECT_NOT_FOUND' });
  });

  // --- knobs ---

  const knobs = {
    ...createPlatformKnobs(faults, callLog),
    portalId: () => s().portalId,
    contacts: () => s().contacts.map((contact) => view('contacts', contact)),
    companies: () => s().companies.map((company) => view('companies', company)),
    deals: () => s().deals.map((deal) => view('deals', deal)),
    /** The custom contact properties (the onboarding's, once it has written progress). */
    properties: (): Property[] => s().properties.map((property) => ({ ...property })),
    propertyGroups: () => s().propertyGroups.map((group) => ({ ...group })),
    /** Every property of a contact, custom ones included; undefined when there is no such contact. */
    contactProperties: (id: string): Record<string, string | null> | undefined => {
      const contact = find('contacts', id);
      return contact && { ...contact.properties };
    },
    reset(): void {
      store.reset();
      faults.clear();
      callLog.clear();
    },
  };

  const knobRoutes = knobRouter();
  addPlatformKnobRoutes(knobRoutes, knobs);
  knobRoutes.get('/contacts', (_req, res) => {
    res.json(s().contacts.map((contact) => ({ ...view('contacts', contact), properties: { ...contact.properties } })));
  });
  knobRoutes.get('/companies', (_req, res) => {
    res.json(knobs.companies());
  });
  knobRoutes.get('/deals', (_req, res) => {
    res.json(knobs.deals());
  });
  knobRoutes.get('/properties', (_req, res) => {
    res.json({ groups: knobs.propertyGroups(), properties: knobs.properties() });
  });

  return { router, knobs, knobRoutes, callLog };
}

export type HubSpotSimulator = ReturnType<typeof createHubSpotSimulator>;
export type HubSpotKnobs = HubSpotSimulator['knobs'];
