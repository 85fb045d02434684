/** What deleting the object does to its guest: per deletionPolicy, and only to a guest that is provably Phoenix's. */

import type { ReconcileResult } from '../../runtime/controller.ts';
import { hasFinalizer, removeFinalizer } from '../../runtime/finalizers.ts';
import { phoenixFinalizer } from '../../api/objects.ts';
import { isProxmoxError } from '../../clients/proxmox/errors.ts';
import { ownershipOf, stripMarker } from '../../guests/marker.ts';
import { GuestApi } from './guest-api.ts';
import type { GuestContext } from './guest-context.ts';
import type { GuestObject } from './adapter.ts';

export async function deleteGuest<O extends GuestObject>(ctx: GuestContext<O>): Promise<ReconcileResult | void> {
  if (!hasFinalizer(ctx.current, phoenixFinalizer)) return;
  const done = async (reason: string, note: string) => {
    await ctx.setup.events.normal(ctx.current, reason, 'Delete', note);
    ctx.deps.allocator.release(ctx.key);
    ctx.deps.capacity.release(ctx.key);
    await removeFinalizer(ctx.setup.client, ctx.adapter.resource, ctx.current, phoenixFinalizer);
  };
  if (ctx.mode === 'Observe') return done('Released', 'Observe mode: the guest is left as it is');
  const vmid = ctx.status.vmid;
  if (vmid === undefined) return done('Deleted', 'no guest was ever created');
  const connection = ctx.deps.connections.get(ctx.spec.hypervisorRef.name);
  if (!connection) {
    await ctx.progress('WaitingForHypervisor', `cannot reach PhoenixHypervisor ${ctx.spec.hypervisorRef.name} to delete guest ${vmid}; the finalizer stays until it can (remove it by hand to abandon the guest)`);
    return { requeueAfter: 10_000 };
  }
  const polling = await ctx.pollTask(connection);
  if (polling) return polling;
  const api = new GuestApi(connection.client, ctx.status.node ?? ctx.spec.node, ctx.adapter.type, vmid);
  const config = await api.config();
  if (!config) return done('Deleted', `guest ${vmid} is gone`);
  if (config.lock) {
    await ctx.progress('GuestLocked', `waiting for lock ${config.lock} on guest ${vmid} before deleting it`);
    return { requeueAfter: 2_000 };
  }
  if (ownershipOf(config.description, ctx.current.metadata.uid ?? '') !== 'ours') {
    return done('LeftAlone', `guest ${vmid} does not carry this object's marker; Phoenix did not touch it`);
  }
  const policy = ctx.spec.deletionPolicy ?? (ctx.status.adopted ? 'Retain' : 'Delete');
  if (policy === 'Retain') {
    const text = stripMarker(String(config.description ?? '')).trimEnd();
    await api.updateConfig(text ? { description: text } : {}, text ? [] : ['description'], config.digest);
    return done('Retained', `guest ${vmid} keeps running; Phoenix's marker was removed`);
  }
  if (String(config.protection ?? '0') === '1') {
    await ctx.write({ phase: 'stalled', reason: 'ProtectionEnabled', message: `guest ${vmid} has Proxmox protection set, which blocks deletion; turn it off in Proxmox (or set spec.protection: false before deleting) to let Phoenix delete it` });
    return { requeueAfter: 60_000 };
  }
  const state = await api.currentStatus();
  if (state.status === 'running') return ctx.powerTask(api, 'stop', () => api.stop(), `stopping guest ${vmid} before destroying it`);
  let upid: string;
  try {
    upid = await api.destroy();
  } catch (err) {
    if (isProxmoxError(err, 'NotFound')) return done('Deleted', `guest ${vmid} is gone`);
    throw err;
  }
  await ctx.setup.events.normal(ctx.current, 'Deleting', 'Delete', `destroying guest ${vmid} with its disks`);
  return ctx.trackTask(api, upid, 'destroy', `destroying guest ${vmid}`);
}
