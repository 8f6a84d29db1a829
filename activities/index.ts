import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
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
import type { SentEmailLedger } from './sent-email-ledger.js';
import { composeSignupEmail, escapeHtml } from './signup-email.js';

export interface ActivityDependencies {
  nextnet: NextNetClient;
  vault: SecretVault;
  mailer: Mailer;
  sentEmails: SentEmailLedger;
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
  /** A logger for the running activity: every line names the workflow (and onboarding) it works for. */
  const logFor = (fields: Record<string, unknown> = {}) => {
    const workflowId = Context.current().info.workflowExecution?.workflowId ?? 'unknown';
    return deps.logger.child({ workflowId, onboardingId: workflowId.replace(/^offboarding-/, 'onboarding-'), ...fields });
  };

  return {
    /**
     * Registers the client's domain and, in the same breath, puts the one-time WordPress key in the vault:
     * the key never leaves this function, so it can't reach workflow history.
     */
    async registerClientDomain(input: { onboardingId: string; client: ClientDetails }): Promise<RegistrationOutcome> {
      const { onboardingId, client } = input;
      const keyRef = { onboardingId, name: 'wordpress-api-key' as const };
      const wantsWordPress = client.cms === 'wordpress';
      const log = logFor({ onboardingId, domain: client.domain });

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
        const stored = key ? await putWithRetries(() => vault.put(keyRef, key), log) : undefined;
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
      const { client, onboardingId } = input;
      const log = logFor({ onboardingId });
      // One message per onboarding and recipient: a corrected address on retry gets its own email.
      const recipientTag = createHash('sha256').update(client.email.toLowerCase()).digest('hex').slice(0, 12);
      const messageId = `<signup.${onboardingId}.${recipientTag}@${senderDomain(deps.emailFrom)}>`;
      const earlier = await deps.sentEmails.find(messageId);
      if (earlier) {
        log.info({ messageId }, 'signup email was already sent by an earlier attempt; not sending it again');
        return earlier;
      }
      const content = composeSignupEmail({ clientName: client.name, email: client.email, domain: client.domain, signupUrl: deps.signupUrl });
      try {
        await mailer.send({ to: client.email, ...content, messageId });
      } catch (err) {
        if (isPermanentSmtpRejection(err)) {
          throw ApplicationFailure.nonRetryable(`the mail server refused the signup email: ${(err as Error).message}`, FailureTypes.emailRejected);
        }
        throw err;
      }
      const sent = { messageId, sentAt: new Date().toISOString() };
      await deps.sentEmails.record(sent);
      log.info({ messageId }, 'signup email sent');
      return sent;
    },

    /** Whether the vault holds the onboarding's WordPress key (ops may have stored a regenerated one). */
    async checkStoredKey(input: { onboardingId: string }): Promise<boolean> {
      return vault.has({ onboardingId: input.onboardingId, name: 'wordpress-api-key' });
    },

    /** Removes a domain from NextNet (a churned client, or a registration corrected on retry); gone already is fine. */
    async releaseDomain(input: { domain: string; domainId?: string | null }): Promise<'removed' | 'already-gone' | 'nothing-registered'> {
      try {
        let domainId = input.domainId ?? null;
        if (!domainId) {
          const listed = (await nextnet.listDomains()).find((d) => d.host.toLowerCase().replace(/\.$/, '') === input.domain);
          if (!listed) return 'nothing-registered';
          domainId = listed.id;
        }
        const outcome = await nextnet.removeDomain(domainId);
        logFor().info({ domain: input.domain, domainId, outcome }, 'domain removed from NextNet');
        return outcome;
      } catch (err) {
        throw asRetryableFailure(err);
      }
    },

    /** Revokes an offboarded client's secrets: kept for audit, never readable again. */
    async revokeClientSecrets(input: { onboardingId: string; reason: string }): Promise<{ revoked: boolean }> {
      const revoked = await vault.revoke({ onboardingId: input.onboardingId, name: 'wordpress-api-key' }, { actor: 'offboarding workflow', purpose: input.reason });
      return { revoked };
    },

    /** Tells a person that an onboarding needs them: always a warning in the log, and an email when configured. */
    async alertOps(input: { onboardingId: string; domain: string; reason: string }): Promise<{ emailed: boolean }> {
      logFor({ onboardingId: input.onboardingId }).warn({ domain: input.domain, reason: input.reason }, 'onboarding needs attention');
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

/**
 * The WordPress key exists only in this function's memory until the vault has it: a failed write is retried
 * here, because an activity retry would find the domain registered and the key gone.
 */
async function putWithRetries<T>(put: () => Promise<T>, log: Logger, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await put();
    } catch (err) {
      if (attempt >= attempts) {
        log.error({ err: (err as Error).message, attempts }, 'could not store the WordPress key in the vault; it is lost');
        throw err;
      }
      log.warn({ err: (err as Error).message, attempt }, 'vault write failed; retrying');
      await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
    }
  }
}

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
