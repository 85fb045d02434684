/**
 * Bounds how many creates and clones run at once per node and per storage. Unbounded
 * parallel clones are what make Proxmox's storage locks time out. Each holder (an object
 * key) holds at most one slot per key; slots are released when its task is seen to end.
 */
export class CreateCapacity {
  readonly #holders = new Map<string, Set<string>>();
  /**
   * Refused holders in the order they asked. One is woken per freed slot, oldest first: no
   * slot idles until a timer fires, and no crowd of waiters stampedes for a single slot.
   */
  readonly #waiters = new Map<string, () => void>();

  /** Takes a slot on every key, or none: false when any key is full (and `wake` is kept). */
  tryAcquire(holder: string, keys: readonly { key: string; limit: number }[], wake?: () => void): boolean {
    for (const { key, limit } of keys) {
      const held = this.#holders.get(key);
      if (held && !held.has(holder) && held.size >= limit) {
        if (wake) this.#waiters.set(holder, wake);
        return false;
      }
    }
    this.#waiters.delete(holder);
    for (const { key } of keys) this.#set(key).add(holder);
    return true;
  }

  /** Re-registers a holder whose task is already running (after a restart), ignoring limits. */
  adopt(holder: string, keys: readonly string[]): void {
    for (const key of keys) this.#set(key).add(holder);
  }

  release(holder: string): void {
    let freed = false;
    for (const held of this.#holders.values()) freed = held.delete(holder) || freed;
    this.#waiters.delete(holder);
    if (!freed) return;
    const next = this.#waiters.entries().next();
    if (next.done) return;
    const [waiter, wake] = next.value;
    this.#waiters.delete(waiter);
    wake();
  }

  inFlight(key: string): number {
    return this.#holders.get(key)?.size ?? 0;
  }

  #set(key: string): Set<string> {
    let held = this.#holders.get(key);
    if (!held) this.#holders.set(key, (held = new Set()));
    return held;
  }
}
