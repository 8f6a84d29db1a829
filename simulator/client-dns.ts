import type { DnsRecord, DnsRecordStore } from './dns-records.js';
import { siteHostOf } from './netlify/api.js';
import type { NetlifyStore, SiteRecord } from './netlify/store.js';
import type { ResellerStore } from './nextnet/store.js';

export interface ClientDnsOptions {
  nextnet: ResellerStore;
  netlify: NetlifyStore;
  /** What a client's apex A record points at (Netlify's load balancer). */
  loadBalancerIp: string;
}

/**
 * The records the simulated world answers without any override:
 * - `<site-name>.netlify.app` A → the load balancer, for every live Netlify site;
 * - once a client has "added its records" for a domain (the DNS delay after it was registered at NextNet or
 *   its Netlify site got it, or the verify knob): the apex A → the load balancer, and `www.<apex>` CNAME →
 *   `<site-name>.netlify.app` when a live Netlify site has the domain, else A → the load balancer too.
 */
export function clientDnsRecords({ nextnet, netlify, loadBalancerIp }: ClientDnsOptions): Map<string, DnsRecord[]> {
  const records = new Map<string, DnsRecord[]>();
  const loadBalancer: DnsRecord = { type: 'A', value: loadBalancerIp };
  const liveSites = netlify.activeSites();
  const siteByDomain = new Map<string, SiteRecord>();
  for (const site of liveSites) {
    records.set(siteHostOf(site), [loadBalancer]);
    if (site.customDomain !== null && !siteByDomain.has(site.customDomain)) siteByDomain.set(site.customDomain, site);
  }

  const domainsInPlace = new Set<string>();
  for (const domain of nextnet.activeDomains()) {
    if (nextnet.clientDnsRecordsInPlace(domain)) domainsInPlace.add(domain.host);
  }
  for (const site of liveSites) {
    if (site.customDomain !== null && netlify.clientDnsRecordsInPlace(site)) domainsInPlace.add(site.customDomain);
  }

  for (const domain of domainsInPlace) {
    const apex = domain.startsWith('www.') ? domain.slice('www.'.length) : domain;
    const www = `www.${apex}`;
    const site = siteByDomain.get(domain) ?? siteByDomain.get(apex) ?? siteByDomain.get(www);
    records.set(apex, [loadBalancer]);
    records.set(www, site ? [{ type: 'CNAME', value: siteHostOf(site) }] : [loadBalancer]);
  }
  return records;
}

/**
 * What Netlify checks before asking Let's Encrypt: the custom domain and every alias lead to the site, by a
 * CNAME chain through `<site-name>.netlify.app`, or by A records that are all the load balancer (and no AAAA).
 */
export function dnsPointsAtSite(records: DnsRecordStore, site: SiteRecord, loadBalancerIp: string): boolean {
  const domains = [site.customDomain, ...site.domainAliases].filter((domain): domain is string => domain !== null);
  return (
    domains.length > 0 &&
    domains.every((domain) => {
      const resolution = records.resolve(domain);
      if (resolution.chain.includes(siteHostOf(site))) return true;
      return resolution.a.length > 0 && resolution.a.every((ip) => ip === loadBalancerIp) && resolution.aaaa.length === 0;
    })
  );
}
