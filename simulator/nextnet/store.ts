import { randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { StateFile } from '../platform/state-file.js';

/** The optional settings a reseller can give at registration and change later with PATCH. */
export interface DomainSettings {
  subscriptionTier: string;
  industry: string | null;
  businessScope: string | null;
  city: string | null;
  state: string | null;
  cmsPlatform: string | null;
}

const DomainSettingsState = z.object({
  subscriptionTier: z.string(),
  industry: z.string().nullable(),
  businessScope: z.string().nullable(),
  city: z.string().nullable(),
  state: z.string().nullable(),
  cmsPlatform: z.string().nullable(),
});

const ClientUserRecord = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  created: z.string(),
});
export type ClientUserRecord = z.infer<typeof ClientUserRecord>;

const TopicRecord = z.object({ id: z.string(), name: z.string() });
export type TopicRecord = z.infer<typeof TopicRecord>;

const DomainRecord = z.object({
  id: z.string(),
  host: z.string(),
  clientUserId: z.string(),
  created: z.string(),
  settings: DomainSettingsState,
  /** The key NextNet shows once in the register response; kept here so tests can see what was issued. */
  wordpressApiKey: z.string().nullable(),
  /** Epoch ms at which DNS verification completes by itself; null = never by itself. */
  autoVerifyAtMs: z.number().nullable(),
  /** A status set through a test knob; wins over the automatic one until changed again. */
  forcedStatus: z.string().nullable(),
  topics: z.array(TopicRecord),
  removedAt: z.string().nullable(),
});
export type DomainRecord = z.infer<typeof DomainRecord>;

const PersistedState = z.object({
  version: z.literal(1),
  domains: z.array(DomainRecord),
  clientUsers: z.array(ClientUserRecord),
  foreignHosts: z.array(z.string()),
});
type PersistedState = z.infer<typeof PersistedState>;

/** What NextNet does not document; our guess of how many pages each tier may index. */
const MAX_PAGES_BY_TIER: Record<string, number> = { basic: 100, pro: 500, enterprise: 2000 };
export const DEFAULT_SUBSCRIPTION_TIER = 'basic';

export function maxPagesOf(tier: string): number {
  return MAX_PAGES_BY_TIER[tier.toLowerCase()] ?? MAX_PAGES_BY_TIER[DEFAULT_SUBSCRIPTION_TIER] ?? 100;
}

/** A business rule said no; the HTTP layer decides how to show it. */
export class DomainAlreadyRegistered extends Error {
  constructor(readonly host: string) {
    super(`A domain with host ${host} is already registered.`);
  }
}

export interface RegisterDomainInput {
  clientUserEmail: string;
  host: string;
  settings: DomainSettings;
  issueWordpressKey: boolean;
}

export interface StoreOptions {
  dnsVerifyAfterMs: number | null;
  stateFile?: string;
  now: () => number;
}

/**
 * The simulated reseller organisation: its client users and domains, plus hosts owned by other resellers.
 * Every mutation is saved to the state file (when configured) before the caller answers the HTTP request,
 * so a dropped response or a restart never loses a registration.
 */
export class ResellerStore {
  private state: PersistedState;
  private dnsVerifyAfterMs: number | null;
  private readonly stateFile: StateFile<PersistedState> | undefined;

  constructor(private readonly options: StoreOptions) {
    this.dnsVerifyAfterMs = options.dnsVerifyAfterMs;
    this.stateFile = options.stateFile ? new StateFile(options.stateFile, PersistedState, emptyState) : undefined;
    this.state = this.stateFile?.load() ?? emptyState();
    // The delay given at start applies to domains still pending from the previous run, as the config knob does.
    this.rescheduleAutoVerification();
  }

  get verifyAfterMs(): number | null {
    return this.dnsVerifyAfterMs;
  }

  verificationStatusOf(domain: DomainRecord): string {
    if (domain.forcedStatus !== null) return domain.forcedStatus;
    return this.isAutoVerified(domain) ? 'verified' : 'pending';
  }

  /** The simulated client has added its DNS records: the delay has passed, or a knob verified the domain. */
  clientDnsRecordsInPlace(domain: DomainRecord): boolean {
    return domain.forcedStatus === 'verified' || this.isAutoVerified(domain);
  }

  clientUserOf(domain: DomainRecord): ClientUserRecord {
    const user = this.state.clientUsers.find((candidate) => candidate.id === domain.clientUserId);
    if (!user) throw new Error(`state is inconsistent: domain ${domain.id} has no client user`);
    return user;
  }

  registerDomain(input: RegisterDomainInput): { domain: DomainRecord; clientUser: ClientUserRecord } {
    const host = input.host.toLowerCase();
    if (this.isHostTaken(host)) throw new DomainAlreadyRegistered(host);

    const nowMs = this.options.now();
    const created = new Date(nowMs).toISOString();
    const clientUser = this.findOrCreateClientUser(input.clientUserEmail, created);
    const domain: DomainRecord = {
      id: randomUUID(),
      host,
      clientUserId: clientUser.id,
      created,
      settings: input.settings,
      wordpressApiKey: input.issueWordpressKey ? `nn_wp_${randomBytes(16).toString('hex')}` : null,
      autoVerifyAtMs: this.dnsVerifyAfterMs === null ? null : nowMs + this.dnsVerifyAfterMs,
      forcedStatus: null,
      topics: [],
      removedAt: null,
    };
    this.state.domains.push(domain);
    this.save();
    return { domain, clientUser };
  }

  /** A domain this reseller owns and has not removed; removed and unknown ids look the same to the API. */
  findActiveDomain(id: string): DomainRecord | undefined {
    return this.state.domains.find((domain) => domain.id === id && domain.removedAt === null);
  }

  findActiveDomainByHost(host: string): DomainRecord | undefined {
    const wanted = host.toLowerCase();
    return this.state.domains.find((domain) => domain.host === wanted && domain.removedAt === null);
  }

  /** Any domain with this id, removed or not; for naming the host in the call log. */
  findAnyDomain(id: string): DomainRecord | undefined {
    return this.state.domains.find((domain) => domain.id === id);
  }

  activeDomains(): DomainRecord[] {
    return this.state.domains.filter((domain) => domain.removedAt === null);
  }

  allDomains(): DomainRecord[] {
    return [...this.state.domains];
  }

  updateDomainSettings(domain: DomainRecord, changes: Partial<DomainSettings>): DomainRecord {
    domain.settings = { ...domain.settings, ...changes };
    this.save();
    return domain;
  }

  removeDomain(domain: DomainRecord): void {
    domain.removedAt = new Date(this.options.now()).toISOString();
    this.save();
  }

  /** Adds the names the domain does not have yet (case-insensitive) and returns all its topics. */
  addTopics(domain: DomainRecord, names: string[]): TopicRecord[] {
    const known = new Set(domain.topics.map((topic) => topic.name.toLowerCase()));
    for (const name of names) {
      if (known.has(name.toLowerCase())) continue;
      known.add(name.toLowerCase());
      domain.topics.push({ id: randomUUID(), name });
    }
    this.save();
    return domain.topics;
  }

  forceVerificationStatus(domain: DomainRecord, status: string): void {
    domain.forcedStatus = status;
    this.save();
  }

  /** Returns false when this reseller already owns the host, which would make the foreign claim meaningless. */
  addForeignHost(host: string): boolean {
    const normalised = host.toLowerCase();
    if (this.findActiveDomainByHost(normalised)) return false;
    if (!this.state.foreignHosts.includes(normalised)) this.state.foreignHosts.push(normalised);
    this.save();
    return true;
  }

  setDnsVerifyAfterMs(delayMs: number | null): void {
    this.dnsVerifyAfterMs = delayMs;
    this.rescheduleAutoVerification();
    this.save();
  }

  reset(): void {
    this.state = emptyState();
    this.save();
  }

  private isHostTaken(host: string): boolean {
    return this.state.foreignHosts.includes(host) || this.findActiveDomainByHost(host) !== undefined;
  }

  private isAutoVerified(domain: DomainRecord): boolean {
    return domain.autoVerifyAtMs !== null && this.options.now() >= domain.autoVerifyAtMs;
  }

  /** Domains already verified stay verified; pending ones follow the current delay from their registration time. */
  private rescheduleAutoVerification(): void {
    for (const domain of this.state.domains) {
      if (this.isAutoVerified(domain)) continue;
      domain.autoVerifyAtMs =
        this.dnsVerifyAfterMs === null ? null : Date.parse(domain.created) + this.dnsVerifyAfterMs;
    }
  }

  private findOrCreateClientUser(email: string, created: string): ClientUserRecord {
    const existing = this.state.clientUsers.find((user) => user.email.toLowerCase() === email.toLowerCase());
    if (existing) return existing;
    const clientUser: ClientUserRecord = { id: randomUUID(), email, name: email.split('@')[0] ?? email, created };
    this.state.clientUsers.push(clientUser);
    return clientUser;
  }

  private save(): void {
    this.stateFile?.save(this.state);
  }
}

function emptyState(): PersistedState {
  return { version: 1, domains: [], clientUsers: [], foreignHosts: [] };
}
