/**
 * `/v1/reseller`: the Netlify reseller account as a whole, seen from the onboardings. Every site of the account
 * with the onboarding it belongs to (and the orphans on either side), the latest form submissions with the client
 * each came from, and the reseller settings checklist. The bearer token is checked where this router is mounted.
 */
import express from 'express';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers.js';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { parseSince, type Config } from '../config/index.js';
import { NetlifyApiError, type NetlifyClient, type NetlifySite, type NetlifySubmission } from '../platforms/netlify/client.js';
import { checkResellerSettings } from '../platforms/netlify/reseller-check.js';
import { getStatus, ONBOARDING_WORKFLOW_TYPE, type OnboardingStatus } from '../workflows/definitions.js';
import { CrmClientId, OnboardingDomain, OnboardingStatus as OnboardingStatusKey } from '../workflows/search-attributes.js';
import { HttpError } from './errors.js';
import {
  ResellerSubmissionsQuery,
  type OnboardingRef,
  type ResellerCheck,
  type ResellerSite,
  type ResellerSites,
  type ResellerSubmission,
  type ResellerSubmissions,
} from './ops-schemas.js';
import { validated } from './request-schemas.js';
import { isTemporalUnreachable, isWorkflowNotFound, translateTemporalError } from './temporal-errors.js';

export interface ResellerRouterDependencies {
  /** Undefined when Netlify is not among the engine's configured platforms: the Netlify-backed routes answer 503. */
  netlify: NetlifyClient | undefined;
  config: Pick<Config, 'netlify' | 'dnsResolvers'>;
  temporal: Client;
  namespace: string;
  logger: Logger;
}

/** Each Temporal call is bounded, so a stuck Temporal answers 503 instead of holding the request open. */
const TEMPORAL_CALL_TIMEOUT_MS = 5_000;
/** Visibility answers at most this many executions a page. */
const VISIBILITY_PAGE_SIZE = 1_000;
/** A bound on paging: 100 pages of 1,000 onboardings. */
const MAX_VISIBILITY_PAGES = 100;
/** `getStatus` queries in flight at once when looking for onboardings whose site is gone. */
const STATUS_QUERY_CONCURRENCY = 8;
/** Domains per visibility query when looking up the clients of form submissions. */
const DOMAINS_PER_QUERY = 100;

type Onboarding = z.infer<typeof OnboardingRef> & { startedAt: number };

export function createResellerRouter(deps: ResellerRouterDependencies): express.Router {
  const { config, temporal, namespace, logger } = deps;
  const router = express.Router();

  const temporalCall = <T>(fn: () => Promise<T>, onboardingId?: string): Promise<T> =>
    temporal.connection.withDeadline(Date.now() + TEMPORAL_CALL_TIMEOUT_MS, fn).catch((err: unknown) => {
      throw translateTemporalError(err, { onboardingId });
    });

  /** The Netlify client, or 503 naming the settings that would configure it. */
  const netlifyClient = (): NetlifyClient => {
    if (deps.netlify) return deps.netlify;
    throw new HttpError(
      503,
      'netlify_not_configured',
      'Netlify is not configured on this engine: set NETLIFY_RESELLER_TOKEN (and NETLIFY_API_URL unless it is https://api.netlify.com/api/v1) where the API runs, then restart it',
    );
  };

  /** A Netlify call; any failure becomes 503 naming the settings to check, never the token. */
  const fromNetlify = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof NetlifyApiError)) throw err;
      const reason = redact(err.message, config.netlify.resellerToken);
      logger.warn({ netlifyError: reason, kind: err.kind }, `Netlify could not ${what}`);
      const retryAfterSeconds = err.retryAfterMs !== undefined ? Math.max(1, Math.ceil(err.retryAfterMs / 1000)) : 5;
      // A refused token already names NETLIFY_RESELLER_TOKEN in the client's message.
      const settings =
        err.kind === 'unauthorized'
          ? reason.includes('NETLIFY_RESELLER_TOKEN')
            ? ''
            : '; check NETLIFY_RESELLER_TOKEN (a reseller token from the Netlify reseller panel)'
          : `; check NETLIFY_API_URL (now ${describeUrl(config.netlify.apiUrl)}) and NETLIFY_RESELLER_TOKEN`;
      throw new HttpError(503, 'netlify_unavailable', `Netlify could not ${what}: ${reason}${settings}`, undefined, { 'Retry-After': String(retryAfterSeconds) });
    }
  };

  /** Every onboarding (the current run of each) matching `clause`, through visibility, one page after another. */
  const listOnboardings = async (clause?: string): Promise<Onboarding[]> => {
    const query = [`WorkflowType = ${quote(ONBOARDING_WORKFLOW_TYPE)}`, `ExecutionStatus != 'ContinuedAsNew'`, ...(clause ? [clause] : [])].join(' AND ');
    const byId = new Map<string, Onboarding>();
    let nextPageToken: Uint8Array | undefined;
    for (let page = 0; page < MAX_VISIBILITY_PAGES; page += 1) {
      const response = await temporalCall(() => temporal.workflowService.listWorkflowExecutions({ namespace, query, pageSize: VISIBILITY_PAGE_SIZE, nextPageToken }));
      const infos = await Promise.all(
        (response.executions ?? []).map((raw) => executionInfoFromRaw(raw, temporal.options.loadedDataConverter, raw, namespace)),
      );
      for (const info of infos) {
        const onboarding = onboardingOf(info);
        const known = byId.get(onboarding.onboardingId);
        // A retried onboarding leaves its failed run behind in visibility; the newest run is the onboarding.
        if (!known || onboarding.startedAt > known.startedAt) byId.set(onboarding.onboardingId, onboarding);
      }
      if (!response.nextPageToken?.length) break;
      nextPageToken = response.nextPageToken;
    }
    return [...byId.values()];
  };

  /** The status an onboarding's workflow reports, or why it could not be read. */
  const statusOf = async (onboardingId: string): Promise<{ status: OnboardingStatus } | { gone: true } | { problem: string; noWorker: boolean }> => {
    try {
      const status = await temporal.connection.withDeadline(Date.now() + TEMPORAL_CALL_TIMEOUT_MS, () => temporal.workflow.getHandle(onboardingId).query(getStatus));
      return { status };
    } catch (err) {
      if (isWorkflowNotFound(err)) return { gone: true };
      if (isTemporalUnreachable(err)) return { problem: 'no worker answered its getStatus query; is a worker running?', noWorker: true };
      return { problem: `its getStatus query failed: ${err instanceof Error ? err.message : String(err)}`, noWorker: false };
    }
  };

  router.get('/sites', async (_req, res) => {
    const netlify = netlifyClient();
    const sites = await fromNetlify("list the reseller account's sites", () => netlify.listSites());
    const onboardings = await listOnboardings();
    const byDomain = onboardingsByDomain(onboardings);

    const listed: z.infer<typeof ResellerSite>[] = sites.map((site) => {
      const onboarding = siteDomains(site)
        .map((domain) => byDomain.get(domain))
        .find((found) => found !== undefined);
      return siteView(site, onboarding ? publicOnboarding(onboarding) : null);
    });

    // Onboardings whose domain no listed site carries: only those can have lost their site, so only they are asked.
    const coveredDomains = new Set(sites.flatMap(siteDomains));
    const siteIds = new Set(sites.map((site) => site.id));
    const candidates = onboardings.filter(
      (onboarding) => (onboarding.workflowStatus === 'RUNNING' || onboarding.workflowStatus === 'COMPLETED') && !(onboarding.domain && coveredDomains.has(onboarding.domain)),
    );
    const onboardingsWithoutSite: ResellerSitesBody['orphans']['onboardingsWithoutSite'] = [];
    const unchecked: ResellerSitesBody['orphans']['unchecked'] = [];
    let noWorker = false;
    await eachWithConcurrency(candidates, STATUS_QUERY_CONCURRENCY, async (onboarding) => {
      if (noWorker) {
        unchecked.push({ onboardingId: onboarding.onboardingId, domain: onboarding.domain, reason: 'not checked: no worker answered the getStatus queries before it' });
        return;
      }
      const answer = await statusOf(onboarding.onboardingId);
      if ('gone' in answer) return;
      if ('problem' in answer) {
        noWorker ||= answer.noWorker;
        unchecked.push({ onboardingId: onboarding.onboardingId, domain: onboarding.domain, reason: answer.problem });
        return;
      }
      const { status } = answer;
      const site = status.netlify?.site;
      if (!(status.services ?? []).includes('netlify') || !site || siteIds.has(site.id)) return;
      onboardingsWithoutSite.push({ ...publicOnboarding(onboarding), site: { id: site.id, name: site.name, customDomain: site.customDomain } });
    });
    if (noWorker) logger.warn({ unchecked: unchecked.length }, 'reseller sites: no worker answered getStatus; some onboardings were not checked for a lost site');

    const body: ResellerSitesBody = {
      sites: listed,
      orphans: {
        sitesWithoutOnboarding: listed.filter((site) => site.onboarding === null).map(({ id, name, customDomain, url }) => ({ id, name, customDomain, url })),
        onboardingsWithoutSite: onboardingsWithoutSite.sort(byOnboardingId),
        unchecked: unchecked.sort(byOnboardingId),
      },
    };
    res.json(body);
  });

  router.get('/submissions', validated({ query: ResellerSubmissionsQuery }, { code: 'invalid_query', message: 'the submissions query is invalid' }, async ({ query }, _req, res) => {
    const since = sinceDate(query.since, new Date());
    const netlify = netlifyClient();
    const submissions = await fromNetlify("list the reseller account's form submissions", () => netlify.listSubmissions({ since }));

    const domains = [...new Set(submissions.map((submission) => domainOfHost(hostOf(submission.siteUrl))).filter((domain): domain is string => domain !== null))];
    const onboardings: Onboarding[] = [];
    for (let i = 0; i < domains.length; i += DOMAINS_PER_QUERY) {
      const chunk = domains.slice(i, i + DOMAINS_PER_QUERY);
      onboardings.push(...(await listOnboardings(`OnboardingDomain IN (${chunk.map(quote).join(', ')})`)));
    }
    const byDomain = onboardingsByDomain(onboardings);

    const body: ResellerSubmissionsBody = {
      since: since.toISOString(),
      submissions: submissions.map((submission) => {
        const host = hostOf(submission.siteUrl);
        const domain = domainOfHost(host);
        const onboarding = domain ? byDomain.get(domain) : undefined;
        return submissionView(submission, host, onboarding ? { onboardingId: onboarding.onboardingId, clientId: onboarding.clientId, domain: domain! } : null);
      }),
    };
    res.json(body);
  }));

  router.get('/check', async (_req, res) => {
    const result = await checkResellerSettings({
      previewDomain: config.netlify.previewDomain,
      resellerName: config.netlify.resellerName,
      notificationSenderDomain: config.netlify.notificationDomain,
      pagesDir: config.netlify.pagesDir,
      resolvers: config.dnsResolvers,
    });
    const body: z.infer<typeof ResellerCheck> = result;
    res.json(body);
  });

  return router;
}

type ResellerSitesBody = z.infer<typeof ResellerSites>;
type ResellerSubmissionsBody = z.infer<typeof ResellerSubmissions>;

function onboardingOf(info: WorkflowExecutionInfo): Onboarding {
  const attributes = info.typedSearchAttributes;
  const domain = attributes.get(OnboardingDomain);
  return {
    onboardingId: info.workflowId,
    clientId: attributes.get(CrmClientId) ?? null,
    domain: domain ? normalizeDomain(domain) : null,
    status: attributes.get(OnboardingStatusKey) ?? null,
    workflowStatus: info.status.name,
    startedAt: info.startTime.getTime(),
  };
}

function publicOnboarding({ startedAt: _startedAt, ...onboarding }: Onboarding): z.infer<typeof OnboardingRef> {
  return onboarding;
}

/** Which onboarding a domain belongs to: a running one first, then a completed one, then the newest. */
function onboardingsByDomain(onboardings: Onboarding[]): Map<string, Onboarding> {
  const rank = (o: Onboarding) => (o.workflowStatus === 'RUNNING' ? 2 : o.workflowStatus === 'COMPLETED' ? 1 : 0);
  const byDomain = new Map<string, Onboarding>();
  for (const onboarding of onboardings) {
    if (!onboarding.domain) continue;
    const known = byDomain.get(onboarding.domain);
    if (!known || rank(onboarding) > rank(known) || (rank(onboarding) === rank(known) && onboarding.startedAt > known.startedAt)) byDomain.set(onboarding.domain, onboarding);
  }
  return byDomain;
}

/** The client domains a site serves: its custom domain and aliases, without `www.`. */
function siteDomains(site: NetlifySite): string[] {
  return [...new Set([site.customDomain, ...site.domainAliases].filter((name): name is string => !!name).map((name) => domainOfHost(name)!).filter(Boolean))];
}

function siteView(site: NetlifySite, onboarding: z.infer<typeof OnboardingRef> | null): z.infer<typeof ResellerSite> {
  return {
    id: site.id,
    name: site.name,
    url: site.url,
    sslUrl: site.sslUrl,
    adminUrl: site.adminUrl,
    customDomain: site.customDomain,
    domainAliases: site.domainAliases,
    domain: site.customDomain ? domainOfHost(site.customDomain) : null,
    state: site.state,
    ssl: site.ssl,
    forceSsl: site.forceSsl,
    sslStatus: site.sslStatus ?? null,
    onboarding,
  };
}

function submissionView(submission: NetlifySubmission, host: string | null, client: z.infer<typeof ResellerSubmission>['client']): z.infer<typeof ResellerSubmission> {
  const formName = submission.raw.form_name;
  return {
    id: submission.id,
    number: submission.number,
    createdAt: submission.createdAt,
    siteUrl: submission.siteUrl,
    host,
    formName: typeof formName === 'string' ? formName : null,
    email: submission.email,
    name: submission.name,
    company: submission.company,
    data: submission.data,
    client,
  };
}

/** `https://www.acme.com/contact` → `www.acme.com`; null when there is no URL or it cannot be read. */
function hostOf(url: string | null): string | null {
  if (!url) return null;
  try {
    return new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `https://${url}`).hostname || null;
  } catch {
    return null;
  }
}

/** Lower case, no trailing dot: how onboardings store their domain. */
function normalizeDomain(name: string): string {
  return name.trim().toLowerCase().replace(/\.+$/, '');
}

/** A host as an onboarding domain: normalised and without a leading `www.`. */
function domainOfHost(host: string | null): string | null {
  if (!host) return null;
  const domain = normalizeDomain(host).replace(/^www\./, '');
  return domain === '' ? null : domain;
}

/** The query's `since` (already validated: an ISO date or date-time, or a span back from now such as `24h`) as a time. */
export function sinceDate(text: string, now: Date): Date {
  return parseSince(text, now) ?? new Date(Date.parse(text.trim()));
}

function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function redact(text: string, secret: string): string {
  return secret ? text.replaceAll(secret, '[REDACTED]') : text;
}

/** A URL as it may be shown: without any user name or password it carries. */
function describeUrl(raw: string): string {
  try {
    const url = new URL(raw);
    url.username = '';
    url.password = '';
    return url.href.replace(/\/$/, '');
  } catch {
    return 'not a URL';
  }
}

const byOnboardingId = (a: { onboardingId: string }, b: { onboardingId: string }) => a.onboardingId.localeCompare(b.onboardingId);

async function eachWithConcurrency<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
