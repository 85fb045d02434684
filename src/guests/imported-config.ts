import { stripMarker } from './marker.ts';

/** Options whose value is a secret or an ownership detail, never copied into status. */
const secretKeys = /password|cipassword|sshkeys|ssh-public-keys/i;

/**
 * A guest's Proxmox config as status shows it when Phoenix adopts or observes the guest: every
 * option as Proxmox returned it, secrets masked, without the digest and without Phoenix's
 * marker, so a user can write the spec from it.
 */
export function importedConfig(config: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(config).sort(([a], [b]) => a.localeCompare(b))) {
    if (key === 'digest' || value === undefined || value === null) continue;
    if (key === 'description') {
      const notes = stripMarker(String(value)).trim();
      if (notes) out[key] = notes;
      continue;
    }
    out[key] = secretKeys.test(key) ? '(secret)' : String(value);
  }
  return out;
}
