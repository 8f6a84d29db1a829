import type express from 'express';
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { CallLog } from '../platform/call-log.js';
import type { FaultQueue } from '../platform/faults.js';
import { KnobRejected, addPlatformKnobRoutes, createPlatformKnobs, parseKnobBody } from '../platform/knobs.js';
import { type NetlifyLimits, type NetlifyRoute, siteView, submissionView } from './api.js';
import type { NetlifyStore, SiteRecord } from './store.js';

/**
 * Everything the simulator knows about a site, removed ones too: what GET /sites/{id} answers the reseller,
 * plus the owner's uid and email, whether the client's DNS records are in place, the certificate with the
 * payment method named for it, and when the site was removed.
 */
export type SimulatedSite = ReturnType<typeof siteView> & {
  /** null = the reseller account itself owns the site. */
  owner_uid: string | null;
  owner_email: string | null;
  client_dns_records_in_place: boolean;
  certificate: { state: string; domains: string[]; expires_at: string; payment_method_id: string | null } | null;
  removed_at: string | null;
};

/** A client user with every access token minted for it (oldest first): the simulator's inner view, secrets included. */
export interface SimulatedUser {
  id: string;
  uid: string;
  email: string;
  account_slug: string;
  created_at: string;
  tokens: string[];
}

const ForeignDomainBody = z.object({ host: z.string().trim().min(1) });
const ConfigBody = z
  .object({
    siteCreatesPerMinute: z.number().int().min(1).max(100_000).optional(),
    /** The limit's window; 60 s as at Netlify, shorter to test waiting for X-RateLimit-Reset quickly. */
    siteCreateWindowMs: z.number().int().min(100).max(3_600_000).optional(),
  })
  .strict();
export type NetlifyConfig = { siteCreatesPerMinute: number; siteCreateWindowMs: number };
const SubmissionBody = z
  .object({
    siteDomain: z.string().trim().min(1).optional(),
    siteId: z.string().trim().min(1).optional(),
    email: z.string().trim().min(1).nullish(),
    name: z.string().trim().min(1).nullish(),
    data: z.record(z.string(), z.unknown()).default({}),
    createdAt: z.iso.datetime({ offset: true }).optional(),
  })
  .refine((body) => body.siteDomain !== undefined || body.siteId !== undefined, { error: 'siteDomain or siteId is required' });
export type SubmissionKnobInput = z.input<typeof SubmissionBody>;

export interface NetlifyKnobDeps {
  store: NetlifyStore;
  faults: FaultQueue<NetlifyRoute>;
  callLog: CallLog<NetlifyRoute>;
  limits: NetlifyLimits;
}

/** Netlify's test controls, usable in-process or over HTTP under /_simulator/netlify. */
export function createNetlifyKnobs({ store, faults, callLog, limits }: NetlifyKnobDeps) {
  const describe = (site: SiteRecord): SimulatedSite => {
    const owner = site.ownerUserId === null ? undefined : store.findUser(site.ownerUserId);
    return {
      ...siteView(store, site),
      owner_uid: owner?.uid ?? null,
      owner_email: owner?.email ?? null,
      client_dns_records_in_place: site.removedAt === null && store.clientDnsRecordsInPlace(site),
      certificate: site.certificate && {
        state: site.certificate.state,
        domains: [...site.certificate.domains],
        expires_at: site.certificate.expiresAt,
        payment_method_id: site.certificate.paymentMethodId,
      },
      removed_at: site.removedAt,
    };
  };

  return {
    ...createPlatformKnobs(faults, callLog),

    sites: (): SimulatedSite[] => store.allSites().map(describe),

    users: (): SimulatedUser[] =>
      store.allUsers().map((user) => ({
        id: user.id,
        uid: user.uid,
        email: user.email,
        account_slug: user.accountSlug,
        created_at: user.createdAt,
        tokens: user.accessTokens.map(({ token }) => token),
      })),

    /** The host belongs to another Netlify account: using it as a custom domain answers 422 "must be unique". */
    addForeignDomain(host: string): void {
      if (!store.addForeignHost(host)) {
        throw new KnobRejected(`${host} is used by a site of this reseller; delete it before giving it to another.`, 409);
      }
    },

    /** A form submission on a live site, as if a visitor had sent the form. */
    addSubmission(input: SubmissionKnobInput) {
      const body = parseKnobBody('submission', SubmissionBody, input);
      const site = store.findActiveSite(body.siteId ?? body.siteDomain ?? '');
      if (!site) throw new KnobRejected(`No live site ${body.siteId ?? body.siteDomain}.`, 404);
      const submission = store.addSubmission(site, {
        email: body.email ?? null,
        name: body.name ?? null,
        data: body.data,
        createdAt: body.createdAt === undefined ? undefined : new Date(body.createdAt).toISOString(),
      });
      return submissionView(store, submission);
    },

    /** Sites whose client put DNS in place for this host (the verify knob); [] when no live site uses it. */
    putClientDnsInPlace: (host: string): SimulatedSite[] => store.putClientDnsInPlace(host).map(describe),

    config: (): NetlifyConfig => ({
      siteCreatesPerMinute: limits.siteCreates.limit,
      siteCreateWindowMs: limits.siteCreates.windowMs,
    }),

    /** Only the settings given change; the site-creation window starts empty. */
    configure(config: Partial<NetlifyConfig>): void {
      const parsed = parseKnobBody('config', ConfigBody, config);
      if (parsed.siteCreatesPerMinute !== undefined) limits.siteCreates.limit = parsed.siteCreatesPerMinute;
      if (parsed.siteCreateWindowMs !== undefined) limits.siteCreates.windowMs = parsed.siteCreateWindowMs;
      // A new limit starts with an empty window, so a test's earlier creations do not count against it.
      limits.siteCreates.clear();
    },

    reset(): void {
      store.reset();
      faults.clear();
      callLog.clear();
      limits.general.clear();
      limits.siteCreates.clear();
    },
  };
}
export type NetlifyKnobs = ReturnType<typeof createNetlifyKnobs>;

/** `/_simulator/netlify/...` */
export function addNetlifyKnobRoutes(router: express.Router, knobs: NetlifyKnobs): void {
  addPlatformKnobRoutes(router, knobs);

  router.get('/sites', (_req: Request, res: Response) => {
    res.json(knobs.sites());
  });

  router.get('/users', (_req: Request, res: Response) => {
    res.json(knobs.users());
  });

  router.post('/foreign-domains', (req: Request, res: Response) => {
    const { host } = parseKnobBody('foreign domain', ForeignDomainBody, req.body);
    knobs.addForeignDomain(host);
    res.status(201).json({ host: host.toLowerCase() });
  });

  router.post('/submissions', (req: Request, res: Response) => {
    res.status(201).json(knobs.addSubmission(req.body as SubmissionKnobInput));
  });

  router.get('/config', (_req: Request, res: Response) => {
    res.json(knobs.config());
  });

  router.post('/config', (req: Request, res: Response) => {
    knobs.configure(req.body as Partial<NetlifyConfig>);
    res.json(knobs.config());
  });
}
