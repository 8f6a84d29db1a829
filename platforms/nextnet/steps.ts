/**
 * NextNet's part of an onboarding, as workflow code: register the domain (the WordPress key goes to the vault in
 * the same activity), then check `verification_status` in the shared DNS phase.
 */
import { proxyActivities } from '@temporalio/workflow';
import { resellerCallOptions, untilAttemptEnds } from '../../workflows/activity-options.js';
import type { StepContext, PlatformSteps } from '../../workflows/step-context.js';
import { secretReference } from '../catalog.js';
import type { NextNetActivities } from './activities.js';

const nextnet = proxyActivities<NextNetActivities>(resellerCallOptions);

// Fields NextNet holds on the client user or the domain itself: changing them means registering again.
const IDENTITY_FIELDS = ['email', 'domain'];
const KEY_LOST = 'WordPress key lost; regenerate it in the NextNet dashboard';

async function register(ctx: StepContext): Promise<void> {
  const { status, onboardingId } = ctx;
  ctx.begin('register');
  const registration = await ctx.callWithIdentity(`Registering ${status.domain} with NextNet`, () =>
    nextnet.registerClientDomain.executeWithOptions(ctx.withSummary({ ...resellerCallOptions, ...untilAttemptEnds }, `Register ${status.domain} with NextNet`), [
      { onboardingId, secretScope: ctx.secretScope, client: status.client },
    ]),
  );
  status.registration = registration;
  ctx.finish('register', 'done', registration.foundExisting ? 'already registered by an earlier attempt' : null);

  if (registration.wordpressKey === 'stored') {
    ctx.finish('secure-wordpress-key', 'done', `kept in the vault as ${registration.keyReference}`);
    ctx.clearAttention('wordpress-key-lost');
  } else if (registration.wordpressKey === 'lost') {
    ctx.finish('secure-wordpress-key', 'needs-attention', KEY_LOST);
    await ctx.raiseAttention('wordpress-key-lost', KEY_LOST, `Regenerate the WordPress key in NextNet, store it (onboarding secret set), retry`);
  } else {
    ctx.finish('secure-wordpress-key', 'skipped', 'the client does not use WordPress');
  }
}

/** On retry: ops may have stored a regenerated key after "WordPress key lost". */
async function recheckLostKey(ctx: StepContext): Promise<void> {
  const { status, onboardingId } = ctx;
  if (!status.needsAttention?.items.some((i) => i.code === 'wordpress-key-lost')) return;
  if (!(await nextnet.checkStoredKey({ onboardingId, secretScope: ctx.secretScope }))) return;
  ctx.clearAttention('wordpress-key-lost');
  ctx.finish('secure-wordpress-key', 'done', 'regenerated key stored by ops');
  if (status.registration) status.registration = { ...status.registration, wordpressKey: 'stored', keyReference: secretReference(ctx.secretScope, 'wordpress-api-key') };
}

export const nextnetSteps: PlatformSteps = {
  platform: 'nextnet',
  phases: [{ stage: 'registration', steps: ['register', 'secure-wordpress-key'], run: register }],

  async checkDns(ctx) {
    const registration = ctx.status.registration;
    if (!registration) throw new Error('the DNS check needs a NextNet registration');
    const check = await ctx.call(
      `Checking DNS verification of ${registration.host} at NextNet`,
      nextnet.checkDomainVerification.executeWithOptions(ctx.withSummary(resellerCallOptions, `Check DNS verification of ${registration.host}`), [{ domainId: registration.domainId }]),
    );
    ctx.status.dns.verificationStatus = check.verificationStatus;
    return { verified: check.state === 'verified', detail: `NextNet: verification_status ${check.verificationStatus ?? 'none'}` };
  },

  recheckAfterRetry: recheckLostKey,

  redoAfterCorrection(status, changedFields) {
    return status.registration && changedFields.some((f) => IDENTITY_FIELDS.includes(f)) ? ['register', 'secure-wordpress-key'] : [];
  },

  async releaseOldIdentity(ctx, previous) {
    const old = previous.registration;
    if (!old) {
      // A registration stopped by the correction may have got through, its answer lost: look it up by the old host.
      if (previous.steps.find((s) => s.name === 'register')?.state !== 'running') return;
      await ctx.call(
        `Removing ${previous.domain} from NextNet`,
        nextnet.releaseDomain.executeWithOptions(ctx.withSummary(resellerCallOptions, `Remove ${previous.domain} from NextNet if an interrupted registration made it`), [
          { domain: previous.domain, domainId: null, clientEmail: previous.client.email },
        ]),
      );
      return;
    }
    await ctx.call(
      `Removing ${old.host} from NextNet`,
      nextnet.releaseDomain.executeWithOptions(ctx.withSummary(resellerCallOptions, `Remove ${old.host} from NextNet (corrected on retry)`), [{ domainId: old.domainId, domain: old.host }]),
    );
  },

  forget(status, steps) {
    if (steps.includes('register')) status.registration = null;
  },
};
