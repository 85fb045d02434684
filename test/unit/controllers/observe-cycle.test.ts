import { strict as assert } from 'node:assert';
import { cycleStart, freshSince, untilNextCycle } from '../../../src/controllers/observe-cycle.ts';
import { ResourcesCache } from '../../../src/controllers/hypervisor/resources-cache.ts';
import type { ClusterGuest, ProxmoxGuests } from '../../../src/controllers/guests/guest-api.ts';

const minute = 60_000;
const period = 5 * minute;

describe('observation cycles', () => {
  it('observes at the multiples of the period, so every guest with that period shares a cycle', () => {
    const t = 1_000 * period;
    assert.equal(untilNextCycle(t + 1, period), period - 1);
    assert.equal(untilNextCycle(t + period / 2, period), period / 2);
    assert.equal(cycleStart(t + 123_456, period), t);
    // Two guests reconciled at different moments of a cycle next observe at the same instant.
    assert.equal(t + 10 + untilNextCycle(t + 10, period), t + 200_000 + untilNextCycle(t + 200_000, period));
  });

  it('counts a timer that fires a moment early as the cycle it was set for, not as the one ending', () => {
    const t = 1_000 * period;
    assert.equal(cycleStart(t - 3, period), t);
    assert.equal(untilNextCycle(t - 3, period), period + 3, 'an early timer would observe twice');
    assert.equal(cycleStart(t - 5_000, period), t - period, 'more than the slack early is still the old cycle');
  });

  it('accepts a snapshot requested at the start of the cycle or a moment before it', () => {
    const t = 1_000 * period;
    assert.ok(freshSince(t + minute, period) <= t);
    assert.ok(freshSince(t + minute, period) > t - 2_000);
    assert.ok(freshSince(t + minute, period) > t - period);
  });

  it('refuses a period that is not positive', () => {
    assert.throws(() => cycleStart(1, 0), /positive/);
  });
});

describe('the shared resources snapshot', () => {
  function fakeClient(): { client: Pick<ProxmoxGuests, 'clusterGuests'>; reads: () => number; set: (status: string) => void } {
    let reads = 0;
    let status = 'running';
    const client = { clusterGuests: async (): Promise<ClusterGuest[]> => (reads++, [{ vmid: 100, node: 'pve', type: 'lxc', status }]) };
    return { client, reads: () => reads, set: (s) => (status = s) };
  }

  it('is read once per cycle however many guests ask', async () => {
    let now = 1_000 * period;
    const px = fakeClient();
    const cache = new ResourcesCache(px.client, () => now);
    const since = freshSince(now, period);
    await Promise.all(Array.from({ length: 1000 }, () => cache.guest(100, since)));
    now += minute;
    await cache.guest(100, freshSince(now, period));
    assert.equal(px.reads(), 1);
  });

  it('is read again in the next cycle, so a change outside Phoenix is seen within one period', async () => {
    let now = 1_000 * period + 10;
    const px = fakeClient();
    const cache = new ResourcesCache(px.client, () => now);
    assert.equal((await cache.guest(100, freshSince(now, period)))?.status, 'running');
    now += minute;
    px.set('stopped'); // someone stops the guest in the Proxmox UI, a minute into the cycle
    now = 1_001 * period + 5; // the next cycle's observation
    assert.equal((await cache.guest(100, freshSince(now, period)))?.status, 'stopped');
    assert.equal(px.reads(), 2);
  });

  it('does not join a read that was sent before the moment the caller needs', async () => {
    let now = 0;
    let release: () => void = () => undefined;
    let reads = 0;
    const client = {
      clusterGuests: () => { const n = ++reads; return new Promise<ClusterGuest[]>((resolve) => (release = () => resolve([{ vmid: 100, node: 'pve', type: 'qemu', status: `read-${n}` }]))); },
    };
    const cache = new ResourcesCache(client, () => now);
    const first = cache.guest(100, 0);
    now = 10;
    const second = cache.guest(100, 10);
    const third = cache.guest(100, 10);
    assert.equal(reads, 1, 'one list at a time: the later callers wait for the one under way');
    release();
    assert.equal((await first)?.status, 'read-1');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(reads, 2, 'then share the next');
    release();
    assert.equal((await second)?.status, 'read-2');
    assert.equal((await third)?.status, 'read-2');
  });
});
