import { Resolver } from 'node:dns/promises';
import { Packet, TCPClient, UDPClient } from 'dns2';
import { afterEach, describe, expect, it } from 'vitest';
import { type DnsRecord, DnsRecordStore } from '../simulator/dns-records.js';
import { type RunningDnsServer, startDnsServer } from '../simulator/dns-server.js';

const LOAD_BALANCER = '75.2.60.5';
const SPF = 'v=spf1 include:spf.mandrillapp.com ~all';
// A DKIM key is longer than one 255-byte character-string, so it travels as several.
const DKIM = `v=DKIM1; k=rsa; p=${'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'.repeat(8)}`;

const running: RunningDnsServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close()));
});

async function serve(records: Record<string, DnsRecord[]>) {
  const server = await startDnsServer({ port: 0, records });
  running.push(server);
  const resolver = new Resolver({ timeout: 2_000, tries: 1 });
  resolver.setServers([server.address]);
  return { server, resolver };
}

/** c-ares reports an answer without the asked type either as ENODATA or as an empty list, by version. */
async function expectNoAddresses(lookup: Promise<string[]>): Promise<void> {
  await lookup.then(
    (addresses) => expect(addresses).toEqual([]),
    (error: NodeJS.ErrnoException) => expect(error.code).toBe('ENODATA'),
  );
}

const zone = {
  'client.example': [
    { type: 'A' as const, value: LOAD_BALANCER },
    { type: 'AAAA' as const, value: '2001:db8::5' },
    { type: 'TXT' as const, value: SPF },
  ],
  'www.client.example': [{ type: 'CNAME' as const, value: 'brave-otter-1a2b3c.netlify.app' }],
  'brave-otter-1a2b3c.netlify.app': [{ type: 'A' as const, value: LOAD_BALANCER }],
  'mandrill._domainkey.client.example': [{ type: 'TXT' as const, value: DKIM }],
  'shop.client.example': [{ type: 'CNAME' as const, value: 'elsewhere.example' }],
};

describe('the simulated DNS server', () => {
  it('listens on a free port of 127.0.0.1 and reports it', async () => {
    const { server } = await serve(zone);
    expect(server.host).toBe('127.0.0.1');
    expect(server.port).toBeGreaterThan(0);
    expect(server.address).toBe(`127.0.0.1:${server.port}`);
  });

  it('answers A, AAAA and TXT records to a real resolver', async () => {
    const { resolver } = await serve(zone);
    expect(await resolver.resolve4('client.example')).toEqual([LOAD_BALANCER]);
    expect(await resolver.resolve6('client.example')).toEqual(['2001:db8::5']);
    expect(await resolver.resolveTxt('client.example')).toEqual([[SPF]]);
    expect((await resolver.resolveTxt('mandrill._domainkey.client.example')).map((chunks) => chunks.join(''))).toEqual([DKIM]);
  });

  it('answers a CNAME, and follows it within its own data for an address query', async () => {
    const { resolver } = await serve(zone);
    expect(await resolver.resolveCname('www.client.example')).toEqual(['brave-otter-1a2b3c.netlify.app']);
    expect(await resolver.resolve4('www.client.example')).toEqual([LOAD_BALANCER]);
    expect(await resolver.resolve4('WWW.Client.Example.')).toEqual([LOAD_BALANCER]);
  });

  it('puts the CNAME and its target in the answer section, authoritatively', async () => {
    const { server } = await serve(zone);
    const query = UDPClient({ dns: '127.0.0.1', port: server.port });

    const answer = await query('www.client.example', 'A');

    expect(answer.header.aa).toBe(1);
    expect(answer.header.rcode).toBe(Packet.RCODE.NOERROR);
    expect(answer.answers.map(({ name, type, domain, address }) => ({ name, type, domain, address }))).toEqual([
      { name: 'www.client.example', type: Packet.TYPE.CNAME, domain: 'brave-otter-1a2b3c.netlify.app', address: undefined },
      { name: 'brave-otter-1a2b3c.netlify.app', type: Packet.TYPE.A, domain: undefined, address: LOAD_BALANCER },
    ]);
  });

  it('answers only the CNAME when its target is not in its data', async () => {
    const { server, resolver } = await serve(zone);
    const answer = await UDPClient({ dns: '127.0.0.1', port: server.port })('shop.client.example', 'A');
    expect(answer.answers).toHaveLength(1);
    expect(answer.answers[0]).toMatchObject({ type: Packet.TYPE.CNAME, domain: 'elsewhere.example' });
    await expectNoAddresses(resolver.resolve4('shop.client.example'));
  });

  it('answers NXDOMAIN for a name it does not hold, and no data for a type the name lacks', async () => {
    const { server, resolver } = await serve(zone);

    await expect(resolver.resolve4('unknown.example')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    const nx = await UDPClient({ dns: '127.0.0.1', port: server.port })('unknown.example', 'A');
    expect(nx.header).toMatchObject({ rcode: Packet.RCODE.NXDOMAIN, aa: 1 });

    await expectNoAddresses(resolver.resolve6('brave-otter-1a2b3c.netlify.app'));
    const noData = await UDPClient({ dns: '127.0.0.1', port: server.port })('brave-otter-1a2b3c.netlify.app', 'AAAA');
    expect(noData.header.rcode).toBe(Packet.RCODE.NOERROR);
    expect(noData.answers).toEqual([]);
  });

  it('answers over TCP on the same port', async () => {
    const { server } = await serve(zone);
    const answer = await TCPClient({ dns: '127.0.0.1', port: server.port })('client.example', 'A');
    expect(answer.answers.map((record) => record.address)).toEqual([LOAD_BALANCER]);
  });

  it('answers from the record store as it is at the time of the query', async () => {
    const automatic = new Map([['client.example', [{ type: 'A' as const, value: LOAD_BALANCER }]]]);
    const store = new DnsRecordStore(() => automatic);
    const server = await startDnsServer({ records: store });
    running.push(server);
    const resolver = new Resolver({ timeout: 2_000, tries: 1 });
    resolver.setServers([server.address]);

    expect(await resolver.resolve4('client.example')).toEqual([LOAD_BALANCER]);
    store.setOverride('client.example', [{ type: 'A', value: '192.0.2.10' }]);
    expect(await resolver.resolve4('client.example')).toEqual(['192.0.2.10']);
    store.setOverride('client.example', []);
    await expect(resolver.resolve4('client.example')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    store.deleteOverride('client.example');
    expect(await resolver.resolve4('client.example')).toEqual([LOAD_BALANCER]);
  });

  it('answers a name below a wildcard from the wildcard, unless the name has records of its own', async () => {
    const store = new DnsRecordStore();
    store.setOverride('*.sites.agency.example', [{ type: 'CNAME', value: 'agency.r.netlify.com' }]);
    store.setOverride('own.sites.agency.example', [{ type: 'A', value: '192.0.2.7' }]);
    const server = await startDnsServer({ records: store });
    running.push(server);
    const resolver = new Resolver({ timeout: 2_000, tries: 1 });
    resolver.setServers([server.address]);

    expect(await resolver.resolveCname('preview-123.sites.agency.example')).toEqual(['agency.r.netlify.com']);
    expect(await resolver.resolveCname('a.b.sites.agency.example')).toEqual(['agency.r.netlify.com']);
    expect(await resolver.resolve4('own.sites.agency.example')).toEqual(['192.0.2.7']);
    await expect(resolver.resolve4('sites.agency.example')).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });

  it('refuses to start on a port that is taken', async () => {
    const { server } = await serve(zone);
    await expect(startDnsServer({ port: server.port, records: zone })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
