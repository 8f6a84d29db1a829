import { z } from 'zod';

/** A queued fault rule of one platform; `route` names one of its operations, or `any`. */
export type FaultRule<Route extends string> =
  | { route: Route | 'any'; kind: 'status'; status: number; retryAfterSeconds?: number; times: number }
  | { route: Route | 'any'; kind: 'drop-after-write'; times: number }
  | { route: Route | 'any'; kind: 'latency'; latencyMs: number; times: number };

/** What a test sends: `times` defaults to 1. */
export type FaultRuleInput<Route extends string> =
  | { route: Route | 'any'; kind: 'status'; status: number; retryAfterSeconds?: number; times?: number }
  | { route: Route | 'any'; kind: 'drop-after-write'; times?: number }
  | { route: Route | 'any'; kind: 'latency'; latencyMs: number; times?: number };

/** One request's share of a fault rule: what to do to this request. */
export type Fault =
  | { kind: 'status'; status: number; retryAfterSeconds?: number }
  | { kind: 'drop-after-write' }
  | { kind: 'latency'; latencyMs: number };

/** The rule schema for a platform whose operations are `routes`. */
export function faultRuleSchema<Route extends string>(
  routes: readonly [Route, ...Route[]],
): z.ZodType<FaultRule<Route>, FaultRuleInput<Route>> {
  const route = z.enum([...routes, 'any'] as [Route | 'any', ...(Route | 'any')[]]);
  const times = z.number().int().min(1).default(1);
  const schema = z.discriminatedUnion('kind', [
    z.object({
      route,
      kind: z.literal('status'),
      status: z.number().int().min(400).max(599),
      retryAfterSeconds: z.number().int().min(0).optional(),
      times,
    }),
    z.object({ route, kind: z.literal('drop-after-write'), times }),
    z.object({ route, kind: z.literal('latency'), latencyMs: z.number().int().min(0).max(120_000), times }),
  ]);
  return schema as unknown as z.ZodType<FaultRule<Route>, FaultRuleInput<Route>>;
}

/** Faults are served first-in first-out; each matching request uses up one of a rule's `times`. */
export class FaultQueue<Route extends string> {
  readonly schema: z.ZodType<FaultRule<Route>, FaultRuleInput<Route>>;
  private rules: FaultRule<Route>[] = [];

  constructor(readonly routes: readonly [Route, ...Route[]]) {
    this.schema = faultRuleSchema(routes);
  }

  add(rule: FaultRule<Route>): void {
    this.rules.push({ ...rule });
  }

  clear(): void {
    this.rules = [];
  }

  pending(): FaultRule<Route>[] {
    return this.rules.map((rule) => ({ ...rule }));
  }

  takeFor(route: Route): Fault | undefined {
    const index = this.rules.findIndex((rule) => rule.route === route || rule.route === 'any');
    const rule = this.rules[index];
    if (!rule) return undefined;
    rule.times -= 1;
    if (rule.times <= 0) this.rules.splice(index, 1);
    const { route: _route, times: _times, ...fault } = rule;
    return fault;
  }
}
