import type { Counter } from 'prom-client';
import type { Reconciler, ReconcileResult } from '../../runtime/controller.ts';
import type { ControllerDefinition, ControllerSetup } from '../../runtime/manager.ts';
import { defineController } from '../../runtime/manager.ts';
import { RetryableError, TerminalError } from '../../runtime/errors.ts';
import { secretText, type SecretObject } from '../secrets.ts';
import { ensureFinalizer, hasFinalizer, isBeingDeleted, removeFinalizer } from '../../runtime/finalizers.ts';
import { secrets as secretsResource, type KubeObject } from '../../runtime/resource.ts';
import type { StatusUpdate } from '../../runtime/status-writer.ts';
import type { Informer } from '../../runtime/informer.ts';
import { phoenixFinalizer, phoenixHypervisors, phoenixLxcs, phoenixStacks, phoenixVms, type PhoenixHypervisor } from '../../api/objects.ts';
import type { SpecValidator } from '../../api/validation.ts';
import { classifyProxmoxFailure, isProxmoxError } from '../../clients/proxmox/errors.ts';
import { diffConfig, type ConfigDiff, type DesiredConfig } from '../../guests/desired.ts';
import { describeWithMarker, ownershipOf, stripMarker } from '../../guests/marker.ts';
import { importedConfig } from '../../guests/imported-config.ts';
import { blockingHostItems, hostNeeds } from '../../guests/host-needs.ts';
import { diffSummary, driftRecords, rulesText, type DriftRecord } from '../../guests/drift-report.ts';
import { withDriftHistory } from '../drift-records.ts';
import { IdenticalWrites, maxIdenticalWrites } from '../identical-writes.ts';
import { desiredRule, observedRule, optionChanges, planRules } from '../../guests/firewall.ts';
import type { GuestIdentity } from '../../guests/common-config.ts';
import { formatSize } from '../../proxmox/size.ts';
import type { ConnectionRegistry, Connection } from '../hypervisor/connections.ts';
import { dependenciesOf, dependencyGate, isReady, type DependencyRef } from '../dependencies.ts';
import type { GuestAdapter, GuestObject, SecretValues } from './adapter.ts';
import type { CreateCapacity } from './capacity.ts';
import { GuestApi, type GuestConfig } from './guest-api.ts';
import type { VmidAllocator } from './vmid-allocator.ts';
import { guestAddresses } from './addresses.ts';
import { parseDuration } from '../../runtime/config.ts';
import { finishedTask, taskPollDelayMs } from '../tasks.ts';
import { freshSince, minObservePeriodMs, untilNextCycle } from '../observe-cycle.ts';

export interface GuestControllerDeps {
  readonly connections: ConnectionRegistry;
  readonly allocator: VmidAllocator;
  readonly capacity: CreateCapacity;
  readonly validator: SpecValidator;
  /** Default drift-check period (the controller's --observe-period). */
  readonly observePeriodMs: number;
  readonly driftCorrections: Counter<'kind' | 'option'>;
}

type TaskRecord = NonNullable<NonNullable<GuestObject['status']>['task']>;

const createOperations = new Set(['create', 'clone']);


/** Snapshots Phoenix takes by itself before restarts; never counted as declared snapshots. */
const restartSnapshotPrefix = 'phoenix-restart-';


/**
 * The whole lifecycle of a Proxmox guest (PhoenixLXC or PhoenixVM): create or clone, configure,
 * grow disks, snapshots, template, power, delete. Every step is level-triggered and short: a
 * reconcile submits at most one Proxmox task, records its UPID in status, and returns; the next
 * reconcile polls it. A restarted controller therefore resumes exactly where it was.
 */
export function guestController<O extends GuestObject>(adapter: GuestAdapter<O>, deps: GuestControllerDeps): ControllerDefinition<O> {
  return defineController<O>({
    kind: adapter.kind,
    resource: adapter.resource,
    setup(setup: ControllerSetup<O>): Reconciler<O> {
      const hypervisors = setup.cache<PhoenixHypervisor>(phoenixHypervisors);
      const caches: Record<DependencyRef['kind'], Informer<KubeObject>> = {
        PhoenixHypervisor: hypervisors as unknown as Informer<KubeObject>,
        PhoenixLXC: setup.cache<KubeObject>(phoenixLxcs),
        PhoenixVM: setup.cache<KubeObject>(phoenixVms),
        PhoenixStack: setup.cache<KubeObject>(phoenixStacks),
      };
      const lookup = (ref: DependencyRef) => caches[ref.kind].get(ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name);
      const guests = () => setup.primary.list();
      // Guests of both kinds: VMIDs and start order are shared between containers and VMs.
      const peers = () => [...caches.PhoenixLXC.list(), ...caches.PhoenixVM.list()] as (KubeObject & StartOrdered)[];

      setup.watchReadiness<PhoenixHypervisor>(phoenixHypervisors, (hv) =>
        guests().filter((g) => g.spec.hypervisorRef.name === hv.metadata.name).map(refOf));
      for (const resource of [phoenixLxcs, phoenixVms, phoenixStacks]) {
        setup.watchReadiness<KubeObject>(resource, (dep) =>
          guests()
            .filter((g) => dependenciesOf(g).some((r) => r.kind === dep.kind && r.name === dep.metadata.name && r.namespace === dep.metadata.namespace) || startsAfter(g, dep as KubeObject & StartOrdered))
            .map(refOf));
      }
      setup.watchMapped<SecretObject>(secretsResource, (secret) =>
        guests()
          .filter((g) => g.metadata.namespace === secret.metadata.namespace && adapter.secretRefs(g).some((r) => r.name === secret.metadata.name))
          .map(refOf));
      const secretCache = setup.cache<SecretObject>(secretsResource);
      const identicalWrites = new IdenticalWrites();

      return {
        async reconcile({ object, log }): Promise<ReconcileResult | void> {
          if (!object) return;
          const run = new GuestReconcile(adapter, deps, setup, object, { lookup, secretCache, identicalWrites, peers });
          try {
            return await run.reconcile();
          } catch (err) {
            // Proxmox's 403 names the path and privilege; fixing the token's ACL happens in
            // Proxmox, where no watch sees it, so this is retried with backoff, not stalled.
            if (isProxmoxError(err, 'Forbidden')) throw new RetryableError('InsufficientPrivileges', `the API token lacks a privilege: ${err.message}`, { cause: err });
            throw err;
          } finally {
            if (run.converged) identicalWrites.settle(run.key);
            log.debug('guest reconcile finished', { converged: run.converged });
          }
        },
      };
    },
  });
}

interface StartOrdered {
  spec?: { hypervisorRef?: { name: string }; startup?: { order?: number }; template?: boolean; powerState?: string };
  metadata: { name: string; namespace?: string };
}

/** `guest` starts after `other`: same hypervisor, a lower start order, and `other` is meant to run. */
export function startsAfter(guest: StartOrdered, other: StartOrdered): boolean {
  const mine = guest.spec?.startup?.order;
  const theirs = other.spec?.startup?.order;
  if (mine === undefined || theirs === undefined || theirs >= mine) return false;
  if (other.spec?.template || other.spec?.powerState === 'Stopped') return false;
  return guest.spec?.hypervisorRef?.name === other.spec?.hypervisorRef?.name;
}

function refOf(object: KubeObject) {
  return { name: object.metadata.name, ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}) };
}

/** Why a connected hypervisor is not Ready while it applies host configuration (its own reasons). */
const hostConfigReasons = new Set(['Configuring', 'Downloading', 'HostConfigRefused', 'RejectedByProxmox', 'HostTaskFailed', 'TaskSucceeded', 'TaskLost', 'HostChanged', 'HostConfigFailed']);

interface Shared {
  readonly lookup: (ref: DependencyRef) => KubeObject | undefined;
  readonly secretCache: Informer<SecretObject>;
  readonly identicalWrites: IdenticalWrites;
  /** Every guest of both kinds, for VMIDs and start order across containers and VMs. */
  readonly peers: () => (KubeObject & StartOrdered)[];
}

/** One reconcile of one guest; holds the latest copy of the object as status writes return it. */
class GuestReconcile<O extends GuestObject> {
  readonly key: string;
  converged = false;
  private current: O;
  private readonly adapter: GuestAdapter<O>;
  private readonly deps: GuestControllerDeps;
  private readonly setup: ControllerSetup<O>;
  private readonly shared: Shared;

  constructor(adapter: GuestAdapter<O>, deps: GuestControllerDeps, setup: ControllerSetup<O>, object: O, shared: Shared) {
    this.adapter = adapter;
    this.deps = deps;
    this.setup = setup;
    this.current = object;
    this.shared = shared;
    this.key = `${adapter.kind} ${object.metadata.namespace}/${object.metadata.name}`;
  }

  private get spec() {
    return this.current.spec;
  }

  private get status() {
    return this.current.status ?? {};
  }

  private get identity(): GuestIdentity {
    const foundNotMade = this.spec.adopt !== undefined || this.status.adopted === true || (this.spec.managementPolicy ?? 'Manage') === 'Observe';
    return { name: foundNotMade ? undefined : this.current.metadata.name, owner: { uid: this.current.metadata.uid ?? '', ref: `${this.adapter.kind} ${this.current.metadata.namespace}/${this.current.metadata.name}` } };
  }

  private async write(update: StatusUpdate): Promise<void> {
    const result = await this.setup.status.update(this.adapter.resource, this.current, update);
    this.current = result.object;
  }

  private async progress(reason: string, message: string, fields?: Record<string, unknown>): Promise<void> {
    await this.write({ phase: 'reconciling', reason, message, ...(fields ? { fields } : {}) });
  }

  private observePeriodMs(): number {
    // A zero period would observe in a loop; 100 ms is already far shorter than anyone needs.
    return Math.max(minObservePeriodMs, this.spec.observePeriod ? parseDuration(this.spec.observePeriod) : this.deps.observePeriodMs);
  }

  async reconcile(): Promise<ReconcileResult | void> {
    for (const vmid of [this.status.vmid, this.spec.vmid]) if (vmid !== undefined) this.deps.allocator.claim(vmid, this.key);
    if (isBeingDeleted(this.current)) return this.delete();
    const mode = this.spec.managementPolicy ?? 'Manage';
    if (mode === 'Manage' && !hasFinalizer(this.current, phoenixFinalizer)) {
      this.current = await ensureFinalizer(this.setup.client, this.adapter.resource, this.current, phoenixFinalizer);
    }
    const invalid = this.deps.validator.validate(this.adapter.kind, this.spec);
    if (invalid.length) throw new TerminalError('InvalidSpec', invalid.map((e) => `${e.field}: ${e.message}`).join('; '));

    const self: DependencyRef = { kind: this.adapter.kind, name: this.current.metadata.name, ...(this.current.metadata.namespace ? { namespace: this.current.metadata.namespace } : {}) };
    const gate = dependencyGate(self, this.current, this.shared.lookup);
    if (gate.cycle) throw new TerminalError('DependencyCycle', gate.cycle);
    if (gate.waiting.length) {
      await this.progress('WaitingForDependencies', `waiting for ${gate.waiting.join(', ')}`);
      return;
    }
    const connection = await this.connection();
    if (!('client' in connection)) return connection;
    if (mode === 'Observe') return this.observeOnly(connection);

    const task = this.status.task;
    if (task) {
      const outcome = await this.pollTask(connection, task);
      if (outcome.running) return { requeueAfter: outcome.delayMs };
    }

    const vmid = await this.ensureVmid(connection);
    if (vmid === undefined) return { requeueAfter: 100 };
    const node = this.status.node ?? this.spec.node;
    const api = new GuestApi(connection.client, node, this.adapter.type, vmid);
    const config = await api.config();
    if (!config) {
      const moved = await this.findElsewhere(connection, vmid, node);
      if (moved) return moved;
      return this.bringIntoExistence(connection, api);
    }
    if (config.lock) {
      await this.progress('GuestLocked', `VMID ${vmid} is locked (${config.lock}) by a running Proxmox task; waiting for it to finish`);
      return { requeueAfter: 2_000 };
    }
    // The guest exists and no task holds it: whatever created it is over, even if the
    // status write that recorded its task was lost.
    this.deps.capacity.release(this.key);
    const owned = await this.checkOwnership(connection, api, config);
    if (owned !== 'ours') return owned;
    if (api.node !== this.spec.node) return this.migrate(api);
    return this.converge(connection, api, config);
  }

  /**
   * The host items (status.hostPending) this guest uses, while its hypervisor is connected and
   * only applying host configuration; undefined when the hypervisor is not Ready for any other
   * reason (or the reason is unclear), so the guest waits for all of it.
   */
  private hostBlockers(hv: KubeObject): string[] | undefined {
    const status = hv.status as { observedGeneration?: number; hostPending?: string[]; conditions?: { type: string; status: string; reason: string }[] } | undefined;
    const ready = status?.conditions?.find((c) => c.type === 'Ready');
    if (!status?.hostPending || status.observedGeneration !== hv.metadata.generation || !ready || !hostConfigReasons.has(ready.reason)) return undefined;
    return blockingHostItems(status.hostPending, hostNeeds(this.spec, this.adapter.sourceVolume(this.current)?.volume));
  }

  /**
   * The hypervisor's connection, or a status saying what the guest waits for. Waiting is not
   * an error: it polls without calling Proxmox, so it neither backs off nor uses up the retry
   * budget (after a restart every guest waits here until the hypervisor is checked again).
   */
  private async connection(): Promise<Connection | ReconcileResult> {
    const name = this.spec.hypervisorRef.name;
    const hv = this.shared.lookup({ kind: 'PhoenixHypervisor', name });
    const connection = this.deps.connections.get(name);
    if (!hv || !connection || connection.version === undefined) {
      await this.progress('WaitingForHypervisor', !hv ? `PhoenixHypervisor ${name} does not exist` : `connecting to PhoenixHypervisor ${name}`);
      return { requeueAfter: hv && isReady(hv) ? 1_000 : 30_000 };
    }
    if (!isReady(hv)) {
      const blockers = this.hostBlockers(hv);
      if (blockers === undefined || blockers.length) {
        await this.progress('WaitingForHypervisor', blockers?.length ? `PhoenixHypervisor ${name} is still applying what this guest uses: ${blockers.join(', ')}` : `PhoenixHypervisor ${name} is not Ready`);
        // Items finish without the hypervisor becoming Ready (others may remain), so poll them.
        return { requeueAfter: blockers?.length ? 5_000 : 30_000 };
      }
    }
    if (!connection.nodes.includes(this.spec.node)) {
      const known = ((hv.status as { nodes?: { name: string }[] } | undefined)?.nodes ?? []).map((n) => n.name);
      if (!known.includes(this.spec.node)) {
        throw new TerminalError('UnknownNode', `node ${this.spec.node} is not part of PhoenixHypervisor ${name} (nodes: ${known.join(', ') || 'none'})`);
      }
      await this.progress('NodeOffline', `node ${this.spec.node} is offline; checking again in 30 s`);
      return { requeueAfter: 30_000 };
    }
    return connection;
  }

  /** Follows the task recorded in status. Returns running with a poll delay, or records how it ended. */
  private async pollTask(connection: Connection, task: TaskRecord): Promise<{ running: true; delayMs: number } | { running: false }> {
    const api = new GuestApi(connection.client, task.node ?? this.spec.node, this.adapter.type, this.status.vmid ?? 0);
    let state;
    try {
      state = await api.task(task.upid);
    } catch (err) {
      if (!isProxmoxError(err, 'NotFound')) throw err;
      // The task log is gone (node reinstalled, log rotated): observe the guest as it is.
      await this.progress('TaskLost', `task ${task.upid} is no longer known to Proxmox`, { task: undefined });
      return { running: false };
    }
    const createLike = createOperations.has(task.operation);
    if (state.status === 'running') {
      if (createLike) this.deps.capacity.adopt(this.key, this.capacityKeys(connection).map((k) => k.key));
      return { running: true, delayMs: taskPollDelayMs(task.startTime, Date.now()) };
    }
    if (createLike) this.deps.capacity.release(this.key);
    const { ok, exit, finished } = finishedTask(task, state);
    // A finished migration moved the guest: from now on it is read on the node the spec names.
    const moved = ok && task.operation === 'migrate' ? { node: this.spec.node } : {};
    await this.progress(ok ? 'TaskSucceeded' : 'TaskFailed', `${task.operation}: ${exit}`, { task: undefined, lastTask: finished, ...moved });
    if (ok) return { running: false };
    if (task.operation === 'migrate') throw new TerminalError('MigrationRefused', `Proxmox could not migrate the guest to ${this.spec.node}: ${exit}`);
    await this.setup.events.warning(this.current, 'TaskFailed', task.operation, `Proxmox task ${task.operation} failed: ${exit}`);
    const kind = classifyProxmoxFailure(500, exit);
    if (kind === 'LockTimeout') throw new RetryableError('StorageLockTimeout', `${task.operation} failed on a storage lock timeout; retrying with backoff: ${exit}`);
    throw new RetryableError('TaskFailed', `${task.operation} failed: ${exit}`);
  }

  private capacityKeys(connection: Connection): { key: string; limit: number }[] {
    const storage = this.adapter.storage(this.current);
    return [
      { key: `node:${this.spec.node}`, limit: connection.settings.createsPerNode },
      ...(storage ? [{ key: `storage:${storage}`, limit: connection.settings.createsPerStorage }] : []),
    ];
  }

  /** The guest's VMID, allocated and persisted before anything is created with it. */
  private async ensureVmid(connection: Connection): Promise<number | undefined> {
    let vmid = this.status.vmid ?? this.spec.vmid ?? this.spec.adopt?.vmid;
    if (vmid === undefined && this.spec.adopt?.name) vmid = await this.findByName(connection, this.spec.adopt.name);
    if (vmid === undefined) {
      const avoid = this.shared.peers().flatMap((g) => [(g.status as { vmid?: number } | undefined)?.vmid, (g.spec as { vmid?: number } | undefined)?.vmid].filter((v): v is number => v !== undefined));
      vmid = await this.deps.allocator.allocate(connection.client, this.key, connection.settings.vmidRange, avoid);
      await this.progress('VmidAllocated', `allocated VMID ${vmid}`, { vmid, node: this.spec.node });
      return vmid;
    }
    if (this.status.vmid !== vmid) await this.progress('VmidAssigned', `VMID ${vmid}`, { vmid, node: this.spec.node });
    return vmid;
  }

  private async findByName(connection: Connection, name: string): Promise<number> {
    const resources = (await connection.client.api.cluster.resources.$get({ type: 'vm' } as never)) as { vmid: number; name?: string; type: string }[];
    const matches = resources.filter((r) => r.name === name && r.type === this.adapter.type);
    if (matches.length !== 1) {
      throw new TerminalError('AdoptionAmbiguous', `adopt.name ${name} matches ${matches.length} ${this.adapter.type} guests (${matches.map((m) => m.vmid).join(', ') || 'none'}); name the guest by adopt.vmid`);
    }
    return Number(matches[0]?.vmid);
  }

  /** The guest does not exist: report it vanished, or create it (after pre-flight checks). */
  private async bringIntoExistence(connection: Connection, api: GuestApi): Promise<ReconcileResult | void> {
    if (this.spec.adopt) throw new TerminalError('AdoptTargetMissing', `no ${this.adapter.type} guest ${api.vmid} exists on node ${api.node} to adopt`);
    if (this.status.configDigest !== undefined) {
      if (this.spec.missingPolicy !== 'Recreate') {
        throw new TerminalError('GuestMissing', `guest ${api.vmid} no longer exists in Proxmox (deleted outside Phoenix). Set missingPolicy: Recreate to have Phoenix create it again, or delete this object`);
      }
      await this.setup.events.warning(this.current, 'GuestMissing', 'Recreate', `guest ${api.vmid} disappeared from Proxmox; creating it again (missingPolicy: Recreate)`);
      await this.progress('Recreating', `guest ${api.vmid} disappeared; creating it again`, { configDigest: undefined });
    }
    // The slot comes first: a guest waiting for one costs Proxmox nothing.
    const ref = refOf(this.current);
    if (!this.deps.capacity.tryAcquire(this.key, this.capacityKeys(connection), () => this.setup.enqueue(ref))) {
      await this.progress('WaitingForCapacity', `waiting for a create slot on node ${this.spec.node} (limits: ${connection.settings.createsPerNode} per node, ${connection.settings.createsPerStorage} per storage)`);
      // Woken when a slot frees; the timer only guards against a lost wake-up.
      return { requeueAfter: 15_000 };
    }
    let cloneSource: number | undefined;
    try {
      const download = await this.ensureSourceVolume(connection, api);
      if (download) {
        this.deps.capacity.release(this.key);
        return download;
      }
      await this.preflight(connection, api.node);
      const clone = this.spec.source?.clone as { vmid?: number; lxcRef?: { name: string }; vmRef?: { name: string } } | undefined;
      if (clone) {
        const cloneRef = clone.lxcRef ?? clone.vmRef;
        cloneSource = clone.vmid ?? ((cloneRef && this.shared.lookup({ kind: this.adapter.kind, name: cloneRef.name, namespace: this.current.metadata.namespace ?? '' })?.status) as { vmid?: number } | undefined)?.vmid;
        if (cloneSource === undefined) throw new RetryableError('CloneSourceUnknown', `the clone source has no VMID yet`);
      }
    } catch (err) {
      this.deps.capacity.release(this.key);
      throw err;
    }
    const creation = this.adapter.creation(this.current, this.identity, this.secrets(), cloneSource);
    let upid: string;
    try {
      upid = creation.action === 'create' ? await api.create(creation.params) : await api.cloneFrom(creation.source, creation.params);
    } catch (err) {
      this.deps.capacity.release(this.key);
      if (isProxmoxError(err, 'AlreadyExists')) return this.vmidTaken(api.vmid);
      if (isProxmoxError(err, 'Locked', 'LockTimeout')) throw new RetryableError('SourceLocked', `cannot ${creation.action} yet: ${(err as Error).message}`);
      if (isProxmoxError(err, 'InvalidParameter')) throw new TerminalError('RejectedByProxmox', `Proxmox refused the ${creation.action}: ${(err as Error).message}`);
      throw err;
    }
    await this.setup.events.normal(this.current, creation.action === 'create' ? 'Creating' : 'Cloning', creation.action, `${creation.action === 'create' ? 'creating' : `cloning VMID ${cloneSource} to`} VMID ${api.vmid} on node ${api.node}`);
    await this.progress('Creating', `${creation.action} of VMID ${api.vmid} submitted`, {
      task: { upid, operation: creation.action, node: api.node, status: 'running', startTime: new Date().toISOString() },
    });
    return { requeueAfter: 500 };
  }

  /** Another creator took the VMID between allocation and create. */
  private async vmidTaken(vmid: number): Promise<ReconcileResult> {
    if (this.spec.vmid !== undefined) throw new TerminalError('VmidInUse', `VMID ${vmid} is used by another guest; choose another spec.vmid or adopt that guest`);
    this.deps.allocator.release(this.key);
    await this.setup.events.warning(this.current, 'VmidCollision', 'Create', `VMID ${vmid} was taken by another creator; allocating a new one`);
    await this.progress('VmidCollision', `VMID ${vmid} was taken by another creator; allocating a new one`, { vmid: undefined, node: undefined });
    return { requeueAfter: 100 };
  }

  /** Downloads a missing template or image first when the spec allows it; else a clear error. */
  private async ensureSourceVolume(connection: Connection, api: GuestApi): Promise<ReconcileResult | undefined> {
    const source = this.adapter.sourceVolume(this.current);
    if (!source) return undefined;
    const storageApi = connection.client.api.nodes.$(api.node).storage.$(source.storage) as any;
    let content: { volid: string }[];
    try {
      content = await storageApi.content.$get();
    } catch (err) {
      if (isProxmoxError(err, 'NotFound', 'InvalidParameter')) throw new TerminalError('StorageNotFound', `storage ${source.storage} is not available on node ${api.node}: ${(err as Error).message}`);
      throw err;
    }
    if (content.some((c) => c.volid === source.volume)) return undefined;
    if (!source.fetch) throw new TerminalError('SourceNotFound', `${source.volume} does not exist on node ${api.node}`);
    let upid: string;
    if ('appliance' in source.fetch) {
      upid = await (connection.client.api.nodes.$(api.node) as any).aplinfo.$post({ storage: source.storage, template: source.fetch.appliance });
    } else {
      upid = await storageApi['download-url'].$post({ url: source.fetch.url, filename: source.fetch.filename, content: source.fetch.content });
    }
    await this.setup.events.normal(this.current, 'Downloading', 'Download', `downloading ${source.volume}`);
    await this.progress('Downloading', `downloading ${source.volume}`, { task: { upid, operation: 'download', node: api.node, status: 'running', startTime: new Date().toISOString() } });
    return { requeueAfter: 1_000 };
  }

  /** Spec errors Proxmox would only report from inside a task: caught before submitting. */
  private async preflight(connection: Connection, node: string): Promise<void> {
    const bridges = (this.spec.networks ?? []).map((n) => n.bridge);
    if (bridges.length) {
      const ifaces = (await connection.client.api.nodes.$(node).network.$get()) as { iface: string; type: string }[];
      const known = new Set(ifaces.map((i) => i.iface));
      const missing = [...new Set(bridges)].filter((b) => !known.has(b));
      if (missing.length) throw new TerminalError('BridgeNotFound', `bridge ${missing.join(', ')} does not exist on node ${node}`);
    }
    const storage = this.adapter.storage(this.current);
    if (storage) {
      const storages = (await connection.client.api.nodes.$(node).storage.$get()) as { storage: string; active?: number; enabled?: number }[];
      if (!storages.some((s) => s.storage === storage)) throw new TerminalError('StorageNotFound', `storage ${storage} is not available on node ${node}`);
    }
  }

  /** A guest moved outside Phoenix (HA, a person) is followed to its new node, not recreated. */
  private async findElsewhere(connection: Connection, vmid: number, node: string): Promise<ReconcileResult | undefined> {
    if (this.status.configDigest === undefined) return undefined;
    const resources = (await connection.client.api.cluster.resources.$get({ type: 'vm' } as never)) as { vmid: number; node: string; type: string }[];
    const found = resources.find((r) => Number(r.vmid) === vmid && r.type === this.adapter.type && r.node !== node);
    if (!found) return undefined;
    await this.progress('Moved', `guest ${vmid} is now on node ${found.node}`, { node: found.node });
    return { requeueAfter: 100 };
  }

  /** Changing spec.node migrates the guest instead of re-creating it. */
  private async migrate(api: GuestApi): Promise<ReconcileResult> {
    const running = (await api.currentStatus()).status === 'running';
    let upid: string;
    try {
      upid = await api.migrate(this.spec.node, running);
    } catch (err) {
      if (isProxmoxError(err, 'Locked')) throw new RetryableError('GuestLocked', (err as Error).message);
      if (isProxmoxError(err, 'ServerError', 'InvalidParameter')) throw new TerminalError('MigrationRefused', `Proxmox refused to migrate guest ${api.vmid} from ${api.node} to ${this.spec.node}: ${(err as Error).message}`);
      throw err;
    }
    await this.setup.events.normal(this.current, 'Migrating', 'Migrate', `migrating guest ${api.vmid} from ${api.node} to ${this.spec.node}${running ? (api.type === 'qemu' ? ' (online)' : ' (restart mode)') : ''}`);
    return this.trackTask(api, upid, 'migrate', `migrating from ${api.node} to ${this.spec.node}`);
  }

  /** Phoenix acts only on guests that carry its marker with this object's UID. */
  private async checkOwnership(connection: Connection, api: GuestApi, config: GuestConfig): Promise<'ours' | ReconcileResult> {
    const ownership = ownershipOf(config.description, this.current.metadata.uid ?? '');
    if (ownership === 'ours') return 'ours';
    if (this.spec.adopt) return this.adopt(connection, api, config);
    if (this.spec.vmid === undefined && this.status.configDigest === undefined) return this.vmidTaken(api.vmid);
    throw new TerminalError('NotOwned', `VMID ${api.vmid} holds a guest Phoenix did not create (${ownership === 'foreign' ? 'it belongs to another Phoenix object' : 'it has no Phoenix marker'}), so Phoenix will not change it. To manage it, set spec.adopt.vmid: ${api.vmid}`);
  }

  /**
   * Adoption in two steps: first record the guest as found and report every difference from
   * the spec, changing nothing; then, on the next reconcile, mark it and converge it.
   */
  private async adopt(connection: Connection, api: GuestApi, config: GuestConfig): Promise<ReconcileResult> {
    const diff = diffConfig(this.adapter.desired(this.current, this.identity, this.secrets(), config), config);
    if (!this.status.adopted) {
      const extra = await this.adoptionDifferences(connection, api, config, diff);
      // Without spec.description the notes stay as they are; adding the marker is no difference.
      const report = this.spec.description === undefined ? { ...diff, changes: diff.changes.filter((c) => c.key !== 'description') } : diff;
      const drift = driftRecords(report, false, this.status.drift, extra);
      const kept = diff.shrinks.length ? ` (${diff.shrinks.map((s) => s.disk).join(', ')} will not be shrunk)` : '';
      await this.setup.events.normal(this.current, 'AdoptionPlanned', 'Adopt', `found ${this.adapter.type} ${api.vmid}; ${diffSummary(report, extra)}`);
      await this.progress('Adopting', `found guest ${api.vmid}; ${drift.length} differences from the spec will be converged${kept}`, { adopted: true, importedConfig: importedConfig(config), drift: drift.length ? drift : undefined });
      return { requeueAfter: 100 };
    }
    await api.updateConfig({ description: describeWithMarker(stripMarker(String(config.description ?? '')), this.identity.owner) }, [], config.digest);
    await this.setup.events.normal(this.current, 'Adopted', 'Adopt', `guest ${api.vmid} now carries Phoenix's marker`);
    return { requeueAfter: 100 };
  }

  /**
   * What converging an adopted guest would do beyond its config, for the adoption report:
   * disks larger than the spec (never shrunk), template, power, snapshots, firewall.
   */
  private async adoptionDifferences(connection: Connection, api: GuestApi, config: GuestConfig, diff: ConfigDiff): Promise<Omit<DriftRecord, 'time'>[]> {
    const records: Omit<DriftRecord, 'time'>[] = diff.shrinks.map((s) => ({ field: s.disk, observed: formatSize(s.fromBytes), desired: formatSize(s.toBytes), corrected: false }));
    const add = (field: string, observed: string, desired: string) => records.push({ field, observed, desired, corrected: false });
    const isTemplate = String(config.template ?? '0') === '1';
    if (this.spec.template && !isTemplate) add('template', 'false', 'true');
    if (!isTemplate) {
      const wantRunning = (this.spec.powerState ?? (this.spec.template ? 'Stopped' : 'Running')) === 'Running';
      const running = (await api.currentStatus()).status === 'running';
      if (wantRunning !== running) add('powerState', running ? 'Running' : 'Stopped', wantRunning ? 'Running' : 'Stopped');
      const existing = this.spec.snapshots?.length ? (await api.snapshots()).map((s) => s.name).filter((n) => n !== 'current') : [];
      const missing = (this.spec.snapshots ?? []).map((s) => s.name).filter((n) => !existing.includes(n));
      if (missing.length) add('snapshots', existing.join(', ') || '(none)', [...existing, ...missing].join(', '));
    }
    if (this.spec.pool !== undefined) {
      const pool = (await connection.resources.guest(api.vmid, Date.now()))?.pool;
      if (pool !== this.spec.pool) add('pool', pool ?? '(none)', this.spec.pool);
    }
    const firewall = this.spec.firewall;
    if (firewall) {
      const options = await api.firewallOptions();
      for (const [key, value] of Object.entries(optionChanges(firewall, options))) add(`firewall.${key}`, options[key] === undefined ? '(unset)' : String(options[key]), value);
      if (firewall.rules !== undefined) {
        const desired = firewall.rules.map(desiredRule);
        const observed = (await api.firewallRules()).map(observedRule);
        if (planRules(desired, observed).length) add('firewall.rules', rulesText(observed), rulesText(desired));
      }
    }
    return records;
  }

  /** The resourceVersion of each Secret the spec references, as the cache has it now. */
  private secretVersions(): Record<string, string> {
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
  private rotatedSecrets(current: Record<string, string>): Set<string> {
    const applied = this.status.secretVersions;
    if (!applied) return new Set();
    return new Set(Object.keys(current).filter((name) => applied[name] !== undefined && applied[name] !== current[name]));
  }

  private secrets(): SecretValues {
    const values = new Map<string, string>();
    for (const ref of this.adapter.secretRefs(this.current)) {
      values.set(`${ref.name}/${ref.key}`, secretText(this.shared.secretCache, this.current.metadata.namespace ?? '', ref.name, ref.key));
    }
    return values;
  }

  /** Refuses to write the same change again and again: that is a bug, not drift. */
  private guardPerpetualDiff(diff: ConfigDiff): void {
    if (this.shared.identicalWrites.tooMany(this.key, diff.changes.map((c) => [c.key, c.value]))) {
      throw new TerminalError('PerpetualDiff', `Proxmox keeps a different value for ${diff.changes.map((c) => c.key).join(', ')} after ${maxIdenticalWrites} writes; Phoenix stopped writing. Observed: ${diff.changes.map((c) => `${c.key}=${c.observed ?? '(unset)'}`).join('; ')}`);
    }
  }

  private async converge(connection: Connection, api: GuestApi, config: GuestConfig): Promise<ReconcileResult | void> {
    const isTemplate = String(config.template ?? '0') === '1';
    const secretVersions = this.secretVersions();
    const rotated = this.rotatedSecrets(secretVersions);
    const desired = this.adapter.desired(this.current, this.identity, this.secrets(), config, rotated);
    const diff = diffConfig(desired, config);
    if (diff.changes.length) {
      this.guardPerpetualDiff(diff);
      const reverts = await this.pendingToRevert(api, desired, diff);
      const set: Record<string, string> = {};
      const deletes: string[] = [];
      for (const change of diff.changes) {
        if (reverts.includes(change.key)) continue;
        if (change.value === undefined) deletes.push(change.key);
        else set[change.key] = change.value;
      }
      let upid: string | undefined;
      try {
        upid = await api.updateConfig(set, deletes, config.digest, reverts);
      } catch (err) {
        if (isProxmoxError(err, 'Conflict')) throw new RetryableError('ConfigChanged', 'the config changed while Phoenix was updating it; reading it again');
        if (isProxmoxError(err, 'InvalidParameter')) throw new TerminalError('RejectedByProxmox', `Proxmox refused the change: ${(err as Error).message}`);
        throw err;
      }
      const fields = diff.changes.map((c) => (c.fields.length ? `${c.key} (${c.fields.join(', ')})` : c.key));
      if (rotated.size) {
        // New values in a Secret, not drift: record which Secret versions are now applied.
        await this.setup.events.normal(this.current, 'Configured', 'Update', `Secret ${[...rotated].join(', ')} changed, so Phoenix wrote ${fields.join(', ')} again`);
        const task = upid ? { task: { upid, operation: 'configure', node: api.node, status: 'running', startTime: new Date().toISOString() } } : {};
        await this.progress('Configuring', `applying the changed Secret ${[...rotated].join(', ')}`, { secretVersions, ...task });
        return { requeueAfter: upid ? 500 : 100 };
      }
      if (this.convergedAtThisGeneration()) {
        // Changed outside Phoenix since it converged this generation: say what, from what, to what.
        const drift = await this.reportCorrectedDrift(driftRecords(diff, true, this.status.drift), diff.changes.map((c) => c.key.replace(/\d+$/, '')));
        await this.progress('DriftCorrected', `set back ${fields.join(', ')}, changed outside Phoenix`, { drift });
      } else if (this.status.configDigest !== undefined) {
        await this.setup.events.normal(this.current, 'Configured', 'Update', `set ${fields.join(', ')}`);
      }
      if (upid) {
        await this.progress('Configuring', `updating ${fields.join(', ')}`, { task: { upid, operation: 'configure', node: api.node, status: 'running', startTime: new Date().toISOString() } });
        return { requeueAfter: 500 };
      }
      return { requeueAfter: 100 };
    }
    if (diff.resizes.length) {
      const resize = diff.resizes[0]!;
      const upid = await api.resize(resize.disk, formatSize(resize.toBytes), config.digest);
      await this.setup.events.normal(this.current, 'Resizing', 'Resize', `growing ${resize.disk} from ${formatSize(resize.fromBytes)} to ${formatSize(resize.toBytes)}`);
      if (upid) {
        await this.progress('Resizing', `growing ${resize.disk} to ${formatSize(resize.toBytes)}`, { task: { upid, operation: 'resize', node: api.node, status: 'running', startTime: new Date().toISOString() } });
        return { requeueAfter: 500 };
      }
      return { requeueAfter: 100 };
    }

    if (await this.convergeFirewall(api)) return { requeueAfter: 100 };

    const poolStep = await this.convergePool(connection, api, config.digest);
    if (poolStep) return poolStep;

    const snapshotStep = await this.ensureSnapshots(api, isTemplate);
    if (snapshotStep) return snapshotStep;

    // In steady state (converged at this generation, config unchanged since), the pending list
    // and addresses cannot have changed through the config, and the power state comes from the
    // hypervisor's resources snapshot of this cycle: one config read per guest per cycle.
    const steady = this.convergedAtThisGeneration() && config.digest !== undefined && config.digest === this.status.configDigest;
    const shared = steady ? await connection.resources.guest(api.vmid, freshSince(Date.now(), this.observePeriodMs())) : undefined;
    const power = shared && shared.node === api.node && !shared.lock ? shared.status : (await api.currentStatus()).status;
    const running = power === 'running';
    if (this.spec.template && !isTemplate) {
      if (running) return this.powerTask(api, 'stop', () => api.stop(), 'stopping before conversion to a template');
      const upid = await api.convertToTemplate();
      await this.setup.events.normal(this.current, 'Templated', 'Template', `converted VMID ${api.vmid} to a template`);
      if (upid) return this.trackTask(api, upid, 'template', 'converting to a template');
      return { requeueAfter: 500 };
    }
    const wantRunning = !isTemplate && (this.spec.powerState ?? (this.spec.template ? 'Stopped' : 'Running')) === 'Running';
    if (wantRunning && !running) {
      const earlier = this.startOrderBlockers();
      if (earlier.length) {
        await this.progress('WaitingForStartOrder', `starts after ${earlier.join(', ')} (startup order ${this.spec.startup?.order})`);
        return { requeueAfter: 30_000 };
      }
      return this.powerTask(api, 'start', () => api.start(), 'starting', await this.powerDrift('Stopped', 'Running'));
    }
    if (!wantRunning && running) {
      const timeout = Math.max(1, Math.round(parseDuration(this.spec.shutdownTimeout ?? '3m') / 1000));
      return this.powerTask(api, 'shutdown', () => api.shutdown(timeout), `shutting down (hard stop after ${timeout} s)`, await this.powerDrift('Running', 'Stopped'));
    }

    const pending = isTemplate ? [] : steady ? [...(this.status.pendingChanges ?? [])] : (await api.pending()).filter((p) => p.pending !== undefined || p.delete !== undefined).map((p) => p.key).sort();
    if (pending.length && running && this.spec.restartPolicy === 'IfRequired') {
      const snapshot = await this.snapshotBeforeRestart(api);
      if (snapshot) return snapshot;
      return this.powerTask(api, 'reboot', () => api.reboot(), `restarting to apply ${pending.join(', ')}`);
    }
    const pruned = await this.pruneRestartSnapshots(api);
    if (pruned) return pruned;

    // A DHCP lease can change with no config change, so dynamic addresses are read every cycle.
    const dynamic = (this.spec.networks ?? []).some((n) => n.ipv4 === 'dhcp' || n.ipv6 === 'dhcp' || n.ipv6 === 'auto');
    const addresses = !running ? [] : steady && !dynamic && this.status.powerState === 'Running' ? [...(this.status.ipAddresses ?? [])] : await guestAddresses(api, config, this.spec);
    const fields = {
      vmid: api.vmid,
      node: api.node,
      powerState: isTemplate || !running ? 'Stopped' : 'Running',
      ipAddresses: addresses.length ? addresses : undefined,
      pendingChanges: pending.length ? pending : undefined,
      configDigest: config.digest,
      secretVersions: Object.keys(secretVersions).length ? secretVersions : undefined,
    };
    if (diff.shrinks.length) {
      const text = diff.shrinks.map((s) => `${s.disk} is ${formatSize(s.fromBytes)}, the spec asks for ${formatSize(s.toBytes)}`).join('; ');
      await this.write({ phase: 'stalled', reason: 'ShrinkRefused', message: `${text}. Proxmox cannot shrink a disk and Phoenix never re-creates a guest to do it: set the size to at least the current one`, fields });
      return { requeueAfter: untilNextCycle(Date.now(), this.observePeriodMs()) };
    }
    this.converged = true;
    const what = `${isTemplate ? 'template' : running ? 'running' : 'stopped'} on ${api.node} as VMID ${api.vmid}`;
    const restart = pending.length
      ? { type: 'RestartRequired', status: 'True' as const, reason: 'PendingChanges', message: `${pending.join(', ')} take effect at the next restart; set restartPolicy: IfRequired to let Phoenix restart the guest` }
      : { type: 'RestartRequired', status: 'False' as const, reason: 'NoPendingChanges', message: '' };
    // The condition is recorded once it has been true, so guests that never needed a restart carry no extra condition.
    const conditions = pending.length || this.status.conditions?.some((c) => c.type === 'RestartRequired') ? [restart] : [];
    if (pending.length) {
      await this.write({ phase: 'ready', reason: 'RestartRequired', message: `${what}; ${pending.join(', ')} take effect at the next restart (restartPolicy: Never)`, fields, conditions });
    } else {
      await this.write({ phase: 'ready', reason: 'Converged', message: what, fields, conditions });
    }
    return { requeueAfter: untilNextCycle(Date.now(), this.observePeriodMs()) };
  }

  /**
   * Changes made outside Phoenix on a running guest can be pending: the config Phoenix reads
   * shows them, the running guest does not. Where the value in effect already is the spec's,
   * the pending change is cancelled (`revert`) rather than overwritten: writing the spec's value
   * would itself stay pending when Proxmox has no current value to compare it with (the spec
   * asks for a default that the config leaves out), and ask for a restart that changes nothing.
   */
  private async pendingToRevert(api: GuestApi, desired: DesiredConfig, diff: ConfigDiff): Promise<string[]> {
    const entries = await api.pending();
    const changed = new Set(diff.changes.map((c) => c.key));
    const pendingKeys = entries.filter((e) => changed.has(e.key) && (e.pending !== undefined || e.delete !== undefined)).map((e) => e.key);
    if (!pendingKeys.length) return [];
    const inEffect: Record<string, unknown> = {};
    for (const e of entries) if (e.value !== undefined) inEffect[e.key] = e.value;
    const stillDifferent = new Set(diffConfig(desired, inEffect).changes.map((c) => c.key));
    return pendingKeys.filter((key) => !stillDifferent.has(key));
  }

  /**
   * Keeps the guest in spec.pool. Membership is not part of the config (nor its digest), so it
   * is read from the cycle's resources list, or from a fresh one while the guest is changing.
   */
  private async convergePool(connection: Connection, api: GuestApi, digest: string | undefined): Promise<ReconcileResult | undefined> {
    const pool = this.spec.pool;
    if (pool === undefined) return undefined;
    const steady = this.convergedAtThisGeneration() && digest !== undefined && digest === this.status.configDigest;
    const seen = await connection.resources.guest(api.vmid, steady ? freshSince(Date.now(), this.observePeriodMs()) : Date.now());
    if (!seen || seen.pool === pool) return undefined;
    try {
      await api.moveToPool(pool);
    } catch (err) {
      if (isProxmoxError(err, 'NotFound', 'InvalidParameter', 'ServerError') && /pool .* does not exist/.test((err as Error).message)) {
        throw new TerminalError('PoolNotFound', `pool ${pool} does not exist in Proxmox; create it (e.g. in the PhoenixHypervisor's spec.pools) or change spec.pool`);
      }
      throw err;
    }
    const from = seen.pool ?? '(none)';
    if (this.convergedAtThisGeneration()) {
      const drift = await this.reportCorrectedDrift(driftRecords({ changes: [], resizes: [], shrinks: [] }, true, this.status.drift, [{ field: 'pool', observed: from, desired: pool, corrected: true }]), ['pool']);
      await this.progress('DriftCorrected', 'set back pool, changed outside Phoenix', { drift });
    } else {
      await this.setup.events.normal(this.current, 'Configured', 'Update', `moved from pool ${from} to pool ${pool}`);
    }
    return { requeueAfter: 100 };
  }

  /** Brings the guest firewall's options and rule list to the spec; true when it wrote. */
  private async convergeFirewall(api: GuestApi): Promise<boolean> {
    const spec = this.spec.firewall;
    if (!spec) return false;
    const options = await api.firewallOptions();
    const changes = optionChanges(spec, options);
    const changed = Object.keys(changes);
    if (changed.length) await api.setFirewallOptions(changes, typeof options['digest'] === 'string' ? options['digest'] : undefined);
    if (spec.rules !== undefined) {
      const plan = planRules(spec.rules.map(desiredRule), (await api.firewallRules()).map(observedRule));
      for (const step of plan) {
        if (step.op === 'update') await api.updateFirewallRule(step.pos, step.set, step.delete);
        else if (step.op === 'create') await api.createFirewallRule(step.pos, step.set);
        else await api.deleteFirewallRule(step.pos);
      }
      if (plan.length) changed.push(`${plan.length} rule edits`);
    }
    if (changed.length && this.status.configDigest !== undefined) {
      await this.setup.events.normal(this.current, 'FirewallConfigured', 'Update', `firewall: ${changed.join(', ')}`);
    }
    return changed.length > 0;
  }

  /** Guests on the same hypervisor with a lower start order that are not running yet. */
  private startOrderBlockers(): string[] {
    const peers = [...this.shared.peers()];
    return peers
      .filter((p) => p.metadata.uid !== this.current.metadata.uid && startsAfter(this.current, p) && (p.status as { powerState?: string } | undefined)?.powerState !== 'Running')
      .map((p) => `${p.kind ?? 'guest'} ${p.metadata.name}`);
  }

  /** The last reconcile converged this very generation, so any difference now came from outside. */
  private convergedAtThisGeneration(): boolean {
    const ready = this.status.conditions?.find((c) => c.type === 'Ready');
    return ready?.status === 'True' && this.status.observedGeneration === this.current.metadata.generation && this.status.configDigest !== undefined;
  }

  /**
   * Keeps the snapshots in spec.snapshots: takes missing ones, and deletes those dropped from
   * the list, but only if Phoenix took them (status.snapshots). One task per reconcile.
   */
  private async ensureSnapshots(api: GuestApi, isTemplate: boolean): Promise<ReconcileResult | undefined> {
    const wanted = this.spec.snapshots ?? [];
    const managed = this.status.snapshots ?? [];
    if ((!wanted.length && !managed.length) || isTemplate) return undefined;
    const existing = new Set((await api.snapshots()).map((s) => s.name).filter((n) => n !== 'current'));
    const missing = wanted.find((s) => !existing.has(s.name));
    if (missing) {
      const upid = await api.createSnapshot(missing.name, missing.description);
      await this.setup.events.normal(this.current, 'Snapshotting', 'Snapshot', `taking snapshot ${missing.name}`);
      await this.progress('Snapshotting', `taking snapshot ${missing.name}`, {
        snapshots: [...new Set([...managed, missing.name])].sort(),
        task: { upid, operation: 'snapshot', node: api.node, status: 'running', startTime: new Date().toISOString() },
      });
      return { requeueAfter: 500 };
    }
    const dropped = managed.find((name) => !wanted.some((w) => w.name === name));
    if (dropped === undefined) return undefined;
    const remaining = managed.filter((name) => name !== dropped);
    if (!existing.has(dropped)) {
      await this.progress('SnapshotGone', `snapshot ${dropped} no longer exists`, { snapshots: remaining.length ? remaining : undefined });
      return { requeueAfter: 100 };
    }
    const upid = await api.deleteSnapshot(dropped);
    await this.setup.events.normal(this.current, 'SnapshotDeleting', 'Snapshot', `deleting snapshot ${dropped}, dropped from spec.snapshots`);
    await this.progress('SnapshotDeleting', `deleting snapshot ${dropped}`, {
      snapshots: remaining.length ? remaining : undefined,
      task: { upid, operation: 'snapshot-delete', node: api.node, status: 'running', startTime: new Date().toISOString() },
    });
    return { requeueAfter: 500 };
  }

  /**
   * With spec.snapshotBeforeRestart, a restart that applies pending changes is preceded by a
   * snapshot (phoenix-restart-<time>), so the change can be rolled back.
   */
  private async snapshotBeforeRestart(api: GuestApi): Promise<ReconcileResult | undefined> {
    if (!this.spec.snapshotBeforeRestart) return undefined;
    const last = this.status.lastTask;
    if (last?.operation === 'restart-snapshot' && last.exitStatus === 'OK') return undefined;
    const name = `${restartSnapshotPrefix}${new Date().toISOString().replace(/[-:T.Z]/g, '')}`;
    const upid = await api.createSnapshot(name, 'taken by Phoenix before a restart that applies pending changes');
    await this.setup.events.normal(this.current, 'Snapshotting', 'Snapshot', `taking snapshot ${name} before restarting`);
    return this.trackTask(api, upid, 'restart-snapshot', `taking snapshot ${name} before restarting`);
  }

  /** Keeps the newest `snapshotBeforeRestart.keep` automatic snapshots, deleting older ones. */
  private async pruneRestartSnapshots(api: GuestApi): Promise<ReconcileResult | undefined> {
    const keep = this.spec.snapshotBeforeRestart?.keep ?? 3;
    if (!this.spec.snapshotBeforeRestart || this.status.lastTask?.operation !== 'reboot') return undefined;
    const automatic = (await api.snapshots()).map((s) => s.name).filter((n) => n.startsWith(restartSnapshotPrefix)).sort();
    const oldest = automatic.length > keep ? automatic[0] : undefined;
    if (!oldest) return undefined;
    const upid = await api.deleteSnapshot(oldest);
    return this.trackTask(api, upid, 'snapshot-delete', `deleting automatic snapshot ${oldest} (keeping ${keep})`);
  }

  /**
   * A guest that was converged in one power state and is found in the other was started or
   * stopped outside Phoenix: that is drift like any option's, reported the same way.
   */
  private async powerDrift(observed: 'Running' | 'Stopped', desired: 'Running' | 'Stopped'): Promise<Record<string, unknown>> {
    if (!this.convergedAtThisGeneration() || this.status.powerState !== desired) return {};
    const record = { field: 'powerState', observed, desired, corrected: true };
    return { drift: await this.reportCorrectedDrift(driftRecords({ changes: [], resizes: [], shrinks: [] }, true, this.status.drift, [record]), ['powerState']) };
  }

  /** One Warning event and one metric count per corrected option; returns the new status.drift. */
  private async reportCorrectedDrift(records: DriftRecord[], options: readonly string[]): Promise<DriftRecord[]> {
    for (const option of options) this.deps.driftCorrections.inc({ kind: this.adapter.kind, option });
    await this.setup.events.warning(this.current, 'DriftCorrected', 'Update', `changed outside Phoenix and set back: ${records.map((r) => `${r.field}: ${r.observed} → ${r.desired}`).join('; ')}`);
    return withDriftHistory(records, this.status.drift);
  }

  private async powerTask(api: GuestApi, operation: string, submit: () => Promise<string>, message: string, fields: Record<string, unknown> = {}): Promise<ReconcileResult> {
    let upid: string;
    try {
      upid = await submit();
    } catch (err) {
      // "already running" / "not running": the state moved under us; observe it again.
      if (isProxmoxError(err, 'ServerError') && /already running|not running/.test((err as Error).message)) return { requeueAfter: 500 };
      if (isProxmoxError(err, 'Locked')) throw new RetryableError('GuestLocked', (err as Error).message);
      throw err;
    }
    return this.trackTask(api, upid, operation, message, fields);
  }

  private async trackTask(api: GuestApi, upid: string, operation: string, message: string, fields: Record<string, unknown> = {}): Promise<ReconcileResult> {
    // restart-snapshot → RestartSnapshot: condition reasons are CamelCase words.
    const reason = operation.split('-').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
    await this.progress(reason, message, {
      ...fields,
      task: { upid, operation, node: api.node, status: 'running', startTime: new Date().toISOString() },
    });
    return { requeueAfter: 500 };
  }

  /** Observe mode: read and report, never write to Proxmox. */
  private async observeOnly(connection: Connection): Promise<ReconcileResult | void> {
    const vmid = this.status.vmid ?? this.spec.vmid ?? this.spec.adopt?.vmid ?? (this.spec.adopt?.name ? await this.findByName(connection, this.spec.adopt.name) : undefined);
    if (vmid === undefined) throw new TerminalError('NothingToObserve', 'managementPolicy Observe needs spec.vmid or spec.adopt to find the guest');
    const api = new GuestApi(connection.client, this.spec.node, this.adapter.type, vmid);
    const config = await api.config();
    if (!config) {
      await this.progress('GuestNotFound', `observing: no ${this.adapter.type} guest ${vmid} on node ${this.spec.node}`, { vmid, node: this.spec.node });
      return { requeueAfter: untilNextCycle(Date.now(), this.observePeriodMs()) };
    }
    const diff = diffConfig(this.adapter.desired(this.current, this.identity, this.secrets(), config), config);
    // The description carries no marker in Observe mode, so it is not a difference worth reporting.
    const changes = diff.changes.filter((c) => c.key !== 'description');
    const current = await api.currentStatus();
    const drift = driftRecords({ ...diff, changes }, false, this.status.drift);
    this.converged = true;
    await this.write({
      phase: 'ready',
      reason: 'Observed',
      message: `observing VMID ${vmid} (no changes made): ${changes.length + diff.resizes.length} differences from the spec`,
      fields: { vmid, node: this.spec.node, powerState: current.status === 'running' ? 'Running' : 'Stopped', drift: drift.length ? drift : undefined, importedConfig: importedConfig(config), configDigest: config.digest },
    });
    return { requeueAfter: untilNextCycle(Date.now(), this.observePeriodMs()) };
  }

  private async delete(): Promise<ReconcileResult | void> {
    if (!hasFinalizer(this.current, phoenixFinalizer)) return;
    const done = async (reason: string, note: string) => {
      await this.setup.events.normal(this.current, reason, 'Delete', note);
      this.deps.allocator.release(this.key);
      this.deps.capacity.release(this.key);
      await removeFinalizer(this.setup.client, this.adapter.resource, this.current, phoenixFinalizer);
    };
    if ((this.spec.managementPolicy ?? 'Manage') === 'Observe') return done('Released', 'Observe mode: the guest is left as it is');
    const vmid = this.status.vmid;
    if (vmid === undefined) return done('Deleted', 'no guest was ever created');
    const connection = this.deps.connections.get(this.spec.hypervisorRef.name);
    if (!connection) {
      await this.progress('WaitingForHypervisor', `cannot reach PhoenixHypervisor ${this.spec.hypervisorRef.name} to delete guest ${vmid}; the finalizer stays until it can (remove it by hand to abandon the guest)`);
      return { requeueAfter: 10_000 };
    }
    const task = this.status.task;
    if (task) {
      const outcome = await this.pollTask(connection, task);
      if (outcome.running) return { requeueAfter: outcome.delayMs };
    }
    const api = new GuestApi(connection.client, this.status.node ?? this.spec.node, this.adapter.type, vmid);
    const config = await api.config();
    if (!config) return done('Deleted', `guest ${vmid} is gone`);
    if (config.lock) {
      await this.progress('GuestLocked', `waiting for lock ${config.lock} on guest ${vmid} before deleting it`);
      return { requeueAfter: 2_000 };
    }
    if (ownershipOf(config.description, this.current.metadata.uid ?? '') !== 'ours') {
      return done('LeftAlone', `guest ${vmid} does not carry this object's marker; Phoenix did not touch it`);
    }
    const policy = this.spec.deletionPolicy ?? (this.status.adopted ? 'Retain' : 'Delete');
    if (policy === 'Retain') {
      const text = stripMarker(String(config.description ?? '')).trimEnd();
      await api.updateConfig(text ? { description: text } : {}, text ? [] : ['description'], config.digest);
      return done('Retained', `guest ${vmid} keeps running; Phoenix's marker was removed`);
    }
    if (String(config.protection ?? '0') === '1') {
      await this.write({ phase: 'stalled', reason: 'ProtectionEnabled', message: `guest ${vmid} has Proxmox protection set, which blocks deletion; turn it off in Proxmox (or set spec.protection: false before deleting) to let Phoenix delete it` });
      return { requeueAfter: 60_000 };
    }
    const state = await api.currentStatus();
    if (state.status === 'running') return this.powerTask(api, 'stop', () => api.stop(), `stopping guest ${vmid} before destroying it`);
    let upid: string;
    try {
      upid = await api.destroy();
    } catch (err) {
      if (isProxmoxError(err, 'NotFound')) return done('Deleted', `guest ${vmid} is gone`);
      throw err;
    }
    await this.setup.events.normal(this.current, 'Deleting', 'Delete', `destroying guest ${vmid} with its disks`);
    return this.trackTask(api, upid, 'destroy', `destroying guest ${vmid}`);
  }
}
