/**
 * Node disks and ZFS pools (`/nodes/{node}/disks/list`, `/nodes/{node}/disks/zfs`).
 * Creating a pool is a `zfscreate` task; the checks Proxmox makes before forking it
 * (`verify_blockdev_path`, `assert_disk_unused`, the RAID level's disk count, an existing
 * pool of that name) are synchronous 500s, as in `PVE::API2::Disks::ZFS`.
 */
import { bool, int, oneOf, str } from '../../../proxmox/schema.ts';
import { GiB } from '../../../proxmox/size.ts';
import { fail, TaskFailure } from '../errors.ts';
import type { Endpoint } from '../endpoint.ts';
import type { Simulator } from '../simulator.ts';
import type { Subject } from '../auth.ts';
import type { SimDisk, SimDiskStorage, SimNodeState, SimStorageState } from '../state.ts';
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

const KIND = {
  lvm: { create: 'lvmcreate', remove: 'lvmremove', used: 'LVM', storage: 'lvm' },
  lvmthin: { create: 'lvmthincreate', remove: 'lvmthinremove', used: 'LVM', storage: 'lvmthin' },
  directory: { create: 'dircreate', remove: 'dirremove', used: 'mounted', storage: 'dir' },
} as const;

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
  ...diskStorageEndpoints(),
  {
    method: 'GET', path: '/nodes/{node}/disks', params: nodeOnly,
    handler: ({ sim, params }) => (sim.node(String(params['node'])), ['list', 'initgpt', 'smart', 'lvm', 'lvmthin', 'directory', 'wipedisk', 'zfs'].map((name) => ({ name }))),
  },
  {
    method: 'GET', path: '/nodes/{node}/disks/zfs/{name}', params: { name: str({ format: 'pve-storage-id' }), ...nodeOnly },
    permissions: () => [{ path: '/', privs: ['Sys.Audit'] }],
    handler: ({ sim, params }) => {
      const n = sim.node(String(params['node']));
      const pool = (n.zfsPools ?? []).find((p) => p.name === params['name']);
      // PVE::API2::Disks::ZFS detail: zpool status of a missing pool.
      if (!pool) throw fail(`cannot open '${String(params['name'])}': no such pool`);
      const leaf = (d: string) => ({ name: d.replace('/dev/', ''), state: 'ONLINE', read: 0, write: 0, cksum: 0, msg: '', leaf: 1 });
      const vdev = pool.raidlevel === 'single' ? pool.devices.map(leaf) : [{ name: `${pool.raidlevel.replace('raid10', 'mirror')}-0`, state: 'ONLINE', read: 0, write: 0, cksum: 0, msg: '', leaf: 0, children: pool.devices.map(leaf) }];
      return { name: pool.name, state: 'ONLINE', status: '', action: '', scan: 'none requested', errors: 'No known data errors', children: [{ name: pool.name, state: 'ONLINE', read: 0, write: 0, cksum: 0, msg: '', leaf: 0, children: vdev }] };
    },
  },
  {
    method: 'DELETE', path: '/nodes/{node}/disks/zfs/{name}', params: { 'cleanup-config': bool(o), 'cleanup-disks': bool(o), name: str({ format: 'pve-storage-id' }), ...nodeOnly },
    permissions: () => [{ path: '/', privs: ['Sys.Modify'] }],
    handler: ({ sim, params, subject }) => {
      const n = sim.node(String(params['node']));
      const name = String(params['name']);
      return sim.startTask({ node: n.name, type: 'zfsremove', id: name, subject, finish: () => {
        const pool = (n.zfsPools ?? []).find((p) => p.name === name);
        if (!pool) throw new TaskFailure(`cannot open '${name}': no such pool`);
        n.zfsPools = (n.zfsPools ?? []).filter((p) => p !== pool);
        if (params['cleanup-disks'] === 1) for (const d of disksOf(n)) if (pool.devices.includes(d.devpath)) releaseDisk(d);
        if (params['cleanup-config'] === 1) removeStorageOf(sim, n, (s) => s.type === 'zfspool' && s.pool === name);
      } }).upid;
    },
  },
  {
    method: 'GET', path: '/nodes/{node}/disks/smart', params: { disk: str({ pattern: '^/dev/[a-zA-Z0-9\\/]+$' }), healthonly: bool(o), ...nodeOnly },
    permissions: () => [{ path: '/', privs: ['Sys.Audit'] }],
    handler: ({ sim, params }) => {
      const n = sim.node(String(params['node']));
      const d = resolveDevice(n, String(params['disk']));
      if (!d) throw fail(`no such block device '${String(params['disk'])}'`);
      if (params['healthonly'] === 1) return { health: 'PASSED' };
      return { health: 'PASSED', type: 'ata', attributes: [{ id: '  9', name: 'Power_On_Hours', value: 99, worst: 99, threshold: 0, raw: '1234', flags: '-O--CK', fail: '-', normalized: 99 }] };
    },
  },
  {
    method: 'POST', path: '/nodes/{node}/disks/initgpt',
    params: { disk: str({ pattern: '^/dev/[a-zA-Z0-9\\/]+$' }), ...nodeOnly, uuid: str({ ...o, maxLength: 36, pattern: '[a-fA-F0-9\\-]+' }) },
    permissions: () => [{ path: '/', privs: ['Sys.Modify'] }],
    handler: ({ sim, params, subject }) => {
      const n = sim.node(String(params['node']));
      const d = usableDisk(n, String(params['disk']));
      return sim.startTask({ node: n.name, type: 'diskinit', id: d.devpath.replace('/dev/', ''), subject, finish: () => void (d.gpt = true) }).upid;
    },
  },
  {
    method: 'PUT', path: '/nodes/{node}/disks/wipedisk', params: { disk: str({ pattern: '^/dev/[a-zA-Z0-9\\/]+$' }), ...nodeOnly },
    permissions: () => [{ path: '/', privs: ['Sys.Modify'] }],
    handler: ({ sim, params, subject }) => {
      const n = sim.node(String(params['node']));
      const d = resolveDevice(n, String(params['disk']));
      if (!d) throw fail(`no such block device '${String(params['disk'])}'`);
      // pve-storage API2/Disks.pm wipe_disk refuses mounted disks and disks something holds.
      if (d.mounted) throw fail(`disk/partition '${d.devpath}' is mounted`);
      if (d.used !== undefined) throw fail(`disk/partition '${d.devpath}' has a holder`);
      return sim.startTask({ node: n.name, type: 'wipedisk', id: d.devpath.replace('/dev/', ''), subject, finish: () => void (d.gpt = false) }).upid;
    },
  },
];

/** `verify_blockdev_path` and `assert_disk_unused` of PVE::API2::Disks. */
function usableDisk(n: SimNodeState, path: string): SimDisk {
  const d = resolveDevice(n, path);
  if (!d) throw fail(`no such block device '${path}'`);
  if (d.used !== undefined || d.mounted) throw fail(`disk '${d.devpath}' already in use`);
  return d;
}

function releaseDisk(d: SimDisk): void {
  delete d.used;
  d.mounted = false;
  d.gpt = false;
}

function removeStorageOf(sim: Simulator, n: SimNodeState, match: (s: SimStorageState) => boolean): void {
  for (const s of sim.state.storages.filter(match)) {
    if (s.nodes && s.nodes.length > 1) s.nodes = s.nodes.filter((x) => x !== n.name);
    else sim.state.storages = sim.state.storages.filter((x) => x !== s);
  }
}


function listing(n: SimNodeState, kind: SimDiskStorage['kind']): unknown {
  const made = (n.diskStorages ?? []).filter((x) => x.kind === kind);
  if (kind === 'lvm') {
    const vgs = [{ name: 'pve', size: 479 * GiB, free: 16 * GiB, devices: ['/dev/sda3'] }, ...made.map((x) => ({ name: x.name, size: x.size, free: x.size, devices: [x.device] }))];
    return { leaf: 0, children: vgs.map((vg) => ({ leaf: 0, name: vg.name, size: vg.size, free: vg.free, children: vg.devices.map((d) => ({ leaf: 1, name: d, size: vg.size, free: vg.free })) })) };
  }
  if (kind === 'lvmthin') {
    return [{ lv: 'data', vg: 'pve', lv_size: 350 * GiB, used: 0, metadata_size: GiB, metadata_used: 0, lv_state: 'a' }, ...made.map((x) => ({ lv: x.name, vg: x.name, lv_size: x.size, used: 0, metadata_size: GiB, metadata_used: 0, lv_state: 'a' }))];
  }
  return made.map((x) => ({ path: `/mnt/pve/${x.name}`, device: `${x.device}1`, type: x.filesystem ?? 'ext4', options: 'defaults', unitfile: `/etc/systemd/system/mnt-pve-${x.name}.mount` }));
}

/** LVM, LVM-thin and directory storages made on an unused disk (pve-storage API2/Disks/{LVM,LVMThin,Directory}.pm). */
function diskStorageEndpoints(): Endpoint[] {
  const out: Endpoint[] = [];
  for (const kind of ['lvm', 'lvmthin', 'directory'] as const) {
    const k = KIND[kind];
    out.push(
      {
        method: 'GET', path: `/nodes/{node}/disks/${kind}`, params: nodeOnly, permissions: () => [{ path: '/', privs: ['Sys.Audit'] }],
        handler: ({ sim, params }) => listing(sim.node(String(params['node'])), kind),
      },
      {
        method: 'POST', path: `/nodes/{node}/disks/${kind}`,
        params: { add_storage: bool(o), device: str(), ...(kind === 'directory' ? { filesystem: oneOf(['ext4', 'xfs'], o) } : {}), name: str({ format: 'pve-storage-id' }), ...nodeOnly },
        permissions: (p) => [{ path: '/', privs: ['Sys.Modify'] }, ...(p['add_storage'] === 1 || p['add_storage'] === '1' ? [{ path: '/storage', privs: ['Datastore.Allocate'] }] : [])],
        handler: ({ sim, params, subject }) => createOnDisk(sim, kind, params as Record<string, unknown>, subject),
      },
      {
        method: 'DELETE', path: `/nodes/{node}/disks/${kind}/{name}`,
        params: { 'cleanup-config': bool(o), 'cleanup-disks': bool(o), name: str({ format: 'pve-storage-id' }), ...nodeOnly, ...(kind === 'lvmthin' ? { 'volume-group': str({ format: 'pve-storage-id' }) } : {}) },
        permissions: () => [{ path: '/', privs: ['Sys.Modify'] }],
        handler: ({ sim, params, subject }) => {
          const n = sim.node(String(params['node']));
          const name = String(params['name']);
          const vg = String(params['volume-group'] ?? name);
          return sim.startTask({ node: n.name, type: k.remove, id: kind === 'lvmthin' ? `${vg}-${name}` : name, subject, finish: () => {
            const made = (n.diskStorages ?? []).find((x) => x.kind === kind && x.name === name && (kind !== 'lvmthin' || vg === name));
            if (!made) throw new TaskFailure(kind === 'lvm' ? `no such volume group '${name}'` : kind === 'lvmthin' ? `no such thin pool ${vg}/${name}` : `unable to obtain information for disk '${name}'`);
            if (kind === 'lvm' && sim.state.volumes.some((v) => v.storage !== undefined && sim.storage(v.storage)?.vgname === name)) throw new TaskFailure(`volume group '${name}' still in use`);
            n.diskStorages = (n.diskStorages ?? []).filter((x) => x !== made);
            if (params['cleanup-disks'] === 1) { const d = resolveDevice(n, made.device); if (d) releaseDisk(d); }
            if (params['cleanup-config'] === 1) removeStorageOf(sim, n, (s) => s.type === k.storage && (kind === 'directory' ? s.path === `/mnt/pve/${name}` : s.vgname === name));
          } }).upid;
        },
      },
    );
  }
  return out;
}

function createOnDisk(sim: Simulator, kind: SimDiskStorage['kind'], params: Record<string, unknown>, subject: Subject): string {
  const n = sim.node(String(params['node']));
  const name = String(params['name']);
  const k = KIND[kind];
  const d = usableDisk(n, String(params['device']));
  const addStorage = params['add_storage'] === 1;
  if (addStorage && sim.storage(name)) throw fail(`storage ID '${name}' already defined`);
  if ((kind === 'lvm' || kind === 'lvmthin') && (name === 'pve' || (n.diskStorages ?? []).some((x) => (x.kind === 'lvm' || x.kind === 'lvmthin') && x.name === name))) {
    throw fail(`volume group with name '${name}' already exists on node '${n.name}'`);
  }
  if (kind === 'directory' && (n.diskStorages ?? []).some((x) => x.kind === 'directory' && x.name === name)) throw fail(`the path for '${name}' is already mounted: /mnt/pve/${name} (${d.devpath}1)`);
  const fs = params['filesystem'] === undefined ? 'ext4' : String(params['filesystem']);
  const log = kind === 'directory'
    ? [`# /sbin/sgdisk -n1 -t1:8300 ${d.devpath}`, `# /sbin/mkfs -t ${fs} ${d.devpath}1`, `# /bin/systemctl daemon-reload`, `# /bin/systemctl enable mnt-pve-${name}.mount`, `# /bin/systemctl start mnt-pve-${name}.mount`]
    : [`  Physical volume "${d.devpath}" successfully created.`, `  Volume group "${name}" successfully created`];
  return sim.startTask({
    node: n.name, type: k.create, id: name, subject, log,
    finish: () => {
      d.used = k.used;
      d.gpt = true;
      if (kind === 'directory') d.mounted = true;
      (n.diskStorages ??= []).push({ kind, name, device: d.devpath, size: d.size, ...(kind === 'directory' ? { filesystem: fs } : {}) });
      if (!addStorage) return;
      const storage: SimStorageState = kind === 'directory'
        ? { id: name, type: 'dir', path: `/mnt/pve/${name}`, content: ['images', 'rootdir', 'iso', 'vztmpl', 'backup', 'snippets'], shared: false, nodes: [n.name], totalBytes: d.size }
        : { id: name, type: kind, vgname: name, ...(kind === 'lvmthin' ? { thinpool: name } : {}), content: ['images', 'rootdir'], shared: false, nodes: [n.name], totalBytes: d.size };
      sim.state.storages.push(storage);
    },
  }).upid;
}
