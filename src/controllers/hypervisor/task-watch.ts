/**
 * Waiting for many Proxmox tasks at the cost of a few reads: one list of a node's active tasks
 * per tick, for as long as anyone waits on a task there, fanned out to the waiters. A waiter is
 * woken as soon as a list shows its task ended (gone from the active tasks, or listed with an
 * exit status); it then reads that one task's outcome itself. Nothing is read while nobody waits.
 */
import { parseUpid } from '../../proxmox/upid.ts';

export interface ActiveTask {
  readonly upid: string;
  /** Set once the task has ended (Proxmox lists recently ended tasks with their exit status). */
  readonly status?: string;
}

interface Waiter {
  readonly node: string;
  /** A list asked for before this cannot tell whether the task ended: it may predate it. */
  readonly since: number;
  wake: () => void;
}

export class TaskWatch {
  readonly #listActive: (node: string) => Promise<readonly ActiveTask[]>;
  readonly #tickMs: number;
  readonly #now: () => number;
  readonly #waiters = new Map<string, Waiter>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(listActive: (node: string) => Promise<readonly ActiveTask[]>, options: { tickMs?: number; now?: () => number } = {}) {
    this.#listActive = listActive;
    this.#tickMs = options.tickMs ?? 500;
    this.#now = options.now ?? Date.now;
  }

  /** Calls `wake` once, when the task is seen to have ended; a second call for a UPID replaces its wake. */
  watch(upid: string, node: string, wake: () => void): void {
    if (this.#closed) return;
    const existing = this.#waiters.get(upid);
    if (existing) existing.wake = wake;
    else this.#waiters.set(upid, { node: parseUpid(upid)?.node ?? node, since: this.#now(), wake });
    this.#schedule();
  }

  get watching(): number {
    return this.#waiters.size;
  }

  /** One read per node with waiters; exported for tests, which drive ticks themselves. */
  async tick(): Promise<void> {
    const nodes = new Set([...this.#waiters.values()].map((w) => w.node));
    await Promise.all([...nodes].map(async (node) => {
      const askedAt = this.#now();
      let active: readonly ActiveTask[];
      try {
        active = await this.#listActive(node);
      } catch {
        // The list cannot be had (permissions, node down): every waiter there reads its own task.
        for (const [upid, w] of this.#waiters) if (w.node === node) this.#wake(upid, w);
        return;
      }
      const running = new Set(active.filter((t) => t.status === undefined).map((t) => t.upid));
      for (const [upid, w] of this.#waiters) {
        if (w.node === node && w.since <= askedAt && !running.has(upid)) this.#wake(upid, w);
      }
    }));
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#waiters.clear();
  }

  #wake(upid: string, w: Waiter): void {
    this.#waiters.delete(upid);
    w.wake();
  }

  #schedule(): void {
    if (this.#timer || this.#closed || this.#waiters.size === 0) return;
    this.#timer = setTimeout(() => {
      void this.tick().finally(() => {
        this.#timer = undefined;
        this.#schedule();
      });
    }, this.#tickMs);
    this.#timer.unref?.();
  }
}
