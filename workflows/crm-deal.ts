import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ApplicationFailure, ParentClosePolicy, proxyActivities, startChild, WorkflowIdReusePolicy } from '@temporalio/workflow';
import type { CrmActivities } from '../crm/activities.js';
import { CRM_SOURCE_LABELS, crmClientId, type CrmRecord, type ResolveCrmDealInput } from '../crm/types.js';
import { platformOf } from '../platforms/catalog.js';
import { crmReadOptions } from './activity-options.js';
import { FailureTypes, ONBOARDING_WORKFLOW_TYPE, onboardingIdFor, type OnboardingInput } from './definitions.js';
import type { onboardClient } from './onboarding.js';
import { CrmClientId, NeedsAttention, OnboardingPlatforms, OnboardingStatus } from './search-attributes.js';

const crm = proxyActivities<CrmActivities>(crmReadOptions);

/**
 * A deal won in a CRM that names only the deal (HubSpot): finds the deal's contact, then starts that contact's
 * onboarding, the same one a `contact.creation` of that contact starts (once per client, whichever comes first).
 * The onboarding outlives this workflow, which ends once it has started it.
 */
export async function resolveCrmDeal(input: ResolveCrmDealInput): Promise<{ onboardingId: string; status: 'started' | 'already-started' }> {
  const { source, account, dealId, services } = input;
  const label = CRM_SOURCE_LABELS[source];
  const contactId = await crm.crmContactOfDeal.executeWithOptions({ ...crmReadOptions, summary: `Find the contact of ${label} deal ${dealId}` }, [{ source, account, dealId }]);
  if (!contactId) {
    throw ApplicationFailure.nonRetryable(
      `the ${label} deal ${dealId} has no contact to onboard: associate the client's contact with the deal, then move the deal out of its won stage and back`,
      FailureTypes.crmDealWithoutContact,
    );
  }
  const record: CrmRecord = { source, account, client: { type: 'contact', id: contactId }, trigger: { type: 'deal', id: dealId } };
  const clientId = crmClientId(record);
  const onboardingId = onboardingIdFor(clientId);
  const onboarding: OnboardingInput = { onboardingId, client: { clientId, email: '', domain: '' }, services, settings: input.settings, receivedAt: input.receivedAt, crm: { record } };
  try {
    await startChild<typeof onboardClient>(ONBOARDING_WORKFLOW_TYPE, {
      workflowId: onboardingId,
      args: [onboarding],
      // The onboarding is the client's own: it runs on when this workflow ends.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [
        { key: CrmClientId, value: clientId },
        { key: OnboardingStatus, value: 'registering' },
        { key: NeedsAttention, value: false },
        { key: OnboardingPlatforms, value: services },
      ],
      staticSummary: `Onboard ${label} contact ${contactId} (deal ${dealId} won) onto ${services.map((name) => platformOf(name).label).join(' + ')}`,
    });
    return { onboardingId, status: 'started' };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { onboardingId, status: 'already-started' };
    throw err;
  }
}
