import type { PhoenixLXCSpec } from '../api/lxc.ts';
import type { PhoenixVMSpec } from '../api/vm.ts';
import { createParams, diffConfig, type ConfigChange, type DesiredConfig } from '../guests/desired.ts';
import { desiredLxcConfig, lxcCreateOnlyParams } from '../guests/lxc-config.ts';
import { rootCommand, splitRootOnly, withoutRootOnly } from '../guests/root-only.ts';
import { desiredVmConfig, vmCreateOnlyParams } from '../guests/vm-config.ts';
import type { ImportContext } from './context.ts';
import type { MappedGuest } from './map-lxc.ts';
import type { RootOnlyOption, RootOnlyStep, Target } from './report.ts';

/**
 * The step a person takes once as root@pam for each imported guest. Proxmox refuses device
 * passthrough, mount points of host paths, hookscripts and most container feature flags to an
 * API token (all Phoenix uses); the controller creates the guest without them and stalls
 * (RootOnly) with a `pct set`/`qm set` command for what the guest lacks. This predicts that
 * command from the manifests with the controller's own functions, so the two agree.
 *
 * What a guest lacks depends on what its clone source passed on. Proxmox clones a snapshot as it
 * was taken, and Phoenix takes a guest's snapshots before it stalls, so a clone of a snapshot
 * gets none of root's options; a clone of a source's current state (no snapshot) gets them,
 * as the source is Ready, that is root has run its step (and what root deleted on a running
 * source may still be there, see converge). The command therefore sets every root-only option
 * in full and also removes those a source may have passed on that the manifest does not
 * declare: it is right whichever the guest got, and running it again changes nothing.
 */

type GuestType = 'lxc' | 'qemu';

/** A guest's config as Phoenix makes and converges it, as far as the root-only options go. */
interface Made {
  readonly config: Readonly<Record<string, string>>;
  readonly unprivileged: boolean;
  /** Undefined when the importer knows how the guest is made; else why not. */
  readonly unknown?: string;
}

interface Clone {
  readonly lxcRef?: { readonly name: string };
  readonly vmRef?: { readonly name: string };
  readonly vmid?: number;
  readonly snapshot?: string;
}

const typeOf = (g: MappedGuest): GuestType => (g.ref.kind === 'PhoenixLXC' ? 'lxc' : 'qemu');

function desiredOf(ctx: ImportContext, g: MappedGuest): DesiredConfig {
  // Only the description depends on the owner, and it is never a root-only option.
  const id = { name: g.spec['adopt'] === undefined ? g.ref.name : undefined, owner: { uid: 'import', ref: `${g.ref.kind} ${ctx.options.namespace}/${g.ref.name}` } };
  return g.ref.kind === 'PhoenixLXC' ? desiredLxcConfig(g.spec as unknown as PhoenixLXCSpec, id) : desiredVmConfig(g.spec as unknown as PhoenixVMSpec, id);
}

/**
 * `config` after Phoenix has converged it: without root's options, or after root's step too.
 * Root's deletions are left out: on a running container Proxmox keeps a deleted device or
 * mount point as a pending change until the next restart, and a clone copies the config
 * without its pending changes, so a clone can still get what root deleted.
 */
function converge(type: GuestType, desired: DesiredConfig, config: Readonly<Record<string, string>>, unprivileged: boolean, withRoot: boolean): Record<string, string> {
  const { writable, rootOnly } = splitRootOnly(type, diffConfig(desired, config).changes, unprivileged);
  const out = { ...config };
  for (const change of [...writable, ...(withRoot ? rootOnly.filter((c) => c.value !== undefined) : [])]) {
    if (change.value === undefined) delete out[change.key];
    else out[change.key] = change.value;
  }
  return out;
}

class Planner {
  private readonly ctx: ImportContext;
  private readonly byRef: Map<string, MappedGuest>;
  private readonly desired = new Map<MappedGuest, DesiredConfig>();
  private readonly made = new Map<string, Made>();

  constructor(ctx: ImportContext, guests: readonly MappedGuest[]) {
    this.ctx = ctx;
    this.byRef = new Map(guests.map((g) => [`${g.ref.kind}/${g.ref.name}`, g]));
  }

  desiredOf(g: MappedGuest): DesiredConfig {
    let d = this.desired.get(g);
    if (!d) this.desired.set(g, (d = desiredOf(this.ctx, g)));
    return d;
  }

  /**
   * The guest as made, before Phoenix converges it: as created (without root's options), or as
   * cloned. `rootDone`: whether root's steps on its sources were taken before they were cloned,
   * as for a clone of a source's current state; with it, every clone is taken as one of those.
   */
  madeOf(g: MappedGuest, rootDone: boolean, seen: ReadonlySet<MappedGuest> = new Set()): Made {
    const key = `${g.ref.kind}/${g.ref.name}/${rootDone}`;
    const known = this.made.get(key);
    if (known) return known;
    const made = this.make(g, rootDone, new Set([...seen, g]));
    this.made.set(key, made);
    return made;
  }

  private make(g: MappedGuest, rootDone: boolean, seen: ReadonlySet<MappedGuest>): Made {
    const type = typeOf(g);
    // As the controller creates it: unprivileged unless the manifest says otherwise.
    const declared = type === 'lxc' && (g.spec as { unprivileged?: boolean }).unprivileged !== false;
    if (g.spec['adopt'] !== undefined) return { config: {}, unprivileged: declared, unknown: 'an adopted guest may have some of these already: its RootOnly message names only what it lacks' };
    const clone = (g.spec['source'] as { clone?: Clone } | undefined)?.clone;
    if (clone) {
      const ref = clone.lxcRef ? `PhoenixLXC/${clone.lxcRef.name}` : clone.vmRef ? `PhoenixVM/${clone.vmRef.name}` : undefined;
      const source = ref === undefined ? undefined : this.byRef.get(ref);
      if (!source || seen.has(source)) return { config: {}, unprivileged: declared, unknown: `a clone of ${clone.vmid !== undefined ? `VMID ${clone.vmid}` : ref}, which the import cannot follow: it may pass some of these on, and the RootOnly message then names only what the guest lacks` };
      const from = this.madeOf(source, rootDone, seen);
      const withRoot = rootDone || clone.snapshot === undefined;
      return { config: converge(typeOf(source), this.desiredOf(source), from.config, from.unprivileged, withRoot), unprivileged: from.unprivileged, ...(from.unknown ? { unknown: from.unknown } : {}) };
    }
    const desired = this.desiredOf(g);
    const createOnly = type === 'lxc' ? lxcCreateOnlyParams(g.spec as unknown as PhoenixLXCSpec, {}) : vmCreateOnlyParams(g.spec as unknown as PhoenixVMSpec, {});
    return { config: withoutRootOnly(type, { ...createParams(desired), ...createOnly }, declared), unprivileged: declared };
  }
}

/** What an option needing root is, for a person. */
function what(key: string, value: string | undefined, unprivileged: boolean): string {
  if (key === 'hookscript') return 'hookscript';
  if (/^dev\d+$/.test(key)) return 'device passthrough';
  if (/^(mp\d+|rootfs)$/.test(key)) return value?.startsWith('/dev/') ? 'device mount point' : 'bind mount of a host directory';
  if (key === 'features') return unprivileged ? 'feature flags other than nesting' : 'feature flags of a privileged container';
  if (/^hostpci\d+$/.test(key)) return 'PCI passthrough of a host device';
  if (/^usb\d+$/.test(key)) return 'USB passthrough of a host device';
  return key;
}

/** The manifest field an option comes from, to mark its report entries. */
function fromField(key: string): (field: string) => boolean {
  const indexed = /^(dev|mp|hostpci|usb)(\d+)$/.exec(key);
  if (indexed?.[1] === 'dev') return (f) => f === 'spec.devices' || f.startsWith('spec.devices[');
  if (indexed?.[1] === 'mp') return (f) => f === `spec.mountPoints[${indexed[2]}].hostPath`;
  if (indexed?.[1] === 'hostpci') return (f) => f.startsWith(`spec.pciDevices[${indexed[2]}]`);
  if (indexed?.[1] === 'usb') return (f) => f.startsWith(`spec.usbDevices[${indexed[2]}]`);
  if (key === 'features') return (f) => f === 'spec.features' || f.startsWith('spec.features.');
  return () => false;
}

export const rootOnlySection = 'After you apply: once as root@pam';

/**
 * Adds a step for each guest with options only root@pam may set, and marks the legacy fields
 * they come from.
 */
export function planRootOnlySteps(ctx: ImportContext, guests: readonly MappedGuest[]): void {
  const planner = new Planner(ctx, guests);
  const steps: RootOnlyStep[] = [];
  for (const g of guests) {
    const type = typeOf(g);
    const desired = planner.desiredOf(g);
    const rootOnly = (rootDone: boolean) => {
      const made = planner.madeOf(g, rootDone);
      return { made, changes: splitRootOnly(type, diffConfig(desired, made.config).changes, made.unprivileged).rootOnly };
    };
    const fresh = rootOnly(false);
    // What a source may have passed on that the manifest does not declare.
    const passedOn = rootOnly(true).changes.filter((c) => !fresh.changes.some((f) => f.key === c.key));
    const changes: ConfigChange[] = [...fresh.changes, ...passedOn];
    if (!changes.length) continue;
    const vmid = Number(g.spec.vmid);
    const command = rootCommand(type, vmid, changes);
    const unprivileged = fresh.made.unprivileged;
    // rootCommand writes the options set, then the ones deleted: listed in that order.
    const options: RootOnlyOption[] = [
      ...changes.filter((c) => c.value !== undefined).map((c) => ({ key: c.key, value: c.value!, what: what(c.key, c.value, unprivileged) })),
      ...changes.filter((c) => c.value === undefined).map((c) => ({ key: c.key, delete: true as const, what: what(c.key, undefined, unprivileged) })),
    ];
    steps.push({ kind: g.ref.kind, name: g.ref.name, vmid, node: g.spec.node, command, options, ...(fresh.made.unknown ? { note: fresh.made.unknown } : {}) });
    const fields = options.map((o) => fromField(o.key));
    const ours = (t: Target) => t.kind === g.ref.kind && t.name === g.ref.name && fields.some((f) => f(t.field));
    ctx.report.annotate(
      (e) => e.outcome === 'mapped' && (e.targets ?? []).some(ours),
      `Proxmox lets only root@pam itself set this (an API token is refused: "only allowed for root@pam"). Phoenix creates ${g.ref.name} without it, converges the rest and waits (Stalled, reason RootOnly) until root has run its command under "${rootOnlySection}"; Phoenix keeps it from then on`,
    );
  }
  ctx.report.rootOnly.push(...steps.sort((a, b) => a.vmid - b.vmid));
}
