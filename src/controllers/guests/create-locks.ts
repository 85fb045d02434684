/**
 * What a create or clone holds in Proxmox while its task runs, as Phoenix's create scheduler
 * needs to know it: work that would be refused (or would only queue behind the same storage's
 * I/O) waits in Phoenix instead, and starts when the holder's task ends.
 *
 * - A container clone sets `lock: disk` on its source for the whole task, template or not; a
 *   second clone is refused with "CT is locked (disk)" (pve-container src/PVE/API2/LXC.pm,
 *   clone_vm: `set_lock($vmid, 'disk')` … `remove_lock($vmid, 'disk')`).
 * - A VM clone holds its source's config flock for the whole task: exclusively when the source
 *   runs, shared when it does not (templates never run), and a clone that cannot get it within
 *   1 s fails (qemu-server src/PVE/API2/Qemu.pm, clone_vm: `lock_config_full($vmid, 1, …)` /
 *   `lock_config_shared($vmid, 1, …)`). Clones of a stopped VM or template may run together.
 * - Snapshots (`lock: snapshot`), migrations (`lock: migrate`), template conversion and disk
 *   moves (`lock: disk` on containers, the config flock on VMs) lock the guest they act on,
 *   which Phoenix never clones from while it runs them itself (one task per object at a time).
 * - Creating from an archive or image, and full clones, copy data onto a storage; a storage's
 *   bandwidth is shared, so more than a couple at once only lengthens each. Linked clones copy
 *   nothing and take no storage slot.
 */

export interface CreateShape {
  readonly type: 'lxc' | 'qemu';
  /** The clone's source; undefined for a create from an archive, an image or nothing. */
  readonly cloneSource?: number;
  /** A full clone (copies the disks); ignored for creates. */
  readonly full: boolean;
  /** Whether a VM source runs now (unknown counts as running: the safe side). */
  readonly sourceRunning?: boolean;
  readonly node: string;
  /** Where the data is written, when the guest's disks are on a known storage. */
  readonly storage?: string;
}

export interface CreateLimits {
  readonly createsPerNode: number;
  readonly createsPerStorage: number;
}

export interface CapacityKey {
  readonly key: string;
  readonly limit: number;
}

/** The slots a create or clone takes: its node, its storage if it copies data, its source if it locks it. */
export function createLocks(shape: CreateShape, limits: CreateLimits): CapacityKey[] {
  const keys: CapacityKey[] = [{ key: `node:${shape.node}`, limit: limits.createsPerNode }];
  const copies = shape.cloneSource === undefined || shape.full;
  if (copies && shape.storage !== undefined) keys.push({ key: `storage:${shape.storage}`, limit: limits.createsPerStorage });
  if (shape.cloneSource !== undefined && sourceHeldExclusively(shape)) keys.push({ key: `source:${shape.cloneSource}`, limit: 1 });
  return keys;
}

function sourceHeldExclusively(shape: CreateShape): boolean {
  if (shape.type === 'lxc') return true;
  return shape.sourceRunning !== false;
}
