import type { Server } from 'node:http';
import type { KubeAccess } from './kubeconfig.ts';
import { systemClock, type Clock } from './clock.ts';
import type { RuntimeConfig } from './config.ts';
import { parseBindAddress } from './config.ts';
import { Controller, type Reconciler } from './controller.ts';
import { EventRecorder } from './events.ts';
import { closeServer, serveEndpoints } from './http-server.ts';
import { Informer, type InformerHandler } from './informer.ts';
import { KubeClient } from './kube-client.ts';
import { LeaderElector } from './leader-election.ts';
import type { Logger } from './logging.ts';
import { changedBeyondStatus, enqueueMapped, enqueueOnReadinessChange, enqueueSelf, ownerRefs, readyStatusOf } from './mapping.ts';
import { RuntimeMetrics, type ExternalCallRecorder } from './metrics.ts';
import { keyOf, type ObjectRef } from './object-key.ts';
import { defaultRateLimiter } from './rate-limiter.ts';
import { defaultRedactor, type Redactor } from './redact.ts';
import { apiVersionOf, resourceLabel, secrets, type KubeObject, type ResourceType } from './resource.ts';
import { SecretCache } from './secret-cache.ts';
import { StatusWriter } from './status-writer.ts';
import { WorkQueue } from './work-queue.ts';

/** What a controller definition gets to build its reconciler and declare what it watches. */
export interface ControllerSetup<T extends KubeObject> {
  readonly client: KubeClient;
  readonly status: StatusWriter;
  readonly events: EventRecorder;
  readonly externalCalls: ExternalCallRecorder;
  readonly redactor: Redactor;
  readonly logger: Logger;
  /** The primary kind's cache (shared with any other controller watching it). */
  readonly primary: Informer<T>;
  /** The shared cache of any other kind; call before the manager starts. */
  cache<U extends KubeObject>(resource: ResourceType): Informer<U>;
  /** Changes to objects of `resource` controlled by a primary object enqueue that owner. */
  owns(resource: ResourceType): void;
  /** Changes to objects of `resource` enqueue the primary objects `map` names (e.g. users of a Secret). */
  watchMapped<U extends KubeObject>(resource: ResourceType, map: (object: U) => readonly ObjectRef[]): void;
  /**
   * A dependency appearing, disappearing or changing readiness enqueues its dependents; with
   * `specChanges`, so does a change of its spec. Its routine status writes do not.
   */
  watchReadiness<U extends KubeObject>(resource: ResourceType, map: (object: U) => readonly ObjectRef[], options?: { specChanges?: boolean }): void;
  /** Reconciles a primary object soon, for events no watch sees (a freed resource slot). */
  enqueue(ref: ObjectRef): void;
}

/** One entry of src/controllers/registry.ts: a kind and how to reconcile it. */
export interface ControllerDefinition<T extends KubeObject = KubeObject> {
  /** The kind reconciled, e.g. PhoenixVM; also the --concurrency key and metrics label. */
  readonly kind: string;
  readonly resource: ResourceType;
  /** Workers when the configuration names none for this kind (default 1). */
  readonly concurrency?: number;
  setup(setup: ControllerSetup<T>): Reconciler<T> | Promise<Reconciler<T>>;
}

/** Helper so definitions keep their object type without casts. */
export function defineController<T extends KubeObject>(definition: ControllerDefinition<T>): ControllerDefinition<T> {
  return definition;
}

export interface ManagerOptions {
  readonly config: RuntimeConfig;
  readonly kubeConfig: KubeAccess;
  readonly logger: Logger;
  readonly metrics?: RuntimeMetrics;
  readonly clock?: Clock;
  readonly redactor?: Redactor;
  /** reportingController of Events. */
  readonly component?: string;
}

export type ManagerExit = { readonly reason: 'stopped' } | { readonly reason: 'leadership-lost' } | { readonly reason: 'failed'; readonly error: Error };

/**
 * Runs controllers the way controller-runtime's manager does: caches start at once (a standby
 * replica keeps warm caches), controllers start only once caches have synced and — with leader
 * election — the Lease is held; losing the Lease stops every reconcile at once; stop() drains.
 */
export class Manager {
  readonly client: KubeClient;
  readonly metrics: RuntimeMetrics;
  readonly status: StatusWriter;
  readonly events: EventRecorder;
  readonly logger: Logger;
  private readonly options: ManagerOptions;
  private readonly clock: Clock;
  private readonly redactor: Redactor;
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private readonly controllers: Controller<KubeObject>[] = [];
  private readonly servers: Server[] = [];
  private readonly lifetime = new AbortController();
  /** Ends Lease renewal; separate from `lifetime` so the Lease is held until reconciles have drained. */
  private readonly holding = new AbortController();
  private held?: Promise<unknown>;
  private elector?: LeaderElector;
  private stopping?: Promise<void>;
  private exitResolve!: (exit: ManagerExit) => void;
  private started = false;
  private failure?: Error;
  private controllersRunning = false;
  /** Resolves when the manager has stopped, saying why. */
  readonly exited: Promise<ManagerExit>;
  /** The ports the HTTP endpoints actually listen on (useful with port 0). */
  readonly ports: { metrics?: number; probes?: number } = {};

  constructor(options: ManagerOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.redactor = options.redactor ?? defaultRedactor;
    this.logger = options.logger;
    this.metrics = options.metrics ?? new RuntimeMetrics();
    this.client = new KubeClient(options.kubeConfig);
    this.client.onRequest((record) => this.metrics.recordKubeRequest(record));
    this.status = new StatusWriter(this.client, { clock: this.clock, redactor: this.redactor, readyGraceMs: options.config.readyGracePeriodMs });
    this.events = new EventRecorder({
      client: this.client,
      controller: options.component ?? 'hypervisor.phoenix.io/phoenix-controller',
      instance: options.config.leaderElection.identity,
      clock: this.clock,
      logger: this.logger,
      redactor: this.redactor,
    });
    this.exited = new Promise((resolve) => (this.exitResolve = resolve));
  }

  /**
   * The shared informer for `resource` in the configured namespaces. Secrets get a SecretCache
   * (metadata for all, contents for referenced ones only) over the watched namespaces plus the
   * credentials namespaces.
   */
  informer<T extends KubeObject>(resource: ResourceType): Informer<T> {
    const key = `${apiVersionOf(resource)}/${resource.plural}`;
    let informer = this.informers.get(key);
    if (!informer) {
      if (this.started) throw new Error(`cannot add a watch on ${resourceLabel(resource)} after the manager started`);
      const { namespaces, credentialsNamespaces, resyncPeriodMs } = this.options.config;
      const common = { client: this.client, resyncPeriodMs, clock: this.clock, logger: this.logger, observer: this.metrics.informerObserver() };
      if (key === `${apiVersionOf(secrets)}/${secrets.plural}`) {
        const readable = namespaces.length ? [...new Set([...namespaces, ...credentialsNamespaces])] : [];
        informer = new SecretCache({ ...common, namespaces: readable, readable });
      } else {
        informer = new Informer<KubeObject>({ ...common, resource, namespaces });
      }
      this.informers.set(key, informer);
    }
    return informer as unknown as Informer<T>;
  }

  private get secretCache(): SecretCache | undefined {
    return [...this.informers.values()].find((i): i is SecretCache => i instanceof SecretCache);
  }

  async addController<T extends KubeObject>(definition: ControllerDefinition<T>): Promise<Controller<T>> {
    const { config } = this.options;
    const queue = new WorkQueue({
      clock: this.clock,
      rateLimiter: defaultRateLimiter({ clock: this.clock, qps: config.queueQps, burst: config.queueBurst }),
      observer: this.metrics.queueObserver(definition.kind),
    });
    this.metrics.trackQueue(definition.kind, queue);
    this.metrics.initController(definition.kind);
    const enqueue = (key: string) => queue.add(key);
    const primary = this.informer<T>(definition.resource);
    const logger = this.logger.child({ controller: definition.kind });
    const reconciler = await definition.setup({
      client: this.client,
      status: this.status,
      events: this.events,
      externalCalls: this.metrics,
      redactor: this.redactor,
      logger,
      primary,
      cache: (resource) => this.informer(resource),
      owns: (resource) => this.informer(resource).addHandler(enqueueMapped(enqueue, ownerRefs(definition.resource))),
      watchMapped: (resource, map) => {
        const informer = this.informer(resource);
        if (informer instanceof SecretCache) informer.addReferrer(map as (secret: KubeObject) => readonly ObjectRef[]);
        informer.addHandler(enqueueMapped(enqueue, map));
      },
      watchReadiness: (resource, map, options) => this.informer(resource).addHandler(enqueueOnReadinessChange(enqueue, map, options?.specChanges)),
      enqueue: (ref) => enqueue(keyOf(ref)),
    });
    primary.addHandler(enqueueSelf(enqueue, (key) => queue.holds(key)));
    primary.addHandler({ onAdd: (o) => this.status.seen(o), onUpdate: (_previous, o) => this.status.seen(o) });
    primary.addHandler(this.readinessGauge(definition.kind));
    const controller = new Controller<T>({
      name: definition.kind,
      resource: definition.resource,
      informer: primary,
      queue,
      reconciler,
      concurrency: config.concurrency[definition.kind] ?? config.defaultConcurrency ?? definition.concurrency ?? 1,
      clock: this.clock,
      logger: this.logger,
      metrics: this.metrics,
      status: this.status,
      events: this.events,
    });
    this.controllers.push(controller as unknown as Controller<KubeObject>);
    return controller;
  }

  /** phoenix_object_ready for every object of the kind, as its Ready condition says. */
  private readinessGauge<T extends KubeObject>(kind: string): InformerHandler<T> {
    const labels = (object: T) => ({ kind, namespace: object.metadata.namespace ?? '', name: object.metadata.name });
    const set = (object: T) => this.metrics.objectReady.set(labels(object), readyStatusOf(object) === 'True' ? 1 : 0);
    return { onAdd: set, onUpdate: (_previous, current) => set(current), onDelete: (object) => this.metrics.objectReady.remove(labels(object)) };
  }

  get synced(): boolean {
    return [...this.informers.values()].every((informer) => informer.hasSynced);
  }

  /** Starts endpoints and caches, then (after sync and, if enabled, leadership) the controllers. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { config } = this.options;
    await this.serve();
    const secretCache = this.secretCache;
    if (secretCache) {
      // An object that starts referencing a Secret gets it read before it needs it.
      const changed = () => secretCache.referencesChanged();
      for (const informer of this.informers.values()) {
        if (informer !== secretCache) informer.addHandler({ onAdd: changed, onUpdate: (previous, current, resync) => !resync && changedBeyondStatus(previous, current) && changed() });
      }
    }
    for (const informer of this.informers.values()) informer.start();
    void this.runControllers().catch((error: Error) => {
      this.logger.error('manager failed', { error });
      this.failure = error;
      void this.stop();
    });
    this.logger.info('manager started', {
      namespaces: config.namespaces.length ? config.namespaces : 'all',
      controllers: this.controllers.map((c) => c.name),
      leaderElection: config.leaderElection.enabled,
    });
  }

  get isLeader(): boolean {
    return this.controllersRunning;
  }

  private async runControllers(): Promise<void> {
    const signal = this.lifetime.signal;
    await Promise.race([
      Promise.all([...this.informers.values()].map((i) => i.waitForSync())),
      new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true })),
    ]);
    if (signal.aborted) return;
    await this.secretCache?.loadReferenced();
    if (signal.aborted) return;
    this.logger.info('caches synced', { resources: [...this.informers.keys()] });
    const le = this.options.config.leaderElection;
    if (le.enabled) {
      this.elector = new LeaderElector({
        client: this.client,
        namespace: le.namespace,
        name: le.name,
        identity: le.identity,
        leaseDurationMs: le.leaseDurationMs,
        renewDeadlineMs: le.renewDeadlineMs,
        retryPeriodMs: le.retryPeriodMs,
        clock: this.clock,
        logger: this.logger,
      });
      if (!(await this.elector.acquire(signal))) return;
      this.metrics.leader.set({ name: le.name }, 1);
    }
    this.controllersRunning = true;
    for (const controller of this.controllers) controller.start();
    if (!this.elector) return;
    this.held = this.elector.hold(this.holding.signal);
    const outcome = await this.held;
    if (outcome === 'lost' && !this.stopping) {
      this.metrics.leader.set({ name: le.name }, 0);
      this.controllersRunning = false;
      for (const controller of this.controllers) controller.abortNow();
      await this.shutdownRest();
      this.exitResolve({ reason: 'leadership-lost' });
    }
  }

  private async serve(): Promise<void> {
    const { config } = this.options;
    const metricsBind = parseBindAddress(config.metricsAddress);
    const probeBind = parseBindAddress(config.probeAddress);
    const health = { healthy: () => true, ready: () => this.synced };
    const sameAddress = metricsBind && probeBind && metricsBind.port !== 0 && metricsBind.port === probeBind.port && metricsBind.host === probeBind.host;
    if (sameAddress) {
      const server = await serveEndpoints(metricsBind, { metrics: this.metrics.registry, health });
      this.servers.push(server);
      this.ports.metrics = this.ports.probes = portOf(server);
      return;
    }
    if (metricsBind) {
      const server = await serveEndpoints(metricsBind, { metrics: this.metrics.registry });
      this.servers.push(server);
      this.ports.metrics = portOf(server);
    }
    if (probeBind) {
      const server = await serveEndpoints(probeBind, { health });
      this.servers.push(server);
      this.ports.probes = portOf(server);
    }
  }

  /** Graceful: stop taking work, let reconciles finish up to the shutdown timeout, release the Lease. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.logger.info('shutting down');
      const draining = Promise.all(this.controllers.map((c) => c.stop(this.options.config.shutdownTimeoutMs)));
      this.lifetime.abort();
      await draining;
      this.controllersRunning = false;
      this.holding.abort();
      await this.held;
      await this.elector?.release();
      if (this.elector) this.metrics.leader.set({ name: this.options.config.leaderElection.name }, 0);
      await this.shutdownRest();
      this.exitResolve(this.failure ? { reason: 'failed', error: this.failure } : { reason: 'stopped' });
    })();
    return this.stopping;
  }

  private async shutdownRest(): Promise<void> {
    this.lifetime.abort();
    this.holding.abort();
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
    await this.events.flush();
    this.events.close();
    await Promise.all(this.servers.splice(0).map((s) => closeServer(s)));
    this.client.close();
  }
}

function portOf(server: Server): number {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}
