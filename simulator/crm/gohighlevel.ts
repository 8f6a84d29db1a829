import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import express, { type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { goHighLevelContactCreate, goHighLevelOpportunityWon, signGoHighLevelDelivery } from '../../crm/gohighlevel/webhook.js';
import { CallLog } from '../platform/call-log.js';
import { FaultQueue } from '../platform/faults.js';
import { addPlatformKnobRoutes, createPlatformKnobs, knobRouter } from '../platform/knobs.js';
import { ApiError, type Reply, createPlatformPipeline } from '../platform/pipeline.js';
import { CrmState, alphanumericId, bearerTokenOf } from './state.js';
import type { CrmWebhookSender } from './webhooks.js';

/**
 * HighLevel's LeadConnector API as the onboarding and a developer use it, under `/gohighlevel` (standing for
 * https://services.leadconnectorhq.com): contacts (create, read, update, tags), the location's custom fields, and
 * opportunities (create, read, status). A sub-account token as `Authorization: Bearer` plus the `Version: 2021-07-28`
 * header. Creating a contact sends `ContactCreate`, an opportunity's status change `OpportunityStatusUpdate`, signed
 * with Ed25519: by the private key given (`npm start` gives the engine's public development key pair, which
 * `npm run send-webhook` signs with too), else by a key made for each simulator state. The public key in use is at
 * `GET /gohighlevel/.well-known/webhook-public-key`: what the engine's GHL_WEBHOOK_PUBLIC_KEY must be.
 */

export const GOHIGHLEVEL_ROUTES = ['create-contact', 'get-contact', 'update-contact', 'add-tags', 'remove-tags', 'custom-fields', 'create-opportunity', 'get-opportunity', 'update-opportunity-status'] as const;
export type GoHighLevelRoute = (typeof GOHIGHLEVEL_ROUTES)[number];

/** Accepted when no token is configured; not a secret. */
export const DEV_GHL_API_TOKEN = 'pit-dev-simulator-gohighlevel-token';
export const DEFAULT_GHL_LOCATION_ID = 'SimLocation4010dev01';
/** The location's custom field the onboarding writes its summary to (the engine's development GHL_STATUS_FIELD_ID). */
export const GHL_SIM_STATUS_FIELD = { id: 'SimOnboardingStatus1', name: 'Onboarding status', fieldKey: 'contact.onboarding_status', dataType: 'TEXT' } as const;

const ContactRecord = z.object({
  id: z.string(),
  locationId: z.string(),
  firstName: z.string().nullable(),
  lastName: z.string().nullable(),
  email: z.string().nullable(),
  phone: z.string().nullable(),
  companyName: z.string().nullable(),
  website: z.string().nullable(),
  source: z.string().nullable(),
  tags: z.array(z.string()),
  customFields: z.array(z.object({ id: z.string(), value: z.string() })),
  dateAdded: z.string(),
  dateUpdated: z.string(),
});
type ContactRecord = z.infer<typeof ContactRecord>;
const OpportunityRecord = z.object({
  id: z.string(),
  locationId: z.string(),
  name: z.string(),
  contactId: z.string(),
  pipelineId: z.string(),
  pipelineStageId: z.string().nullable(),
  status: z.enum(['open', 'won', 'lost', 'abandoned']),
  monetaryValue: z.number(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
type OpportunityRecord = z.infer<typeof OpportunityRecord>;

const GoHighLevelState = z.object({
  version: z.literal(1),
  locationId: z.string(),
  /** The Ed25519 key that signs this location's webhooks (PKCS#8 PEM); the state file is mode 0600. */
  webhookPrivateKey: z.string(),
  contacts: z.array(ContactRecord),
  opportunities: z.array(OpportunityRecord),
});
type GoHighLevelState = z.infer<typeof GoHighLevelState>;

export interface GoHighLevelSimulatorOptions {
  /** Tokens accepted; default [DEV_GHL_API_TOKEN]. */
  apiTokens?: string[];
  /** The location of a fresh state; default SimLocation4010dev01. */
  locationId?: string;
  /** The Ed25519 key that signs webhooks (PKCS#8, PEM or base64 DER); default: the one made for this state. */
  webhookPrivateKey?: string;
}

export interface GoHighLevelSimulatorDeps {
  options: GoHighLevelSimulatorOptions;
  stateFile: string | undefined;
  webhooks: CrmWebhookSender;
  now: () => number;
  shutdownSignal: AbortSignal;
}

const text = z.string().trim().nullish();
const ContactInput = z.object({
  locationId: z.string().trim().min(1),
  firstName: text,
  lastName: text,
  name: text,
  email: text,
  phone: text,
  companyName: text,
  website: text,
  source: text,
  tags: z.array(z.string()).optional(),
  customFields: z.array(z.object({ id: z.string(), key: z.string().optional(), field_value: z.string() })).optional(),
});
const ContactUpdate = ContactInput.omit({ locationId: true }).partial();
const TagsInput = z.object({ tags: z.array(z.string().trim().min(1)).min(1) });
const OpportunityInput = z.object({
  locationId: z.string().trim().min(1),
  name: z.string().trim().min(1),
  contactId: z.string().trim().min(1),
  pipelineId: z.string().trim().min(1),
  pipelineStageId: z.string().trim().optional(),
  status: z.enum(['open', 'won', 'lost', 'abandoned']).default('open'),
  monetaryValue: z.number().default(0),
});
const StatusInput = z.object({ status: z.enum(['open', 'won', 'lost', 'abandoned']) });

function ghlError(status: number, message: string | string[]): ApiError {
  return new ApiError(status, { statusCode: status, message, ...(status === 400 ? { error: 'Bad Request' } : {}) });
}
function faultBody(status: number): unknown {
  return { statusCode: status, message: status === 429 ? 'Too Many Requests' : status >= 500 ? 'Internal server error' : `Simulated fault with status ${status}` };
}

/** The simulated HighLevel location: its records, API router, webhook key and knobs. */
export function createGoHighLevelSimulator(deps: GoHighLevelSimulatorDeps) {
  const { now, webhooks } = deps;
  const apiTokens = new Set(deps.options.apiTokens ?? [DEV_GHL_API_TOKEN]);
  const empty = (): GoHighLevelState => ({
    version: 1,
    locationId: deps.options.locationId ?? DEFAULT_GHL_LOCATION_ID,
    webhookPrivateKey: generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    contacts: [],
    opportunities: [],
  });
  const store = new CrmState(deps.stateFile, GoHighLevelState, empty);
  const faults = new FaultQueue(GOHIGHLEVEL_ROUTES);
  const callLog = new CallLog<GoHighLevelRoute>(now);
  const s = () => store.state;
  const iso = () => new Date(now()).toISOString();
  const configuredKey = deps.options.webhookPrivateKey === undefined ? undefined : privateKeyOf(deps.options.webhookPrivateKey);
  let stateKey: { pem: string; key: KeyObject } | undefined;
  const privateKey = (): KeyObject => {
    if (configuredKey) return configuredKey;
    if (stateKey?.pem !== s().webhookPrivateKey) stateKey = { pem: s().webhookPrivateKey, key: createPrivateKey(s().webhookPrivateKey) };
    return stateKey.key;
  };
  /** The webhook public key as base64 of its SPKI DER, the form HighLevel publishes (and GHL_WEBHOOK_PUBLIC_KEY takes). */
  const publicKey = (): string => createPublicKey(privateKey()).export({ format: 'der', type: 'spki' }).toString('base64');

  const parse = <T extends z.ZodType>(schema: T, body: unknown): z.output<T> => {
    const parsed = schema.safeParse(body ?? {});
    if (!parsed.success) throw ghlError(422, parsed.error.issues.map((i) => `${i.path.join('.') || 'body'} ${i.message}`));
    return parsed.data;
  };
  const checkLocation = (locationId: string) => {
    if (locationId !== s().locationId) throw ghlError(403, 'The token does not have access to this location.');
  };
  const contactOr404 = (req: Request): ContactRecord => {
    const contact = s().contacts.find((c) => c.id === String(req.params['id']));
    if (!contact) throw ghlError(404, 'Contact not found');
    return contact;
  };
  const opportunityOr404 = (req: Request): OpportunityRecord => {
    const opportunity = s().opportunities.find((o) => o.id === String(req.params['id']));
    if (!opportunity) throw ghlError(404, 'Opportunity not found');
    return opportunity;
  };
  const checkCustomFields = (fields: { id: string }[] | undefined) => {
    const unknown = (fields ?? []).find((field) => field.id !== GHL_SIM_STATUS_FIELD.id);
    if (unknown) throw ghlError(422, `customFields: field ${unknown.id} does not exist in this location`);
  };
  const setCustomFields = (contact: ContactRecord, fields: { id: string; field_value: string }[] | undefined) => {
    for (const field of fields ?? []) {
      const existing = contact.customFields.find((f) => f.id === field.id);
      if (existing) existing.value = field.field_value;
      else contact.customFields.push({ id: field.id, value: field.field_value });
    }
  };
  /** HighLevel keeps tags in lower case. */
  const tag = (value: string) => value.trim().toLowerCase();

  const contactView = (c: ContactRecord) => ({
    id: c.id,
    locationId: c.locationId,
    contactName: [c.firstName, c.lastName].filter(Boolean).join(' ') || null,
    firstName: c.firstName,
    lastName: c.lastName,
    firstNameRaw: c.firstName,
    lastNameRaw: c.lastName,
    email: c.email,
    phone: c.phone,
    companyName: c.companyName,
    website: c.website,
    source: c.source,
    type: 'lead',
    dnd: false,
    tags: [...c.tags],
    customFields: c.customFields.map((field) => ({ ...field })),
    dateAdded: c.dateAdded,
    dateUpdated: c.dateUpdated,
  });
  const opportunityView = (o: OpportunityRecord) => {
    const contact = s().contacts.find((c) => c.id === o.contactId);
    return { ...o, contact: contact ? { id: contact.id, name: contactView(contact).contactName, email: contact.email, companyName: contact.companyName, tags: [...contact.tags] } : null, lastStatusChangeAt: o.updatedAt };
  };

  const deliver = (event: string, objectId: string, payload: object) => {
    webhooks.send('gohighlevel', event, objectId, () => {
      const body = JSON.stringify(payload);
      return { body, headers: signGoHighLevelDelivery(privateKey(), body) };
    });
  };

  // --- operations ---

  const createContact = (req: Request): Reply => {
    const input = parse(ContactInput, req.body);
    checkLocation(input.locationId);
    checkCustomFields(input.customFields);
    const [first, ...rest] = (input.name ?? '').split(/\s+/).filter(Boolean);
    const at = iso();
    const contact: ContactRecord = {
      id: alphanumericId(),
      locationId: input.locationId,
      firstName: input.firstName ?? first ?? null,
      lastName: input.lastName ?? (rest.join(' ') || null),
      email: input.email?.toLowerCase() ?? null,
      phone: input.phone ?? null,
      companyName: input.companyName ?? null,
      website: input.website ?? null,
      source: input.source ?? 'public api',
      tags: [...new Set((input.tags ?? []).map(tag))],
      customFields: [],
      dateAdded: at,
      dateUpdated: at,
    };
    setCustomFields(contact, input.customFields);
    s().contacts.push(contact);
    store.save();
    const event = goHighLevelContactCreate({
      locationId: contact.locationId,
      contactId: contact.id,
      ...(contact.email ? { email: contact.email } : {}),
      ...(contact.firstName ? { firstName: contact.firstName } : {}),
      ...(contact.lastName ? { lastName: contact.lastName } : {}),
      ...(contact.companyName ? { companyName: contact.companyName } : {}),
      ...(contact.website ? { website: contact.website } : {}),
      at: new Date(now()),
    });
    deliver('ContactCreate', contact.id, { ...event, name: contactView(contact).contactName, phone: contact.phone, tags: contact.tags, source: contact.source });
    return { status: 201, body: { contact: contactView(contact) } };
  };

  const updateContact = (req: Request): Reply => {
    const contact = contactOr404(req);
    const input = parse(ContactUpdate, req.body);
    checkCustomFields(input.customFields);
    for (const key of ['firstName', 'lastName', 'email', 'phone', 'companyName', 'website', 'source'] as const) {
      const value = input[key];
      if (value !== undefined) contact[key] = key === 'email' ? (value?.toLowerCase() ?? null) : value;
    }
    // As in HighLevel, `tags` here replaces every tag of the contact.
    if (input.tags !== undefined) contact.tags = [...new Set(input.tags.map(tag))];
    setCustomFields(contact, input.customFields);
    contact.dateUpdated = iso();
    store.save();
    return { status: 200, body: { succeded: true, contact: contactView(contact) } };
  };

  const addTags = (req: Request): Reply => {
    const contact = contactOr404(req);
    const { tags } = parse(TagsInput, req.body);
    contact.tags = [...new Set([...contact.tags, ...tags.map(tag)])];
    contact.dateUpdated = iso();
    store.save();
    return { status: 201, body: { tags: [...contact.tags] } };
  };

  const removeTags = (req: Request): Reply => {
    const contact = contactOr404(req);
    const { tags } = parse(TagsInput, req.body);
    const removed = new Set(tags.map(tag));
    contact.tags = contact.tags.filter((existing) => !removed.has(existing));
    contact.dateUpdated = iso();
    store.save();
    return { status: 200, body: { tags: [...contact.tags] } };
  };

  const customFields = (req: Request): Reply => {
    checkLocation(String(req.params['locationId']));
    return { status: 200, body: { customFields: [{ ...GHL_SIM_STATUS_FIELD, locationId: s().locationId, position: 0 }] } };
  };

  const createOpportunity = (req: Request): Reply => {
    const input = parse(OpportunityInput, req.body);
    checkLocation(input.locationId);
    if (!s().contacts.some((c) => c.id === input.contactId)) throw ghlError(400, 'Contact not found');
    const at = iso();
    const opportunity: OpportunityRecord = { id: alphanumericId(), locationId: input.locationId, name: input.name, contactId: input.contactId, pipelineId: input.pipelineId, pipelineStageId: input.pipelineStageId ?? null, status: input.status, monetaryValue: input.monetaryValue, createdAt: at, updatedAt: at };
    s().opportunities.push(opportunity);
    store.save();
    return { status: 201, body: { opportunity: opportunityView(opportunity) } };
  };

  const updateOpportunityStatus = (req: Request): Reply => {
    const opportunity = opportunityOr404(req);
    const { status } = parse(StatusInput, req.body);
    const changed = opportunity.status !== status;
    opportunity.status = status;
    opportunity.updatedAt = iso();
    store.save();
    if (changed) {
      const event = goHighLevelOpportunityWon({ locationId: opportunity.locationId, opportunityId: opportunity.id, contactId: opportunity.contactId, at: new Date(now()) });
      deliver('OpportunityStatusUpdate', opportunity.id, { ...event, status, name: opportunity.name, pipelineId: opportunity.pipelineId, pipelineStageId: opportunity.pipelineStageId, monetaryValue: opportunity.monetaryValue });
    }
    return { status: 200, body: { succeded: true } };
  };

  // --- the router ---

  const { nameCall, applyInjectedFault, perform } = createPlatformPipeline({ faults, callLog, shutdownSignal: deps.shutdownSignal, faultBody });

  const authenticate: RequestHandler = (req, res, next) => {
    const token = bearerTokenOf(req.get('authorization'));
    if (!token || !apiTokens.has(token)) {
      res.status(401).json({ statusCode: 401, message: 'Invalid JWT' });
      return;
    }
    if (!req.get('version')) {
      res.status(400).json({ statusCode: 400, message: 'Version header was not found', error: 'Bad Request' });
      return;
    }
    next();
  };

  /** HighLevel reports its burst window (100 requests per 10 seconds) on every answer. */
  const rateLimitHeaders: RequestHandler = (_req, res, next) => {
    res.set({ 'X-RateLimit-Limit-Daily': '200000', 'X-RateLimit-Daily-Remaining': '199999', 'X-RateLimit-Interval-Milliseconds': '10000', 'X-RateLimit-Max': '100', 'X-RateLimit-Remaining': '99' });
    next();
  };

  const endpoint = (route: GoHighLevelRoute, operation: (req: Request, res: Response) => Reply): RequestHandler[] => [nameCall(route), authenticate, rateLimitHeaders, express.json(), applyInjectedFault(route), perform(operation)];

  const router = express.Router();
  // Public, like the key HighLevel publishes in its docs: no token needed.
  router.get('/.well-known/webhook-public-key', (_req: Request, res: Response) => {
    res.json({ algorithm: 'Ed25519', format: 'spki-der-base64', publicKey: publicKey(), locationId: s().locationId });
  });
  router.post(['/contacts', '/contacts/'], ...endpoint('create-contact', createContact));
  router.get('/contacts/:id', ...endpoint('get-contact', (req) => ({ status: 200, body: { contact: contactView(contactOr404(req)) } })));
  router.put('/contacts/:id', ...endpoint('update-contact', updateContact));
  router.post('/contacts/:id/tags', ...endpoint('add-tags', addTags));
  router.delete('/contacts/:id/tags', ...endpoint('remove-tags', removeTags));
  router.get('/locations/:locationId/customFields', ...endpoint('custom-fields', customFields));
  router.post(['/opportunities', '/opportunities/'], ...endpoint('create-opportunity', createOpportunity));
  router.get('/opportunities/:id', ...endpoint('get-opportunity', (req) => ({ status: 200, body: { opportunity: opportunityView(opportunityOr404(req)) } })));
  router.put('/opportunities/:id/status', ...endpoint('update-opportunity-status', updateOpportunityStatus));
  router.use((req: Request, res: Response) => {
    res.status(404).json({ statusCode: 404, message: `Cannot ${req.method} ${req.path}`, error: 'Not Found' });
  });

  // --- knobs ---

  const knobs = {
    ...createPlatformKnobs(faults, callLog),
    locationId: () => s().locationId,
    webhookPublicKey: publicKey,
    contacts: () => s().contacts.map(contactView),
    opportunities: () => s().opportunities.map(opportunityView),
    /** Every record goes; the location and its webhook key stay (the engine is configured with that key). */
    reset(): void {
      store.reset((fresh, old) => ({ ...fresh, locationId: old.locationId, webhookPrivateKey: old.webhookPrivateKey }));
      faults.clear();
      callLog.clear();
    },
  };

  const knobRoutes = knobRouter();
  addPlatformKnobRoutes(knobRoutes, knobs);
  knobRoutes.get('/contacts', (_req, res) => {
    res.json(knobs.contacts());
  });
  knobRoutes.get('/opportunities', (_req, res) => {
    res.json(knobs.opportunities());
  });

  return { router, knobs, knobRoutes, callLog };
}

function privateKeyOf(text: string): KeyObject {
  const key = text.trim().startsWith('-----BEGIN') ? createPrivateKey(text) : createPrivateKey({ key: Buffer.from(text.trim(), 'base64'), format: 'der', type: 'pkcs8' });
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`the GoHighLevel webhook key must be an Ed25519 key, not ${key.asymmetricKeyType ?? 'unknown'}`);
  return key;
}

export type GoHighLevelSimulator = ReturnType<typeof createGoHighLevelSimulator>;
export type GoHighLevelKnobs = GoHighLevelSimulator['knobs'];
