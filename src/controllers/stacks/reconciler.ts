import type { Counter } from 'prom-client';
import type { Reconciler, ReconcileResult } from '../../runtime/controller.ts';
import type { ControllerDefinition, ControllerSetup } from '../../runtime/manager.ts';
import { defineController } from '../../runtime/manager.ts';
import { RetryableError, TerminalError } from '../../runtime/errors.ts';
import { ensureFinalizer, hasFinalizer, isBeingDeleted, removeFinalizer } from '../../runtime/finalizers.ts';
import { secrets as secretsResource, type KubeObject, type ResourceType } from '../../runtime/resource.ts';
import type { Informer } from '../../runtime/informer.ts';
import type { StatusUpdate } from '../../runtime/status-writer.ts';
import { refOf } from '../../runtime/object-key.ts';
import { phoenixFinalizer, phoenixHypervisors, phoenixLxcs, phoenixStacks, phoenixVms, type PhoenixHypervisor, type PhoenixStack, type PhoenixVM } from '../../api/objects.ts';
import type { SpecValidator } from '../../api/validation.ts';
import { isAlreadyInState, isPortainerError } from '../../clients/portainer/errors.ts';
import type { GitSource, PortainerClient, PortainerStack } from '../../clients/portainer/client.ts';
import { adoptedEnv, ComposeInvalidError, desiredStack, ownerEnvName, ownershipOf, resolveEnv, withGitFile, type DesiredStack } from '../../stacks/desired.ts';
import { describeDiff, diffStack, observedState, planStack, servicesHealth, type ObservedStack, type StackDiff } from '../../stacks/plan.ts';
import { secretKeys, secretText, type SecretObject } from '../secrets.ts';
import { stampDrift, withDriftHistory, type DriftRecord } from '../drift-records.ts';
import { IdenticalWrites, maxIdenticalWrites } from '../identical-writes.ts';
import { dependenciesOf, dependencyGate, isReady, type DependencyRef } from '../dependencies.ts';
import { minObservePeriodMs, untilNextCycle } from '../observe-cycle.ts';
import { describeFailure, type PortainerConnection, type PortainerConnections } from './portainer-connections.ts';

export const configMaps: ResourceType = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true };

interface ConfigMapObject extends KubeObject {
  data?: Record<string, string>;
}

export interface StackControllerDeps {
  readonly portainer: PortainerConnections;
  readonly validator: SpecValidator;
  /** The controller's --observe-period: how often a stack is read to detect drift. */
  readonly observePeriodMs: number;
  readonly driftCorrections: Counter<'kind' | 'option'>;
}


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
      const hypervisors = setup.cache<PhoenixHypervisor>(phoenixHypervisors);
      const caches: Record<DependencyRef['kind'], Informer<KubeObject>> = {
        PhoenixHypervisor: hypervisors as unknown as Informer<KubeObject>,
        PhoenixLXC: setup.cache<KubeObject>(phoenixLxcs),
        PhoenixVM: setup.cache<KubeObject>(phoenixVms),
        PhoenixStack: setup.primary as unknown as Informer<KubeObject>,
      };
      const lookup = (ref: DependencyRef) => caches[ref.kind].get(ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name);
      const stacks = () => setup.primary.list();
      const hypervisorOf = (stack: PhoenixStack) => (caches.PhoenixVM.get(`${stack.metadata.namespace}/${stack.spec.vmRef.name}`) as PhoenixVM | undefined)?.spec.hypervisorRef.name;

      for (const resource of [phoenixVms, phoenixLxcs, phoenixStacks]) {
        setup.watchReadiness<KubeObject>(resource, (dep) =>
          stacks().filter((s) => dependenciesOf(s).some((r) => r.kind === dep.kind && r.name === dep.metadata.name && r.namespace === dep.metadata.namespace)).map(refOf));
      }
      // Any change of the hypervisor: Portainer added to its spec, its version first recorded.
      setup.watchMapped<PhoenixHypervisor>(phoenixHypervisors, (hv) => stacks().filter((s) => hypervisorOf(s) === hv.metadata.name).map(refOf));
      setup.watchMapped<SecretObject>(secretsResource, (secret) =>
        stacks().filter((s) => {
          if (s.metadata.namespace === secret.metadata.namespace && (s.spec.env ?? []).some((e) => e.valueFrom?.secretKeyRef?.name === secret.metadata.name)) return true;
          if (s.metadata.namespace === secret.metadata.namespace && s.spec.compose.git?.credentialsSecretRef?.name === secret.metadata.name) return true;
          const ref = hypervisors.get(hypervisorOf(s) ?? '')?.spec.portainer?.apiKeySecretRef;
          return ref !== undefined && ref.namespace === secret.metadata.namespace && ref.name === secret.metadata.name;
        }).map(refOf));
      setup.watchMapped<ConfigMapObject>(configMaps, (cm) =>
        stacks().filter((s) => s.metadata.namespace === cm.metadata.namespace && (s.spec.compose.configMapRef?.name === cm.metadata.name || (s.spec.env ?? []).some((e) => e.valueFrom?.configMapKeyRef?.name === cm.metadata.name))).map(refOf));
      const shared: Shared = {
        lookup,
        secretCache: setup.cache<SecretObject>(secretsResource),
        configMapCache: setup.cache<ConfigMapObject>(configMaps),
        identicalWrites: new IdenticalWrites(),
      };

      return {
        async reconcile({ object }): Promise<ReconcileResult | void> {
          if (!object) return;
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

interface Shared {
  readonly lookup: (ref: DependencyRef) => KubeObject | undefined;
  readonly secretCache: Informer<SecretObject>;
  readonly configMapCache: Informer<ConfigMapObject>;
  readonly identicalWrites: IdenticalWrites;
}

interface Target {
  readonly connection: PortainerConnection;
  readonly client: PortainerClient;
  readonly environmentId: number;
}

/** One reconcile of one stack; holds the latest copy of the object as status writes return it. */
class StackReconcile {
  readonly key: string;
  converged = false;
  private current: PhoenixStack;
  private readonly deps: StackControllerDeps;
  private readonly setup: ControllerSetup<PhoenixStack>;
  private readonly shared: Shared;

  constructor(deps: StackControllerDeps, setup: ControllerSetup<PhoenixStack>, object: PhoenixStack, shared: Shared) {
    this.deps = deps;
    this.setup = setup;
    this.current = object;
    this.shared = shared;
    this.key = `PhoenixStack ${object.metadata.namespace}/${object.metadata.name}`;
  }

  private get spec() {
    return this.current.spec;
  }

  private get status() {
    return this.current.status ?? {};
  }

  private get namespace(): string {
    return this.current.metadata.namespace ?? '';
  }

  private get mode(): 'Manage' | 'Observe' {
    return this.spec.managementPolicy ?? 'Manage';
  }

  private async write(update: StatusUpdate): Promise<void> {
    const result = await this.setup.status.update(phoenixStacks, this.current, update);
    this.current = result.object;
  }

  private async progress(reason: string, message: string, fields?: Record<string, unknown>): Promise<void> {
    await this.write({ phase: 'reconciling', reason, message, ...(fields ? { fields } : {}) });
  }

  private nextCycle(): number {
    return untilNextCycle(Date.now(), Math.max(minObservePeriodMs, this.deps.observePeriodMs));
  }

  async reconcile(): Promise<ReconcileResult | void> {
    if (isBeingDeleted(this.current)) return this.delete();
    if (this.mode === 'Manage' && !hasFinalizer(this.current, phoenixFinalizer)) {
      this.current = await ensureFinalizer(this.setup.client, phoenixStacks, this.current, phoenixFinalizer);
    }
    const invalid = this.deps.validator.validate('PhoenixStack', this.spec);
    if (invalid.length) throw new TerminalError('InvalidSpec', invalid.map((e) => `${e.field}: ${e.message}`).join('; '));
    const self: DependencyRef = { kind: 'PhoenixStack', name: this.current.metadata.name, namespace: this.namespace };
    const gate = dependencyGate(self, this.current, this.shared.lookup);
    if (gate.cycle) throw new TerminalError('DependencyCycle', gate.cycle);
    if (gate.waiting.length) {
      await this.progress('WaitingForDependencies', `waiting for ${gate.waiting.join(', ')}`);
      return;
    }
    const connection = await this.connection();
    if (!('client' in connection)) return connection;
    const desired = this.desired();
    const target = await this.target(connection);
    if (this.mode === 'Observe') return this.observeOnly(target, desired);
    const adoptId = this.status.adopted ? undefined : this.spec.adopt?.stackId;
    const stack = adoptId !== undefined ? await this.adoptTarget(target, desired.name, adoptId) : await this.findStack(target, desired.name);
    if (!stack) {
      if (this.spec.adopt && !this.status.adopted) {
        throw new RetryableError('AdoptionTargetNotFound', `nothing to adopt: environment ${target.environmentId} has no stack ${this.spec.adopt.stackId !== undefined ? `with id ${this.spec.adopt.stackId} named ${desired.name}` : `named ${desired.name}`}`);
      }
      return this.create(target, desired);
    }
    const ownership = ownershipOf(stack.Env, this.current.metadata.uid ?? '');
    if (ownership !== 'ours') {
      if (this.spec.adopt) return this.adopt(target, desired, stack, ownership);
      throw new TerminalError('NotOwned', `environment ${target.environmentId} already has a stack named ${desired.name} (id ${stack.Id}) that ${ownership === 'foreign' ? 'another Phoenix object created' : 'Phoenix did not create'}, so Phoenix will not change it. Choose another spec.stackName, remove that stack in Portainer, adopt it with spec.adopt, or watch it with managementPolicy: Observe`);
    }
    return this.converge(target, desired, stack);
  }

  /**
   * A stack Phoenix did not create: the first time, report what converging would change and
   * change nothing; once that report is in status, converge (which writes the marker).
   */
  private async adopt(target: Target, desired: DesiredStack, stack: PortainerStack, ownership: 'unmarked' | 'foreign'): Promise<ReconcileResult> {
    if (ownership === 'foreign') {
      const owner = (stack.Env ?? []).find((e) => e.name === ownerEnvName)?.value;
      const alive = this.setup.primary.list().find((o) => o.metadata.uid === owner);
      if (alive) throw new TerminalError('NotOwned', `stack ${stack.Id} (${desired.name}) belongs to PhoenixStack ${alive.metadata.namespace}/${alive.metadata.name}; it cannot be adopted while that object exists`);
    }
    if (desired.git && !stack.GitConfig) {
      throw new TerminalError('GitSourceMismatch', `stack ${stack.Id} (${desired.name}) was not deployed from git, and Portainer cannot attach a repository to an existing stack; adopt it with compose.inline or compose.configMapRef`);
    }
    if (this.status.adopted && this.status.stackId === stack.Id) return this.converge(target, desired, stack);
    const observed = await this.observe(target, stack, desired);
    const want = this.adoptionDesired(desired, observed);
    const diff = diffStack(want, observed);
    // The marker is what adopting writes; it is not a difference to report.
    const words = describeDiff({ ...diff, env: diff.env.filter((n) => n !== ownerEnvName) });
    const plan = planStack(diff, want.state);
    if (plan.action === 'refuse') throw new TerminalError('GitSourceMismatch', `stack ${stack.Id} cannot be adopted as declared: ${plan.reason}`);
    const detaches = !desired.git && stack.GitConfig ? ['the stack is deployed from git; the spec\'s file replaces it (Portainer then detaches it from the repository)'] : [];
    const report = [...detaches, ...words];
    const drift = this.driftRecords({ ...diff, env: diff.env.filter((n) => n !== ownerEnvName) }, false);
    await this.setup.events.normal(this.current, 'AdoptionPlanned', 'Adopt', `found stack ${stack.Id} (${desired.name}) on environment ${target.environmentId}; converging will ${report.length ? `change: ${report.join('; ')}` : 'only add the ownership marker'} (env variables the spec does not name stay)`);
    await this.progress('Adopting', `found stack ${stack.Id}; ${report.length} difference${report.length === 1 ? '' : 's'} from the spec will be converged on the next reconcile${report.length ? `: ${report.join('; ')}` : ''}`, {
      adopted: true, stackId: stack.Id, environmentId: target.environmentId, state: observedState(stack.Status), drift: drift.length ? drift : undefined,
      ...(stack.GitConfig?.ConfigHash ? { gitCommit: stack.GitConfig.ConfigHash } : {}),
    });
    return { requeueAfter: 100 };
  }

  /** What an adopted stack converges to: its env keeps variables the spec does not name; a git stack expects the services of its file. */
  private adoptionDesired(desired: DesiredStack, observed: ObservedStack): DesiredStack {
    let want = desired;
    if (desired.git) want = this.gitDesired(desired, observed.file);
    if (this.spec.adopt || this.status.adopted) want = { ...want, env: adoptedEnv(want.env, observed.env) };
    return want;
  }

  private gitDesired(desired: DesiredStack, file: string): DesiredStack {
    try {
      return withGitFile(desired, file);
    } catch (err) {
      if (err instanceof ComposeInvalidError) throw new RetryableError('InvalidCompose', `the compose file ${desired.git!.path} Portainer deployed from ${desired.git!.url}: ${err.message}`);
      throw err;
    }
  }

  /** The repository credentials from credentialsSecretRef: `password` or `token`, and `username` (default `git`). */
  private gitSource(desired: DesiredStack): GitSource {
    const git = desired.git!;
    const ref = this.spec.compose.git?.credentialsSecretRef;
    let credentials: GitSource['credentials'];
    if (ref) {
      const read = secretKeys(this.shared.secretCache, this.namespace, ref.name, '(compose.git.credentialsSecretRef)');
      const password = read('password') ?? read('token');
      if (password === undefined) throw new TerminalError('SecretKeyNotFound', `Secret ${this.namespace}/${ref.name} has neither a "password" nor a "token" key`);
      // Portainer may quote them back in an error; the redactor keeps them out of status, events and logs.
      this.setup.redactor.addSecret(password);
      credentials = { username: read('username') ?? 'git', password };
    }
    return { url: git.url, ref: git.ref, composeFile: git.path, ...(credentials ? { credentials } : {}), ...(git.autoUpdateInterval ? { autoUpdateInterval: git.autoUpdateInterval } : {}) };
  }

  /** The VM's hypervisor and its Portainer, or a status saying what the stack waits for. */
  private async connection(): Promise<PortainerConnection | ReconcileResult> {
    const vm = this.shared.lookup({ kind: 'PhoenixVM', name: this.spec.vmRef.name, namespace: this.namespace }) as PhoenixVM | undefined;
    const name = vm?.spec.hypervisorRef.name ?? '';
    const hv = this.shared.lookup({ kind: 'PhoenixHypervisor', name }) as PhoenixHypervisor | undefined;
    if (!hv || !isReady(hv)) {
      await this.progress('WaitingForHypervisor', !hv ? `PhoenixHypervisor ${name} does not exist` : `PhoenixHypervisor ${name} is not Ready`);
      return { requeueAfter: 30_000 };
    }
    if (!hv.spec.portainer) throw new TerminalError('NoPortainer', `PhoenixHypervisor ${name} has no spec.portainer: stacks are deployed through the Portainer it names`);
    if (!this.deps.portainer.allows(hv.spec.portainer.url)) {
      throw new TerminalError('EndpointNotAllowed', `this controller may not connect to ${new URL(hv.spec.portainer.url).hostname} (restricted by --allowed-proxmox-hosts)`);
    }
    const connection = this.deps.portainer.connect(hv, this.shared.secretCache, this.setup.redactor)!;
    if (connection.version === undefined) {
      try {
        await this.deps.portainer.check(connection);
      } catch (err) {
        const message = `waiting for Portainer of PhoenixHypervisor ${name}: ${describeFailure(err, connection.url)}`;
        if (isPortainerError(err, 'Unavailable', 'Unauthorized', 'Forbidden', 'ServerError')) throw new RetryableError('WaitingForPortainer', message, { cause: err });
        throw err;
      }
    }
    return connection;
  }

  private configMapText(name: string, key: string): string {
    const cm = this.shared.configMapCache.get(`${this.namespace}/${name}`);
    if (!cm) throw new TerminalError('ConfigMapNotFound', `ConfigMap ${this.namespace}/${name} does not exist`);
    const value = cm.data?.[key];
    if (value === undefined) throw new TerminalError('ConfigMapKeyNotFound', `ConfigMap ${this.namespace}/${name} has no key "${key}"`);
    return value;
  }

  private desired(): DesiredStack {
    const source = this.spec.compose;
    const compose = source.git ? '' : (source.inline ?? this.configMapText(source.configMapRef!.name, source.configMapRef!.key ?? 'docker-compose.yml'));
    let resolved;
    try {
      resolved = resolveEnv(
        this.spec.env,
        (kind, name, key) => (kind === 'Secret' ? secretText(this.shared.secretCache, this.namespace, name, key) : this.configMapText(name, key)),
        (name) => this.shared.secretCache.get(`${this.namespace}/${name}`)?.metadata.resourceVersion,
      );
    } catch (err) {
      if (err instanceof TerminalError) throw err;
      throw new TerminalError('InvalidSpec', (err as Error).message);
    }
    // Values from Secrets may end up in a Portainer error text (compose quoting them): never in status or events.
    for (const value of resolved.secretValues) this.setup.redactor.addSecret(value);
    try {
      return desiredStack({
        stackName: this.spec.stackName ?? this.current.metadata.name,
        compose,
        ...(source.git ? { git: { url: source.git.url, ref: source.git.ref ?? 'refs/heads/main', path: source.git.path ?? 'docker-compose.yml', autoUpdateInterval: source.git.autoUpdateInterval ?? '5m' } } : {}),
        env: resolved.env,
        hashEnv: resolved.hashEnv,
        ...(this.spec.state ? { state: this.spec.state } : {}),
        ...(this.spec.prune !== undefined ? { prune: this.spec.prune } : {}),
        ...(this.spec.pullImage !== undefined ? { pullImage: this.spec.pullImage } : {}),
        ...(this.mode === 'Manage' ? { ownerUid: this.current.metadata.uid ?? '' } : {}),
      });
    } catch (err) {
      if (err instanceof ComposeInvalidError) throw new TerminalError('InvalidCompose', err.message);
      throw err;
    }
  }

  /** The Portainer environment: by id, by name, or named after the VM. */
  private async target(connection: PortainerConnection): Promise<Target> {
    const client = connection.client;
    const wanted = this.spec.environment;
    // Resolved once per generation: in steady state the stack reads name nothing more.
    const recorded = this.status.environmentId;
    if (recorded !== undefined && this.status.observedGeneration === this.current.metadata.generation && (wanted?.id === undefined || wanted.id === recorded)) {
      return { connection, client, environmentId: recorded };
    }
    if (wanted?.id !== undefined) {
      try {
        await client.environment(wanted.id);
      } catch (err) {
        if (isPortainerError(err, 'NotFound')) throw new RetryableError('EnvironmentNotFound', `Portainer has no environment ${wanted.id}`);
        throw err;
      }
      return { connection, client, environmentId: wanted.id };
    }
    const name = wanted?.name ?? this.spec.vmRef.name;
    const found = await client.environmentsNamed(name);
    if (found.length !== 1) {
      // Retried with backoff: adding the environment to Portainer is done outside Kubernetes.
      throw new RetryableError(found.length ? 'EnvironmentAmbiguous' : 'EnvironmentNotFound', found.length
        ? `${found.length} Portainer environments are named ${name} (ids ${found.map((e) => e.Id).join(', ')}); name one by spec.environment.id`
        : `Portainer has no environment named ${name}${wanted?.name ? '' : ' (the default: the VM\'s name)'}; add the VM's agent to Portainer under that name, or set spec.environment`);
    }
    return { connection, client, environmentId: found[0]!.Id };
  }

  /** The stack spec.adopt.stackId names, which must be this stack's name on this environment. */
  private async adoptTarget(target: Target, name: string, id: number): Promise<PortainerStack | undefined> {
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

  /** The stack of that name on the environment: by the recorded id first, else by listing. */
  private async findStack(target: Target, name: string): Promise<PortainerStack | undefined> {
    const id = this.status.stackId;
    if (id !== undefined && this.status.environmentId === target.environmentId) {
      try {
        const stack = await target.client.stack(id);
        if (stack.EndpointId === target.environmentId && stack.Name === name) return stack;
      } catch (err) {
        if (!isPortainerError(err, 'NotFound')) throw err;
      }
    }
    const list = await target.client.stacks(target.environmentId);
    return list.find((s) => s.Name === name && s.EndpointId === target.environmentId);
  }

  private async create(target: Target, desired: DesiredStack): Promise<ReconcileResult> {
    if (desired.state === 'Stopped' && this.status.stackId === undefined) {
      // Creating deploys; a stack declared Stopped is created (and run) only once it should run.
      await this.write({ phase: 'ready', reason: 'Stopped', message: `stack ${desired.name} is declared Stopped and does not exist; nothing to deploy`, fields: { environmentId: target.environmentId, state: 'Stopped', services: undefined } });
      this.converged = true;
      return { requeueAfter: this.nextCycle() };
    }
    if (this.status.stackId !== undefined) {
      await this.setup.events.warning(this.current, 'StackMissing', 'Create', `stack ${this.status.stackId} (${desired.name}) is gone from Portainer; deploying it again`);
    }
    await this.progress('Deploying', `deploying stack ${desired.name} on environment ${target.environmentId} (compose up, image pulls included)`, { environmentId: target.environmentId });
    let stack: PortainerStack;
    try {
      stack = desired.git
        ? await target.client.createGitStack(target.environmentId, desired.name, this.gitSource(desired), desired.env)
        : await target.client.createStack(target.environmentId, desired.name, { stackFileContent: desired.compose, env: desired.env });
    } catch (err) {
      if (isPortainerError(err, 'Conflict')) {
        // A stack created meanwhile is found by name next time; containers of that compose
        // project outside Portainer keep answering 409 until someone removes them.
        throw new RetryableError('NameConflict', `Portainer refused to create ${desired.name}: ${err.detail}. If containers of compose project ${desired.name} run on that host outside Portainer, remove them or choose another spec.stackName`);
      }
      throw this.deployFailure('create', err);
    }
    await this.setup.events.normal(this.current, 'Created', 'Create', `deployed stack ${desired.name} as Portainer stack ${stack.Id} on environment ${target.environmentId}`);
    await this.progress('Deployed', `stack ${stack.Id} deployed${stack.GitConfig?.ConfigHash ? ` at commit ${stack.GitConfig.ConfigHash}` : ''}; checking its services`, {
      stackId: stack.Id, environmentId: target.environmentId, contentHash: desired.contentHash, state: observedState(stack.Status),
      ...(stack.GitConfig?.ConfigHash ? { gitCommit: stack.GitConfig.ConfigHash } : {}),
    });
    return { requeueAfter: 100 };
  }

  private deployFailure(operation: string, err: unknown): Error {
    if (this.spec.compose.git && isPortainerError(err, 'ServerError')) {
      const url = this.spec.compose.git.url;
      if (/invalid git credential|authentication/i.test(err.detail)) {
        const ref = this.spec.compose.git.credentialsSecretRef;
        return new RetryableError('GitCredentialsRejected', `Portainer could not read ${url}: the repository refused the credentials${ref ? ` from Secret ${this.namespace}/${ref.name}` : ' (none are set: add compose.git.credentialsSecretRef)'}`, { cause: err });
      }
      if (/clone|fetch git|repository could not be found|reference not found/i.test(err.detail)) {
        return new RetryableError('GitCloneFailed', `Portainer could not ${operation} the stack from ${url} (${this.spec.compose.git.ref ?? 'refs/heads/main'}): ${err.detail}`, { cause: err });
      }
    }
    if (isPortainerError(err, 'ServerError', 'Invalid')) {
      // compose's own words: a bad file, a pull refused, a port in use.
      return new RetryableError('DeployFailed', `Portainer could not ${operation} the stack: ${err.detail}`, { cause: err });
    }
    return err as Error;
  }

  private async observe(target: Target, stack: PortainerStack, desired: DesiredStack): Promise<ObservedStack> {
    const [file, containers] = await Promise.all([
      target.client.stackFile(stack.Id),
      target.client.projectContainers(target.environmentId, desired.name),
    ]);
    const git = stack.GitConfig;
    return {
      status: stack.Status,
      env: stack.Env,
      file,
      git: git ? { url: git.URL, ref: git.ReferenceName, path: git.ConfigFilePath, commit: git.ConfigHash } : null,
      autoUpdateInterval: stack.AutoUpdate?.Interval ?? '',
      containers: containers.map((c) => ({ service: c.Labels?.['com.docker.compose.service'], state: c.State, status: c.Status, image: c.Image })),
    };
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
      const fields: Record<string, unknown> = { ...base, state: step.action === 'stop' ? 'Stopped' : 'Running' };
      if (step.action === 'update' || step.action === 'redeploy' || step.action === 'settings') fields['contentHash'] = desired.contentHash;
      if (drift) {
        for (const option of driftOptions(diff)) this.deps.driftCorrections.inc({ kind: 'PhoenixStack', option });
        await this.setup.events.warning(this.current, 'DriftCorrected', 'Update', `changed outside Phoenix and set back (${step.action}): ${words.join('; ')}`);
        fields['drift'] = this.driftRecords(diff, true);
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

  /** Refuses to write the same difference again and again: that is a bug, not drift. */
  private guardPerpetualDiff(diff: StackDiff): void {
    if (this.shared.identicalWrites.tooMany(this.key, diff)) {
      throw new TerminalError('PerpetualDiff', `Portainer still differs from the spec after ${maxIdenticalWrites} identical writes (${describeDiff(diff).join('; ')}); Phoenix stopped writing`);
    }
  }

  private driftRecords(diff: StackDiff, corrected: boolean): DriftRecord[] {
    const previous = this.status.drift ?? [];
    const records: Omit<DriftRecord, 'time'>[] = [];
    if (diff.file) records.push({ field: 'compose', observed: 'edited in Portainer', desired: 'the spec\'s compose file', corrected });
    for (const name of diff.env) records.push({ field: `env.${name}`, observed: '(differs)', desired: '(spec)', corrected });
    if (diff.state) records.push({ field: 'state', observed: diff.state.observed, desired: diff.state.desired, corrected });
    for (const name of diff.missing) records.push({ field: `services.${name}`, observed: 'no container', desired: 'running', corrected });
    for (const g of diff.git ?? []) records.push({ field: `git.${g}`, observed: g === 'detached' ? 'not from git' : '(differs)', desired: '(spec)', corrected });
    const fresh = stampDrift(records, previous);
    return corrected ? withDriftHistory(fresh, previous) : fresh;
  }

  /** Observe mode: find the stack by name and report; never a write to Portainer. */
  private async observeOnly(target: Target, desired: DesiredStack): Promise<ReconcileResult> {
    // By its recorded id when there is one: one read instead of listing every stack each cycle.
    const stack = await this.findStack(target, desired.name);
    if (!stack) {
      await this.write({ phase: 'ready', reason: 'StackNotFound', message: `observing: no stack ${desired.name} on environment ${target.environmentId}`, fields: { environmentId: target.environmentId, stackId: undefined, state: 'Unknown', services: undefined } });
      return { requeueAfter: this.nextCycle() };
    }
    const observed = await this.observe(target, stack, desired);
    const want = desired.git ? this.gitDesired(desired, observed.file) : desired;
    const diff = diffStack(want, observed);
    const health = servicesHealth(want.state === 'Running' ? want.services : [], observed.containers);
    const drift = this.driftRecords(diff, false);
    this.converged = true;
    const differences = describeDiff(diff);
    await this.write({
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
    return { requeueAfter: this.nextCycle() };
  }

  private async delete(): Promise<ReconcileResult | void> {
    if (!hasFinalizer(this.current, phoenixFinalizer)) return;
    const done = async (reason: string, note: string) => {
      await this.setup.events.normal(this.current, reason, 'Delete', note);
      await removeFinalizer(this.setup.client, phoenixStacks, this.current, phoenixFinalizer);
    };
    if (this.mode === 'Observe') return done('Released', 'Observe mode: the stack is left as it is');
    const id = this.status.stackId;
    const environmentId = this.status.environmentId;
    if (id === undefined || environmentId === undefined) return done('Deleted', 'no stack was ever deployed');
    // An adopted stack was there before Phoenix: by default it stays when the object goes.
    if ((this.spec.deletionPolicy ?? (this.status.adopted ? 'Retain' : 'Delete')) === 'Retain') {
      // The marker stays: removing it would be an update, which redeploys the stack. A new
      // PhoenixStack has another UID, so to it the retained stack is foreign.
      return done('Retained', `stack ${id} keeps running in Portainer; Phoenix no longer manages it`);
    }
    const vm = this.shared.lookup({ kind: 'PhoenixVM', name: this.spec.vmRef.name, namespace: this.namespace }) as PhoenixVM | undefined;
    const hv = this.shared.lookup({ kind: 'PhoenixHypervisor', name: vm?.spec.hypervisorRef.name ?? '' }) as PhoenixHypervisor | undefined;
    let connection: PortainerConnection | undefined;
    try {
      connection = hv ? this.deps.portainer.connect(hv, this.shared.secretCache, this.setup.redactor) : undefined;
    } catch {
      connection = undefined; // the key Secret is gone: reported below, like a missing hypervisor
    }
    if (!connection) {
      await this.progress('WaitingForPortainer', `cannot reach the Portainer of the VM's hypervisor to delete stack ${id}; the finalizer stays until it can (remove it by hand to abandon the stack)`);
      return { requeueAfter: 10_000 };
    }
    let stack: PortainerStack;
    try {
      stack = await connection.client.stack(id);
    } catch (err) {
      if (isPortainerError(err, 'NotFound')) return done('Deleted', `stack ${id} is gone`);
      throw err;
    }
    if (ownershipOf(stack.Env, this.current.metadata.uid ?? '') !== 'ours') {
      return done('LeftAlone', `stack ${id} does not carry this object's marker; Phoenix did not touch it`);
    }
    try {
      await connection.client.deleteStack(id, environmentId);
    } catch (err) {
      if (!isPortainerError(err, 'NotFound')) throw this.deployFailure('delete', err);
    }
    return done('Deleted', `deleted stack ${id} (compose down) from environment ${environmentId}`);
  }
}

function stepReason(action: 'start' | 'stop' | 'update' | 'redeploy' | 'settings'): string {
  return action === 'start' ? 'Started' : action === 'stop' ? 'Stopped' : action === 'redeploy' ? 'Redeployed' : action === 'settings' ? 'GitSettingsUpdated' : 'Updated';
}

function driftOptions(diff: StackDiff): string[] {
  return [...(diff.file ? ['compose'] : []), ...(diff.env.length ? ['env'] : []), ...(diff.state ? ['state'] : []), ...(diff.missing.length ? ['services'] : []), ...(diff.git?.length ? ['git'] : [])];
}

