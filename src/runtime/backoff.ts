/**
 * Exponential backoff with jitter. Pure: the caller supplies the failure count and the
 * random source, so the maths can be checked exactly.
 */
export interface BackoffPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
  /** Fraction of the delay added at random (0.1 = up to +10 %), still capped at maxMs. */
  readonly jitter: number;
}

/** controller-runtime's per-item policy: 5 ms doubling to 1000 s. */
export const itemBackoffPolicy: BackoffPolicy = { baseMs: 5, maxMs: 1_000_000, jitter: 0.1 };

/** Reconnect policy for watches: 1 s doubling to 30 s. */
export const watchBackoffPolicy: BackoffPolicy = { baseMs: 1_000, maxMs: 30_000, jitter: 0.2 };

/** Delay before the next attempt after `failures` earlier failures (0 → baseMs). */
export function backoffDelay(policy: BackoffPolicy, failures: number, random: () => number = Math.random): number {
  // 2^failures overflows to Infinity long after it passes maxMs, and Math.min copes with that.
  const exponential = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, failures));
  return Math.min(policy.maxMs, exponential * (1 + policy.jitter * random()));
}

/** Per-key failure counts: each failure lengthens that key's next delay; forget() resets it. */
export class ItemBackoff {
  private readonly failures = new Map<string, number>();
  private readonly policy: BackoffPolicy;
  private readonly random: () => number;

  constructor(policy: BackoffPolicy = itemBackoffPolicy, random: () => number = Math.random) {
    this.policy = policy;
    this.random = random;
  }

  /** Records a failure of `key` and returns how long to wait before retrying it. */
  next(key: string): number {
    const count = this.failures.get(key) ?? 0;
    this.failures.set(key, count + 1);
    return backoffDelay(this.policy, count, this.random);
  }

  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }
}
