/**
 * Property-string formats that qemu-server registers under a name (`format: 'pve-qm-rng'`)
 * instead of inlining them in the schema, so the official schema does not show their keys.
 * Written from qemu-server's sources (cited per format); formats.ts validates named values
 * with them.
 */
import type { PropertyFormat } from './schema.ts';

const opt = { optional: true } as const;
const boolKey = { type: 'boolean', optional: true } as const;

/** qemu-server src/PVE/QemuServer.pm `$watchdog_fmt`. */
export const qemuWatchdogFormat: PropertyFormat = {
  model: { type: 'string', default_key: true, enum: ['i6300esb', 'ib700'], default: 'i6300esb', ...opt },
  action: { type: 'string', enum: ['reset', 'shutdown', 'poweroff', 'pause', 'debug', 'none'], ...opt },
};

/** qemu-server src/PVE/QemuServer/RNG.pm `$rng_fmt`. */
export const qemuRngFormat: PropertyFormat = {
  source: { type: 'string', default_key: true, enum: ['/dev/urandom', '/dev/random', '/dev/hwrng'] },
  max_bytes: { type: 'integer', default: 1024, ...opt },
  period: { type: 'integer', default: 1000, ...opt },
};

/** qemu-server src/PVE/QemuServer/CPUConfig.pm `$sev_fmt`. */
export const qemuSevFormat: PropertyFormat = {
  type: { type: 'string', default_key: true, enum: ['std', 'es', 'snp'], maxLength: 3 },
  'no-debug': { type: 'boolean', default: 0, ...opt },
  'no-key-sharing': { type: 'boolean', default: 0, ...opt },
  'allow-smt': { type: 'boolean', default: 1, ...opt },
  'kernel-hashes': { type: 'boolean', default: 0, ...opt },
};

/** qemu-server src/PVE/QemuServer/CPUConfig.pm `$tdx_fmt` (`attestation` is not optional there). */
export const qemuTdxFormat: PropertyFormat = {
  type: { type: 'string', default_key: true, enum: ['tdx'] },
  attestation: { type: 'boolean', default: 1 },
  'vsock-cid': { type: 'integer', minimum: 2, default: 2, ...opt },
  'vsock-port': { type: 'integer', minimum: 0, default: 4050, ...opt },
};

/** qemu-server src/PVE/QemuServer/PCI.pm `$PCIRE` and `$hostpci_fmt`. */
const PCI_RE = '(?:[a-f0-9]{4,}:)?[a-f0-9]{2}:[a-f0-9]{2}(?:\\.[a-f0-9])?';
const PCI_ID = '0x[0-9a-fA-F]{4}';
export const qemuHostpciFormat: PropertyFormat = {
  host: { type: 'string', default_key: true, pattern: `${PCI_RE}(;${PCI_RE})*`, ...opt },
  mapping: { type: 'string', format: 'pve-configid', ...opt },
  rombar: { type: 'boolean', default: 1, ...opt },
  romfile: { type: 'string', pattern: '[^,;]+', ...opt },
  pcie: { ...boolKey, default: 0 },
  'x-vga': { ...boolKey, default: 0 },
  'legacy-igd': { ...boolKey, default: 0 },
  mdev: { type: 'string', pattern: '[^/\\.:]+', ...opt },
  'vendor-id': { type: 'string', pattern: PCI_ID, ...opt },
  'device-id': { type: 'string', pattern: PCI_ID, ...opt },
  'sub-vendor-id': { type: 'string', pattern: PCI_ID, ...opt },
  'sub-device-id': { type: 'string', pattern: PCI_ID, ...opt },
  driver: { type: 'string', default: 'vfio', enum: ['vfio', 'keep'], ...opt },
};
