import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  continueAsNew,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { OnboardingActivities } from '../activities/index.js';
import {
  checkDnsNow,
  getStatus,
  retryOnboarding,
  type AttentionItem,
  type ChangeRecord,
  type ClientCorrections,
  type ClientDetails,
  type OnboardingInput,
  type OnboardingPhase,
  type OnboardingStatus,
  type RetryInstruction,
  type RetryOutcome,
  type StepName,
  type StepRecord,
} from './definitions.js';
import { alertOptions, mailOptions, resellerCallOptions } from './activity-options.js';
import { NeedsAttention, OnboardingDomain, OnboardingStatus as OnboardingStatusKey } from './search-attributes.js';
import { completedCounter, dnsWait, failedCounter, webhookToCompletion } from './metrics.js';

const reseller = proxyActivities<OnboardingActivities>(resellerCallOptions);
const mail = proxyActivities<OnboardingActivities>(mailOptions);
const alerts = proxyActivities<OnboardingActivities>(alertOptions);

const DEFAULT_DNS_CHECKS_PER_RUN = 200;
const DEFAULT_STALL_ALERT_MS = 15 * 60_000;
// Fields that NextNet holds on the client user or domain itself: changing them means registering again.
const REGISTRATION_IDENTITY_FIELDS = ['email', 'domain'] as const;


/**
 * FROZEN: the onboarding workflow as it ran before onboardings covered a plan of platforms (NextNet only). Runs
 * started before the `onboarding-plan` patch replay through this function, unchanged, so a weeks-long DNS wait
 * that began then finishes as it began. Do not edit: any change breaks those replays (test/replay.test.ts).
 * Delete it, and the `patched` branch in onboarding.ts, once no such run is open (`deprecatePatch` first).
 */
export async function onboardClientV1(input: OnboardingInput): Promise<OnboardingStatus> {
  const { settings, onboardingId } = input;
  const status: OnboardingStatus = input.carried ? { ...input.carried, runs: input.carried.runs + 1 } : newStatus(input);
  let dnsCheckRequested = false;
  let registrationRestartRequested = false;
  // Set by a retry that corrects the email or domain of a registered client: the old registration goes first.
  const pending: { release: { domain: string; domainId: string } | null } = { release: null };

  const now = () => new Date().toISOString();
  const step = (name: StepName): StepRecord => status.steps.find((s) => s.name === name)!;
  const publish = () => {
    status.updatedAt = now();
    upsertSearchAttributes([
      { key: OnboardingStatusKey, value: status.status },
      { key: NeedsAttention, value: status.needsAttention !== null },
      { key: OnboardingDomain, value: status.domain },
    ]);
    setCurrentDetails(describeForOps(status));
  };
  const enterPhase = (phase: OnboardingPhase) => {
    status.status = phase;
    publish();
  };
  const begin = (name: StepName) => {
    Object.assign(step(name), { state: 'running', startedAt: step(name).startedAt ?? now(), finishedAt: null });
    publish();
  };
  const finish = (name: StepName, state: StepRecord['state'], detail: string | null = null) => {
    Object.assign(step(name), { state, finishedAt: now(), detail });
    publish();
  };
  const raiseAttention = async (code: AttentionItem['code'], reason: string) => {
    if (status.needsAttention?.items.some((item) => item.code === code)) return;
    status.needsAttention = summariseAttention([...(status.needsAttention?.items ?? []), { code, reason, since: now() }]);
    publish();
    try {
      await alerts.alertOps({ onboardingId, domain: status.domain, reason });
    } catch (err) {
      // The status (and the NeedsAttention search attribute) already says it; the email was a courtesy.
      log.warn('could not send the ops alert', { reason, error: String(err) });
    }
  };
  const clearAttention = (code: AttentionItem['code']) => {
    const items = (status.needsAttention?.items ?? []).filter((item) => item.code !== code);
    status.needsAttention = items.length ? summariseAttention(items) : null;
    publish();
  };
  const summary = (text: string): ActivityOptions => ({ summary: text });
  /**
   * Awaits an activity that retries until it succeeds; if it is still failing after `stallAlertMs`, a person is told
   * (needs attention, plus an alert), and the alert clears once it succeeds.
   */
  const tellIfStuck = async <T>(code: 'reseller-failing' | 'email-failing', what: string, work: Promise<T>): Promise<T> => {
    let settled = false;
    const watched = work.finally(() => {
      settled = true;
    });
    watched.catch(() => undefined);
    if (!(await condition(() => settled, settings.stallAlertMs ?? DEFAULT_STALL_ALERT_MS))) {
      await raiseAttention(code, `${what} has been failing for ${formatDuration(settings.stallAlertMs ?? DEFAULT_STALL_ALERT_MS)} and is still retrying; the pending activity in the Temporal UI shows the last error`);
    }
    const result = await watched;
    clearAttention(code);
    return result;
  };
  /** On retry: ops may have stored a regenerated key (PUT .../secrets/wordpress-api-key) after "WordPress key lost". */
  const recheckLostKey = async () => {
    if (!status.needsAttention?.items.some((i) => i.code === 'wordpress-key-lost')) return;
    if (!(await reseller.checkStoredKey({ onboardingId }))) return;
    clearAttention('wordpress-key-lost');
    finish('secure-wordpress-key', 'done', 'regenerated key stored by ops');
    if (status.registration) status.registration = { ...status.registration, wordpressKey: 'stored', keyReference: `vault:${onboardingId}/wordpress-api-key` };
  };

  /** Applies a retry: records the corrections, and rewinds to the first step they (or the failure) invalidate. */
  const applyRetry = (retry: RetryInstruction): RetryOutcome => {
    const change = recordCorrections(status, retry);
    const changedFields = Object.keys(change.fields);
    const identityChanged = changedFields.some((f) => (REGISTRATION_IDENTITY_FIELDS as readonly string[]).includes(f));
    if (identityChanged && status.registration) {
      pending.release = { domain: status.registration.host, domainId: status.registration.domainId };
      rewindTo(status, 'register');
    }
    const failed = status.steps.find((s) => s.state === 'failed');
    if (failed) rewindTo(status, failed.name);
    status.failure = null;
    // A retry restarts the DNS clock (deadline and backoff) and looks again at what needed attention.
    if (status.dns.waitingSince !== null) status.dns.deadlineAt = new Date(Date.now() + settings.dnsDeadlineMs).toISOString();
    status.dns.nextIntervalMs = null;
    change.resumesAt = firstUnfinishedStep(status);
    return { resumesAt: change.resumesAt, changedFields };
  };

  setHandler(getStatus, () => status);
  setHandler(checkDnsNow, () => {
    dnsCheckRequested = true;
  });
  setHandler(
    retryOnboarding,
    async (retry) => {
      const outcome = applyRetry(retry);
      if (pending.release) registrationRestartRequested = true;
      dnsCheckRequested = true;
      await recheckLostKey();
      clearAttention('dns-stalled');
      publish();
      return outcome;
    },
    {
      validator: (retry) => {
        if (status.status === 'completed') throw new Error('the onboarding is completed; there is nothing to retry');
        if (status.needsAttention === null) throw new Error(`the onboarding is running normally (${status.status}); retry is for failed onboardings or ones that need attention`);
        if (retry.corrections?.domain !== undefined && status.status === 'sending-signup-email') {
          throw new Error('the signup email is being sent; the domain can no longer be corrected');
        }
      },
    },
  );

  if (input.retry) {
    const outcome = applyRetry(input.retry);
    log.info('onboarding retried', { resumesAt: outcome.resumesAt, changedFields: outcome.changedFields });
  }
  publish();

  try {
    if (input.retry) await recheckLostKey();
    for (;;) {
      if (pending.release) {
        const previous = pending.release;
        await tellIfStuck(
          'reseller-failing',
          `Removing ${previous.domain} from NextNet`,
          reseller.releaseDomain.executeWithOptions({ ...resellerCallOptions, ...summary(`Remove ${previous.domain} from NextNet (corrected on retry)`) }, [{ domainId: previous.domainId, domain: previous.domain }]),
        );
        pending.release = null;
        registrationRestartRequested = false;
      }

      if (status.registration === null) await registerClient();

      if (step('await-dns').state !== 'done') {
        enterPhase('awaiting-dns');
        const outcome = await awaitDnsVerification();
        if (outcome === 'restart-registration') continue;
      }

      if (status.signupEmail === null) {
        enterPhase('sending-signup-email');
        begin('send-signup-email');
        status.signupEmail = await tellIfStuck(
          'email-failing',
          'Sending the signup email',
          mail.sendSignupEmail.executeWithOptions({ ...mailOptions, ...summary(`Email the signup link to the client of ${status.domain}`) }, [{ onboardingId, client: status.client }]),
        );
        finish('send-signup-email', 'done', `sent to the client's registered address`);
      }
      break;
    }

    enterPhase('completed');
    completedCounter.add(1);
    webhookToCompletion.record((Date.now() - Date.parse(input.receivedAt)) / 1000);
    return status;
  } catch (err) {
    if (isCancellation(err)) {
      const running = status.steps.find((s) => s.state === 'running');
      if (running) Object.assign(running, { state: 'pending', finishedAt: null, detail: 'cancelled' });
      enterPhase('cancelled');
      throw err;
    }
    const rejection = businessRejection(err);
    if (!rejection) throw err;
    status.failure = { reason: rejection.message, type: rejection.type ?? 'Error', at: now() };
    const running = status.steps.find((s) => s.state === 'running');
    if (running) finish(running.name, 'failed', rejection.message);
    enterPhase('failed');
    failedCounter.add(1, { reason: rejection.type ?? 'Error' });
    // Fail the workflow itself too, so the Temporal UI shows the reason in red.
    throw ApplicationFailure.nonRetryable(rejection.message, rejection.type ?? undefined);
  }

  async function registerClient(): Promise<void> {
    enterPhase('registering');
    begin('register');
    const registration = await tellIfStuck(
      'reseller-failing',
      `Registering ${status.domain} with NextNet`,
      reseller.registerClientDomain.executeWithOptions({ ...resellerCallOptions, ...summary(`Register ${status.domain} with NextNet`) }, [{ onboardingId, client: status.client }]),
    );
    status.registration = registration;
    finish('register', 'done', registration.foundExisting ? 'already registered by an earlier attempt' : null);

    if (registration.wordpressKey === 'stored') {
      finish('secure-wordpress-key', 'done', `kept in the vault as ${registration.keyReference}`);
      clearAttention('wordpress-key-lost');
    } else if (registration.wordpressKey === 'lost') {
      const reason = 'WordPress key lost; regenerate it in the NextNet dashboard';
      finish('secure-wordpress-key', 'needs-attention', reason);
      await raiseAttention('wordpress-key-lost', reason);
    } else {
      finish('secure-wordpress-key', 'skipped', 'the client does not use WordPress');
    }
  }

  async function awaitDnsVerification(): Promise<'verified' | 'restart-registration'> {
    const { registration } = status;
    if (!registration) throw new Error('DNS verification needs a registration');
    const dns = status.dns;
    if (dns.waitingSince === null || dns.deadlineAt === null) {
      begin('await-dns');
      dns.waitingSince = now();
      dns.deadlineAt = new Date(Date.now() + settings.dnsDeadlineMs).toISOString();
    }
    const checksPerRun = settings.dnsChecksPerRun ?? DEFAULT_DNS_CHECKS_PER_RUN;
    let checksThisRun = 0;

    for (;;) {
      const deadline = Date.parse(dns.deadlineAt!);
      dnsCheckRequested = false;
      const check = await tellIfStuck(
        'reseller-failing',
        `Checking DNS verification of ${registration.host} at NextNet`,
        reseller.checkDomainVerification.executeWithOptions({ ...resellerCallOptions, ...summary(`Check DNS verification of ${registration.host}`) }, [{ domainId: registration.domainId }]),
      );
      checksThisRun += 1;
      dns.checks += 1;
      dns.lastCheckedAt = now();
      dns.verificationStatus = check.verificationStatus;

      if (registrationRestartRequested) return 'restart-registration';
      if (check.state === 'verified') {
        dns.verifiedAt = now();
        dns.nextCheckAt = null;
        dnsWait.record((Date.now() - Date.parse(dns.waitingSince!)) / 1000);
        finish('await-dns', 'done', `verification_status: ${check.verificationStatus}`);
        clearAttention('dns-stalled');
        return 'verified';
      }
      step('await-dns').detail = `verification_status: ${check.verificationStatus ?? 'none'}`;

      const stalled = Date.now() >= deadline;
      if (stalled) {
        await raiseAttention(
          'dns-stalled',
          `DNS for ${registration.host} not verified after ${formatDuration(settings.dnsDeadlineMs)}; ask the client to add the DNS record (still checking)`,
        );
      }

      if (checksThisRun >= checksPerRun || workflowInfo().continueAsNewSuggested) {
        await continueAsNew<typeof onboardClientV1>({ onboardingId, client: status.client, settings, receivedAt: input.receivedAt, carried: status });
      }

      const interval = dns.nextIntervalMs ?? settings.dnsPollInitialMs;
      dns.nextIntervalMs = Math.min(interval * 2, settings.dnsPollMaxMs);
      // Wake at the deadline too, so "needs attention" is raised on time rather than at the next slow poll.
      const wait = stalled ? interval : Math.max(1, Math.min(interval, deadline - Date.now()));
      dns.nextCheckAt = new Date(Date.now() + wait).toISOString();
      publish();
      await condition(() => dnsCheckRequested || registrationRestartRequested, wait);
      if (registrationRestartRequested) return 'restart-registration';
    }
  }
}

function newStatus(input: OnboardingInput): OnboardingStatus {
  const at = new Date().toISOString();
  const pending = (name: StepName): StepRecord => ({ name, state: 'pending', startedAt: null, finishedAt: null, detail: null });
  return {
    onboardingId: input.onboardingId,
    clientId: input.client.clientId,
    domain: input.client.domain,
    client: input.client,
    settings: input.settings,
    changes: [],
    status: 'registering',
    needsAttention: null,
    failure: null,
    steps: [pending('register'), pending('secure-wordpress-key'), pending('await-dns'), pending('send-signup-email')],
    registration: null,
    dns: emptyDnsProgress(),
    signupEmail: null,
    startedAt: at,
    updatedAt: at,
    runs: 1,
  };
}

function emptyDnsProgress(): OnboardingStatus['dns'] {
  return { verificationStatus: null, checks: 0, waitingSince: null, lastCheckedAt: null, nextCheckAt: null, deadlineAt: null, verifiedAt: null, nextIntervalMs: null };
}

const STEP_ORDER: StepName[] = ['register', 'secure-wordpress-key', 'await-dns', 'send-signup-email'];

/** Marks a step and every later one as not done, clearing what they produced. */
function rewindTo(status: OnboardingStatus, from: StepName): void {
  const index = STEP_ORDER.indexOf(from === 'secure-wordpress-key' ? 'register' : from);
  for (const name of STEP_ORDER.slice(index)) {
    Object.assign(status.steps.find((s) => s.name === name)!, { state: 'pending', startedAt: null, finishedAt: null, detail: null });
  }
  if (index <= STEP_ORDER.indexOf('register')) {
    status.registration = null;
    status.needsAttention = null;
  }
  if (index <= STEP_ORDER.indexOf('await-dns')) status.dns = emptyDnsProgress();
  status.signupEmail = null;
}

function firstUnfinishedStep(status: OnboardingStatus): StepName {
  return status.steps.find((s) => s.state !== 'done' && s.state !== 'skipped')?.name ?? 'send-signup-email';
}

/** Applies corrections to the client details and records them (old and new values) in the status. */
function recordCorrections(status: OnboardingStatus, retry: RetryInstruction): ChangeRecord {
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

function summariseAttention(items: AttentionItem[]): OnboardingStatus['needsAttention'] {
  return { reason: items.map((item) => item.reason).join('; '), since: items[0]!.since, items };
}

/** A non-retryable failure from an activity is a business outcome; anything else is left to Temporal. */
function businessRejection(err: unknown): ApplicationFailure | undefined {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.nonRetryable) return err.cause;
  return undefined;
}

/** The "current details" the Temporal UI shows: what the onboarding is doing or waiting for, and since when. */
function describeForOps(status: OnboardingStatus): string {
  const lines = [`**${status.status}** — ${status.domain} (CRM client ${status.clientId})`];
  if (status.status === 'awaiting-dns' && status.dns.waitingSince) {
    lines.push(`Waiting for DNS verification since ${status.dns.waitingSince}; NextNet says \`${status.dns.verificationStatus ?? 'not checked yet'}\`, next check ${status.dns.nextCheckAt ?? 'now'}.`);
  }
  if (status.needsAttention) lines.push(`⚠ Needs attention since ${status.needsAttention.since}: ${status.needsAttention.reason}`);
  if (status.failure) lines.push(`Failed: ${status.failure.reason}`);
  if (status.signupEmail) lines.push(`Signup email sent ${status.signupEmail.sentAt}.`);
  return lines.join('\n\n');
}

function formatDuration(ms: number): string {
  return ms >= 3_600_000 ? `${Math.round(ms / 3_600_000)} h` : ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
}

