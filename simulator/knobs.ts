import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import { DnsRecordSchema, type DnsRecord, type DnsRecordStore, type DnsRecordView, isDnsRecordName, normaliseDnsName } from './dns-records.js';
import type { CrmKnobs } from './crm/index.js';
import { type NetlifyKnobs, type SimulatedSite, addNetlifyKnobRoutes } from './netlify/knobs.js';
import { type NextNetKnobs, type SimulatedDomain, addNextNetKnobRoutes } from './nextnet/knobs.js';
import { KnobRejected, knobRouter, parseKnobBody } from './platform/knobs.js';

export { KnobRejected } from './platform/knobs.js';

const ConfigBody = z.object({ dnsVerifyAfterMs: z.number().int().min(0).nullable() });
const DnsRecordsBody = z.object({ records: z.array(DnsRecordSchema) });

export interface SimulatorKnobDeps {
  nextnet: NextNetKnobs;
  netlify: NetlifyKnobs;
  dnsRecords: DnsRecordStore;
  /** HubSpot's, Pipedrive's and GoHighLevel's knobs, and the webhooks they sent (their routes: simulator/crm/index.ts). */
  crm: CrmKnobs;
  /** The client-DNS delay, which both platforms follow. */
  dnsVerifyAfterMs: { get(): number | null; set(delayMs: number | null): void };
}

/** The verify knob's answer for a host only a Netlify site uses. */
export interface VerifiedNetlifyHost {
  host: string;
  netlifySites: SimulatedSite[];
}

/**
 * Test controls, usable in-process (`simulator.knobs`) or over HTTP under /_simulator. NextNet's own knobs are
 * at the top level (as they always were); Netlify's are under `netlify`, the DNS overrides under `dns`.
 */
export function createSimulatorKnobs({ nextnet, netlify, dnsRecords, crm, dnsVerifyAfterMs }: SimulatorKnobDeps) {
  const dns = {
    records: (): DnsRecordView[] => dnsRecords.all(),

    /** These records answer for the name from now on, instead of the automatic ones; [] = the name answers nothing. */
    setRecords(name: string, records: DnsRecord[]): DnsRecordView {
      if (!isDnsRecordName(name)) throw new KnobRejected(`Invalid DNS name ${name}.`);
      const parsed = parseKnobBody('DNS records', DnsRecordsBody, { records }).records;
      dnsRecords.setOverride(name, parsed);
      return { name: normaliseDnsName(name), source: 'override', records: parsed };
    },

    /** Drops the override; the automatic records (if any) answer again. */
    deleteRecords(name: string): void {
      dnsRecords.deleteOverride(name);
    },
  };

  return {
    ...nextnet,

    /**
     * The client has added its DNS records for the host: the right records answer at once, the NextNet domain
     * reads verified, and Netlify sites with this custom domain can get their certificate.
     */
    verifyDomain(host: string): SimulatedDomain | VerifiedNetlifyHost {
      const netlifySites = netlify.putClientDnsInPlace(host);
      if (nextnet.domains().some((domain) => domain.host === host.toLowerCase() && domain.removedAt === null)) {
        return nextnet.verifyDomain(host);
      }
      if (netlifySites.length === 0) {
        throw new KnobRejected(`No registered (non-removed) domain and no live Netlify site with host ${host}.`, 404);
      }
      return { host: host.toLowerCase(), netlifySites };
    },

    config: () => ({ dnsVerifyAfterMs: dnsVerifyAfterMs.get() }),

    configure(config: { dnsVerifyAfterMs: number | null }): void {
      dnsVerifyAfterMs.set(parseKnobBody('config', ConfigBody, config).dnsVerifyAfterMs);
    },

    /** Forgets everything of both platforms and the CRMs (not their configuration) and every DNS override. */
    reset(): void {
      nextnet.reset();
      netlify.reset();
      crm.reset();
      dnsRecords.clearOverrides();
    },

    netlify,
    crm,
    dns,
  };
}
export type SimulatorKnobs = ReturnType<typeof createSimulatorKnobs>;

/** `/_simulator`: no authentication, because only tests and developers talk to it. */
export function createKnobsRouter(knobs: SimulatorKnobs): express.Router {
  const router = knobRouter();

  const netlify = knobRouter();
  addNetlifyKnobRoutes(netlify, knobs.netlify);
  router.use('/netlify', netlify);

  router.get('/dns/records', (_req: Request, res: Response) => {
    res.json(knobs.dns.records());
  });

  router.put('/dns/records/:name', (req: Request, res: Response) => {
    const { records } = parseKnobBody('DNS records', DnsRecordsBody, req.body);
    res.json(knobs.dns.setRecords(String(req.params['name']), records));
  });

  router.delete('/dns/records/:name', (req: Request, res: Response) => {
    knobs.dns.deleteRecords(String(req.params['name']));
    res.status(204).end();
  });

  addNextNetKnobRoutes(router, knobs, (host) => knobs.verifyDomain(host));

  router.get('/config', (_req: Request, res: Response) => {
    res.json(knobs.config());
  });

  router.post('/config', (req: Request, res: Response) => {
    knobs.configure(req.body as { dnsVerifyAfterMs: number | null });
    res.json(knobs.config());
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
