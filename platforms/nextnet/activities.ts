import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import { activityLogger, putWithRetries } from '../../activities/context.js';
import type { DomainHolders } from '../../activities/domain-holders.js';
import type { SecretVault } from '../../vault/index.js';
import { FailureTypes, type ClientDetails, type RegistrationOutcome } from '../../workflows/definitions.js';
import { asRetryableFailure } from '../api-errors.js';
import { secretReference } from '../catalog.js';
import { classifyVerificationStatus, ResellerApiError, type NextNetClient, type VerificationState } from './client.js';

export interface NextNetActivityDependencies {
  nextnet: NextNetClient;
  vault: SecretVault;
  logger: Logger;
  /** Which onboardings hold a domain: tells a duplicate client in the CRM from a registration whose key was lost. */
  domainHolders?: DomainHolders;
}

export interface VerificationCheck {
  state: VerificationState;
  /** NextNet's own string, shown to ops as it is (its values are undocumented). */
  verificationStatus: string | null;
}

const KEY = 'wordpress-api-key' as const;

/** NextNet's activities; the names are part of running workflows' histories, so they stay as they are. */
export function createNextNetActivities(deps: NextNetActivityDependencies) {
  const { nextnet, vault } = deps;

  return {
    /**
     * Registers the client's domain and, in the same breath, puts the one-time WordPress key in the vault:
     * the key never leaves this function, so it can't reach workflow history.
     */
    async registerClientDomain(input: { onboardingId: string; secretScope?: string; client: ClientDetails }): Promise<RegistrationOutcome> {
      const { onboardingId, client } = input;
      const keyRef = { onboardingId: input.secretScope ?? onboardingId, name: KEY };
      const wantsWordPress = client.cms === 'wordpress';
      const log = activityLogger(deps.logger, { onboardingId, domain: client.domain });

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
        if (!keyKept && deps.domainHolders) {
          // Registered for this email, but not by this onboarding: a second record of the same client in the CRM.
          const others = (await deps.domainHolders(client.domain).catch(() => [])).filter((id) => id !== onboardingId && id !== input.secretScope);
          if (others.length > 0) {
            throw ApplicationFailure.nonRetryable(
              `${client.domain} is already onboarded as ${others[0]}, whose vault entry holds its WordPress key: this client is probably a duplicate record in the CRM (merge it there, then cancel this onboarding)`,
              FailureTypes.domainAlreadyOnboarded,
            );
          }
        }
        log.warn({ domainId: listed.id, wordpressKeyInVault: keyKept }, 'domain was already registered by an earlier attempt');
        return {
          domainId: listed.id,
          host: listed.host,
          clientUserId: listed.client_user?.id ?? null,
          wordpressKey: keyKept ? 'stored' : wantsWordPress ? 'lost' : 'not-applicable',
          keyReference: keyKept ? secretReference(keyRef.onboardingId, KEY) : null,
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

    /** Whether the vault holds the onboarding's WordPress key (ops may have stored a regenerated one). */
    async checkStoredKey(input: { onboardingId: string; secretScope?: string }): Promise<boolean> {
      return vault.has({ onboardingId: input.secretScope ?? input.onboardingId, name: KEY });
    },

    /**
     * Removes a domain from NextNet (a churned client, or a registration corrected on retry); gone already is fine.
     * Without its id (a registration whose answer never came) it is looked up by host, and only released when it is
     * the client's own (`clientEmail`): the same domain registered for another client is not ours to remove.
     */
    async releaseDomain(input: { domain: string; domainId?: string | null; clientEmail?: string }): Promise<'removed' | 'already-gone' | 'nothing-registered'> {
      try {
        let domainId = input.domainId ?? null;
        if (!domainId) {
          const listed = (await nextnet.listDomains()).find((d) => d.host.toLowerCase().replace(/\.$/, '') === input.domain);
          if (!listed) return 'nothing-registered';
          const ownerEmail = listed.client_user?.email ?? listed.client_user_email ?? null;
          if (input.clientEmail && ownerEmail && ownerEmail.toLowerCase() !== input.clientEmail.toLowerCase()) return 'nothing-registered';
          domainId = listed.id;
        }
        const outcome = await nextnet.removeDomain(domainId);
        activityLogger(deps.logger).info({ domain: input.domain, domainId, outcome }, 'domain removed from NextNet');
        return outcome;
      } catch (err) {
        throw asRetryableFailure(err);
      }
    },
  };
}

export type NextNetActivities = ReturnType<typeof createNextNetActivities>;
