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

  it('adopts a running task after a restart even beyond the limit', () => {
    const c = new CreateCapacity();
    c.tryAcquire('a', keys);
    c.adopt('b', ['storage:local-lvm']);
    assert.equal(c.inFlight('storage:local-lvm'), 2);
  });
});
