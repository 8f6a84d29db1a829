import type { Request, Response } from 'express';
import type { ResellerRoute } from './faults.js';

/** One reseller API request as the simulator saw it; never carries the API key, a body or a WordPress key. */
export interface ResellerCall {
  at: string;
  method: string;
  path: string;
  route: ResellerRoute | 'unknown';
  status: number | 'dropped';
  domainHost?: string;
}

interface CallInFlight extends Omit<ResellerCall, 'status'> {
  status: number | 'dropped' | null;
}

/** `dropped` = the connection ended without a complete response (our drop-after-write fault, or the caller gave up). */
export function outcomeOf(res: Response): number | 'dropped' {
  return res.writableFinished ? res.statusCode : 'dropped';
}

export function pathOf(req: Request): string {
  return req.originalUrl.split('?')[0] ?? req.originalUrl;
}

/** Entries are kept in arrival order; a request still in flight is not listed until it ends. */
export class CallLog {
  private entries: CallInFlight[] = [];
  private readonly inFlight = new WeakMap<Response, CallInFlight>();

  constructor(private readonly now: () => number) {}

  begin(req: Request, res: Response): void {
    const entry: CallInFlight = {
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

  nameRoute(res: Response, route: ResellerRoute): void {
    const entry = this.inFlight.get(res);
    if (entry) entry.route = route;
  }

  noteDomainHost(res: Response, host: string): void {
    const entry = this.inFlight.get(res);
    if (entry) entry.domainHost = host;
  }

  completed(): ResellerCall[] {
    const calls: ResellerCall[] = [];
    for (const { status, ...rest } of this.entries) {
      if (status !== null) calls.push({ ...rest, status });
    }
    return calls;
  }

  clear(): void {
    this.entries = [];
  }
}
