import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import type { SecretVault } from '../vault/index.js';
import {
  FailureTypes,
  type ClientDetails,
  type RegistrationOutcome,
} from '../workflows/definitions.js';
import { isPermanentSmtpRejection, senderDomain, type Mailer } from './mailer.js';
import { classifyVerificationStatus, ResellerApiError, type NextNetClient, type VerificationState } from './nextnet-client.js';
import { composeSignupEmail, escapeHtml } from './signup-email.js';

export interface ActivityDependencies {
  nextnet: NextNetClient;
  vault: SecretVault;
  mailer: Mailer;
  logger: Logger;
  signupUrl: string;
  emailFrom: string;
  opsAlertTo: string | undefined;
}

export interface VerificationCheck {
  state: VerificationState;
  /** NextNet's own string, shown to ops as it is (its values are undocumented). */
  verificationStatus: string | null;
}

/** Activities are built from their dependencies so tests and the worker can wire them differently. */
export function createActivities(deps: ActivityDependencies) {
  const { nextnet, vault, mailer } = deps;

  return {
    /**
     * Registers the client's domain and, in the same breath, puts the one-time WordPress key in the vault:
     * the key never leaves this function, so it can't reach workflow history.
     */
    async registerClientDomain(input: { onboardingId: string; client: ClientDetails }): Promise<RegistrationOutcome> {
      const { onboardingId, client } = input;
      const keyRef = { onboardingId, name: 'wordpress-api-key' as const };
      const wantsWordPress = client.cms === 'wordpress';
      const log = deps.logger.child({ onboardingId, domain: client.domain });

      try {
        const registered = await nextnet.registerDomain({
          client_user_email: client.email,
          domain_host: client.domain,
          subscription_tier: client.subscriptionTier,
          industry: client.industry,
          business_scope: client.businessScope,
          city: client.city,
          state: client.state,
          cms_platform: client.cms,
        });
        const key = registered.wordpress?.api_key ?? undefined;
        const stored = key ? await vault.put(keyRef, key) : undefined;
        log.info({ domainId: registered.domain.id, wordpressKey: stored ? 'stored' : 'none' }, 'domain registered with NextNet');
        return {
          domainId: registered.domain.id,
          host: registered.domain.host,
          clientUserId: registered.client_user?.id ?? null,
          wordpressKey: stored ? 'stored' : wantsWordPress ? 'lost' : 'not-applicable',
          keyReference: stored?.reference ?? null,
          foundExisting: false,
        };
      } catch (err) {
        if (!(err instanceof ResellerApiError) || err.kind !== 'rejected') throw asRetryableFailure(err);

        // A 400 may mean an earlier attempt of ours got through (its answer lost), so look before failing.
        const listed = (await nextnet.listDomains().catch((listErr: unknown) => { throw asRetryableFailure(listErr); }))
          .find((d) => d.host.toLowerCase().replace(/\.$/, '') === client.domain);
        if (!listed) {
          if (/already|exists|registered|taken/i.test(err.message)) {
            throw ApplicationFailure.nonRetryable(
              `${client.domain} is already registered with NextNet by another account; ask the client which account owns it, or have it removed there`,
              FailureTypes.domainOwnedElsewhere,
            );
          }
          throw ApplicationFailure.nonRetryable(`NextNet rejected the registration: ${err.message}`, FailureTypes.resellerRejected);
        }
        const ownerEmail = listed.client_user?.email ?? listed.client_user_email ?? null;
        if (ownerEmail && ownerEmail.toLowerCase() !== client.email.toLowerCase()) {
          throw ApplicationFailure.nonRetryable(
            `${client.domain} is already registered to another client user of this reseller account`,
            FailureTypes.domainOwnedElsewhere,
          );
        }
        const keyKept = await vault.has(keyRef);
        log.warn({ domainId: listed.id, wordpressKeyInVault: keyKept }, 'domain was already registered by an earlier attempt');
        return {
          domainId: listed.id,
          host: listed.host,
          clientUserId: listed.client_user?.id ?? null,
          wordpressKey: keyKept ? 'stored' : wantsWordPress ? 'lost' : 'not-applicable',
          keyReference: keyKept ? `vault:${onboardingId}/wordpress-api-key` : null,
          foundExisting: true,
        };
      }
    },

    async checkDomainVerification(input: { domainId: string }): Promise<VerificationCheck> {
      try {
        const domain = await nextnet.domainDashboard(input.domainId);
        const verificationStatus = domain.verification_status ?? null;
        return { state: classifyVerificationStatus(verificationStatus), verificationStatus };
      } catch (err) {
        if (err instanceof ResellerApiError && err.kind === 'not-found') {
          throw ApplicationFailure.nonRetryable('the domain no longer exists at NextNet (removed in its dashboard?)', FailureTypes.domainRemoved);
        }
        throw asRetryableFailure(err);
      }
    },

    async sendSignupEmail(input: { onboardingId: string; client: ClientDetails }): Promise<{ messageId: string; sentAt: string }> {
      const { client } = input;
      const content = composeSignupEmail({ clientName: client.name, email: client.email, domain: client.domain, signupUrl: deps.signupUrl });
      try {
        const sent = await mailer.send({
          to: client.email,
          ...content,
          messageId: `<signup.${input.onboardingId}@${senderDomain(deps.emailFrom)}>`,
        });
        deps.logger.info({ onboardingId: input.onboardingId }, 'signup email sent');
        return { messageId: sent.messageId, sentAt: new Date().toISOString() };
      } catch (err) {
        if (isPermanentSmtpRejection(err)) {
          throw ApplicationFailure.nonRetryable(`the mail server refused the signup email: ${(err as Error).message}`, FailureTypes.emailRejected);
        }
        throw err;
      }
    },

    /** Tells a person that an onboarding needs them: always a warning in the log, and an email when configured. */
    async alertOps(input: { onboardingId: string; domain: string; reason: string }): Promise<{ emailed: boolean }> {
      deps.logger.warn({ onboardingId: input.onboardingId, domain: input.domain, reason: input.reason }, 'onboarding needs attention');
      if (!deps.opsAlertTo) return { emailed: false };
      const subject = `Onboarding of ${input.domain} needs attention`;
      const text = `${input.reason}\n\nOnboarding: ${input.onboardingId}\nSee it in the Temporal UI or with: npm run temporal -- workflow describe -w ${input.onboardingId}`;
      await mailer.send({
        to: deps.opsAlertTo,
        subject,
        text,
        html: `<pre>${escapeHtml(text)}</pre>`,
        messageId: `<attention.${input.onboardingId}.${Date.now()}@${senderDomain(deps.emailFrom)}>`,
      });
      return { emailed: true };
    },
  };
}

export type OnboardingActivities = ReturnType<typeof createActivities>;

/** Transient trouble retries by policy; a 429's or 503's Retry-After sets the next attempt's delay. */
function asRetryableFailure(err: unknown): unknown {
  if (err instanceof ResellerApiError) {
    return ApplicationFailure.create({
      message: err.message,
      type: `Reseller.${err.kind}`,
      nonRetryable: false,
      nextRetryDelay: err.retryAfterMs,
    });
  }
  return err;
}
