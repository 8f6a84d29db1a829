import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { CrmSource } from '../crm/types.js';
import { clientDnsRecords, dnsPointsAtSite } from './client-dns.js';
import { CRM_BASE_PATHS, type CrmSimulatorOptions, createCrmSimulators } from './crm/index.js';
import { DnsRecordStore } from './dns-records.js';
import { startDnsServer } from './dns-server.js';
import { KnobRejected, type SimulatorKnobs, createKnobsRouter, createSimulatorKnobs } from './knobs.js';
import { NETLIFY_ROUTES, type NetlifyLimits, createNetlifyApiRouter } from './netlify/api.js';
import { createNetlifyKnobs } from './netlify/knobs.js';
import { SlidingWindowLimit } from './netlify/rate-limit.js';
import { NetlifyStore } from './netlify/store.js';
import { RESELLER_ROUTES, createResellerApiRouter } from './nextnet/api.js';
import { createNextNetKnobs } from './nextnet/knobs.js';
import { ResellerStore } from './nextnet/store.js';
import { CallLog, outcomeOf, pathOf, recordCalls } from './platform/call-log.js';
import { FaultQueue } from './platform/faults.js';

/** Accepted when no real key is configured; it is not a secret, so it may appear in docs and tests. */
export const DEV_RESELLER_API_KEY = 'sk_org_dev_simulator';
/** Netlify's reseller token when none is configured; not a secret either. */
export const DEV_NETLIFY_RESELLER_TOKEN = 'nfr_dev_simulator_reseller_token';

/** Where NextNet's API is mounted; a NextNet client's base URL is the simulator's URL plus this. */
export const NEXTNET_BASE_PATH = '/accounts';
/** Where Netlify's API is mounted, standing for https://api.netlify.com/api/v1. */
export const NETLIFY_BASE_PATH = '/netlify/api/v1';

export const DEFAULT_NETLIFY_SITE_CREATES_PER_MINUTE = 3;
export const NETLIFY_GENERAL_REQUESTS_PER_MINUTE = 500;
/** Netlify's load balancer, a widely used figure; a setting because Netlify may change it. */
export const DEFAULT_NETLIFY_LOAD_BALANCER_IP = '75.2.60.5';

export interface SimulatorOptions {
  /** Accepted reseller keys; all of them belong to the one simulated reseller organisation (think key rotation). */
  apiKeys: string[];
  /** Keys that authenticate but whose organisation is not a reseller: answered with 403. */
  nonResellerKeys?: string[];
  /** Netlify reseller tokens accepted as `Authorization: Bearer`; default [DEV_NETLIFY_RESELLER_TOKEN]. */
  netlifyResellerTokens?: string[];
  netlify?: {
    /** Site creations allowed in any window; default 3. */
    siteCreatesPerMinute?: number;
    /** The site-creation window; default 60 000 ms, as at Netlify. */
    siteCreateWindowMs?: number;
    /** The IP a client's apex A record points at; default 75.2.60.5. */
    loadBalancerIp?: string;
  };
  /**
   * This long after a domain is registered at NextNet, or its Netlify site gets it, the simulated client has
   * added its DNS records: the domain reads verified and the DNS answers the right records. null = never by itself.
   */
  dnsVerifyAfterMs: number | null;
  /**
   * When set: state is loaded at start and saved atomically after every mutation. NextNet's goes to this file,
   * Netlify's to the sibling `netlifyStateFileOf(stateFile)`. Both hold issued secrets.
   */
  stateFile?: string;
  /** Gets one line per request (method, path, status); never a key, a token or a WordPress key. */
  logger?: Logger;
  now?: () => number;
  /** HubSpot, Pipedrive and GoHighLevel (simulator/crm/): tokens, webhook credentials and where webhooks go. */
  crm?: CrmSimulatorOptions;
}

/** `state.json` → `state.netlify.json`; a name without `.json` gets `.netlify.json` appended. */
export function netlifyStateFileOf(stateFile: string): string {
  return stateFile.endsWith('.json') ? `${stateFile.slice(0, -'.json'.length)}.netlify.json` : `${stateFile}.netlify.json`;
}

export interface Simulator {
  app: express.Express;
  knobs: SimulatorKnobs;
  /** The simulated world's DNS data, which the DNS server answers from. */
  dnsRecords: DnsRecordStore;
  /** Ends injected latency waits so shutdown is not held up by them. */
  stop(): void;
}

export function createSimulator(options: SimulatorOptions): Simulator {
  const now = options.now ?? Date.now;
  const shutdown = new AbortController();
  const { logger } = options;
  const loadBalancerIp = options.netlify?.loadBalancerIp ?? DEFAULT_NETLIFY_LOAD_BALANCER_IP;

  const nextnetStore = new ResellerStore({ dnsVerifyAfterMs: options.dnsVerifyAfterMs, stateFile: options.stateFile, now });
  const nextnetFaults = new FaultQueue(RESELLER_ROUTES);
  const nextnetCalls = new CallLog<(typeof RESELLER_ROUTES)[number]>(now);

  const netlifyStore = new NetlifyStore({
    dnsVerifyAfterMs: options.dnsVerifyAfterMs,
    stateFile: options.stateFile === undefined ? undefined : netlifyStateFileOf(options.stateFile),
    now,
  });
  const netlifyFaults = new FaultQueue(NETLIFY_ROUTES);
  const netlifyCalls = new CallLog<(typeof NETLIFY_ROUTES)[number]>(now);
  const netlifyLimits: NetlifyLimits = {
    general: new SlidingWindowLimit(NETLIFY_GENERAL_REQUESTS_PER_MINUTE, now),
    siteCreates: new SlidingWindowLimit(
      options.netlify?.siteCreatesPerMinute ?? DEFAULT_NETLIFY_SITE_CREATES_PER_MINUTE,
      now,
      options.netlify?.siteCreateWindowMs,
    ),
  };

  const dnsRecords = new DnsRecordStore(() =>
    clientDnsRecords({ nextnet: nextnetStore, netlify: netlifyStore, loadBalancerIp }),
  );

  // Each CRM's state goes to a sibling of the state file too: state.hubspot.json, state.pipedrive.json, state.gohighlevel.json.
  const crm = createCrmSimulators({ options: options.crm ?? {}, stateFile: options.stateFile, now, shutdownSignal: shutdown.signal, logger });

  const knobs = createSimulatorKnobs({
    crm: crm.knobs,
    nextnet: createNextNetKnobs({ store: nextnetStore, faults: nextnetFaults, callLog: nextnetCalls }),
    netlify: createNetlifyKnobs({ store: netlifyStore, faults: netlifyFaults, callLog: netlifyCalls, limits: netlifyLimits }),
    dnsRecords,
    dnsVerifyAfterMs: {
      get: () => nextnetStore.verifyAfterMs,
      set: (delayMs) => {
        nextnetStore.setDnsVerifyAfterMs(delayMs);
        netlifyStore.setDnsVerifyAfterMs(delayMs);
      },
    },
  });

  const app = express();
  app.disable('x-powered-by');
  app.set('strict routing', true);

  app.use((req: Request, res: Response, next: NextFunction) => {
    const startedAt = performance.now();
    res.on('close', () => {
      logger?.info(
        { method: req.method, path: pathOf(req), status: outcomeOf(res), durationMs: Math.round(performance.now() - startedAt) },
        'request',
      );
    });
    next();
  });

  app.use(NEXTNET_BASE_PATH, recordCalls(nextnetCalls));
  app.use(
    NEXTNET_BASE_PATH,
    createResellerApiRouter({
      store: nextnetStore,
      faults: nextnetFaults,
      callLog: nextnetCalls,
      apiKeys: new Set(options.apiKeys),
      nonResellerKeys: new Set(options.nonResellerKeys ?? []),
      shutdownSignal: shutdown.signal,
    }),
  );

  app.use(NETLIFY_BASE_PATH, recordCalls(netlifyCalls));
  app.use(
    NETLIFY_BASE_PATH,
    createNetlifyApiRouter({
      store: netlifyStore,
      faults: netlifyFaults,
      callLog: netlifyCalls,
      resellerTokens: new Set(options.netlifyResellerTokens ?? [DEV_NETLIFY_RESELLER_TOKEN]),
      limits: netlifyLimits,
      dnsPointsAtSite: (site) => dnsPointsAtSite(dnsRecords, site, loadBalancerIp),
      shutdownSignal: shutdown.signal,
    }),
  );

  crm.mount(app);

  const crmKnobs = express.Router();
  crm.mountKnobs(crmKnobs);
  app.use('/_simulator', crmKnobs);
  app.use('/_simulator', createKnobsRouter(knobs));

  app.use((_req: Request, res: Response) => {
    res.status(404).json({ detail: 'Not found.' });
  });

  // Express needs all four parameters to recognise an error handler.
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent || req.socket.destroyed) return;
    if (error instanceof KnobRejected) {
      res.status(error.status).json({ detail: error.message });
      return;
    }
    const bodyParserError = asBodyParserError(error);
    if (bodyParserError) {
      const detail =
        bodyParserError.type === 'entity.parse.failed'
          ? `JSON parse error - ${bodyParserError.message}`
          : bodyParserError.message;
      res.status(bodyParserError.status).json({ detail });
      return;
    }
    logger?.error({ err: error, method: req.method, path: pathOf(req) }, 'simulator failed to handle a request');
    res.status(500).json({ detail: 'A server error occurred.' });
  });

  return {
    app,
    knobs,
    dnsRecords,
    stop: () => {
      shutdown.abort();
      crm.stop();
    },
  };
}

/** body-parser's errors carry a client status (400 malformed JSON, 413 too large) that we pass on. */
function asBodyParserError(error: unknown): { status: number; type: string; message: string } | undefined {
  if (!(error instanceof Error)) return undefined;
  const { status, type } = error as Error & { status?: unknown; type?: unknown };
  if (typeof status !== 'number' || status < 400 || status >= 500 || typeof type !== 'string') return undefined;
  return { status, type, message: error.message };
}

export interface RunningSimulator {
  /** http://host:port */
  url: string;
  /** url + '/accounts', what a NextNet client uses as its base URL. */
  baseUrl: string;
  /** url + '/netlify/api/v1', what a Netlify client uses instead of https://api.netlify.com/api/v1. */
  netlifyBaseUrl: string;
  /** Each CRM's API: what its client uses instead of the real base URL (https://api.hubapi.com…). */
  crmBaseUrls: Record<CrmSource, string>;
  /** The authoritative DNS server, when started (option `dns`): `address` is `127.0.0.1:<port>`. */
  dns?: { address: string; port: number };
  knobs: SimulatorKnobs;
  close(): Promise<void>;
}

export interface StartSimulatorOptions extends SimulatorOptions {
  port?: number;
  host?: string;
  /** Also serve the simulated DNS over UDP and TCP on this port (0 = any free one) of `host` (default 127.0.0.1). */
  dns?: { port?: number; host?: string };
}

export async function startSimulator(options: StartSimulatorOptions): Promise<RunningSimulator> {
  const { port = 0, host = '127.0.0.1', dns, ...simulatorOptions } = options;
  const simulator = createSimulator(simulatorOptions);
  const server = createServer(simulator.app);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  let dnsServer: Awaited<ReturnType<typeof startDnsServer>> | undefined;
  try {
    if (dns) {
      dnsServer = await startDnsServer({
        port: dns.port ?? 0,
        host: dns.host ?? '127.0.0.1',
        records: simulator.dnsRecords,
        logger: simulatorOptions.logger,
      });
    }
  } catch (error) {
    simulator.stop();
    server.close();
    throw error;
  }

  const address = server.address() as AddressInfo;
  const printableHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${printableHost}:${address.port}`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= Promise.all([
      new Promise<void>((resolve, reject) => {
        simulator.stop();
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive sockets would otherwise hold close() open until they time out.
        server.closeAllConnections();
      }),
      dnsServer?.close(),
    ]).then(() => undefined);
    return closing;
  };

  return {
    url,
    baseUrl: `${url}${NEXTNET_BASE_PATH}`,
    netlifyBaseUrl: `${url}${NETLIFY_BASE_PATH}`,
    crmBaseUrls: { hubspot: `${url}${CRM_BASE_PATHS.hubspot}`, pipedrive: `${url}${CRM_BASE_PATHS.pipedrive}`, gohighlevel: `${url}${CRM_BASE_PATHS.gohighlevel}` },
    ...(dnsServer && { dns: { address: dnsServer.address, port: dnsServer.port } }),
    knobs: simulator.knobs,
    close,
  };
}
