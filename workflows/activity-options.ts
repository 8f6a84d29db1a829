import { ActivityCancellationType, type ActivityOptions } from '@temporalio/workflow';

/** How long one attempt of a reseller call may take; an attempt under way at a cancellation ends within it. */
export const RESELLER_ATTEMPT_TIMEOUT_MS = 60_000;

/** Reseller calls retry until they succeed; business rejections arrive as non-retryable failures. */
export const resellerCallOptions: ActivityOptions = {
  startToCloseTimeout: RESELLER_ATTEMPT_TIMEOUT_MS,
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
};

/** How long one attempt at the signup email may take; the SMTP limits (activities/mailer.ts) end a send well within it. */
export const EMAIL_ATTEMPT_TIMEOUT_MS = 60_000;

/** Mail servers recover more slowly than APIs: a gentler backoff, still without a limit. */
export const mailOptions: ActivityOptions = {
  startToCloseTimeout: EMAIL_ATTEMPT_TIMEOUT_MS,
  // The send heartbeats: a worker that died mid-send is noticed in seconds, not at the end of the minute.
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
};

/** An alert to ops is worth a few tries, never worth holding up the onboarding it is about. */
export const alertOptions: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumAttempts: 5 },
};

/**
 * For calls that may be cancelled by a correction (`StepContext.callWithIdentity`): cancelling waits for the attempt
 * in progress to end, so its outcome (a registration made with the old data, say) is known rather than guessed.
 */
export const untilAttemptEnds = { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED } as const;

/** Reading a client from its CRM: like a reseller call, it retries until the CRM answers (429s after their delay). */
export const crmReadOptions: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
};

/** Progress written back to the CRM: best effort, retried without end in the background, never holding the onboarding. */
export const crmWriteOptions: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
};
