import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { testCluster, type TestCluster } from '../support/cluster.ts';
import { installPhoenixCrds, eventually } from '../support/crds.ts';
import { G } from '../support/phoenix.ts';
import { startProxmoxSimulator, type RunningSimulator } from '../../src/sim/proxmox/index.ts';
import { readMarker } from '../../src/guests/marker.ts';
import { apiGroup, apiVersion } from '../../src/api/group.ts';

const phoenix = fileURLToPath(new URL('../../bin/phoenix.js', import.meta.url));
const namespace = 'e2e-crash';
const guests = 50;
const kills = 10;

/** A tiny seeded generator, so the kill moments are random but the run is reproducible. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

describe('crash safety: SIGKILL the controller while it creates 50 guests', function () {
  this.timeout(15 * 60_000);
  let cluster: TestCluster;
  let sim: RunningSimulator;
  let custom: k8s.CustomObjectsApi;
  let controller: ChildProcess | undefined;
  const stderr: string[] = [];

  function startController(): ChildProcess {
    const child = spawn(process.execPath, [
      phoenix, 'controller',
      '--kubeconfig', cluster.kubeconfigPath,
      `--namespaces=${namespace}`,
      '--metrics-bind-address=0', '--health-probe-bind-address=0',
      '--allowed-proxmox-hosts=loopback',
      '--concurrency=8', '--log-level=warn', '--log-format=json',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    return child;
  }

  async function kill(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  before(async function () {
    this.timeout(30 * 60_000);
    cluster = await testCluster();
    await installPhoenixCrds(cluster.kc);
    custom = cluster.kc.makeApiClient(k8s.CustomObjectsApi);
    const core = cluster.kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: namespace } } }).catch(() => undefined);
    // Slow enough that tasks are in flight when the controller dies.
    sim = await startProxmoxSimulator({ seed: 11, speed: 20 });
    sim.admin.addGuest({ type: 'qemu', vmid: 9300, config: { name: 'tmpl', memory: 1024, scsi0: 'local-lvm:base-9300-disk-0,size=8G', template: 1 } });
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'pve-token' }, stringData: { token: `${sim.token.fullId}=${sim.token.secret}` } } });
    await custom.createClusterCustomObject({
      ...G, plural: 'phoenixhypervisors',
      body: { apiVersion: `${apiGroup}/${apiVersion}`, kind: 'PhoenixHypervisor', metadata: { name: 'crash-sim' }, spec: { proxmox: { url: sim.url, tokenSecretRef: { name: 'pve-token', namespace } } } },
    });
  });

  after(async () => {
    if (controller) await kill(controller);
    await custom?.deleteClusterCustomObject({ ...G, plural: 'phoenixhypervisors', name: 'crash-sim' }).catch(() => undefined);
    await sim?.close();
  });

  it(`converges after ${kills} SIGKILLs with no duplicate, orphaned or leaked guests`, async () => {
    controller = startController();
    for (let i = 0; i < guests; i++) {
      const vm = i % 5 === 4;
      await custom.createNamespacedCustomObject({
        ...G, plural: vm ? 'phoenixvms' : 'phoenixlxcs', namespace,
        body: {
          apiVersion: `${apiGroup}/${apiVersion}`, kind: vm ? 'PhoenixVM' : 'PhoenixLXC', metadata: { name: `g-${i}` },
          spec: vm
            ? { hypervisorRef: { name: 'crash-sim' }, node: 'pve', source: { clone: { vmid: 9300, storage: 'local-lvm' } }, cores: 2 }
            : { hypervisorRef: { name: 'crash-sim' }, node: 'pve', source: { osTemplate: { volume: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst' } }, rootDisk: { storage: 'local-lvm', size: '4G' }, memory: '512M' },
        },
      });
    }
    const random = seeded(2026);
    for (let k = 0; k < kills; k++) {
      // A random moment in the run: tasks submitted, half-recorded, or being polled.
      const wait = 300 + Math.floor(random() * 1500);
      await new Promise((resolve) => setTimeout(resolve, wait));
      await kill(controller);
      controller = startController();
    }

    const list = async () => [
      ...((await custom.listNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace })) as { items: any[] }).items,
      ...((await custom.listNamespacedCustomObject({ ...G, plural: 'phoenixvms', namespace })) as { items: any[] }).items,
    ];
    let objects: any[] = [];
    let lastReport = 0;
    await eventually('every guest Ready after the last restart', async () => {
      objects = await list();
      if (process.env['PHOENIX_TEST_TRACE'] && Date.now() - lastReport > 5000) {
        lastReport = Date.now();
        const reasons = new Map<string, number>();
        for (const o of objects) {
          const r = o.status?.conditions?.find((c: any) => c.type === 'Ready');
          const key = r?.status === 'True' ? 'Ready' : `${r?.reason}`;
          reasons.set(key, (reasons.get(key) ?? 0) + 1);
        }
        process.stdout.write(`      [trace] ${[...reasons].map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
      }
      return objects.length === guests && objects.every((o) => o.status?.observedGeneration === o.metadata.generation && o.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'));
    }, 10 * 60_000).catch((err) => {
      const stuck = objects.filter((o) => !o.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True')).slice(0, 3);
      throw new Error(`${(err as Error).message}; e.g. ${JSON.stringify(stuck.map((o) => [o.metadata.name, o.status]))}; controller stderr: ${stderr.join('').slice(-2000)}`);
    });

    const uids = new Map(objects.map((o) => [o.metadata.uid as string, o]));
    const phoenixGuests = sim.simulator.state.guests.filter((g) => readMarker(String(g.config['description'] ?? '')) !== undefined);
    const byOwner = new Map<string, number[]>();
    for (const g of phoenixGuests) {
      const uid = readMarker(String(g.config['description']))!.uid;
      byOwner.set(uid, [...(byOwner.get(uid) ?? []), g.vmid]);
    }
    const duplicates = [...byOwner.entries()].filter(([, vmids]) => vmids.length > 1);
    const orphans = [...byOwner.keys()].filter((uid) => !uids.has(uid));
    const leaked = sim.simulator.state.guests.filter((g) => g.vmid !== 9300 && !objects.some((o) => o.status.vmid === g.vmid));
    assert.deepEqual(duplicates, [], 'an object owns more than one guest');
    assert.deepEqual(orphans, [], 'a guest is marked for an object that does not exist');
    assert.deepEqual(leaked.map((g) => g.vmid), [], 'a guest exists that no object records');
    for (const o of objects) {
      assert.deepEqual(byOwner.get(o.metadata.uid), [o.status.vmid], `${o.metadata.name} does not own exactly its recorded guest`);
    }
    assert.equal(new Set(objects.map((o) => o.status.vmid)).size, guests, 'two objects record the same VMID');
  });
});
