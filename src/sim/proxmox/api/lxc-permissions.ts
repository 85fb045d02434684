/**
 * pve-container's `check_ct_modify_config_perm` (src/PVE/LXC.pm): the per-option privileges a
 * container create or config update needs, and the options only `root@pam` may set at all.
 * "root@pam" means the ticket user: for an API token Proxmox's authenticated user is the token
 * id (`root@pam!phoenix`), so even a root token with privilege separation off is refused a bind
 * mount, device passthrough, a hookscript or feature flags other than nesting.
 */
import { parsePropertyString } from '../../../proxmox/property-string.ts';
import { lxcFeaturesFormat, lxcMountPointFormat, lxcNetFormat } from '../../../proxmox/guest-formats.ts';
import { ApiError, fail, permissionDenied } from '../errors.ts';
import { hasPrivilege, subjectName, type Subject } from '../auth.ts';
import type { Simulator } from '../simulator.ts';
import type { GuestConfig } from '../state.ts';
import { assertTagPermissions } from './tag-permissions.ts';

/** `raise_perm_exc($what)` of pve-common's PVE::Exception: a 403 "Permission check failed (…)". */
function rootOnly(what: string): ApiError {
  return new ApiError(403, `Permission check failed (${what} is only allowed for root@pam)\n`);
}

/** pve-container's `classify_mountpoint` (LXC/Config.pm): a path is a bind mount, `/dev/…` a device. */
export function mountPointType(volume: string): 'volume' | 'bind' | 'device' {
  if (!volume.startsWith('/')) return 'volume';
  return volume.startsWith('/dev/') ? 'device' : 'bind';
}

/** `$NEW_DISK_RE` (LXC.pm): `storage:size` asks for a new volume. */
const NEW_DISK_RE = /^([^:\s]+):(\d+(?:\.\d+)?)$/;
/** pve-storage's `parse_volume_id`: `storage:name`. */
const VOLUME_ID_RE = /^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$/i;

interface Change {
  readonly vmid: number;
  readonly oldConf: Readonly<GuestConfig> | undefined;
  readonly newConf: Readonly<Record<string, unknown>>;
  readonly deletes: readonly string[];
  readonly unprivileged: boolean;
}

export function checkCtModifyConfigPerm(sim: Simulator, subject: Subject, change: Change): void {
  if (subjectName(subject) === 'root@pam') return;
  const need = (path: string, priv: string) => {
    if (!hasPrivilege(sim.state, subject, path, priv)) throw permissionDenied(path, priv);
  };
  const vmPriv = (priv: string) => need(`/vms/${change.vmid}`, priv);
  const bridgeAccess = (raw: string | undefined) => {
    if (raw === undefined) return;
    // GuestHelpers::check_vnet_access: SDN.Use on the bridge (of the local zone), or on each VLAN.
    const net = parsePropertyString(raw, lxcNetFormat).values;
    if (net['bridge'] === undefined) return;
    const zone = `/sdn/zones/localnetwork/${net['bridge']}`;
    const tags = [net['tag'], ...(net['trunks']?.split(';') ?? [])].filter((t): t is string => t !== undefined);
    if (tags.length === 0) need(zone, 'SDN.Use');
    for (const tag of tags) need(`${zone}/${tag}`, 'SDN.Use');
  };
  const check = (opt: string, deleting: boolean) => {
    if (opt === 'cores' || opt === 'cpuunits' || opt === 'cpulimit') vmPriv('VM.Config.CPU');
    else if (opt === 'rootfs' || /^mp\d+$/.test(opt)) {
      vmPriv('VM.Config.Disk');
      if (deleting) return;
      const volume = parsePropertyString(String(change.newConf[opt]), lxcMountPointFormat).values['volume'] ?? '';
      const type = mountPointType(volume);
      if (type !== 'volume') throw rootOnly(`mount point type ${type}`);
      const fresh = NEW_DISK_RE.exec(volume);
      if (fresh) need(`/storage/${fresh[1]}`, 'Datastore.AllocateSpace');
      else checkVolumeAccess(sim, subject, change.vmid, volume);
    } else if (opt === 'memory' || opt === 'swap') vmPriv('VM.Config.Memory');
    else if (/^net\d+$/.test(opt)) {
      vmPriv('VM.Config.Network');
      bridgeAccess(change.oldConf?.[opt]);
      bridgeAccess(deleting ? undefined : String(change.newConf[opt]));
    } else if (/^dev\d+$/.test(opt)) throw new ApiError(403, 'Permission check failed (configuring device passthrough is only allowed for root@pam)\n');
    else if (opt === 'nameserver' || opt === 'searchdomain' || opt === 'hostname') vmPriv('VM.Config.Network');
    else if (opt === 'features') checkFeatures(change, deleting, vmPriv);
    else if (opt === 'hookscript') throw rootOnly('changing the hookscript');
    // pve-container LXC.pm: tags go through pve-guest-common's assert_tag_permissions.
    else if (opt === 'tags') assertTagPermissions(sim, subject, change.vmid, change.oldConf?.['tags'], deleting ? '' : String(change.newConf['tags']));
    else vmPriv('VM.Config.Options');
  };
  for (const opt of Object.keys(change.newConf)) check(opt, false);
  for (const opt of change.deletes) check(opt, true);
}

function checkFeatures(change: Change, deleting: boolean, vmPriv: (priv: string) => void): void {
  if (!change.unprivileged) throw rootOnly('changing feature flags for privileged container');
  const parse = (raw: string | undefined) => (raw === undefined || raw === '' ? {} : parsePropertyString(raw, lxcFeaturesFormat).values);
  const old = parse(change.oldConf?.['features']);
  let nestingChanged = false;
  let otherChanged = false;
  const classify = (features: Record<string, string>) => {
    const keys = Object.keys(features);
    if (keys.length === 1 && keys[0] === 'nesting') nestingChanged = true;
    else if (keys.length > 0) otherChanged = true;
  };
  if (deleting) classify(old);
  else if (change.oldConf?.['features']) {
    const now = parse(String(change.newConf['features']));
    for (const feature of new Set([...Object.keys(old), ...Object.keys(now)])) {
      if ((old[feature] ?? '') === (now[feature] ?? '')) continue;
      if (feature === 'nesting') nestingChanged = true;
      else otherChanged = true;
    }
  } else classify(parse(String(change.newConf['features'])));
  if (otherChanged) throw rootOnly('changing feature flags (except nesting)');
  if (nestingChanged) vmPriv('VM.Allocate');
}

/**
 * pve-storage's `check_volume_access` for an existing volume. A value without a storage (a bare
 * size such as `rootfs: 8`, which the create call would only later prefix with the default
 * storage) is an "arbitrary filesystem path" to it: Storage.pm dies without a newline, so 500.
 */
function checkVolumeAccess(sim: Simulator, subject: Subject, vmid: number, volid: string): void {
  const m = VOLUME_ID_RE.exec(volid);
  if (!m) throw fail('Only root can pass arbitrary filesystem paths.');
  const storage = `/storage/${m[1]}`;
  if (hasPrivilege(sim.state, subject, storage, 'Datastore.Allocate')) return;
  const owner = sim.volume(volid)?.vmid;
  if (owner === vmid) return;
  if (owner === undefined) throw fail(`missing privileges to access ${volid}`);
  if (!hasPrivilege(sim.state, subject, storage, 'Datastore.Audit')) throw permissionDenied(storage, 'Datastore.Audit');
  if (!hasPrivilege(sim.state, subject, `/vms/${owner}`, 'VM.Config.Disk')) throw permissionDenied(`/vms/${owner}`, 'VM.Config.Disk');
}
