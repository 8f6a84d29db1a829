import { setTimeout as sleep } from 'node:timers/promises';
import type { Request, RequestHandler, Response } from 'express';
import type { CallLog } from './call-log.js';
import type { FaultQueue } from './faults.js';

/** What an operation answers; the body is sent as JSON, no body = an empty response. */
export interface Reply {
  status: number;
  body?: unknown;
}

/** An answer decided deep inside an operation (a 404, a validation error), in the platform's own body shape. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`simulated API answered ${status}`);
  }
}

export interface PlatformPipelineOptions<Route extends string> {
  faults: FaultQueue<Route>;
  callLog: CallLog<Route>;
  /** Aborted when the simulator shuts down, so injected latency does not hold the process open. */
  shutdownSignal: AbortSignal;
  /** The platform's own error body for an injected status. */
  faultBody(status: number, retryAfterSeconds: number | undefined): unknown;
}

/**
 * The request steps every simulated platform shares: naming the operation in its call log, injected faults and
 * answering (or, for a drop-after-write fault, doing the work and then destroying the connection unanswered).
 */
export function createPlatformPipeline<Route extends string>(options: PlatformPipelineOptions<Route>) {
  const { faults, callLog } = options;
  const responsesToDrop = new WeakSet<Response>();

  const nameCall =
    (route: Route): RequestHandler =>
    (_req, res, next) => {
      callLog.nameRoute(res, route);
      next();
    };

  const applyInjectedFault =
    (route: Route): RequestHandler =>
    async (_req, res, next) => {
      const fault = faults.takeFor(route);
      if (fault?.kind === 'status') {
        if (fault.retryAfterSeconds !== undefined) res.set('Retry-After', String(fault.retryAfterSeconds));
        res.status(fault.status).json(options.faultBody(fault.status, fault.retryAfterSeconds));
        return;
      }
      if (fault?.kind === 'latency') await sleep(fault.latencyMs, undefined, { signal: options.shutdownSignal });
      if (fault?.kind === 'drop-after-write') responsesToDrop.add(res);
      next();
    };

  const perform =
    (operation: (req: Request, res: Response) => Reply): RequestHandler =>
    (req, res) => {
      let reply: Reply;
      try {
        reply = operation(req, res);
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        reply = { status: error.status, body: error.body };
      }
      // The work is done and saved; the caller just never hears about it.
      if (responsesToDrop.has(res)) {
        req.socket.destroy();
        return;
      }
      if (reply.body === undefined) res.status(reply.status).end();
      else res.status(reply.status).json(reply.body);
    };

  return { nameCall, applyInjectedFault, perform };
}
