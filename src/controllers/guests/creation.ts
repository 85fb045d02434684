/**
 * Bringing a guest into existence: its VMID (persisted before anything is created with it), a
 * create slot, the source template or image, pre-flight checks, and the create or clone task.
 */

import type { ReconcileResult } from '../../runtime/controller.ts';
import { RetryableError, TerminalError } from '../../runtime/errors.ts';
import { refOf } from '../../runtime/object-key.ts';
import { isProxmoxError } from '../../clients/proxmox/errors.ts';
import type { Connection } from '../hypervisor/connections.ts';
import { GuestApi } from './guest-api.ts';
import type { GuestContext } from './guest-context.ts';
import type { GuestObject } from './adapter.ts';

/** The guest's VMID, allocated and persisted before anything is created with it. */
export async function ensureVmid<O extends GuestObject>(ctx: GuestContext<O>, connection: Connection): Promise<number | undefined> {
  let vmid = ctx.status.vmid ?? ctx.spec.vmid ?? ctx.spec.adopt?.vmid;
  if (vmid === undefined && ctx.spec.adopt?.name) vmid = await ctx.findByName(connection, ctx.spec.adopt.name);
  if (vmid === undefined) {
    const avoid = ctx.shared.peers().flatMap((g) => [(g.status as { vmid?: number } | undefined)?.vmid, (g.spec as { vmid?: number } | undefined)?.vmid].filter((v): v is number => v !== undefined));
    vmid = await ctx.deps.allocator.allocate(connection.client, ctx.key, connection.settings.vmidRange, avoid);
    await ctx.progress('VmidAllocated', `allocated VMID ${vmid}`, { vmid, node: ctx.spec.node });
    return vmid;
  }
  if (ctx.status.vmid !== vmid) await ctx.progress('VmidAssigned', `VMID ${vmid}`, { vmid, node: ctx.spec.node });
  return vmid;
}

/** The guest does not exist: report it vanished, or create it (after pre-flight checks). */
export async function bringIntoExistence<O extends GuestObject>(ctx: GuestContext<O>, connection: Connection, api: GuestApi): Promise<ReconcileResult | void> {
  if (ctx.spec.adopt) throw new TerminalError('AdoptTargetMissing', `no ${ctx.adapter.type} guest ${api.vmid} exists on node ${api.node} to adopt`);
  if (ctx.status.configDigest !== undefined) {
    if (ctx.spec.missingPolicy !== 'Recreate') {
      throw new TerminalError('GuestMissing', `guest ${api.vmid} no longer exists in Proxmox (deleted outside Phoenix). Set missingPolicy: Recreate to have Phoenix create it again, or delete this object`);
    }
    await ctx.setup.events.warning(ctx.current, 'GuestMissing', 'Recreate', `guest ${api.vmid} disappeared from Proxmox; creating it again (missingPolicy: Recreate)`);
    await ctx.progress('Recreating', `guest ${api.vmid} disappeared; creating it again`, { configDigest: undefined });
  }
  // The slot comes first: a guest waiting for one costs Proxmox nothing.
  const ref = refOf(ctx.current);
  if (!ctx.deps.capacity.tryAcquire(ctx.key, ctx.capacityKeys(connection), () => ctx.setup.enqueue(ref))) {
    await ctx.progress('WaitingForCapacity', `waiting for a create slot on node ${ctx.spec.node} (limits: ${connection.settings.createsPerNode} per node, ${connection.settings.createsPerStorage} per storage)`);
    // Woken when a slot frees; the timer only guards against a lost wake-up.
    return { requeueAfter: 15_000 };
  }
  let cloneSource: number | undefined;
  try {
    const download = await ensureSourceVolume(ctx, connection, api);
    if (download) {
      ctx.deps.capacity.release(ctx.key);
      return download;
    }
    await preflight(ctx, connection, api.node);
    const clone = ctx.spec.source?.clone as { vmid?: number; lxcRef?: { name: string }; vmRef?: { name: string } } | undefined;
    if (clone) {
      const cloneRef = clone.lxcRef ?? clone.vmRef;
      cloneSource = clone.vmid ?? ((cloneRef && ctx.shared.lookup({ kind: ctx.adapter.kind, name: cloneRef.name, namespace: ctx.current.metadata.namespace ?? '' })?.status) as { vmid?: number } | undefined)?.vmid;
      if (cloneSource === undefined) throw new RetryableError('CloneSourceUnknown', `the clone source has no VMID yet`);
    }
  } catch (err) {
    ctx.deps.capacity.release(ctx.key);
    throw err;
  }
  const creation = ctx.adapter.creation(ctx.current, ctx.identity, ctx.secrets(), cloneSource);
  let upid: string;
  try {
    upid = creation.action === 'create' ? await api.create(creation.params) : await api.cloneFrom(creation.source, creation.params);
  } catch (err) {
    ctx.deps.capacity.release(ctx.key);
    if (isProxmoxError(err, 'AlreadyExists')) return vmidTaken(ctx, api.vmid);
    if (isProxmoxError(err, 'Locked', 'LockTimeout')) throw new RetryableError('SourceLocked', `cannot ${creation.action} yet: ${(err as Error).message}`);
    if (isProxmoxError(err, 'InvalidParameter')) throw new TerminalError('RejectedByProxmox', `Proxmox refused the ${creation.action}: ${(err as Error).message}`);
    throw err;
  }
  await ctx.setup.events.normal(ctx.current, creation.action === 'create' ? 'Creating' : 'Cloning', creation.action, `${creation.action === 'create' ? 'creating' : `cloning VMID ${cloneSource} to`} VMID ${api.vmid} on node ${api.node}`);
  return ctx.trackTask(api, upid, creation.action, `${creation.action} of VMID ${api.vmid} submitted`, { reason: 'Creating' });
}

/** Another creator took the VMID between allocation and create. */
export async function vmidTaken<O extends GuestObject>(ctx: GuestContext<O>, vmid: number): Promise<ReconcileResult> {
  if (ctx.spec.vmid !== undefined) throw new TerminalError('VmidInUse', `VMID ${vmid} is used by another guest; choose another spec.vmid or adopt that guest`);
  ctx.deps.allocator.release(ctx.key);
  await ctx.setup.events.warning(ctx.current, 'VmidCollision', 'Create', `VMID ${vmid} was taken by another creator; allocating a new one`);
  await ctx.progress('VmidCollision', `VMID ${vmid} was taken by another creator; allocating a new one`, { vmid: undefined, node: undefined });
  return { requeueAfter: 100 };
}

/** Downloads a missing template or image first when the spec allows it; else a clear error. */
async function ensureSourceVolume<O extends GuestObject>(ctx: GuestContext<O>, connection: Connection, api: GuestApi): Promise<ReconcileResult | undefined> {
  const source = ctx.adapter.sourceVolume(ctx.current);
  if (!source) return undefined;
  const storageApi = connection.client.api.nodes.$(api.node).storage.$(source.storage) as any;
  let content: { volid: string }[];
  try {
    content = await storageApi.content.$get();
  } catch (err) {
    if (isProxmoxError(err, 'NotFound', 'InvalidParameter')) throw new TerminalError('StorageNotFound', `storage ${source.storage} is not available on node ${api.node}: ${(err as Error).message}`);
    throw err;
  }
  if (content.some((c) => c.volid === source.volume)) return undefined;
  if (!source.fetch) throw new TerminalError('SourceNotFound', `${source.volume} does not exist on node ${api.node}`);
  let upid: string;
  if ('appliance' in source.fetch) {
    upid = await (connection.client.api.nodes.$(api.node) as any).aplinfo.$post({ storage: source.storage, template: source.fetch.appliance });
  } else {
    upid = await storageApi['download-url'].$post({ url: source.fetch.url, filename: source.fetch.filename, content: source.fetch.content });
  }
  await ctx.setup.events.normal(ctx.current, 'Downloading', 'Download', `downloading ${source.volume}`);
  return ctx.trackTask(api, upid, 'download', `downloading ${source.volume}`, { reason: 'Downloading', pollAfterMs: 1_000 });
}

/** Spec errors Proxmox would only report from inside a task: caught before submitting. */
async function preflight<O extends GuestObject>(ctx: GuestContext<O>, connection: Connection, node: string): Promise<void> {
  const bridges = (ctx.spec.networks ?? []).map((n) => n.bridge);
  if (bridges.length) {
    const ifaces = (await connection.client.api.nodes.$(node).network.$get()) as { iface: string; type: string }[];
    const known = new Set(ifaces.map((i) => i.iface));
    const missing = [...new Set(bridges)].filter((b) => !known.has(b));
    if (missing.length) throw new TerminalError('BridgeNotFound', `bridge ${missing.join(', ')} does not exist on node ${node}`);
  }
  const storage = ctx.adapter.storage(ctx.current);
  if (storage) {
    const storages = (await connection.client.api.nodes.$(node).storage.$get()) as { storage: string; active?: number; enabled?: number }[];
    if (!storages.some((s) => s.storage === storage)) throw new TerminalError('StorageNotFound', `storage ${storage} is not available on node ${node}`);
  }
}
