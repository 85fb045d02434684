/** Deploying a stack that does not exist in Portainer. */

import type { ReconcileResult } from '../../runtime/controller.ts';
import { RetryableError } from '../../runtime/errors.ts';
import { isPortainerError } from '../../clients/portainer/errors.ts';
import type { PortainerStack } from '../../clients/portainer/client.ts';
import type { DesiredStack } from '../../stacks/desired.ts';
import { observedState } from '../../stacks/plan.ts';
import type { StackContext, Target } from './stack-context.ts';

export async function createStack(ctx: StackContext, target: Target, desired: DesiredStack): Promise<ReconcileResult> {
  if (desired.state === 'Stopped' && ctx.status.stackId === undefined) {
    // Creating deploys; a stack declared Stopped is created (and run) only once it should run.
    await ctx.write({ phase: 'ready', reason: 'Stopped', message: `stack ${desired.name} is declared Stopped and does not exist; nothing to deploy`, fields: { environmentId: target.environmentId, state: 'Stopped', services: undefined } });
    ctx.converged = true;
    return { requeueAfter: ctx.nextCycle() };
  }
  if (ctx.status.stackId !== undefined) {
    await ctx.setup.events.warning(ctx.current, 'StackMissing', 'Create', `stack ${ctx.status.stackId} (${desired.name}) is gone from Portainer; deploying it again`);
  }
  await ctx.progress('Deploying', `deploying stack ${desired.name} on environment ${target.environmentId} (compose up, image pulls included)`, { environmentId: target.environmentId });
  let stack: PortainerStack;
  try {
    stack = desired.git
      ? await target.client.createGitStack(target.environmentId, desired.name, ctx.gitSource(desired), desired.env)
      : await target.client.createStack(target.environmentId, desired.name, { stackFileContent: desired.compose, env: desired.env });
  } catch (err) {
    if (isPortainerError(err, 'Conflict')) {
      // A stack created meanwhile is found by name next time; containers of that compose
      // project outside Portainer keep answering 409 until someone removes them.
      throw new RetryableError('NameConflict', `Portainer refused to create ${desired.name}: ${err.detail}. If containers of compose project ${desired.name} run on that host outside Portainer, remove them or choose another spec.stackName`);
    }
    throw ctx.deployFailure('create', err);
  }
  await ctx.setup.events.normal(ctx.current, 'Created', 'Create', `deployed stack ${desired.name} as Portainer stack ${stack.Id} on environment ${target.environmentId}`);
  await ctx.progress('Deployed', `stack ${stack.Id} deployed${stack.GitConfig?.ConfigHash ? ` at commit ${stack.GitConfig.ConfigHash}` : ''}; checking its services`, {
    stackId: stack.Id, environmentId: target.environmentId, contentHash: desired.contentHash, state: observedState(stack.Status),
    ...(stack.GitConfig?.ConfigHash ? { gitCommit: stack.GitConfig.ConfigHash } : {}),
  });
  return { requeueAfter: 100 };
}
