import type { ControllerSetup } from '../../runtime/manager.ts';
import { RetryableError, TerminalError } from '../../runtime/errors.ts';
import type { Informer } from '../../runtime/informer.ts';
import { type PhoenixStack, phoenixStacks } from '../../api/objects.ts';
import type { GitSource, PortainerClient, PortainerStack } from '../../clients/portainer/client.ts';
import { isPortainerError } from '../../clients/portainer/errors.ts';
import type { ObservedStack, StackDiff } from '../../stacks/plan.ts';
import { adoptedEnv, ComposeInvalidError, type DesiredStack, withGitFile } from '../../stacks/desired.ts';
import { ReconcileContext, type ReconcileDeps, type ReconcileShared } from '../reconcile-context.ts';
import { minObservePeriodMs } from '../observe-cycle.ts';
import { secretKeys } from '../secrets.ts';
import { type DriftRecord, stampDrift } from '../drift-records.ts';
import type { PortainerConnections } from './portainer-connections.ts';
import type { ConfigMapObject } from '../configmaps.ts';

export type { ConfigMapObject } from '../configmaps.ts';

export interface StackControllerDeps extends ReconcileDeps {
  readonly portainer: PortainerConnections;
}

export interface SharedState extends ReconcileShared {
  readonly configMapCache: Informer<ConfigMapObject>;
  /**
   * The environment each stack resolved (by key), with what it was resolved from: in steady
   * state a stack reads no environment list, and any change of those inputs resolves it again.
   */
  readonly environments: Map<string, { readonly inputs: string; readonly id: number }>;
}

/** The Portainer environment a stack is deployed on, and the client that reaches it. */
export interface Target {
  readonly client: PortainerClient;
  readonly environmentId: number;
}

/**
 * One reconcile of one stack: the latest copy of the object (as status writes return it) and
 * what every step uses, namely status progress, the git source with its credentials, reading
 * the stack back from Portainer, and drift records. The steps (creation, adoption, Observe
 * mode, deletion, ...) live in their own modules and take this context.
 */
export class StackContext extends ReconcileContext<PhoenixStack> {
  readonly deps: StackControllerDeps;
  readonly shared: SharedState;

  constructor(deps: StackControllerDeps, setup: ControllerSetup<PhoenixStack>, object: PhoenixStack, shared: SharedState) {
    super(setup, phoenixStacks, 'PhoenixStack', object);
    this.deps = deps;
    this.shared = shared;
  }

  get namespace(): string {
    return this.current.metadata.namespace ?? '';
  }

  observePeriodMs(): number {
    return Math.max(minObservePeriodMs, this.deps.observePeriodMs);
  }

  /** What an adopted stack converges to: its env keeps variables the spec does not name; a git stack expects the services of its file. */
  adoptionDesired(desired: DesiredStack, observed: ObservedStack): DesiredStack {
    let want = desired;
    if (desired.git) want = this.gitDesired(desired, observed.file);
    if (this.spec.adopt || this.status.adopted) want = { ...want, env: adoptedEnv(want.env, observed.env) };
    return want;
  }

  gitDesired(desired: DesiredStack, file: string): DesiredStack {
    try {
      return withGitFile(desired, file);
    } catch (err) {
      if (err instanceof ComposeInvalidError) throw new RetryableError('InvalidCompose', `the compose file ${desired.git!.path} Portainer deployed from ${desired.git!.url}: ${err.message}`);
      throw err;
    }
  }

  /** The repository credentials from credentialsSecretRef: `password` or `token`, and `username` (default `git`). */
  gitSource(desired: DesiredStack): GitSource {
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

  /** The stack of that name on the environment: by the recorded id first, else by listing. */
  async findStack(target: Target, name: string): Promise<PortainerStack | undefined> {
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

  deployFailure(operation: string, err: unknown): Error {
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

  async observe(target: Target, stack: PortainerStack, desired: DesiredStack): Promise<ObservedStack> {
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

  driftRecords(diff: StackDiff, corrected: boolean): DriftRecord[] {
    const previous = this.status.drift ?? [];
    const records: Omit<DriftRecord, 'time'>[] = [];
    if (diff.file) records.push({ field: 'compose', observed: 'edited in Portainer', desired: 'the spec\'s compose file', corrected });
    for (const name of diff.env) records.push({ field: `env.${name}`, observed: '(differs)', desired: '(spec)', corrected });
    if (diff.state) records.push({ field: 'state', observed: diff.state.observed, desired: diff.state.desired, corrected });
    for (const name of diff.missing) records.push({ field: `services.${name}`, observed: 'no container', desired: 'running', corrected });
    for (const g of diff.git ?? []) records.push({ field: `git.${g}`, observed: g === 'detached' ? 'not from git' : '(differs)', desired: '(spec)', corrected });
    return stampDrift(records, previous);
  }
}
