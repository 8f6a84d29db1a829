import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowExecutionInfo,
} from '@temporalio/client';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers.js';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { platformOf, type PlatformName } from '../platforms/catalog.js';
import {
  checkDnsNow,
  getOffboardingStatus,
  getStatus,
  offboardingIdFor,
  OFFBOARDING_WORKFLOW_TYPE,
  onboardingIdFor,
  ONBOARDING_WORKFLOW_TYPE,
  reactivateClient,
  retryOnboarding,
  type ClientDetails,
  type OffboardingStatus,
  type OnboardingInput,
  type OnboardingStatus,
  type RetryInstruction,
} from '../workflows/definitions.js';
import type { offboardClient } from '../workflows/offboarding.js';
import type { onboardClient } from '../workflows/onboarding.js';
import { CrmClientId, NeedsAttention, OnboardingDomain, OnboardingPlatforms, OnboardingStatus as OnboardingStatusKey } from '../workflows/search-attributes.js';
import { HttpError } from './errors.js';
import type { ListOnboardingsQuery, OnboardingList, RetryRequest } from './ops-schemas.js';
import { translateTemporalError } from './temporal-errors.js';
import type { z } from 'zod';

const TEMPORAL_CALL_TIMEOUT_MS = 5_000;
const CLOSED_FOR_RETRY = new Set(['FAILED', 'CANCELLED', 'TERMINATED', 'TIMED_OUT']);

export type OnboardingsConfig = Pick<Config, 'temporal' | 'dns' | 'offboardingGraceMs'> & Partial<Pick<Config, 'stallAlertMs'>>;

/** Everything the API does with onboarding and offboarding workflows, in business terms. */
export class Onboardings {
  constructor(
    private readonly temporal: Client,
    private readonly config: OnboardingsConfig,
    private readonly logger: Logger,
  ) {}

  /** Bounded so a stuck Temporal answers 503 quickly instead of holding the caller's request open. */
  private call<T>(fn: () => Promise<T>, onboardingId?: string): Promise<T> {
    return this.temporal.connection.withDeadline(Date.now() + TEMPORAL_CALL_TIMEOUT_MS, fn).catch((err: unknown) => {
      throw translateTemporalError(err, { onboardingId });
    });
  }

  /**
   * Queries a workflow whose existence was just confirmed: Temporal answers queries through a worker, so a query
   * that times out here means no worker is running, which is what the caller needs to hear.
   */
  private async query<T>(workflowId: string, run: () => Promise<T>): Promise<T> {
    try {
      return await this.call(run, workflowId);
    } catch (err) {
      if (err instanceof HttpError && err.code === 'temporal_unavailable') {
        throw new HttpError(
          503,
          'no_worker',
          `Temporal is reachable but no worker answered for ${workflowId}; is a worker polling task queue "${this.config.temporal.taskQueue}"? (npm start, or npm run worker)`,
          undefined,
          { 'Retry-After': '5' },
        );
      }
      throw err;
    }
  }

  async start(client: ClientDetails, services: PlatformName[], receivedAt: Date): Promise<{ onboardingId: string; status: 'started' | 'already-started' }> {
    const onboardingId = onboardingIdFor(client.clientId);
    const input: OnboardingInput = {
      onboardingId,
      client,
      services,
      settings: {
        dnsPollInitialMs: this.config.dns.pollInitialMs,
        dnsPollMaxMs: this.config.dns.pollMaxMs,
        dnsDeadlineMs: this.config.dns.deadlineMs,
        stallAlertMs: this.config.stallAlertMs,
      },
      receivedAt: receivedAt.toISOString(),
    };
    try {
      await this.call(() =>
        this.temporal.workflow.start<typeof onboardClient>(ONBOARDING_WORKFLOW_TYPE, {
          ...this.onboardingStartOptions(client, services),
          args: [input],
          // Never a second onboarding for a client from the CRM, even after the first one has finished.
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        }),
      );
      return { onboardingId, status: 'started' };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return { onboardingId, status: 'already-started' };
      throw err;
    }
  }

  private onboardingStartOptions(client: ClientDetails, services: PlatformName[]) {
    const onboardingId = onboardingIdFor(client.clientId);
    return {
      workflowId: onboardingId,
      taskQueue: this.config.temporal.taskQueue,
      typedSearchAttributes: [
        { key: CrmClientId, value: client.clientId },
        { key: OnboardingDomain, value: client.domain },
        { key: OnboardingStatusKey, value: 'registering' },
        { key: NeedsAttention, value: false },
        { key: OnboardingPlatforms, value: services },
      ],
      staticSummary: `Onboard ${client.domain} for ${client.clientId} (${services.map((name) => platformOf(name).label).join(' + ')})`,
      staticDetails: `Onboarding of CRM client **${client.clientId}** onto ${services.map((name) => platformOf(name).label).join(' and ')}: ${planSentence(services, client.domain)}`,
    };
  }

  async status(onboardingId: string): Promise<OnboardingStatus & { workflowId: string; workflowStatus: string }> {
    const handle = this.temporal.workflow.getHandle(onboardingId);
    const description = await this.call(() => handle.describe(), onboardingId);
    const status = await this.query(onboardingId, () => handle.query(getStatus));
    return { ...status, workflowId: onboardingId, workflowStatus: description.status.name };
  }

  /** The handle of an onboarding that is still running; 404 when unknown, 409 (saying why it matters) when closed. */
  private async runningOnboarding(onboardingId: string, whyItMustRun: string) {
    const handle = this.temporal.workflow.getHandle(onboardingId);
    const description = await this.call(() => handle.describe(), onboardingId);
    if (description.status.name !== 'RUNNING') {
      throw new HttpError(409, 'onboarding_not_running', `onboarding ${onboardingId} is ${description.status.name.toLowerCase()}; ${whyItMustRun}`);
    }
    return handle;
  }

  async checkDnsNow(onboardingId: string): Promise<void> {
    const handle = await this.runningOnboarding(onboardingId, 'there is no DNS wait to speed up');
    await this.call(() => handle.signal(checkDnsNow), onboardingId);
  }

  async cancel(onboardingId: string): Promise<void> {
    const handle = await this.runningOnboarding(onboardingId, 'only a running onboarding can be cancelled');
    await this.call(() => handle.cancel(), onboardingId);
    this.logger.info({ onboardingId, workflowId: onboardingId }, 'onboarding cancel requested');
  }

  /**
   * Resumes an onboarding at the step that failed, with optional corrected client data. A running one that needs
   * attention is retried in place (an update); a failed or cancelled one gets a new run that carries what was done.
   */
  async retry(onboardingId: string, request: RetryRequest, actor: string): Promise<{ onboardingId: string; status: 'retrying'; resumesAt: string; changedFields: string[] }> {
    const instruction: RetryInstruction = { corrections: request.corrections, reason: request.reason, by: actor };
    const handle = this.temporal.workflow.getHandle<typeof onboardClient>(onboardingId);
    const description = await this.call(() => handle.describe(), onboardingId);
    const workflowStatus = description.status.name;
    const log = this.logger.child({ onboardingId, workflowId: onboardingId });

    if (workflowStatus === 'RUNNING') {
      const current = await this.query(onboardingId, () => handle.query(getStatus));
      if (current.needsAttention === null) {
        throw new HttpError(409, 'not_retryable', `onboarding ${onboardingId} is running normally (${current.status}); retry is for failed onboardings or ones that need attention`);
      }
      try {
        const outcome = await this.call(() => handle.executeUpdate(retryOnboarding, { args: [instruction] }), onboardingId);
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

    const previous = await this.query(onboardingId, () => handle.query(getStatus));
    // A completed onboarding is retried only for what still needs attention (a lost WordPress key).
    if (workflowStatus === 'COMPLETED' && previous.needsAttention === null) {
      throw new HttpError(409, 'not_retryable', `onboarding ${onboardingId} is completed; there is nothing to retry`);
    }
    const offboarding = await this.offboardingStatus(previous.clientId);
    if (offboarding && offboarding.status !== 'reactivated') {
      throw new HttpError(409, 'not_retryable', `client ${previous.clientId} churned (${offboarding.status}); a client.reactivated delivery restores the onboarding`);
    }
    return this.resumeClosed(previous, instruction, log);
  }

  private async resumeClosed(previous: OnboardingStatus, instruction: RetryInstruction, log: Logger) {
    const { onboardingId } = previous;
    const client = { ...previous.client, ...definedOnly(instruction.corrections ?? {}) };
    try {
      await this.call(
        () =>
          this.temporal.workflow.start<typeof onboardClient>(ONBOARDING_WORKFLOW_TYPE, {
            ...this.onboardingStartOptions(client, previous.services ?? ['nextnet']),
            args: [{ onboardingId, client: previous.client, settings: previous.settings, receivedAt: previous.startedAt, services: previous.services ?? ['nextnet'], carried: previous, retry: instruction }],
            // Ops may start a new run of a failed or cancelled onboarding; the CRM intake never can.
            workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
          }),
        onboardingId,
      );
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) throw new HttpError(409, 'not_retryable', `onboarding ${onboardingId} is already being retried`);
      throw err;
    }
    // The new run applies the retry in its first step; its change record says where it resumed and what changed.
    const resumed = await this.query(onboardingId, () => this.temporal.workflow.getHandle(onboardingId).query(getStatus));
    const change = resumed.changes.at(-1);
    const resumesAt = change?.resumesAt ?? 'register';
    const changedFields = Object.keys(change?.fields ?? {});
    log.info({ resumesAt, changedFields, actor: instruction.by }, 'onboarding retried with a new run');
    return { onboardingId, status: 'retrying' as const, resumesAt, changedFields };
  }

  /** Onboardings (and offboardings) from Temporal's visibility, newest first, one row per onboarding. */
  async list(query: ListOnboardingsQuery): Promise<z.infer<typeof OnboardingList>> {
    const quote = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
    const clauses = [`WorkflowType IN (${quote(ONBOARDING_WORKFLOW_TYPE)}, ${quote(OFFBOARDING_WORKFLOW_TYPE)})`, `ExecutionStatus != 'ContinuedAsNew'`];
    if (query.status) clauses.push(`OnboardingStatus = ${quote(query.status)}`);
    if (query.needsAttention !== undefined) clauses.push(`NeedsAttention = ${query.needsAttention}`);
    if (query.domain) clauses.push(`OnboardingDomain = ${quote(query.domain)}`);
    if (query.clientId) clauses.push(`CrmClientId = ${quote(query.clientId)}`);
    if (query.closedSince) clauses.push(`CloseTime >= ${quote(new Date(query.closedSince).toISOString())}`);
    const namespace = this.config.temporal.namespace;

    const response = await this.call(() =>
      this.temporal.workflowService.listWorkflowExecutions({
        namespace,
        query: clauses.join(' AND '),
        pageSize: query.pageSize,
        nextPageToken: query.pageToken ? Buffer.from(query.pageToken, 'base64url') : undefined,
      }),
    );
    const infos = await Promise.all(
      (response.executions ?? []).map((raw) => executionInfoFromRaw(raw, this.temporal.options.loadedDataConverter, raw, namespace)),
    );
    const items = [];
    for (const info of infos) {
      // A retried onboarding leaves its failed run behind in visibility; list only the current run.
      if (info.status.name !== 'RUNNING' && !(await this.isLatestRun(info))) continue;
      items.push(listItem(info));
    }
    const token = response.nextPageToken?.length ? Buffer.from(response.nextPageToken).toString('base64url') : null;
    return { items, nextPageToken: token };
  }

  private async isLatestRun(info: WorkflowExecutionInfo): Promise<boolean> {
    const latest = await this.call(() => this.temporal.workflow.getHandle(info.workflowId).describe());
    return latest.runId === info.runId;
  }

  // --- churn -------------------------------------------------------------------------------------------

  private async offboardingStatus(clientId: string): Promise<(OffboardingStatus & { workflowStatus: string }) | undefined> {
    const handle = this.temporal.workflow.getHandle(offboardingIdFor(clientId));
    try {
      const description = await this.call(() => handle.describe());
      const status = await this.query(handle.workflowId, () => handle.query(getOffboardingStatus));
      return { ...status, workflowStatus: description.status.name };
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** A `client.churned` delivery: starts the offboarding (once), which cancels the onboarding and later removes the domain. */
  async offboard(clientId: string, churnedAt: Date): Promise<{ offboardingId: string; onboardingId: string; status: string }> {
    const onboardingId = onboardingIdFor(clientId);
    const offboardingId = offboardingIdFor(clientId);
    const existing = await this.offboardingStatus(clientId);
    if (existing?.workflowStatus === 'RUNNING') return { offboardingId, onboardingId, status: 'already-started' };
    if (existing?.status === 'offboarded') return { offboardingId, onboardingId, status: 'already-offboarded' };
    if (existing?.reactivatedAt && Date.parse(existing.reactivatedAt) >= churnedAt.getTime()) {
      // A redelivery of a churn that a later reactivation already answered.
      return { offboardingId, onboardingId, status: 'superseded-by-reactivation' };
    }

    let onboarding: Awaited<ReturnType<Onboardings['status']>> | undefined;
    try {
      onboarding = await this.status(onboardingId);
    } catch (err) {
      if (!(err instanceof HttpError && err.status === 404)) throw err;
    }
    if (!onboarding) return { offboardingId, onboardingId, status: 'nothing-to-offboard' };

    try {
      await this.call(() =>
        this.temporal.workflow.start<typeof offboardClient>(OFFBOARDING_WORKFLOW_TYPE, {
          workflowId: offboardingId,
          taskQueue: this.config.temporal.taskQueue,
          args: [
            {
              offboardingId,
              onboardingId,
              clientId,
              domain: onboarding.domain,
              registeredAtNextNet: onboarding.registration !== null,
              domainId: onboarding.registration?.domainId ?? null,
              netlifySite: onboarding.netlify?.site ? { id: onboarding.netlify.site.id, name: onboarding.netlify.site.name } : null,
              onboardingRunning: onboarding.workflowStatus === 'RUNNING',
              graceMs: this.config.offboardingGraceMs,
              churnedAt: churnedAt.toISOString(),
            },
          ],
          workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
          typedSearchAttributes: [
            { key: CrmClientId, value: clientId },
            { key: OnboardingDomain, value: onboarding.domain },
            { key: OnboardingStatusKey, value: 'offboarding' },
            { key: NeedsAttention, value: false },
          ],
          staticSummary: `Offboard ${onboarding.domain} for ${clientId} (churned)`,
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
  async reactivate(clientId: string, reactivatedAt: Date): Promise<{ offboardingId: string; onboardingId: string; status: string }> {
    const onboardingId = onboardingIdFor(clientId);
    const offboardingId = offboardingIdFor(clientId);
    const existing = await this.offboardingStatus(clientId);
    if (!existing) return { offboardingId, onboardingId, status: 'nothing-to-reactivate' };
    if (existing.status === 'offboarded' || existing.status === 'removing') {
      throw new HttpError(409, 'already_offboarded', `client ${clientId} was already offboarded (${existing.status}); its domain has been removed`);
    }
    if (existing.workflowStatus === 'RUNNING') {
      await this.call(() => this.temporal.workflow.getHandle(offboardingId).signal(reactivateClient, { at: reactivatedAt.toISOString() }));
      await this.call(() => this.temporal.workflow.getHandle(offboardingId).result());
    }
    // The churn cancelled the onboarding; reactivation picks it up where it stopped.
    const onboarding = await this.status(onboardingId).catch(() => undefined);
    if (onboarding && onboarding.workflowStatus === 'CANCELLED') {
      await this.resumeClosed(onboarding, { by: 'crm client.reactivated', reason: 'client reactivated' }, this.logger.child({ onboardingId }));
      return { offboardingId, onboardingId, status: 'removal-cancelled-onboarding-resumed' };
    }
    return { offboardingId, onboardingId, status: 'removal-cancelled' };
  }
}

function listItem(info: WorkflowExecutionInfo): z.infer<typeof OnboardingList>['items'][number] {
  const attributes = info.typedSearchAttributes;
  return {
    onboardingId: info.type === OFFBOARDING_WORKFLOW_TYPE ? info.workflowId.replace(/^offboarding-/, 'onboarding-') : info.workflowId,
    workflowId: info.workflowId,
    kind: info.type === OFFBOARDING_WORKFLOW_TYPE ? 'offboarding' : 'onboarding',
    clientId: attributes.get(CrmClientId) ?? null,
    domain: attributes.get(OnboardingDomain) ?? null,
    status: attributes.get(OnboardingStatusKey) ?? null,
    needsAttention: attributes.get(NeedsAttention) ?? false,
    workflowStatus: info.status.name,
    startedAt: info.startTime.toISOString(),
    closedAt: info.closeTime?.toISOString() ?? null,
  };
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
