import type { Counter } from '../runtime/prometheus.ts';
import type { ControllerSetup } from '../runtime/manager.ts';
import type { KubeObject, ResourceType } from '../runtime/resource.ts';
import type { Informer } from '../runtime/informer.ts';
import type { StatusUpdate } from '../runtime/status-writer.ts';
import type { SpecValidator } from '../api/validation.ts';
import { phoenixFinalizer } from '../api/objects.ts';
import { ensureFinalizer, hasFinalizer } from '../runtime/finalizers.ts';
import { refOf } from '../runtime/object-key.ts';
import { TerminalError } from '../runtime/errors.ts';
import { dependencyGate, type DependencyRef } from './dependencies.ts';
import { untilNextCycle } from './observe-cycle.ts';
import { withDriftHistory, type DriftRecord } from './drift-records.ts';
import type { IdenticalWrites } from './identical-writes.ts';
import type { SecretObject } from './secrets.ts';

/** What the guest and stack controllers are both given. */
export interface ReconcileDeps {
  readonly validator: SpecValidator;
  /** The controller's --observe-period: how often an object is read to detect drift. */
  readonly observePeriodMs: number;
  readonly driftCorrections: Counter<'kind' | 'option'>;
}

/** What every reconcile of one controller shares: caches and the perpetual-diff guard. */
export interface ReconcileShared {
  readonly lookup: (ref: DependencyRef) => KubeObject | undefined;
  readonly secretCache: Informer<SecretObject>;
  readonly identicalWrites: IdenticalWrites;
}

type Managed = KubeObject & { spec: { managementPolicy?: 'Manage' | 'Observe' }; status?: object };

/**
 * One reconcile of one object: its latest copy and the status writes that replace it. Each
 * write returns the object as the API server stored it, so a later step of the same reconcile
 * never writes from a stale copy (which the API server would refuse as a conflict).
 */
export abstract class ReconcileContext<O extends Managed> {
  readonly key: string;
  /** Set once the object reached its declared state: the perpetual-diff guard then settles. */
  converged = false;
  current: O;
  readonly setup: ControllerSetup<O>;
  private readonly resource: ResourceType;
  private readonly kind: DependencyRef['kind'];

  constructor(setup: ControllerSetup<O>, resource: ResourceType, kind: DependencyRef['kind'], object: O) {
    this.setup = setup;
    this.resource = resource;
    this.kind = kind;
    this.current = object;
    this.key = `${kind} ${object.metadata.namespace}/${object.metadata.name}`;
  }

  get spec(): O['spec'] {
    return this.current.spec;
  }

  get mode(): 'Manage' | 'Observe' {
    return this.spec.managementPolicy ?? 'Manage';
  }

  /** How often the object is observed to detect drift. */
  abstract observePeriodMs(): number;

  /** The delay until the object's next observation cycle starts (see observe-cycle.ts). */
  nextCycle(): number {
    return untilNextCycle(Date.now(), this.observePeriodMs());
  }

  get status(): NonNullable<O['status']> {
    // Every status field is optional, so an object not yet written to reads as an empty status.
    return (this.current.status ?? {}) as NonNullable<O['status']>;
  }

  /**
   * What guests and stacks check before they reach Proxmox or Portainer: the finalizer (Manage
   * mode only, since Observe never holds up a deletion), a valid spec, and Ready dependencies.
   * False when the reconcile ends here, waiting for a dependency (which wakes it when Ready).
   */
  async admitted(validator: SpecValidator, lookup: ReconcileShared['lookup']): Promise<boolean> {
    if (this.mode === 'Manage' && !hasFinalizer(this.current, phoenixFinalizer)) {
      this.current = await ensureFinalizer(this.setup.client, this.resource, this.current, phoenixFinalizer);
    }
    const invalid = validator.validate(this.kind, this.spec);
    if (invalid.length) throw new TerminalError('InvalidSpec', invalid.map((e) => `${e.field}: ${e.message}`).join('; '));
    const gate = dependencyGate({ kind: this.kind, ...refOf(this.current) }, this.current as Parameters<typeof dependencyGate>[1], lookup);
    if (gate.cycle) throw new TerminalError('DependencyCycle', gate.cycle);
    if (!gate.waiting.length) return true;
    await this.progress('WaitingForDependencies', `waiting for ${gate.waiting.join(', ')}`);
    return false;
  }

  async write(update: StatusUpdate): Promise<void> {
    const result = await this.setup.status.update(this.resource, this.current, update);
    this.current = result.object;
  }

  async progress(reason: string, message: string, fields?: Record<string, unknown>): Promise<void> {
    await this.write({ phase: 'reconciling', reason, message, ...(fields ? { fields } : {}) });
  }

  /**
   * A wait that is the controller's trouble, not the object's (its endpoint not yet checked or
   * unreachable, a lock held by another task): Synced=False says why, and a converged object
   * stays Ready until the trouble outlasts the ready grace period (see runtime/conditions.ts).
   */
  async hold(reason: string, message: string, fields?: Record<string, unknown>): Promise<void> {
    await this.write({ phase: 'trouble', reason, message, ...(fields ? { fields } : {}) });
  }

  /**
   * Drift that was just set back, the same way for every kind: one metric count per option, one
   * DriftCorrected warning naming each field's old and new value (or `note`), and the new
   * `status.drift` (these records first, then the history).
   */
  async reportCorrectedDrift(counter: Counter<'kind' | 'option'> | undefined, records: readonly DriftRecord[], options: readonly string[], note?: string): Promise<DriftRecord[]> {
    for (const option of options) counter?.inc({ kind: this.kind, option });
    const text = note ?? `changed outside Phoenix and set back: ${records.map((r) => `${r.field}: ${r.observed} → ${r.desired}`).join('; ')}`;
    await this.setup.events.warning(this.current, 'DriftCorrected', 'Update', text);
    return withDriftHistory(records, (this.status as { drift?: DriftRecord[] }).drift);
  }
}
