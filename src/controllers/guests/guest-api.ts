import type { ProxmoxClient } from '../../clients/proxmox/client.ts';
import { isProxmoxError } from '../../clients/proxmox/errors.ts';

export type GuestType = 'lxc' | 'qemu';
export type GuestConfig = Record<string, unknown> & { digest?: string; lock?: string; description?: string; template?: number | string };

type Params = Record<string, string | number>;

/**
 * The Proxmox calls the guest lifecycle makes, for one guest, through the typed proxmox-api
 * proxy. LXC and QEMU differ in small ways (a container's config write is synchronous, a VM's
 * is a task), which are settled here so the lifecycle reads the same for both.
 */
export class GuestApi {
  readonly #client: ProxmoxClient;
  readonly node: string;
  readonly type: GuestType;
  readonly vmid: number;

  constructor(client: ProxmoxClient, node: string, type: GuestType, vmid: number) {
    this.#client = client;
    this.node = node;
    this.type = type;
    this.vmid = vmid;
  }

  // The proxy is typed per guest type; these casts are the one place the two meet.
  #guest(): any {
    return (this.#client.api.nodes.$(this.node) as any)[this.type].$(this.vmid);
  }

  #collection(): any {
    return (this.#client.api.nodes.$(this.node) as any)[this.type];
  }

  /** The config, or undefined when the guest does not exist on this node. */
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

  /** Clones `sourceVmid` (on this node) to this guest's VMID. */
  async cloneFrom(sourceVmid: number, params: Params): Promise<string> {
    return (this.#client.api.nodes.$(this.node) as any)[this.type].$(sourceVmid).clone.$post({ newid: this.vmid, ...params } as never);
  }

  /** Writes options; returns a UPID when Proxmox ran the change as a task (VMs). */
  /** `reverts`: pending changes to cancel, leaving the value in effect. */
  async updateConfig(params: Params, deletes: readonly string[], digest: string | undefined, reverts: readonly string[] = []): Promise<string | undefined> {
    const body: Record<string, string | number> = { ...params };
    if (deletes.length) body['delete'] = deletes.join(',');
    if (reverts.length) body['revert'] = reverts.join(',');
    if (digest) body['digest'] = digest;
    if (this.type === 'lxc') {
      await this.#guest().config.$put(body as never);
      return undefined;
    }
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

  async deleteSnapshot(name: string): Promise<string> {
    return this.#guest().snapshot.$(name).$delete();
  }

  /** Makes the guest a member of `pool`, leaving any other pool (PVE ≥ 8.1's `PUT /pools`). */
  async moveToPool(pool: string): Promise<void> {
    await this.#client.api.pools.$put({ poolid: pool, vms: String(this.vmid), 'allow-move': true });
  }

  /** Moves the guest to `target`: online for a running VM, restart mode for a running container. */
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
}
