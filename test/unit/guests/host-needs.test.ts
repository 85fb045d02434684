import { strict as assert } from 'node:assert';
import { blockingHostItems, hostNeeds } from '../../../src/guests/host-needs.ts';

describe('host items a guest waits for', () => {
  const pending = ['download local:iso/win.iso on node pve', 'pool ai', 'storage tank', 'network interface vmbr1 on node pve', 'network of node pve2', 'user ops@pve'];

  it('are the ones naming its pool, storages, source volume and bridges', () => {
    const vm = { node: 'pve', pool: 'ai', disks: [{ slot: 'scsi0', storage: 'tank', size: '8G' }], networks: [{ bridge: 'vmbr1' }] };
    assert.deepEqual(blockingHostItems(pending, hostNeeds(vm, 'local:iso/win.iso')), ['download local:iso/win.iso on node pve', 'pool ai', 'storage tank', 'network interface vmbr1 on node pve']);
  });

  it('leave a guest alone that uses none of them', () => {
    const ct = { node: 'pve', rootDisk: { storage: 'local-lvm', size: '8G' }, networks: [{ bridge: 'vmbr0' }] };
    assert.deepEqual(blockingHostItems(pending, hostNeeds(ct, 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst')), []);
  });

  it('include a network reload of its own node when it has a NIC, and only then', () => {
    assert.deepEqual(blockingHostItems(pending, hostNeeds({ node: 'pve2', networks: [{ bridge: 'vmbr0' }] })), ['network of node pve2']);
    assert.deepEqual(blockingHostItems(pending, hostNeeds({ node: 'pve2' })), []);
  });

  it('find storages anywhere in the spec: clone targets, cloud-init, mount points', () => {
    const needs = hostNeeds({ node: 'pve', source: { clone: { vmid: 9000, storage: 'tank' } } } as never);
    assert.deepEqual(blockingHostItems(['storage tank'], needs), ['storage tank']);
  });
});
