/**
 * Disk and memory sizes as Proxmox writes them: `8G`, `512M`, `+2G`, `1.5T`, or a bare
 * number. pve-common `parse_size` treats a bare number as bytes, while storage
 * allocation shorthand (`local-lvm:8`) means GiB; callers choose the unit.
 */
const UNITS: Readonly<Record<string, number>> = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** `disk-size` format: `\d+(\.\d+)?[KMGT]?`. */
export const DISK_SIZE_RE = /^(\d+(?:\.\d+)?)([KMGT])?$/;

/** Parses `8G` etc. to bytes; a bare number is bytes. Undefined when malformed. */
export function parseSize(text: string): number | undefined {
  const m = DISK_SIZE_RE.exec(text);
  if (!m) return undefined;
  const unit = m[2] === undefined ? 1 : UNITS[m[2]]!;
  return Math.floor(Number(m[1]) * unit);
}

/** A resize request: `+2G` grows by, `10G` sets to. */
export interface SizeChange {
  readonly relative: boolean;
  readonly bytes: number;
}

export function parseSizeChange(text: string): SizeChange | undefined {
  const relative = text.startsWith('+');
  const bytes = parseSize(relative ? text.slice(1) : text);
  return bytes === undefined ? undefined : { relative, bytes };
}

/** Formats bytes the way Proxmox writes `size=` in configs: the largest exact unit. */
export function formatSize(bytes: number): string {
  for (const unit of ['T', 'G', 'M', 'K'] as const) {
    const factor = UNITS[unit]!;
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return String(bytes);
}

export const GiB = UNITS.G!;
export const MiB = UNITS.M!;
