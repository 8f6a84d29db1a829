/**
 * The onboarding workflow's contract: its input, the status it reports, and the messages it accepts.
 * Imported by the workflow, the activities (types only) and the API.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { PlatformName } from '../platforms/catalog.js';
import type { DnsRecordCheck, NetlifyProgress } from '../platforms/netlify/platform.js';

export type { PlatformName };

export const ONBOARDING_WORKFLOW_TYPE = 'onboardClient';
export const OFFBOARDING_WORKFLOW_TYPE = 'offboardClient';

/** One onboarding per CRM client: the id is derived from the client id, so a second start is refused. */
export function onboardingIdFor(clientId: string): string {
  return `onboarding-${clientId}`;
}

export function offboardingIdFor(clientId: string): string {
  return `offboarding-${clientId}`;
}

/** What the agency told us about the client (from the CRM webhook); no secrets. */
export interface ClientDetails {
  clientId: string;
  email: string;
  name?: string;
  domain: string;
  cms?: string;
  subscriptionTier?: string;
  industry?: string;
  businessScope?: string;
  city?: string;
  state?: string;
}

export interface OnboardingSettings {
  dnsPollInitialMs: number;
  dnsPollMaxMs: number;
  dnsDeadlineMs: number;
  /** DNS checks per workflow run before continuing as new, to keep the history of a weeks-long wait bounded. */
  dnsChecksPerRun?: number;
  /** How long NextNet or the mail server may keep failing (retrying all along) before a person is told. */
  stallAlertMs?: number;
  /**
   * How long a failed onboarding stays open, waiting for ops to retry or cancel it, before it closes as failed
   * (default 30 days). Absent in runs from before failures stayed open.
   */
  failedRetentionMs?: number;
}

export interface OnboardingInput {
  onboardingId: string;
  client: ClientDetails;
  settings: OnboardingSettings;
  receivedAt: string;
  /** The platforms of the client's plan, e.g. `['netlify', 'nextnet']`. Absent in runs started before plans: NextNet only. */
  services?: PlatformName[];
  /** Set when the workflow continues as new, or when a failed onboarding is retried: everything done so far. */
  carried?: OnboardingStatus;
  /** Set when ops retry a failed or cancelled onboarding: it resumes at the step that failed. */
  retry?: RetryInstruction;
  /** A client who churned, was offboarded and signed again: the onboarding before this one, kept for its history. */
  previousRun?: PreviousRun;
  /** Started by a CRM's own webhook (HubSpot, Pipedrive, GoHighLevel): the client's record there. */
  crm?: { record: import('../crm/types.js').CrmRecord };
}

export interface PreviousRun {
  runId: string;
  /** When that client's offboarding finished. */
  offboardedAt: string;
}

/** Client data an operator corrects on retry (never the CRM's client id). */
export type ClientCorrections = Partial<Omit<ClientDetails, 'clientId'>>;

export interface RetryInstruction {
  corrections?: ClientCorrections;
  reason?: string;
  /** Who asked (the ops API's audit actor). */
  by: string;
}

export interface RetryOutcome {
  resumesAt: StepName;
  changedFields: string[];
}

/** One recorded change to an onboarding: a retry (with the fields corrected, old and new values) or a cancellation. */
export interface ChangeRecord {
  /** Absent on records from before cancellations were recorded: a retry. */
  kind?: 'retry' | 'cancel';
  at: string;
  by: string;
  reason: string | null;
  fields: Record<string, { from: string | null; to: string | null }>;
  /** The step the retry resumed at (for a cancellation: the step it stopped at). */
  resumesAt: StepName;
}

/** Who cancels and why, sent just before the cancellation itself so the onboarding records it in `changes`. */
export interface CancellationNote {
  by: string;
  reason: string | null;
}

export type OnboardingPhase = 'registering' | 'awaiting-dns' | 'securing-tls' | 'sending-signup-email' | 'completed' | 'failed' | 'cancelled';

/**
 * Every step an onboarding can take, in the order they run. A plan takes the steps of its platforms plus the
 * shared ones (`await-dns`, `send-signup-email`); which platform owns which is in `platforms/steps.ts`.
 */
export const STEP_ORDER = ['read-crm', 'netlify-account', 'register', 'secure-wordpress-key', 'netlify-site', 'await-dns', 'tls', 'send-signup-email'] as const;
export type StepName = (typeof STEP_ORDER)[number];

export interface StepRecord {
  name: StepName;
  state: 'pending' | 'running' | 'done' | 'skipped' | 'needs-attention' | 'failed';
  startedAt: string | null;
  finishedAt: string | null;
  detail: string | null;
}

export interface AttentionItem {
  code: 'failed' | 'wordpress-key-lost' | 'dns-stalled' | 'tls-stalled' | 'reseller-failing' | 'email-failing' | 'crm-write-failing';
  reason: string;
  /** What to do, imperative and short (the UI shows about 90 characters); absent on items from before actions. */
  action?: string;
  since: string;
}

export type WordPressKeyState = 'stored' | 'lost' | 'not-applicable';

export interface RegistrationOutcome {
  domainId: string;
  host: string;
  clientUserId: string | null;
  wordpressKey: WordPressKeyState;
  /** Where the key is kept (e.g. `vault:onboarding-crm-123/wordpress-api-key`), never the key. */
  keyReference: string | null;
  /** True when an earlier attempt had already registered the domain and this one found it. */
  foundExisting: boolean;
}

export interface DnsProgress {
  verificationStatus: string | null;
  checks: number;
  waitingSince: string | null;
  lastCheckedAt: string | null;
  nextCheckAt: string | null;
  deadlineAt: string | null;
  verifiedAt: string | null;
  nextIntervalMs: number | null;
  /** Netlify: the client's DNS records as the engine's own check found them, each with what to fix. */
  records?: DnsRecordCheck[];
  /** What the phase still waits for, one line per platform ("NextNet: verification_status pending"). */
  waitingFor?: string[];
}

export interface OnboardingStatus {
  onboardingId: string;
  clientId: string;
  domain: string;
  /** What the agency told us, with any corrections applied. */
  client: ClientDetails;
  settings: OnboardingSettings;
  changes: ChangeRecord[];
  /** The plan's platforms; absent in runs started before plans (NextNet only). */
  services?: PlatformName[];
  status: OnboardingPhase;
  needsAttention: { reason: string; since: string; items: AttentionItem[] } | null;
  failure: { reason: string; type: string; at: string } | null;
  steps: StepRecord[];
  /** NextNet's registration (null until registered, or when the plan has no NextNet). */
  registration: RegistrationOutcome | null;
  /** The client's Netlify user, token reference, site and certificate (absent when the plan has no Netlify). */
  netlify?: NetlifyProgress | null;
  dns: DnsProgress;
  signupEmail: { sentAt: string; messageId: string } | null;
  startedAt: string;
  updatedAt: string;
  /** How many times the workflow continued as new during a long DNS wait. */
  runs: number;
  /** The client's earlier onboarding, when this one started after the client churned and came back. */
  previousRun?: PreviousRun | null;
  /** A failed onboarding waits this long for ops before it closes as failed (null while it is not failed). */
  closesAt?: string | null;
  /**
   * Where this onboarding's secrets live in the vault (`vault:<secretScope>/<name>`); absent = the onboarding id. A
   * returning client's new onboarding gets a scope of its own: the earlier one's secrets were revoked for good.
   */
  secretScope?: string;
}

/**
 * Memo fields every onboarding and offboarding keeps current, read by the list (visibility returns memos with each
 * row): a one-line reason (the failure, or what needs attention, or why it waits) for the triage column.
 */
export const MEMO_REASON = 'reason';

export const getStatus = defineQuery<OnboardingStatus>('getStatus');
export const checkDnsNow = defineSignal('checkDnsNow');
/** Records who cancels and why; the API sends it right before cancelling the workflow. */
export const noteCancellation = defineSignal<[CancellationNote]>('noteCancellation');
/** Retries a running onboarding that needs attention; the validator refuses one that is running normally. */
export const retryOnboarding = defineUpdate<RetryOutcome, [RetryInstruction]>('retry');

// --- Offboarding: a churned client's domain is removed after a grace period -------------------------------

export interface OffboardingInput {
  offboardingId: string;
  onboardingId: string;
  clientId: string;
  domain: string | null;
  /** NextNet's id of the registered domain, when the onboarding got that far. */
  domainId: string | null;
  /** Whether the domain was registered with NextNet; absent in offboardings from before plans (then: `domain` set). */
  registeredAtNextNet?: boolean;
  /** The client's Netlify site, when the onboarding created one (id null: its creation was under way at the churn). */
  netlifySite?: { id: string | null; name: string } | null;
  /** The client's email: a registration whose answer never came is looked up by host and removed only if it is this client's. */
  clientEmail?: string;
  /**
   * A registration or a site creation was under way when the client churned: its attempt may still land after the onboarding is
   * cancelled, so the removal waits at least this long after the churn (an attempt's timeout) before looking.
   */
  inFlightSettleMs?: number;
  /** Where the onboarding's secrets live in the vault; absent = the onboarding id. */
  secretScope?: string;
  /** Whether the onboarding was still running when the churn arrived, and so must be stopped. */
  onboardingRunning: boolean;
  graceMs: number;
  /** The CRM's timestamp of the churn event, so a stale redelivery can be told from a new churn. */
  churnedAt: string;
}

export type OffboardingPhase = 'grace-period' | 'removing' | 'offboarded' | 'reactivated';

export interface OffboardingStatus {
  offboardingId: string;
  onboardingId: string;
  clientId: string;
  domain: string | null;
  status: OffboardingPhase;
  churnedAt: string;
  removeAfter: string;
  onboardingCancelled: boolean;
  removal: 'removed' | 'already-gone' | 'nothing-registered' | null;
  /** What became of the client's Netlify site (absent when it had none). */
  siteRemoval?: 'removed' | 'already-gone' | null;
  secretsRevoked: boolean;
  /** When the removal and the revocation were done (absent on offboardings from before it was recorded). */
  offboardedAt?: string | null;
  reactivatedAt: string | null;
  updatedAt: string;
}

export const getOffboardingStatus = defineQuery<OffboardingStatus>('getOffboardingStatus');
/** A `client.reactivated` within the grace period: the domain stays. */
export const reactivateClient = defineSignal<[{ at: string }]>('reactivateClient');

/** Failure types the workflow treats as final business outcomes rather than transient trouble. */
export const FailureTypes = {
  resellerRejected: 'ResellerRejected',
  domainOwnedElsewhere: 'DomainOwnedElsewhere',
  /** Another onboarding of this engine holds the domain (a duplicate client record in the CRM). */
  domainAlreadyOnboarded: 'DomainAlreadyOnboarded',
  domainRemoved: 'DomainRemoved',
  emailRejected: 'EmailRejected',
  /** The client's CRM record lacks a usable email or domain (the message says which, and where to fill it in). */
  crmRecordIncomplete: 'CrmRecordIncomplete',
  /** A won deal with no contact to onboard. */
  crmDealWithoutContact: 'CrmDealWithoutContact',
  /** Retryable: an earlier attempt at the same email may still be sending. */
  emailSendInProgress: 'EmailSendInProgress',
  siteRemoved: 'SiteRemoved',
} as const;
