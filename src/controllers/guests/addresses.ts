import { isProxmoxError } from '../../clients/proxmox/errors.ts';
import type { GuestApi, GuestConfig } from './guest-api.ts';

interface AddressSpec {
  networks?: { ipv4?: string; ipv6?: string }[];
  agent?: { enabled?: boolean };
}

const stripPrefix = (cidr: string) => cidr.split('/')[0] ?? cidr;
const isStatic = (value: string | undefined): value is string => value !== undefined && value.includes('/');

/** Whether any NIC takes its address from DHCP or SLAAC: such addresses change with no config change. */
export function hasDynamicAddresses(spec: AddressSpec): boolean {
  return (spec.networks ?? []).some((n) => n.ipv4 === 'dhcp' || n.ipv6 === 'dhcp' || n.ipv6 === 'auto');
}

/**
 * A running guest's IP addresses. Static addresses come from the config; DHCP and SLAAC
 * addresses from the container's interfaces, or from the VM's guest agent when it has one.
 * An agent that is absent or not running is not an error: the static addresses remain.
 */
export async function guestAddresses(api: GuestApi, config: GuestConfig, spec: AddressSpec): Promise<string[]> {
  const found = new Set<string>();
  for (const net of spec.networks ?? []) {
    if (isStatic(net.ipv4)) found.add(stripPrefix(net.ipv4));
    if (isStatic(net.ipv6)) found.add(stripPrefix(net.ipv6));
  }
  const dynamic = hasDynamicAddresses(spec);
  try {
    if (api.type === 'lxc' && dynamic) {
      for (const iface of (await api.interfaces()) ?? []) {
        if (iface.name === 'lo') continue;
        for (const addr of [iface.inet, iface.inet6]) if (addr && !addr.startsWith('fe80')) found.add(stripPrefix(addr));
      }
    }
    const agentOn = spec.agent?.enabled !== false && /(^|,)(enabled=)?1(,|$)/.test(String(config['agent'] ?? ''));
    if (api.type === 'qemu' && agentOn) {
      const reply = await api.agentInterfaces();
      for (const iface of reply.result ?? []) {
        if (iface.name === 'lo') continue;
        for (const addr of iface['ip-addresses'] ?? []) {
          const ip = addr['ip-address'];
          if (!ip.startsWith('127.') && !ip.startsWith('fe80') && ip !== '::1') found.add(ip);
        }
      }
    }
  } catch (err) {
    if (!isProxmoxError(err, 'ServerError', 'Unavailable', 'NotFound')) throw err;
  }
  return [...found].sort();
}
