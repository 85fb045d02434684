/**
 * Waiting for many Proxmox tasks at the cost of a few reads: one list of a node's tasks per
 * tick, for as long as anyone waits on a task there, fanned out to the waiters. The list is
 * asked for with `source=all` from the oldest waiting task's start, so it holds the running
 * tasks (status `RUNNING`) and the ended ones with their exit status and end time
 * (pve-manager PVE/API2/Tasks.pm, node_tasks): a waiter is woken as soon as a list shows its
 * task ended, and the outcome it read is kept for the waiter, which then needs no read of its
 * own. Nothing is read while nobody waits.
 *
 * When a read is due: the same operation on the same guest (node, type, id: the clones of one
 * template) takes about as long each time, so such a task is first looked at when about half of
 * them have ended (a running estimate, see `#learn`), and a clone that takes a minute costs a
 * read or two near its end instead of one every tick. The first start of each guest is an
 * operation seen once, and so is the create of each guest from an OS template (its UPID names
 * the new guest). Guests of one family (made from the same source with the same size: the clones
 * of one template, the containers from one archive) take about as long for the same operation: a
 * task of a family is first looked at when half of the family's have ended, and a task only its
 * own guest waits for (a start: a create holds a create slot, a clone its source, and every create
 * queued behind them) when nine in ten have. A look a little after such an end delays only its
 * own guest, by a share of the family's spread, and saves the reads of looking early. A task only its type on the node says anything about is first looked at when
 * about a third of that type have ended: durations across guests differ more. After the first
 * look a task is looked at a tenth of its estimate apart, every tick at least
 * (`defaultFollowSpacing`), and a task of a kind not seen to end yet every tick while young,
 * then less often as it ages (`defaultUnknownSpacing`).
 *
 * A look at a task only its own guest waits for (a start) may wait for a read of its node that
 * is planned anyway for a task others wait for (the next clone of the template), by at most a
 * tenth of the time the guest had been converging when the task was sent (`ownWaitShare`), and
 * never to more than 15 s after its last sighting: that read sees both ends. Nobody else waits
 * for a start, so its guest is Ready at most a tenth later, and a run of clones of one template
 * costs a read per clone rather than one more per start. Such a look teaches no estimate.
 *
 * Tasks of one operation that run together may end one after another rather than together: VM
 * clones of one template queue on their storage's bandwidth, so the tenth ends ten copies after
 * the start, and so do the creates of one family (a series: the operation, or for creates the
 * family). When one of them is seen to end, the next one's end is expected about one learned
 * gap later (the running estimate of the time between two such ends, `#learnGap`), and its
 * siblings are not looked at before it, instead of every tick for the whole queue. Until two
 * ends one after another have been seen (and when they end together) there is no gap and
 * nothing is postponed.
 *
 * A list that fails, or has not answered within `listDeadlineMs`, tells nothing: every waiter
 * on that node is woken to read its own task, and the node's tasks are left to their guests'
 * own (age-spaced) reads for `unlistedMs` before its list is tried again. Waiting for the list
 * would hold every waiter there for as long as the client's timeout (30 s, and a GET is sent
 * twice), at every step of every guest, and a failing list read again every tick would cost
 * each waiter a read of its own per tick.
 */
import { parseUpid } from '../../proxmox/upid.ts';

/** A task as the node's task list shows it. */
export interface ListedTask {
  readonly upid: string;
  /** `RUNNING` (or absent) while it runs; its exit status (`OK`, `WARNINGS: n`, the error) once it ended. */
  readonly status?: string;
  /** Unix seconds, once ended. */
  readonly endtime?: number;
}

/** How a task ended, as the list showed it (the fields `GET …/tasks/{upid}/status` would give). */
export interface TaskOutcome {
  readonly status: 'stopped';
  readonly exitstatus: string;
  readonly endtime?: number;
  /**
   * When, on the watch's clock (ms), the last list that showed the task running was asked for:
   * it ended after this. Absent when no list showed it running (it may have ended before it
   * was watched).
   */
  readonly seenRunningAt?: number;
  /** When, on the watch's clock (ms), the list that showed it ended was asked for. */
  readonly seenEndedAt: number;
}

/** What a task's guest was made from, for how long its tasks take (see `TaskWatch.watch`). */
export interface TaskFamily {
  readonly name: string;
  /** Whether more than the guest itself waits for the task's end: creates queued behind a create slot or a clone's source. */
  readonly othersWait: boolean;
  /**
   * For a task only the guest waits for: how long (ms) the guest had been on its way to Ready
   * when the task was sent. A look at such a task may wait for a read of its node planned anyway,
   * by a share of that time (see `ownWaitShare`). Absent (a guest that was Ready): never put off.
   */
  readonly convergingForMs?: number;
}

/** Reads a node's tasks started at or after `since` (Unix seconds), running and ended. */
export type ListTasks = (node: string, since: number | undefined) => Promise<readonly ListedTask[]>;

interface Waiter {
  readonly node: string;
  /** What kind of task it is (node and type) and which operation (node, type and id), for how long such tasks take. */
  readonly kind: string;
  readonly id: string;
  /** The same type on a guest of the same family (node, type and the family the caller named), if it named one. */
  readonly family: string | undefined;
  /** The share of its family's tasks to have ended by the first look (see `endedByFirstLook`). */
  readonly familyShare: number;
  /** For a task only its guest waits for: how long its look may wait for a read planned anyway, at most (see `TaskFamily`). */
  readonly mayWaitMs: number;
  /** A look at it was put off: where it ended says nothing about how long such tasks take (see `#learn`). */
  putOff: boolean;
  /**
   * The tasks whose ends follow one another when they run together, for the gap between two
   * ends: the same operation (the clones of one template), or the creates of one family, which
   * queue on their storage as clones do (each create's UPID names its own new guest).
   */
  readonly series: string;
  /** The task's start on Proxmox's clock (Unix seconds, from the UPID), for the list's `since`. */
  readonly starttime: number | undefined;
  /** A list asked for before this cannot tell whether the task ended: it may predate it. */
  readonly since: number;
  /** The last list that showed the task running was asked for at this time. */
  seenRunning: number;
  /** How far after that list the next look was placed: a later end is located no better than this. */
  spacing: number;
  /** No read for this waiter is needed before this time. */
  dueAt: number;
  wake: () => void;
}

/** How many ended outcomes are kept for waiters that have not collected theirs. */
const maxOutcomes = 1000;
/**
 * How many durations (and gaps) are remembered. Every guest's own operations (its first start,
 * a reboot) add one: without a bound, ten thousand guests would leave ten thousand for good. The
 * least recently learned go first; one forgotten only costs the next such task its first look.
 */
const maxEstimates = 2000;

/** A node's list normally answers in well under a second; one slower than this is not waited for. */
export const defaultListDeadlineMs = 3_000;
/** How long a node whose list failed or was too slow is left to its waiters' own reads. */
export const defaultUnlistedMs = 30_000;
/**
 * The share of tasks that are to have ended by their first look: the rest cost a read every
 * tenth of the estimate after it, the ended ones wait for it. For the same operation on the same guest half keeps
 * both the reads per task (about two) and the wait (a few percent of the duration) small; a
 * type on a node mixes guests of different sizes, so its first look comes earlier.
 */
const endedByFirstLook = { operation: 1 / 2, family: 1 / 2, ownFamily: 9 / 10, type: 1 / 3 } as const;
/**
 * A task of a kind never seen to end on its node (the first clone of a run, a first download) is
 * looked at every tick while young, then at a quarter of its age: it is seen to end at most a
 * quarter of its duration late (15 s at most), once per kind, and a first task of ten minutes
 * costs about fifty reads rather than twelve hundred. Its end then gives the estimate that places the next look.
 */
const defaultUnknownSpacing = 1 / 4;
/**
 * Looks at a running task (a kind not seen yet, or one followed after its first look) are at
 * most this far apart, so that the guest's guard (30 s) finds its task followed (see
 * GuestContext.pollTask).
 */
const maxSpacingMs = 15_000;
/**
 * After its first look, a task of a known kind is looked at again every this share of its
 * estimate (every tick at least): the reads after the first look follow the spread of such tasks
 * relative to their length, not their length. Clones of ±20% cost about one or two reads after
 * the first look however long they take, seen at most a tenth of their duration late; every tick
 * (500 ms), a container clone of 8 s cost about two and a VM clone of ten minutes over a hundred.
 */
const defaultFollowSpacing = 1 / 10;
/**
 * A task only its own guest waits for (a start) holds nobody else up: a look at it may wait for
 * a read of its node planned anyway, for a task others wait for (the next clone of a template),
 * by at most this share of the time its guest had been converging when the task was sent (and
 * `maxSpacingMs`). Its guest is Ready at most a tenth later than it could be, and a run of clones
 * of one template costs one read per clone's end rather than one more per start. The first
 * guests of a run, converging for seconds only, are put off by little or nothing; a guest that
 * was Ready, or has no task others wait for on its node, not at all.
 */
const ownWaitShare = 1 / 10;
/** How far one task moves the estimate, as a share of it. */
const estimateStep = 0.1;
/**
 * How many precisely located tasks (or gaps) an estimate is the mean of before single tasks only
 * nudge it. The first one alone may be far off (the first clone of a run is located a quarter of
 * its age late, so the gap to the next end reads short), and steps of a tenth took the ten
 * clones of a template to climb from a first gap of 2.3 s to their real 3.3 s, each end costing
 * a read every tick meanwhile.
 */
const defaultWarmupSamples = 4;

export class TaskWatch {
  readonly #list: ListTasks;
  readonly #tickMs: number;
  readonly #now: () => number;
  readonly #waiters = new Map<string, Waiter>();
  /** Outcomes read from the list, until their waiter collects them. */
  readonly #outcomes = new Map<string, TaskOutcome>();
  /** When to first look at a task of a type on a node, or of an operation on a guest (node, type and id): ms after its watch began. */
  readonly #estimate = new Map<string, number>();
  /** How many precisely located tasks each estimate still in its warm-up is the mean of. */
  readonly #samples = new Map<string, number>();
  /** When a read last found a task of an operation ended, for the gap to the next. */
  readonly #lastEnd = new Map<string, number>();
  readonly #listDeadlineMs: number;
  readonly #unlistedMs: number;
  readonly #unknownSpacing: number;
  readonly #warmupSamples: number;
  readonly #followSpacing: number;
  /** Nodes whose list failed or was too slow, until when they are not listed. */
  readonly #unlisted = new Map<string, number>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #ticking = false;
  #closed = false;

  constructor(list: ListTasks, options: { tickMs?: number; now?: () => number; listDeadlineMs?: number; unlistedMs?: number; unknownSpacing?: number; warmupSamples?: number; followSpacing?: number } = {}) {
    this.#list = list;
    this.#tickMs = options.tickMs ?? 500;
    this.#now = options.now ?? Date.now;
    this.#listDeadlineMs = options.listDeadlineMs ?? defaultListDeadlineMs;
    this.#unlistedMs = options.unlistedMs ?? defaultUnlistedMs;
    this.#unknownSpacing = options.unknownSpacing ?? defaultUnknownSpacing;
    this.#warmupSamples = options.warmupSamples ?? defaultWarmupSamples;
    this.#followSpacing = options.followSpacing ?? defaultFollowSpacing;
  }

  /**
   * Calls `wake` once, when the task is seen to have ended; a second call for a UPID replaces
   * its wake. False when nothing will be called: the watch is closed, or the task's node is not
   * listed for now (its list failed or was too slow), and the caller reads the task itself.
   * `family` names what the task's guest was made from (guests of one family take about as long
   * for the same operation), and whether anything but the guest itself waits for the task's end.
   */
  watch(upid: string, node: string, wake: () => void, family?: TaskFamily): boolean {
    if (this.#closed) return false;
    const existing = this.#waiters.get(upid);
    if (existing) {
      existing.wake = wake;
      return true;
    }
    const parsed = parseUpid(upid);
    const now = this.#now();
    if ((this.#unlisted.get(parsed?.node ?? node) ?? -Infinity) > now) return false;
    const kind = `${parsed?.node ?? node}:${parsed?.type ?? ''}`;
    const id = `${kind}:${parsed?.id ?? ''}`;
    const familyKey = family === undefined ? undefined : `${kind}:family:${family.name}`;
    // The same operation on the same guest (clones of one template) first, then on guests of the
    // same family, else its type on the node.
    const learned = this.#estimate.get(id) ?? (familyKey === undefined ? undefined : this.#estimate.get(familyKey)) ?? this.#estimate.get(kind);
    const firstLook = learned ?? 0;
    this.#waiters.set(upid, { node: parsed?.node ?? node, kind, id, family: familyKey, series: familyKey !== undefined && family?.othersWait === true ? familyKey : id, familyShare: family?.othersWait === false ? endedByFirstLook.ownFamily : endedByFirstLook.family, mayWaitMs: learned === undefined ? 0 : this.#mayWaitMs(family), putOff: false, starttime: parsed?.starttime, since: now, seenRunning: now, spacing: this.#tickMs, dueAt: now + Math.max(this.#tickMs, firstLook), wake });
    this.#schedule();
    return true;
  }

  /** Whether a wake-up is pending for this task (it has not been seen to end yet). */
  watches(upid: string): boolean {
    return this.#waiters.has(upid);
  }

  /** How long ago this task's wake-up was asked for; undefined when none is pending. */
  watchedForMs(upid: string): number | undefined {
    const w = this.#waiters.get(upid);
    return w === undefined ? undefined : this.#now() - w.since;
  }

  /**
   * In how long the watch means to look at this task next (negative while a look that was due is
   * being made, or when the watch stopped looking); undefined when no wake-up is pending.
   */
  nextLookInMs(upid: string): number | undefined {
    const w = this.#waiters.get(upid);
    if (w === undefined) return undefined;
    return (this.#putOffBy(w) > 0 ? Math.max(w.dueAt, this.#readAt(w.node)) : w.dueAt) - this.#now();
  }

  /** The outcome a list showed for this ended task, handed over once. */
  takeOutcome(upid: string): TaskOutcome | undefined {
    const outcome = this.#outcomes.get(upid);
    this.#outcomes.delete(upid);
    return outcome;
  }

  get watching(): number {
    return this.#waiters.size;
  }

  /**
   * One read per node whose read is due by `dueBy` (`all`: every node with waiters); exported for
   * tests, which drive ticks themselves.
   */
  async tick(all = true, dueBy = this.#now()): Promise<void> {
    const nodes = [...new Set([...this.#waiters.values()].map((w) => w.node))].filter((node) => all || this.#readAt(node) <= dueBy);
    await Promise.all(nodes.map((node) => this.#readNode(node)));
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#waiters.clear();
    this.#outcomes.clear();
  }

  async #readNode(node: string): Promise<void> {
    const here = [...this.#waiters.entries()].filter(([, w]) => w.node === node);
    const starts = here.map(([, w]) => w.starttime).filter((s): s is number => s !== undefined);
    const askedAt = this.#now();
    let listed: readonly ListedTask[];
    try {
      listed = await this.#withinDeadline(this.#list(node, starts.length === here.length && starts.length ? Math.min(...starts) : undefined));
    } catch {
      // No list, or none in time (permissions, node down, a slow pveproxy): every waiter there,
      // also one that came during the read, reads its own task, and so do later ones for a while.
      this.#unlisted.set(node, this.#now() + this.#unlistedMs);
      for (const [upid, w] of [...this.#waiters]) if (w.node === node) this.#wake(upid, w);
      return;
    }
    const byUpid = new Map(listed.map((t) => [t.upid, t]));
    const endedHere = new Set<string>();
    for (const [upid, w] of this.#waiters) {
      if (w.node !== node || w.since > askedAt) continue;
      if (askedAt > w.dueAt + this.#tickMs / 2 && this.#putOffBy(w) > 0) w.putOff = true;
      const task = byUpid.get(upid);
      if (task && (task.status === undefined || task.status === 'RUNNING')) {
        w.seenRunning = askedAt;
        // A read another waiter was due for does not bring this one's forward.
        w.spacing = this.#spacing(w, askedAt);
        w.dueAt = Math.max(w.dueAt, askedAt + w.spacing);
        continue;
      }
      // Ended: with its outcome when listed, else (rotated out of the list) its waiter reads it.
      // With when it was last seen running and seen ended, on this clock (Proxmox's endtime is on the node's).
      if (task?.status !== undefined) this.#keep(upid, { status: 'stopped', exitstatus: task.status, ...(task.endtime !== undefined ? { endtime: task.endtime } : {}), ...(w.seenRunning > w.since ? { seenRunningAt: w.seenRunning } : {}), seenEndedAt: askedAt });
      // How long it took at most, on Proxmox's own clock (whole seconds): tells an estimate far too long.
      const tookAtMost = task?.endtime !== undefined && w.starttime !== undefined ? (task.endtime - w.starttime + 1) * 1000 : undefined;
      // A look put off says when a read was planned, not when such a task ends: one that ended by
      // it tells nothing, and learning only from those still running would push the estimate up.
      if (!w.putOff) this.#learn(w, askedAt, tookAtMost, this.#queued(w));
      this.#learnGap(w, askedAt);
      endedHere.add(w.series);
      this.#wake(upid, w);
    }
    // The next end of an operation whose task just ended is about a gap away.
    for (const series of endedHere) {
      const gap = this.#estimate.get(`gap:${series}`);
      if (gap === undefined) continue;
      for (const w of this.#waiters.values()) if (w.series === series && w.seenRunning === askedAt) w.dueAt = Math.max(w.dueAt, askedAt + gap);
    }
  }

  /**
   * What an ended task says about the gap between ends of its operation: when it was watched
   * before the last such end and still running at or after it (the two ran together), it ended
   * at least `seenRunning - lastEnd` and at most `endedBy - lastEnd` after it, learned like a
   * duration. The next gap is counted from the read that found this end, which may come after
   * the end itself: the next look is then late by as much, and a look that finds the task still
   * running locates the next end within a tick again.
   */
  #learnGap(w: Waiter, endedBy: number): void {
    const last = this.#lastEnd.get(w.series);
    if (last !== undefined && w.since <= last && w.seenRunning >= last) {
      const ranFor = w.seenRunning - last;
      const endedWithin = endedBy - last;
      const close = this.#locatedClosely(w, endedBy);
      this.#track(`gap:${w.series}`, endedByFirstLook.operation, close ? (ranFor + endedWithin) / 2 : undefined, ranFor, endedWithin);
    }
    this.#remember(this.#lastEnd, w.series, endedBy);
  }

  /**
   * What an ended task says about how long such tasks take. It ran at least until the last list
   * that showed it running (`ranFor`) and at most until the list that found it ended. Each
   * estimate is a running quantile: the first task whose end was located closely (see
   * `#locatedClosely`) sets it (its type's to the lower bound, its operation's and family's to
   * the middle), and so do the next few such tasks that waited behind no sibling, as a mean
   * (`defaultWarmupSamples`); afterwards a task seen
   * running past the estimate raises it, one that had ended by it lowers it, in the
   * proportion that leaves the intended share ended by the first look. A long gap between
   * looks, around the estimate, says nothing.
   */
  #learn(w: Waiter, endedBy: number, tookAtMost: number | undefined, queued: boolean): void {
    const ranFor = w.seenRunning - w.since;
    const endedWithin = endedBy - w.since;
    const close = ranFor > 0 && this.#locatedClosely(w, endedBy);
    // A task that waited behind a sibling (one of its series ended while it was watched) took its
    // place in the queue, not how long such a task takes: it only nudges the estimates. As a warm-up
    // sample, the tenth clone of a batch would put the next batch's first look in its middle.
    const warm = !queued;
    this.#track(w.kind, endedByFirstLook.type, close ? ranFor : undefined, ranFor, endedWithin, tookAtMost, warm);
    this.#track(w.id, endedByFirstLook.operation, close ? (ranFor + endedWithin) / 2 : undefined, ranFor, endedWithin, tookAtMost, warm);
    if (w.family !== undefined) this.#track(w.family, w.familyShare, close ? (ranFor + endedWithin) / 2 : undefined, ranFor, endedWithin, tookAtMost, warm);
  }

  /**
   * Whether the end was located as closely as the watch looks: the list that found it came
   * within two ticks of the last that showed it running, or within the spacing placed after that
   * one (a task of a kind not seen before, or one followed a tenth of its estimate apart), plus a
   * tick for timers and the read itself.
   */
  #locatedClosely(w: Waiter, endedBy: number): boolean {
    return endedBy - w.seenRunning <= Math.max(2 * this.#tickMs, this.#tickMs + w.spacing);
  }

  /** Whether a task of the waiter's series ended while it was watched: it waited behind that one. */
  #queued(w: Waiter): boolean {
    return (this.#lastEnd.get(w.series) ?? -Infinity) >= w.since;
  }

  /**
   * How soon after a list that showed it running a task is looked at again: a tenth of what is
   * known about how long such tasks take (the gap between the ends of its series while it waits
   * behind a sibling that ended, else its duration as its first look used it), at least a tick;
   * a quarter of its age so far while nothing is (see the class comment); 15 s at most.
   */
  #spacing(w: Waiter, askedAt: number): number {
    const known = (this.#queued(w) ? this.#estimate.get(`gap:${w.series}`) : undefined) ?? this.#estimate.get(w.id) ?? (w.family === undefined ? undefined : this.#estimate.get(w.family)) ?? this.#estimate.get(w.kind);
    if (known !== undefined) return Math.min(maxSpacingMs, Math.max(this.#tickMs, known * this.#followSpacing));
    return Math.min(maxSpacingMs, Math.max(this.#tickMs, (askedAt - w.since) * this.#unknownSpacing));
  }

  /**
   * When a node is to be read next: at its earliest due look, except that a look at a task only
   * its guest waits for waits for the earliest look due at a task others wait for, when that
   * comes within the time it may be put off (`#putOffBy`). Every waiter there is looked at then.
   */
  #readAt(node: string): number {
    let planned = Infinity;
    for (const w of this.#waiters.values()) if (w.node === node && this.#putOffBy(w) === 0) planned = Math.min(planned, w.dueAt);
    let at = planned;
    for (const w of this.#waiters.values()) if (w.node === node && w.dueAt + this.#putOffBy(w) < planned) at = Math.min(at, w.dueAt);
    return at;
  }

  /** How long a look at this task may wait for a read of its node planned anyway: 0 unless only its guest waits for it. */
  #putOffBy(w: Waiter): number {
    // Never past `maxSpacingMs` after its last sighting: the guest's guard must find it followed.
    return Math.max(0, Math.min(w.mayWaitMs, w.seenRunning + maxSpacingMs - w.dueAt));
  }

  /**
   * A tenth of the time the guest had been converging, for a task only it waits for; 15 s at
   * most. Not for a kind not seen to end yet (see `watch`): a look put off teaches nothing, and with
   * every start put off the estimate would never be learned (the last start of a run, with no
   * clone to wait for, was then looked at every tick).
   */
  #mayWaitMs(family: TaskFamily | undefined): number {
    const forMs = family?.othersWait === false ? family.convergingForMs : undefined;
    return forMs !== undefined && Number.isFinite(forMs) && forMs > 0 ? Math.min(maxSpacingMs, forMs * ownWaitShare) : 0;
  }

  #track(key: string, share: number, first: number | undefined, ranFor: number, endedWithin: number, tookAtMost?: number, warm = true): void {
    const estimate = this.#estimate.get(key);
    if (estimate === undefined) {
      if (first !== undefined) {
        this.#remember(this.#estimate, key, first);
        this.#remember(this.#samples, key, 1);
      }
      return;
    }
    // Forgotten counts (older than every estimate learned since) have long finished their warm-up.
    const samples = this.#samples.get(key) ?? this.#warmupSamples;
    if (warm && first !== undefined && samples < this.#warmupSamples) {
      this.#remember(this.#estimate, key, estimate + (first - estimate) / (samples + 1));
      this.#remember(this.#samples, key, samples + 1);
      return;
    }
    const step = estimate * estimateStep;
    // A look at the estimate comes a little after it (timers, the read itself): half a tick of slack.
    if (ranFor >= estimate) this.#remember(this.#estimate, key, estimate + step * share);
    // A task that took less than half the estimate (one slow task taught it, a busy node that is
    // not busy any more) halves it: steps of a tenth, a tenth of which down for a start's share,
    // would take hundreds of tasks, each seen that much late.
    else if (tookAtMost !== undefined && tookAtMost < estimate / 2) this.#remember(this.#estimate, key, Math.max(tookAtMost, estimate / 2));
    else if (endedWithin <= estimate + this.#tickMs / 2) this.#remember(this.#estimate, key, estimate - step * (1 - share));
  }

  /** The list, or a rejection once `listDeadlineMs` has passed without it. */
  async #withinDeadline<T>(list: Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no task list within ${this.#listDeadlineMs} ms`)), this.#listDeadlineMs);
    });
    // An answer after the deadline is dropped; so is its failure.
    list.catch(() => undefined);
    try {
      return await Promise.race([list, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sets a learned value as the most recent one, forgetting the least recent past `maxEstimates`. */
  #remember(map: Map<string, number>, key: string, value: number): void {
    map.delete(key);
    map.set(key, value);
    if (map.size > maxEstimates) map.delete(map.keys().next().value!);
  }

  #keep(upid: string, outcome: TaskOutcome): void {
    this.#outcomes.set(upid, outcome);
    if (this.#outcomes.size > maxOutcomes) this.#outcomes.delete(this.#outcomes.keys().next().value!);
  }

  #wake(upid: string, w: Waiter): void {
    this.#waiters.delete(upid);
    w.wake();
  }

  /** One timer, set for the earliest read of a node (`#readAt`): a look put off sets none of its own. */
  #schedule(): void {
    if (this.#closed || this.#ticking || this.#waiters.size === 0) return;
    const at = Math.min(...[...new Set([...this.#waiters.values()].map((w) => w.node))].map((node) => this.#readAt(node)));
    if (this.#timer && this.#timerAt <= at) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#ticking = true;
      // Node's timers may fire a millisecond before Date.now() reaches their time: the read this
      // timer was set for is due all the same, or it would take another timer (an empty tick) to make.
      void this.tick(false, Math.max(this.#now(), at)).finally(() => {
        this.#ticking = false;
        this.#schedule();
      });
    }, Math.max(0, at - this.#now()));
    this.#timer.unref?.();
  }
}
