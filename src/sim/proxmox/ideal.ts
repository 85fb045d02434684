/**
 * What a perfect client could achieve against this simulator: the earliest time a set of guests
 * could all be created and running, and the fewest requests that takes. Computed from the
 * simulator's own rules, never from a client's settings:
 * - a task's work is a fixed part plus disk I/O on one storage; a storage does one task's I/O at
 *   a time (its bandwidth is shared, so concurrent copies do not finish sooner in total);
 * - a container clone holds its source's `disk` lock for the whole task (pve-container
 *   src/PVE/API2/LXC.pm, clone_vm: `set_lock($vmid, 'disk')` … `remove_lock($vmid, 'disk')`);
 * - a VM clone holds its source's config flock, exclusively if the source runs, shared if not
 *   (qemu-server src/PVE/API2/Qemu.pm, clone_vm: `lock_config_full` / `lock_config_shared`);
 * - a guest can be started once its create or clone has ended.
 */

/** The intrinsic work of one task, as the simulator drew it (jitter included, waiting excluded). */
export interface TaskWork {
  readonly fixedMs: number;
  readonly ioMs: number;
  readonly ioStorage?: string;
  /** The guest a clone reads from, and whether it holds that guest exclusively meanwhile. */
  readonly source?: { readonly vmid: number; readonly exclusive: boolean };
  /** The guest a create or clone brings into existence. */
  readonly target?: number;
}

export interface IdealItem {
  readonly vmid: number;
  readonly create: TaskWork;
  readonly start: TaskWork;
  /** A clone copies the source's options, so a client changes the config once afterwards. */
  readonly configure: boolean;
}

export interface IdealReport {
  /** From the first request to the last guest running, for a client that reacts instantly. */
  readonly makespanMs: number;
  /** Fewest Proxmox requests for all the items (see `minimumRequests`). */
  readonly requests: number;
  readonly guests: number;
  /** The schedule behind `makespanMs`: when each guest's create began and when it was running. */
  readonly schedule: readonly { vmid: number; createAtMs: number; runningAtMs: number }[];
}

/**
 * The fewest requests for one guest: the create or clone, one config update after a clone, the
 * start, one read of each task's end (a perfect client asks exactly when it ends), and one read
 * of the finished config.
 */
export function minimumRequests(item: IdealItem): number {
  return 1 + (item.configure ? 1 : 0) + 1 + 2 + 1;
}

/** A list schedule: each guest's create goes out as early as its source lock and its storage allow. */
export function idealSchedule(items: readonly IdealItem[]): IdealReport {
  const storageFree = new Map<string, number>();
  const exclusiveUntil = new Map<number, number>();
  const sharedUntil = new Map<number, number>();
  const pending = [...items];
  const schedule: { vmid: number; createAtMs: number; runningAtMs: number }[] = [];
  while (pending.length > 0) {
    // The guest whose create can begin first (ties: the one given first).
    let best = 0;
    let bestAt = Infinity;
    pending.forEach((item, i) => {
      const at = earliestStart(item.create, exclusiveUntil, sharedUntil);
      if (at < bestAt) [best, bestAt] = [i, at];
    });
    const item = pending.splice(best, 1)[0]!;
    const work = item.create;
    const ioStart = work.ioStorage === undefined ? bestAt : Math.max(bestAt, storageFree.get(work.ioStorage) ?? 0);
    const created = ioStart + work.ioMs + work.fixedMs;
    if (work.ioStorage !== undefined) storageFree.set(work.ioStorage, ioStart + work.ioMs);
    if (work.source) {
      const held = work.source.exclusive ? exclusiveUntil : sharedUntil;
      held.set(work.source.vmid, Math.max(held.get(work.source.vmid) ?? 0, created));
    }
    schedule.push({ vmid: item.vmid, createAtMs: bestAt, runningAtMs: created + item.start.fixedMs + item.start.ioMs });
  }
  return {
    makespanMs: Math.max(0, ...schedule.map((s) => s.runningAtMs)),
    requests: items.reduce((sum, item) => sum + minimumRequests(item), 0),
    guests: items.length,
    schedule,
  };
}

function earliestStart(work: TaskWork, exclusiveUntil: Map<number, number>, sharedUntil: Map<number, number>): number {
  if (!work.source) return 0;
  const exclusive = exclusiveUntil.get(work.source.vmid) ?? 0;
  return work.source.exclusive ? Math.max(exclusive, sharedUntil.get(work.source.vmid) ?? 0) : exclusive;
}
