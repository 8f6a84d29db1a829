import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import { activityLogger } from '../activities/context.js';
import { asRetryableFailure, ResellerApiError } from '../platforms/api-errors.js';
import { CRM_SOURCE_LABELS, CrmFailureTypes, type CrmApi, type CrmClientDetails, type CrmProgress, type CrmRecord, type CrmSource } from './types.js';

export interface CrmActivityDependencies {
  /** The CRMs whose API settings this worker has; the others fail with the settings to add. */
  crms: Partial<Record<CrmSource, CrmApi>>;
  logger: Logger;
}

/** What a worker needs to call each CRM's API (see .env.example). */
export const CRM_API_SETTINGS: Record<CrmSource, string> = {
  hubspot: 'HUBSPOT_ACCESS_TOKEN (and HUBSPOT_API_URL when not https://api.hubapi.com)',
  pipedrive: 'PIPEDRIVE_API_TOKEN and PIPEDRIVE_WEBSITE_FIELD (and PIPEDRIVE_API_URL for a company domain)',
  gohighlevel: 'GHL_API_TOKEN (and GHL_API_URL when not https://services.leadconnectorhq.com)',
};

/** The onboarding's calls to the CRM a client came from: read the client's details, find a won deal's contact, write progress back. */
export function createCrmActivities(deps: CrmActivityDependencies) {
  const crmFor = (source: CrmSource): CrmApi => {
    const crm = deps.crms[source];
    if (crm) return crm;
    throw ApplicationFailure.create({
      message: `${CRM_SOURCE_LABELS[source]} is not configured on this worker: set ${CRM_API_SETTINGS[source]}`,
      type: CrmFailureTypes.notConfigured,
      nonRetryable: true,
    });
  };

  return {
    /** The client's email, name and domain as its CRM record holds them, with a problem for each field that is unusable. */
    async readCrmClient(input: { onboardingId: string; record: CrmRecord }): Promise<CrmClientDetails> {
      const { record } = input;
      const crm = crmFor(record.source);
      try {
        const details = await crm.readClient(record);
        activityLogger(deps.logger, { onboardingId: input.onboardingId }).info(
          { source: record.source, account: record.account, clientId: record.client.id, domain: details.domain, problems: details.problems.map((p) => p.field) },
          'client details read from the CRM',
        );
        return details;
      } catch (err) {
        throw asCrmFailure(err);
      }
    },

    /** A won deal's (or opportunity's) contact: the client to onboard, or null when the deal has none. */
    async crmContactOfDeal(input: { source: CrmSource; account: string; dealId: string }): Promise<string | null> {
      const crm = crmFor(input.source);
      if (!crm.contactOfDeal) {
        throw ApplicationFailure.create({ message: `the ${CRM_SOURCE_LABELS[input.source]} client cannot resolve a deal to its contact`, nonRetryable: true });
      }
      try {
        return await crm.contactOfDeal(input.account, input.dealId);
      } catch (err) {
        throw asCrmFailure(err);
      }
    },

    /** Writes where the onboarding stands onto the client's CRM record; the same progress twice changes nothing more. */
    async writeCrmProgress(input: { record: CrmRecord; progress: CrmProgress }): Promise<void> {
      const { record, progress } = input;
      const crm = crmFor(record.source);
      try {
        await crm.writeProgress(record, progress);
        activityLogger(deps.logger, { onboardingId: progress.onboardingId }).info({ source: record.source, clientId: record.client.id, status: progress.status }, 'progress written to the CRM');
      } catch (err) {
        throw asCrmFailure(err);
      }
    },
  };
}

export type CrmActivities = ReturnType<typeof createCrmActivities>;

/** A record that is gone will not come back by retrying; everything else retries by policy (a 429 after its delay). */
function asCrmFailure(err: unknown): unknown {
  if (err instanceof ResellerApiError && err.kind === 'not-found') {
    return ApplicationFailure.create({ message: err.message, type: CrmFailureTypes.recordNotFound, nonRetryable: true });
  }
  return asRetryableFailure(err);
}
