import type { ReconcileResult, Reconciler } from '../../runtime/controller.ts';
import { RetryableError, TerminalError } from '../../runtime/errors.ts';
import { isBeingDeleted } from '../../runtime/finalizers.ts';
import { findCondition, type Condition } from '../../runtime/conditions.ts';
import { type ControllerDefinition, type ControllerSetup, defineController } from '../../runtime/manager.ts';
import { namespaces as namespacesResource, secrets as secretsResource, type KubeObject } from '../../runtime/resource.ts';
import { refOf } from '../../runtime/object-key.ts';
import { type PhoenixHypervisor, phoenixHypervisors, phoenixLxcs, phoenixStacks, phoenixVms } from '../../api/objects.ts';
import { isProxmoxError } from '../../clients/proxmox/errors.ts';
import { type ConfigDiff, type DesiredConfig, diffConfig } from '../../guests/desired.ts';
import { driftRecords } from '../../guests/drift-report.ts';
import { rootCommand, splitRootOnly } from '../../guests/root-only.ts';
import { formatSize } from '../../proxmox/size.ts';
import { blockingHostItems, hostNeeds } from '../../guests/host-needs.ts';
import type { Connection } from '../hypervisor/connections.ts';
import type { SecretObject } from '../secrets.ts';
import { IdenticalWrites, maxIdenticalWrites } from '../identical-writes.ts';
import { dependencyCaches, dependentsOf, indexDependencies, isReady } from '../dependencies.ts';
import type { GuestApi, GuestConfig } from './guest-api.ts';
import type { GuestAdapter, GuestObject } from './adapter.ts';
import { guestAddresses, hasDynamicAddresses } from './addresses.ts';
import { GuestContext, type GuestControllerDeps, type OwnClone } from './guest-context.ts';
import { hostConfigReasons } from '../hypervisor/host/host-config.ts';
import { type StartOrdered, startsAfter } from './start-order.ts';
import { GuestPeers, guestsOn, startOrderedGuests } from './peers.ts';
import { bringIntoExistence, createSlot, knownAbsent, vmidTaken } from './creation.ts';
import { assertNamespaceAllowed, assertNoVmidConflict, ensureVmid, heldVmids, isCreationLock, locate } from './identity.ts';
import { checkOwnership } from './ownership.ts';
import { ensureSnapshots, pruneRestartSnapshots } from './snapshots.ts';
import { convergeTemplateAndPower, restartForPending } from './power.ts';
import { deleteGuest } from './deletion.ts';
import { observeOnly } from './observe-only.ts';
import { convergePool } from './converge-pool.ts';
import { convergeFirewall } from './converge-firewall.ts';
import { runningTask } from '../tasks.ts';
import { configMaps, type ConfigMapObject } from '../configmaps.ts';
import { ensureUserDataSnippet } from './cloud-init-snippets.ts';
import { isEarlierSnippet } from '../../guests/cloud-init-snippet.ts';
import { convergeProvisioning, provisionReferences, stepsPlan, templateProvisioning, type ProvisionOutcome } from './provisioning.ts';
import { guestTransport } from './guest-transport.ts';
import { markLineage } from './lineage.ts';
import { writableFromPrediction, type PredictedClone } from '../../guests/clone-prediction.ts';
import { insideFinished } from '../../provision/chain.ts';
import { lineage, readProvisioned, withProvisioned } from '../../provision/lineage.ts';
import { ownerMarkerPattern } from '../../guests/marker.ts';
import { convergeHealthChecks } from './health-checks.ts';
import type { StepStatus } from '../../api/provision.ts';

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
    // A guest's reconcile mostly waits on Proxmox; one worker would queue every guest behind it.
    concurrency: 8,
    setup(setup: ControllerSetup<O>): Reconciler<O> {
      const { caches, lookup } = dependencyCaches((resource) => setup.cache<KubeObject>(resource));
      const guests = () => setup.primary.list();
      // Guests of both kinds: VMIDs and start order are shared between containers and VMs.
      const peers = new GuestPeers(caches.PhoenixLXC, caches.PhoenixVM);
      indexDependencies(setup.primary);

      // The hypervisor's readiness and its spec (allowedNamespaces) both decide what a guest may do.
      setup.watchReadiness<PhoenixHypervisor>(phoenixHypervisors, (hv) => guestsOn(setup.primary, hv.metadata.name).map(refOf), { specChanges: true });
      for (const resource of [phoenixLxcs, phoenixVms, phoenixStacks]) {
        setup.watchReadiness<KubeObject>(resource, (dep) => {
          const hypervisor = (dep as KubeObject & StartOrdered).spec?.hypervisorRef?.name;
          const later = hypervisor === undefined ? [] : startOrderedGuests(setup.primary, hypervisor).filter((g) => startsAfter(g, dep as KubeObject & StartOrdered));
          return [...new Set([...dependentsOf(setup.primary, dep), ...later])].map(refOf);
        });
      }
      setup.watchMapped<SecretObject>(secretsResource, (secret) =>
        guests()
          .filter((g) => g.metadata.namespace === secret.metadata.namespace && (adapter.secretRefs(g).some((r) => r.name === secret.metadata.name) || provisionReferences(g.spec).secrets.has(secret.metadata.name)))
          .map(refOf));
      setup.watchMapped<ConfigMapObject>(configMaps, (cm) =>
        guests().filter((g) => g.metadata.namespace === cm.metadata.namespace && provisionReferences(g.spec).configMaps.has(cm.metadata.name)).map(refOf));
      // A namespace's labels decide whether a hypervisor's allowedNamespaces admits its guests.
      setup.watchMapped<KubeObject>(namespacesResource, (ns) => guests().filter((g) => g.metadata.namespace === ns.metadata.name).map(refOf));
      const namespaceCache = setup.cache<KubeObject>(namespacesResource);
      const secretCache = setup.cache<SecretObject>(secretsResource);
      const identicalWrites = new IdenticalWrites();
      const configMapCache = setup.cache<ConfigMapObject>(configMaps);
      // When this process could first have acted on each object: the later of when its cache
      // first held the object and when this controller began reconciling (after leadership).
      const seen = new Map<string, number>();
      let reconcilingSince: number | undefined;
      setup.primary.addHandler({
        onAdd: (o) => seen.set(o.metadata.uid ?? '', Date.now()),
        onDelete: (o) => seen.delete(o.metadata.uid ?? ''),
      });
      const actingSince = (o: KubeObject): number => Math.max(seen.get(o.metadata.uid ?? '') ?? Date.now(), reconcilingSince ?? Date.now());
      const shared = {
        lookup, secretCache, configMapCache, identicalWrites, peers, actingSince,
        namespace: (name: string) => namespaceCache.get(name), connectionWaits: new Map<string, number>(), lastProbes: new Map<string, number>(), powerUnsure: new Set<string>(), powerLeft: new Map<string, 'running' | 'stopped'>(),
        beforeStart: new Map<string, { generation: number | undefined; vmid: number; node: string; config: GuestConfig }>(),
        ownClones: new Map<string, OwnClone>(),
      };

      return {
        async reconcile({ object, log, signal, stopping }): Promise<ReconcileResult | void> {
          if (!object) return;
          reconcilingSince ??= Date.now();
          const run = new GuestReconcile(adapter, deps, setup, object, shared, { signal, stopping });
          try {
            return await run.reconcile();
          } catch (err) {
            // Proxmox's 403 names the path and privilege; fixing the token's ACL happens in
            // Proxmox, where no watch sees it, so this is retried with backoff, not stalled.
            if (isProxmoxError(err, 'Forbidden')) throw new RetryableError('InsufficientPrivileges', `the API token lacks a privilege: ${err.message}`, { cause: err });
            throw err;
          } finally {
            if (run.converged) {
              identicalWrites.settle(run.key);
              shared.powerUnsure.delete(run.key);
              shared.powerLeft.delete(run.key);
              shared.beforeStart.delete(run.key);
              shared.ownClones.delete(run.key);
            }
            log.debug('guest reconcile finished', { converged: run.converged });
          }
        },
      };
    },
  });
}

/**
 * How long after a restart a guest waits quietly for its (Ready) hypervisor's connection to be
 * checked before it says so in Synced: the check normally takes well under a second.
 */
const startupWaitMs = 10_000;

/** The order of a guest's lifecycle steps; each step is a module taking this reconcile as its context. */
class GuestReconcile<O extends GuestObject> extends GuestContext<O> {
  async reconcile(): Promise<ReconcileResult | void> {
    const hypervisor = this.spec.hypervisorRef.name;
    for (const vmid of heldVmids(this.current)) this.deps.allocator.claim(hypervisor, vmid, this.key);
    if (isBeingDeleted(this.current)) {
      // A clone deleted before its end is never configured: what it was made from is not kept.
      this.shared.ownClones.delete(this.key);
      return deleteGuest(this);
    }
    if (!(await this.admitted(this.deps.validator, this.shared.lookup))) return;
    // Both before any Proxmox call: who may use the hypervisor, and which VMID is whose.
    assertNamespaceAllowed(this, this.shared.lookup({ kind: 'PhoenixHypervisor', name: hypervisor }));
    assertNoVmidConflict(this);
    const connection = await this.connection();
    if (!('client' in connection)) return connection;
    if (this.mode === 'Observe') return observeOnly(this, connection);

    const polling = await this.pollTask(connection);
    if (polling) return polling;
    // A failed operation waits out its backoff, whatever woke the object meanwhile.
    const backoff = this.retryWaitMs();
    if (backoff > 0) return { requeueAfter: backoff };

    const { vmid, allocated } = await ensureVmid(this, connection);
    // A guest known not to exist waits for its create slot before anything is read, and is not
    // looked for again: waiting and the create itself cost Proxmox nothing more.
    const absent = knownAbsent(this, allocated);
    if (absent) {
      const waiting = await createSlot(this, connection);
      if (waiting) return waiting;
    }
    const node = this.status.node ?? this.spec.node;
    const started = absent ? undefined : this.observedBeforeOwnStart(vmid, node);
    const cloned = absent || started ? undefined : this.ownCloneConfig(vmid, node);
    if (cloned) {
      // Its own clone just made the guest: the change is computed from the config the clone
      // made, not read (ownCloneConfig says why the guest is provably this object's); the
      // next reconcile reads it, which verifies it and records its digest.
      const done = await this.converge(connection, this.pve(connection).guest(node, this.adapter.type, vmid), cloned.config, undefined, cloned);
      if (done !== readFirst) return done;
    }
    const found = absent || started ? { api: this.pve(connection).guest(node, this.adapter.type, vmid), config: started } : await locate(this, connection, vmid);
    if (found.otherType) {
      // A guest of the other kind holds the VMID: never this object's.
      if (this.spec.vmid === undefined && this.status.configDigest === undefined && !this.spec.adopt) return vmidTaken(this, vmid);
      throw new TerminalError('VmidInUse', `VMID ${vmid} is a ${found.otherType.type} guest on node ${found.otherType.node}, not a ${this.adapter.type} guest`, { recheckAfterMs: this.nextCycle() });
    }
    const { api, config } = found;
    if (found.unread) {
      await this.hold('GuestUnreadable', `the cluster lists guest ${vmid} on node ${api.node}, but its config could not be read yet; reading it again`);
      return { requeueAfter: 1_000 };
    }
    if (!config) return bringIntoExistence(this, connection, api);
    if (config.lock) {
      // A create or clone lock may be this object's own create whose answer was lost: its
      // marker shows once the task ends. Any lock is waited for, never an error.
      return this.waitForLock(`VMID ${vmid} is locked (${config.lock}) by a running Proxmox task; waiting for it to finish${isCreationLock(config) ? ' before reading whose guest it is' : ''}`);
    }
    // The guest exists and no task holds it: whatever created it is over, even if the
    // status write that recorded its task was lost.
    this.deps.capacity.release(this.key);
    const owned = await checkOwnership(this, connection, api, config);
    if (owned !== 'ours') return owned;
    if (this.status.node !== undefined && api.node !== this.status.node) await this.noteMove(api);
    const placement = await this.placement(connection, api);
    if (placement) return placement;
    return this.converge(connection, api, config, started);
  }

  /**
   * The host items (status.hostPending) this guest uses, while its hypervisor is connected and
   * only applying host configuration; undefined when the hypervisor is not Ready for any other
   * reason (or the reason is unclear), so the guest waits for all of it.
   */
  private hostBlockers(hv: KubeObject): string[] | undefined {
    const status = hv.status as { observedGeneration?: number; hostPending?: string[]; conditions?: Condition[] } | undefined;
    const ready = findCondition(status?.conditions, 'Ready');
    if (!status?.hostPending || status.observedGeneration !== hv.metadata.generation || !ready || !hostConfigReasons.has(ready.reason)) return undefined;
    return blockingHostItems(status.hostPending, hostNeeds(this.spec, this.adapter.sourceVolume(this.current)?.volume));
  }

  /**
   * The hypervisor's connection, or a status saying what the guest waits for. Waiting is the
   * controller's trouble, not the guest's: it polls without calling Proxmox, neither backs off
   * nor uses up the retry budget, and leaves a converged guest Ready (Synced=False says why).
   * Right after a restart the connection is not checked yet while the hypervisor is Ready: that
   * costs no status write at all.
   */
  private async connection(): Promise<Connection | ReconcileResult> {
    const name = this.spec.hypervisorRef.name;
    const hv = this.shared.lookup({ kind: 'PhoenixHypervisor', name });
    const connection = this.deps.connections.get(name);
    if (!hv || !connection || connection.version === undefined) {
      const since = this.shared.connectionWaits.get(this.key) ?? Date.now();
      this.shared.connectionWaits.set(this.key, since);
      if (hv && isReady(hv) && Date.now() - since < startupWaitMs) return { requeueAfter: 500 };
      await this.hold('WaitingForHypervisor', !hv ? `PhoenixHypervisor ${name} does not exist` : `connecting to PhoenixHypervisor ${name}`);
      return { requeueAfter: hv && isReady(hv) ? 1_000 : 30_000 };
    }
    this.shared.connectionWaits.delete(this.key);
    if (!isReady(hv)) {
      const blockers = this.hostBlockers(hv);
      if (blockers === undefined || blockers.length) {
        await this.hold('WaitingForHypervisor', blockers?.length ? `PhoenixHypervisor ${name} is still applying what this guest uses: ${blockers.join(', ')}` : `PhoenixHypervisor ${name} is not Ready`);
        // Items finish without the hypervisor becoming Ready (others may remain), so poll them.
        return { requeueAfter: blockers?.length ? 5_000 : 30_000 };
      }
    }
    // The node the guest is on (it may have been moved there), or the one it is to be created on.
    const node = this.status.node ?? this.spec.node;
    if (!connection.nodes.includes(node)) {
      const known = ((hv.status as { nodes?: { name: string }[] } | undefined)?.nodes ?? []).map((n) => n.name);
      if (!known.includes(node)) {
        throw new TerminalError('UnknownNode', `node ${node} is not part of PhoenixHypervisor ${name} (nodes: ${known.join(', ') || 'none'})`, { recheckAfterMs: 60_000 });
      }
      await this.hold('NodeOffline', `node ${node} is offline; checking again in 30 s`);
      return { requeueAfter: 30_000 };
    }
    return connection;
  }

  /**
   * A guest moved outside Phoenix (HA, a person) is followed to its new node, never moved back;
   * the move is no change to the guest itself, so it stays Ready (status.node follows below).
   */
  private async noteMove(api: GuestApi): Promise<void> {
    await this.setup.events.normal(this.current, 'Moved', 'Follow', `guest ${api.vmid} was moved from node ${this.status.node} to ${api.node} outside Phoenix; Phoenix follows it and leaves it there (it migrates only when spec.node changes)`);
  }

  /**
   * Phoenix migrates only when spec.node changes from the node it last placed the guest on
   * (status.targetNode); a guest that is merely elsewhere was moved by HA or a person and stays.
   * A guest Proxmox HA manages is never migrated by Phoenix: HA decides where it runs.
   */
  private async placement(connection: Connection, api: GuestApi): Promise<ReconcileResult | undefined> {
    const placed = this.status.targetNode ?? this.spec.node;
    if (this.spec.node === placed) return undefined;
    if (api.node === this.spec.node) {
      await this.progress('Placed', `guest ${api.vmid} is on node ${api.node}, as spec.node says`, { targetNode: this.spec.node });
      return { requeueAfter: 100 };
    }
    const ha = (await connection.resources.guest(api.vmid, Date.now()))?.hastate;
    if (ha !== undefined) {
      throw new TerminalError('HAManaged', `guest ${api.vmid} is managed by Proxmox HA (state ${ha}), which decides its node; Phoenix does not migrate it. Move it with HA (ha-manager migrate, or node affinity rules), then set spec.node to ${api.node === placed ? 'where it runs' : api.node}`, { recheckAfterMs: this.nextCycle() });
    }
    return this.migrate(api);
  }

  /** Changing spec.node migrates the guest instead of re-creating it. */
  private async migrate(api: GuestApi): Promise<ReconcileResult> {
    const running = (await api.currentStatus()).status === 'running';
    let upid: string;
    try {
      upid = await api.migrate(this.spec.node, running);
    } catch (err) {
      if (isProxmoxError(err, 'Locked')) return this.waitForLock(`guest ${api.vmid} is locked by another task; the migration waits: ${err.message}`);
      if (isProxmoxError(err, 'ServerError', 'InvalidParameter')) throw new TerminalError('MigrationRefused', `Proxmox refused to migrate guest ${api.vmid} from ${api.node} to ${this.spec.node}: ${(err as Error).message}`);
      throw err;
    }
    await this.setup.events.normal(this.current, 'Migrating', 'Migrate', `migrating guest ${api.vmid} from ${api.node} to ${this.spec.node}${running ? (api.type === 'qemu' ? ' (online)' : ' (restart mode)') : ''}`);
    return this.trackTask(api, upid, 'migrate', `migrating from ${api.node} to ${this.spec.node}`);
  }

  /**
   * Refuses to write the same change again and again: that is a bug, not drift. Only writes
   * Proxmox accepted count (see IdenticalWrites); the guest is looked at again at its next
   * observation, so it is Ready as soon as Proxmox holds the spec.
   */
  private guardPerpetualDiff(change: unknown, diff: ConfigDiff): void {
    if (this.shared.identicalWrites.exhausted(this.key, change)) {
      throw new TerminalError('PerpetualDiff', `Proxmox accepted the same change ${maxIdenticalWrites} times and still holds a different value for ${diff.changes.map((c) => c.key).join(', ')}; Phoenix stopped writing. Observed: ${diff.changes.map((c) => `${c.key}=${c.observed ?? '(unset)'}`).join('; ')}`, { recheckAfterMs: this.nextCycle() });
    }
  }

  /**
   * `predicted`: the config is the one Phoenix's own clone has just made, not one read (see
   * ownCloneConfig). Only a change is written from it, and only to what it knows: with nothing
   * to change, or a change to what Proxmox made anew (a MAC address, a volume) or to a disk, it
   * answers `readFirst` and the guest is read as always.
   */
  private async converge(connection: Connection, api: GuestApi, config: GuestConfig, startedFrom: GuestConfig | undefined): Promise<ReconcileResult | void>;
  private async converge(connection: Connection, api: GuestApi, config: GuestConfig, startedFrom: undefined, predicted: PredictedClone): Promise<ReconcileResult | void | typeof readFirst>;
  private async converge(connection: Connection, api: GuestApi, config: GuestConfig, startedFrom: GuestConfig | undefined, predicted?: PredictedClone): Promise<ReconcileResult | void | typeof readFirst> {
    const isTemplate = String(config.template ?? '0') === '1';
    const secretVersions = this.secretVersions();
    const rotated = this.rotatedSecrets(secretVersions);
    // A VM's user-data snippet is on its storage before cicustom names it (and so before a start).
    const userDataSnippet = await ensureUserDataSnippet(this, connection, api, config);
    const desired = this.adapter.desired(this.current, this.identity, this.secrets(), config, rotated, userDataSnippet);
    const fullDiff = diffConfig(desired, config);
    // What only root@pam may set is not written (a token is refused it); see the end of converge.
    const { writable, rootOnly } = splitRootOnly(this.adapter.type, fullDiff.changes, String(config['unprivileged'] ?? '0') === '1');
    const diff = { ...fullDiff, changes: writable };
    if (predicted && (!diff.changes.length || diff.changes.some((c) => !writableFromPrediction(this.adapter.type, predicted, c.key)))) return readFirst;
    if (diff.changes.length) {
      const change = diff.changes.map((c) => [c.key, c.value]);
      this.guardPerpetualDiff(change, diff);
      const reverts = await this.pendingToRevert(api, desired, diff);
      const set: Record<string, string> = {};
      const deletes: string[] = [];
      for (const change of diff.changes) {
        if (reverts.includes(change.key)) continue;
        if (change.value === undefined) deletes.push(change.key);
        // A written description keeps the provisioned marker the guest carries (what its clones inherit).
        else set[change.key] = change.key === 'description' ? withProvisioned(change.value, readProvisioned(String(config.description ?? '')), ownerMarkerPattern) : change.value;
      }
      let upid: string | undefined;
      try {
        // A predicted config has no digest: the guest was made by Phoenix's own clone seconds
        // ago, and whatever the prediction got wrong shows at the next read, which writes again.
        upid = await api.updateConfig(set, deletes, config.digest, reverts);
      } catch (err) {
        // The task failed while Proxmox held the request: as a failed task followed would be.
        if (isProxmoxError(err, 'TaskFailed')) return this.configTaskFailed(err);
        if (isProxmoxError(err, 'Conflict')) throw new RetryableError('ConfigChanged', 'the config changed while Phoenix was updating it; reading it again');
        if (isProxmoxError(err, 'Locked')) return this.waitForLock(`guest ${api.vmid} is locked by another task; the config change waits: ${err.message}`);
        if (isProxmoxError(err, 'InvalidParameter')) throw new TerminalError('RejectedByProxmox', `Proxmox refused the change: ${(err as Error).message}`);
        throw err;
      }
      this.shared.identicalWrites.accepted(this.key, change);
      const fields = diff.changes.map((c) => (c.fields.length ? `${c.key} (${c.fields.join(', ')})` : c.key));
      if (userDataSnippet !== undefined && diff.changes.every((c) => c.key === 'cicustom') && isEarlierSnippet(this.current.metadata.namespace ?? '', this.current.metadata.name ?? '', config['cicustom'], userDataSnippet)) {
        // New user-data content, not drift: Proxmox applies it at the next boot, as any cloud-init change.
        await this.setup.events.normal(this.current, 'Configured', 'Update', `the cloud-init user-data changed: cicustom now names ${userDataSnippet}`);
        const task = upid ? { task: runningTask(upid, 'configure', api.node) } : {};
        await this.progress('Configuring', 'applying the changed cloud-init user-data snippet', task);
        return { requeueAfter: upid ? 500 : 100 };
      }
      if (rotated.size) {
        // New values in a Secret, not drift: record which Secret versions are now applied.
        await this.setup.events.normal(this.current, 'Configured', 'Update', `Secret ${[...rotated].join(', ')} changed, so Phoenix wrote ${fields.join(', ')} again`);
        const task = upid ? { task: runningTask(upid, 'configure', api.node) } : {};
        await this.progress('Configuring', `applying the changed Secret ${[...rotated].join(', ')}`, { secretVersions, ...task });
        return { requeueAfter: upid ? 500 : 100 };
      }
      if (this.convergedAtThisGeneration()) {
        // Changed outside Phoenix since it converged this generation: say what, from what, to what.
        const drift = await this.reportCorrectedDrift(this.deps.driftCorrections, driftRecords(diff, true, this.status.drift), diff.changes.map((c) => c.key.replace(/\d+$/, '')));
        await this.progress('DriftCorrected', `set back ${fields.join(', ')}, changed outside Phoenix`, { drift });
      } else if (this.status.configDigest !== undefined) {
        await this.setup.events.normal(this.current, 'Configured', 'Update', `set ${fields.join(', ')}`);
      }
      if (upid) return this.trackTask(api, upid, 'configure', `updating ${fields.join(', ')}`, { reason: 'Configuring' });
      return { requeueAfter: 100 };
    }
    if (diff.resizes.length) {
      const resize = diff.resizes[0]!;
      const upid = await api.resize(resize.disk, formatSize(resize.toBytes), config.digest);
      await this.setup.events.normal(this.current, 'Resizing', 'Resize', `growing ${resize.disk} from ${formatSize(resize.fromBytes)} to ${formatSize(resize.toBytes)}`);
      if (upid) return this.trackTask(api, upid, 'resize', `growing ${resize.disk} to ${formatSize(resize.toBytes)}`, { reason: 'Resizing' });
      return { requeueAfter: 100 };
    }

    // In steady state (converged at this generation, config unchanged since), pool membership,
    // the pending list and addresses cannot have changed through the config, and the power state
    // comes from the hypervisor's resources snapshot of this cycle: one config read per guest per cycle.
    const steady = this.convergedAtThisGeneration() && config.digest !== undefined && config.digest === this.status.configDigest;
    if (await convergeFirewall(this, api)) return { requeueAfter: 100 };

    const poolStep = await convergePool(this, connection, api, steady);
    if (poolStep) return poolStep;

    // The order inside (provision/chain.ts): start, BeforeProvisioning snapshots, steps, checks,
    // AfterProvisioning snapshots, and for a template shutdown and conversion.
    const insideDeclared = (this.spec.provision?.length ?? 0) > 0 || (this.spec.healthChecks?.length ?? 0) > 0;
    const inherited = this.status.inheritedSteps ?? [];
    const snapshotStep = await ensureSnapshots(this, api, isTemplate, steady, 'Configured', inherited);
    if (snapshotStep) return snapshotStep;

    // Out of steady state the snapshot may predate Phoenix's own last action: ask the guest.
    // Right after its own create, clone or start, Phoenix knows: no need to ask.
    const running = (steady ? await this.powerFromCycle(connection, api) : this.ownPowerState() ?? (await api.currentStatus()).status) === 'running';
    const becoming = this.spec.template === true && !isTemplate;
    // A guest kept Stopped is provisioned like a template-to-be, and shut down instead of converted.
    const keptStopped = !this.spec.template && !isTemplate && this.spec.powerState === 'Stopped' && insideDeclared;
    const steps = (becoming || keptStopped) && insideDeclared ? stepsPlan(this) : undefined;
    const finished = !steps || insideFinished(steps.plan.action === 'done', (this.spec.healthChecks ?? []).map((c) => c.name), this.status.healthChecks);
    const holds = lineage(inherited, steps?.summary ?? []);
    // Kept only for a guest never converged, the only kind observedBeforeOwnStart serves.
    if (!running && this.status.configDigest === undefined) this.shared.beforeStart.set(this.key, { generation: this.current.metadata.generation, vmid: api.vmid, node: api.node, config });
    const powerStep = await convergeTemplateAndPower(this, api, isTemplate, running, finished, () => markLineage(this, api, holds));
    if (powerStep) return powerStep;

    // Right after its own start from a config with nothing pending, nothing is (see observedBeforeOwnStart).
    const pending = isTemplate || config === startedFrom ? [] : steady ? [...(this.status.pendingChanges ?? [])] : (await api.pending()).filter((p) => p.pending !== undefined || p.delete !== undefined).map((p) => p.key).sort();
    const restarting = await restartForPending(this, api, pending, running);
    if (restarting) return restarting;
    const pruned = await pruneRestartSnapshots(this, api, steady);
    if (pruned) return pruned;

    // Inside the running guest: the BeforeProvisioning snapshots, the steps, then the checks.
    const inside = running && !isTemplate;
    if (inside && insideDeclared) {
      const before = await ensureSnapshots(this, api, isTemplate, steady, 'BeforeProvisioning', inherited);
      if (before) return before;
    }
    const transport = once(() => guestTransport(this, connection, api));
    // A DHCP lease can change with no config change, so dynamic addresses are read every cycle;
    // read before the health checks, as http and tcp checks go to the guest's address.
    const dynamic = hasDynamicAddresses(this.spec);
    const readAddresses = async (): Promise<string[]> => (!running ? [] : steady && !dynamic && this.status.powerState === 'Running' ? [...(this.status.ipAddresses ?? [])] : await guestAddresses(api, config, this.spec));
    let addresses: string[] | undefined;
    let provisioned: ProvisionOutcome | undefined;
    let health: Awaited<ReturnType<typeof convergeHealthChecks>> | undefined;
    // What stops work inside the guest (no SSH set up, a host key that is not the pinned one)
    // stalls it, with everything else about it recorded as converged.
    let stalledInside: TerminalError | undefined;
    try {
      const outcome = inside ? await convergeProvisioning(this, transport) : (isTemplate || keptStopped) && insideDeclared ? templateProvisioning(this, isTemplate ? ' before the conversion to a template' : ' before the guest was shut down') : undefined;
      if (outcome && !('fields' in outcome)) return outcome;
      provisioned = outcome;
      addresses = await readAddresses();
      health = inside && !provisioned?.stalled ? await convergeHealthChecks(this, transport, provisioned?.secrets ?? [], addresses) : undefined;
    } catch (err) {
      if (!(err instanceof TerminalError)) throw err;
      stalledInside = err;
    }
    addresses ??= await readAddresses();
    if (health?.restart) {
      // The check's state says "restarted" before the restart is sent: once per failure streak.
      await this.progress('RestartingUnhealthy', `restarting the guest: ${health.restart}`, { ...health.fields });
      await this.setup.events.warning(this.current, 'RestartingUnhealthy', 'Reboot', `restarting the guest: ${health.restart}`);
      return this.powerTask(api, 'reboot', () => api.reboot(), `restarting: ${health.restart}`);
    }
    const insideFields = { ...provisioned?.fields, ...health?.fields };
    const insideConditions = stalledInside && this.spec.provision?.length ? [{ type: 'Provisioned', status: 'False' as const, reason: stalledInside.reason, message: stalledInside.message }] : [...(provisioned?.conditions ?? []), ...(health?.conditions ?? [])];
    const nextCheck = (): number => Math.min(this.nextCycle(), health?.nextDueMs ?? Infinity);
    if (inside && insideDeclared && !stalledInside && !provisioned?.stalled && health?.healthy !== false) {
      // Everything inside is done: the snapshots declared to follow it (final-form), which hold
      // (and say, for clones) every step the guest ran.
      const own = ((provisioned?.fields as { provision?: StepStatus[] } | undefined)?.provision ?? []).filter((r) => r.phase === 'Succeeded');
      const after = await ensureSnapshots(this, api, isTemplate, steady, 'AfterProvisioning', lineage(inherited, own));
      if (after) return after;
      if (becoming || keptStopped) {
        // The template-to-be (or the guest kept Stopped) is done: written down now, so the next reconcile shuts it down.
        await this.progress('Provisioned', `steps and health checks done; shutting down ${becoming ? 'for the conversion to a template next' : 'as powerState Stopped asks'}`, insideFields, insideConditions);
        return { requeueAfter: 100 };
      }
    }

    // Steps (or checks) gone from the spec of a guest that is no template: nothing is left to
    // report about them. A template keeps its records: they are what it holds and its clones inherit.
    const noSteps = !isTemplate && !this.spec.template && !this.spec.provision?.length && !(this.status.provision ?? []).some((r) => r.phase === 'Starting' || r.phase === 'Running');
    const noChecks = !isTemplate && !this.spec.template && !this.spec.healthChecks?.length;
    const removeConditions = [...(noSteps ? ['Provisioned'] : []), ...(noChecks ? ['Healthy'] : [])];
    const fields = {
      ...(noSteps ? { provision: undefined, provisioned: undefined } : {}),
      ...(noChecks ? { healthChecks: undefined } : {}),
      vmid: api.vmid,
      node: api.node,
      powerState: isTemplate || !running ? 'Stopped' : 'Running',
      ipAddresses: addresses.length ? addresses : undefined,
      pendingChanges: pending.length ? pending : undefined,
      configDigest: config.digest,
      secretVersions: Object.keys(secretVersions).length ? secretVersions : undefined,
      // The guest is seen and ours: no create is in doubt and nothing is failing any more.
      creation: undefined,
      retry: undefined,
      targetNode: this.status.targetNode ?? this.spec.node,
      ...insideFields,
    };
    if (stalledInside) {
      await this.write({ removeConditions, phase: 'stalled', reason: stalledInside.reason, message: stalledInside.message, fields, conditions: insideConditions });
      return { requeueAfter: stalledInside.recheckAfterMs ?? this.nextCycle() };
    }
    if (provisioned?.stalled) {
      await this.write({ removeConditions, phase: 'stalled', ...provisioned.stalled, fields, conditions: insideConditions });
      return { requeueAfter: this.nextCycle() };
    }
    if (rootOnly.length) {
      const keys = rootOnly.map((c) => c.key).join(', ');
      await this.write({ removeConditions,
        phase: 'stalled',
        reason: 'RootOnly',
        message: `Proxmox lets only root@pam itself set ${keys}; an API token is refused it whatever its privileges. Everything else is converged. Run this once on node ${api.node} as root, and Phoenix then keeps it: ${rootCommand(this.adapter.type, api.vmid, rootOnly)}`,
        fields,
      });
      return { requeueAfter: this.nextCycle() };
    }
    if (diff.shrinks.length) {
      const text = diff.shrinks.map((s) => `${s.disk} is ${formatSize(s.fromBytes)}, the spec asks for ${formatSize(s.toBytes)}`).join('; ');
      await this.write({ removeConditions, phase: 'stalled', reason: 'ShrinkRefused', message: `${text}. Proxmox cannot shrink a disk and Phoenix never re-creates a guest to do it: set the size to at least the current one`, fields });
      return { requeueAfter: this.nextCycle() };
    }
    this.converged = true;
    const what = `${isTemplate ? 'template' : running ? 'running' : 'stopped'} on ${api.node} as VMID ${api.vmid}`;
    const restart = pending.length
      ? { type: 'RestartRequired', status: 'True' as const, reason: 'PendingChanges', message: `${pending.join(', ')} take effect at the next restart; set restartPolicy: IfRequired to let Phoenix restart the guest` }
      : { type: 'RestartRequired', status: 'False' as const, reason: 'NoPendingChanges', message: '' };
    // The condition is recorded once it has been true, so guests that never needed a restart carry no extra condition.
    const conditions = [...(pending.length || this.status.conditions?.some((c) => c.type === 'RestartRequired') ? [restart] : []), ...insideConditions];
    if (health && !health.healthy) {
      // Readiness means the service works, not only that the guest runs.
      await this.write({ removeConditions, phase: 'reconciling', reason: 'Unhealthy', message: `${what}; health check failing: ${health.failing}`, fields, conditions });
      return { requeueAfter: nextCheck() };
    }
    if (pending.length) {
      await this.write({ removeConditions, phase: 'ready', reason: 'RestartRequired', message: `${what}; ${pending.join(', ')} take effect at the next restart (restartPolicy: Never)`, fields, conditions });
    } else {
      await this.write({ removeConditions, phase: 'ready', reason: 'Converged', message: what, fields, conditions });
    }
    return { requeueAfter: nextCheck() };
  }

  /**
   * Changes made outside Phoenix on a running guest can be pending: the config Phoenix reads
   * shows them, the running guest does not. Where the value in effect already is the spec's,
   * the pending change is cancelled (`revert`) rather than overwritten: writing the spec's value
   * would itself stay pending when Proxmox has no current value to compare it with (the spec
   * asks for a default that the config leaves out), and ask for a restart that changes nothing.
   */
  private async pendingToRevert(api: GuestApi, desired: DesiredConfig, diff: ConfigDiff): Promise<string[]> {
    // A stopped guest takes a change at once (nothing stays pending): the guest Phoenix has just
    // created or cloned is written as it is, with no look at its pending list.
    if (this.ownPowerState() === 'stopped') return [];
    const entries = await api.pending();
    const changed = new Set(diff.changes.map((c) => c.key));
    const pendingKeys = entries.filter((e) => changed.has(e.key) && (e.pending !== undefined || e.delete !== undefined)).map((e) => e.key);
    if (!pendingKeys.length) return [];
    const inEffect: Record<string, unknown> = {};
    for (const e of entries) if (e.value !== undefined) inEffect[e.key] = e.value;
    const stillDifferent = new Set(diffConfig(desired, inEffect).changes.map((c) => c.key));
    return pendingKeys.filter((key) => !stillDifferent.has(key));
  }
}

/** converge's answer when a predicted config does not settle the change: read the guest first. */
const readFirst = Symbol('readFirst');

/** `make`'s value, made on first use only. */
function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}
