import type { Clock } from './clock.ts';
import { DelayedKeys } from './delayed-keys.ts';
import type { RateLimiter } from './rate-limiter.ts';

/** What the queue reports; metrics.ts implements it per controller. */
export interface QueueObserver {
  depth(count: number): void;
  added(): void;
  retried(): void;
  /** Seconds the key waited in the queue before a worker took it. */
  waited(seconds: number): void;
  /** Seconds a worker held the key. */
  worked(seconds: number): void;
}

export interface WorkQueueOptions {
  readonly clock: Clock;
  readonly rateLimiter: RateLimiter;
  readonly observer?: QueueObserver;
}

/**
 * A queue of object keys with client-go's guarantees: a key waiting in the queue is held only
 * once however often it is added; a key being processed is never handed to a second worker, and
 * if it is added meanwhile it is queued again (once) when the worker calls done(). Adding a key N
 * times while it waits therefore costs one reconcile, which is what level triggering relies on.
 */
export class WorkQueue {
  private readonly clock: Clock;
  private readonly rateLimiter: RateLimiter;
  private readonly observer: QueueObserver | undefined;

  /** FIFO of keys ready for a worker; `head` avoids O(n) shifts. */
  private ready: string[] = [];
  private head = 0;
  /** Keys that need processing (queued, or to be re-queued when their worker finishes). */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  /** When each dirty key was first added, for the queue-latency metric. */
  private readonly addedAt = new Map<string, number>();
  private readonly startedAt = new Map<string, number>();
  /** Delayed adds: the earliest due time wins, like client-go's waiting heap. */
  private readonly delayed: DelayedKeys;
  private readonly waiters: Array<(key: string | undefined) => void> = [];
  private shuttingDown = false;

  constructor(options: WorkQueueOptions) {
    this.clock = options.clock;
    this.rateLimiter = options.rateLimiter;
    this.observer = options.observer;
    this.delayed = new DelayedKeys(options.clock, (key) => this.add(key));
  }

  get length(): number {
    return this.ready.length - this.head;
  }

  /** How long each key being processed has been held, in seconds (workqueue_unfinished_work_seconds). */
  processingSeconds(): number[] {
    const now = this.clock.now();
    return [...this.startedAt.values()].map((started) => (now - started) / 1000);
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.observer?.added();
    this.dirty.add(key);
    this.addedAt.set(key, this.clock.now());
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /**
   * Adds `key` after `ms`; an earlier pending add of the same key is kept, a later one replaced.
   * With `replace`, any pending add is dropped for this one: a reconcile's own answer of when to
   * look again supersedes what an earlier reconcile asked for (a guard timer set while waiting
   * on a task would otherwise fire long after the task was handled, for a reconcile of nothing).
   */
  addAfter(key: string, ms: number, replace = false): void {
    if (this.shuttingDown) return;
    if (replace) this.delayed.delete(key);
    // Not `ms <= 0`: a NaN delay would be a due time no heap can order.
    if (!(ms > 0)) return this.add(key);
    const due = this.clock.elapsed() + ms;
    const pending = this.delayed.dueOf(key);
    if (pending !== undefined && pending <= due) return;
    this.delayed.set(key, due);
  }

  /**
   * Whether the key will be handed to a worker without being added again: it waits in the
   * queue, is being processed, or has a delayed add pending (a requeue its last reconcile asked for).
   */
  holds(key: string): boolean {
    return this.dirty.has(key) || this.processing.has(key) || this.delayed.has(key);
  }

  /** Re-adds a failed key after its backoff (and the overall rate limit). */
  addRateLimited(key: string): void {
    this.observer?.retried();
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** The key succeeded: its next failure starts the backoff from the beginning again. */
  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  retries(key: string): number {
    return this.rateLimiter.retries(key);
  }

  /** Waits for a key; undefined once the queue is shut down and (for drain) empty. */
  get(): Promise<string | undefined> {
    if (this.length > 0) return Promise.resolve(this.take());
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The worker has finished with `key`; if it was added meanwhile it goes back in the queue. */
  done(key: string): void {
    this.processing.delete(key);
    const started = this.startedAt.get(key);
    this.startedAt.delete(key);
    if (started !== undefined) this.observer?.worked((this.clock.now() - started) / 1000);
    if (this.dirty.has(key) && !this.shuttingDown) this.push(key);
  }

  /** Stops accepting keys, drops the ones not yet taken and releases every waiting worker. */
  shutDown(): void {
    this.shuttingDown = true;
    this.delayed.clear();
    this.ready = [];
    this.head = 0;
    this.dirty.clear();
    this.observer?.depth(0);
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }

  private push(key: string): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter(this.start(key));
      return;
    }
    this.ready.push(key);
    this.observer?.depth(this.length);
  }

  private take(): string {
    const key = this.ready[this.head] as string;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.head);
      this.head = 0;
    }
    this.observer?.depth(this.length);
    return this.start(key);
  }

  private start(key: string): string {
    const now = this.clock.now();
    this.processing.add(key);
    this.dirty.delete(key);
    const added = this.addedAt.get(key);
    this.addedAt.delete(key);
    if (added !== undefined) this.observer?.waited((now - added) / 1000);
    this.startedAt.set(key, now);
    return key;
  }
}
