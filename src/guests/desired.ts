import { formatPropertyString, parsePropertyString, type PropertyValues } from '../proxmox/property-string.ts';
import type { PropertyFormat } from '../proxmox/schema.ts';
import { parseSize } from '../proxmox/size.ts';

/** Maps a raw value to its comparable form; `undefined` means "absent or the default". */
export type Normaliser = (value: string | undefined) => string | undefined;

/** A plain option such as `cores` or `onboot`. */
export interface ScalarOption {
  readonly kind: 'scalar';
  readonly key: string;
  readonly desired: string;
  readonly normalise: Normaliser;
}

/**
 * A property-string option such as `net0` or `features`. `managedKeys` are compared (a
 * managed key the spec leaves out must be absent); other keys, such as a MAC address that
 * Proxmox generated, are kept as they are when Phoenix writes the option.
 */
export interface PropertyOption {
  readonly kind: 'property';
  readonly key: string;
  readonly format: PropertyFormat;
  readonly desired: PropertyValues;
  readonly managedKeys: readonly string[];
  readonly normalisers?: Readonly<Record<string, Normaliser>>;
  /** For a disk: the size it must have at least. Disks grow by resize, never by a config write. */
  readonly minSizeBytes?: number;
  /** The value to write when the option does not exist yet (a new volume: `local-lvm:8,mp=/x`). */
  readonly createValue?: string;
}

export type DesiredOption = ScalarOption | PropertyOption;

export interface DesiredConfig {
  readonly options: readonly DesiredOption[];
  /** Indexed families the spec declares completely: `net` with 2 means net2, net3… must go. */
  readonly exclusiveFamilies: Readonly<Record<string, number>>;
}

export interface ConfigChange {
  readonly key: string;
  /** The value to write, or undefined to delete the option. */
  readonly value: string | undefined;
  readonly observed: string | undefined;
  /** For property strings: which managed keys differ. */
  readonly fields: readonly string[];
}

export interface Resize {
  readonly disk: string;
  readonly fromBytes: number;
  readonly toBytes: number;
}

export interface ConfigDiff {
  readonly changes: readonly ConfigChange[];
  readonly resizes: readonly Resize[];
  /** Disks the spec wants smaller than they are: refused, never "fixed" by re-creating. */
  readonly shrinks: readonly Resize[];
}

export const norm = {
  text: ((v) => (v === undefined || v === '' ? undefined : v)) as Normaliser,
  int: (fallback?: number): Normaliser => (v) => {
    const n = v === undefined || v === '' ? fallback : Number(v);
    return n === undefined || Number.isNaN(n) ? undefined : String(n);
  },
  bool: (fallback = false): Normaliser => (v) => {
    const b = v === undefined || v === '' ? fallback : v === '1' || v === 'true' || v === 'on';
    return b ? '1' : '0';
  },
  upper: ((v) => (v === undefined || v === '' ? undefined : v.toUpperCase())) as Normaliser,
  lower: ((v) => (v === undefined || v === '' ? undefined : v.toLowerCase())) as Normaliser,
  /** Proxmox lists: order-insensitive where Proxmox treats them as sets. */
  set: (separator: RegExp, join: string): Normaliser => (v) =>
    v === undefined || v.trim() === '' ? undefined : [...new Set(v.split(separator).map((s) => s.trim().toLowerCase()).filter(Boolean))].sort().join(join),
  size: ((v) => {
    if (v === undefined || v === '') return undefined;
    const bytes = parseSize(v);
    return bytes === undefined ? v : String(bytes);
  }) as Normaliser,
};

function sizeOf(values: PropertyValues): number | undefined {
  return values['size'] === undefined ? undefined : parseSize(values['size']);
}

function compareProperty(option: PropertyOption, observedRaw: string | undefined): { change?: ConfigChange; resize?: Resize; shrink?: Resize } {
  if (observedRaw === undefined) {
    const value = option.createValue ?? formatPropertyString(option.desired, option.format);
    return { change: { key: option.key, value, observed: undefined, fields: option.managedKeys.filter((k) => option.desired[k] !== undefined) } };
  }
  const observed = parsePropertyString(observedRaw, option.format).values;
  const fields = option.managedKeys.filter((k) => {
    const n = option.normalisers?.[k] ?? norm.text;
    return n(option.desired[k]) !== n(observed[k]);
  });
  const out: { change?: ConfigChange; resize?: Resize; shrink?: Resize } = {};
  if (fields.length) {
    const merged: Record<string, string> = { ...observed };
    for (const k of option.managedKeys) {
      const v = option.desired[k];
      if (v === undefined) delete merged[k];
      else merged[k] = v;
    }
    out.change = { key: option.key, value: formatPropertyString(merged, option.format), observed: observedRaw, fields };
  }
  if (option.minSizeBytes !== undefined) {
    const current = sizeOf(observed);
    if (current !== undefined && option.minSizeBytes > current) out.resize = { disk: option.key, fromBytes: current, toBytes: option.minSizeBytes };
    if (current !== undefined && option.minSizeBytes < current) out.shrink = { disk: option.key, fromBytes: current, toBytes: option.minSizeBytes };
  }
  return out;
}

/**
 * Compares the options Phoenix manages with a guest's config. Pure: no I/O, no clock.
 * Anything the spec leaves unset is not looked at, so Proxmox's defaults and generated
 * values never show up as drift.
 */
export function diffConfig(desired: DesiredConfig, observed: Readonly<Record<string, unknown>>): ConfigDiff {
  const changes: ConfigChange[] = [];
  const resizes: Resize[] = [];
  const shrinks: Resize[] = [];
  const raw = (key: string): string | undefined => (observed[key] === undefined || observed[key] === null ? undefined : String(observed[key]));
  for (const option of desired.options) {
    if (option.kind === 'scalar') {
      const current = raw(option.key);
      if (option.normalise(option.desired) !== option.normalise(current)) {
        changes.push({ key: option.key, value: option.desired, observed: current, fields: [] });
      }
      continue;
    }
    const { change, resize, shrink } = compareProperty(option, raw(option.key));
    if (change) changes.push(change);
    if (resize) resizes.push(resize);
    if (shrink) shrinks.push(shrink);
  }
  for (const [family, count] of Object.entries(desired.exclusiveFamilies)) {
    for (const key of Object.keys(observed)) {
      const match = key.match(/^([a-z]+)(\d+)$/);
      if (match && match[1] === family && Number(match[2]) >= count) {
        changes.push({ key, value: undefined, observed: raw(key), fields: [] });
      }
    }
  }
  return { changes, resizes, shrinks };
}

/** The parameters of a create call: every desired option in its create form. */
export function createParams(desired: DesiredConfig): Record<string, string> {
  const params: Record<string, string> = {};
  for (const option of desired.options) {
    params[option.key] = option.kind === 'scalar' ? option.desired : option.createValue ?? formatPropertyString(option.desired, option.format);
  }
  return params;
}
