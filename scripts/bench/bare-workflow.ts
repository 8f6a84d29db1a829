/**
 * The benchmark's baseline workflow (bundled on its own, never part of the worker's bundle): what an onboarding of
 * a NextNet plan with DNS verified at once does, reduced to Temporal itself. The same three activities by name,
 * with the same options and payloads of the same size, in the same order; none of our workflow code (status,
 * search attributes, memo, stall timers, metrics). Its result is padded to the size of a real onboarding's.
 */
import { proxyActivities } from '@temporalio/workflow';
import { mailOptions, resellerCallOptions } from '../../workflows/activity-options.js';
import type { BareActivities } from './bare-activities.js';

const reseller = proxyActivities<BareActivities>(resellerCallOptions);
const mail = proxyActivities<BareActivities>(mailOptions);

export interface BareInput {
  onboardingId: string;
  client: { clientId: string; email: string; domain: string; [key: string]: unknown };
  services: string[];
  /** Characters of padding in the result, so it weighs what a real onboarding's status does. */
  resultPadding: number;
  [key: string]: unknown;
}

export async function bareOnboarding(input: BareInput): Promise<{ onboardingId: string; padding: string }> {
  const registration = await reseller.registerClientDomain({ onboardingId: input.onboardingId, secretScope: input.onboardingId, client: input.client });
  await reseller.checkDomainVerification({ domainId: registration.domainId });
  await mail.sendSignupEmail({ onboardingId: input.onboardingId, client: input.client, services: input.services, siteUrl: null });
  return { onboardingId: input.onboardingId, padding: 'x'.repeat(Math.max(0, input.resultPadding)) };
}
