import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { QueueObserver } from './work-queue.ts';
import type { InformerObserver } from './informer.ts';
import type { KubeRequestRecord } from './kube-client.ts';

export type ReconcileOutcome = 'success' | 'requeue_after' | 'error' | 'terminal';

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

/**
 * Every metric the runtime exports, on its own registry (so tests can run several managers in
 * one process). Names follow controller-runtime's where one exists, prefixed phoenix_.
 */
export class RuntimeMetrics implements ExternalCallRecorder {
  readonly registry = new Registry();

  readonly reconcileTotal = new Counter({
    name: 'phoenix_reconcile_total',
    help: 'Reconciles finished, by controller (kind) and outcome',
    labelNames: ['controller', 'result'] as const,
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: 'phoenix_reconcile_errors_total',
    help: 'Reconciles that failed (retried or terminal), by controller',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'phoenix_reconcile_duration_seconds',
    help: 'Time spent in reconcile, by controller',
    labelNames: ['controller'] as const,
    buckets: durationBuckets,
    registers: [this.registry],
  });
  readonly activeWorkers = new Gauge({
    name: 'phoenix_controller_active_workers',
    help: 'Reconciles in progress, by controller',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  private readonly queueDepth = new Gauge({
    name: 'phoenix_workqueue_depth',
    help: 'Keys waiting for a worker',
    labelNames: ['name'] as const,
    registers: [this.registry],
  });
  private readonly queueAdds = new Counter({
    name: 'phoenix_workqueue_adds_total',
    help: 'Keys added to the queue (after de-duplication)',
    labelNames: ['name'] as const,
    registers: [this.registry],
  });
  private readonly queueRetries = new Counter({
    name: 'phoenix_workqueue_retries_total',
    help: 'Keys re-added after a failure, with backoff',
    labelNames: ['name'] as const,
    registers: [this.registry],
  });
  private readonly queueLatency = new Histogram({
    name: 'phoenix_workqueue_queue_duration_seconds',
    help: 'How long a key waited in the queue before a worker took it',
    labelNames: ['name'] as const,
    buckets: durationBuckets,
    registers: [this.registry],
  });
  private readonly queueWork = new Histogram({
    name: 'phoenix_workqueue_work_duration_seconds',
    help: 'How long a worker held a key',
    labelNames: ['name'] as const,
    buckets: durationBuckets,
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: 'phoenix_leader_election_master_status',
    help: '1 while this process holds the leader Lease, else 0',
    labelNames: ['name'] as const,
    registers: [this.registry],
  });
  private readonly kubeRequests = new Counter({
    name: 'phoenix_kube_api_requests_total',
    help: 'Requests to the Kubernetes API, by verb, resource and status code',
    labelNames: ['verb', 'resource', 'code'] as const,
    registers: [this.registry],
  });
  private readonly kubeLatency = new Histogram({
    name: 'phoenix_kube_api_request_duration_seconds',
    help: 'Latency of Kubernetes API requests (watches excluded), by verb and resource',
    labelNames: ['verb', 'resource'] as const,
    buckets: durationBuckets,
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
    help: 'Objects in the informer cache, by resource',
    labelNames: ['resource'] as const,
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'phoenix_' });
  }

  recordExternalCall(call: ExternalCall): void {
    const labels = { system: call.system, endpoint_group: call.endpointGroup, code: String(call.statusCode) };
    this.externalRequests.inc(labels);
    this.externalLatency.observe(labels, call.durationSeconds);
  }

  recordKubeRequest(record: KubeRequestRecord): void {
    const resource = record.subresource ? `${record.resource}/${record.subresource}` : record.resource;
    this.kubeRequests.inc({ verb: record.verb, resource, code: String(record.code) });
    if (record.verb !== 'watch') this.kubeLatency.observe({ verb: record.verb, resource }, record.seconds);
  }

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
