import { strict as assert } from 'node:assert';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { Informer, type InformerObserver } from '../../src/runtime/informer.ts';
import { KubeClient } from '../../src/runtime/kube-client.ts';
import { parseRuntimeConfig } from '../../src/runtime/config.ts';
import { silentLogger } from '../../src/runtime/logging.ts';
import { defineController, Manager } from '../../src/runtime/manager.ts';
import { RuntimeMetrics } from '../../src/runtime/metrics.ts';
import { objectKey } from '../../src/runtime/object-key.ts';
import { testCluster, type TestCluster } from '../support/cluster.ts';
import { eventually, freshNamespace, installWidgetCrd, widget, widgets, type Widget } from './support.ts';

/** Counts why watches were resumed, so a test can tell a recovery really happened. */
function countingObserver() {
  const restarts: Record<string, number> = {};
  const observer: InformerObserver = {
    relisted: () => {},
    watchRestarted: (_r, reason) => (restarts[reason] = (restarts[reason] ?? 0) + 1),
    cached: () => {},
  };
  return { observer, restarts };
}

/** The cache must hold exactly what the API server holds, version for version. */
async function cacheMatchesServer(client: KubeClient, informer: Informer<Widget>, namespace: string): Promise<boolean> {
  const truth = (await client.list<Widget>(widgets, { namespace })).items;
  const cached = informer.list().filter((w) => w.metadata.namespace === namespace);
  return (
    truth.length === cached.length &&
    truth.every((w) => informer.get(objectKey(w))?.metadata.resourceVersion === w.metadata.resourceVersion)
  );
}

/**
 * A TCP relay to the API server that can go silent without closing anything: what a half-open
 * connection (a dead NAT entry, a vanished peer) looks like to the client.
 */
class FreezableRelay {
  private readonly server: Server;
  private readonly pairs: Array<[Socket, Socket]> = [];

  constructor(target: { host: string; port: number }) {
    this.server = createServer((client) => {
      const upstream = createConnection(target);
      this.pairs.push([client, upstream]);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.on('data', (d) => upstream.write(d));
      upstream.on('data', (d) => client.write(d));
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  /** Existing connections stop carrying bytes (but stay open); new ones work normally. */
  freezeExisting(): void {
    for (const [client, upstream] of this.pairs.splice(0)) {
      client.removeAllListeners('data');
      upstream.removeAllListeners('data');
    }
  }

  async close(): Promise<void> {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('runtime: informers against a real kube-apiserver', function () {
  let cluster: TestCluster;
  let client: KubeClient;

  before(async function () {
    this.timeout(30 * 60_000);
    cluster = await testCluster();
    client = new KubeClient(cluster.kc);
    await installWidgetCrd(client);
  });

  after(() => client.close());

  it('recovers when kube-apiserver restarts, and misses no change made around the restart', async function () {
    this.timeout(180_000);
    if (!cluster.plane) this.skip(); // an external cluster cannot be restarted from here
    const ns = await freshNamespace(client, 'restart');
    for (const name of ['keep', 'change', 'remove']) await client.create(widgets, widget(ns, name, { size: 1 }));
    const informerClient = new KubeClient(cluster.kc);
    const { observer, restarts } = countingObserver();
    const informer = new Informer<Widget>({ client: informerClient, resource: widgets, namespaces: [ns], observer });
    const deleted: string[] = [];
    informer.addHandler({ onDelete: (w) => deleted.push(w.metadata.name) });
    informer.start();
    await informer.waitForSync();
    assert.equal(informer.size, 3);
    // A controller running through the restart: it must end up having reconciled every change.
    const reconciledGeneration = new Map<string, number | undefined>();
    const manager = new Manager({
      config: parseRuntimeConfig(['--namespaces', ns, '--metrics-bind-address', '0', '--health-probe-bind-address', '0'], {}),
      kubeConfig: cluster.kc,
      logger: silentLogger(),
      metrics: new RuntimeMetrics({ processMetrics: false }),
    });
    await manager.addController(
      defineController<Widget>({
        kind: 'Widget',
        resource: widgets,
        setup: () => ({ reconcile: async ({ request, object }) => void reconciledGeneration.set(request.name, object?.metadata.generation) }),
      }),
    );
    await manager.start();
    await eventually('the controller has seen all three', async () => reconciledGeneration.size === 3);

    await cluster.plane!.restartApiserver();
    // Changes made at once, while the informer is still between failed reconnects.
    await client.mergePatch(widgets, { name: 'change', namespace: ns }, { spec: { size: 2 } });
    await client.delete(widgets, { name: 'remove', namespace: ns });
    await client.create(widgets, widget(ns, 'added', { size: 3 }));

    await eventually('the cache matches the API server again', () => cacheMatchesServer(client, informer, ns), 90_000);
    assert.equal(informer.get(`${ns}/change`)?.spec?.size, 2);
    assert.deepEqual(deleted, ['remove']);
    assert.ok((restarts['error'] ?? 0) + (restarts['closed'] ?? 0) > 0, `the watch never broke: ${JSON.stringify(restarts)}`);

    await eventually('the controller reconciled the final state of each object', async () => {
      const truth = (await client.list<Widget>(widgets, { namespace: ns })).items;
      return (
        truth.every((w) => reconciledGeneration.get(w.metadata.name) === w.metadata.generation) &&
        reconciledGeneration.has('remove') &&
        reconciledGeneration.get('remove') === undefined
      );
    }, 60_000);
    await manager.stop();

    // And it keeps watching afterwards.
    await client.mergePatch(widgets, { name: 'keep', namespace: ns }, { spec: { size: 9 } });
    await eventually('a later change arrives', async () => informer.get(`${ns}/keep`)?.spec?.size === 9);
    await informer.stop();
    informerClient.close();
  });

  it('notices a watch that has gone silent without closing, and resumes it', async function () {
    this.timeout(60_000);
    const ns = await freshNamespace(client, 'silent');
    await client.create(widgets, widget(ns, 'w', { size: 1 }));
    const server = new URL(cluster.kc.getCurrentCluster()!.server);
    const relay = new FreezableRelay({ host: server.hostname, port: Number(server.port) });
    const relayPort = await relay.listen();
    const relayed = new KubeConfig();
    relayed.loadFromString(cluster.kc.exportConfig());
    relayed.clusters = relayed.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${relayPort}` }));
    const relayedClient = new KubeClient(relayed);
    const { observer, restarts } = countingObserver();
    // The server ends each watch after 2-4 s; silence 1 s past that means the connection is dead.
    const informer = new Informer<Widget>({ client: relayedClient, resource: widgets, namespaces: [ns], observer, watchTimeoutSeconds: 2, watchdogGraceMs: 1000 });
    informer.start();
    await informer.waitForSync();

    relay.freezeExisting();
    await client.mergePatch(widgets, { name: 'w', namespace: ns }, { spec: { size: 2 } });
    await eventually('the change made while the watch was silent', async () => informer.get(`${ns}/w`)?.spec?.size === 2, 30_000);
    assert.ok((restarts['stalled'] ?? 0) >= 1, `the watchdog did not fire: ${JSON.stringify(restarts)}`);
    await informer.stop();
    relayedClient.close();
    await relay.close();
  });
});
