/**
 * The CRMs an agency can point straight at the engine, and the one shape every CRM event is turned into. Each
 * CRM lives in `crm/<source>/`: `webhook.ts` (check a delivery, read its events, and sign one for tests and
 * `send-webhook`) and `client.ts` (read a client's record, write progress back).
 */
import type { OnboardingSettings, PlatformName } from '../workflows/definitions.js';

export const CRM_SOURCES = ['hubspot', 'pipedrive', 'gohighlevel'] as const;
export type CrmSource = (typeof CRM_SOURCES)[number];

export const CRM_SOURCE_LABELS: Record<CrmSource, string> = {
  hubspot: 'HubSpot',
  pipedrive: 'Pipedrive',
  gohighlevel: 'GoHighLevel',
};

/**
 * The events of each CRM that can start an onboarding (HUBSPOT_START_EVENTS, PIPEDRIVE_START_EVENTS and
 * GHL_START_EVENTS pick among them): a client created, or a deal (an opportunity) won.
 */
export const CRM_START_EVENTS = {
  hubspot: ['contact.creation', 'deal.won'],
  pipedrive: ['deal.won', 'person.create'],
  gohighlevel: ['contact.create', 'opportunity.won'],
} as const satisfies Record<CrmSource, readonly string[]>;
export type CrmStartEvent<S extends CrmSource> = (typeof CRM_START_EVENTS)[S][number];

export function isCrmSource(name: string): name is CrmSource {
  return (CRM_SOURCES as readonly string[]).includes(name);
}

/**
 * Where a client lives in its CRM: the onboarding reads the client's details from it and writes its progress
 * back to it. Plain data: it travels in the workflow's input.
 */
export interface CrmRecord {
  source: CrmSource;
  /** The CRM account: HubSpot portal id, Pipedrive company id, GoHighLevel location id. */
  account: string;
  /** The client's own record: HubSpot contact, Pipedrive person, GoHighLevel contact. */
  client: { type: 'contact' | 'person'; id: string };
  /** The record whose event started the onboarding when it is not the client's own (a won deal or opportunity). */
  trigger?: { type: 'deal' | 'opportunity'; id: string };
}

/** The client's details as far as an event carried them; the rest is read from the CRM by the onboarding. */
export interface KnownClientDetails {
  email?: string;
  name?: string;
  domain?: string;
}

/** What one event of a verified delivery asks of the engine. */
export type CrmIntent =
  /** Onboard the client of `record` (once per client: duplicates and retries answer `already-started`). */
  | { kind: 'start'; eventId: string; occurredAt: string; record: CrmRecord; known: KnownClientDetails }
  /**
   * A HubSpot deal won: the deal's contact is only known by asking HubSpot, which the intake never does in the
   * request; the engine resolves the deal to its contact, then onboards that contact.
   */
  | { kind: 'start-from-deal'; eventId: string; occurredAt: string; source: CrmSource; account: string; dealId: string }
  /** Not an event that starts anything (another subscription, a deal moved to another stage, a stale retry). */
  | { kind: 'ignore'; eventId: string; why: string };

/** One onboarding per CRM client: `hubspot-<portalId>-<contactId>`, `pipedrive-<companyId>-<personId>`, `gohighlevel-<locationId>-<contactId>`. */
export function crmClientId(record: Pick<CrmRecord, 'source' | 'account' | 'client'>): string {
  return `${record.source}-${record.account}-${record.client.id}`;
}

/** Where the onboarding stands, as written back to the CRM record at each phase change. */
export interface CrmProgress {
  /** The onboarding's phase: registering, awaiting-dns, completed, failed, needs-attention, offboarded… */
  status: string;
  /** Why a person is needed (and what to do), or null when nothing is wrong. */
  needsAttention: string | null;
  /** The client's live site, once there is one. */
  siteUrl: string | null;
  onboardingId: string;
}

/** A client's details as read from its CRM record (and, where the CRM keeps the website elsewhere, its company). */
export interface CrmClientDetails {
  email?: string;
  name?: string;
  /** The bare domain, normalised the way the intake normalises `data.domain`; absent when none is usable. */
  domain?: string;
  /** For each field that is missing or unusable: what is wrong and where in the CRM to fix it. */
  problems: { field: 'email' | 'domain'; message: string }[];
}

/** One CRM's API, as the onboarding uses it. Each call throws ResellerApiError-like failures that carry Retry-After. */
export interface CrmApi {
  readonly source: CrmSource;
  readClient(record: CrmRecord): Promise<CrmClientDetails>;
  /** A won deal's client: its primary (else first) associated contact, or null when it has none. */
  contactOfDeal?(account: string, dealId: string): Promise<string | null>;
  /** Best effort, idempotent: the same progress written twice leaves the record as once. */
  writeProgress(record: CrmRecord, progress: CrmProgress): Promise<void>;
}

/** Failure types of the CRM activities a workflow can tell apart (both non-retryable). */
export const CrmFailureTypes = {
  /** The worker has no API settings for this CRM; the message names the variables to set. */
  notConfigured: 'CrmNotConfigured',
  /** The client's record (or the won deal) is gone from the CRM: deleted or merged. */
  recordNotFound: 'CrmRecordNotFound',
} as const;

/** The workflow that turns a won deal into its client's onboarding: it reads the deal's contact from the CRM first. */
export const RESOLVE_CRM_DEAL_WORKFLOW_TYPE = 'resolveCrmDeal';

/** One per won deal, `crm-deal-<source>-<account>-<dealId>`: a redelivery (or the deal won again) starts nothing new. */
export function crmDealWorkflowId(deal: { source: CrmSource; account: string; dealId: string }): string {
  return `crm-deal-${deal.source}-${deal.account}-${deal.dealId}`;
}

/** The input of `resolveCrmDeal`, as the intake starts it: what `Onboardings.start` would give the onboarding. */
export interface ResolveCrmDealInput {
  source: CrmSource;
  account: string;
  dealId: string;
  /** The plan of the onboarding it starts. */
  services: PlatformName[];
  receivedAt: string;
  settings: OnboardingSettings;
}
