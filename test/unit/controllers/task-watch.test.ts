import { strict as assert } from 'node:assert';
import { TaskWatch, type ListedTask } from '../../../src/controllers/hypervisor/task-watch.ts';

const upid = (node: string, n: number) => `UPID:${node}:0000${n}0AB:00000000:6955B900:qmclone:${n}:root@pam:`;
/** The n-th container clone of template 9100, and a container's start, as Proxmox names their tasks. */
const vzclone = (n: number) => `UPID:pve:0000${n}0AB:00000000:6955B900:vzclone:9100:root@pam:`;
const vzstart = (vmid: number) => `UPID:pve:000090AB:00000000:6955B900:vzstart:${vmid}:root@pam:`;

/**
 * How long after `from` the watch first reads while `upid` is watched, moving the test's clock
 * by `stepMs` and ticking at each step (-1: no read within `withinMs`). The clock is left at the read.
 */
async function firstReadAfter(watch: TaskWatch, upid: string, from: number, o: { stepMs: number; withinMs: number; setNow: (ms: number) => void; reads: () => number }): Promise<number> {
  for (let t = from; watch.watches(upid) && t < from + o.withinMs; t += o.stepMs) {
    o.setNow(t);
    const before = o.reads();
    await watch.tick(false);
    if (o.reads() > before) return t - from;
  }
  return -1;
}

/**
 * Teaches a watch on a test clock a container clone (`vzclone(1)`) of `cloneMs` and, unless
 * `startMs` is 0, a start of family A (`vzstart(101)`) of `startMs`: each seen running at every
 * 500 ms tick from 0 through its duration and ended at the tick after. The clock is left at the
 * clone's end.
 */
async function learnCloneAndStart(watch: TaskWatch, cloneMs: number, startMs: number, o: { setNow: (ms: number) => void; setListed: (listed: ListedTask[]) => void }): Promise<void> {
  watch.watch(vzclone(1), 'pve', () => undefined);
  if (startMs > 0) watch.watch(vzstart(101), 'pve', () => undefined, { name: 'A', othersWait: false });
  for (let t = 500; t <= cloneMs + 500; t += 500) {
    o.setListed([...(t <= cloneMs ? [{ upid: vzclone(1), status: 'RUNNING' }] : []), ...(t <= startMs ? [{ upid: vzstart(101), status: 'RUNNING' }] : [])]);
    o.setNow(t);
    await watch.tick(false);
  }
}

/** Counts the ticks made from here on, the watch's own timer's included; `onTick` sees each count. */
function countTicks(watch: TaskWatch, onTick: (ticks: number) => void = () => undefined): () => number {
  const tick = watch.tick.bind(watch);
  let ticks = 0;
  watch.tick = (all?: boolean, dueBy?: number) => {
    onTick(++ticks);
    return tick(all, dueBy);
  };
  return () => ticks;
}

// Most cases below teach the watch a duration by reading every tick (`unknownSpacing: 0`); the
// spacing of looks at a task of a kind not seen before has a case of its own.
describe('waiting for tasks with one list per node per tick', () => {
  it('reads each node once per tick whatever the number of waiters, and wakes exactly those whose task ended', async () => {
    const active = new Map<string, ListedTask[]>([['pve', [1, 2, 3].map((n) => ({ upid: upid('pve', n) }))], ['pve2', [{ upid: upid('pve2', 4) }]]]);
    const reads: string[] = [];
    const watch = new TaskWatch(async (node) => {
      reads.push(node);
      return active.get(node) ?? [];
    }, { tickMs: 1e9 });
    const woken: number[] = [];
    for (const n of [1, 2, 3]) watch.watch(upid('pve', n), 'pve', () => woken.push(n));
    watch.watch(upid('pve2', 4), 'pve2', () => woken.push(4));
    await watch.tick();
    assert.deepEqual(reads.sort(), ['pve', 'pve2']);
    assert.deepEqual(woken, []);
    // Task 1 ended and left the list; task 2 is listed with its exit status; task 3 runs, as
    // Proxmox lists a running task with source=all (status RUNNING).
    active.set('pve', [{ upid: upid('pve', 2), status: 'OK' }, { upid: upid('pve', 3), status: 'RUNNING' }]);
    await watch.tick();
    assert.deepEqual(woken.sort(), [1, 2]);
    assert.equal(watch.watching, 2);
    watch.close();
  });

  it('does not judge a task by a list asked for before the task was watched', async () => {
    let now = 1_000;
    let release!: (list: ListedTask[]) => void;
    const watch = new TaskWatch(() => new Promise((resolve) => (release = resolve)), { tickMs: 1e9, now: () => now });
    const woken: string[] = [];
    watch.watch(upid('pve', 1), 'pve', () => woken.push('old'));
    const tick = watch.tick();
    now = 2_000;
    watch.watch(upid('pve', 2), 'pve', () => woken.push('new'));
    release([]);
    await tick;
    assert.deepEqual(woken, ['old'], 'the new task is not in a list that predates it, yet it has not ended');
    watch.close();
  });

  it('wakes every waiter on a node whose list cannot be read, so each reads its own task', async () => {
    const watch = new TaskWatch(async () => {
      throw new Error('403 Permission check failed');
    }, { tickMs: 1e9 });
    const woken: number[] = [];
    watch.watch(upid('pve', 1), 'pve', () => woken.push(1));
    await watch.tick();
    assert.deepEqual(woken, [1]);
    watch.close();
  });

  it('leaves a node whose list failed to its waiters\' own reads for a while, instead of failing every tick', async () => {
    let now = 1_000;
    const reads: string[] = [];
    let failing = true;
    const watch = new TaskWatch(async (node) => {
      reads.push(node);
      if (failing && node === 'pve') throw new Error('500 Internal Server Error');
      return [{ upid: upid(node, 9), status: 'RUNNING' }];
    }, { tickMs: 1e9, now: () => now, unlistedMs: 30_000 });
    assert.equal(watch.watch(upid('pve', 1), 'pve', () => undefined), true);
    assert.equal(watch.watch(upid('pve2', 9), 'pve2', () => undefined), true);
    await watch.tick();
    assert.deepEqual(reads.sort(), ['pve', 'pve2']);
    // Woken to read its own task, the guest asks again: the node is not listed for now, and
    // the caller is told so (it polls its task itself); another node is listed as before.
    assert.equal(watch.watch(upid('pve', 1), 'pve', () => undefined), false);
    assert.equal(watch.watches(upid('pve', 1)), false);
    assert.equal(watch.watches(upid('pve2', 9)), true);
    now += 29_000;
    await watch.tick();
    assert.deepEqual(reads.sort(), ['pve', 'pve2', 'pve2'], 'the failing node was listed again within its pause');
    now += 1_000;
    failing = false;
    assert.equal(watch.watch(upid('pve', 2), 'pve', () => undefined), true, 'the node was not tried again after its pause');
    await watch.tick();
    assert.deepEqual(reads.sort(), ['pve', 'pve', 'pve2', 'pve2', 'pve2']);
    watch.close();
  });

  it('does not wait on a list that does not answer: its waiters are woken at the deadline, also one that came meanwhile', async () => {
    const lists: Promise<ListedTask[]>[] = [];
    let answer!: (list: ListedTask[]) => void;
    const watch = new TaskWatch((node) => {
      const list = new Promise<ListedTask[]>((resolve) => (answer = resolve));
      lists.push(list);
      return node === 'pve' ? list : Promise.resolve([]);
    }, { tickMs: 1e9, listDeadlineMs: 50 });
    const woken: number[] = [];
    watch.watch(upid('pve', 1), 'pve', () => woken.push(1));
    const tick = watch.tick();
    watch.watch(upid('pve', 2), 'pve', () => woken.push(2));
    // Without a deadline this waits for as long as the client's timeout (30 s in production).
    await tick;
    assert.deepEqual(woken.sort(), [1, 2]);
    assert.equal(watch.watch(upid('pve', 3), 'pve', () => woken.push(3)), false);
    // The answer that comes late changes nothing.
    answer([{ upid: upid('pve', 1), status: 'OK' }]);
    await lists[0];
    assert.equal(watch.takeOutcome(upid('pve', 1)), undefined);
    assert.deepEqual(woken.sort(), [1, 2]);
    watch.close();
  });

  it('hands the outcome the list showed to the waiter, once, with when it was last seen running and seen ended, and asks only for tasks since the oldest waiter started', async () => {
    const sinces: (number | undefined)[] = [];
    let listed: ListedTask[] = [{ upid: upid('pve', 1), status: 'RUNNING' }];
    let now = 10_000;
    const watch = new TaskWatch(async (_node, since) => {
      sinces.push(since);
      return listed;
    }, { tickMs: 1e9, now: () => now });
    let woken = 0;
    watch.watch(upid('pve', 1), 'pve', () => woken++);
    now = 10_500;
    await watch.tick();
    now = 11_700;
    assert.equal(woken, 0, 'RUNNING is a running task');
    assert.equal(watch.watches(upid('pve', 1)), true);
    listed = [{ upid: upid('pve', 1), status: 'unable to create CT 101 - no space left', endtime: 0x6955b905 }];
    await watch.tick();
    assert.equal(woken, 1);
    assert.equal(watch.watches(upid('pve', 1)), false);
    // Proxmox's endtime is on the node's clock; the bracket is on the watch's own.
    assert.deepEqual(watch.takeOutcome(upid('pve', 1)), { status: 'stopped', exitstatus: 'unable to create CT 101 - no space left', endtime: 0x6955b905, seenRunningAt: 10_500, seenEndedAt: 11_700 });
    assert.equal(watch.takeOutcome(upid('pve', 1)), undefined, 'handed over once');
    assert.deepEqual(sinces, [0x6955b900, 0x6955b900], 'since: the start the UPID names');
    watch.close();
  });

  it('hands over no time seen running for a task no list showed running: it may have ended before it was watched', async () => {
    let now = 10_000;
    const watch = new TaskWatch(async () => [{ upid: upid('pve', 1), status: 'OK', endtime: 0x6955b901 }], { tickMs: 1e9, now: () => now });
    watch.watch(upid('pve', 1), 'pve', () => undefined);
    now = 10_400;
    await watch.tick();
    assert.deepEqual(watch.takeOutcome(upid('pve', 1)), { status: 'stopped', exitstatus: 'OK', endtime: 0x6955b901, seenEndedAt: 10_400 });
    watch.close();
  });

  it('first looks at the same operation on the same guest near its estimated end, then a tenth of it apart', async () => {
    let now = 0;
    let running = true;
    let reads = 0;
    const watch = new TaskWatch(async () => {
      reads++;
      return running ? [{ upid: vzclone(1), status: 'RUNNING' }, { upid: vzclone(2), status: 'RUNNING' }] : [];
    }, { tickMs: 500, now: () => now, unknownSpacing: 0 });
    watch.watch(vzclone(1), 'pve', () => undefined);
    // Unknown kind: read every tick; it is seen running until 6 s, ended at 6.5 s: it took about 6.25 s.
    for (now = 500; now <= 6_000; now += 500) await watch.tick(false);
    assert.equal(reads, 12);
    running = false;
    await watch.tick(false);
    assert.equal(watch.watching, 0);
    // The next clone of the same template: nothing is due before 6.25 s have passed.
    const start = (now = 10_000);
    running = true;
    reads = 0;
    watch.watch(vzclone(2), 'pve', () => undefined);
    for (now = start + 250; now < start + 6_250; now += 250) await watch.tick(false);
    assert.equal(reads, 0, 'no read before such a clone is likely to have ended');
    now = start + 6_250;
    await watch.tick(false);
    assert.equal(reads, 1);
    // Still running: read again a tenth of the estimate later (625 ms), not a tick (500 ms) later.
    now = start + 6_750;
    await watch.tick(false);
    assert.equal(reads, 1);
    now = start + 6_875;
    await watch.tick(false);
    assert.equal(reads, 2);
    watch.close();
  });

  it('follows a long task after its first look a tenth of its estimate apart, at most 15 s, not every tick', async () => {
    let now = 0;
    let reads = 0;
    let endsAt = 600_000;
    const clone = (n: number) => `UPID:pve:0000${n}0AB:00000000:6955B900:qmclone:9000:root@pam:`;
    const watch = new TaskWatch(async () => {
      reads++;
      return [1, 2].map((n) => ({ upid: clone(n), status: now >= endsAt ? 'OK' : 'RUNNING' }));
    }, { tickMs: 500, now: () => now });
    // A first clone of ten minutes teaches the estimate.
    watch.watch(clone(1), 'pve', () => undefined);
    for (now = 100; watch.watching > 0; now += 100) await watch.tick(false);
    // The next takes 20% longer: after its first look, near 10 minutes, every tick would be 240
    // reads; a tenth of the estimate (a minute, held to 15 s) is eight.
    const start = (now = 1_000_000);
    endsAt = start + 720_000;
    let wokenAt: number | undefined;
    watch.watch(clone(2), 'pve', () => (wokenAt = now));
    reads = 0;
    for (; watch.watching > 0 && now < start + 800_000; now += 100) await watch.tick(false);
    assert.ok(wokenAt !== undefined && wokenAt - endsAt <= 15_000, `ended at ${endsAt - start} ms, woken at ${(wokenAt ?? NaN) - start} ms`);
    assert.ok(reads <= 10, `${reads} reads for a clone 20% longer than the estimate`);
    watch.close();
  });

  it('a start on the same node does not bring a clone\'s first look forward, and the first start of a guest waits for its type\'s estimate', async () => {
    let now = 0;
    let listed: ListedTask[] = [];
    let reads = 0;
    const watch = new TaskWatch(async () => {
      reads++;
      return listed;
    }, { tickMs: 500, now: () => now, unknownSpacing: 0 });
    // Learn: a clone seen running until 6 s, a start of guest 101 until 1.5 s.
    watch.watch(vzclone(1), 'pve', () => undefined);
    watch.watch(vzstart(101), 'pve', () => undefined);
    listed = [{ upid: vzclone(1), status: 'RUNNING' }, { upid: vzstart(101), status: 'RUNNING' }];
    for (now = 500; now <= 1_500; now += 500) await watch.tick(false);
    listed = [{ upid: vzclone(1), status: 'RUNNING' }];
    for (; now <= 6_000; now += 500) await watch.tick(false);
    listed = [];
    await watch.tick(false);
    assert.equal(watch.watching, 0);
    // A clone and the first start of another guest: the start is due after 1.5 s (its type's
    // lower bound), the clone after 6.25 s, and the start's reads do not move the clone's.
    reads = 0;
    const at = (now = 10_000);
    watch.watch(vzclone(2), 'pve', () => undefined);
    watch.watch(vzstart(102), 'pve', () => undefined);
    listed = [{ upid: vzclone(2), status: 'RUNNING' }, { upid: vzstart(102), status: 'RUNNING' }];
    for (now = at + 250; now < at + 1_500; now += 250) await watch.tick(false);
    assert.equal(reads, 0);
    now = at + 1_500;
    await watch.tick(false);
    assert.equal(reads, 1);
    listed = [{ upid: vzclone(2), status: 'RUNNING' }];
    now = at + 2_000;
    await watch.tick(false);
    assert.equal(reads, 2);
    assert.equal(watch.watching, 1, 'the start ended; the clone runs');
    for (now = at + 2_250; now < at + 6_250; now += 250) await watch.tick(false);
    assert.equal(reads, 2, 'the clone is not looked at before its estimate');
    now = at + 6_250;
    await watch.tick(false);
    assert.equal(reads, 3);
    watch.close();
  });

  it('puts a look at a start off to the next clone\'s look by at most a tenth of the time its guest has been converging', async () => {
    let now = 0;
    let listed: ListedTask[] = [];
    let reads = 0;
    const watch = new TaskWatch(async () => {
      reads++;
      return listed;
    }, { tickMs: 500, now: () => now, unknownSpacing: 0, warmupSamples: 1 });
    const woken: string[] = [];
    // Learn: a clone seen running until 6 s, ended by 6.5 s (first looked at 6.25 s from then on);
    // a start of guest 101 (only it waits) seen running until 1.5 s, ended by 2 s (1.5 s for its type).
    await learnCloneAndStart(watch, 6_000, 1_500, { setNow: (t) => (now = t), setListed: (l) => (listed = l) });
    assert.equal(watch.watching, 0);
    // The next clone and the start of guest 102, converging for 60 s when it was sent: the start's
    // look (due at 1.75 s) may wait 6 s, and waits for the clone's at 6.25 s.
    const at = (now = 100_000);
    reads = 0;
    watch.watch(vzclone(2), 'pve', () => woken.push('clone'));
    watch.watch(vzstart(102), 'pve', () => woken.push('start 102'), { name: 'A', othersWait: false, convergingForMs: 60_000 });
    listed = [{ upid: vzclone(2), status: 'RUNNING' }];
    assert.equal(watch.nextLookInMs(vzstart(102)), 6_250, 'the guard sees when the start will be looked at');
    for (now = at + 250; now < at + 6_250; now += 250) await watch.tick(false);
    assert.equal(reads, 0, 'no read of its own for the start');
    // That read finds the clone ended and the start still running; the next, due a tick later, the
    // start ended. A look put off teaches nothing: still running there, the start would have
    // raised its family's estimate (to 1.9 s) as if it had been looked at when due.
    listed = [{ upid: vzstart(102), status: 'RUNNING' }];
    now = at + 6_250;
    await watch.tick(false);
    assert.equal(reads, 1);
    assert.deepEqual(woken.splice(0), ['clone']);
    listed = [];
    now = at + 6_750;
    await watch.tick(false);
    assert.equal(reads, 2);
    assert.deepEqual(woken.splice(0), ['start 102']);
    // A guest converging for 10 s may wait 1 s only: its start is looked at on its own, when due.
    const again = (now = 200_000);
    reads = 0;
    watch.watch(vzclone(3), 'pve', () => woken.push('clone'));
    watch.watch(vzstart(103), 'pve', () => woken.push('start 103'), { name: 'A', othersWait: false, convergingForMs: 10_000 });
    listed = [{ upid: vzclone(3), status: 'RUNNING' }];
    for (now = again + 250; now <= again + 2_000 && reads === 0; now += 250) await watch.tick(false);
    assert.equal(reads, 1);
    assert.equal(now - 250 - again, 1_750, 'at the family\'s estimate, unmoved by the look put off');
    assert.deepEqual(woken.splice(0), ['start 103']);
    listed = [];
    now = again + 6_250;
    await watch.tick(false);
    assert.deepEqual(woken.splice(0), ['clone']);
    // And a start with no clone on its node is looked at when due, however long its guest waited.
    const alone = (now = 300_000);
    reads = 0;
    listed = [];
    watch.watch(vzstart(104), 'pve', () => woken.push('start 104'), { name: 'A', othersWait: false, convergingForMs: 600_000 });
    for (now = alone + 250; now <= alone + 2_000 && reads === 0; now += 250) await watch.tick(false);
    assert.equal(now - 250 - alone, 1_750);
    assert.deepEqual(woken.splice(0), ['start 104']);
    watch.close();
  });

  it('does not put off a start of a kind not seen to end yet: it teaches the estimate the next ones are looked at by', async () => {
    let now = 0;
    let listed: ListedTask[] = [];
    let reads = 0;
    const watch = new TaskWatch(async () => {
      reads++;
      return listed;
    }, { tickMs: 500, now: () => now, unknownSpacing: 0, warmupSamples: 1 });
    // Learn a clone of 6 s (first looked at 6.25 s); no start has been seen.
    await learnCloneAndStart(watch, 6_000, 0, { setNow: (t) => (now = t), setListed: (l) => (listed = l) });
    // The next clone, and the first start, of a guest converging for 10 minutes: the start is
    // looked at every tick while young (not at the clone's look), seen running until 1.5 s.
    const at = (now = 100_000);
    watch.watch(vzclone(2), 'pve', () => undefined);
    watch.watch(vzstart(102), 'pve', () => undefined, { name: 'A', othersWait: false, convergingForMs: 600_000 });
    listed = [{ upid: vzclone(2), status: 'RUNNING' }, { upid: vzstart(102), status: 'RUNNING' }];
    reads = 0;
    for (now = at + 500; now <= at + 1_500; now += 500) await watch.tick(false);
    assert.equal(reads, 3);
    listed = [{ upid: vzclone(2), status: 'RUNNING' }];
    now = at + 2_000;
    await watch.tick(false);
    assert.equal(watch.watches(vzstart(102)), false);
    // Learned: the next start of the family is first looked at 1.75 s after it was sent, not every tick.
    listed = [];
    now = at + 10_000;
    await watch.tick(false);
    assert.equal(watch.watching, 0);
    const next = (now = at + 20_000);
    watch.watch(vzstart(103), 'pve', () => undefined, { name: 'A', othersWait: false });
    reads = 0;
    for (now = next + 250; reads === 0 && now <= next + 3_000; now += 250) await watch.tick(false);
    assert.equal(now - 250 - next, 1_750);
    watch.close();
  });

  it('puts a look at a start off no further than 15 s after it was last seen running, so the guard finds it followed', async () => {
    let now = 0;
    let listed: ListedTask[] = [];
    let reads = 0;
    const watch = new TaskWatch(async () => {
      reads++;
      return listed;
    }, { tickMs: 500, now: () => now, unknownSpacing: 0, warmupSamples: 1 });
    // Learn: a clone of 20 s (first looked at 20.25 s), a start of guest 101 of 1.5 s (1.75 s).
    await learnCloneAndStart(watch, 20_000, 1_500, { setNow: (t) => (now = t), setListed: (l) => (listed = l) });
    assert.equal(watch.watching, 0);
    // A clone first looked at 17 s from the start below, which may wait 15 s. Its first look (1.75 s)
    // is its own: 17 s is more than 15 s after the watch began. Still running then, its next look
    // (2.25 s) may not wait for the clone either: that would be 15.25 s after it was seen running.
    const at = (now = 100_000);
    watch.watch(vzclone(2), 'pve', () => undefined);
    now = at + 3_250;
    watch.watch(vzstart(102), 'pve', () => undefined, { name: 'A', othersWait: false, convergingForMs: 600_000 });
    listed = [{ upid: vzclone(2), status: 'RUNNING' }, { upid: vzstart(102), status: 'RUNNING' }];
    reads = 0;
    const startAt = now;
    for (; now < startAt + 1_750; now += 250) await watch.tick(false);
    assert.equal(reads, 0);
    await watch.tick(false);
    assert.equal(reads, 1, 'its first look, when due');
    assert.equal(watch.nextLookInMs(vzstart(102)), 500);
    for (now += 250; now < startAt + 2_250; now += 250) await watch.tick(false);
    assert.equal(reads, 1);
    listed = [{ upid: vzclone(2), status: 'RUNNING' }];
    await watch.tick(false);
    assert.equal(reads, 2, 'its next look on its own too, not 15.25 s after it was seen running');
    assert.equal(watch.watching, 1);
    watch.close();
  });

  it('arms its timer for the read a put-off look waits for, with no empty ticks before it (real timers)', async () => {
    const ends = new Map<string, number>();
    let reads = 0;
    const watch = new TaskWatch(async () => {
      reads++;
      const now = Date.now();
      return [...ends].map(([upid, end]) => (now < end ? { upid, status: 'RUNNING' } : { upid, status: 'OK' }));
    }, { tickMs: 50, unknownSpacing: 0, warmupSamples: 1 });
    const ended = (upid: string, family?: { name: string; othersWait: boolean; convergingForMs?: number }) =>
      new Promise<number>((resolve) => watch.watch(upid, 'pve', () => resolve(Date.now()), family));
    // Learn: a clone of 750 ms and a start of 150 ms, read every tick. An end is learned only when
    // found within two ticks of the read that last saw it running: ticks long enough that a
    // loaded machine's stalls rarely spoil that.
    let t = Date.now();
    ends.set(vzclone(1), t + 750).set(vzstart(101), t + 150);
    await Promise.all([ended(vzclone(1)), ended(vzstart(101), { name: 'A', othersWait: false })]);
    ends.clear();
    // Count the ticks the watch's own timer makes from here.
    const ticks = countTicks(watch);
    reads = 0;
    t = Date.now();
    ends.set(vzclone(2), t + 750).set(vzstart(102), t + 150);
    const [cloneEnd, startEnd] = await Promise.all([ended(vzclone(2)), ended(vzstart(102), { name: 'A', othersWait: false, convergingForMs: 60_000 })]);
    assert.ok(startEnd - t >= 625, `the start was put off to the clone's first look (seen after ${startEnd - t} ms, the clone after ${cloneEnd - t} ms)`);
    assert.ok(ticks() <= reads + 2, `${ticks()} ticks for ${reads} reads`);
    watch.close();
  });

  it('reads when its timer fires, though the clock shows less time passed than the timer waited (real timers)', async () => {
    // Node's timers may fire a millisecond before Date.now() reaches their time; this clock stands
    // still, so every firing is early by the whole wait.
    let reads = 0;
    let settle: () => void = () => undefined;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    const watch = new TaskWatch(async () => {
      reads++;
      settle();
      return [{ upid: vzclone(1), status: 'RUNNING' }];
    }, { tickMs: 20, now: () => 0 });
    const ticks = countTicks(watch, (n) => n === 3 && settle());
    watch.watch(vzclone(1), 'pve', () => undefined);
    await settled;
    watch.close();
    assert.deepEqual({ ticks: ticks(), reads }, { ticks: 1, reads: 1 }, 'the first firing of the timer reads the node');
  });

  it('looks at the start of a guest of a known family when most of the family\'s starts have ended; other starts by their type', async () => {
    let now = 0;
    let listed: ListedTask[] = [];
    let reads = 0;
    const watch = new TaskWatch(async () => {
      reads++;
      return listed;
    // One task sets each estimate, so the steps that follow are the quantile's alone (the mean
    // of the first few is its own case below).
    }, { tickMs: 500, now: () => now, unknownSpacing: 0, warmupSamples: 1 });
    const firstRead = (upid: string, from: number): Promise<number> => firstReadAfter(watch, upid, from, { stepMs: 50, withinMs: 20_000, setNow: (t) => (now = t), reads: () => reads });
    // Learn: a start of family A seen running every tick until 1.5 s, ended by 2 s. Its type's
    // estimate is the lower bound, 1.5 s; its family's the middle, 1.75 s.
    watch.watch(vzstart(101), 'pve', () => undefined, { name: 'A', othersWait: false });
    listed = [{ upid: vzstart(101), status: 'RUNNING' }];
    for (now = 500; now <= 1_500; now += 500) await watch.tick(false);
    listed = [];
    now = 2_000;
    await watch.tick(false);
    assert.equal(watch.watching, 0);
    // Another of family A: first looked at 1.75 s, not 1.5 s. Still running there: the family's
    // estimate goes up by nine tenths of a tenth (157.5 ms, to 1.9075 s), the type's by a third
    // of a tenth (50 ms, to 1.55 s).
    now = 10_000;
    watch.watch(vzstart(102), 'pve', () => undefined, { name: 'A', othersWait: false });
    listed = [{ upid: vzstart(102), status: 'RUNNING' }];
    assert.equal(await firstRead(vzstart(102), 10_000), 1_750);
    listed = [];
    now += 500;
    await watch.tick(false);
    assert.equal(watch.watching, 0);
    // A guest of another family, and one with none: their type's estimate.
    now = 20_000;
    watch.watch(vzstart(103), 'pve', () => undefined, { name: 'B', othersWait: false });
    assert.equal(await firstRead(vzstart(103), 20_000), 1_550);
    // That one had ended by its first look: the type's estimate went down by two thirds of a
    // tenth, to 1.4467 s; the family's did not move.
    now = 30_000;
    watch.watch(vzstart(104), 'pve', () => undefined);
    assert.equal(await firstRead(vzstart(104), 30_000), 1_450);
    now = 40_000;
    watch.watch(vzstart(105), 'pve', () => undefined, { name: 'A', othersWait: false });
    assert.equal(await firstRead(vzstart(105), 40_000), 1_950, 'the first tick step at or after 1.9075 s');
    watch.close();
  });

  it('looks at the create of a guest of a known family, which others wait for, when half of the family\'s creates have ended', async () => {
    let now = 0;
    let listed: ListedTask[] = [];
    let reads = 0;
    // A create's UPID names the new guest: no two are the same operation.
    const create = (vmid: number) => `UPID:pve:000090AB:00000000:6955B900:vzcreate:${vmid}:root@pam:`;
    const watch = new TaskWatch(async () => {
      reads++;
      return listed;
    }, { tickMs: 500, now: () => now, unknownSpacing: 0 });
    const family = { name: 'debian-12 archive, 1 GiB', othersWait: true };
    // Learn: seen running every tick until 8 s, ended by 8.5 s: the family's estimate is the
    // middle, 8.25 s; the type's the lower bound, 8 s.
    watch.watch(create(101), 'pve', () => undefined, family);
    listed = [{ upid: create(101), status: 'RUNNING' }];
    for (now = 500; now <= 8_000; now += 500) await watch.tick(false);
    listed = [];
    now = 8_500;
    await watch.tick(false);
    assert.equal(watch.watching, 0);
    now = 10_000;
    reads = 0;
    watch.watch(create(102), 'pve', () => undefined, family);
    for (; now < 10_000 + 8_250; now += 50) await watch.tick(false);
    assert.equal(reads, 0, 'not looked at before the family\'s estimate');
    await watch.tick(false);
    assert.equal(reads, 1);
    assert.equal(watch.watching, 0);
    watch.close();
  });

  it('says in how long it means to look at a task next: ahead while it reads as planned, overdue once it stops', async () => {
    let now = 0;
    const running = `UPID:pve:000090AB:00000000:6955B900:qmclone:9000:root@pam:`;
    const watch = new TaskWatch(async () => [{ upid: running, status: 'RUNNING' }], { tickMs: 500, now: () => now });
    assert.equal(watch.nextLookInMs(running), undefined);
    watch.watch(running, 'pve', () => undefined);
    now = 400;
    assert.equal(watch.nextLookInMs(running), 100);
    now = 500;
    await watch.tick(false);
    now = 700;
    assert.equal(watch.nextLookInMs(running), 300, 'read at 0.5 s, the next look a tick later');
    now = 13_000;
    assert.equal(watch.nextLookInMs(running), -12_000, 'no read since: the look planned at 1 s is 12 s overdue');
    watch.close();
    assert.equal(watch.nextLookInMs(running), undefined);
  });

  it('looks at a task of a kind never seen to end at most 15 s apart, however old', async () => {
    let now = 0;
    const readsAt: number[] = [];
    const running = `UPID:pve:000090AB:00000000:6955B900:qmclone:9000:root@pam:`;
    const watch = new TaskWatch(async () => {
      readsAt.push(now);
      return [{ upid: running, status: 'RUNNING' }];
    }, { tickMs: 500, now: () => now });
    watch.watch(running, 'pve', () => undefined);
    for (now = 0; now <= 300_000; now += 250) await watch.tick(false);
    const gaps = readsAt.slice(1).map((t, i) => t - readsAt[i]!);
    assert.equal(Math.max(...gaps), 15_000);
    assert.ok(readsAt.length < 40, `${readsAt.length} reads in 5 minutes`);
    watch.close();
  });

  it('halves an estimate a task took less than half of, by Proxmox\'s own times: one slow start does not make its family\'s late for long', async () => {
    let now = 0;
    let listed: ListedTask[] = [];
    let reads = 0;
    const startedAt = parseInt('6955B900', 16);
    const watch = new TaskWatch(async () => {
      reads++;
      return listed;
    }, { tickMs: 500, now: () => now, unknownSpacing: 0 });
    const family = { name: 'A', othersWait: false };
    const firstRead = (upid: string, from: number): Promise<number> => firstReadAfter(watch, upid, from, { stepMs: 50, withinMs: 60_000, setNow: (t) => (now = t), reads: () => reads });
    // One slow start, seen running every tick until 20 s, ended by 20.5 s: the family's estimate is 20.25 s.
    watch.watch(vzstart(101), 'pve', () => undefined, family);
    listed = [{ upid: vzstart(101), status: 'RUNNING' }];
    for (now = 500; now <= 20_000; now += 500) await watch.tick(false);
    listed = [{ upid: vzstart(101), status: 'OK', endtime: startedAt + 20 }];
    now = 20_500;
    await watch.tick(false);
    // The next ones take 3 s (the list shows them ended, 3 s after they began).
    const quick = async (vmid: number, from: number): Promise<number> => {
      now = from;
      watch.watch(vzstart(vmid), 'pve', () => undefined, family);
      listed = [{ upid: vzstart(vmid), status: 'OK', endtime: startedAt + 3 }];
      return firstRead(vzstart(vmid), from);
    };
    assert.equal(await quick(102, 100_000), 20_250);
    assert.equal(await quick(103, 200_000), 10_150, 'took at most 4 s: halved, to 10.125 s');
    assert.equal(await quick(104, 300_000), 5_100, 'halved again, to 5.0625 s');
    assert.equal(await quick(105, 400_000), 5_050, 'no longer twice 4 s: the usual step down, to 5.0119 s');
    watch.close();
  });

  it('looks at a task of a kind not seen to end before every tick while young, then at a quarter of its age, and learns from that end', async () => {
    let now = 0;
    let listed: ListedTask[] = [];
    const readsAt: number[] = [];
    const watch = new TaskWatch(async () => {
      readsAt.push(now);
      return listed;
    }, { tickMs: 500, now: () => now });
    watch.watch(vzclone(1), 'pve', () => undefined);
    listed = [{ upid: vzclone(1), status: 'RUNNING' }];
    // The clone ends at 7 s; the watch is given every chance to read (every 25 ms).
    for (now = 0; now <= 8_000 && watch.watches(vzclone(1)); now += 25) {
      if (now >= 7_000) listed = [];
      await watch.tick(false);
    }
    // Every tick until 2 s, then a quarter of the age at the last look after it (on the test's 25 ms steps).
    assert.deepEqual(readsAt, [500, 1_000, 1_500, 2_000, 2_500, 3_125, 3_925, 4_925, 6_175, 7_725]);
    // Its end is known within a quarter of its age: the next clone of the template is first looked at the middle, 6.95 s.
    readsAt.length = 0;
    const at = (now = 20_000);
    watch.watch(vzclone(2), 'pve', () => undefined);
    listed = [{ upid: vzclone(2), status: 'RUNNING' }];
    for (; now <= at + 9_000 && readsAt.length < 3; now += 25) await watch.tick(false);
    assert.deepEqual(readsAt.map((t) => t - at), [6_950, 7_650, 8_350], 'then a tenth of the estimate (695 ms) apart: the kind is known');
    watch.close();
  });

  it('remembers the durations of the 2,000 operations learned last, not of every guest it ever saw', async () => {
    let now = 0;
    let listed: ListedTask[] = [];
    let reads = 0;
    const stop = (vmid: number) => `UPID:pve:000090AB:00000000:6955B900:vzstop:${vmid}:root@pam:`;
    const watch = new TaskWatch(async () => {
      reads++;
      return listed;
    }, { tickMs: 500, now: () => now, unknownSpacing: 0 });
    const learn = async (upid: string, runningFor: number): Promise<void> => {
      const from = now;
      watch.watch(upid, 'pve', () => undefined);
      listed = [{ upid, status: 'RUNNING' }];
      for (now = from + 500; now <= from + runningFor; now += 500) await watch.tick();
      listed = [];
      await watch.tick();
      assert.ok(!watch.watches(upid));
      now += 10_000;
    };
    const firstRead = async (upid: string): Promise<number> => {
      const from = now;
      watch.watch(upid, 'pve', () => undefined);
      listed = [{ upid, status: 'RUNNING' }];
      for (; now < from + 20_000; now += 50) {
        const before = reads;
        await watch.tick(false);
        if (reads > before) return now - from;
      }
      return -1;
    };
    // Guest 1's start: seen running until 1.5 s, ended by 2 s: its own estimate 1.75 s.
    await learn(vzstart(1), 1_500);
    // Then the stops of 2,000 other guests, each its own operation (0.75 s).
    for (let vmid = 2; vmid <= 2_001; vmid++) await learn(stop(vmid), 500);
    assert.equal(await firstRead(vzstart(1)), 500, 'guest 1\'s start, and starts on the node, are forgotten: read at the first tick');
    listed = [];
    await watch.tick();
    now += 10_000;
    assert.equal(await firstRead(stop(2_001)), 750, 'the last stop learned is remembered');
    watch.close();
  });

  it('moves an operation\'s estimate up for a task still running at it, down as much for one ended by it', async () => {
    let now = 0;
    let listed: ListedTask[] = [];
    let reads = 0;
    const watch = new TaskWatch(async () => {
      reads++;
      return listed;
    // One task sets each estimate, so the steps that follow are the quantile's alone (the mean
    // of the first few is its own case below).
    }, { tickMs: 500, now: () => now, unknownSpacing: 0, warmupSamples: 1 });
    const firstRead = (upid: string, from: number): Promise<number> => firstReadAfter(watch, upid, from, { stepMs: 100, withinMs: 20_000, setNow: (t) => (now = t), reads: () => reads });
    // Learn: a clone seen running every tick until 6 s, ended at 6.5 s: estimate 6.25 s.
    watch.watch(vzclone(1), 'pve', () => undefined);
    listed = [{ upid: vzclone(1), status: 'RUNNING' }];
    for (now = 500; now <= 6_000; now += 500) await watch.tick(false);
    listed = [];
    now = 6_500;
    await watch.tick(false);
    // Still running at its first look (6.3 s), ended by the next (a tenth of the estimate later):
    // 6.25 s was too early, up by 5 %.
    now = 20_000;
    watch.watch(vzclone(3), 'pve', () => undefined);
    listed = [{ upid: vzclone(3), status: 'RUNNING' }];
    assert.equal(await firstRead(vzclone(3), 20_000), 6_300);
    listed = [];
    now = 26_925;
    await watch.tick(false);
    assert.equal(watch.watching, 0);
    // 6.5625 s now; this one had ended by then: down by 5 % of it.
    now = 30_000;
    watch.watch(vzclone(4), 'pve', () => undefined);
    assert.equal(await firstRead(vzclone(4), 30_000), 6_600);
    now = 40_000;
    watch.watch(vzclone(5), 'pve', () => undefined);
    assert.equal(await firstRead(vzclone(5), 40_000), 6_300, '6.234 s');
    watch.close();
  });

  it('after two clones of one template ended one after another, looks at the rest a learned gap after each end, not every tick', async () => {
    let now = 0;
    let reads = 0;
    // Five clones of template 9000 queued on one storage: they end 4 s apart.
    const clone = (n: number) => `UPID:pve:0000${n}0AB:00000000:6955B900:qmclone:9000:root@pam:`;
    const endsAt = (n: number) => n * 4_000;
    const watch = new TaskWatch(async () => {
      reads++;
      return [1, 2, 3, 4, 5].map((n) => ({ upid: clone(n), status: endsAt(n) <= now ? 'OK' : 'RUNNING' }));
    }, { tickMs: 500, now: () => now, unknownSpacing: 0 });
    const wokenAt = new Map<number, number>();
    for (const n of [1, 2, 3, 4, 5]) watch.watch(clone(n), 'pve', () => wokenAt.set(n, now));
    for (now = 100; now <= 8_000; now += 100) await watch.tick(false);
    assert.deepEqual([...wokenAt.keys()], [1, 2]);
    const readsBefore = reads;
    for (; watch.watching > 0 && now < 30_000; now += 100) await watch.tick(false);
    assert.equal(watch.watching, 0);
    // Every tick from 8 s to 20 s would be 24 reads; a look at each expected end and a tick after it, 6.
    assert.ok(reads - readsBefore <= 6, `${reads - readsBefore} reads for the last three clones`);
    for (const n of [3, 4, 5]) assert.ok(wokenAt.get(n)! - endsAt(n) <= 500, `clone ${n} ended at ${endsAt(n)} ms, woken at ${wokenAt.get(n)} ms`);
    watch.close();
  });
  it('learns the gap between queued clones from the mean of its first few ends, though the first reads short', async () => {
    let now = 0;
    let reads = 0;
    // Ten clones of template 9000 sent together, queued on one storage: the first ends at 9 s,
    // the others 2.8 s and 4.4 s apart in turn (the simulator's jitter is ±20%). The first clone is a kind never seen to end, looked
    // at a quarter of its age apart, so its end is found well after it and the first gap, counted
    // from there, reads about half the real one.
    const clone = (n: number) => `UPID:pve:0000${n.toString(16)}0AB:00000000:6955B900:qmclone:9000:root@pam:`;
    const ends = [9_000];
    for (let n = 1; n < 10; n++) ends.push(ends[n - 1]! + (n % 2 ? 2_800 : 4_400));
    const watch = new TaskWatch(async () => {
      reads++;
      return ends.map((end, i) => ({ upid: clone(i + 1), status: end <= now ? 'OK' : 'RUNNING' }));
    }, { tickMs: 500, now: () => now });
    const wokenAt = new Map<number, number>();
    for (let n = 1; n <= 10; n++) watch.watch(clone(n), 'pve', () => wokenAt.set(n, now));
    for (now = 100; wokenAt.size < 3; now += 100) await watch.tick(false);
    const readsBefore = reads;
    for (; watch.watching > 0 && now < 60_000; now += 100) await watch.tick(false);
    assert.equal(watch.watching, 0);
    // Seven ends: a look near each and a tick or two after it is 7 to 21 reads. With the short
    // first gap only nudged up a tenth at a time, the ends cost a read per look from the short
    // gap on: 20 reads (25 when looks after the first were also every tick).
    assert.ok(reads - readsBefore <= 18, `${reads - readsBefore} reads for the last seven clones`);
    // Looked at near the mean gap, a clone that followed its sibling sooner is found up to the
    // difference late (0.8 s here): only its own guest waits, the queue was sent long before.
    for (let n = 4; n <= 10; n++) assert.ok(wokenAt.get(n)! - ends[n - 1]! <= 1_000, `clone ${n} ended at ${ends[n - 1]} ms, woken at ${wokenAt.get(n)} ms`);
    watch.close();
  });

  it('learns the gap between long queued clones too, whose looks are a tenth of their duration apart', async () => {
    let now = 0;
    // A clone of 20 s alone teaches the duration; then five queued on one storage end 5 s apart.
    // Looked at every 2 s (a tenth of 20 s), their ends are located within 2 s: close enough to
    // learn the 5 s gap from, which a bracket of two ticks never was (the next look then came
    // 2 s after an end, as for a clone queued behind nothing).
    const clone = (n: number) => `UPID:pve:0000${n.toString(16)}0AB:00000000:6955B900:qmclone:9000:root@pam:`;
    const ends = new Map<number, number>([[1, 20_000]]);
    const watch = new TaskWatch(async () => [...ends].map(([n, end]) => ({ upid: clone(n), status: end <= now ? 'OK' : 'RUNNING' })), { tickMs: 500, now: () => now });
    watch.watch(clone(1), 'pve', () => undefined);
    for (now = 100; watch.watching > 0; now += 100) await watch.tick(false);
    const start = (now = 100_000);
    for (let n = 2; n <= 6; n++) {
      ends.set(n, start + 20_000 + (n - 2) * 5_000);
      watch.watch(clone(n), 'pve', () => undefined);
    }
    // Until the third of the batch (clone 4) has ended, then right after the read that found it.
    for (; watch.watches(clone(4)) && now < start + 60_000; now += 100) await watch.tick(false);
    const nextLook = watch.nextLookInMs(clone(5))!;
    assert.ok(nextLook >= 3_000 && nextLook <= 6_000, `the next sibling is looked at in ${nextLook} ms; its end is a gap (5 s) after the last`);
    watch.close();
  });

  it('does not take the time a queued clone waited for its turn as how long a clone takes', async () => {
    let now = 0;
    // Two batches of five clones of one template, each queued on one storage: the first of a
    // batch takes 10 s, the others end 5 s apart after it. As warm-up samples, 15, 20 and 25 s
    // put the second batch's first look near 17.5 s and its first clone was seen 8.8 s after its
    // end, holding the clone's source and create slot that long. Each queued end still nudges
    // the estimate a step, as before the warm-up existed (3.6 s late here).
    const clone = (n: number) => `UPID:pve:0000${n.toString(16)}0AB:00000000:6955B900:qmclone:9000:root@pam:`;
    const ends = new Map<number, number>();
    const watch = new TaskWatch(async () => [...ends].map(([n, end]) => ({ upid: clone(n), status: end <= now ? 'OK' : 'RUNNING' })), { tickMs: 500, now: () => now });
    const wokenAt = new Map<number, number>();
    for (const [batch, start] of [[0, 0], [1, 100_000]] as const) {
      now = start;
      for (let i = 1; i <= 5; i++) {
        const n = batch * 5 + i;
        ends.set(n, start + 10_000 + (i - 1) * 5_000);
        watch.watch(clone(n), 'pve', () => wokenAt.set(n, now));
      }
      for (; watch.watching > 0 && now < start + 60_000; now += 100) await watch.tick(false);
    }
    const late = wokenAt.get(6)! - ends.get(6)!;
    assert.ok(late <= 5_000, `the second batch's first clone ended at 10 s and was seen ${late} ms later`);
    watch.close();
  });

  it('does the same for the creates of one family, whose UPIDs each name their own new guest', async () => {
    let now = 0;
    let reads = 0;
    // Five containers from one archive queued on one storage: they end 4 s apart.
    const create = (n: number) => `UPID:pve:0000${n}0AB:00000000:6955B900:vzcreate:${100 + n}:root@pam:`;
    const endsAt = (n: number) => n * 4_000;
    const watch = new TaskWatch(async () => {
      reads++;
      return [1, 2, 3, 4, 5].map((n) => ({ upid: create(n), status: endsAt(n) <= now ? 'OK' : 'RUNNING' }));
    }, { tickMs: 500, now: () => now, unknownSpacing: 0 });
    const family = { name: 'debian-12 archive, 2 GiB', othersWait: true };
    const wokenAt = new Map<number, number>();
    for (const n of [1, 2, 3, 4, 5]) watch.watch(create(n), 'pve', () => wokenAt.set(n, now), family);
    for (now = 100; now <= 8_000; now += 100) await watch.tick(false);
    assert.deepEqual([...wokenAt.keys()], [1, 2]);
    const readsBefore = reads;
    for (; watch.watching > 0 && now < 30_000; now += 100) await watch.tick(false);
    assert.equal(watch.watching, 0);
    assert.ok(reads - readsBefore <= 6, `${reads - readsBefore} reads for the last three creates`);
    for (const n of [3, 4, 5]) assert.ok(wokenAt.get(n)! - endsAt(n) <= 500, `create ${n} ended at ${endsAt(n)} ms, woken at ${wokenAt.get(n)} ms`);
    watch.close();
  });
});
