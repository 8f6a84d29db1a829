import { z } from 'zod';
import { parseSince } from '../config/index.js';
import { ClientCreatedData, ClientId, DomainName } from './crm-events.js';

/** Client data an operator may correct when retrying (everything but the CRM's own id). */
export const ClientCorrections = ClientCreatedData.omit({ clientId: true, services: true }).partial().strict();
export type ClientCorrections = z.infer<typeof ClientCorrections>;

export const RetryRequest = z
  .object({
    corrections: ClientCorrections.optional(),
    reason: z.string().trim().min(1).max(500).optional(),
    resumeCancelled: z
      .boolean()
      .optional()
      .describe('Must be true to retry a cancelled onboarding: someone stopped it on purpose, so resuming it is said out loud.'),
  })
  .strict();
export type RetryRequest = z.infer<typeof RetryRequest>;

/** Why an onboarding is cancelled; recorded, with who asked, in its `changes`. */
export const CancelRequest = z
  .object({
    reason: z.string().trim().min(1).max(500).optional().describe("Why it is cancelled; kept in the onboarding's change log with who asked."),
  })
  .strict();
export type CancelRequest = z.infer<typeof CancelRequest>;

/** A secret ops put in by hand: a WordPress key regenerated in NextNet's dashboard after it was lost, a Netlify access token. */
export const StoreSecretRequest = z.object({ value: z.string().trim().min(8, 'must be the whole key').max(1000) }).strict();
export type StoreSecretRequest = z.infer<typeof StoreSecretRequest>;

export const ONBOARDING_PHASES = ['registering', 'awaiting-dns', 'securing-tls', 'sending-signup-email', 'completed', 'failed', 'cancelled', 'offboarding', 'offboarded', 'reactivated'] as const;

export const WORKFLOW_KINDS = ['onboarding', 'offboarding'] as const;

export const ListOnboardingsQuery = z
  .object({
    status: z
      .enum(ONBOARDING_PHASES)
      .optional()
      .describe('Only this business status (the `OnboardingStatus` search attribute). `failed`: failures awaiting action (running) and the ones given up (closed).'),
    needsAttention: z
      .enum(['true', 'false'])
      .transform((v) => v === 'true')
      .optional()
      .describe('`true`: only onboardings that need a person (the `NeedsAttention` search attribute), open or closed; `false`: only the others.'),
    kind: z.enum(WORKFLOW_KINDS).optional().describe('Only onboardings, or only offboardings; both when absent.'),
    domain: DomainName.optional(),
    clientId: ClientId.optional(),
    closedSince: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' }).optional().describe('Only runs closed since then.'),
    pageSize: z.coerce
      .number()
      .int()
      .min(1)
      .max(200)
      .default(50)
      .describe('How many onboardings (rows) a page holds: the current run of each, never a continued-as-new or superseded run.'),
    pageToken: z.string().min(1).optional().describe('`nextPageToken` of the page before, with the same filters.'),
  })
  .strict();
export type ListOnboardingsQuery = z.infer<typeof ListOnboardingsQuery>;

export const OnboardingListItem = z.object({
  id: z.string().describe('The row\'s own workflow id (`onboarding-…` or `offboarding-…`): what `GET /v1/onboardings/{id}` takes.'),
  onboardingId: z.string().describe('The client\'s onboarding: the row itself, or the onboarding an offboarding row offboards.'),
  workflowId: z.string(),
  runId: z.string().describe('The current run: the latest of the workflow id.'),
  kind: z.enum(WORKFLOW_KINDS),
  clientId: z.string().nullable(),
  domain: z.string().nullable(),
  status: z.string().nullable(),
  needsAttention: z.boolean(),
  reason: z
    .string()
    .nullable()
    .describe('One line: the failure, what needs attention, or what it waits for (the workflow\'s `reason` memo); for runs from before it was kept, `needs attention` or null.'),
  workflowStatus: z.string(),
  startedAt: z.string().nullable(),
  closedAt: z.string().nullable(),
});

export const OnboardingList = z.object({
  items: z.array(OnboardingListItem),
  nextPageToken: z.string().nullable().describe('Pass as `pageToken` for the next page; null on the last.'),
});

/** The last failure of an activity that keeps failing (Temporal retries it), from the pending activities of the run. */
export const LastError = z.object({
  platform: z.string().describe('Whose call it is: a platform (`netlify`, `nextnet`), or `mail` (the mail server) or `vault`.'),
  activity: z.string().describe('The activity type, e.g. `registerClientDomain`.'),
  message: z.string().describe("The last attempt's failure message (activities never put secrets in it)."),
  attempt: z.number().int().describe('The attempt now running or next to run.'),
  nextAttemptAt: z.string().nullable().describe('When Temporal tries again; null while an attempt runs.'),
});

/** The client's offboarding as an onboarding's status shows it. */
export const ClientOffboarding = z.object({
  offboardingId: z.string(),
  status: z.enum(['grace-period', 'removing', 'offboarded', 'reactivated']),
  workflowStatus: z.string(),
  churnedAt: z.string(),
  removeAfter: z.string().describe('When the removal is due (the end of the grace period).'),
  removal: z.enum(['removed', 'already-gone', 'nothing-registered']).nullable().describe("What became of the domain at NextNet; null until the removal ran."),
  siteRemoval: z.enum(['removed', 'already-gone']).nullable().describe('What became of the Netlify site; null when there was none or not yet.'),
  secretsRevoked: z.boolean(),
  offboardedAt: z.string().nullable().describe('When the domain was removed and the secrets revoked; null until then.'),
  reactivatedAt: z.string().nullable(),
});

/** `GET /v1/onboardings/offboarding-<clientId>`: an offboarding's own status. */
export const OffboardingView = ClientOffboarding.extend({
  kind: z.literal('offboarding'),
  workflowId: z.string(),
  runId: z.string(),
  onboardingId: z.string(),
  clientId: z.string(),
  domain: z.string().nullable(),
  onboardingCancelled: z.boolean().describe('Whether the churn stopped an onboarding that was still running.'),
  updatedAt: z.string(),
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

/** A `since` query parameter: an ISO 8601 date or date-time, or a span back from now; `sinceDate` (api/reseller.ts) makes it a time. */
const SinceText = z
  .union([z.iso.datetime({ offset: true }), z.iso.date(), z.string().regex(/^\d+[smhdw]$/)], {
    error: 'must be an ISO 8601 date or date-time (2026-11-20, 2026-11-20T08:00:00Z) or a span back from now (30m, 24h, 7d, 2w)',
  })
  // A span such as 99999999999w reaches back before the earliest date a clock can tell: an Invalid Date downstream.
  .refine((text) => !Number.isNaN(parseSince(text, new Date())?.getTime()), { error: 'reaches back further than dates go; give a date instead (2026-11-20)' });

export const ResellerSubmissionsQuery = z
  .object({
    since: SinceText.default(SUBMISSIONS_SINCE_DEFAULT)
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

// --- /v1/audit: the vault's audit trail ------------------------------------------------------------------------

export const AUDIT_LIMIT_DEFAULT = 100;
export const AUDIT_LIMIT_MAX = 1000;

export const AuditQuery = z
  .object({
    onboardingId: z
      .string()
      .trim()
      .min(1)
      .max(200)
      // No onboarding id holds one, and PostgreSQL refuses a NUL in text outright (a 500, not an empty list).
      .regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters')
      .optional()
      .describe('Only entries about this onboarding\'s secrets (`onboarding-<clientId>`).'),
    since: SinceText.optional().describe(
      'Only entries at or after then: an ISO 8601 date or date-time, or a span back from now (`30m`, `24h`, `7d`, `2w`). With it, the first `limit` entries after then; without it, the latest `limit`.',
    ),
    limit: z.coerce
      .number({ error: 'must be a whole number from 1 to 1000' })
      .int({ error: 'must be a whole number from 1 to 1000' })
      .min(1, { error: 'must be a whole number from 1 to 1000' })
      .max(AUDIT_LIMIT_MAX, { error: 'must be a whole number from 1 to 1000' })
      .default(AUDIT_LIMIT_DEFAULT)
      .describe('At most this many entries (1 to 1000).'),
  })
  .strict();
export type AuditQuery = z.infer<typeof AuditQuery>;

/** One line of the vault's audit trail (`SecretAuditEntry` in vault/postgres-vault.ts); never the value. */
export const SecretAuditEntry = z.object({
  id: z.number().int(),
  at: z.string().describe('When, as an ISO 8601 date-time.'),
  onboardingId: z.string(),
  secretName: z.string().describe('`wordpress-api-key`, `netlify-access-token`, ...'),
  action: z.enum(['read', 'write', 'revoke', 'import']),
  actor: z.string().describe('Who: `ops-api token holder (<X-Ops-Actor>) from <ip>` for the ops API, `engine` for the workflows, ...'),
  purpose: z.string().nullable().describe('Why, as the actor said.'),
  outcome: z
    .string()
    .describe(
      'read: `revealed`, `not-found`, `revoked`, `unreadable`; write: `created`, `replaced`, `unchanged`, `refused-revoked`, `unreadable`; revoke: `revoked`, `nothing-stored`, `already-revoked`; import: `imported`, `imported-revoked`.',
    ),
  version: z.number().int().nullable().describe("The entry's version after a write or revocation, the one a read saw."),
  origin: z.string().describe('The process that acted: host name and pid.'),
});

export const SecretAuditList = z.object({
  items: z.array(SecretAuditEntry).describe('Oldest first.'),
});
