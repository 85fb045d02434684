/**
 * Whether a guest is this object's to change. The marker in the guest's description names the
 * owning object (UID and `Kind namespace/name`). Phoenix acts on its own guests only; it never
 * takes a guest whose marker names another object unless told to and that object is gone.
 */

import type { ReconcileResult } from '../../runtime/controller.ts';
import { TerminalError, isNotFound } from '../../runtime/errors.ts';
import type { KubeObject } from '../../runtime/resource.ts';
import { phoenixLxcs, phoenixVms } from '../../api/objects.ts';
import { describeWithMarker, readMarker, stripMarker, type Owner } from '../../guests/marker.ts';
import type { Connection } from '../hypervisor/connections.ts';
import type { GuestApi, GuestConfig } from './guest-api.ts';
import type { GuestContext } from './guest-context.ts';
import type { GuestObject } from './adapter.ts';
import { adopt } from './adoption.ts';
import { vmidTaken } from './creation.ts';

/** Phoenix acts only on guests whose marker names this object. */
export async function checkOwnership<O extends GuestObject>(ctx: GuestContext<O>, connection: Connection, api: GuestApi, config: GuestConfig): Promise<'ours' | ReconcileResult> {
  const marker = readMarker(String(config.description ?? ''));
  if (marker?.uid === ctx.current.metadata.uid) return 'ours';
  if (marker && marker.ref === ctx.key) return rebind(ctx, connection, api, config, marker);
  if (marker) {
    if (ctx.spec.adopt?.takeOver) {
      const owner = await ownerState(ctx, marker);
      if (owner === 'gone') {
        await ctx.setup.events.warning(ctx.current, 'TakingOver', 'Adopt', `guest ${api.vmid} carries the marker of ${marker.ref} (uid ${marker.uid}), which no longer exists; adopting it (spec.adopt.takeOver)`);
        return adopt(ctx, connection, api, config);
      }
      throw new TerminalError('OwnedByAnother', `guest ${api.vmid} belongs to ${marker.ref} (uid ${marker.uid}), which ${owner === 'exists' ? 'still exists' : 'Phoenix cannot look up'}; spec.adopt.takeOver takes a guest only from an owner that no longer exists`, { recheckAfterMs: ctx.nextCycle() });
    }
    throw new TerminalError(
      'OwnedByAnother',
      `guest ${api.vmid} belongs to ${marker.ref} (uid ${marker.uid}), so Phoenix will not change it for this object. If that object is gone for good, adopt the guest with spec.adopt.vmid: ${api.vmid} and spec.adopt.takeOver: true`,
      { recheckAfterMs: ctx.nextCycle() },
    );
  }
  if (ctx.spec.adopt) return adopt(ctx, connection, api, config);
  // A VMID Phoenix picked itself, taken by a creator outside Phoenix before this object's guest existed.
  if (ctx.spec.vmid === undefined && ctx.status.configDigest === undefined) return vmidTaken(ctx, api.vmid);
  throw new TerminalError('NotOwned', `VMID ${api.vmid} holds a guest Phoenix did not create (it has no Phoenix marker), so Phoenix will not change it. To manage it, set spec.adopt.vmid: ${api.vmid}`, { recheckAfterMs: ctx.nextCycle() });
}

/**
 * The marker names this very object (same kind, namespace and name) under an earlier UID: the
 * object was re-applied on a fresh cluster, or restored without status. Names are unique, so
 * that earlier object is gone; the guest is bound to this one. An adopted guest goes through
 * adoption again (its differences are reported before anything changes).
 */
async function rebind<O extends GuestObject>(ctx: GuestContext<O>, connection: Connection, api: GuestApi, config: GuestConfig, marker: Owner): Promise<ReconcileResult> {
  await ctx.setup.events.warning(ctx.current, 'Rebound', 'Identity', `guest ${api.vmid} carries the marker of an earlier ${marker.ref} (uid ${marker.uid}); binding it to this object`);
  if (ctx.spec.adopt) return adopt(ctx, connection, api, config);
  const owner = ctx.identity.owner;
  await api.updateConfig({ description: describeWithMarker(stripMarker(String(config.description ?? '')), owner) }, [], config.digest);
  connection.markers.note(api.vmid, api.node, api.type, owner);
  await ctx.progress('Rebound', `guest ${api.vmid} is bound to this object again`, { vmid: api.vmid, node: api.node });
  return { requeueAfter: 100 };
}

/** Whether the object a marker names still exists: looked up by its name, compared by UID. */
async function ownerState<O extends GuestObject>(ctx: GuestContext<O>, marker: Owner): Promise<'exists' | 'gone' | 'unknown'> {
  const match = /^(PhoenixLXC|PhoenixVM) ([^/\s]+)\/(\S+)$/.exec(marker.ref);
  if (!match) return 'unknown';
  const resource = match[1] === 'PhoenixLXC' ? phoenixLxcs : phoenixVms;
  try {
    const owner = await ctx.setup.client.get<KubeObject>(resource, match[3]!, match[2]!);
    return owner.metadata.uid === marker.uid ? 'exists' : 'gone';
  } catch (err) {
    return isNotFound(err) ? 'gone' : 'unknown';
  }
}
