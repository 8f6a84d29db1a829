/**
 * HubSpot's webhooks (Webhooks API of a HubSpot app): a delivery is a JSON array of events, signed with signature
 * v3 and the app's client secret. The events carry ids only (no email, no website): a contact's details and a deal's
 * contact are read from HubSpot later, by the onboarding, never in the request.
 */
import { Signature } from '@hubspot/api-client';
import { z } from 'zod';
import { CRM_START_EVENTS, type CrmIntent, type CrmStartEvent } from '../types.js';
import { base64Signature, headerOf, sameSecret, type RawDelivery } from '../webhook-support.js';

/** The events that can start an onboarding; `HUBSPOT_START_EVENTS` picks among them. */
export const HUBSPOT_START_EVENTS = CRM_START_EVENTS.hubspot;
export type HubspotStartEvent = CrmStartEvent<'hubspot'>;

export interface HubspotIntakeSettings {
  /** The HubSpot app's client secret, which signs every delivery. */
  clientSecret: string;
  /** The deal stages that mean won (each pipeline has its own; `closedwon` in the default one). */
  wonStages: string[];
  startEvents: HubspotStartEvent[];
  /** The public URL HubSpot calls, when the engine cannot reconstruct it (a proxy that rewrites paths). */
  webhookUrl?: string;
}

export const HUBSPOT_SIGNATURE_HEADER = 'x-hubspot-signature-v3';
export const HUBSPOT_TIMESTAMP_HEADER = 'x-hubspot-request-timestamp';
/** HubSpot's own limit (5 minutes), from its client library. */
const MAX_CLOCK_DIFFERENCE_MS = Signature.MAX_ALLOWED_TIMESTAMP;

/** A HubSpot delivery: the raw bytes plus the method and the URL HubSpot called, both of which it signs. */
export interface HubspotRequest extends RawDelivery {
  method: string;
  url: string;
}

/**
 * The URL HubSpot called: the pinned `HUBSPOT_WEBHOOK_URL` when set, else the one the request says, where
 * `protocol` and `host` already honour X-Forwarded-Proto/Host from a trusted proxy (Express's `trust proxy`).
 */
export function hubspotCalledUrl(request: { protocol: string; host: string | undefined; originalUrl: string }, pinnedUrl?: string): string {
  return pinnedUrl ?? `${request.protocol}://${request.host ?? 'localhost'}${request.originalUrl}`;
}

// HubSpot decodes these escapes (and only these) in the URI before signing, per its "validate the v3 signature" steps.
const DECODED_BEFORE_SIGNING: Record<string, string> = {
  '%3A': ':', '%2F': '/', '%3F': '?', '%40': '@', '%21': '!', '%24': '$', '%27': "'", '%28': '(', '%29': ')', '%2A': '*', '%2C': ',', '%3B': ';',
};

function signedUri(url: string): string {
  return url.replace(/%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (escape) => DECODED_BEFORE_SIGNING[escape.toUpperCase()] ?? escape);
}

function expectedSignature(clientSecret: string, method: string, url: string, body: string, timestampMs: number): string {
  return Signature.getSignature(method.toUpperCase(), 'v3', { signature: '', clientSecret, requestBody: body, url: signedUri(url), timestamp: timestampMs });
}

/**
 * Why a delivery is refused (undefined when it is HubSpot's): signature v3 over `method + URL + raw body + timestamp`,
 * computed by `@hubspot/api-client`'s Signature helper and compared in constant time, within 5 minutes of now.
 */
export function verifyHubspotDelivery(request: HubspotRequest, clientSecret: string, now = Date.now()): string | undefined {
  const signature = headerOf(request.headers, HUBSPOT_SIGNATURE_HEADER);
  const timestampText = headerOf(request.headers, HUBSPOT_TIMESTAMP_HEADER);
  if (!signature || !timestampText) return 'missing X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp (HubSpot signature v3)';
  if (!/^\d{1,16}$/.test(timestampText)) return 'X-HubSpot-Request-Timestamp is not a Unix time in milliseconds';
  const timestampMs = Number(timestampText);
  // Also refused from the future: a timestamp ahead of now would stretch the replay window.
  if (Math.abs(now - timestampMs) > MAX_CLOCK_DIFFERENCE_MS) return 'X-HubSpot-Request-Timestamp is more than 5 minutes from now (a replayed delivery, or a clock that is off)';
  const expected = expectedSignature(clientSecret, request.method, request.url, request.rawBody.toString('utf8'), timestampMs);
  return sameSecret(base64Signature(signature), expected) ? undefined : 'X-HubSpot-Signature-v3 does not match (another client secret, a changed body, or another URL than HubSpot called: see HUBSPOT_WEBHOOK_URL)';
}

/** The headers HubSpot would send with this delivery: for tests, `send-webhook` and the simulator. */
export function signHubspotDelivery(options: { clientSecret: string; method: string; url: string; body: string; timestampMs?: number }): Record<string, string> {
  const timestampMs = options.timestampMs ?? Date.now();
  return {
    'content-type': 'application/json',
    [HUBSPOT_SIGNATURE_HEADER]: expectedSignature(options.clientSecret, options.method, options.url, options.body, timestampMs),
    [HUBSPOT_TIMESTAMP_HEADER]: String(timestampMs),
  };
}

const NumericId = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/, 'must be a numeric id')]).transform(String);

/** One event of a delivery, as far as the intake reads it. */
export const HubspotEvent = z.object({
  eventId: NumericId,
  subscriptionId: NumericId.optional(),
  portalId: NumericId,
  occurredAt: z.number().int().nonnegative(),
  subscriptionType: z.string().min(1),
  attemptNumber: z.number().int().nonnegative().optional(),
  objectId: NumericId,
  propertyName: z.string().optional(),
  propertyValue: z.string().optional(),
  changeSource: z.string().optional(),
});
export type HubspotEvent = z.infer<typeof HubspotEvent>;

/** A delivery: a batch of events, each read on its own (one unreadable event does not refuse the others). */
export const HubspotDelivery = z.array(z.unknown(), { error: 'must be a JSON array of HubSpot events' }).min(1, 'must hold at least one event');
export type HubspotDelivery = z.infer<typeof HubspotDelivery>;

/** What each event of a verified delivery asks of the engine, in the delivery's order. */
export function hubspotIntents(delivery: HubspotDelivery, settings: Pick<HubspotIntakeSettings, 'wonStages' | 'startEvents'>): CrmIntent[] {
  return delivery.map((raw, index) => hubspotIntent(raw, index, settings));
}

function hubspotIntent(raw: unknown, index: number, settings: Pick<HubspotIntakeSettings, 'wonStages' | 'startEvents'>): CrmIntent {
  const parsed = HubspotEvent.safeParse(raw);
  if (!parsed.success) {
    const rawId = (raw as { eventId?: unknown } | null)?.eventId;
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'event'}: ${issue.message}`).join('; ');
    return { kind: 'ignore', eventId: typeof rawId === 'string' || typeof rawId === 'number' ? String(rawId) : `#${index}`, why: `not a readable HubSpot event (${problems})` };
  }
  const event = parsed.data;
  const occurredAt = new Date(event.occurredAt).toISOString();
  const starts = (name: HubspotStartEvent) => settings.startEvents.includes(name);

  if (event.subscriptionType === 'contact.creation') {
    if (!starts('contact.creation')) return { kind: 'ignore', eventId: event.eventId, why: 'contact.creation starts no onboarding here (HUBSPOT_START_EVENTS)' };
    const record = { source: 'hubspot', account: event.portalId, client: { type: 'contact', id: event.objectId } } as const;
    // HubSpot sends ids only: the onboarding reads the contact's email, name and website.
    return { kind: 'start', eventId: event.eventId, occurredAt, record, known: {} };
  }
  if (event.subscriptionType === 'deal.propertyChange' && event.propertyName === 'dealstage') {
    if (!settings.wonStages.includes(event.propertyValue ?? '')) {
      return { kind: 'ignore', eventId: event.eventId, why: `deal ${event.objectId} moved to stage ${JSON.stringify(event.propertyValue ?? null)}, not a won stage (HUBSPOT_WON_STAGE: ${settings.wonStages.join(', ')})` };
    }
    if (!starts('deal.won')) return { kind: 'ignore', eventId: event.eventId, why: 'a won deal starts no onboarding here (HUBSPOT_START_EVENTS)' };
    return { kind: 'start-from-deal', eventId: event.eventId, occurredAt, source: 'hubspot', account: event.portalId, dealId: event.objectId };
  }
  const what = event.propertyName ? `${event.subscriptionType} of ${event.propertyName}` : event.subscriptionType;
  return { kind: 'ignore', eventId: event.eventId, why: `${what} starts no onboarding` };
}

/** An event as HubSpot puts it on the wire (its ids are JSON numbers). */
export type HubspotWireEvent = z.input<typeof HubspotEvent>;

/** A `contact.creation` event as HubSpot sends it (for tests, `send-webhook` and the simulator). */
export function hubspotContactCreation(options: { portalId: number; contactId: number; eventId?: number; occurredAt?: Date }): HubspotWireEvent {
  return {
    eventId: options.eventId ?? randomEventId(),
    subscriptionId: 1,
    portalId: options.portalId,
    occurredAt: (options.occurredAt ?? new Date()).getTime(),
    subscriptionType: 'contact.creation',
    attemptNumber: 0,
    objectId: options.contactId,
    changeSource: 'CRM',
  };
}

/** A deal moved to a stage (`closedwon` unless said): the `deal.propertyChange` HubSpot sends. */
export function hubspotDealStageChange(options: { portalId: number; dealId: number; stage?: string; eventId?: number; occurredAt?: Date }): HubspotWireEvent {
  return {
    eventId: options.eventId ?? randomEventId(),
    subscriptionId: 2,
    portalId: options.portalId,
    occurredAt: (options.occurredAt ?? new Date()).getTime(),
    subscriptionType: 'deal.propertyChange',
    attemptNumber: 0,
    objectId: options.dealId,
    propertyName: 'dealstage',
    propertyValue: options.stage ?? 'closedwon',
    changeSource: 'CRM',
  };
}

function randomEventId(): number {
  return Math.floor(Math.random() * 2 ** 40);
}
