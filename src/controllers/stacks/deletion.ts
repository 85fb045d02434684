/** What deleting the object does to its stack: per deletionPolicy, and only to a stack that carries this object's marker. */

import type { ReconcileResult } from '../../runtime/controller.ts';
import { hasFinalizer, removeFinalizer } from '../../runtime/finalizers.ts';
import { TerminalError } from '../../runtime/errors.ts';
import { phoenixFinalizer, phoenixStacks } from '../../api/objects.ts';
import { isPortainerError } from '../../clients/portainer/errors.ts';
import type { PortainerStack } from '../../clients/portainer/client.ts';
import { ownershipOf } from '../../stacks/desired.ts';
import type { PortainerConnection } from './portainer-connections.ts';
import type { StackContext } from './stack-context.ts';
import { stackHypervisor } from './portainer-target.ts';

export async function deleteStack(ctx: StackContext): Promise<ReconcileResult | void> {
  if (!hasFinalizer(ctx.current, phoenixFinalizer)) return;
  const done = async (reason: string, note: string) => {
    await ctx.setup.events.normal(ctx.current, reason, 'Delete', note);
    await removeFinalizer(ctx.setup.client, phoenixStacks, ctx.current, phoenixFinalizer);
  };
  if (ctx.mode === 'Observe') return done('Released', 'Observe mode: the stack is left as it is');
  const id = ctx.status.stackId;
  const environmentId = ctx.status.environmentId;
  if (id === undefined || environmentId === undefined) return done('Deleted', 'no stack was ever deployed');
  // An adopted stack was there before Phoenix: by default it stays when the object goes.
  if ((ctx.spec.deletionPolicy ?? (ctx.status.adopted ? 'Retain' : 'Delete')) === 'Retain') {
    // The marker stays: removing it would be an update, which redeploys the stack. A new
    // PhoenixStack has another UID, so to it the retained stack is foreign.
    return done('Retained', `stack ${id} keeps running in Portainer; Phoenix no longer manages it`);
  }
  const { hv } = stackHypervisor(ctx);
  let connection: PortainerConnection | undefined;
  try {
    connection = hv ? ctx.deps.portainer.connect(hv, ctx.shared.secretCache, ctx.setup.redactor) : undefined;
  } catch (err) {
    // The key Secret is gone: reported below, like a missing hypervisor. A host the controller
    // may not contact (EndpointNotAllowed) is said as such, not as unreachable.
    if (!(err instanceof TerminalError && (err.reason === 'SecretNotFound' || err.reason === 'SecretKeyNotFound'))) throw err;
    connection = undefined;
  }
  if (!connection) {
    await ctx.progress('WaitingForPortainer', `cannot reach the Portainer of the VM's hypervisor to delete stack ${id}; the finalizer stays until it can (remove it by hand to abandon the stack)`);
    return { requeueAfter: 10_000 };
  }
  let stack: PortainerStack;
  try {
    stack = await connection.client.stack(id);
  } catch (err) {
    if (isPortainerError(err, 'NotFound')) return done('Deleted', `stack ${id} is gone`);
    throw err;
  }
  if (ownershipOf(stack.Env, ctx.current.metadata.uid ?? '') !== 'ours') {
    return done('LeftAlone', `stack ${id} does not carry this object's marker; Phoenix did not touch it`);
  }
  try {
    await connection.client.deleteStack(id, environmentId);
  } catch (err) {
    if (!isPortainerError(err, 'NotFound')) throw ctx.deployFailure('delete', err);
  }
  return done('Deleted', `deleted stack ${id} (compose down) from environment ${environmentId}`);
}
