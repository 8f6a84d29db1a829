import type express from 'express';
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { CallLog } from '../platform/call-log.js';
import type { FaultQueue } from '../platform/faults.js';
import { KnobRejected, addPlatformKnobRoutes, createPlatformKnobs, parseKnobBody } from '../platform/knobs.js';
import type { ResellerRoute } from './api.js';
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

const ForeignDomainBody = z.object({ host: z.string().trim().min(1) });
const ForcedStatusBody = z.object({ status: z.string().trim().min(1) });

export interface NextNetKnobDeps {
  store: ResellerStore;
  faults: FaultQueue<ResellerRoute>;
  callLog: CallLog<ResellerRoute>;
}

/** NextNet's test controls, usable in-process or over HTTP under /_simulator. */
export function createNextNetKnobs({ store, faults, callLog }: NextNetKnobDeps) {
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
    ...createPlatformKnobs(faults, callLog),

    domains: (): SimulatedDomain[] => store.allDomains().map(describe),

    /** The domain reads verified from now on (and so its client's DNS records are in place). */
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

    reset(): void {
      store.reset();
      faults.clear();
      callLog.clear();
    },
  };
}
export type NextNetKnobs = ReturnType<typeof createNextNetKnobs>;

/**
 * NextNet's knob routes, at the root of /_simulator. `verify` is the combined knob (it also puts the client's
 * DNS records in place for every platform), so it is passed in.
 */
export function addNextNetKnobRoutes(
  router: express.Router,
  knobs: Omit<NextNetKnobs, 'verifyDomain'>,
  verifyDomain: (host: string) => unknown,
): void {
  router.get('/domains', (_req: Request, res: Response) => {
    res.json(knobs.domains());
  });

  router.post('/domains/:host/verify', (req: Request, res: Response) => {
    res.json(verifyDomain(String(req.params['host'])));
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

  addPlatformKnobRoutes(router, knobs);
}
