import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import { activityLogger, putWithRetries } from '../../activities/context.js';
import type { SecretVault } from '../../vault/index.js';
import { FailureTypes, type ClientDetails } from '../../workflows/definitions.js';
import { asRetryableFailure } from '../api-errors.js';
import { siteNameFor, siteRejection, suffixedSiteName, type NetlifyClient, type NetlifySite, type NetlifyUserClient } from './client.js';
import { diagnoseNetlifyDns } from './dns-diagnosis.js';
import type { DnsRecordCheck, NetlifySiteRef } from './platform.js';

export interface NetlifySettings {
  client: NetlifyClient;
  /** Netlify's load balancer, for an apex A record (unconfirmed figure: a setting). */
  loadBalancerIp: string;
  /** DNS servers the engine's own DNS check asks (`ip` or `ip:port`); empty = the system's. */
  dnsResolvers: string[];
  /** Charged for the paid TLS certificate, when set. */
  paymentMethodId: string | undefined;
}

export interface NetlifyActivityDependencies {
  netlify: NetlifySettings;
  vault: SecretVault;
  logger: Logger;
}

const TOKEN = 'netlify-access-token' as const;
/** How many suffixed names to try when the site name derived from the domain is someone else's. */
const NAME_ATTEMPTS = 20;

export function createNetlifyActivities(deps: NetlifyActivityDependencies) {
  const { netlify, vault } = deps;

  /** The client user's client, with the token from the vault (an audited read; the token stays in this process). */
  const asClientUser = async (onboardingId: string, purpose: string): Promise<NetlifyUserClient> => {
    const token = await vault.reveal({ onboardingId, name: TOKEN }, { actor: 'onboarding worker', purpose });
    if (!token) throw ApplicationFailure.retryable(`no Netlify access token in the vault for ${onboardingId}; the Netlify user step must run first`, 'Netlify.MissingToken');
    return netlify.client.asUser(token);
  };

  return {
    /**
     * Creates the client's Netlify user (or logs the existing one in anew) and seals its access token in the vault
     * before returning. A lost answer heals itself: the retry calls again and stores the new token.
     */
    async createNetlifyUser(input: { onboardingId: string; secretScope?: string; client: ClientDetails }): Promise<{ userId: string; tokenReference: string }> {
      const { onboardingId, client } = input;
      const log = activityLogger(deps.logger, { onboardingId, domain: client.domain });
      try {
        const token = await netlify.client.createAccessToken({ email: client.email, uid: client.clientId });
        const stored = await putWithRetries(() => vault.put({ onboardingId: input.secretScope ?? onboardingId, name: TOKEN }, token.accessToken), log);
        log.info({ netlifyUserId: token.userId, vault: stored.outcome }, 'Netlify user ready, access token stored');
        return { userId: token.userId, tokenReference: stored.reference };
      } catch (err) {
        throw asRetryableFailure(err);
      }
    },

    /**
     * The client's site on its own domain, made once: found by domain first (an earlier attempt's), or moved from
     * the domain it had before a correction, or created with a name derived from the domain. Then `www.` as an
     * alias and HTTPS forced. Runs on the rate-limited site-creation task queue.
     */
    async ensureNetlifySite(input: { onboardingId: string; secretScope?: string; domain: string; knownSiteId: string | null }): Promise<NetlifySiteRef> {
      const { onboardingId, domain } = input;
      const log = activityLogger(deps.logger, { onboardingId, domain });
      try {
        const user = await asClientUser(input.secretScope ?? onboardingId, 'create the client site');
        let site = await user.getSite(domain);
        let adopted = site !== null;
        if (!site && input.knownSiteId) {
          // Corrected domain on retry: the same site moves, so there is never a second one.
          site = await user.getSite(input.knownSiteId);
          adopted = site !== null;
        }
        if (!site) ({ site, adopted } = await createWithFreeName(user, domain, log));
        const configured = await user.updateSite(site.id, { customDomain: domain, domainAliases: [`www.${domain}`], forceSsl: true });
        log.info({ siteId: configured.id, siteName: configured.name, adopted }, adopted ? 'Netlify site found and configured' : 'Netlify site created');
        return siteRef(configured, domain, adopted);
      } catch (err) {
        if (siteRejection(err) === 'custom-domain-taken') {
          throw ApplicationFailure.nonRetryable(
            `${domain} is already used by another Netlify account; ask the client to remove it there (or correct the domain and retry)`,
            FailureTypes.domainOwnedElsewhere,
          );
        }
        throw asRetryableFailure(err);
      }
    },

    /**
     * The client's own site on `domain`, seen with the client's token (so never another client's), or null. For a
     * site creation stopped by a correction whose answer was lost: the site it made is the one the redone step moves.
     */
    async findOwnNetlifySite(input: { onboardingId: string; secretScope?: string; domain: string }): Promise<NetlifySiteRef | null> {
      try {
        const user = await asClientUser(input.secretScope ?? input.onboardingId, 'find the client site an interrupted creation made');
        const site = await user.getSite(input.domain);
        activityLogger(deps.logger, { onboardingId: input.onboardingId, domain: input.domain }).info({ siteId: site?.id ?? null }, site ? 'Netlify site of an interrupted creation found' : 'no Netlify site of an interrupted creation');
        return site ? siteRef(site, input.domain, true) : null;
      } catch (err) {
        throw asRetryableFailure(err);
      }
    },

    /** The engine's own look at the client's DNS: what each record is, and what Netlify needs it to be. */
    async checkNetlifyDns(input: { domain: string; siteName: string }): Promise<{ ok: boolean; records: DnsRecordCheck[]; summary: string }> {
      const diagnosis = await diagnoseNetlifyDns({ domain: input.domain, siteName: input.siteName, loadBalancerIp: netlify.loadBalancerIp, resolvers: netlify.dnsResolvers });
      return { ok: diagnosis.ok, records: diagnosis.records.map(({ name, type, found, expected, ok, fix }) => ({ name, type, found, expected, ok, fix })), summary: diagnosis.summary };
    },

    /**
     * Gets the site's certificate: reads it, and asks for one when there is none. "Bad DNS" answers are not
     * failures: the workflow waits and asks again.
     */
    async secureNetlifySite(input: { onboardingId: string; secretScope?: string; siteId: string }): Promise<{ state: string; detail: string; domains: string[]; sslUrl: string | null }> {
      try {
        const user = await asClientUser(input.secretScope ?? input.onboardingId, 'provision the client site TLS certificate');
        const issued = (certificate: { state: string | null; domains: string[] }) => ['issued', 'custom'].includes(certificate.state ?? '');
        const current = await user.showTls(input.siteId);
        if (current && issued(current)) return { state: 'issued', detail: 'certificate issued', domains: current.domains, sslUrl: (await user.getSite(input.siteId))?.sslUrl ?? null };
        const requested = await user.provisionTls(input.siteId, { paymentMethodId: netlify.paymentMethodId });
        if (requested.outcome === 'waiting-for-dns') return { state: 'waiting-for-dns', detail: `Netlify says: ${requested.reason}`, domains: [], sslUrl: null };
        const certificate = requested.outcome === 'requested' ? requested.certificate : await user.showTls(input.siteId);
        if (certificate && issued(certificate)) return { state: 'issued', detail: 'certificate issued', domains: certificate.domains, sslUrl: (await user.getSite(input.siteId))?.sslUrl ?? null };
        return { state: certificate?.state ?? 'requested', detail: `certificate ${certificate?.state ?? 'requested'}`, domains: certificate?.domains ?? [], sslUrl: null };
      } catch (err) {
        throw asRetryableFailure(err);
      }
    },

    /** Deletes a churned client's site with the reseller token; a site already gone counts as removed. */
    /** Deletes a churned client's site; without its id (created while the client churned, answer unseen) the site is found by its custom domain. */
    async deleteNetlifySite(input: { siteId: string | null; domain: string }): Promise<'removed' | 'already-gone'> {
      try {
        const siteId = input.siteId ?? (await netlify.client.listSites()).find((site) => site.customDomain === input.domain)?.id;
        if (!siteId) return 'already-gone';
        const outcome = await netlify.client.deleteSite(siteId);
        activityLogger(deps.logger).info({ siteId, domain: input.domain, outcome }, 'Netlify site deleted');
        return outcome;
      } catch (err) {
        throw asRetryableFailure(err);
      }
    },
  };
}

export type NetlifyActivities = ReturnType<typeof createNetlifyActivities>;

/** Creates the site under the name derived from the domain; a taken name is adopted when it is ours, else suffixed. */
async function createWithFreeName(user: NetlifyUserClient, domain: string, log: Logger): Promise<{ site: NetlifySite; adopted: boolean }> {
  const base = siteNameFor(domain);
  for (let n = 0; n < NAME_ATTEMPTS; n += 1) {
    const name = n === 0 ? base : suffixedSiteName(base, n);
    try {
      return { site: await user.createSite({ name, customDomain: domain }), adopted: false };
    } catch (err) {
      if (siteRejection(err) !== 'name-taken') throw err;
      // Ours when our own token can see it (an earlier attempt whose answer was lost, before its domain was set).
      const mine = await user.getSite(`${name}.netlify.app`);
      if (mine && (!mine.customDomain || mine.customDomain === domain)) return { site: mine, adopted: true };
      log.info({ siteName: name }, 'Netlify site name taken by another account; trying a suffix');
    }
  }
  throw ApplicationFailure.nonRetryable(`no free Netlify site name found for ${domain} after ${NAME_ATTEMPTS} tries`, FailureTypes.resellerRejected);
}

function siteRef(site: NetlifySite, domain: string, adopted: boolean): NetlifySiteRef {
  return {
    id: site.id,
    name: site.name ?? site.id,
    customDomain: site.customDomain ?? domain,
    url: site.url ?? `http://${domain}`,
    sslUrl: site.ssl ? site.sslUrl : null,
    adminUrl: site.adminUrl,
    adopted,
  };
}
