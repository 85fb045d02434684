import { strict as assert } from 'node:assert';
import { TaskWatch, type ActiveTask } from '../../../src/controllers/hypervisor/task-watch.ts';

const upid = (node: string, n: number) => `UPID:${node}:0000${n}AB:00000000:6955B900:qmclone:${n}:root@pam:`;

describe('waiting for tasks with one list per node per tick', () => {
  it('reads each node once per tick whatever the number of waiters, and wakes exactly those whose task ended', async () => {
    const active = new Map<string, ActiveTask[]>([['pve', [1, 2, 3].map((n) => ({ upid: upid('pve', n) }))], ['pve2', [{ upid: upid('pve2', 4) }]]]);
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
    // Task 1 ended and left the active list; task 2 is listed with its exit status.
    active.set('pve', [{ upid: upid('pve', 2), status: 'OK' }, { upid: upid('pve', 3) }]);
    await watch.tick();
    assert.deepEqual(woken.sort(), [1, 2]);
    assert.equal(watch.watching, 2);
    watch.close();
  });

  it('does not judge a task by a list asked for before the task was watched', async () => {
    let now = 1_000;
    let release!: (list: ActiveTask[]) => void;
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
});
