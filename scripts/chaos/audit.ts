/**
 * What a chaos scenario left behind, counted from the outside: each onboarding's state in Temporal, what the
 * simulated platforms hold (registrations, sites, the tokens and keys they issued), what the SMTP sink received,
 * and every secret value found in any process's log.
 */
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { NeedsAttention, OnboardingStatus, rawSearchAttribute } from '../../workflows/search-attributes.js';
import type { ChaosClient } from './crm.js';
import { eachLimited } from './crm.js';
import type { ReceivedEmail } from './smtp-sink.js';

export type Verdict = 'completed' | 'flagged' | 'failed' | 'lost';

export interface ClientOutcome {
  clientId: string;
  verdict: Verdict;
  /** Temporal's workflow status and the engine's own, or why the client counts as lost. */
  detail: string;
}

interface Snapshot {
  settled: boolean;
  verdict: Verdict;
  detail: string;
}

const WORKFLOW_STATUS = ['UNSPECIFIED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'CONTINUED_AS_NEW', 'TIMED_OUT'];

/** The onboarding as Temporal describes it, from its search attributes (`OnboardingStatus`, `NeedsAttention`). */
async function describeOnboarding(connection: Connection, workflowId: string): Promise<Snapshot> {
  try {
    const { workflowExecutionInfo: info } = await connection.workflowService.describeWorkflowExecution({ namespace: 'default', execution: { workflowId } });
    const fields = info?.searchAttributes?.indexedFields;
    return snapshotOf(WORKFLOW_STATUS[info?.status ?? 0] ?? 'UNKNOWN', String(rawSearchAttribute(fields, OnboardingStatus.name) ?? 'unknown'), rawSearchAttribute(fields, NeedsAttention.name) === true);
  } catch (err) {
    const code = (err as { code?: number }).code;
    return { settled: false, verdict: 'lost', detail: code === 5 ? 'no workflow' : `describe failed: ${(err as Error).message}` };
  }
}

function snapshotOf(workflowStatus: string, phase: string, attention: boolean): Snapshot {
  const detail = `${workflowStatus}/${phase}${attention ? '/needs-attention' : ''}`;
  if (phase === 'failed' || ['FAILED', 'TERMINATED', 'TIMED_OUT', 'CANCELLED'].includes(workflowStatus)) return { settled: true, verdict: 'failed', detail };
  if (phase === 'completed') return { settled: true, verdict: attention ? 'flagged' : 'completed', detail };
  // Still on its way; one that needs attention has told ops, one that does not is, for now, unaccounted for.
  return { settled: false, verdict: attention ? 'flagged' : 'lost', detail };
}

/**
 * Waits until every accepted client's onboarding has settled (completed, or failed, or completed needing a person)
 * or the deadline passes, watching Temporal's visibility (one count query for all of them, so the watching does not
 * load the server the engine runs on); then describes each for its verdict. What is still open at the deadline
 * counts as flagged when it told ops, else as lost.
 */
export async function waitForOnboardings(
  temporalAddress: string,
  clients: ChaosClient[],
  accepted: Set<string>,
  options: { deadline: number; progress: (line: string) => void },
): Promise<ClientOutcome[]> {
  const prefix = commonPrefix(clients.map((client) => client.clientId));
  const ours = new Set(clients.filter((client) => accepted.has(client.clientId)).map((client) => `onboarding-${client.clientId}`));
  let lastReport = 0;
  for (;;) {
    let settled = -1;
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address: temporalAddress, connectTimeout: 2_000 });
      // A count, not a listing: cheap enough for the server the engine runs on, even over a thousand onboardings.
      const { count } = await connection.workflowService.countWorkflowExecutions({
        namespace: 'default',
        query: `CrmClientId STARTS_WITH "${prefix}" AND ExecutionStatus != "ContinuedAsNew" AND (OnboardingStatus IN ("completed", "failed") OR ExecutionStatus != "Running")`,
      });
      settled = Number(count ?? 0);
    } catch {
      // Temporal is down (a scenario stopped it): ask again shortly.
    } finally {
      await connection?.close().catch(() => undefined);
    }
    const done = settled >= ours.size;
    if (done || Date.now() > options.deadline) break;
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      options.progress(`  ${Math.max(settled, 0)}/${ours.size} onboardings settled`);
    }
    await sleep(ours.size > 200 ? 5_000 : 1_000);
  }

  // The verdict of each, from its workflow itself; one that visibility counted too early is asked again until the deadline.
  const verdicts = new Map<string, Snapshot>();
  for (const client of clients) if (!accepted.has(client.clientId)) verdicts.set(client.clientId, { settled: true, verdict: 'lost', detail: 'delivery never accepted' });
  for (;;) {
    const connection = await connectWithin(temporalAddress, 60_000);
    try {
      const open = clients.filter((client) => !verdicts.get(client.clientId)?.settled);
      await eachLimited(open, 16, async (client) => {
        verdicts.set(client.clientId, await describeOnboarding(connection, `onboarding-${client.clientId}`));
      });
    } finally {
      await connection.close();
    }
    if (clients.every((client) => verdicts.get(client.clientId)!.settled) || Date.now() > options.deadline) break;
    await sleep(2_000);
  }
  return clients.map((client) => ({ clientId: client.clientId, verdict: verdicts.get(client.clientId)!.verdict, detail: verdicts.get(client.clientId)!.detail }));
}

async function connectWithin(address: string, timeoutMs: number): Promise<Connection> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await Connection.connect({ address, connectTimeout: 2_000 });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(1_000);
    }
  }
}

function commonPrefix(ids: string[]): string {
  let prefix = ids[0] ?? '';
  for (const id of ids) while (!id.startsWith(prefix)) prefix = prefix.slice(0, -1);
  return prefix;
}

interface SimulatedDomain {
  host: string;
  wordpressApiKey: string | null;
  removedAt: string | null;
}

interface SimulatedSite {
  id: string;
  name: string;
  custom_domain: string | null;
  owner_uid: string | null;
  removed_at: string | null;
  certificate: { state: string } | null;
}

interface SimulatedUser {
  uid: string;
  /** Every token minted for the user, oldest first. */
  tokens: string[];
}

export interface PlatformState {
  domains: SimulatedDomain[];
  sites: SimulatedSite[];
  users: SimulatedUser[];
}

export async function readPlatformState(simulatorUrl: string): Promise<PlatformState> {
  const get = async <T>(urlPath: string): Promise<T> => {
    const response = await fetch(`${simulatorUrl}/_simulator${urlPath}`);
    if (!response.ok) throw new Error(`simulator ${urlPath} answered ${response.status}`);
    return (await response.json()) as T;
  };
  const [domains, sites, users] = await Promise.all([get<SimulatedDomain[]>('/domains'), get<SimulatedSite[]>('/netlify/sites'), get<SimulatedUser[]>('/netlify/users')]);
  return { domains, sites, users };
}

/** Every secret the simulated platforms issued: WordPress keys and Netlify access tokens. */
export function issuedSecrets(state: PlatformState): string[] {
  return [...state.domains.flatMap((domain) => (domain.wordpressApiKey ? [domain.wordpressApiKey] : [])), ...state.users.flatMap((user) => user.tokens)];
}

export interface Duplicates {
  /** Registrations at NextNet beyond one per domain (removed ones count: each was a registration). */
  nextnet: number;
  /** Netlify sites beyond one per client (by owner or custom domain). */
  netlify: number;
  /** Signup emails beyond one per client, told apart by Message-ID (a resend of the same message is not another email). */
  emails: number;
  /**
   * The same message received again (one Message-ID, twice): what a crash inside the SMTP exchange leaves, since SMTP
   * cannot say whether the server kept the message; receivers dedupe on the Message-ID. Reported, not a duplicate.
   */
  resent: number;
  /** Onboarding workflows started beyond one per client. */
  workflows: number;
  /** Examples, for the report. */
  examples: string[];
}

/** The onboarding id in an email's Message-ID: `<signup.onboarding-<clientId>.<tag>@...>` or `<attention...>`. */
const MESSAGE_ID = /^<([a-z]+)\.onboarding-([^.]+)\.[^@]*@/;

export function countDuplicates(clients: ChaosClient[], state: PlatformState, emails: ReceivedEmail[], starts: Map<string, number>): Duplicates {
  const duplicates: Duplicates = { nextnet: 0, netlify: 0, emails: 0, resent: 0, workflows: 0, examples: [] };
  const example = (text: string) => {
    if (duplicates.examples.length < 5) duplicates.examples.push(text);
  };
  const ours = new Set(clients.map((client) => client.clientId));
  const registrations = new Map<string, number>();
  for (const domain of state.domains) registrations.set(domain.host, (registrations.get(domain.host) ?? 0) + 1);
  for (const client of clients) {
    const count = registrations.get(client.domain) ?? 0;
    if (count > 1) {
      duplicates.nextnet += count - 1;
      example(`${client.domain}: ${count} NextNet registrations`);
    }
    const sites = state.sites.filter((site) => site.owner_uid === client.clientId || site.custom_domain === client.domain);
    if (sites.length > 1) {
      duplicates.netlify += sites.length - 1;
      example(`${client.domain}: ${sites.length} Netlify sites (${sites.map((site) => site.name).join(', ')})`);
    }
    const started = starts.get(client.clientId) ?? 0;
    if (started > 1) {
      duplicates.workflows += started - 1;
      example(`${client.clientId}: ${started} deliveries answered "started"`);
    }
  }
  const perMessageId = new Map<string, number>();
  const signupIdsPerClient = new Map<string, Set<string>>();
  for (const email of emails) {
    const match = MESSAGE_ID.exec(email.messageId);
    if (!match || !ours.has(match[2]!)) continue;
    perMessageId.set(email.messageId, (perMessageId.get(email.messageId) ?? 0) + 1);
    if (match[1] === 'signup') {
      const ids = signupIdsPerClient.get(match[2]!) ?? new Set<string>();
      ids.add(email.messageId);
      signupIdsPerClient.set(match[2]!, ids);
    }
  }
  for (const [messageId, count] of perMessageId) {
    if (count > 1) {
      duplicates.resent += count - 1;
      example(`${messageId}: received ${count} times (one message, resent)`);
    }
  }
  for (const [clientId, ids] of signupIdsPerClient) {
    if (ids.size > 1) {
      duplicates.emails += ids.size - 1;
      example(`${clientId}: ${ids.size} different signup emails`);
    }
  }
  return duplicates;
}

/**
 * Completed onboardings whose work is not all there: no NextNet registration, no live Netlify site with a
 * certificate, or no signup email. Each is an onboarding the engine says is done that the client never got.
 */
export function missingEffects(clients: ChaosClient[], outcomes: ClientOutcome[], state: PlatformState, emails: ReceivedEmail[]): Map<string, string> {
  const missing = new Map<string, string>();
  const signups = new Set(emails.filter((email) => email.messageId.startsWith('<signup.')).map((email) => MESSAGE_ID.exec(email.messageId)?.[2]));
  for (const client of clients) {
    const outcome = outcomes.find((o) => o.clientId === client.clientId);
    if (!outcome || !(outcome.verdict === 'completed' || (outcome.verdict === 'flagged' && outcome.detail.includes('/completed')))) continue;
    const problems: string[] = [];
    if (!state.domains.some((domain) => domain.host === client.domain && domain.removedAt === null)) problems.push('no NextNet registration');
    const site = state.sites.find((s) => s.custom_domain === client.domain && s.removed_at === null);
    if (!site) problems.push('no Netlify site');
    else if (site.certificate?.state !== 'issued') problems.push('no certificate');
    if (!signups.has(client.clientId)) problems.push('no signup email');
    if (problems.length) missing.set(client.clientId, problems.join(', '));
  }
  return missing;
}

/** A part of a log file: from `start` to `end` bytes (a scenario's share of it). */
export interface LogSlice {
  name: string;
  file: string;
  start: number;
  end: number;
}

export interface Leak {
  secret: string;
  where: string;
}

const TOKEN_RUN = /[A-Za-z0-9_-]{16,}/g;

/**
 * Every secret found in any of the slices. Secrets made of [A-Za-z0-9_-] (tokens, keys) are looked up by a 16-character
 * window over each long run of such characters; the others (base64 with + / =) by a plain search.
 */
export async function findLeaks(slices: LogSlice[], secrets: { label: string; value: string }[]): Promise<Leak[]> {
  const byWindow = new Map<string, { label: string; value: string }[]>();
  const plain: { label: string; value: string }[] = [];
  for (const secret of secrets) {
    if (secret.value.length < 16) continue;
    if (/^[A-Za-z0-9_-]+$/.test(secret.value)) {
      const key = secret.value.slice(0, 16);
      byWindow.set(key, [...(byWindow.get(key) ?? []), secret]);
    } else plain.push(secret);
  }
  const found = new Map<string, Leak>();
  for (const slice of slices) {
    if (slice.end <= slice.start) continue;
    const handle = await open(slice.file, 'r');
    let text: string;
    try {
      const buffer = Buffer.alloc(slice.end - slice.start);
      await handle.read(buffer, 0, buffer.length, slice.start);
      text = buffer.toString('utf8');
    } finally {
      await handle.close();
    }
    for (const secret of plain) {
      if (!found.has(secret.value) && text.includes(secret.value)) found.set(secret.value, { secret: secret.label, where: slice.name });
      // The webhook secret's key without its prefix is as secret as the whole.
      const bare = secret.value.replace(/^whsec_/, '');
      if (bare !== secret.value && !found.has(secret.value) && text.includes(bare)) found.set(secret.value, { secret: secret.label, where: slice.name });
    }
    for (const match of text.matchAll(TOKEN_RUN)) {
      const run = match[0];
      for (let offset = 0; offset + 16 <= run.length; offset += 1) {
        const candidates = byWindow.get(run.slice(offset, offset + 16));
        if (!candidates) continue;
        for (const secret of candidates) {
          if (!found.has(secret.value) && run.startsWith(secret.value, offset)) found.set(secret.value, { secret: secret.label, where: slice.name });
        }
      }
    }
  }
  return [...found.values()];
}

/**
 * Why each flagged or failed onboarding stopped, as ops see it (`GET /v1/onboardings/{id}` of an API process, which
 * can read the workflow's encrypted status): reasons with how many onboardings gave each.
 */
export async function reasonsOf(apiUrl: string, opsToken: string, outcomes: ClientOutcome[]): Promise<Map<string, number>> {
  const reasons = new Map<string, number>();
  const wanted = outcomes.filter((outcome) => outcome.verdict === 'flagged' || outcome.verdict === 'failed').slice(0, 300);
  await eachLimited(wanted, 8, async (outcome) => {
    let reason: string;
    try {
      const response = await fetch(`${apiUrl}/v1/onboardings/onboarding-${outcome.clientId}`, { headers: { authorization: `Bearer ${opsToken}` }, signal: AbortSignal.timeout(20_000) });
      const view = (await response.json()) as { needsAttention?: { reason?: string } | null; failure?: { reason?: string } | null };
      reason = response.ok ? (outcome.verdict === 'failed' ? view.failure?.reason : view.needsAttention?.reason) ?? 'no reason given' : `the API answered ${response.status}`;
    } catch (err) {
      reason = `the API did not answer: ${(err as Error).message}`;
    }
    const key = `${outcome.verdict}: ${reason}`;
    reasons.set(key, (reasons.get(key) ?? 0) + 1);
  });
  return reasons;
}

/**
 * The secrets each completed onboarding keeps, read back through the ops API (as ops would) and compared with what
 * the platforms issued: the WordPress key must be the one NextNet issued for the domain, the Netlify token one that
 * Netlify minted for the client's user. A completed onboarding with a wrong or missing secret did not do its work.
 */
export async function checkStoredSecrets(apiUrl: string, opsToken: string, clients: ChaosClient[], outcomes: ClientOutcome[], state: PlatformState): Promise<Map<string, string>> {
  const problems = new Map<string, string>();
  const completed = outcomes.filter((outcome) => outcome.verdict === 'completed');
  const read = async (onboardingId: string, name: string): Promise<string | null> => {
    for (let attempt = 1; ; attempt += 1) {
      const response = await fetch(`${apiUrl}/v1/onboardings/${onboardingId}/secrets/${name}`, {
        headers: { authorization: `Bearer ${opsToken}`, 'x-ops-actor': 'chaos run (checks the stored secrets)' },
        signal: AbortSignal.timeout(30_000),
      });
      if (response.status === 404) return null;
      if (response.ok) return ((await response.json()) as { value: string }).value;
      if (response.status !== 503 || attempt >= 5) throw new Error(`${name}: the API answered ${response.status}`);
      await sleep(2_000);
    }
  };
  await eachLimited(completed, 6, async (outcome) => {
    const client = clients.find((c) => c.clientId === outcome.clientId)!;
    const onboardingId = `onboarding-${client.clientId}`;
    try {
      const issuedKey = state.domains.find((domain) => domain.host === client.domain && domain.removedAt === null)?.wordpressApiKey ?? null;
      const storedKey = await read(onboardingId, 'wordpress-api-key');
      if (storedKey !== issuedKey) problems.set(client.clientId, storedKey === null ? 'no WordPress key in the vault' : 'a WordPress key in the vault that NextNet did not issue for its domain');
      const tokens = state.users.find((user) => user.uid === client.clientId)?.tokens ?? [];
      const storedToken = await read(onboardingId, 'netlify-access-token');
      if (storedToken === null || !tokens.includes(storedToken)) problems.set(client.clientId, storedToken === null ? 'no Netlify access token in the vault' : 'a Netlify access token in the vault that Netlify did not mint for its user');
    } catch (err) {
      problems.set(client.clientId, `its secrets could not be read: ${(err as Error).message}`);
    }
  });
  return problems;
}
