import { strict as assert } from 'node:assert';
import { CreateCapacity } from '../../../src/controllers/guests/capacity.ts';

describe('create capacity', () => {
  const keys = [{ key: 'node:pve', limit: 2 }, { key: 'storage:local-lvm', limit: 1 }];

  it('limits per key and takes all slots or none', () => {
    const c = new CreateCapacity();
    assert.equal(c.tryAcquire('a', keys), true);
    assert.equal(c.tryAcquire('b', keys), false, 'the storage is full');
    assert.equal(c.inFlight('node:pve'), 1, 'a refused holder took no node slot');
    assert.equal(c.tryAcquire('b', [{ key: 'node:pve', limit: 2 }, { key: 'storage:zfs', limit: 1 }]), true);
    assert.equal(c.tryAcquire('c', [{ key: 'node:pve', limit: 2 }]), false, 'the node is full');
  });

  it('lets a holder acquire again (a retried reconcile) and frees slots on release', () => {
    const c = new CreateCapacity();
    assert.equal(c.tryAcquire('a', keys), true);
    assert.equal(c.tryAcquire('a', keys), true);
    c.release('a');
    assert.equal(c.tryAcquire('b', keys), true);
  });

  it('wakes one refused holder per freed slot, oldest first', () => {
    const c = new CreateCapacity();
    const woken: string[] = [];
    c.tryAcquire('a', keys);
    assert.equal(c.tryAcquire('b', keys, () => woken.push('b')), false);
    assert.equal(c.tryAcquire('c', keys, () => woken.push('c')), false);
    c.release('nobody');
    assert.deepEqual(woken, [], 'nothing was freed');
    c.release('a');
    assert.deepEqual(woken, ['b']);
    assert.equal(c.tryAcquire('b', keys), true);
    c.release('b');
    assert.deepEqual(woken, ['b', 'c']);
  });

  it('wakes the oldest waiter the freed slot lets go, not one still held by something else, and as many as fit', () => {
    const c = new CreateCapacity();
    const woken: string[] = [];
    const limits = (source: string) => [{ key: 'node:pve', limit: 3 }, { key: 'storage:local-lvm', limit: 2 }, { key: `source:${source}`, limit: 1 }];
    const archive = [{ key: 'node:pve', limit: 3 }, { key: 'storage:local-lvm', limit: 2 }];
    assert.equal(c.tryAcquire('clone-1', limits('9100')), true);
    assert.equal(c.tryAcquire('create-1', archive), true);
    // The storage is full; the second clone of 9100 also waits for 9100's lock.
    assert.equal(c.tryAcquire('clone-2', limits('9100'), () => woken.push('clone-2')), false);
    assert.equal(c.tryAcquire('create-2', archive, () => woken.push('create-2')), false);
    assert.equal(c.tryAcquire('create-3', archive, () => woken.push('create-3')), false);
    // The create ends: its storage slot lets create-2 go; clone-2, older, still waits for 9100.
    c.release('create-1');
    assert.deepEqual(woken, ['create-2']);
    assert.equal(c.tryAcquire('create-2', archive), true);
    // The clone ends: one storage slot and the source are free; clone-2 is the oldest and fits.
    c.release('clone-1');
    assert.deepEqual(woken, ['create-2', 'clone-2']);
    // Both running creates end before anyone took a slot: one wake per free slot, oldest first.
    c.release('create-2');
    assert.deepEqual(woken, ['create-2', 'clone-2', 'create-3'], 'two storage slots are free: clone-2, woken before, takes one, create-3 the other');
  });

  it('keeps a freed slot for the waiter woken for it for a moment: another release does not wake a second one for it', () => {
    let now = 0;
    const c = new CreateCapacity(() => now);
    const woken: string[] = [];
    const full = [{ key: 'node:pve', limit: 16 }, { key: 'storage:local-lvm', limit: 1 }];
    const linked = [{ key: 'node:pve', limit: 16 }];
    c.tryAcquire('a', full);
    c.tryAcquire('linked', linked);
    assert.equal(c.tryAcquire('b', full, () => woken.push('b')), false);
    assert.equal(c.tryAcquire('c', full, () => woken.push('c')), false);
    c.release('a');
    assert.deepEqual(woken, ['b']);
    // A linked clone ends before b came for the storage slot: c is not woken for the same slot.
    c.release('linked');
    assert.deepEqual(woken, ['b']);
    assert.equal(c.tryAcquire('c', full, () => woken.push('c')), false, 'the slot is b\'s for now');
    assert.equal(c.tryAcquire('b', full), true);
    c.release('b');
    assert.deepEqual(woken, ['b', 'c']);
    // A woken waiter that never comes holds its slot for 5 s only.
    c.tryAcquire('d', full, () => woken.push('d'));
    c.release('nobody');
    now = 5_000;
    assert.equal(c.tryAcquire('d', full), true, 'c did not come within 5 s: d takes the slot');
  });

  it('adopts a running task after a restart even beyond the limit', () => {
    const c = new CreateCapacity();
    c.tryAcquire('a', keys);
    c.adopt('b', ['storage:local-lvm']);
    assert.equal(c.inFlight('storage:local-lvm'), 2);
  });
});
