/**
 * Netlify's part of an onboarding, as workflow code: the client's user and token (token to the vault in the same
 * activity), the client's site on its own domain, the engine's own DNS check in the shared DNS phase, then TLS.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import { resellerCallOptions, untilAttemptEnds } from '../../workflows/activity-options.js';
import type { PlatformSteps, StepContext } from '../../workflows/step-context.js';
import type { NetlifyActivities } from './activities.js';
import { siteCreationQueueFor, type NetlifyProgress } from './platform.js';

const netlify = proxyActivities<NetlifyActivities>(resellerCallOptions);

const progressOf = (ctx: StepContext): NetlifyProgress => {
  ctx.status.netlify ??= { userId: null, tokenReference: null, site: null, tls: null };
  return ctx.status.netlify;
};

async function createUser(ctx: StepContext): Promise<void> {
  const { status, onboardingId } = ctx;
  ctx.begin('netlify-account');
  const user = await ctx.callWithIdentity(`Creating the Netlify user of ${status.client.email}`, () =>
    netlify.createNetlifyUser.executeWithOptions(ctx.withSummary({ ...resellerCallOptions, ...untilAttemptEnds }, `Create the client's Netlify user and access token`), [
      { onboardingId, secretScope: ctx.secretScope, client: status.client },
    ]),
  );
  Object.assign(progressOf(ctx), user);
  ctx.finish('netlify-account', 'done', `Netlify user ${user.userId}; token kept in the vault as ${user.tokenReference}`);
}

async function createSite(ctx: StepContext): Promise<void> {
  const { status, onboardingId } = ctx;
  const progress = progressOf(ctx);
  ctx.begin('netlify-site');
  // Site creation is tightly rate limited at Netlify: every worker sends it through one throttled task queue.
  const options = { ...resellerCallOptions, ...untilAttemptEnds, taskQueue: siteCreationQueueFor(workflowInfo().taskQueue) };
  const site = await ctx.callWithIdentity(`Creating the Netlify site of ${status.domain}`, () =>
    netlify.ensureNetlifySite.executeWithOptions(ctx.withSummary(options, `Create the Netlify site for ${status.domain}`), [
      { onboardingId, secretScope: ctx.secretScope, domain: status.domain, knownSiteId: progress.site?.id ?? null },
    ]),
  );
  progress.site = site;
  ctx.finish('netlify-site', 'done', `${site.name} (${site.url})${site.adopted ? ', found from an earlier attempt' : ''}`);
}

/** Asks Netlify for a certificate until it is issued; 'bad DNS' answers wait, with the DNS phase's back-off. */
async function secureSite(ctx: StepContext): Promise<void> {
  const { status, onboardingId, settings } = ctx;
  const progress = progressOf(ctx);
  const site = progress.site;
  if (!site) throw new Error('TLS needs a Netlify site');
  ctx.begin('tls');
  const startedAt = Date.now();
  let interval = settings.dnsPollInitialMs;
  for (;;) {
    const tls = await ctx.call(
      `Getting a TLS certificate for ${status.domain} at Netlify`,
      netlify.secureNetlifySite.executeWithOptions(ctx.withSummary(resellerCallOptions, `Get the TLS certificate of ${status.domain}`), [{ onboardingId, secretScope: ctx.secretScope, siteId: site.id }]),
    );
    progress.tls = { state: tls.state, requestedAt: progress.tls?.requestedAt ?? new Date().toISOString(), issuedAt: tls.state === 'issued' ? new Date().toISOString() : null, detail: tls.detail };
    if (tls.state === 'issued') {
      progress.site = { ...site, sslUrl: tls.sslUrl ?? `https://${status.domain}` };
      ctx.clearAttention('tls-stalled');
      ctx.finish('tls', 'done', `certificate issued for ${tls.domains.join(', ') || status.domain}`);
      return;
    }
    ctx.status.steps.find((s) => s.name === 'tls')!.detail = tls.detail;
    if (Date.now() - startedAt >= settings.dnsDeadlineMs) {
      await ctx.raiseAttention(
        'tls-stalled',
        `Netlify has not issued the certificate of ${status.domain} (${tls.detail}); check the site's domain settings in Netlify (still trying)`,
        `Check the custom domain of site ${site.name} in Netlify: no certificate yet`,
      );
    }
    await ctx.sleep(interval);
    if (ctx.restartRequested()) return;
    interval = Math.min(interval * 2, settings.dnsPollMaxMs);
  }
}

export const netlifySteps: PlatformSteps = {
  platform: 'netlify',
  phases: [
    { stage: 'account', steps: ['netlify-account'], run: createUser },
    { stage: 'site', steps: ['netlify-site'], run: createSite },
    { stage: 'after-dns', steps: ['tls'], run: secureSite },
  ],

  async checkDns(ctx) {
    const site = ctx.status.netlify?.site;
    if (!site) throw new Error('the DNS check needs a Netlify site');
    const diagnosis = await ctx.call(
      `Checking the DNS records of ${ctx.status.domain}`,
      netlify.checkNetlifyDns.executeWithOptions(ctx.withSummary(resellerCallOptions, `Check the DNS records of ${ctx.status.domain}`), [{ domain: ctx.status.domain, siteName: site.name }]),
    );
    ctx.status.dns.records = diagnosis.records;
    return { verified: diagnosis.ok, detail: `Netlify: ${diagnosis.summary}` };
  },

  async releaseOldIdentity(ctx, previous) {
    // A site creation stopped by the correction may have made the site, its answer lost: found by the old domain
    // among the client's own sites, it is the site the redone step moves, so there is never a second one.
    const progress = ctx.status.netlify;
    if (!progress || progress.site || previous.steps.find((s) => s.name === 'netlify-site')?.state !== 'running') return;
    const found = await ctx.call(
      `Looking for the Netlify site of ${previous.domain}`,
      netlify.findOwnNetlifySite.executeWithOptions(ctx.withSummary(resellerCallOptions, `Find the Netlify site an interrupted creation made for ${previous.domain}`), [
        { onboardingId: ctx.onboardingId, secretScope: ctx.secretScope, domain: previous.domain },
      ]),
    );
    if (found) progress.site = found;
  },

  redoAfterCorrection(status, changedFields) {
    if (!status.netlify) return [];
    // The user is keyed by the CRM client id: a new email logs the same user in anew. A new domain moves the site.
    return [...(changedFields.includes('email') ? (['netlify-account'] as const) : []), ...(changedFields.includes('domain') ? (['netlify-site', 'tls'] as const) : [])];
  },

  forget(status, steps) {
    const progress = status.netlify;
    if (!progress) return;
    if (steps.includes('netlify-account')) Object.assign(progress, { userId: null, tokenReference: null });
    // The site itself is remembered: the redone step moves it to the corrected domain rather than making a second.
    if (steps.includes('tls')) progress.tls = null;
  },
};
