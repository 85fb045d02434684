import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { importEstate, type ImportOptions } from '../../../src/import/import-estate.ts';
import type { LegacyTree } from '../../../src/import/legacy-validation.ts';
import type { ImportReportData, ReportEntry } from '../../../src/import/report.ts';
import { legacyExamplesDir, legacyExamplesMissing, under } from '../../support/legacy.ts';

/** Building legacy trees in tests, running the import, and reading its output back. */

export const options: ImportOptions = { namespace: 'lab', hypervisor: 'pve', adopt: false, observe: false };

/** A legacy tree from JSON values (etc/ files by name) and other files by path. */
export function tree(etc: Record<string, unknown>, files: Record<string, string> = {}): LegacyTree {
  return {
    etc: new Map(Object.entries(etc).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v, null, 2)])),
    files: new Map(Object.entries(files)),
  };
}

/** The real legacy examples as a tree, schemas included. */
export function examplesTree(): LegacyTree {
  const dir = legacyExamplesDir();
  const etc = new Map<string, string>();
  const files = new Map<string, string>();
  for (const name of readdirSync(dir)) if (name.endsWith('.json')) etc.set(name, readFileSync(join(dir, name), 'utf8'));
  const walk = (sub: string) => {
    for (const name of readdirSync(join(dir, sub))) {
      const rel = `${sub}/${name}`;
      if (statSync(join(dir, rel)).isDirectory()) walk(rel);
      else files.set(rel, readFileSync(join(dir, rel), 'utf8'));
    }
  };
  walk('stacks');
  return { etc, files };
}

/** The real examples' JSON, parsed, to build variants from. */
export function example<T = any>(name: string): T {
  return JSON.parse(readFileSync(join(legacyExamplesDir(), name), 'utf8')) as T;
}

export interface Imported {
  readonly files: ReadonlyMap<string, string>;
  readonly report: ImportReportData;
  object(kind: string, name: string): any;
  has(kind: string, name: string): boolean;
  /** The entry that decides a field: the most specific one at or above it. */
  entry(file: string, path: string): ReportEntry;
  outcome(file: string, path: string): string;
}

export function runImport(t: LegacyTree, opts: Partial<ImportOptions> = {}): Imported {
  const result = importEstate(t, { ...options, ...opts });
  if (!result.ok) assert.fail(`import refused: ${result.errors.map((e) => `${e.file} ${e.path}: ${e.message}`).join('; ')}`);
  const objects = [...result.files].filter(([p]) => p.endsWith('.yaml') && p !== 'kustomization.yaml').map(([, text]) => parse(text));
  const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata?.name === name);
  const entry = (file: string, path: string) => {
    const e = result.report.entries.filter((x) => x.file === file && under(path, x.path)).sort((a, b) => b.path.length - a.path.length)[0];
    assert.ok(e, `${file} ${path} is not in the report`);
    return e;
  };
  return {
    files: result.files,
    report: result.report,
    object(kind, name) {
      const o = find(kind, name);
      assert.ok(o, `no ${kind} ${name}; have ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
      return o;
    },
    has: (kind, name) => find(kind, name) !== undefined,
    entry,
    outcome: (file, path) => entry(file, path).outcome,
  };
}

/** In a describe: the import of the real examples, made once; the describe is skipped without them. */
export function withExamples(): () => Imported {
  let imported: Imported | undefined;
  before(function () {
    if (legacyExamplesMissing()) this.skip();
    imported = runImport(examplesTree());
  });
  return () => imported!;
}

/** A minimal host config, enough for guests to be imported. */
export function host(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    domain_name: 'lab.example',
    network: { interfaces: { name: 'vmbr0', address: '10.1.0.2/24', gateway: '10.1.0.1' } },
    zfs: { datasets: [{ name: 'images', pool: 'tank', proxmox_storage_type: 'zfspool', proxmox_content_type: 'images,rootdir' }, { name: 'iso', pool: 'tank', proxmox_storage_type: 'dir', proxmox_content_type: 'iso,vztmpl' }] },
    vm_defaults: { ubuntu_release: 'noble' },
    ...extra,
  };
}

export const H = 'phoenix_hypervisor_config.json';
export const L = 'phoenix_lxc_configs.json';
export const V = 'phoenix_vm_configs.json';
export const S = 'phoenix_stacks_config.json';
