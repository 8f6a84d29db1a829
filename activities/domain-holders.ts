import type { Client } from '@temporalio/client';
import { ONBOARDING_WORKFLOW_TYPE } from '../workflows/definitions.js';

/** The onboardings (workflow ids) of this engine that hold a domain: running or completed, from Temporal's visibility. */
export type DomainHolders = (domain: string) => Promise<string[]>;

export function domainHoldersFrom(client: Client): DomainHolders {
  return async (domain) => {
    const query = `WorkflowType = '${ONBOARDING_WORKFLOW_TYPE}' AND OnboardingDomain = '${domain.replace(/['\\]/g, '')}' AND ExecutionStatus IN ('Running', 'Completed')`;
    const holders: string[] = [];
    for await (const workflow of client.workflow.list({ query, pageSize: 10 })) {
      holders.push(workflow.workflowId);
      if (holders.length >= 10) break;
    }
    return holders;
  };
}
