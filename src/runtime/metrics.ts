import { Counter, Gauge, Histogram, Registry, registerProcessMetrics } from './prometheus.ts';
import { apiGroupVersion } from '../api/group.ts';
import { phoenixVersion } from '../version.ts';
import type { QueueObserver, WorkQueue } from './work-queue.ts';
import type { InformerObserver } from './informer.ts';
import type { KubeRequestRecord } from './kube-client.ts';

/** controller-runtime's result label values, plus the terminal errors it counts as "error". */
export type ReconcileOutcome = 'success' | 'requeue' | 'requeue_after' | 'error';

/** One call to a system outside Kubernetes (Proxmox, Portainer), as its client reports it. */
export interface ExternalCall {
  /** e.g. "proxmox", "portainer". */
  readonly system: string;
  /** A low-cardinality name for the endpoint, e.g. "qemu.status", "stacks.create" (never an id). */
  readonly endpointGroup: string;
  /** The HTTP status, or "error" when no response arrived (timeout, refused, TLS). */
  readonly statusCode: number | 'error';
  readonly durationSeconds: number;
}

/** The narrow interface the Proxmox and Portainer clients depend on. */
export interface ExternalCallRecorder {
  recordExternalCall(call: ExternalCall): void;
}

/** Times `call` and records it; the status comes from the result, or from the error thrown. */
export async function timeExternalCall<T>(
  recorder: ExternalCallRecorder,
  system: string,
  endpointGroup: string,
  call: () => Promise<T>,
  statusOf: (outcome: { result?: T; error?: unknown }) => number | 'error' = ({ error }) => statusFromError(error),
): Promise<T> {
  const started = performance.now();
  try {
    const result = await call();
    recorder.recordExternalCall({ system, endpointGroup, statusCode: statusOf({ result }), durationSeconds: (performance.now() - started) / 1000 });
    return result;
  } catch (error) {
    recorder.recordExternalCall({ system, endpointGroup, statusCode: statusOf({ error }), durationSeconds: (performance.now() - started) / 1000 });
    throw error;
  }
}

/** 200 for no error; otherwise a numeric `status`/`statusCode`/`code` on the error, else "error". */
function statusFromError(error: unknown): number | 'error' {
  if (error === undefined) return 200;
  const e = error as { status?: unknown; statusCode?: unknown; code?: unknown };
  for (const candidate of [e.status, e.statusCode, e.code]) if (typeof candidate === 'number') return candidate;
  return 'error';
}

const durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** client-go's workqueue buckets: 1 µs to 10 s, by tens. */
const queueBuckets = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10];

/**
 * Every metric the runtime exports, on its own registry (so tests can run several managers in
 * one process). The controller, work-queue, leader-election, REST-client and process metrics
 * carry controller-runtime's (client-go's) names and labels, so stock dashboards and alerts for
 * Kubernetes controllers work unchanged; what only Phoenix has is named phoenix_*.
 */
export class RuntimeMetrics implements ExternalCallRecorder {
  readonly registry = new Registry();
  private readonly queues = new Map<string, Pick<WorkQueue, 'processingSeconds'>>();

  readonly reconcileTotal = new Counter({
    name: 'controller_runtime_reconcile_total',
    help: 'Total number of reconciliations per controller',
    labelNames: ['controller', 'result'] as const,
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: 'controller_runtime_reconcile_errors_total',
    help: 'Total number of reconciliation errors per controller',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  readonly terminalReconcileErrors = new Counter({
    name: 'controller_runtime_terminal_reconcile_errors_total',
    help: 'Total number of terminal reconciliation errors per controller',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'controller_runtime_reconcile_time_seconds',
    help: 'Length of time per reconciliation per controller',
    labelNames: ['controller'] as const,
    buckets: durationBuckets,
    registers: [this.registry],
  });
  readonly activeWorkers = new Gauge({
    name: 'controller_runtime_active_workers',
    help: 'Number of currently used workers per controller',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  readonly maxConcurrentReconciles = new Gauge({
    name: 'controller_runtime_max_concurrent_reconciles',
    help: 'Maximum number of concurrent reconciles per controller',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  private readonly queueDepth = new Gauge({
    name: 'workqueue_depth',
    help: 'Current depth of workqueue',
    labelNames: ['name'] as const,
    registers: [this.registry],
  });
  private readonly queueAdds = new Counter({
    name: 'workqueue_adds_total',
    help: 'Total number of adds handled by workqueue',
    labelNames: ['name'] as const,
    registers: [this.registry],
  });
  private readonly queueRetries = new Counter({
    name: 'workqueue_retries_total',
    help: 'Total number of retries handled by workqueue',
    labelNames: ['name'] as const,
    registers: [this.registry],
  });
  private readonly queueLatency = new Histogram({
    name: 'workqueue_queue_duration_seconds',
    help: 'How long in seconds an item stays in workqueue before being requested',
    labelNames: ['name'] as const,
    buckets: queueBuckets,
    registers: [this.registry],
  });
  private readonly queueWork = new Histogram({
    name: 'workqueue_work_duration_seconds',
    help: 'How long in seconds processing an item from workqueue takes',
    labelNames: ['name'] as const,
    buckets: queueBuckets,
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: 'leader_election_master_status',
    help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. \'name\' is the string used to identify the lease',
    labelNames: ['name'] as const,
    registers: [this.registry],
  });
  private readonly restRequests = new Counter({
    name: 'rest_client_requests_total',
    help: 'Number of HTTP requests, partitioned by status code, method, and host',
    labelNames: ['code', 'method', 'host'] as const,
    registers: [this.registry],
  });
  private readonly restLatency = new Histogram({
    name: 'rest_client_request_duration_seconds',
    help: 'Request latency in seconds, broken down by verb and host (watches excluded)',
    labelNames: ['verb', 'host'] as const,
    buckets: durationBuckets,
    registers: [this.registry],
  });
  private readonly kubeRequests = new Counter({
    name: 'phoenix_kube_api_requests_total',
    help: 'Requests to the Kubernetes API, by verb, resource and status code',
    labelNames: ['verb', 'resource', 'code'] as const,
    registers: [this.registry],
  });
  private readonly externalRequests = new Counter({
    name: 'phoenix_external_requests_total',
    help: 'Calls to external systems (Proxmox, Portainer), by system, endpoint group and status code',
    labelNames: ['system', 'endpoint_group', 'code'] as const,
    registers: [this.registry],
  });
  private readonly externalLatency = new Histogram({
    name: 'phoenix_external_request_duration_seconds',
    help: 'Latency of calls to external systems, by system, endpoint group and status code',
    labelNames: ['system', 'endpoint_group', 'code'] as const,
    buckets: durationBuckets,
    registers: [this.registry],
  });
  private readonly relists = new Counter({
    name: 'phoenix_informer_relists_total',
    help: 'Full lists by informers (start, 410 Gone)',
    labelNames: ['resource'] as const,
    registers: [this.registry],
  });
  private readonly watchRestarts = new Counter({
    name: 'phoenix_informer_watch_restarts_total',
    help: 'Watches resumed, by resource and why (closed, error, stalled, gone)',
    labelNames: ['resource', 'reason'] as const,
    registers: [this.registry],
  });
  private readonly cachedObjects = new Gauge({
    name: 'phoenix_informer_cached_objects',
    help: 'Objects in the informer cache, by resource (secrets: Secrets whose contents are held; secrets.metadata: Secrets known by name)',
    labelNames: ['resource'] as const,
    registers: [this.registry],
  });
  /** 1 while the object's Ready condition is True, else 0; the series goes when the object does. */
  readonly objectReady = new Gauge({
    name: 'phoenix_object_ready',
    help: 'Whether a Phoenix object is Ready (1) or not (0), by kind, namespace and name',
    labelNames: ['kind', 'namespace', 'name'] as const,
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    new Gauge({
      name: 'phoenix_build_info',
      help: 'Always 1; the labels say which Phoenix, API version and Node.js this process runs',
      labelNames: ['version', 'api_version', 'node_version'] as const,
      registers: [this.registry],
    }).set({ version: phoenixVersion, api_version: apiGroupVersion, node_version: process.versions.node }, 1);
    const queues = this.queues;
    new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help: 'How many seconds of work has been done that is in progress and hasn\'t been observed by work_duration. Large values indicate stuck threads.',
      labelNames: ['name'] as const,
      registers: [this.registry],
      collect() {
        for (const [name, queue] of queues) this.set({ name }, queue.processingSeconds().reduce((sum, s) => sum + s, 0));
      },
    });
    new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running.',
      labelNames: ['name'] as const,
      registers: [this.registry],
      collect() {
        for (const [name, queue] of queues) this.set({ name }, Math.max(0, ...queue.processingSeconds()));
      },
    });
    if (options.processMetrics ?? true) registerProcessMetrics(this.registry);
  }

  recordExternalCall(call: ExternalCall): void {
    const labels = { system: call.system, endpoint_group: call.endpointGroup, code: String(call.statusCode) };
    this.externalRequests.inc(labels);
    this.externalLatency.observe(labels, call.durationSeconds);
  }

  recordKubeRequest(record: KubeRequestRecord): void {
    const resource = record.subresource ? `${record.resource}/${record.subresource}` : record.resource;
    this.kubeRequests.inc({ verb: record.verb, resource, code: String(record.code) });
    // client-go counts a transport failure under code "<error>".
    this.restRequests.inc({ code: record.code === 'error' ? '<error>' : String(record.code), method: record.method, host: record.host });
    if (record.verb !== 'watch') this.restLatency.observe({ verb: record.method, host: record.host }, record.seconds);
  }

  /**
   * Every series of a controller at zero from the start, as controller-runtime does, so rates
   * and alerts see a 0 rather than no data before the first reconcile or failure.
   */
  initController(controller: string): void {
    for (const result of ['success', 'error', 'requeue', 'requeue_after'] satisfies ReconcileOutcome[]) this.reconcileTotal.inc({ controller, result }, 0);
    this.reconcileErrors.inc({ controller }, 0);
    this.terminalReconcileErrors.inc({ controller }, 0);
    this.activeWorkers.set({ controller }, 0);
    this.queueDepth.set({ name: controller }, 0);
    this.queueAdds.inc({ name: controller }, 0);
    this.queueRetries.inc({ name: controller }, 0);
  }

  /** Feeds workqueue_unfinished_work_seconds and workqueue_longest_running_processor_seconds. */
  trackQueue(name: string, queue: Pick<WorkQueue, 'processingSeconds'>): void {
    this.queues.set(name, queue);
  }

  /** The queue's own metrics, under the controller's name. */
  queueObserver(name: string): QueueObserver {
    return {
      depth: (count) => this.queueDepth.set({ name }, count),
      added: () => this.queueAdds.inc({ name }),
      retried: () => this.queueRetries.inc({ name }),
      waited: (seconds) => this.queueLatency.observe({ name }, seconds),
      worked: (seconds) => this.queueWork.observe({ name }, seconds),
    };
  }

  informerObserver(): InformerObserver {
    return {
      relisted: (resource) => this.relists.inc({ resource }),
      watchRestarted: (resource, reason) => this.watchRestarts.inc({ resource, reason }),
      cached: (resource, count) => this.cachedObjects.set({ resource }, count),
    };
  }
}
