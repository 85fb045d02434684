import assert from 'node:assert/strict';
import { needsRoot, rootCommand, splitRootOnly, withoutRootOnly } from '../../../src/guests/root-only.ts';

/** Cases from pve-container's check_ct_modify_config_perm and qemu-server's check_vm_modify_config_perm. */
describe('options only root@pam may set', () => {
  it('containers: devices, bind and device mount points, hookscripts', () => {
    assert.equal(needsRoot('lxc', 'dev0', 'path=/dev/nvidia0', undefined, true), true);
    assert.equal(needsRoot('lxc', 'mp0', '/srv/certs,mp=/etc/step', undefined, true), true);
    assert.equal(needsRoot('lxc', 'mp1', '/dev/sdb1,mp=/data', undefined, true), true);
    assert.equal(needsRoot('lxc', 'mp2', 'local-lvm:8,mp=/data', undefined, true), false, 'a storage-backed volume is a token\'s to make');
    assert.equal(needsRoot('lxc', 'mp0', undefined, '/srv/certs,mp=/etc/step', true), false, 'detaching is not');
    assert.equal(needsRoot('lxc', 'hookscript', 'local:snippets/x.pl', undefined, true), true);
    assert.equal(needsRoot('lxc', 'memory', '1024', '512', true), false);
  });

  it('containers: feature flags other than nesting, and any flag of a privileged container', () => {
    assert.equal(needsRoot('lxc', 'features', 'nesting=1', undefined, true), false);
    assert.equal(needsRoot('lxc', 'features', 'keyctl=1,nesting=1', 'nesting=1', true), true);
    assert.equal(needsRoot('lxc', 'features', 'nesting=1,keyctl=1', 'keyctl=1', true), false, 'only nesting changed');
    assert.equal(needsRoot('lxc', 'features', 'nesting=1', undefined, false), true);
  });

  it('VMs: raw host devices, but not mapped ones', () => {
    assert.equal(needsRoot('qemu', 'hostpci0', '0000:01:00.0,pcie=1', undefined, true), true);
    assert.equal(needsRoot('qemu', 'hostpci0', 'mapping=gpu0,pcie=1', undefined, true), false);
    assert.equal(needsRoot('qemu', 'usb0', 'host=046d:c52b', undefined, true), true);
    // qemu-server check_usb_perm: a SPICE redirection needs only VM.Config.HWType.
    assert.equal(needsRoot('qemu', 'usb0', 'host=spice,usb3=1', undefined, true), false);
    assert.equal(needsRoot('qemu', 'usb1', 'host=SPICE', undefined, true), false);
    assert.equal(needsRoot('qemu', 'cores', '4', '2', true), false);
  });

  it('splits a diff and names the command a person runs as root', () => {
    const changes = [
      { key: 'memory', value: '1024', observed: '512', fields: [] },
      { key: 'dev0', value: 'path=/dev/nvidia0', observed: undefined, fields: [] },
      { key: 'mp0', value: '/srv/data dir,mp=/data', observed: undefined, fields: [] },
      { key: 'dev1', value: undefined, observed: 'path=/dev/nvidia1', fields: [] },
    ];
    const { writable, rootOnly } = splitRootOnly('lxc', changes, true);
    assert.deepEqual(writable.map((c) => c.key), ['memory']);
    assert.deepEqual(rootOnly.map((c) => c.key), ['dev0', 'mp0', 'dev1']);
    assert.equal(rootCommand('lxc', 801, rootOnly), "pct set 801 -dev0 path=/dev/nvidia0 -mp0 '/srv/data dir,mp=/data' -delete dev1");
  });

  it('creates without them, keeping nesting for an unprivileged container', () => {
    assert.deepEqual(withoutRootOnly('lxc', { hostname: 'gpu', dev0: 'path=/dev/nvidia0', features: 'keyctl=1,nesting=1', mp0: 'local-lvm:8,mp=/x' }, true), { hostname: 'gpu', features: 'nesting=1', mp0: 'local-lvm:8,mp=/x' });
    assert.deepEqual(withoutRootOnly('qemu', { name: 'vm', hostpci0: '0000:01:00.0' }, true), { name: 'vm' });
  });
});
