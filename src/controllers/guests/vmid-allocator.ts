import type { ProxmoxClient } from '../../clients/proxmox/client.ts';
import { TerminalError } from '../../runtime/errors.ts';

/**
 * Picks VMIDs for guests that do not name one. Proxmox reserves nothing (`/cluster/nextid`
 * hands the same id to concurrent callers), so Phoenix keeps its own claims: an id is claimed
 * synchronously, before any await, and stays claimed for its owner. A collision with a
 * creator outside Phoenix is caught by the create call itself ("already exists"); the owner
 * then releases the id and asks again.
 */
export class VmidAllocator {
  /** vmid → owner key ("PhoenixLXC ns/name"). */
  readonly #claims = new Map<number, string>();

  /** Records an id an object already holds (in its spec or status), e.g. after a restart. */
  claim(vmid: number, owner: string): void {
    this.#claims.set(vmid, owner);
  }

  release(owner: string): void {
    for (const [vmid, holder] of this.#claims) if (holder === owner) this.#claims.delete(vmid);
  }

  ownerOf(vmid: number): string | undefined {
    return this.#claims.get(vmid);
  }

  async allocate(client: ProxmoxClient, owner: string, range: { min: number; max: number } | undefined, avoid: readonly number[] = []): Promise<number> {
    const resources = (await client.api.cluster.resources.$get({ type: 'vm' } as never)) as { vmid?: number }[];
    const used = new Set<number>([...resources.map((r) => Number(r.vmid)), ...avoid]);
    const free = (id: number) => !used.has(id) && !this.#claims.has(id);
    let start = range?.min;
    if (start === undefined) start = Number(await client.api.cluster.nextid.$get());
    const end = range?.max ?? 999_999_999;
    // From here to the claim there is no await: no other worker can take the same id.
    for (let id = start; id <= end; id++) {
      if (free(id)) {
        this.#claims.set(id, owner);
        return id;
      }
    }
    throw new TerminalError('VmidRangeExhausted', `no free VMID in ${start}-${end}; widen the hypervisor's vmidRange`);
  }
}
