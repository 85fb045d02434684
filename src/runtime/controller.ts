import { randomBytes } from 'node:crypto';
import type { Clock } from './clock.ts';
import { isConflict, isTerminalError } from './errors.ts';
import { isValidReason } from './conditions.ts';
import type { EventRecorder } from './events.ts';
import type { Informer } from './informer.ts';
import type { Logger } from './logging.ts';
import type { RuntimeMetrics } from './metrics.ts';
import { parseKey, type ObjectRef } from './object-key.ts';
import { runInReconcileScope } from './reconcile-scope.ts';
import { CacheNotReadyError } from './secret-cache.ts';
import type { KubeObject, ResourceType } from './resource.ts';
import type { StatusWriter } from './status-writer.ts';
import type { WorkQueue } from './work-queue.ts';

export interface ReconcileRequest extends ObjectRef {
  /** "namespace/name" (or "name" for cluster-scoped kinds). */
  readonly key: string;
}

export interface ReconcileContext<T extends KubeObject> {
  readonly request: ReconcileRequest;
  /**
   * The object as the cache holds it when the reconcile starts, or undefined if it no longer
   * exists. Reconcile from this, not from whatever event caused the call (level triggering).
   * It is the cache's own copy, shared with every other reader: never mutate it; build patches.
   */
  readonly object: T | undefined;
  /** Carries kind, object, generation and reconcileID on every line. */
  readonly log: Logger;
  readonly reconcileID: string;
  /** Aborted when leadership is lost or the shutdown deadline passes: stop external work. */
  readonly signal: AbortSignal;
  /**
   * Aborted as soon as shutdown begins (and when leadership is lost): start no new external
   * write. A request already in flight may finish until `signal` fires, so the step it belongs
   * to can record its outcome.
   */
  readonly stopping: AbortSignal;
}

export interface ReconcileResult {
  /** Reconcile this object again after this many milliseconds (drift checks, polling). */
  readonly requeueAfter?: number;
}

/**
 * Brings one object towards its desired state. Return normally when done (optionally asking to
 * be called again later); throw to be retried with per-object exponential backoff; throw a
 * TerminalError when retrying cannot help, which records Stalled=True and stops retries.
 */
export interface Reconciler<T extends KubeObject> {
  reconcile(context: ReconcileContext<T>): Promise<ReconcileResult | void>;
}

export interface ControllerOptions<T extends KubeObject> {
  /** The kind, used in metrics labels and logs. */
  readonly name: string;
  readonly resource: ResourceType;
  /** Where the object is read from: the primary kind's informer. */
  readonly informer: Pick<Informer<T>, 'get'>;
  readonly queue: WorkQueue;
  readonly reconciler: Reconciler<T>;
  readonly concurrency: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: RuntimeMetrics;
  /** When present, failures are recorded in the object's conditions. */
  readonly status?: StatusWriter;
  readonly events?: EventRecorder;
}

/**
 * Workers that take keys from the queue and reconcile them. The queue guarantees one worker per
 * key; the controller turns each outcome into the next queue operation: success forgets the
 * key's failures (and schedules requeueAfter), an error re-adds it with backoff, a terminal error
 * forgets it and records Stalled.
 */
export class Controller<T extends KubeObject> {
  readonly name: string;
  private readonly options: ControllerOptions<T>;
  private readonly abort = new AbortController();
  private readonly stopping = new AbortController();
  private workers: Promise<void>[] = [];
  private readonly log: Logger;

  constructor(options: ControllerOptions<T>) {
    this.options = options;
    this.name = options.name;
    this.log = options.logger.child({ controller: options.name });
  }

  get queue(): WorkQueue {
    return this.options.queue;
  }

  start(): void {
    if (this.workers.length > 0) return;
    this.log.info('starting workers', { workers: this.options.concurrency });
    this.options.metrics?.maxConcurrentReconciles.set({ controller: this.name }, this.options.concurrency);
    for (let i = 0; i < this.options.concurrency; i++) this.workers.push(this.work());
  }

  /** Stops taking keys and waits up to `deadlineMs` for reconciles in flight, then aborts them. */
  async stop(deadlineMs: number): Promise<void> {
    this.stopping.abort();
    this.options.queue.shutDown();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), deadlineMs)));
    const finished = await Promise.race([Promise.all(this.workers).then(() => 'done' as const), deadline]);
    clearTimeout(timer);
    if (finished === 'timeout') this.log.warn('reconciles still running at the shutdown deadline; aborting them');
    this.abort.abort();
  }

  /** Leadership lost: another replica may be acting already, so stop everything now. */
  abortNow(): void {
    this.stopping.abort();
    this.abort.abort();
    this.options.queue.shutDown();
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.options.queue.get();
      if (key === undefined) return;
      try {
        await this.reconcileKey(key);
      } finally {
        this.options.queue.done(key);
      }
    }
  }

  private async reconcileKey(key: string): Promise<void> {
    const { queue, informer, reconciler, metrics, clock } = this.options;
    const object = this.options.status ? this.options.status.freshest(informer.get(key)) : informer.get(key);
    const reconcileID = randomBytes(6).toString('hex');
    const log = this.log.child({
      kind: this.options.name,
      object: key,
      ...(object?.metadata.generation !== undefined ? { generation: object.metadata.generation } : {}),
      reconcileID,
    });
    const started = clock.now();
    metrics?.activeWorkers.inc({ controller: this.name });
    try {
      const result = await runInReconcileScope(log, async () => reconciler.reconcile({ request: { key, ...parseKey(key) }, object, log, reconcileID, signal: this.abort.signal, stopping: this.stopping.signal }));
      queue.forget(key);
      if (result?.requeueAfter !== undefined && result.requeueAfter > 0) {
        // This reconcile saw the latest state: its answer replaces an earlier one's.
        queue.addAfter(key, result.requeueAfter, true);
        metrics?.reconcileTotal.inc({ controller: this.name, result: 'requeue_after' });
      } else {
        metrics?.reconcileTotal.inc({ controller: this.name, result: 'success' });
      }
      log.debug('reconciled', { requeueAfterMs: result?.requeueAfter });
    } catch (err) {
      // Shutting down or lost leadership: the failure is most likely a request refused because
      // of it, and either way the next leader reconciles afresh. Nothing to record or retry.
      if (this.stopping.signal.aborted) return;
      if (err instanceof CacheNotReadyError) {
        // A Secret it needs is being read: not a failure, and nothing to tell the user.
        metrics?.reconcileTotal.inc({ controller: this.name, result: 'requeue' });
        queue.addRateLimited(key);
        log.debug('waiting for the cache', { reason: err.message });
        return;
      }
      metrics?.reconcileErrors.inc({ controller: this.name });
      metrics?.reconcileTotal.inc({ controller: this.name, result: 'error' });
      if (isTerminalError(err)) {
        metrics?.terminalReconcileErrors.inc({ controller: this.name });
        queue.forget(key);
        if (err.recheckAfterMs !== undefined) queue.addAfter(key, err.recheckAfterMs);
        log.error(err.recheckAfterMs === undefined ? 'reconcile failed permanently; not retrying until the object changes' : 'reconcile stalled; looking again later', { reason: err.reason, error: err.message });
        await this.record(log, key, 'stalled', err.reason, err.message);
        return;
      }
      queue.addRateLimited(key);
      if (isConflict(err)) {
        // Someone wrote the object since our cache saw it: routine, retried on a fresh copy.
        log.debug('conflict; retrying', { error: (err as Error).message });
        return;
      }
      // An error may name its own condition reason (StorageLockTimeout, Unreachable…). It is the
      // controller's trouble: a converged object stays Ready while it is young (see Phase).
      const named = (err as { reason?: unknown }).reason;
      const reason = typeof named === 'string' && isValidReason(named) ? named : 'ReconcileError';
      logFailure(log, err, { reason, retries: queue.retries(key) });
      await this.record(log, key, 'trouble', reason, (err as Error).message ?? String(err));
    } finally {
      metrics?.activeWorkers.dec({ controller: this.name });
      metrics?.reconcileDuration.observe({ controller: this.name }, (clock.now() - started) / 1000);
    }
  }

  /** Puts a failure where users look: the object's conditions and an Event. Best effort. */
  private async record(log: Logger, key: string, phase: 'stalled' | 'trouble', reason: string, message: string): Promise<void> {
    const cached = this.options.informer.get(key);
    const current = this.options.status ? this.options.status.freshest(cached) : cached;
    if (!current) return;
    await this.options.events?.warning(current, reason, 'Reconcile', message);
    if (!this.options.status) return;
    try {
      await this.options.status.update(this.options.resource, current, { phase, reason, message });
    } catch (err) {
      log.warn('could not record the failure in status', { error: (err as Error).message });
      if (phase === 'stalled') this.options.queue.addRateLimited(key);
    }
  }
}

/** Errors that mean a bug in Phoenix rather than trouble in the world outside it. */
const programmingErrors = [TypeError, ReferenceError, RangeError, SyntaxError];

/**
 * A retried failure: expected trouble (a locked storage, an unreachable host, a refused request)
 * is one warn line with the message and no stack — it will be retried and is usually gone by the
 * next attempt — with the stack at debug for whoever investigates; a bug is an error with its stack.
 */
function logFailure(log: Logger, err: unknown, fields: { reason: string; retries: number }): void {
  if (!(err instanceof Error) || programmingErrors.some((type) => err instanceof type)) {
    log.error('reconcile failed unexpectedly; retrying with backoff', { ...fields, error: err as Error });
    return;
  }
  log.warn('reconcile failed; retrying with backoff', { ...fields, error: err.message });
  log.debug('reconcile failure detail', { stack: err.stack });
}