import type { ProxmoxClient } from '../../clients/proxmox/client.ts';

export interface GuestResource {
  readonly vmid: number;
  readonly node: string;
  readonly type: 'lxc' | 'qemu';
  readonly status: string;
  readonly lock?: string;
}

/**
 * One `/cluster/resources` read shared by every guest of a hypervisor. Observing an in-sync
 * guest then costs one config read plus a share of this one list. Proxmox itself refreshes the
 * list every ~10 s, so a snapshot up to `ttlMs` old adds little staleness; it is used only for
 * guests whose config has not changed since they converged.
 */
export class ResourcesCache {
  readonly #client: ProxmoxClient;
  readonly #ttlMs: number;
  #snapshot?: { at: number; byVmid: Map<number, GuestResource> };
  #inFlight?: Promise<Map<number, GuestResource>>;

  constructor(client: ProxmoxClient, ttlMs: number) {
    this.#client = client;
    this.#ttlMs = ttlMs;
  }

  async guest(vmid: number, now = Date.now()): Promise<GuestResource | undefined> {
    return (await this.#read(now)).get(vmid);
  }

  #read(now: number): Promise<Map<number, GuestResource>> {
    if (this.#snapshot && now - this.#snapshot.at < this.#ttlMs) return Promise.resolve(this.#snapshot.byVmid);
    // Single flight: a thousand guests observed at once share one request.
    this.#inFlight ??= (async () => {
      try {
        const list = (await this.#client.api.cluster.resources.$get({ type: 'vm' } as never)) as { vmid: number; node: string; type: string; status: string; lock?: string }[];
        const byVmid = new Map(list.map((r) => [Number(r.vmid), { vmid: Number(r.vmid), node: r.node, type: r.type as 'lxc' | 'qemu', status: r.status, ...(r.lock ? { lock: r.lock } : {}) }]));
        this.#snapshot = { at: Date.now(), byVmid };
        return byVmid;
      } finally {
        this.#inFlight = undefined;
      }
    })();
    return this.#inFlight;
  }
}
