import type { ImportContext } from './context.ts';

/**
 * Guest steps the legacy tool ran by script: LXC and VM features, application scripts, health
 * checks and tests. Phoenix has no provisioning yet (issue 13), so each is listed in the report
 * with its scripts, and the scripts found are copied into ConfigMaps, one per kind of script, so
 * a later version can reference them.
 */

export type ScriptKind = 'lxc-features' | 'vm-features' | 'application-scripts' | 'health-checks' | 'tests';

export interface ProvisioningItem {
  readonly file: string;
  readonly path: string;
  readonly what: string;
  readonly scripts: readonly { kind: ScriptKind; path: string }[];
}

const installRoot = '/usr/local/phoenix_hypervisor/';
/** A ConfigMap holds at most 1 MiB; stay well below it. */
const configMapBudget = 900 * 1024;
/** The legacy scripts source this library; it is copied when a copied script does. */
const library = 'bin/phoenix_hypervisor_common_utils.sh';

export const scriptPaths = {
  lxcFeature: (feature: string) => ({ kind: 'lxc-features' as const, path: `bin/lxc_setup/phoenix_hypervisor_feature_install_${feature}.sh` }),
  vmFeature: (feature: string) => ({ kind: 'vm-features' as const, path: `bin/vm_features/feature_install_${feature}.sh` }),
  application: (script: string) => ({ kind: 'application-scripts' as const, path: `bin/${script}` }),
  healthCheck: (script: string) => ({
    kind: 'health-checks' as const,
    path: script.startsWith(installRoot) ? script.slice(installRoot.length) : script.includes('/') ? script.replace(/^\/+/, '') : `bin/health_checks/${script}`,
  }),
  test: (path: string) => ({ kind: 'tests' as const, path: `bin/tests/${path}` }),
};

/** The ConfigMap key of a script: its path below bin/<dir>/, with `_` for `/`. */
export function scriptKey(path: string): string {
  const rest = path.replace(/^bin\/(lxc_setup|vm_features|health_checks|tests)\//, '').replace(/^bin\//, '');
  return rest.replace(/\//g, '_').replace(/[^-._a-zA-Z0-9]/g, '_');
}

export class Provisioning {
  readonly items: ProvisioningItem[] = [];

  add(item: ProvisioningItem): void {
    this.items.push(item);
  }

  /** Report entries for every item, and the ConfigMaps with the scripts found. */
  finish(ctx: ImportContext): void {
    const wanted = new Map<string, ScriptKind>();
    for (const item of this.items) for (const s of item.scripts) if (!wanted.has(s.path)) wanted.set(s.path, s.kind);
    const found = [...wanted].filter(([path]) => ctx.tree.files.has(path)).sort(([a], [b]) => (a < b ? -1 : 1));
    if (found.some(([path]) => /phoenix_hypervisor_common_utils\.sh/.test(ctx.tree.files.get(path) ?? '')) && ctx.tree.files.has(library)) found.push([library, 'application-scripts']);
    const placed = new Map<string, string>();
    const byMap = new Map<string, Record<string, string>>();
    for (const kind of ['lxc-features', 'vm-features', 'application-scripts', 'health-checks', 'tests'] as const) {
      let part = 1;
      let size = 0;
      for (const [path] of found.filter(([, k]) => k === kind)) {
        const text = ctx.tree.files.get(path)!;
        if (size > 0 && size + text.length > configMapBudget) {
          part += 1;
          size = 0;
        }
        const name = `legacy-${kind}${part > 1 ? `-${part}` : ''}`;
        const data = byMap.get(name) ?? {};
        data[scriptKey(path)] = text;
        byMap.set(name, data);
        size += text.length;
        placed.set(path, `ConfigMap ${name}, key ${scriptKey(path)}`);
      }
    }
    for (const [name, data] of byMap) ctx.add(ctx.configMap(name, 'bin/', data), 'configmaps', 'the legacy scripts');
    for (const item of this.items) {
      const where = item.scripts.map((s) => `${s.path} (${placed.get(s.path) ?? 'not found, not copied'})`);
      ctx.report.add({
        file: item.file,
        path: item.path,
        outcome: 'provisioning',
        reason: `${item.what}: not yet mapped: needs provisioning (issue 13)`,
        action: where.length ? `until then run it as before; the scripts: ${where.join('; ')}` : 'until then, do it by hand',
        scripts: item.scripts.map((s) => s.path),
      });
    }
    const missing = [...wanted.keys()].filter((p) => !placed.has(p));
    if (missing.length) ctx.report.action(`These legacy scripts were not found next to the legacy files, so they are not in the ConfigMaps: ${missing.join(', ')}. Import from a copy of the whole legacy tree (usr/local/phoenix_hypervisor/etc) to keep them.`);
  }
}
