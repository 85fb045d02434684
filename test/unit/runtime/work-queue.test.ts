import { strict as assert } from 'node:assert';
import { ItemBackoff, itemBackoffPolicy } from '../../../src/runtime/backoff.ts';
import { defaultRateLimiter } from '../../../src/runtime/rate-limiter.ts';
import { WorkQueue } from '../../../src/runtime/work-queue.ts';
import { FakeClock } from './fake-clock.ts';
import { retainedBytes } from './retained-heap.ts';

function queueWith(clock: FakeClock): WorkQueue {
  return new WorkQueue({
    clock,
    rateLimiter: defaultRateLimiter({ clock, backoff: new ItemBackoff(itemBackoffPolicy, () => 0) }),
  });
}

describe('runtime: work queue', () => {
  it('holds a key once however often it is added', async () => {
    const queue = queueWith(new FakeClock());
    for (let i = 0; i < 1000; i++) queue.add('ns/a');
    queue.add('ns/b');
    assert.equal(queue.length, 2);
    assert.equal(await queue.get(), 'ns/a');
    assert.equal(await queue.get(), 'ns/b');
    assert.equal(queue.length, 0);
  });

  it('never hands a key being processed to a second worker, and re-queues it once when done', async () => {
    const queue = queueWith(new FakeClock());
    queue.add('k');
    const first = await queue.get();
    queue.add('k');
    queue.add('k');
    let second: string | undefined;
    void queue.get().then((key) => (second = key));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(second, undefined, 'a second worker got the key while the first still held it');
    queue.done(first as string);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(second, 'k');
    queue.done('k');
    assert.equal(queue.length, 0, 'the key was queued more than once');
  });

  it('adds after a delay, keeping the earliest of two delayed adds', async () => {
    const clock = new FakeClock();
    const queue = queueWith(clock);
    queue.addAfter('k', 1000);
    queue.addAfter('k', 300);
    queue.addAfter('k', 5000);
    await clock.advance(299);
    assert.equal(queue.length, 0);
    await clock.advance(1);
    assert.equal(queue.length, 1);
    assert.equal(clock.pending, 0, 'superseded timers were left behind');
  });

  it('waits for any number of delayed adds behind one timer, handing each key over once, in due order', async () => {
    const clock = new FakeClock();
    const queue = queueWith(clock);
    const order = Array.from({ length: 1_000 }, (_, i) => (i * 7919) % 1_000);
    for (const i of order) queue.addAfter(`k${i}`, 1_000 + Math.floor(i / 2));
    assert.equal(clock.pending, 1, 'more than one timer for 1,000 delayed keys');
    queue.addAfter('k0', 5_000); // later than pending: kept at its earlier time
    queue.addAfter('k999', 100, true); // replaced by an earlier one
    queue.addAfter('k998', 9_000, true); // replaced by a later one
    await clock.advance(1_500);
    assert.equal(queue.length, 999);
    const taken: string[] = [];
    while (queue.length) taken.push((await queue.get())!);
    // Equal due times (i / 2 rounded down) in the order they were added, as timers fire.
    const expected = [...order].filter((i) => i !== 999 && i !== 998).sort((a, b) => Math.floor(a / 2) - Math.floor(b / 2) || order.indexOf(a) - order.indexOf(b));
    assert.deepEqual(taken, ['k999', ...expected.map((i) => `k${i}`)]);
    assert.ok(queue.holds('k998'));
    assert.equal(clock.pending, 1);
    await clock.advance(9_000);
    assert.equal(queue.length, 1);
    assert.equal(clock.pending, 0);
  });

  it('hands a delayed key over on time when the wall clock is set back meanwhile', async () => {
    // NTP stepping the clock, or a VM resumed from a snapshot: Date.now() jumps, timers do not.
    class SteppedClock extends FakeClock {
      step = 0;
      override now(): number {
        return super.now() + this.step;
      }
    }
    const clock = new SteppedClock();
    const queue = queueWith(clock);
    queue.addAfter('k', 1_000);
    clock.step = -3_600_000;
    await clock.advance(1_000);
    assert.equal(queue.length, 1, 'held back by the hour the clock was set back');
  });

  it('keeps no trace of a wake-up moved earlier again and again', async () => {
    const clock = new FakeClock();
    const queue = queueWith(clock);
    const retained = await retainedBytes(() => {
      // Each one due before the last: the superseded ones never come to the top of the heap.
      for (let i = 0; i < 200_000; i++) queue.addAfter('guard', 230_000 - i, true);
      return queue;
    });
    // One key and its entry; 200,000 superseded entries kept until due would be about 10 MB.
    assert.ok(retained < 100_000, `the queue keeps ${retained} bytes`);
    await clock.advance(30_001);
    assert.equal(queue.length, 1);
  });

  it('lets a later answer replace a pending delayed add, earlier or not', async () => {
    const clock = new FakeClock();
    const queue = queueWith(clock);
    // A reconcile waiting on a task asks to be looked at in 30 s at the latest; the task ends,
    // the next reconcile converges and asks for its next observation in 5 minutes.
    queue.addAfter('k', 30_000);
    queue.addAfter('k', 300_000, true);
    await clock.advance(30_000);
    assert.equal(queue.length, 0, 'the superseded guard fired');
    assert.equal(clock.pending, 1);
    await clock.advance(270_000);
    assert.equal(queue.length, 1);
  });

  it('holds a key while it waits, while it is processed and while a delayed add is pending, and not after', async () => {
    const clock = new FakeClock();
    const queue = queueWith(clock);
    assert.equal(queue.holds('k'), false);
    queue.add('k');
    assert.equal(queue.holds('k'), true, 'waiting');
    const key = (await queue.get()) as string;
    assert.equal(queue.holds('k'), true, 'processing');
    queue.addAfter('k', 1000);
    queue.done(key);
    assert.equal(queue.length, 0);
    assert.equal(queue.holds('k'), true, 'a requeue pending');
    await clock.advance(1000);
    assert.equal((await queue.get()) as string, 'k');
    queue.done('k');
    assert.equal(queue.holds('k'), false, 'nothing left');
  });

  it('keeps a wake-up that came while the key was processed, whatever delay the reconcile then asks for', async () => {
    const clock = new FakeClock();
    const queue = queueWith(clock);
    queue.add('k');
    const key = (await queue.get()) as string;
    // The guest's task ends (the task watch enqueues it) while its reconcile still runs, which
    // then answers as a waiting guest does: its 30 s guard replaces any earlier delayed add.
    queue.add('k');
    queue.addAfter('k', 30_000, true);
    queue.done(key);
    assert.equal(queue.length, 1, 'the wake-up was dropped for the guard timer');
    assert.equal(await queue.get(), 'k');
  });

  it('retries a failing key after 5, 10, 20 ms and starts again after forget', async () => {
    const clock = new FakeClock();
    const queue = queueWith(clock);
    const readyAfter = async (): Promise<number> => {
      const start = clock.now();
      queue.addRateLimited('k');
      while (queue.length === 0) {
        const due = clock.nextDue;
        assert.ok(due !== undefined, 'nothing scheduled');
        await clock.advance(due - clock.now());
      }
      const key = await queue.get();
      queue.done(key as string);
      return clock.now() - start;
    };
    assert.deepEqual([await readyAfter(), await readyAfter(), await readyAfter()], [5, 10, 20]);
    assert.equal(queue.retries('k'), 3);
    queue.forget('k');
    assert.equal(await readyAfter(), 5);
  });

  it('releases waiting workers on shutdown and then refuses keys', async () => {
    const queue = queueWith(new FakeClock());
    const waiting = [queue.get(), queue.get()];
    queue.shutDown();
    assert.deepEqual(await Promise.all(waiting), [undefined, undefined]);
    queue.add('k');
    assert.equal(queue.length, 0);
  });

  it('reports depth, adds, latency and work time to its observer', async () => {
    const clock = new FakeClock();
    const seen = { depth: -1, added: 0, waited: [] as number[], worked: [] as number[] };
    const queue = new WorkQueue({
      clock,
      rateLimiter: defaultRateLimiter({ clock }),
      observer: {
        depth: (n) => (seen.depth = n),
        added: () => seen.added++,
        retried: () => {},
        waited: (s) => seen.waited.push(s),
        worked: (s) => seen.worked.push(s),
      },
    });
    queue.add('a');
    queue.add('a');
    assert.equal(seen.depth, 1);
    await clock.advance(250);
    const key = await queue.get();
    await clock.advance(1500);
    queue.done(key as string);
    assert.deepEqual(seen, { depth: 0, added: 1, waited: [0.25], worked: [1.5] });
  });
});
