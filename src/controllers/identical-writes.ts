import { createHash } from 'node:crypto';

/** How many times the same change may be written before Phoenix calls it a perpetual diff. */
export const maxIdenticalWrites = 3;

/**
 * Counts, per object, how often the same change has been written in a row. Writing it again
 * and again means Proxmox (or Portainer) keeps another value: a bug to report, not drift to
 * correct for ever. Forgotten once the object converges.
 */
export class IdenticalWrites {
  readonly #last = new Map<string, { hash: string; count: number }>();

  /** Records a write of `change` for `key`; true once the same change was written more than the limit. */
  tooMany(key: string, change: unknown): boolean {
    const hash = createHash('sha256').update(JSON.stringify(change)).digest('hex');
    const last = this.#last.get(key);
    const count = last?.hash === hash ? last.count + 1 : 1;
    this.#last.set(key, { hash, count });
    return count > maxIdenticalWrites;
  }

  settle(key: string): void {
    this.#last.delete(key);
  }
}
