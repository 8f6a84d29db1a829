import type { Socket } from 'node:net';
import { isIPv6 } from 'node:net';
import { Packet, type Resource, TCPServer, UDPServer } from 'dns2';
import type { Logger } from 'pino';
import { type DnsRecord, type DnsRecordSource, normaliseDnsName } from './dns-records.js';

/** Answers may be cached this long (seconds); short, because the simulated records change during a test. */
const TTL_SECONDS = 30;
/** How many CNAME hops an answer follows within our own data. */
const MAX_CNAME_HOPS = 8;

const TYPE_CODES: Record<DnsRecord['type'], number> = {
  A: Packet.TYPE.A,
  AAAA: Packet.TYPE.AAAA,
  CNAME: Packet.TYPE.CNAME,
  TXT: Packet.TYPE.TXT,
};

export interface DnsServerOptions {
  /** 0 (the default) = any free port, the same one for UDP and TCP. */
  port?: number;
  host?: string;
  /** The zone data: a record source (the simulator's store) or a fixed map of name → records. */
  records: DnsRecordSource | Readonly<Record<string, readonly DnsRecord[]>>;
  logger?: Logger;
}

export interface RunningDnsServer {
  host: string;
  port: number;
  /** `host:port`, as `dns.Resolver#setServers` takes it. */
  address: string;
  close(): Promise<void>;
}

/**
 * An authoritative DNS server over UDP and TCP for the names in `records`: A, AAAA, CNAME and TXT, with the
 * `aa` flag; NXDOMAIN for names it does not hold; a CNAME followed within its own data, as a real server does.
 */
export async function startDnsServer(options: DnsServerOptions): Promise<RunningDnsServer> {
  const { port = 0, host = '127.0.0.1', logger } = options;
  const source = asSource(options.records);

  const handle = (request: Packet, send: (response: Packet) => Promise<Buffer>): void => {
    let response: Packet;
    try {
      response = answer(request, source);
    } catch (error) {
      logger?.error({ err: error }, 'DNS server failed to answer a query');
      response = Packet.createResponseFromRequest(request);
      response.header.rcode = Packet.RCODE.SERVFAIL;
    }
    send(response).catch((error: unknown) => logger?.warn({ err: error }, 'DNS answer could not be sent'));
  };

  // With port 0 the UDP socket picks the port and TCP takes the same one; if TCP finds it taken, try another.
  for (let attempt = 1; ; attempt += 1) {
    const udp = new UDPServer({ type: isIPv6(host) ? 'udp6' : 'udp4' });
    udp.on('request', handle);
    udp.on('requestError', (error: Error) => logger?.debug({ err: error }, 'malformed DNS query over UDP'));
    await bind(udp, port, host);
    const udpPort = udp.address().port;

    const tcp = new TCPServer();
    tcp.on('request', handle);
    tcp.on('requestError', (error: Error) => logger?.debug({ err: error }, 'malformed DNS query over TCP'));
    const connections = new Set<Socket>();
    tcp.on('connection', (socket: Socket) => {
      connections.add(socket);
      socket.once('close', () => connections.delete(socket));
    });
    try {
      await listen(tcp, udpPort, host);
    } catch (error) {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      if (port === 0 && (error as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 10) continue;
      throw error;
    }
    udp.on('error', (error: Error) => logger?.error({ err: error }, 'DNS server UDP socket error'));
    tcp.on('error', (error: Error) => logger?.error({ err: error }, 'DNS server TCP socket error'));

    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => {
      closing ??= Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => {
          tcp.close(() => resolve());
          // dns2 keeps idle TCP connections open for pipelined queries; do not wait for them.
          for (const socket of connections) socket.destroy();
        }),
      ]).then(() => undefined);
      return closing;
    };

    const printableHost = isIPv6(host) ? `[${host}]` : host;
    return { host, port: udpPort, address: `${printableHost}:${udpPort}`, close };
  }
}

function asSource(records: DnsServerOptions['records']): DnsRecordSource {
  if (typeof (records as DnsRecordSource).recordsFor === 'function') return records as DnsRecordSource;
  const byName = new Map(
    Object.entries(records as Record<string, readonly DnsRecord[]>).map(([name, list]) => [normaliseDnsName(name), list]),
  );
  return { recordsFor: (name) => byName.get(normaliseDnsName(name)) };
}

function bind(udp: UDPServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(port, host, () => {
      udp.off('error', reject);
      resolve();
    });
  });
}

function listen(tcp: TCPServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(port, host, () => {
      tcp.off('error', reject);
      resolve();
    });
  });
}

/** Builds the authoritative answer to a query from the record source. */
export function answer(request: Packet, source: DnsRecordSource): Packet {
  const response = Packet.createResponseFromRequest(request);
  const [question] = request.questions;
  if (request.header.opcode !== 0) {
    response.header.rcode = Packet.RCODE.NOTIMP;
    return response;
  }
  if (!question) {
    response.header.rcode = Packet.RCODE.FORMERR;
    return response;
  }
  response.header.aa = 1;

  const wantsAny = question.type === Packet.TYPE.ANY;
  let owner = question.name;
  let records = source.recordsFor(normaliseDnsName(owner));
  if (!records || records.length === 0) {
    response.header.rcode = Packet.RCODE.NXDOMAIN;
    return response;
  }

  const visited = new Set<string>();
  for (let hop = 0; hop <= MAX_CNAME_HOPS; hop += 1) {
    visited.add(normaliseDnsName(owner));
    const matching = wantsAny ? records : records.filter((record) => TYPE_CODES[record.type] === question.type);
    if (matching.length > 0) {
      response.answers.push(...matching.map((record) => resource(owner, record)));
      break;
    }
    // No data of the asked type: a CNAME answers instead, and its target's data follows when we hold it.
    const cname = records.find((record) => record.type === 'CNAME');
    if (!cname) break;
    response.answers.push(resource(owner, cname));
    const target = normaliseDnsName(cname.value);
    const next = source.recordsFor(target);
    if (visited.has(target) || !next || next.length === 0) break;
    owner = target;
    records = next;
  }
  return response;
}

function resource(owner: string, record: DnsRecord): Resource {
  const base = { name: owner, type: TYPE_CODES[record.type], class: Packet.CLASS.IN, ttl: TTL_SECONDS };
  switch (record.type) {
    case 'A':
    case 'AAAA':
      return { ...base, address: record.value } as Resource;
    case 'CNAME':
      return { ...base, domain: normaliseDnsName(record.value) } as Resource;
    case 'TXT':
      return { ...base, data: characterStrings(record.value) } as Resource;
  }
}

/** A TXT record's text goes out as character-strings of at most 255 bytes each (RFC 1035 §3.3.14). */
function characterStrings(text: string): string[] {
  const chunks: string[] = [];
  let chunk = '';
  for (const character of text) {
    if (Buffer.byteLength(chunk + character, 'utf8') > 255) {
      chunks.push(chunk);
      chunk = '';
    }
    chunk += character;
  }
  chunks.push(chunk);
  return chunks;
}
