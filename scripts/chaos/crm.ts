/**
 * The CRM side of `npm run chaos`: signed `client.created` deliveries (Standard Webhooks) to the API processes,
 * retried the way a CRM retries (network errors, 5xx and 429, honouring Retry-After) until accepted or a deadline.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';

export interface ChaosClient {
  clientId: string;
  email: string;
  domain: string;
  name: string;
}

export interface DeliveryResult {
  /** 202 bodies' `status`: started, already-started, ... ; `rejected <code>` or `gave up` otherwise. */
  outcome: string;
  attempts: number;
}

/** Clients of one scenario: ids and domains of their own, so scenarios never touch each other's clients. */
export function makeClients(scenario: string, count: number, runTag: string): ChaosClient[] {
  return Array.from({ length: count }, (_, index) => {
    const id = `chaos-${runTag}-${scenario}-${index}`;
    return { clientId: id, email: `owner-${index}@${id}.example.com`, domain: `${id}.example.com`, name: `Chaos Client ${index}` };
  });
}

export class Crm {
  private readonly webhook: Webhook;
  /** Deliveries retried, by what the API answered (`503`) or how the request failed. */
  readonly retries = new Map<string, number>();

  constructor(
    secret: string,
    private readonly options: { deadlineMs: number; onRetry?: (why: string) => void },
  ) {
    this.webhook = new Webhook(secret);
  }

  /** The event a CRM sends when the client signs; `timestamp` fixed, so every redelivery is the same event. */
  eventFor(client: ChaosClient, at = new Date()): string {
    return JSON.stringify({
      type: 'client.created',
      timestamp: at.toISOString(),
      data: { ...client, cms: 'wordpress', subscriptionTier: 'pro', industry: 'plumbing', businessScope: 'local', city: 'Tampa', state: 'Florida', services: ['netlify', 'nextnet'] },
    });
  }

  /**
   * Delivers `body` to `apiUrl` under the delivery id `webhookId` (a retry keeps it; a CRM sending the event again
   * picks a new one), retrying transient answers until the deadline.
   */
  async deliver(apiUrl: string, body: string, webhookId = `msg_${randomBytes(12).toString('hex')}`): Promise<DeliveryResult> {
    const deadline = Date.now() + this.options.deadlineMs;
    for (let attempt = 1; ; attempt += 1) {
      const at = new Date();
      let waitMs: number;
      let why: string;
      try {
        const response = await fetch(`${apiUrl}/webhooks/crm`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'webhook-id': webhookId,
            'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
            'webhook-signature': this.webhook.sign(webhookId, at, body),
          },
          body,
          signal: AbortSignal.timeout(30_000),
        });
        const text = await response.text();
        if (response.status === 202) return { outcome: (JSON.parse(text) as { status: string }).status, attempts: attempt };
        if (response.status !== 429 && response.status < 500) return { outcome: `rejected ${response.status}: ${text.slice(0, 200)}`, attempts: attempt };
        const retryAfter = Number(response.headers.get('retry-after'));
        waitMs = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : Math.min(500 * attempt, 5_000);
        why = `${response.status}`;
      } catch (err) {
        waitMs = Math.min(500 * attempt, 5_000);
        why = (err as Error).message;
      }
      if (Date.now() + waitMs > deadline) return { outcome: `gave up after ${attempt} attempts (${why})`, attempts: attempt };
      const key = /^\d+$/.test(why) ? why : 'network error';
      this.retries.set(key, (this.retries.get(key) ?? 0) + 1);
      this.options.onRetry?.(why);
      await sleep(waitMs);
    }
  }
}

/** Runs `work` over `items`, at most `concurrency` at a time. */
export async function eachLimited<T, R>(items: T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      for (let index = next++; index < items.length; index = next++) results[index] = await work(items[index]!, index);
    }),
  );
  return results;
}
