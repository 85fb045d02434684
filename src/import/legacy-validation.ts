import { Ajv, type ErrorObject, type SchemaObject } from 'ajv';
import { parseDocument } from 'yaml';
import { valueAt } from './pointer.ts';
import type { Deviation } from './report.ts';
import {
  certificatesShape, hypervisorShape, legacyFiles, lxcShape, stackManifestShape, stacksShape, vmShape,
  type LegacyCertificate, type LegacyHypervisorConfig, type LegacyLxcFile, type LegacyStack, type LegacyStacksFile, type LegacyVmFile,
} from './legacy-model.ts';

/**
 * Reads the legacy files: JSON parse (duplicate keys refused, since jq silently kept the last
 * one), the legacy tool's own schema shipped beside the file, then the importer's schema
 * (legacy-model.ts). The legacy schemas were never run by the legacy tool and contradict its
 * data in a few known places; those errors are accepted as deviations (listed in the report)
 * only where the legacy code demonstrably accepted the value. Any other error refuses the file.
 */

/** The legacy files, as read from disk. */
export interface LegacyTree {
  /** Files of the legacy `etc/` directory by name: the JSON files and the `*.schema.json` beside them. */
  readonly etc: ReadonlyMap<string, string>;
  /** Other files by path from the legacy root: `stacks/<name>/…` and `bin/…`. */
  readonly files: ReadonlyMap<string, string>;
}

export interface InputError {
  readonly file: string;
  /** JSON Pointer, or '' for the file as a whole. */
  readonly path: string;
  readonly message: string;
}

export interface LegacyEstate {
  readonly hypervisor: LegacyHypervisorConfig;
  readonly lxc?: LegacyLxcFile;
  readonly vm?: LegacyVmFile;
  readonly stacks?: LegacyStacksFile;
  readonly certificates?: LegacyCertificate[];
  /** `stacks/<name>/phoenix.json` by stack name. */
  readonly stackManifests: ReadonlyMap<string, LegacyStack>;
  /** Every parsed file by report name, for the report's accounting. */
  readonly parsed: ReadonlyMap<string, unknown>;
  readonly deviations: readonly Deviation[];
}

export type ReadResult = { ok: true; estate: LegacyEstate } | { ok: false; errors: InputError[] };

interface Erratum {
  readonly accepted: string;
  applies(error: ErrorObject, data: unknown): boolean;
}

const valueOf = (error: ErrorObject, data: unknown) => valueAt(data, error.instancePath);
const missing = (error: ErrorObject) => (error.keyword === 'required' ? String(error.params['missingProperty']) : undefined);

/** Known defects of the legacy schemas (legacy-phoenix.md §9.2), each with the legacy code's behaviour. */
const errata: readonly Erratum[] = [
  {
    accepted: 'the legacy schema lists only tcp and udp, but the configs use icmp and the Proxmox firewall accepts it (lxc-manager and vm-manager pass it through)',
    applies: (e, data) => e.keyword === 'enum' && /\/proto$/.test(e.instancePath) && valueOf(e, data) === 'icmp',
  },
  {
    accepted: 'the legacy schema describes docker_stacks entries as objects, but vm-manager and portainer-manager read them as stack names',
    applies: (e, data) => e.keyword === 'type' && /^\/vms\/\d+\/docker_stacks\/\d+$/.test(e.instancePath) && typeof valueOf(e, data) === 'string',
  },
  {
    accepted: 'the legacy schema\'s feature list lacks features the tool has (step_cli); lxc-manager runs bin/lxc_setup/phoenix_hypervisor_feature_install_<name>.sh for any name',
    applies: (e, data) => e.keyword === 'enum' && /^\/lxc_configs\/[^/]+\/features\/\d+$/.test(e.instancePath) && typeof valueOf(e, data) === 'string',
  },
  {
    accepted: 'lxc-manager passes ip=dhcp to pct; the legacy schema allows only static addresses',
    applies: (e, data) => e.keyword === 'pattern' && /network_config\/ip$/.test(e.instancePath) && valueOf(e, data) === 'dhcp',
  },
  {
    accepted: 'a DHCP interface has no gateway; lxc-manager leaves gw out',
    applies: (e, data) => missing(e) === 'gw' && /network_config$/.test(e.instancePath) && (valueOf(e, data) as { ip?: unknown } | undefined)?.ip === 'dhcp',
  },
  {
    accepted: 'lxc-manager does without it: portainer_role is never read for containers, apparmor_* only when set, and a clone inherits unprivileged from its source (a container created from a template without it was made privileged)',
    applies: (e) => /^\/lxc_configs\/[^/]+$/.test(e.instancePath) && ['portainer_role', 'unprivileged', 'apparmor_profile', 'apparmor_manages_nesting'].includes(missing(e) ?? ''),
  },
  {
    accepted: 'the vLLM application script turns whichever keys are present into command-line flags',
    applies: (e) => e.keyword === 'required' && /\/vllm_engine_config(\/|$)/.test(e.instancePath),
  },
  {
    accepted: 'vm-manager never reads a volume\'s name',
    applies: (e) => missing(e) === 'name' && /^\/vms\/\d+\/volumes\/\d+$/.test(e.instancePath),
  },
  {
    accepted: 'the legacy stacks schema forbids keys the files carry ($schema, nginx_proxy); swarm-manager.sh reads only the keys it knows. Keys the importer does not know are listed as unknown',
    applies: (e) => e.keyword === 'additionalProperties',
  },
];

const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
const shapeValidators = new Map<SchemaObject, ReturnType<typeof ajv.compile>>();

function shapeErrors(file: string, shape: SchemaObject, data: unknown): InputError[] {
  let validate = shapeValidators.get(shape);
  if (!validate) {
    validate = ajv.compile(shape);
    shapeValidators.set(shape, validate);
  }
  if (validate(data)) return [];
  return (validate.errors ?? []).map((e) => ({ file, path: errorPath(e), message: errorMessage(e) }));
}

function errorPath(e: ErrorObject): string {
  const m = missing(e);
  if (m !== undefined) return `${e.instancePath}/${m.replace(/~/g, '~0').replace(/\//g, '~1')}`;
  if (e.keyword === 'additionalProperties') return `${e.instancePath}/${String(e.params['additionalProperty'])}`;
  if (e.keyword === 'propertyName') return `${e.instancePath}/${String(e.params['propertyName'])}`;
  return e.instancePath;
}

function errorMessage(e: ErrorObject): string {
  if (e.keyword === 'required') return 'required, but missing';
  if (e.keyword === 'enum') return `${e.message}: ${(e.params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  if (e.keyword === 'additionalProperties') return 'not allowed by the schema';
  return e.message ?? 'invalid';
}

/** Parses JSON; duplicate keys are an error, with their line. */
export function parseJson(file: string, text: string): { ok: true; value: unknown } | { ok: false; error: InputError } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: { file, path: '', message: `not valid JSON: ${(err as Error).message}` } };
  }
  const duplicate = parseDocument(text, { uniqueKeys: true }).errors.find((e) => e.code === 'DUPLICATE_KEY');
  if (duplicate) {
    const [line, col] = [duplicate.linePos?.[0]?.line, duplicate.linePos?.[0]?.col];
    return { ok: false, error: { file, path: '', message: `a key appears twice in one object (line ${line}, column ${col}); the legacy tools silently used the last one. Remove the one that is wrong` } };
  }
  return { ok: true, value };
}

/** The schema the legacy tool shipped for a file: `<name>.schema.json`, or the one its `$schema` names. */
function shippedSchemaName(tree: LegacyTree, file: string, data: unknown): string | undefined {
  const byName = file.replace(/\.json$/, '.schema.json');
  if (tree.etc.has(byName)) return byName;
  const declared = (data as { $schema?: unknown } | null)?.$schema;
  if (typeof declared === 'string') {
    const base = declared.split('/').pop() ?? '';
    if (tree.etc.has(base)) return base;
  }
  return undefined;
}

function checkShipped(tree: LegacyTree, file: string, data: unknown, deviations: Deviation[]): InputError[] {
  const schemaFile = shippedSchemaName(tree, file, data);
  if (schemaFile === undefined) return [];
  const parsed = parseJson(schemaFile, tree.etc.get(schemaFile)!);
  if (!parsed.ok) return [parsed.error];
  let validate;
  try {
    validate = new Ajv({ allErrors: true, strict: false, validateFormats: false }).compile(parsed.value as SchemaObject);
  } catch (err) {
    return [{ file: schemaFile, path: '', message: `not a usable JSON Schema: ${(err as Error).message}` }];
  }
  if (validate(data)) return [];
  const refused: InputError[] = [];
  for (const e of validate.errors ?? []) {
    const erratum = errata.find((x) => x.applies(e, data));
    const path = errorPath(e);
    if (erratum) deviations.push({ file, path, schemaSays: `${schemaFile}: ${errorMessage(e)}`, accepted: erratum.accepted });
    else refused.push({ file, path, message: `${errorMessage(e)} (${schemaFile})` });
  }
  return refused;
}

/** Reads and checks every legacy file present. Refuses when any file does not parse or validate. */
export function readLegacyEstate(tree: LegacyTree): ReadResult {
  const errors: InputError[] = [];
  const deviations: Deviation[] = [];
  const parsed = new Map<string, unknown>();

  const load = <T>(file: string, text: string | undefined, shape: SchemaObject, shipped: boolean): T | undefined => {
    if (text === undefined) return undefined;
    const result = parseJson(file, text);
    if (!result.ok) {
      errors.push(result.error);
      return undefined;
    }
    const found = [...(shipped ? checkShipped(tree, file, result.value, deviations) : []), ...shapeErrors(file, shape, result.value)];
    // One place reported once: the legacy schema's wording first.
    const seen = new Set<string>();
    for (const e of found) {
      if (seen.has(e.path)) continue;
      seen.add(e.path);
      errors.push(e);
    }
    parsed.set(file, result.value);
    return result.value as T;
  };

  const hypervisorText = tree.etc.get(legacyFiles.hypervisor);
  if (hypervisorText === undefined) {
    errors.push({ file: legacyFiles.hypervisor, path: '', message: 'not found: --from must be the legacy etc/ directory (where phoenix_hypervisor_config.json is)' });
  }
  const hypervisor = load<LegacyHypervisorConfig>(legacyFiles.hypervisor, hypervisorText, hypervisorShape, true);
  const lxc = load<LegacyLxcFile>(legacyFiles.lxc, tree.etc.get(legacyFiles.lxc), lxcShape, true);
  const vm = load<LegacyVmFile>(legacyFiles.vm, tree.etc.get(legacyFiles.vm), vmShape, true);
  const stacks = load<LegacyStacksFile>(legacyFiles.stacks, tree.etc.get(legacyFiles.stacks), stacksShape, true);
  const certificates = load<LegacyCertificate[]>(legacyFiles.certificates, tree.etc.get(legacyFiles.certificates), certificatesShape, true);
  const stackManifests = new Map<string, LegacyStack>();
  for (const [path, text] of [...tree.files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const m = /^stacks\/([^/]+)\/phoenix\.json$/.exec(path);
    if (!m) continue;
    const manifest = load<LegacyStack>(path, text, stackManifestShape, false);
    if (manifest) stackManifests.set(m[1]!, manifest);
  }
  if (errors.length || !hypervisor) return { ok: false, errors };
  return {
    ok: true,
    estate: {
      hypervisor,
      ...(lxc ? { lxc } : {}),
      ...(vm ? { vm } : {}),
      ...(stacks ? { stacks } : {}),
      ...(certificates ? { certificates } : {}),
      stackManifests,
      parsed,
      deviations,
    },
  };
}
