import assert from 'node:assert/strict';
import { cloneEndedAfter, ownCloneEndRecent, predictClone, writableFromPrediction } from '../../../src/guests/clone-prediction.ts';

/**
 * Expected values from the clone endpoints: pve-container src/PVE/API2/LXC.pm `clone_vm` and
 * qemu-server src/PVE/API2/Qemu.pm `clone_vm`.
 */
describe('the config of a clone, predicted from its source', () => {
  it('containers: options copied, snapshot and template keys dropped, hostname and description from the parameters', () => {
    const source = {
      arch: 'amd64', hostname: 'tmpl', memory: 512, ostype: 'debian', swap: 0, unprivileged: 1,
      rootfs: 'local-lvm:base-9100-disk-0,size=4G', mp0: 'local-lvm:base-9100-disk-1,mp=/data,size=2G',
      net0: 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=dhcp,type=veth',
      unused0: 'local-lvm:vm-9100-disk-2', template: 1, lock: 'disk', parent: 'before', digest: 'abc', description: 'the template',
    };
    const { config, generated } = predictClone('lxc', 9100, source, { hostname: 'ct-1', description: 'owned by x', full: '1', storage: 'local-lvm' });
    assert.deepEqual(config, {
      arch: 'amd64', hostname: 'ct-1', memory: 512, ostype: 'debian', swap: 0, unprivileged: 1,
      rootfs: 'local-lvm:base-9100-disk-0,size=4G', mp0: 'local-lvm:base-9100-disk-1,mp=/data,size=2G',
      net0: 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=dhcp,type=veth',
      description: 'owned by x',
    });
    // A new MAC for each NIC ("always change MAC! address"), a new volume for each mount point.
    assert.deepEqual(generated, ['mp0', 'net0', 'rootfs']);
  });

  it('containers: an empty or absent hostname or description leaves the source\'s', () => {
    const source = { hostname: 'tmpl', description: 'the template', memory: 512 };
    assert.deepEqual(predictClone('lxc', 9100, source, { hostname: '', description: '' }).config, source);
    assert.deepEqual(predictClone('lxc', 9100, source, {}).config, source);
  });

  it('VMs: runtime and snapshot keys dropped, name from the parameters, new MAC, volumes and UUIDs', () => {
    const source = {
      name: 'tmpl', memory: 512, cores: 1, boot: 'order=scsi0', meta: 'creation-qemu=9.0.2,ctime=1700000000',
      scsi0: 'local-lvm:base-9000-disk-0,size=8G', ide2: 'none,media=cdrom', ide0: 'local-lvm:vm-9000-cloudinit,media=cdrom',
      efidisk0: 'local-lvm:base-9000-disk-1,efitype=4m,size=4M', net0: 'virtio=BC:24:11:00:00:02,bridge=vmbr0',
      smbios1: 'uuid=0b4ba7a5-6a3c-4a39-8a64-5e5f8b5b9b0a,manufacturer=QUNNRQ==,base64=1', vmgenid: '2a6b8f0e-0000-4000-8000-000000000000',
      unused1: 'local-lvm:vm-9000-disk-3', template: 1, parent: 'snap', vmstate: 'x', runningmachine: 'pc-q35-9.0', runningcpu: 'host', 'running-nets-host-mtu': 'net0=1500', digest: 'abc',
    };
    const { config, generated } = predictClone('qemu', 9000, source, { name: 'vm-1', description: 'owned by y', full: '1' });
    assert.deepEqual(config, {
      name: 'vm-1', memory: 512, cores: 1, boot: 'order=scsi0', meta: 'creation-qemu=9.0.2,ctime=1700000000',
      scsi0: 'local-lvm:base-9000-disk-0,size=8G', ide2: 'none,media=cdrom', ide0: 'local-lvm:vm-9000-cloudinit,media=cdrom',
      efidisk0: 'local-lvm:base-9000-disk-1,efitype=4m,size=4M', net0: 'virtio=BC:24:11:00:00:02,bridge=vmbr0',
      smbios1: 'uuid=0b4ba7a5-6a3c-4a39-8a64-5e5f8b5b9b0a,manufacturer=QUNNRQ==,base64=1', vmgenid: '2a6b8f0e-0000-4000-8000-000000000000',
      description: 'owned by y',
    });
    // The CD-ROM (ide2) is copied as it is; the cloud-init drive (ide0) is cloned like a disk.
    assert.deepEqual(generated, ['efidisk0', 'ide0', 'net0', 'scsi0', 'smbios1', 'vmgenid']);
  });

  it('VMs: with no name given, "Copy-of-VM-" and the source\'s name, or its VMID; a new smbios1 even where the source had none', () => {
    assert.equal(predictClone('qemu', 9000, { name: 'tmpl' }, {}).config['name'], 'Copy-of-VM-tmpl');
    const { config, generated } = predictClone('qemu', 9000, { memory: 512, vmgenid: '0' }, { name: '' });
    assert.equal(config['name'], 'Copy-of-VM-9000');
    assert.deepEqual(generated, ['smbios1'], 'vmgenid 0 (disabled) is copied, not regenerated');
  });

  it('lets only options neither generated nor volumes be written from a prediction', () => {
    const ct = predictClone('lxc', 9100, { memory: 512, rootfs: 'local-lvm:base-9100-disk-0,size=4G', net0: 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01' }, {});
    assert.equal(writableFromPrediction('lxc', ct, 'memory'), true);
    assert.equal(writableFromPrediction('lxc', ct, 'net1'), true, 'a new NIC gets its MAC from the write itself');
    assert.equal(writableFromPrediction('lxc', ct, 'net0'), false);
    assert.equal(writableFromPrediction('lxc', ct, 'mp0'), false, 'a new mount point allocates a volume');
    const vm = predictClone('qemu', 9000, { memory: 512, scsi0: 'local-lvm:base-9000-disk-0,size=8G' }, {});
    assert.equal(writableFromPrediction('qemu', vm, 'cores'), true);
    assert.equal(writableFromPrediction('qemu', vm, 'scsi1'), false);
    assert.equal(writableFromPrediction('qemu', vm, 'ide2'), false, 'a cloud-init drive allocates a volume');
    assert.equal(writableFromPrediction('qemu', vm, 'smbios1'), false);
  });

  it('never lets the description, which carries the owner marker, be written from a prediction', () => {
    const ct = predictClone('lxc', 9100, { memory: 512 }, { description: 'old' });
    assert.equal(writableFromPrediction('lxc', ct, 'description'), false);
    const vm = predictClone('qemu', 9000, { memory: 512 }, { description: 'old' });
    assert.equal(writableFromPrediction('qemu', vm, 'description'), false);
  });

  it('takes a clone\'s end as recent only when it was located within 5 s and seen at most 5 s ago', () => {
    // Seen running at 10 s, seen ended by a list asked at 12 s: ended within those 2 s.
    assert.equal(ownCloneEndRecent(10_000, 12_000, 12_300), true);
    assert.equal(ownCloneEndRecent(10_000, 15_000, 15_000), true, 'located within 5 s');
    assert.equal(ownCloneEndRecent(10_000, 15_001, 15_001), false, 'an end located within more than 5 s may be older');
    assert.equal(ownCloneEndRecent(10_000, 12_000, 17_000), true);
    assert.equal(ownCloneEndRecent(10_000, 12_000, 17_001), false, 'seen ended more than 5 s before the write');
  });
  it('locates a clone\'s end after a list last showed it running, or after its send plus its duration by Proxmox\'s times', () => {
    // Sent at 100 s; Proxmox's UPID says it began at 5000 s and the list that found it ended at 107.4 s says 5007 s.
    assert.equal(cloneEndedAfter(100_000, undefined, 5_000, 5_007), 106_000, 'it took more than 6 s: ended after 106 s');
    assert.ok(ownCloneEndRecent(cloneEndedAfter(100_000, undefined, 5_000, 5_007), 107_400, 107_500), 'a 7 s clone found ended at its first look is recent');
    assert.equal(cloneEndedAfter(100_000, 104_000, 5_000, 5_007), 106_000);
    assert.equal(cloneEndedAfter(100_000, 106_500, 5_000, 5_007), 106_500, 'a list showed it running later than that');
    assert.equal(cloneEndedAfter(100_000, undefined, undefined, undefined), 100_000, 'no times from Proxmox: after its send');
    assert.equal(cloneEndedAfter(100_000, undefined, 5_000, 5_000), 100_000, 'under a second says nothing more');
  });
});
