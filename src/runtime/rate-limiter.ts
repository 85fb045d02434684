import type { Clock } from './clock.ts';
import { ItemBackoff } from './backoff.ts';

/**
 * A token bucket that hands out reservations: `reserve()` always succeeds and says how long
 * the caller must wait for its token, so a burst of retries is spread out instead of refused.
 */
export class TokenBucket {
  private readonly qps: number;
  private readonly burst: number;
  private readonly clock: Clock;
  private tokens: number;
  private updatedAt: number;

  constructor(qps: number, burst: number, clock: Clock) {
    if (qps <= 0 || burst < 1) throw new Error(`token bucket needs qps > 0 and burst >= 1 (got ${qps}, ${burst})`);
    this.qps = qps;
    this.burst = burst;
    this.clock = clock;
    this.tokens = burst;
    this.updatedAt = clock.now();
  }

  /** Takes one token (possibly going into debt) and returns the wait in ms until it is valid. */
  reserve(): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.qps);
    this.updatedAt = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.qps) * 1000;
  }
}

/** Decides how long a failed key waits before it is retried. */
export interface RateLimiter {
  when(key: string): number;
  retries(key: string): number;
  forget(key: string): void;
}

export interface RateLimiterOptions {
  readonly clock: Clock;
  /** Overall retry rate across all keys (controller-runtime: 10/s, burst 100). */
  readonly qps?: number;
  readonly burst?: number;
  readonly backoff?: ItemBackoff;
}

/**
 * controller-runtime's default: the longer of the key's own exponential backoff and the wait
 * for a token from the shared bucket, so one hot key backs off and many failing keys cannot
 * together flood the API.
 */
export function defaultRateLimiter(options: RateLimiterOptions): RateLimiter {
  const bucket = new TokenBucket(options.qps ?? 10, options.burst ?? 100, options.clock);
  const backoff = options.backoff ?? new ItemBackoff();
  return {
    when: (key) => Math.max(backoff.next(key), bucket.reserve()),
    retries: (key) => backoff.retries(key),
    forget: (key) => backoff.forget(key),
  };
}
