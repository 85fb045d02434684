/**
 * Cloud-init snippets: files in a file storage's `snippets/` directory. Written over SFTP to the
 * node, they are volumes `<storage>:snippets/<file>` (content `snippets`) of a storage that has
 * snippets enabled; and a VM with a cloud-init drive reads its `cicustom` volumes when it starts.
 */

import type { Simulator } from './simulator.ts';
import type { SimGuestState, SimStorageState } from './state.ts';
import { TaskFailure } from './errors.ts';

/** Where a file storage keeps its files (`path` of storage.cfg; NFS mounts under /mnt/pve). */
function storageBase(s: SimStorageState): string | undefined {
  if (s.type === 'dir') return s.path ?? `/mnt/pve/${s.id}`;
  if (s.type === 'nfs') return `/mnt/pve/${s.id}`;
  return undefined;
}

/** The snippets volume a file at `path` on `node` is, if any. */
export function snippetAt(sim: Simulator, node: string, path: string): { storage: SimStorageState; volid: string } | undefined {
  for (const s of sim.state.storages) {
    const base = storageBase(s);
    if (base === undefined || !s.content.includes('snippets') || s.disable || (s.nodes && !s.nodes.includes(node))) continue;
    const file = path.startsWith(`${base}/snippets/`) ? path.slice(base.length + '/snippets/'.length) : '';
    if (file && !file.includes('/')) return { storage: s, volid: `${s.id}:snippets/${file}` };
  }
  return undefined;
}

/** A file written (size) or removed (undefined) on the node: the snippets volume follows it. */
export function snippetChanged(sim: Simulator, node: string, path: string, size: number | undefined): void {
  const at = snippetAt(sim, node, path);
  if (!at) return;
  sim.removeVolume(at.volid);
  if (size === undefined) return;
  sim.state.volumes.push({ volid: at.volid, storage: at.storage.id, content: 'snippets', format: 'snippet', size, ctime: sim.clock.nowSeconds(), ...(at.storage.shared ? {} : { node }) });
}

/**
 * qemu-server reads the `cicustom` files when it writes the cloud-init drive at start
 * (src/PVE/QemuServer/Cloudinit.pm, get_custom_cloudinit_files and read_cloudinit_snippets_file,
 * in the order network, user, meta, vendor): the storage must exist (PVE::Storage's
 * `storage '<id>' does not exist`), the volume must be a snippet (`<volid> is not in the snippets
 * directory`), and the file must be there (PVE::Tools::file_get_contents's `can't open '<path>' -
 * <errno>`). A VM without a cloud-init drive reads none of them.
 */
export function checkCloudInitSnippets(sim: Simulator, g: SimGuestState): void {
  const hasDrive = Object.entries(g.config).some(([k, v]) => /^(ide|sata|scsi|virtio)\d+$/.test(k) && /vm-\d+-cloudinit/.test(String(v)));
  const cicustom = g.config['cicustom'];
  if (!hasDrive || cicustom === undefined) return;
  const files = new Map(String(cicustom).split(',').map((part) => [part.slice(0, part.indexOf('=')), part.slice(part.indexOf('=') + 1)] as const));
  for (const key of ['network', 'user', 'meta', 'vendor']) {
    const volid = files.get(key);
    if (volid === undefined) continue;
    const storeid = volid.slice(0, volid.indexOf(':'));
    const volname = volid.slice(volid.indexOf(':') + 1);
    const s = sim.storage(storeid);
    if (!s) throw new TaskFailure(`storage '${storeid}' does not exist`);
    const base = storageBase(s);
    if (base === undefined || !/^snippets\/[^/]+$/.test(volname)) throw new TaskFailure(`${volid} is not in the snippets directory`);
    const vol = sim.volume(volid);
    if (!vol || (vol.node !== undefined && vol.node !== g.node)) throw new TaskFailure(`can't open '${base}/${volname}' - No such file or directory`);
  }
}
