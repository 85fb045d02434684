import { isNotFound, RetryableError, TerminalError } from './errors.ts';
import { Informer, type InformerOptions } from './informer.ts';
import type { ObjectRef } from './object-key.ts';
import { secrets, type KubeObject } from './resource.ts';

/** Maps a Secret (by its metadata) to the objects that use it; a Secret is referenced when any map names one. */
export type SecretReferrer = (secret: KubeObject) => readonly ObjectRef[];

/**
 * Thrown by SecretCache.get for a referenced Secret whose contents are still being read. Not a
 * failure: the controller retries the reconcile quietly, and the read finishing wakes the
 * Secret's users anyway.
 */
export class CacheNotReadyError extends RetryableError {
  constructor(what: string) {
    super('CacheNotReady', `${what} is being read`);
  }
}

export interface SecretCacheOptions extends Omit<InformerOptions, 'resource' | 'metadataOnly'> {
  /** Namespaces whose Secrets may be read; empty means all (then `namespaces` is empty too). */
  readonly readable: readonly string[];
}

/**
 * Secrets, as least privilege wants them cached: every Secret's *metadata* is listed and watched
 * (names and versions, never contents), and the contents of a Secret are read with a GET only
 * once an object references it, then kept current as its metadata changes. An unrelated Secret
 * is never read and never held in memory; `phoenix_informer_cached_objects{resource="secrets"}`
 * counts the Secrets whose contents are held.
 *
 * Handlers (the controllers' mapping watches) see a referenced Secret's change only once its new
 * contents are in the cache, so the reconcile they trigger reads the new value, never the old.
 */
export class SecretCache extends Informer<KubeObject> {
  private readonly contents = new Map<string, KubeObject>();
  private readonly loading = new Map<string, Promise<void>>();
  private readonly referrers: SecretReferrer[] = [];
  private readonly readable: ReadonlySet<string>;
  private checkScheduled = false;

  constructor(options: SecretCacheOptions) {
    super({ ...options, resource: secrets, metadataOnly: true });
    this.readable = new Set(options.readable);
  }

  /** Declares who uses Secrets (a controller's mapping watch); also a handler for their changes. */
  addReferrer(referrer: SecretReferrer): void {
    this.referrers.push(referrer);
  }

  /**
   * The Secret with its contents. Undefined when it does not exist. For a Secret that exists but
   * whose contents have not been read yet, starts the read and throws CacheNotReadyError; for a
   * namespace Phoenix may not read, a TerminalError that says so.
   */
  override get(key: string): KubeObject | undefined {
    const namespace = key.slice(0, key.indexOf('/'));
    if (this.readable.size > 0 && !this.readable.has(namespace)) {
      throw new TerminalError(
        'SecretNotReadable',
        `Secret ${key} is in namespace ${namespace}, where Phoenix does not read Secrets (it reads them in ${[...this.readable].join(', ')}); move the Secret, or add ${namespace} to the controller's --credentials-namespaces (chart: controller.credentialsNamespaces)`,
      );
    }
    const loaded = this.contents.get(key);
    const meta = super.get(key);
    if (!meta) return undefined;
    if (loaded && loaded.metadata.resourceVersion === meta.metadata.resourceVersion) return loaded;
    void this.load(key);
    if (loaded) return loaded; // a newer version is on its way; its arrival wakes the users again
    throw new CacheNotReadyError(`Secret ${key}`);
  }

  /** Secrets whose contents are held. */
  override list(): KubeObject[] {
    return [...this.contents.values()];
  }

  /** Reads every Secret some object references now; the manager awaits this before controllers start. */
  async loadReferenced(): Promise<void> {
    await Promise.all(super.list().filter((meta) => this.isReferenced(meta)).map((meta) => this.load(keyOfMeta(meta))));
  }

  /**
   * Objects changed (a new reference may have appeared): soon, read every referenced Secret not
   * read yet, so its users' next reconcile finds it. Batched: one pass per turn of the event loop.
   */
  referencesChanged(): void {
    if (this.checkScheduled) return;
    this.checkScheduled = true;
    setImmediate(() => {
      this.checkScheduled = false;
      for (const meta of super.list()) {
        const key = keyOfMeta(meta);
        if (!this.contents.has(key) && !this.loading.has(key) && this.isReferenced(meta)) void this.load(key);
      }
    });
  }

  protected override deliver(key: string, previous: KubeObject | undefined, current: KubeObject | undefined): void {
    if (!current) {
      this.contents.delete(key);
      this.reportContents();
      super.deliver(key, this.contentsOr(previous), undefined);
      return;
    }
    if (this.contents.has(key) || this.isReferenced(current)) {
      // Wake the users only once the new contents are here.
      void this.load(key).then(() => {
        const loaded = this.contents.get(key);
        if (loaded) super.deliver(key, previous, loaded);
      });
      return;
    }
    super.deliver(key, previous, current);
  }

  protected override reportSize(size: number): void {
    this.options.observer?.cached(`${this.label}.metadata`, size);
  }

  private reportContents(): void {
    this.options.observer?.cached(this.label, this.contents.size);
  }

  private isReferenced(meta: KubeObject): boolean {
    return this.referrers.some((referrer) => referrer(meta).length > 0);
  }

  private contentsOr(meta: KubeObject | undefined): KubeObject | undefined {
    return meta ? (this.contents.get(keyOfMeta(meta)) ?? meta) : undefined;
  }

  /** GETs the Secret unless the held contents match the cached metadata's version; one read per key at a time. */
  private load(key: string): Promise<void> {
    const running = this.loading.get(key);
    if (running) return running;
    const read = (async () => {
      // A few rounds at most: the watch may report a newer version while a GET is in flight.
      for (let round = 0; round < 5; round++) {
        const wanted = super.get(key)?.metadata.resourceVersion;
        if (wanted === undefined) {
          this.contents.delete(key);
          break;
        }
        if (this.contents.get(key)?.metadata.resourceVersion === wanted) break;
        const slash = key.indexOf('/');
        try {
          const secret = await this.options.client.get<KubeObject>(secrets, key.slice(slash + 1), key.slice(0, slash));
          this.contents.set(key, { ...secret, apiVersion: 'v1', kind: 'Secret' });
        } catch (err) {
          if (isNotFound(err)) this.contents.delete(key);
          else this.log.warn('could not read a referenced Secret; retrying on its next use', { secret: key, error: (err as Error).message });
          break;
        }
        const now = super.get(key)?.metadata.resourceVersion;
        if (now === wanted || now === this.contents.get(key)?.metadata.resourceVersion) break;
      }
      this.reportContents();
    })().finally(() => this.loading.delete(key));
    this.loading.set(key, read);
    return read;
  }
}

function keyOfMeta(meta: KubeObject): string {
  return `${meta.metadata.namespace ?? ''}/${meta.metadata.name}`;
}
