// Issue 11: resident memory of `phoenix controller` as its own process (the bundled build, as the
// container image runs it), idle, at steady state with 1,000 guests, and with 10,000 objects
// cached. Targets: ≤ 70 MiB idle, ≤ 100 MiB with 1,000 guests, ≤ 150 MiB with 10,000 objects.
//   PHOENIX_BENCH_GUESTS   guests created and kept in sync (default 1000)
//   PHOENIX_BENCH_OBJECTS  objects cached in all (default 10000; the rest wait for a hypervisor)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { ControlPlane } from '../src/devcluster/control-plane.ts';
import { installPhoenixCrds } from '../src/devcluster/crds.ts';
import { startProxmoxSimulator } from '../src/sim/proxmox/index.ts';
import { apiGroup, apiVersion } from '../src/api/group.ts';
import { Verdict } from './support/verdict.ts';

const guests = Number(process.env['PHOENIX_BENCH_GUESTS'] ?? 1000);
const objects = Math.max(guests, Number(process.env['PHOENIX_BENCH_OBJECTS'] ?? 10_000));
const observePeriod = '20s';
const namespace = 'footprint';
const G = { group: apiGroup, version: apiVersion };
const root = fileURLToPath(new URL('..', import.meta.url));
const verdict = new Verdict();
const report = (line: string) => process.stdout.write(`  measured: ${line}\n`);

// The production build, as the image runs it (scripts/build.ts): type stripping of the sources would count too.
const build = spawnSync(process.execPath, [join(root, 'scripts/build.ts')], { stdio: 'inherit' });
if (build.status !== 0) throw new Error('build failed');

const dir = mkdtempSync(join(tmpdir(), 'phoenix-footprint-'));
const plane = new ControlPlane({ dir, log: () => undefined });
const state = await plane.start();
const kc = new k8s.KubeConfig();
kc.loadFromFile(state.kubeconfig);
await installPhoenixCrds(kc);
const core = kc.makeApiClient(k8s.CoreV1Api);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const sim = await startProxmoxSimulator({ seed: 5, speed: 1000 });
sim.admin.addNode({ name: 'pve', cpus: 64, memoryGiB: 4096 });
sim.admin.addStorage({ id: 'bulk', type: 'lvmthin', content: ['images', 'rootdir'], totalGiB: 100_000 });
await core.createNamespace({ body: { metadata: { name: namespace } } });
await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'pve-token' }, stringData: { token: `${sim.token.fullId}=${sim.token.secret}` } } });
await custom.createClusterCustomObject({ ...G, plural: 'phoenixhypervisors', body: {
  apiVersion: `${apiGroup}/${apiVersion}`, kind: 'PhoenixHypervisor', metadata: { name: 'pve' },
  // Sixteen creates at a time instead of two: how fast 1,000 guests get there is not what this
  // measures (7 minutes with the default here, 2.5 with this); the figures are taken after the burst.
  spec: { concurrency: { createsPerStorage: 16 }, proxmox: { url: sim.url, tokenSecretRef: { name: 'pve-token', namespace } } },
} });

// With the V8 flags the image runs it with (Dockerfile's NODE_OPTIONS), which must be the ones
// the chart gives the pod: a figure measured with other flags would describe no deployment.
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const nodeOptions = /^ENV NODE_OPTIONS=(.*)$/m.exec(dockerfile)?.[1] ?? '';
// V8 flags Node does not take from NODE_OPTIONS are on the image's entry point: node <flags> script.
const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1] ?? '[]') as string[];
const nodeFlags = entrypoint.slice(1).filter((arg) => arg.startsWith('--'));
const chartOptions = /- name: NODE_OPTIONS\n\s+value: (.*)$/m.exec(readFileSync(join(root, 'helm/phoenix/templates/deployment.yaml'), 'utf8'))?.[1] ?? '';
if (nodeOptions !== chartOptions) throw new Error(`the Dockerfile's NODE_OPTIONS (${nodeOptions}) differ from the chart's (${chartOptions})`);
process.stdout.write(`  NODE_OPTIONS=${nodeOptions} (Dockerfile and chart), node ${nodeFlags.join(' ')} (the image's entry point)\n`);
const metricsPort = 20_000 + (process.pid % 20_000);
const controller = spawn(process.execPath, [...nodeFlags, join(root, 'dist/cli/main.js'), 'controller', `--kubeconfig=${state.kubeconfig}`, `--namespaces=${namespace}`, `--credentials-namespaces=${namespace}`,
  `--metrics-bind-address=127.0.0.1:${metricsPort}`, '--health-probe-bind-address=0', `--observe-period=${observePeriod}`, '--log-level=warn'], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, NODE_OPTIONS: nodeOptions } });
const pid = controller.pid!;

function rssMiB(): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

/** RSS sampled every 250 ms for `ms`: mean and max. */
async function sample(ms: number): Promise<{ mean: number; max: number }> {
  const values: number[] = [];
  for (const end = Date.now() + ms; Date.now() < end;) {
    values.push(rssMiB());
    await new Promise((r) => setTimeout(r, 250));
  }
  return { mean: values.reduce((a, b) => a + b, 0) / values.length, max: Math.max(...values) };
}

/** Where the memory is, as the controller's own /metrics reports it (its process metrics). */
async function breakdown(): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const mib = (re: RegExp) => (Number(re.exec(text)?.[1] ?? NaN) / 1048576).toFixed(1);
  const spaces = [...text.matchAll(/^nodejs_heap_space_size_used_bytes\{space="([a-z_]+)"\} (\d+)/gm)].map((m) => `${m[1]} ${(Number(m[2]) / 1048576).toFixed(1)}`).join(', ');
  return `heap used ${mib(/^nodejs_heap_size_used_bytes (\d+)/m)} of ${mib(/^nodejs_heap_size_total_bytes (\d+)/m)} MiB, external ${mib(/^nodejs_external_memory_bytes (\d+)/m)} MiB; used by space: ${spaces}`;
}

/** One family's series from the controller's /metrics, as [labels, value]: cheap to poll, unlike listing 10,000 objects. */
async function series(family: string): Promise<[string, number][]> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  return [...text.matchAll(new RegExp(`^${family}(?:\\{(.*)\\})? (\\S+)$`, 'gm'))].map((m) => [m[1] ?? '', Number(m[2])]);
}

async function until(what: string, done: () => Promise<boolean>, everyMs = 500): Promise<void> {
  const started = Date.now();
  let last = started;
  while (!(await done())) {
    if (Date.now() - last > 15_000) {
      last = Date.now();
      process.stdout.write(`  waiting for ${what} (${Math.round((Date.now() - started) / 1000)} s)\n`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const isReady = (o: any) => o.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True');
await until('the hypervisor to be Ready', async () => isReady(await custom.getClusterCustomObject({ ...G, plural: 'phoenixhypervisors', name: 'pve' })));
await new Promise((r) => setTimeout(r, 5_000));
const idle = await sample(10_000);
verdict.check('RSS idle (one hypervisor, no guests)', `mean ${idle.mean.toFixed(0)} MiB, max ${idle.max.toFixed(0)} MiB`, '≤ 70 MiB', idle.max <= 70);
verdict.note('  idle', await breakdown());
report(`idle max ${idle.max.toFixed(0)} MiB`);

async function createAll(count: number, from: number, spec: (i: number) => Record<string, unknown>): Promise<void> {
  for (let i = from; i < from + count; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, from + count - i) }, (_, j) => custom.createNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace, body: {
      apiVersion: `${apiGroup}/${apiVersion}`, kind: 'PhoenixLXC', metadata: { name: `g-${i + j}` }, spec: spec(i + j),
    } })));
  }
}
const guestSpec = (i: number) => ({ hypervisorRef: { name: 'pve' }, node: 'pve', vmid: 10_000 + i, source: { osTemplate: { volume: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst' } }, cores: 1, memory: '64M', rootDisk: { storage: 'bulk', size: '1G' }, networks: [{ name: 'eth0', bridge: 'vmbr0', ipv4: `10.${Math.floor(i / 250)}.${i % 250}.10/16` }] });
await createAll(guests, 0, guestSpec);
const readyCount = async () => ((await custom.listNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace })) as { items: any[] }).items.filter(isReady).length;
// Polled through the controller's own readiness gauge; the API server has the last word.
const readyByMetrics = async () => (await series('phoenix_object_ready')).filter(([labels, v]) => labels.startsWith('kind="PhoenixLXC"') && v === 1).length;
await until(`${guests} guests to be Ready`, async () => (await readyByMetrics()) >= guests && (await readyCount()) >= guests);
await new Promise((r) => setTimeout(r, 20_000));
const steady = await sample(40_000);
verdict.check(`RSS at steady state, ${guests} guests (two observe periods)`, `mean ${steady.mean.toFixed(0)} MiB, max ${steady.max.toFixed(0)} MiB`, '≤ 100 MiB', steady.max <= 100);
verdict.note(`  ${guests} guests`, await breakdown());
report(`${guests} guests max ${steady.max.toFixed(0)} MiB`);

// The rest refer to a hypervisor that does not exist: cached, reconciled once, then waiting.
const waiting = objects - guests;
await createAll(waiting, guests, (i) => ({ ...guestSpec(i), hypervisorRef: { name: 'absent' } }));
// Done when every object has a status, or when that count has not moved for 30 s (a straggler
// in backoff does not change what is cached). Listed every 10 s: a list of 10,000 objects twice
// a second kept the API server busier than the controller. They do not go quiet: each looks for
// its hypervisor again every 30 s, so this is the controller at work with 10,000 objects cached.
let seen = -1;
let movedAt = Date.now();
await until(`${waiting} more objects to be reconciled`, async () => {
  const list = (await custom.listNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace })) as { items: any[] };
  const reconciled = list.items.filter((o) => o.status?.conditions?.length).length;
  if (reconciled !== seen) [seen, movedAt] = [reconciled, Date.now()];
  return reconciled >= objects || Date.now() - movedAt > 30_000;
}, 10_000);
verdict.note('  objects with a status', `${seen.toLocaleString('en-US')} of ${objects.toLocaleString('en-US')}`);
await new Promise((r) => setTimeout(r, 10_000));
const cached = await sample(20_000);
verdict.check(`RSS with ${objects.toLocaleString('en-US')} objects cached`, `mean ${cached.mean.toFixed(0)} MiB, max ${cached.max.toFixed(0)} MiB`, '≤ 150 MiB', cached.max <= 150);
verdict.note(`  ${objects.toLocaleString('en-US')} objects`, await breakdown());

controller.kill('SIGTERM');
await new Promise((r) => controller.once('exit', r));
await sim.close();
await plane.stop();
rmSync(dir, { recursive: true, force: true });
verdict.finish('phoenix controller footprint');
