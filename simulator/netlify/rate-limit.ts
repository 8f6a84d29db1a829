/** What the X-RateLimit-* headers say. */
export interface RateLimitStatus {
  limit: number;
  remaining: number;
  /** Unix seconds at which the window frees a slot (now, when no slot is in use). */
  resetAtSeconds: number;
}

/**
 * A sliding window (one minute unless set otherwise): a request counts for exactly `windowMs` after it arrived.
 * Netlify does not document its window; a sliding one never lets a burst straddle a minute boundary, the
 * stricter reading.
 */
export class SlidingWindowLimit {
  private hits: number[] = [];

  constructor(
    public limit: number,
    private readonly now: () => number,
    public windowMs = 60_000,
  ) {}

  status(): RateLimitStatus {
    const nowMs = this.now();
    this.forgetBefore(nowMs);
    const oldest = this.hits[0];
    return {
      limit: this.limit,
      remaining: Math.max(0, this.limit - this.hits.length),
      resetAtSeconds: Math.ceil((oldest === undefined ? nowMs : oldest + this.windowMs) / 1000),
    };
  }

  /** Counts the request when a slot is free; false = over the limit, nothing counted. */
  tryTake(): boolean {
    const nowMs = this.now();
    this.forgetBefore(nowMs);
    if (this.hits.length >= this.limit) return false;
    this.hits.push(nowMs);
    return true;
  }

  /** Counts the request whatever the limit (a limit that is reported but never enforced). */
  count(): void {
    const nowMs = this.now();
    this.forgetBefore(nowMs);
    this.hits.push(nowMs);
  }

  clear(): void {
    this.hits = [];
  }

  private forgetBefore(nowMs: number): void {
    // A test clock may move backwards; such hits simply stay until the clock passes them again.
    this.hits = this.hits.filter((at) => at > nowMs - this.windowMs);
  }
}

export function rateLimitHeaders(status: RateLimitStatus): Record<string, string> {
  return {
    'X-RateLimit-Limit': String(status.limit),
    'X-RateLimit-Remaining': String(status.remaining),
    'X-RateLimit-Reset': String(status.resetAtSeconds),
  };
}
