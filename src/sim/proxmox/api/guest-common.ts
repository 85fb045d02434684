/**
 * Behaviour VMs and containers share: config reads with Proxmox's JSON typing, config
 * updates with digest checks, deletions and pending changes, snapshots, status, and
 * the wording differences between qemu-server and pve-container.
 */
import { bool, lookupParam, str, type ParamDefs } from '../../../proxmox/schema.ts';
import { normaliseTags, splitList } from '../../../proxmox/tags.ts';
import { formatPropertyString, parsePropertyString } from '../../../proxmox/property-string.ts';
import { isDiskOption } from '../../../proxmox/guest-formats.ts';
import { simOptionFormat as guestOptionFormat } from './guest-formats-full.ts';
import { GiB, parseSize } from '../../../proxmox/size.ts';
import type { Params } from '../../../proxmox/validate.ts';
import { fail, paramError, TaskFailure } from '../errors.ts';
import { guestMemoryBytes, type Simulator } from '../simulator.ts';
import type { GuestConfig, GuestType, SimGuestState, SnapshotState } from '../state.ts';
import { lxcOptionParams, qemuOptionParams } from './guest-params.ts';
import type { Subject } from '../auth.ts';
import type { Endpoint } from '../endpoint.ts';
import { nodeVmid, vmPerm } from './common.ts';

export function optionDefs(type: GuestType): ParamDefs {
  return type === 'qemu' ? qemuOptionParams : lxcOptionParams;
}

export const label = (type: GuestType): 'VM' | 'CT' => (type === 'qemu' ? 'VM' : 'CT');

/** Values as Proxmox's config parsers type them: integers and booleans are JSON numbers. */
export function typedConfig(type: GuestType, config: Readonly<GuestConfig>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    const def = lookupParam(optionDefs(type), k);
    if (k === 'cipassword') out[k] = '**********';
    else if (def && (def.type === 'integer' || def.type === 'boolean') && /^-?\d+$/.test(v)) out[k] = Number(v);
    else out[k] = v;
  }
  return out;
}

/** The config with pending values applied, as `GET …/config` shows it by default. */
export function effectiveConfig(g: SimGuestState): GuestConfig {
  const out: GuestConfig = { ...g.config, ...g.pending };
  for (const k of g.pendingDelete) delete out[k];
  return out;
}

export function readConfig(sim: Simulator, g: SimGuestState, params: Params): Record<string, unknown> {
  if (params['snapshot'] !== undefined) return { ...snapshotConfig(g, String(params['snapshot'])), digest: sim.digest(g) };
  const config = params['current'] === 1 ? g.config : effectiveConfig(g);
  // The config file names the snapshot the current state descends from (`parent:`), and GET shows it.
  const parent = g.parentSnapshot === undefined ? {} : { parent: g.parentSnapshot };
  return { ...typedConfig(g.type, config), ...parent, digest: sim.digest(g) };
}

/** A snapshot's section of the config file: its options plus `parent`, `snaptime`, `description`, `vmstate`. */
export function snapshotSection(g: SimGuestState, snap: SnapshotState): Record<string, string> {
  const out: Record<string, string> = { ...snap.config };
  if (snap.description !== '') out['description'] = snap.description;
  if (snap.parent !== undefined) out['parent'] = snap.parent;
  out['snaptime'] = String(snap.snaptime);
  if (snap.vmstate) out['vmstate'] = `${vmstateStorage(g)}:vm-${g.vmid}-state-${snap.name}`;
  return sortConfig(out);
}

/** `GET …/snapshot/{snapname}/config` and `GET …/config?snapshot=`: qemu-server / pve-container die the same way. */
export function snapshotConfig(g: SimGuestState, name: string): Record<string, unknown> {
  const snap = g.snapshots.find((s) => s.name === name);
  if (!snap) throw fail(`snapshot '${name}' does not exist`);
  // The config parser types snaptime as an integer, like the options.
  return { ...typedConfig(g.type, snapshotSection(g, snap)), snaptime: snap.snaptime };
}

/** Where a VM's RAM state goes: `vmstatestorage`, else the storage of its first disk. */
function vmstateStorage(g: SimGuestState): string {
  if (g.config['vmstatestorage'] !== undefined) return g.config['vmstatestorage'];
  const disk = Object.entries(g.config).find(([k, v]) => isDiskOption(g.type, k) && !/media=cdrom/.test(v));
  return disk ? (diskVolume(g.type, disk[0], disk[1])?.split(':')[0] ?? 'local') : 'local';
}

export function pendingList(g: SimGuestState): Array<Record<string, unknown>> {
  const keys = new Set([...Object.keys(g.config), ...Object.keys(g.pending), ...g.pendingDelete]);
  return [...keys].sort().map((key) => {
    const entry: Record<string, unknown> = { key };
    if (g.config[key] !== undefined) entry['value'] = typedConfig(g.type, { [key]: g.config[key]! })[key];
    if (g.pending[key] !== undefined) entry['pending'] = typedConfig(g.type, { [key]: g.pending[key]! })[key];
    if (g.pendingDelete.includes(key)) entry['delete'] = 1;
    return entry;
  });
}

export function checkDigest(sim: Simulator, g: SimGuestState, digest: unknown): void {
  if (digest === undefined || digest === sim.digest(g)) return;
  throw fail(g.type === 'qemu' ? 'checksum mismatch (file change by other user?)' : 'detected modified configuration - file changed by other user? Try again.');
}

/** Fills generated values Proxmox adds on write: MACs for NICs, normalised tags. */
export function normaliseOption(sim: Simulator, type: GuestType, key: string, value: string): string {
  if (key === 'tags') return normaliseTags(value);
  // qemu-server API2/Qemu.pm `$check_drive_param` parses every drive and stores print_drive's
  // canonical form: the volume first, then the other keys sorted.
  if (type === 'qemu' && /^(scsi|virtio|sata|ide)\d+$|^efidisk0$|^tpmstate0$/.test(key)) {
    const format = guestOptionFormat(type, key);
    if (format) {
      const parsed = parsePropertyString(value, format);
      if (Object.keys(parsed.errors).length === 0) return formatPropertyString(parsed.values, format);
    }
  }
  if (/^net\d+$/.test(key)) {
    const format = guestOptionFormat(type, key)!;
    const { values } = parsePropertyString(value, format);
    const macKey = type === 'qemu' ? 'macaddr' : 'hwaddr';
    if (values[macKey] === undefined) values[macKey] = sim.mac();
    else values[macKey] = values[macKey]!.toUpperCase();
    return formatPropertyString(values, format);
  }
  return value;
}

/**
 * Turns `storage:<GiB>` disk requests into allocated volumes (inside a task or a
 * synchronous update), returning the option value as the config stores it.
 */
export function materialiseDisk(sim: Simulator, g: { type: GuestType; vmid: number; node: string }, key: string, value: string): string {
  if (!isDiskOption(g.type, key)) return value;
  const format = guestOptionFormat(g.type, key);
  if (!format) return value;
  const { values } = parsePropertyString(value, format);
  const volKey = g.type === 'lxc' ? 'volume' : 'file';
  const target = values[volKey] ?? '';
  const m = /^([a-z][a-z0-9\-_.]*[a-z0-9]):(\d+(?:\.\d+)?)$/i.exec(target);
  if (values['media'] === 'cdrom' || /:cloudinit$/.test(target)) {
    if (/:cloudinit$/.test(target)) {
      const storage = target.split(':')[0]!;
      sim.storageOn(storage, g.node);
      values[volKey] = `${storage}:vm-${g.vmid}-cloudinit`;
      values['media'] = 'cdrom';
      return formatPropertyString(values, format);
    }
    if (target !== 'none' && target !== 'cdrom' && !sim.volume(target)) throw new TaskFailure(`volume '${target}' does not exist`);
    return value;
  }
  if (!m) {
    if (target.includes(':') && !sim.volume(target)) throw new TaskFailure(`volume '${target}' does not exist`);
    return value;
  }
  const storage = m[1]!;
  let bytes = Math.round(Number(m[2]) * GiB);
  const importFrom = values['import-from'];
  if (importFrom !== undefined) {
    const source = sim.volume(importFrom);
    if (!source) throw new TaskFailure(`import-from: volume '${importFrom}' does not exist`);
    bytes = Math.max(bytes, source.size);
    delete values['import-from'];
  }
  const vol = sim.allocateDisk(storage, g.node, g.vmid, bytes, g.type === 'lxc' ? 'rootdir' : 'images');
  values[volKey] = vol.volid;
  values['size'] = formatSizeForConfig(bytes);
  return formatPropertyString(values, format);
}

function formatSizeForConfig(bytes: number): string {
  if (bytes % GiB === 0) return `${bytes / GiB}G`;
  return `${Math.round(bytes / 1024 / 1024)}M`;
}

/** Size recorded in a disk option (`size=8G`), in bytes. */
export function diskSize(type: GuestType, key: string, value: string): number {
  const format = guestOptionFormat(type, key);
  if (!format) return 0;
  const size = parsePropertyString(value, format).values['size'];
  return size === undefined ? 0 : (parseSize(size) ?? 0);
}

export function diskVolume(type: GuestType, key: string, value: string): string | undefined {
  const format = guestOptionFormat(type, key);
  if (!format) return undefined;
  const v = parsePropertyString(value, format).values;
  return v[type === 'lxc' ? 'volume' : 'file'];
}

/** Whether a changed option takes effect on a running guest at once. */
function hotApplies(type: GuestType, g: SimGuestState, key: string, hotApply: ReadonlySet<string>): boolean {
  if (hotApply.has(key)) return true;
  if (type === 'lxc') return /^net\d+$/.test(key) || (/^(mp|dev)\d+$/.test(key) && g.config[key] === undefined);
  const hotplug = (effectiveConfig(g)['hotplug'] ?? 'network,disk,usb').split(',');
  if (/^net\d+$/.test(key)) return hotplug.includes('network') || hotplug.includes('1');
  if (/^(scsi|virtio|sata)\d+$/.test(key)) return hotplug.includes('disk') || hotplug.includes('1');
  if (/^ipconfig\d+$/.test(key)) return true;
  if (key === 'cores' || key === 'vcpus') return hotplug.includes('cpu');
  if (key === 'memory') return hotplug.includes('memory');
  return false;
}

/**
 * Applies a config update (`PUT|POST …/config`): validates the delete/revert lists,
 * normalises values, allocates new disks, and either applies each change or leaves
 * it pending when the guest runs and the option does not hot-plug.
 */
export function updateConfig(sim: Simulator, g: SimGuestState, params: Params, hotApply: ReadonlySet<string>, readOnly: ReadonlySet<string>): void {
  const { changes, deletes, reverts } = checkConfigUpdate(g.type, params, readOnly);
  for (const r of reverts) {
    delete g.pending[r];
    g.pendingDelete = g.pendingDelete.filter((x) => x !== r);
  }
  const running = g.status === 'running';
  for (const [key, raw] of changes) {
    let value = normaliseOption(sim, g.type, key, String(raw));
    value = materialiseDisk(sim, g, key, value);
    if (!running || hotApplies(g.type, g, key, hotApply)) {
      g.config[key] = value;
      delete g.pending[key];
    } else {
      g.pending[key] = value;
    }
    g.pendingDelete = g.pendingDelete.filter((x) => x !== key);
  }
  for (const key of deletes) {
    if (!running || hotApplies(g.type, g, key, hotApply)) {
      detachOption(g, key);
      delete g.pending[key];
    } else {
      // A deletion drops the option's pending value, as update_vm_api does.
      delete g.pending[key];
      if (!g.pendingDelete.includes(key)) g.pendingDelete.push(key);
    }
  }
  cleanupPending(g);
}

/**
 * `cleanup_pending` (AbstractConfig), run by both qemu-server and pve-container after every
 * update: a pending value equal to the current one is no change, nor is a pending deletion
 * of an option that is not set. So writing back the current value cancels a pending change.
 */
function cleanupPending(g: SimGuestState): void {
  for (const [k, v] of Object.entries(g.pending)) if (g.config[k] === v) delete g.pending[k];
  g.pendingDelete = g.pendingDelete.filter((k) => g.config[k] !== undefined);
}

/**
 * The delete, revert and read-only checks of a config update, and "no options specified":
 * update_vm_api (qemu-server) and pve-container's update_pct_config make them before anything
 * is locked or forked, so they are the request's own 400 or 500 even for a POST.
 */
export function checkConfigUpdate(type: GuestType, params: Params, readOnly: ReadonlySet<string>): { changes: Array<[string, unknown]>; deletes: string[]; reverts: string[] } {
  const reserved = new Set(['node', 'vmid', 'digest', 'delete', 'revert', 'skiplock', 'background_delay', 'force', 'import-working-storage']);
  const changes = Object.entries(params).filter(([k]) => !reserved.has(k)) as Array<[string, unknown]>;
  const deletes = params['delete'] === undefined ? [] : splitList(String(params['delete']));
  const reverts = params['revert'] === undefined ? [] : splitList(String(params['revert']));
  const errors: Record<string, string> = {};
  for (const d of deletes) {
    if (Object.hasOwn(params, d)) errors['delete'] = `you can't use '-${d}' and -delete ${d}' at the same time`;
    else if (!lookupParam(optionDefs(type), d)) errors['delete'] = `unknown option '${d}'`;
  }
  for (const [k] of changes) if (readOnly.has(k)) errors[k] = `unable to modify read-only option: '${k}'`;
  if (Object.keys(errors).length > 0) throw paramError(errors);
  if (changes.length === 0 && deletes.length === 0 && reverts.length === 0) throw fail('no options specified');
  return { changes, deletes, reverts };
}

/** Removing a disk option keeps the volume as `unusedN`, as Proxmox does. */
function detachOption(g: SimGuestState, key: string): void {
  const value = g.config[key];
  delete g.config[key];
  if (value === undefined || !isDiskOption(g.type, key)) return;
  const volume = diskVolume(g.type, key, value);
  if (volume === undefined || !volume.includes(':') || /cloudinit/.test(volume)) return;
  let i = 0;
  while (g.config[`unused${i}`] !== undefined) i++;
  g.config[`unused${i}`] = volume;
}

/** Start and reboot apply everything pending. */
export function applyPending(g: SimGuestState): void {
  for (const [k, v] of Object.entries(g.pending)) g.config[k] = v;
  for (const k of g.pendingDelete) detachOption(g, k);
  g.pending = {};
  g.pendingDelete = [];
}

export function statusCurrent(sim: Simulator, g: SimGuestState): Record<string, unknown> {
  const c = g.config;
  const running = g.status === 'running';
  const maxdisk = Object.entries(c).filter(([k]) => isDiskOption(g.type, k) && !/media=cdrom/.test(c[k]!)).reduce((s, [k, v]) => s + diskSize(g.type, k, v), 0);
  const out: Record<string, unknown> = {
    vmid: g.vmid,
    status: g.status,
    name: c[g.type === 'qemu' ? 'name' : 'hostname'] ?? `${g.type === 'qemu' ? 'VM' : 'CT'}${g.vmid}`,
    cpus: Number(c['cores'] ?? 1) * (g.type === 'qemu' ? Number(c['sockets'] ?? 1) : 1),
    cpu: running ? 0.01 : 0,
    maxmem: guestMemoryBytes(g),
    mem: running ? Math.floor(guestMemoryBytes(g) / 4) : 0,
    maxdisk,
    disk: 0,
    uptime: running && g.startedAt !== undefined ? Math.floor((sim.clock.now() - g.startedAt) / 1000) : 0,
    netin: 0, netout: 0, diskread: 0, diskwrite: 0,
    ha: { managed: 0 },
  };
  if (c['lock'] !== undefined) out['lock'] = c['lock'];
  if (c['tags'] !== undefined) out['tags'] = c['tags'];
  if (c['template'] === '1') out['template'] = 1;
  if (g.type === 'qemu') {
    out['qmpstatus'] = g.paused ? (g.prelaunch ? 'prelaunch' : 'paused') : g.status;
    if (running) out['pid'] = 10000 + g.vmid;
    if (c['agent'] !== undefined && /^(enabled=)?1/.test(c['agent'])) out['agent'] = 1;
    if (running) {
      out['running-qemu'] = '10.1.2';
      out['running-machine'] = 'pc-i440fx-10.1+pve0';
    }
  } else {
    out['type'] = 'lxc';
    out['maxswap'] = Number(c['swap'] ?? 512) * 1024 * 1024;
    out['swap'] = 0;
  }
  return out;
}

export function listEntry(sim: Simulator, g: SimGuestState): Record<string, unknown> {
  const s = statusCurrent(sim, g);
  const entry: Record<string, unknown> = {
    vmid: g.vmid, name: s['name'], status: g.status, cpus: s['cpus'], cpu: s['cpu'], maxmem: s['maxmem'], mem: s['mem'],
    maxdisk: s['maxdisk'], disk: 0, uptime: s['uptime'], netin: 0, netout: 0, diskread: 0, diskwrite: 0,
  };
  if (g.type === 'lxc') entry['type'] = 'lxc';
  for (const k of ['lock', 'tags', 'template'] as const) if (s[k] !== undefined) entry[k] = s[k];
  if (g.type === 'qemu' && s['pid'] !== undefined) entry['pid'] = s['pid'];
  return entry;
}

// ---- snapshots ------------------------------------------------------------------------

/** The guest of `type` that a route's node and vmid name (Proxmox's error when there is none). */
export function guestOf(type: GuestType): (sim: Simulator, p: Params) => SimGuestState {
  return (sim, p) => sim.guest(String(p['node']), type, Number(p['vmid']));
}

/**
 * The snapshot routes of one guest type. Containers and VMs share them but for what a VM's
 * create takes (`vmstate`) and how a rollback with `start` starts the guest.
 */
export function snapshotRoutes(type: GuestType, createParams: ParamDefs, start: (sim: Simulator, g: SimGuestState) => void): Endpoint[] {
  const path = `/nodes/{node}/${type}/{vmid}/snapshot`;
  const guest = guestOf(type);
  const snapname = str({ format: 'pve-configid', maxLength: 40 });
  const optional = { optional: true } as const;
  return [
    { method: 'GET', path, params: nodeVmid, permissions: vmPerm(['VM.Audit']), handler: ({ sim, params }) => {
      const g = guest(sim, params);
      return snapshotList(g, sim.digest(g));
    } },
    {
      method: 'POST', path, params: { ...nodeVmid, description: str(optional), snapname, ...createParams }, permissions: vmPerm(['VM.Snapshot']),
      handler: ({ sim, params, subject }) => createSnapshot(sim, guest(sim, params), params, subject),
    },
    {
      method: 'DELETE', path: `${path}/{snapname}`, params: { ...nodeVmid, force: bool(optional), snapname }, permissions: vmPerm(['VM.Snapshot']),
      handler: ({ sim, params, subject }) => deleteSnapshot(sim, guest(sim, params), String(params['snapname']), params, subject),
    },
    {
      method: 'POST', path: `${path}/{snapname}/rollback`, params: { ...nodeVmid, snapname, start: bool(optional) },
      permissions: vmPerm(['VM.Snapshot', 'VM.Snapshot.Rollback'], true),
      handler: ({ sim, params, subject }) => {
        const g = guest(sim, params);
        return rollbackSnapshot(sim, g, String(params['snapname']), params, subject, () => start(sim, g));
      },
    },
  ];
}

export function snapshotList(g: SimGuestState, digest: string): Array<Record<string, unknown>> {
  const list: Array<Record<string, unknown>> = g.snapshots.map((s) => {
    const e: Record<string, unknown> = { name: s.name, description: s.description, snaptime: s.snaptime };
    if (g.type === 'qemu') e['vmstate'] = s.vmstate ? 1 : 0;
    if (s.parent !== undefined) e['parent'] = s.parent;
    return e;
  });
  // pve-guest-common snapshot_list: `current` carries the config file's digest.
  const current: Record<string, unknown> = { name: 'current', description: 'You are here!', digest };
  if (g.parentSnapshot !== undefined) current['parent'] = g.parentSnapshot;
  if (g.type === 'qemu') current['running'] = g.status === 'running' ? 1 : 0;
  list.push(current);
  return list;
}

/** Sets a task lock on the guest now and returns the function that clears it. */
export function holdLock(g: SimGuestState, lock: string): () => void {
  g.config['lock'] = lock;
  return () => {
    if (g.config['lock'] === lock) delete g.config['lock'];
  };
}

export function createSnapshot(sim: Simulator, g: SimGuestState, params: Params, subject: Subject): string {
  const name = String(params['snapname']);
  if (name === 'current') throw fail("invalid snapshot name 'current'");
  if (g.snapshots.some((s) => s.name === name)) throw fail(`snapshot name '${name}' already used`);
  sim.checkLock(g);
  const release = holdLock(g, 'snapshot');
  const task = sim.startTask({
    node: g.node, type: g.type === 'qemu' ? 'qmsnapshot' : 'vzsnapshot', id: g.vmid, subject,
    onFailure: release,
    finish: () => {
      release();
      const config = { ...g.config };
      delete config['lock'];
      // qemu-server saves RAM only of a running VM; a stopped one gets a plain disk snapshot.
      const snap = { name, description: String(params['description'] ?? ''), snaptime: sim.clock.nowSeconds(), vmstate: params['vmstate'] === 1 && g.status === 'running', config };
      g.snapshots.push(g.parentSnapshot === undefined ? snap : { ...snap, parent: g.parentSnapshot });
      g.parentSnapshot = name;
    },
  });
  return task.upid;
}

export function deleteSnapshot(sim: Simulator, g: SimGuestState, name: string, params: Params, subject: Subject): string {
  const snap = g.snapshots.find((s) => s.name === name);
  if (!snap) throw fail(`snapshot '${name}' does not exist`);
  if (params['force'] !== 1) sim.checkLock(g);
  const release = holdLock(g, 'snapshot-delete');
  return sim.startTask({
    node: g.node, type: g.type === 'qemu' ? 'qmdelsnapshot' : 'vzdelsnapshot', id: g.vmid, subject,
    onFailure: release,
    finish: () => {
      release();
      for (const s of g.snapshots) if (s.parent === name) s.parent = snap.parent;
      if (g.parentSnapshot === name) g.parentSnapshot = snap.parent;
      g.snapshots = g.snapshots.filter((s) => s !== snap);
    },
  }).upid;
}

export function rollbackSnapshot(sim: Simulator, g: SimGuestState, name: string, params: Params, subject: Subject, start: () => void): string {
  const snap = g.snapshots.find((s) => s.name === name);
  if (!snap) throw fail(`snapshot '${name}' does not exist`);
  sim.checkLock(g);
  const release = holdLock(g, 'rollback');
  return sim.startTask({
    node: g.node, type: g.type === 'qemu' ? 'qmrollback' : 'vzrollback', id: g.vmid, subject,
    onFailure: release,
    finish: () => {
      release();
      g.status = 'stopped';
      g.startedAt = undefined;
      g.config = { ...snap.config };
      g.pending = {};
      g.pendingDelete = [];
      g.parentSnapshot = name;
      // A snapshot with RAM state resumes the VM it saved (qemu-server snapshot_rollback); else only `start` starts it.
      if (params['start'] === 1 || (g.type === 'qemu' && snap.vmstate)) start();
    },
  }).upid;
}

/** Template conversion renames `vm-<vmid>-disk-N` volumes to `base-<vmid>-disk-N`. */
export function convertDisksToBase(sim: Simulator, g: SimGuestState): void {
  for (const [k, v] of Object.entries(g.config)) {
    if (!isDiskOption(g.type, k)) continue;
    const volid = diskVolume(g.type, k, v);
    const vol = volid === undefined ? undefined : sim.volume(volid);
    if (!vol || volid === undefined) continue;
    vol.volid = volid.replace(`vm-${g.vmid}-disk-`, `base-${g.vmid}-disk-`);
    g.config[k] = v.replace(volid, vol.volid);
  }
}

/** Grows a disk inside a resize task: storage capacity first, then the volume and the `size=` in the config. */
export function applyResize(sim: Simulator, g: SimGuestState, disk: string, newSize: number): void {
  const value = g.config[disk]!;
  const volid = diskVolume(g.type, disk, value);
  const vol = volid === undefined ? undefined : sim.volume(volid);
  if (vol) {
    const s = sim.storage(vol.storage)!;
    if (newSize - vol.size > s.totalBytes - sim.storageUsed(s, g.node)) throw new TaskFailure(`unable to resize volume '${volid}' - not enough free space`);
    vol.size = newSize;
  }
  const format = guestOptionFormat(g.type, disk)!;
  const values = parsePropertyString(value, format).values;
  values['size'] = formatSizeForConfig(newSize);
  g.config[disk] = formatPropertyString(values, format);
}

/** The synchronous refusals of `POST …/template`, in qemu-server / pve-container wording. */
export function assertTemplatable(sim: Simulator, g: SimGuestState): void {
  sim.checkLock(g);
  const word = label(g.type);
  // In this order and these words in qemu-server's PVE/API2/Qemu.pm and pve-container's PVE/API2/LXC.pm (`template`).
  if (g.snapshots.length > 0) throw fail(`unable to create template, because ${word} contains snapshots`);
  if (g.config['template'] === '1') throw fail("you can't convert a template to a template");
  if (g.status === 'running') throw fail(g.type === 'qemu' ? "you can't convert a VM to template if VM is running" : "you can't convert a CT to template if the CT is running");
}

/** Offline (or restart/online) migration: a task under lock `migrate` that moves the guest and its local volumes. */
export function migrateGuest(sim: Simulator, g: SimGuestState, target: string, subject: Subject): string {
  if (target === g.node) throw fail('target is local node.');
  sim.node(target);
  sim.checkLock(g);
  // What cannot follow a guest to another node (pve-container's and qemu-server's Migrate.pm).
  if (g.type === 'lxc') {
    for (const [key, value] of Object.entries(g.config)) {
      if (/^mp\d+$/.test(key) && value.startsWith('/') && !/(^|,)shared=1(,|$)/.test(value)) throw fail(`cannot migrate local bind mount point '${key}'`);
    }
  } else {
    const local = Object.keys(g.config).filter((k) => /^(hostpci|usb)\d+$/.test(k) && /(^|,)host=/.test(g.config[k]!) ).sort();
    if (local.length) throw fail(`can't migrate VM which uses local devices: ${local.join(', ')}`);
  }
  const release = holdLock(g, 'migrate');
  return sim.startTask({ node: g.node, type: g.type === 'qemu' ? 'qmigrate' : 'vzmigrate', id: g.vmid, subject, onFailure: release, finish: () => {
    release();
    for (const v of sim.state.volumes) if (v.vmid === g.vmid && v.node === g.node) v.node = target;
    g.node = target;
  } }).upid;
}

// ---- creation and removal ------------------------------------------------------------

export function alreadyExists(sim: Simulator, vmid: number): string | undefined {
  const other = sim.findGuest(vmid);
  return other ? `${other.type === 'qemu' ? 'VM' : 'CT'} ${vmid} already exists on node '${other.node}'` : undefined;
}

export function sortConfig(config: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(config).sort(([a], [b]) => a.localeCompare(b)));
}

/** Deletes a guest and every volume it owns. */
export function removeGuest(sim: Simulator, g: SimGuestState): void {
  sim.state.guests = sim.state.guests.filter((x) => x !== g);
  sim.state.volumes = sim.state.volumes.filter((v) => v.vmid !== g.vmid || v.content === 'vztmpl' || v.content === 'iso' || v.content === 'import');
  for (const pool of sim.state.pools) pool.members = pool.members.filter((m) => m !== `${g.type}/${g.vmid}`);
}

/** Full clones copy the disk; linked clones reference the template's base volume (`base-100-disk-0/vm-101-disk-0`). */
export function cloneDisk(sim: Simulator, src: SimGuestState, dst: SimGuestState, key: string, value: string, full: boolean, storage?: string): string {
  const volume = diskVolume(src.type, key, value);
  if (volume === undefined || !volume.includes(':') || /media=cdrom/.test(value) || /cloudinit/.test(volume)) return value;
  const size = diskSize(src.type, key, value) || GiB;
  const [sourceStorage, sourceName] = volume.split(':') as [string, string];
  const vol = sim.allocateDisk(full ? (storage ?? sourceStorage) : sourceStorage, dst.node, dst.vmid, size, src.type === 'lxc' ? 'rootdir' : 'images');
  if (!full) {
    vol.parent = volume;
    vol.volid = `${sourceStorage}:${sourceName}/${vol.volid.split(':')[1]}`;
  }
  return value.replace(volume, vol.volid);
}

