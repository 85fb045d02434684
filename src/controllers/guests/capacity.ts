/**
 * Bounds how many creates and clones run at once per node and per storage. Unbounded
 * parallel clones are what make Proxmox's storage locks time out. Each holder (an object
 * key) holds at most one slot per key; slots are released when its task is seen to end.
 */
export class CreateCapacity {
  readonly #holders = new Map<string, Set<string>>();

  /** Takes a slot on every key, or none: false when any key is full. */
  tryAcquire(holder: string, keys: readonly { key: string; limit: number }[]): boolean {
    for (const { key, limit } of keys) {
      const held = this.#holders.get(key);
      if (held && !held.has(holder) && held.size >= limit) return false;
    }
    for (const { key } of keys) this.#set(key).add(holder);
    return true;
  }

  /** Re-registers a holder whose task is already running (after a restart), ignoring limits. */
  adopt(holder: string, keys: readonly string[]): void {
    for (const key of keys) this.#set(key).add(holder);
  }

  release(holder: string): void {
    for (const held of this.#holders.values()) held.delete(holder);
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
