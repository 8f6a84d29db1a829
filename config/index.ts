import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { inspect } from 'node:util';
import { z } from 'zod';
import { isPlatformName, orderedPlan, PLATFORM_NAMES, type PlatformName } from '../platforms/catalog.js';
import { goHighLevelPublicKey, type GoHighLevelIntakeSettings } from '../crm/gohighlevel/webhook.js';
import type { HubspotIntakeSettings } from '../crm/hubspot/webhook.js';
import type { PipedriveIntakeSettings } from '../crm/pipedrive/webhook.js';
import { CRM_START_EVENTS, type CrmSource, type CrmStartEvent } from '../crm/types.js';

/** Dev defaults that let `npm start` run with no configuration; production must set real values. */
export const DEV_DEFAULTS = {
  RESELLER_API_KEY: 'sk_org_dev_simulator',
  CRM_WEBHOOK_SECRET: 'whsec_ZGV2LW9ubHktd2ViaG9vay1zZWNyZXQtMzJieXRlcyE=',
  OPS_API_TOKEN: 'dev-ops-token',
  EMAIL_FROM: 'Your Agency <onboarding@agency.localhost>',
  NETLIFY_RESELLER_TOKEN: 'nfr_dev_simulator_reseller_token',
  // The CRMs' own webhooks (POST /webhooks/<source>): what the CRM simulators and `npm run send-webhook` sign with.
  HUBSPOT_CLIENT_SECRET: 'dev-hubspot-client-secret-0123456789',
  PIPEDRIVE_WEBHOOK_USER: 'pipedrive',
  PIPEDRIVE_WEBHOOK_PASSWORD: 'dev-pipedrive-webhook-password',
  GHL_WEBHOOK_PUBLIC_KEY: 'MCowBQYDK2VwAyEA4LjqIHWXqSIIISKXGiMUp2Wl7KKS2pTc3WHoF6EI/yE=',
  // The CRM simulators' (simulator/crm/): their tokens and the keys of the fields they define.
  HUBSPOT_ACCESS_TOKEN: 'pat-dev-simulator-hubspot-token',
  PIPEDRIVE_API_TOKEN: 'dev-simulator-pipedrive-api-token',
  PIPEDRIVE_WEBSITE_FIELD: '9aaf47c2da8bc5f5c289b45fc4ef9a61864a7978',
  PIPEDRIVE_DEAL_STATUS_FIELD: '43a46675519b2f4ed537c6f52ff79496e78a7947',
  GHL_API_TOKEN: 'pit-dev-simulator-gohighlevel-token',
  GHL_STATUS_FIELD_ID: 'SimOnboardingStatus1',
} as const;

/** The CRMs' real APIs, used in production when only the token is set. */
export const CRM_API_URLS = {
  hubspot: 'https://api.hubapi.com',
  pipedrive: 'https://api.pipedrive.com',
  gohighlevel: 'https://services.leadconnectorhq.com',
} as const;

/** A payload key: its id travels in every payload it encrypts; the key itself never leaves this process. */
export interface PayloadKey {
  readonly id: string;
  readonly key: Buffer;
}

/** Payload key ids name keys in every encrypted payload and in error messages: short, printable, no separators of PAYLOAD_KEYS. */
export const PAYLOAD_KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * A key whose bytes stay out of JSON, pino and `console.log` (the property is not enumerable and inspect shows the id
 * only), so a config object logged by mistake shows no key.
 */
export function payloadKey(id: string, key: Buffer): PayloadKey {
  if (!PAYLOAD_KEY_ID.test(id)) throw new Error(`payload key id ${JSON.stringify(id)} must be 1-64 letters, digits, . _ or -`);
  if (key.length !== 32) throw new Error(`payload key "${id}" must be 32 bytes (AES-256)`);
  return new HiddenPayloadKey(id, key);
}

class HiddenPayloadKey implements PayloadKey {
  declare readonly key: Buffer;
  constructor(
    readonly id: string,
    key: Buffer,
  ) {
    Object.defineProperty(this, 'key', { value: Buffer.from(key), enumerable: false });
  }
  toJSON() {
    return { id: this.id };
  }
  [inspect.custom]() {
    return `PayloadKey(${this.id})`;
  }
}

/**
 * The development payload key: derived from a public phrase, so `npm start` and the tests need no configuration and
 * histories in .data/ stay readable across restarts. Public, hence refused in production.
 */
export const DEV_PAYLOAD_KEY = payloadKey('dev', createHash('sha256').update('client-onboarding-engine development payload key').digest());

/**
 * The private half of DEV_DEFAULTS.GHL_WEBHOOK_PUBLIC_KEY (PKCS#8, base64): public on purpose, like the other
 * development defaults, so the GoHighLevel simulator and `npm run send-webhook` sign deliveries in development.
 */
export const DEV_GHL_WEBHOOK_PRIVATE_KEY = 'MC4CAQAwBQYDK2VwBCIEIAXUC2yUjfkmTKwY//wL6WmsyQNRTV3P+yM7MjCrG2qZ';
/**
 * HighLevel's webhook public key (SPKI, base64) as many integrations copy it: UNCONFIRMED against an official
 * HighLevel page, hence a setting (GHL_WEBHOOK_PUBLIC_KEY). The production default.
 */
export const HIGHLEVEL_WEBHOOK_PUBLIC_KEY = 'MCowBQYDK2VwAyEAi2HR1srL4o18O8BRa7gVJY7G7bupbN3H9AwJrHCDiOg=';
/**
 * What turns each CRM's own webhook on in production (in development every one is on, against the simulators); an
 * intake that is off answers 404 naming them. HighLevel signs every app's deliveries with one key, so what makes a
 * GoHighLevel delivery the agency's is its location.
 */
export const CRM_INTAKE_VARIABLES: Record<CrmSource, readonly string[]> = {
  hubspot: ['HUBSPOT_CLIENT_SECRET'],
  pipedrive: ['PIPEDRIVE_WEBHOOK_USER', 'PIPEDRIVE_WEBHOOK_PASSWORD'],
  gohighlevel: ['GHL_LOCATION_IDS'],
};

export const NETLIFY_API_URL = 'https://api.netlify.com/api/v1';
/** Netlify's load balancer for apex A records: a widely used figure, unconfirmed against Netlify's docs; a setting. */
export const NETLIFY_LOAD_BALANCER_IP = '75.2.60.5';

// Sender domains that belong to the platform we resell: mail must come from the agency, never from them.
const PLATFORM_SENDER_DOMAINS = ['nextnet.ai', 'bediscovered.ai', 'netlify.com'];
const REQUIRED_IN_PRODUCTION = ['CRM_WEBHOOK_SECRET', 'OPS_API_TOKEN', 'VAULT_KEY', 'PAYLOAD_KEYS', 'SMTP_URL', 'EMAIL_FROM', 'TEMPORAL_ADDRESS', 'DATABASE_URL'] as const;
/** What each platform needs in production before it can be part of a plan (in development the simulator stands in). */
const PLATFORM_CREDENTIALS: Record<PlatformName, readonly string[]> = {
  netlify: ['NETLIFY_RESELLER_TOKEN'],
  nextnet: ['RESELLER_API_URL', 'RESELLER_API_KEY'],
};

function isPlatformSender(from: string): boolean {
  const domain = (/@([^>\s]+)>?\s*$/.exec(from)?.[1] ?? '').toLowerCase();
  return PLATFORM_SENDER_DOMAINS.some((platform) => domain === platform || domain.endsWith(`.${platform}`));
}

/** A duration such as `90s`, `5m`, `72h`, `7d` or a number of milliseconds. */
export const Duration = z
  .string()
  .trim()
  .transform((text, ctx) => {
    const ms = parseDurationMs(text);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration; use e.g. 90s, 5m, 72h, 7d or milliseconds` });
      return z.NEVER;
    }
    return ms;
  });

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/**
 * `--failed-since`: an ISO date or date-time (`2026-11-20`, `2026-11-20T08:00:00Z`), or a span back from now
 * (`30m`, `24h`, `7d`, `2w`). Undefined when the text is neither.
 */
export function parseSince(text: string, now: Date): Date | undefined {
  const relative = /^(\d+)\s*([smhdw])$/i.exec(text.trim());
  if (relative) {
    const unit = relative[2]!.toLowerCase() as keyof typeof UNIT_MS;
    return new Date(now.getTime() - Number(relative[1]) * UNIT_MS[unit]);
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim())) return undefined;
  const at = Date.parse(text.trim());
  return Number.isNaN(at) ? undefined : new Date(at);
}

export function parseDurationMs(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) return undefined;
  const factor = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 'ms'] ?? 1;
  return Math.round(Number(match[1]) * factor);
}

const port = z.coerce.number().int().min(0).max(65535);
const url = z.url();

const EnvSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    PORT: port.default(3000),
    DATA_DIR: z.string().default('.data'),
    // The engine's own PostgreSQL (vault, audit trail, sent-email ledger); required in production. Unset in
    // development: `npm start` runs an embedded one on POSTGRES_PORT.
    DATABASE_URL: z
      .url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL, e.g. postgres://onboarding:password@db.internal:5432/onboarding' })
      .optional(),

    TEMPORAL_ADDRESS: z.string().optional(),
    TEMPORAL_NAMESPACE: z.string().default('default'),
    TEMPORAL_TASK_QUEUE: z.string().default('onboarding'),
    // The Temporal Web UI that alerts link to; unset: the dev server's UI when `npm start` runs one, else no link.
    TEMPORAL_UI_URL: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL, e.g. http://temporal-ui.internal:8080' }).optional(),
    // Temporal Cloud or a TLS cluster: an API key, or mTLS with a client certificate and key (PEM files).
    TEMPORAL_API_KEY: z.string().min(8).optional(),
    TEMPORAL_TLS: z.enum(['true', 'false']).optional(),
    TEMPORAL_TLS_CERT: z.string().optional(),
    TEMPORAL_TLS_KEY: z.string().optional(),
    TEMPORAL_TLS_CA: z.string().optional(),

    RESELLER_API_URL: url.optional(),
    RESELLER_API_KEY: z.string().min(8).optional(),
    RESELLER_TIMEOUT: Duration.default(10_000),

    CRM_WEBHOOK_SECRET: z
      .string()
      .regex(/^whsec_[A-Za-z0-9+/=]{32,}$/, 'must be whsec_ followed by base64 of 24-64 random bytes')
      .optional(),
    OPS_API_TOKEN: z.string().min(12, 'must be at least 12 characters').optional(),
    // The CRMs' own webhooks: POST /webhooks/hubspot, /webhooks/pipedrive, /webhooks/gohighlevel.
    HUBSPOT_CLIENT_SECRET: z.string().trim().min(8, "must be the HubSpot app's client secret").optional(),
    HUBSPOT_WON_STAGE: commaList('must be a comma list of deal stage ids, e.g. closedwon').default(['closedwon']),
    HUBSPOT_START_EVENTS: startEventList('hubspot').default([...CRM_START_EVENTS.hubspot]),
    HUBSPOT_WEBHOOK_URL: z.url({ protocol: /^https?$/, error: 'must be the full URL HubSpot calls, e.g. https://onboarding.agency.example/webhooks/hubspot' }).optional(),
    PIPEDRIVE_WEBHOOK_USER: z.string().regex(/^[^:]+$/, 'must not contain ":" (HTTP Basic auth)').optional(),
    PIPEDRIVE_WEBHOOK_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
    PIPEDRIVE_START_EVENTS: startEventList('pipedrive').default(['deal.won']),
    GHL_WEBHOOK_PUBLIC_KEY: z.string().refine(isEd25519PublicKey, 'must be an Ed25519 public key: SPKI as base64 (MCowBQYDK2VwAyEA...) or PEM').optional(),
    GHL_LOCATION_IDS: commaList('must be a comma list of HighLevel location ids').optional(),
    GHL_START_EVENTS: startEventList('gohighlevel').default([...CRM_START_EVENTS.gohighlevel]),

    VAULT_KEY: z
      .string()
      .refine((v) => decodeVaultKey(v) !== undefined, 'must be 32 bytes as base64 or 64 hex characters')
      .refine((v) => isRandomLooking(decodeVaultKey(v)), 'looks made by hand (too few distinct bytes); generate one with `openssl rand -base64 32`')
      .optional(),
    // `keyId:key[,keyId:key…]`: the first encrypts Temporal payloads, every one decrypts (config/payload-codec.ts).
    PAYLOAD_KEYS: z.string().transform((list, ctx) => {
      const keys = parsePayloadKeys(list);
      if (typeof keys === 'string') {
        ctx.addIssue({ code: 'custom', message: keys });
        return z.NEVER;
      }
      return keys;
    }).optional(),

    NETLIFY_API_URL: url.optional(),
    NETLIFY_RESELLER_TOKEN: z.string().min(8).optional(),
    NETLIFY_LOAD_BALANCER_IP: z.string().refine((ip) => isIP(ip) !== 0, 'must be an IP address').default(NETLIFY_LOAD_BALANCER_IP),
    // The paid TLS certificate names the payment method charged; the parameter's name is unconfirmed (platforms/netlify/client.ts).
    NETLIFY_PAYMENT_METHOD_ID: z.string().min(1).optional(),
    NETLIFY_SITE_CREATES_PER_MINUTE: z.coerce.number().positive().max(600).default(3),
    NETLIFY_PREVIEW_DOMAIN: z.string().optional(),
    NETLIFY_RESELLER_NAME: z.string().regex(/^[a-z0-9-]+$/, 'must be the reseller name Netlify gave you (letters, digits, -)').optional(),
    NETLIFY_NOTIFICATION_DOMAIN: z.string().optional(),
    RESELLER_PAGES_DIR: z.string().default('reseller-pages'),

    // The CRMs' APIs, which the onboarding reads the client's record from and writes its progress to. In development
    // every CRM points at its simulator; in production a CRM is called only when its token is set.
    HUBSPOT_ACCESS_TOKEN: z.string().min(8).optional(),
    HUBSPOT_API_URL: url.optional(),
    PIPEDRIVE_API_TOKEN: z.string().min(8).optional(),
    PIPEDRIVE_API_URL: url.optional(),
    PIPEDRIVE_WEBSITE_FIELD: z.string().trim().min(1).optional(),
    PIPEDRIVE_DEAL_STATUS_FIELD: z.string().trim().min(1).optional(),
    GHL_API_TOKEN: z.string().min(8).optional(),
    GHL_API_URL: url.optional(),
    GHL_STATUS_FIELD_ID: z.string().trim().min(1).optional(),
    CRM_API_TIMEOUT: Duration.default(10_000),
    ONBOARDING_SERVICES: z
      .string()
      .transform((list, ctx) => {
        const names = list.split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);
        const unknown = names.filter((name) => !isPlatformName(name));
        if (unknown.length || names.length === 0) {
          ctx.addIssue({ code: 'custom', message: `must be a comma list of ${PLATFORM_NAMES.join(', ')}${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}` });
          return z.NEVER;
        }
        return orderedPlan(names);
      })
      .optional(),
    DNS_RESOLVERS: z
      .string()
      .transform((list, ctx) => {
        const servers = list.split(',').map((s) => s.trim()).filter(Boolean);
        const bad = servers.filter((server) => !isResolverAddress(server));
        if (bad.length) {
          ctx.addIssue({ code: 'custom', message: 'must be a comma list of DNS server addresses (1.1.1.1, 127.0.0.1:4053, [::1]:53)' });
          return z.NEVER;
        }
        return servers;
      })
      .optional(),

    SMTP_URL: z.string().regex(/^smtps?:\/\//, 'must start with smtp:// or smtps://').optional(),
    EMAIL_FROM: z
      .string()
      .optional()
      .refine((from) => !from || !isPlatformSender(from), 'must be an address of the agency, not of the platform it resells'),
    // The agency's name in emails: the sender's display name and the sign-off.
    AGENCY_NAME: z
      .string()
      .trim()
      .max(100, 'must be at most 100 characters')
      .regex(/^[^\u0000-\u001f\u007f<>]+$/, 'must be a plain name: no line breaks, control characters, < or >')
      .optional(),
    EMAIL_REPLY_TO: z.email('must be an email address, e.g. hello@agency.example').optional(),
    OPS_ALERT_EMAIL: z.email().optional(),
    SIGNUP_URL: url.default('https://app.bediscovered.ai/auth/signup'),

    DNS_POLL_INITIAL: Duration.default(60_000),
    DNS_POLL_MAX: Duration.default(30 * 60_000),
    DNS_DEADLINE: Duration.default(72 * 3_600_000),
    // DNS checks per workflow run of a new onboarding before it continues as new (README, Production: sizing).
    DNS_CHECKS_PER_RUN: z.coerce.number().int().min(2).max(1_000).default(20),
    STALL_ALERT_AFTER: Duration.default(15 * 60_000),

    WORKFLOW_BUNDLE_PATH: z.string().optional(),
    WORKER_METRICS_ADDRESS: z.string().regex(/^[^:]+:\d+$/, 'must be host:port, e.g. 0.0.0.0:9464').default('127.0.0.1:9464'),
    // The worker's workflow cache and concurrency (README, Production: sizing); the concurrency unset: the SDK's defaults.
    WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).default(250),
    WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().min(2).optional(),
    WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).optional(),
    // How often the worker reads NextNet's domain list to wake onboardings whose DNS verified (worker/dns-sweep.ts); off: never.
    DNS_SWEEP_INTERVAL: z
      .string()
      .trim()
      .transform((text, ctx) => {
        if (text.toLowerCase() === 'off') return null;
        const ms = parseDurationMs(text);
        if (ms === undefined || ms < 1_000) {
          ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration of at least 1s, nor off; use e.g. 30s, 1m or off` });
          return z.NEVER;
        }
        return ms;
      })
      .default(60_000),
    OFFBOARDING_GRACE: Duration.default(7 * 86_400_000),
    FAILED_RETENTION: Duration.default(30 * 86_400_000),

    SIM_PORT: port.default(4010),
    SIM_DNS_PORT: port.default(4053),
    SIM_DNS_VERIFY_AFTER_MS: z.union([z.literal('never'), z.coerce.number().int().min(0)]).default(30_000),
    // Where the CRM simulators send their webhooks: <this>/hubspot, /pipedrive, /gohighlevel. Unset: this API's /webhooks.
    SIM_CRM_WEBHOOK_URL: url.optional(),
    MAILDEV_SMTP_PORT: port.default(1025),
    MAILDEV_WEB_PORT: port.default(1080),
    TEMPORAL_PORT: port.default(7233),
    TEMPORAL_UI_PORT: port.default(8233),
    POSTGRES_PORT: port.default(5433),
  });

export type Env = z.infer<typeof EnvSchema>;

/** Every environment variable the configuration reads (for .env.example and deployment checks). */
export const ENV_VARIABLE_NAMES = Object.keys(EnvSchema.shape) as (keyof Env)[];

export interface Config {
  env: Env['NODE_ENV'];
  logLevel: Env['LOG_LEVEL'];
  port: number;
  dataDir: string;
  /** The engine's PostgreSQL (it holds a password: never log it); unset (development only): `npm start` runs an embedded one. */
  databaseUrl: string | undefined;
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    startsOwnServer: boolean;
    workflowBundlePath: string | undefined;
    apiKey: string | undefined;
    tls: { certFile?: string; keyFile?: string; caFile?: string } | undefined;
    /** The Temporal Web UI's base URL (no trailing slash), for links in alerts; unset: no link. */
    uiUrl?: string;
  };
  /** NextNet's reseller API. */
  reseller: { apiUrl: string; apiKey: string; timeoutMs: number; usesSimulator: boolean };
  netlify: {
    apiUrl: string;
    resellerToken: string;
    timeoutMs: number;
    usesSimulator: boolean;
    userAgent: string;
    loadBalancerIp: string;
    paymentMethodId: string | undefined;
    siteCreatesPerMinute: number;
    previewDomain: string | undefined;
    resellerName: string | undefined;
    notificationDomain: string | undefined;
    pagesDir: string;
  };
  /** Each CRM's API as the worker calls it; undefined: not configured (production without its token). */
  crmApis: {
    timeoutMs: number;
    hubspot: { apiUrl: string; accessToken: string; usesSimulator: boolean } | undefined;
    pipedrive: { apiUrl: string; apiToken: string; websiteField: string | undefined; dealStatusField: string | undefined; usesSimulator: boolean } | undefined;
    gohighlevel: { apiUrl: string; apiToken: string; statusFieldId: string | undefined; usesSimulator: boolean } | undefined;
  };
  /** The platforms whose credentials are configured: what a plan may name. */
  availableServices: PlatformName[];
  /** The plan of a `client.created` without `services`. */
  defaultServices: PlatformName[];
  /** DNS servers of the engine's own DNS checks; empty = the system's. */
  dnsResolvers: string[];
  webhookSecret: string;
  opsApiToken: string;
  /** The CRMs' own webhooks (POST /webhooks/<source>); undefined: that CRM's intake is off and answers 404. */
  crmIntake: {
    hubspot: HubspotIntakeSettings | undefined;
    pipedrive: PipedriveIntakeSettings | undefined;
    gohighlevel: GoHighLevelIntakeSettings | undefined;
  };
  vaultKey: Buffer | undefined;
  /** The keys of Temporal payloads (never log them): the first encrypts, all decrypt. */
  payloadKeys: PayloadKey[];
  email: {
    smtpUrl: string;
    from: string;
    /** The agency's name: the sender's display name and the sign-off of the signup email. */
    agencyName: string;
    /** Where the client's replies go; unset: to the sender address. */
    replyTo: string | undefined;
    opsAlertTo: string | undefined;
    signupUrl: string;
    usesMailDev: boolean;
  };
  /** `checksPerRun` (DNS_CHECKS_PER_RUN) goes into each new onboarding's settings; unset: the workflow's default (200). */
  dns: { pollInitialMs: number; pollMaxMs: number; deadlineMs: number; checksPerRun?: number };
  stallAlertMs: number;
  offboardingGraceMs: number;
  /** How long a failed onboarding stays open, waiting for ops to retry it. */
  failedRetentionMs: number;
  workerMetricsAddress: string;
  /** The main worker's workflow cache and concurrency; unset: the SDK's defaults. */
  worker: { maxCachedWorkflows?: number; maxConcurrentWorkflowTaskExecutions?: number; maxConcurrentActivityTaskExecutions?: number };
  /** How often the worker sweeps NextNet's domain list for newly verified domains; null: never. */
  dnsSweepIntervalMs: number | null;
  devStack: { simulatorPort: number; simulatorDnsPort: number; simulatorDnsVerifyAfterMs: number | null; simulatorCrmWebhookUrl: string; mailDevSmtpPort: number; mailDevWebPort: number; temporalPort: number; temporalUiPort: number; postgresPort: number };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}\nSee .env.example for every variable and its default.`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment once; empty strings count as unset. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v.trim() !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  // Checked apart from the schema so one bad value does not hide the missing ones.
  const production = cleaned.NODE_ENV === 'production';
  const missing: string[] = production ? REQUIRED_IN_PRODUCTION.filter((name) => cleaned[name] === undefined) : [];
  // A platform is available when its credentials are set (in development the simulator's stand in for all).
  const available = PLATFORM_NAMES.filter((name) => !production || PLATFORM_CREDENTIALS[name].every((variable) => cleaned[variable] !== undefined));
  const requested = parsed.success ? parsed.data.ONBOARDING_SERVICES : undefined;
  const platformProblems: string[] = [];
  if (requested) {
    for (const name of requested.filter((n) => !available.includes(n))) {
      platformProblems.push(...PLATFORM_CREDENTIALS[name].filter((v) => cleaned[v] === undefined).map((v) => `${v}: is required when ONBOARDING_SERVICES includes ${name}`));
    }
  } else if (available.length === 0) {
    platformProblems.push(`${PLATFORM_NAMES.map((name) => PLATFORM_CREDENTIALS[name].join(' and ')).join(', or ')}: set the credentials of at least one platform when NODE_ENV=production`);
  }
  const halfPair = (cleaned.TEMPORAL_TLS_CERT === undefined) !== (cleaned.TEMPORAL_TLS_KEY === undefined) ? ['TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: set both (mTLS) or neither'] : [];
  if ((cleaned.PIPEDRIVE_WEBHOOK_USER === undefined) !== (cleaned.PIPEDRIVE_WEBHOOK_PASSWORD === undefined)) {
    halfPair.push("PIPEDRIVE_WEBHOOK_USER and PIPEDRIVE_WEBHOOK_PASSWORD: set both (the webhook's http_auth_user and http_auth_password) or neither");
  }
  // Pipedrive has no standard website field: without the key of the one the agency uses, no client has a domain.
  if (production && cleaned.PIPEDRIVE_API_TOKEN !== undefined && cleaned.PIPEDRIVE_WEBSITE_FIELD === undefined) {
    halfPair.push("PIPEDRIVE_WEBSITE_FIELD: is required with PIPEDRIVE_API_TOKEN (the key of the organization field holding the client's website)");
  }
  const publicPayloadKey =
    production && parsed.success && parsed.data.PAYLOAD_KEYS?.some((k) => k.key.equals(DEV_PAYLOAD_KEY.key))
      ? ['PAYLOAD_KEYS: holds the public development key; generate one with `openssl rand -base64 32`']
      : [];
  if (!parsed.success || missing.length > 0 || halfPair.length > 0 || platformProblems.length > 0 || publicPayloadKey.length > 0) {
    // Name the variable and the rule, never the value: it may be a secret.
    const problems = (parsed.error?.issues ?? []).map((issue) => `${issue.path.join('.') || 'environment'}: ${issue.message}`);
    throw new ConfigError([...problems, ...missing.map((name) => `${name}: is required when NODE_ENV=production`), ...platformProblems, ...halfPair, ...publicPayloadKey]);
  }
  const env = parsed.data;
  return {
    env: env.NODE_ENV,
    logLevel: env.LOG_LEVEL,
    port: env.PORT,
    dataDir: env.DATA_DIR,
    databaseUrl: env.DATABASE_URL,
    temporal: {
      address: env.TEMPORAL_ADDRESS ?? `127.0.0.1:${env.TEMPORAL_PORT}`,
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueue: env.TEMPORAL_TASK_QUEUE,
      startsOwnServer: env.TEMPORAL_ADDRESS === undefined,
      workflowBundlePath: env.WORKFLOW_BUNDLE_PATH,
      apiKey: env.TEMPORAL_API_KEY,
      // An API key or a client certificate implies TLS (Temporal Cloud); TEMPORAL_TLS=true alone uses system roots.
      tls:
        env.TEMPORAL_TLS === 'false' || (env.TEMPORAL_TLS === undefined && !env.TEMPORAL_API_KEY && !env.TEMPORAL_TLS_CERT)
          ? undefined
          : { certFile: env.TEMPORAL_TLS_CERT, keyFile: env.TEMPORAL_TLS_KEY, caFile: env.TEMPORAL_TLS_CA },
      uiUrl: env.TEMPORAL_UI_URL?.replace(/\/+$/, '') ?? (env.TEMPORAL_ADDRESS === undefined ? `http://127.0.0.1:${env.TEMPORAL_UI_PORT}` : undefined),
    },
    reseller: {
      apiUrl: (env.RESELLER_API_URL ?? `http://127.0.0.1:${env.SIM_PORT}/accounts`).replace(/\/+$/, ''),
      apiKey: env.RESELLER_API_KEY ?? DEV_DEFAULTS.RESELLER_API_KEY,
      timeoutMs: env.RESELLER_TIMEOUT,
      usesSimulator: env.RESELLER_API_URL === undefined,
    },
    netlify: {
      apiUrl: (env.NETLIFY_API_URL ?? (production ? NETLIFY_API_URL : `http://127.0.0.1:${env.SIM_PORT}/netlify/api/v1`)).replace(/\/+$/, ''),
      resellerToken: env.NETLIFY_RESELLER_TOKEN ?? DEV_DEFAULTS.NETLIFY_RESELLER_TOKEN,
      timeoutMs: env.RESELLER_TIMEOUT,
      usesSimulator: env.NETLIFY_API_URL === undefined && !production,
      // Netlify asks integrations to name themselves and a contact address.
      userAgent: `client-onboarding-engine (${senderAddress(env.EMAIL_FROM ?? DEV_DEFAULTS.EMAIL_FROM)})`,
      loadBalancerIp: env.NETLIFY_LOAD_BALANCER_IP,
      paymentMethodId: env.NETLIFY_PAYMENT_METHOD_ID,
      siteCreatesPerMinute: env.NETLIFY_SITE_CREATES_PER_MINUTE,
      previewDomain: env.NETLIFY_PREVIEW_DOMAIN,
      resellerName: env.NETLIFY_RESELLER_NAME,
      notificationDomain: env.NETLIFY_NOTIFICATION_DOMAIN,
      pagesDir: env.RESELLER_PAGES_DIR,
    },
    crmApis: {
      timeoutMs: env.CRM_API_TIMEOUT,
      hubspot: crmApi(production, env.HUBSPOT_API_URL, CRM_API_URLS.hubspot, env.SIM_PORT, 'hubspot', env.HUBSPOT_ACCESS_TOKEN, DEV_DEFAULTS.HUBSPOT_ACCESS_TOKEN, (apiUrl, accessToken, usesSimulator) => ({ apiUrl, accessToken, usesSimulator })),
      pipedrive: crmApi(production, env.PIPEDRIVE_API_URL, CRM_API_URLS.pipedrive, env.SIM_PORT, 'pipedrive', env.PIPEDRIVE_API_TOKEN, DEV_DEFAULTS.PIPEDRIVE_API_TOKEN, (apiUrl, apiToken, usesSimulator) => ({
        apiUrl,
        apiToken,
        websiteField: env.PIPEDRIVE_WEBSITE_FIELD ?? (usesSimulator ? DEV_DEFAULTS.PIPEDRIVE_WEBSITE_FIELD : undefined),
        dealStatusField: env.PIPEDRIVE_DEAL_STATUS_FIELD ?? (usesSimulator ? DEV_DEFAULTS.PIPEDRIVE_DEAL_STATUS_FIELD : undefined),
        usesSimulator,
      })),
      gohighlevel: crmApi(production, env.GHL_API_URL, CRM_API_URLS.gohighlevel, env.SIM_PORT, 'gohighlevel', env.GHL_API_TOKEN, DEV_DEFAULTS.GHL_API_TOKEN, (apiUrl, apiToken, usesSimulator) => ({
        apiUrl,
        apiToken,
        statusFieldId: env.GHL_STATUS_FIELD_ID ?? (usesSimulator ? DEV_DEFAULTS.GHL_STATUS_FIELD_ID : undefined),
        usesSimulator,
      })),
    },
    availableServices: available,
    defaultServices: env.ONBOARDING_SERVICES ?? available,
    dnsResolvers: env.DNS_RESOLVERS ?? (env.NETLIFY_API_URL === undefined && !production ? [`127.0.0.1:${env.SIM_DNS_PORT}`] : []),
    webhookSecret: env.CRM_WEBHOOK_SECRET ?? DEV_DEFAULTS.CRM_WEBHOOK_SECRET,
    opsApiToken: env.OPS_API_TOKEN ?? DEV_DEFAULTS.OPS_API_TOKEN,
    crmIntake: {
      hubspot:
        production && env.HUBSPOT_CLIENT_SECRET === undefined
          ? undefined
          : {
              clientSecret: env.HUBSPOT_CLIENT_SECRET ?? DEV_DEFAULTS.HUBSPOT_CLIENT_SECRET,
              wonStages: env.HUBSPOT_WON_STAGE,
              startEvents: env.HUBSPOT_START_EVENTS,
              ...(env.HUBSPOT_WEBHOOK_URL !== undefined ? { webhookUrl: env.HUBSPOT_WEBHOOK_URL } : {}),
            },
      pipedrive:
        production && env.PIPEDRIVE_WEBHOOK_USER === undefined
          ? undefined
          : {
              user: env.PIPEDRIVE_WEBHOOK_USER ?? DEV_DEFAULTS.PIPEDRIVE_WEBHOOK_USER,
              password: env.PIPEDRIVE_WEBHOOK_PASSWORD ?? DEV_DEFAULTS.PIPEDRIVE_WEBHOOK_PASSWORD,
              startEvents: env.PIPEDRIVE_START_EVENTS,
            },
      gohighlevel:
        production && env.GHL_LOCATION_IDS === undefined
          ? undefined
          : {
              publicKey: env.GHL_WEBHOOK_PUBLIC_KEY ?? (production ? HIGHLEVEL_WEBHOOK_PUBLIC_KEY : DEV_DEFAULTS.GHL_WEBHOOK_PUBLIC_KEY),
              startEvents: env.GHL_START_EVENTS,
              ...(env.GHL_LOCATION_IDS !== undefined ? { locationIds: env.GHL_LOCATION_IDS } : {}),
            },
    },
    vaultKey: env.VAULT_KEY === undefined ? undefined : decodeVaultKey(env.VAULT_KEY),
    payloadKeys: env.PAYLOAD_KEYS ?? [DEV_PAYLOAD_KEY],
    email: {
      smtpUrl: env.SMTP_URL ?? `smtp://127.0.0.1:${env.MAILDEV_SMTP_PORT}`,
      from: env.EMAIL_FROM ?? DEV_DEFAULTS.EMAIL_FROM,
      agencyName: env.AGENCY_NAME ?? agencyNameOf(env.EMAIL_FROM ?? DEV_DEFAULTS.EMAIL_FROM),
      replyTo: env.EMAIL_REPLY_TO,
      opsAlertTo: env.OPS_ALERT_EMAIL,
      signupUrl: env.SIGNUP_URL,
      usesMailDev: env.SMTP_URL === undefined,
    },
    dns: { pollInitialMs: env.DNS_POLL_INITIAL, pollMaxMs: env.DNS_POLL_MAX, deadlineMs: env.DNS_DEADLINE, checksPerRun: env.DNS_CHECKS_PER_RUN },
    stallAlertMs: env.STALL_ALERT_AFTER,
    offboardingGraceMs: env.OFFBOARDING_GRACE,
    failedRetentionMs: env.FAILED_RETENTION,
    workerMetricsAddress: env.WORKER_METRICS_ADDRESS,
    worker: {
      maxCachedWorkflows: env.WORKER_MAX_CACHED_WORKFLOWS,
      ...(env.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS !== undefined ? { maxConcurrentWorkflowTaskExecutions: env.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS } : {}),
      ...(env.WORKER_MAX_CONCURRENT_ACTIVITIES !== undefined ? { maxConcurrentActivityTaskExecutions: env.WORKER_MAX_CONCURRENT_ACTIVITIES } : {}),
    },
    dnsSweepIntervalMs: env.DNS_SWEEP_INTERVAL,
    devStack: {
      simulatorPort: env.SIM_PORT,
      simulatorDnsPort: env.SIM_DNS_PORT,
      simulatorDnsVerifyAfterMs: env.SIM_DNS_VERIFY_AFTER_MS === 'never' ? null : env.SIM_DNS_VERIFY_AFTER_MS,
      simulatorCrmWebhookUrl: (env.SIM_CRM_WEBHOOK_URL ?? `http://127.0.0.1:${env.PORT}/webhooks`).replace(/\/+$/, ''),
      mailDevSmtpPort: env.MAILDEV_SMTP_PORT,
      mailDevWebPort: env.MAILDEV_WEB_PORT,
      temporalPort: env.TEMPORAL_PORT,
      temporalUiPort: env.TEMPORAL_UI_PORT,
      postgresPort: env.POSTGRES_PORT,
    },
  };
}

/**
 * One CRM's API settings: in production only when its token is set (the URL defaults to the real API); in development
 * the simulator's URL and token unless set.
 */
function crmApi<T>(
  production: boolean,
  urlSetting: string | undefined,
  realUrl: string,
  simulatorPort: number,
  mount: string,
  token: string | undefined,
  devToken: string,
  build: (apiUrl: string, token: string, usesSimulator: boolean) => T,
): T | undefined {
  if (production && token === undefined) return undefined;
  const usesSimulator = urlSetting === undefined && !production;
  const apiUrl = (urlSetting ?? (production ? realUrl : `http://127.0.0.1:${simulatorPort}/${mount}`)).replace(/\/+$/, '');
  return build(apiUrl, token ?? devToken, usesSimulator);
}

/** A comma list of names (blanks dropped), at least one. */
function commaList(message: string) {
  return z
    .string()
    .transform((list) => [...new Set(list.split(',').map((item) => item.trim()).filter(Boolean))])
    .refine((items) => items.length > 0, message);
}

/** A comma list of the events of a CRM that start an onboarding, e.g. `contact.creation,deal.won`. */
function startEventList<S extends CrmSource>(source: S) {
  const known: readonly string[] = CRM_START_EVENTS[source];
  return z.string().transform((list, ctx) => {
    const events = [...new Set(list.split(',').map((name) => name.trim().toLowerCase()).filter(Boolean))];
    const unknown = events.filter((name) => !known.includes(name));
    if (unknown.length > 0 || events.length === 0) {
      ctx.addIssue({ code: 'custom', message: `must be a comma list of ${known.join(', ')}${unknown.length > 0 ? ` (unknown: ${unknown.join(', ')})` : ''}` });
      return z.NEVER;
    }
    return events as CrmStartEvent<S>[];
  });
}

function isEd25519PublicKey(text: string): boolean {
  try {
    goHighLevelPublicKey(text);
    return true;
  } catch {
    return false;
  }
}

function isResolverAddress(server: string): boolean {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(server);
  if (bracketed) return isIP(bracketed[1]!) === 6;
  const [host, portText, ...rest] = server.split(':');
  if (isIP(server) === 6) return true;
  return rest.length === 0 && isIP(host ?? '') === 4 && (portText === undefined || /^\d{1,5}$/.test(portText));
}

function senderAddress(from: string): string {
  return /<([^>]+)>/.exec(from)?.[1] ?? from.trim();
}

/** The agency's name as a sender shows it: the display name of `Your Agency <hello@agency.example>`, else the domain. */
export function agencyNameOf(from: string): string {
  const displayName = /^\s*(.*?)\s*<[^>]*>\s*$/.exec(from)?.[1]?.replace(/^"(.*)"$/, '$1').replace(/\\(.)/g, '$1').trim();
  if (displayName) return displayName;
  return (/@([^>\s]+)>?\s*$/.exec(from)?.[1] ?? from).trim();
}

/**
 * 32 random bytes have about 30 distinct values; a key typed by hand (`aaaa…`, a repeated word) has a handful.
 * Fewer than 16 distinct bytes happens by chance with probability far below one in a trillion.
 */
function isRandomLooking(key: Buffer | undefined): boolean {
  return key === undefined || new Set(key).size >= 16;
}

export function decodeVaultKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  const bytes = Buffer.from(trimmed, 'base64');
  return bytes.length === 32 ? bytes : undefined;
}

/**
 * PAYLOAD_KEYS: `keyId:key` pairs, comma-separated, each key 32 random bytes as base64 or 64 hex characters (as
 * VAULT_KEY); the keys, or the problem (naming key ids, never a key).
 */
export function parsePayloadKeys(list: string): PayloadKey[] | string {
  const entries = list.split(',').map((entry) => entry.trim()).filter(Boolean);
  if (entries.length === 0) return 'must be keyId:key pairs separated by commas, e.g. 2026-01:<openssl rand -base64 32>; the first encrypts, all decrypt';
  const keys: PayloadKey[] = [];
  for (const entry of entries) {
    const colon = entry.indexOf(':');
    const id = colon < 0 ? '' : entry.slice(0, colon).trim();
    if (!PAYLOAD_KEY_ID.test(id)) return 'must be keyId:key pairs separated by commas (a key id is 1-64 letters, digits, . _ or -), e.g. 2026-01:<openssl rand -base64 32>';
    if (keys.some((k) => k.id === id)) return `key id "${id}" appears twice; each key needs its own id`;
    const key = decodeVaultKey(entry.slice(colon + 1));
    if (!key) return `the key of "${id}" must be 32 bytes as base64 or 64 hex characters`;
    if (!isRandomLooking(key)) return `the key of "${id}" looks made by hand (too few distinct bytes); generate one with \`openssl rand -base64 32\``;
    keys.push(payloadKey(id, key));
  }
  return keys;
}

/** For entry points: load the config or print every problem and exit non-zero. */
export function loadConfigOrExit(): Config {
  // A local .env file (see .env.example) is read when present; real environment variables win.
  if (existsSync('.env')) process.loadEnvFile('.env');
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}
