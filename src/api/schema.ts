/**
 * A typed builder for Kubernetes structural (OpenAPI v3) schemas. Each builder returns the
 * JSON schema and carries the TypeScript type of the values it accepts, so one definition
 * yields the CRD schema, the ajv validator, the generated docs and the TS types (`Infer`).
 */

export interface CelRule {
  readonly rule: string;
  readonly message?: string;
  readonly messageExpression?: string;
  readonly fieldPath?: string;
  readonly reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  readonly optionalOldSelf?: boolean;
}

export interface JsonSchema {
  type?: 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array';
  description?: string;
  format?: string;
  pattern?: string;
  enum?: readonly (string | number)[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  'x-kubernetes-validations'?: CelRule[];
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  /** Documentation-only annotations; stripped from CRDs. */
  'x-phoenix-example'?: unknown;
  /**
   * What `pattern` means, for people. In a CRD the pattern becomes a CEL rule with this
   * message (the API server's own pattern error quotes the regular expression instead).
   */
  'x-phoenix-pattern-message'?: string;
  /**
   * The smallest Proxmox size (`8G`) a size string may name. A CEL rule in a CRD, an ajv
   * keyword in the controller's check (src/api/validation.ts): one definition for both.
   */
  'x-phoenix-min-size'?: MinSize;
}

export interface MinSize {
  readonly min: string;
  /** Why Proxmox needs at least that much, for the refusal. */
  readonly why: string;
}

export interface Schema<T> {
  readonly json: JsonSchema;
  /** Phantom: never set at run time; carries the accepted value type. */
  readonly _type?: T;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

interface Common {
  description: string;
  rules?: CelRule[];
  example?: unknown;
}

function annotate(json: JsonSchema, common: Common): JsonSchema {
  json.description = common.description;
  if (common.rules?.length) json['x-kubernetes-validations'] = common.rules;
  if (common.example !== undefined) json['x-phoenix-example'] = common.example;
  return json;
}

export interface StringOptions extends Common {
  pattern?: string;
  /** The refusal message for a value that does not match `pattern`: what the value must be. */
  patternMessage?: string;
  minSize?: MinSize;
  format?: string;
  minLength?: number;
  /** Every string is bounded: CEL cost estimation rejects rules over unbounded strings. */
  maxLength: number;
  default?: string;
}

export function string(o: StringOptions): Schema<string> {
  const json: JsonSchema = { type: 'string', maxLength: o.maxLength };
  if (o.pattern !== undefined) json.pattern = o.pattern;
  if (o.patternMessage !== undefined) json['x-phoenix-pattern-message'] = o.patternMessage;
  if (o.minSize !== undefined) json['x-phoenix-min-size'] = o.minSize;
  if (o.format !== undefined) json.format = o.format;
  if (o.minLength !== undefined) json.minLength = o.minLength;
  if (o.default !== undefined) json.default = o.default;
  return { json: annotate(json, o) };
}

export function literal<const V extends readonly string[]>(values: V, o: Common & { default?: V[number] }): Schema<V[number]> {
  const json: JsonSchema = { type: 'string', enum: [...values] };
  if (o.default !== undefined) json.default = o.default;
  return { json: annotate(json, o) };
}

export interface NumberOptions extends Common {
  minimum?: number;
  maximum?: number;
  default?: number;
}

export function integer(o: NumberOptions): Schema<number> {
  const json: JsonSchema = { type: 'integer' };
  if (o.minimum !== undefined) json.minimum = o.minimum;
  if (o.maximum !== undefined) json.maximum = o.maximum;
  if (o.default !== undefined) json.default = o.default;
  return { json: annotate(json, o) };
}

export function boolean(o: Common & { default?: boolean }): Schema<boolean> {
  const json: JsonSchema = { type: 'boolean' };
  if (o.default !== undefined) json.default = o.default;
  return { json: annotate(json, o) };
}

export interface ArrayOptions extends Common {
  maxItems: number;
  minItems?: number;
  listType?: 'atomic' | 'set' | 'map';
  mapKeys?: string[];
}

export function array<T>(items: Schema<T>, o: ArrayOptions): Schema<T[]> {
  const json: JsonSchema = { type: 'array', items: items.json, maxItems: o.maxItems };
  if (o.minItems !== undefined) json.minItems = o.minItems;
  if (o.listType) json['x-kubernetes-list-type'] = o.listType;
  if (o.mapKeys) json['x-kubernetes-list-map-keys'] = o.mapKeys;
  return { json: annotate(json, o) };
}

export function map<T>(values: Schema<T>, o: Common & { maxProperties: number }): Schema<Record<string, T>> {
  return { json: annotate({ type: 'object', additionalProperties: values.json, maxProperties: o.maxProperties }, o) };
}

/** Free-form JSON kept as given (for example a status snapshot of a Proxmox config). */
export function freeform(o: Common): Schema<Record<string, unknown>> {
  return { json: annotate({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, o) };
}

type Props = Record<string, Schema<unknown>>;

type ObjectOf<P extends Props, R extends keyof P> = Simplify<
  { [K in R]-?: Infer<P[K]> } & { [K in Exclude<keyof P, R>]?: Infer<P[K]> }
>;

export interface ObjectOptions<R> extends Common {
  required?: readonly R[];
  minProperties?: number;
}

export function object<P extends Props, R extends keyof P & string = never>(
  props: P,
  o: ObjectOptions<R>,
): Schema<ObjectOf<P, R>> {
  const properties: Record<string, JsonSchema> = {};
  for (const [key, schema] of Object.entries(props)) properties[key] = schema.json;
  const json: JsonSchema = { type: 'object', properties };
  if (o.required?.length) json.required = [...o.required];
  return { json: annotate(json, o) };
}

/** The same schema with other documentation or rules (a shared type used in a new place). */
export function describe<T>(schema: Schema<T>, common: Common): Schema<T> {
  const json: JsonSchema = { ...schema.json };
  delete json['x-kubernetes-validations'];
  return { json: annotate(json, { ...common, rules: [...(schema.json['x-kubernetes-validations'] ?? []), ...(common.rules ?? [])] }) };
}

/** Adds an API-server default to a schema (applied at admission, visible in `kubectl get -o yaml`). */
export function withDefault<T>(schema: Schema<T>, value: T): Schema<T> {
  return { json: { ...schema.json, default: value } };
}
