import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/client';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Config } from '../config/index.js';
import {
  getOffboardingStatus,
  offboardingIdFor,
  OFFBOARDING_WORKFLOW_TYPE,
  onboardingIdFor,
  reactivateClient,
  type OffboardingStatus,
} from '../workflows/definitions.js';
import { RESELLER_ATTEMPT_TIMEOUT_MS } from '../workflows/activity-options.js';
import type { offboardClient } from '../workflows/offboarding.js';
import { CrmClientId, NeedsAttention, OnboardingDomain, OnboardingStatus as OnboardingStatusKey } from '../workflows/search-attributes.js';
import { HttpError } from './errors.js';
import type { OnboardingRun, Onboardings } from './onboardings.js';
import type { ClientOffboarding, OffboardingView } from './ops-schemas.js';
import type { TemporalCalls } from './temporal-calls.js';

const OFFBOARDING_PREFIX = 'offboarding-';

export function isOffboardingId(id: string): boolean {
  return id.startsWith(OFFBOARDING_PREFIX);
}

/** An offboarding's latest run: its status, and when it started and closed. */
export interface OffboardingRecord extends OffboardingStatus {
  workflowId: string;
  runId: string;
  workflowStatus: string;
  startedAt: Date;
  closedAt: Date | null;
  /** When the domain was removed and the secrets revoked (for offboardings from before it was recorded: when it closed). */
  offboardedAt: string | null;
}

/** The client's offboarding, or undefined when the client never churned. */
export async function readOffboarding(calls: TemporalCalls, offboardingId: string): Promise<OffboardingRecord | undefined> {
  const description = await calls.describeIfAny(offboardingId);
  if (!description) return undefined;
  const handle = calls.client.workflow.getHandle<typeof offboardClient>(offboardingId);
  // A finished offboarding returned its status: no worker needed to read it. A running one answers the query.
  const status =
    description.status.name === 'COMPLETED'
      ? await calls.call(() => handle.result(), offboardingId)
      : await calls.query(offboardingId, () => handle.query(getOffboardingStatus));
  const closedAt = description.closeTime ?? null;
  return {
    ...status,
    workflowId: offboardingId,
    runId: description.runId,
    workflowStatus: description.status.name,
    startedAt: description.startTime,
    closedAt,
    offboardedAt: status.offboardedAt ?? (status.status === 'offboarded' ? (closedAt?.toISOString() ?? status.updatedAt) : null),
  };
}

/**
 * Whether the client's offboarding is about the onboarding run that started at `runStartedAt`: not when that run
 * started after the offboarding had finished (the client came back and was onboarded anew).
 */
export function concernsRun(offboarding: OffboardingRecord, runStartedAt: Date): boolean {
  if (offboarding.status !== 'offboarded' || !offboarding.offboardedAt) return true;
  return runStartedAt.getTime() <= Date.parse(offboarding.offboardedAt);
}

export function clientOffboarding(offboarding: OffboardingRecord): z.infer<typeof ClientOffboarding> {
  return {
    offboardingId: offboarding.offboardingId,
    status: offboarding.status,
    workflowStatus: offboarding.workflowStatus,
    churnedAt: offboarding.churnedAt,
    removeAfter: offboarding.removeAfter,
    removal: offboarding.removal,
    siteRemoval: offboarding.siteRemoval ?? null,
    secretsRevoked: offboarding.secretsRevoked,
    offboardedAt: offboarding.offboardedAt,
    reactivatedAt: offboarding.reactivatedAt,
  };
}

type Outcome = { offboardingId: string; onboardingId: string; status: string };

/** Churned clients: the offboarding a `client.churned` starts, and what a `client.reactivated` does to it. */
export class Offboardings {
  constructor(
    private readonly calls: TemporalCalls,
    private readonly onboardings: Onboardings,
    private readonly config: Pick<Config, 'offboardingGraceMs'> & { /** Tests only: how long an attempt under way may take (default: the reseller call timeout). */ inFlightSettleMs?: number },
    private readonly logger: Logger,
  ) {}

  /** `GET /v1/onboardings/offboarding-<clientId>`. */
  async view(offboardingId: string): Promise<z.infer<typeof OffboardingView>> {
    const offboarding = await readOffboarding(this.calls, offboardingId);
    if (!offboarding) throw new HttpError(404, 'onboarding_not_found', `no offboarding with id ${JSON.stringify(offboardingId)}`);
    return {
      kind: 'offboarding',
      ...clientOffboarding(offboarding),
      workflowId: offboarding.workflowId,
      runId: offboarding.runId,
      onboardingId: offboarding.onboardingId,
      clientId: offboarding.clientId,
      domain: offboarding.domain,
      onboardingCancelled: offboarding.onboardingCancelled,
      updatedAt: offboarding.updatedAt,
    };
  }

  /** The client's onboarding, or undefined when there is none. */
  private async onboardingOf(clientId: string): Promise<OnboardingRun | undefined> {
    try {
      return await this.onboardings.current(onboardingIdFor(clientId));
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** A `client.churned` delivery: starts the offboarding (once), which cancels the onboarding and later removes the domain. */
  async offboard(clientId: string, churnedAt: Date): Promise<Outcome> {
    const onboardingId = onboardingIdFor(clientId);
    const offboardingId = offboardingIdFor(clientId);
    const existing = await readOffboarding(this.calls, offboardingId);
    if (existing?.workflowStatus === 'RUNNING') return { offboardingId, onboardingId, status: 'already-started' };
    if (existing?.reactivatedAt && Date.parse(existing.reactivatedAt) >= churnedAt.getTime()) {
      // A redelivery of a churn that a later reactivation already answered.
      return { offboardingId, onboardingId, status: 'superseded-by-reactivation' };
    }
    const onboarding = await this.onboardingOf(clientId);
    if (existing?.status === 'offboarded') {
      // Offboarded already, unless the client came back since and this churn is about the new onboarding.
      const cameBack = onboarding !== undefined && !concernsRun(existing, onboarding.description.startTime) && churnedAt.getTime() > Date.parse(existing.offboardedAt ?? '');
      if (!cameBack) return { offboardingId, onboardingId, status: 'already-offboarded' };
    }
    if (!onboarding) return { offboardingId, onboardingId, status: 'nothing-to-offboard' };

    const { status } = onboarding;
    const underWay = (name: string) => status.steps.some((step) => step.name === name && step.state === 'running');
    const registrationUnderWay = status.registration === null && underWay('register');
    const siteUnderWay = !status.netlify?.site && underWay('netlify-site');
    try {
      await this.calls.call(() =>
        this.calls.client.workflow.start<typeof offboardClient>(OFFBOARDING_WORKFLOW_TYPE, {
          workflowId: offboardingId,
          taskQueue: this.calls.taskQueue,
          args: [
            {
              offboardingId,
              onboardingId,
              clientId,
              domain: status.domain,
              // A registration under way counts: its attempt may land after the onboarding is cancelled.
              registeredAtNextNet: status.registration !== null || registrationUnderWay,
              domainId: status.registration?.domainId ?? null,
              clientEmail: status.client.email,
              ...(registrationUnderWay || siteUnderWay ? { inFlightSettleMs: this.config.inFlightSettleMs ?? RESELLER_ATTEMPT_TIMEOUT_MS } : {}),
              netlifySite: status.netlify?.site
                ? { id: status.netlify.site.id, name: status.netlify.site.name }
                : siteUnderWay
                  ? { id: null, name: status.domain }
                  : null,
              secretScope: status.secretScope ?? onboardingId,
              onboardingRunning: onboarding.description.status.name === 'RUNNING',
              graceMs: this.config.offboardingGraceMs,
              churnedAt: churnedAt.toISOString(),
            },
          ],
          workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
          typedSearchAttributes: [
            { key: CrmClientId, value: clientId },
            { key: OnboardingDomain, value: status.domain },
            { key: OnboardingStatusKey, value: 'offboarding' },
            { key: NeedsAttention, value: false },
          ],
          staticSummary: `Offboard ${status.domain} for ${clientId} (churned)`,
        }),
      );
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return { offboardingId, onboardingId, status: 'already-started' };
      throw err;
    }
    this.logger.info({ onboardingId, workflowId: offboardingId, clientId }, 'offboarding started');
    return { offboardingId, onboardingId, status: 'started' };
  }

  /** A `client.reactivated` delivery: within the grace period the removal is cancelled and the onboarding resumes. */
  async reactivate(clientId: string, reactivatedAt: Date): Promise<Outcome> {
    const onboardingId = onboardingIdFor(clientId);
    const offboardingId = offboardingIdFor(clientId);
    const existing = await readOffboarding(this.calls, offboardingId);
    if (!existing) return { offboardingId, onboardingId, status: 'nothing-to-reactivate' };
    if (existing.status === 'offboarded' || existing.status === 'removing') {
      const onboarding = existing.status === 'offboarded' ? await this.onboardingOf(clientId) : undefined;
      // The client came back and was onboarded anew since: there is no removal to cancel.
      if (onboarding && !concernsRun(existing, onboarding.description.startTime)) return { offboardingId, onboardingId, status: 'nothing-to-reactivate' };
      throw new HttpError(409, 'already_offboarded', `client ${clientId} was already offboarded (${existing.status}); its domain has been removed`);
    }
    if (existing.workflowStatus === 'RUNNING' && reactivatedAt.getTime() < Date.parse(existing.churnedAt)) {
      // A reactivation the CRM sent before this churn (delivered late, or redelivered): the newer churn stands.
      return { offboardingId, onboardingId, status: 'stale-reactivation' };
    }
    if (existing.workflowStatus === 'RUNNING') {
      const handle = this.calls.client.workflow.getHandle(offboardingId);
      await this.calls.call(() => handle.signal(reactivateClient, { at: reactivatedAt.toISOString() }));
      await this.calls.call(() => handle.result());
    }
    // The churn cancelled the onboarding; reactivation picks it up where it stopped.
    const onboarding = await this.onboardingOf(clientId).catch(() => undefined);
    if (onboarding && onboarding.description.status.name === 'CANCELLED') {
      await this.onboardings.resumeClosed(onboarding.status, { by: 'crm client.reactivated', reason: 'client reactivated' }, this.logger.child({ onboardingId }));
      return { offboardingId, onboardingId, status: 'removal-cancelled-onboarding-resumed' };
    }
    return { offboardingId, onboardingId, status: 'removal-cancelled' };
  }
}
