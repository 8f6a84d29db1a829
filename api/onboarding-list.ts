import { createHash, createHmac } from 'node:crypto';
import type { WorkflowExecutionInfo } from '@temporalio/client';
import type { z } from 'zod';
import { MEMO_REASON, OFFBOARDING_WORKFLOW_TYPE, ONBOARDING_WORKFLOW_TYPE } from '../workflows/definitions.js';
import { CrmClientId, NeedsAttention, OnboardingDomain, OnboardingStatus as OnboardingStatusKey } from '../workflows/search-attributes.js';
import { HttpError } from './errors.js';
import type { ListOnboardingsQuery, OnboardingList, OnboardingListItem } from './ops-schemas.js';
import { quoteVisibility, type TemporalCalls } from './temporal-calls.js';

type Item = z.infer<typeof OnboardingListItem>;

/** How many runs the list reads from visibility at a time; a page token keeps the size it was made with. */
const VISIBILITY_PAGE_SIZE = 100;
/** Workflow ids per query when looking for newer runs of the closed runs of a page: a whole visibility page's. */
const IDS_PER_QUERY = VISIBILITY_PAGE_SIZE;

/**
 * Where the next page starts: a visibility page (Temporal's token, none for the first) and how many of its runs
 * were already read. A page of onboardings can end in the middle of a visibility page; the next one resumes there.
 */
interface Cursor {
  /** Temporal's page token, base64; null for the first visibility page. */
  page: string | null;
  /** Runs of that visibility page already read. */
  skip: number;
  /** The last run read: the next page resumes after it, wherever runs started since have moved it. */
  after: string | null;
  /** The visibility page size the token was made with (skip counts runs of pages of that size). */
  size: number;
  /** A fingerprint of the query, so a token is only used with the filters it was made for. */
  query: string;
}

/**
 * The onboarding list: from Temporal's visibility, newest first, one row per onboarding or offboarding (its current
 * run: never a run that continued as new or that a later run superseded, as a retry or a returning client makes).
 * A page holds `pageSize` such rows. Each row is what visibility holds (search attributes, the memo's reason): no
 * workflow is described or queried. A page of open onboardings is one visibility call; closed runs on it take one
 * more, which looks for later runs of their ids.
 */
export class OnboardingListing {
  /**
   * @param tokenKey keys the page tokens' checksum: a secret every API of the deployment shares (the ops token), so a
   * token one API made reads on another, and one made by hand never reaches Temporal.
   */
  constructor(
    private readonly calls: TemporalCalls,
    private readonly tokenKey: string,
  ) {}

  async list(query: ListOnboardingsQuery): Promise<z.infer<typeof OnboardingList>> {
    const visibilityQuery = visibilityQueryOf(query);
    const fingerprint = createHash('sha256').update(visibilityQuery).digest('base64url').slice(0, 16);
    let cursor: Cursor = query.pageToken ? decodeCursor(query.pageToken, fingerprint, this.tokenKey) : { page: null, skip: 0, after: null, size: VISIBILITY_PAGE_SIZE, query: fingerprint };
    const items: Item[] = [];
    // Newest first, so the first row of a workflow id is its latest run; a later row of the same id (an older run
    // that visibility still shows as running for a moment after it continued as new) is left out.
    const listed = new Set<string>();

    for (;;) {
      const page = await this.calls.listPage(visibilityQuery, cursor.size, cursor.page === null ? null : Buffer.from(cursor.page, 'base64'));
      const resumeAt = cursor.after === null ? -1 : page.executions.findIndex((run) => run.runId === cursor.after);
      const start = resumeAt >= 0 ? resumeAt + 1 : cursor.skip;
      const runs = page.executions.slice(start);
      const superseded = await this.supersededRuns(runs);
      for (const [index, run] of runs.entries()) {
        if (!superseded.has(run.runId) && !listed.has(run.workflowId)) {
          items.push(listItem(run));
          listed.add(run.workflowId);
        }
        if (items.length < query.pageSize) continue;
        const read = start + index + 1;
        const next: Cursor | null =
          read < page.executions.length
            ? { ...cursor, skip: read, after: run.runId }
            : page.nextPageToken
              ? { ...cursor, page: Buffer.from(page.nextPageToken).toString('base64'), skip: 0, after: null }
              : null;
        return { items, nextPageToken: next && encodeCursor(next, this.tokenKey) };
      }
      if (!page.nextPageToken) return { items, nextPageToken: null };
      cursor = { ...cursor, page: Buffer.from(page.nextPageToken).toString('base64'), skip: 0, after: null };
    }
  }

  /**
   * The closed runs among these that are not the latest run of their workflow id: a later run of the id exists
   * (found in one visibility query per page). A running run is the latest of its id (Temporal runs one at a time);
   * the one moment it is not, when visibility still shows a run that just continued as new as running beside its
   * successor, the successor started later and so came first in this newest-first list, which keeps one row per id.
   */
  private async supersededRuns(runs: WorkflowExecutionInfo[]): Promise<Set<string>> {
    const ids = [...new Set(runs.filter((run) => run.status.name !== 'RUNNING').map((run) => run.workflowId))];
    const latest = new Map<string, { runId: string; startedAt: number }>();
    for (let i = 0; i < ids.length; i += IDS_PER_QUERY) {
      const batch = ids.slice(i, i + IDS_PER_QUERY);
      const query = `WorkflowId IN (${batch.map(quoteVisibility).join(', ')}) AND ExecutionStatus != 'ContinuedAsNew'`;
      let token: Uint8Array | null = null;
      do {
        const page = await this.calls.listPage(query, VISIBILITY_PAGE_SIZE, token);
        for (const run of page.executions) {
          const known = latest.get(run.workflowId);
          if (!known || run.startTime.getTime() > known.startedAt) latest.set(run.workflowId, { runId: run.runId, startedAt: run.startTime.getTime() });
        }
        token = page.nextPageToken;
      } while (token);
    }
    return new Set(runs.filter((run) => (latest.get(run.workflowId)?.runId ?? run.runId) !== run.runId).map((run) => run.runId));
  }
}

/**
 * The visibility query of a list request. Runs that continued as new are never rows; the filters are the search
 * attributes the Temporal UI filters on, so `status=failed` is the UI's `OnboardingStatus="failed"` and
 * `needsAttention=true` its `NeedsAttention=true AND ExecutionStatus!="ContinuedAsNew"` (README, "Operating it").
 */
export function visibilityQueryOf(query: ListOnboardingsQuery): string {
  const types = query.kind === 'onboarding' ? [ONBOARDING_WORKFLOW_TYPE] : query.kind === 'offboarding' ? [OFFBOARDING_WORKFLOW_TYPE] : [ONBOARDING_WORKFLOW_TYPE, OFFBOARDING_WORKFLOW_TYPE];
  const clauses = [`WorkflowType IN (${types.map(quoteVisibility).join(', ')})`, `ExecutionStatus != 'ContinuedAsNew'`];
  if (query.status) clauses.push(`OnboardingStatus = ${quoteVisibility(query.status)}`);
  if (query.needsAttention !== undefined) clauses.push(`NeedsAttention = ${query.needsAttention}`);
  if (query.domain) clauses.push(`OnboardingDomain = ${quoteVisibility(query.domain)}`);
  if (query.clientId) clauses.push(`CrmClientId = ${quoteVisibility(query.clientId)}`);
  if (query.closedSince) clauses.push(`CloseTime >= ${quoteVisibility(new Date(query.closedSince).toISOString())}`);
  return clauses.join(' AND ');
}

function listItem(info: WorkflowExecutionInfo): Item {
  const attributes = info.typedSearchAttributes;
  const offboarding = info.type === OFFBOARDING_WORKFLOW_TYPE;
  const needsAttention = attributes.get(NeedsAttention) ?? false;
  return {
    id: info.workflowId,
    onboardingId: offboarding ? info.workflowId.replace(/^offboarding-/, 'onboarding-') : info.workflowId,
    workflowId: info.workflowId,
    runId: info.runId,
    kind: offboarding ? 'offboarding' : 'onboarding',
    clientId: attributes.get(CrmClientId) ?? null,
    domain: attributes.get(OnboardingDomain) ?? null,
    status: attributes.get(OnboardingStatusKey) ?? null,
    needsAttention,
    reason: reasonOf(info.memo?.[MEMO_REASON], needsAttention),
    workflowStatus: info.status.name,
    startedAt: info.startTime.toISOString(),
    closedAt: info.closeTime?.toISOString() ?? null,
  };
}

/** The first line of the memo's reason; runs from before the memo have only the attention flag to go on. */
function reasonOf(memo: unknown, needsAttention: boolean): string | null {
  const line = typeof memo === 'string' ? (memo.split('\n')[0] ?? '').trim() : '';
  if (line) return line;
  return needsAttention ? 'needs attention' : null;
}

function encodeCursor(cursor: Cursor, key: string): string {
  return Buffer.from(JSON.stringify({ v: 1, p: cursor.page, s: cursor.skip, a: cursor.after, n: cursor.size, q: cursor.query, c: cursorChecksum(cursor, key) })).toString('base64url');
}

/**
 * Catches a token that was edited, garbled or made by hand: Temporal answers a page token it cannot read with an error
 * its client retries until the call's deadline, so only tokens this deployment made may reach it. Keyed (HMAC) with a
 * secret every API shares; a token grants nothing, it only has to be this deployment's own.
 */
function cursorChecksum(cursor: Cursor, key: string): string {
  return createHmac('sha256', `onboarding list page token\0${key}`)
    .update(JSON.stringify([cursor.page, cursor.skip, cursor.after, cursor.size, cursor.query]))
    .digest('base64url')
    .slice(0, 16);
}

function decodeCursor(token: string, fingerprint: string, key: string): Cursor {
  const invalid = (message: string) => new HttpError(400, 'invalid_query', 'the list query is invalid', [{ field: 'pageToken', message }]);
  let raw: { v?: unknown; p?: unknown; s?: unknown; a?: unknown; n?: unknown; q?: unknown; c?: unknown };
  try {
    raw = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as typeof raw;
  } catch {
    throw invalid('is not a page token of this list');
  }
  const valid =
    raw !== null &&
    typeof raw === 'object' &&
    raw.v === 1 &&
    (raw.p === null || typeof raw.p === 'string') &&
    Number.isInteger(raw.s) &&
    (raw.s as number) >= 0 &&
    (raw.a === null || typeof raw.a === 'string') &&
    Number.isInteger(raw.n) &&
    (raw.n as number) >= 1 &&
    (raw.n as number) <= 1000 &&
    typeof raw.q === 'string';
  if (!valid) throw invalid('is not a page token of this list');
  const cursor: Cursor = { page: raw.p as string | null, skip: raw.s as number, after: raw.a as string | null, size: raw.n as number, query: raw.q as string };
  if (raw.c !== cursorChecksum(cursor, key)) throw invalid('is not a page token of this list (it was changed); pass nextPageToken as the page before gave it');
  if (raw.q !== fingerprint) throw invalid('was made for other filters; pass the same filters as the page before');
  return cursor;
}
