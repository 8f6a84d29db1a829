import { isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';

export const DNS_RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'TXT'] as const;
export type DnsRecordType = (typeof DNS_RECORD_TYPES)[number];

/** One record's data: an address for A/AAAA, a host name for CNAME, the text for TXT. */
export interface DnsRecord {
  type: DnsRecordType;
  value: string;
}

/** What the DNS server asks: the records of one name; undefined or empty = the name does not exist. */
export interface DnsRecordSource {
  recordsFor(name: string): readonly DnsRecord[] | undefined;
}

export function normaliseDnsName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

const HOST_NAME = /^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** A record name may also be a wildcard, `*.sites.agency.example`, matching any name below it without records of its own. */
const RECORD_NAME = /^(?:\*\.)?(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export const DnsRecordSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('A'), value: z.string().refine((value) => isIPv4(value), { error: 'must be an IPv4 address' }) }),
  z.object({ type: z.literal('AAAA'), value: z.string().refine((value) => isIPv6(value), { error: 'must be an IPv6 address' }) }),
  z.object({
    type: z.literal('CNAME'),
    value: z
      .string()
      .transform(normaliseDnsName)
      .refine((value) => HOST_NAME.test(value), { error: 'must be a host name' }),
  }),
  z.object({ type: z.literal('TXT'), value: z.string().max(4000) }),
]);

/** Whether `name` can hold records: a host name, or a wildcard `*.` in front of one. */
export function isDnsRecordName(name: string): boolean {
  return RECORD_NAME.test(normaliseDnsName(name));
}

/** Where a name leads: the CNAME chain followed within our own data, and the addresses at its end. */
export interface Resolution {
  chain: string[];
  a: string[];
  aaaa: string[];
}

export interface DnsRecordView {
  name: string;
  source: 'override' | 'automatic';
  records: DnsRecord[];
}

/**
 * The simulated world's DNS data: records the simulator derives from the platforms' state (`automatic`), and
 * records a test set by hand for a name (`override`), which win over the automatic ones for that name.
 */
export class DnsRecordStore implements DnsRecordSource {
  private overrides = new Map<string, DnsRecord[]>();

  constructor(private readonly automatic: () => ReadonlyMap<string, DnsRecord[]> = () => new Map()) {}

  /** The name's own records; else those of the nearest wildcard above it (`*.parent`, then `*.grandparent`, ...). */
  recordsFor(name: string): readonly DnsRecord[] | undefined {
    const key = normaliseDnsName(name);
    const automatic = this.automatic();
    const lookup = (candidate: string) => this.overrides.get(candidate) ?? automatic.get(candidate);
    const own = lookup(key);
    if (own !== undefined) return own;
    const labels = key.split('.');
    for (let index = 1; index < labels.length; index += 1) {
      const wildcard = lookup(`*.${labels.slice(index).join('.')}`);
      if (wildcard !== undefined) return wildcard;
    }
    return undefined;
  }

  setOverride(name: string, records: DnsRecord[]): void {
    this.overrides.set(normaliseDnsName(name), records.map((record) => ({ ...record })));
  }

  deleteOverride(name: string): boolean {
    return this.overrides.delete(normaliseDnsName(name));
  }

  clearOverrides(): void {
    this.overrides.clear();
  }

  /** Every name that answers something, or is overridden to answer nothing; sorted by name. */
  all(): DnsRecordView[] {
    const views = new Map<string, DnsRecordView>();
    for (const [name, records] of this.automatic()) views.set(name, { name, source: 'automatic', records: [...records] });
    for (const [name, records] of this.overrides) views.set(name, { name, source: 'override', records: [...records] });
    return [...views.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Follows the name like a resolver would for an address query: the name's own A/AAAA records when it has
   * any, otherwise its CNAME, hop by hop (at most 8) within this data.
   */
  resolve(name: string): Resolution {
    const chain = [normaliseDnsName(name)];
    for (let hop = 0; hop < 8; hop += 1) {
      const current = chain[chain.length - 1] ?? '';
      const records = this.recordsFor(current) ?? [];
      const a = records.filter((record) => record.type === 'A').map((record) => record.value);
      const aaaa = records.filter((record) => record.type === 'AAAA').map((record) => record.value);
      const cname = records.find((record) => record.type === 'CNAME');
      if (a.length > 0 || aaaa.length > 0 || !cname || chain.includes(cname.value)) return { chain, a, aaaa };
      chain.push(cname.value);
    }
    return { chain, a: [], aaaa: [] };
  }
}
