import { strict as assert } from 'node:assert';
import type { KubeConfig } from '@kubernetes/client-node';
import { findCondition, type StandardStatus } from '../../src/runtime/conditions.ts';
import { parseRuntimeConfig } from '../../src/runtime/config.ts';
import { TerminalError } from '../../src/runtime/errors.ts';
import { ensureFinalizer, isBeingDeleted, removeFinalizer } from '../../src/runtime/finalizers.ts';
import { KubeClient, writeVerbs } from '../../src/runtime/kube-client.ts';
import { silentLogger } from '../../src/runtime/logging.ts';
import { defineController, Manager, type ControllerSetup } from '../../src/runtime/manager.ts';
import { RuntimeMetrics } from '../../src/runtime/metrics.ts';
import { objectKey } from '../../src/runtime/object-key.ts';
import { withControllerReference } from '../../src/runtime/owner-references.ts';
import { leases, type KubeObject } from '../../src/runtime/resource.ts';
import type { ReconcileContext, ReconcileResult } from '../../src/runtime/controller.ts';
import { testCluster } from '../support/cluster.ts';
import { configMaps, eventually, freshNamespace, getOrUndefined, installWidgetCrd, widget, widgets, type Widget } from './support.ts';

type Reconcile = (ctx: ReconcileContext<Widget>, setup: ControllerSetup<Widget>) => Promise<ReconcileResult | void>;

describe('runtime: controllers against a real kube-apiserver', function () {
  let kc: KubeConfig;
  let client: KubeClient;
  const managers: Manager[] = [];

  before(async function () {
    this.timeout(30 * 60_000);
    kc = (await testCluster()).kc;
    client = new KubeClient(kc);
    await installWidgetCrd(client);
  });

  afterEach(async function () {
    this.timeout(60_000);
    await Promise.all(managers.splice(0).map((m) => m.stop()));
  });

  after(() => client.close());

  /** A manager watching one namespace with one Widget controller running `reconcile`. */
  async function startManager(namespace: string, reconcile: Reconcile, flags: string[] = [], setupMore?: (setup: ControllerSetup<Widget>) => void) {
    const config = parseRuntimeConfig(
      ['--namespaces', namespace, '--metrics-bind-address', '127.0.0.1:0', '--health-probe-bind-address', '127.0.0.1:0', '--shutdown-timeout', '5s', ...flags],
      {},
    );
    const manager = new Manager({ config, kubeConfig: kc, logger: silentLogger(), metrics: new RuntimeMetrics({ processMetrics: false }) });
    managers.push(manager);
    await manager.addController(
      defineController<Widget>({
        kind: 'Widget',
        resource: widgets,
        setup(setup) {
          setupMore?.(setup);
          return { reconcile: (ctx) => reconcile(ctx, setup) };
        },
      }),
    );
    await manager.start();
    return manager;
  }

  async function metric(manager: Manager, pattern: RegExp): Promise<number> {
    const match = pattern.exec(await manager.metrics.registry.metrics());
    return match ? Number(match[1]) : 0;
  }

  it('collapses a burst of 1,000 updates to one object into a few reconciles, never two at once', async function () {
    this.timeout(120_000);
    const ns = await freshNamespace(client, 'burst');
    await client.create(widgets, widget(ns, 'w', { size: 0 }));
    let running = 0;
    let maxRunning = 0;
    const sizesSeen: Array<number | undefined> = [];
    let releaseFirst!: () => void;
    const firstMayFinish = new Promise<void>((resolve) => (releaseFirst = resolve));
    const manager = await startManager(
      ns,
      async ({ object }) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        try {
          // The first reconcile is held open for the whole burst: a queue that handed the key to
          // one of the other three workers meanwhile would show up as running > 1.
          if (sizesSeen.length === 0) {
            sizesSeen.push(object?.spec?.size);
            await firstMayFinish;
          } else {
            sizesSeen.push(object?.spec?.size);
          }
        } finally {
          running--;
        }
      },
      ['--concurrency', '4'],
    );
    await eventually('the first reconcile', async () => sizesSeen.length === 1);
    for (let batch = 0; batch < 100; batch++) {
      await Promise.all(
        Array.from({ length: 10 }, (_, i) => client.mergePatch(widgets, { name: 'w', namespace: ns }, { spec: { size: batch * 10 + i + 1, [`touch${i}`]: batch } })),
      );
    }
    await client.mergePatch(widgets, { name: 'w', namespace: ns }, { spec: { size: 1000 } });
    const final = await client.get<Widget>(widgets, 'w', ns);
    assert.ok((final.metadata.generation ?? 0) > 1000, `expected over 1,000 generations, got ${final.metadata.generation}`);
    await eventually('the cache has the last update', async () => manager.informer<Widget>(widgets).get(`${ns}/w`)?.metadata.generation === final.metadata.generation);
    releaseFirst();
    await eventually('a reconcile of the final state', async () => sizesSeen.at(-1) === 1000 && running === 0);
    assert.equal(maxRunning, 1, 'two reconciles of one object ran at once');
    assert.ok(sizesSeen.length <= 3, `1,000 updates cost ${sizesSeen.length} reconciles: ${JSON.stringify(sizesSeen)}`);
  });

  it('writes nothing at all in steady state: resyncs after convergence make zero API writes', async function () {
    this.timeout(120_000);
    const ns = await freshNamespace(client, 'steady');
    for (let i = 0; i < 5; i++) await client.create(widgets, widget(ns, `w${i}`, { size: i }));
    let reconciles = 0;
    const finalizer = 'runtime-test.phoenix.io/cleanup';
    const manager = await startManager(
      ns,
      async ({ object }, { client: c, status }) => {
        reconciles++;
        if (!object) return;
        if (isBeingDeleted(object)) {
          await removeFinalizer(c, widgets, object, finalizer);
          return;
        }
        const withFinalizer = await ensureFinalizer(c, widgets, object, finalizer);
        await status.update(widgets, withFinalizer, { phase: 'ready', reason: 'Succeeded', message: `size ${object.spec?.size}`, fields: { size: object.spec?.size } });
      },
      ['--resync-period', '100ms', '--concurrency', '2'],
    );
    let writes = 0;
    manager.client.onRequest((r) => {
      if (writeVerbs.has(r.verb)) writes++;
    });
    const cache = manager.informer<Widget>(widgets);
    await eventually('every widget Ready, with the cache as current as the API', async () => {
      const list = await client.list<Widget>(widgets, { namespace: ns });
      return (
        list.items.length === 5 &&
        list.items.every((w) => {
          const ready = findCondition((w.status as StandardStatus | undefined)?.conditions, 'Ready');
          return (
            ready?.status === 'True' &&
            w.status?.observedGeneration === w.metadata.generation &&
            w.metadata.finalizers?.includes(finalizer) &&
            cache.get(objectKey(w))?.metadata.resourceVersion === w.metadata.resourceVersion
          );
        })
      );
    }, 60_000);
    const versions = (await client.list<Widget>(widgets, { namespace: ns })).items.map((w) => w.metadata.resourceVersion);
    const writesAtConvergence = writes;
    const reconcilesAtConvergence = reconciles;
    // 200 reconciles = 40 resyncs of 5 objects: what ~70 minutes of the default 10 min resync would bring for 30 objects.
    await eventually('200 more reconciles from resync', async () => reconciles >= reconcilesAtConvergence + 200, 60_000);
    assert.equal(writes - writesAtConvergence, 0, `steady state made ${writes - writesAtConvergence} writes`);
    const after = (await client.list<Widget>(widgets, { namespace: ns })).items.map((w) => w.metadata.resourceVersion);
    assert.deepEqual(after, versions, 'objects changed in steady state');

    // The endpoints a kubelet and Prometheus would use.
    const readyz = await fetch(`http://127.0.0.1:${manager.ports.probes}/readyz`);
    assert.equal(readyz.status, 200);
    const metrics = await (await fetch(`http://127.0.0.1:${manager.ports.metrics}/metrics`)).text();
    for (const name of ['controller_runtime_reconcile_total', 'controller_runtime_reconcile_time_seconds_bucket', 'workqueue_depth', 'workqueue_queue_duration_seconds_bucket', 'workqueue_work_duration_seconds_bucket', 'rest_client_requests_total', 'phoenix_kube_api_requests_total']) {
      assert.ok(metrics.includes(name), `/metrics lacks ${name}`);
    }

    // Deletion runs through the finalizer and the object goes away.
    await client.delete(widgets, { name: 'w0', namespace: ns });
    await eventually('w0 deleted once its finalizer was removed', async () => (await getOrUndefined(client, widgets, 'w0', ns)) === undefined);
  });

  it('records a terminal error as Stalled and does not retry it; retries ordinary errors until they pass', async function () {
    this.timeout(60_000);
    const ns = await freshNamespace(client, 'errors');
    await client.create(widgets, widget(ns, 'bad', { size: -1 }));
    await client.create(widgets, widget(ns, 'flaky', { size: 1 }));
    let flakyFailures = 0;
    const manager = await startManager(ns, async ({ object }, { status }) => {
      if (!object) return;
      if ((object.spec?.size ?? 0) < 0) throw new TerminalError('InvalidSpec', 'spec.size must not be negative');
      if (flakyFailures < 3) {
        flakyFailures++;
        throw new Error('transient failure');
      }
      await status.update(widgets, object, { phase: 'ready', reason: 'Succeeded', message: '' });
    });
    await eventually('bad is Stalled', async () => {
      const bad = await client.get<Widget>(widgets, 'bad', ns);
      const conditions = (bad.status as StandardStatus | undefined)?.conditions;
      return findCondition(conditions, 'Stalled')?.status === 'True' && findCondition(conditions, 'Stalled')?.reason === 'InvalidSpec' && findCondition(conditions, 'Ready')?.status === 'False';
    });
    await eventually('flaky is Ready after its retries', async () => {
      const flaky = await client.get<Widget>(widgets, 'flaky', ns);
      return findCondition((flaky.status as StandardStatus | undefined)?.conditions, 'Ready')?.status === 'True';
    });
    assert.equal(flakyFailures, 3);
    assert.equal(await metric(manager, /workqueue_retries_total\{name="Widget"\} (\d+)/), 3, 'only the three ordinary failures are retried');
    assert.equal(await metric(manager, /controller_runtime_terminal_reconcile_errors_total\{controller="Widget"\} (\d+)/), 1);
    const events = await client.list<KubeObject & { reason?: string; series?: { count: number } }>(
      { group: 'events.k8s.io', version: 'v1', plural: 'events', kind: 'Event', namespaced: true },
      { namespace: ns },
    );
    const reasons = events.items.map((e) => e.reason).sort();
    assert.deepEqual(reasons, ['InvalidSpec', 'ReconcileError'], 'three identical failures should be one aggregated Event');
  });

  it('maps watches: a referenced object, an owned object and a dependency becoming Ready each enqueue the right widget', async function () {
    this.timeout(60_000);
    const ns = await freshNamespace(client, 'mapping');
    await client.create(configMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: ns }, data: { v: '1' } });
    await client.create(widgets, widget(ns, 'user', { configMap: 'settings' }));
    await client.create(widgets, widget(ns, 'base', { size: 0 }));
    await client.create(widgets, widget(ns, 'dependent', { dependsOn: 'base' }));
    const reconciled: Record<string, number> = {};
    let running = 0;
    const manager = await startManager(
      ns,
      async ({ object, request }, { client: c, status, primary }) => {
        reconciled[request.name] = (reconciled[request.name] ?? 0) + 1;
        running++;
        try {
          await reconcileMapped(object, c, status, primary);
        } finally {
          running--;
        }
      },
      [],
      (setup) => {
        setup.primary.addIndex('configMap', (w) => (w.spec?.configMap ? [`${w.metadata.namespace}/${w.spec.configMap}`] : []));
        setup.watchMapped<KubeObject>(configMaps, (cm) => setup.primary.byIndex('configMap', objectKey(cm)).map((w) => ({ namespace: ns, name: w.metadata.name })));
        setup.owns(configMaps);
        setup.watchReadiness<Widget>(widgets, (w) => setup.primary.list().filter((d) => d.spec?.dependsOn === w.metadata.name).map((d) => ({ namespace: ns, name: d.metadata.name })));
      },
    );
    async function reconcileMapped(object: Widget | undefined, c: KubeClient, status: ControllerSetup<Widget>['status'], primary: ControllerSetup<Widget>['primary']) {
      if (!object) return;
      if (object.spec?.dependsOn) {
        const dependency = primary.get(`${ns}/${object.spec.dependsOn}`);
        const ready = findCondition((dependency?.status as StandardStatus | undefined)?.conditions, 'Ready')?.status === 'True';
        await status.update(widgets, object, ready ? { phase: 'ready', reason: 'Succeeded', message: '' } : { phase: 'reconciling', reason: 'DependencyNotReady', message: `${object.spec.dependsOn} is not Ready` });
        return;
      }
      if (object.metadata.name === 'base') {
        const done = (object.spec?.size ?? 0) > 0;
        await status.update(widgets, object, done ? { phase: 'ready', reason: 'Succeeded', message: '' } : { phase: 'reconciling', reason: 'Waiting', message: 'size is 0' });
        return;
      }
      const owned = await getOrUndefined(c, configMaps, `${object.metadata.name}-owned`, ns);
      if (!owned) {
        const cm: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${object.metadata.name}-owned`, namespace: ns } };
        cm.metadata.ownerReferences = withControllerReference(cm, object);
        await c.create(configMaps, cm);
      }
    }
    const cache = manager.informer<Widget>(widgets);
    await eventually('dependent waits for base', async () => findCondition((cache.get(`${ns}/dependent`)?.status as StandardStatus | undefined)?.conditions, 'Ready')?.reason === 'DependencyNotReady');
    await eventually('user created its owned ConfigMap', async () => (await getOrUndefined(client, configMaps, 'user-owned', ns)) !== undefined);
    // Nothing pending: every event seen so far has been handled, so the next reconcile of `user`
    // can only come from the change the test makes.
    const quiet = async () => running === 0 && (await metric(manager, /workqueue_depth\{name="Widget"\} (\d+)/)) === 0;
    await eventually('the owned ConfigMap in the cache and the queue idle', async () => manager.informer(configMaps).get(`${ns}/user-owned`) !== undefined && (await quiet()));

    let before = reconciled['user'] ?? 0;
    await client.mergePatch(configMaps, { name: 'settings', namespace: ns }, { data: { v: '2' } });
    await eventually('a change to the referenced ConfigMap reconciles its user', async () => (reconciled['user'] ?? 0) > before);

    await eventually('idle again', quiet);
    before = reconciled['user'] ?? 0;
    await client.mergePatch(configMaps, { name: 'user-owned', namespace: ns }, { data: { tampered: 'yes' } });
    await eventually('a change to an owned ConfigMap reconciles its owner', async () => (reconciled['user'] ?? 0) > before);

    // No resync (10 min) and no requeue: only the readiness mapping can wake the dependent.
    await client.mergePatch(widgets, { name: 'base', namespace: ns }, { spec: { size: 1 } });
    await eventually('dependent becomes Ready when base does', async () => findCondition((cache.get(`${ns}/dependent`)?.status as StandardStatus | undefined)?.conditions, 'Ready')?.status === 'True');
  });

  it('is not ready until its caches have synced', async function () {
    this.timeout(60_000);
    const ns = await freshNamespace(client, 'unready');
    const config = parseRuntimeConfig(['--namespaces', ns, '--metrics-bind-address', '0', '--health-probe-bind-address', '127.0.0.1:0'], {});
    const manager = new Manager({ config, kubeConfig: kc, logger: silentLogger(), metrics: new RuntimeMetrics({ processMetrics: false }) });
    managers.push(manager);
    // A kind the server does not serve: its list fails (404) and is retried, so the cache never syncs.
    manager.informer({ group: 'runtime-test.phoenix.io', version: 'v1', plural: 'nonexistents', kind: 'Nonexistent', namespaced: true });
    await manager.start();
    const probe = (path: string) => fetch(`http://127.0.0.1:${manager.ports.probes}${path}`).then((r) => r.status);
    await eventually('a failed list has been retried', async () => /phoenix_kube_api_requests_total\{verb="list",resource="nonexistents.runtime-test.phoenix.io",code="404"\} [2-9]/.test(await manager.metrics.registry.metrics()));
    assert.equal(await probe('/readyz'), 503);
    assert.equal(await probe('/healthz'), 200);
  });

  it('stops every reconcile at once when another replica takes the Lease', async function () {
    this.timeout(60_000);
    const ns = await freshNamespace(client, 'lease-loss');
    await client.create(widgets, widget(ns, 'w'));
    let aborted = false;
    let started = false;
    const manager = await startManager(
      ns,
      async ({ signal }) => {
        started = true;
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        aborted = true;
      },
      ['--leader-elect', '--leader-election-namespace', ns, '--leader-election-id', 'runtime-test', '--leader-election-identity', 'me', '--lease-duration', '3s', '--renew-deadline', '2s', '--retry-period', '500ms'],
    );
    await eventually('leading and reconciling', async () => started);
    const lease = await client.get<KubeObject & { spec: Record<string, unknown> }>(leases, 'runtime-test', ns);
    assert.equal(lease.spec['holderIdentity'], 'me');
    await client.replace(leases, { ...lease, spec: { ...lease.spec, holderIdentity: 'thief', leaseDurationSeconds: 60, renewTime: new Date().toISOString().replace('Z', '000Z') } });
    const exit = await manager.exited;
    assert.equal(exit.reason, 'leadership-lost');
    assert.ok(aborted, 'the reconcile in flight was not told to stop');
  });
});
