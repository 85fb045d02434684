import { parsePropertyString } from '../proxmox/property-string.ts';
import { lxcFeaturesFormat, lxcMountPointFormat } from '../proxmox/guest-formats.ts';
import type { ConfigChange } from './desired.ts';

/**
 * Options Proxmox lets only `root@pam` itself set. Phoenix talks to Proxmox with an API token,
 * and for a token Proxmox's authenticated user is the token id (`root@pam!phoenix`), so these
 * are refused whatever the token's privileges:
 * - containers (pve-container `check_ct_modify_config_perm`): bind and device mount points,
 *   `devN` passthrough, `hookscript`, feature flags of a privileged container, and feature flags
 *   other than `nesting` of an unprivileged one;
 * - VMs (qemu-server `check_vm_modify_config_perm`): `hostpciN` and `usbN` of raw host devices
 *   (a cluster resource `mapping` is allowed, and USB `host=spice`), and `hookscript`.
 * Phoenix creates the guest without them and stalls with the commands a person runs as root.
 */
export function needsRoot(type: 'lxc' | 'qemu', key: string, value: string | undefined, observed: string | undefined, unprivileged: boolean): boolean {
  if (key === 'hookscript') return true;
  if (type === 'qemu') {
    if (value === undefined || !/^(hostpci|usb)\d+$/.test(key)) return false;
    // A value naming a mapping (`mapping=gpu0`) may be set by anyone with the mapping's privilege,
    // and a SPICE USB redirection with VM.Config.HWType (qemu-server check_usb_perm).
    return !/(^|,)mapping=/.test(value) && !/(^|,)host=spice(,|$)/i.test(value);
  }
  if (/^dev\d+$/.test(key)) return true;
  if (key === 'rootfs' || /^mp\d+$/.test(key)) {
    if (value === undefined) return false;
    return (parsePropertyString(value, lxcMountPointFormat).values['volume'] ?? '').startsWith('/');
  }
  if (key === 'features') {
    if (!unprivileged) return true;
    const was = observed ? parsePropertyString(observed, lxcFeaturesFormat).values : {};
    const now = value ? parsePropertyString(value, lxcFeaturesFormat).values : {};
    return [...new Set([...Object.keys(was), ...Object.keys(now)])].some((f) => f !== 'nesting' && (was[f] ?? '') !== (now[f] ?? ''));
  }
  return false;
}

/** The changes a token may write, and the ones only root@pam may make. */
export function splitRootOnly(type: 'lxc' | 'qemu', changes: readonly ConfigChange[], unprivileged: boolean): { writable: ConfigChange[]; rootOnly: ConfigChange[] } {
  const writable: ConfigChange[] = [];
  const rootOnly: ConfigChange[] = [];
  for (const change of changes) (needsRoot(type, change.key, change.value, change.observed, unprivileged) ? rootOnly : writable).push(change);
  return { writable, rootOnly };
}

/** The command a person runs as root on the node to make `changes` (shell-quoted values). */
export function rootCommand(type: 'lxc' | 'qemu', vmid: number, changes: readonly ConfigChange[]): string {
  const quote = (v: string) => (/^[A-Za-z0-9_./:=,@+-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);
  const set = changes.filter((c) => c.value !== undefined).map((c) => `-${c.key} ${quote(c.value!)}`);
  const deletes = changes.filter((c) => c.value === undefined).map((c) => c.key);
  return [type === 'lxc' ? 'pct set' : 'qm set', String(vmid), ...set, ...(deletes.length ? [`-delete ${deletes.join(',')}`] : [])].join(' ');
}

/** Create parameters without what only root@pam may set (added afterwards by a person, see above). */
export function withoutRootOnly(type: 'lxc' | 'qemu', params: Readonly<Record<string, string>>, unprivileged: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    if (!needsRoot(type, key, value, undefined, unprivileged)) {
      out[key] = value;
      continue;
    }
    // An unprivileged container may still be created with nesting alone.
    if (key === 'features' && unprivileged && /(^|,)nesting=1(,|$)/.test(value)) out[key] = 'nesting=1';
  }
  return out;
}
