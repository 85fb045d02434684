import type { ProxmoxClient } from '../../../clients/proxmox/client.ts';
import { isProxmoxError } from '../../../clients/proxmox/errors.ts';
import { readTaskStatus, type TaskStatus } from '../../../clients/proxmox/tasks.ts';
import type { HostCall } from '../../../hosts/plan.ts';
import type { HostObservation, HostReads } from '../../../hosts/host.ts';
import type { ObservedPool } from '../../../hosts/pools.ts';
import type { ObservedStorage } from '../../../hosts/storages.ts';
import { targetKey, type ObservedDownloads } from '../../../hosts/downloads.ts';
import type { ObservedUser } from '../../../hosts/users.ts';
import type { ObservedAcl } from '../../../hosts/acls.ts';
import { zfsNeedsDisks, type ObservedDisk, type ObservedZfs } from '../../../hosts/zfs.ts';
import type { ObservedInterface, ObservedNetwork } from '../../../hosts/networks.ts';

/**
 * The Proxmox calls host configuration makes: reads of exactly the parts the spec manages
 * (an in-sync host costs one read per managed part and nothing else), and the calls a plan's
 * steps name.
 */
export class HostApi {
  readonly #client: ProxmoxClient;

  constructor(client: ProxmoxClient) {
    this.#client = client;
  }

  private get api(): any {
    return this.#client.api;
  }

  async observe(reads: HostReads, onlineNodes: readonly string[]): Promise<HostObservation> {
    const observed: { -readonly [K in keyof HostObservation]: HostObservation[K] } = { nodes: {} };
    if (reads.pools) {
      const pools = ((await this.api.pools.$get()) as ObservedPool[]).map((p) => ({ poolid: p.poolid, ...(p.comment !== undefined ? { comment: p.comment } : {}) }) as ObservedPool);
      // Members are counted only for pools Phoenix might remove: never in steady state.
      for (const pool of pools) if (reads.inspectPools.includes(pool.poolid)) pool.members = await this.poolMembers(pool.poolid);
      observed.pools = pools;
    }
    if (reads.storages) {
      const storages = (await this.api.storage.$get()) as ObservedStorage[];
      for (const storage of storages) if (reads.inspectStorages.includes(storage.storage)) storage.volumes = await this.guestVolumes(storage.storage, onlineNodes);
      observed.storages = storages;
    }
    const nodes: Record<string, { dns?: HostObservation['nodes'][string]['dns']; timezone?: string }> = {};
    for (const node of new Set([...reads.dnsNodes, ...reads.timezoneNodes])) {
      const entry: { dns?: HostObservation['nodes'][string]['dns']; timezone?: string } = {};
      if (reads.dnsNodes.includes(node)) entry.dns = await this.api.nodes.$(node).dns.$get();
      if (reads.timezoneNodes.includes(node)) entry.timezone = String(((await this.api.nodes.$(node).time.$get()) as { timezone?: string }).timezone ?? '');
      nodes[node] = entry;
    }
    observed.nodes = nodes;
    if (reads.zfsNodes.length) {
      const zfs: Record<string, ObservedZfs> = {};
      for (const { node, pools: wanted } of reads.zfsNodes) {
        const pools = ((await this.api.nodes.$(node).disks.zfs.$get()) as { name: string }[]).map((p) => p.name);
        // Disks are listed only to check a pool about to be created: never in steady state.
        const disks = zfsNeedsDisks(wanted, pools) ? ((await this.api.nodes.$(node).disks.list.$get()) as ObservedDisk[]) : undefined;
        zfs[node] = disks ? { pools, disks } : { pools };
      }
      observed.zfs = zfs;
    }
    if (reads.networkNodes.length) {
      const networks: Record<string, ObservedNetwork> = {};
      for (const node of reads.networkNodes) {
        // The proxy returns `data` only; `changes` (what is staged) is beside it in the envelope.
        const { data, extras } = await this.#client.transport.getEnvelope(`/nodes/${encodeURIComponent(node)}/network`, '/nodes/*/network');
        const changes = typeof extras['changes'] === 'string' && extras['changes'] !== '' ? extras['changes'] : undefined;
        networks[node] = { interfaces: (data ?? []) as ObservedInterface[], ...(changes !== undefined ? { changes } : {}) };
      }
      observed.networks = networks;
    }
    if (reads.firewallOptions) {
      const options = (await this.api.cluster.firewall.options.$get()) as Record<string, unknown>;
      observed.firewall = reads.firewallRules ? { options, rules: (await this.api.cluster.firewall.rules.$get()) as Record<string, unknown>[] } : { options };
    }
    // `full` adds the group membership; without it the list has none.
    if (reads.users) observed.users = (await this.api.access.users.$get({ full: 1 })) as ObservedUser[];
    if (reads.acls) observed.acls = (await this.api.access.acl.$get()) as ObservedAcl[];
    if (reads.downloads.length) {
      const downloads: Record<string, { volids: string[] } | { unavailable: string }> = {};
      for (const target of reads.downloads) {
        try {
          const content = (await this.api.nodes.$(target.node).storage.$(target.storage).content.$get()) as { volid: string }[];
          downloads[targetKey(target)] = { volids: content.map((c) => c.volid) };
        } catch (err) {
          // A storage not defined yet (the spec may be about to create it) or not on this node.
          if (!isProxmoxError(err, 'NotFound', 'InvalidParameter', 'ServerError')) throw err;
          downloads[targetKey(target)] = { unavailable: err.message.trim() };
        }
      }
      observed.downloads = downloads as ObservedDownloads;
    }
    return observed;
  }

  private async poolMembers(poolid: string): Promise<number> {
    const [pool] = (await this.api.pools.$get({ poolid })) as { members?: unknown[] }[];
    return pool?.members?.length ?? 0;
  }

  private async guestVolumes(storage: string, nodes: readonly string[]): Promise<number> {
    let count = 0;
    for (const node of nodes) {
      try {
        const content = (await this.api.nodes.$(node).storage.$(storage).content.$get()) as { content?: string }[];
        count += content.filter((c) => c.content === 'images' || c.content === 'rootdir').length;
      } catch (err) {
        // A storage not available on this node has no volumes there.
        if (!isProxmoxError(err, 'NotFound', 'InvalidParameter', 'ServerError')) throw err;
      }
    }
    return count;
  }

  /** Carries out one step's call; returns the UPID for a task, else undefined. */
  async call(call: HostCall): Promise<string | undefined> {
    let target = this.api;
    for (const segment of call.path.split('/').filter(Boolean)) {
      const id = /^\{(.*)\}$/.exec(segment);
      target = id ? target.$(id[1]) : target[segment];
    }
    const method = `$${call.method.toLowerCase()}` as '$post' | '$put' | '$delete';
    const result = await target[method](call.params ? { ...call.params } : undefined);
    return typeof result === 'string' && result.startsWith('UPID:') ? result : undefined;
  }

  task(upid: string, node: string): Promise<TaskStatus> {
    return readTaskStatus(this.#client, upid, node);
  }
}
