import { strict as assert } from 'node:assert';
import type { PhoenixVMSpec } from '../../../src/api/vm.ts';
import { desiredVmConfig, vmCreateOnlyParams, encodeSshKeys, cloudInitDriveSlot } from '../../../src/guests/vm-config.ts';
import { diffConfig, createParams } from '../../../src/guests/desired.ts';
import { describeWithMarker } from '../../../src/guests/marker.ts';

const id = { name: 'docker-host', owner: { uid: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', ref: 'PhoenixVM default/docker-host' } };
const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKey admin@lab';

const spec: PhoenixVMSpec = {
  hypervisorRef: { name: 'pve' },
  node: 'pve1',
  source: { clone: { vmid: 9000 } },
  cores: 4,
  sockets: 1,
  memory: '4G',
  balloon: '2G',
  cpuType: 'host',
  machine: 'q35',
  agent: { enabled: true },
  disks: [
    { slot: 'scsi0', size: '64G', discard: true },
    { slot: 'scsi1', storage: 'local-lvm', size: '100G' },
  ],
  networks: [{ bridge: 'vmbr0', ipv4: '10.0.0.102/24', gatewayV4: '10.0.0.1', firewall: true }],
  cloudInit: { user: 'phoenix', sshPublicKeys: [key], upgrade: true },
  pciDevices: [{ host: '0000:01:00.0', pcie: true }],
};

const storedByProxmox: Record<string, unknown> = {
  name: 'docker-host',
  description: describeWithMarker(undefined, id.owner),
  cores: 4,
  sockets: 1,
  memory: '4096',
  balloon: 2048,
  cpu: 'host',
  machine: 'q35',
  agent: '1',
  scsi0: 'local-lvm:vm-1002-disk-0,discard=on,size=65536M',
  scsi1: 'local-lvm:vm-1002-disk-1,size=100G',
  ide2: 'local-lvm:vm-1002-cloudinit,media=cdrom',
  net0: 'virtio=BC:24:11:22:33:44,bridge=vmbr0,firewall=1',
  ipconfig0: 'gw=10.0.0.1,ip=10.0.0.102/24',
  ciuser: 'phoenix',
  ciupgrade: 1,
  sshkeys: encodeSshKeys([key]),
  hostpci0: '0000:01:00.0,pcie=1',
  smbios1: 'uuid=5b0c4d0e-0000-4000-8000-000000000000',
  vmgenid: '1c2d3e4f-0000-4000-8000-000000000000',
  meta: 'creation-qemu=9.2.0,ctime=1760000000',
  digest: 'def',
};

describe('VM desired config and diff', () => {
  const desired = desiredVmConfig(spec, id);

  it('finds no drift in a config as Proxmox stores it (MAC in the model key, sizes in MiB, encoded keys)', () => {
    assert.deepEqual(diffConfig(desired, storedByProxmox), { changes: [], resizes: [], shrinks: [] });
  });

  it('encodes SSH keys as Proxmox requires: percent-encoding with %20, never +', () => {
    assert.equal(encodeSshKeys([key]), 'ssh-ed25519%20AAAAC3NzaC1lZDI1NTE5AAAAIExampleKey%20admin%40lab');
  });

  it('corrects a changed IP through cloud-init and keeps the generated MAC on the NIC', () => {
    const { changes } = diffConfig(desired, { ...storedByProxmox, ipconfig0: 'ip=dhcp', net0: 'virtio=BC:24:11:22:33:44,bridge=vmbr1,firewall=1' });
    assert.deepEqual(changes.map((c) => c.key).sort(), ['ipconfig0', 'net0']);
    assert.match(changes.find((c) => c.key === 'net0')?.value ?? '', /BC:24:11:22:33:44/i);
  });

  it('grows the cloned boot disk, and refuses to shrink the data disk', () => {
    const diff = diffConfig(desired, { ...storedByProxmox, scsi0: 'local-lvm:base-9000-disk-0/vm-1002-disk-0,discard=on,size=32G', scsi1: 'local-lvm:vm-1002-disk-1,size=200G' });
    assert.deepEqual(diff.resizes.map((r) => r.disk), ['scsi0']);
    assert.deepEqual(diff.shrinks.map((r) => r.disk), ['scsi1']);
  });

  it('adds an EFI vars disk a clone lacks, and never rewrites one that exists', () => {
    const uefi: PhoenixVMSpec = { ...spec, bios: 'ovmf', efiDisk: { storage: 'local-lvm', preEnrolledKeys: true } };
    const withoutEfi = { ...storedByProxmox, bios: 'ovmf' };
    const added = diffConfig(desiredVmConfig(uefi, id), withoutEfi).changes.find((c) => c.key === 'efidisk0');
    assert.equal(added?.value, 'local-lvm:1,efitype=4m,pre-enrolled-keys=1');
    // Type, keys and storage are fixed when Proxmox makes the volume: an existing one is left as it is.
    const withOtherEfi = { ...withoutEfi, efidisk0: 'other-store:vm-1002-disk-2,efitype=2m,size=128K' };
    assert.equal(diffConfig(desiredVmConfig(uefi, id), withOtherEfi).changes.find((c) => c.key === 'efidisk0'), undefined);
  });

  it('finds the cloud-init drive a template brought along', () => {
    assert.equal(cloudInitDriveSlot(storedByProxmox), 'ide2');
    assert.equal(cloudInitDriveSlot({ scsi0: 'local-lvm:vm-1-disk-0' }), undefined);
  });

  it('imports a cloud image as the boot disk and adds a cloud-init drive at create', () => {
    const fromImage: PhoenixVMSpec = { ...spec, source: { cloudImage: { volume: 'local:import/noble.qcow2', storage: 'local-lvm' } }, efiDisk: { storage: 'local-lvm' }, bios: 'ovmf' };
    const params = { ...createParams(desiredVmConfig(fromImage, id)), ...vmCreateOnlyParams(fromImage, { cloudInitPassword: 'pw' }) };
    assert.equal(params['scsi0'], 'local-lvm:0,import-from=local:import/noble.qcow2');
    assert.equal(params['scsi1'], 'local-lvm:100');
    assert.equal(params['ide2'], 'local-lvm:cloudinit');
    assert.equal(params['efidisk0'], 'local-lvm:1,efitype=4m');
    assert.equal(params['cipassword'], 'pw');
  });
});
