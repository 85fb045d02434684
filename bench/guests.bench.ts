// Issue 5 benchmark: 100 containers and 20 VMs to Ready against the simulator, compared with
// the ideal its limits allow; Proxmox requests per guest; Kubernetes writes in steady state.
//   PHOENIX_BENCH_SPEED  simulated seconds per real second (default 4; 1 = real Proxmox timing)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { ControlPlane } from '../src/devcluster/control-plane.ts';
import { installPhoenixCrds } from '../src/devcluster/crds.ts';
import { startProxmoxSimulator } from '../src/sim/proxmox/index.ts';
import { writeVerbs } from '../src/runtime/kube-client.ts';
import { startLocalPhoenix } from '../src/devcluster/phoenix-env.ts';
import { apiGroup, apiVersion } from '../src/api/group.ts';

const speed = Number(process.env['PHOENIX_BENCH_SPEED'] ?? 4);
const containers = 100;
const vms = 20;
const createsPerStorage = 2;
const observePeriodMs = 10_000;
const namespace = 'bench';
const G = { group: apiGroup, version: apiVersion };

const dir = mkdtempSync(join(tmpdir(), 'phoenix-bench-'));
const plane = new ControlPlane({ dir, log: (l) => process.stdout.write(`[cluster] ${l}\n`) });
const state = await plane.start();
const kc = new k8s.KubeConfig();
kc.loadFromFile(state.kubeconfig);
await installPhoenixCrds(kc);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);

const sim = await startProxmoxSimulator({ seed: 1, speed });
sim.admin.addGuest({ type: 'qemu', vmid: 9000, config: { name: 'tmpl', memory: 512, scsi0: 'local-lvm:base-9000-disk-0,size=8G', template: 1 } });

const local = await startLocalPhoenix({ kc, sim, namespace, hypervisor: 'bench', observePeriodMs, runtimeArgs: ['--concurrency=16'], hypervisorSpec: { concurrency: { createsPerNode: 4, createsPerStorage } } });
const { manager } = local;
let kubeWrites = 0;
manager.client.onRequest((r) => {
  if (writeVerbs.has(r.verb)) kubeWrites++;
});


async function readyCount(): Promise<number> {
  let ready = 0;
  for (const plural of ['phoenixlxcs', 'phoenixvms']) {
    const list = (await custom.listNamespacedCustomObject({ ...G, plural, namespace })) as { items: any[] };
    ready += list.items.filter((o) => o.status?.observedGeneration === o.metadata.generation && o.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True')).length;
  }
  return ready;
}

sim.admin.resetCounters();
const started = Date.now();
const simStarted = sim.clock.now();
for (let i = 0; i < containers; i++) {
  await custom.createNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace, body: {
    apiVersion: `${apiGroup}/${apiVersion}`, kind: 'PhoenixLXC', metadata: { name: `ct-${i}` },
    spec: { hypervisorRef: { name: 'bench' }, node: 'pve', source: { osTemplate: { volume: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst' } }, memory: '128M', rootDisk: { storage: 'local-lvm', size: '2G' }, networks: [{ name: 'eth0', bridge: 'vmbr0', ipv4: 'dhcp' }] },
  } });
}
for (let i = 0; i < vms; i++) {
  await custom.createNamespacedCustomObject({ ...G, plural: 'phoenixvms', namespace, body: {
    apiVersion: `${apiGroup}/${apiVersion}`, kind: 'PhoenixVM', metadata: { name: `vm-${i}` },
    spec: { hypervisorRef: { name: 'bench' }, node: 'pve', source: { clone: { vmid: 9000, storage: 'local-lvm' } }, cores: 2, memory: '512M' },
  } });
}
let lastPrint = 0;
for (;;) {
  const ready = await readyCount();
  if (Date.now() - lastPrint > 10_000) {
    lastPrint = Date.now();
    process.stdout.write(`  ${ready}/${containers + vms} Ready after ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  }
  if (ready === containers + vms) break;
  await new Promise((r) => setTimeout(r, 250));
}
const elapsedMs = Date.now() - started;
const createRequests = sim.admin.counters().total;

// The ideal: creates and clones run at most `createsPerStorage` at a time on the one storage,
// each for its simulated duration; the last guest still has to start after its create.
const tasks = sim.admin.tasks().filter((t) => (t.starttime * 1000) >= simStarted - 1000);
const duration = (t: { starttime: number; endsAt: number }) => t.endsAt - t.starttime * 1000;
const createMs = tasks.filter((t) => t.type === 'vzcreate' || t.type === 'qmclone').reduce((s, t) => s + duration(t), 0);
const starts = tasks.filter((t) => t.type === 'vzstart' || t.type === 'qmstart');
const tailMs = starts.length ? starts.reduce((s, t) => s + duration(t), 0) / starts.length : 0;
const idealMs = (createMs / createsPerStorage + tailMs) / speed;

// One steady-state resync: every guest is observed once per period.
sim.admin.resetCounters();
kubeWrites = 0;
await new Promise((r) => setTimeout(r, observePeriodMs));
const steadyRequests = sim.admin.counters();
const steadyWrites = kubeWrites;
const byEndpoint = Object.entries(steadyRequests.byEndpoint).sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, v]) => `${k}=${v}`).join(', ');

const rows: [string, string, string][] = [
  ['time to Ready, 100 CTs + 20 VMs', `${(elapsedMs / 1000).toFixed(1)} s (speed ×${speed})`, ''],
  ['ideal (Σ create time / 2 + a start)', `${(idealMs / 1000).toFixed(1)} s`, ''],
  ['ratio to ideal', (elapsedMs / idealMs).toFixed(2), '≤ 1.2'],
  ['Proxmox requests per guest, create to Ready', (createRequests / (containers + vms)).toFixed(1), ''],
  ['Proxmox requests per guest, one resync', (steadyRequests.total / (containers + vms)).toFixed(1), ''],
  ['Kubernetes writes in one steady-state period', String(steadyWrites), '0'],
];
const width = Math.max(...rows.map((r) => r[0].length));
for (const [what, value, target] of rows) process.stdout.write(`  ${what.padEnd(width)}  ${value}${target ? `   (target ${target})` : ''}\n`);
process.stdout.write(`  steady-state requests by endpoint: ${byEndpoint}\n`);

await local.stop();
await sim.close();
await plane.stop();
rmSync(dir, { recursive: true, force: true });
