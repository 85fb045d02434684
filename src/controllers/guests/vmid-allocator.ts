import { TerminalError } from '../../runtime/errors.ts';

/**
 * Picks VMIDs for guests that do not name one, per hypervisor. Proxmox reserves nothing
 * (`/cluster/nextid` hands the same id to concurrent callers), so Phoenix keeps its own claims:
 * an id is claimed synchronously, before any await, and stays claimed for its owner; a claim
 * never replaces another owner's. A collision with a creator outside Phoenix is caught by the
 * create call itself ("already exists"); the owner then reads who holds the id, and asks for a
 * new one only when that guest is provably not its own.
 */
export class VmidAllocator {
  /** hypervisor → vmid → owner key ("PhoenixLXC ns/name"). */
  readonly #claims = new Map<string, Map<number, string>>();

  #of(hypervisor: string): Map<number, string> {
    let claims = this.#claims.get(hypervisor);
    if (!claims) this.#claims.set(hypervisor, (claims = new Map()));
    return claims;
  }

  /** Records an id an object holds (in its spec, status or annotation); the holder it already has, if another. */
  claim(hypervisor: string, vmid: number, owner: string): string | undefined {
    const claims = this.#of(hypervisor);
    const holder = claims.get(vmid);
    if (holder !== undefined && holder !== owner) return holder;
    claims.set(vmid, owner);
    return undefined;
  }

  release(owner: string): void {
    for (const claims of this.#claims.values()) for (const [vmid, holder] of claims) if (holder === owner) claims.delete(vmid);
  }

  ownerOf(hypervisor: string, vmid: number): string | undefined {
    return this.#claims.get(hypervisor)?.get(vmid);
  }

  /**
   * The first id from `start` (the range's minimum, or `/cluster/nextid`) up to the range's end
   * that no guest uses, no object holds (`avoid`) and no one has claimed; claimed for `owner`.
   */
  allocate(hypervisor: string, owner: string, used: Iterable<number>, start: number, end = 999_999_999): number {
    const taken = new Set(used);
    const claims = this.#of(hypervisor);
    // From here to the claim there is no await: no other worker can take the same id.
    for (let id = start; id <= end; id++) {
      if (!taken.has(id) && !claims.has(id)) {
        claims.set(id, owner);
        return id;
      }
    }
    throw new TerminalError('VmidRangeExhausted', `no free VMID in ${start}-${end}; widen the hypervisor's vmidRange`);
  }
}
