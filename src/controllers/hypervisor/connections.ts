import { createProxmoxClient, type ProxmoxClient } from '../../clients/proxmox/client.ts';
import { ClientRegistry } from '../client-registry.ts';
import type { ExternalCallRecorder } from '../../runtime/metrics.ts';
import type { PhoenixHypervisor } from '../../api/objects.ts';
import type { PhoenixHypervisorSpec } from '../../api/hypervisor.ts';
import { proxmoxGuests } from '../guests/guest-api.ts';
import { MarkerIndex } from '../guests/marker-index.ts';
import { ResourcesCache } from './resources-cache.ts';
import { NodeFacts } from './node-facts.ts';
import { TaskWatch } from './task-watch.ts';

/** How long a Proxmox request may go unanswered before Phoenix treats its outcome as unknown. */
export const defaultProxmoxTimeoutMs = 30_000;

export interface Connection {
  readonly hypervisor: string;
  readonly client: ProxmoxClient;
  /** The shared `/cluster/resources` snapshot for steady-state observation. */
  readonly resources: ResourcesCache;
  /** Which guests carry which Phoenix marker, to find an object's guest when its status is lost. */
  readonly markers: MarkerIndex;
  /** Waits for tasks with one active-task list per node per tick (task-watch.ts). */
  readonly tasks: TaskWatch;
  /** Bridges, storages and storage content as pre-flight checks last read them (node-facts.ts). */
  readonly facts: NodeFacts;
  /** The client's request timeout: an answer later than this is an unknown outcome. */
  readonly timeoutMs: number;
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
  /** SSH to the nodes (spec.ssh), for the container transport; no credentials in it, only where they are. */
  readonly ssh?: PhoenixHypervisorSpec['ssh'];
  /** Where a node without an address of its own in spec.ssh.nodes is reached: the host of proxmox.url. */
  readonly sshHost: string;
}

/** One Proxmox client per PhoenixHypervisor, shared by every guest reconciler. */
export class ConnectionRegistry extends ClientRegistry<Connection> {
  readonly #timeoutMs: number;

  constructor(recorder?: ExternalCallRecorder, allowHost?: (host: string) => boolean, timeoutMs = defaultProxmoxTimeoutMs) {
    super(recorder, allowHost);
    this.#timeoutMs = timeoutMs;
  }

  upsert(hypervisor: PhoenixHypervisor, token: string): Connection {
    const { proxmox } = hypervisor.spec;
    const settings: ConnectionSettings = {
      ...(hypervisor.spec.vmidRange ? { vmidRange: hypervisor.spec.vmidRange } : {}),
      createsPerNode: hypervisor.spec.concurrency?.createsPerNode ?? 16,
      createsPerStorage: hypervisor.spec.concurrency?.createsPerStorage ?? 3,
      ...(hypervisor.spec.ssh ? { ssh: hypervisor.spec.ssh } : {}),
      sshHost: new URL(proxmox.url).hostname.replace(/^\[|\]$/g, ''),
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
          timeoutMs: this.#timeoutMs,
          ...(this.recorder ? { recorder: this.recorder } : {}),
        });
        const pve = proxmoxGuests(client, this.#timeoutMs);
        return { hypervisor: name, client, resources: new ResourcesCache(pve), markers: new MarkerIndex(), facts: new NodeFacts(), tasks: new TaskWatch((node, since) => pve.nodeTasks(node, since)), timeoutMs: this.#timeoutMs, nodes: [], settings };
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
