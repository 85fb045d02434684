/**
 * The order of a guest's life inside, as the legacy pipeline had it (issue 13): create,
 * configure while stopped, start, the snapshots declared `BeforeProvisioning`, the steps, the
 * health checks, the snapshots declared `AfterProvisioning` (the `final-form` clones start
 * from), and for a template a clean shutdown, then the conversion; Ready after all of it.
 *
 * Nothing here depends on how steps reach the guest (the QEMU guest agent or SSH): only on
 * what status records about them. That is also what makes each transition safe to resume: a
 * template whose steps and checks are recorded as done is shut down and converted, never
 * started again, whoever reconciles it next.
 */

import type { CheckStatus } from '../api/provision.ts';

export type SnapshotWhen = 'BeforeProvisioning' | 'AfterProvisioning';

export interface DeclaredSnapshot {
  readonly name: string;
  readonly description?: string;
  readonly when?: SnapshotWhen;
}

/**
 * Where the reconcile stands when it looks at the declared snapshots: `Configured` (configured,
 * power not yet touched), `BeforeProvisioning` (the guest runs, before its steps) or
 * `AfterProvisioning` (the steps succeeded and the checks pass).
 */
export type SnapshotStage = 'Configured' | SnapshotWhen;

/**
 * The declared snapshots that may be taken at a stage. A guest with nothing to run inside takes
 * them all once configured, as before provisioning existed. With steps or checks:
 * `AfterProvisioning` ones (the default) once all of it is done, and `BeforeProvisioning` ones
 * once it runs, but only while no step has ever been recorded: taken later, the snapshot would
 * not hold the guest from before its steps, whatever its name says.
 */
export function snapshotsAt(stage: SnapshotStage, declared: readonly DeclaredSnapshot[], inside: boolean, stepsRecorded: boolean): DeclaredSnapshot[] {
  if (!inside) return stage === 'Configured' ? [...declared] : [];
  if (stage === 'BeforeProvisioning') return stepsRecorded ? [] : declared.filter((s) => s.when === 'BeforeProvisioning');
  if (stage === 'AfterProvisioning') return declared.filter((s) => s.when !== 'BeforeProvisioning');
  return [];
}

/**
 * Whether everything inside is done as status records it: every step succeeded for its current
 * content (`provisionDone`, from the layer-cache plan) and every declared check was last seen
 * passing. Read from status alone, so it holds while the guest is stopped.
 */
export function insideFinished(provisionDone: boolean, checks: readonly string[], states: readonly CheckStatus[] | undefined): boolean {
  return provisionDone && checks.every((name) => states?.some((s) => s.name === name && s.healthy) === true);
}

/**
 * What a guest whose spec says `template: true` does next, while it is not a template yet:
 * `run` (start it, or keep it running, for its steps and checks), `shutdown` (cleanly, once
 * all is done), `convert` (once it is stopped and all is done). A guest with nothing to run
 * inside goes straight to shutdown and conversion.
 */
export function templateNext(finished: boolean, running: boolean): 'run' | 'shutdown' | 'convert' {
  if (!finished) return 'run';
  return running ? 'shutdown' : 'convert';
}
