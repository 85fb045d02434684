/**
 * Request decoding the way Portainer's libhttp does it: numeric route variables and
 * query parameters with its error texts, and JSON payloads decoded like Go's
 * encoding/json (keys match case-insensitively, type mismatches are refused with Go's
 * wording). Pure helpers over already-read request data.
 */
import { badRequest } from './errors.ts';
import type { Pair } from './compose.ts';

export type FieldType = 'string' | 'bool' | 'int' | 'pairs';

const GO_TYPE: Record<FieldType, string> = { string: 'string', bool: 'bool', int: 'int', pairs: '[]portainer.Pair' };

/** `strconv.Atoi`'s refusal, which Portainer passes on as `details`. */
function atoiError(text: string): string {
  return `strconv.Atoi: parsing ${JSON.stringify(text)}: invalid syntax`;
}

export function parseIntStrict(text: string): number | undefined {
  return /^[+-]?\d+$/.test(text) && Math.abs(Number(text)) <= Number.MAX_SAFE_INTEGER ? Number(text) : undefined;
}

/** `request.RetrieveNumericRouteVariableValue` with the handler's message. */
export function routeId(raw: string, what: 'stack' | 'environment'): number {
  const n = parseIntStrict(raw);
  if (n === undefined) throw badRequest(`Invalid ${what} identifier route variable`, atoiError(raw));
  return n;
}

/** `request.RetrieveNumericQueryParameter(r, name, optional)`. */
export function queryInt(query: URLSearchParams, name: string, optional: boolean): number | undefined {
  const raw = query.get(name) ?? '';
  if (raw === '') {
    if (optional) return undefined;
    throw badRequest(`Invalid query parameter: ${name}`, 'Missing query parameter');
  }
  const n = parseIntStrict(raw);
  if (n === undefined) throw badRequest(`Invalid query parameter: ${name}`, atoiError(raw));
  return n;
}

/** `request.RetrieveBooleanQueryParameter`: strconv.ParseBool's spellings. */
export function queryBool(query: URLSearchParams, name: string): boolean | undefined {
  const raw = query.get(name);
  if (raw === null || raw === '') return undefined;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(raw)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(raw)) return false;
  throw badRequest(`Invalid query parameter: ${name}`, `strconv.ParseBool: parsing ${JSON.stringify(raw)}: invalid syntax`);
}

/**
 * Decodes a JSON payload into the named Go struct's fields. Unknown keys are ignored,
 * as encoding/json does; a wrong JSON type is a 400 "Invalid request payload".
 */
export function decodePayload(text: string, struct: string, fields: Record<string, FieldType>): Record<string, unknown> {
  const invalid = (details: string) => badRequest('Invalid request payload', details);
  if (text.trim() === '') throw invalid('EOF');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    const first = text.trim()[0]!;
    throw invalid(/[[{"\d\-tfn]/.test(first) ? 'unexpected EOF' : `invalid character '${first}' looking for beginning of value`);
  }
  if (parsed === null) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalid(`json: cannot unmarshal ${jsonKind(parsed)} into Go value of type ${struct}`);
  }
  const out: Record<string, unknown> = {};
  const entries = Object.entries(parsed as Record<string, unknown>);
  for (const [field, type] of Object.entries(fields)) {
    // encoding/json prefers an exact key, then any case-insensitive match.
    const hit = entries.find(([k]) => k === field) ?? entries.find(([k]) => k.toLowerCase() === field.toLowerCase());
    if (!hit || hit[1] === null) continue;
    const value = hit[1];
    const goField = `${struct.replace(/^.*\./, '')}.${field[0]!.toUpperCase()}${field.slice(1)}`;
    const mismatch = (kind: string, goType = GO_TYPE[type]) => invalid(`json: cannot unmarshal ${kind} into Go struct field ${goField} of type ${goType}`);
    switch (type) {
      case 'string':
        if (typeof value !== 'string') throw mismatch(jsonKind(value));
        break;
      case 'bool':
        if (typeof value !== 'boolean') throw mismatch(jsonKind(value));
        break;
      case 'int':
        if (typeof value !== 'number' || !Number.isInteger(value)) throw mismatch(typeof value === 'number' ? `number ${value}` : jsonKind(value));
        break;
      case 'pairs': {
        if (!Array.isArray(value)) throw mismatch(jsonKind(value));
        const pairs: Pair[] = [];
        for (const item of value) {
          if (item === null) {
            pairs.push({ name: '', value: '' });
            continue;
          }
          if (typeof item !== 'object' || Array.isArray(item)) throw mismatch(jsonKind(item), 'portainer.Pair');
          const rec = item as Record<string, unknown>;
          const get = (k: string) => (k in rec ? rec[k] : Object.entries(rec).find(([x]) => x.toLowerCase() === k)?.[1]);
          const name = get('name');
          const val = get('value');
          if (name !== undefined && name !== null && typeof name !== 'string') throw invalid(`json: cannot unmarshal ${jsonKind(name)} into Go struct field Pair.${goField}.name of type string`);
          if (val !== undefined && val !== null && typeof val !== 'string') throw invalid(`json: cannot unmarshal ${jsonKind(val)} into Go struct field Pair.${goField}.value of type string`);
          pairs.push({ name: (name as string | undefined | null) ?? '', value: (val as string | undefined | null) ?? '' });
        }
        out[field] = pairs;
        continue;
      }
    }
    out[field] = value;
  }
  return out;
}

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'object';
  return typeof v;
}
