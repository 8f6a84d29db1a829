import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  makeContinueAsNewFunc,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { SharedActivities } from '../activities/index.js';
import type { CrmActivities } from '../crm/activities.js';
import { CRM_SOURCE_LABELS, type CrmProgress } from '../crm/types.js';
import { orderedPlan } from '../platforms/catalog.js';
import { PLATFORM_STEPS } from '../platforms/steps.js';
import { alertOptions, crmReadOptions, crmWriteOptions, mailOptions, untilAttemptEnds } from './activity-options.js';
import {
  checkDnsNow,
  FailureTypes,
  getStatus,
  MEMO_REASON,
  noteCancellation,
  retryOnboarding,
  STEP_ORDER,
  type AttentionItem,
  type OnboardingInput,
  type OnboardingPhase,
  type OnboardingStatus,
  type RetryInstruction,
  type RetryOutcome,
  type StepName,
  type StepRecord,
} from './definitions.js';
import { completedCounter, dnsWait, failedCounter, webhookToCompletion } from './metrics.js';
import { onboardClientV1 } from './onboarding-v1.js';
import { NeedsAttention, OnboardingDomain, OnboardingStatus as OnboardingStatusKey } from './search-attributes.js';
import { adoptCarried, describeForOps, emptyDnsProgress, firstUnfinishedStep, formatDuration, LEGACY_PLAN, newStatus, reasonLine, recordCorrections, summariseAttention } from './onboarding-status.js';
import { SETUP_STAGES, type PlatformSteps, type StallCode, type StepContext } from './step-context.js';

const mail = proxyActivities<SharedActivities>(mailOptions);
const alerts = proxyActivities<SharedActivities>(alertOptions);
const crmReads = proxyActivities<CrmActivities>(crmReadOptions);
const crmWrites = proxyActivities<CrmActivities>(crmWriteOptions);

const DEFAULT_DNS_CHECKS_PER_RUN = 200;
const DEFAULT_STALL_ALERT_MS = 15 * 60_000;
const DEFAULT_FAILED_RETENTION_MS = 30 * 86_400_000;
/** Runs started before this patch are NextNet-only onboardings of the frozen `onboardClientV1`. */
export const PLAN_PATCH = 'onboarding-plan';
/** Corrections applied after a stopped call release from the status that call left (its step still running). */
export const CORRECTION_SEES_STOPPED_STEP = 'correction-sees-stopped-step';

/**
 * Onboards one client onto the platforms of its plan: each platform's setup steps (Netlify user and token, NextNet
 * registration, Netlify site), one DNS phase for all of them, what follows DNS (Netlify's certificate), then the
 * signup email. Platform rules live in `platforms/<name>/steps.ts`; this function only runs the plan.
 */
export async function onboardClient(input: OnboardingInput): Promise<OnboardingStatus> {
  if (!patched(PLAN_PATCH)) return onboardClientV1(input);

  const { settings, onboardingId } = input;
  const plan = orderedPlan(input.services ?? input.carried?.services ?? LEGACY_PLAN);
  const platforms: PlatformSteps[] = plan.map((name) => PLATFORM_STEPS[name]);
  const status: OnboardingStatus = input.carried ? adoptCarried(input.carried, plan) : newStatus(input, plan);
  let wakeRequested = false;
  let correctionPending: OnboardingStatus | null = null;
  // The call under way that carries the client's email or domain, and a correction of them waiting for it to end.
  let identityCall: { scope: CancellationScope; superseded: boolean } | null = null;
  let deferredRetry: RetryInstruction | null = null;
  const stallAlertMs = settings.stallAlertMs ?? DEFAULT_STALL_ALERT_MS;

  const now = () => new Date().toISOString();
  const step = (name: StepName): StepRecord => status.steps.find((s) => s.name === name)!;
  const isFinished = (name: StepName) => ['done', 'skipped', 'needs-attention'].includes(step(name).state);
  // Search attributes and the memo change far less often than the status: upsert them only when they do.
  let publishedAttributes = '';
  let publishedReason: string | null | undefined;
  const publish = () => {
    status.updatedAt = now();
    const attributes = JSON.stringify([status.status, status.needsAttention !== null, status.domain]);
    if (attributes !== publishedAttributes) {
      upsertSearchAttributes([
        { key: OnboardingStatusKey, value: status.status },
        { key: NeedsAttention, value: status.needsAttention !== null },
        // A client from a CRM's own webhook has no domain until its record is read.
        ...(status.domain ? [{ key: OnboardingDomain, value: status.domain }] : []),
      ]);
      publishedAttributes = attributes;
    }
    const reason = reasonLine(status);
    if (reason !== publishedReason) {
      upsertMemo({ [MEMO_REASON]: reason });
      publishedReason = reason;
    }
    setCurrentDetails(describeForOps(status));
    writeProgressToCrm();
  };
  const enterPhase = (phase: OnboardingPhase) => {
    status.status = phase;
    publish();
  };
  const raiseAttention = async (code: AttentionItem['code'], reason: string, action?: string) => {
    if (status.needsAttention?.items.some((item) => item.code === code)) return;
    status.needsAttention = summariseAttention([...(status.needsAttention?.items ?? []), { code, reason, since: now(), ...(action ? { action } : {}) }]);
    publish();
    try {
      await alerts.alertOps({ onboardingId, domain: status.domain, reason });
    } catch (err) {
      // The status (and the NeedsAttention search attribute) already says it; the email was a courtesy.
      log.warn('could not send the ops alert', { reason, error: String(err) });
    }
  };
  const clearAttention = (code: AttentionItem['code']) => {
    if (!status.needsAttention?.items.some((item) => item.code === code)) return;
    const items = status.needsAttention.items.filter((item) => item.code !== code);
    status.needsAttention = items.length ? summariseAttention(items) : null;
    publish();
  };
  // Progress written back to the client's CRM record (a CRM's own webhook started it): in the background, one write
  // at a time, always the latest progress, never holding up the onboarding's own steps.
  const crm = input.crm;
  const crmLabel = crm ? CRM_SOURCE_LABELS[crm.record.source] : '';
  let crmWanted: string | null = null;
  let crmWritten: string | null = null;
  let crmWriting: Promise<void> | null = null;
  function writeProgressToCrm(): void {
    if (!crm) return;
    const attention = status.needsAttention?.items.filter((item) => item.code !== 'crm-write-failing') ?? [];
    const progress: CrmProgress = {
      status: status.status,
      needsAttention: attention.length > 0 ? attention.map((item) => item.action ?? item.reason).join('; ') : null,
      siteUrl: status.netlify?.site ? (status.netlify.site.sslUrl ?? `https://${status.domain}`) : null,
      onboardingId,
    };
    crmWanted = JSON.stringify(progress);
    if (crmWanted === crmWritten || crmWriting) return;
    crmWriting = (async () => {
      while (crmWanted !== null && crmWanted !== crmWritten) {
        const wanted = crmWanted;
        const { status: phase } = JSON.parse(wanted) as CrmProgress;
        try {
          await ctx.call(
            `Writing the onboarding's progress to ${crmLabel}`,
            crmWrites.writeCrmProgress.executeWithOptions(ctx.withSummary(crmWriteOptions, `Write "${phase}" to the client's ${crmLabel} record`), [{ record: crm.record, progress: JSON.parse(wanted) as CrmProgress }]),
            'crm-write-failing',
          );
        } catch (err) {
          // The record is gone or the CRM is not configured (or the onboarding was cancelled): nothing more to write.
          if (!isCancellation(err)) log.warn('progress could not be written to the CRM', { error: String(err) });
          crmWanted = crmWritten = wanted;
          break;
        }
        crmWritten = wanted;
      }
    })().finally(() => {
      crmWriting = null;
    });
  }
  /** Lets the last progress reach the CRM before this run ends (completed, or continued as new). */
  const crmWritesDone = async () => {
    while (crmWriting) await crmWriting;
  };

  const ctx: StepContext = {
    onboardingId,
    secretScope: status.secretScope ?? onboardingId,
    settings,
    status,
    begin(name) {
      Object.assign(step(name), { state: 'running', startedAt: step(name).startedAt ?? now(), finishedAt: null });
      publish();
    },
    finish(name, state, detail = null) {
      Object.assign(step(name), { state, finishedAt: now(), detail });
      publish();
    },
    raiseAttention,
    clearAttention,
    async call<T>(what: string, work: Promise<T>, code: StallCode = 'reseller-failing'): Promise<T> {
      let settled = false;
      const watched = work.finally(() => {
        settled = true;
      });
      watched.catch(() => undefined);
      if (!(await condition(() => settled, stallAlertMs))) {
        await raiseAttention(
          code,
          `${what} has been failing for ${formatDuration(stallAlertMs)} and is still retrying; \`npx onboarding show ${onboardingId}\` (or the pending activity in the Temporal UI) shows the last error`,
          `Check why ${what.charAt(0).toLowerCase()}${what.slice(1)} keeps failing (onboarding show: last error)`,
        );
      }
      const result = await watched;
      clearAttention(code);
      return result;
    },
    async callWithIdentity<T>(what: string, start: () => Promise<T>, code?: StallCode): Promise<T> {
      const scope = new CancellationScope();
      const call = { scope, superseded: false };
      identityCall = call;
      try {
        return await ctx.call(what, scope.run(start), code);
      } catch (err) {
        // Stopped by a correction (cancelled, or its last attempt failed once cancelled), not by a cancellation of the
        // onboarding: the step runs again with the corrected data.
        if (call.superseded && !CancellationScope.current().consideredCancelled) throw new StepSuperseded();
        throw err;
      } finally {
        identityCall = null;
      }
    },
    withSummary: (options: ActivityOptions, summary: string) => ({ ...options, summary }),
    async sleep(ms) {
      // A nudge that came while the last check was running wakes this sleep at once: it asked for a check after it.
      await condition(() => wakeRequested || correctionPending !== null, ms);
      wakeRequested = false;
    },
    restartRequested: () => correctionPending !== null,
  };

  /** Marks a step and every later one of the plan as not done, and lets each platform forget what they produced. */
  const rewindFrom = (from: StepName) => {
    const rewound = STEP_ORDER.slice(STEP_ORDER.indexOf(from)).filter((name) => status.steps.some((s) => s.name === name));
    for (const name of rewound) Object.assign(step(name), { state: 'pending', startedAt: null, finishedAt: null, detail: null });
    for (const platform of platforms) platform.forget(status, rewound);
    if (rewound.includes('await-dns')) status.dns = emptyDnsProgress();
    status.signupEmail = null;
  };

  /** Applies a retry: records the corrections, and rewinds to the first step they (or the failure) invalidate. */
  const applyRetry = (retry: RetryInstruction): RetryOutcome => {
    // A snapshot (the workflow sandbox has no structuredClone): what the platforms held before the correction.
    const before = JSON.parse(JSON.stringify(status)) as OnboardingStatus;
    const change = recordCorrections(status, retry);
    const changedFields = Object.keys(change.fields);
    const redo = platforms.flatMap((platform) => platform.redoAfterCorrection(before, changedFields));
    const failed = status.steps.find((s) => s.state === 'failed');
    const first = STEP_ORDER.find((name) => redo.includes(name) || failed?.name === name);
    if (redo.length > 0) {
      correctionPending = before;
      status.needsAttention = null;
    }
    if (first) rewindFrom(first);
    status.failure = null;
    status.closesAt = null;
    clearAttention('failed');
    // A retry restarts the DNS clock (deadline and backoff) and looks again at what needed attention.
    if (status.dns.waitingSince !== null) status.dns.deadlineAt = new Date(Date.now() + settings.dnsDeadlineMs).toISOString();
    status.dns.nextIntervalMs = null;
    change.resumesAt = firstUnfinishedStep(status);
    return { resumesAt: change.resumesAt, changedFields };
  };

  /** The corrections of `retry` that change the client's email or domain. */
  const correctsIdentity = (retry: RetryInstruction) => changedFieldsOf(retry).some((field) => field === 'email' || field === 'domain');
  const changedFieldsOf = (retry: RetryInstruction) =>
    Object.entries(retry.corrections ?? {})
      .filter(([field, value]) => value !== undefined && status.client[field as keyof typeof status.client] !== value)
      .map(([field]) => field);

  /** Applies a correction that waited for a call under way to end; true when there was one. */
  const applyDeferredRetry = async (): Promise<boolean> => {
    if (!deferredRetry || identityCall) return false;
    const retry = deferredRetry;
    deferredRetry = null;
    const running = status.steps.find((s) => s.state === 'running');
    // Stopped without an answer: an attempt may still have got through under the old identity (its answer lost),
    // so the platforms look for what it may have made and release it, as for any corrected identity.
    const stoppedAt = running ? (JSON.parse(JSON.stringify(status)) as OnboardingStatus) : null;
    if (running) Object.assign(running, { state: 'pending', finishedAt: null, detail: 'stopped for a correction' });
    const outcome = applyRetry(retry);
    if (stoppedAt) {
      // The platforms release from the status as the stopped call left it, its step still running (an attempt may
      // have got through). Without the patch, the snapshot applyRetry takes (the step already reset) won whenever a
      // platform had steps to redo, and an interrupted registration or site creation was not looked for.
      if (patched(CORRECTION_SEES_STOPPED_STEP)) correctionPending = stoppedAt;
      else correctionPending ??= stoppedAt;
    }
    log.info('correction applied after the call under way ended', { resumesAt: outcome.resumesAt, changedFields: outcome.changedFields });
    for (const platform of platforms) await platform.recheckAfterRetry?.(ctx);
    publish();
    return true;
  };

  setHandler(getStatus, () => status);
  setHandler(checkDnsNow, () => {
    wakeRequested = true;
  });
  setHandler(noteCancellation, ({ by, reason }) => {
    const stoppedAt = status.steps.find((s) => s.state === 'running')?.name ?? firstUnfinishedStep(status);
    status.changes = [...status.changes, { kind: 'cancel', at: now(), by, reason, fields: {}, resumesAt: stoppedAt }];
    publish();
  });
  setHandler(
    retryOnboarding,
    async (retry) => {
      if (identityCall && correctsIdentity(retry)) {
        // The call under way still carries the old email or domain: it is stopped once its attempt ends, and the
        // correction applies after the step has recorded what that attempt did (see applyDeferredRetry).
        identityCall.superseded = true;
        identityCall.scope.cancel();
        deferredRetry = retry;
        const running = status.steps.find((s) => s.state === 'running')?.name ?? firstUnfinishedStep(status);
        return { resumesAt: running, changedFields: changedFieldsOf(retry) };
      }
      const outcome = applyRetry(retry);
      wakeRequested = true;
      for (const platform of platforms) await platform.recheckAfterRetry?.(ctx);
      clearAttention('dns-stalled');
      clearAttention('tls-stalled');
      publish();
      return outcome;
    },
    {
      validator: (retry) => {
        if (deferredRetry) throw new Error('a correction is already waiting for the call under way to end; try again in a minute');
        if (status.status === 'completed' && status.needsAttention === null) throw new Error('the onboarding is completed; there is nothing to retry');
        if (status.status === 'completed' && retry.corrections && Object.keys(retry.corrections).length > 0) {
          throw new Error('the onboarding is completed; a retry only looks again at what needs attention, without corrections');
        }
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
    if (input.retry) for (const platform of platforms) await platform.recheckAfterRetry?.(ctx);
    // A business failure does not close the onboarding: it waits, failed, for ops to retry or cancel it.
    for (;;) {
      try {
        await runPlan();
        break;
      } catch (err) {
        const rejection = businessRejection(err);
        if (!rejection) throw err;
        if (!(await waitForOpsAfter(rejection))) {
          // Nobody acted within the retention: close as failed, so the Temporal UI shows the reason in red.
          throw ApplicationFailure.nonRetryable(rejection.message, rejection.type ?? undefined);
        }
      }
    }

    status.dns.nextCheckAt = null;
    enterPhase('completed');
    await crmWritesDone();
    completedCounter.add(1, { plan: plan.join('+') });
    webhookToCompletion.record((Date.now() - Date.parse(input.receivedAt)) / 1000);
    // What still needs a person (a lost WordPress key) keeps this run open, so ops retry it in place and the UI's
    // list never keeps a closed run that needs attention beside a newer one.
    if (status.needsAttention) {
      const retentionMs = settings.failedRetentionMs ?? DEFAULT_FAILED_RETENTION_MS;
      status.closesAt = new Date(Date.now() + retentionMs).toISOString();
      publish();
      try {
        await condition(() => status.needsAttention === null, retentionMs);
      } catch (err) {
        // Cancelled (say the client churned) after it completed: it stays completed; nothing was left running.
        if (!isCancellation(err)) throw err;
      }
      status.closesAt = null;
      publish();
    }
    await crmWritesDone();
    return status;
  } catch (err) {
    if (isCancellation(err)) {
      const running = status.steps.find((s) => s.state === 'running');
      if (running) Object.assign(running, { state: 'pending', finishedAt: null, detail: 'cancelled' });
      status.dns.nextCheckAt = null;
      status.needsAttention = null;
      status.closesAt = null;
      enterPhase('cancelled');
    }
    throw err;
  }

  /** The plan, step by step, from wherever the onboarding stands. */
  async function runPlan(): Promise<void> {
    for (;;) {
      if (correctionPending) {
        const previous: OnboardingStatus = correctionPending;
        correctionPending = null;
        for (const platform of platforms) await platform.releaseOldIdentity?.(ctx, previous);
      }
      if (crm && !isFinished('read-crm')) await readClientFromCrm();
      let superseded = false;
      for (const stage of SETUP_STAGES) {
        for (const phase of phasesOf(platforms, stage)) {
          if (superseded || phase.steps.every(isFinished)) continue;
          if (status.status !== 'registering') enterPhase('registering');
          superseded = !(await runStep(() => phase.run(ctx))) || deferredRetry !== null;
        }
      }
      if (superseded) {
        await applyDeferredRetry();
        continue;
      }

      if (!isFinished('await-dns')) {
        enterPhase('awaiting-dns');
        if ((await awaitDns()) === 'corrected') continue;
      }

      const afterDns = phasesOf(platforms, 'after-dns').filter((phase) => !phase.steps.every(isFinished));
      for (const phase of afterDns) {
        enterPhase('securing-tls');
        await phase.run(ctx);
      }
      if (correctionPending) continue;

      if (status.signupEmail === null) {
        enterPhase('sending-signup-email');
        const sent = await runStep(async () => {
          ctx.begin('send-signup-email');
          status.signupEmail = await ctx.callWithIdentity(
            'Sending the signup email',
            () =>
              mail.sendSignupEmail.executeWithOptions(ctx.withSummary({ ...mailOptions, ...untilAttemptEnds }, `Email the client of ${status.domain} what is ready`), [
                { onboardingId, client: status.client, services: plan, siteUrl: status.netlify?.site ? `https://${status.domain}` : null },
              ]),
            'email-failing',
          );
          ctx.finish('send-signup-email', 'done', `sent to the client's registered address`);
        });
        if ((!sent || deferredRetry) && (await applyDeferredRetry())) continue;
      }
      return;
    }
  }

  /**
   * The client's email, name and domain from its CRM record (a CRM's own webhook carries few or none of them). A
   * field ops corrected on retry wins over the record; one the record lacks fails the onboarding with what to fill
   * in and where, and a retry reads the record again.
   */
  async function readClientFromCrm(): Promise<void> {
    const record = crm!.record;
    ctx.begin('read-crm');
    const details = await ctx.call(
      `Reading the client from ${crmLabel}`,
      crmReads.readCrmClient.executeWithOptions(ctx.withSummary(crmReadOptions, `Read the client's email and domain from ${crmLabel}`), [{ onboardingId, record }]),
    );
    const corrected = new Set(status.changes.flatMap((change) => Object.keys(change.fields)));
    const problems = details.problems.filter((problem) => !corrected.has(problem.field));
    if (problems.length > 0) {
      throw ApplicationFailure.nonRetryable(problems.map((problem) => problem.message).join('; '), FailureTypes.crmRecordIncomplete);
    }
    const client = { ...status.client };
    if (!corrected.has('email') && details.email) client.email = details.email;
    if (!corrected.has('domain') && details.domain) client.domain = details.domain;
    if (!corrected.has('name') && details.name) client.name = details.name;
    status.client = client;
    status.domain = client.domain;
    ctx.finish('read-crm', 'done', `${crmLabel} ${record.client.type} ${record.client.id}: ${client.domain}`);
  }

  /** Runs a step; false when a correction stopped the call it was making (it runs again, corrected). */
  async function runStep(run: () => Promise<void>): Promise<boolean> {
    try {
      await run();
      return true;
    } catch (err) {
      if (err instanceof StepSuperseded) return false;
      throw err;
    }
  }

  /**
   * Records a business failure (a platform said no for good) and waits for ops: true once they retry it (the
   * retry update rewinds to the failed step), false when `failedRetentionMs` passes without a retry.
   */
  async function waitForOpsAfter(rejection: ApplicationFailure): Promise<boolean> {
    status.failure = { reason: rejection.message, type: rejection.type ?? 'Error', at: now() };
    const running = status.steps.find((s) => s.state === 'running');
    if (running) ctx.finish(running.name, 'failed', rejection.message);
    const retentionMs = settings.failedRetentionMs ?? DEFAULT_FAILED_RETENTION_MS;
    status.closesAt = new Date(Date.now() + retentionMs).toISOString();
    status.dns.nextCheckAt = null;
    failedCounter.add(1, { reason: rejection.type ?? 'Error', plan: plan.join('+') });
    enterPhase('failed');
    // A correction made while the failing call was under way applies now: it is the ops' retry.
    if (await applyDeferredRetry()) return true;
    await raiseAttention(
      'failed',
      `Failed: ${rejection.message}. Fix the cause, then \`npx onboarding retry ${onboardingId}\` (--domain or --email to correct them), or cancel it; it closes as failed at ${status.closesAt}`,
      `Fix the cause, then retry or cancel: ${rejection.message}`,
    );
    return condition(() => status.failure === null, retentionMs);
  }

  /** One DNS phase for every platform of the plan: each checks in every round, until all say verified. */
  async function awaitDns(): Promise<'verified' | 'corrected'> {
    const dns = status.dns;
    if (dns.waitingSince === null || dns.deadlineAt === null) {
      ctx.begin('await-dns');
      dns.waitingSince = now();
      dns.deadlineAt = new Date(Date.now() + settings.dnsDeadlineMs).toISOString();
    }
    const checksPerRun = settings.dnsChecksPerRun ?? DEFAULT_DNS_CHECKS_PER_RUN;
    let checksThisRun = 0;

    for (;;) {
      const deadline = Date.parse(dns.deadlineAt!);
      const outcomes = await Promise.all(platforms.filter((p) => p.checkDns).map((p) => p.checkDns!(ctx)));
      checksThisRun += 1;
      dns.checks += 1;
      dns.lastCheckedAt = now();
      dns.waitingFor = outcomes.filter((o) => !o.verified).map((o) => o.detail);

      if (correctionPending) return 'corrected';
      if (outcomes.every((o) => o.verified)) {
        dns.verifiedAt = now();
        dns.nextCheckAt = null;
        dnsWait.record((Date.now() - Date.parse(dns.waitingSince!)) / 1000);
        ctx.finish('await-dns', 'done', outcomes.map((o) => o.detail).join('; '));
        clearAttention('dns-stalled');
        return 'verified';
      }
      step('await-dns').detail = dns.waitingFor.join('; ');

      const stalled = Date.now() >= deadline;
      if (stalled) {
        const fix = (dns.records ?? []).find((r) => !r.ok && r.fix)?.fix;
        await raiseAttention(
          'dns-stalled',
          `DNS for ${status.domain} not verified after ${formatDuration(settings.dnsDeadlineMs)}: ${dns.waitingFor.join('; ')}. Ask the client to fix it (still checking)`,
          `Ask the client to fix DNS: ${fix ?? dns.waitingFor[0] ?? status.domain}`,
        );
      }

      if (checksThisRun >= checksPerRun || workflowInfo().continueAsNewSuggested) {
        // Let a retry or a note still being handled finish first: the new run starts from the status they leave.
        await condition(allHandlersFinished);
        // A correction that arrived meanwhile (say during the ops alert) is handled in this run, never dropped.
        if (correctionPending) return 'corrected';
        await crmWritesDone();
        // The memo goes with the run (search attributes are carried by the server; the memo is not), so the ops list
        // never shows the new run without its reason while its first workflow task waits.
        await makeContinueAsNewFunc<typeof onboardClient>({ memo: { [MEMO_REASON]: reasonLine(status) } })({ onboardingId, client: status.client, settings, receivedAt: input.receivedAt, services: plan, carried: status, ...(crm ? { crm } : {}) });
      }

      const interval = dns.nextIntervalMs ?? settings.dnsPollInitialMs;
      dns.nextIntervalMs = Math.min(interval * 2, settings.dnsPollMaxMs);
      // Wake at the deadline too, so "needs attention" is raised on time rather than at the next slow poll.
      const wait = stalled ? interval : Math.max(1, Math.min(interval, deadline - Date.now()));
      dns.nextCheckAt = new Date(Date.now() + wait).toISOString();
      publish();
      await ctx.sleep(wait);
      if (correctionPending) return 'corrected';
    }
  }
}

/** A step's call was stopped by a correction of the client's identity; the step runs again with the corrected data. */
class StepSuperseded extends Error {
  constructor() {
    super('stopped by a correction of the client\'s email or domain');
    this.name = 'StepSuperseded';
  }
}

function phasesOf(platforms: PlatformSteps[], stage: string) {
  return platforms.flatMap((platform) => platform.phases.filter((phase) => phase.stage === stage));
}

/** A non-retryable failure from an activity is a business outcome; anything else is left to Temporal. */
function businessRejection(err: unknown): ApplicationFailure | undefined {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.nonRetryable) return err.cause;
  // Raised by the workflow itself from what an activity answered (a CRM record without an email).
  if (err instanceof ApplicationFailure && err.nonRetryable) return err;
  return undefined;
}

