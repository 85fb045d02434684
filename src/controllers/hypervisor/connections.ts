import { createHash } from 'node:crypto';
import { createProxmoxClient, type ProxmoxClient } from '../../clients/proxmox/client.ts';
import type { ExternalCallRecorder } from '../../runtime/metrics.ts';
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

/**
 * One Proxmox client per PhoenixHypervisor, shared by every guest reconciler. A client is
 * rebuilt only when something it was built from changes (URL, token, CA, TLS mode), so a
 * rotated token Secret takes effect without a restart and without leaking old clients.
 */
export class ConnectionRegistry {
  readonly #connections = new Map<string, { fingerprint: string; connection: Connection }>();
  readonly #recorder: ExternalCallRecorder | undefined;
  readonly #allowHost: (host: string) => boolean;

  /**
   * `allowHost` restricts which Proxmox hosts may be contacted at all (tests and demos allow
   * loopback only, so a manifest naming a real address can never send traffic there).
   */
  constructor(recorder?: ExternalCallRecorder, allowHost: (host: string) => boolean = () => true) {
    this.#recorder = recorder;
    this.#allowHost = allowHost;
  }

  allows(url: string): boolean {
    return this.#allowHost(new URL(url).hostname);
  }

  upsert(hypervisor: PhoenixHypervisor, token: string): Connection {
    const { proxmox } = hypervisor.spec;
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([proxmox.url, token, proxmox.caBundle ?? '', proxmox.insecureSkipTLSVerify ?? false]))
      .digest('hex');
    const name = hypervisor.metadata.name;
    const existing = this.#connections.get(name);
    const settings: ConnectionSettings = {
      ...(hypervisor.spec.vmidRange ? { vmidRange: hypervisor.spec.vmidRange } : {}),
      createsPerNode: hypervisor.spec.concurrency?.createsPerNode ?? 4,
      createsPerStorage: hypervisor.spec.concurrency?.createsPerStorage ?? 2,
    };
    if (existing && existing.fingerprint === fingerprint) {
      const updated: Connection = { ...existing.connection, settings };
      // version and nodes carry over: they are facts about the endpoint, not the spec.
      this.#connections.set(name, { fingerprint, connection: updated });
      return updated;
    }
    existing?.connection.client.close();
    const client = createProxmoxClient({
      url: proxmox.url.replace(/\/$/, ''),
      token,
      ...(proxmox.caBundle ? { caBundle: proxmox.caBundle } : {}),
      insecureSkipTLSVerify: proxmox.insecureSkipTLSVerify ?? false,
      ...(this.#recorder ? { recorder: this.#recorder } : {}),
    });
    const connection: Connection = { hypervisor: name, client, resources: new ResourcesCache(client), nodes: [], settings };
    this.#connections.set(name, { fingerprint, connection });
    return connection;
  }

  get(name: string): Connection | undefined {
    return this.#connections.get(name)?.connection;
  }

  /** Marks what the last check found, for guests to read. */
  update(name: string, facts: { version: string; nodes: readonly string[] }): void {
    const entry = this.#connections.get(name);
    if (entry) this.#connections.set(name, { ...entry, connection: { ...entry.connection, ...facts } });
  }

  remove(name: string): void {
    this.#connections.get(name)?.connection.client.close();
    this.#connections.delete(name);
  }

  close(): void {
    for (const name of [...this.#connections.keys()]) this.remove(name);
  }
}
