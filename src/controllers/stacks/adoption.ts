/** Adopting a stack Phoenix did not create: report what converging would change first, then converge. */

import type { ReconcileResult } from '../../runtime/controller.ts';
import { TerminalError } from '../../runtime/errors.ts';
import { isPortainerError } from '../../clients/portainer/errors.ts';
import type { PortainerStack } from '../../clients/portainer/client.ts';
import { type DesiredStack, ownerEnvName } from '../../stacks/desired.ts';
import { describeDiff, diffStack, observedState, planStack } from '../../stacks/plan.ts';
import type { StackContext, Target } from './stack-context.ts';

/**
 * A stack Phoenix did not create: the first time, report what converging would change and
 * change nothing; once that report is in status, `reported` tells the caller to converge
 * (which writes the marker).
 */
export async function adopt(ctx: StackContext, target: Target, desired: DesiredStack, stack: PortainerStack, ownership: 'unmarked' | 'foreign'): Promise<ReconcileResult | 'reported'> {
  if (ownership === 'foreign') {
    const owner = (stack.Env ?? []).find((e) => e.name === ownerEnvName)?.value;
    const alive = ctx.setup.primary.list().find((o) => o.metadata.uid === owner);
    if (alive) throw new TerminalError('NotOwned', `stack ${stack.Id} (${desired.name}) belongs to PhoenixStack ${alive.metadata.namespace}/${alive.metadata.name}; it cannot be adopted while that object exists`);
  }
  if (desired.git && !stack.GitConfig) {
    throw new TerminalError('GitSourceMismatch', `stack ${stack.Id} (${desired.name}) was not deployed from git, and Portainer cannot attach a repository to an existing stack; adopt it with compose.inline or compose.configMapRef`);
  }
  if (ctx.status.adopted && ctx.status.stackId === stack.Id) return 'reported';
  const observed = await ctx.observe(target, stack, desired);
  const want = ctx.adoptionDesired(desired, observed);
  const diff = diffStack(want, observed);
  // The marker is what adopting writes; it is not a difference to report.
  const reportable = { ...diff, env: diff.env.filter((n) => n !== ownerEnvName) };
  const words = describeDiff(reportable);
  const plan = planStack(diff, want.state);
  if (plan.action === 'refuse') throw new TerminalError('GitSourceMismatch', `stack ${stack.Id} cannot be adopted as declared: ${plan.reason}`);
  const detaches = !desired.git && stack.GitConfig ? ['the stack is deployed from git; the spec\'s file replaces it (Portainer then detaches it from the repository)'] : [];
  const report = [...detaches, ...words];
  const drift = ctx.driftRecords(reportable, false);
  await ctx.setup.events.normal(ctx.current, 'AdoptionPlanned', 'Adopt', `found stack ${stack.Id} (${desired.name}) on environment ${target.environmentId}; converging will ${report.length ? `change: ${report.join('; ')}` : 'only add the ownership marker'} (env variables the spec does not name stay)`);
  await ctx.progress('Adopting', `found stack ${stack.Id}; ${report.length} difference${report.length === 1 ? '' : 's'} from the spec will be converged on the next reconcile${report.length ? `: ${report.join('; ')}` : ''}`, {
    adopted: true, stackId: stack.Id, environmentId: target.environmentId, state: observedState(stack.Status), drift: drift.length ? drift : undefined,
    ...(stack.GitConfig?.ConfigHash ? { gitCommit: stack.GitConfig.ConfigHash } : {}),
  });
  return { requeueAfter: 100 };
}

/** The stack spec.adopt.stackId names, which must be this stack's name on this environment. */
export async function adoptTarget(target: Target, name: string, id: number): Promise<PortainerStack | undefined> {
  let stack: PortainerStack;
  try {
    stack = await target.client.stack(id);
  } catch (err) {
    if (isPortainerError(err, 'NotFound')) return undefined;
    throw err;
  }
  if (stack.EndpointId !== target.environmentId || stack.Name !== name) {
    throw new TerminalError('AdoptionMismatch', `stack ${id} is ${stack.Name} on environment ${stack.EndpointId}, not ${name} on environment ${target.environmentId}; set spec.stackName (or spec.environment) to match it`);
  }
  return stack;
}
