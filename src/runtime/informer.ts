import { backoffDelay, watchBackoffPolicy, type BackoffPolicy } from './backoff.ts';
import { delay, systemClock, type Clock } from './clock.ts';
import { isGone, isNotFound, KubeApiError } from './errors.ts';
import { internStrings } from './intern.ts';
import type { KubeClient } from './kube-client.ts';
import { silentLogger, type Logger } from './logging.ts';
import { objectKey } from './object-key.ts';
import { apiVersionOf, resourceLabel, type KubeObject, type ResourceType } from './resource.ts';

export interface InformerHandler<T extends KubeObject> {
  onAdd?(object: T): void;
  /** `resync` is true for the periodic replay of the cache, where old and new are the same. */
  onUpdate?(previous: T, current: T, resync: boolean): void;
  onDelete?(object: T): void;
}

/** What an informer reports; metrics.ts implements it. */
export interface InformerObserver {
  relisted(resource: string): void;
  watchRestarted(resource: string, reason: 'closed' | 'error' | 'stalled' | 'gone'): void;
  cached(resource: string, count: number): void;
}

export interface InformerOptions {
  readonly client: KubeClient;
  readonly resource: ResourceType;
  /** Namespaces to watch; empty or absent means all (and is required for cluster-scoped kinds). */
  readonly namespaces?: readonly string[];
  readonly labelSelector?: string;
  /** List and watch PartialObjectMetadata only (see SecretCache); cached objects then have no contents. */
  readonly metadataOnly?: boolean;
  /** Replays every cached object to the handlers this often (0 = never). */
  readonly resyncPeriodMs?: number;
  /** The server ends each watch after a random time in [min, 2*min) seconds (client-go: 5-10 min). */
  readonly watchTimeoutSeconds?: number;
  /** Extra silence tolerated past the server's own timeout before the watch is declared dead. */
  readonly watchdogGraceMs?: number;
  readonly reconnectBackoff?: BackoffPolicy;
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly observer?: InformerObserver;
}

type IndexFunction<T> = (object: T) => readonly string[];

/**
 * A cache of one resource kept current by list + watch, that never gives up: a watch that ends is
 * resumed from the last resourceVersion, one that fails is retried with backoff, a 410 Gone (the
 * version was compacted away) triggers a relist whose differences are delivered as add, update
 * and delete, and a watch that goes silent past the server's own timeout is torn down and resumed.
 * Handlers see every change; the cache always holds the newest object seen.
 */
export class Informer<T extends KubeObject> {
  readonly resource: ResourceType;
  protected readonly options: InformerOptions;
  protected readonly clock: Clock;
  protected readonly log: Logger;
  protected readonly label: string;
  private readonly store = new Map<string, T>();
  protected readonly handlers: InformerHandler<T>[] = [];
  private readonly indexers = new Map<string, IndexFunction<T>>();
  private readonly indexes = new Map<string, Map<string, IndexEntry>>();
  private readonly syncedScopes = new Set<string>();
  private readonly scopes: readonly string[];
  private syncWaiters: Array<() => void> = [];
  private abort?: AbortController;
  private loops: Promise<void>[] = [];
  private cancelResync?: () => void;

  constructor(options: InformerOptions) {
    this.options = options;
    this.resource = options.resource;
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? silentLogger()).child({ informer: resourceLabel(options.resource) });
    this.label = resourceLabel(options.resource);
    // '' stands for "all namespaces" (one list+watch across the cluster).
    this.scopes = options.resource.namespaced && options.namespaces?.length ? [...new Set(options.namespaces)] : [''];
  }

  addHandler(handler: InformerHandler<T>): void {
    this.handlers.push(handler);
    // A handler added after start still learns about what is already cached.
    for (const object of this.store.values()) handler.onAdd?.(object);
  }

  /** Maintains an index (e.g. "which VMs use this Secret") so mapping watches need not scan. */
  addIndex(name: string, index: IndexFunction<T>): void {
    if (this.indexers.has(name)) throw new Error(`index ${name} already exists on ${this.label}`);
    // Index functions run inside the watch: one that threw on an object it did not expect would
    // replay the same event for ever, and the cache would stop. That object is left out instead.
    const safe: IndexFunction<T> = (object) => {
      try {
        return index(object);
      } catch (err) {
        this.log.warn('index function failed; the object is left out of the index', { index: name, object: objectKey(object), error: (err as Error).message });
        return [];
      }
    };
    this.indexers.set(name, safe);
    const entries = new Map<string, IndexEntry>();
    this.indexes.set(name, entries);
    for (const [key, object] of this.store) for (const value of safe(object)) addToIndex(entries, value, key);
  }

  /** Whether an index of this name is kept (controllers that share a cache declare theirs once). */
  hasIndex(name: string): boolean {
    return this.indexers.has(name);
  }

  byIndex(name: string, value: string): T[] {
    const entry = this.indexes.get(name)?.get(value);
    if (!this.indexers.has(name)) throw new Error(`no index ${name} on ${this.label}`);
    const keys = entry === undefined ? [] : typeof entry === 'string' ? [entry] : [...entry];
    return keys.map((key) => this.store.get(key)).filter((o): o is T => o !== undefined);
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(): T[] {
    return [...this.store.values()];
  }

  get size(): number {
    return this.store.size;
  }

  get hasSynced(): boolean {
    return this.syncedScopes.size === this.scopes.length;
  }

  /** Resolves once every namespace has been listed at least once. */
  waitForSync(): Promise<void> {
    if (this.hasSynced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  start(): void {
    if (this.abort) return;
    this.abort = new AbortController();
    const signal = this.abort.signal;
    this.loops = this.scopes.map((namespace) => this.run(namespace, signal));
    const period = this.options.resyncPeriodMs ?? 0;
    if (period > 0) this.scheduleResync(period);
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    this.cancelResync?.();
    await Promise.all(this.loops);
  }

  /** Replays the cache to the handlers, as client-go's resync does. */
  resync(): void {
    for (const object of this.store.values()) for (const h of this.handlers) h.onUpdate?.(object, object, true);
  }

  private scheduleResync(period: number): void {
    this.cancelResync = this.clock.schedule(() => {
      if (this.abort?.signal.aborted) return;
      this.resync();
      this.scheduleResync(period);
    }, period);
  }

  private async run(namespace: string, signal: AbortSignal): Promise<void> {
    const backoff = this.options.reconnectBackoff ?? watchBackoffPolicy;
    let resourceVersion: string | undefined;
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (resourceVersion === undefined) {
          resourceVersion = await this.relist(namespace);
          this.markSynced(namespace);
        }
        let sawEvent = false;
        const minTimeout = this.options.watchTimeoutSeconds ?? 300;
        const timeoutSeconds = Math.floor(minTimeout * (1 + Math.random()));
        await this.options.client.watch<T>(
          this.resource,
          {
            ...(namespace ? { namespace } : {}),
            ...(this.options.labelSelector ? { labelSelector: this.options.labelSelector } : {}),
            ...(this.options.metadataOnly ? { metadataOnly: true } : {}),
            resourceVersion,
            timeoutSeconds,
            idleTimeoutMs: timeoutSeconds * 1000 + (this.options.watchdogGraceMs ?? 30_000),
            signal,
          },
          (event) => {
            if (event.type === 'ERROR') {
              const status = event.object as { code?: number; reason?: string; message?: string };
              throw new KubeApiError(status.code ?? 500, status.reason ?? 'WatchError', status.message ?? 'watch error event');
            }
            sawEvent = true;
            failures = 0;
            const version = (event.object as KubeObject).metadata?.resourceVersion;
            if (event.type !== 'BOOKMARK') this.apply(event.type, event.object);
            if (version) resourceVersion = version;
          },
        );
        // The server closed the watch (its timeout, or it is going away): resume where we were.
        if (!signal.aborted) this.options.observer?.watchRestarted(this.label, 'closed');
        if (!sawEvent && !signal.aborted) {
          // A watch that closes at once with nothing to say, again and again, would spin.
          await delay(this.clock, backoffDelay(backoff, failures++), signal);
        }
      } catch (err) {
        if (signal.aborted) break;
        if (isGone(err)) {
          this.log.info('resourceVersion expired; relisting', { namespace: namespace || '*', resourceVersion });
          this.options.observer?.watchRestarted(this.label, 'gone');
          resourceVersion = undefined;
          continue;
        }
        const stalled = (err as Error).name === 'WatchStalledError';
        this.options.observer?.watchRestarted(this.label, stalled ? 'stalled' : 'error');
        const wait = backoffDelay(backoff, failures++);
        const error = isNotFound(err) && this.resource.group ? notServed(this.label) : (err as Error).message;
        this.log.warn('watch failed; retrying', { namespace: namespace || '*', error, retryInMs: Math.round(wait) });
        await delay(this.clock, wait, signal);
      }
    }
  }

  /** Lists (paginated) and reconciles the cache with the result; returns the list's version. */
  private async relist(namespace: string): Promise<string> {
    const fresh = new Map<string, T>();
    let continueToken: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.options.client.list<T>(this.resource, {
        ...(namespace ? { namespace } : {}),
        ...(this.options.labelSelector ? { labelSelector: this.options.labelSelector } : {}),
        ...(this.options.metadataOnly ? { metadataOnly: true } : {}),
        limit: 500,
        ...(continueToken ? { continue: continueToken } : {}),
      });
      // A PartialObjectMetadataList with nothing in it has items: null.
      for (const item of page.items ?? []) fresh.set(objectKey(item), forCache(item, this.resource, this.options.metadataOnly));
      continueToken = page.metadata.continue || undefined;
      resourceVersion = page.metadata.resourceVersion ?? '';
    } while (continueToken);
    this.options.observer?.relisted(this.label);
    for (const [key, object] of this.store) {
      if (namespace && object.metadata.namespace !== namespace) continue;
      if (!fresh.has(key)) this.remove(key, object);
    }
    for (const [key, object] of fresh) {
      const previous = this.store.get(key);
      if (previous?.metadata.resourceVersion === object.metadata.resourceVersion) continue;
      this.put(key, object, previous);
    }
    return resourceVersion;
  }

  private apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', raw: T): void {
    const object = forCache(raw, this.resource, this.options.metadataOnly);
    const key = objectKey(object);
    if (type === 'DELETED') {
      const previous = this.store.get(key);
      this.remove(key, previous ?? object, object);
      return;
    }
    this.put(key, object, this.store.get(key));
  }

  private put(key: string, object: T, previous: T | undefined): void {
    if (previous) this.unindex(key, previous);
    this.store.set(key, object);
    this.index(key, object);
    this.reportSize(this.store.size);
    this.deliver(key, previous, object);
  }

  private remove(key: string, cached: T, final?: T): void {
    if (!this.store.delete(key)) return;
    this.unindex(key, cached);
    this.reportSize(this.store.size);
    this.deliver(key, final ?? cached, undefined);
  }

  /** Tells the handlers of a change: an add (no previous), an update, or a delete (no current). */
  protected deliver(_key: string, previous: T | undefined, current: T | undefined): void {
    for (const h of this.handlers) {
      if (!current) h.onDelete?.(previous!);
      else if (previous) h.onUpdate?.(previous, current, false);
      else h.onAdd?.(current);
    }
  }

  protected reportSize(size: number): void {
    this.options.observer?.cached(this.label, size);
  }

  private index(key: string, object: T): void {
    for (const [name, fn] of this.indexers) {
      const entries = this.indexes.get(name);
      if (entries) for (const value of fn(object)) addToIndex(entries, value, key);
    }
  }

  private unindex(key: string, object: T): void {
    for (const [name, fn] of this.indexers) {
      const entries = this.indexes.get(name);
      if (entries) for (const value of fn(object)) removeFromIndex(entries, value, key);
    }
  }

  private markSynced(namespace: string): void {
    this.syncedScopes.add(namespace);
    if (this.hasSynced) for (const resolve of this.syncWaiters.splice(0)) resolve();
  }
}

/**
 * An index value's keys: most values (a VMID, a dependency) belong to one object, and a Set for
 * each would cost about 200 bytes more per cached object than the key alone.
 */
type IndexEntry = string | Set<string>;

function addToIndex(entries: Map<string, IndexEntry>, value: string, key: string): void {
  const entry = entries.get(value);
  if (entry === undefined) entries.set(value, key);
  else if (typeof entry === 'string') {
    if (entry !== key) entries.set(value, new Set([entry, key]));
  } else entry.add(key);
}

function removeFromIndex(entries: Map<string, IndexEntry>, value: string, key: string): void {
  const entry = entries.get(value);
  if (entry === undefined) return;
  if (typeof entry === 'string') {
    if (entry === key) entries.delete(value);
    return;
  }
  entry.delete(key);
  if (entry.size === 1) entries.set(value, entry.values().next().value as string);
}

/**
 * Makes a listed or watched object fit for the cache: with its kind (lists leave it out, and
 * metadata items say PartialObjectMetadata, standing for objects of the informer's kind), without
 * managedFields, which nothing reconciles from and which is often the larger part of an object
 * (controller-runtime's cache strips them by default too), and with its strings shared with the
 * other cached objects that hold the same ones (intern.ts).
 */
function forCache<T extends KubeObject>(object: T, resource: ResourceType, metadataOnly = false): T {
  // Copied without it rather than deleted: a deleted property turns V8's object into a hash
  // table, 430 bytes more for every cached object's metadata.
  if (object.metadata && 'managedFields' in object.metadata) {
    const { managedFields: _, ...metadata } = object.metadata as KubeObject['metadata'] & { managedFields?: unknown };
    object.metadata = metadata;
  }
  if (!object.apiVersion || !object.kind || metadataOnly) {
    object.apiVersion = apiVersionOf(resource);
    object.kind = resource.kind;
  }
  return internStrings(object);
}

/** What a 404 on a whole collection means: the kind is not served, usually because its CRD is not installed. */
export function notServed(label: string): string {
  return `the API server does not serve ${label}: is its CustomResourceDefinition installed? (kubectl apply --server-side -f crds/, or the Helm chart with crds.install=true)`;
}
