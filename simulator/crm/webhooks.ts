import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { CrmSource } from '../../crm/types.js';

/** What one attempt of a delivery looks like on the wire; built again for each attempt (timestamps, attempt numbers). */
export interface SignedRequest {
  body: string;
  headers: Record<string, string>;
}

/** A webhook the simulator sent (or is sending), as the knobs show it; never the signature or credentials. */
export interface SimulatedDelivery {
  id: string;
  source: CrmSource;
  url: string;
  /** The CRM's event name: `contact.creation`, `deal.propertyChange`, `deal.change`, `ContactCreate`… */
  event: string;
  objectId: string;
  /** `pending` until answered 2xx (`delivered`), refused with a 4xx other than 429 or out of retries (`failed`). */
  state: 'pending' | 'delivered' | 'failed';
  attempts: { at: string; outcome: number | string }[];
  /** The body of the last attempt, as sent. */
  body: string;
}

export interface CrmWebhookOptions {
  /** Where deliveries go: `<url>/<source>`; unset: none is sent (the CRM has no webhook configured). */
  url: string | undefined;
  /** The waits before each retry; as many retries as entries. Default: 1 s, 5 s, 30 s (real CRMs go on for hours). */
  retryDelaysMs?: number[];
  /** A receiver must answer within this (HubSpot and Pipedrive give up after about 10 s). */
  timeoutMs?: number;
  now: () => number;
  logger?: Logger;
  fetch?: typeof fetch;
}

export const DEFAULT_WEBHOOK_RETRY_DELAYS_MS = [1_000, 5_000, 30_000];
/** Longest Retry-After honoured; a longer one waits this long. */
const MAX_RETRY_AFTER_MS = 60_000;

/**
 * Sends the CRMs' webhooks as the real ones do: after the API call that caused them has been answered, to the
 * configured URL, retried on a network error, a timeout, a 5xx or a 429 (after its Retry-After), never on another
 * 4xx. Every attempt is signed anew.
 */
export class CrmWebhookSender {
  url: string | undefined;
  private readonly deliveries: SimulatedDelivery[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly shutdown = new AbortController();
  private readonly retryDelaysMs: number[];
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: CrmWebhookOptions) {
    this.url = options.url?.replace(/\/+$/, '');
    this.retryDelaysMs = options.retryDelaysMs ?? DEFAULT_WEBHOOK_RETRY_DELAYS_MS;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.fetch = options.fetch ?? fetch;
  }

  /** Queues a delivery; `build(attempt, url)` signs the request of each attempt (1, 2, …). Undefined when no URL is set. */
  send(source: CrmSource, event: string, objectId: string, build: (attempt: number, url: string) => SignedRequest): SimulatedDelivery | undefined {
    if (this.url === undefined || this.shutdown.signal.aborted) return undefined;
    const delivery: SimulatedDelivery = { id: randomUUID(), source, url: `${this.url}/${source}`, event, objectId, state: 'pending', attempts: [], body: '' };
    this.deliveries.push(delivery);
    this.schedule(delivery, build, 1, 0);
    return delivery;
  }

  all(): SimulatedDelivery[] {
    return this.deliveries.map((delivery) => ({ ...delivery, attempts: [...delivery.attempts] }));
  }

  /** Resolves when no delivery is pending (each retry wait included); for tests. */
  async settled(): Promise<void> {
    while (this.deliveries.some((delivery) => delivery.state === 'pending') && !this.shutdown.signal.aborted) {
      await Promise.all([...this.inFlight]);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Forgets every delivery; pending ones stop. */
  clear(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const delivery of this.deliveries) if (delivery.state === 'pending') delivery.state = 'failed';
    this.deliveries.length = 0;
  }

  stop(): void {
    this.shutdown.abort();
    this.clear();
  }

  private schedule(delivery: SimulatedDelivery, build: (attempt: number, url: string) => SignedRequest, attempt: number, delayMs: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const running = this.attempt(delivery, build, attempt).finally(() => this.inFlight.delete(running));
      this.inFlight.add(running);
    }, delayMs);
    this.timers.add(timer);
  }

  private async attempt(delivery: SimulatedDelivery, build: (attempt: number, url: string) => SignedRequest, attempt: number): Promise<void> {
    if (delivery.state !== 'pending') return;
    const request = build(attempt, delivery.url);
    delivery.body = request.body;
    let outcome: number | string;
    let retryAfterMs: number | undefined;
    try {
      const response = await this.fetch(delivery.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...request.headers },
        body: request.body,
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(this.timeoutMs), this.shutdown.signal]),
      });
      await response.arrayBuffer().catch(() => undefined);
      outcome = response.status;
      const retryAfter = Number(response.headers.get('retry-after'));
      if (response.headers.get('retry-after') !== null && Number.isFinite(retryAfter)) retryAfterMs = Math.min(retryAfter * 1000, MAX_RETRY_AFTER_MS);
    } catch (err) {
      outcome = (err as Error).name === 'TimeoutError' ? 'timeout' : 'network-error';
    }
    if (delivery.state !== 'pending') return;
    delivery.attempts.push({ at: new Date(this.options.now()).toISOString(), outcome });
    if (typeof outcome === 'number' && outcome >= 200 && outcome < 300) {
      delivery.state = 'delivered';
      return;
    }
    const retryable = typeof outcome === 'string' || outcome >= 500 || outcome === 429;
    const wait = this.retryDelaysMs[attempt - 1];
    if (!retryable || wait === undefined || this.shutdown.signal.aborted) {
      delivery.state = 'failed';
      this.options.logger?.warn({ source: delivery.source, event: delivery.event, objectId: delivery.objectId, outcome, attempts: attempt }, 'simulated CRM webhook not delivered');
      return;
    }
    this.schedule(delivery, build, attempt + 1, Math.max(wait, retryAfterMs ?? 0));
  }
}
