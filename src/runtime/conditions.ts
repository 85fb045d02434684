import { isDeepStrictEqual } from 'node:util';
import { secondsTime } from './kube-time.ts';

/**
 * The status contract every Phoenix kind shares, as pure functions: metav1.Condition semantics
 * (lastTransitionTime moves only when a condition's status changes), the kstatus trio
 * Ready / Reconciling / Stalled, which Argo CD, Flux and `kubectl wait` all understand, and
 * `Synced` (in the manner of Crossplane): whether the controller's last attempt to observe and
 * act got through. Ready describes the managed thing; Synced describes the controller's reach.
 */
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  readonly type: string;
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime: string;
  readonly observedGeneration?: number;
}

export type ConditionUpdate = Omit<Condition, 'lastTransitionTime'>;

export interface StandardStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  [field: string]: unknown;
}

export const Ready = 'Ready';
export const Reconciling = 'Reconciling';
export const Stalled = 'Stalled';
export const Synced = 'Synced';

/**
 * The states a reconcile can leave an object in. `failing`: an attempt of the object's own
 * failed and is retried (Ready names the failure, Synced=False says the same). `trouble` is the
 * controller's own: it could not observe or act (restarting, an endpoint unreachable, a failed
 * read, a lock held by another task). Trouble sets Synced=False and leaves Ready, Reconciling
 * and Stalled as the last observation at the current generation had them, when that was Ready
 * or a failure of the object's own (failing or stalled), as long as the trouble is younger than
 * the grace period; otherwise it counts as `reconciling`, so an object on its way to Ready says
 * in Ready what holds it up.
 */
export type Phase = 'ready' | 'reconciling' | 'failing' | 'stalled' | 'trouble';

/** How long trouble may last before a converged object's Ready turns False (see `Phase`). */
export const defaultReadyGraceMs = 2 * 60_000;

const reasonPattern = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;
const maxMessageLength = 32_768;

export function isValidReason(reason: string): boolean {
  return reason.length <= 1024 && reasonPattern.test(reason);
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

/**
 * Sets one condition. The time of the last transition is kept unless the status itself changed,
 * so rewriting the same state (or only a new message) never looks like a transition.
 */
export function setCondition(conditions: readonly Condition[], update: ConditionUpdate, now: Date): Condition[] {
  if (!isValidReason(update.reason)) throw new Error(`invalid condition reason '${update.reason}' for ${update.type}`);
  const message = update.message.length > maxMessageLength ? `${update.message.slice(0, maxMessageLength - 3)}...` : update.message;
  const existing = findCondition(conditions, update.type);
  const lastTransitionTime =
    existing && existing.status === update.status ? existing.lastTransitionTime : formatConditionTime(now);
  const next: Condition = { ...update, message, lastTransitionTime };
  return existing ? conditions.map((c) => (c.type === update.type ? next : c)) : [...conditions, next];
}

/** metav1.Time is whole seconds: writing milliseconds would differ from what the server echoes back. */
export function formatConditionTime(now: Date): string {
  return secondsTime(now.getTime());
}

export interface PhaseChange {
  readonly phase: Phase;
  /** CamelCase, e.g. Succeeded, Progressing, DependencyNotReady, InvalidSpec. */
  readonly reason: string;
  readonly message: string;
}

/** The reason Synced carries while the controller's attempts get through. */
export const syncedReason = 'ReconcileSuccess';

/**
 * The standard conditions for a phase, all stamped with `generation`:
 * ready → Ready=True, Reconciling=False, Stalled=False, Synced=True;
 * reconciling → Ready=False, Reconciling=True, Stalled=False, Synced=True;
 * failing → Ready=False, Reconciling=True, Stalled=False, Synced=False;
 * stalled → Ready=False, Reconciling=False, Stalled=True, Synced=False;
 * trouble (when it does not hold the observation, see `holdsObservation`) → as reconciling, with Synced=False.
 */
export function phaseConditions(change: PhaseChange, generation: number | undefined): ConditionUpdate[] {
  const { phase, reason, message } = change;
  const stamp = generation === undefined ? {} : { observedGeneration: generation };
  const flag = (type: string, on: boolean): ConditionUpdate => ({
    type,
    status: on ? 'True' : 'False',
    reason,
    message: on ? message : '',
    ...stamp,
  });
  const progressing = phase === 'reconciling' || phase === 'failing' || phase === 'trouble';
  return [
    { type: Ready, status: phase === 'ready' ? 'True' : 'False', reason, message, ...stamp },
    flag(Reconciling, progressing),
    flag(Stalled, phase === 'stalled'),
    syncedCondition(phase, reason, message, stamp),
  ];
}

function syncedCondition(phase: Phase, reason: string, message: string, stamp: { observedGeneration?: number }): ConditionUpdate {
  const failed = phase === 'failing' || phase === 'stalled' || phase === 'trouble';
  return failed ? { type: Synced, status: 'False', reason, message, ...stamp } : { type: Synced, status: 'True', reason: syncedReason, message: '', ...stamp };
}

/**
 * Synced=False for the object's own failure (failing or stalled): it names what Ready names.
 * Trouble that outlasted the grace period looks the same, and is Ready's reason by then.
 */
function ownFailure(conditions: readonly Condition[] | undefined): boolean {
  const synced = findCondition(conditions, Synced);
  return synced?.status === 'False' && synced.reason === findCondition(conditions, Ready)?.reason;
}

/** When the controller's trouble began: Synced turned False for a reason of its own; undefined when there is none. */
function troubleStart(conditions: readonly Condition[] | undefined): number | undefined {
  const synced = findCondition(conditions, Synced);
  if (!synced || synced.status !== 'False' || ownFailure(conditions)) return undefined;
  return Date.parse(synced.lastTransitionTime);
}

/**
 * Whether trouble leaves Ready, Reconciling and Stalled as they are: they were observed at this
 * generation and said Ready, or named a failure of the object's own, and the trouble is younger
 * than `graceMs` (trouble that started earlier has lasted long enough to matter to whoever
 * waits on Ready).
 */
export function holdsObservation(current: StandardStatus | undefined, generation: number | undefined, now: Date, graceMs: number): boolean {
  const conditions = current?.conditions;
  const ready = findCondition(conditions, Ready);
  if (!ready || generation === undefined || ready.observedGeneration !== generation || current?.observedGeneration !== generation) return false;
  // Synced=False: the object's own failure, or trouble already holding the observation.
  const standing = ready.status === 'True' || findCondition(conditions, Synced)?.status === 'False';
  const since = troubleStart(conditions);
  return standing && (since === undefined || now.getTime() - since < graceMs);
}

/**
 * Synced=False for trouble that leaves the observation standing. Its lastTransitionTime marks
 * when the trouble began, also when Synced was already False for the object's own failure.
 */
function troubleCondition(conditions: Condition[], change: PhaseChange, stamp: { observedGeneration?: number }, now: Date): Condition[] {
  const update = syncedCondition('trouble', change.reason, change.message, stamp);
  const kept = setCondition(conditions, update, now);
  const synced = findCondition(conditions, Synced);
  // Synced already says this very trouble (it outlasted the grace period, or began before
  // anything was observed, so Ready names it too): it began then, and rewriting its time at
  // every recheck would be a status write per waiting object per recheck.
  if (synced !== undefined && isDeepStrictEqual(findCondition(kept, Synced), synced)) return kept;
  if (troubleStart(conditions) !== undefined || synced?.status !== 'False') return kept;
  const began: Condition = { ...update, lastTransitionTime: formatConditionTime(now) };
  return conditions.map((c) => (c.type === Synced ? began : c));
}

/**
 * The status an object should have after a reconcile: kind-specific fields merged in,
 * observedGeneration set, and the standard conditions for the phase applied.
 */
export function nextStatus(
  current: StandardStatus | undefined,
  generation: number | undefined,
  change: PhaseChange,
  fields: Readonly<Record<string, unknown>>,
  now: Date,
  extra: readonly Omit<ConditionUpdate, 'observedGeneration'>[] = [],
  readyGraceMs = defaultReadyGraceMs,
  removed: readonly string[] = [],
): StandardStatus {
  let conditions: Condition[] = (current?.conditions ?? []).filter((c) => !removed.includes(c.type));
  const stamp = generation === undefined ? {} : { observedGeneration: generation };
  if (change.phase === 'trouble' && holdsObservation(current, generation, now, readyGraceMs)) conditions = troubleCondition(conditions, change, stamp, now);
  else for (const update of phaseConditions(change, generation)) conditions = setCondition(conditions, update, now);
  for (const update of extra) conditions = setCondition(conditions, { ...update, ...(generation === undefined ? {} : { observedGeneration: generation }) }, now);
  const status: StandardStatus = { ...current, ...fields, conditions };
  if (generation !== undefined) status.observedGeneration = generation;
  return status;
}

/** kstatus' verdict for an object, so tests and `phoenix` tooling agree with Flux and Argo CD. */
export type KStatus = 'InProgress' | 'Failed' | 'Current' | 'Terminating';

export function computeKStatus(object: {
  metadata?: { generation?: number; deletionTimestamp?: unknown };
  status?: StandardStatus;
}): KStatus {
  if (object.metadata?.deletionTimestamp) return 'Terminating';
  const status = object.status;
  if (status?.observedGeneration !== undefined && status.observedGeneration !== object.metadata?.generation) {
    return 'InProgress';
  }
  if (isConditionTrue(status?.conditions, Reconciling)) return 'InProgress';
  if (isConditionTrue(status?.conditions, Stalled)) return 'Failed';
  const ready = findCondition(status?.conditions, Ready);
  if (ready && ready.status !== 'True') return 'InProgress';
  return 'Current';
}
