/**
 * Hand-written parameter definitions of guest options (container and VM), shared by
 * create, config and clone endpoints. The conformance test compares them with the
 * official schema of each supported Proxmox VE version.
 */
import { bool, int, num, oneOf, str, type ParamDefs } from '../../../proxmox/schema.ts';
import {
  INDEX_COUNT, lxcFeaturesFormat, lxcMountPointFormat, lxcNetFormat, lxcRootfsFormat, lxcUnusedFormat,
  qemuAgentFormat, qemuEfiDiskFormat, qemuMachineFormat, qemuTpmStateFormat, qemuVgaFormat, qemuMemoryFormat, qemuNetFormat,
} from '../../../proxmox/guest-formats.ts';
import {
  audioFormat, fullIdeFormat, fullSataFormat, fullScsiFormat, fullUnusedFormat, fullVirtioFormat, ivshmemFormat, numaFormat, spiceEnhancementsFormat, usbFormat, virtiofsFormat,
} from './guest-formats-full.ts';

const o = { optional: true } as const;

export const LXC_LOCKS = ['backup', 'create', 'destroyed', 'disk', 'fstrim', 'migrate', 'mounted', 'rollback', 'snapshot', 'snapshot-delete'];
export const QEMU_LOCKS = ['backup', 'clone', 'create', 'migrate', 'rollback', 'snapshot', 'snapshot-delete', 'suspending', 'suspended'];

/** Options a container config holds; valid on create and `PUT …/config`. */
export const lxcOptionParams: ParamDefs = {
  arch: oneOf(['amd64', 'i386', 'arm64', 'armhf', 'riscv32', 'riscv64'], o),
  cmode: oneOf(['shell', 'console', 'tty'], o),
  console: bool(o),
  cores: int({ ...o, minimum: 1, maximum: 8192 }),
  cpulimit: num({ ...o, minimum: 0, maximum: 8192 }),
  cpuunits: int({ ...o, minimum: 0, maximum: 500000 }),
  debug: bool(o),
  description: str({ ...o, maxLength: 8192 }),
  'dev[n]': str({ ...o, count: INDEX_COUNT.lxc.dev, format: {
    'deny-write': { type: 'boolean', default: 0, optional: true },
    gid: { type: 'integer', minimum: 0, optional: true },
    mode: { type: 'string', pattern: '0[0-7]{3}', optional: true },
    path: { type: 'string', default_key: true, format: 'pve-lxc-dev-string', optional: true },
    uid: { type: 'integer', minimum: 0, optional: true },
  } }),
  entrypoint: str({ ...o, since: '9.1', pattern: '[^\\x00-\\x08\\x10-\\x1F\\x7F]+' }),
  env: str({ ...o, since: '9.1', pattern: '(?:\\w+=[^\\x00-\\x08\\x10-\\x1F\\x7F]*)(?:\\0\\w+=[^\\x00-\\x08\\x10-\\x1F\\x7F]*)*' }),
  features: str({ ...o, format: lxcFeaturesFormat }),
  hookscript: str({ ...o, format: 'pve-volume-id' }),
  hostname: str({ ...o, format: 'dns-name', maxLength: 255 }),
  lock: oneOf(LXC_LOCKS, o),
  memory: int({ ...o, minimum: 16 }),
  'mp[n]': str({ ...o, count: INDEX_COUNT.lxc.mp, format: lxcMountPointFormat }),
  nameserver: str({ ...o, format: 'lxc-ip-with-ll-iface-list' }),
  'net[n]': str({ ...o, count: INDEX_COUNT.lxc.net, format: lxcNetFormat }),
  onboot: bool(o),
  ostype: oneOf(['debian', 'devuan', 'ubuntu', 'centos', 'fedora', 'opensuse', 'archlinux', 'alpine', 'gentoo', 'nixos', 'unmanaged'], o),
  protection: bool(o),
  rootfs: str({ ...o, format: lxcRootfsFormat }),
  searchdomain: str({ ...o, format: 'dns-name-list' }),
  startup: str({ ...o, format: 'pve-startup-order' }),
  swap: int({ ...o, minimum: 0 }),
  tags: str({ ...o, format: 'pve-tag-list' }),
  template: bool(o),
  timezone: str({ ...o, format: 'pve-ct-timezone' }),
  tty: int({ ...o, minimum: 0, maximum: 6 }),
  unprivileged: bool(o),
  'unused[n]': str({ ...o, count: INDEX_COUNT.lxc.unused, format: lxcUnusedFormat }),
};

/** VM options, as qemu-server's `$confdesc` has them; the simulator stores each in the config. */
export const qemuOptionParams: ParamDefs = {
  acpi: bool(o),
  affinity: str({ ...o, format: 'pve-cpuset' }),
  'allow-ksm': bool({ ...o, since: '9.1' }),
  'amd-sev': str({ ...o, format: 'pve-qemu-sev-fmt' }),
  audio0: str({ ...o, format: audioFormat }),
  autostart: bool(o),
  freeze: bool(o),
  'hostpci[n]': str({ ...o, count: INDEX_COUNT.qemu.hostpci, format: 'pve-qm-hostpci' }),
  hugepages: oneOf(['any', '2', '1024'], o),
  'intel-tdx': str({ ...o, since: '9.1', format: 'pve-qemu-tdx-fmt' }),
  ivshmem: str({ ...o, format: ivshmemFormat }),
  keephugepages: bool(o),
  keyboard: oneOf(['de', 'de-ch', 'da', 'en-gb', 'en-us', 'es', 'fi', 'fr', 'fr-be', 'fr-ca', 'fr-ch', 'hu', 'is', 'it', 'ja', 'lt', 'mk', 'nl', 'no', 'pl', 'pt', 'pt-br', 'sv', 'sl', 'tr'], o),
  'numa[n]': str({ ...o, count: INDEX_COUNT.qemu.numa, format: numaFormat }),
  'parallel[n]': str({ ...o, count: INDEX_COUNT.qemu.parallel, pattern: '/dev/parport\\d+|/dev/usb/lp\\d+' }),
  reboot: bool(o),
  rng0: str({ ...o, format: 'pve-qm-rng' }),
  smp: int({ ...o, minimum: 1 }),
  spice_enhancements: str({ ...o, format: spiceEnhancementsFormat }),
  startdate: str({ ...o, pattern: '(now|\\d{4}-\\d{1,2}-\\d{1,2}(T\\d{1,2}:\\d{1,2}:\\d{1,2})?)' }),
  tdf: bool(o),
  'usb[n]': str({ ...o, count: INDEX_COUNT.qemu.usb, format: usbFormat }),
  'virtiofs[n]': str({ ...o, count: INDEX_COUNT.qemu.virtiofs, format: virtiofsFormat }),
  watchdog: str({ ...o, format: 'pve-qm-watchdog' }),
  agent: str({ ...o, format: qemuAgentFormat }),
  args: str(o),
  arch: oneOf(['x86_64', 'aarch64'], o),
  balloon: int({ ...o, minimum: 0 }),
  bios: oneOf(['seabios', 'ovmf'], o),
  boot: str({ ...o, format: 'pve-qm-boot' }),
  bootdisk: str({ ...o, format: 'pve-qm-bootdisk', pattern: '(ide|sata|scsi|virtio)\\d+' }),
  cdrom: str({ ...o, format: 'pve-qm-ide' }),
  cicustom: str({ ...o, format: 'pve-qm-cicustom' }),
  cipassword: str(o),
  citype: oneOf(['configdrive2', 'nocloud', 'opennebula'], o),
  ciupgrade: bool(o),
  ciuser: str(o),
  cores: int({ ...o, minimum: 1 }),
  cpu: str({ ...o, format: 'pve-vm-cpu-conf' }),
  cpulimit: num({ ...o, minimum: 0, maximum: 128 }),
  cpuunits: int({ ...o, minimum: 1, maximum: 262144 }),
  description: str({ ...o, maxLength: 8192 }),
  efidisk0: str({ ...o, format: qemuEfiDiskFormat }),
  hookscript: str({ ...o, format: 'pve-volume-id' }),
  hotplug: str({ ...o, format: 'pve-hotplug-features' }),
  'ide[n]': str({ ...o, count: INDEX_COUNT.qemu.ide, format: fullIdeFormat }),
  'ipconfig[n]': str({ ...o, count: INDEX_COUNT.qemu.ipconfig, format: 'pve-qm-ipconfig' }),
  kvm: bool(o),
  localtime: bool(o),
  lock: oneOf(QEMU_LOCKS, o),
  machine: str({ ...o, format: qemuMachineFormat }),
  memory: str({ ...o, format: qemuMemoryFormat }),
  migrate_downtime: num({ ...o, minimum: 0 }),
  migrate_speed: int({ ...o, minimum: 0 }),
  name: str({ ...o, format: 'dns-name' }),
  nameserver: str({ ...o, format: 'address-list' }),
  'net[n]': str({ ...o, count: INDEX_COUNT.qemu.net, format: qemuNetFormat }),
  numa: bool(o),
  onboot: bool(o),
  ostype: oneOf(['other', 'wxp', 'w2k', 'w2k3', 'w2k8', 'wvista', 'win7', 'win8', 'win10', 'win11', 'l24', 'l26', 'solaris'], o),
  protection: bool(o),
  'sata[n]': str({ ...o, count: INDEX_COUNT.qemu.sata, format: fullSataFormat }),
  'scsi[n]': str({ ...o, count: INDEX_COUNT.qemu.scsi, format: fullScsiFormat }),
  scsihw: oneOf(['lsi', 'lsi53c810', 'virtio-scsi-pci', 'virtio-scsi-single', 'megasas', 'pvscsi'], o),
  searchdomain: str(o),
  'serial[n]': str({ ...o, count: INDEX_COUNT.qemu.serial, pattern: '(/dev/.+|socket)' }),
  shares: int({ ...o, minimum: 0, maximum: 50000 }),
  smbios1: str({ ...o, format: 'pve-qm-smbios1', maxLength: 512 }),
  sockets: int({ ...o, minimum: 1 }),
  sshkeys: str({ ...o, format: 'urlencoded' }),
  startup: str({ ...o, format: 'pve-startup-order' }),
  tablet: bool(o),
  tags: str({ ...o, format: 'pve-tag-list' }),
  template: bool(o),
  tpmstate0: str({ ...o, format: qemuTpmStateFormat }),
  'unused[n]': str({ ...o, count: INDEX_COUNT.qemu.unused, format: fullUnusedFormat }),
  vcpus: int({ ...o, minimum: 1 }),
  vga: str({ ...o, format: qemuVgaFormat }),
  'virtio[n]': str({ ...o, count: INDEX_COUNT.qemu.virtio, format: fullVirtioFormat }),
  vmgenid: str({ ...o, pattern: '(?:[a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}|[01])' }),
  vmstatestorage: str({ ...o, format: 'pve-storage-id' }),
};

/** Fast-plug options apply at once even on a running VM (qemu-server `$fast_plug_option`). */
export const QEMU_FAST_PLUG = new Set([
  'name', 'description', 'tags', 'onboot', 'protection', 'startup', 'hookscript', 'lock', 'migrate_downtime', 'migrate_speed',
  'shares', 'vmstatestorage', 'ciuser', 'cipassword', 'sshkeys', 'nameserver', 'searchdomain', 'citype', 'ciupgrade', 'cicustom',
]);

/** Container options a running CT applies at once (pve-container `update_pct_config`). */
export const LXC_HOT_APPLY = new Set(['description', 'onboot', 'startup', 'protection', 'hostname', 'hookscript', 'cores', 'tags', 'lock', 'cpulimit', 'cpuunits', 'memory', 'swap']);
