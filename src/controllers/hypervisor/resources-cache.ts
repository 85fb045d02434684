import type { ProxmoxClient } from '../../clients/proxmox/client.ts';

export interface GuestResource {
  readonly vmid: number;
  readonly node: string;
  readonly type: 'lxc' | 'qemu';
  readonly status: string;
  readonly lock?: string;
  /** Pool membership is not in the guest's config (nor its digest): this list is where it shows. */
  readonly pool?: string;
}

/**
 * One `/cluster/resources` read shared by every guest of a hypervisor. Observing an in-sync
 * guest then costs one config read plus a share of this one list. Each caller says how fresh
 * the list must be (the start of its observation cycle, see observe-cycle.ts): the first guest
 * of a cycle reads it, the rest of the cycle reuses it.
 */
export class ResourcesCache {
  readonly #client: ProxmoxClient;
  readonly #now: () => number;
  /** `requestedAt`: the list reflects Proxmox no earlier than the moment it was asked for. */
  #snapshot?: { requestedAt: number; byVmid: Map<number, GuestResource> };
  #inFlight?: { requestedAt: number; list: Promise<Map<number, GuestResource>> };

  constructor(client: ProxmoxClient, now: () => number = Date.now) {
    this.#client = client;
    this.#now = now;
  }

  /** The guest as a list requested at or after `freshSince` shows it. */
  async guest(vmid: number, freshSince: number): Promise<GuestResource | undefined> {
    return (await this.#read(freshSince)).get(vmid);
  }

  #read(freshSince: number): Promise<Map<number, GuestResource>> {
    if (this.#snapshot && this.#snapshot.requestedAt >= freshSince) return Promise.resolve(this.#snapshot.byVmid);
    // Single flight: a thousand guests observed at once share one request, unless it was
    // sent before the moment a caller needs (then it may predate the change looked for).
    if (this.#inFlight && this.#inFlight.requestedAt >= freshSince) return this.#inFlight.list;
    const requestedAt = this.#now();
    const list = this.#request(requestedAt);
    const flight = { requestedAt, list };
    this.#inFlight = flight;
    void list.finally(() => {
      if (this.#inFlight === flight) this.#inFlight = undefined;
    }).catch(() => undefined);
    return flight.list;
  }

  async #request(requestedAt: number): Promise<Map<number, GuestResource>> {
    const list = (await this.#client.api.cluster.resources.$get({ type: 'vm' } as never)) as { vmid: number; node: string; type: string; status: string; lock?: string; pool?: string }[];
    const byVmid = new Map(list.map((r) => [Number(r.vmid), { vmid: Number(r.vmid), node: r.node, type: r.type as 'lxc' | 'qemu', status: r.status, ...(r.lock ? { lock: r.lock } : {}), ...(r.pool ? { pool: r.pool } : {}) }]));
    if (!this.#snapshot || this.#snapshot.requestedAt < requestedAt) this.#snapshot = { requestedAt, byVmid };
    return byVmid;
  }
}
