/**
 * Request parameter validation with the rules of pve-common `JSONSchema::validate`:
 * every parameter is checked (required, type, format, pattern, length, range, enum, in
 * that order, then `requires`), errors are collected per parameter, and unknown parameters are refused
 * because Proxmox schemas set `additionalProperties: 0`.
 */
import type { ParamDef, ParamDefs } from './schema.ts';
import { lookupParam } from './schema.ts';
import { checkNamedFormat } from './formats.ts';
import { parsePropertyString, propertyErrorMessage } from './property-string.ts';

export const MSG_MISSING = 'property is missing and it is not optional';
export const MSG_UNKNOWN = 'property is not defined in schema and the schema does not allow additional properties';

const INT_RE = /^[+-]?\d+$/;
const NUM_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'ARRAY';
  if (value !== null && typeof value === 'object') return 'HASH';
  return `'${String(value)}'`;
}

function typeError(def: ParamDef, value: unknown): string | undefined {
  const t = def.type;
  if (t === 'array') return Array.isArray(value) ? undefined : `type check ('array') failed`;
  if (Array.isArray(value) || (value !== null && typeof value === 'object')) return `type check ('${t}') failed - got ${describe(value)}`;
  const text = String(value);
  switch (t) {
    case 'boolean':
      return value === true || value === false || text === '0' || text === '1' ? undefined : `type check ('boolean') failed - got ${describe(value)}`;
    case 'integer':
      return INT_RE.test(text) ? undefined : `type check ('integer') failed - got ${describe(value)}`;
    case 'number':
      return NUM_RE.test(text) ? undefined : `type check ('number') failed - got ${describe(value)}`;
    default:
      return undefined;
  }
}

/** Checks one present value against its definition; returns Proxmox's message or undefined. */
export function checkValue(def: ParamDef, value: unknown): string | undefined {
  const typeErr = typeError(def, value);
  if (typeErr !== undefined) return typeErr;
  if (def.type === 'array') return undefined;
  const text = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
  if (typeof def.format === 'string') {
    const err = checkNamedFormat(def.format, text);
    if (err !== undefined) return `invalid format - ${err}\n`;
  } else if (def.format !== undefined) {
    const parsed = parsePropertyString(text, def.format);
    if (Object.keys(parsed.errors).length > 0) return propertyErrorMessage(parsed.errors);
  }
  if (def.pattern !== undefined && !new RegExp(`^(?:${def.pattern})$`).test(text)) return 'value does not match the regex pattern';
  if (def.type === 'string') {
    if (def.maxLength !== undefined && text.length > def.maxLength) return `value may only be ${def.maxLength} characters long`;
    if (def.minLength !== undefined && text.length < def.minLength) return `value must be at least ${def.minLength} characters long`;
  }
  if (def.type === 'integer' || def.type === 'number') {
    const n = Number(text);
    if (def.maximum !== undefined && n > def.maximum) return `value must have a maximum value of ${def.maximum}`;
    if (def.minimum !== undefined && n < def.minimum) return `value must have a minimum value of ${def.minimum}`;
  }
  if (def.enum !== undefined && !def.enum.includes(text)) return `value '${text}' does not have a value in the enumeration '${def.enum.join(', ')}'`;
  return undefined;
}

export type Params = Record<string, unknown>;

export type ValidationResult =
  | { readonly ok: true; readonly params: Params }
  | { readonly ok: false; readonly errors: Readonly<Record<string, string>> };

/** Converts validated raw values to typed ones: integers and booleans as numbers (0/1). */
function coerce(def: ParamDef, value: unknown): unknown {
  if (def.type === 'integer') return Number(value);
  if (def.type === 'boolean') return value === true || value === '1' || value === 1 ? 1 : 0;
  if (def.type === 'number') return Number(value);
  if (def.type === 'array') return value;
  return String(value);
}

export function validateParams(defs: ParamDefs, raw: Readonly<Params>): ValidationResult {
  const errors: Record<string, string> = {};
  const params: Params = {};
  for (const [name, value] of Object.entries(raw)) {
    const def = lookupParam(defs, name);
    if (!def) {
      errors[name] = MSG_UNKNOWN;
      continue;
    }
    // Legacy normalisation: a scalar for an array parameter is wrapped; repeated keys
    // for a list-format string are joined with ','.
    let v = value;
    if (def.type === 'array' && !Array.isArray(v)) v = [v];
    if (def.type === 'string' && Array.isArray(v) && typeof def.format === 'string' && def.format.endsWith('-list')) v = v.join(',');
    const err = checkValue(def, v);
    if (err !== undefined) errors[name] = err;
    else params[name] = coerce(def, v);
  }
  for (const [name, def] of Object.entries(defs)) {
    if (!def.optional && !name.endsWith('[n]') && !Object.hasOwn(raw, name) && errors[name] === undefined) errors[name] = MSG_MISSING;
  }
  // pve-common JSONSchema check_object: a present property's `requires` must be present too.
  for (const name of Object.keys(raw)) {
    const requires = lookupParam(defs, name)?.requires;
    if (requires !== undefined && !Object.hasOwn(raw, requires)) errors[requires] = `missing property required by '${name}'`;
  }
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, params };
}
