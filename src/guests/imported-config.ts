import { stripMarker } from './marker.ts';
import { maskedEnv } from './lxc-config.ts';
import { byCodeUnits } from '../runtime/order.ts';

/** Options whose value is a secret or an ownership detail, never copied into status. */
const secretKeys = /password|cipassword|sshkeys|ssh-public-keys/i;

/**
 * What GET config returns that is no option one can set: the file's `digest`, and `parent`,
 * the snapshot the current state descends from (qemu-server and pve-container write it into
 * the config when a snapshot is taken or rolled back to).
 */
const notOptions = new Set(['digest', 'parent']);

/**
 * A guest's Proxmox config as status shows it when Phoenix adopts or observes the guest: every
 * option as Proxmox returned it, secrets masked, without the digest, the snapshot parent and
 * Phoenix's marker, so a user can write the spec from it.
 */
export function importedConfig(config: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(config).sort(([a], [b]) => byCodeUnits(a, b))) {
    if (notOptions.has(key) || value === undefined || value === null) continue;
    if (key === 'description') {
      const notes = stripMarker(String(value)).trim();
      if (notes) out[key] = notes;
      continue;
    }
    out[key] = key === 'env' ? maskedEnv(String(value)) : secretKeys.test(key) ? '(secret)' : String(value);
  }
  return out;
}
