/**
 * Storage definitions (`/storage`), node storage status and content, template
 * downloads (`aplinfo`, `download-url`). Capacity is tracked per node for local
 * storages so over-commit fails the way allocation fails on Proxmox.
 */
import { bool, int, oneOf, str, vmidParam } from '../../../proxmox/schema.ts';
import { parseSize } from '../../../proxmox/size.ts';
import type { Params } from '../../../proxmox/validate.ts';
import { fail, paramError, TaskFailure } from '../errors.ts';
import type { Endpoint } from '../endpoint.ts';
import { hasPrivilege, type Subject } from '../auth.ts';
import type { Simulator } from '../simulator.ts';
import type { SimStorageState, SimVolume } from '../state.ts';
import { APPLIANCES } from '../default-state.ts';
import { nodeOnly, optStr } from './common.ts';
import { archiveInfo, markBackups } from './prune-backups.ts';

const o = { optional: true } as const;
const storageId = str({ format: 'pve-storage-id' });
const STORAGE_TYPES = ['btrfs', 'cephfs', 'cifs', 'dir', 'esxi', 'iscsi', 'iscsidirect', 'lvm', 'lvmthin', 'nfs', 'pbs', 'rbd', 'zfs', 'zfspool'];
/** PVE 9 dropped GlusterFS. */
const storageType = (extra: { optional?: boolean } = {}) => ({ ...oneOf(STORAGE_TYPES, extra), olderForm: { until: '9.1', def: oneOf([...STORAGE_TYPES, 'glusterfs'], extra) } });
const SIMULATED_TYPES = new Set(['dir', 'lvmthin', 'lvm', 'zfspool', 'nfs']);

/**
 * Each simulated type's options, as its plugin's `options()` lists them (pve-storage
 * src/PVE/Storage/{Dir,LVM,LvmThin,NFS,ZFSPool}Plugin.pm): `fixed` ones are set at creation
 * only. `maxfiles` is PVE 8's (the 9.1 schema no longer has it, so validation refuses it there).
 */
interface PluginOption {
  readonly fixed?: boolean;
}
const F: PluginOption = { fixed: true };
const PLUGIN_OPTIONS: Record<SimStorageState['type'], Record<string, PluginOption>> = {
  dir: {
    path: F, 'content-dirs': {}, nodes: {}, shared: {}, disable: {}, 'prune-backups': {}, 'max-protected-backups': {}, content: {}, format: {}, mkdir: {},
    'create-base-path': {}, 'create-subdirs': {}, is_mountpoint: {}, bwlimit: {}, preallocation: {}, 'snapshot-as-volume-chain': F, maxfiles: {},
  },
  lvm: {
    vgname: F, nodes: {}, shared: {}, disable: {}, saferemove: {}, 'saferemove-stepsize': {}, saferemove_throughput: {}, content: {}, base: F, tagged_only: {}, bwlimit: {},
    'snapshot-as-volume-chain': {},
  },
  lvmthin: { thinpool: F, vgname: F, nodes: {}, disable: {}, content: {}, bwlimit: {} },
  nfs: {
    path: F, 'content-dirs': {}, server: F, export: F, nodes: {}, disable: {}, 'prune-backups': {}, 'max-protected-backups': {}, options: {}, content: {}, format: {},
    mkdir: {}, 'create-base-path': {}, 'create-subdirs': {}, bwlimit: {}, preallocation: {}, 'snapshot-as-volume-chain': F, maxfiles: {},
  },
  zfspool: { pool: F, blocksize: {}, sparse: {}, nodes: {}, disable: {}, content: {}, bwlimit: {}, mountpoint: {} },
};
/** Options the simulator keeps in dedicated fields; every other plugin option lives in `options`. */
const FIELD_OPTIONS = new Set(['content', 'nodes', 'shared', 'disable', 'path', 'vgname', 'thinpool', 'server', 'export', 'pool']);

/**
 * pve-common SectionConfig.pm check_config/check_value: an option the type's plugin does not
 * have is `unexpected property`, and an update may not touch a `fixed` one.
 */
function checkPluginOptions(type: SimStorageState['type'], p: Params, creating: boolean): void {
  const options = PLUGIN_OPTIONS[type];
  for (const k of Object.keys(p)) {
    if (k === 'storage' || k === 'type' || k === 'delete' || k === 'digest') continue;
    if (!creating && options[k]?.fixed) throw fail(`can't change value of fixed parameter '${k}'`);
    if (!options[k]) throw fail(`unexpected property '${k}'`);
  }
}

function setPluginOptions(s: SimStorageState, p: Params): void {
  for (const [k, v] of Object.entries(p)) {
    if (FIELD_OPTIONS.has(k) || k === 'storage' || k === 'type' || k === 'delete' || k === 'digest' || v === undefined) continue;
    s.options = { ...s.options, [k]: typeof v === 'number' ? v : String(v) };
  }
}

function definition(s: SimStorageState): Record<string, unknown> {
  const out: Record<string, unknown> = { storage: s.id, type: s.type, content: [...s.content].sort().join(','), digest: '0000000000000000000000000000000000000000' };
  if (s.shared) out['shared'] = 1;
  if (s.nodes) out['nodes'] = s.nodes.join(',');
  if (s.path !== undefined) out['path'] = s.path;
  if (s.vgname !== undefined) out['vgname'] = s.vgname;
  if (s.thinpool !== undefined) out['thinpool'] = s.thinpool;
  for (const key of ['server', 'export', 'pool'] as const) if (s[key] !== undefined) out[key] = s[key];
  if (s.disable) out['disable'] = 1;
  Object.assign(out, s.options);
  return out;
}

function nodeStatus(sim: Simulator, s: SimStorageState, node: string): Record<string, unknown> {
  const used = sim.storageUsed(s, node);
  return {
    storage: s.id, type: s.type, content: [...s.content].sort().join(','), active: s.disable ? 0 : 1, enabled: s.disable ? 0 : 1, shared: s.shared ? 1 : 0,
    total: s.totalBytes, used, avail: s.totalBytes - used, used_fraction: s.totalBytes === 0 ? 0 : used / s.totalBytes,
  };
}

function contentEntry(v: SimVolume): Record<string, unknown> {
  const e: Record<string, unknown> = { volid: v.volid, content: v.content, format: v.format, size: v.size, ctime: v.ctime };
  if (v.vmid !== undefined) e['vmid'] = v.vmid;
  if (v.parent !== undefined) e['parent'] = v.parent;
  return e;
}

function volumesOn(sim: Simulator, s: SimStorageState, node: string): SimVolume[] {
  return sim.state.volumes.filter((v) => v.storage === s.id && (s.shared || v.node === node));
}

function formatOf(filename: string, content: string): string {
  if (content === 'iso') return 'iso';
  const m = /\.tar\.(zst|gz|xz|bz2)$/.exec(filename);
  if (m) return { zst: 'tzst', gz: 'tgz', xz: 'txz', bz2: 'tbz2' }[m[1] as 'zst' | 'gz' | 'xz' | 'bz2'];
  return filename.replace(/^.*\./, '');
}

/** Where a volume lives on the host, as `PVE::Storage::path` reports it. */
export function volumePath(s: SimStorageState, v: SimVolume): string {
  const name = v.volid.slice(v.volid.indexOf(':') + 1);
  if (s.type === 'lvm' || s.type === 'lvmthin') return `/dev/${s.vgname ?? 'pve'}/${name}`;
  if (s.type === 'zfspool') return `/dev/zvol/${s.pool ?? 'rpool/data'}/${name}`;
  const base = s.path ?? `/mnt/pve/${s.id}`;
  const sub: Record<SimVolume['content'], string> = { images: 'images', rootdir: 'images', vztmpl: 'template/cache', iso: 'template/iso', import: 'import', snippets: 'snippets', backup: 'dump' };
  const file = name.replace(/^[a-z]+\//, '');
  // pve-storage Plugin.pm get_subdir: `content-dirs` (`iso=isos,backup=dumps`) overrides a content type's folder.
  const override = String(s.options?.['content-dirs'] ?? '').split(',').map((x) => x.split('=')).find(([type]) => type === v.content)?.[1];
  return `${base}/${override ?? sub[v.content]}/${file}`;
}

interface DownloadOptions {
  /** `download-url`'s URL; the appliance index's location otherwise. */
  readonly url?: string;
  /** A checksum to verify (download-url's `checksum`, or the appliance index's sha512sum). */
  readonly checksum?: boolean;
  /** download-url's `compression` (ISO images only). */
  readonly compression?: string;
}

/** pve-storage Storage.pm decompressor_info: what decompresses an ISO image. */
const ISO_DECOMPRESSORS = new Set(['gz', 'lzo', 'zst', 'bz2']);

/** wget's `--progress=dot:giga` lines: 32 MiB a line, in clusters of eight 1 MiB dots. */
function wgetProgress(size: number): string[] {
  const MiB = 1048576;
  const lines: string[] = [];
  for (let offset = 0; offset < size; offset += 32 * MiB) {
    const chunk = Math.min(32 * MiB, size - offset);
    const dots = Math.max(1, Math.ceil(chunk / MiB));
    const clusters = Array.from({ length: Math.ceil(dots / 8) }, (_, i) => '.'.repeat(Math.min(8, dots - i * 8))).join(' ');
    const done = offset + chunk;
    const pct = Math.floor((done / size) * 100);
    const rest = done >= size ? `${(112 + (lines.length % 5)).toFixed(0)}M=${((size / MiB) / 112).toFixed(1)}s` : `${112 + (lines.length % 5)}M ${Math.max(0, Math.round((size - done) / MiB / 112))}s`;
    lines.push(`${`${offset / 1024}K`.padStart(7)} ${clusters.padEnd(35)} ${String(pct).padStart(3)}% ${rest}`);
  }
  return lines;
}

function wgetTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

/**
 * A download task (pve-common PVE/Tools.pm download_file_from_url, run by pve-storage's
 * download-url and pve-manager's aplinfo): the file appears on the storage when the task ends OK.
 * The log is what that function prints around wget's own output; an existing file is refused
 * unless a checksum shows it is already the right one (the simulator has no file contents, so a
 * given checksum always matches).
 */
function download(sim: Simulator, node: string, storage: string, content: 'iso' | 'vztmpl' | 'import', filename: string, size: number, subject: Subject, opts: DownloadOptions = {}): string {
  const s = sim.storageOn(storage, node);
  if (!s.content.includes(content)) throw fail(`storage '${storage}' does not support '${content}' content`);
  const volid = `${storage}:${content}/${filename}`;
  const vol: SimVolume = { volid, storage, content, format: formatOf(filename, content), size, ctime: sim.clock.nowSeconds() };
  const path = volumePath(s, vol);
  const source = opts.url ?? `http://download.proxmox.com/images/system/${filename}`;
  const task = sim.startTask({
    node, type: 'download', id: filename, subject, log: [`downloading ${source} to ${path}`],
    finish: () => {
      if (opts.compression !== undefined) {
        if (content !== 'iso') throw new TaskFailure(`decompression not supported for ${content}`);
        if (!ISO_DECOMPRESSORS.has(opts.compression)) throw new TaskFailure('no decompression method found');
      }
      const existing = sim.volume(volid);
      if (existing && (existing.node === undefined || existing.node === node)) {
        if (!opts.checksum) throw new TaskFailure(`refusing to override existing file '${path}'`);
        return { log: ['calculating checksum of existing file...OK, got correct file already, no need to download'] };
      }
      sim.throwIfStorageLocked(storage);
      const tmp = `${path}.tmp_dwnl.${task.pid}`;
      const started = task.starttime * 1000;
      const log = [
        `--${wgetTimestamp(started)}--  ${source}`,
        'HTTP request sent, awaiting response... 200 OK',
        `Length: ${size} (${(size / 1048576).toFixed(0)}M) [application/octet-stream]`,
        `Saving to: '${tmp}'`,
        '',
        ...wgetProgress(size),
        '',
        `${wgetTimestamp(sim.clock.now())} (112 MB/s) - '${tmp}' saved [${size}/${size}]`,
        '',
      ];
      if (sim.storageUsed(s, node) + size > s.totalBytes) throw new TaskFailure(`download failed: wget: write error: No space left on device`);
      if (opts.checksum) log.push('calculating checksum...OK, checksum verified');
      if (opts.compression !== undefined) log.push(`decompressing ${tmp} to ${path}.tmp_dcom.${task.pid}`);
      sim.removeVolume(volid);
      vol.ctime = sim.clock.nowSeconds();
      if (!s.shared) vol.node = node;
      sim.state.volumes.push(vol);
      return { log: [...log, `download of '${source}' to '${path}' finished`] };
    },
  });
  return task.upid;
}

/** `$real_volume_id` of pve-storage Content.pm: a bare volume name takes the storage from the path. */
function realVolumeId(params: Params): string {
  const volume = String(params['volume']);
  if (volume.includes(':')) {
    const sid = volume.slice(0, volume.indexOf(':'));
    if (params['storage'] !== undefined && sid !== params['storage']) throw paramError({ volume: `storage ID mismatch (${sid} != ${String(params['storage'])}).` });
    return volume;
  }
  if (params['storage'] === undefined) throw paramError({ storage: 'storage ID missing' });
  return `${String(params['storage'])}:${volume}`;
}

/** The volume a content call names, or pve-storage's error for a file that is not there. */
function existingVolume(sim: Simulator, volid: string): SimVolume {
  const storage = volid.slice(0, volid.indexOf(':'));
  if (!sim.storage(storage)) throw fail(`storage '${storage}' does not exist`);
  const vol = sim.volume(volid);
  if (!vol) throw fail(`volume_size_info on '${volid}' failed - no format`);
  return vol;
}

const uploads = new WeakMap<Simulator, Map<string, number>>();

/** pve-http-server spools an uploaded file to `/var/tmp/pveupload-<hex>`; the simulator keeps its size. */
export function spoolUpload(sim: Simulator, size: number): string {
  const name = `/var/tmp/pveupload-${sim.random.uuid().replace(/-/g, '')}`;
  const map = uploads.get(sim) ?? new Map<string, number>();
  uploads.set(sim, map);
  map.set(name, size);
  return name;
}

/** `POST …/upload` (pve-storage Status.pm): checks, then an `imgcopy` task that moves the spooled file. */
function upload(sim: Simulator, params: Params, subject: Subject): string {
  const node = String(params['node']);
  const storage = String(params['storage']);
  const s = sim.storageOn(storage, node);
  if (s.type !== 'dir' && s.type !== 'nfs') throw fail(`can't upload to storage type '${s.type}'`);
  const content = String(params['content']) as 'iso' | 'vztmpl' | 'import';
  const filename = String(params['filename']);
  const tmp = params['tmpfilename'] === undefined ? undefined : String(params['tmpfilename']);
  if (tmp === undefined) throw fail('missing temporary file name');
  const size = uploads.get(sim)?.get(tmp);
  if (size === undefined) throw fail(`temporary file '${tmp}' does not exist`);
  const extension = { iso: /\.(img|iso)$/i, vztmpl: /\.tar\.([gx]z|zst|bz2)$/i, import: /\.(ova|ovf|qcow2|raw|vmdk)$/i }[content];
  if (!extension.test(filename)) throw paramError({ filename: 'wrong file extension' });
  if (!s.content.includes(content)) throw fail(`storage '${storage}' does not support '${content}' content`);
  const vol: SimVolume = { volid: `${storage}:${content}/${filename}`, storage, content, format: formatOf(filename, content), size, ctime: sim.clock.nowSeconds() };
  const dest = volumePath(s, vol);
  uploads.get(sim)?.delete(tmp);
  return sim.startTask({
    node, type: 'imgcopy', id: '', subject,
    log: [`starting file import from: ${tmp}`, `target node: ${node}`, `target file: ${dest}`, `file size is: ${size}`, `command: cp -- ${tmp} ${dest}`],
    finish: () => {
      if (sim.storageUsed(s, node) + size > s.totalBytes) throw new TaskFailure(`cp: error writing '${dest}': No space left on device`);
      sim.removeVolume(vol.volid);
      if (!s.shared) vol.node = node;
      sim.state.volumes.push(vol);
      return { log: ['finished file import successfully'] };
    },
  }).upid;
}

function volumeInfo(sim: Simulator, params: Params): Record<string, unknown> {
  const vol = existingVolume(sim, realVolumeId(params));
  const s = sim.storage(vol.storage)!;
  const out: Record<string, unknown> = { path: volumePath(s, vol), size: vol.size, used: vol.content === 'images' || vol.content === 'rootdir' ? Math.floor(vol.size / 4) : vol.size, format: vol.format };
  if (vol.notes !== undefined) out['notes'] = vol.notes;
  if (vol.content === 'backup') out['protected'] = vol.protected ? 1 : 0;
  return out;
}

/** `PUT …/content/{volume}`: notes and protection are backup attributes on Proxmox's plugins. */
function updateVolume(sim: Simulator, params: Params, subject: Subject): null {
  const vol = existingVolume(sim, realVolumeId(params));
  for (const attribute of ['notes', 'protected'] as const) {
    if (params[attribute] === undefined) continue;
    // pve-storage Plugin.pm update_volume_attribute: only backups carry these.
    if (vol.content !== 'backup') throw fail(`${attribute} is not supported for '${vol.volid}'`);
    if (attribute === 'protected' && params['protected'] === 1 && !vol.protected) checkProtectedLimit(sim, vol, subject);
    if (attribute === 'notes') vol.notes = String(params['notes']);
    else vol.protected = params['protected'] === 1;
  }
  return null;
}

/** A backup's guest type and vmid, from its name (`vzdump-qemu-100-….vma.zst`). */
function backupOwner(vol: SimVolume): { subtype: string; vmid: number } | undefined {
  const m = /vzdump-(qemu|lxc|openvz)-(\d+)-/.exec(vol.volid);
  return m ? { subtype: m[1]!, vmid: Number(m[2]) } : undefined;
}

/**
 * pve-storage Storage.pm update_volume_attribute: protecting one more backup of a guest is refused
 * past the storage's `max-protected-backups`, which defaults to unlimited (-1) for a user with
 * Datastore.Allocate on the storage and 5 for others (get_max_protected_backups).
 */
function checkProtectedLimit(sim: Simulator, vol: SimVolume, subject: Subject): void {
  const owner = backupOwner(vol);
  if (!owner) return;
  const s = sim.storage(vol.storage)!;
  const configured = s.options?.['max-protected-backups'];
  const max = configured !== undefined ? Number(configured) : hasPrivilege(sim.state, subject, `/storage/${s.id}`, 'Datastore.Allocate') ? -1 : 5;
  if (max <= -1) return;
  const protectedCount = sim.state.volumes.filter((v) => {
    if (v.storage !== s.id || v.content !== 'backup' || !v.protected) return false;
    const o = backupOwner(v);
    return o !== undefined && o.vmid === owner.vmid && o.subtype === owner.subtype;
  }).length;
  if (max <= protectedCount) throw fail(`The number of protected backups per guest is limited to ${max} on storage '${s.id}'`);
}

/** `POST …/content/{volume}`: copies a volume (an `imgcopy` task). */
function copyVolume(sim: Simulator, params: Params, subject: Subject): string {
  const src = existingVolume(sim, realVolumeId(params));
  const node = String(params['node']);
  const target = String(params['target']);
  const targetStorage = target.includes(':') ? target.slice(0, target.indexOf(':')) : target;
  const dst = sim.storageOn(targetStorage, String(params['target_node'] ?? node));
  return sim.startTask({
    node, type: 'imgcopy', id: '', subject,
    finish: () => {
      if (sim.storageUsed(dst, node) + src.size > dst.totalBytes) throw new TaskFailure('No space left on device');
      const name = target.includes(':') ? target.slice(target.indexOf(':') + 1) : src.volid.slice(src.volid.indexOf(':') + 1);
      const copy: SimVolume = { ...src, volid: `${dst.id}:${name}`, storage: dst.id, ctime: sim.clock.nowSeconds() };
      if (dst.shared) delete copy.node;
      else copy.node = String(params['target_node'] ?? node);
      sim.removeVolume(copy.volid);
      sim.state.volumes.push(copy);
    },
  }).upid;
}

/** RRD series as pvestatd records them: one point per step over the timeframe. */
export function rrdData(sim: Simulator, timeframe: string, point: (t: number) => Record<string, number>): Array<Record<string, number>> {
  const [step, count] = ({ hour: [60, 70], day: [1800, 70], week: [10800, 70], month: [43200, 70], year: [604800, 70] } as const)[timeframe as 'hour'] ?? [60, 70];
  const end = Math.floor(sim.clock.nowSeconds() / step) * step;
  return Array.from({ length: count }, (_, i) => end - (count - 1 - i) * step).map((time) => ({ time, ...point(time) }));
}

/** `…/rrd` renders a PNG on the host and answers its file name. */
export function rrdImage(path: string, ds: unknown, timeframe: unknown): Record<string, string> {
  return { filename: `/var/lib/rrdcached/db/${path}-${String(ds).replace(/,/g, '_')}-${String(timeframe)}.png` };
}

function createStorage(sim: Simulator, p: Params): null {
  const id = String(p['storage']);
  if (sim.storage(id)) throw fail(`create storage failed: storage ID '${id}' already defined`);
  const type = String(p['type']);
  if (!SIMULATED_TYPES.has(type)) throw fail(`create storage failed: storage type '${type}' is not supported by the simulator`);
  // Checked before the config lock, so without the "create storage failed:" prefix (API2/Storage/Config.pm).
  checkPluginOptions(type as SimStorageState['type'], p, true);
  const s: SimStorageState = {
    id, type: type as SimStorageState['type'], shared: p['shared'] === 1 || type === 'nfs',
    content: p['content'] !== undefined ? String(p['content']).split(',') : type === 'dir' || type === 'nfs' ? ['images', 'rootdir', 'iso', 'vztmpl', 'backup'] : ['images', 'rootdir'],
    totalBytes: 200 * 2 ** 30,
  };
  if (p['nodes'] !== undefined) s.nodes = String(p['nodes']).split(',');
  if (p['path'] !== undefined) s.path = String(p['path']);
  if (p['vgname'] !== undefined) s.vgname = String(p['vgname']);
  if (p['thinpool'] !== undefined) s.thinpool = String(p['thinpool']);
  for (const key of ['server', 'export', 'pool'] as const) if (p[key] !== undefined) s[key] = String(p[key]);
  if (p['disable'] === 1) s.disable = true;
  setPluginOptions(s, p);
  // The NFS plugin mounts under /mnt/pve/<id> unless told otherwise; only dir needs a path.
  if (type === 'nfs' && s.path === undefined) s.path = `/mnt/pve/${id}`;
  if (type === 'dir' && s.path === undefined) throw paramError({ path: 'property is missing and it is not optional' });
  if (type === 'nfs' && (s.server === undefined || s.export === undefined)) throw paramError({ [s.server === undefined ? 'server' : 'export']: 'property is missing and it is not optional' });
  if (type === 'zfspool' && s.pool === undefined) throw paramError({ pool: 'property is missing and it is not optional' });
  sim.state.storages.push(s);
  return null;
}

const storageDefParams = {
  content: str({ ...o, format: 'pve-storage-content-list' }),
  disable: bool(o),
  nodes: str({ ...o, format: 'pve-node-list' }),
  shared: bool(o),
};

const bwlimitFormat = Object.fromEntries(['clone', 'default', 'migration', 'move', 'restore'].map((k) => [k, { type: 'number', minimum: 0, optional: true } as const]));
const until9 = { ...o, until: '9.1' } as const;

/**
 * Plugin options both create and update take (pve-storage's plugins' `properties()`). Those of
 * types the simulator does not model are refused by the type's option table as `unexpected property`.
 */
const pluginParams = {
  blocksize: str(o), bwlimit: str({ ...o, format: bwlimitFormat }), comstar_hg: str(o), comstar_tg: str(o),
  'content-dirs': str({ ...o, format: 'pve-dir-override-list' }), 'create-base-path': bool(o), 'create-subdirs': bool(o), 'data-pool': str(o),
  domain: str({ ...o, maxLength: 256 }), 'encryption-key': str(o), fingerprint: str({ ...o, pattern: '([A-Fa-f0-9]{2}:){31}[A-Fa-f0-9]{2}' }),
  format: oneOf(['raw', 'qcow2', 'subvol', 'vmdk'], o), 'fs-name': str({ ...o, format: 'pve-configid' }), fuse: bool(o), is_mountpoint: str(o),
  keyring: str(o), krbd: bool(o), lio_tpg: str(o), 'master-pubkey': str(o), 'max-protected-backups': int({ ...o, minimum: -1 }),
  maxfiles: int({ ...until9, minimum: 0 }), mkdir: bool(o), monhost: str({ ...o, format: 'pve-storage-portal-dns-list' }),
  mountpoint: str({ ...o, format: 'pve-storage-path' }), namespace: str(o), nocow: bool(o), nowritecache: bool(o), options: str({ ...o, format: 'pve-storage-options' }),
  password: str({ ...o, maxLength: 256 }), pool: str(o), port: int({ ...o, minimum: 1, maximum: 65535 }),
  preallocation: oneOf(['off', 'metadata', 'falloc', 'full'], o), 'prune-backups': str({ ...o, format: 'prune-backups' }), saferemove: bool(o),
  'saferemove-stepsize': int({ ...o, since: '9.1', enum: ['1', '2', '4', '8', '16', '32'] }), saferemove_throughput: str(o),
  server: str({ ...o, format: 'pve-storage-server' }), server2: str({ ...until9, format: 'pve-storage-server', requires: 'server' }),
  'skip-cert-verification': bool(o), smbversion: oneOf(['default', '2.0', '2.1', '3', '3.0', '3.11'], o), 'snapshot-as-volume-chain': bool({ ...o, since: '9.1' }),
  sparse: bool(o), subdir: str({ ...o, format: 'pve-storage-path' }), tagged_only: bool(o), transport: oneOf(['tcp', 'rdma', 'unix'], until9),
  username: str(o), 'zfs-base-path': str({ ...o, since: '9.1', format: 'pve-storage-path' }),
};

/** Options only a new storage takes (its identity on the remote side). */
const createOnlyParams = {
  authsupported: str(o), base: str({ ...o, format: 'pve-volume-id' }), datastore: str(o), iscsiprovider: str(o),
  portal: str({ ...o, format: 'pve-storage-portal-dns' }), share: str(o), target: str(o), volume: str(until9),
};

export const storageEndpoints: Endpoint[] = [
  {
    method: 'GET', path: '/storage', params: { type: storageType(o) },
    handler: ({ sim, params, subject }) =>
      sim.state.storages.filter((s) => (params['type'] === undefined || s.type === params['type']) && hasPrivilege(sim.state, subject, `/storage/${s.id}`, 'Datastore.Audit')).map(definition),
  },
  {
    method: 'POST', path: '/storage',
    params: {
      ...storageDefParams, ...pluginParams, ...createOnlyParams, storage: storageId, type: storageType(), path: str({ ...o, format: 'pve-storage-path' }),
      vgname: str({ ...o, format: 'pve-storage-vgname' }), thinpool: str({ ...o, format: 'pve-storage-vgname' }), export: str({ ...o, format: 'pve-storage-path' }),
    },
    permissions: () => [{ path: '/storage', privs: ['Datastore.Allocate'] }],
    handler: ({ sim, params }) => createStorage(sim, params),
  },
  {
    method: 'GET', path: '/storage/{storage}', params: { storage: storageId }, permissions: (p) => [{ path: `/storage/${String(p['storage'])}`, privs: ['Datastore.Allocate'] }],
    handler: ({ sim, params }) => {
      const s = sim.storage(String(params['storage']));
      if (!s) throw fail(`storage '${String(params['storage'])}' does not exist`);
      return definition(s);
    },
  },
  {
    method: 'PUT', path: '/storage/{storage}',
    params: { ...storageDefParams, ...pluginParams, storage: storageId, delete: str({ ...o, format: 'pve-configid-list', maxLength: 4096 }), digest: str({ ...o, maxLength: 64 }) },
    permissions: () => [{ path: '/storage', privs: ['Datastore.Allocate'] }],
    handler: ({ sim, params }) => {
      const s = sim.storage(String(params['storage']));
      if (!s) throw fail(`update storage failed: error with cfs lock 'file-storage_cfg': storage '${String(params['storage'])}' does not exist`);
      // Inside the config lock: errors carry lock_storage_config's prefix.
      const inLock = (check: () => void) => {
        try {
          check();
        } catch (err) {
          throw fail(`update storage failed: error with cfs lock 'file-storage_cfg': ${err instanceof Error ? err.message : String(err)}`);
        }
      };
      const deletes = String(params['delete'] ?? '').split(',').filter(Boolean);
      inLock(() => {
        checkPluginOptions(s.type, params, false);
        for (const k of deletes) {
          const d = PLUGIN_OPTIONS[s.type][k];
          if (!d) throw fail(`no such option '${k}'`);
          if (d.fixed) throw fail(`unable to delete fixed option '${k}'`);
          if (params[k] !== undefined) throw fail(`cannot set and delete property '${k}' at the same time!`);
        }
      });
      setPluginOptions(s, params);
      if (params['content'] !== undefined) s.content = String(params['content']).split(',');
      if (params['nodes'] !== undefined) s.nodes = String(params['nodes']).split(',');
      if (params['disable'] !== undefined) s.disable = params['disable'] === 1;
      if (params['shared'] !== undefined) s.shared = params['shared'] === 1;
      for (const d of deletes) {
        if (d === 'nodes') delete s.nodes;
        if (d === 'disable') delete s.disable;
        if (d === 'shared') s.shared = false;
        if (s.options) delete s.options[d];
      }
      return { storage: s.id, type: s.type };
    },
  },
  {
    method: 'DELETE', path: '/storage/{storage}', params: { storage: storageId }, permissions: () => [{ path: '/storage', privs: ['Datastore.Allocate'] }],
    handler: ({ sim, params }) => {
      const id = String(params['storage']);
      if (!sim.storage(id)) throw fail(`delete storage failed: error with cfs lock 'file-storage_cfg': storage '${id}' does not exist`);
      sim.state.storages = sim.state.storages.filter((s) => s.id !== id);
      return null;
    },
  },
  {
    method: 'GET', path: '/nodes/{node}/storage',
    params: { ...nodeOnly, content: str({ ...o, format: 'pve-storage-content-list' }), enabled: bool(o), format: bool(o), storage: str({ ...o, format: 'pve-storage-id' }), target: str({ ...o, format: 'pve-node' }) },
    handler: ({ sim, params, subject }) => {
      const node = String(params['node']);
      const wanted = params['content'] === undefined ? undefined : String(params['content']).split(',');
      // Status.pm index: a named storage the node does not have is a parameter error.
      const named = params['storage'] === undefined ? undefined : sim.storage(String(params['storage']));
      if (params['storage'] !== undefined && (!named || (named.nodes && !named.nodes.includes(node)))) throw paramError({ storage: 'No such storage.' });
      return sim.state.storages
        .filter((s) => (!s.nodes || s.nodes.includes(node)) && (params['storage'] === undefined || s.id === params['storage']))
        .filter((s) => !wanted || wanted.some((c) => s.content.includes(c)))
        .filter((s) => params['enabled'] !== 1 || !s.disable)
        .filter((s) => hasPrivilege(sim.state, subject, `/storage/${s.id}`, 'Datastore.Audit') || hasPrivilege(sim.state, subject, `/storage/${s.id}`, 'Datastore.AllocateSpace'))
        .map((s) => nodeStatus(sim, s, node));
    },
  },
  {
    method: 'GET', path: '/nodes/{node}/storage/{storage}/status', params: { ...nodeOnly, storage: storageId },
    permissions: (p) => [{ path: `/storage/${String(p['storage'])}`, privs: ['Datastore.Audit', 'Datastore.AllocateSpace'], any: true }],
    handler: ({ sim, params }) => {
      const node = String(params['node']);
      // pve-storage API2/Storage/Status.pm read_status: storage_info only knows storages enabled on the node.
      const s = sim.storage(String(params['storage']));
      if (!s || (s.nodes && !s.nodes.includes(node)) || s.disable) throw paramError({ storage: 'No such storage.' });
      return nodeStatus(sim, s, node);
    },
  },
  {
    method: 'GET', path: '/nodes/{node}/storage/{storage}/content',
    params: { ...nodeOnly, content: str({ ...o, format: 'pve-storage-content' }), storage: storageId, vmid: { ...vmidParam, optional: true } },
    permissions: (p) => [{ path: `/storage/${String(p['storage'])}`, privs: ['Datastore.Audit', 'Datastore.AllocateSpace'], any: true }],
    handler: ({ sim, params }) => {
      const node = String(params['node']);
      const s = sim.storageOn(String(params['storage']), node);
      return volumesOn(sim, s, node)
        .filter((v) => (params['content'] === undefined || v.content === params['content']) && (params['vmid'] === undefined || v.vmid === params['vmid']))
        .map(contentEntry);
    },
  },
  {
    method: 'POST', path: '/nodes/{node}/storage/{storage}/content',
    params: { ...nodeOnly, filename: str(), format: oneOf(['raw', 'qcow2', 'subvol', 'vmdk'], { ...o, requires: 'size' }), size: str({ pattern: '\\d+[MG]?' }), storage: storageId, vmid: vmidParam },
    permissions: (p) => [{ path: `/storage/${String(p['storage'])}`, privs: ['Datastore.AllocateSpace'] }],
    handler: ({ sim, params }) => {
      const node = String(params['node']);
      const storage = String(params['storage']);
      const size = String(params['size']);
      // Size is in KiB unless suffixed.
      const bytes = /[MG]$/.test(size) ? parseSize(size)! : Number(size) * 1024;
      try {
        return sim.allocateDisk(storage, node, Number(params['vmid']), bytes, 'images', params['format'] as string | undefined).volid;
      } catch (err) {
        throw fail(err instanceof Error ? err.message : String(err));
      }
    },
  },
  {
    method: 'DELETE', path: '/nodes/{node}/storage/{storage}/content/{volume}',
    params: { ...nodeOnly, delay: int({ ...o, minimum: 1, maximum: 30 }), storage: str({ ...o, format: 'pve-storage-id' }), volume: str() },
    handler: ({ sim, params, subject }) => {
      const volume = String(params['volume']);
      const volid = volume.includes(':') ? volume : `${String(params['storage'])}:${volume}`;
      const vol = sim.volume(volid);
      if (!vol) throw fail(`volume '${volid}' does not exist`);
      if (vol.vmid !== undefined && sim.findGuest(vol.vmid) && vol.content !== 'vztmpl') {
        const g = sim.findGuest(vol.vmid)!;
        if (Object.values(g.config).some((v) => v.includes(volid))) throw fail(`unable to delete volume '${volid}' - volume is still in use (referenced by VM ${g.vmid})`);
      }
      return sim.startTask({ node: String(params['node']), type: 'imgdel', id: '', subject, finish: () => sim.removeVolume(volid) }).upid;
    },
  },
  {
    method: 'POST', path: '/nodes/{node}/storage/{storage}/download-url',
    params: {
      ...nodeOnly, checksum: str({ ...o, requires: 'checksum-algorithm' }), 'checksum-algorithm': oneOf(['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'], { ...o, requires: 'checksum' }), compression: str(o),
      content: { ...oneOf(['iso', 'vztmpl', 'import']), format: 'pve-storage-content' }, filename: str({ maxLength: 255 }), storage: storageId,
      url: str({ pattern: 'https?://.*' }), 'verify-certificates': bool(o),
    },
    permissions: (p) => [{ path: `/storage/${String(p['storage'])}`, privs: ['Datastore.AllocateTemplate'] }, { path: '/', privs: ['Sys.Audit', 'Sys.Modify'], orPath: `/nodes/${String(p['node'])}` }],
    handler: ({ sim, params, subject }) => {
      const filename = String(params['filename']);
      const content = String(params['content']) as 'iso' | 'vztmpl' | 'import';
      // No network here: the "download" is simulated, and its size derived from the name.
      return download(sim, String(params['node']), String(params['storage']), content, filename, 300_000_000 + (filename.length % 7) * 10_000_000, subject, {
        url: String(params['url']), checksum: params['checksum'] !== undefined, ...(params['compression'] !== undefined ? { compression: String(params['compression']) } : {}),
      });
    },
  },
  {
    method: 'GET', path: '/nodes/{node}/storage/{storage}', params: { ...nodeOnly, storage: storageId },
    permissions: (p) => [{ path: `/storage/${String(p['storage'])}`, privs: ['Datastore.Audit', 'Datastore.AllocateSpace'], any: true }],
    handler: ({ sim, params }) => {
      sim.storageOn(String(params['storage']), String(params['node']));
      // 8.4's index has no oci-registry-pull (pve-storage added it for 9.1).
      const subdirs = ['content', 'download-url', 'file-restore', 'import-metadata', 'oci-registry-pull', 'prunebackups', 'rrd', 'rrddata', 'status', 'upload'];
      return subdirs.filter((d) => d !== 'oci-registry-pull' || sim.pveVersion !== '8.4').map((subdir) => ({ subdir }));
    },
  },
  {
    method: 'GET', path: '/nodes/{node}/storage/{storage}/content/{volume}', params: { ...nodeOnly, storage: str({ ...o, format: 'pve-storage-id' }), volume: str() },
    handler: ({ sim, params }) => volumeInfo(sim, params),
  },
  {
    method: 'PUT', path: '/nodes/{node}/storage/{storage}/content/{volume}',
    params: { ...nodeOnly, notes: str(o), protected: bool(o), storage: str({ ...o, format: 'pve-storage-id' }), volume: str() },
    handler: ({ sim, params, subject }) => updateVolume(sim, params, subject),
  },
  {
    method: 'POST', path: '/nodes/{node}/storage/{storage}/content/{volume}',
    params: { ...nodeOnly, storage: str({ ...o, format: 'pve-storage-id' }), target: str(), target_node: str({ ...o, format: 'pve-node' }), volume: str() },
    handler: ({ sim, params, subject }) => copyVolume(sim, params, subject),
  },
  {
    method: 'POST', path: '/nodes/{node}/storage/{storage}/upload',
    params: {
      ...nodeOnly, checksum: str({ ...o, requires: 'checksum-algorithm' }), 'checksum-algorithm': oneOf(['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'], { ...o, requires: 'checksum' }),
      content: { ...oneOf(['iso', 'vztmpl', 'import']), format: 'pve-storage-content' }, filename: str({ maxLength: 255 }), storage: storageId,
      tmpfilename: str({ ...o, pattern: '/var/tmp/pveupload-[0-9a-f]+' }),
    },
    permissions: (p) => [{ path: `/storage/${String(p['storage'])}`, privs: ['Datastore.AllocateTemplate'] }],
    handler: ({ sim, params, subject }) => upload(sim, params, subject),
  },
  {
    method: 'GET', path: '/nodes/{node}/storage/{storage}/import-metadata', params: { ...nodeOnly, storage: storageId, volume: str() },
    permissions: (p) => [{ path: `/storage/${String(p['storage'])}`, privs: ['Datastore.Audit'] }],
    handler: ({ sim, params }) => {
      const volid = realVolumeId(params);
      const vol = existingVolume(sim, volid);
      if (vol.content !== 'import') throw fail(`volume '${volid}' does not support import`);
      const name = volid.replace(/^.*\//, '').replace(/\.[a-z0-9]+$/i, '');
      return { type: 'vm', source: 'esxi', 'create-args': { name, memory: 2048, cores: 2, ostype: 'l26' }, disks: { scsi0: volid }, net: {}, warnings: [] };
    },
  },
  ...(['GET', 'DELETE'] as const).map((method): Endpoint => ({
    method, path: '/nodes/{node}/storage/{storage}/prunebackups',
    params: { ...nodeOnly, 'prune-backups': str({ ...o, format: 'prune-backups' }), storage: storageId, type: oneOf(['qemu', 'lxc'], o), vmid: { ...vmidParam, optional: true } },
    // pve-storage API2/Storage/PruneBackups.pm: pruning one guest's backups needs less than pruning all.
    permissions: (p) =>
      method === 'GET'
        ? [{ path: `/storage/${String(p['storage'])}`, privs: ['Datastore.Audit', 'Datastore.AllocateSpace'], any: true }]
        : p['vmid'] !== undefined
          ? [{ path: `/storage/${String(p['storage'])}`, privs: ['Datastore.AllocateSpace'] }, { path: `/vms/${String(p['vmid'])}`, privs: ['VM.Backup'] }]
          : [{ path: `/storage/${String(p['storage'])}`, privs: ['Datastore.Allocate'] }],
    handler: ({ sim, params, subject }) => {
      const node = String(params['node']);
      const s = sim.storageOn(String(params['storage']), node);
      // pve-storage Storage.pm prune_backups: the request's retention, else the storage's own.
      if (!s.content.includes('backup')) throw fail(`storage '${s.id}' does not support backups`);
      const retention = params['prune-backups'] ?? s.options?.['prune-backups'];
      if (retention === undefined) throw fail(`no prune-backups options configured for storage '${s.id}'`);
      const keep = Object.fromEntries(String(retention).split(',').map((kv) => kv.split('=')).map(([k, v]) => [k!, Number(v)]));
      const vmid = params['vmid'] === undefined ? undefined : Number(params['vmid']);
      const backups = volumesOn(sim, s, node).filter((v) => v.content === 'backup' && (vmid === undefined || (archiveInfo(v.volid)?.vmid ?? v.vmid) === vmid));
      const marked = () => markBackups(backups, keep, optStr(params, 'type'));
      if (method === 'GET') return marked();
      return sim.startTask({
        node, type: 'prunebackups', id: `${vmid !== undefined ? `${vmid}@` : ''}${s.id}`, subject,
        finish: () => {
          const removed = marked().filter((e) => e.mark === 'remove');
          for (const e of removed) sim.removeVolume(e.volid);
          return { log: removed.map((e) => `removing backup '${e.volid}'`) };
        },
      }).upid;
    },
  })),
  ...(['list', 'download'] as const).map((what): Endpoint => ({
    method: 'GET', path: `/nodes/{node}/storage/{storage}/file-restore/${what}`,
    params: { ...nodeOnly, filepath: str(), storage: storageId, ...(what === 'download' ? { tar: bool(o) } : {}), volume: str() },
    permissions: (p) => [{ path: `/storage/${String(p['storage'])}`, privs: ['VM.Backup', 'Datastore.Audit'], any: true }],
    handler: ({ sim, params }) => {
      sim.storageOn(String(params['storage']), String(params['node']));
      // pve-storage FileRestore.pm; the simulator has no Proxmox Backup Server storage type.
      throw paramError({ storage: 'Only PBS storages supported for file-restore.' });
    },
  })),
  {
    method: 'GET', path: '/nodes/{node}/storage/{storage}/rrd',
    params: { ...nodeOnly, cf: oneOf(['AVERAGE', 'MAX'], o), ds: str({ format: 'pve-configid-list' }), storage: storageId, timeframe: oneOf(['hour', 'day', 'week', 'month', 'year']) },
    permissions: (p) => [{ path: `/storage/${String(p['storage'])}`, privs: ['Datastore.Audit', 'Datastore.AllocateSpace'], any: true }],
    handler: ({ sim, params }) => {
      sim.storageOn(String(params['storage']), String(params['node']));
      return rrdImage(`pve-storage-9.0/${String(params['node'])}/${String(params['storage'])}`, params['ds'], params['timeframe']);
    },
  },
  {
    method: 'GET', path: '/nodes/{node}/storage/{storage}/rrddata',
    params: { ...nodeOnly, cf: oneOf(['AVERAGE', 'MAX'], o), storage: storageId, timeframe: oneOf(['hour', 'day', 'week', 'month', 'year']) },
    permissions: (p) => [{ path: `/storage/${String(p['storage'])}`, privs: ['Datastore.Audit', 'Datastore.AllocateSpace'], any: true }],
    handler: ({ sim, params }) => {
      const node = String(params['node']);
      const s = sim.storageOn(String(params['storage']), node);
      const used = sim.storageUsed(s, node);
      return rrdData(sim, String(params['timeframe']), () => ({ total: s.totalBytes, used }));
    },
  },
  {
    method: 'GET', path: '/nodes/{node}/aplinfo', params: nodeOnly,
    handler: () =>
      APPLIANCES.map((a) => ({
        ...a, section: 'system', type: 'lxc', architecture: 'amd64', maintainer: 'Proxmox Support Team <support@proxmox.com>',
        location: `http://download.proxmox.com/images/system/${a.template}`, source: 'http://download.proxmox.com/images', infopage: 'https://pve.proxmox.com/wiki/Linux_Container',
        description: a.headline, sha512sum: '0'.repeat(128),
      })),
  },
  {
    method: 'POST', path: '/nodes/{node}/aplinfo', params: { ...nodeOnly, storage: storageId, template: str({ maxLength: 255 }) },
    permissions: (p) => [{ path: `/storage/${String(p['storage'])}`, privs: ['Datastore.AllocateTemplate'] }],
    handler: ({ sim, params, subject }) => {
      const template = String(params['template']);
      if (!APPLIANCES.some((a) => a.template === template)) throw fail(`no such template '${template}'`);
      // pve-manager API2/Nodes.pm apl_download: the appliance index's checksum is required.
      return download(sim, String(params['node']), String(params['storage']), 'vztmpl', template, 130_000_000, subject, { checksum: true });
    },
  },
];

