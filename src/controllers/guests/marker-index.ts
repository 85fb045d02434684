import { readMarker, type Owner } from '../../guests/marker.ts';
import type { ClusterGuest, GuestType, ProxmoxGuests } from './guest-api.ts';

/** How many guest configs are read at once while the index catches up. */
const readConcurrency = 8;

/**
 * Which guests of one hypervisor carry which Phoenix marker. The marker lives in the guest's
 * description, which `/cluster/resources` does not show, so each guest's config is read once
 * and remembered; later look-ups read only guests not seen before (or seen on another node).
 * It is consulted before a VMID is allocated, so an object whose status was lost (a fresh
 * cluster, a restore without status) finds the guest it already has instead of creating a
 * second one. It is a hint: whatever it finds is verified against the guest's config.
 */
export class MarkerIndex {
  readonly #byVmid = new Map<number, { node: string; type: GuestType; owner: Owner | undefined }>();
  /** Reads under way: look-ups of a burst (every object applied at once) share them. */
  readonly #reading = new Map<number, Promise<void>>();

  /** The VMIDs of `type` guests whose marker names `ref` ("Kind namespace/name"), oldest id first. */
  async find(pve: ProxmoxGuests, guests: readonly ClusterGuest[], ref: string, type: GuestType): Promise<number[]> {
    const present = new Set(guests.map((g) => g.vmid));
    for (const vmid of this.#byVmid.keys()) if (!present.has(vmid)) this.#byVmid.delete(vmid);
    const unknown = guests.filter((g) => {
      const known = this.#byVmid.get(g.vmid);
      return !known || known.node !== g.node || known.type !== g.type;
    });
    for (let i = 0; i < unknown.length; i += readConcurrency) {
      await Promise.all(unknown.slice(i, i + readConcurrency).map((g) => this.#shared(pve, g)));
    }
    return [...this.#byVmid.entries()].filter(([, e]) => e.type === type && e.owner?.ref === ref).map(([vmid]) => vmid).sort((a, b) => a - b);
  }

  #shared(pve: ProxmoxGuests, g: ClusterGuest): Promise<void> {
    const under = this.#reading.get(g.vmid);
    if (under) return under;
    const read = this.#read(pve, g).finally(() => this.#reading.delete(g.vmid));
    this.#reading.set(g.vmid, read);
    return read;
  }

  async #read(pve: ProxmoxGuests, g: ClusterGuest): Promise<void> {
    const config = await pve.guest(g.node, g.type, g.vmid).config();
    // A guest being created shows only its lock until the task writes the description.
    if (!config || (config.lock !== undefined && config.description === undefined)) return;
    this.#byVmid.set(g.vmid, { node: g.node, type: g.type, owner: readMarker(String(config.description ?? '')) });
  }

  /** Phoenix wrote (or, with no owner, removed) a marker on a guest. */
  note(vmid: number, node: string, type: GuestType, owner: Owner | undefined): void {
    this.#byVmid.set(vmid, { node, type, owner });
  }

  forget(vmid: number): void {
    this.#byVmid.delete(vmid);
  }
}
