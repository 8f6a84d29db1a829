/**
 * GoHighLevel's (HighLevel's) marketplace-app webhooks: one flat JSON event per delivery, signed with Ed25519 in
 * `X-GHL-Signature` (base64) over the raw body, verified with HighLevel's public key. HighLevel signs every app's
 * deliveries with that one key, so `GHL_LOCATION_IDS` says which locations (sub-accounts) are the agency's own.
 */
import { createPrivateKey, createPublicKey, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { CRM_START_EVENTS, type CrmIntent, type CrmStartEvent } from '../types.js';
import { domainOfWebsite, personName } from '../details.js';
import { base64Signature, headerOf, type RawDelivery } from '../webhook-support.js';

/** The events that can start an onboarding; `GHL_START_EVENTS` picks among them. */
export const GHL_START_EVENTS = CRM_START_EVENTS.gohighlevel;
export type GoHighLevelStartEvent = CrmStartEvent<'gohighlevel'>;

export interface GoHighLevelIntakeSettings {
  /** HighLevel's webhook public key: SPKI as base64 (DER) or PEM. */
  publicKey: string;
  startEvents: GoHighLevelStartEvent[];
  /** The agency's locations; absent: every location (development only). */
  locationIds?: string[];
}

export const GHL_SIGNATURE_HEADER = 'x-ghl-signature';

/** A public key from its SPKI text (base64 of the DER, or PEM); throws unless it is an Ed25519 key. */
export function goHighLevelPublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  const key = trimmed.startsWith('-----BEGIN') ? createPublicKey(trimmed) : createPublicKey({ key: Buffer.from(trimmed, 'base64'), format: 'der', type: 'spki' });
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`is a ${key.asymmetricKeyType ?? 'unknown'} key, not Ed25519`);
  return key;
}

/** Why a delivery is refused (undefined when HighLevel's key signed exactly these bytes). */
export function verifyGoHighLevelDelivery(delivery: RawDelivery, publicKey: KeyObject): string | undefined {
  const signature = headerOf(delivery.headers, GHL_SIGNATURE_HEADER);
  if (!signature) return 'missing X-GHL-Signature (Ed25519 over the raw body)';
  const bytes = Buffer.from(base64Signature(signature), 'base64');
  const valid = bytes.length === 64 && verify(null, delivery.rawBody, publicKey, bytes);
  return valid ? undefined : 'X-GHL-Signature does not match the body (another key than GHL_WEBHOOK_PUBLIC_KEY, or a changed body)';
}

/** The headers HighLevel would send with this body, signed with `privateKey` (PKCS#8 as PEM or base64 DER). */
export function signGoHighLevelDelivery(privateKey: KeyObject | string, body: string): Record<string, string> {
  const key =
    typeof privateKey !== 'string'
      ? privateKey
      : privateKey.trim().startsWith('-----BEGIN')
        ? createPrivateKey(privateKey)
        : createPrivateKey({ key: Buffer.from(privateKey.trim(), 'base64'), format: 'der', type: 'pkcs8' });
  return { 'content-type': 'application/json', [GHL_SIGNATURE_HEADER]: sign(null, Buffer.from(body, 'utf8'), key).toString('base64') };
}

const optionalText = z.string().nullish();

/** Any delivery: its type and location; the events that can start an onboarding are read further below. */
export const GoHighLevelDelivery = z.looseObject({
  type: z.string().min(1),
  locationId: z.string().trim().min(1),
  webhookId: z.string().optional(),
  timestamp: z.string().optional(),
});
export type GoHighLevelDelivery = z.infer<typeof GoHighLevelDelivery>;

/** A contact added: flat, with whatever of the contact's details were filled in. */
export const GoHighLevelContactCreate = z.object({
  type: z.literal('ContactCreate'),
  locationId: z.string().trim().min(1),
  id: z.string().trim().min(1),
  email: optionalText,
  firstName: optionalText,
  lastName: optionalText,
  name: optionalText,
  companyName: optionalText,
  website: optionalText,
  webhookId: z.string().optional(),
  timestamp: z.string().optional(),
  dateAdded: z.string().optional(),
});

/** An opportunity's status changed (open, won, lost, abandoned). */
export const GoHighLevelOpportunityStatusUpdate = z.object({
  type: z.literal('OpportunityStatusUpdate'),
  locationId: z.string().trim().min(1),
  id: z.string().trim().min(1),
  contactId: z.string().trim().min(1),
  status: z.string(),
  name: optionalText,
  webhookId: z.string().optional(),
  timestamp: z.string().optional(),
  dateAdded: z.string().optional(),
});

function occurredAtOf(event: { timestamp?: string }, receivedAt: Date): string {
  const at = Date.parse(event.timestamp ?? '');
  return Number.isNaN(at) ? receivedAt.toISOString() : new Date(at).toISOString();
}

/** What a verified delivery asks of the engine: one intent (a HighLevel delivery is one event). */
export function goHighLevelIntents(delivery: GoHighLevelDelivery, settings: Pick<GoHighLevelIntakeSettings, 'startEvents' | 'locationIds'>, receivedAt: Date): CrmIntent[] {
  const eventId = delivery.webhookId ?? `${delivery.type}-${String(delivery.id ?? 'unknown')}-${delivery.timestamp ?? receivedAt.toISOString()}`;
  const ignore = (why: string): CrmIntent[] => [{ kind: 'ignore', eventId, why }];
  const unreadable = (error: z.ZodError) => ignore(`${delivery.type} could not be read (${error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')})`);
  if (settings.locationIds && !settings.locationIds.includes(delivery.locationId)) return ignore(`location ${delivery.locationId} is not one of the agency's (GHL_LOCATION_IDS)`);

  if (delivery.type === 'ContactCreate') {
    if (!settings.startEvents.includes('contact.create')) return ignore('a new contact starts no onboarding here (GHL_START_EVENTS)');
    const parsed = GoHighLevelContactCreate.safeParse(delivery);
    if (!parsed.success) return unreadable(parsed.error);
    const contact = parsed.data;
    const email = z.email().safeParse(contact.email?.trim().toLowerCase() ?? '');
    // The business is the client; a person's name stands in when no company is given.
    const name = contact.companyName?.trim() || contact.name?.trim() || personName(contact.firstName, contact.lastName);
    // An unusable website is left unknown: the onboarding reads the record again and says what to fix.
    const website = contact.website?.trim() ? domainOfWebsite(contact.website) : undefined;
    const domain = website && 'domain' in website ? website.domain : undefined;
    const known = { ...(email.success ? { email: email.data } : {}), ...(name ? { name } : {}), ...(domain ? { domain } : {}) };
    return [{ kind: 'start', eventId, occurredAt: occurredAtOf(contact, receivedAt), record: { source: 'gohighlevel', account: contact.locationId, client: { type: 'contact', id: contact.id } }, known }];
  }
  if (delivery.type === 'OpportunityStatusUpdate') {
    const parsed = GoHighLevelOpportunityStatusUpdate.safeParse(delivery);
    if (!parsed.success) return unreadable(parsed.error);
    const opportunity = parsed.data;
    if (opportunity.status !== 'won') return ignore(`opportunity ${opportunity.id} is ${opportunity.status}, not won`);
    if (!settings.startEvents.includes('opportunity.won')) return ignore('a won opportunity starts no onboarding here (GHL_START_EVENTS)');
    const record = { source: 'gohighlevel', account: opportunity.locationId, client: { type: 'contact', id: opportunity.contactId }, trigger: { type: 'opportunity', id: opportunity.id } } as const;
    return [{ kind: 'start', eventId, occurredAt: occurredAtOf(opportunity, receivedAt), record, known: {} }];
  }
  return ignore(`${delivery.type} starts no onboarding`);
}

/** A `ContactCreate` as HighLevel sends it (for tests, `send-webhook` and the simulator). */
export function goHighLevelContactCreate(options: { locationId: string; contactId: string; email?: string; firstName?: string; lastName?: string; companyName?: string; website?: string; webhookId?: string; at?: Date }) {
  return {
    type: 'ContactCreate' as const,
    locationId: options.locationId,
    id: options.contactId,
    email: options.email,
    firstName: options.firstName,
    lastName: options.lastName,
    companyName: options.companyName,
    website: options.website,
    dateAdded: (options.at ?? new Date()).toISOString(),
    webhookId: options.webhookId ?? randomUUID(),
    timestamp: (options.at ?? new Date()).toISOString(),
  };
}

/** An opportunity marked won, as HighLevel's `OpportunityStatusUpdate`. */
export function goHighLevelOpportunityWon(options: { locationId: string; opportunityId: string; contactId: string; webhookId?: string; at?: Date }) {
  return {
    type: 'OpportunityStatusUpdate' as const,
    locationId: options.locationId,
    id: options.opportunityId,
    contactId: options.contactId,
    status: 'won',
    name: `Opportunity ${options.opportunityId}`,
    webhookId: options.webhookId ?? randomUUID(),
    timestamp: (options.at ?? new Date()).toISOString(),
  };
}
