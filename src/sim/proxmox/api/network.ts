/**
 * Node DNS and network. Network changes are staged (`/etc/network/interfaces.new`) and
 * listed as `changes` until `PUT /nodes/{node}/network` applies them in an `srvreload`
 * task or `DELETE` discards them.
 */
import { bool, int, oneOf, str } from '../../../proxmox/schema.ts';
import type { Params } from '../../../proxmox/validate.ts';
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
  address: str({ ...o, format: 'ipv4' }),
  address6: str({ ...o, format: 'ipv6' }),
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
};

function staged(n: SimNodeState): Record<string, NetworkInterface> {
  n.pendingNetwork ??= structuredClone(n.network);
  return n.pendingNetwork;
}

function toInterface(p: Params, base: NetworkInterface = {}): NetworkInterface {
  const out: NetworkInterface = { ...base };
  for (const [k, v] of Object.entries(p)) if (k !== 'node' && k !== 'delete') out[k] = v as string | number;
  if (typeof out['cidr'] === 'string') {
    const [address, mask] = out['cidr'].split('/');
    out['address'] = address!;
    out['netmask'] = mask!;
  }
  out['method'] = out['address'] !== undefined ? 'static' : 'manual';
  out['families'] = 'inet';
  out['active'] = base['active'] ?? 0;
  return out;
}

function render(ifaces: Record<string, NetworkInterface>): string {
  return Object.values(ifaces).map((i) => `iface ${String(i['iface'])} inet ${String(i['method'] ?? 'manual')}` + (i['address'] !== undefined ? `\n\taddress ${String(i['address'])}/${String(i['netmask'])}` : '')).join('\n\n');
}

function list(sim: Simulator, p: Params): Reply {
  const n = sim.node(String(p['node']));
  const shown = n.pendingNetwork ?? n.network;
  const type = p['type'];
  const items = Object.values(shown).filter((i) => type === undefined || i['type'] === type || (type === 'any_bridge' && (i['type'] === 'bridge' || i['type'] === 'OVSBridge')));
  const extras: Record<string, unknown> = {};
  if (n.pendingNetwork) extras['changes'] = `--- /etc/network/interfaces\n+++ /etc/network/interfaces.new\n${render(n.pendingNetwork)}\n`;
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
      return sim.startTask({ node: n.name, type: 'srvreload', id: 'networking', subject, finish: () => {
        if (n.pendingNetwork) n.network = Object.fromEntries(Object.entries(n.pendingNetwork).map(([k, v]) => [k, { ...v, active: 1 }]));
        delete n.pendingNetwork;
      } }).upid;
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
