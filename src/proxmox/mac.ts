/**
 * MAC addresses. Proxmox generates guest MACs under the datacenter `mac_prefix`
 * (default `BC:24:11`, Proxmox's OUI) and rejects multicast addresses for NICs.
 */
export const DEFAULT_MAC_PREFIX = 'BC:24:11';

const MAC_RE = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i;

export function isMacAddress(text: string): boolean {
  return MAC_RE.test(text);
}

/** The least-significant bit of the first octet marks multicast; guests need unicast. */
export function isUnicastMac(text: string): boolean {
  return isMacAddress(text) && (parseInt(text.slice(0, 2), 16) & 1) === 0;
}

/** `random` returns integers in [0, 256); injectable so seeded simulators are deterministic. */
export function generateMac(random: () => number, prefix: string = DEFAULT_MAC_PREFIX): string {
  const octets = prefix.split(':');
  while (octets.length < 6) octets.push((random() & 0xff).toString(16).padStart(2, '0'));
  return octets.map((o) => o.toUpperCase()).join(':');
}
