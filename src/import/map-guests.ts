import { patterns } from '../api/common.ts';
import type { ImportContext, GuestRef } from './context.ts';
import { firewallRuleOf, objectName, type FirewallRule } from './convert.ts';
import type { LegacyGuestFirewall } from './legacy-model.ts';
import { legacyFiles } from './legacy-model.ts';
import { child } from './pointer.ts';

/** What PhoenixLXC and PhoenixVM mapping share: names, dependencies, firewall, start order, snapshots. */

export interface GuestSpec extends Record<string, unknown> {
  hypervisorRef: { name: string };
  node: string;
  vmid: number;
  firewall?: { enabled?: boolean; rules?: FirewallRule[] };
  dependsOn?: { kind: string; name: string }[];
  startup?: { order?: number; upDelay?: number; downDelay?: number };
  onBoot?: boolean;
  snapshots?: { name: string }[];
  template?: boolean;
  powerState?: string;
}

/** Gives every legacy guest its object name first, so clone sources and dependencies resolve. */
export function nameGuests(ctx: ImportContext): void {
  const taken = { PhoenixLXC: new Set<string>(), PhoenixVM: new Set<string>() };
  const assign = (kind: GuestRef['kind'], id: string, legacyName: string) => {
    let name = objectName(legacyName, `${kind === 'PhoenixLXC' ? 'ct' : 'vm'}-${id}`);
    if (taken[kind].has(name)) name = `${name}-${id}`;
    taken[kind].add(name);
    ctx.guests.set(id, { kind, name });
  };
  const cts = Object.entries(ctx.estate.lxc?.lxc_configs ?? {}).sort(([a], [b]) => Number(a) - Number(b));
  for (const [id, ct] of cts) assign('PhoenixLXC', id, ct.name);
  const vms = [...(ctx.estate.vm?.vms ?? [])].sort((a, b) => a.vmid - b.vmid);
  for (const vm of vms) if (!ctx.guests.has(String(vm.vmid))) assign('PhoenixVM', String(vm.vmid), vm.name);
}

export function guestSpec(ctx: ImportContext, vmid: number): GuestSpec {
  return { hypervisorRef: { name: ctx.options.hypervisor }, node: ctx.node, vmid };
}

/** `dependencies` → dependsOn. The clone source is implicit in Phoenix and left out. */
export function mapDependencies(ctx: ImportContext, file: string, base: string, self: GuestRef, spec: GuestSpec, ids: readonly string[] | undefined, cloneSource?: GuestRef): void {
  if (ids === undefined) return;
  const r = ctx.report;
  const refs: { kind: string; name: string }[] = [];
  for (const [i, id] of ids.entries()) {
    const path = child(base, 'dependencies', i);
    const ref = ctx.guests.get(id);
    if (ref === undefined) {
      r.notMapped(file, path, `guest ${id} is not defined in the legacy files`, 'add a dependsOn entry for the object that replaces it');
    } else if (ref.kind === self.kind && ref.name === self.name) {
      r.notMapped(file, path, 'a guest cannot depend on itself');
    } else if (cloneSource && ref.kind === cloneSource.kind && ref.name === cloneSource.name) {
      r.mapped(file, path, ctx.target(self.kind, self.name, 'spec.source.clone'), 'the clone source is a dependency already');
    } else if (refs.some((x) => x.kind === ref.kind && x.name === ref.name)) {
      r.notMapped(file, path, 'listed twice');
    } else if (refs.length >= 32) {
      r.notMapped(file, path, 'Phoenix takes at most 32 dependencies');
    } else {
      r.mapped(file, path, ctx.target(self.kind, self.name, `spec.dependsOn[${refs.length}]`));
      refs.push({ kind: ref.kind, name: ref.name });
    }
  }
  if (refs.length) spec.dependsOn = refs;
}

/** A guest firewall: options and rules. Returns whether it is enabled (the NIC's firewall flag). */
export function mapGuestFirewall(ctx: ImportContext, file: string, base: string, self: GuestRef, spec: GuestSpec, fw: LegacyGuestFirewall | undefined): boolean {
  if (fw === undefined) return false;
  const r = ctx.report;
  const t = (field: string) => ctx.target(self.kind, self.name, `spec.${field}`);
  const rules: FirewallRule[] = [];
  for (const [i, rule] of (fw.rules ?? []).entries()) {
    const mapped = firewallRuleOf(rule);
    const path = child(base, 'firewall', 'rules', i);
    if ('problem' in mapped) r.notMapped(file, path, mapped.problem, 'fix the rule and add it to spec.firewall.rules');
    else {
      r.mapped(file, path, t(`firewall.rules[${rules.length}]`));
      rules.push(mapped.rule);
    }
  }
  spec.firewall = { enabled: fw.enabled, ...(fw.rules !== undefined ? { rules } : {}) };
  r.mapped(file, child(base, 'firewall', 'enabled'), [t('firewall.enabled'), ...(fw.enabled ? [t('networks[0].firewall')] : [])]);
  if (fw.rules !== undefined && fw.rules.length === 0) r.mapped(file, child(base, 'firewall', 'rules'), t('firewall.rules'));
  if (fw.iptables_rules !== undefined) {
    r.add({ file, path: child(base, 'firewall', 'iptables_rules'), outcome: 'provisioning', reason: 'iptables rules run inside the guest: not yet mapped: needs provisioning (issue 13)' });
  }
  return fw.enabled;
}

/**
 * `start_at_boot`, `boot_order`, `boot_delay` → onBoot and startup. Proxmox uses the start order
 * only for guests started at boot, so the order of a guest that is not is left out: Phoenix
 * would otherwise make later guests wait for it.
 */
export function mapStartup(ctx: ImportContext, file: string, base: string, self: GuestRef, spec: GuestSpec, g: { start_at_boot?: boolean; boot_order?: number; boot_delay?: number }, withDownDelay: boolean): void {
  const r = ctx.report;
  const t = (field: string) => ctx.target(self.kind, self.name, `spec.${field}`);
  if (g.start_at_boot !== undefined) {
    spec.onBoot = g.start_at_boot;
    r.mapped(file, child(base, 'start_at_boot'), t('onBoot'));
  }
  const startup: NonNullable<GuestSpec['startup']> = {};
  if (g.start_at_boot === true) {
    if (g.boot_order !== undefined && g.boot_order >= 0 && g.boot_order <= 999999) {
      startup.order = g.boot_order;
      r.mapped(file, child(base, 'boot_order'), t('startup.order'));
    }
    if (g.boot_delay !== undefined && g.boot_delay >= 0 && g.boot_delay <= 86400) {
      startup.upDelay = g.boot_delay;
      if (withDownDelay) startup.downDelay = g.boot_delay;
      r.mapped(file, child(base, 'boot_delay'), withDownDelay ? [t('startup.upDelay'), t('startup.downDelay')] : t('startup.upDelay'));
    }
  }
  for (const key of ['boot_order', 'boot_delay'] as const) {
    if (g[key] === undefined || (g.start_at_boot === true && startup[key === 'boot_order' ? 'order' : 'upDelay'] !== undefined)) continue;
    r.notMapped(file, child(base, key), g.start_at_boot === true ? 'out of Proxmox\'s range' : 'Proxmox uses the start order only for guests started at boot, and this one is not');
  }
  if (Object.keys(startup).length) spec.startup = startup;
}

export function isSnapshotName(name: string): boolean {
  return name.length <= 40 && new RegExp(`${patterns.pveConfigId}`).test(name);
}

/** Adds a snapshot to keep, once. */
export function keepSnapshot(spec: GuestSpec, name: string): number {
  const list = (spec.snapshots ??= []);
  const at = list.findIndex((s) => s.name === name);
  if (at >= 0) return at;
  list.push({ name });
  return list.length - 1;
}

/**
 * A guest that waits for a dependency started after it deadlocks: Phoenix starts a guest only
 * once the guests of lower order are running, and the lower one waits for the later one to be
 * Ready. The start order of the waiting guest is dropped, with the reason.
 */
export function breakStartOrderDeadlocks(ctx: ImportContext, specs: ReadonlyMap<string, { ref: GuestRef; spec: GuestSpec; file: string; base: string }>): void {
  const byName = new Map([...specs.values()].map((g) => [`${g.ref.kind}/${g.ref.name}`, g]));
  const dependencies = (g: { spec: GuestSpec }): string[] => {
    const clone = (g.spec['source'] as { clone?: { lxcRef?: { name: string }; vmRef?: { name: string } } } | undefined)?.clone;
    const fromClone = clone?.lxcRef ? [`PhoenixLXC/${clone.lxcRef.name}`] : clone?.vmRef ? [`PhoenixVM/${clone.vmRef.name}`] : [];
    return [...fromClone, ...(g.spec.dependsOn ?? []).map((d) => `${d.kind}/${d.name}`)];
  };
  const closure = (key: string): Set<string> => {
    const seen = new Set<string>();
    const stack = [key];
    while (stack.length) {
      const g = byName.get(stack.pop()!);
      if (!g) continue;
      for (const d of dependencies(g)) if (!seen.has(d)) {
        seen.add(d);
        stack.push(d);
      }
    }
    return seen;
  };
  const runs = (g: { spec: GuestSpec }) => !g.spec.template && g.spec.powerState !== 'Stopped';
  for (const [key, g] of [...byName].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const order = g.spec.startup?.order;
    if (order === undefined || !runs(g)) continue;
    const later = [...closure(key)].map((k) => byName.get(k)).find((d) => d && runs(d) && d.spec.startup?.order !== undefined && d.spec.startup.order > order);
    if (!later) continue;
    delete g.spec.startup!.order;
    if (Object.keys(g.spec.startup!).length === 0) delete g.spec.startup;
    const entryIndex = ctx.report.entries.findIndex((e) => e.file === g.file && e.path === child(g.base, 'boot_order'));
    if (entryIndex >= 0) ctx.report.entries.splice(entryIndex, 1);
    ctx.report.notMapped(g.file, child(g.base, 'boot_order'), `${g.ref.kind} ${g.ref.name} depends on ${later.ref.kind} ${later.ref.name}, which starts later (order ${later.spec.startup!.order}); with both, neither would start, since Phoenix starts a guest only after the guests of lower order`, 'reorder boot_order so that dependencies start first');
  }
}

export const lxcFile = legacyFiles.lxc;
export const vmFile = legacyFiles.vm;
