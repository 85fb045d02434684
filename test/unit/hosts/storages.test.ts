import { strict as assert } from 'node:assert';
import { planStorages, storageProblems, type StorageSpec } from '../../../src/hosts/storages.ts';
import { createdButNotWanted } from '../../../src/hosts/plan.ts';

const scratch: StorageSpec = { id: 'scratch', type: 'dir', path: '/srv/scratch', content: ['rootdir', 'images'], nodes: ['pve'], enabled: true };
const listed = { storage: 'scratch', type: 'dir', path: '/srv/scratch', content: 'images,rootdir', nodes: 'pve', digest: 'x' };

describe('host plan: storages', () => {
  it('creates a missing storage with its options, and records it', () => {
    const [step] = planStorages([scratch], [], []);
    assert.deepEqual(step?.call, { method: 'POST', path: '/storage', params: { storage: 'scratch', type: 'dir', content: 'images,rootdir', path: '/srv/scratch', nodes: 'pve' } });
    assert.deepEqual(step?.records, { kind: 'storages', id: 'scratch' });
  });

  it('plans nothing when Proxmox lists the same storage in its own order', () => {
    assert.deepEqual(planStorages([scratch], [{ ...listed, content: 'rootdir,images' }], []), []);
  });

  it('updates mutable options in one call, re-enabling by deleting disable', () => {
    const [step, ...rest] = planStorages([scratch], [{ ...listed, content: 'images', disable: 1 }], []);
    assert.deepEqual(rest, []);
    assert.deepEqual(step?.call, { method: 'PUT', path: '/storage/{scratch}', params: { content: 'images,rootdir', delete: 'disable' } });
    assert.deepEqual(step?.differences.map((d) => [d.field, d.observed, d.desired]), [
      ['storages[scratch].content', 'images', 'images,rootdir'],
      ['storages[scratch].enabled', 'false', 'true'],
    ]);
  });

  it('refuses to change a type or an option fixed at creation, naming the field', () => {
    const [step] = planStorages([{ ...scratch, type: 'btrfs', path: '/srv/other' }], [listed], []);
    assert.equal(step?.safe, false);
    assert.equal(step?.call, undefined);
    assert.match(step?.refusal ?? '', /storages\[scratch\]\.type is dir, the spec says btrfs/);
    assert.match(step?.refusal ?? '', /storages\[scratch\]\.path is \/srv\/scratch/);
  });

  it('never removes a storage it did not create; removes its own only when no guest volume is on it', () => {
    assert.deepEqual(planStorages([], [{ storage: 'local', type: 'dir' }], []), []);
    const [free] = planStorages([], [{ storage: 'old', type: 'dir', volumes: 0 }], ['old']);
    assert.deepEqual([free?.call?.method, free?.call?.path, free?.safe], ['DELETE', '/storage/{old}', true]);
    const [used] = planStorages([], [{ storage: 'old', type: 'dir', volumes: 3 }], ['old']);
    assert.equal(used?.safe, false);
    assert.match(used?.refusal ?? '', /3 guest volumes/);
    assert.deepEqual(createdButNotWanted([scratch], ['scratch', 'old']), ['old']);
  });

  it('finds options that do not belong to the storage type', () => {
    assert.deepEqual(storageProblems([{ id: 'z', type: 'zfspool', pool: 'tank', content: ['images'] }]), []);
    assert.deepEqual(storageProblems([{ id: 'd', type: 'dir', path: '/x', pool: 'tank', content: ['iso'] }]), [{ field: 'spec.storages[0].pool', message: 'a dir storage takes no pool' }]);
  });
});
