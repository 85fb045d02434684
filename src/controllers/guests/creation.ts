/**
 * Bringing a guest into existence: a create slot, the source template or image, pre-flight
 * checks, and the create or clone task. A create is idempotent under lost answers: the intent
 * is recorded before the request leaves, an answer that never came leaves the outcome
 * `Unknown` and the guest is looked for (at the same VMID) before anything is sent again, and
 * "already exists" reads who holds the VMID instead of moving on to another one.
 */

import type { ReconcileResult } from '../../runtime/controller.ts';
import { TerminalError } from '../../runtime/errors.ts';
import { refOf } from '../../runtime/object-key.ts';
import { isProxmoxError } from '../../clients/proxmox/errors.ts';
import type { Connection } from '../hypervisor/connections.ts';
import type { GuestApi } from './guest-api.ts';
import type { GuestContext } from './guest-context.ts';
import type { GuestObject } from './adapter.ts';
import { recordIdentity } from './identity.ts';
import { readCloneSource, type CloneSource } from './lineage.ts';
import { freshSince } from '../observe-cycle.ts';
import { findCondition } from '../../runtime/conditions.ts';
import { encodeWorkerId, parseUpid } from '../../proxmox/upid.ts';

/**
 * How long after a create whose answer was lost Phoenix keeps looking for its guest before it
 * concludes Proxmox never acted on it: twice the client's timeout, which bounds how long a
 * request can wait in Proxmox's proxy before it is handled.
 */
export function unknownOutcomeGraceMs(connection: Connection): number {
  return 2 * connection.timeoutMs;
}

/** A create or clone whose answer was lost, still young enough that its guest may yet appear. */
export function awaitingLostCreate<O extends GuestObject>(ctx: GuestContext<O>, connection: Connection, vmid: number): number {
  const creation = ctx.status.creation;
  if (!creation || creation.outcome !== 'Unknown' || creation.vmid !== vmid) return 0;
  return Math.max(0, Date.parse(creation.submittedTime) + unknownOutcomeGraceMs(connection) - Date.now());
}

/** The guest does not exist: report it vanished, or create it (after pre-flight checks). */
export async function bringIntoExistence<O extends GuestObject>(ctx: GuestContext<O>, connection: Connection, api: GuestApi): Promise<ReconcileResult | void> {
  if (ctx.spec.adopt) throw new TerminalError('AdoptTargetMissing', `no ${ctx.adapter.type} guest ${api.vmid} exists on node ${api.node} to adopt`, { recheckAfterMs: ctx.nextCycle() });
  if (ctx.status.configDigest !== undefined) {
    if (ctx.spec.missingPolicy !== 'Recreate') {
      throw new TerminalError('GuestMissing', `guest ${api.vmid} no longer exists in Proxmox (deleted outside Phoenix). Set missingPolicy: Recreate to have Phoenix create it again, or delete this object`, { recheckAfterMs: ctx.nextCycle() });
    }
    await ctx.setup.events.warning(ctx.current, 'GuestMissing', 'Recreate', `guest ${api.vmid} disappeared from Proxmox; creating it again (missingPolicy: Recreate)`);
    await ctx.progress('Recreating', `guest ${api.vmid} disappeared; creating it again`, { configDigest: undefined });
  }
  const waiting = awaitingLostCreate(ctx, connection, api.vmid);
  if (waiting > 0) {
    await ctx.progress('CreateOutcomeUnknown', `the answer to the create of VMID ${api.vmid} was lost, so Proxmox may still be creating it; Phoenix looks for it before sending anything again (for up to ${Math.ceil(waiting / 1000)} s more)`);
    return { requeueAfter: Math.min(2_000, waiting) };
  }
  const slot = await createSlot(ctx, connection);
  if (slot) return slot;
  const cloneSource = ctx.cloneSourceVmid();
  try {
    const download = await ensureSourceVolume(ctx, connection, api);
    if (download) {
      ctx.deps.capacity.release(ctx.key);
      return download;
    }
    await preflight(ctx, connection, api.node);
  } catch (err) {
    ctx.deps.capacity.release(ctx.key);
    throw err;
  }
  const creation = ctx.adapter.creation(ctx.current, ctx.identity, ctx.secrets(), cloneSource);
  const intent = { vmid: api.vmid, node: api.node, submittedTime: new Date().toISOString() };
  // The intent is in status before the request leaves: whatever happens to the answer, a later
  // reconcile (or another controller) knows a guest may exist at this VMID.
  // What the clone inherits is read from the very source it copies, and recorded with the intent.
  const source = creation.action === 'clone' ? await readSource(ctx, connection, api, creation.source) : undefined;
  const inherited = source?.inherited ?? [];
  await ctx.progress('Creating', `sending the ${creation.action} of VMID ${api.vmid}`, { creation: { ...intent, outcome: 'Submitted' }, targetNode: ctx.spec.node, inheritedSteps: inherited.length ? inherited : undefined });
  let upid: string;
  // The clone's task starts after this: its end cannot be older (GuestContext.ownCloneConfig).
  const sentAt = Date.now();
  try {
    upid = creation.action === 'create' ? await api.create(creation.params) : await api.cloneFrom(creation.source, creation.params);
  } catch (err) {
    ctx.deps.capacity.release(ctx.key);
    if (isProxmoxError(err) && err.outcomeUnknown) {
      await ctx.setup.events.warning(ctx.current, 'CreateOutcomeUnknown', creation.action, `no answer to the ${creation.action} of VMID ${api.vmid} (${err.message}); Phoenix looks for the guest before sending it again`);
      return ctx.failed(creation.action, 'CreateOutcomeUnknown', `no answer to the ${creation.action} of VMID ${api.vmid}: ${err.message}`, { creation: { ...intent, outcome: 'Unknown' } });
    }
    // From here on Proxmox answered itself: it did not create anything.
    const fields = { creation: undefined };
    if (isProxmoxError(err, 'AlreadyExists')) {
      // Taken by whom? Possibly this object's own earlier request whose answer was lost: the
      // next reconcile reads the guest's marker before anything else.
      await ctx.progress('VmidTaken', `VMID ${api.vmid} already exists; reading whose guest it is`, fields);
      return { requeueAfter: 500 };
    }
    if (isProxmoxError(err, 'Locked', 'LockTimeout')) {
      // The source (a container being cloned, a template in use) is busy: a wait, not a failure.
      await ctx.progress('SourceLocked', `cannot ${creation.action} yet, waiting for a lock: ${err.message}`, fields);
      return { requeueAfter: 3_000 };
    }
    if (isProxmoxError(err, 'InvalidParameter')) {
      await ctx.write({ phase: 'reconciling', reason: 'RejectedByProxmox', message: err.message, fields });
      throw new TerminalError('RejectedByProxmox', `Proxmox refused the ${creation.action}: ${err.message}`);
    }
    if (isProxmoxError(err, 'Forbidden')) {
      await ctx.write({ phase: 'reconciling', reason: 'Creating', message: `the ${creation.action} was refused`, fields });
      throw err;
    }
    // Any other refusal is a failed attempt like a failed task: backed off, named, and
    // Stalled once it lasts, instead of a bare "Creating" while the queue retries it.
    return ctx.failed(creation.action, 'CreateRefused', `Proxmox refused the ${creation.action} of VMID ${api.vmid}: ${(err as Error).message}`, fields);
  }
  connection.markers.note(api.vmid, api.node, api.type, ctx.identity.owner);
  // What this very clone is made from, for the config it will have (GuestContext.ownCloneConfig).
  if (creation.action === 'clone' && source?.config) ctx.shared.ownClones.set(ctx.key, { upid, vmid: api.vmid, node: api.node, sourceVmid: creation.source, source: source.config, params: creation.params, sentAt });
  await ctx.setup.events.normal(ctx.current, creation.action === 'create' ? 'Creating' : 'Cloning', creation.action, `${creation.action === 'create' ? 'creating' : `cloning VMID ${cloneSource} to`} VMID ${api.vmid} on node ${api.node}`);
  return ctx.trackTask(api, upid, creation.action, `${creation.action} of VMID ${api.vmid} submitted`, { reason: 'Creating' });
}

/**
 * Takes this guest's create slot (its node, storage and clone source, see create-locks.ts), or
 * says what it waits for. Waiting costs Proxmox nothing: the guest is woken when the holder's
 * task ends, and the timer only guards against a lost wake-up.
 */
export async function createSlot<O extends GuestObject>(ctx: GuestContext<O>, connection: Connection): Promise<ReconcileResult | undefined> {
  const cloning = ctx.spec.source?.clone !== undefined;
  const cloneSource = ctx.cloneSourceVmid();
  if (cloning && cloneSource === undefined) {
    await ctx.progress('WaitingForCloneSource', 'the clone source has no VMID yet');
    return { requeueAfter: 5_000 };
  }
  // Whether a VM source runs decides if its clones may overlap (create-locks.ts); the cycle's
  // shared cluster list tells, at no request of this guest's own.
  const sourceRunning = cloning && ctx.adapter.type === 'qemu'
    ? (await connection.resources.guest(cloneSource!, freshSince(Date.now(), ctx.observePeriodMs())))?.status !== 'stopped'
    : undefined;
  const ref = refOf(ctx.current);
  if (ctx.deps.capacity.tryAcquire(ctx.key, ctx.capacityKeys(connection, sourceRunning), () => ctx.setup.enqueue(ref))) return undefined;
  await ctx.progress(waitingForCapacity, cloning
    ? `waiting for VMID ${cloneSource} to be free to clone, or for a create slot on node ${ctx.spec.node}`
    : `waiting for a create slot on node ${ctx.spec.node} (limits: ${connection.settings.createsPerNode} per node, ${connection.settings.createsPerStorage} per storage)`);
  return { requeueAfter: 15_000 };
}

/** The reason a guest waiting for its create slot shows. */
export const waitingForCapacity = 'WaitingForCapacity';

/**
 * A guest known not to exist yet, so that looking for it again would only repeat what is known:
 * its VMID was just allocated from a fresh cluster list, or it has waited for its create slot
 * since it was seen missing, and it has sent no create whose outcome is open. Were the VMID taken
 * meanwhile (another creator), Proxmox refuses the create ("already exists") and the guest is
 * looked for then.
 */
export function knownAbsent<O extends GuestObject>(ctx: GuestContext<O>, allocatedNow: boolean): boolean {
  const status = ctx.status;
  if (status.configDigest !== undefined || status.creation !== undefined || status.task !== undefined || ctx.spec.adopt !== undefined) return false;
  return allocatedNow || findCondition(status.conditions, 'Ready')?.reason === waitingForCapacity;
}

/**
 * A VMID Phoenix allocated is held by a guest that is provably not this object's (no marker,
 * unlocked): another creator took it first. Only then is another VMID allocated.
 */
export async function vmidTaken<O extends GuestObject>(ctx: GuestContext<O>, vmid: number): Promise<ReconcileResult> {
  if (ctx.spec.vmid !== undefined) throw new TerminalError('VmidInUse', `VMID ${vmid} is used by another guest; choose another spec.vmid or adopt that guest`, { recheckAfterMs: ctx.nextCycle() });
  ctx.deps.allocator.release(ctx.key);
  ctx.deps.connections.get(ctx.spec.hypervisorRef.name)?.markers.forget(vmid);
  await ctx.setup.events.warning(ctx.current, 'VmidCollision', 'Create', `VMID ${vmid} was taken by another creator; allocating a new one`);
  await recordIdentity(ctx, undefined);
  await ctx.progress('VmidCollision', `VMID ${vmid} was taken by another creator; allocating a new one`, { vmid: undefined, node: undefined, creation: undefined });
  return { requeueAfter: 100 };
}

/** Downloads a missing template or image first when the spec allows it; else a clear error. */
async function ensureSourceVolume<O extends GuestObject>(ctx: GuestContext<O>, connection: Connection, api: GuestApi): Promise<ReconcileResult | undefined> {
  const source = ctx.adapter.sourceVolume(ctx.current);
  if (!source) return undefined;
  const pve = ctx.pve(connection);
  let content: { volid: string }[];
  try {
    content = await connection.facts.find(`content:${api.node}:${source.storage}`, () => pve.storageContent(api.node, source.storage), (list) => list.some((c) => c.volid === source.volume));
  } catch (err) {
    if (isProxmoxError(err, 'NotFound', 'InvalidParameter')) throw new TerminalError('StorageNotFound', `storage ${source.storage} is not available on node ${api.node}: ${(err as Error).message}`);
    throw err;
  }
  if (content.some((c) => c.volid === source.volume)) return undefined;
  if (!source.fetch) throw new TerminalError('SourceNotFound', `${source.volume} does not exist on node ${api.node}`, { recheckAfterMs: ctx.nextCycle() });
  const transfer = 'ociReference' in source.fetch
    ? { taskType: 'ociregistrypull', operation: 'oci-pull', reason: 'PullingImage' } as const
    : { taskType: 'download', operation: 'download', reason: 'Downloading' } as const;
  const running = await transferRunning(ctx, connection, api.node, transfer.taskType, source.volume);
  if (running !== undefined) {
    await ctx.setup.events.normal(ctx.current, 'Downloading', 'Download', `following the transfer of ${source.volume} already running (${running})`);
    return ctx.trackTask(api, running, transfer.operation, `waiting for the transfer of ${source.volume} already running`, { reason: transfer.reason, pollAfterMs: 1_000 });
  }
  if ('ociReference' in source.fetch) return pullOciImage(ctx, connection, api, source.storage, source.fetch.ociReference, source.volume);
  const upid = 'appliance' in source.fetch
    ? await pve.downloadAppliance(api.node, source.storage, source.fetch.appliance)
    : await pve.downloadUrl(api.node, source.storage, { url: source.fetch.url, filename: source.fetch.filename, content: source.fetch.content });
  await ctx.setup.events.normal(ctx.current, 'Downloading', 'Download', `downloading ${source.volume}`);
  return ctx.trackTask(api, upid, 'download', `downloading ${source.volume}`, { reason: 'Downloading', pollAfterMs: 1_000 });
}

/**
 * The UPID of a download or OCI pull to this volume's file that is still running on the node:
 * one an earlier attempt sent whose answer was lost, or one started for another object needing
 * the same file. Following it instead of sending another keeps two transfers from racing for
 * one file (the loser fails with "refusing to override existing file"). Both tasks are named by
 * the file (pve-storage Status.pm `download_url` and `oci_registry_pull`, pve-manager's
 * `aplinfo`: `fork_worker(type, encode_text($filename))`).
 */
async function transferRunning<O extends GuestObject>(ctx: GuestContext<O>, connection: Connection, node: string, type: 'download' | 'ociregistrypull', volume: string): Promise<string | undefined> {
  const id = encodeWorkerId(volume.slice(volume.indexOf(':') + 1).split('/').pop() ?? '');
  const tasks = await ctx.pve(connection).nodeTasks(node, undefined);
  return tasks.find((task) => {
    if (task.status !== undefined && task.status !== 'RUNNING') return false;
    const upid = parseUpid(task.upid);
    return upid?.type === type && upid.id === id;
  })?.upid;
}

/**
 * Pulls an application container's OCI image (PVE 9.1's `oci-registry-pull`, a task whose UPID
 * is kept in status like every other, so a restarted controller follows the same pull instead
 * of sending another). Refusals Proxmox gives before any task starts are the spec's or the
 * host's to fix: an 8.x host, which has no such endpoint (501), a storage that is not a file
 * storage or has no `vztmpl` content, or skopeo missing.
 */
async function pullOciImage<O extends GuestObject>(ctx: GuestContext<O>, connection: Connection, api: GuestApi, storage: string, reference: string, volume: string): Promise<ReconcileResult> {
  let upid: string;
  try {
    upid = await ctx.pve(connection).ociRegistryPull(api.node, storage, reference);
  } catch (err) {
    if (isProxmoxError(err) && err.status === 501) {
      throw new TerminalError('OciImagesUnsupported', `node ${api.node} cannot pull OCI images: its Proxmox VE has no oci-registry-pull (application containers need Proxmox VE 9.1 or later)`, { recheckAfterMs: ctx.nextCycle() });
    }
    if (isProxmoxError(err, 'InvalidParameter', 'ServerError')) {
      throw new TerminalError('OciPullRefused', `Proxmox refused to pull ${reference} to storage ${storage} on node ${api.node}: ${err.message}`, { recheckAfterMs: ctx.nextCycle() });
    }
    throw err;
  }
  await ctx.setup.events.normal(ctx.current, 'PullingImage', 'Pull', `pulling ${reference} to ${volume}`);
  return ctx.trackTask(api, upid, 'oci-pull', `pulling ${reference} to ${volume}`, { reason: 'PullingImage', pollAfterMs: 1_000 });
}

/** Spec errors Proxmox would only report from inside a task: caught before submitting. */
async function preflight<O extends GuestObject>(ctx: GuestContext<O>, connection: Connection, node: string): Promise<void> {
  const pve = ctx.pve(connection);
  const bridges = (ctx.spec.networks ?? []).map((n) => n.bridge);
  if (bridges.length) {
    const wanted = [...new Set(bridges)];
    const interfaces = await connection.facts.find(`network:${node}`, () => pve.networkInterfaces(node), (list) => wanted.every((b) => list.some((i) => i.iface === b)));
    const known = new Set(interfaces.map((i) => i.iface));
    const missing = [...new Set(bridges)].filter((b) => !known.has(b));
    if (missing.length) throw new TerminalError('BridgeNotFound', `bridge ${missing.join(', ')} does not exist on node ${node}`, { recheckAfterMs: ctx.nextCycle() });
  }
  const storage = ctx.adapter.storage(ctx.current);
  const hasStorage = (list: { storage: string }[]) => list.some((s) => s.storage === storage);
  if (storage && !hasStorage(await connection.facts.find(`storages:${node}`, () => pve.storages(node), hasStorage))) {
    throw new TerminalError('StorageNotFound', `storage ${storage} is not available on node ${node}`, { recheckAfterMs: ctx.nextCycle() });
  }
}

/** How old a source's description may be when a clone records what it inherits. */
const inheritanceMaxAgeMs = 60_000;

/**
 * What the clone inherits, and the source's config it is made from. A token that may clone the
 * source but not read it (no VM.Audit there) still clones: the record is history, not a
 * condition of the clone, so it is left out and said. Being history, one read of the source serves
 * the clones of a burst (node-facts.ts), rather than one read per clone; a source changed since
 * that read only makes the config predicted from it wrong, which the clone's first read shows.
 */
async function readSource<O extends GuestObject>(ctx: GuestContext<O>, connection: Connection, api: GuestApi, source: number): Promise<CloneSource> {
  const snapshot = ctx.spec.source?.clone?.snapshot;
  try {
    return await connection.facts.find(`inherited:${api.node}:${api.type}:${source}@${snapshot ?? ''}`, () => readCloneSource(api, source, snapshot), () => true, inheritanceMaxAgeMs);
  } catch (err) {
    if (!isProxmoxError(err, 'Forbidden')) throw err;
    await ctx.setup.events.warning(ctx.current, 'InheritanceUnknown', 'clone', `cannot read the description of VMID ${source}, so the steps this clone inherits are not recorded: ${(err as Error).message}`);
    return { inherited: [] };
  }
}
