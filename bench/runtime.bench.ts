// Controller runtime: no-op reconcile throughput from watch events through the informer cache and
// the work queue, and
// resident memory with 10,000 cached objects. Targets (issues 4, 11): >= 5,000 reconciles/s through
// the watch, the informer and the queue; <= 150 MiB with 10,000 objects cached.
import { Controller } from '../src/runtime/controller.ts';
import { systemClock } from '../src/runtime/clock.ts';
import { Informer } from '../src/runtime/informer.ts';
import type { KubeClient, WatchEvent, WatchOptions } from '../src/runtime/kube-client.ts';
import { silentLogger } from '../src/runtime/logging.ts';
import { enqueueSelf } from '../src/runtime/mapping.ts';
import { RuntimeMetrics } from '../src/runtime/metrics.ts';
import { defaultRateLimiter } from '../src/runtime/rate-limiter.ts';
import type { KubeObject, ResourceType } from '../src/runtime/resource.ts';
import { WorkQueue } from '../src/runtime/work-queue.ts';
import { Verdict } from './support/verdict.ts';

const resource: ResourceType = { group: 'hypervisor.phoenix.io', version: 'v1alpha1', plural: 'phoenixvms', kind: 'PhoenixVM', namespaced: true };
const objectCount = 10_000;

/** A PhoenixVM as the API server returns it, managedFields included (about 3 KB of JSON). */
function vm(i: number): KubeObject {
  const name = `vm-${i}`;
  return {
    apiVersion: 'hypervisor.phoenix.io/v1alpha1',
    kind: 'PhoenixVM',
    metadata: {
      name,
      namespace: `team-${i % 20}`,
      uid: `6f1c2a4e-0000-4000-8000-${String(i).padStart(12, '0')}`,
      resourceVersion: String(100_000 + i),
      generation: 3,
      creationTimestamp: '2026-01-01T00:00:00Z',
      labels: { app: 'web', tier: 'frontend', 'phoenix.io/host': `pve-${i % 5}` },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ spec: { cores: 2, memoryMiB: 2048 } }) },
      finalizers: ['hypervisor.phoenix.io/cleanup'],
      managedFields: [
        { manager: 'kubectl', operation: 'Apply', apiVersion: 'hypervisor.phoenix.io/v1alpha1', time: '2026-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:cores': {}, 'f:memoryMiB': {}, 'f:disks': {}, 'f:networks': {} } } },
        { manager: 'phoenix', operation: 'Update', subresource: 'status', apiVersion: 'hypervisor.phoenix.io/v1alpha1', time: '2026-01-01T00:01:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': { 'f:conditions': {}, 'f:observedGeneration': {}, 'f:vmid': {} } } },
      ],
    },
    spec: {
      node: `pve-${i % 5}`,
      cores: 2,
      memoryMiB: 2048,
      template: 'debian-12-cloud',
      disks: [{ name: 'scsi0', storage: 'local-lvm', sizeGiB: 32 }],
      networks: [{ name: 'net0', bridge: 'vmbr0', vlan: 20, macAddress: `BC:24:11:${(i >> 16) & 255}:${(i >> 8) & 255}:${i & 255}` }],
      cloudInit: { user: 'debian', sshKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForBenchmarkOnly bench@phoenix'] },
    },
    status: {
      observedGeneration: 3,
      vmid: 1000 + i,
      conditions: ['Ready', 'Reconciling', 'Stalled'].map((type) => ({
        type,
        status: type === 'Ready' ? 'True' : 'False',
        reason: 'Succeeded',
        message: type === 'Ready' ? `VM ${1000 + i} running` : '',
        lastTransitionTime: '2026-01-01T00:01:00Z',
        observedGeneration: 3,
      })),
    },
  };
}

/**
 * Serves the VMs the way kube-apiserver does to a paginating informer: pages of 500 items, each
 * parsed from its own JSON text as off the wire; then a watch through which the benchmark sends
 * MODIFIED events, also parsed from JSON text, as kube-apiserver streams them.
 */
function pagedListClient(): { client: KubeClient; send: (lines: readonly string[]) => void } {
  let onEvent: ((event: WatchEvent<KubeObject>) => void) | undefined;
  const client = {
    list: async (_r: ResourceType, options: { limit?: number; continue?: string }) => {
      const start = Number(options.continue ?? 0);
      const end = Math.min(objectCount, start + (options.limit ?? objectCount));
      const page = {
        metadata: { resourceVersion: '200000', ...(end < objectCount ? { continue: String(end) } : {}) },
        items: Array.from({ length: end - start }, (_, i) => vm(start + i)),
      };
      return JSON.parse(JSON.stringify(page));
    },
    watch: (_r: ResourceType, options: WatchOptions, handler: (event: WatchEvent<KubeObject>) => void) => {
      onEvent = handler;
      return new Promise<void>((resolve) => options.signal?.addEventListener('abort', () => resolve()));
    },
  } as unknown as KubeClient;
  return {
    client,
    send(lines) {
      if (!onEvent) throw new Error('the informer is not watching');
      for (const line of lines) onEvent(JSON.parse(line) as WatchEvent<KubeObject>);
    },
  };
}

function rssMiB(): number {
  return process.memoryUsage().rss / 1024 / 1024;
}

function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

collectGarbage();
const baselineRss = rssMiB();

const api = pagedListClient();
const informer = new Informer<KubeObject>({ client: api.client, resource });
informer.start();
await informer.waitForSync();
await new Promise((resolve) => setImmediate(resolve)); // the watch opens after the list
collectGarbage();
const cachedRss = rssMiB();
const heapMiB = process.memoryUsage().heapUsed / 1024 / 1024;

let generation = 3;

/**
 * Every cached object is edited (its generation moves, as on a spec change): the events go
 * through the watch into the informer, its handler puts the keys in the queue, and the
 * controller's workers reconcile each once.
 */
async function throughput(concurrency: number, rounds: number): Promise<number> {
  const metrics = new RuntimeMetrics({ processMetrics: false });
  const queue = new WorkQueue({ clock: systemClock, rateLimiter: defaultRateLimiter({ clock: systemClock }), observer: metrics.queueObserver('PhoenixVM') });
  let reconciled = 0;
  let finish!: () => void;
  const target = rounds * objectCount;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const controller = new Controller<KubeObject>({
    name: 'PhoenixVM',
    resource,
    informer,
    queue,
    concurrency,
    clock: systemClock,
    logger: silentLogger(),
    metrics,
    reconciler: {
      // No-op: read the object the cache handed over, change nothing.
      async reconcile({ object }) {
        if (object === undefined || (object.metadata.generation ?? 0) < 3) throw new Error('cache returned the wrong object');
        if (++reconciled === target) finish();
      },
    },
  });
  informer.addHandler(enqueueSelf<KubeObject>((key) => queue.add(key)));
  controller.start();
  let elapsed = 0;
  for (let round = 0; round < rounds; round++) {
    generation++;
    // The events as kube-apiserver would stream them (prepared outside the timed part).
    const lines = informer.list().map((o) => JSON.stringify({ type: 'MODIFIED', object: { ...o, metadata: { ...o.metadata, generation, resourceVersion: String(Number(o.metadata.resourceVersion) + 1) } } }));
    const started = performance.now();
    api.send(lines);
    while (reconciled < (round + 1) * objectCount) await new Promise((resolve) => setImmediate(resolve));
    elapsed += performance.now() - started;
  }
  await done;
  await controller.stop(1000);
  return target / (elapsed / 1000);
}

const verdict = new Verdict();
// The memory targets are held by a separate `phoenix controller` (footprint.bench.ts); this
// process also carries the benchmark's own list pages, so its figures are context.
verdict.note(`${objectCount.toLocaleString('en-US')} PhoenixVMs cached, this process`, `heap used ${heapMiB.toFixed(0)} MiB; RSS ${cachedRss.toFixed(0)} MiB (nothing cached: ${baselineRss.toFixed(0)} MiB)`);
for (const concurrency of [1, 4]) {
  await throughput(concurrency, 1); // warm-up
  const rate = await throughput(concurrency, 5);
  verdict.check(`no-op reconciles via watch → informer → queue, ${concurrency} worker(s)`, `${Math.round(rate).toLocaleString('en-US')}/s`, '≥ 5,000/s', rate >= 5000);
}
collectGarbage();
verdict.note(`after ${(12 * objectCount).toLocaleString('en-US')} reconciles`, `RSS ${rssMiB().toFixed(0)} MiB, heap used ${(process.memoryUsage().heapUsed / 1024 / 1024).toFixed(0)} MiB`);
await informer.stop();
verdict.finish('controller runtime');
