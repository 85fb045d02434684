import type { ReconcileResult, Reconciler } from '../../runtime/controller.ts';
import { type ControllerDefinition, type ControllerSetup, defineController } from '../../runtime/manager.ts';
import { RetryableError, TerminalError } from '../../runtime/errors.ts';
import { isBeingDeleted } from '../../runtime/finalizers.ts';
import { type KubeObject, secrets as secretsResource } from '../../runtime/resource.ts';
import { keyOf, refOf } from '../../runtime/object-key.ts';
import { type PhoenixHypervisor, phoenixHypervisors, phoenixLxcs, type PhoenixStack, phoenixStacks, phoenixVms } from '../../api/objects.ts';
import { isAlreadyInState, isPortainerError } from '../../clients/portainer/errors.ts';
import type { PortainerStack } from '../../clients/portainer/client.ts';
import { type DesiredStack, ownershipOf } from '../../stacks/desired.ts';
import { describeDiff, diffStack, observedState, planStack, servicesHealth, type StackDiff } from '../../stacks/plan.ts';
import type { SecretObject } from '../secrets.ts';
import { IdenticalWrites, maxIdenticalWrites } from '../identical-writes.ts';
import { dependencyCaches, dependentsOf, indexDependencies } from '../dependencies.ts';
import { configMaps } from '../configmaps.ts';
import { type ConfigMapObject, type SharedState, StackContext, type StackControllerDeps, type Target } from './stack-context.ts';
import { adopt, adoptTarget } from './adoption.ts';
import { createStack } from './creation.ts';
import { observeOnly } from './observe-only.ts';
import { deleteStack } from './deletion.ts';
import { desiredFromSpec } from './desired-stack.ts';
import { portainerConnection, portainerTarget, vmHypervisorName } from './portainer-target.ts';

export { configMaps } from '../configmaps.ts';

/** While services start or recover, readiness is checked this often rather than once a cycle. */
const unsettledCheckMs = 2_000;

/**
 * PhoenixStack: a Docker Compose stack deployed through the hypervisor's Portainer onto the
 * environment of a PhoenixVM. A reconcile makes at most one change in Portainer (create,
 * update, start, stop or delete; each is synchronous there) and then observes again.
 */
export function stackController(deps: StackControllerDeps): ControllerDefinition<PhoenixStack> {
  return defineController<PhoenixStack>({
    kind: 'PhoenixStack',
    resource: phoenixStacks,
    setup(setup: ControllerSetup<PhoenixStack>): Reconciler<PhoenixStack> {
      const { lookup } = dependencyCaches((resource) => setup.cache<KubeObject>(resource));
      const stacks = () => setup.primary.list();
      const hypervisorOf = (stack: PhoenixStack) => vmHypervisorName(stack, lookup);

      indexDependencies(setup.primary);
      for (const resource of [phoenixVms, phoenixLxcs, phoenixStacks]) {
        setup.watchReadiness<KubeObject>(resource, (dep) => dependentsOf(setup.primary, dep).map(refOf));
      }
      // The hypervisor becoming Ready (or not), or its spec changing (Portainer added or moved);
      // not its routine status writes, which would cost every stack three Portainer reads each.
      setup.watchReadiness<PhoenixHypervisor>(phoenixHypervisors, (hv) => stacks().filter((s) => hypervisorOf(s) === hv.metadata.name).map(refOf), { specChanges: true });
      setup.watchMapped<SecretObject>(secretsResource, (secret) =>
        stacks().filter((s) => {
          if (s.metadata.namespace === secret.metadata.namespace && (s.spec.env ?? []).some((e) => e.valueFrom?.secretKeyRef?.name === secret.metadata.name)) return true;
          if (s.metadata.namespace === secret.metadata.namespace && s.spec.compose.git?.credentialsSecretRef?.name === secret.metadata.name) return true;
          const ref = (lookup({ kind: 'PhoenixHypervisor', name: hypervisorOf(s) }) as PhoenixHypervisor | undefined)?.spec.portainer?.apiKeySecretRef;
          return ref !== undefined && ref.namespace === secret.metadata.namespace && ref.name === secret.metadata.name;
        }).map(refOf));
      setup.watchMapped<ConfigMapObject>(configMaps, (cm) =>
        stacks().filter((s) => s.metadata.namespace === cm.metadata.namespace && (s.spec.compose.configMapRef?.name === cm.metadata.name || (s.spec.env ?? []).some((e) => e.valueFrom?.configMapKeyRef?.name === cm.metadata.name))).map(refOf));
      const shared: SharedState = {
        lookup,
        secretCache: setup.cache<SecretObject>(secretsResource),
        configMapCache: setup.cache<ConfigMapObject>(configMaps),
        identicalWrites: new IdenticalWrites(),
        environments: new Map(),
      };

      return {
        async reconcile({ object, request }): Promise<ReconcileResult | void> {
          if (!object) {
            shared.environments.delete(keyOf(request));
            return;
          }
          const run = new StackReconcile(deps, setup, object, shared);
          try {
            return await run.reconcile();
          } catch (err) {
            if (isPortainerError(err, 'Unauthorized')) throw new RetryableError('PortainerUnauthorized', 'Portainer refused the API key (revoked or wrong?); fix the key Secret the PhoenixHypervisor names', { cause: err });
            if (isPortainerError(err, 'Forbidden')) throw new RetryableError('InsufficientPrivileges', `the Portainer API key's user may not do this: ${err.message}`, { cause: err });
            if (isPortainerError(err, 'Unavailable')) throw new RetryableError('PortainerUnavailable', err.message, { cause: err });
            throw err;
          } finally {
            if (run.converged) shared.identicalWrites.settle(run.key);
          }
        },
      };
    },
  });
}

/** The order of a stack's lifecycle steps; each step is a module taking this reconcile as its context. */
class StackReconcile extends StackContext {
  async reconcile(): Promise<ReconcileResult | void> {
    if (isBeingDeleted(this.current)) return deleteStack(this);
    if (!(await this.admitted(this.deps.validator, this.shared.lookup))) return;
    const connection = await portainerConnection(this);
    if (!('client' in connection)) return connection;
    const desired = desiredFromSpec(this);
    const target = await portainerTarget(this, connection);
    if (this.mode === 'Observe') return observeOnly(this, target, desired);
    const adoptId = this.status.adopted ? undefined : this.spec.adopt?.stackId;
    const stack = adoptId !== undefined ? await adoptTarget(target, desired.name, adoptId) : await this.findStack(target, desired.name);
    if (!stack) {
      if (this.spec.adopt && !this.status.adopted) {
        throw new RetryableError('AdoptionTargetNotFound', `nothing to adopt: environment ${target.environmentId} has no stack ${this.spec.adopt.stackId !== undefined ? `with id ${this.spec.adopt.stackId} named ${desired.name}` : `named ${desired.name}`}`);
      }
      return createStack(this, target, desired);
    }
    const ownership = ownershipOf(stack.Env, this.current.metadata.uid ?? '');
    if (ownership !== 'ours') {
      if (!this.spec.adopt) throw new TerminalError('NotOwned', `environment ${target.environmentId} already has a stack named ${desired.name} (id ${stack.Id}) that ${ownership === 'foreign' ? 'another Phoenix object created' : 'Phoenix did not create'}, so Phoenix will not change it. Choose another spec.stackName, remove that stack in Portainer, adopt it with spec.adopt, or watch it with managementPolicy: Observe`);
      const adoption = await adopt(this, target, desired, stack, ownership);
      if (adoption !== 'reported') return adoption;
    }
    return this.converge(target, desired, stack);
  }

  /**
   * Everything deployed for this generation and content, so a difference found now was made
   * outside Phoenix (a Secret or spec change changes the hash or the generation instead).
   */
  private convergedBefore(stack: PortainerStack, desired: DesiredStack): boolean {
    const s = this.status;
    return s.stackId === stack.Id && s.contentHash === desired.contentHash && s.observedGeneration === this.current.metadata.generation && s.state === desired.state;
  }

  private async converge(target: Target, given: DesiredStack, stack: PortainerStack): Promise<ReconcileResult> {
    const observed = await this.observe(target, stack, given);
    const desired = this.adoptionDesired(given, observed);
    const diff = diffStack(desired, observed);
    const step = planStack(diff, desired.state);
    const commit = observed.git?.commit;
    const base = { stackId: stack.Id, environmentId: target.environmentId, ...(commit ? { gitCommit: commit } : { gitCommit: undefined }) };
    if (step.action === 'refuse') {
      throw new TerminalError('GitSourceChanged', `stack ${stack.Id}: ${step.reason}, which Portainer cannot change on an existing stack; delete the stack in Portainer (or use a new spec.stackName) to deploy it again`);
    }
    if (commit && this.status.gitCommit && commit !== this.status.gitCommit && this.status.stackId === stack.Id) {
      // Portainer's auto-update pulled a new commit on the ref (Phoenix's own redeploys record theirs before observing again).
      await this.setup.events.normal(this.current, 'GitCommitDeployed', 'Update', `Portainer deployed commit ${commit} of ${desired.git?.ref ?? 'the ref'} (was ${this.status.gitCommit})`);
    }
    if (step.action !== 'none') {
      this.guardPerpetualDiff(diff);
      const drift = this.convergedBefore(stack, desired);
      const words = describeDiff(diff);
      try {
        if (step.action === 'start') await target.client.startStack(stack.Id, target.environmentId);
        else if (step.action === 'stop') await target.client.stopStack(stack.Id, target.environmentId);
        else if (step.action === 'redeploy') {
          const after = await target.client.redeployGitStack(stack.Id, target.environmentId, this.gitSource(desired), { env: desired.env, prune: desired.prune, pullImage: desired.pullImage });
          if (after.GitConfig?.ConfigHash) base.gitCommit = after.GitConfig.ConfigHash;
        } else if (step.action === 'settings') await target.client.updateGitSettings(stack.Id, target.environmentId, this.gitSource(desired), { env: desired.env, prune: desired.prune });
        else await target.client.updateStack(stack.Id, target.environmentId, { stackFileContent: desired.compose, env: desired.env, prune: desired.prune, pullImage: desired.pullImage });
      } catch (err) {
        if (!isAlreadyInState(err)) throw this.deployFailure(step.action, err);
      }
      this.shared.identicalWrites.accepted(this.key, diff);
      const fields: Record<string, unknown> = { ...base, state: step.action === 'stop' ? 'Stopped' : 'Running' };
      if (step.action === 'update' || step.action === 'redeploy' || step.action === 'settings') fields['contentHash'] = desired.contentHash;
      if (drift) {
        fields['drift'] = await this.reportCorrectedDrift(this.deps.driftCorrections, this.driftRecords(diff, true), driftOptions(diff), `changed outside Phoenix and set back (${step.action}): ${words.join('; ')}`);
        await this.progress('DriftCorrected', `set back: ${words.join('; ')}`, fields);
      } else {
        const why = this.status.contentHash !== undefined && this.status.contentHash !== desired.contentHash && this.status.observedGeneration === this.current.metadata.generation ? ' (a referenced Secret or ConfigMap changed)' : '';
        await this.setup.events.normal(this.current, stepReason(step.action), 'Update', `${step.action} of stack ${stack.Id}${why}: ${words.join('; ')}`);
        await this.progress(stepReason(step.action), `${step.action} of stack ${stack.Id} done; checking its services`, fields);
      }
      return { requeueAfter: 100 };
    }
    const health = desired.state === 'Running' ? servicesHealth(desired.services, observed.containers) : { services: [], ready: true, problems: [] };
    const fields = {
      ...base,
      state: observedState(observed.status),
      // A stopped stack keeps the hash of what it ran last: the new content is not deployed yet.
      contentHash: step.deferred ? this.status.contentHash : desired.contentHash,
      services: health.services.length ? health.services : undefined,
    };
    if (!health.ready) {
      await this.progress('ServicesNotReady', `stack ${stack.Id}: ${health.problems.join(', ')}`, fields);
      return { requeueAfter: Math.min(unsettledCheckMs, this.nextCycle()) };
    }
    this.converged = true;
    const what = desired.state === 'Running'
      ? `stack ${stack.Id} on environment ${target.environmentId}: ${health.services.length} service${health.services.length === 1 ? '' : 's'} running`
      : `stack ${stack.Id} on environment ${target.environmentId} is stopped${step.deferred ? `; ${step.deferred}` : ''}`;
    await this.write({ phase: 'ready', reason: desired.state === 'Running' ? 'Converged' : 'Stopped', message: what, fields });
    return { requeueAfter: this.nextCycle() };
  }

  /**
   * Refuses to write the same difference again and again: that is a bug, not drift. Only
   * writes Portainer accepted count; the stack is looked at again at its next observation, so
   * it is Ready as soon as Portainer holds the spec.
   */
  private guardPerpetualDiff(diff: StackDiff): void {
    if (this.shared.identicalWrites.exhausted(this.key, diff)) {
      throw new TerminalError('PerpetualDiff', `Portainer still differs from the spec after ${maxIdenticalWrites} identical writes it accepted (${describeDiff(diff).join('; ')}); Phoenix stopped writing`, { recheckAfterMs: this.nextCycle() });
    }
  }
}

function stepReason(action: 'start' | 'stop' | 'update' | 'redeploy' | 'settings'): string {
  return action === 'start' ? 'Started' : action === 'stop' ? 'Stopped' : action === 'redeploy' ? 'Redeployed' : action === 'settings' ? 'GitSettingsUpdated' : 'Updated';
}

function driftOptions(diff: StackDiff): string[] {
  return [...(diff.file ? ['compose'] : []), ...(diff.env.length ? ['env'] : []), ...(diff.state ? ['state'] : []), ...(diff.missing.length ? ['services'] : []), ...(diff.git?.length ? ['git'] : [])];
}

