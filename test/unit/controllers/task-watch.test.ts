import { strict as assert } from 'node:assert';
import { TaskWatch, type ListedTask } from '../../../src/controllers/hypervisor/task-watch.ts';

const upid = (node: string, n: number) => `UPID:${node}:0000${n}0AB:00000000:6955B900:qmclone:${n}:root@pam:`;

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

  it('hands the outcome the list showed to the waiter, once, and asks only for tasks since the oldest waiter started', async () => {
    const sinces: (number | undefined)[] = [];
    let listed: ListedTask[] = [{ upid: upid('pve', 1), status: 'RUNNING' }];
    const watch = new TaskWatch(async (_node, since) => {
      sinces.push(since);
      return listed;
    }, { tickMs: 1e9 });
    let woken = 0;
    watch.watch(upid('pve', 1), 'pve', () => woken++);
    await watch.tick();
    assert.equal(woken, 0, 'RUNNING is a running task');
    assert.equal(watch.watches(upid('pve', 1)), true);
    listed = [{ upid: upid('pve', 1), status: 'unable to create CT 101 - no space left', endtime: 0x6955b905 }];
    await watch.tick();
    assert.equal(woken, 1);
    assert.equal(watch.watches(upid('pve', 1)), false);
    assert.deepEqual(watch.takeOutcome(upid('pve', 1)), { status: 'stopped', exitstatus: 'unable to create CT 101 - no space left', endtime: 0x6955b905 });
    assert.equal(watch.takeOutcome(upid('pve', 1)), undefined, 'handed over once');
    assert.deepEqual(sinces, [0x6955b900, 0x6955b900], 'since: the start the UPID names');
    watch.close();
  });

  it('does not read for a task of a kind seen before until the shortest such task took, then every tick', async () => {
    let now = 0;
    let running = true;
    let reads = 0;
    const clone = (n: number) => `UPID:pve:0000${n}0AB:00000000:6955B900:vzclone:9100:root@pam:`;
    const watch = new TaskWatch(async () => {
      reads++;
      return running ? [{ upid: clone(1), status: 'RUNNING' }, { upid: clone(2), status: 'RUNNING' }] : [];
    }, { tickMs: 500, now: () => now });
    watch.watch(clone(1), 'pve', () => undefined);
    // Unknown kind: read every tick; it is seen running until 6 s, ended at 6.5 s.
    for (now = 500; now <= 6_000; now += 500) await watch.tick(false);
    assert.equal(reads, 12);
    running = false;
    await watch.tick(false);
    assert.equal(watch.watching, 0);
    // The next clone of the same template: nothing is due before 6 s have passed.
    const start = (now = 10_000);
    running = true;
    reads = 0;
    watch.watch(clone(2), 'pve', () => undefined);
    for (now = start + 500; now <= start + 4_000; now += 500) await watch.tick(false);
    assert.equal(reads, 0, 'no read before the shortest clone so far could have ended');
    // A start on the same node is due earlier: its read does not bring the clone's forward.
    now = start + 4_000;
    watch.watch('UPID:pve:000090AB:00000000:6955B900:vzstart:101:root@pam:', 'pve', () => undefined);
    now = start + 4_500;
    await watch.tick(false);
    assert.equal(reads, 1);
    assert.equal(watch.watching, 1, 'the start ended (not listed); the clone runs');
    for (now = start + 5_000; now < start + 6_000; now += 500) await watch.tick(false);
    assert.equal(reads, 1);
    reads = 0;
    now = start + 6_000;
    await watch.tick(false);
    assert.equal(reads, 1);
    running = false;
    now += 500;
    await watch.tick(false);
    assert.equal(watch.watching, 0);
    watch.close();
  });

  it('keeps a kind\'s floor through a long gap between looks, and lowers it when a task had ended before its first look', async () => {
    let now = 0;
    let listed: ListedTask[] = [];
    let reads = 0;
    const clone = (n: number) => `UPID:pve:0000${n}0AB:00000000:6955B900:vzclone:9100:root@pam:`;
    const other = (n: number) => `UPID:pve:0000${n}0AB:00000000:6955B900:vzstart:20${n}:root@pam:`;
    const watch = new TaskWatch(async () => {
      reads++;
      return listed;
    }, { tickMs: 500, now: () => now });
    const firstRead = async (upid: string, from: number): Promise<number> => {
      for (now = from; watch.watches(upid) && now < from + 20_000; now += 100) {
        const before = reads;
        await watch.tick(false);
        if (reads > before) return now - from;
      }
      return -1;
    };
    // Learn: a clone seen running every tick until 6 s.
    watch.watch(clone(1), 'pve', () => undefined);
    listed = [{ upid: clone(1), status: 'RUNNING' }];
    for (now = 500; now <= 6_000; now += 500) await watch.tick(false);
    listed = [];
    now = 6_500;
    await watch.tick(false);
    // A clone seen running at 1 s only because another task was read then, found ended at 6 s:
    // nothing learned, the floor stays 6 s.
    now = 10_000;
    watch.watch(clone(2), 'pve', () => undefined);
    watch.watch(other(2), 'pve', () => undefined);
    listed = [{ upid: clone(2), status: 'RUNNING' }];
    now = 10_500;
    await watch.tick(false);
    listed = [];
    assert.equal(await firstRead(clone(2), 10_600), 5_400, 'read at 16 s, the floor');
    now = 20_000;
    watch.watch(clone(3), 'pve', () => undefined);
    assert.equal(await firstRead(clone(3), 20_000), 6_000, 'the floor is still 6 s');
    // That one had ended before its first look: the next is looked at a quarter sooner.
    now = 30_000;
    watch.watch(clone(4), 'pve', () => undefined);
    assert.equal(await firstRead(clone(4), 30_000), 4_500);
    watch.close();
  });
});
