import dns2, { Packet, type DnsServer, type Resource } from 'dns2';

export interface ZoneEntry {
  A?: string[];
  AAAA?: string[];
  CNAME?: string;
  /** Each record is its list of character-strings. */
  TXT?: string[][];
  /** `servfail` answers SERVFAIL; `silent` never answers (a timeout). */
  fail?: 'servfail' | 'silent';
}

/** Names (lower case, no trailing dot) to their records; a `*.` name answers for every name one label below it. */
export type Zone = Record<string, ZoneEntry>;

export interface DnsZone {
  /** `127.0.0.1:<port>`, as `dns.Resolver#setServers` takes it. */
  resolver: string;
  close(): Promise<void>;
}

/**
 * A tiny authoritative DNS server over UDP on 127.0.0.1, answering from `zone`: A, AAAA, CNAME and TXT with the
 * `aa` flag, a CNAME followed inside the zone, NXDOMAIN for names it does not hold, and the failures entries ask for.
 */
export async function startDnsZone(zone: Zone): Promise<DnsZone> {
  const find = (name: string): ZoneEntry | undefined => {
    const normalised = name.toLowerCase().replace(/\.$/, '');
    return zone[normalised] ?? zone[`*.${normalised.split('.').slice(1).join('.')}`];
  };
  const server: DnsServer = dns2.createServer({
    udp: true,
    handle: (request, send) => {
      const response = Packet.createResponseFromRequest(request);
      response.header.aa = 1;
      const question = request.questions[0];
      let entry = question && find(question.name);
      if (entry?.fail === 'silent') return;
      if (entry?.fail === 'servfail') {
        response.header.rcode = Packet.RCODE.SERVFAIL;
        return void send(response);
      }
      if (!question || !entry) {
        response.header.rcode = Packet.RCODE.NXDOMAIN;
        return void send(response);
      }
      let owner = question.name;
      const record = (fields: Partial<Resource>) => ({ name: owner, class: Packet.CLASS.IN, ttl: 1, ...fields }) as Resource;
      // Follow CNAMEs inside the zone, as an authoritative server does for its own names.
      for (let hops = 0; entry && hops < 8; hops += 1) {
        if (entry.CNAME) {
          response.answers.push(record({ type: Packet.TYPE.CNAME, domain: entry.CNAME }));
          if (question.type === Packet.TYPE.CNAME) break;
          owner = entry.CNAME;
          entry = find(owner);
          continue;
        }
        if (question.type === Packet.TYPE.A) for (const address of entry.A ?? []) response.answers.push(record({ type: Packet.TYPE.A, address }));
        if (question.type === Packet.TYPE.AAAA) for (const address of entry.AAAA ?? []) response.answers.push(record({ type: Packet.TYPE.AAAA, address }));
        if (question.type === Packet.TYPE.TXT) for (const data of entry.TXT ?? []) response.answers.push(record({ type: Packet.TYPE.TXT, data }));
        break;
      }
      void send(response);
    },
  });
  const addresses = await server.listen({ udp: { port: 0, address: '127.0.0.1' } });
  return { resolver: `127.0.0.1:${addresses.udp?.port}`, close: () => server.close() };
}
