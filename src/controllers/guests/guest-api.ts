import type { ProxmoxClient } from '../../clients/proxmox/client.ts';
import { isProxmoxError } from '../../clients/proxmox/errors.ts';
import { readTaskLogTail, readTaskStatus, type TaskStatus } from '../../clients/proxmox/tasks.ts';
import type { ListedTask } from '../hypervisor/task-watch.ts';

export type GuestType = 'lxc' | 'qemu';
export type GuestConfig = Record<string, unknown> & { digest?: string; lock?: string; description?: string; template?: number | string };

type Params = Record<string, string | number>;

/**
 * The Proxmox calls the guest lifecycle makes on one guest. LXC and QEMU differ in small ways
 * (a container's config write is synchronous, a VM's is a task), which are settled by the
 * implementation so the lifecycle reads the same for both.
 */
export interface GuestApi {
  readonly node: string;
  readonly type: GuestType;
  readonly vmid: number;
  /** The config, or undefined when the guest does not exist on this node. */
  config(): Promise<GuestConfig | undefined>;
  currentStatus(): Promise<{ status: string; lock?: string; template?: number; qmpstatus?: string; agent?: number }>;
  pending(): Promise<{ key: string; value?: unknown; pending?: unknown; delete?: number }[]>;
  create(params: Params): Promise<string>;
  /** Clones `sourceVmid` (on this node) to this guest's VMID. */
  cloneFrom(sourceVmid: number, params: Params): Promise<string>;
  /**
   * What a clone copies from its source on this node: the description of its snapshot
   * `snapshot`, or (no snapshot) the source's own config, description included.
   */
  cloneSource(sourceVmid: number, snapshot: string | undefined): Promise<{ description: string | undefined; config?: GuestConfig }>;
  /**
   * Writes options; `reverts`: pending changes to cancel. A container's write is synchronous; a
   * VM's is a `qmconfig` task that Proxmox waits for (configWaitSeconds): undefined once it
   * ended well, its UPID while it still runs, a ProxmoxApiError of kind TaskFailed if it failed.
   */
  updateConfig(params: Params, deletes: readonly string[], digest: string | undefined, reverts?: readonly string[]): Promise<string | undefined>;
  resize(disk: string, size: string, digest: string | undefined): Promise<string | undefined>;
  start(): Promise<string>;
  shutdown(timeoutSeconds: number): Promise<string>;
  stop(): Promise<string>;
  reboot(): Promise<string>;
  convertToTemplate(): Promise<string | undefined>;
  snapshots(): Promise<{ name: string; description?: string }[]>;
  createSnapshot(name: string, description?: string): Promise<string>;
  deleteSnapshot(name: string): Promise<string>;
  firewallOptions(): Promise<Record<string, unknown>>;
  setFirewallOptions(params: Params, digest: string | undefined): Promise<void>;
  firewallRules(): Promise<Record<string, unknown>[]>;
  createFirewallRule(pos: number, rule: Params): Promise<void>;
  updateFirewallRule(pos: number, rule: Params, deletes: readonly string[]): Promise<void>;
  deleteFirewallRule(pos: number): Promise<void>;
  /** Makes the guest a member of `pool`, leaving any other pool (PVE ≥ 8.1's `PUT /pools`). */
  moveToPool(pool: string): Promise<void>;
  /** Moves the guest to `target`: online for a running VM, restart mode for a running container. */
  migrate(target: string, running: boolean): Promise<string>;
  destroy(): Promise<string>;
  interfaces(): Promise<{ name: string; inet?: string; inet6?: string }[] | null>;
  agentInterfaces(): Promise<{ result?: { name: string; 'ip-addresses'?: { 'ip-address': string; 'ip-address-type': string }[] }[] }>;
  /** Starts `command` (program and arguments, at least two parts) through the guest agent; returns the agent's pid. */
  agentExec(command: readonly string[]): Promise<number>;
  /** The agent's record of an exec. The agent forgets the pid once it has reported it exited. */
  agentExecStatus(pid: number): Promise<AgentExecStatus>;
  /** Writes (truncating) `file` with content already base64-encoded, at most 60 KiB per call (see provision/chunks.ts). */
  agentFileWrite(file: string, base64Content: string): Promise<void>;
}

/** `agent/exec-status` as qemu-server returns it: booleans as 0/1, output decoded from base64. */
export interface AgentExecStatus {
  readonly exited: number | boolean;
  readonly exitcode?: number;
  readonly signal?: number;
  readonly 'out-data'?: string;
  readonly 'err-data'?: string;
  readonly 'out-truncated'?: number | boolean;
  readonly 'err-truncated'?: number | boolean;
}

/** A guest as `/cluster/resources` lists it. */
export interface ClusterGuest {
  readonly vmid: number;
  readonly node: string;
  readonly type: GuestType;
  readonly status: string;
  readonly name?: string;
  readonly lock?: string;
  /** Pool membership is not in the guest's config (nor its digest): this list is where it shows. */
  readonly pool?: string;
  /** Set when Proxmox HA manages the guest (its HA state, e.g. `started`). */
  readonly hastate?: string;
}

/**
 * Every Proxmox call the guest lifecycle makes: the one typed seam between the lifecycle and
 * the untyped `proxmox-api` proxy, so the lifecycle can be driven by a fake in unit tests.
 */
export interface ProxmoxGuests {
  guest(node: string, type: GuestType, vmid: number): GuestApi;
  /** Every guest of the cluster (`/cluster/resources?type=vm`). */
  clusterGuests(): Promise<ClusterGuest[]>;
  /** `/cluster/nextid`: a free id now, reserved for nobody. */
  nextId(): Promise<number>;
  storageContent(node: string, storage: string): Promise<{ volid: string }[]>;
  storages(node: string): Promise<{ storage: string }[]>;
  /** `GET /storage/{storage}`: the storage's cluster-wide config (type, content, path). */
  storageConfig(storage: string): Promise<{ type?: string; content?: string; path?: string }>;
  networkInterfaces(node: string): Promise<{ iface: string; type: string }[]>;
  /** Downloads an appliance from the template index; returns the task's UPID. */
  downloadAppliance(node: string, storage: string, template: string): Promise<string>;
  downloadUrl(node: string, storage: string, params: { url: string; filename: string; content: string }): Promise<string>;
  /** `POST …/storage/{storage}/oci-registry-pull` (PVE 9.1): returns the pull task's UPID. */
  ociRegistryPull(node: string, storage: string, reference: string): Promise<string>;
  taskStatus(upid: string, node: string): Promise<TaskStatus>;
  /** The last `lines` lines a task printed before it ended. */
  taskLogTail(upid: string, node: string, lines: number): Promise<string[]>;
  /** `GET /nodes/{node}/tasks?source=all&since=…`: tasks started since then, running (`RUNNING`) or ended (exit status, end time). */
  nodeTasks(node: string, since: number | undefined): Promise<ListedTask[]>;
}

/** What Proxmox's own GUI asks of a VM config write (pve-manager www/manager6/qemu/HDEdit.js `backgroundDelay: 5`). */
const configWaitCapSeconds = 5;

/**
 * How long a VM's config write asks Proxmox to wait for its `qmconfig` task before answering
 * (POST config's `background_delay`, whole seconds from 1 to 30), or undefined to ask no wait.
 *
 * qemu-server's update_vm_api answers as soon as the worker ends (its sleep(1) loop is cut short
 * by the child's exit), so a quick change, most of them, costs one request and no task reads:
 * null when it ended well, a 500 `failed to update VM <vmid>: <status>` when it failed. A slow
 * one (a disk allocated, memory hotplugged) still answers its UPID after the delay and is
 * followed as any task; waiting longer for it buys little and holds much: this request, the
 * reconcile, and one of pvedaemon's few workers (3 by default, pve-manager
 * PVE/Service/pvedaemon.pm), which sleeps in the handler. Hence the GUI's 5 s, and never more
 * than a quarter of the client's timeout, so that the answer, the early checks and a busy node
 * stay well within it; below 1 s (clients with a timeout under 4 s) no wait is asked and the
 * UPID comes at once. An answer lost anyway (a dropped connection, a 596 from the proxy) is an
 * unknown outcome as for any write: the next reconcile reads the config again, and the digest
 * the retry carries is checked again inside its task, so the change is never applied twice.
 */
export function configWaitSeconds(clientTimeoutMs: number): number | undefined {
  const seconds = Math.min(configWaitCapSeconds, Math.floor(clientTimeoutMs / 4_000));
  return seconds >= 1 ? seconds : undefined;
}

/**
 * The seam over a Proxmox client: the one place where the proxy's per-type paths meet.
 * `clientTimeoutMs`: the client's request timeout, which bounds how long a config write waits (configWaitSeconds).
 */
export function proxmoxGuests(client: ProxmoxClient, clientTimeoutMs?: number): ProxmoxGuests {
  // The proxy is typed per path; these casts are the one place the lifecycle's calls meet it.
  const nodeApi = (node: string): any => client.api.nodes.$(node);
  const configWait = clientTimeoutMs === undefined ? undefined : configWaitSeconds(clientTimeoutMs);
  return {
    guest: (node, type, vmid) => new PveGuest(client, node, type, vmid, configWait),
    async clusterGuests() {
      const list = (await client.api.cluster.resources.$get({ type: 'vm' } as never)) as { vmid: number | string; node: string; type: string; status: string; name?: string; lock?: string; pool?: string; hastate?: string }[];
      return list
        .filter((r) => r.type === 'lxc' || r.type === 'qemu')
        .map((r) => ({
          vmid: Number(r.vmid), node: r.node, type: r.type as GuestType, status: r.status,
          ...(r.name ? { name: r.name } : {}), ...(r.lock ? { lock: r.lock } : {}), ...(r.pool ? { pool: r.pool } : {}), ...(r.hastate ? { hastate: r.hastate } : {}),
        }));
    },
    nextId: async () => Number(await client.api.cluster.nextid.$get()),
    storageContent: async (node, storage) => (await nodeApi(node).storage.$(storage).content.$get()) as { volid: string }[],
    storages: async (node) => (await nodeApi(node).storage.$get()) as { storage: string }[],
    storageConfig: async (storage) => (await (client.api as any).storage.$(storage).$get()) as { type?: string; content?: string; path?: string },
    networkInterfaces: async (node) => (await nodeApi(node).network.$get()) as { iface: string; type: string }[],
    downloadAppliance: async (node, storage, template) => String(await nodeApi(node).aplinfo.$post({ storage, template })),
    downloadUrl: async (node, storage, params) => String(await nodeApi(node).storage.$(storage)['download-url'].$post(params)),
    ociRegistryPull: async (node, storage, reference) => String(await nodeApi(node).storage.$(storage)['oci-registry-pull'].$post({ reference })),
    taskStatus: (upid, node) => readTaskStatus(client, upid, node),
    taskLogTail: (upid, node, lines) => readTaskLogTail(client, upid, node, lines),
    nodeTasks: async (node, since) => (await nodeApi(node).tasks.$get({ source: 'all', limit: 1000, ...(since !== undefined ? { since } : {}) })) as ListedTask[],
  };
}

class PveGuest implements GuestApi {
  readonly #client: ProxmoxClient;
  readonly node: string;
  readonly type: GuestType;
  readonly vmid: number;
  readonly #configWait: number | undefined;

  constructor(client: ProxmoxClient, node: string, type: GuestType, vmid: number, configWait: number | undefined) {
    this.#client = client;
    this.node = node;
    this.type = type;
    this.vmid = vmid;
    this.#configWait = configWait;
  }

  #guest(): any {
    return (this.#client.api.nodes.$(this.node) as any)[this.type].$(this.vmid);
  }

  #collection(): any {
    return (this.#client.api.nodes.$(this.node) as any)[this.type];
  }

  async config(): Promise<GuestConfig | undefined> {
    try {
      return (await this.#guest().config.$get()) as GuestConfig;
    } catch (err) {
      if (isProxmoxError(err, 'NotFound')) return undefined;
      throw err;
    }
  }

  async currentStatus(): Promise<{ status: string; lock?: string; template?: number; qmpstatus?: string; agent?: number }> {
    return this.#guest().status.current.$get();
  }

  async pending(): Promise<{ key: string; value?: unknown; pending?: unknown; delete?: number }[]> {
    return this.#guest().pending.$get();
  }

  async create(params: Params): Promise<string> {
    return this.#collection().$post({ vmid: this.vmid, ...params } as never);
  }

  async cloneSource(sourceVmid: number, snapshot: string | undefined): Promise<{ description: string | undefined; config?: GuestConfig }> {
    const source = (this.#client.api.nodes.$(this.node) as any)[this.type].$(sourceVmid);
    // A snapshot's own description: Proxmox does not copy the guest's description into its snapshots.
    if (snapshot !== undefined) return { description: ((await source.snapshot.$get()) as { name: string; description?: string }[]).find((s) => s.name === snapshot)?.description };
    // current=1: the values in force, as both clones copy them; a pending change is dropped by
    // the clone (pve-container src/PVE/API2/LXC.pm clone_vm deletes `pending`, qemu-server
    // src/PVE/API2/Qemu.pm clone_vm too, with a warning), whereas a plain GET shows it applied.
    const config = (await source.config.$get({ current: 1 })) as GuestConfig;
    return { description: config.description as string | undefined, config };
  }

  async cloneFrom(sourceVmid: number, params: Params): Promise<string> {
    return (this.#client.api.nodes.$(this.node) as any)[this.type].$(sourceVmid).clone.$post({ newid: this.vmid, ...params } as never);
  }

  async updateConfig(params: Params, deletes: readonly string[], digest: string | undefined, reverts: readonly string[] = []): Promise<string | undefined> {
    const body: Record<string, string | number> = { ...params };
    if (deletes.length) body['delete'] = deletes.join(',');
    if (reverts.length) body['revert'] = reverts.join(',');
    if (digest) body['digest'] = digest;
    if (this.type === 'lxc') {
      await this.#guest().config.$put(body as never);
      return undefined;
    }
    if (this.#configWait !== undefined) body['background_delay'] = this.#configWait;
    const upid = await this.#guest().config.$post(body as never);
    return typeof upid === 'string' && upid ? upid : undefined;
  }

  async resize(disk: string, size: string, digest: string | undefined): Promise<string | undefined> {
    const upid = await this.#guest().resize.$put({ disk, size, ...(digest ? { digest } : {}) } as never);
    return typeof upid === 'string' && upid ? upid : undefined;
  }

  async start(): Promise<string> {
    return this.#guest().status.start.$post({} as never);
  }

  async shutdown(timeoutSeconds: number): Promise<string> {
    return this.#guest().status.shutdown.$post({ timeout: timeoutSeconds, forceStop: 1 } as never);
  }

  async stop(): Promise<string> {
    return this.#guest().status.stop.$post({} as never);
  }

  async reboot(): Promise<string> {
    return this.#guest().status.reboot.$post({} as never);
  }

  async convertToTemplate(): Promise<string | undefined> {
    const upid = await this.#guest().template.$post({} as never);
    return typeof upid === 'string' && upid ? upid : undefined;
  }

  async snapshots(): Promise<{ name: string; description?: string }[]> {
    return this.#guest().snapshot.$get();
  }

  async createSnapshot(name: string, description?: string): Promise<string> {
    return this.#guest().snapshot.$post({ snapname: name, ...(description ? { description } : {}) } as never);
  }

  async deleteSnapshot(name: string): Promise<string> {
    return this.#guest().snapshot.$(name).$delete();
  }

  async firewallOptions(): Promise<Record<string, unknown>> {
    return this.#guest().firewall.options.$get();
  }

  async setFirewallOptions(params: Params, digest: string | undefined): Promise<void> {
    await this.#guest().firewall.options.$put({ ...params, ...(digest ? { digest } : {}) } as never);
  }

  async firewallRules(): Promise<Record<string, unknown>[]> {
    return this.#guest().firewall.rules.$get();
  }

  async createFirewallRule(pos: number, rule: Params): Promise<void> {
    await this.#guest().firewall.rules.$post({ ...rule, pos } as never);
  }

  async updateFirewallRule(pos: number, rule: Params, deletes: readonly string[]): Promise<void> {
    await this.#guest().firewall.rules.$(pos).$put({ ...rule, ...(deletes.length ? { delete: deletes.join(',') } : {}) } as never);
  }

  async deleteFirewallRule(pos: number): Promise<void> {
    await this.#guest().firewall.rules.$(pos).$delete();
  }

  async moveToPool(pool: string): Promise<void> {
    await this.#client.api.pools.$put({ poolid: pool, vms: String(this.vmid), 'allow-move': true });
  }

  async migrate(target: string, running: boolean): Promise<string> {
    const mode = running ? (this.type === 'qemu' ? { online: 1 } : { restart: 1 }) : {};
    return this.#guest().migrate.$post({ target, ...mode } as never);
  }

  async destroy(): Promise<string> {
    return this.#guest().$delete({ purge: 1, 'destroy-unreferenced-disks': 1 } as never);
  }

  async interfaces(): Promise<{ name: string; inet?: string; inet6?: string }[] | null> {
    return this.#guest().interfaces.$get();
  }

  async agentInterfaces(): Promise<{ result?: { name: string; 'ip-addresses'?: { 'ip-address': string; 'ip-address-type': string }[] }[] }> {
    return this.#guest().agent['network-get-interfaces'].$get();
  }

  async agentExec(command: readonly string[]): Promise<number> {
    // Repeated `command` keys make the array; a single one would not pass as an array.
    if (command.length < 2) throw new Error('agentExec needs a program and at least one argument');
    const answer = (await this.#guest().agent.exec.$post({ command: [...command] } as never)) as { pid: number | string };
    return Number(answer.pid);
  }

  async agentExecStatus(pid: number): Promise<AgentExecStatus> {
    return this.#guest().agent['exec-status'].$get({ pid } as never);
  }

  async agentFileWrite(file: string, base64Content: string): Promise<void> {
    await this.#guest().agent['file-write'].$post({ file, content: base64Content, encode: 0 } as never);
  }
}
