/**
 * Node DNS and network. Network changes are staged (`/etc/network/interfaces.new`) and
 * listed as `changes` until `PUT /nodes/{node}/network` applies them in an `srvreload`
 * task or `DELETE` discards them.
 */
import { bool, int, oneOf, str } from '../../../proxmox/schema.ts';
import type { Params } from '../../../proxmox/validate.ts';
import { netmaskBits } from '../../../proxmox/formats.ts';
import { fail, paramError } from '../errors.ts';
import { Reply, type Endpoint } from '../endpoint.ts';
import type { Simulator } from '../simulator.ts';
import type { NetworkInterface, SimNodeState } from '../state.ts';
import { nodeOnly, nodePerm } from './common.ts';

const o = { optional: true } as const;
const IFACE_TYPES = ['bridge', 'bond', 'eth', 'alias', 'vlan', 'fabric', 'OVSBridge', 'OVSBond', 'OVSPort', 'OVSIntPort', 'vnet', 'unknown'];
/** SDN fabrics (and listing SDN interfaces) arrived with PVE 9. */
const withoutFabric = (values: string[]) => values.filter((v) => v !== 'fabric' && v !== 'include_sdn');
const ifaceType = (values: string[], extra: { optional?: boolean } = {}) => ({ ...oneOf(values, extra), olderForm: { until: '9.1', def: oneOf(withoutFabric(values), extra) } });
const LIST_TYPES = ['bridge', 'bond', 'eth', 'alias', 'vlan', 'fabric', 'OVSBridge', 'OVSBond', 'OVSPort', 'OVSIntPort', 'vnet', 'any_bridge', 'any_local_bridge', 'include_sdn'];
const iface = str({ format: 'pve-iface', maxLength: 20 });

const ifaceParams = {
  address: str({ ...o, format: 'ipv4', requires: 'netmask' }),
  address6: str({ ...o, format: 'ipv6', requires: 'netmask6' }),
  autostart: bool(o),
  bond_mode: oneOf(['balance-rr', 'active-backup', 'balance-xor', 'broadcast', '802.3ad', 'balance-tlb', 'balance-alb', 'balance-slb', 'lacp-balance-slb', 'lacp-balance-tcp'], o),
  bridge_ports: str({ ...o, format: 'pve-iface-list' }),
  bridge_vlan_aware: bool(o),
  cidr: str({ ...o, format: 'CIDRv4' }),
  cidr6: str({ ...o, format: 'CIDRv6' }),
  comments: str(o),
  gateway: str({ ...o, format: 'ipv4' }),
  gateway6: str({ ...o, format: 'ipv6' }),
  iface,
  mtu: int({ ...o, minimum: 1280, maximum: 65520 }),
  slaves: str({ ...o, format: 'pve-iface-list' }),
  type: ifaceType(IFACE_TYPES),
  'vlan-id': int({ ...o, minimum: 1, maximum: 4094 }),
  'vlan-raw-device': str({ ...o, format: 'pve-iface' }),
  'bond-primary': str({ ...o, format: 'pve-iface' }),
  bond_xmit_hash_policy: oneOf(['layer2', 'layer2+3', 'layer3+4'], o),
  bridge_vids: str({ ...o, format: 'pve-vlan-id-or-range-list' }),
  comments6: str(o),
  netmask: str({ ...o, format: 'ipv4mask', requires: 'address' }),
  netmask6: int({ ...o, minimum: 0, maximum: 128, requires: 'address6' }),
  ovs_bonds: str({ ...o, format: 'pve-iface-list' }),
  ovs_bridge: str({ ...o, format: 'pve-iface' }),
  ovs_options: str({ ...o, maxLength: 1024 }),
  ovs_ports: str({ ...o, format: 'pve-iface-list' }),
  ovs_tag: int({ ...o, minimum: 1, maximum: 4094 }),
};

/** A dotted netmask as its prefix length, as ifupdown2's file holds it (`address 10.0.0.2/24`). */
function prefixLength(mask: string): string {
  return String(netmaskBits(mask) ?? mask);
}

/** pve-manager API2/Network.pm `$map_cidr_to_address_netmask`: cidr and address/netmask exclude each other. */
function checkAddressing(p: Params): void {
  for (const [cidr, address, netmask] of [['cidr', 'address', 'netmask'], ['cidr6', 'address6', 'netmask6']] as const) {
    if (p[cidr] === undefined) continue;
    if (p[address] !== undefined) throw paramError({ [address]: `${address} conflicts with ${cidr}` });
    if (p[netmask] !== undefined) throw paramError({ [netmask]: `${netmask} conflicts with ${cidr}` });
  }
}

function staged(n: SimNodeState): Record<string, NetworkInterface> {
  n.pendingNetwork ??= structuredClone(n.network);
  return n.pendingNetwork;
}

function toInterface(p: Params, base: NetworkInterface = {}): NetworkInterface {
  const out: NetworkInterface = { ...base };
  for (const [k, v] of Object.entries(p)) if (k !== 'node' && k !== 'delete') out[k] = v as string | number;
  checkAddressing(p);
  if (typeof out['cidr'] === 'string') {
    const [address, mask] = out['cidr'].split('/');
    out['address'] = address!;
    out['netmask'] = mask!;
  } else if (p['address'] !== undefined) {
    out['netmask'] = prefixLength(String(p['netmask']));
    out['cidr'] = `${String(p['address'])}/${out['netmask']}`;
  }
  if (typeof out['cidr6'] === 'string') {
    const [address, mask] = out['cidr6'].split('/');
    out['address6'] = address!;
    out['netmask6'] = mask!;
  } else if (p['address6'] !== undefined) out['cidr6'] = `${String(p['address6'])}/${String(p['netmask6'])}`;
  out['method'] = out['address'] !== undefined ? 'static' : 'manual';
  if (out['address6'] !== undefined) out['method6'] = 'static';
  out['families'] = out['address6'] !== undefined ? (out['address'] !== undefined ? 'inet,inet6' : 'inet6') : 'inet';
  out['active'] = base['active'] ?? 0;
  return out;
}

/** Keys the interfaces file does not hold: they are derived when Proxmox reads it. */
const DERIVED = new Set(['iface', 'type', 'method', 'method6', 'families', 'active', 'exists', 'autostart', 'priority', 'cidr', 'address', 'netmask', 'cidr6', 'address6', 'netmask6', 'comments6']);

/** The file as ifupdown2 reads it, one stanza per interface, as Proxmox writes it. */
function render(ifaces: Record<string, NetworkInterface>): string[] {
  const lines: string[] = [];
  for (const i of Object.values(ifaces)) {
    const name = String(i['iface']);
    if (i['autostart'] !== undefined && Number(i['autostart']) === 1) lines.push(`auto ${name}`);
    lines.push(`iface ${name} inet ${String(i['method'] ?? 'manual')}`);
    if (i['address'] !== undefined) lines.push(`\taddress ${String(i['address'])}/${String(i['netmask'])}`);
    if (i['address6'] !== undefined) {
      lines.push('', `iface ${name} inet6 static`, `\taddress ${String(i['address6'])}/${String(i['netmask6'])}`);
      for (const c of String(i['comments6'] ?? '').split('\n').filter(Boolean)) lines.push(`#${c}`);
    }
    for (const [k, v] of Object.entries(i).sort(([a], [b]) => a.localeCompare(b))) {
      if (DERIVED.has(k)) continue;
      if (k === 'comments') for (const c of String(v).split('\n').filter(Boolean)) lines.push(`#${c}`);
      else lines.push(`\t${k.replace(/_/g, '-')} ${String(v)}`);
    }
    lines.push('');
  }
  return lines;
}

/**
 * `diff -u` of the two files, as Proxmox's `changes` (`ccache_compute_diff` runs `diff -b -N
 * -u`). One hunk spanning the whole file: a valid unified diff, with more context than diff's 3 lines.
 */
function unifiedDiff(before: string[], after: string[]): string {
  const n = before.length;
  const m = after.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i]![j] = before[i] === after[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const body: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && before[i] === after[j]) {
      body.push(` ${before[i]}`);
      i++;
      j++;
    } else if (j < m && (i === n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) body.push(`+${after[j++]}`);
    else body.push(`-${before[i++]}`);
  }
  if (!body.some((l) => l.startsWith('+') || l.startsWith('-'))) return '';
  return [`--- /etc/network/interfaces\t2026-01-01 00:00:00.000000000 +0000`, `+++ /etc/network/interfaces.new\t2026-01-01 00:00:00.000000000 +0000`, `@@ -1,${n} +1,${m} @@`, ...body, ''].join('\n');
}

function list(sim: Simulator, p: Params): Reply {
  const n = sim.node(String(p['node']));
  const shown = n.pendingNetwork ?? n.network;
  const type = p['type'];
  const items = Object.values(shown).filter((i) => type === undefined || i['type'] === type || (type === 'any_bridge' && (i['type'] === 'bridge' || i['type'] === 'OVSBridge')));
  const extras: Record<string, unknown> = {};
  // Proxmox sets `changes` only when the staged file differs from the running one.
  const changes = n.pendingNetwork ? unifiedDiff(render(n.network), render(n.pendingNetwork)) : '';
  if (changes) extras['changes'] = changes;
  return new Reply(items, extras);
}

export const networkEndpoints: Endpoint[] = [
  {
    method: 'GET', path: '/nodes/{node}/dns', params: nodeOnly, permissions: nodePerm(['Sys.Audit']),
    handler: ({ sim, params }) => ({ ...sim.node(String(params['node'])).dns }),
  },
  {
    method: 'PUT', path: '/nodes/{node}/dns', params: { ...nodeOnly, dns1: str({ ...o, format: 'ip' }), dns2: str({ ...o, format: 'ip' }), dns3: str({ ...o, format: 'ip' }), search: str() },
    permissions: nodePerm(['Sys.Modify']),
    handler: ({ sim, params }) => {
      const n = sim.node(String(params['node']));
      n.dns = { search: String(params['search']) };
      for (const k of ['dns1', 'dns2', 'dns3'] as const) if (params[k] !== undefined) n.dns[k] = String(params[k]);
      return null;
    },
  },
  {
    method: 'GET', path: '/nodes/{node}/time', params: nodeOnly, permissions: nodePerm(['Sys.Audit']),
    handler: ({ sim, params }) => {
      const now = sim.clock.nowSeconds();
      return { timezone: sim.node(String(params['node'])).timezone ?? 'UTC', time: now, localtime: now };
    },
  },
  {
    method: 'PUT', path: '/nodes/{node}/time', params: { ...nodeOnly, timezone: str() }, permissions: nodePerm(['Sys.Modify']),
    handler: ({ sim, params }) => {
      const zone = String(params['timezone']);
      // Proxmox looks for /usr/share/zoneinfo/<zone> in the handler (a 500, not a parameter
      // error); a plausible shape stands in for the zone database.
      if (!/^(UTC|[A-Z][A-Za-z_+-]*(\/[A-Za-z0-9_+-]+)+)$/.test(zone)) throw fail(`Timezone '${zone}' does not exist`);
      sim.node(String(params['node'])).timezone = zone;
      return null;
    },
  },
  {
    method: 'GET', path: '/nodes/{node}/network',
    params: { ...nodeOnly, type: ifaceType(LIST_TYPES, o) },
    handler: ({ sim, params }) => list(sim, params),
  },
  {
    method: 'POST', path: '/nodes/{node}/network', params: { ...nodeOnly, ...ifaceParams }, permissions: nodePerm(['Sys.Modify']),
    handler: ({ sim, params }) => {
      const ifaces = staged(sim.node(String(params['node'])));
      const name = String(params['iface']);
      if (ifaces[name]) throw paramError({ iface: 'interface already exists' });
      ifaces[name] = toInterface(params);
      return null;
    },
  },
  {
    method: 'PUT', path: '/nodes/{node}/network', params: { ...nodeOnly, 'regenerate-frr': bool({ ...o, since: '9.1' }) }, permissions: nodePerm(['Sys.Modify']),
    handler: ({ sim, params, subject }) => {
      const n = sim.node(String(params['node']));
      return sim.startTask({
        node: n.name, type: 'srvreload', id: 'networking', subject,
        finish: () => {
          if (n.pendingNetwork) n.network = Object.fromEntries(Object.entries(n.pendingNetwork).map(([k, v]) => [k, { ...v, active: 1 }]));
          delete n.pendingNetwork;
        },
        // The worker moves interfaces.new over interfaces before `ifreload -a`: a failed
        // reload leaves nothing staged, and the new file in place but not active.
        onFailure: () => {
          if (n.pendingNetwork) n.network = n.pendingNetwork;
          delete n.pendingNetwork;
        },
      }).upid;
    },
  },
  {
    method: 'DELETE', path: '/nodes/{node}/network', params: nodeOnly, permissions: nodePerm(['Sys.Modify']),
    handler: ({ sim, params }) => {
      delete sim.node(String(params['node'])).pendingNetwork;
      return null;
    },
  },
  {
    method: 'GET', path: '/nodes/{node}/network/{iface}', params: { ...nodeOnly, iface }, permissions: nodePerm(['Sys.Audit']),
    handler: ({ sim, params }) => {
      const n = sim.node(String(params['node']));
      const i = (n.pendingNetwork ?? n.network)[String(params['iface'])];
      if (!i) throw paramError({ iface: 'interface does not exist' });
      return i;
    },
  },
  {
    method: 'PUT', path: '/nodes/{node}/network/{iface}', params: { ...nodeOnly, ...ifaceParams, delete: str({ ...o, format: 'pve-configid-list' }) }, permissions: nodePerm(['Sys.Modify']),
    handler: ({ sim, params }) => {
      const ifaces = staged(sim.node(String(params['node'])));
      const name = String(params['iface']);
      const current = ifaces[name];
      if (!current) throw paramError({ iface: 'interface does not exist' });
      const next = toInterface(params, current);
      for (const d of String(params['delete'] ?? '').split(',').filter(Boolean)) delete next[d];
      ifaces[name] = next;
      return null;
    },
  },
  {
    method: 'DELETE', path: '/nodes/{node}/network/{iface}', params: { ...nodeOnly, iface }, permissions: nodePerm(['Sys.Modify']),
    handler: ({ sim, params }) => {
      const ifaces = staged(sim.node(String(params['node'])));
      if (!ifaces[String(params['iface'])]) throw paramError({ iface: 'interface does not exist' });
      delete ifaces[String(params['iface'])];
      return null;
    },
  },
];
