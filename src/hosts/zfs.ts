import type { PhoenixHypervisorSpec } from '../api/hypervisor.ts';
import type { HostStep } from './plan.ts';

export type ZfsPoolSpec = NonNullable<NonNullable<PhoenixHypervisorSpec['nodes']>[number]['zfsPools']>[number];

/** A disk as `GET /nodes/{node}/disks/list` reports it. */
export interface ObservedDisk {
  devpath: string;
  by_id_link?: string;
  wwn?: string;
  used?: string;
  mounted?: number | boolean;
  osdid?: number;
}

/**
 * What the I/O layer read on a node: the pool names (`GET /nodes/{node}/disks/zfs`), and the
 * disks only when a pool is missing (an in-sync node never lists its disks).
 */
export interface ObservedZfs {
  readonly pools: readonly string[];
  readonly disks?: readonly ObservedDisk[];
}

/** The spec device path as Proxmox would resolve it: its device path, its by-id link, or its `wwn-` link. */
export function findDisk(disks: readonly ObservedDisk[], device: string): ObservedDisk | undefined {
  return disks.find((d) => d.devpath === device || d.by_id_link === device || (d.wwn !== undefined && device === `/dev/disk/by-id/wwn-${d.wwn}`));
}

/** Why a disk cannot hold a new pool, or undefined when it is free. */
function inUse(disk: ObservedDisk): string | undefined {
  if (disk.used) return disk.used;
  if (disk.mounted === true || disk.mounted === 1) return 'mounted';
  if (disk.osdid !== undefined && disk.osdid >= 0) return `Ceph OSD ${disk.osdid}`;
  return undefined;
}

/** Whether the node's disks must be listed: some pool the spec declares there is missing. */
export function zfsNeedsDisks(wanted: readonly string[], pools: readonly string[]): boolean {
  return wanted.some((name) => !pools.includes(name));
}

/**
 * ZFS pools are created when missing and otherwise left exactly as they are: a pool is never
 * destroyed, re-created or changed (its options are not compared). A device that the disk list
 * does not know, or that something uses, is refused before any call, naming the spec field:
 * Proxmox would refuse it too, and Phoenix never wipes a disk.
 */
export function planZfsPools(node: string, nodeIndex: number, desired: readonly ZfsPoolSpec[] | undefined, observed: ObservedZfs): HostStep[] {
  const steps: HostStep[] = [];
  for (const [i, pool] of (desired ?? []).entries()) {
    if (observed.pools.includes(pool.name)) continue;
    const item = `ZFS pool ${pool.name} on node ${node}`;
    const why = `create ZFS pool ${pool.name} (${pool.raidLevel} of ${pool.devices.join(', ')}) on node ${node}`;
    const differences = [{ field: `nodes[${node}].zfsPools[${pool.name}]`, observed: '(missing)', desired: 'present' }];
    const problems: string[] = [];
    for (const [j, device] of pool.devices.entries()) {
      const field = `spec.nodes[${nodeIndex}].zfsPools[${i}].devices[${j}]`;
      const disk = findDisk(observed.disks ?? [], device);
      if (!disk) {
        problems.push(`${field}: ${device} is not a disk of node ${node} (GET /nodes/${node}/disks/list does not list it)`);
        continue;
      }
      const use = inUse(disk);
      if (use) problems.push(`${field}: ${device} (${disk.devpath}) is in use (${use}); Phoenix never wipes a disk`);
    }
    if (problems.length) {
      steps.push({ item, why, safe: false, refusal: `${item}: ${problems.join('; ')}`, differences });
      continue;
    }
    const params: Record<string, string | number> = { name: pool.name, raidlevel: pool.raidLevel, devices: pool.devices.join(','), compression: pool.compression ?? 'lz4', ashift: pool.ashift ?? 12 };
    if (pool.addStorage) params['add_storage'] = 1;
    steps.push({ item, why, call: { method: 'POST', path: `/nodes/{${node}}/disks/zfs`, params }, safe: true, task: true, differences });
  }
  return steps;
}
