/**
 * Property-string formats of guest options (the inline `format` objects of the
 * schema), and how many of each indexed option exist. Shared by the simulator, which
 * validates with them, and the controller, which builds option strings with them.
 * Sub-keys rarely used by Phoenix are left out (the simulator adds them in
 * src/sim/proxmox/api/guest-formats-full.ts); parsing keeps them anyway, so an option the
 * controller rewrites never loses one (test/unit/proxmox/guest-formats-apidata.test.ts).
 */
import type { PropertyFormat } from './schema.ts';

const opt = { optional: true } as const;
const boolKey = { type: 'boolean', optional: true } as const;

/** Maximum counts (highest index + 1), from qemu-server and pve-container sources. */
export const INDEX_COUNT = {
  qemu: { net: 32, ipconfig: 32, scsi: 31, virtio: 16, sata: 6, ide: 4, unused: 256, hostpci: 16, usb: 14, serial: 4, parallel: 3, numa: 8, virtiofs: 10 },
  lxc: { net: 32, mp: 256, unused: 256, dev: 256 },
} as const;

export const QEMU_NIC_MODELS = [
  'e1000', 'e1000-82540em', 'e1000-82544gc', 'e1000-82545em', 'e1000e', 'i82551', 'i82557b', 'i82559er',
  'ne2k_isa', 'ne2k_pci', 'pcnet', 'rtl8139', 'virtio', 'vmxnet3',
] as const;

export const qemuNetFormat: PropertyFormat = {
  model: { type: 'string', default_key: true, enum: QEMU_NIC_MODELS },
  ...Object.fromEntries(QEMU_NIC_MODELS.map((m) => [m, { alias: 'macaddr', keyAlias: 'model' }])),
  macaddr: { type: 'string', format: 'mac-addr', ...opt },
  bridge: { type: 'string', format: 'pve-bridge-id', ...opt },
  firewall: boolKey,
  link_down: boolKey,
  mtu: { type: 'integer', minimum: 1, maximum: 65520, ...opt },
  queues: { type: 'integer', minimum: 0, maximum: 64, ...opt },
  rate: { type: 'number', minimum: 0, ...opt },
  tag: { type: 'integer', minimum: 1, maximum: 4094, ...opt },
  trunks: { type: 'string', pattern: '\\d+(?:-\\d+)?(?:;\\d+(?:-\\d+)?)*', ...opt },
};

export const lxcNetFormat: PropertyFormat = {
  name: { type: 'string', pattern: '[-_.\\w\\d]+' },
  bridge: { type: 'string', pattern: '[-_.\\w\\d]+', ...opt },
  firewall: boolKey,
  gw: { type: 'string', format: 'ipv4', ...opt },
  gw6: { type: 'string', format: 'ipv6', ...opt },
  'host-managed': { ...boolKey, since: '9.1' },
  hwaddr: { type: 'string', format: 'mac-addr', ...opt },
  ip: { type: 'string', format: 'pve-ipv4-config', ...opt },
  ip6: { type: 'string', format: 'pve-ipv6-config', ...opt },
  link_down: boolKey,
  mtu: { type: 'integer', minimum: 64, maximum: 65535, ...opt },
  rate: { type: 'number', ...opt },
  tag: { type: 'integer', minimum: 1, maximum: 4094, ...opt },
  trunks: { type: 'string', pattern: '\\d+(?:;\\d+)*', ...opt },
  type: { type: 'string', enum: ['veth'], ...opt },
};

const MOUNT_OPTIONS = '(?:(discard|lazytime|noatime|nodev|noexec|nosuid))';
const mountKeys: PropertyFormat = {
  acl: boolKey,
  mountoptions: { type: 'string', pattern: `${MOUNT_OPTIONS}(;${MOUNT_OPTIONS})*`, ...opt },
  quota: boolKey,
  replicate: { type: 'boolean', default: 1, ...opt },
  ro: boolKey,
  shared: { type: 'boolean', default: 0, ...opt },
  size: { type: 'string', format: 'disk-size', ...opt },
  volume: { type: 'string', default_key: true, format: 'pve-lxc-mp-string' },
};

export const lxcRootfsFormat: PropertyFormat = mountKeys;

export const lxcMountPointFormat: PropertyFormat = {
  ...mountKeys,
  backup: boolKey,
  keepattrs: { type: 'boolean', default: 0, since: '9.1', ...opt },
  mp: { type: 'string', format: 'pve-lxc-mp-string' },
};

export const lxcFeaturesFormat: PropertyFormat = {
  force_rw_sys: { type: 'boolean', default: 0, ...opt },
  fuse: { type: 'boolean', default: 0, ...opt },
  keyctl: { type: 'boolean', default: 0, ...opt },
  mknod: { type: 'boolean', default: 0, ...opt },
  mount: { type: 'string', pattern: '[a-zA-Z0-9_; ]+', ...opt },
  nesting: { type: 'boolean', default: 0, ...opt },
};

export const lxcUnusedFormat: PropertyFormat = {
  volume: { type: 'string', default_key: true, format: 'pve-volume-id' },
};

/** Disk options shared by scsiN/virtioN/sataN/ideN; `import-from` creates from an image. */
export const qemuDriveFormat: PropertyFormat = {
  file: { type: 'string', default_key: true, format: 'pve-volume-id-or-qm-path' },
  volume: { alias: 'file' },
  aio: { type: 'string', enum: ['native', 'threads', 'io_uring'], ...opt },
  backup: boolKey,
  cache: { type: 'string', enum: ['none', 'writethrough', 'writeback', 'unsafe', 'directsync'], ...opt },
  discard: { type: 'string', enum: ['ignore', 'on'], ...opt },
  format: { type: 'string', enum: ['raw', 'qcow', 'qed', 'qcow2', 'vmdk', 'cloop'], ...opt },
  'import-from': { type: 'string', format: 'pve-volume-id-or-absolute-path', ...opt },
  iothread: boolKey,
  media: { type: 'string', default: 'disk', enum: ['cdrom', 'disk'], ...opt },
  replicate: { type: 'boolean', default: 1, ...opt },
  ro: boolKey,
  serial: { type: 'string', format: 'urlencoded', ...opt },
  shared: { type: 'boolean', default: 0, ...opt },
  size: { type: 'string', format: 'disk-size', ...opt },
  snapshot: boolKey,
  ssd: boolKey,
};

/** ide and sata drives have no iothread or ro; virtio has no ssd. Proxmox rejects those keys. */
export const qemuIdeFormat: PropertyFormat = Object.fromEntries(Object.entries(qemuDriveFormat).filter(([k]) => k !== 'iothread' && k !== 'ro'));
export const qemuSataFormat: PropertyFormat = qemuIdeFormat;
export const qemuVirtioFormat: PropertyFormat = Object.fromEntries(Object.entries(qemuDriveFormat).filter(([k]) => k !== 'ssd'));

const volumeKeys: PropertyFormat = {
  file: { type: 'string', default_key: true, format: 'pve-volume-id-or-qm-path' },
  volume: { alias: 'file' },
  'import-from': { type: 'string', format: 'pve-volume-id-or-absolute-path', ...opt },
  size: { type: 'string', format: 'disk-size', ...opt },
};

/** UEFI variables disk (`efidisk0: local-lvm:1,efitype=4m,pre-enrolled-keys=1`). */
export const qemuEfiDiskFormat: PropertyFormat = {
  ...volumeKeys,
  efitype: { type: 'string', default: '2m', enum: ['2m', '4m'], ...opt },
  format: { type: 'string', enum: ['raw', 'qcow', 'qed', 'qcow2', 'vmdk', 'cloop'], ...opt },
  'ms-cert': { type: 'string', default: '2011', enum: ['2011', '2023', '2023w', '2023k'], since: '9.1', ...opt },
  'pre-enrolled-keys': { type: 'boolean', default: 0, ...opt },
};

export const qemuTpmStateFormat: PropertyFormat = {
  ...volumeKeys,
  format: { type: 'string', enum: ['raw', 'qcow2', 'vmdk'], since: '9.1', ...opt },
  version: { type: 'string', default: 'v1.2', enum: ['v1.2', 'v2.0'], ...opt },
};

/** `vga: serial0` is what cloud images want. */
export const qemuVgaFormat: PropertyFormat = {
  clipboard: { type: 'string', enum: ['vnc'], ...opt },
  memory: { type: 'integer', minimum: 4, maximum: 512, ...opt },
  type: {
    type: 'string', default: 'std', default_key: true, ...opt,
    enum: ['cirrus', 'qxl', 'qxl2', 'qxl3', 'qxl4', 'none', 'serial0', 'serial1', 'serial2', 'serial3', 'std', 'virtio', 'virtio-gl', 'vmware'],
  },
};

export const qemuMachineFormat: PropertyFormat = {
  'aw-bits': { type: 'number', minimum: 32, maximum: 64, since: '9.1', ...opt },
  'enable-s3': boolKey,
  'enable-s4': boolKey,
  type: {
    type: 'string', default_key: true, maxLength: 40, ...opt,
    pattern: '(pc|pc(-i440fx)?-\\d+(\\.\\d+)+(\\+pve\\d+)?(\\.pxe)?|q35|pc-q35-\\d+(\\.\\d+)+(\\+pve\\d+)?(\\.pxe)?|virt(?:-\\d+(\\.\\d+)+)?(\\+pve\\d+)?)',
  },
  viommu: { type: 'string', enum: ['intel', 'virtio'], ...opt },
};

export const qemuMemoryFormat: PropertyFormat = {
  current: { type: 'integer', default: 512, default_key: true, minimum: 16 },
};

export const qemuAgentFormat: PropertyFormat = {
  enabled: { type: 'boolean', default: 0, default_key: true },
  'freeze-fs': { type: 'boolean', default: 1, since: '9.1', ...opt },
  // 9.x renamed freeze-fs-on-backup to freeze-fs and kept the old name as an alias.
  'freeze-fs-on-backup': { alias: 'freeze-fs', olderForm: { until: '9.1', def: { type: 'boolean', default: 1, optional: true } } },
  'guest-fsfreeze': { alias: 'freeze-fs', since: '9.1' },
  fstrim_cloned_disks: { type: 'boolean', default: 0, ...opt },
  type: { type: 'string', default: 'virtio', enum: ['virtio', 'isa'], ...opt },
};

export const qemuUnusedFormat: PropertyFormat = {
  file: { type: 'string', default_key: true, format: 'pve-volume-id' },
};

/** Which property format a guest option uses, for reading and rewriting configs. */
export function guestOptionFormat(guest: 'qemu' | 'lxc', option: string): PropertyFormat | undefined {
  const base = option.replace(/\d+$/, '');
  if (guest === 'lxc') {
    if (base === 'net') return lxcNetFormat;
    if (option === 'rootfs') return lxcRootfsFormat;
    if (base === 'mp') return lxcMountPointFormat;
    if (option === 'features') return lxcFeaturesFormat;
    if (base === 'unused') return lxcUnusedFormat;
    return undefined;
  }
  if (base === 'net') return qemuNetFormat;
  if (base === 'scsi') return qemuDriveFormat;
  if (base === 'sata') return qemuSataFormat;
  if (base === 'ide') return qemuIdeFormat;
  if (base === 'virtio') return qemuVirtioFormat;
  if (option === 'memory') return qemuMemoryFormat;
  if (option === 'efidisk0') return qemuEfiDiskFormat;
  if (option === 'tpmstate0') return qemuTpmStateFormat;
  if (option === 'vga') return qemuVgaFormat;
  if (option === 'machine') return qemuMachineFormat;
  if (option === 'agent') return qemuAgentFormat;
  if (base === 'unused') return qemuUnusedFormat;
  return undefined;
}

/** Disk-holding options of a guest config (`rootfs`, `mp3`, `scsi0`, …). */
export function isDiskOption(guest: 'qemu' | 'lxc', option: string): boolean {
  return guest === 'lxc' ? option === 'rootfs' || /^mp\d+$/.test(option) : /^(scsi|virtio|sata|ide|efidisk|tpmstate)\d+$/.test(option);
}
