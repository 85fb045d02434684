/** Where a stack goes: the Portainer of its VM's hypervisor, and the environment there. */

import type { ReconcileResult } from '../../runtime/controller.ts';
import { RetryableError, TerminalError } from '../../runtime/errors.ts';
import type { PhoenixHypervisor, PhoenixStack, PhoenixVM } from '../../api/objects.ts';
import type { ReconcileShared } from '../reconcile-context.ts';
import { objectKey } from '../../runtime/object-key.ts';
import { isPortainerError } from '../../clients/portainer/errors.ts';
import type { PortainerClient } from '../../clients/portainer/client.ts';
import { isReady } from '../dependencies.ts';
import { describeFailure, type PortainerConnection } from './portainer-connections.ts';
import type { StackContext, Target } from './stack-context.ts';

/** The name of the hypervisor of the stack's VM; '' while the VM is not in the cache. */
export function vmHypervisorName(stack: PhoenixStack, lookup: ReconcileShared['lookup']): string {
  const vm = lookup({ kind: 'PhoenixVM', name: stack.spec.vmRef.name, namespace: stack.metadata.namespace }) as PhoenixVM | undefined;
  return vm?.spec.hypervisorRef.name ?? '';
}

/** The hypervisor of the stack's VM, by name, and its object when the cache has it. */
export function stackHypervisor(ctx: StackContext): { name: string; hv: PhoenixHypervisor | undefined } {
  const name = vmHypervisorName(ctx.current, ctx.shared.lookup);
  return { name, hv: ctx.shared.lookup({ kind: 'PhoenixHypervisor', name }) as PhoenixHypervisor | undefined };
}

/** The VM's hypervisor and its Portainer, or a status saying what the stack waits for. */
export async function portainerConnection(ctx: StackContext): Promise<PortainerConnection | ReconcileResult> {
  const { name, hv } = stackHypervisor(ctx);
  if (!hv || !isReady(hv)) {
    // The hypervisor's trouble, not the stack's: a deployed stack stays Ready meanwhile (Synced says why).
    await ctx.hold('WaitingForHypervisor', !hv ? `PhoenixHypervisor ${name} does not exist` : `PhoenixHypervisor ${name} is not Ready`);
    return { requeueAfter: 30_000 };
  }
  if (!hv.spec.portainer) throw new TerminalError('NoPortainer', `PhoenixHypervisor ${name} has no spec.portainer: stacks are deployed through the Portainer it names`);
  const connection = ctx.deps.portainer.connect(hv, ctx.shared.secretCache, ctx.setup.redactor)!;
  if (connection.version === undefined) {
    try {
      await ctx.deps.portainer.check(connection);
    } catch (err) {
      const message = `waiting for Portainer of PhoenixHypervisor ${name}: ${describeFailure(err, connection.url)}`;
      if (isPortainerError(err, 'Unavailable', 'Unauthorized', 'Forbidden', 'ServerError')) throw new RetryableError('WaitingForPortainer', message, { cause: err });
      throw err;
    }
  }
  return connection;
}

/** The Portainer environment: by id, by name, or named after the VM. */
export async function portainerTarget(ctx: StackContext, connection: PortainerConnection): Promise<Target> {
  const client = connection.client;
  const wanted = ctx.spec.environment;
  // Keyed on what it is resolved from, not on observedGeneration: any status write stamps that,
  // including one made before a changed spec.environment was ever resolved.
  const inputs = JSON.stringify([connection.url, wanted ?? null, ctx.spec.vmRef.name]);
  const key = objectKey(ctx.current);
  const known = ctx.shared.environments.get(key);
  if (known?.inputs === inputs) return { client, environmentId: known.id };
  const environmentId = await resolveEnvironment(ctx, client, wanted);
  ctx.shared.environments.set(key, { inputs, id: environmentId });
  return { client, environmentId };
}

async function resolveEnvironment(ctx: StackContext, client: PortainerClient, wanted: StackContext['spec']['environment']): Promise<number> {
  if (wanted?.id !== undefined) {
    try {
      await client.environment(wanted.id);
    } catch (err) {
      if (isPortainerError(err, 'NotFound')) throw new RetryableError('EnvironmentNotFound', `Portainer has no environment ${wanted.id}`);
      throw err;
    }
    return wanted.id;
  }
  const name = wanted?.name ?? ctx.spec.vmRef.name;
  const found = await client.environmentsNamed(name);
  if (found.length !== 1) {
    // Retried with backoff: adding the environment to Portainer is done outside Kubernetes.
    throw new RetryableError(found.length ? 'EnvironmentAmbiguous' : 'EnvironmentNotFound', found.length
      ? `${found.length} Portainer environments are named ${name} (ids ${found.map((e) => e.Id).join(', ')}); name one by spec.environment.id`
      : `Portainer has no environment named ${name}${wanted?.name ? '' : ' (the default: the VM\'s name)'}; add the VM's agent to Portainer under that name, or set spec.environment`);
  }
  return found[0]!.Id;
}
