import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  continueAsNew,
  isCancellation,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { OnboardingActivities } from '../activities/index.js';
import {
  checkDnsNow,
  getStatus,
  type AttentionItem,
  type OnboardingInput,
  type OnboardingStatus,
  type StepName,
  type StepRecord,
} from './definitions.js';

// Reseller calls retry until they succeed; business rejections arrive as non-retryable failures.
const reseller = proxyActivities<OnboardingActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});
const mail = proxyActivities<OnboardingActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

const DEFAULT_DNS_CHECKS_PER_RUN = 200;

/** Onboards one client: register with NextNet, keep the WordPress key safe, wait for DNS, send the signup email. */
export async function onboardClient(input: OnboardingInput): Promise<OnboardingStatus> {
  const { client, settings, onboardingId } = input;
  const status: OnboardingStatus = input.carried
    ? { ...input.carried, runs: input.carried.runs + 1 }
    : newStatus(input);
  let dnsCheckRequested = false;

  setHandler(getStatus, () => status);
  setHandler(checkDnsNow, () => {
    dnsCheckRequested = true;
  });

  const now = () => new Date().toISOString();
  const touch = () => {
    status.updatedAt = now();
  };
  const step = (name: StepName): StepRecord => status.steps.find((s) => s.name === name)!;
  const begin = (name: StepName) => {
    Object.assign(step(name), { state: 'running', startedAt: step(name).startedAt ?? now() });
    touch();
  };
  const finish = (name: StepName, state: StepRecord['state'], detail: string | null = null) => {
    Object.assign(step(name), { state, finishedAt: now(), detail });
    touch();
  };
  const raiseAttention = async (code: AttentionItem['code'], reason: string) => {
    if (status.needsAttention?.items.some((item) => item.code === code)) return;
    const items = [...(status.needsAttention?.items ?? []), { code, reason, since: now() }];
    status.needsAttention = summariseAttention(items);
    touch();
    await mail.alertOps({ onboardingId, domain: client.domain, reason });
  };
  const clearAttention = (code: AttentionItem['code']) => {
    const items = (status.needsAttention?.items ?? []).filter((item) => item.code !== code);
    status.needsAttention = items.length ? summariseAttention(items) : null;
    touch();
  };

  try {
    if (status.registration === null) {
      status.status = 'registering';
      begin('register');
      const registration = await reseller.registerClientDomain({ onboardingId, client });
      status.registration = registration;
      finish('register', 'done', registration.foundExisting ? 'already registered by an earlier attempt' : null);

      if (registration.wordpressKey === 'stored') {
        finish('secure-wordpress-key', 'done', `kept in the vault as ${registration.keyReference}`);
      } else if (registration.wordpressKey === 'lost') {
        const reason = 'WordPress key lost; regenerate it in the NextNet dashboard';
        finish('secure-wordpress-key', 'needs-attention', reason);
        await raiseAttention('wordpress-key-lost', reason);
      } else {
        finish('secure-wordpress-key', 'skipped', 'the client does not use WordPress');
      }
    }

    if (step('await-dns').state !== 'done') {
      status.status = 'awaiting-dns';
      await awaitDnsVerification();
    }

    if (status.signupEmail === null) {
      status.status = 'sending-signup-email';
      begin('send-signup-email');
      status.signupEmail = await mail.sendSignupEmail({ onboardingId, client });
      finish('send-signup-email', 'done', `sent to the client's registered address`);
    }

    status.status = 'completed';
    touch();
    return status;
  } catch (err) {
    const rejection = businessRejection(err);
    if (!rejection) throw err;
    status.status = 'failed';
    status.failure = { reason: rejection.message, type: rejection.type ?? 'Error', at: now() };
    const running = status.steps.find((s) => s.state === 'running');
    if (running) finish(running.name, 'failed', rejection.message);
    // Fail the workflow itself too, so the Temporal UI shows the reason in red.
    throw ApplicationFailure.nonRetryable(rejection.message, rejection.type ?? undefined);
  }

  async function awaitDnsVerification(): Promise<void> {
    const { registration } = status;
    if (!registration) throw new Error('DNS verification needs a registration');
    const dns = status.dns;
    if (dns.waitingSince === null) {
      begin('await-dns');
      dns.waitingSince = now();
      dns.deadlineAt = new Date(Date.now() + settings.dnsDeadlineMs).toISOString();
    }
    const deadline = Date.parse(dns.deadlineAt!);
    const checksPerRun = settings.dnsChecksPerRun ?? DEFAULT_DNS_CHECKS_PER_RUN;
    let checksThisRun = 0;

    for (;;) {
      dnsCheckRequested = false;
      const check = await reseller.checkDomainVerification({ domainId: registration.domainId });
      checksThisRun += 1;
      dns.checks += 1;
      dns.lastCheckedAt = now();
      dns.verificationStatus = check.verificationStatus;
      touch();

      if (check.state === 'verified') {
        dns.verifiedAt = now();
        dns.nextCheckAt = null;
        finish('await-dns', 'done', `verification_status: ${check.verificationStatus}`);
        clearAttention('dns-stalled');
        return;
      }
      step('await-dns').detail = `verification_status: ${check.verificationStatus ?? 'none'}`;

      const stalled = Date.now() >= deadline;
      if (stalled) {
        await raiseAttention(
          'dns-stalled',
          `DNS for ${client.domain} not verified after ${formatHours(settings.dnsDeadlineMs)}; ask the client to add the DNS record (still checking)`,
        );
      }

      if (checksThisRun >= checksPerRun || workflowInfo().continueAsNewSuggested) {
        await continueAsNew<typeof onboardClient>({ ...input, carried: status });
      }

      const interval = dns.nextIntervalMs ?? settings.dnsPollInitialMs;
      dns.nextIntervalMs = Math.min(interval * 2, settings.dnsPollMaxMs);
      // Wake at the deadline too, so "needs attention" is raised on time rather than at the next slow poll.
      const wait = stalled ? interval : Math.max(1, Math.min(interval, deadline - Date.now()));
      dns.nextCheckAt = new Date(Date.now() + wait).toISOString();
      await condition(() => dnsCheckRequested, wait);
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
    status: 'registering',
    needsAttention: null,
    failure: null,
    steps: [pending('register'), pending('secure-wordpress-key'), pending('await-dns'), pending('send-signup-email')],
    registration: null,
    dns: {
      verificationStatus: null,
      checks: 0,
      waitingSince: null,
      lastCheckedAt: null,
      nextCheckAt: null,
      deadlineAt: null,
      verifiedAt: null,
      nextIntervalMs: null,
    },
    signupEmail: null,
    startedAt: at,
    updatedAt: at,
    runs: 1,
  };
}

function summariseAttention(items: AttentionItem[]): OnboardingStatus['needsAttention'] {
  return { reason: items.map((item) => item.reason).join('; '), since: items[0]!.since, items };
}

/** A non-retryable failure from an activity is a business outcome; anything else is left to Temporal. */
function businessRejection(err: unknown): ApplicationFailure | undefined {
  if (isCancellation(err)) return undefined;
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.nonRetryable) return err.cause;
  return undefined;
}

function formatHours(ms: number): string {
  return ms >= 3_600_000 ? `${Math.round(ms / 3_600_000)} h` : ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
}
