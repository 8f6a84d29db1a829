import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareNetlifyRecords, diagnoseNetlifyDns, type ObservedName } from '../platforms/netlify/dns-diagnosis.js';
import { startDnsZone, type DnsZone, type Zone } from './dns-zone.js';

const LB = '75.2.60.5';
/** What `<site>.netlify.app` resolves to in these tests (an apex ALIAS flattens to it). */
const SITE_IP = '198.51.100.7';

const zone: Zone = {
  // Right: apex A to the load balancer, www CNAME to the site.
  'right.example': { A: [LB] },
  'www.right.example': { CNAME: 'right-example.netlify.app' },
  'right-example.netlify.app': { A: [SITE_IP] },
  // Right: apex ALIAS (seen as the site's own address), www CNAME to the apex.
  'alias.example': { A: [SITE_IP] },
  'www.alias.example': { CNAME: 'alias.example' },
  'alias-example.netlify.app': { A: [SITE_IP] },
  // www still points at the old host.
  'wrongcname.example': { A: [LB] },
  'www.wrongcname.example': { CNAME: 'old-host.example' },
  'old-host.example': { A: ['203.0.113.9'] },
  // The old host's A record left beside Netlify's.
  'stale.example': { A: [LB, '192.0.2.10'] },
  'www.stale.example': { CNAME: 'stale-example.netlify.app' },
  // Nothing set up yet: the apex has only a TXT record, www does not exist.
  'missing.example': { TXT: [['v=spf1 -all']] },
  // An AAAA record beside the right A.
  'v6.example': { A: [LB], AAAA: ['2001:db8::1'] },
  'www.v6.example': { CNAME: 'v6-example.netlify.app' },
  // DNS trouble, not wrong records.
  'slow.example': { fail: 'silent' },
  'www.slow.example': { CNAME: 'slow-example.netlify.app' },
  'flaky.example': { A: [LB] },
  'www.flaky.example': { fail: 'servfail' },
};

let dns: DnsZone;

beforeAll(async () => {
  dns = await startDnsZone(zone);
});

afterAll(async () => {
  await dns?.close();
});

function diagnose(domain: string, timeoutMs = 2_000) {
  return diagnoseNetlifyDns({ domain, siteName: domain.replaceAll('.', '-'), loadBalancerIp: LB, resolvers: [dns.resolver], timeoutMs });
}

describe('diagnosing a client domain against a real DNS server', () => {
  it('passes an apex A to the load balancer with www CNAMEd to the site', async () => {
    const result = await diagnose('right.example');
    expect(result).toMatchObject({ ok: true, transient: false, summary: 'DNS points at Netlify' });
    expect(result.records).toEqual([
      { name: 'right.example', type: 'A', found: [LB], expected: `A ${LB} or ALIAS right-example.netlify.app`, ok: true, fix: null },
      { name: 'www.right.example', type: 'CNAME', found: ['right-example.netlify.app'], expected: 'CNAME right-example.netlify.app', ok: true, fix: null },
    ]);
  });

  it('passes an apex ALIAS to the site, and www CNAMEd to that apex', async () => {
    const result = await diagnose('alias.example');
    expect(result.ok).toBe(true);
    expect(result.records.map((record) => [record.name, record.type, record.found])).toEqual([
      ['alias.example', 'A', [SITE_IP]],
      ['www.alias.example', 'CNAME', ['alias.example']],
    ]);
  });

  it('names a www CNAME to the old host and says where to point it', async () => {
    const result = await diagnose('wrongcname.example');
    expect(result.ok).toBe(false);
    expect(result.transient).toBe(false);
    expect(result.records[1]).toMatchObject({ name: 'www.wrongcname.example', type: 'CNAME', found: ['old-host.example'], ok: false });
    expect(result.records[1]?.fix).toBe('www.wrongcname.example is a CNAME to old-host.example; point it at wrongcname-example.netlify.app');
    expect(result.summary).toBe('www.wrongcname.example is a CNAME to old-host.example; point it at wrongcname-example.netlify.app');
  });

  it('names a stale A record left beside the load balancer', async () => {
    const result = await diagnose('stale.example');
    expect(result.ok).toBe(false);
    expect(result.records[0]).toMatchObject({ name: 'stale.example', type: 'A', ok: false });
    expect([...(result.records[0]?.found ?? [])].sort()).toEqual(['192.0.2.10', LB]);
    expect(result.records[0]?.fix).toBe(`stale.example has A 192.0.2.10 besides ${LB}; remove 192.0.2.10`);
    expect(result.records[1]?.ok).toBe(true);
  });

  it('says which records to add when none are there', async () => {
    const result = await diagnose('missing.example');
    expect(result.ok).toBe(false);
    expect(result.transient).toBe(false);
    expect(result.records.map((record) => record.fix)).toEqual([
      `missing.example has no A record; add A ${LB} (or an ALIAS to missing-example.netlify.app)`,
      'www.missing.example has no record; add a CNAME to missing-example.netlify.app',
    ]);
    expect(result.summary).toBe(
      `missing.example has no A record; add A ${LB} (or an ALIAS to missing-example.netlify.app). www.missing.example has no record; add a CNAME to missing-example.netlify.app`,
    );
  });

  it('names an AAAA record that sends IPv6 visitors elsewhere', async () => {
    const result = await diagnose('v6.example');
    expect(result.ok).toBe(false);
    expect(result.records.find((record) => record.type === 'AAAA')).toMatchObject({
      name: 'v6.example',
      found: ['2001:db8::1'],
      ok: false,
      fix: 'v6.example has AAAA 2001:db8::1, which is not Netlify; remove it',
    });
  });

  it('reports a resolver timeout as transient, not as a wrong record', async () => {
    const result = await diagnose('slow.example', 400);
    expect(result).toMatchObject({ ok: false, transient: true });
    expect(result.records[0]).toMatchObject({ name: 'slow.example', ok: false, fix: 'slow.example could not be resolved (ETIMEOUT); checking again' });
    expect(result.records[1]).toMatchObject({ name: 'www.slow.example', ok: true });
  });

  it('reports SERVFAIL as transient', async () => {
    const result = await diagnose('flaky.example');
    expect(result).toMatchObject({ ok: false, transient: true });
    expect(result.records[0]?.ok).toBe(true);
    expect(result.records[1]).toMatchObject({ name: 'www.flaky.example', ok: false, fix: 'www.flaky.example could not be resolved (ESERVFAIL); checking again' });
  });

  it('accepts upper-case input and a trailing dot', async () => {
    const result = await diagnoseNetlifyDns({ domain: 'Right.Example.', siteName: 'right-example', loadBalancerIp: LB, resolvers: [dns.resolver] });
    expect(result.ok).toBe(true);
  });
});

describe('comparing observed records with what Netlify needs', () => {
  const expected = { domain: 'acme-plumbing.com', siteName: 'acme-plumbing-com', loadBalancerIp: LB };
  const name = (host: string, fields: Partial<ObservedName> = {}): ObservedName => ({ name: host, cname: [], a: [], aaaa: [], ...fields });

  it('says exactly what to change for each wrong record', () => {
    const result = compareNetlifyRecords(
      { apex: name('acme-plumbing.com', { a: ['192.0.2.10'] }), www: name('www.acme-plumbing.com', { cname: ['old-host.example.'], a: ['203.0.113.9'] }) },
      expected,
    );
    expect(result.ok).toBe(false);
    expect(result.records.map((record) => record.fix)).toEqual([
      `acme-plumbing.com has A 192.0.2.10; replace it with A ${LB} (or an ALIAS to acme-plumbing-com.netlify.app)`,
      'www.acme-plumbing.com is a CNAME to old-host.example; point it at acme-plumbing-com.netlify.app',
    ]);
  });

  it('lists several stale addresses together', () => {
    const result = compareNetlifyRecords(
      { apex: name('acme-plumbing.com', { a: [LB, '192.0.2.10', '192.0.2.11'] }), www: name('www.acme-plumbing.com', { cname: ['acme-plumbing-com.netlify.app'] }) },
      expected,
    );
    expect(result.records[0]?.fix).toBe(`acme-plumbing.com has A 192.0.2.10 and 192.0.2.11 besides ${LB}; remove 192.0.2.10 and 192.0.2.11`);
  });

  it("treats an apex CNAME to the site as right, and www with the apex's right A as right", () => {
    const result = compareNetlifyRecords(
      { apex: name('acme-plumbing.com', { cname: ['acme-plumbing-com.netlify.app'], a: [SITE_IP] }), www: name('www.acme-plumbing.com', { a: [LB] }) },
      expected,
    );
    expect(result.ok).toBe(true);
    expect(result.records.map((record) => record.type)).toEqual(['CNAME', 'A']);
  });

  it('accepts the addresses an ALIAS flattens to only when they are the site', () => {
    const apex = name('acme-plumbing.com', { a: [SITE_IP] });
    const www = name('www.acme-plumbing.com', { cname: ['acme-plumbing-com.netlify.app'] });
    expect(compareNetlifyRecords({ apex, www, siteAddresses: [SITE_IP] }, expected).ok).toBe(true);
    expect(compareNetlifyRecords({ apex, www }, expected).records[0]?.fix).toBe(
      `acme-plumbing.com has A ${SITE_IP}; replace it with A ${LB} (or an ALIAS to acme-plumbing-com.netlify.app)`,
    );
  });

  it('tells www to drop a stale A and use the CNAME', () => {
    const result = compareNetlifyRecords({ apex: name('acme-plumbing.com', { a: [LB] }), www: name('www.acme-plumbing.com', { a: ['192.0.2.10'] }) }, expected);
    expect(result.records[1]).toMatchObject({ type: 'A', ok: false, fix: 'www.acme-plumbing.com has A 192.0.2.10; replace it with a CNAME to acme-plumbing-com.netlify.app' });
  });

  it('keeps a lookup failure apart from a wrong record', () => {
    const result = compareNetlifyRecords({ apex: name('acme-plumbing.com', { error: 'ETIMEOUT' }), www: name('www.acme-plumbing.com', { cname: ['acme-plumbing-com.netlify.app'] }) }, expected);
    expect(result).toMatchObject({ ok: false, transient: true, summary: 'acme-plumbing.com could not be resolved (ETIMEOUT); checking again' });
  });
});
