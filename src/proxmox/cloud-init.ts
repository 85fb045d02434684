/**
 * Cloud-init option values as qemu-server wants them. `sshkeys` has format
 * `urlencoded`: the value itself must be percent-encoded (spaces as %20, never '+'),
 * and form encoding then encodes it a second time on the wire. `ipconfigN` is
 * `ip=<CIDR|dhcp>,gw=<ip>,ip6=<CIDR|auto|dhcp>,gw6=<ip>`.
 */

/** Encodes authorized keys for `sshkeys`; every character outside `[-a-zA-Z0-9_.!~*'()]` is escaped. */
export function encodeSshKeys(keys: string): string {
  return encodeURIComponent(keys);
}

/** The keys as Proxmox stores them decoded (one per line). */
export function decodeSshKeys(value: string): string[] {
  return decodeURIComponent(value)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

export interface IpConfig {
  /** `dhcp` or an IPv4 CIDR. */
  ip?: string;
  gw?: string;
  /** `dhcp`, `auto` or an IPv6 CIDR. */
  ip6?: string;
  gw6?: string;
}

const IPCONFIG_KEYS = ['ip', 'gw', 'ip6', 'gw6'] as const;

export function parseIpConfig(value: string): IpConfig {
  const out: IpConfig = {};
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq) as (typeof IPCONFIG_KEYS)[number];
    if (eq > 0 && IPCONFIG_KEYS.includes(key)) out[key] = part.slice(eq + 1);
  }
  return out;
}

/** Prints in Proxmox's order (ip, gw, ip6, gw6), skipping unset keys. */
export function formatIpConfig(config: IpConfig): string {
  return IPCONFIG_KEYS.filter((k) => config[k] !== undefined).map((k) => `${k}=${config[k]}`).join(',');
}
