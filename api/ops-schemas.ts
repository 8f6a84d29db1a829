import { z } from 'zod';
import { ClientCreatedData } from './crm-events.js';

/** Client data an operator may correct when retrying (everything but the CRM's own id). */
export const ClientCorrections = ClientCreatedData.omit({ clientId: true, services: true }).partial().strict();
export type ClientCorrections = z.infer<typeof ClientCorrections>;

export const RetryRequest = z
  .object({
    corrections: ClientCorrections.optional(),
    reason: z.string().trim().min(1).max(500).optional(),
  })
  .strict();
export type RetryRequest = z.infer<typeof RetryRequest>;

/** A secret ops put in by hand: a WordPress key regenerated in NextNet's dashboard after it was lost, a Netlify access token. */
export const StoreSecretRequest = z.object({ value: z.string().trim().min(8, 'must be the whole key').max(1000) }).strict();
export type StoreSecretRequest = z.infer<typeof StoreSecretRequest>;

export const ONBOARDING_PHASES = ['registering', 'awaiting-dns', 'securing-tls', 'sending-signup-email', 'completed', 'failed', 'cancelled', 'offboarding', 'offboarded', 'reactivated'] as const;

export const ListOnboardingsQuery = z
  .object({
    status: z.enum(ONBOARDING_PHASES).optional(),
    needsAttention: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
    domain: z.string().trim().toLowerCase().min(1).optional(),
    clientId: z.string().trim().min(1).optional(),
    closedSince: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' }).optional(),
    pageSize: z.coerce.number().int().min(1).max(200).default(50),
    pageToken: z.string().min(1).optional(),
  })
  .strict();
export type ListOnboardingsQuery = z.infer<typeof ListOnboardingsQuery>;

export const OnboardingListItem = z.object({
  onboardingId: z.string(),
  workflowId: z.string(),
  kind: z.enum(['onboarding', 'offboarding']),
  clientId: z.string().nullable(),
  domain: z.string().nullable(),
  status: z.string().nullable(),
  needsAttention: z.boolean(),
  workflowStatus: z.string(),
  startedAt: z.string().nullable(),
  closedAt: z.string().nullable(),
});

export const OnboardingList = z.object({
  items: z.array(OnboardingListItem),
  nextPageToken: z.string().nullable(),
});

export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    fields: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  }),
});

// --- /v1/reseller: the Netlify reseller account ------------------------------------------------------------

/** The onboarding a site or submission belongs to, as Temporal's visibility knows it. */
export const OnboardingRef = z.object({
  onboardingId: z.string(),
  clientId: z.string().nullable(),
  domain: z.string().nullable(),
  status: z.string().nullable().describe('The business status (OnboardingStatus search attribute).'),
  workflowStatus: z.string().describe("Temporal's own status of the onboarding's current run: RUNNING, COMPLETED, FAILED, ..."),
});

export const ResellerSite = z.object({
  id: z.string(),
  name: z.string().nullable().describe('The site name, also its <name>.netlify.app address.'),
  url: z.string().nullable(),
  sslUrl: z.string().nullable(),
  adminUrl: z.string().nullable(),
  customDomain: z.string().nullable(),
  domainAliases: z.array(z.string()),
  domain: z.string().nullable().describe('The custom domain without `www.`: what onboardings are matched on (as are the aliases).'),
  state: z.string().nullable(),
  ssl: z.boolean(),
  forceSsl: z.boolean(),
  sslStatus: z.string().nullable(),
  onboarding: OnboardingRef.nullable().describe('The onboarding whose domain is the site\'s custom domain or one of its aliases; null for an orphan.'),
});

export const ResellerSites = z.object({
  sites: z.array(ResellerSite),
  orphans: z.object({
    sitesWithoutOnboarding: z
      .array(z.object({ id: z.string(), name: z.string().nullable(), customDomain: z.string().nullable(), url: z.string().nullable() }))
      .describe('Sites of the reseller account no onboarding knows.'),
    onboardingsWithoutSite: z
      .array(OnboardingRef.extend({ site: z.object({ id: z.string(), name: z.string(), customDomain: z.string() }).describe('The site the onboarding made or adopted.') }))
      .describe('Running or completed onboardings whose plan includes Netlify and which made a site that Netlify no longer lists.'),
    unchecked: z
      .array(z.object({ onboardingId: z.string(), domain: z.string().nullable(), reason: z.string() }))
      .describe('Onboardings whose domain has no site but whose status could not be read (no worker answered), so they may belong in onboardingsWithoutSite.'),
  }),
});

export const SUBMISSIONS_SINCE_DEFAULT = '24h';

export const ResellerSubmissionsQuery = z
  .object({
    since: z
      .union([z.iso.datetime({ offset: true }), z.iso.date(), z.string().regex(/^\d+[smhdw]$/)], {
        error: 'must be an ISO 8601 date or date-time (2026-11-20, 2026-11-20T08:00:00Z) or a span back from now (30m, 24h, 7d, 2w)',
      })
      .default(SUBMISSIONS_SINCE_DEFAULT)
      .describe('Only submissions received since then: an ISO 8601 date or date-time, or a span back from now (`30m`, `24h`, `7d`, `2w`).'),
  })
  .strict();
export type ResellerSubmissionsQuery = z.infer<typeof ResellerSubmissionsQuery>;

export const ResellerSubmission = z.object({
  id: z.string(),
  number: z.number().nullable(),
  createdAt: z.string().nullable(),
  siteUrl: z.string().nullable(),
  host: z.string().nullable().describe("The host of `siteUrl`: what the client's onboarding is found by (without `www.`)."),
  formName: z.string().nullable(),
  email: z.string().nullable(),
  name: z.string().nullable(),
  company: z.string().nullable(),
  data: z.record(z.string(), z.unknown()).describe('The form fields as submitted.'),
  client: z.object({ onboardingId: z.string(), clientId: z.string().nullable(), domain: z.string() }).nullable().describe('The onboarding of the site the form is on; null when no onboarding has that domain.'),
});

export const ResellerSubmissions = z.object({
  since: z.string().describe('The start of the window, as an ISO 8601 date-time.'),
  submissions: z.array(ResellerSubmission).describe('Newest first, across every site of the reseller account.'),
});

export const ResellerCheckItem = z.object({
  check: z.string(),
  ok: z.boolean(),
  detail: z.string(),
  fix: z.string().nullable().describe('What to do to make the check pass; null when it passes.'),
  transient: z.boolean().optional().describe('True when DNS did not answer: the setting may be right; check again.'),
});

export const ResellerCheck = z.object({
  ok: z.boolean().describe('True when every check passes.'),
  items: z.array(ResellerCheckItem),
});
