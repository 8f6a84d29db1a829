/**
 * What a platform's workflow steps get from the onboarding workflow: the status to fill in, and the shared ways to
 * mark progress, ask for a person, and call out. Platforms implement `PlatformSteps` (platforms/<name>/steps.ts);
 * the onboarding workflow runs them in plan order. Workflow code: deterministic, no I/O but through activities.
 */
import type { ActivityOptions } from '@temporalio/workflow';
import type { PlatformName } from '../platforms/catalog.js';
import type { AttentionItem, OnboardingSettings, OnboardingStatus, StepName, StepRecord } from './definitions.js';

/** What needs attention when a call keeps failing past the stall limit. */
export type StallCode = 'reseller-failing' | 'email-failing' | 'crm-write-failing';

export interface StepContext {
  readonly onboardingId: string;
  /** Where this onboarding's secrets live in the vault (the onboarding id, unless the client came back). */
  readonly secretScope: string;
  readonly settings: OnboardingSettings;
  /** The live status: steps write their outcome into it (e.g. `status.registration`, `status.netlify`). */
  readonly status: OnboardingStatus;
  begin(step: StepName): void;
  finish(step: StepName, state: StepRecord['state'], detail?: string | null): void;
  /** Marks the onboarding as needing a person (and alerts ops once per code). */
  raiseAttention(code: AttentionItem['code'], reason: string, action?: string): Promise<void>;
  clearAttention(code: AttentionItem['code']): void;
  /**
   * Awaits an activity that retries until it succeeds; if it is still failing after the stall limit, a person is
   * told (needs attention, plus an alert), and that clears once it goes through. `what` names it in that alert.
   */
  call<T>(what: string, work: Promise<T>, code?: StallCode): Promise<T>;
  /**
   * `call`, for an activity that hands the client's email or domain to someone (a platform, the mail server). When
   * ops correct either on retry while it is under way, it is cancelled and the attempt in progress is let finish
   * (schedule it with `untilAttemptEnds`): what that attempt made under the old identity is recorded by the step as
   * usual and then released like any old identity, and the step runs again with the corrected data.
   */
  callWithIdentity<T>(what: string, start: () => Promise<T>, code?: StallCode): Promise<T>;
  /** Activity options with a UI summary ("Register acme.com with NextNet"). */
  withSummary(options: ActivityOptions, summary: string): ActivityOptions;
  /** Waits `ms`, or less when ops ask for a check now (`checkDnsNow`) or a retry restarts the onboarding. */
  sleep(ms: number): Promise<void>;
  /** True once ops corrected the client's identity on retry: a waiting step returns, and the onboarding re-plans. */
  restartRequested(): boolean;
}

/** The result of one platform's DNS check in a round of the shared DNS phase. */
export interface DnsCheckOutcome {
  verified: boolean;
  /** One line for ops: what it waits for ("NextNet: verification_status pending"), or what verified. */
  detail: string;
}

/** The stage of an onboarding a platform's phase belongs to; stages run in this order, platforms in plan order. */
export type Stage = 'account' | 'registration' | 'site' | 'after-dns';
export const SETUP_STAGES: Stage[] = ['account', 'registration', 'site'];

export interface PlatformPhase {
  stage: Stage;
  /** The steps this phase completes, as shown in the status; it runs while any of them is not done or skipped. */
  steps: StepName[];
  run(ctx: StepContext): Promise<void>;
}

export interface PlatformSteps {
  platform: PlatformName;
  phases: PlatformPhase[];
  /** This platform's part of the shared DNS phase: one check per round, until every platform says verified. */
  checkDns?(ctx: StepContext): Promise<DnsCheckOutcome>;
  /** The steps to run again once ops correct these client fields on retry (none: the platform does not care). */
  redoAfterCorrection(status: OnboardingStatus, changedFields: string[]): StepName[];
  /**
   * Undoes what the platform holds under the client's old identity (a registration of the old domain) before the
   * redone steps run; `previous` is the status as it was before the correction.
   */
  releaseOldIdentity?(ctx: StepContext, previous: OnboardingStatus): Promise<void>;
  /** A retry arrived: look again at what needed a person (e.g. a regenerated key ops stored meanwhile). */
  recheckAfterRetry?(ctx: StepContext): Promise<void>;
  /** Forgets what rewound steps produced (the workflow resets the step records themselves). */
  forget(status: OnboardingStatus, steps: StepName[]): void;
}
