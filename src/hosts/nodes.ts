import type { PhoenixHypervisorSpec } from '../api/hypervisor.ts';
import type { HostStep, ParamValue } from './plan.ts';
import { text } from './plan.ts';

export type NodeDnsSpec = NonNullable<NonNullable<PhoenixHypervisorSpec['nodes']>[number]['dns']>;

export interface ObservedDns {
  search?: string;
  dns1?: string;
  dns2?: string;
  dns3?: string;
}

const serversOf = (dns: ObservedDns): string[] => [dns.dns1, dns.dns2, dns.dns3].filter((s): s is string => typeof s === 'string' && s !== '');

/**
 * A node's resolv.conf. Proxmox rewrites the whole file on every PUT (unnamed servers are
 * dropped), so a spec without `servers` sends the servers found, and changes only the
 * search domain.
 */
export function planDns(node: string, desired: NodeDnsSpec | undefined, observed: ObservedDns): HostStep[] {
  if (!desired) return [];
  const have = serversOf(observed);
  const want = desired.servers ?? have;
  const differences = [];
  if ((observed.search ?? '') !== desired.searchDomain) differences.push({ field: `nodes[${node}].dns.searchDomain`, observed: text(observed.search), desired: desired.searchDomain });
  if (desired.servers !== undefined && want.join(',') !== have.join(',')) differences.push({ field: `nodes[${node}].dns.servers`, observed: have.join(',') || '(none)', desired: want.join(',') || '(none)' });
  if (!differences.length) return [];
  const params: Record<string, ParamValue> = { search: desired.searchDomain };
  want.forEach((server, i) => (params[`dns${i + 1}`] = server));
  return [{
    item: `node ${node} DNS`,
    why: `set ${differences.map((d) => d.field.replace(/^nodes\[[^\]]*\]\.dns\./, '')).join(' and ')} of node ${node}`,
    call: { method: 'PUT', path: `/nodes/{${node}}/dns`, params },
    safe: true,
    differences,
  }];
}

export function planTimezone(node: string, desired: string | undefined, observed: string | undefined): HostStep[] {
  if (desired === undefined || observed === desired) return [];
  return [{
    item: `node ${node} time zone`,
    why: `set the time zone of node ${node} to ${desired}`,
    call: { method: 'PUT', path: `/nodes/{${node}}/time`, params: { timezone: desired } },
    safe: true,
    differences: [{ field: `nodes[${node}].timezone`, observed: text(observed), desired }],
  }];
}
