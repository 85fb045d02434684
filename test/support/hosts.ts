import * as k8s from '@kubernetes/client-node';
import type { RunningSimulator } from '../../src/sim/proxmox/index.ts';
import { G } from './phoenix.ts';

export type JsonPatch = { op: string; path: string; value?: unknown }[];

/** Changes a PhoenixHypervisor's spec with JSON Patch operations, as `kubectl patch --type=json` does. */
export function patchHypervisor(custom: k8s.CustomObjectsApi, name: string, ops: JsonPatch): Promise<unknown> {
  return custom.patchClusterCustomObject({ ...G, plural: 'phoenixhypervisors', name, body: ops });
}

/** Events about a PhoenixHypervisor, optionally of one reason (a cluster-scoped object's events live in "default"). */
export async function hypervisorEvents(kc: k8s.KubeConfig, hypervisor: string, reason?: string): Promise<k8s.EventsV1Event[]> {
  const events = await kc.makeApiClient(k8s.EventsV1Api).listNamespacedEvent({ namespace: 'default' });
  return events.items.filter((e) => e.regarding?.name === hypervisor && (reason === undefined || e.reason === reason));
}

/** Every request the simulator answered that was not a read, by endpoint. */
export function simulatorWrites(sim: RunningSimulator): [string, number][] {
  return Object.entries(sim.admin.counters().byEndpoint).filter(([endpoint]) => !endpoint.startsWith('GET'));
}

/** The Proxmox host the examples describe: node "phoenix", its storages, pools and cloud image. */
export function seedExamplesHost(sim: RunningSimulator): void {
  sim.admin.addNode({ name: 'phoenix', cpus: 32, memoryGiB: 256 });
  sim.admin.addStorage({ id: 'quickOS-lxc-disks', type: 'zfspool', content: ['images', 'rootdir'], totalGiB: 2000 });
  sim.admin.addStorage({ id: 'quickOS-vm-disks', type: 'zfspool', content: ['images', 'rootdir'], totalGiB: 2000 });
  sim.admin.addStorage({ id: 'fastData-shared-iso', type: 'dir', content: ['iso', 'vztmpl', 'import', 'snippets', 'images', 'rootdir'], totalGiB: 4000, path: '/fastData/shared-iso' });
  sim.admin.addVolume({ volid: 'fastData-shared-iso:import/noble-server-cloudimg-amd64.qcow2', node: 'phoenix', content: 'import', sizeBytes: 600 * 1024 ** 2, format: 'qcow2' });
  sim.admin.addPool('ai');
  sim.admin.addPool('infrastructure');
}
