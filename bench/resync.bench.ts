// Issue 6 benchmark: what one observe cycle of 1,000 in-sync guests costs Proxmox (target: one
// cluster read plus at most one config read per guest) and Kubernetes (target: zero writes),
// and how long an out-of-band change takes to be corrected.
//   PHOENIX_BENCH_GUESTS  number of guests (default 1000)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { ControlPlane } from '../src/devcluster/control-plane.ts';
import { installPhoenixCrds } from '../src/devcluster/crds.ts';
import { startProxmoxSimulator } from '../src/sim/proxmox/index.ts';
import { writeVerbs } from '../src/runtime/kube-client.ts';
import { startLocalPhoenix } from '../src/devcluster/phoenix-env.ts';
import { createProxmoxClient } from '../src/clients/proxmox/client.ts';
import { apiGroup, apiVersion } from '../src/api/group.ts';
import { Verdict } from './support/verdict.ts';

const guests = Number(process.env['PHOENIX_BENCH_GUESTS'] ?? 1000);
const observePeriodMs = 20_000;
const namespace = 'resync';
const G = { group: apiGroup, version: apiVersion };

const dir = mkdtempSync(join(tmpdir(), 'phoenix-resync-'));
const plane = new ControlPlane({ dir });
const state = await plane.start();
const kc = new k8s.KubeConfig();
kc.loadFromFile(state.kubeconfig);
await installPhoenixCrds(kc);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);

// Fast tasks: this benchmark is about observing, not creating.
const sim = await startProxmoxSimulator({ seed: 3, speed: 1000 });
sim.admin.addNode({ name: 'pve', cpus: 64, memoryGiB: 4096 });
sim.admin.addStorage({ id: 'bulk', type: 'lvmthin', content: ['images', 'rootdir'], totalGiB: 100_000 });
const local = await startLocalPhoenix({ kc, sim, namespace, hypervisor: 'resync', observePeriodMs, runtimeArgs: ['--concurrency=16', '--queue-qps=1000', '--queue-burst=2000'], hypervisorSpec: { concurrency: { createsPerNode: 32, createsPerStorage: 32 } } });
const { manager } = local;
let kubeWrites = 0;
manager.client.onRequest((r) => {
  if (writeVerbs.has(r.verb)) kubeWrites++;
});

const started = Date.now();
process.stdout.write(`  creating ${guests} containers\n`);
for (let i = 0; i < guests; i++) {
  await custom.createNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace, body: {
    apiVersion: `${apiGroup}/${apiVersion}`, kind: 'PhoenixLXC', metadata: { name: `g-${i}` },
    spec: { hypervisorRef: { name: 'resync' }, node: 'pve', vmid: 10_000 + i, source: { osTemplate: { volume: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst' } }, cores: 1, memory: '64M', rootDisk: { storage: 'bulk', size: '1G' }, networks: [{ name: 'eth0', bridge: 'vmbr0', ipv4: `10.${Math.floor(i / 250)}.${i % 250}.10/16` }] },
  } });
}
for (let lastPrint = 0; ;) {
  const list = (await custom.listNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace })) as { items: any[] };
  const ready = list.items.filter((o) => o.status?.observedGeneration === o.metadata.generation && o.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True')).length;
  if (Date.now() - lastPrint > 10_000) {
    lastPrint = Date.now();
    process.stdout.write(`  ${ready}/${guests} Ready after ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  }
  if (ready === guests) break;
  await new Promise((r) => setTimeout(r, 1000));
}

// Let every guest pass one full cycle after converging, then count exactly one more.
await new Promise((r) => setTimeout(r, observePeriodMs));
sim.admin.resetCounters();
kubeWrites = 0;
await new Promise((r) => setTimeout(r, observePeriodMs));
const cycle = sim.admin.counters();
const writes = kubeWrites;
const clusterReads = cycle.byEndpoint['GET /cluster/resources'] ?? 0;
const configReads = cycle.byEndpoint['GET /nodes/{node}/lxc/{vmid}/config'] ?? 0;
const others = cycle.total - clusterReads - configReads;

// Out-of-band changes, timed until Phoenix has set them back: an option and the power state,
// made at different moments of the cycle (observations fall on its boundaries).
const px = createProxmoxClient({ url: sim.url, token: `${sim.token.fullId}=${sim.token.secret}` });
const until = async (done: () => boolean) => {
  while (!done()) await new Promise((r) => setTimeout(r, 20));
};
const corrections: { what: string; ms: number }[] = [];
for (const [i, vmid] of [10_000, 10_001, 10_002].entries()) {
  await new Promise((r) => setTimeout(r, (observePeriodMs / 3) * (i + 0.5)));
  const changedAt = Date.now();
  await px.api.nodes.$('pve').lxc.$(vmid).config.$put({ cores: 8 } as never);
  await until(() => String(sim.admin.guest(vmid)?.config['cores']) === '1');
  corrections.push({ what: `cores of ${vmid}`, ms: Date.now() - changedAt });
}
for (const vmid of [10_003, 10_004]) {
  await new Promise((r) => setTimeout(r, observePeriodMs / 4));
  const upid = await px.api.nodes.$('pve').lxc.$(vmid).status.stop.$post({} as never);
  const stoppedAt = Date.now();
  await until(() => sim.admin.tasks().some((t) => t.upid === upid && t.status === 'stopped'));
  await until(() => sim.admin.guest(vmid)?.status === 'running');
  corrections.push({ what: `power of ${vmid}`, ms: Date.now() - stoppedAt });
}
px.close();
const slowest = Math.max(...corrections.map((c) => c.ms));

const verdict = new Verdict();
verdict.note('guests in sync', String(guests));
verdict.check('Proxmox requests in one observe cycle', String(cycle.total), `≤ ${guests} config reads + 1 cluster read`, cycle.total <= guests + 1);
verdict.check('  /cluster/resources reads', String(clusterReads), '1 per hypervisor', clusterReads <= 1);
verdict.check('  config reads', String(configReads), `≤ ${guests}`, configReads <= guests);
verdict.check('  anything else', String(others), '0', others === 0);
verdict.check('Kubernetes writes in that cycle', String(writes), '0', writes === 0);
for (const c of corrections) verdict.note(`out-of-band change to correction: ${c.what}`, `${(c.ms / 1000).toFixed(1)} s`);
verdict.check('slowest correction', `${(slowest / 1000).toFixed(1)} s = ${(slowest / observePeriodMs).toFixed(2)} observe periods (${observePeriodMs / 1000} s)`, '≤ one period', slowest <= observePeriodMs);

await local.stop();
await sim.close();
await plane.stop();
rmSync(dir, { recursive: true, force: true });
verdict.finish(`observe cycle of ${guests} guests`);
