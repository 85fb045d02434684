import type { ReconcileResult, Reconciler } from '../../runtime/controller.ts';
import { RetryableError, TerminalError } from '../../runtime/errors.ts';
import { isBeingDeleted } from '../../runtime/finalizers.ts';
import { findCondition, type Condition } from '../../runtime/conditions.ts';
import { type ControllerDefinition, type ControllerSetup, defineController } from '../../runtime/manager.ts';
import { secrets as secretsResource, type KubeObject } from '../../runtime/resource.ts';
import { refOf } from '../../runtime/object-key.ts';
import { type PhoenixHypervisor, phoenixHypervisors, phoenixLxcs, phoenixStacks, phoenixVms } from '../../api/objects.ts';
import { isProxmoxError } from '../../clients/proxmox/errors.ts';
import { type ConfigDiff, type DesiredConfig, diffConfig } from '../../guests/desired.ts';
import { ownershipOf } from '../../guests/marker.ts';
import { driftRecords } from '../../guests/drift-report.ts';
import { formatSize } from '../../proxmox/size.ts';
import { blockingHostItems, hostNeeds } from '../../guests/host-needs.ts';
import type { Connection } from '../hypervisor/connections.ts';
import type { SecretObject } from '../secrets.ts';
import { IdenticalWrites, maxIdenticalWrites } from '../identical-writes.ts';
import { dependencyCaches, dependsOn, isReady } from '../dependencies.ts';
import { GuestApi, type GuestConfig } from './guest-api.ts';
import type { GuestAdapter, GuestObject } from './adapter.ts';
import { guestAddresses, hasDynamicAddresses } from './addresses.ts';
import { GuestContext, type GuestControllerDeps } from './guest-context.ts';
import { hostConfigReasons } from '../hypervisor/host/host-config.ts';
import { type StartOrdered, startsAfter } from './start-order.ts';
import { bringIntoExistence, ensureVmid, vmidTaken } from './creation.ts';
import { adopt } from './adoption.ts';
import { ensureSnapshots, pruneRestartSnapshots } from './snapshots.ts';
import { convergeTemplateAndPower, restartForPending } from './power.ts';
import { deleteGuest } from './deletion.ts';
import { observeOnly } from './observe-only.ts';
import { convergePool } from './converge-pool.ts';
import { convergeFirewall } from './converge-firewall.ts';
import { runningTask } from '../tasks.ts';

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
      const { caches, lookup } = dependencyCaches((resource) => setup.cache<KubeObject>(resource));
      const guests = () => setup.primary.list();
      // Guests of both kinds: VMIDs and start order are shared between containers and VMs.
      const peers = () => [...caches.PhoenixLXC.list(), ...caches.PhoenixVM.list()] as (KubeObject & StartOrdered)[];

      setup.watchReadiness<PhoenixHypervisor>(phoenixHypervisors, (hv) =>
        guests().filter((g) => g.spec.hypervisorRef.name === hv.metadata.name).map(refOf));
      for (const resource of [phoenixLxcs, phoenixVms, phoenixStacks]) {
        setup.watchReadiness<KubeObject>(resource, (dep) =>
          guests()
            .filter((g) => dependsOn(g, dep) || startsAfter(g, dep as KubeObject & StartOrdered))
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

/** The order of a guest's lifecycle steps; each step is a module taking this reconcile as its context. */
class GuestReconcile<O extends GuestObject> extends GuestContext<O> {
  async reconcile(): Promise<ReconcileResult | void> {
    for (const vmid of [this.status.vmid, this.spec.vmid]) if (vmid !== undefined) this.deps.allocator.claim(vmid, this.key);
    if (isBeingDeleted(this.current)) return deleteGuest(this);
    if (!(await this.admitted(this.deps.validator, this.shared.lookup))) return;
    const connection = await this.connection();
    if (!('client' in connection)) return connection;
    if (this.mode === 'Observe') return observeOnly(this, connection);

    const polling = await this.pollTask(connection);
    if (polling) return polling;

    const vmid = await ensureVmid(this, connection);
    if (vmid === undefined) return { requeueAfter: 100 };
    const node = this.status.node ?? this.spec.node;
    const api = new GuestApi(connection.client, node, this.adapter.type, vmid);
    const config = await api.config();
    if (!config) {
      const moved = await this.findElsewhere(connection, vmid, node);
      if (moved) return moved;
      return bringIntoExistence(this, connection, api);
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
    const status = hv.status as { observedGeneration?: number; hostPending?: string[]; conditions?: Condition[] } | undefined;
    const ready = findCondition(status?.conditions, 'Ready');
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

  /** A guest moved outside Phoenix (HA, a person) is followed to its new node, not recreated. */
  private async findElsewhere(connection: Connection, vmid: number, node: string): Promise<ReconcileResult | undefined> {
    if (this.status.configDigest === undefined) return undefined;
    // A fresh list: the cycle's snapshot may predate the move.
    const found = await connection.resources.guest(vmid, Date.now());
    if (!found || found.type !== this.adapter.type || found.node === node) return undefined;
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
    if (this.spec.adopt) return adopt(this, connection, api, config);
    if (this.spec.vmid === undefined && this.status.configDigest === undefined) return vmidTaken(this, api.vmid);
    throw new TerminalError('NotOwned', `VMID ${api.vmid} holds a guest Phoenix did not create (${ownership === 'foreign' ? 'it belongs to another Phoenix object' : 'it has no Phoenix marker'}), so Phoenix will not change it. To manage it, set spec.adopt.vmid: ${api.vmid}`);
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

    const snapshotStep = await ensureSnapshots(this, api, isTemplate, steady);
    if (snapshotStep) return snapshotStep;

    // Out of steady state the snapshot may predate Phoenix's own last action: ask the guest.
    const running = (steady ? await this.powerFromCycle(connection, api) : (await api.currentStatus()).status) === 'running';
    const powerStep = await convergeTemplateAndPower(this, api, isTemplate, running);
    if (powerStep) return powerStep;

    const pending = isTemplate ? [] : steady ? [...(this.status.pendingChanges ?? [])] : (await api.pending()).filter((p) => p.pending !== undefined || p.delete !== undefined).map((p) => p.key).sort();
    const restarting = await restartForPending(this, api, pending, running);
    if (restarting) return restarting;
    const pruned = await pruneRestartSnapshots(this, api, steady);
    if (pruned) return pruned;

    // A DHCP lease can change with no config change, so dynamic addresses are read every cycle.
    const dynamic = hasDynamicAddresses(this.spec);
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
      return { requeueAfter: this.nextCycle() };
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
    return { requeueAfter: this.nextCycle() };
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
}
