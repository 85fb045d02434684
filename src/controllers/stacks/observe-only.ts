/** managementPolicy: Observe, which reads and reports a stack and never writes to Portainer, not even on delete. */

import type { ReconcileResult } from '../../runtime/controller.ts';
import type { DesiredStack } from '../../stacks/desired.ts';
import { describeDiff, diffStack, observedState, servicesHealth } from '../../stacks/plan.ts';
import type { StackContext, Target } from './stack-context.ts';

/** Observe mode: find the stack by name and report; never a write to Portainer. */
export async function observeOnly(ctx: StackContext, target: Target, desired: DesiredStack): Promise<ReconcileResult> {
  // By its recorded id when there is one: one read instead of listing every stack each cycle.
  const stack = await ctx.findStack(target, desired.name);
  if (!stack) {
    await ctx.write({ phase: 'ready', reason: 'StackNotFound', message: `observing: no stack ${desired.name} on environment ${target.environmentId}`, fields: { environmentId: target.environmentId, stackId: undefined, state: 'Unknown', services: undefined } });
    return { requeueAfter: ctx.nextCycle() };
  }
  const observed = await ctx.observe(target, stack, desired);
  const want = desired.git ? ctx.gitDesired(desired, observed.file) : desired;
  const diff = diffStack(want, observed);
  const health = servicesHealth(want.state === 'Running' ? want.services : [], observed.containers);
  const drift = ctx.driftRecords(diff, false);
  ctx.converged = true;
  const differences = describeDiff(diff);
  await ctx.write({
    phase: 'ready',
    reason: 'Observed',
    message: `observing stack ${stack.Id} (no changes made): ${differences.length ? differences.join('; ') : 'no differences from the spec'}${health.problems.length ? `; ${health.problems.join(', ')}` : ''}`,
    fields: {
      stackId: stack.Id,
      environmentId: target.environmentId,
      state: observedState(stack.Status),
      services: health.services.length ? health.services : undefined,
      drift: drift.length ? drift : undefined,
    },
  });
  return { requeueAfter: ctx.nextCycle() };
}
