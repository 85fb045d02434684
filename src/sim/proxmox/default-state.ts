/**
 * What a fresh single-node install looks like: node `pve`, storages `local` (dir) and
 * `local-lvm` (LVM-thin), a Debian container template, a cloud image and an ISO,
 * bridge `vmbr0`, and `root@pam` with password `phoenix`.
 */
import { GiB } from '../../proxmox/size.ts';
import { emptyFirewall, type SimNodeState, type SimState } from './state.ts';

export const DEFAULT_ROOT_PASSWORD = 'phoenix';

export function defaultNode(name: string, ip = '127.0.0.1'): SimNodeState {
  return {
    name,
    online: true,
    cpus: 8,
    memoryBytes: 32 * GiB,
    ip,
    dns: { search: 'example.internal', dns1: '1.1.1.1' },
    network: {
      lo: { iface: 'lo', type: 'loopback', method: 'loopback', autostart: 1, active: 1, families: 'inet' },
      eno1: { iface: 'eno1', type: 'eth', method: 'manual', active: 1, exists: 1, families: 'inet' },
      vmbr0: {
        iface: 'vmbr0', type: 'bridge', method: 'static', autostart: 1, active: 1, families: 'inet',
        bridge_ports: 'eno1', bridge_stp: 'off', bridge_fd: 0, cidr: '192.168.1.10/24', address: '192.168.1.10',
        netmask: '24', gateway: '192.168.1.1',
      },
    },
  };
}

export function defaultState(nowSeconds: number): SimState {
  return {
    nodes: [defaultNode('pve')],
    storages: [
      { id: 'local', type: 'dir', content: ['backup', 'import', 'iso', 'snippets', 'vztmpl'], shared: false, totalBytes: 100 * GiB, path: '/var/lib/vz' },
      { id: 'local-lvm', type: 'lvmthin', content: ['images', 'rootdir'], shared: false, totalBytes: 400 * GiB, vgname: 'pve', thinpool: 'data' },
    ],
    volumes: [
      { volid: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst', storage: 'local', node: 'pve', content: 'vztmpl', format: 'tzst', size: 126_000_000, ctime: nowSeconds },
      { volid: 'local:import/debian-12-genericcloud-amd64.qcow2', storage: 'local', node: 'pve', content: 'import', format: 'qcow2', size: 2 * GiB, ctime: nowSeconds },
      { volid: 'local:iso/debian-12.7.0-amd64-netinst.iso', storage: 'local', node: 'pve', content: 'iso', format: 'iso', size: 660_000_000, ctime: nowSeconds },
    ],
    guests: [],
    pools: [],
    users: [{ userid: 'root@pam', password: DEFAULT_ROOT_PASSWORD, acl: [{ path: '/', roles: ['Administrator'], propagate: true }] }],
    tokens: [],
    clusterFirewall: emptyFirewall(),
  };
}

/** Appliances the simulated `aplinfo` index offers for download. */
export const APPLIANCES = [
  { template: 'debian-12-standard_12.7-1_amd64.tar.zst', package: 'debian-12-standard', version: '12.7-1', os: 'debian-12', headline: 'Debian 12 (standard)' },
  { template: 'ubuntu-24.04-standard_24.04-2_amd64.tar.zst', package: 'ubuntu-24.04-standard', version: '24.04-2', os: 'ubuntu-24.04', headline: 'Ubuntu 24.04 (standard)' },
  { template: 'alpine-3.22-default_20250617_amd64.tar.xz', package: 'alpine-3.22-default', version: '20250617', os: 'alpine-3.22', headline: 'Alpine Linux 3.22' },
] as const;
