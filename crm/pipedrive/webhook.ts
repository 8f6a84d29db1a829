/**
 * Pipedrive's webhooks (v2): unsigned; each webhook is created with `http_auth_user` / `http_auth_password` and every
 * delivery carries them as HTTP Basic auth. One delivery is one event, `{ meta, data, previous }`. Pipedrive backs off
 * (and eventually bans the webhook) after failed deliveries, so the intake answers fast and refuses only what can
 * never succeed.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { CRM_START_EVENTS, type CrmIntent, type CrmRecord, type CrmStartEvent } from '../types.js';
import { headerOf, sameSecret, type RawDelivery } from '../webhook-support.js';

/** The events that can start an onboarding; `PIPEDRIVE_START_EVENTS` picks among them. */
export const PIPEDRIVE_START_EVENTS = CRM_START_EVENTS.pipedrive;
export type PipedriveStartEvent = CrmStartEvent<'pipedrive'>;

export interface PipedriveIntakeSettings {
  /** The webhook's `http_auth_user` and `http_auth_password`. */
  user: string;
  password: string;
  startEvents: PipedriveStartEvent[];
}

/** Why a delivery is refused (undefined when it carries the webhook's Basic auth), compared in constant time. */
export function verifyPipedriveDelivery(delivery: Pick<RawDelivery, 'headers'>, settings: Pick<PipedriveIntakeSettings, 'user' | 'password'>): string | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(headerOf(delivery.headers, 'authorization') ?? '');
  if (!match) return 'missing HTTP Basic auth (the webhook\'s http_auth_user and http_auth_password)';
  const given = Buffer.from(match[1]!, 'base64').toString('utf8');
  return sameSecret(given, `${settings.user}:${settings.password}`) ? undefined : 'wrong HTTP Basic auth user or password (PIPEDRIVE_WEBHOOK_USER, PIPEDRIVE_WEBHOOK_PASSWORD)';
}

/** The Authorization header Pipedrive sends for a webhook created with this user and password. */
export function pipedriveBasicAuth(user: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}` };
}

const Id = z.union([z.number().int().nonnegative(), z.string().trim().min(1)]).transform(String);
/** v2 sends a deal's person as an id; v1 sent `{ value, name }`: either is read. */
const PersonRef = z.union([Id, z.object({ value: Id }).transform((person) => person.value)]);

export const PipedriveMeta = z
  .object({
    action: z.string().min(1),
    entity: z.string().min(1),
    entity_id: Id.optional(),
    /** The delivery's own id, stable across Pipedrive's retries. */
    id: Id.optional(),
    correlation_id: z.string().optional(),
    company_id: Id.optional(),
    host: z.string().optional(),
    timestamp: z.union([z.string(), z.number()]).optional(),
    attempt: z.number().int().optional(),
    version: z.string().optional(),
  })
  .refine((meta) => meta.company_id !== undefined || companyOfHost(meta.host) !== undefined, {
    message: 'needs company_id (or the company host, e.g. acme.pipedrive.com) to know whose Pipedrive account this is',
  });

/** One delivery: what happened (`meta`), the object after it (`data`) and, on `change`, the fields it changed from. */
export const PipedriveDelivery = z.object({
  meta: PipedriveMeta,
  data: z.record(z.string(), z.unknown()).nullable(),
  previous: z.record(z.string(), z.unknown()).nullable().optional(),
});
export type PipedriveDelivery = z.infer<typeof PipedriveDelivery>;

export const PipedriveDeal = z.object({ id: Id, status: z.string(), person_id: PersonRef.nullish(), title: z.string().nullish() });
export const PipedrivePerson = z.object({
  id: Id,
  name: z.string().nullish(),
  emails: z.array(z.object({ value: z.string(), primary: z.boolean().optional(), label: z.string().nullish() })).nullish(),
});

/** The account a delivery belongs to: the company id, else the company's subdomain (`acme` of acme.pipedrive.com). */
function accountOf(meta: z.infer<typeof PipedriveMeta>): string {
  return meta.company_id ?? companyOfHost(meta.host)!;
}

function companyOfHost(host: string | undefined): string | undefined {
  return /^([a-z0-9-]+)\.pipedrive\.com$/i.exec(host ?? '')?.[1]?.toLowerCase();
}

/** When the event happened: ISO text or Unix seconds (both are seen), else when it was received. */
function occurredAtOf(timestamp: string | number | undefined, receivedAt: Date): string {
  const at = typeof timestamp === 'number' || /^\d+$/.test(timestamp ?? '') ? Number(timestamp) * 1_000 : Date.parse(timestamp ?? '');
  return Number.isFinite(at) ? new Date(at).toISOString() : receivedAt.toISOString();
}

/** What a verified delivery asks of the engine: one intent (a Pipedrive delivery is one event). */
export function pipedriveIntents(delivery: PipedriveDelivery, settings: Pick<PipedriveIntakeSettings, 'startEvents'>, receivedAt: Date): CrmIntent[] {
  const { meta, data, previous } = delivery;
  const eventId = meta.id ?? meta.correlation_id ?? `${meta.entity}.${meta.action}.${meta.entity_id ?? 'unknown'}`;
  const occurredAt = occurredAtOf(meta.timestamp, receivedAt);
  const account = accountOf(meta);
  const ignore = (why: string): CrmIntent[] => [{ kind: 'ignore', eventId, why }];
  const unreadable = (what: string, error: z.ZodError) => ignore(`${what} could not be read (${error.issues.map((issue) => `${['data', ...issue.path].join('.')}: ${issue.message}`).join('; ')})`);

  if (meta.entity === 'deal' && meta.action === 'change') {
    const deal = PipedriveDeal.safeParse(data ?? {});
    if (!deal.success) return unreadable('the deal', deal.error);
    const { id, status, person_id: personId } = deal.data;
    // v2's `previous` holds the changed fields only: a won deal whose status did not change now was won before.
    const becameWon = status === 'won' && (previous === null || previous === undefined || (previous.status !== undefined && previous.status !== 'won'));
    if (!becameWon) return ignore(status === 'won' ? `deal ${id} was already won; this change is to other fields` : `deal ${id} is ${status}, not won`);
    if (!settings.startEvents.includes('deal.won')) return ignore('a won deal starts no onboarding here (PIPEDRIVE_START_EVENTS)');
    if (!personId) return ignore(`deal ${id} was won but has no person to onboard; link a person to the deal and mark it won again`);
    const record: CrmRecord = { source: 'pipedrive', account, client: { type: 'person', id: personId }, trigger: { type: 'deal', id } };
    return [{ kind: 'start', eventId, occurredAt, record, known: {} }];
  }
  if (meta.entity === 'person' && meta.action === 'create') {
    if (!settings.startEvents.includes('person.create')) return ignore('a new person starts no onboarding here (PIPEDRIVE_START_EVENTS)');
    const person = PipedrivePerson.safeParse(data ?? {});
    if (!person.success) return unreadable('the person', person.error);
    const { id, name, emails } = person.data;
    const email = (emails?.find((entry) => entry.primary) ?? emails?.[0])?.value;
    const validEmail = email === undefined ? undefined : z.email().safeParse(email.trim().toLowerCase());
    const known = { ...(validEmail?.success ? { email: validEmail.data } : {}), ...(name?.trim() ? { name: name.trim() } : {}) };
    return [{ kind: 'start', eventId, occurredAt, record: { source: 'pipedrive', account, client: { type: 'person', id } }, known }];
  }
  return ignore(`${meta.entity}.${meta.action} starts no onboarding`);
}

/** A deal marked won, as Pipedrive's v2 webhook sends it (for tests, `send-webhook` and the simulator). */
export function pipedriveDealWon(options: { companyId: number; dealId: number; personId: number | null; deliveryId?: string; at?: Date }): z.input<typeof PipedriveDelivery> {
  const at = options.at ?? new Date();
  return {
    meta: metaOf('change', 'deal', options.dealId, options.companyId, at, options.deliveryId),
    data: { id: options.dealId, title: `Deal ${options.dealId}`, status: 'won', person_id: options.personId, update_time: at.toISOString() },
    previous: { status: 'open' },
  };
}

/** A person added, as Pipedrive's v2 webhook sends it. */
export function pipedrivePersonCreated(options: { companyId: number; personId: number; name?: string; email?: string; deliveryId?: string; at?: Date }): z.input<typeof PipedriveDelivery> {
  const at = options.at ?? new Date();
  return {
    meta: metaOf('create', 'person', options.personId, options.companyId, at, options.deliveryId),
    data: { id: options.personId, name: options.name ?? null, emails: options.email ? [{ value: options.email, primary: true, label: 'work' }] : [], add_time: at.toISOString() },
    previous: null,
  };
}

function metaOf(action: string, entity: string, entityId: number, companyId: number, at: Date, deliveryId?: string) {
  return { action, entity, entity_id: String(entityId), id: deliveryId ?? randomUUID(), correlation_id: randomUUID(), company_id: String(companyId), host: 'company.pipedrive.com', timestamp: at.toISOString(), attempt: 1, version: '2.0' };
}
