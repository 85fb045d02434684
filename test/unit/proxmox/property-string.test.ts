import assert from 'node:assert/strict';
import { formatPropertyString, parsePropertyString } from '../../../src/proxmox/property-string.ts';
import { lxcNetFormat, lxcRootfsFormat, qemuAgentFormat, qemuDriveFormat, qemuNetFormat } from '../../../src/proxmox/guest-formats.ts';

describe('property strings', () => {
  it('parse qemu NICs with the model=mac alias and print them back canonically', () => {
    const { values, errors } = parsePropertyString('virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1,tag=10', qemuNetFormat);
    assert.deepEqual(errors, {});
    assert.deepEqual(values, { model: 'virtio', macaddr: 'BC:24:11:00:00:01', bridge: 'vmbr0', firewall: '1', tag: '10' });
    assert.equal(formatPropertyString({ tag: '10', bridge: 'vmbr0', model: 'virtio', macaddr: 'BC:24:11:00:00:01', firewall: '1' }, qemuNetFormat), 'virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1,tag=10');
    assert.equal(formatPropertyString({ model: 'e1000', bridge: 'vmbr1' }, qemuNetFormat), 'e1000,bridge=vmbr1');
  });

  it('take a bare value for the default key', () => {
    assert.deepEqual(parsePropertyString('local-lvm:8,mountoptions=noatime;nodev', lxcRootfsFormat).values, { volume: 'local-lvm:8', mountoptions: 'noatime;nodev' });
    assert.deepEqual(parsePropertyString('1,fstrim_cloned_disks=1', qemuAgentFormat).values, { enabled: '1', fstrim_cloned_disks: '1' });
    assert.deepEqual(parsePropertyString('local-lvm:0,import-from=local:import/x.qcow2', qemuDriveFormat).values, { file: 'local-lvm:0', 'import-from': 'local:import/x.qcow2' });
  });

  it('report every problem per sub-key in Proxmox wording', () => {
    const { errors } = parsePropertyString('bridge=vmbr0,tag=0,hwaddr=01:00:00:00:00:00,speed=10,ip=dhcp4', lxcNetFormat);
    assert.deepEqual(errors, {
      speed: 'property is not defined in schema and the schema does not allow additional properties',
      name: 'property is missing and it is not optional',
      hwaddr: 'invalid format - value does not look like a valid unicast MAC address\n',
      ip: 'invalid format - invalid IPv4 network configuration\n',
      tag: 'value must have a minimum value of 1',
    });
    assert.deepEqual(parsePropertyString('name=eth0,name=eth1', lxcNetFormat).errors, { name: 'duplicate key in comma-separated list property: name' });
    assert.deepEqual(parsePropertyString('name=eth0,firewall=yes', lxcNetFormat).errors, { firewall: "type check ('boolean') failed - got 'yes'" });
  });
});
