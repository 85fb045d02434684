/**
 * What deleting the object does to its guest: per deletionPolicy, only to a guest that is
 * provably Phoenix's, found wherever it lives now, and never released while a create whose
 * answer was lost might still bring one into existence.
 */

import type { ReconcileResult } from '../../runtime/controller.ts';
import { TerminalError } from '../../runtime/errors.ts';
import { hasFinalizer, removeFinalizer } from '../../runtime/finalizers.ts';
import { phoenixFinalizer } from '../../api/objects.ts';
import { isProxmoxError } from '../../clients/proxmox/errors.ts';
import { readMarker, stripMarker } from '../../guests/marker.ts';
import { isReady } from '../dependencies.ts';
import type { GuestContext } from './guest-context.ts';
import type { GuestObject } from './adapter.ts';
import { annotatedVmid, assertNamespaceAllowed, locate } from './identity.ts';
import { awaitingLostCreate } from './creation.ts';

export async function deleteGuest<O extends GuestObject>(ctx: GuestContext<O>): Promise<ReconcileResult | void> {
  if (!hasFinalizer(ctx.current, phoenixFinalizer)) return;
  const done = async (reason: string, note: string) => {
    await ctx.setup.events.normal(ctx.current, reason, 'Delete', note);
    ctx.deps.allocator.release(ctx.key);
    ctx.deps.capacity.release(ctx.key);
    await removeFinalizer(ctx.setup.client, ctx.adapter.resource, ctx.current, phoenixFinalizer);
  };
  if (ctx.mode === 'Observe') return done('Released', 'Observe mode: the guest is left as it is');
  const name = ctx.spec.hypervisorRef.name;
  const hv = ctx.shared.lookup({ kind: 'PhoenixHypervisor', name });
  // A namespace the hypervisor does not allow makes no Proxmox call, not even to delete: the
  // finalizer stays (see the message) rather than leaving a marked guest behind.
  try {
    assertNamespaceAllowed(ctx, hv);
  } catch (err) {
    if (err instanceof TerminalError) throw new TerminalError(err.reason, `${err.message}. The guest is not deleted while this lasts; allow the namespace again, or remove the finalizer ${phoenixFinalizer} to abandon the guest`, { recheckAfterMs: 60_000 });
    throw err;
  }
  const connection = ctx.deps.connections.get(name);
  if (!connection || connection.version === undefined || !hv || !isReady(hv)) {
    await ctx.hold('WaitingForHypervisor', `cannot reach PhoenixHypervisor ${name} to delete the guest; the finalizer stays until it can (remove it by hand to abandon the guest)`);
    return { requeueAfter: 10_000 };
  }
  const polling = await ctx.pollTask(connection);
  if (polling) return polling;
  // A destroy (or the stop before it) that failed waits out its backoff like any other task.
  const backoff = ctx.retryWaitMs();
  if (backoff > 0) return { requeueAfter: backoff };
  let vmid = ctx.status.vmid ?? annotatedVmid(ctx.current, name) ?? ctx.spec.vmid ?? ctx.spec.adopt?.vmid;
  if (vmid === undefined && ctx.spec.source) {
    // No record of a guest (status lost): look for one carrying this object's marker.
    vmid = (await connection.markers.find(ctx.pve(connection), await connection.resources.all(Date.now()), ctx.key, ctx.adapter.type))[0];
  }
  if (vmid === undefined) return done('Deleted', 'no guest was ever created');
  const { api, config, unread } = await locate(ctx, connection, vmid);
  if (unread) {
    await ctx.hold('GuestUnreadable', `the cluster lists guest ${vmid} on node ${api.node}, but its config could not be read yet; reading it again before deleting it`);
    return { requeueAfter: 1_000 };
  }
  if (!config) {
    const waiting = awaitingLostCreate(ctx, connection, vmid);
    if (waiting > 0) {
      await ctx.progress('CreateOutcomeUnknown', `the answer to the create of VMID ${vmid} was lost; waiting up to ${Math.ceil(waiting / 1000)} s for the guest it may bring, so none is left behind`);
      return { requeueAfter: Math.min(2_000, waiting) };
    }
    connection.markers.forget(vmid);
    return done('Deleted', `guest ${vmid} is gone`);
  }
  if (config.lock) {
    await ctx.progress('GuestLocked', `waiting for lock ${config.lock} on guest ${vmid} before deleting it`);
    return { requeueAfter: 2_000 };
  }
  const marker = readMarker(String(config.description ?? ''));
  // The marker names this object: by UID, or by name for an earlier incarnation whose status was lost.
  if (!marker || (marker.uid !== ctx.current.metadata.uid && marker.ref !== ctx.key)) {
    return done('LeftAlone', `guest ${vmid} does not carry this object's marker; Phoenix did not touch it`);
  }
  const policy = ctx.spec.deletionPolicy ?? (ctx.spec.adopt || ctx.status.adopted ? 'Retain' : 'Delete');
  if (policy === 'Retain') {
    const text = stripMarker(String(config.description ?? '')).trimEnd();
    await api.updateConfig(text ? { description: text } : {}, text ? [] : ['description'], config.digest);
    connection.markers.note(vmid, api.node, api.type, undefined);
    return done('Retained', `guest ${vmid} keeps running; Phoenix's marker was removed`);
  }
  if (String(config.protection ?? '0') === '1') {
    await ctx.write({ phase: 'stalled', reason: 'ProtectionEnabled', message: `guest ${vmid} has Proxmox protection set, which blocks deletion; turn it off in Proxmox (or set spec.protection: false before deleting) to let Phoenix delete it` });
    return { requeueAfter: 60_000 };
  }
  const state = await api.currentStatus();
  if (state.status === 'running') return ctx.powerTask(api, 'stop', () => api.stop(), `stopping guest ${vmid} before destroying it`, { node: api.node });
  let upid: string;
  try {
    upid = await api.destroy();
  } catch (err) {
    if (isProxmoxError(err, 'NotFound')) return done('Deleted', `guest ${vmid} is gone`);
    if (isProxmoxError(err, 'Locked')) return ctx.waitForLock(`guest ${vmid} is locked by another task; deletion waits: ${err.message}`);
    throw err;
  }
  await ctx.setup.events.normal(ctx.current, 'Deleting', 'Delete', `destroying guest ${vmid} with its disks`);
  return ctx.trackTask(api, upid, 'destroy', `destroying guest ${vmid}`, { fields: { vmid, node: api.node, creation: undefined } });
}
