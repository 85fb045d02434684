import { createHash } from 'node:crypto';

/** How many times the same change may be accepted before Phoenix calls it a perpetual diff. */
export const maxIdenticalWrites = 3;

/**
 * Counts, per object, how often the same change was written and accepted in a row. Proxmox
 * (or Portainer) accepting a write and then holding another value again and again is a bug to
 * report, not drift to correct for ever. A write that failed (refused, timed out, a 5xx) never
 * counts: it was not kept because it never landed, and it is retried with backoff instead.
 * Forgotten once the object converges.
 */
export class IdenticalWrites {
  readonly #last = new Map<string, { hash: string; count: number }>();

  /** Whether `change` was already accepted the maximum number of times in a row for `key`. */
  exhausted(key: string, change: unknown): boolean {
    const last = this.#last.get(key);
    return last !== undefined && last.hash === hashOf(change) && last.count >= maxIdenticalWrites;
  }

  /** Records that Proxmox accepted a write of `change` for `key`. */
  accepted(key: string, change: unknown): void {
    const hash = hashOf(change);
    const last = this.#last.get(key);
    this.#last.set(key, { hash, count: last?.hash === hash ? last.count + 1 : 1 });
  }

  /** Takes back the last acceptance of `key` (the task that was to apply it failed). */
  rejected(key: string): void {
    const last = this.#last.get(key);
    if (!last) return;
    if (last.count <= 1) this.#last.delete(key);
    else this.#last.set(key, { ...last, count: last.count - 1 });
  }

  settle(key: string): void {
    this.#last.delete(key);
  }
}

function hashOf(change: unknown): string {
  return createHash('sha256').update(JSON.stringify(change)).digest('hex');
}
