/**
 * The baseline's activities: the names of the real ones, no-op bodies, answers of the same shape and size as the
 * real answers (a registration, a verification check, a sent email).
 */
import { randomUUID } from 'node:crypto';

export function createBareActivities() {
  return {
    async registerClientDomain(input: { onboardingId: string; secretScope?: string; client: { domain: string } }) {
      return {
        domainId: randomUUID(),
        host: input.client.domain,
        clientUserId: randomUUID(),
        wordpressKey: 'stored' as const,
        keyReference: `vault:${input.secretScope ?? input.onboardingId}/wordpress-api-key`,
        foundExisting: false,
      };
    },
    async checkDomainVerification(_input: { domainId: string }) {
      return { state: 'verified' as const, verificationStatus: 'verified' };
    },
    async sendSignupEmail(input: { onboardingId: string; client: unknown; services?: string[]; siteUrl?: string | null }) {
      return { messageId: `<signup.${input.onboardingId}.0123456789ab@agency.localhost>`, sentAt: new Date().toISOString() };
    },
  };
}

export type BareActivities = ReturnType<typeof createBareActivities>;
