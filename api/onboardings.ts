import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  WorkflowUpdateFailedError,
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import { optionalTsToMs } from '@temporalio/common/lib/time.js';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { OnboardingActivities } from '../activities/index.js';
import type { Config } from '../config/index.js';
import { CRM_SOURCE_LABELS, crmClientId, crmDealWorkflowId, RESOLVE_CRM_DEAL_WORKFLOW_TYPE, type CrmIntent, type ResolveCrmDealInput } from '../crm/types.js';
import { platformOf, type PlatformName } from '../platforms/catalog.js';
import {
  checkDnsNow,
  getStatus,
  noteCancellation,
  offboardingIdFor,
  onboardingIdFor,
  ONBOARDING_WORKFLOW_TYPE,
  retryOnboarding,
  type ClientDetails,
  type OnboardingInput,
  type OnboardingSettings,
  type OnboardingStatus,
  type PreviousRun,
  type RetryInstruction,
} from '../workflows/definitions.js';
import type { onboardClient } from '../workflows/onboarding.js';
import { CrmClientId, NeedsAttention, OnboardingDomain, OnboardingPlatforms, OnboardingStatus as OnboardingStatusKey } from '../workflows/search-attributes.js';
import { HttpError } from './errors.js';
import { clientOffboarding, concernsRun, isOffboardingId, readOffboarding } from './offboardings.js';
import type { ClientOffboarding, LastError, RetryRequest } from './ops-schemas.js';
import type { TemporalCalls } from './temporal-calls.js';

const CLOSED_FOR_RETRY = new Set(['FAILED', 'CANCELLED', 'TERMINATED', 'TIMED_OUT']);

export type OnboardingsConfig = Pick<Config, 'temporal' | 'dns' | 'offboardingGraceMs'> &
  Partial<Pick<Config, 'stallAlertMs'>> & {
    /** How long a failed onboarding waits for ops before it closes as failed; the workflow's default when absent. */
    failedRetentionMs?: number;
  };

/** An onboarding's latest run: what Temporal says of it and what the workflow says of itself. */
export interface OnboardingRun {
  description: WorkflowExecutionDescription;
  status: OnboardingStatus;
}

/** `GET /v1/onboardings/{onboardingId}`: the workflow's status plus what Temporal and the client's offboarding add. */
export type OnboardingView = OnboardingStatus & {
  kind: 'onboarding';
  workflowId: string;
  runId: string;
  workflowStatus: string;
  previousRun: PreviousRun | null;
  closesAt: string | null;
  /** The most recent of `lastErrors`; null when no call is failing (or the onboarding is closed). */
  lastError: z.infer<typeof LastError> | null;
  /** Every pending activity of the running onboarding that has failed at least once, most recent first. */
  lastErrors: z.infer<typeof LastError>[];
  /** The client's offboarding, when the client churned during this onboarding (or after it). */
  offboarding: z.infer<typeof ClientOffboarding> | null;
};

export type StartOutcome =
  | { onboardingId: string; status: 'started' | 'already-started' }
  /** A client who was offboarded and signed again: a new run of the same onboarding id. */
  | { onboardingId: string; status: 'restarted'; previousRun: PreviousRun };

/**
 * Whose call each activity is, so the last error of a call that keeps failing names the platform (or the mail
 * server, or the vault). Typed against every activity the worker serves: a new activity needs its line here.
 */
const ACTIVITY_OWNERS = {
  createNetlifyUser: 'netlify',
  ensureNetlifySite: 'netlify',
  checkNetlifyDns: 'netlify',
  secureNetlifySite: 'netlify',
  deleteNetlifySite: 'netlify',
  findOwnNetlifySite: 'netlify',
  registerClientDomain: 'nextnet',
  checkDomainVerification: 'nextnet',
  checkStoredKey: 'nextnet',
  releaseDomain: 'nextnet',
  sendSignupEmail: 'mail',
  alertOps: 'mail',
  revokeClientSecrets: 'vault',
  readCrmClient: 'crm',
  crmContactOfDeal: 'crm',
  writeCrmProgress: 'crm',
} as const satisfies Record<keyof OnboardingActivities, PlatformName | 'mail' | 'vault' | 'crm'>;

/** Starting an onboarding, its status, and what ops do to it: retry, cancel, check DNS now. */
export class Onboardings {
  constructor(
    private readonly calls: TemporalCalls,
    private readonly config: OnboardingsConfig,
    private readonly logger: Logger,
  ) {}

  /**
   * A `client.created` delivery. Once per client: a redelivery answers `already-started`, unless the client was
   * offboarded since (its offboarding finished before the event's `timestamp`): then a new run of the same
   * onboarding id starts, linked to the one before (`restarted`).
   */
  async start(client: ClientDetails, services: PlatformName[], receivedAt: Date, eventAt: Date): Promise<StartOutcome> {
    const onboardingId = onboardingIdFor(client.clientId);
    const input: OnboardingInput = {
      onboardingId,
      client,
      services,
      settings: this.settings(),
      receivedAt: receivedAt.toISOString(),
    };
    if ((await this.startOnce(input)) === 'started') return { onboardingId, status: 'started' };

    const previousRun = await this.runBeforeReturn(client.clientId, eventAt);
    if (!previousRun) return { onboardingId, status: 'already-started' };
    try {
      await this.calls.call(() =>
        this.calls.client.workflow.start<typeof onboardClient>(ONBOARDING_WORKFLOW_TYPE, {
          ...this.onboardingStartOptions(client, services),
          args: [{ ...input, previousRun }],
          // Only here: the client's earlier onboarding is closed and its offboarding finished before this event.
          workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        }),
      );
    } catch (err) {
      // A concurrent delivery of the same event restarted it first.
      if (err instanceof WorkflowExecutionAlreadyStartedError) return { onboardingId, status: 'already-started' };
      throw err;
    }
    this.logger.info({ onboardingId, workflowId: onboardingId, previousRun }, 'returning client: onboarding restarted');
    return { onboardingId, status: 'restarted', previousRun };
  }

  /** The timings every onboarding the intake starts runs with. */
  private settings(): OnboardingSettings {
    return {
      dnsPollInitialMs: this.config.dns.pollInitialMs,
      dnsPollMaxMs: this.config.dns.pollMaxMs,
      dnsDeadlineMs: this.config.dns.deadlineMs,
      // Short runs keep a cache miss cheap: a worker replays at most this many checks (README, Production: sizing).
      ...(this.config.dns.checksPerRun !== undefined ? { dnsChecksPerRun: this.config.dns.checksPerRun } : {}),
      stallAlertMs: this.config.stallAlertMs,
      ...(this.config.failedRetentionMs !== undefined ? { failedRetentionMs: this.config.failedRetentionMs } : {}),
    };
  }

  /**
   * An event of a CRM's own webhook (HubSpot, Pipedrive, GoHighLevel) that onboards the client of its record. Once per
   * client, like `start`: a redelivery, or another event about the same client, answers `already-started`. The
   * client's details the event did not carry stay empty: the onboarding reads them from `crm.record`.
   */
  async startForCrm(intent: Extract<CrmIntent, { kind: 'start' }>, services: PlatformName[], receivedAt: Date): Promise<{ onboardingId: string; status: 'started' | 'already-started' }> {
    const clientId = crmClientId(intent.record);
    const onboardingId = onboardingIdFor(clientId);
    const { known } = intent;
    const client: ClientDetails = { clientId, email: known.email ?? '', name: known.name, domain: known.domain ?? '' };
    const input: OnboardingInput = { onboardingId, client, services, settings: this.settings(), receivedAt: receivedAt.toISOString(), crm: { record: intent.record } };
    return { onboardingId, status: await this.startOnce(input) };
  }

  /** Starts a client's onboarding unless one of that id ever started: never a second onboarding for a CRM client. */
  private async startOnce(input: OnboardingInput): Promise<'started' | 'already-started'> {
    try {
      await this.calls.call(() =>
        this.calls.client.workflow.start<typeof onboardClient>(ONBOARDING_WORKFLOW_TYPE, {
          ...this.onboardingStartOptions(input.client, input.services ?? []),
          args: [input],
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        }),
      );
      return 'started';
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return 'already-started';
      throw err;
    }
  }

  /**
   * A won deal whose client only the CRM knows (HubSpot sends the deal's id alone): a `resolveCrmDeal` workflow reads
   * the deal's contact, then starts that contact's onboarding. Once per deal: a redelivery answers `already-started`.
   */
  async startFromCrmDeal(intent: Extract<CrmIntent, { kind: 'start-from-deal' }>, services: PlatformName[], receivedAt: Date): Promise<{ workflowId: string; status: 'started' | 'already-started' }> {
    const { source, account, dealId } = intent;
    const workflowId = crmDealWorkflowId({ source, account, dealId });
    const input: ResolveCrmDealInput = { source, account, dealId, services, receivedAt: receivedAt.toISOString(), settings: this.settings() };
    try {
      await this.calls.call(() =>
        this.calls.client.workflow.start(RESOLVE_CRM_DEAL_WORKFLOW_TYPE, {
          workflowId,
          taskQueue: this.calls.taskQueue,
          args: [input],
          // A deal that could not be resolved (no contact yet) is tried again when it is won again.
          workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
          staticSummary: `Find the client of ${CRM_SOURCE_LABELS[source]} deal ${dealId} (account ${account}) and onboard them`,
        }),
      );
      return { workflowId, status: 'started' };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return { workflowId, status: 'already-started' };
      throw err;
    }
  }

  /**
   * The run a returning client's new onboarding follows: the latest onboarding run, when it is closed, the client's
   * offboarding finished (offboarded) before `eventAt`, and no run has started since that offboarding finished.
   */
  private async runBeforeReturn(clientId: string, eventAt: Date): Promise<PreviousRun | undefined> {
    const onboarding = await this.calls.describeIfAny(onboardingIdFor(clientId));
    if (!onboarding || onboarding.status.name === 'RUNNING') return undefined;
    const offboarding = await readOffboarding(this.calls, offboardingIdFor(clientId));
    if (!offboarding || offboarding.workflowStatus === 'RUNNING' || offboarding.status !== 'offboarded' || !offboarding.offboardedAt) return undefined;
    const offboardedAt = Date.parse(offboarding.offboardedAt);
    // A redelivery of the event that started the offboarded onboarding, or a run that already followed it.
    if (eventAt.getTime() <= offboardedAt || onboarding.startTime.getTime() > offboardedAt) return undefined;
    return { runId: onboarding.runId, offboardedAt: offboarding.offboardedAt };
  }

  private onboardingStartOptions(client: ClientDetails, services: PlatformName[]) {
    const onboardingId = onboardingIdFor(client.clientId);
    // A CRM's own webhook may not carry the domain: the workflow sets OnboardingDomain once it has read it.
    const domain = client.domain || "the client's domain";
    return {
      workflowId: onboardingId,
      taskQueue: this.calls.taskQueue,
      typedSearchAttributes: [
        { key: CrmClientId, value: client.clientId },
        ...(client.domain ? [{ key: OnboardingDomain, value: client.domain }] : []),
        { key: OnboardingStatusKey, value: 'registering' },
        { key: NeedsAttention, value: false },
        { key: OnboardingPlatforms, value: services },
      ],
      staticSummary: `Onboard ${domain} for ${client.clientId} (${services.map((name) => platformOf(name).label).join(' + ')})`,
      staticDetails: `Onboarding of CRM client **${client.clientId}** onto ${services.map((name) => platformOf(name).label).join(' and ')}: ${planSentence(services, domain)}`,
    };
  }

  /** The latest run of an onboarding and its status; 404 when unknown. */
  async current(onboardingId: string): Promise<OnboardingRun> {
    refuseOffboarding(onboardingId, 'read as an onboarding');
    const handle = this.calls.client.workflow.getHandle(onboardingId);
    const description = await this.calls.describe(onboardingId);
    const status = await this.calls.query(onboardingId, () => handle.query(getStatus));
    return { description, status };
  }

  /** 404 unless an onboarding of this id exists (running or not); no worker needed. */
  /**
   * Where an onboarding's secrets live in the vault: its id, or (a client who came back) a scope of the new run's
   * own. 404 for an unknown onboarding.
   */
  async secretScopeOf(onboardingId: string): Promise<string> {
    refuseOffboarding(onboardingId, 'hold secrets');
    const { status } = await this.current(onboardingId);
    return status.secretScope ?? onboardingId;
  }

  async view(onboardingId: string): Promise<OnboardingView> {
    const { description, status } = await this.current(onboardingId);
    const offboarding = await readOffboarding(this.calls, offboardingIdFor(status.clientId));
    const lastErrors = lastErrorsOf(description);
    return {
      kind: 'onboarding',
      ...status,
      previousRun: status.previousRun ?? null,
      closesAt: status.closesAt ?? null,
      workflowId: onboardingId,
      runId: description.runId,
      workflowStatus: description.status.name,
      lastError: lastErrors[0] ?? null,
      lastErrors,
      offboarding: offboarding && concernsRun(offboarding, description.startTime) ? clientOffboarding(offboarding) : null,
    };
  }

  /** The handle of an onboarding that is still running; 404 when unknown, 409 (saying why it matters) when closed. */
  private async runningOnboarding(onboardingId: string, whyItMustRun: string) {
    const description = await this.calls.describe(onboardingId);
    if (description.status.name !== 'RUNNING') {
      throw new HttpError(409, 'onboarding_not_running', `onboarding ${onboardingId} is ${description.status.name.toLowerCase()}; ${whyItMustRun}`);
    }
    return this.calls.client.workflow.getHandle<typeof onboardClient>(onboardingId);
  }

  async checkDnsNow(onboardingId: string): Promise<void> {
    refuseOffboarding(onboardingId, 'check DNS');
    const handle = await this.runningOnboarding(onboardingId, 'there is no DNS wait to speed up');
    await this.calls.call(() => handle.signal(checkDnsNow), onboardingId);
  }

  /** Cancels a running onboarding (a failed one waiting for ops too), recording who cancelled it and why. */
  async cancel(onboardingId: string, reason: string | undefined, actor: string): Promise<void> {
    refuseOffboarding(onboardingId, 'be cancelled; a client.reactivated delivery within the grace period stops the removal');
    const handle = await this.runningOnboarding(onboardingId, 'only a running onboarding can be cancelled');
    // The note first: the onboarding records it in `changes` before the cancellation reaches it.
    await this.calls.call(() => handle.signal(noteCancellation, { by: actor, reason: reason ?? null }), onboardingId);
    await this.calls.call(() => handle.cancel(), onboardingId);
    this.logger.info({ onboardingId, workflowId: onboardingId, actor, reason }, 'onboarding cancel requested');
  }

  /**
   * Resumes an onboarding at the step that failed, with optional corrected client data. A running one that needs
   * attention (a failure waiting for ops is one) is retried in place (an update); one that closed (failed before
   * failures stayed open, given up, or cancelled) gets a new run that carries what was done.
   */
  async retry(onboardingId: string, request: RetryRequest, actor: string): Promise<{ onboardingId: string; status: 'retrying'; resumesAt: string; changedFields: string[] }> {
    refuseOffboarding(onboardingId, 'be retried; a client.reactivated delivery within the grace period stops the removal');
    const instruction: RetryInstruction = { corrections: request.corrections, reason: request.reason, by: actor };
    const handle = this.calls.client.workflow.getHandle<typeof onboardClient>(onboardingId);
    const description = await this.calls.describe(onboardingId);
    const workflowStatus = description.status.name;
    const log = this.logger.child({ onboardingId, workflowId: onboardingId });

    if (workflowStatus === 'RUNNING') {
      const current = await this.calls.query(onboardingId, () => handle.query(getStatus));
      if (current.needsAttention === null) {
        throw new HttpError(409, 'not_retryable', `onboarding ${onboardingId} is running normally (${current.status}); retry is for failed onboardings or ones that need attention`);
      }
      try {
        const outcome = await this.calls.call(() => handle.executeUpdate(retryOnboarding, { args: [instruction] }), onboardingId);
        log.info({ resumesAt: outcome.resumesAt, changedFields: outcome.changedFields, actor }, 'onboarding retried in place');
        return { onboardingId, status: 'retrying', ...outcome };
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError) throw new HttpError(409, 'not_retryable', err.cause?.message ?? err.message);
        throw err;
      }
    }
    if (!CLOSED_FOR_RETRY.has(workflowStatus) && workflowStatus !== 'COMPLETED') {
      throw new HttpError(409, 'not_retryable', `onboarding ${onboardingId} is ${workflowStatus.toLowerCase()}; there is nothing to retry`);
    }

    const previous = await this.calls.query(onboardingId, () => handle.query(getStatus));
    // A completed onboarding is retried only for what still needs attention (a lost WordPress key).
    if (workflowStatus === 'COMPLETED' && previous.needsAttention === null) {
      throw new HttpError(409, 'not_retryable', `onboarding ${onboardingId} is completed; there is nothing to retry`);
    }
    const offboarding = await readOffboarding(this.calls, offboardingIdFor(previous.clientId));
    if (offboarding && concernsRun(offboarding, description.startTime) && offboarding.status !== 'reactivated') {
      throw new HttpError(409, 'not_retryable', `client ${previous.clientId} churned (${offboarding.status}); a client.reactivated delivery restores the onboarding`);
    }
    if (workflowStatus === 'CANCELLED' && request.resumeCancelled !== true) {
      const cancellation = [...previous.changes].reverse().find((change) => change.kind === 'cancel');
      const who = cancellation ? ` by ${cancellation.by}${cancellation.reason ? ` (${cancellation.reason})` : ''}` : '';
      throw new HttpError(
        409,
        'onboarding_cancelled',
        `onboarding ${onboardingId} was cancelled${who}; to resume it where it stopped, retry with "resumeCancelled": true (CLI: --resume-cancelled)`,
      );
    }
    return this.resumeClosed(previous, instruction, log);
  }

  /** A new run of a closed onboarding that carries everything done so far and resumes where it stopped. */
  async resumeClosed(previous: OnboardingStatus, instruction: RetryInstruction, log: Logger) {
    const { onboardingId } = previous;
    const client = { ...previous.client, ...definedOnly(instruction.corrections ?? {}) };
    try {
      await this.calls.call(
        () =>
          this.calls.client.workflow.start<typeof onboardClient>(ONBOARDING_WORKFLOW_TYPE, {
            ...this.onboardingStartOptions(client, previous.services ?? ['nextnet']),
            args: [{ onboardingId, client: previous.client, settings: previous.settings, receivedAt: previous.startedAt, services: previous.services ?? ['nextnet'], carried: previous, retry: instruction }],
            // Ops may start a new run of a closed onboarding; the CRM intake only for a client who came back.
            workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
          }),
        onboardingId,
      );
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) throw new HttpError(409, 'not_retryable', `onboarding ${onboardingId} is already being retried`);
      throw err;
    }
    // The new run applies the retry in its first step; its change record says where it resumed and what changed.
    const resumed = await this.calls.query(onboardingId, () => this.calls.client.workflow.getHandle(onboardingId).query(getStatus));
    const change = resumed.changes.at(-1);
    const resumesAt = change?.resumesAt ?? 'register';
    const changedFields = Object.keys(change?.fields ?? {});
    log.info({ resumesAt, changedFields, actor: instruction.by }, 'onboarding retried with a new run');
    return { onboardingId, status: 'retrying' as const, resumesAt, changedFields };
  }
}

/** Offboardings share the path of onboardings for reading only; what ops do applies to onboardings. */
function refuseOffboarding(id: string, what: string): void {
  if (isOffboardingId(id)) {
    throw new HttpError(409, 'not_an_onboarding', `${id} is an offboarding; offboardings cannot ${what}`);
  }
}

/** The last failure of each pending activity of a running onboarding, most recent first. */
export function lastErrorsOf(description: WorkflowExecutionDescription): z.infer<typeof LastError>[] {
  if (description.status.name !== 'RUNNING') return [];
  const failing = (description.raw.pendingActivities ?? []).filter((activity) => activity.lastFailure?.message);
  const at = (activity: (typeof failing)[number]) => optionalTsToMs(activity.lastAttemptCompleteTime) ?? 0;
  return failing
    .sort((a, b) => at(b) - at(a))
    .map((activity) => {
      const type = activity.activityType?.name ?? 'unknown';
      const nextAttemptAt = optionalTsToMs(activity.nextAttemptScheduleTime);
      return {
        platform: (ACTIVITY_OWNERS as Record<string, string>)[type] ?? 'unknown',
        activity: type,
        message: activity.lastFailure!.message!,
        attempt: activity.attempt ?? 1,
        nextAttemptAt: nextAttemptAt === undefined ? null : new Date(nextAttemptAt).toISOString(),
      };
    });
}

/** What an onboarding of this plan does, for the Temporal UI's static details. */
function planSentence(services: PlatformName[], domain: string): string {
  const steps = [
    services.includes('netlify') ? `create the client's Netlify user (token to the vault) and a site on ${domain}` : null,
    services.includes('nextnet') ? `register ${domain} with NextNet (WordPress key to the vault)` : null,
    'wait for DNS',
    services.includes('netlify') ? 'get the TLS certificate' : null,
    'email the client what is ready.',
  ];
  return steps.filter(Boolean).join(', ');
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
