import type { ReconcileResult } from '../../runtime/controller.ts';
import type { ControllerSetup } from '../../runtime/manager.ts';
import { RetryableError, TerminalError } from '../../runtime/errors.ts';
import type { KubeObject } from '../../runtime/resource.ts';
import { parseDuration } from '../../runtime/config.ts';
import { classifyTaskFailure, isProxmoxError } from '../../clients/proxmox/errors.ts';
import type { GuestIdentity } from '../../guests/common-config.ts';
import { isReady } from '../dependencies.ts';
import { ReconcileContext, type ReconcileDeps, type ReconcileShared } from '../reconcile-context.ts';
import { secretText } from '../secrets.ts';
import { finishedTask, runningTask, taskPollDelayMs } from '../tasks.ts';
import { readTaskStatus } from '../../clients/proxmox/tasks.ts';
import { freshSince, minObservePeriodMs } from '../observe-cycle.ts';
import type { ConnectionRegistry, Connection } from '../hypervisor/connections.ts';
import type { GuestAdapter, GuestObject, SecretValues } from './adapter.ts';
import type { CreateCapacity } from './capacity.ts';
import { GuestApi } from './guest-api.ts';
import type { StartOrdered } from './start-order.ts';
import type { VmidAllocator } from './vmid-allocator.ts';

export interface GuestControllerDeps extends ReconcileDeps {
  readonly connections: ConnectionRegistry;
  readonly allocator: VmidAllocator;
  readonly capacity: CreateCapacity;
}

export interface SharedState extends ReconcileShared {
  /** Every guest of both kinds, for VMIDs and start order across containers and VMs. */
  readonly peers: () => (KubeObject & StartOrdered)[];
}

const createOperations = new Set(['create', 'clone']);

/**
 * One reconcile of one guest: the latest copy of the object (as status writes return it) and
 * what every step of the lifecycle uses, namely status progress, Secrets, and the Proxmox task
 * recorded in status. The steps themselves live in their own modules (creation, adoption,
 * snapshots, deletion, ...) and take this context.
 */
export class GuestContext<O extends GuestObject> extends ReconcileContext<O> {
  readonly adapter: GuestAdapter<O>;
  readonly deps: GuestControllerDeps;
  readonly shared: SharedState;

  constructor(adapter: GuestAdapter<O>, deps: GuestControllerDeps, setup: ControllerSetup<O>, object: O, shared: SharedState) {
    super(setup, adapter.resource, adapter.kind, object);
    this.adapter = adapter;
    this.deps = deps;
    this.shared = shared;
  }

  get identity(): GuestIdentity {
    const foundNotMade = this.spec.adopt !== undefined || this.status.adopted === true || this.mode === 'Observe';
    return { name: foundNotMade ? undefined : this.current.metadata.name, owner: { uid: this.current.metadata.uid ?? '', ref: this.key } };
  }

  observePeriodMs(): number {
    // A zero period would observe in a loop; 100 ms is already far shorter than anyone needs.
    return Math.max(minObservePeriodMs, this.spec.observePeriod ? parseDuration(this.spec.observePeriod) : this.deps.observePeriodMs);
  }

  /**
   * Whether the guest runs, as this observation cycle's shared `/cluster/resources` snapshot
   * shows it (no request of its own), or as the guest itself reports when the snapshot cannot
   * tell: it shows another node, or a lock whose operation may change the state.
   */
  async powerFromCycle(connection: Connection, api: GuestApi): Promise<string> {
    const shared = await connection.resources.guest(api.vmid, freshSince(Date.now(), this.observePeriodMs()));
    return shared && shared.node === api.node && !shared.lock ? shared.status : (await api.currentStatus()).status;
  }

  /**
   * Follows the task recorded in status, if any: while it runs, when to poll it again; once it
   * ended, records how (undefined: go on).
   */
  async pollTask(connection: Connection): Promise<ReconcileResult | undefined> {
    const task = this.status.task;
    if (!task) return undefined;
    let state;
    try {
      state = await readTaskStatus(connection.client, task.upid, task.node ?? this.spec.node);
    } catch (err) {
      if (!isProxmoxError(err, 'NotFound')) throw err;
      // The task log is gone (node reinstalled, log rotated): observe the guest as it is.
      await this.progress('TaskLost', `task ${task.upid} is no longer known to Proxmox`, { task: undefined });
      return undefined;
    }
    const createLike = createOperations.has(task.operation);
    if (state.status === 'running') {
      if (createLike) this.deps.capacity.adopt(this.key, this.capacityKeys(connection).map((k) => k.key));
      return { requeueAfter: taskPollDelayMs(task.startTime, Date.now()) };
    }
    if (createLike) this.deps.capacity.release(this.key);
    const { ok, exit, finished } = finishedTask(task, state);
    // A finished migration moved the guest: from now on it is read on the node the spec names.
    const moved = ok && task.operation === 'migrate' ? { node: this.spec.node } : {};
    await this.progress(ok ? 'TaskSucceeded' : 'TaskFailed', `${task.operation}: ${exit}`, { task: undefined, lastTask: finished, ...moved });
    if (ok) return undefined;
    if (task.operation === 'migrate') throw new TerminalError('MigrationRefused', `Proxmox could not migrate the guest to ${this.spec.node}: ${exit}`);
    await this.setup.events.warning(this.current, 'TaskFailed', task.operation, `Proxmox task ${task.operation} failed: ${exit}`);
    const kind = classifyTaskFailure(exit);
    if (kind === 'LockTimeout') throw new RetryableError('StorageLockTimeout', `${task.operation} failed on a storage lock timeout; retrying with backoff: ${exit}`);
    throw new RetryableError('TaskFailed', `${task.operation} failed: ${exit}`);
  }

  capacityKeys(connection: Connection): { key: string; limit: number }[] {
    const storage = this.adapter.storage(this.current);
    return [
      { key: `node:${this.spec.node}`, limit: connection.settings.createsPerNode },
      ...(storage ? [{ key: `storage:${storage}`, limit: connection.settings.createsPerStorage }] : []),
    ];
  }

  async findByName(connection: Connection, name: string): Promise<number> {
    const resources = (await connection.client.api.cluster.resources.$get({ type: 'vm' } as never)) as { vmid: number; name?: string; type: string }[];
    const matches = resources.filter((r) => r.name === name && r.type === this.adapter.type);
    if (matches.length !== 1) {
      throw new TerminalError('AdoptionAmbiguous', `adopt.name ${name} matches ${matches.length} ${this.adapter.type} guests (${matches.map((m) => m.vmid).join(', ') || 'none'}); name the guest by adopt.vmid`);
    }
    return Number(matches[0]?.vmid);
  }

  /** The resourceVersion of each Secret the spec references, as the cache has it now. */
  secretVersions(): Record<string, string> {
    const versions: Record<string, string> = {};
    for (const ref of this.adapter.secretRefs(this.current)) {
      const version = this.shared.secretCache.get(`${this.current.metadata.namespace ?? ''}/${ref.name}`)?.metadata.resourceVersion;
      if (version !== undefined) versions[ref.name] = version;
    }
    return versions;
  }

  /**
   * Secrets changed since their values were last applied. Without a record (a guest converged
   * before Phoenix kept one) nothing counts as rotated: the record starts at the next Ready.
   */
  rotatedSecrets(current: Record<string, string>): Set<string> {
    const applied = this.status.secretVersions;
    if (!applied) return new Set();
    return new Set(Object.keys(current).filter((name) => applied[name] !== undefined && applied[name] !== current[name]));
  }

  secrets(): SecretValues {
    const values = new Map<string, string>();
    for (const ref of this.adapter.secretRefs(this.current)) {
      values.set(`${ref.name}/${ref.key}`, secretText(this.shared.secretCache, this.current.metadata.namespace ?? '', ref.name, ref.key));
    }
    return values;
  }

  /** The last reconcile converged this very generation, so any difference now came from outside. */
  convergedAtThisGeneration(): boolean {
    return isReady(this.current) && this.status.configDigest !== undefined;
  }

  async powerTask(api: GuestApi, operation: string, submit: () => Promise<string>, message: string, fields: Record<string, unknown> = {}): Promise<ReconcileResult> {
    let upid: string;
    try {
      upid = await submit();
    } catch (err) {
      // "already running" / "not running": the state moved under us; observe it again.
      if (isProxmoxError(err, 'ServerError') && /already running|not running/.test((err as Error).message)) return { requeueAfter: 500 };
      if (isProxmoxError(err, 'Locked')) throw new RetryableError('GuestLocked', (err as Error).message);
      throw err;
    }
    return this.trackTask(api, upid, operation, message, { fields });
  }

  /**
   * Records a task just submitted (its UPID in status before anything else) and asks to be
   * called again to poll it. The reason defaults to the operation in CamelCase.
   */
  async trackTask(api: GuestApi, upid: string, operation: string, message: string, options: { fields?: Record<string, unknown>; reason?: string; pollAfterMs?: number } = {}): Promise<ReconcileResult> {
    // restart-snapshot → RestartSnapshot: condition reasons are CamelCase words.
    const reason = options.reason ?? operation.split('-').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
    await this.progress(reason, message, {
      ...options.fields,
      task: runningTask(upid, operation, api.node),
    });
    return { requeueAfter: options.pollAfterMs ?? 500 };
  }
}
