/**
 * The onboarding's status: how it starts, what a carried-over or corrected one looks like, and how it reads to ops
 * in the Temporal UI. Pure functions over the workflow's contract (workflow code: no I/O).
 */
import { platformOf, type PlatformName } from '../platforms/catalog.js';
import { PLATFORM_STEPS } from '../platforms/steps.js';
import {
  STEP_ORDER,
  type AttentionItem,
  type ChangeRecord,
  type ClientCorrections,
  type ClientDetails,
  type OnboardingInput,
  type OnboardingStatus,
  type RetryInstruction,
  type StepName,
  type StepRecord,
} from './definitions.js';

/** Onboardings started before plans existed covered NextNet only. */
export const LEGACY_PLAN: PlatformName[] = ['nextnet'];

/** The plan's steps in run order: each platform's, plus the shared DNS phase and signup email. */
export function planSteps(plan: PlatformName[]): StepName[] {
  const owned = new Set<StepName>(['await-dns', 'send-signup-email', ...plan.flatMap((name) => PLATFORM_STEPS[name].phases.flatMap((phase) => phase.steps))]);
  return STEP_ORDER.filter((name) => owned.has(name));
}

export const pendingStep = (name: StepName): StepRecord => ({ name, state: 'pending', startedAt: null, finishedAt: null, detail: null });

export function newStatus(input: OnboardingInput, plan: PlatformName[]): OnboardingStatus {
  const at = new Date().toISOString();
  return {
    onboardingId: input.onboardingId,
    clientId: input.client.clientId,
    domain: input.client.domain,
    client: input.client,
    settings: input.settings,
    changes: [],
    services: plan,
    status: 'registering',
    needsAttention: null,
    failure: null,
    // A client from a CRM's own webhook is read from its CRM record first.
    steps: [...(input.crm ? (['read-crm'] as const) : []), ...planSteps(plan)].map(pendingStep),
    registration: null,
    netlify: plan.includes('netlify') ? { userId: null, tokenReference: null, site: null, tls: null } : null,
    dns: emptyDnsProgress(),
    signupEmail: null,
    startedAt: at,
    updatedAt: at,
    runs: 1,
    previousRun: input.previousRun ?? null,
    closesAt: null,
    secretScope: input.previousRun ? `${input.onboardingId}~after-${input.previousRun.runId}` : input.onboardingId,
  };
}

/** A status carried over from an earlier run (continue-as-new or a retry), possibly one from before plans. */
export function adoptCarried(carried: OnboardingStatus, plan: PlatformName[]): OnboardingStatus {
  const fromCrm = carried.steps.filter((s) => s.name === 'read-crm');
  const steps = [...fromCrm, ...planSteps(plan).map((name) => carried.steps.find((s) => s.name === name) ?? pendingStep(name))];
  return { ...carried, services: plan, steps, netlify: carried.netlify ?? (plan.includes('netlify') ? { userId: null, tokenReference: null, site: null, tls: null } : null), runs: carried.runs + 1 };
}

export function emptyDnsProgress(): OnboardingStatus['dns'] {
  return { verificationStatus: null, checks: 0, waitingSince: null, lastCheckedAt: null, nextCheckAt: null, deadlineAt: null, verifiedAt: null, nextIntervalMs: null };
}

export function firstUnfinishedStep(status: OnboardingStatus): StepName {
  return status.steps.find((s) => s.state !== 'done' && s.state !== 'skipped')?.name ?? 'send-signup-email';
}

/** Applies corrections to the client details and records them (old and new values) in the status. */
export function recordCorrections(status: OnboardingStatus, retry: RetryInstruction): ChangeRecord {
  const fields: ChangeRecord['fields'] = {};
  const corrections: ClientCorrections = retry.corrections ?? {};
  const client: ClientDetails = { ...status.client };
  for (const [field, value] of Object.entries(corrections) as [keyof ClientCorrections, string | undefined][]) {
    if (value === undefined || client[field] === value) continue;
    fields[field] = { from: client[field] ?? null, to: value };
    client[field] = value;
  }
  status.client = client;
  status.domain = client.domain;
  const change: ChangeRecord = { at: new Date().toISOString(), by: retry.by, reason: retry.reason ?? null, fields, resumesAt: firstUnfinishedStep(status) };
  status.changes = [...status.changes, change];
  return change;
}

export function summariseAttention(items: AttentionItem[]): OnboardingStatus['needsAttention'] {
  return { reason: items.map((item) => item.reason).join('; '), since: items[0]!.since, items };
}

/**
 * What a person should do next, or that nothing is needed: the first line of the UI's current details (which the
 * UI clips after about 90 characters) and of `onboarding show`.
 */
export function nextAction(status: OnboardingStatus): string {
  const attention = status.needsAttention?.items[0];
  if (status.status === 'cancelled') return `Cancelled: nothing runs. To resume: npx onboarding retry ${status.onboardingId} --resume-cancelled`;
  if (attention) return `⚠ ${attention.action ?? attention.reason}`;
  switch (status.status) {
    case 'completed':
      return 'Completed: nothing to do.';
    case 'awaiting-dns': {
      const fix = (status.dns.records ?? []).find((r) => !r.ok && r.fix)?.fix;
      return fix ? `Waiting for the client to fix DNS: ${fix}` : `Waiting for DNS, nothing to do yet: ${(status.dns.waitingFor ?? [])[0] ?? 'checking'}`;
    }
    case 'securing-tls':
      return "Waiting for Netlify's TLS certificate; nothing to do.";
    case 'sending-signup-email':
      return 'Sending the signup email; nothing to do.';
    default:
      return 'Setting the client up at its platforms; nothing to do.';
  }
}

/** One line for the list's reason column (the memo): the failure, what needs attention, or what it waits for. */
export function reasonLine(status: OnboardingStatus): string | null {
  if (status.failure) return firstLine(status.failure.reason);
  if (status.needsAttention) return firstLine(status.needsAttention.reason);
  if (status.status === 'awaiting-dns') return firstLine((status.dns.waitingFor ?? []).join('; ') || 'waiting for DNS');
  if (status.status === 'securing-tls') return firstLine(status.netlify?.tls?.detail ?? "waiting for Netlify's certificate");
  return null;
}

function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > 160 ? `${line.slice(0, 159)}…` : line;
}

/** The "current details" the Temporal UI shows: the next action first, then what the onboarding is and waits for. */
export function describeForOps(status: OnboardingStatus): string {
  const plan = (status.services ?? LEGACY_PLAN).map((name) => platformOf(name).label).join(' + ');
  const lines = [`**${nextAction(status)}**`, `${status.status} — ${status.domain} (CRM client ${status.clientId}; ${plan})`];
  if (status.needsAttention) lines.push(`Needs attention since ${status.needsAttention.since}: ${status.needsAttention.reason}`);
  if (status.status === 'awaiting-dns' && status.dns.waitingSince) {
    const fixes = (status.dns.records ?? []).filter((r) => !r.ok && r.fix).map((r) => `- ${r.fix}`);
    lines.push(`Waiting for DNS since ${status.dns.waitingSince}, next check ${status.dns.nextCheckAt ?? 'now'}: ${(status.dns.waitingFor ?? []).join('; ') || 'checking'}.`);
    if (fixes.length) lines.push(`To fix:\n${fixes.join('\n')}`);
  }
  if (status.status === 'securing-tls') lines.push(`Waiting for Netlify's TLS certificate: ${status.netlify?.tls?.detail ?? 'requested'}.`);
  if (status.failure) lines.push(`Failed: ${status.failure.reason}${status.closesAt ? ` (closes as failed at ${status.closesAt} unless retried)` : ''}`);
  if (status.netlify?.site) lines.push(`Site: ${status.netlify.site.sslUrl ?? status.netlify.site.url} (${status.netlify.site.name} at Netlify)`);
  if (status.signupEmail) lines.push(`Signup email sent ${status.signupEmail.sentAt}.`);
  if (status.previousRun) lines.push(`The client's earlier onboarding (offboarded ${status.previousRun.offboardedAt}) is run ${status.previousRun.runId}.`);
  return lines.join('\n\n');
}

/**
 * A duration as people configure it: "90 s", "15 min", "72 h", "7 d": the largest unit that divides it whole, never
 * rounded (days only from a week, since deadlines are set in hours).
 */
export function formatDuration(ms: number): string {
  if (ms >= 7 * 86_400_000 && ms % 86_400_000 === 0) return `${ms / 86_400_000} d`;
  for (const [unit, size] of [['h', 3_600_000], ['min', 60_000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${unit}`;
  }
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
