import { resolve } from 'node:path';
import { FlagReader, UsageError, type Command } from '../command.ts';
import { importEstate, reportFiles, type ImportOptions } from '../../import/import-estate.ts';
import { readLegacyDir } from '../../import/legacy-dir.ts';
import { applyToDir, compare, diffText, readOutputDir } from '../../import/output-dir.ts';

const usage = `phoenix import --from DIR [--out DIR] [--namespace NS] [--hypervisor NAME] [--node NAME] [--adopt] [--observe] [--diff]

Turns a legacy Phoenix Hypervisor installation into Phoenix manifests: a PhoenixHypervisor for
the host, a PhoenixLXC per container, a PhoenixVM per VM, a PhoenixStack per stack and
environment, ConfigMaps for compose files and scripts, and a kustomization.yaml. Every legacy
field is mapped or listed, with the reason, in IMPORT-REPORT.md and import-report.json.
Secrets are never copied: the manifests reference Secrets the report tells you to create.

  --from DIR         the legacy etc/ directory (phoenix_hypervisor_config.json and the rest);
                     stacks/ and bin/ are read from beside it or inside it
  --out DIR          where to write (default ./phoenix-import). Only files an import wrote are
                     overwritten or removed; anything else there makes the import refuse
  --namespace NS     namespace of the guests, stacks and ConfigMaps (default phoenix)
  --hypervisor NAME  name of the PhoenixHypervisor (default phoenix)
  --node NAME        Proxmox node of the guests (default network.hostname, else pve)
  --adopt            take over the existing guests and stacks (spec.adopt) instead of creating them
  --observe          managementPolicy: Observe everywhere: Phoenix reports differences, changes nothing
  --diff             write nothing; show what would change in --out (exit 1 if anything would)

A legacy file that does not parse or validate is refused with the file, the JSON path and the
reason, and nothing is written. Running the import again on the same files gives the same bytes.`;

export const importCommand: Command = {
  name: 'import',
  summary: 'Turn a legacy Phoenix Hypervisor installation (its JSON files) into Phoenix manifests and an import report',
  usage,
  async run(argv) {
    let from: string | undefined;
    let out = 'phoenix-import';
    let diff = false;
    const options: { -readonly [K in keyof ImportOptions]: ImportOptions[K] } = { namespace: 'phoenix', hypervisor: 'phoenix', adopt: false, observe: false };
    const flags = new FlagReader(argv);
    for (const flag of flags) {
      if (flag === '--from') from = flags.value();
      else if (flag === '--out') out = flags.value();
      else if (flag === '--namespace') options.namespace = flags.value();
      else if (flag === '--hypervisor') options.hypervisor = flags.value();
      else if (flag === '--node') options.node = flags.value();
      else if (flag === '--adopt') options.adopt = true;
      else if (flag === '--observe') options.observe = true;
      else if (flag === '--diff') diff = true;
      else throw new UsageError(`unknown option ${flag}`);
    }
    if (from === undefined) throw new UsageError('--from is required');

    let legacy;
    try {
      legacy = readLegacyDir(resolve(from));
    } catch (err) {
      process.stderr.write(`phoenix import: ${(err as Error).message}\n`);
      return 1;
    }
    const result = importEstate(legacy.tree, options);
    if (!result.ok) {
      process.stderr.write(`phoenix import: refused, nothing written. Fix these in the legacy files (or the options) and run it again:\n`);
      for (const e of result.errors) process.stderr.write(`  ${e.file}${e.path ? ` ${e.path}` : ''}: ${e.message}\n`);
      return 1;
    }
    const dir = resolve(out);
    const existing = readOutputDir(dir);
    const changes = compare(existing, result.files);
    if (changes.foreign.length) {
      process.stderr.write(`phoenix import: refused, nothing written: ${dir} holds files the import did not write, where it would write: ${changes.foreign.join(', ')}\n`);
      return 1;
    }
    if (diff) {
      process.stdout.write(diffText(existing, result.files, changes));
      const n = changes.added.length + changes.changed.length + changes.removed.length;
      process.stderr.write(n ? `${n} files would change in ${dir} (${changes.added.length} new, ${changes.changed.length} changed, ${changes.removed.length} removed)\n` : `${dir} is up to date\n`);
      return n ? 1 : 0;
    }
    applyToDir(dir, result.files, changes);
    const r = result.report;
    const c = r.coverage.byOutcome;
    const applied = r.objects.filter((o) => o.applied).length;
    process.stdout.write(
      [
        `Wrote ${dir}: ${applied} objects to apply (${changes.added.length} files new, ${changes.changed.length} changed, ${changes.removed.length} removed).`,
        `Legacy fields: ${r.coverage.fields}: ${c.mapped} mapped, ${c.provisioning} need provisioning, ${c['host-setup']} host setup, ${c['not-mapped']} not mapped, ${c.unknown} unknown.`,
        ...(legacy.skipped.length ? [`Skipped as too large: ${legacy.skipped.join(', ')}.`] : []),
        `Read ${reportFiles.markdown} before applying: ${r.secrets.length} Secrets to create${r.coverage.exposed ? `, ${r.coverage.exposed} exposed secrets to rotate` : ''}${r.rootOnly.length ? `, ${r.rootOnly.length} guest${r.rootOnly.length === 1 ? '' : 's'} to finish with a command as root@pam once created` : ''}.`,
        '',
      ].join('\n'),
    );
    return 0;
  },
};
