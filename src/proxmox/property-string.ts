/**
 * Property strings (`name=eth0,bridge=vmbr0,ip=dhcp`), parsed and printed as pve-common
 * `parse_property_string` / `print_property_string` do: comma-separated `key=value`
 * pairs, one bare value allowed for the format's `default_key`, and key aliases such as
 * qemu's `virtio=<mac>` (model and MAC in one pair).
 */
import type { PropertyFormat } from './schema.ts';
import { checkValue } from './validate.ts';

export type PropertyValues = Record<string, string>;

export interface PropertyParseResult {
  /**
   * Every sub-key of the string, those the format does not know included (reported in
   * `errors` as well): a config read back and rewritten keeps what someone else set on it.
   */
  readonly values: PropertyValues;
  /** Per sub-key errors, in Proxmox's wording; empty when the string is valid. */
  readonly errors: Readonly<Record<string, string>>;
}

function defaultKeyOf(format: PropertyFormat): string | undefined {
  return Object.keys(format).find((k) => format[k]!.default_key);
}

export function parsePropertyString(text: string, format: PropertyFormat): PropertyParseResult {
  const values: PropertyValues = {};
  const errors: Record<string, string> = {};
  const defaultKey = defaultKeyOf(format);
  for (const part of text.split(',')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    let key: string;
    let value: string;
    if (eq < 0) {
      if (defaultKey === undefined || values[defaultKey] !== undefined) {
        errors['_'] = `value without key, but schema does not define a default key`;
        continue;
      }
      key = defaultKey;
      value = part;
    } else {
      key = part.slice(0, eq);
      value = part.slice(eq + 1);
    }
    const def = format[key];
    if (def?.alias !== undefined) {
      if (def.keyAlias !== undefined) values[def.keyAlias] = key;
      key = def.alias;
    }
    if (Object.hasOwn(values, key)) {
      errors[key] = `duplicate key in comma-separated list property: ${key}`;
      continue;
    }
    // The shared formats leave out sub-keys Phoenix never writes (I/O limits, error policies,
    // WWNs…); they are still part of the guest's config, so the value is kept, not dropped.
    if (!Object.hasOwn(format, key)) errors[key] = 'property is not defined in schema and the schema does not allow additional properties';
    values[key] = value;
  }
  for (const [key, def] of Object.entries(format)) {
    if (def.alias !== undefined) continue;
    const value = values[key];
    if (value === undefined) {
      if (!def.optional && errors[key] === undefined) errors[key] = 'property is missing and it is not optional';
      continue;
    }
    if (def.requires !== undefined && values[def.requires] === undefined) errors[def.requires] = `missing property required by '${key}'`;
    const { olderForm: _older, alias: _alias, keyAlias: _keyAlias, requires: _requires, ...rule } = def;
    const err = checkValue({ ...rule, type: def.type ?? 'string', optional: true }, value);
    if (err !== undefined) errors[key] = err;
  }
  return { values, errors };
}

/** Proxmox's error text for a bad property string: `invalid format - format error\nkey: msg\n…`. */
export function propertyErrorMessage(errors: Readonly<Record<string, string>>): string {
  const lines = Object.entries(errors).map(([k, v]) => `${k}: ${v.replace(/\n$/, '')}\n`);
  return `invalid format - format error\n${lines.join('')}`;
}

/**
 * Prints values in Proxmox's canonical order: the default key's bare value first (or
 * `model=mac` for aliased keys; or `key=value` when it is `writeKeyed`), then the required keys
 * sorted (`name=eth0,bridge=…`, `<volume>,mp=/data,backup=1`), then the rest sorted, those the
 * format does not know included, as pve-common src/PVE/JSONSchema.pm
 * `print_property_string` does (qemu-server's `print_drive` and pve-container's
 * `print_ct_mountpoint` go through it, so a drive is stored in that order too).
 */
export function formatPropertyString(values: Readonly<PropertyValues>, format: PropertyFormat): string {
  const parts: string[] = [];
  const used = new Set<string>();
  const defaultKey = defaultKeyOf(format);
  if (defaultKey !== undefined && values[defaultKey] !== undefined && !format[defaultKey]!.writeKeyed) {
    const aliasKey = values[defaultKey]!;
    const aliasDef = format[aliasKey];
    if (aliasDef?.alias !== undefined && aliasDef.keyAlias === defaultKey && values[aliasDef.alias] !== undefined) {
      parts.push(`${aliasKey}=${values[aliasDef.alias]}`);
      used.add(aliasDef.alias);
    } else {
      parts.push(aliasKey);
    }
    used.add(defaultKey);
  }
  const keys = Object.keys(values).sort();
  const required = keys.filter((k) => format[k] !== undefined && format[k]!.alias === undefined && !format[k]!.optional);
  for (const key of [...required, ...keys]) {
    if (used.has(key) || values[key] === undefined) continue;
    parts.push(`${key}=${values[key]}`);
    used.add(key);
  }
  return parts.join(',');
}
