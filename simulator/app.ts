import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { CallLog, outcomeOf, pathOf } from './call-log.js';
import { FaultQueue } from './faults.js';
import { KnobRejected, type SimulatorKnobs, createKnobs, createKnobsRouter } from './knobs.js';
import { createResellerApiRouter } from './reseller-api.js';
import { ResellerStore } from './store.js';

/** Accepted when no real key is configured; it is not a secret, so it may appear in docs and tests. */
export const DEV_RESELLER_API_KEY = 'sk_org_dev_simulator';

export interface SimulatorOptions {
  /** Accepted reseller keys; all of them belong to the one simulated reseller organisation (think key rotation). */
  apiKeys: string[];
  /** Keys that authenticate but whose organisation is not a reseller: answered with 403. */
  nonResellerKeys?: string[];
  /** A registered domain turns 'verified' this long after registration; null = never by itself. */
  dnsVerifyAfterMs: number | null;
  /** When set: state is loaded at start and saved atomically after every mutation. Holds WordPress keys. */
  stateFile?: string;
  /** Gets one line per request (method, path, status); never the API key or a WordPress key. */
  logger?: Logger;
  now?: () => number;
}

export interface Simulator {
  app: express.Express;
  knobs: SimulatorKnobs;
  /** Ends injected latency waits so shutdown is not held up by them. */
  stop(): void;
}

export function createSimulator(options: SimulatorOptions): Simulator {
  const now = options.now ?? Date.now;
  const store = new ResellerStore({ dnsVerifyAfterMs: options.dnsVerifyAfterMs, stateFile: options.stateFile, now });
  const faults = new FaultQueue();
  const callLog = new CallLog(now);
  const knobs = createKnobs({ store, faults, callLog });
  const shutdown = new AbortController();
  const { logger } = options;

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

  app.use('/accounts', (req: Request, res: Response, next: NextFunction) => {
    callLog.begin(req, res);
    next();
  });
  app.use(
    '/accounts',
    createResellerApiRouter({
      store,
      faults,
      callLog,
      apiKeys: new Set(options.apiKeys),
      nonResellerKeys: new Set(options.nonResellerKeys ?? []),
      shutdownSignal: shutdown.signal,
    }),
  );
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

  return { app, knobs, stop: () => shutdown.abort() };
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
  knobs: SimulatorKnobs;
  close(): Promise<void>;
}

export async function startSimulator(
  options: SimulatorOptions & { port?: number; host?: string },
): Promise<RunningSimulator> {
  const { port = 0, host = '127.0.0.1', ...simulatorOptions } = options;
  const simulator = createSimulator(simulatorOptions);
  const server = createServer(simulator.app);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const address = server.address() as AddressInfo;
  const printableHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${printableHost}:${address.port}`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve, reject) => {
      simulator.stop();
      server.close((error) => (error ? reject(error) : resolve()));
      // Keep-alive sockets would otherwise hold close() open until they time out.
      server.closeAllConnections();
    });
    return closing;
  };

  return { url, baseUrl: `${url}/accounts`, knobs: simulator.knobs, close };
}
