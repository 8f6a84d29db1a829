/**
 * The onboarding workflow's contract: its input, the status it reports, and the messages it accepts.
 * Imported by the workflow, the activities (types only) and the API.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';

export const ONBOARDING_WORKFLOW_TYPE = 'onboardClient';

/** One onboarding per CRM client: the id is derived from the client id, so a second start is refused. */
export function onboardingIdFor(clientId: string): string {
  return `onboarding-${clientId}`;
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
}

export interface OnboardingInput {
  onboardingId: string;
  client: ClientDetails;
  settings: OnboardingSettings;
  receivedAt: string;
  /** Set when the workflow continues as new: everything done so far. */
  carried?: OnboardingStatus;
}

export type OnboardingPhase = 'registering' | 'awaiting-dns' | 'sending-signup-email' | 'completed' | 'failed';

export type StepName = 'register' | 'secure-wordpress-key' | 'await-dns' | 'send-signup-email';

export interface StepRecord {
  name: StepName;
  state: 'pending' | 'running' | 'done' | 'skipped' | 'needs-attention' | 'failed';
  startedAt: string | null;
  finishedAt: string | null;
  detail: string | null;
}

export interface AttentionItem {
  code: 'wordpress-key-lost' | 'dns-stalled';
  reason: string;
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
}

export interface OnboardingStatus {
  onboardingId: string;
  clientId: string;
  domain: string;
  status: OnboardingPhase;
  needsAttention: { reason: string; since: string; items: AttentionItem[] } | null;
  failure: { reason: string; type: string; at: string } | null;
  steps: StepRecord[];
  registration: RegistrationOutcome | null;
  dns: DnsProgress;
  signupEmail: { sentAt: string; messageId: string } | null;
  startedAt: string;
  updatedAt: string;
  /** How many times the workflow continued as new during a long DNS wait. */
  runs: number;
}

export const getStatus = defineQuery<OnboardingStatus>('getStatus');
export const checkDnsNow = defineSignal('checkDnsNow');

/** Failure types the workflow treats as final business outcomes rather than transient trouble. */
export const FailureTypes = {
  resellerRejected: 'ResellerRejected',
  domainOwnedElsewhere: 'DomainOwnedElsewhere',
  domainRemoved: 'DomainRemoved',
  emailRejected: 'EmailRejected',
} as const;
