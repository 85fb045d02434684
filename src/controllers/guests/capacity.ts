/**
 * Bounds how many creates and clones run at once per node and per storage. Unbounded
 * parallel clones are what make Proxmox's storage locks time out. Each holder (an object
 * key) holds at most one slot per key; slots are released when its task is seen to end.
 */
/** How long a slot waits for the waiter woken for it (its reconcile normally comes within milliseconds). */
const promiseMs = 5_000;

export class CreateCapacity {
  readonly #holders = new Map<string, Set<string>>();
  /**
   * Refused holders in the order they asked, with the slots they asked for. Each freed slot
   * wakes the oldest waiter that fits in what is free now: no slot idles until a timer fires,
   * no crowd of waiters stampedes for a single slot, and a waiter held by something else (a
   * clone source still locked) does not stand in the way of one the freed slot would let go.
   */
  readonly #waiters = new Map<string, { readonly keys: readonly { key: string; limit: number }[]; readonly wake: () => void }>();
  /**
   * Waiters woken for a freed slot that have not come to take it yet: the slot is theirs for a
   * moment, so a second release before they come does not wake another waiter for the same slot
   * (who would lose the race and go to the back of the line). A woken waiter that does not come
   * (deleted, backing off) holds nothing after `promiseMs`.
   */
  readonly #promised = new Map<string, { readonly keys: readonly { key: string; limit: number }[]; readonly until: number }>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Takes a slot on every key, or none: false when any key is full (and `wake` is kept). */
  tryAcquire(holder: string, keys: readonly { key: string; limit: number }[], wake?: () => void): boolean {
    this.#promised.delete(holder);
    if (!this.#fits(holder, keys, this.#promisedSlots())) {
      if (wake) this.#waiters.set(holder, { keys, wake });
      return false;
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
    this.#promised.delete(holder);
    if (!freed) return;
    const promised = this.#promisedSlots();
    for (const [waiter, { keys, wake }] of [...this.#waiters]) {
      if (!this.#fits(waiter, keys, promised)) continue;
      for (const { key } of keys) promised.set(key, (promised.get(key) ?? 0) + 1);
      this.#waiters.delete(waiter);
      this.#promised.set(waiter, { keys, until: this.#now() + promiseMs });
      wake();
    }
  }

  /** How many slots of each key are promised to woken waiters that have yet to take them. */
  #promisedSlots(): Map<string, number> {
    const now = this.#now();
    const slots = new Map<string, number>();
    for (const [waiter, { keys, until }] of [...this.#promised]) {
      if (until <= now) {
        this.#promised.delete(waiter);
        continue;
      }
      for (const { key } of keys) slots.set(key, (slots.get(key) ?? 0) + 1);
    }
    return slots;
  }

  inFlight(key: string): number {
    return this.#holders.get(key)?.size ?? 0;
  }

  #fits(holder: string, keys: readonly { key: string; limit: number }[], promised: ReadonlyMap<string, number>): boolean {
    return keys.every(({ key, limit }) => {
      const held = this.#holders.get(key);
      return (held?.has(holder) ?? false) || (held?.size ?? 0) + (promised.get(key) ?? 0) < limit;
    });
  }

  #set(key: string): Set<string> {
    let held = this.#holders.get(key);
    if (!held) this.#holders.set(key, (held = new Set()));
    return held;
  }
}
