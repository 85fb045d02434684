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

/**
 * Per-item policy: controller-runtime's 5 ms doubling, capped at 5 minutes rather than its
 * 1000 s. Errors that last are Proxmox or the network failing; a fix there should be noticed
 * within minutes, and five minutes between attempts is already no load on anyone.
 */
export const itemBackoffPolicy: BackoffPolicy = { baseMs: 5, maxMs: 300_000, jitter: 0.1 };

/**
 * A Proxmox task that failed (a create, a start…) is submitted again after 5 s, doubling to 5
 * minutes: seven attempts in the first five minutes of a failure that never ends, then one
 * every five minutes for as long as it lasts.
 */
export const taskRetryPolicy: BackoffPolicy = { baseMs: 5_000, maxMs: 300_000, jitter: 0.1 };

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
