/**
 * Loads Portainer's official Swagger 2.0 specs from the shared folder at test time
 * (never copied into the project) and turns response schemas into ajv validators.
 *
 * Two translations from Swagger 2.0 to what the server really sends, both stated here
 * so the test's leniency is visible:
 * - Go writes nil slices, maps and pointers as `null`; swaggo does not mark those
 *   `x-nullable`, so array-, object- and $ref-typed properties also accept null.
 *   Scalars (string, integer, boolean) never do.
 * - Go writes untagged struct fields under their Go name (`CreationDate`) where swaggo
 *   documents camelCase (`creationDate`). Property names are therefore compared
 *   case-insensitively; `keyReport` lists every such casing difference, and a key
 *   that matches no documented property in any casing is a mismatch.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';

export const SPEC_FILES = {
  ce: 'portainer-api/portainer-ce-2.17.1.swagger.yaml',
  ee: 'portainer-api/portainer-ee-2.31.2.swagger.yaml',
} as const;

export type Edition = keyof typeof SPEC_FILES;

type Schema = Record<string, unknown>;

export interface SpecParam {
  name: string;
  in: 'query' | 'path' | 'body' | 'formData' | 'header';
  required?: boolean;
  type?: string;
  enum?: unknown[];
  schema?: Schema;
}

export interface SpecOperation {
  parameters?: SpecParam[];
  responses: Record<string, { description?: string; schema?: Schema }>;
  security?: unknown[];
}

export interface Spec {
  info: { title: string; version: string };
  basePath: string;
  paths: Record<string, Record<string, SpecOperation>>;
  definitions: Record<string, Schema>;
}

export function sharedDir(): string {
  const repo = resolve(fileURLToPath(new URL('../../../..', import.meta.url)));
  return process.env['PHOENIX_SHARED_DIR'] ?? join(repo, '..', 'shared');
}

/** The spec, or why it is unavailable. */
export function loadSpec(edition: Edition): Spec | string {
  const file = join(sharedDir(), SPEC_FILES[edition]);
  if (!existsSync(file)) return `Portainer spec not found at ${file} (set PHOENIX_SHARED_DIR)`;
  return parse(readFileSync(file, 'utf8')) as Spec;
}

export function operation(spec: Spec, key: string): SpecOperation | undefined {
  const [method, path] = key.split(' ') as [string, string];
  return spec.paths[path]?.[method.toLowerCase()];
}

/** Swagger 2.0 schema → JSON Schema ajv accepts, with Go's null rule applied to properties. */
function translate(schema: unknown, nullable: boolean): unknown {
  if (Array.isArray(schema)) return schema.map((s) => translate(s, false));
  if (schema === null || typeof schema !== 'object') return schema;
  const s = schema as Schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'x-nullable' || k === 'example' || k === 'description' || k.startsWith('x-')) continue;
    if (k === 'properties') {
      out[k] = Object.fromEntries(Object.entries(v as Schema).map(([p, ps]) => [p, translate(ps, true)]));
    } else if (k === 'items' || k === 'additionalProperties') {
      out[k] = translate(v, false);
    } else out[k] = translate(v, false);
  }
  const type = s['type'];
  const goNil = nullable && (s['$ref'] !== undefined || type === 'array' || type === 'object');
  if (s['x-nullable'] === true || goNil) return { anyOf: [out, { type: 'null' }] };
  return out;
}

export class SpecValidator {
  readonly spec: Spec;
  readonly #ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  readonly #cache = new Map<string, ValidateFunction>();
  readonly #definitions: Schema;

  constructor(spec: Spec) {
    this.spec = spec;
    this.#definitions = Object.fromEntries(Object.entries(spec.definitions).map(([k, v]) => [k, translate(v, false)]));
  }

  /** Response schemas the spec gets wrong, replaced by the one the handler really returns. */
  readonly errata = new Map<string, Schema>();

  schemaFor(opKey: string, status: number): Schema | undefined {
    return this.errata.get(`${opKey} ${status}`) ?? operation(this.spec, opKey)?.responses[String(status)]?.schema;
  }

  /** ajv errors for a response body, or [] when it validates. Throws if the spec has no schema. */
  validate(opKey: string, status: number, body: unknown): string[] {
    const schema = this.schemaFor(opKey, status);
    if (!schema) throw new Error(`${opKey} has no schema for status ${status}`);
    const id = `${opKey} ${status}`;
    let fn = this.#cache.get(id);
    if (!fn) {
      fn = this.#ajv.compile({ ...(translate(schema, false) as Schema), definitions: this.#definitions });
      this.#cache.set(id, fn);
    }
    return fn(body) ? [] : (fn.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
  }

  resolve(schema: Schema): Schema {
    let s = schema;
    for (let i = 0; i < 20 && typeof s['$ref'] === 'string'; i++) {
      s = this.spec.definitions[(s['$ref'] as string).replace('#/definitions/', '')] ?? {};
    }
    return s;
  }

  /**
   * Walks a body beside its schema. `unknown`: keys no documented property matches in
   * any casing; `casing`: keys that match only case-insensitively (Go name vs swaggo name).
   */
  keyReport(opKey: string, status: number, body: unknown): { unknown: string[]; casing: string[] } {
    const schema = this.schemaFor(opKey, status);
    const report = { unknown: [] as string[], casing: [] as string[] };
    if (schema) this.#walk(schema, body, '', report);
    return report;
  }

  #walk(schema: Schema, value: unknown, path: string, report: { unknown: string[]; casing: string[] }): void {
    const s = this.resolve(schema);
    if (value === null || value === undefined) return;
    if (Array.isArray(value)) {
      if (s['items']) value.forEach((v, i) => this.#walk(s['items'] as Schema, v, `${path}[${i}]`, report));
      return;
    }
    if (typeof value !== 'object') return;
    const props = s['properties'] as Record<string, Schema> | undefined;
    if (!props) return;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const exact = props[k];
      const loose = exact ?? Object.entries(props).find(([p]) => p.toLowerCase() === k.toLowerCase())?.[1];
      if (!loose) {
        report.unknown.push(`${path}.${k}`);
        continue;
      }
      if (!exact) report.casing.push(`${path}.${k}`);
      this.#walk(loose, v, `${path}.${k}`, report);
    }
  }
}
