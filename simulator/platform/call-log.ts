import type { Request, RequestHandler, Response } from 'express';

/** One API request as the simulator saw it; never carries a key or token, a body or an issued secret. */
export interface SimulatedCall<Route extends string> {
  at: string;
  method: string;
  path: string;
  route: Route | 'unknown';
  status: number | 'dropped';
  domainHost?: string;
}

interface CallInFlight<Route extends string> extends Omit<SimulatedCall<Route>, 'status'> {
  status: number | 'dropped' | null;
}

/** `dropped` = the connection ended without a complete response (our drop-after-write fault, or the caller gave up). */
export function outcomeOf(res: Response): number | 'dropped' {
  return res.writableFinished ? res.statusCode : 'dropped';
}

export function pathOf(req: Request): string {
  return req.originalUrl.split('?')[0] ?? req.originalUrl;
}

/** One platform's calls, kept in arrival order; a request still in flight is not listed until it ends. */
export class CallLog<Route extends string> {
  private entries: CallInFlight<Route>[] = [];
  private readonly inFlight = new WeakMap<Response, CallInFlight<Route>>();

  constructor(private readonly now: () => number) {}

  begin(req: Request, res: Response): void {
    const entry: CallInFlight<Route> = {
      at: new Date(this.now()).toISOString(),
      method: req.method,
      path: pathOf(req),
      route: 'unknown',
      status: null,
    };
    this.entries.push(entry);
    this.inFlight.set(res, entry);
    res.on('close', () => {
      entry.status = outcomeOf(res);
    });
  }

  nameRoute(res: Response, route: Route): void {
    const entry = this.inFlight.get(res);
    if (entry) entry.route = route;
  }

  noteDomainHost(res: Response, host: string): void {
    const entry = this.inFlight.get(res);
    if (entry) entry.domainHost = host;
  }

  completed(): SimulatedCall<Route>[] {
    const calls: SimulatedCall<Route>[] = [];
    for (const { status, ...rest } of this.entries) {
      if (status !== null) calls.push({ ...rest, status });
    }
    return calls;
  }

  clear(): void {
    this.entries = [];
  }
}

/** Mounted in front of a platform's routes: every request is logged, authenticated or not. */
export function recordCalls<Route extends string>(callLog: CallLog<Route>): RequestHandler {
  return (req, res, next) => {
    callLog.begin(req, res);
    next();
  };
}
