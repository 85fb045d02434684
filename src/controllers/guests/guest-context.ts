import type { ReconcileResult } from '../../runtime/controller.ts';
import type { ControllerSetup } from '../../runtime/manager.ts';
import type { StatusUpdate } from '../../runtime/status-writer.ts';
import { RetryableError, TerminalError } from '../../runtime/errors.ts';
import { refOf } from '../../runtime/object-key.ts';
import type { KubeObject } from '../../runtime/resource.ts';
import { parseDuration } from '../../runtime/config.ts';
import { backoffDelay, taskRetryPolicy } from '../../runtime/backoff.ts';
import { classifyTaskFailure, failedTaskStatus, isProxmoxError, type ProxmoxApiError } from '../../clients/proxmox/errors.ts';
import type { GuestIdentity } from '../../guests/common-config.ts';
import { cloneEndedAfter, ownCloneEndRecent, predictClone, type PredictedClone } from '../../guests/clone-prediction.ts';
import { parseUpid } from '../../proxmox/upid.ts';
import { isReady } from '../dependencies.ts';
import { findCondition } from '../../runtime/conditions.ts';
import { ReconcileContext, type ReconcileDeps, type ReconcileShared } from '../reconcile-context.ts';
import { secretText } from '../secrets.ts';
import { finishedTask, runningTask, taskPollDelayMs } from '../tasks.ts';
import { freshSince, minObservePeriodMs } from '../observe-cycle.ts';
import type { ConnectionRegistry, Connection } from '../hypervisor/connections.ts';
import { canonicalJson } from '../../runtime/canonical-json.ts';
import type { GuestAdapter, GuestObject, SecretValues } from './adapter.ts';
import type { CreateCapacity } from './capacity.ts';
import { createLocks, type CapacityKey } from './create-locks.ts';
import { proxmoxGuests, type GuestApi, type GuestConfig, type ProxmoxGuests } from './guest-api.ts';
import type { GuestPeers } from './peers.ts';
import type { Informer } from '../../runtime/informer.ts';
import type { ConfigMapObject } from '../configmaps.ts';
import type { VmidAllocator } from './vmid-allocator.ts';
import type { SshSessions } from '../../clients/ssh/sessions.ts';
import type { HealthMetrics } from './health-metrics.ts';

export interface GuestControllerDeps extends ReconcileDeps {
  readonly connections: ConnectionRegistry;
  readonly allocator: VmidAllocator;
  readonly capacity: CreateCapacity;
  /** SSH connections to the nodes, one per node, for the container transport. */
  readonly ssh: SshSessions;
  readonly healthMetrics?: HealthMetrics;
  /** How long a guest waiting on a task sleeps if its wake-up were lost (default 30 s). */
  readonly taskWakeGuardMs?: number;
}

export interface SharedState extends ReconcileShared {
  /** The guests of both kinds, for VMIDs and start order across containers and VMs. */
  readonly peers: GuestPeers;
  /** A namespace as the cache has it (for a hypervisor's allowedNamespaces). */
  readonly namespace: (name: string) => KubeObject | undefined;
  /** Since when each object has waited for its hypervisor's connection (in this process). */
  readonly connectionWaits: Map<string, number>;
  /** ConfigMaps provisioning steps read. */
  readonly configMapCache: Informer<ConfigMapObject>;
  /** When each health check (`<object key>/<check>`) last ran in this process. */
  readonly lastProbes: Map<string, number>;
  /** Guests whose power change went unanswered or was refused as moot: their own last task no longer tells their power state. */
  readonly powerUnsure: Set<string>;
  /** The power state the guest's own last create, clone or start left it in, kept across its own config changes after it (in this process). */
  readonly powerLeft: Map<string, 'running' | 'stopped'>;
  /**
   * Since when this process could have acted on an object: every guest made for it before then
   * is in any cluster list requested since, and none is made for it after without its VMID
   * recorded first (see ensureVmid).
   */
  readonly actingSince: (object: KubeObject) => number;
  /**
   * The config each guest showed when Phoenix decided to start it (ours, unlocked, nothing to
   * change), until its reconcile after that start (see `observedBeforeOwnStart`).
   */
  readonly beforeStart: Map<string, { readonly generation: number | undefined; readonly vmid: number; readonly node: string; readonly config: GuestConfig }>;
  /** The clone each guest sent in this process, until the reconcile after it ended (see `ownCloneConfig`). */
  readonly ownClones: Map<string, OwnClone>;
}

/** A clone Phoenix sent: its task, where it makes the guest, and what from. */
export interface OwnClone {
  readonly upid: string;
  readonly vmid: number;
  readonly node: string;
  readonly sourceVmid: number;
  /** The source's config as Phoenix read it before sending the clone. */
  readonly source: GuestConfig;
  /** The clone call's parameters. */
  readonly params: Readonly<Record<string, string>>;
  /** When the clone was sent (Phoenix's clock, ms): its task cannot have ended before. */
  readonly sentAt: number;
  /**
   * Where the hypervisor's task watch located the clone's end (Phoenix's clock, ms): after
   * `after`, before the answer to the list asked for at `seenEndedAt`. Absent while it runs, and
   * when the end was found otherwise (the guest's own read of its task).
   */
  readonly ended?: { readonly after: number; readonly seenEndedAt: number };
}

/** A reconcile's signals (see runtime/controller.ts): no new request after `stopping`, none in flight after `signal`. */
export type ReconcileSignals = Pick<import('../../runtime/controller.ts').ReconcileContext<KubeObject>, 'signal' | 'stopping'>;

/** Failures in a row after which a failing operation is reported as Stalled (it is still retried). */
export const stallAfterAttempts = 5;

const createOperations = new Set(['create', 'clone']);
/**
 * Tasks whose end only their own guest waits for: the task watch may look at them a little after
 * most of their family's have ended (see TaskWatch). A create or clone holds a create slot (and a
 * clone its source) that queued creates wait for; a snapshot or a template conversion makes what
 * other guests clone.
 */
const ownOnlyOperations = new Set(['start', 'stop', 'shutdown', 'reboot', 'configure', 'resize']);

/**
 * One reconcile of one guest: the latest copy of the object (as status writes return it) and
 * what every step of the lifecycle uses, namely status progress, Secrets, the Proxmox task
 * recorded in status, and the one typed seam to Proxmox (bound to the reconcile's signals, so
 * nothing is sent once shutdown begins or the lease is lost, and nothing is in flight after the
 * shutdown deadline). The steps themselves live in their own
 * modules (creation, adoption, snapshots, deletion, ...) and take this context.
 */
/** How long a guest waiting on a task sleeps if its wake-up were lost, unless the deps say. */
export const defaultTaskWakeGuardMs = 30_000;
/**
 * A task the watch means to look at within this is one it follows (a tenth of its estimate or of
 * a learned gap, a quarter of the age of a task of a kind not seen before, at least a tick and at
 * most 15 s); a look more than
 * `stalledAfterMs` overdue means it stopped looking (a list that does not come is given up after 3 s).
 */
const followedWithinMs = 15_000;
const stalledAfterMs = 5_000;

/** A worker that could not get a guest's config flock in time (PVE::Tools::lock_file_full's wording). */
const configLockTimeout = /^can't lock file '\/var\/lock\/(?:qemu-server|lxc)\/lock-\d+\.conf' - got timeout$/;

export class GuestContext<O extends GuestObject> extends ReconcileContext<O> {
  readonly adapter: GuestAdapter<O>;
  readonly deps: GuestControllerDeps;
  readonly shared: SharedState;
  readonly signals: ReconcileSignals;
  #pve?: { connection: Connection; pve: ProxmoxGuests };

  constructor(adapter: GuestAdapter<O>, deps: GuestControllerDeps, setup: ControllerSetup<O>, object: O, shared: SharedState, signals: ReconcileSignals) {
    super(setup, adapter.resource, adapter.kind, object);
    this.adapter = adapter;
    this.deps = deps;
    this.shared = shared;
    this.signals = signals;
  }

  /** Every Proxmox call of this reconcile goes through this seam. */
  pve(connection: Connection): ProxmoxGuests {
    if (this.#pve?.connection !== connection) this.#pve = { connection, pve: proxmoxGuests(connection.client.scoped(this.signals.stopping, this.signals.signal), connection.timeoutMs) };
    return this.#pve.pve;
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
   * shows it (no request of its own) when that agrees with the last observation; otherwise as
   * the guest itself reports. pvestatd's figures are up to 10 s old, so a snapshot that differs
   * may predate a change (Phoenix's own start, or one outside it): the guest confirms a change
   * before it counts, as it answers when the snapshot cannot tell (another node, a lock whose
   * operation may change the state, a status pvestatd has not reported yet).
   */
  async powerFromCycle(connection: Connection, api: GuestApi): Promise<string> {
    const shared = await connection.resources.guest(api.vmid, freshSince(Date.now(), this.observePeriodMs()));
    const known = this.status.powerState === 'Running' ? 'running' : this.status.powerState === 'Stopped' ? 'stopped' : undefined;
    return shared && shared.node === api.node && !shared.lock && shared.status === known ? shared.status : (await api.currentStatus()).status;
  }

  /**
   * The power state Phoenix's own last task left a guest it is bringing up for the first time
   * (never converged, no task running): stopped after its create or clone, running after its
   * start. Undefined whenever that is not known without asking the guest. A person who starts
   * or stops it in between is answered by Proxmox itself ("already running", "not running").
   */
  ownPowerState(): 'running' | 'stopped' | undefined {
    const last = this.status.lastTask;
    if (this.status.configDigest !== undefined || this.status.task !== undefined || last?.status !== 'stopped' || this.shared.powerUnsure.has(this.key)) return undefined;
    if (last.exitStatus !== 'OK' && !last.exitStatus?.startsWith('WARNINGS')) return undefined;
    if (createOperations.has(last.operation)) return 'stopped';
    if (last.operation === 'start') return 'running';
    // A VM's config change is a task of its own: it leaves the power state as it found it.
    return last.operation === 'configure' ? this.shared.powerLeft.get(this.key) : undefined;
  }

  /**
   * The config a guest showed right before Phoenix's own start, once that start has ended well
   * and nothing else happened since (same generation, no task, never converged): the start
   * changes no option of a stopped guest that had none pending (a freshly created or cloned
   * guest takes every change at once while stopped), so the guest is recorded from it with no
   * config or pending read of its own. Nothing is changed on the strength of it: whatever
   * someone changed meanwhile shows as a new digest at the next observation, which reads again.
   * Taken once; undefined whenever any of that is not known in this process.
   */
  observedBeforeOwnStart(vmid: number, node: string): GuestConfig | undefined {
    const seen = this.shared.beforeStart.get(this.key);
    this.shared.beforeStart.delete(this.key);
    if (!seen || this.ownPowerState() !== 'running' || this.status.lastTask?.operation !== 'start') return undefined;
    return seen.generation === this.current.metadata.generation && seen.vmid === vmid && seen.node === node ? seen.config : undefined;
  }

  /**
   * What the guest was made from, with its size: guests of one family take about as long to
   * start or stop. Key order is canonical so that equal sources name one family.
   */
  family(): string {
    const spec = this.spec as { source?: unknown; cores?: unknown; memory?: unknown };
    return canonicalJson({ type: this.adapter.type, source: spec.source, cores: spec.cores, memory: spec.memory });
  }

  /**
   * The config of the guest Phoenix's own clone made, without reading it, right after that clone
   * ended: the source's config as read before the clone was sent, transformed as Proxmox's clone
   * transforms it (clone-prediction.ts). This is also the proof that the guest is this object's:
   * the clone task whose UPID Phoenix recorded in status, sent in this process to this VMID and
   * node, ended `OK`, so the guest there is the one it made (a failed clone made none, and a
   * guest someone else put at the VMID then is read and checked as always). That proof ages:
   * the guest may be destroyed and the VMID taken by another creator after the clone's end, and
   * the write from the prediction has no digest; so it holds only while the end is known, on
   * Phoenix's own clock, to be seconds old (the task watch located it within
   * `ownCloneEndRecentMs` and saw it no longer ago than that; see ownCloneEndRecent). Undefined
   * whenever any of that is not known: a clone whose answer was lost, a restart since it was
   * sent, a task that ended otherwise, an end the guest's own read of its task found (no
   * bracket), or one located late or seen a while ago, a clone from a snapshot, anything since
   * (another task, a move, a spec that places the guest elsewhere, a power change in doubt).
   * Taken once.
   */
  ownCloneConfig(vmid: number, node: string): PredictedClone | undefined {
    const sent = this.shared.ownClones.get(this.key);
    this.shared.ownClones.delete(this.key);
    if (!sent || sent.vmid !== vmid || sent.node !== node) return undefined;
    const { task, lastTask: last, creation, configDigest } = this.status;
    if (task !== undefined || configDigest !== undefined || this.spec.adopt !== undefined || this.shared.powerUnsure.has(this.key)) return undefined;
    // `OK` only: a clone that warned (qemu-server discards a source's pending changes with a warning) is read.
    if (last?.operation !== 'clone' || last.upid !== sent.upid || last.status !== 'stopped' || last.exitStatus !== 'OK') return undefined;
    if (creation?.outcome !== 'Submitted' || creation.vmid !== vmid || creation.node !== node) return undefined;
    if ((this.status.targetNode ?? this.spec.node) !== this.spec.node) return undefined;
    if (!sent.ended || !ownCloneEndRecent(sent.ended.after, sent.ended.seenEndedAt, Date.now())) return undefined;
    return predictClone(this.adapter.type, sent.sourceVmid, sent.source, sent.params);
  }

  /**
   * Follows the task recorded in status, if any: while it runs, when to poll it again; once it
   * ended, records how (undefined: go on). A failed task is not an error of the reconcile: it
   * is recorded in status.retry with its backoff (see `failed`).
   */
  async pollTask(connection: Connection): Promise<ReconcileResult | undefined> {
    const task = this.status.task;
    if (!task) return undefined;
    const createLike = createOperations.has(task.operation);
    const node = task.node ?? this.spec.node;
    // Woken by something else while the hypervisor's task watch waits for the task, or by the
    // guard while the watch follows it: the watch wakes this guest when the task ends, so asking
    // Proxmox now would only repeat its answer (queued VM clones run for a minute and more, and
    // each waiting guest read its own task every 30 s). When the guard finds the watch's next look
    // far ahead (an estimate learned from tasks that took longer) or long overdue (a watch that
    // stopped looking), the guest asks itself: a task is never left to the watch for longer than
    // the guard without a look.
    const nextLookIn = connection.tasks.nextLookInMs(task.upid);
    const watchedFor = connection.tasks.watchedForMs(task.upid);
    const guardMs = this.deps.taskWakeGuardMs ?? defaultTaskWakeGuardMs;
    const followed = nextLookIn !== undefined && nextLookIn > -stalledAfterMs && nextLookIn <= followedWithinMs;
    if (watchedFor !== undefined && (watchedFor < guardMs - 1_000 || followed)) return this.#awaitTask(connection, task.upid, node, task.operation, task.startTime);
    // The watch saw it end and kept how: no read of its own.
    const outcome = connection.tasks.takeOutcome(task.upid);
    const clone = this.shared.ownClones.get(this.key);
    // Where the watch located the end of this object's own clone, for how old that end may be (ownCloneConfig).
    if (outcome && clone?.upid === task.upid) {
      const after = cloneEndedAfter(clone.sentAt, outcome.seenRunningAt, parseUpid(task.upid)?.starttime, outcome.endtime);
      this.shared.ownClones.set(this.key, { ...clone, ended: { after, seenEndedAt: outcome.seenEndedAt } });
    }
    let state: { status: string; exitstatus?: string; endtime?: number } | undefined = outcome;
    try {
      state ??= await this.pve(connection).taskStatus(task.upid, node);
    } catch (err) {
      if (!isProxmoxError(err, 'NotFound')) throw err;
      // The task log is gone (node reinstalled, log rotated): observe the guest as it is.
      await this.progress('TaskLost', `task ${task.upid} is no longer known to Proxmox`, { task: undefined });
      return undefined;
    }
    if (state.status === 'running') {
      if (createLike) this.deps.capacity.adopt(this.key, this.capacityKeys(connection).map((k) => k.key));
      return this.#awaitTask(connection, task.upid, node, task.operation, task.startTime);
    }
    if (createLike) this.deps.capacity.release(this.key);
    const { ok, exit, finished } = finishedTask(task, state);
    if (!ok || (!createLike && task.operation !== 'start' && task.operation !== 'configure')) this.shared.powerLeft.delete(this.key);
    else if (task.operation !== 'configure') this.shared.powerLeft.set(this.key, createLike ? 'stopped' : 'running');
    if (ok) {
      // A finished migration moved the guest: from now on it is read on the node the spec names.
      const moved = task.operation === 'migrate' ? { node: this.spec.node, targetNode: this.spec.node } : {};
      const retry = this.status.retry?.operation === task.operation ? { retry: undefined } : {};
      await this.progress('TaskSucceeded', `${task.operation}: ${exit}`, { task: undefined, lastTask: finished, ...moved, ...retry });
      return undefined;
    }
    if (task.operation === 'migrate') {
      await this.progress('TaskFailed', `${task.operation}: ${exit}`, { task: undefined, lastTask: finished });
      throw new TerminalError('MigrationRefused', `Proxmox could not migrate the guest to ${this.spec.node}: ${exit}`);
    }
    if (createLike && configLockTimeout.test(exit)) {
      // Another clone held the source's config lock: Proxmox created nothing, and this is a
      // wait for that clone to end, not a failure (no retry count, no backoff).
      await this.progress('SourceLocked', `the ${task.operation} waited for the source's lock and Proxmox gave up (${exit}); sending it again once the source is free`, { task: undefined, lastTask: finished, creation: undefined });
      return { requeueAfter: 1_000 };
    }
    if (task.operation === 'configure') {
      const race = await this.#configRace(exit, { task: undefined, lastTask: finished });
      if (race) return race;
      this.shared.identicalWrites.rejected(this.key);
    }
    const reason = await this.#failureDetail(connection, task);
    // A create that failed left no guest: the next attempt is a fresh create at the same VMID.
    const creation = createLike ? { creation: undefined } : {};
    return this.#taskFailed(task.operation, exit, reason, { task: undefined, lastTask: finished, ...creation });
  }

  /**
   * A VM config write whose `qmconfig` task failed while Proxmox still held the request (POST
   * config's background_delay answers `failed to update VM <vmid>: <status>`, and no UPID):
   * recorded as that task's failure would be, had it been followed (reason TaskFailed, backoff).
   */
  async configTaskFailed(err: ProxmoxApiError): Promise<ReconcileResult> {
    const exit = failedTaskStatus(err);
    return (await this.#configRace(exit)) ?? this.#taskFailed('configure', exit, '', {});
  }

  /**
   * A config task that lost a race rather than failed: another write changed the config after
   * this one's digest was read (the worker checks it again under the lock), or held the config
   * lock past the worker's 10 s. Most often the other write is Phoenix's own, sent again after
   * an answer was lost while the first still ran. Read again, or wait: no warning, no backoff,
   * no Ready False on a converged guest. `followed`: the status fields that record a followed
   * task as over (absent when the failure came with the write's own answer).
   */
  async #configRace(exit: string, followed?: Record<string, unknown>): Promise<ReconcileResult | undefined> {
    const kind = classifyTaskFailure(exit);
    if (kind !== 'Conflict' && kind !== 'Locked' && !configLockTimeout.test(exit)) return undefined;
    if (kind === 'Conflict') {
      const message = `the config changed while Phoenix was updating it (${exit}); reading it again`;
      // The followed task is recorded as over first, or the next reconcile would meet it again.
      if (followed) await this.hold('ConfigChanged', message, followed);
      throw new RetryableError('ConfigChanged', message);
    }
    return this.waitForLock(`the config change waited for the guest's config lock and Proxmox gave up (${exit}); reading the config again`, followed);
  }

  /** A task that ended in failure: warned about, and recorded with its backoff (see `failed`). */
  async #taskFailed(operation: string, exit: string, detail: string, fields: Record<string, unknown>): Promise<ReconcileResult> {
    await this.setup.events.warning(this.current, 'TaskFailed', operation, `Proxmox task ${operation} failed: ${exit}${detail}`);
    return this.failed(operation, classifyTaskFailure(exit) === 'LockTimeout' ? 'StorageLockTimeout' : 'TaskFailed', `${exit}${detail}`, fields);
  }

  /**
   * An OCI pull's exit status only says skopeo failed (`command 'skopeo copy …' failed: exit
   * code 1`); why (an unknown image, a registry refusing access, no space) is the last lines of
   * its log. Read once, when the failure is recorded; a log that cannot be read adds nothing.
   */
  async #failureDetail(connection: Connection, task: { upid: string; operation: string; node?: string }): Promise<string> {
    if (task.operation !== 'oci-pull') return '';
    try {
      const lines = await this.pve(connection).taskLogTail(task.upid, task.node ?? this.spec.node, 2);
      const text = lines.join(' ').trim();
      return text ? ` (${text.length > 600 ? `${text.slice(0, 600)}…` : text})` : '';
    } catch (err) {
      if (isProxmoxError(err)) return '';
      throw err;
    }
  }

  /**
   * Records a failed operation and when to try it again: 5 s doubling to 5 minutes, kept in
   * status so a restart neither forgets the backoff nor starts it over. The failure is named in
   * Ready; after `stallAfterAttempts` in a row it is Stalled, and still retried every 5 minutes
   * for as long as it lasts.
   */
  async failed(operation: string, reason: string, error: string, fields: Record<string, unknown> = {}, extra: { conditions?: StatusUpdate['conditions']; attempts?: number; stallAfter?: number } = {}): Promise<ReconcileResult> {
    const previous = this.status.retry;
    const attempts = extra.attempts ?? (previous?.operation === operation ? previous.attempts : 0) + 1;
    const delay = Math.round(backoffDelay(taskRetryPolicy, attempts - 1));
    const stalled = attempts >= (extra.stallAfter ?? stallAfterAttempts);
    const lastError = error.length > 2000 ? `${error.slice(0, 2000)}…` : error;
    const message = `${operation} failed${attempts > 1 ? ` ${attempts} times in a row` : ''}: ${lastError}; ${stalled ? 'Phoenix keeps trying, next' : 'trying again'} in ${Math.ceil(delay / 1000)} s`;
    await this.write({
      phase: stalled ? 'stalled' : 'failing',
      reason,
      message,
      fields: { ...fields, retry: { operation, reason, attempts, lastError, nextAttemptTime: new Date(Date.now() + delay).toISOString() } },
      ...(extra.conditions ? { conditions: extra.conditions } : {}),
    });
    return { requeueAfter: delay };
  }

  /**
   * While an operation is being retried after failures, every step of the next attempt still
   * names the failure (Ready's reason stays the failure's, Stalled stays True once the failures
   * are many): for as long as it lasts, whoever looks sees it, not a bare "Creating".
   */
  override async progress(reason: string, message: string, fields?: Record<string, unknown>, conditions?: StatusUpdate['conditions']): Promise<void> {
    const retry = this.status.retry;
    const over = fields !== undefined && 'retry' in fields && fields['retry'] === undefined;
    const extra = conditions ? { conditions } : {};
    if (!retry || over) return this.write({ phase: 'reconciling', reason, message, ...(fields ? { fields } : {}), ...extra });
    const failures = `${retry.operation} failed ${retry.attempts === 1 ? 'once' : `${retry.attempts} times in a row`}: ${retry.lastError ?? 'unknown error'}`;
    await this.write({
      phase: retry.attempts >= stallAfterAttempts ? 'stalled' : 'failing',
      reason: retry.reason ?? 'TaskFailed',
      message: `${failures}; trying again: ${message}`,
      ...(fields ? { fields } : {}),
      ...extra,
    });
  }

  /**
   * How long the failed operation in status.retry still waits before it is tried again; 0 when
   * its time has come, or the spec changed since it failed (a person's fix is tried at once).
   */
  retryWaitMs(): number {
    const retry = this.status.retry;
    if (!retry || this.status.observedGeneration !== this.current.metadata.generation) return 0;
    return Math.max(0, Date.parse(retry.nextAttemptTime) - Date.now());
  }

  /**
   * The slots this guest's create or clone takes (see create-locks.ts). `sourceRunning`: whether
   * a VM clone's source runs now; unknown counts as running, which holds the source exclusively.
   */
  capacityKeys(connection: Connection, sourceRunning?: boolean): CapacityKey[] {
    const clone = this.spec.source?.clone as { full?: boolean } | undefined;
    const cloneSource = this.cloneSourceVmid();
    const storage = this.adapter.storage(this.current);
    return createLocks({
      type: this.adapter.type, node: this.spec.node, full: clone?.full !== false,
      ...(clone && cloneSource !== undefined ? { cloneSource } : {}),
      ...(sourceRunning !== undefined ? { sourceRunning } : {}),
      ...(storage ? { storage } : {}),
    }, connection.settings);
  }

  /** The VMID this guest is cloned from: given in the spec, or the referenced object's; undefined while unknown. */
  cloneSourceVmid(): number | undefined {
    const clone = this.spec.source?.clone as { vmid?: number; lxcRef?: { name: string }; vmRef?: { name: string } } | undefined;
    if (!clone) return undefined;
    const ref = clone.lxcRef ?? clone.vmRef;
    return clone.vmid ?? ((ref && this.shared.lookup({ kind: this.adapter.kind, name: ref.name, namespace: this.current.metadata.namespace ?? '' })?.status) as { vmid?: number } | undefined)?.vmid;
  }

  async findByName(connection: Connection, name: string): Promise<number> {
    const matches = (await this.pve(connection).clusterGuests()).filter((r) => r.name === name && r.type === this.adapter.type);
    if (matches.length !== 1) {
      // Names come from pvestatd's broadcast: a guest it has not reported yet has none, so look again.
      throw new TerminalError('AdoptionAmbiguous', `adopt.name ${name} matches ${matches.length} ${this.adapter.type} guests (${matches.map((m) => m.vmid).join(', ') || 'none'}); name the guest by adopt.vmid`, { recheckAfterMs: 30_000 });
    }
    return matches[0]!.vmid;
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

  /**
   * A lock held by a task that is not Phoenix's (a backup, a person's snapshot): a wait, not an
   * error, polled every few seconds. A converged guest stays Ready meanwhile.
   */
  async waitForLock(what: string, fields?: Record<string, unknown>): Promise<ReconcileResult> {
    await this.hold('GuestLocked', what, fields);
    return { requeueAfter: 2_000 };
  }

  async powerTask(api: GuestApi, operation: string, submit: () => Promise<string>, message: string, fields: Record<string, unknown> = {}): Promise<ReconcileResult> {
    let upid: string;
    try {
      upid = await submit();
    } catch (err) {
      // Whatever the answer was (none, "already running"), the power state is to be asked from
      // now on, not inferred from Phoenix's own last task: a start whose answer was lost may
      // have started the guest, and inferring "stopped" again would send it again and again.
      this.shared.powerUnsure.add(this.key);
      // "already running" / "not running": the state moved under us; observe it again.
      if (isProxmoxError(err, 'ServerError') && /already running|not running/.test((err as Error).message)) return { requeueAfter: 500 };
      if (isProxmoxError(err, 'Locked')) return this.waitForLock(`guest ${api.vmid} is locked by another task; ${operation} waits: ${(err as Error).message}`);
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
    const connection = this.deps.connections.get(this.spec.hypervisorRef.name);
    return connection ? this.#awaitTask(connection, upid, api.node, operation, undefined, options.pollAfterMs) : { requeueAfter: options.pollAfterMs ?? 500 };
  }

  /**
   * How long this guest had been on its way to Ready (its Ready condition False) when the task
   * was sent, for how long a look at a task only it waits for may be put off (TaskWatch). Nothing
   * to speak of for a guest that was Ready until the task: the task's own progress turned its
   * Ready False then (a tenth of a second at most, from the condition's whole seconds).
   */
  #convergingForMs(sentAt: number): { convergingForMs?: number } {
    const ready = findCondition(this.status.conditions, 'Ready');
    if (!ready || ready.status === 'True') return {};
    const forMs = sentAt - Date.parse(ready.lastTransitionTime);
    return Number.isFinite(forMs) && forMs > 0 ? { convergingForMs: forMs } : {};
  }

  /**
   * Sleeps until the hypervisor's task watch sees the task end (one task list per node per
   * tick, shared by every waiting guest), then takes the outcome the list showed. The timer is
   * only a guard against a lost wake-up. A create or clone gives up its slot the moment its
   * task is seen to end, so the next one in line is sent while this guest is still being
   * woken: Proxmox's lock is free by then. While the node's task list cannot be had (it failed
   * or answered too late), the guest reads its own task, often while it is young and every
   * 2 s after that (`taskPollDelayMs`): it never waits on a list that does not come.
   */
  #awaitTask(connection: Connection, upid: string, node: string, operation: string, startTime?: string, pollAfterMs?: number): ReconcileResult {
    const ref = refOf(this.current);
    const key = this.key;
    const capacity = createOperations.has(operation) ? this.deps.capacity : undefined;
    const watched = connection.tasks.watch(upid, node, () => {
      capacity?.release(key);
      this.setup.enqueue(ref);
    }, { name: this.family(), othersWait: !ownOnlyOperations.has(operation), ...this.#convergingForMs(startTime === undefined ? Date.now() : Date.parse(startTime)) });
    if (watched) return { requeueAfter: this.deps.taskWakeGuardMs ?? defaultTaskWakeGuardMs };
    return { requeueAfter: startTime === undefined ? pollAfterMs ?? 500 : taskPollDelayMs(startTime, Date.now()) };
  }
}
