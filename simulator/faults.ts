import { z } from 'zod';

/** Names of the reseller API operations, as they appear in the call log and in fault rules. */
export const RESELLER_ROUTES = ['register', 'list', 'dashboard', 'patch', 'remove', 'topics'] as const;
export type ResellerRoute = (typeof RESELLER_ROUTES)[number];

const FaultRoute = z.enum([...RESELLER_ROUTES, 'any']);
const Times = z.number().int().min(1).default(1);

export const FaultRule = z.discriminatedUnion('kind', [
  z.object({
    route: FaultRoute,
    kind: z.literal('status'),
    status: z.number().int().min(400).max(599),
    retryAfterSeconds: z.number().int().min(0).optional(),
    times: Times,
  }),
  z.object({ route: FaultRoute, kind: z.literal('drop-after-write'), times: Times }),
  z.object({
    route: FaultRoute,
    kind: z.literal('latency'),
    latencyMs: z.number().int().min(0).max(120_000),
    times: Times,
  }),
]);
export type FaultRule = z.infer<typeof FaultRule>;
export type FaultRuleInput = z.input<typeof FaultRule>;

/** One request's share of a fault rule: what to do to this request. */
export type Fault =
  | { kind: 'status'; status: number; retryAfterSeconds?: number }
  | { kind: 'drop-after-write' }
  | { kind: 'latency'; latencyMs: number };

/** Faults are served first-in first-out; each matching request uses up one of a rule's `times`. */
export class FaultQueue {
  private rules: FaultRule[] = [];

  add(rule: FaultRule): void {
    this.rules.push({ ...rule });
  }

  clear(): void {
    this.rules = [];
  }

  pending(): FaultRule[] {
    return this.rules.map((rule) => ({ ...rule }));
  }

  takeFor(route: ResellerRoute): Fault | undefined {
    const index = this.rules.findIndex((rule) => rule.route === route || rule.route === 'any');
    const rule = this.rules[index];
    if (!rule) return undefined;
    rule.times -= 1;
    if (rule.times <= 0) this.rules.splice(index, 1);
    const { route: _route, times: _times, ...fault } = rule;
    return fault;
  }
}

/** DRF-like texts for the statuses a test is likely to inject. */
export function faultDetail(status: number, retryAfterSeconds: number | undefined): string {
  switch (status) {
    case 429:
      return retryAfterSeconds === undefined
        ? 'Request was throttled.'
        : `Request was throttled. Expected available in ${retryAfterSeconds} seconds.`;
    case 500:
      return 'A server error occurred.';
    case 502:
      return 'Bad gateway.';
    case 503:
      return 'Service temporarily unavailable.';
    case 504:
      return 'Gateway timeout.';
    default:
      return `Simulated fault with status ${status}.`;
  }
}
