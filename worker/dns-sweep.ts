/**
 * The DNS sweep: once a minute (DNS_SWEEP_INTERVAL), one call to NextNet's domain list, which carries every domain's
 * `verification_status`, instead of waiting for each onboarding's own next poll. An onboarding awaiting DNS whose
 * domain NextNet now reads verified gets the `checkDnsNow` signal, so it checks (and completes) at once rather than
 * up to DNS_POLL_MAX later. Each onboarding keeps its own polls (they cover Netlify's DNS and every other case);
 * the sweep only shortens the wait after a verification, for one list call a minute whatever the number waiting.
 *
 * Only domains that became verified since the sweep before are looked up (in Temporal's visibility, by the
 * `OnboardingDomain` and `OnboardingStatus` search attributes), so a steady state costs the list call alone. A
 * signal is idempotent (at most one extra check), so several workers sweeping at once do no harm.
 */
import { Client, Connection } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { payloadDataConverter } from '../config/payload-codec.js';
import { temporalConnectionOptions } from '../config/temporal-connection.js';
import { classifyVerificationStatus, NextNetClient, type ListedDomain } from '../platforms/nextnet/client.js';
import { checkDnsNow, ONBOARDING_WORKFLOW_TYPE } from '../workflows/definitions.js';
import { OnboardingDomain, rawSearchAttribute } from '../workflows/search-attributes.js';

export interface DnsSweepOptions {
  nextnet: { listDomains(): Promise<ListedDomain[]> };
  client: Pick<Client, 'workflow' | 'workflowService'>;
  /** The Temporal namespace of the onboardings; default `default`. */
  namespace?: string;
  intervalMs: number;
  logger: Logger;
  /** Signals sent at once; default 20. */
  concurrency?: number;
  /** Above this many newly verified domains one listing of every onboarding awaiting DNS is cheaper than lookups by domain; default 500. */
  fullScanAbove?: number;
}

export interface SweepOutcome {
  /** Domains NextNet listed. */
  listed: number;
  /** Of them, verified. */
  verified: number;
  /** Verified since the sweep before (every verified one at the first sweep). */
  newlyVerified: number;
  /** Onboardings awaiting DNS among those, signalled to check now. */
  signalled: number;
  /** Signals that failed (retried at the next sweep). */
  failed: number;
  tookMs: number;
}

export interface DnsSweep {
  /** One sweep now (the timer's sweeps never overlap with it). */
  sweepOnce(): Promise<SweepOutcome>;
  stop(): Promise<void>;
}

const DOMAINS_PER_QUERY = 100;
const VISIBILITY_PAGE_SIZE = 1_000;

const normalise = (host: string) => host.trim().toLowerCase().replace(/\.$/, '');

const quote = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export function startDnsSweep(options: DnsSweepOptions): DnsSweep {
  const log = options.logger.child({ component: 'dns-sweep' });
  const concurrency = options.concurrency ?? 20;
  const fullScanAbove = options.fullScanAbove ?? 500;
  /** Hosts read verified at the last sweep whose onboardings (if any were waiting) were signalled. */
  let handled = new Set<string>();
  let running: Promise<SweepOutcome> | null = null;
  let stopped = false;

  /** Running onboardings awaiting DNS on these domains (a Set: every one), as workflow ids. */
  const awaiting = async (hosts: Set<string>): Promise<string[]> => {
    const base = `WorkflowType = ${quote(ONBOARDING_WORKFLOW_TYPE)} AND ExecutionStatus = 'Running' AND OnboardingStatus = 'awaiting-dns'`;
    const ids: string[] = [];
    // Raw pages: only the search attributes are read (never encoded by the payload codec), so a memo this process
    // cannot decrypt does not stop the sweep.
    const collect = async (query: string) => {
      let nextPageToken: Uint8Array | undefined;
      do {
        const page = await options.client.workflowService.listWorkflowExecutions({ namespace: options.namespace ?? 'default', query, pageSize: VISIBILITY_PAGE_SIZE, nextPageToken });
        for (const run of page.executions ?? []) {
          const domain = rawSearchAttribute(run.searchAttributes?.indexedFields, OnboardingDomain.name);
          if (typeof domain === 'string' && run.execution?.workflowId && hosts.has(normalise(domain))) ids.push(run.execution.workflowId);
        }
        nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
      } while (nextPageToken);
    };
    if (hosts.size > fullScanAbove) {
      await collect(base);
    } else {
      const list = [...hosts];
      for (let i = 0; i < list.length; i += DOMAINS_PER_QUERY) {
        await collect(`${base} AND OnboardingDomain IN (${list.slice(i, i + DOMAINS_PER_QUERY).map(quote).join(', ')})`);
      }
    }
    return [...new Set(ids)];
  };

  const sweep = async (): Promise<SweepOutcome> => {
    const started = performance.now();
    const domains = await options.nextnet.listDomains();
    const verified = new Set(domains.filter((d) => classifyVerificationStatus(d.verification_status) === 'verified').map((d) => normalise(d.host)));
    const fresh = new Set([...verified].filter((host) => !handled.has(host)));
    let signalled = 0;
    let failed = 0;
    let lookAgain = false;
    if (fresh.size > 0) {
      const ids = await awaiting(fresh);
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(concurrency, ids.length) }, async () => {
          for (let i = next++; i < ids.length; i = next++) {
            const workflowId = ids[i]!;
            try {
              await options.client.workflow.getHandle(workflowId).signal(checkDnsNow);
              signalled += 1;
            } catch (err) {
              failed += 1;
              // Closed since the listing (completed, cancelled): nothing to wake. Anything else: try again next sweep.
              if ((err as Error).name !== 'WorkflowNotFoundError') lookAgain = true;
              log.debug({ workflowId, err: { message: (err as Error).message } }, 'could not signal an onboarding to check DNS now');
            }
          }
        }),
      );
    }
    // After a failed signal the next sweep looks at every host that was fresh in this one again (rare, and cheap).
    handled = lookAgain ? new Set([...verified].filter((host) => !fresh.has(host))) : verified;
    const outcome = { listed: domains.length, verified: verified.size, newlyVerified: fresh.size, signalled, failed, tookMs: Math.round(performance.now() - started) };
    if (signalled > 0 || failed > 0) log.info(outcome, 'DNS sweep: onboardings whose domain NextNet now reads verified were told to check now');
    else log.debug(outcome, 'DNS sweep');
    return outcome;
  };

  const sweepOnce = (): Promise<SweepOutcome> => {
    running ??= sweep().finally(() => {
      running = null;
    });
    return running;
  };

  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      sweepOnce()
        .catch((err: unknown) => log.warn({ err: { message: (err as Error).message } }, 'DNS sweep failed; the next one tries again'))
        .finally(schedule);
    }, options.intervalMs);
    timer.unref();
  };
  schedule();

  return {
    sweepOnce,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}

/**
 * The sweep as the worker runs it (worker/main.ts, `npm start`): with NextNet configured and DNS_SWEEP_INTERVAL not
 * `off`, on a Temporal connection of its own; undefined otherwise. `stop()` also closes the connection.
 */
export async function startConfiguredDnsSweep(config: Config, logger: Logger): Promise<DnsSweep | undefined> {
  if (config.dnsSweepIntervalMs === null || !config.availableServices.includes('nextnet')) return undefined;
  const connection = await Connection.connect(temporalConnectionOptions(config.temporal));
  const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter: payloadDataConverter(config) });
  const sweep = startDnsSweep({
    nextnet: new NextNetClient({ baseUrl: config.reseller.apiUrl, apiKey: config.reseller.apiKey, timeoutMs: config.reseller.timeoutMs }),
    client,
    namespace: config.temporal.namespace,
    intervalMs: config.dnsSweepIntervalMs,
    logger,
  });
  return {
    sweepOnce: sweep.sweepOnce,
    async stop() {
      await sweep.stop();
      await connection.close();
    },
  };
}
