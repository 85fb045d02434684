/**
 * Compares the simulator's hand-written parameter definitions with the official
 * schema: parameter names, types, formats (named, or property-string sub-keys), enums,
 * required/optional, ranges, lengths and patterns.
 */
import type { ParamDef, PropertyFormat, PropertyKeyDef } from '../../../src/proxmox/schema.ts';
import { isKnownFormat } from '../../../src/proxmox/formats.ts';
import type { Endpoint } from '../../../src/sim/proxmox/endpoint.ts';
import { normalisePattern, type OfficialMethod, type OfficialParam } from './official-schema.ts';

export interface ComparisonReport {
  endpoints: number;
  parameters: number;
  subKeys: number;
  mismatches: string[];
  /** Official optional parameters/sub-keys the simulator does not implement. */
  gaps: string[];
}

const sameSet = (x?: readonly string[] | null, y?: readonly string[] | null) => { const a = x ?? []; const b = y ?? []; return a.length === b.length && [...a].sort().join('\n') === [...b].sort().join("\n"); };

function compareScalar(where: string, sim: ParamDef | PropertyKeyDef, off: OfficialParam, out: string[], checkLength: boolean): void {
  const offType = off.type ?? 'string';
  const simType = sim.type ?? 'string';
  if (offType !== simType) out.push(`${where}: type ${simType} ≠ official ${offType}`);
  if (Boolean(sim.optional) !== Boolean(off.optional)) out.push(`${where}: optional ${Boolean(sim.optional)} ≠ official ${Boolean(off.optional)}`);
  if (!sameSet(sim.enum, off.enum)) out.push(`${where}: enum [${sim.enum?.join('|') ?? ''}] ≠ official [${off.enum?.join('|') ?? ''}]`);
  // The schema sometimes writes bounds as strings ("0").
  for (const k of ['minimum', 'maximum'] as const) if ((sim[k] === undefined ? undefined : Number(sim[k])) !== (off[k] === undefined ? undefined : Number(off[k]))) out.push(`${where}: ${k} ${String(sim[k])} ≠ official ${String(off[k])}`);
  if (checkLength) {
    const s = sim as ParamDef;
    if (s.maxLength !== off.maxLength) out.push(`${where}: maxLength ${String(s.maxLength)} ≠ official ${String(off.maxLength)}`);
  }
  if (sim.requires !== off.requires) out.push(`${where}: requires ${String(sim.requires)} ≠ official ${String(off.requires)}`);
  const simPattern = sim.pattern === undefined ? undefined : normalisePattern(sim.pattern);
  const offPattern = off.pattern === undefined ? undefined : normalisePattern(off.pattern);
  if (simPattern !== offPattern) out.push(`${where}: pattern ${String(simPattern)} ≠ official ${String(offPattern)}`);
}

function compareFormat(where: string, sim: string | PropertyFormat | undefined, off: OfficialParam['format'], report: ComparisonReport): void {
  if (typeof off === 'string' || off === undefined || typeof sim === 'string' || sim === undefined) {
    if (typeof sim === 'object' || typeof off === 'object' || sim !== off) report.mismatches.push(`${where}: format ${describe(sim)} ≠ official ${describe(off)}`);
    else if (sim !== undefined && !isKnownFormat(sim)) report.mismatches.push(`${where}: format '${sim}' has no validator in src/proxmox/formats.ts`);
    return;
  }
  for (const [key, def] of Object.entries(sim)) {
    report.subKeys++;
    const o = off[key];
    if (!o) {
      report.mismatches.push(`${where}.${key}: sub-key not in official format`);
      continue;
    }
    if (def.alias !== undefined || o.alias !== undefined) {
      if (def.alias !== o.alias || def.keyAlias !== o.keyAlias) report.mismatches.push(`${where}.${key}: alias ${String(def.alias)}/${String(def.keyAlias)} ≠ official ${String(o.alias)}/${String(o.keyAlias)}`);
      continue;
    }
    if (Boolean(def.default_key) !== Boolean(o.default_key)) report.mismatches.push(`${where}.${key}: default_key differs`);
    compareScalar(`${where}.${key}`, def, o, report.mismatches, false);
    if (typeof o.format === 'string' || def.format !== undefined) {
      if (def.format !== o.format) report.mismatches.push(`${where}.${key}: format ${String(def.format)} ≠ official ${String(o.format)}`);
      else if (def.format !== undefined && !isKnownFormat(def.format)) report.mismatches.push(`${where}.${key}: format '${def.format}' has no validator`);
    }
  }
  for (const key of Object.keys(off)) if (!Object.hasOwn(sim, key)) report.gaps.push(`${where}.${key}`);
}

function describe(f: unknown): string {
  return typeof f === 'object' && f !== null ? 'property-string' : String(f);
}

export function compareEndpoints(endpoints: readonly Endpoint[], official: Map<string, OfficialMethod>, paramsOf: (e: Endpoint) => Record<string, ParamDef>): ComparisonReport {
  const report: ComparisonReport = { endpoints: 0, parameters: 0, subKeys: 0, mismatches: [], gaps: [] };
  for (const e of endpoints) {
    const id = `${e.method} ${e.path}`;
    const off = official.get(id);
    report.endpoints++;
    if (!off) {
      report.mismatches.push(`${id}: not in the official schema`);
      continue;
    }
    if ((e.allowToken === false) !== (off.allowtoken === 0)) report.mismatches.push(`${id}: allowtoken differs`);
    const offParams = off.parameters?.properties ?? {};
    const simParams = paramsOf(e);
    for (const [name, def] of Object.entries(simParams)) {
      report.parameters++;
      const o = offParams[name];
      const where = `${id} ${name}`;
      if (!o) {
        report.mismatches.push(`${where}: parameter not in official schema`);
        continue;
      }
      compareScalar(where, def, o, report.mismatches, true);
      compareFormat(where, def.format, o.format, report);
    }
    for (const [name, o] of Object.entries(offParams)) {
      if (Object.hasOwn(simParams, name)) continue;
      if (!o.optional) report.mismatches.push(`${id} ${name}: required by the official schema but not implemented`);
      else report.gaps.push(`${id} ${name}`);
    }
  }
  return report;
}
