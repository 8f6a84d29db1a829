import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import type { CallLog, SimulatedCall } from './call-log.js';
import type { FaultQueue, FaultRule, FaultRuleInput } from './faults.js';

/** A knob request the simulator cannot act on; answered with 400 (or the given status) and the message. */
export class KnobRejected extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export function parseKnobBody<Schema extends z.ZodType>(what: string, schema: Schema, body: unknown): z.output<Schema> {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) throw new KnobRejected(`Invalid ${what}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** The fault and call-log controls every platform has, in-process. */
export function createPlatformKnobs<Route extends string>(faults: FaultQueue<Route>, callLog: CallLog<Route>) {
  return {
    addFault(rule: FaultRuleInput<Route>): FaultRule<Route> {
      const parsed = parseKnobBody('fault', faults.schema, rule);
      faults.add(parsed);
      return parsed;
    },
    pendingFaults: (): FaultRule<Route>[] => faults.pending(),
    clearFaults: (): void => faults.clear(),
    calls: (): SimulatedCall<Route>[] => callLog.completed(),
  };
}
export type PlatformKnobs<Route extends string> = ReturnType<typeof createPlatformKnobs<Route>>;

/** `GET|POST|DELETE /faults` and `GET /calls` on a platform's knob router. */
export function addPlatformKnobRoutes<Route extends string>(router: express.Router, knobs: PlatformKnobs<Route>): void {
  router.get('/faults', (_req: Request, res: Response) => {
    res.json(knobs.pendingFaults());
  });

  router.post('/faults', (req: Request, res: Response) => {
    // addFault validates with zod; the cast only lets the in-process signature stay typed.
    res.status(201).json(knobs.addFault(req.body as FaultRuleInput<Route>));
  });

  router.delete('/faults', (_req: Request, res: Response) => {
    knobs.clearFaults();
    res.status(204).end();
  });

  router.get('/calls', (_req: Request, res: Response) => {
    res.json(knobs.calls());
  });
}

/** A JSON router for knobs; `express.json()` parses every body. */
export function knobRouter(): express.Router {
  const router = express.Router();
  router.use(express.json());
  return router;
}
