import {
  condition,
  getExternalWorkflowHandle,
  proxyActivities,
  patched,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { OnboardingActivities } from '../activities/index.js';
import {
  getOffboardingStatus,
  MEMO_REASON,
  reactivateClient,
  type OffboardingInput,
  type OffboardingPhase,
  type OffboardingStatus,
} from './definitions.js';
import { resellerCallOptions } from './activity-options.js';
import { OnboardingStatus as OnboardingStatusKey } from './search-attributes.js';

const reseller = proxyActivities<OnboardingActivities>(resellerCallOptions);

/**
 * Offboards a churned client: stops its onboarding at once, waits out the grace period (a `client.reactivated`
 * ends it with nothing removed), then removes the domain at NextNet and revokes the client's vault entries.
 */
export async function offboardClient(input: OffboardingInput): Promise<OffboardingStatus> {
  const at = new Date().toISOString();
  const status: OffboardingStatus = {
    offboardingId: input.offboardingId,
    onboardingId: input.onboardingId,
    clientId: input.clientId,
    domain: input.domain,
    status: 'grace-period',
    churnedAt: input.churnedAt,
    removeAfter: new Date(Date.now() + input.graceMs).toISOString(),
    onboardingCancelled: false,
    removal: null,
    secretsRevoked: false,
    reactivatedAt: null,
    updatedAt: at,
  };
  // Offboardings started before the list's reason column had no memo; they replay without it.
  const keepsMemo = patched('offboarding-memo');
  const enterPhase = (phase: OffboardingPhase) => {
    status.status = phase;
    status.updatedAt = new Date().toISOString();
    upsertSearchAttributes([{ key: OnboardingStatusKey, value: phase === 'offboarded' ? 'offboarded' : phase === 'reactivated' ? 'reactivated' : 'offboarding' }]);
    if (keepsMemo) upsertMemo({ [MEMO_REASON]: firstLineOf(status) });
    setCurrentDetails(describeForOps(status));
  };
  setHandler(getOffboardingStatus, () => status);
  setHandler(reactivateClient, ({ at: reactivatedAt }) => {
    // Only within the grace period: once removal has begun, a reactivation is a new onboarding.
    if (status.status === 'grace-period') status.reactivatedAt = reactivatedAt;
  });
  enterPhase('grace-period');

  if (input.onboardingRunning) {
    try {
      await getExternalWorkflowHandle(input.onboardingId).cancel();
      status.onboardingCancelled = true;
    } catch {
      // It finished in the meantime: nothing to stop.
    }
  }

  const reactivated = input.graceMs > 0 ? await condition(() => status.reactivatedAt !== null, input.graceMs) : status.reactivatedAt !== null;
  if (reactivated) {
    enterPhase('reactivated');
    return status;
  }

  enterPhase('removing');
  const registeredAtNextNet = input.registeredAtNextNet ?? input.domain !== null;
  // A registration under way at the churn: wait out its attempt, so the lookup by host sees what it made.
  const settleMs = Math.max(0, (input.inFlightSettleMs ?? 0) - input.graceMs);
  if (settleMs > 0 && patched('offboarding-settle-in-flight')) await sleep(settleMs);
  status.removal = input.domain && registeredAtNextNet
    ? await reseller.releaseDomain.executeWithOptions({ ...resellerCallOptions, summary: `Remove ${input.domain} from NextNet (client churned)` }, [
        { domain: input.domain, domainId: input.domainId, ...(input.clientEmail ? { clientEmail: input.clientEmail } : {}) },
      ])
    : 'nothing-registered';
  // Only offboardings of clients with a Netlify site have this step; earlier ones replay without it.
  if (input.netlifySite) {
    status.siteRemoval = await reseller.deleteNetlifySite.executeWithOptions({ ...resellerCallOptions, summary: `Delete the Netlify site ${input.netlifySite.name} (client churned)` }, [
      { siteId: input.netlifySite.id, domain: input.domain ?? input.netlifySite.name },
    ]);
  }
  await reseller.revokeClientSecrets.executeWithOptions({ ...resellerCallOptions, summary: "Revoke the client's secrets in the vault" }, [
    { onboardingId: input.secretScope ?? input.onboardingId, reason: `client churned at ${input.churnedAt}` },
  ]);
  status.secretsRevoked = true;
  status.offboardedAt = new Date().toISOString();
  enterPhase('offboarded');
  return status;
}

/** What the offboarding does or did, in one line: the UI's first line and the list's reason column. */
function firstLineOf(status: OffboardingStatus): string {
  switch (status.status) {
    case 'grace-period':
      return `Churned: removal due at ${status.removeAfter}; a client.reactivated before then keeps everything`;
    case 'removing':
      return "Removing the client's domain, site and secrets";
    case 'reactivated':
      return `Reactivated at ${status.reactivatedAt}: nothing removed`;
    case 'offboarded':
      return `Offboarded at ${status.offboardedAt ?? status.updatedAt}: nothing to do`;
  }
}

function describeForOps(status: OffboardingStatus): string {
  return `**${firstLineOf(status)}**\n\n${describePhase(status)}`;
}

function describePhase(status: OffboardingStatus): string {
  switch (status.status) {
    case 'grace-period':
      return `**Churned** — ${status.domain ?? 'no domain'} (CRM client ${status.clientId}) will be removed at ${status.removeAfter} unless the client is reactivated.`;
    case 'removing':
      return `**Removing** ${status.domain ?? 'no domain'} from the client's platforms and revoking its secrets.`;
    case 'reactivated':
      return `**Reactivated** at ${status.reactivatedAt}; nothing was removed.`;
    case 'offboarded':
      return `**Offboarded**: ${status.domain ?? 'no domain'} ${status.removal === 'removed' ? 'removed from NextNet' : `(${status.removal})`}${status.siteRemoval ? `; Netlify site ${status.siteRemoval === 'removed' ? 'deleted' : 'already gone'}` : ''}; secrets revoked.`;
  }
}
