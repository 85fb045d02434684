import { strict as assert } from 'node:assert';
import { createLocks } from '../../../src/controllers/guests/create-locks.ts';

const limits = { createsPerNode: 16, createsPerStorage: 2 };

describe('what a create or clone holds while it runs', () => {
  it('a create from an archive takes a node slot and a storage slot, and locks no other guest', () => {
    assert.deepEqual(createLocks({ type: 'lxc', node: 'pve', full: false, storage: 'local-lvm' }, limits), [
      { key: 'node:pve', limit: 16 },
      { key: 'storage:local-lvm', limit: 2 },
    ]);
  });

  it('every container clone holds its source alone (CT is locked (disk)), linked or full', () => {
    assert.deepEqual(createLocks({ type: 'lxc', node: 'pve', cloneSource: 9100, full: true, storage: 'local-lvm' }, limits), [
      { key: 'node:pve', limit: 16 },
      { key: 'storage:local-lvm', limit: 2 },
      { key: 'source:9100', limit: 1 },
    ]);
    assert.deepEqual(createLocks({ type: 'lxc', node: 'pve', cloneSource: 9100, full: false, storage: 'local-lvm' }, limits), [
      { key: 'node:pve', limit: 16 },
      { key: 'source:9100', limit: 1 },
    ], 'a linked clone copies nothing, so it takes no storage slot');
  });

  it('clones of a stopped VM share it; clones of a running VM, or of one whose state is unknown, do not', () => {
    assert.deepEqual(createLocks({ type: 'qemu', node: 'pve', cloneSource: 9000, full: true, sourceRunning: false, storage: 'local-lvm' }, limits), [
      { key: 'node:pve', limit: 16 },
      { key: 'storage:local-lvm', limit: 2 },
    ]);
    assert.deepEqual(createLocks({ type: 'qemu', node: 'pve', cloneSource: 9000, full: true, sourceRunning: true, storage: 'local-lvm' }, limits).at(-1), { key: 'source:9000', limit: 1 });
    assert.deepEqual(createLocks({ type: 'qemu', node: 'pve', cloneSource: 9000, full: false }, limits), [
      { key: 'node:pve', limit: 16 },
      { key: 'source:9000', limit: 1 },
    ]);
  });
});
