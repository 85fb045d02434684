/**
 * A guest's identity: the (hypervisor, VMID) an object is bound to, kept in status and in the
 * `external-name` annotation (in the manner of Crossplane), found again by marker when both are
 * lost, never shared with another object, and followed when the guest moves.
 */

import { TerminalError } from '../../runtime/errors.ts';
import { setAnnotations } from '../../runtime/annotations.ts';
import { selectorMatches } from '../../runtime/label-selector.ts';
import type { KubeObject } from '../../runtime/resource.ts';
import type { PhoenixHypervisor } from '../../api/objects.ts';
import type { Connection } from '../hypervisor/connections.ts';
import type { GuestApi, GuestConfig, ClusterGuest } from './guest-api.ts';
import type { GuestContext } from './guest-context.ts';
import type { GuestObject } from './adapter.ts';

/** `<hypervisor>/<vmid>`: survives a restore without status, and can be set to bind an object to its guest. */
export const externalNameAnnotation = 'hypervisor.phoenix.io/external-name';

/** The VMID the annotation names for `hypervisor`; an annotation written for another hypervisor is ignored. */
export function annotatedVmid(object: KubeObject, hypervisor: string): number | undefined {
  const value = object.metadata.annotations?.[externalNameAnnotation];
  const match = value === undefined ? null : /^([^/]+)\/(\d+)$/.exec(value);
  return match && match[1] === hypervisor ? Number(match[2]) : undefined;
}

export interface Identified extends KubeObject {
  metadata: KubeObject['metadata'];
  spec: { hypervisorRef: { name: string }; vmid?: number; adopt?: { vmid?: number } };
  status?: { vmid?: number };
}

/** Every VMID an object holds on its hypervisor: named in its spec, recorded in status or in its annotation. */
export function heldVmids(object: Identified): number[] {
  const ids = [object.spec.vmid, object.spec.adopt?.vmid, object.status?.vmid, annotatedVmid(object, object.spec.hypervisorRef.name)];
  return [...new Set(ids.filter((v): v is number => v !== undefined))];
}

/** Which of two objects came first: the older holds a VMID both name (ties broken by kind and name). */
function older(a: KubeObject, b: KubeObject): boolean {
  const ta = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
  const tb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
  if (ta !== tb) return ta < tb;
  return `${a.kind} ${a.metadata.namespace}/${a.metadata.name}` < `${b.kind} ${b.metadata.namespace}/${b.metadata.name}`;
}

/**
 * One VMID, one object: when an older object on the same hypervisor holds a VMID this one
 * names, this one stalls at once, naming the holder, before any Proxmox call.
 */
export function assertNoVmidConflict<O extends GuestObject>(ctx: GuestContext<O>): void {
  const hypervisor = ctx.spec.hypervisorRef.name;
  for (const vmid of heldVmids(ctx.current as Identified)) {
    for (const peer of ctx.shared.peers.holding(hypervisor, vmid)) {
      if (peer.metadata.uid === ctx.current.metadata.uid || !older(peer, ctx.current)) continue;
      throw new TerminalError(
        'VmidConflict',
        `VMID ${vmid} on PhoenixHypervisor ${hypervisor} already belongs to ${peer.kind ?? 'guest'} ${peer.metadata.namespace}/${peer.metadata.name}; two objects never share a guest. Choose another vmid, or delete one of them`,
        { recheckAfterMs: 60_000 },
      );
    }
  }
}

/**
 * A hypervisor says which namespaces may use it (spec.allowedNamespaces, default all). Checked
 * before any Proxmox call, so a namespace that may not use a hypervisor cannot reach it.
 */
export function assertNamespaceAllowed<O extends GuestObject>(ctx: GuestContext<O>, hv: KubeObject | undefined): void {
  const allowed = (hv as PhoenixHypervisor | undefined)?.spec.allowedNamespaces;
  if (!allowed || (allowed.from ?? 'All') === 'All') return;
  const name = ctx.current.metadata.namespace ?? '';
  const namespace = ctx.shared.namespace(name);
  if (namespace && selectorMatches(allowed.selector ?? {}, namespace.metadata.labels)) return;
  throw new TerminalError(
    'NamespaceNotAllowed',
    `PhoenixHypervisor ${ctx.spec.hypervisorRef.name} does not allow guests from namespace ${name} (its spec.allowedNamespaces selector does not match${namespace ? '' : ': the namespace is not known to Phoenix'}); Phoenix made no Proxmox call for this object`,
  );
}

/**
 * The guest's VMID: the one already bound (status, annotation, spec, adoption), else the one
 * whose marker names this object (its status was lost: a restore, a fresh cluster), else a new
 * one allocated and recorded, in the annotation and in status, before anything is created.
 */
export async function ensureVmid<O extends GuestObject>(ctx: GuestContext<O>, connection: Connection): Promise<{ vmid: number; allocated: boolean }> {
  const hypervisor = ctx.spec.hypervisorRef.name;
  let allocated = false;
  let vmid = ctx.status.vmid ?? annotatedVmid(ctx.current, hypervisor) ?? ctx.spec.vmid ?? ctx.spec.adopt?.vmid;
  if (vmid === undefined && ctx.spec.adopt?.name) vmid = await ctx.findByName(connection, ctx.spec.adopt.name);
  if (vmid === undefined) {
    const pve = ctx.pve(connection);
    // One list serves every object applied at once. A guest carrying this object's marker was
    // made for it before its status was lost: made before this process could act on the
    // object, it is in any list requested since; made after, it was made by this process,
    // which records the VMID before it creates. The VMIDs Phoenix's own creates of both kinds
    // hold are claimed in the allocator, and a creator outside Phoenix that takes an id
    // meanwhile is refused by Proxmox ("already exists"), as it would be with a fresher list.
    const guests = await connection.resources.all(ctx.shared.actingSince(ctx.current));
    const marked = await connection.markers.find(pve, guests, ctx.key, ctx.adapter.type);
    if (marked.length) {
      vmid = marked[0]!;
      const others = marked.length > 1 ? `; guests ${marked.slice(1).join(', ')} carry the same marker and are left alone` : '';
      await ctx.setup.events.warning(ctx.current, 'Rebinding', 'Identity', `this object has no VMID recorded, but guest ${vmid} carries its marker (its status was lost); binding to it instead of creating another${others}`);
    } else {
      const range = connection.settings.vmidRange;
      const avoid = ctx.shared.peers.all().flatMap(heldVmids);
      // Only where to start looking: every id from there is checked against the fresh list and
      // the claims, and the create itself refuses one taken meanwhile. So one answer serves a while.
      const start = range?.min ?? (await connection.facts.find('nextid', () => pve.nextId(), () => true));
      vmid = ctx.deps.allocator.allocate(hypervisor, ctx.key, [...guests.map((g) => g.vmid), ...avoid], start, range?.max);
      allocated = true;
      // Known to be this object's before its guest exists: other objects' look-ups need not read it.
      connection.markers.note(vmid, ctx.spec.node, ctx.adapter.type, ctx.identity.owner);
    }
  }
  await recordIdentity(ctx, vmid);
  return { vmid, allocated };
}

/** Records the binding in the annotation and in status (the annotation first: it outlives status). */
export async function recordIdentity<O extends GuestObject>(ctx: GuestContext<O>, vmid: number | undefined): Promise<void> {
  const value = vmid === undefined ? undefined : `${ctx.spec.hypervisorRef.name}/${vmid}`;
  if (ctx.current.metadata.annotations?.[externalNameAnnotation] !== value) {
    ctx.current = await setAnnotations(ctx.setup.client, ctx.adapter.resource, ctx.current, { [externalNameAnnotation]: value });
  }
  if (vmid !== undefined && ctx.status.vmid !== vmid) await ctx.progress('VmidAssigned', `VMID ${vmid}`, { vmid, node: ctx.status.node ?? ctx.spec.node });
}

export interface Located {
  readonly api: GuestApi;
  readonly config: GuestConfig | undefined;
  /** A guest of the other type holds the VMID (so it is not this object's guest). */
  readonly otherType?: ClusterGuest;
  /**
   * The cluster lists the guest on this node, but its config could not be read (a cluster
   * member that has not seen the file yet): it exists, and must not be created again.
   */
  readonly unread?: boolean;
}

/**
 * Finds the guest wherever it lives: on the node it was last seen on, else wherever a fresh
 * cluster list shows it (moved by HA or a person since). The list's node comes from the cluster
 * file system, so it is current even while pvestatd's figures lag.
 */
export async function locate<O extends GuestObject>(ctx: GuestContext<O>, connection: Connection, vmid: number): Promise<Located> {
  const pve = ctx.pve(connection);
  const node = ctx.status.node ?? ctx.spec.node;
  const here = pve.guest(node, ctx.adapter.type, vmid);
  const config = await here.config();
  if (config) return { api: here, config };
  const listed = await connection.resources.guest(vmid, Date.now());
  if (!listed) return { api: here, config: undefined };
  if (listed.type !== ctx.adapter.type) return { api: here, config: undefined, otherType: listed };
  if (listed.node === node) return { api: here, config: undefined, unread: true };
  const there = pve.guest(listed.node, ctx.adapter.type, vmid);
  return { api: there, config: await there.config() };
}

/** The lock of a guest being created or cloned: the task that holds it may be ours whose answer was lost. */
export function isCreationLock(config: GuestConfig): boolean {
  return config.lock === 'create' || config.lock === 'clone';
}
