/**
 * A typed model of Proxmox API parameter definitions, shaped like the `parameters`
 * section of the official schema (pve-common JSONSchema) so that hand-written
 * definitions can be compared with it field by field. Builders keep the hand-written
 * tables short.
 */
export type ParamType = 'string' | 'integer' | 'number' | 'boolean' | 'array';

/**
 * Which Proxmox VE releases have a definition: it exists when `since <= version` and
 * `version < until`. Versions compare numerically (`8.4` < `9.1`).
 */
export interface Versioned {
  readonly since?: string;
  readonly until?: string;
}

/** One key inside a property string such as `net0: virtio,bridge=vmbr0`. */
export interface PropertyKeyDef extends Versioned {
  readonly type?: ParamType;
  readonly optional?: boolean;
  /** The key may be omitted: `local-lvm:8` means `volume=local-lvm:8`. */
  readonly default_key?: boolean;
  /**
   * With `default_key`: print the key's name anyway. For options Proxmox stores as written
   * rather than reprinting (`startup`), where its own UI writes `order=3`, not `3`.
   */
  readonly writeKeyed?: boolean;
  readonly enum?: readonly string[];
  readonly format?: string;
  readonly pattern?: string;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly default?: string | number;
  /** `virtio=<mac>`: the key `virtio` stores its value under `alias` and its own name under `keyAlias`. */
  readonly alias?: string;
  readonly keyAlias?: string;
  /** Another key that must be present with this one (`requires` of the schema). */
  readonly requires?: string;
  /** How releases before `until` defined this key (e.g. an alias that used to be a real key). */
  readonly olderForm?: { readonly until: string; readonly def: PropertyKeyDef };
}

export type PropertyFormat = Readonly<Record<string, PropertyKeyDef>>;

export interface ParamDef extends Versioned {
  readonly type: ParamType;
  readonly optional?: boolean;
  /** A named format (`pve-vmid`) or an inline property-string format. */
  readonly format?: string | PropertyFormat;
  readonly enum?: readonly string[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly maxLength?: number;
  readonly minLength?: number;
  /** JavaScript regex source; matched anchored, as Perl's `^(?:…)$`. */
  readonly pattern?: string;
  readonly default?: string | number;
  /** Another parameter that must be sent with this one (`requires` of the schema). */
  readonly requires?: string;
  /**
   * For indexed options (`net[n]`): how many exist, i.e. the highest index + 1. The
   * official schema collapses `net0..net31` into `net[n]`, so this is not in it.
   */
  readonly count?: number;
  /** How releases before `until` defined this parameter (e.g. a shorter enum). */
  readonly olderForm?: { readonly until: string; readonly def: ParamDef };
}

/** Keyed by parameter name; indexed options use the schema's `name[n]` spelling. */
export type ParamDefs = Readonly<Record<string, ParamDef>>;

type Extra = Omit<ParamDef, 'type'>;
type Opt = Extra & { optional?: boolean };

export const str = (extra: Opt = {}): ParamDef => ({ type: 'string', ...extra });
export const int = (extra: Opt = {}): ParamDef => ({ type: 'integer', ...extra });
export const num = (extra: Opt = {}): ParamDef => ({ type: 'number', ...extra });
export const bool = (extra: Opt = {}): ParamDef => ({ type: 'boolean', ...extra });
export const oneOf = (values: readonly string[], extra: Opt = {}): ParamDef => ({ type: 'string', enum: values, ...extra });

/** Marks every definition optional: most API parameters are. */
export function optional(defs: ParamDefs): ParamDefs {
  return Object.fromEntries(Object.entries(defs).map(([k, d]) => [k, { ...d, optional: true }]));
}

/** Path parameters appear in the schema as required properties. */
export const nodeParam: ParamDef = str({ format: 'pve-node' });
export const vmidParam: ParamDef = int({ format: 'pve-vmid', minimum: 100, maximum: 999999999 });

/** Splits `net12` into `net` and 12, for matching against `net[n]` definitions. */
export function splitIndexedName(name: string): { base: string; index: number } | undefined {
  const m = /^([a-z_]+)(\d+)$/.exec(name);
  return m ? { base: m[1]!, index: Number(m[2]) } : undefined;
}

/** Finds the definition for a concrete name, honouring indexed options' maximum count. */
export function lookupParam(defs: ParamDefs, name: string): ParamDef | undefined {
  if (Object.hasOwn(defs, name)) return defs[name];
  const indexed = splitIndexedName(name);
  if (!indexed) return undefined;
  const def = defs[`${indexed.base}[n]`];
  if (!def) return undefined;
  return def.count === undefined || indexed.index < def.count ? def : undefined;
}

export function compareVersions(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function existsIn(def: Versioned, version: string): boolean {
  return (def.since === undefined || compareVersions(def.since, version) <= 0) && (def.until === undefined || compareVersions(version, def.until) < 0);
}

function formatForVersion(format: PropertyFormat, version: string): PropertyFormat {
  const out: Record<string, PropertyKeyDef> = {};
  for (const [key, def] of Object.entries(format)) {
    const effective = def.olderForm && compareVersions(version, def.olderForm.until) < 0 ? def.olderForm.def : def;
    if (existsIn(effective, version)) out[key] = effective;
  }
  return out;
}

/** The definitions as a given Proxmox VE release has them. */
export function defsForVersion(defs: ParamDefs, version: string): ParamDefs {
  const out: Record<string, ParamDef> = {};
  for (const [name, def] of Object.entries(defs)) {
    const effective = def.olderForm && compareVersions(version, def.olderForm.until) < 0 ? def.olderForm.def : def;
    if (!existsIn(effective, version)) continue;
    out[name] = typeof effective.format === 'object' ? { ...effective, format: formatForVersion(effective.format, version) } : effective;
  }
  return out;
}
