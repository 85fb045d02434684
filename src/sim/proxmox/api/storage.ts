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
import { nodeOnly } from './common.ts';

const o = { optional: true } as const;
const storageId = str({ format: 'pve-storage-id' });
const STORAGE_TYPES = ['btrfs', 'cephfs', 'cifs', 'dir', 'esxi', 'iscsi', 'iscsidirect', 'lvm', 'lvmthin', 'nfs', 'pbs', 'rbd', 'zfs', 'zfspool'];
/** PVE 9 dropped GlusterFS. */
const storageType = (extra: { optional?: boolean } = {}) => ({ ...oneOf(STORAGE_TYPES, extra), olderForm: { until: '9.1', def: oneOf([...STORAGE_TYPES, 'glusterfs'], extra) } });
const SIMULATED_TYPES = new Set(['dir', 'lvmthin', 'lvm', 'zfspool', 'nfs']);

function definition(s: SimStorageState): Record<string, unknown> {
  const out: Record<string, unknown> = { storage: s.id, type: s.type, content: [...s.content].sort().join(','), digest: '0000000000000000000000000000000000000000' };
  if (s.shared) out['shared'] = 1;
  if (s.nodes) out['nodes'] = s.nodes.join(',');
  if (s.path !== undefined) out['path'] = s.path;
  if (s.vgname !== undefined) out['vgname'] = s.vgname;
  if (s.thinpool !== undefined) out['thinpool'] = s.thinpool;
  for (const key of ['server', 'export', 'pool'] as const) if (s[key] !== undefined) out[key] = s[key];
  if (s.disable) out['disable'] = 1;
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
  return `${base}/${sub[v.content]}/${file}`;
}

/** A download task: the file appears on the storage when the task ends OK. */
function download(sim: Simulator, node: string, storage: string, content: 'iso' | 'vztmpl' | 'import', filename: string, size: number, subject: Subject, url?: string): string {
  const s = sim.storageOn(storage, node);
  if (!s.content.includes(content)) throw fail(`storage '${storage}' does not support '${content}' content`);
  const volid = `${storage}:${content}/${filename}`;
  const vol: SimVolume = { volid, storage, content, format: formatOf(filename, content), size, ctime: sim.clock.nowSeconds() };
  const path = volumePath(s, vol);
  const source = url ?? `http://download.proxmox.com/images/system/${filename}`;
  // pve-common PVE::Tools::download_file_from_url: the URL and the target, wget's progress, the result.
  const progress = [10, 25, 50, 75, 100].map((pct) => `${(((size / 1048576) * pct) / 100).toFixed(2)} MiB of ${(size / 1048576).toFixed(2)} MiB (${pct.toFixed(2)}%)`);
  return sim.startTask({
    node, type: 'download', id: filename, subject, log: [`downloading ${source} to ${path}`],
    finish: () => {
      sim.throwIfStorageLocked(storage);
      if (sim.storageUsed(s, node) + size > s.totalBytes) throw new TaskFailure(`write error: No space left on device`);
      sim.removeVolume(volid);
      vol.ctime = sim.clock.nowSeconds();
      if (!s.shared) vol.node = node;
      sim.state.volumes.push(vol);
      return { log: [...progress, `download of '${source}' to '${path}' finished`] };
    },
  }).upid;
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
function updateVolume(sim: Simulator, params: Params): null {
  const vol = existingVolume(sim, realVolumeId(params));
  for (const attribute of ['notes', 'protected'] as const) {
    if (params[attribute] === undefined) continue;
    // pve-storage Plugin.pm update_volume_attribute: only backups carry these.
    if (vol.content !== 'backup') throw fail(`${attribute} is not supported for '${vol.volid}'`);
    if (attribute === 'notes') vol.notes = String(params['notes']);
    else vol.protected = params['protected'] === 1;
  }
  return null;
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

export const storageEndpoints: Endpoint[] = [
  {
    method: 'GET', path: '/storage', params: { type: storageType(o) },
    handler: ({ sim, params, subject }) =>
      sim.state.storages.filter((s) => (params['type'] === undefined || s.type === params['type']) && hasPrivilege(sim.state, subject, `/storage/${s.id}`, 'Datastore.Audit')).map(definition),
  },
  {
    method: 'POST', path: '/storage',
    params: {
      ...storageDefParams, storage: storageId, type: storageType(), path: str({ ...o, format: 'pve-storage-path' }), vgname: str({ ...o, format: 'pve-storage-vgname' }), thinpool: str({ ...o, format: 'pve-storage-vgname' }),
      server: str({ ...o, format: 'pve-storage-server' }), export: str({ ...o, format: 'pve-storage-path' }), pool: str(o),
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
    params: { ...storageDefParams, storage: storageId, delete: str({ ...o, format: 'pve-configid-list', maxLength: 4096 }), digest: str({ ...o, maxLength: 64 }) },
    permissions: () => [{ path: '/storage', privs: ['Datastore.Allocate'] }],
    handler: ({ sim, params }) => {
      const s = sim.storage(String(params['storage']));
      if (!s) throw fail(`update storage failed: error with cfs lock 'file-storage_cfg': storage '${String(params['storage'])}' does not exist`);
      if (params['content'] !== undefined) s.content = String(params['content']).split(',');
      if (params['nodes'] !== undefined) s.nodes = String(params['nodes']).split(',');
      if (params['disable'] !== undefined) s.disable = params['disable'] === 1;
      if (params['shared'] !== undefined) s.shared = params['shared'] === 1;
      for (const d of String(params['delete'] ?? '').split(',').filter(Boolean)) {
        if (d === 'nodes') delete s.nodes;
        if (d === 'disable') delete s.disable;
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
    params: { ...nodeOnly, filename: str(), format: oneOf(['raw', 'qcow2', 'subvol', 'vmdk'], o), size: str({ pattern: '\\d+[MG]?' }), storage: storageId, vmid: vmidParam },
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
      ...nodeOnly, checksum: str(o), 'checksum-algorithm': oneOf(['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'], o), compression: str(o),
      content: { ...oneOf(['iso', 'vztmpl', 'import']), format: 'pve-storage-content' }, filename: str({ maxLength: 255 }), storage: storageId,
      url: str({ pattern: 'https?://.*' }), 'verify-certificates': bool(o),
    },
    permissions: (p) => [{ path: `/storage/${String(p['storage'])}`, privs: ['Datastore.AllocateTemplate'] }, { path: '/', privs: ['Sys.Audit', 'Sys.Modify'], orPath: `/nodes/${String(p['node'])}` }],
    handler: ({ sim, params, subject }) => {
      const filename = String(params['filename']);
      if (params['checksum'] !== undefined && params['checksum-algorithm'] === undefined) throw paramError({ 'checksum-algorithm': "missing checksum-algorithm" });
      const content = String(params['content']) as 'iso' | 'vztmpl' | 'import';
      // No network here: the "download" is simulated, and its size derived from the name.
      return download(sim, String(params['node']), String(params['storage']), content, filename, 300_000_000 + (filename.length % 7) * 10_000_000, subject, String(params['url']));
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
    handler: ({ sim, params }) => updateVolume(sim, params),
  },
  {
    method: 'POST', path: '/nodes/{node}/storage/{storage}/content/{volume}',
    params: { ...nodeOnly, storage: str({ ...o, format: 'pve-storage-id' }), target: str(), target_node: str({ ...o, format: 'pve-node' }), volume: str() },
    handler: ({ sim, params, subject }) => copyVolume(sim, params, subject),
  },
  {
    method: 'POST', path: '/nodes/{node}/storage/{storage}/upload',
    params: {
      ...nodeOnly, checksum: str(o), 'checksum-algorithm': oneOf(['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'], o),
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
    permissions: (p) => [{ path: `/storage/${String(p['storage'])}`, privs: method === 'GET' ? ['Datastore.Audit', 'Datastore.AllocateSpace'] : ['Datastore.Allocate'], any: method === 'GET' }],
    handler: ({ sim, params, subject }) => {
      const node = String(params['node']);
      const s = sim.storageOn(String(params['storage']), node);
      const backups = volumesOn(sim, s, node).filter((v) => v.content === 'backup' && (params['vmid'] === undefined || v.vmid === params['vmid']));
      // With no retention given the storage's own applies; the simulated storages keep everything.
      if (method === 'GET') return backups.map((v) => ({ volid: v.volid, ctime: v.ctime, vmid: v.vmid, type: 'qemu', mark: v.protected ? 'protected' : 'keep' }));
      return sim.startTask({ node, type: 'prunebackups', id: s.id, subject, finish: () => undefined }).upid;
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
      return download(sim, String(params['node']), String(params['storage']), 'vztmpl', template, 130_000_000, subject);
    },
  },
];

