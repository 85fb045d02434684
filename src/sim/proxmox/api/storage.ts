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

/** A download task: the file appears on the storage when the task ends OK. */
function download(sim: Simulator, node: string, storage: string, content: 'iso' | 'vztmpl' | 'import', filename: string, size: number, subject: Subject): string {
  const s = sim.storageOn(storage, node);
  if (!s.content.includes(content)) throw fail(`storage '${storage}' does not support '${content}' content`);
  const volid = `${storage}:${content}/${filename}`;
  return sim.startTask({
    node, type: 'download', id: filename, subject, log: [`downloading ${filename} to ${volid}`],
    finish: () => {
      sim.throwIfStorageLocked(storage);
      if (sim.storageUsed(s, node) + size > s.totalBytes) throw new TaskFailure(`write error: No space left on device`);
      sim.removeVolume(volid);
      const vol: SimVolume = { volid, storage, content, format: formatOf(filename, content), size, ctime: sim.clock.nowSeconds() };
      if (!s.shared) vol.node = node;
      sim.state.volumes.push(vol);
      return { log: [`download of '${filename}' finished`] };
    },
  }).upid;
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
    handler: ({ sim, params }) => nodeStatus(sim, sim.storageOn(String(params['storage']), String(params['node'])), String(params['node'])),
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
      return download(sim, String(params['node']), String(params['storage']), content, filename, 300_000_000 + (filename.length % 7) * 10_000_000, subject);
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

