import { Resolver } from 'node:dns/promises';
import type { DnsRecordCheck } from './platform.js';

export type { DnsRecordCheck } from './platform.js';

/**
 * Whether a client's domain points at its Netlify site, record by record, with the exact change to make for
 * each wrong one. With external DNS, Netlify wants `www` as a CNAME to `<site-name>.netlify.app` and the apex
 * as an A record to its load balancer, or an ALIAS/ANAME/flattened CNAME to the same `.netlify.app` name.
 */

/**
 * Netlify's load balancer for apex A records with external DNS: a widely used figure that Netlify's page
 * "Configure external DNS" should confirm; callers pass it from configuration.
 */
export const NETLIFY_LOAD_BALANCER_IP = '75.2.60.5';

/** What DNS answered for one name. `error` is set when a lookup failed for a reason other than "no such record". */
export interface ObservedName {
  name: string;
  /** CNAME targets (normally one). */
  cname: string[];
  /** A addresses, after the resolver followed any CNAME. */
  a: string[];
  aaaa: string[];
  /** e.g. `ETIMEOUT`, `ESERVFAIL`: the answer is unknown, not wrong. */
  error?: string;
}

export interface ObservedNetlifyDns {
  apex: ObservedName;
  www: ObservedName;
  /**
   * The addresses `<site-name>.netlify.app` resolves to, when known: an apex ALIAS (or flattened CNAME) shows
   * up as exactly these A/AAAA records.
   */
  siteAddresses?: string[];
}

export interface NetlifyDnsExpectation {
  domain: string;
  siteName: string;
  loadBalancerIp: string;
}

export interface NetlifyDnsDiagnosis {
  ok: boolean;
  records: DnsRecordCheck[];
  /** The fixes in one text, or "DNS points at Netlify". */
  summary: string;
  /** True when a lookup failed (timeout, SERVFAIL): nothing is known to be wrong, so check again later. */
  transient: boolean;
}

export interface DiagnoseNetlifyDnsOptions extends NetlifyDnsExpectation {
  /** DNS servers to ask, `ip` or `ip:port` (`[v6]:port`); empty or undefined asks the system's resolvers. */
  resolvers?: string[];
  /** How long one lookup may take, retry included; 5 s unless given. */
  timeoutMs?: number;
}

/** Looks the client's apex and `www` up and compares them with what Netlify needs. */
export async function diagnoseNetlifyDns(options: DiagnoseNetlifyDnsOptions): Promise<NetlifyDnsDiagnosis> {
  const domain = normalizeName(options.domain);
  const siteHost = `${options.siteName}.netlify.app`;
  const resolver = makeResolver(options.resolvers, options.timeoutMs);
  const [apex, www, siteA, siteAaaa] = await Promise.all([
    observeName(resolver, domain, true),
    observeName(resolver, `www.${domain}`, false),
    lookup(resolver, siteHost, 'A'),
    lookup(resolver, siteHost, 'AAAA'),
  ]);
  return compareNetlifyRecords(
    { apex, www, siteAddresses: [...siteA.values, ...siteAaaa.values] },
    { domain, siteName: options.siteName, loadBalancerIp: options.loadBalancerIp },
  );
}

/**
 * A resolver for one check. A new one each time, so nothing is answered from the cache of an earlier check.
 * Each lookup gets two tries within `timeoutMs`.
 */
export function makeResolver(resolvers: string[] | undefined, timeoutMs = 5_000): Resolver {
  const resolver = new Resolver({ timeout: Math.max(1, Math.ceil(timeoutMs / 2)), tries: 2 });
  const servers = (resolvers ?? []).map((server) => server.trim()).filter(Boolean);
  if (servers.length > 0) resolver.setServers(servers);
  return resolver;
}

/** "No such name" and "no record of this type" are answers; anything else (timeout, SERVFAIL, refused) is not. */
const NO_RECORD = new Set(['ENODATA', 'ENOTFOUND']);

export interface Lookup {
  values: string[];
  error?: string;
}

export async function lookup(resolver: Resolver, name: string, type: 'A' | 'AAAA' | 'CNAME' | 'TXT'): Promise<Lookup> {
  try {
    switch (type) {
      case 'A':
        return { values: (await resolver.resolve4(name)).map(normalizeName) };
      case 'AAAA':
        return { values: (await resolver.resolve6(name)).map(normalizeName) };
      case 'CNAME':
        return { values: (await resolver.resolveCname(name)).map(normalizeName) };
      case 'TXT':
        // A TXT record may come in several strings; they form one value.
        return { values: (await resolver.resolveTxt(name)).map((chunks) => chunks.join('')) };
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
    if (NO_RECORD.has(code)) return { values: [] };
    return { values: [], error: code };
  }
}

async function observeName(resolver: Resolver, name: string, withAaaa: boolean): Promise<ObservedName> {
  const [cname, a, aaaa] = await Promise.all([
    lookup(resolver, name, 'CNAME'),
    lookup(resolver, name, 'A'),
    withAaaa ? lookup(resolver, name, 'AAAA') : Promise.resolve<Lookup>({ values: [] }),
  ]);
  const error = cname.error ?? a.error ?? aaaa.error;
  return { name, cname: cname.values, a: a.values, aaaa: aaaa.values, ...(error ? { error } : {}) };
}

/** The comparison itself, without DNS: what was observed against what Netlify needs. */
export function compareNetlifyRecords(observed: ObservedNetlifyDns, expected: NetlifyDnsExpectation): NetlifyDnsDiagnosis {
  const domain = normalizeName(expected.domain);
  const siteHost = `${expected.siteName}.netlify.app`.toLowerCase();
  const lb = expected.loadBalancerIp;
  const siteAddresses = new Set((observed.siteAddresses ?? []).map(normalizeName));
  const isNetlifyA = (address: string) => address === lb || siteAddresses.has(address);
  const apexExpected = `A ${lb} or ALIAS ${siteHost}`;
  const wwwExpected = `CNAME ${siteHost}`;
  const records: DnsRecordCheck[] = [];

  const unresolved = (name: string, type: DnsRecordCheck['type'], expectedText: string, code: string): DnsRecordCheck => ({
    name,
    type,
    found: [],
    expected: expectedText,
    ok: false,
    fix: `${name} could not be resolved (${code}); checking again`,
  });

  // The apex: A to the load balancer, or an ALIAS / flattened CNAME to the site (seen as the site's addresses).
  const apex = { ...observed.apex, name: normalizeName(observed.apex.name || domain) };
  const apexCname = apex.cname.map(normalizeName);
  if (apex.error) {
    records.push(unresolved(apex.name, 'A', apexExpected, apex.error));
  } else if (apexCname.length > 0) {
    const ok = apexCname.every((target) => target === siteHost);
    records.push({
      name: apex.name,
      type: 'CNAME',
      found: apexCname,
      expected: apexExpected,
      ok,
      fix: ok ? null : `${apex.name} is a CNAME to ${list(apexCname)}; point it at ${siteHost} (or replace it with A ${lb})`,
    });
  } else {
    const right = apex.a.filter(isNetlifyA);
    const stale = apex.a.filter((address) => !isNetlifyA(address));
    let fix: string | null = null;
    if (apex.a.length === 0) fix = `${apex.name} has no A record; add A ${lb} (or an ALIAS to ${siteHost})`;
    else if (stale.length > 0 && right.length > 0) fix = `${apex.name} has A ${list(stale)} besides ${list(right)}; remove ${list(stale)}`;
    else if (stale.length > 0) fix = `${apex.name} has A ${list(stale)}; replace it with A ${lb} (or an ALIAS to ${siteHost})`;
    records.push({ name: apex.name, type: 'A', found: apex.a, expected: apexExpected, ok: fix === null, fix });
  }
  // An AAAA beside a right A sends IPv6 visitors somewhere else; an ALIAS may bring the site's own AAAA.
  if (!apex.error && apexCname.length === 0) {
    const staleV6 = apex.aaaa.filter((address) => !siteAddresses.has(address));
    if (apex.aaaa.length > 0) {
      records.push({
        name: apex.name,
        type: 'AAAA',
        found: apex.aaaa,
        expected: `no AAAA, or ALIAS ${siteHost}`,
        ok: staleV6.length === 0,
        fix: staleV6.length === 0 ? null : `${apex.name} has AAAA ${list(staleV6)}, which is not Netlify; remove ${staleV6.length === 1 ? 'it' : 'them'}`,
      });
    }
  }

  // www: a CNAME to the site; also fine when it reaches Netlify another way (a CNAME to the apex, the apex's A).
  const www = { ...observed.www, name: normalizeName(observed.www.name || `www.${domain}`) };
  const wwwCname = www.cname.map(normalizeName);
  if (www.error) {
    records.push(unresolved(www.name, 'CNAME', wwwExpected, www.error));
  } else if (wwwCname.length > 0) {
    const reachesNetlify = www.a.length > 0 && www.a.every(isNetlifyA);
    const ok = wwwCname.every((target) => target === siteHost) || reachesNetlify;
    records.push({
      name: www.name,
      type: 'CNAME',
      found: wwwCname,
      expected: wwwExpected,
      ok,
      fix: ok ? null : `${www.name} is a CNAME to ${list(wwwCname)}; point it at ${siteHost}`,
    });
  } else if (www.a.length > 0) {
    const right = www.a.filter(isNetlifyA);
    const stale = www.a.filter((address) => !isNetlifyA(address));
    let fix: string | null = null;
    if (stale.length > 0 && right.length > 0) fix = `${www.name} has A ${list(stale)} besides ${list(right)}; remove ${list(stale)}`;
    else if (stale.length > 0) fix = `${www.name} has A ${list(stale)}; replace it with a CNAME to ${siteHost}`;
    records.push({ name: www.name, type: 'A', found: www.a, expected: wwwExpected, ok: fix === null, fix });
  } else {
    records.push({
      name: www.name,
      type: 'CNAME',
      found: [],
      expected: wwwExpected,
      ok: false,
      fix: `${www.name} has no record; add a CNAME to ${siteHost}`,
    });
  }

  const fixes = records.flatMap((record) => (record.fix ? [record.fix] : []));
  return {
    ok: records.every((record) => record.ok),
    records,
    summary: fixes.length === 0 ? 'DNS points at Netlify' : fixes.join('. '),
    transient: Boolean(apex.error || www.error),
  };
}

/** Lower case without the trailing dot, as names are compared. */
export function normalizeName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

function list(values: string[]): string {
  if (values.length <= 1) return values.join('');
  return `${values.slice(0, -1).join(', ')} and ${values[values.length - 1]}`;
}
