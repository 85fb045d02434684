/** Minimal valid objects of each kind, which the admission tests then break one field at a time. */
export type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; spec: Record<string, any> };

const apiVersion = 'hypervisor.phoenix.io/v1alpha1';

export function lxc(name: string): Manifest {
  return {
    apiVersion,
    kind: 'PhoenixLXC',
    metadata: { name },
    spec: {
      hypervisorRef: { name: 'pve' },
      node: 'pve1',
      source: { osTemplate: { volume: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst' } },
      cores: 1,
      memory: '512M',
      rootDisk: { storage: 'local-lvm', size: '8G' },
      networks: [{ name: 'eth0', bridge: 'vmbr0', ipv4: '10.0.0.5/24', gatewayV4: '10.0.0.1' }],
    },
  };
}

export function vm(name: string): Manifest {
  return {
    apiVersion,
    kind: 'PhoenixVM',
    metadata: { name },
    spec: {
      hypervisorRef: { name: 'pve' },
      node: 'pve1',
      source: { clone: { vmid: 9000 } },
      cores: 2,
      memory: '2G',
      disks: [{ slot: 'scsi0', size: '32G' }],
      networks: [{ bridge: 'vmbr0', ipv4: 'dhcp' }],
    },
  };
}

export function stack(name: string): Manifest {
  return {
    apiVersion,
    kind: 'PhoenixStack',
    metadata: { name },
    spec: { vmRef: { name: 'docker-host' }, compose: { inline: 'services: {}\n' } },
  };
}

export function hypervisor(name: string): Manifest {
  return {
    apiVersion,
    kind: 'PhoenixHypervisor',
    metadata: { name },
    spec: { proxmox: { url: 'https://pve.example.com:8006', tokenSecretRef: { name: 'pve-token', namespace: 'phoenix-system' } } },
  };
}
