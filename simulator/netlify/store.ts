import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { StateFile } from '../platform/state-file.js';

const AccessTokenRecord = z.object({ id: z.string(), token: z.string(), createdAt: z.string() });

const UserRecord = z.object({
  id: z.string(),
  /** The reseller's own id for the user (`user.uid` in POST /access_tokens); users are keyed by it. */
  uid: z.string(),
  email: z.string(),
  accountSlug: z.string(),
  createdAt: z.string(),
  /** Every token minted for the user; all of them stay valid. */
  accessTokens: z.array(AccessTokenRecord),
});
export type UserRecord = z.infer<typeof UserRecord>;

const CertificateRecord = z.object({
  state: z.string(),
  domains: z.array(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
  expiresAt: z.string(),
  /** The payment method named when the certificate was requested, if any. */
  paymentMethodId: z.string().nullable(),
});
export type CertificateRecord = z.infer<typeof CertificateRecord>;

const SiteRecord = z.object({
  id: z.string(),
  name: z.string(),
  customDomain: z.string().nullable(),
  domainAliases: z.array(z.string()),
  forceSsl: z.boolean(),
  /** null = the site belongs to the reseller account itself (created with the reseller token). */
  ownerUserId: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Epoch ms since which the site has its current custom domain; null = none. */
  customDomainSinceMs: z.number().nullable(),
  /** Epoch ms at which the simulated client has put its DNS records in place; null = never by itself. */
  clientDnsAtMs: z.number().nullable(),
  certificate: CertificateRecord.nullable(),
  removedAt: z.string().nullable(),
});
export type SiteRecord = z.infer<typeof SiteRecord>;

const SubmissionRecord = z.object({
  id: z.string(),
  siteId: z.string(),
  number: z.number().int(),
  email: z.string().nullable(),
  name: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
});
export type SubmissionRecord = z.infer<typeof SubmissionRecord>;

const PersistedState = z.object({
  version: z.literal(1),
  reseller: z.object({ userId: z.string(), accountSlug: z.string() }),
  users: z.array(UserRecord),
  sites: z.array(SiteRecord),
  submissions: z.array(SubmissionRecord),
  foreignHosts: z.array(z.string()),
});
type PersistedState = z.infer<typeof PersistedState>;

/** Where every site lives before (and besides) its custom domain. */
export const NETLIFY_APP_DOMAIN = 'netlify.app';

/** Let's Encrypt certificates last 90 days. */
const CERTIFICATE_LIFETIME_MS = 90 * 24 * 3600_000;

const SITE_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const HOSTNAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** A validation error in Netlify's own shape: `{"errors": {"subdomain": ["must be unique"]}}`. */
export class SiteRejected extends Error {
  constructor(readonly errors: Record<string, string[]>) {
    super(`site rejected: ${JSON.stringify(errors)}`);
  }
}

export function normaliseHost(host: string): string {
  return host.trim().toLowerCase().replace(/\.$/, '');
}

/** Netlify's ids are 24 hexadecimal digits (users, tokens, submissions); sites have UUIDs. */
function objectId(): string {
  return randomBytes(12).toString('hex');
}

const ADJECTIVES = ['brave', 'calm', 'eager', 'gentle', 'jolly', 'lively', 'quiet', 'sunny', 'swift', 'witty'];
const NOUNS = ['badger', 'croissant', 'falcon', 'lagoon', 'meadow', 'otter', 'pasteur', 'quokka', 'tartlet', 'willow'];

function generatedSiteName(): string {
  const pick = (words: string[]): string => words[randomInt(words.length)] ?? words[0] ?? 'site';
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${randomBytes(3).toString('hex')}`;
}

function accountSlugFor(email: string, userId: string): string {
  const local = (email.split('@')[0] ?? 'user').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return `${local || 'user'}-${userId.slice(0, 6)}`;
}

export interface NetlifyStoreOptions {
  dnsVerifyAfterMs: number | null;
  stateFile?: string;
  now: () => number;
}

export interface SiteChanges {
  name?: string;
  customDomain?: string | null;
  domainAliases?: string[];
  forceSsl?: boolean;
}

export interface NewSubmission {
  email: string | null;
  name: string | null;
  data: Record<string, unknown>;
  createdAt?: string;
}

/**
 * The simulated Netlify reseller account: its client users and their tokens, every site (removed ones too),
 * TLS certificates, form submissions, and custom domains used by other accounts. Every mutation is saved to
 * the state file (when configured) before the HTTP answer goes out.
 */
export class NetlifyStore {
  private state: PersistedState;
  private dnsVerifyAfterMs: number | null;
  private readonly stateFile: StateFile<PersistedState> | undefined;

  constructor(private readonly options: NetlifyStoreOptions) {
    this.dnsVerifyAfterMs = options.dnsVerifyAfterMs;
    this.stateFile = options.stateFile ? new StateFile(options.stateFile, PersistedState, emptyState) : undefined;
    this.state = this.stateFile?.load() ?? emptyState();
    this.rescheduleClientDns();
  }

  get reseller(): { userId: string; accountSlug: string } {
    return this.state.reseller;
  }

  // --- users and tokens ---

  /** Creates the user (keyed by uid) only when none exists, updating the email otherwise; always mints a new token. */
  mintAccessToken(input: { email: string; uid: string }): { user: UserRecord; token: { id: string; token: string; createdAt: string } } {
    const createdAt = this.isoNow();
    let user = this.state.users.find((candidate) => candidate.uid === input.uid);
    if (!user) {
      const id = objectId();
      user = { id, uid: input.uid, email: input.email, accountSlug: accountSlugFor(input.email, id), createdAt, accessTokens: [] };
      this.state.users.push(user);
    } else {
      user.email = input.email;
    }
    const token = { id: objectId(), token: randomBytes(32).toString('base64url'), createdAt };
    user.accessTokens.push(token);
    this.save();
    return { user, token };
  }

  userByToken(token: string): UserRecord | undefined {
    return this.state.users.find((user) => user.accessTokens.some((candidate) => candidate.token === token));
  }

  findUser(id: string): UserRecord | undefined {
    return this.state.users.find((user) => user.id === id);
  }

  allUsers(): UserRecord[] {
    return [...this.state.users];
  }

  // --- sites ---

  createSite(input: { name?: string; customDomain?: string | null; ownerUserId: string | null }): SiteRecord {
    const nowMs = this.options.now();
    const created = new Date(nowMs).toISOString();
    const name = input.name === undefined ? this.freeGeneratedName() : this.validName(input.name, undefined);
    const customDomain = this.validCustomDomain(input.customDomain ?? null, undefined);
    const site: SiteRecord = {
      id: randomUUID(),
      name,
      customDomain,
      domainAliases: [],
      forceSsl: false,
      ownerUserId: input.ownerUserId,
      createdAt: created,
      updatedAt: created,
      customDomainSinceMs: null,
      clientDnsAtMs: null,
      certificate: null,
      removedAt: null,
    };
    this.startClientDnsClock(site, customDomain, nowMs);
    this.state.sites.push(site);
    this.save();
    return site;
  }

  /** Validates every change first, so a rejected PATCH changes nothing. */
  updateSite(site: SiteRecord, changes: SiteChanges): SiteRecord {
    const errors: Record<string, string[]> = {};
    const collect = <T>(run: () => T): T | undefined => {
      try {
        return run();
      } catch (error) {
        if (!(error instanceof SiteRejected)) throw error;
        Object.assign(errors, error.errors);
        return undefined;
      }
    };
    const name = changes.name === undefined ? undefined : collect(() => this.validName(changes.name ?? '', site));
    const customDomain =
      changes.customDomain === undefined ? undefined : collect(() => this.validCustomDomain(changes.customDomain ?? null, site));
    const aliases = changes.domainAliases === undefined ? undefined : collect(() => this.validAliases(changes.domainAliases ?? [], site));
    if (Object.keys(errors).length > 0) throw new SiteRejected(errors);

    const nowMs = this.options.now();
    if (name !== undefined) site.name = name;
    if (customDomain !== undefined && customDomain !== site.customDomain) {
      site.customDomain = customDomain;
      // A certificate names the domains it was issued for; a new custom domain needs a new one.
      site.certificate = null;
      this.startClientDnsClock(site, customDomain, nowMs);
    }
    if (aliases !== undefined) site.domainAliases = aliases.filter((alias) => alias !== site.customDomain);
    if (changes.forceSsl !== undefined) site.forceSsl = changes.forceSsl;
    site.updatedAt = new Date(nowMs).toISOString();
    this.save();
    return site;
  }

  removeSite(site: SiteRecord): void {
    site.removedAt = this.isoNow();
    this.save();
  }

  /** By id, then custom domain, domain alias, `<name>.netlify.app`; removed sites are not found. */
  findActiveSite(idOrDomain: string): SiteRecord | undefined {
    return findSite(this.activeSites(), idOrDomain);
  }

  /** Any site with this id or domain, removed or not; for naming the domain in the call log. */
  findAnySite(idOrDomain: string): SiteRecord | undefined {
    return findSite(this.activeSites(), idOrDomain) ?? findSite([...this.state.sites].reverse(), idOrDomain);
  }

  activeSites(): SiteRecord[] {
    return this.state.sites.filter((site) => site.removedAt === null);
  }

  allSites(): SiteRecord[] {
    return [...this.state.sites];
  }

  // --- DNS and TLS ---

  /** The simulated client has put its DNS records in place for the site's custom domain. */
  clientDnsRecordsInPlace(site: SiteRecord): boolean {
    return site.clientDnsAtMs !== null && this.options.now() >= site.clientDnsAtMs;
  }

  /** The verify knob: every live site with this custom domain has its client's DNS records from now on. */
  putClientDnsInPlace(host: string): SiteRecord[] {
    const wanted = normaliseHost(host);
    const sites = this.activeSites().filter((site) => site.customDomain === wanted);
    for (const site of sites) {
      if (!this.clientDnsRecordsInPlace(site)) site.clientDnsAtMs = this.options.now();
    }
    if (sites.length > 0) this.save();
    return sites;
  }

  issueCertificate(site: SiteRecord, paymentMethodId: string | null): CertificateRecord {
    const nowMs = this.options.now();
    const at = new Date(nowMs).toISOString();
    const domains = [site.customDomain, ...site.domainAliases].filter((domain): domain is string => domain !== null);
    site.certificate = {
      state: 'issued',
      domains,
      createdAt: at,
      updatedAt: at,
      expiresAt: new Date(nowMs + CERTIFICATE_LIFETIME_MS).toISOString(),
      paymentMethodId,
    };
    site.updatedAt = at;
    this.save();
    return site.certificate;
  }

  get verifyAfterMs(): number | null {
    return this.dnsVerifyAfterMs;
  }

  setDnsVerifyAfterMs(delayMs: number | null): void {
    this.dnsVerifyAfterMs = delayMs;
    this.rescheduleClientDns();
    this.save();
  }

  // --- submissions ---

  addSubmission(site: SiteRecord, input: NewSubmission): SubmissionRecord {
    const number = this.state.submissions.filter((submission) => submission.siteId === site.id).length + 1;
    const submission: SubmissionRecord = {
      id: objectId(),
      siteId: site.id,
      number,
      email: input.email,
      name: input.name,
      data: input.data,
      createdAt: input.createdAt ?? this.isoNow(),
    };
    this.state.submissions.push(submission);
    this.save();
    return submission;
  }

  /** Newest first, of the given sites. */
  submissionsOf(siteIds: ReadonlySet<string>): SubmissionRecord[] {
    return this.state.submissions
      .filter((submission) => siteIds.has(submission.siteId))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.number - a.number);
  }

  // --- other accounts ---

  /** Returns false when one of our sites uses the host, which would make the foreign claim meaningless. */
  addForeignHost(host: string): boolean {
    const normalised = normaliseHost(host);
    if (this.activeSites().some((site) => site.customDomain === normalised || site.domainAliases.includes(normalised))) {
      return false;
    }
    if (!this.state.foreignHosts.includes(normalised)) this.state.foreignHosts.push(normalised);
    this.save();
    return true;
  }

  reset(): void {
    this.state = emptyState();
    this.save();
  }

  // --- validation ---

  private validName(raw: string, self: SiteRecord | undefined): string {
    const name = raw.trim().toLowerCase();
    if (!SITE_NAME.test(name)) throw new SiteRejected({ subdomain: ['is invalid'] });
    if (this.activeSites().some((site) => site !== self && site.name === name)) {
      throw new SiteRejected({ subdomain: ['must be unique'] });
    }
    return name;
  }

  private freeGeneratedName(): string {
    for (;;) {
      const name = generatedSiteName();
      if (!this.activeSites().some((site) => site.name === name)) return name;
    }
  }

  private validCustomDomain(raw: string | null, self: SiteRecord | undefined): string | null {
    if (raw === null || raw.trim() === '') return null;
    const host = normaliseHost(raw);
    if (!HOSTNAME.test(host)) throw new SiteRejected({ custom_domain: ['is invalid'] });
    if (this.isDomainTaken(host, self)) throw new SiteRejected({ custom_domain: ['must be unique'] });
    return host;
  }

  private validAliases(raw: string[], self: SiteRecord): string[] {
    const aliases = [...new Set(raw.map(normaliseHost).filter((alias) => alias !== ''))];
    if (aliases.some((alias) => !HOSTNAME.test(alias))) throw new SiteRejected({ domain_aliases: ['is invalid'] });
    if (aliases.some((alias) => this.isDomainTaken(alias, self))) throw new SiteRejected({ domain_aliases: ['must be unique'] });
    return aliases;
  }

  /** A domain belongs to one site across all of Netlify: another site of ours, or another account's. */
  private isDomainTaken(host: string, self: SiteRecord | undefined): boolean {
    if (this.state.foreignHosts.includes(host)) return true;
    return this.activeSites().some(
      (site) => site !== self && (site.customDomain === host || site.domainAliases.includes(host)),
    );
  }

  // --- the client's DNS clock ---

  private startClientDnsClock(site: SiteRecord, customDomain: string | null, nowMs: number): void {
    site.customDomainSinceMs = customDomain === null ? null : nowMs;
    site.clientDnsAtMs = customDomain === null || this.dnsVerifyAfterMs === null ? null : nowMs + this.dnsVerifyAfterMs;
  }

  /** Sites whose records are in place keep them; the others follow the current delay from their domain's start. */
  private rescheduleClientDns(): void {
    for (const site of this.state.sites) {
      if (this.clientDnsRecordsInPlace(site) || site.customDomainSinceMs === null) continue;
      site.clientDnsAtMs = this.dnsVerifyAfterMs === null ? null : site.customDomainSinceMs + this.dnsVerifyAfterMs;
    }
  }

  private isoNow(): string {
    return new Date(this.options.now()).toISOString();
  }

  private save(): void {
    this.stateFile?.save(this.state);
  }
}

/** By id, custom domain, domain alias, or the site's own `<name>.netlify.app` domain. */
function findSite(sites: SiteRecord[], idOrDomain: string): SiteRecord | undefined {
  const wanted = normaliseHost(idOrDomain);
  return (
    sites.find((site) => site.id === idOrDomain) ??
    sites.find((site) => site.customDomain === wanted) ??
    sites.find((site) => site.domainAliases.includes(wanted)) ??
    sites.find((site) => `${site.name}.${NETLIFY_APP_DOMAIN}` === wanted)
  );
}

function emptyState(): PersistedState {
  return {
    version: 1,
    reseller: { userId: objectId(), accountSlug: 'simulated-reseller' },
    users: [],
    sites: [],
    submissions: [],
    foreignHosts: [],
  };
}
