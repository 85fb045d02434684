import { patterns } from '../api/common.ts';
import { SpecValidator } from '../api/validation.ts';
import { ImportContext, type ImportOptions } from './context.ts';
import { legacyFiles } from './legacy-model.ts';
import { readLegacyEstate, type InputError, type LegacyTree } from './legacy-validation.ts';
import { mapCertificates } from './map-certificates.ts';
import { breakStartOrderDeadlocks, nameGuests } from './map-guests.ts';
import { mapHypervisor } from './map-host.ts';
import { mapContainers } from './map-lxc.ts';
import { mapStacks } from './map-stacks.ts';
import { mapVms } from './map-vm.ts';
import { renderKustomization, renderNamespace, renderObject } from './render.ts';
import { sumCoverage, type ImportReportData } from './report.ts';
import { renderReportMarkdown } from './report-markdown.ts';
import { planRootOnlySteps } from './root-only-steps.ts';

/**
 * The whole import, without I/O: legacy files in, the output directory's files out (manifests,
 * kustomization.yaml, IMPORT-REPORT.md, import-report.json), or the reasons it refuses.
 */

export type { ImportOptions } from './context.ts';

export const reportFiles = { markdown: 'IMPORT-REPORT.md', json: 'import-report.json' } as const;

export type ImportOutcome =
  | { ok: true; files: ReadonlyMap<string, string>; report: ImportReportData }
  | { ok: false; errors: readonly InputError[] };

function optionErrors(options: ImportOptions): InputError[] {
  const errors: InputError[] = [];
  const label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
  if (!label.test(options.namespace) || options.namespace.length > 63) errors.push({ file: '--namespace', path: '', message: `${JSON.stringify(options.namespace)} is not a namespace name (lower case letters, digits and -)` });
  if (!new RegExp(patterns.k8sName).test(options.hypervisor) || options.hypervisor.length > 63) errors.push({ file: '--hypervisor', path: '', message: `${JSON.stringify(options.hypervisor)} is not an object name (lower case letters, digits, - and .)` });
  if (options.node !== undefined && (!new RegExp(patterns.pveNode).test(options.node) || options.node.length > 63)) errors.push({ file: '--node', path: '', message: `${JSON.stringify(options.node)} is not a Proxmox node name` });
  return errors;
}

export function importEstate(tree: LegacyTree, options: ImportOptions): ImportOutcome {
  const bad = optionErrors(options);
  if (bad.length) return { ok: false, errors: bad };
  const read = readLegacyEstate(tree);
  if (!read.ok) return read;
  const ctx = new ImportContext(options, read.estate, tree);
  if (ctx.options.node === undefined && !new RegExp(patterns.pveNode).test(ctx.node)) {
    return { ok: false, errors: [{ file: legacyFiles.hypervisor, path: '/network/hostname', message: `${JSON.stringify(ctx.node)} is not a Proxmox node name; pass --node` }] };
  }
  const r = ctx.report;
  nameGuests(ctx);
  mapHypervisor(ctx);
  const containers = mapContainers(ctx);
  const vms = mapVms(ctx);
  mapStacks(ctx, vms);
  breakStartOrderDeadlocks(ctx, new Map([...containers, ...vms].map((g) => [`${g.ref.kind}/${g.ref.name}`, g])));
  planRootOnlySteps(ctx, [...containers, ...vms]);
  mapCertificates(ctx);
  ctx.provisioning.finish(ctx);
  if (ctx.bindMountDirs.size) r.action(`Create the host directories of the bind mounts if they are missing (lxc-manager created them): ${[...ctx.bindMountDirs].sort().join(', ')}.`);
  if (read.estate.hypervisor.vm_defaults?.ubuntu_release !== undefined && !r.entries.some((e) => e.file === legacyFiles.hypervisor && e.path === '/vm_defaults/ubuntu_release')) {
    r.notMapped(legacyFiles.hypervisor, '/vm_defaults/ubuntu_release', 'only the cloud image of a template VM uses it, and none is created from one');
  }
  const hv = ctx.phoenix('PhoenixHypervisor', options.hypervisor, legacyFiles.hypervisor, ctx.hypervisorSpec as unknown as Record<string, unknown>, false);
  ctx.add(hv, 'hypervisor', legacyFiles.hypervisor);
  r.deviations.push(...read.estate.deviations);

  // A manifest the API server would refuse is the importer's bug, never the user's: stop here.
  const validator = new SpecValidator();
  const invalid: InputError[] = [];
  const byFile = new Map<string, string>();
  for (const o of ctx.objects) {
    const other = byFile.get(o.file);
    if (other !== undefined) invalid.push({ file: o.file, path: '', message: `two objects get this name, from ${other} and from ${o.from}: rename one of them in the legacy files` });
    byFile.set(o.file, o.from);
  }
  for (const o of ctx.objects) {
    if (o.object.spec === undefined) continue;
    for (const e of validator.validate(o.object.kind, o.object.spec)) invalid.push({ file: o.file, path: e.field, message: `${e.message} (the importer made an invalid ${o.object.kind}; please report this)` });
  }
  if (invalid.length) return { ok: false, errors: invalid };

  const coverage = sumCoverage([...read.estate.parsed].map(([file, json]) => r.account(file, json)));
  const files = new Map<string, string>();
  for (const o of ctx.objects) files.set(o.file, renderObject(o));
  files.set('namespace.yaml', renderNamespace(options.namespace));
  files.set('kustomization.yaml', renderKustomization(['namespace.yaml', ...ctx.objects.filter((o) => o.applied).map((o) => o.file)]));
  const report = r.data({
    options: { namespace: options.namespace, hypervisor: options.hypervisor, node: ctx.node, adopt: options.adopt, observe: options.observe },
    inputs: [...read.estate.parsed.keys()],
    objects: ctx.objects.map((o) => ({ kind: o.object.kind, name: o.object.metadata.name, file: o.file, applied: o.applied })),
    coverage,
  });
  files.set(reportFiles.markdown, renderReportMarkdown(report));
  files.set(reportFiles.json, `${JSON.stringify({ generatedBy: 'phoenix import', ...report }, null, 2)}\n`);
  return { ok: true, files: new Map([...files].sort(([a], [b]) => (a < b ? -1 : 1))), report };
}
