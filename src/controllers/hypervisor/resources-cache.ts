import type { ClusterGuest, ProxmoxGuests } from '../guests/guest-api.ts';

export type GuestResource = ClusterGuest;

/**
 * One `/cluster/resources` read shared by every guest of a hypervisor. Observing an in-sync
 * guest then costs one config read plus a share of this one list. Each caller says how fresh
 * the list must be (the start of its observation cycle, see observe-cycle.ts): the first guest
 * of a cycle reads it, the rest of the cycle reuses it.
 */
export class ResourcesCache {
  readonly #pve: Pick<ProxmoxGuests, 'clusterGuests'>;
  readonly #now: () => number;
  /** `requestedAt`: the list reflects Proxmox no earlier than the moment it was asked for. */
  #snapshot?: { requestedAt: number; byVmid: Map<number, GuestResource> };
  #inFlight?: { requestedAt: number; list: Promise<Map<number, GuestResource>> };

  constructor(pve: Pick<ProxmoxGuests, 'clusterGuests'>, now: () => number = Date.now) {
    this.#pve = pve;
    this.#now = now;
  }

  /** The guest as a list requested at or after `freshSince` shows it. */
  async guest(vmid: number, freshSince: number): Promise<GuestResource | undefined> {
    return (await this.#read(freshSince)).get(vmid);
  }

  /** Every guest, as a list requested at or after `freshSince` shows them. */
  async all(freshSince: number): Promise<GuestResource[]> {
    return [...(await this.#read(freshSince)).values()];
  }

  async #read(freshSince: number): Promise<Map<number, GuestResource>> {
    for (;;) {
      if (this.#snapshot && this.#snapshot.requestedAt >= freshSince) return this.#snapshot.byVmid;
      const flight = this.#inFlight;
      if (!flight) break;
      // Single flight: a thousand guests observed at once share one request, unless it was
      // sent before the moment a caller needs (then it may predate the change looked for).
      if (flight.requestedAt >= freshSince) return flight.list;
      // One list at a time: those who need a newer one wait for it to end and share the next
      // (objects applied at once, seen one after another while the first list was under way).
      await flight.list.catch(() => undefined);
      if (this.#inFlight === flight) this.#inFlight = undefined;
    }
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
    const byVmid = new Map((await this.#pve.clusterGuests()).map((g) => [g.vmid, g]));
    if (!this.#snapshot || this.#snapshot.requestedAt < requestedAt) this.#snapshot = { requestedAt, byVmid };
    return byVmid;
  }
}
