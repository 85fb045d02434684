import { createProxmoxClient, type ProxmoxClient } from '../../clients/proxmox/client.ts';
import { ClientRegistry } from '../client-registry.ts';
import type { PhoenixHypervisor } from '../../api/objects.ts';
import { ResourcesCache } from './resources-cache.ts';

export interface Connection {
  readonly hypervisor: string;
  readonly client: ProxmoxClient;
  /** The shared `/cluster/resources` snapshot for steady-state observation. */
  readonly resources: ResourcesCache;
  /** Proxmox VE version, e.g. "9.1.1"; known once the hypervisor reconciled. */
  version?: string;
  /** Online nodes at the last check. */
  nodes: readonly string[];
  /** Vmid range and create limits from the spec. */
  readonly settings: ConnectionSettings;
}

export interface ConnectionSettings {
  readonly vmidRange?: { min: number; max: number };
  readonly createsPerNode: number;
  readonly createsPerStorage: number;
}

/** One Proxmox client per PhoenixHypervisor, shared by every guest reconciler. */
export class ConnectionRegistry extends ClientRegistry<Connection> {
  upsert(hypervisor: PhoenixHypervisor, token: string): Connection {
    const { proxmox } = hypervisor.spec;
    const settings: ConnectionSettings = {
      ...(hypervisor.spec.vmidRange ? { vmidRange: hypervisor.spec.vmidRange } : {}),
      createsPerNode: hypervisor.spec.concurrency?.createsPerNode ?? 4,
      createsPerStorage: hypervisor.spec.concurrency?.createsPerStorage ?? 2,
    };
    const name = hypervisor.metadata.name;
    return this.obtain(
      name,
      [proxmox.url, token, proxmox.caBundle ?? '', proxmox.insecureSkipTLSVerify ?? false],
      () => {
        const client = createProxmoxClient({
          url: proxmox.url.replace(/\/$/, ''),
          token,
          ...(proxmox.caBundle ? { caBundle: proxmox.caBundle } : {}),
          insecureSkipTLSVerify: proxmox.insecureSkipTLSVerify ?? false,
          ...(this.recorder ? { recorder: this.recorder } : {}),
        });
        return { hypervisor: name, client, resources: new ResourcesCache(client), nodes: [], settings };
      },
      // version and nodes carry over: they are facts about the endpoint, not the spec.
      (existing) => ({ ...existing, settings }),
    );
  }

  /** Marks what the last check found, for guests to read. */
  update(name: string, facts: { version: string; nodes: readonly string[] }): void {
    this.replace(name, (connection) => ({ ...connection, ...facts }));
  }
}
