import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import type { CallLog, ResellerCall } from './call-log.js';
import { FaultRule, type FaultQueue, type FaultRuleInput } from './faults.js';
import type { DomainRecord, ResellerStore } from './store.js';

/** Everything the simulator knows about a domain, including the WordPress key the real API shows only once. */
export interface SimulatedDomain {
  id: string;
  host: string;
  clientUserEmail: string;
  verification_status: string;
  wordpressApiKey: string | null;
  created: string;
  removedAt: string | null;
}

/** A knob request the simulator cannot act on; answered with 400 (or the given status) and the message. */
export class KnobRejected extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const ForeignDomainBody = z.object({ host: z.string().trim().min(1) });
const ForcedStatusBody = z.object({ status: z.string().trim().min(1) });
const ConfigBody = z.object({ dnsVerifyAfterMs: z.number().int().min(0).nullable() });

function parseKnobBody<Schema extends z.ZodType>(what: string, schema: Schema, body: unknown): z.output<Schema> {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) throw new KnobRejected(`Invalid ${what}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

export interface KnobDeps {
  store: ResellerStore;
  faults: FaultQueue;
  callLog: CallLog;
}

/** Test controls, usable in-process or over HTTP under /_simulator. */
export function createKnobs({ store, faults, callLog }: KnobDeps) {
  const describe = (domain: DomainRecord): SimulatedDomain => ({
    id: domain.id,
    host: domain.host,
    clientUserEmail: store.clientUserOf(domain).email,
    verification_status: store.verificationStatusOf(domain),
    wordpressApiKey: domain.wordpressApiKey,
    created: domain.created,
    removedAt: domain.removedAt,
  });

  const registeredDomain = (host: string): DomainRecord => {
    const domain = store.findActiveDomainByHost(host);
    if (!domain) throw new KnobRejected(`No registered (non-removed) domain with host ${host}.`, 404);
    return domain;
  };

  return {
    domains: (): SimulatedDomain[] => store.allDomains().map(describe),

    verifyDomain(host: string): SimulatedDomain {
      const domain = registeredDomain(host);
      store.forceVerificationStatus(domain, 'verified');
      return describe(domain);
    },

    forceVerificationStatus(host: string, status: string): SimulatedDomain {
      const domain = registeredDomain(host);
      store.forceVerificationStatus(domain, status);
      return describe(domain);
    },

    addForeignDomain(host: string): void {
      if (!store.addForeignHost(host)) {
        throw new KnobRejected(`${host} is registered by this reseller; remove it before giving it to another.`, 409);
      }
    },

    configure(config: { dnsVerifyAfterMs: number | null }): void {
      store.setDnsVerifyAfterMs(config.dnsVerifyAfterMs);
    },

    config: () => ({ dnsVerifyAfterMs: store.verifyAfterMs }),

    addFault(rule: FaultRuleInput): FaultRule {
      const parsed = parseKnobBody('fault', FaultRule, rule);
      faults.add(parsed);
      return parsed;
    },

    pendingFaults: (): FaultRule[] => faults.pending(),

    clearFaults: (): void => faults.clear(),

    calls: (): ResellerCall[] => callLog.completed(),

    reset(): void {
      store.reset();
      faults.clear();
      callLog.clear();
    },
  };
}
export type SimulatorKnobs = ReturnType<typeof createKnobs>;

/** `/_simulator`: no authentication, because only tests and developers talk to it. */
export function createKnobsRouter(knobs: SimulatorKnobs): express.Router {
  const router = express.Router();
  router.use(express.json());

  router.get('/domains', (_req: Request, res: Response) => {
    res.json(knobs.domains());
  });

  router.post('/domains/:host/verify', (req: Request, res: Response) => {
    res.json(knobs.verifyDomain(String(req.params['host'])));
  });

  router.post('/domains/:host/status', (req: Request, res: Response) => {
    const { status } = parseKnobBody('status', ForcedStatusBody, req.body);
    res.json(knobs.forceVerificationStatus(String(req.params['host']), status));
  });

  router.post('/foreign-domains', (req: Request, res: Response) => {
    const { host } = parseKnobBody('foreign domain', ForeignDomainBody, req.body);
    knobs.addForeignDomain(host);
    res.status(201).json({ host: host.toLowerCase() });
  });

  router.get('/config', (_req: Request, res: Response) => {
    res.json(knobs.config());
  });

  router.post('/config', (req: Request, res: Response) => {
    knobs.configure(parseKnobBody('config', ConfigBody, req.body));
    res.json(knobs.config());
  });

  router.get('/faults', (_req: Request, res: Response) => {
    res.json(knobs.pendingFaults());
  });

  router.post('/faults', (req: Request, res: Response) => {
    // addFault validates with zod; the cast only lets the in-process signature stay typed.
    res.status(201).json(knobs.addFault(req.body as FaultRuleInput));
  });

  router.delete('/faults', (_req: Request, res: Response) => {
    knobs.clearFaults();
    res.status(204).end();
  });

  router.get('/calls', (_req: Request, res: Response) => {
    res.json(knobs.calls());
  });

  router.post('/reset', (_req: Request, res: Response) => {
    knobs.reset();
    res.status(204).end();
  });

  router.use((_req: Request, res: Response) => {
    res.status(404).json({ detail: 'Unknown simulator knob.' });
  });

  return router;
}
