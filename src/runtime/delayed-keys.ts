import type { Clock } from './clock.ts';

interface Entry {
  readonly key: string;
  readonly due: number;
  /** Keys due at the same time fire in the order they were set, as timers of equal delay do. */
  readonly seq: number;
}

const before = (a: Entry, b: Entry) => a.due < b.due || (a.due === b.due && a.seq < b.seq);

/**
 * Keys each due at a time (on the clock's `elapsed()`, which never steps: a wall clock set back
 * would hold every key back as long), handed to `fire` when it comes, behind a single timer (client-go's
 * waiting heap). A timer per key cost about 400 bytes each (the Timeout, its closure and context,
 * and the async context frame it keeps): 4 MiB with 10,000 objects waiting for their next look.
 */
export class DelayedKeys {
  readonly #clock: Clock;
  readonly #fire: (key: string) => void;
  /** A binary min-heap by due time. An entry whose key was since set again or deleted stays until it surfaces. */
  #heap: Entry[] = [];
  readonly #current = new Map<string, Entry>();
  #timer: { due: number; cancel: () => void } | undefined;
  #seq = 0;

  constructor(clock: Clock, fire: (key: string) => void) {
    this.#clock = clock;
    this.#fire = fire;
  }

  has(key: string): boolean {
    return this.#current.has(key);
  }

  /** When `key` is due, if it is waiting. */
  dueOf(key: string): number | undefined {
    return this.#current.get(key)?.due;
  }

  /** `key` is due at `due`, instead of any time set before. */
  set(key: string, due: number): void {
    const entry = { key, due, seq: this.#seq++ };
    this.#current.set(key, entry);
    this.#push(entry);
    // Replaced entries are dropped as they surface; rebuilt when they outnumber the live ones, so
    // keys set again and again (a guard pushed back at every look) cannot grow the heap.
    if (this.#heap.length > 64 && this.#heap.length > 2 * this.#current.size) this.#rebuild();
    this.#arm();
  }

  delete(key: string): void {
    this.#current.delete(key);
  }

  clear(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#heap = [];
    this.#current.clear();
  }

  #arm(): void {
    this.#dropStale();
    const next = this.#heap[0];
    if (this.#timer && next && this.#timer.due <= next.due) return;
    this.#timer?.cancel();
    this.#timer = undefined;
    if (!next) return;
    const cancel = this.#clock.schedule(() => {
      this.#timer = undefined;
      this.#run();
    }, next.due - this.#clock.elapsed());
    this.#timer = { due: next.due, cancel };
  }

  #run(): void {
    const now = this.#clock.elapsed();
    for (let next = this.#heap[0]; next && next.due <= now; next = this.#heap[0]) {
      this.#pop();
      if (this.#current.get(next.key) !== next) continue;
      this.#current.delete(next.key);
      this.#fire(next.key);
    }
    this.#arm();
  }

  #dropStale(): void {
    while (this.#heap[0] && this.#current.get(this.#heap[0].key) !== this.#heap[0]) this.#pop();
  }

  #rebuild(): void {
    this.#heap = [...this.#current.values()].sort((a, b) => a.due - b.due || a.seq - b.seq);
  }

  #push(entry: Entry): void {
    const heap = this.#heap;
    heap.push(entry);
    for (let i = heap.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
      i = parent;
    }
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop()!;
    if (!heap.length) return;
    heap[0] = last;
    for (let i = 0; ;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === i) break;
      [heap[smallest], heap[i]] = [heap[i]!, heap[smallest]!];
      i = smallest;
    }
  }
}
