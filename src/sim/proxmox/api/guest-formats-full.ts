/**
 * The simulator's complete guest option formats: the shared ones (src/proxmox/guest-formats.ts,
 * which the controller also builds with) plus every sub-key qemu-server documents that Phoenix
 * itself never writes — I/O throttling, error policies, SCSI identity, legacy geometry — and the
 * property strings of the options only the simulator serves (usb, numa, virtiofs, …). The
 * simulator stores them as given, so a client reads back what it wrote.
 */
import type { PropertyFormat } from '../../../proxmox/schema.ts';
import {
  guestOptionFormat, qemuDriveFormat, qemuIdeFormat, qemuSataFormat, qemuUnusedFormat, qemuVirtioFormat,
} from '../../../proxmox/guest-formats.ts';
import { qemuHostpciFormat, qemuRngFormat, qemuSevFormat, qemuTdxFormat, qemuWatchdogFormat } from '../../../proxmox/registered-formats.ts';

const opt = { optional: true } as const;
const intKey = { type: 'integer', optional: true } as const;
const numKey = { type: 'number', optional: true } as const;
const lengthKey = { type: 'integer', minimum: 1, optional: true } as const;

/** qemu-server src/PVE/QemuServer/Drive.pm `%drivedesc_base` throttling and error keys. */
const commonDriveKeys: PropertyFormat = {
  bps: intKey, bps_max_length: lengthKey, bps_rd: intKey, bps_rd_length: { alias: 'bps_rd_max_length' }, bps_rd_max_length: lengthKey,
  bps_wr: intKey, bps_wr_length: { alias: 'bps_wr_max_length' }, bps_wr_max_length: lengthKey,
  detect_zeroes: { type: 'boolean', optional: true },
  iops: intKey, iops_max: intKey, iops_max_length: lengthKey, iops_rd: intKey, iops_rd_length: { alias: 'iops_rd_max_length' }, iops_rd_max: intKey, iops_rd_max_length: lengthKey,
  iops_wr: intKey, iops_wr_length: { alias: 'iops_wr_max_length' }, iops_wr_max: intKey, iops_wr_max_length: lengthKey,
  mbps: numKey, mbps_max: numKey, mbps_rd: numKey, mbps_rd_max: numKey, mbps_wr: numKey, mbps_wr_max: numKey,
  rerror: { type: 'string', enum: ['ignore', 'report', 'stop'], ...opt },
  werror: { type: 'string', enum: ['enospc', 'ignore', 'report', 'stop'], ...opt },
  // Manual disk geometry, dropped in qemu-server 9 (PVE 9).
  cyls: { ...intKey, until: '9.1' }, heads: { ...intKey, until: '9.1' }, secs: { ...intKey, until: '9.1' },
  trans: { type: 'string', enum: ['none', 'lba', 'auto'], until: '9.1', ...opt },
};
const wwn = { type: 'string', pattern: '^(0x)[0-9a-fA-F]{16}', ...opt } as const;

export const fullScsiFormat: PropertyFormat = {
  ...qemuDriveFormat, ...commonDriveKeys, wwn,
  // Perl 5.34+ reads `{,16}` as `{0,16}`; JavaScript needs the 0 written out.
  product: { type: 'string', pattern: '[A-Za-z0-9\\-_\\s]{0,16}', ...opt },
  vendor: { type: 'string', pattern: '[A-Za-z0-9\\-_\\s]{0,8}', ...opt },
  queues: { type: 'integer', minimum: 2, ...opt },
  scsiblock: { type: 'boolean', default: 0, ...opt },
};
export const fullIdeFormat: PropertyFormat = { ...qemuIdeFormat, ...commonDriveKeys, wwn, model: { type: 'string', format: 'urlencoded', maxLength: 120, ...opt } };
export const fullSataFormat: PropertyFormat = { ...qemuSataFormat, ...commonDriveKeys, wwn };
export const fullVirtioFormat: PropertyFormat = { ...qemuVirtioFormat, ...commonDriveKeys };
export const fullUnusedFormat: PropertyFormat = { ...qemuUnusedFormat, volume: { alias: 'file' } };

/** qemu-server src/PVE/QemuServer.pm `$audio_fmt`. */
export const audioFormat: PropertyFormat = {
  device: { type: 'string', enum: ['ich9-intel-hda', 'intel-hda', 'AC97'] },
  driver: { type: 'string', default: 'spice', enum: ['spice', 'none'], ...opt },
};

/** qemu-server src/PVE/QemuServer.pm `$ivshmem_fmt`. */
export const ivshmemFormat: PropertyFormat = {
  name: { type: 'string', pattern: '[a-zA-Z0-9\\-]+', ...opt },
  size: { type: 'integer', minimum: 1 },
};

/** qemu-server src/PVE/QemuServer/Memory.pm `$numa_fmt`. */
const CPU_LIST = '\\d+(?:-\\d+)?(?:;\\d+(?:-\\d+)?)*';
export const numaFormat: PropertyFormat = {
  cpus: { type: 'string', pattern: CPU_LIST },
  hostnodes: { type: 'string', pattern: CPU_LIST, ...opt },
  memory: numKey,
  policy: { type: 'string', enum: ['preferred', 'bind', 'interleave'], ...opt },
};

/** qemu-server src/PVE/QemuServer.pm `$spice_enhancements_fmt`. */
export const spiceEnhancementsFormat: PropertyFormat = {
  foldersharing: { type: 'boolean', default: '0', ...opt },
  videostreaming: { type: 'string', default: 'off', enum: ['off', 'all', 'filter'], ...opt },
};

/** qemu-server src/PVE/QemuServer/USB.pm `$usb_fmt` (host: `vendor:product`, `bus-port`, or `spice`). */
export const usbFormat: PropertyFormat = {
  host: {
    type: 'string', default_key: true, ...opt,
    pattern: '(?:(?:(?:(0x)?([0-9A-Fa-f]{4}):(0x)?([0-9A-Fa-f]{4})))|(?:(?:(\\d+)\\-(\\d+(\\.\\d+)*)))|[Ss][Pp][Ii][Cc][Ee])',
  },
  mapping: { type: 'string', format: 'pve-configid', ...opt },
  usb3: { type: 'boolean', default: 0, ...opt },
};

/** qemu-server src/PVE/QemuServer/Virtiofs.pm `$virtiofs_fmt`. */
export const virtiofsFormat: PropertyFormat = {
  cache: { type: 'string', default: 'auto', enum: ['auto', 'always', 'metadata', 'never'], ...opt },
  'direct-io': { type: 'boolean', default: 0, ...opt },
  dirid: { type: 'string', default_key: true, format: 'pve-configid' },
  'expose-acl': { type: 'boolean', default: 0, ...opt },
  'expose-xattr': { type: 'boolean', default: 0, ...opt },
};

/** Which format the simulator reads and rewrites a guest option with. */
export function simOptionFormat(guest: 'qemu' | 'lxc', option: string): PropertyFormat | undefined {
  if (guest === 'qemu') {
    const base = option.replace(/\d+$/, '');
    const own: Record<string, PropertyFormat> = {
      scsi: fullScsiFormat, ide: fullIdeFormat, sata: fullSataFormat, virtio: fullVirtioFormat, unused: fullUnusedFormat,
      usb: usbFormat, numa: numaFormat, virtiofs: virtiofsFormat, hostpci: qemuHostpciFormat,
    };
    if (/\d$/.test(option) && own[base]) return own[base];
    const single: Record<string, PropertyFormat> = {
      audio0: audioFormat, ivshmem: ivshmemFormat, spice_enhancements: spiceEnhancementsFormat, rng0: qemuRngFormat, watchdog: qemuWatchdogFormat,
      'amd-sev': qemuSevFormat, 'intel-tdx': qemuTdxFormat,
    };
    if (single[option]) return single[option];
  }
  return guestOptionFormat(guest, option);
}
