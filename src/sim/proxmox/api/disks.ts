/**
 * Node disks and ZFS pools (`/nodes/{node}/disks/list`, `/nodes/{node}/disks/zfs`).
 * Creating a pool is a `zfscreate` task; the checks Proxmox makes before forking it
 * (`verify_blockdev_path`, `assert_disk_unused`, the RAID level's disk count, an existing
 * pool of that name) are synchronous 500s, as in `PVE::API2::Disks::ZFS`.
 */
import { bool, int, oneOf, str } from '../../../proxmox/schema.ts';
import { GiB } from '../../../proxmox/size.ts';
import { fail } from '../errors.ts';
import type { Endpoint } from '../endpoint.ts';
import type { SimDisk, SimNodeState, SimStorageState } from '../state.ts';
import { nodeOnly } from './common.ts';

const o = { optional: true } as const;
const RAID_LEVELS = ['single', 'mirror', 'raid10', 'raidz', 'raidz2', 'raidz3', 'draid', 'draid2', 'draid3'];
const MIN_DISKS: Record<string, number> = { single: 1, mirror: 2, raid10: 4, raidz: 3, raidz2: 4, raidz3: 5, draid: 3, draid2: 4, draid3: 5 };

/** A fresh install: the system disk (LVM) and three empty disks. */
export function defaultDisks(): SimDisk[] {
  const disk = (letter: string, serial: string, used?: string): SimDisk => ({
    devpath: `/dev/sd${letter}`,
    by_id_link: `/dev/disk/by-id/ata-SIM_DISK_${serial}`,
    wwn: `0x5000c500${serial.toLowerCase().padStart(8, '0')}`,
    serial,
    model: 'SIM_DISK',
    size: 480 * GiB,
    gpt: used !== undefined,
    ...(used !== undefined ? { used, mounted: false } : {}),
  });
  return [disk('a', 'S0A', 'LVM'), disk('b', 'S0B'), disk('c', 'S0C'), disk('d', 'S0D')];
}

function disksOf(n: SimNodeState): SimDisk[] {
  n.disks ??= defaultDisks();
  return n.disks;
}

/** `verify_blockdev_path`: the device path, a by-id link of a disk, resolved to the disk. */
function resolveDevice(n: SimNodeState, path: string): SimDisk | undefined {
  return disksOf(n).find((d) => d.devpath === path || d.by_id_link === path || (d.wwn !== undefined && path === `/dev/disk/by-id/wwn-${d.wwn}`));
}

function listEntry(d: SimDisk): Record<string, unknown> {
  const e: Record<string, unknown> = { devpath: d.devpath, size: d.size, gpt: d.gpt ? 1 : 0, mounted: d.mounted ? 1 : 0, osdid: -1, 'osdid-list': null, health: 'PASSED', type: 'ssd', rpm: 0, wearout: 100 };
  for (const k of ['by_id_link', 'wwn', 'serial', 'model', 'used'] as const) if (d[k] !== undefined) e[k] = d[k];
  return e;
}

function poolEntry(p: NonNullable<SimNodeState['zfsPools']>[number]): Record<string, unknown> {
  return { name: p.name, size: p.size, alloc: 0, free: p.size, frag: 0, dedup: 1, health: 'ONLINE' };
}

/** Usable bytes of a new pool: the smallest disk times the data disks the level leaves. */
function poolSize(level: string, disks: readonly SimDisk[]): number {
  const smallest = Math.min(...disks.map((d) => d.size));
  const n = disks.length;
  const data = level === 'mirror' ? 1 : level === 'raid10' ? n / 2 : /^raidz(\d?)$/.test(level) ? n - Number(level.slice(5) || 1) : /^draid(\d?)$/.test(level) ? n - Number(level.slice(5) || 1) : n;
  return smallest * Math.max(1, data);
}

export const diskEndpoints: Endpoint[] = [
  {
    method: 'GET', path: '/nodes/{node}/disks/list',
    params: { ...nodeOnly, 'include-partitions': bool({ ...o, default: 0 }), skipsmart: bool({ ...o, default: 0 }), type: oneOf(['unused', 'journal_disks'], o) },
    permissions: (p) => [{ path: '/', privs: ['Sys.Audit'], orPath: `/nodes/${String(p['node'])}` }],
    handler: ({ sim, params }) => {
      const disks = disksOf(sim.node(String(params['node'])));
      const type = params['type'];
      return disks.filter((d) => type === undefined || d.used === undefined).map(listEntry);
    },
  },
  {
    method: 'GET', path: '/nodes/{node}/disks/zfs', params: nodeOnly,
    permissions: () => [{ path: '/', privs: ['Sys.Audit'] }],
    handler: ({ sim, params }) => (sim.node(String(params['node'])).zfsPools ?? []).map(poolEntry),
  },
  {
    method: 'POST', path: '/nodes/{node}/disks/zfs',
    params: {
      ...nodeOnly,
      add_storage: bool({ ...o, default: 0 }),
      ashift: int({ ...o, default: 12, minimum: 9, maximum: 16 }),
      compression: oneOf(['on', 'off', 'gzip', 'lz4', 'lzjb', 'zle', 'zstd'], { ...o, default: 'on' }),
      devices: str({ format: 'string-list' }),
      'draid-config': str({ ...o, format: { data: { type: 'integer', minimum: 1 }, spares: { type: 'integer', minimum: 0 } } }),
      name: str({ format: 'pve-storage-id' }),
      raidlevel: oneOf(RAID_LEVELS),
    },
    permissions: (p) => [{ path: '/', privs: ['Sys.Modify'] }, ...(String(p['add_storage'] ?? '0') === '1' ? [{ path: '/storage', privs: ['Datastore.Allocate'] }] : [])],
    handler: ({ sim, params, subject }) => {
      const n = sim.node(String(params['node']));
      const name = String(params['name']);
      const level = String(params['raidlevel']);
      const paths = String(params['devices']).split(/[,;\s]+/).filter(Boolean);
      const disks: SimDisk[] = [];
      for (const path of paths) {
        const disk = resolveDevice(n, path);
        if (!disk) throw fail(`no such block device '${path}'`);
        if (disk.used !== undefined || disk.mounted) throw fail(`device '${disk.devpath}' is already in use`);
        disks.push(disk);
      }
      const addStorage = String(params['add_storage'] ?? '0') === '1';
      if (addStorage) {
        const existing = sim.state.storages.find((s) => s.id === name);
        if (existing && (existing.type !== 'zfspool' || existing.pool !== name)) throw fail(`storage ID '${name}' already defined`);
      }
      if ((n.zfsPools ?? []).some((p) => p.name === name)) throw fail(`pool '${name}' already exists on node '${n.name}'`);
      if (level === 'raid10' && disks.length % 2 !== 0) throw fail('raid10 needs an even number of disks');
      if (level === 'single' && disks.length > 1) throw fail('please give only one disk for single disk mode');
      if (disks.length < MIN_DISKS[level]!) throw fail(`${level} needs at least ${MIN_DISKS[level]} disks`);
      const compression = String(params['compression'] ?? 'on');
      const ashift = Number(params['ashift'] ?? 12);
      return sim.startTask({
        node: n.name, type: 'zfscreate', id: name, subject, log: [`# /sbin/zpool create -o ashift=${ashift} ${name} ${level} ${disks.map((d) => d.devpath).join(' ')}`],
        finish: () => {
          for (const d of disks) {
            d.used = 'ZFS';
            d.gpt = true;
          }
          (n.zfsPools ??= []).push({ name, raidlevel: level, devices: disks.map((d) => d.devpath), size: poolSize(level, disks), compression, ashift });
          if (!addStorage) return;
          const existing = sim.state.storages.find((s) => s.id === name);
          if (existing) {
            // Proxmox adds the node to an existing definition of the same pool.
            if (existing.nodes && !existing.nodes.includes(n.name)) existing.nodes.push(n.name);
            return;
          }
          const storage: SimStorageState = { id: name, type: 'zfspool', pool: name, content: ['images', 'rootdir'], shared: false, nodes: [n.name], totalBytes: poolSize(level, disks) };
          sim.state.storages.push(storage);
        },
      }).upid;
    },
  },
];
