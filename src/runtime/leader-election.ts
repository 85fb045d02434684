import { delay, systemClock, type Clock } from './clock.ts';
import { microTime } from './kube-time.ts';
import { isConflict, isNotFound } from './errors.ts';
import type { KubeClient } from './kube-client.ts';
import { silentLogger, type Logger } from './logging.ts';
import { leases, type KubeObject } from './resource.ts';

export interface LeaderElectionOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

interface LeaseObject extends KubeObject {
  spec?: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

export const leaderElectionDefaults = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 } as const;


/**
 * client-go's Lease protocol. Another holder's lease is judged by when *we* last saw its record
 * change, not by its renewTime, so clock skew between replicas cannot make a live lease look
 * expired. Acquire and renew are PUTs carrying the resourceVersion we read: of two candidates,
 * one gets 409 and stays a follower.
 */
export class LeaderElector {
  private readonly options: LeaderElectionOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private observed?: { record: string; at: number };
  private current?: LeaseObject;
  private leading = false;
  /** When another holder's lease runs out, by our clock; undefined when the lease is free or ours. */
  private otherExpiresAt?: number;
  /** Cuts the current wait for a retry short (set while acquire() is waiting). */
  private wake?: () => void;
  private releaseSeen = false;

  constructor(options: LeaderElectionOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? silentLogger()).child({ lease: `${options.namespace}/${options.name}` });
    this.leaseDurationMs = options.leaseDurationMs ?? leaderElectionDefaults.leaseDurationMs;
    this.renewDeadlineMs = options.renewDeadlineMs ?? leaderElectionDefaults.renewDeadlineMs;
    this.retryPeriodMs = options.retryPeriodMs ?? leaderElectionDefaults.retryPeriodMs;
    if (this.renewDeadlineMs >= this.leaseDurationMs) throw new Error('renew deadline must be shorter than the lease duration');
    if (this.retryPeriodMs >= this.renewDeadlineMs) throw new Error('retry period must be shorter than the renew deadline');
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Resolves once this process holds the Lease (or returns false if `signal` aborts first). */
  async acquire(signal: AbortSignal): Promise<boolean> {
    this.log.info('waiting for leadership', { identity: this.options.identity });
    const watching = new AbortController();
    const onAbort = () => watching.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    const released = this.watchForRelease(watching.signal);
    try {
      while (!signal.aborted) {
        if (await this.tryAcquireOrRenew()) {
          this.leading = true;
          this.log.info('acquired leadership', { identity: this.options.identity });
          return true;
        }
        if (this.releaseSeen) {
          this.releaseSeen = false;
          continue;
        }
        // Wake exactly when the holder's lease would expire if that comes before the next retry,
        // so a crashed leader is replaced one lease duration after its last renewal, not up to a
        // retry period later; and at once when the holder releases it (watchForRelease).
        const untilExpiry = this.otherExpiresAt === undefined ? Infinity : Math.max(0, this.otherExpiresAt - this.clock.now());
        const wake = new AbortController();
        this.wake = () => wake.abort();
        const stopWaiting = () => wake.abort();
        signal.addEventListener('abort', stopWaiting, { once: true });
        await delay(this.clock, Math.min(this.retryPeriodMs, untilExpiry + 1), wake.signal);
        signal.removeEventListener('abort', stopWaiting);
        this.wake = undefined;
      }
      return false;
    } finally {
      signal.removeEventListener('abort', onAbort);
      watching.abort();
      await released;
    }
  }

  /**
   * While waiting, watches the Lease so a release (holder cleared on the leader's graceful
   * shutdown) wakes the wait at once instead of at the next retry. Best effort: the retry loop
   * alone is still correct if the watch fails.
   */
  private async watchForRelease(signal: AbortSignal): Promise<void> {
    const { client, namespace, name } = this.options;
    while (!signal.aborted) {
      try {
        await client.watch<LeaseObject>(
          leases,
          {
            namespace,
            fieldSelector: `metadata.name=${name}`,
            resourceVersion: this.current?.metadata.resourceVersion ?? '',
            timeoutSeconds: 60,
            idleTimeoutMs: 90_000,
            signal,
          },
          (event) => {
            if (event.type === 'BOOKMARK' || event.type === 'ERROR') return;
            if (event.type !== 'DELETED' && event.object.spec?.holderIdentity) return;
            // Not waiting right now (a GET is in flight, and may have read the old holder):
            // remember it, so the loop retries at once instead of sleeping.
            if (this.wake) this.wake();
            else this.releaseSeen = true;
          },
        );
      } catch (err) {
        // Includes 410 for a stale version: the next attempt watches from the newest one we read.
        this.log.debug('lease watch ended', { error: (err as Error).message });
      }
      if (!signal.aborted) await delay(this.clock, this.retryPeriodMs, signal);
    }
  }

  /**
   * Renews every retry period until a renewal has failed for the whole renew deadline, someone
   * else holds the Lease, or `signal` aborts. Resolves with why it stopped; after 'lost' the
   * caller must stop all work at once, because another replica may already be acting.
   */
  async hold(signal: AbortSignal): Promise<'lost' | 'stopped'> {
    let lastRenew = this.clock.now();
    while (!signal.aborted) {
      await delay(this.clock, this.retryPeriodMs, signal);
      if (signal.aborted) break;
      const attemptStarted = this.clock.now();
      // A renewal that hangs must not outlive the deadline: race it against the remaining time.
      const remaining = this.renewDeadlineMs - (attemptStarted - lastRenew);
      const giveUp = new AbortController();
      const outcome = await Promise.race([
        this.tryAcquireOrRenew().then((ok) => (ok ? 'renewed' : 'refused'), () => 'refused' as const),
        delay(this.clock, Math.max(0, remaining), giveUp.signal).then(() => 'deadline' as const),
      ]);
      giveUp.abort();
      if (outcome === 'renewed') {
        lastRenew = this.clock.now();
        continue;
      }
      if (this.current?.spec?.holderIdentity && this.current.spec.holderIdentity !== this.options.identity) {
        this.leading = false;
        this.log.error('leadership taken by another replica', { holder: this.current.spec.holderIdentity });
        return 'lost';
      }
      // The give-up timer firing is the deadline passing, though the clock may show a millisecond
      // less (Node's timers can fire that early): waiting for the next retry would lead 2 s too long.
      if (outcome === 'deadline' || this.clock.now() - lastRenew >= this.renewDeadlineMs) {
        this.leading = false;
        this.log.error('could not renew the lease before the deadline', { deadlineMs: this.renewDeadlineMs });
        return 'lost';
      }
    }
    return 'stopped';
  }

  /** Gives the Lease up so a standby can take it at once instead of waiting for it to expire. */
  async release(): Promise<void> {
    if (!this.leading || !this.current?.spec) return;
    this.leading = false;
    const now = this.clock.now();
    try {
      await this.options.client.replace(leases, {
        ...this.current,
        spec: { ...this.current.spec, holderIdentity: null, leaseDurationSeconds: 1, acquireTime: null, renewTime: microTime(now) },
      });
      this.log.info('released leadership');
    } catch (err) {
      this.log.warn('could not release the lease; it will expire', { error: (err as Error).message });
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name, identity } = this.options;
    const now = this.clock.now();
    const leaseDurationSeconds = Math.ceil(this.leaseDurationMs / 1000);
    let lease: LeaseObject;
    try {
      lease = await client.get<LeaseObject>(leases, name, namespace);
    } catch (err) {
      if (!isNotFound(err)) {
        this.log.warn('could not read the lease', { error: (err as Error).message });
        return false;
      }
      try {
        this.current = await client.create<LeaseObject>(leases, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
        });
        this.observe(this.current);
        return true;
      } catch (createErr) {
        this.log.debug('lost the race to create the lease', { error: (createErr as Error).message });
        return false;
      }
    }
    this.current = lease;
    this.observe(lease);
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const mine = holder === identity;
    // A released lease (empty holder) is free now; someone else's is free once it has gone
    // unrenewed for its whole duration, as measured on our clock.
    const otherHoldsIt = holder !== '' && !mine && (this.observed?.at ?? now) + (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000 > now;
    this.otherExpiresAt = otherHoldsIt ? (this.observed?.at ?? now) + (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000 : undefined;
    if (otherHoldsIt) return false;
    try {
      this.current = await client.replace<LeaseObject>(leases, {
        ...lease,
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds,
          acquireTime: mine && spec.acquireTime ? spec.acquireTime : microTime(now),
          renewTime: microTime(now),
          leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
        },
      });
      this.observe(this.current);
      return true;
    } catch (err) {
      if (!isConflict(err)) this.log.warn('could not update the lease', { error: (err as Error).message });
      return false;
    }
  }

  /**
   * Remembers when the lease record last changed. We see a change up to about a retry period after
   * it happened; when the holder's renewTime falls within two retry periods before now we trust it,
   * which takes the polling lag out of a take-over while trusting a skewed clock by at most 4 s
   * (safe: the holder stops acting at its 10 s renew deadline, well before the 15 s lease runs out).
   */
  private observe(lease: LeaseObject): void {
    const record = JSON.stringify(lease.spec ?? {});
    if (this.observed?.record === record) return;
    const now = this.clock.now();
    const renewed = Date.parse(lease.spec?.renewTime ?? '');
    const at = Number.isFinite(renewed) && renewed <= now && renewed >= now - 2 * this.retryPeriodMs ? renewed : now;
    this.observed = { record, at };
  }
}
