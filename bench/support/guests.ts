// The guest benchmarks' shared harness: a real kube-apiserver, the Proxmox simulator, Phoenix with
// its defaults (no tuning), a set of guest objects applied at once; then time to Ready and Proxmox
// requests per guest, each against what the simulator says a perfect client could have done
// (`POST /_sim/ideal`, src/sim/proxmox/ideal.ts), and optionally a steady-state window.
//   PHOENIX_BENCH_SPEED  simulated seconds per real second (default 4; 1 = real Proxmox timing)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { ControlPlane } from '../../src/devcluster/control-plane.ts';
import { installPhoenixCrds } from '../../src/devcluster/crds.ts';
import { startProxmoxSimulator, type RunningSimulator } from '../../src/sim/proxmox/index.ts';
import { writeVerbs } from '../../src/runtime/kube-client.ts';
import { startLocalPhoenix } from '../../src/devcluster/phoenix-env.ts';
import { apiGroup, apiVersion } from '../../src/api/group.ts';
import type { IdealReport } from '../../src/sim/proxmox/ideal.ts';
import { Verdict } from './verdict.ts';
import { defaultObservePeriodMs } from '../../src/controllers/phoenix.ts';

export interface GuestObject {
  readonly plural: 'phoenixlxcs' | 'phoenixvms';
  readonly name: string;
  readonly spec: Record<string, unknown>;
}

export interface GuestsBench {
  readonly title: string;
  readonly seed: (sim: RunningSimulator) => void;
  readonly objects: readonly GuestObject[];
  /** Time to Ready may be at most this multiple of the ideal. */
  readonly idealFactor: number;
  /** Observe periods to watch at steady state afterwards (0: none). */
  readonly steadyPeriods?: number;
  readonly observePeriodMs?: number;
}

const G = { group: apiGroup, version: apiVersion };
const namespace = 'bench';

export async function runGuestsBench(bench: GuestsBench): Promise<never> {
  const speed = Number(process.env['PHOENIX_BENCH_SPEED'] ?? 4);
  // Phoenix's own default, unless the benchmark watches steady state (then short periods do):
  // already Ready guests observed every few seconds would count against creating the rest.
  const observePeriodMs = bench.observePeriodMs ?? (bench.steadyPeriods ? 10_000 : defaultObservePeriodMs);
  const verdict = new Verdict();
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-bench-'));
  const plane = new ControlPlane({ dir, log: () => undefined });
  const state = await plane.start();
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(state.kubeconfig);
  await installPhoenixCrds(kc);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const sim = await startProxmoxSimulator({ seed: 1, speed });
  bench.seed(sim);
  // Phoenix as shipped: no runtime flags, no concurrency settings on the hypervisor.
  const local = await startLocalPhoenix({ kc, sim, namespace, hypervisor: 'bench', observePeriodMs });
  let kubeWrites = 0;
  local.manager.client.onRequest((r) => {
    if (writeVerbs.has(r.verb)) kubeWrites++;
  });

  const count = bench.objects.length;
  sim.admin.resetCounters();
  const simStarted = sim.clock.now();
  await Promise.all(bench.objects.map((o) => custom.createNamespacedCustomObject({
    ...G, plural: o.plural, namespace,
    body: { apiVersion: `${apiGroup}/${apiVersion}`, kind: o.plural === 'phoenixlxcs' ? 'PhoenixLXC' : 'PhoenixVM', metadata: { name: o.name }, spec: o.spec },
  })));
  let lastPrint = Date.now();
  let vmids: number[] = [];
  // Requests to a guest's own paths, as counted when it became Ready: converging ends there, and
  // a guest already Ready is observed at the next observe-cycle boundary, which may fall inside
  // the run (steady state, measured on its own below and in guests-mixed).
  const atReady = new Map<number, number>();
  for (;;) {
    const ready = await readyGuests(custom, bench.objects);
    const fresh = ready.filter((vmid) => !atReady.has(vmid));
    if (fresh.length) {
      const byPath = sim.admin.counters().byPath;
      for (const vmid of fresh) atReady.set(vmid, guestRequests(byPath, vmid));
    }
    if (Date.now() - lastPrint > 10_000) {
      lastPrint = Date.now();
      process.stdout.write(`  ${ready.length}/${count} Ready after ${((sim.clock.now() - simStarted) / 1000).toFixed(0)} simulated s\n`);
    }
    if (ready.length === count) {
      vmids = ready;
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const elapsedMs = sim.clock.now() - simStarted;
  const requests = sim.admin.counters();
  const ideal: IdealReport = sim.admin.ideal(vmids);

  const ratio = elapsedMs / ideal.makespanMs;
  verdict.note(`apply → all ${count} Ready`, `${(elapsedMs / 1000).toFixed(1)} simulated s (speed ×${speed})`);
  verdict.note('ideal (simulator: its task durations and locks)', `${(ideal.makespanMs / 1000).toFixed(1)} simulated s`);
  verdict.check('time to Ready / ideal', ratio.toFixed(2), `≤ ${bench.idealFactor}`, ratio <= bench.idealFactor);
  // Shared requests (task lists, cluster lists, clones sent to the source) until the last guest
  // is Ready; each guest's own until it was Ready.
  const ownUntilEnd = vmids.reduce((sum, vmid) => sum + guestRequests(requests.byPath, vmid), 0);
  const ownUntilReady = vmids.reduce((sum, vmid) => sum + (atReady.get(vmid) ?? 0), 0);
  const converging = requests.total - ownUntilEnd + ownUntilReady;
  const perGuest = converging / count;
  const minimum = ideal.requests / count;
  verdict.check('Proxmox requests per guest, apply → its Ready', `${perGuest.toFixed(1)} (minimum ${minimum.toFixed(1)})`, `≤ ${(1.5 * minimum).toFixed(1)}`, perGuest <= 1.5 * minimum);
  verdict.note('same, with observations of guests already Ready', `${(requests.total / count).toFixed(1)}`);
  const top = Object.entries(requests.byEndpoint).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}=${v}`).join(', ');
  verdict.note('requests by endpoint, apply → all Ready', top);

  const periods = bench.steadyPeriods ?? 0;
  if (periods > 0) {
    // Let the last creates' follow-up reconciles pass, then watch whole periods.
    await new Promise((r) => setTimeout(r, observePeriodMs));
    sim.admin.resetCounters();
    kubeWrites = 0;
    await new Promise((r) => setTimeout(r, periods * observePeriodMs - 200));
    const steady = sim.admin.counters();
    const configReads = Object.entries(steady.byPath).filter(([p]) => /^GET \/nodes\/[^/]+\/(lxc|qemu)\/\d+\/config$/.test(p));
    const total = configReads.reduce((s, [, n]) => s + n, 0);
    const most = Math.max(0, ...configReads.map(([, n]) => n));
    const clusterReads = Object.entries(steady.byEndpoint).filter(([e]) => e.startsWith('GET /cluster/')).reduce((s, [, n]) => s + n, 0);
    verdict.check(`config reads per guest in ${periods} observe periods`, `${(total / count).toFixed(2)} (most for one guest: ${most})`, `exactly ${periods}`, most <= periods && total >= count * (periods - 1) && total <= count * periods);
    verdict.check(`cluster reads in ${periods} observe periods`, String(clusterReads), `≤ ${periods}`, clusterReads <= periods);
    verdict.note('other steady-state requests', String(steady.total - total - clusterReads));
    verdict.check(`Kubernetes writes in ${periods} steady periods`, String(kubeWrites), '0', kubeWrites === 0);
  }

  await local.stop();
  await sim.close();
  await plane.stop();
  rmSync(dir, { recursive: true, force: true });
  return verdict.finish(bench.title);
}

/** Requests to one guest's own paths (`/nodes/{node}/{lxc,qemu}/{vmid}/…`); clones are counted on their source's. */
function guestRequests(byPath: Record<string, number>, vmid: number): number {
  const own = new RegExp(`^\\S+ /nodes/[^/]+/(lxc|qemu)/${vmid}(/|$)`);
  return Object.entries(byPath).filter(([path]) => own.test(path)).reduce((sum, [, n]) => sum + n, 0);
}

/** VMIDs of the objects whose status says Ready for their current generation. */
async function readyGuests(custom: k8s.CustomObjectsApi, objects: readonly GuestObject[]): Promise<number[]> {
  const vmids: number[] = [];
  for (const plural of new Set(objects.map((o) => o.plural))) {
    const list = (await custom.listNamespacedCustomObject({ ...G, plural, namespace })) as { items: any[] };
    for (const o of list.items) {
      const ready = o.status?.observedGeneration === o.metadata.generation && o.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True');
      if (ready) vmids.push(o.status.vmid);
    }
  }
  return vmids;
}
