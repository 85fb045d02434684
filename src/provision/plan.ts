/**
 * Which provisioning step runs next: the layer-cache rule. Steps are compared with the runs
 * recorded in status position by position; the first step whose record is missing, names
 * another step, has another hash or did not succeed is the one to run, and every step after it
 * runs again after it, whatever their own records say (their records are dropped). So a change
 * to step k re-runs k and every later step, never an earlier one, and the order of the list
 * keeps its meaning: a later step may rely on what every earlier one did.
 *
 * A run in progress (Starting or Running) that the spec no longer wants as it is (its step
 * changed, moved or went away) is followed to its end before anything else starts: two runs
 * never overlap in one guest.
 */

import type { StepStatus } from '../api/provision.ts';

export interface DesiredStep {
  readonly name: string;
  readonly hash: string;
}

export type StepPlan =
  /** Every step's record is a success of its current hash. */
  | { readonly action: 'done'; readonly records: StepStatus[] }
  /**
   * Step `index` runs (or its run in progress is followed): `records` are the status records to
   * keep, namely those of the steps before it, plus its own when it is for the same hash (a run
   * in progress, or the failures so far).
   */
  | { readonly action: 'run'; readonly index: number; readonly records: StepStatus[]; readonly current: StepStatus | undefined }
  /** The run recorded at `index` is in progress but no longer wanted: wait for it to end, then plan again. */
  | { readonly action: 'settle'; readonly index: number; readonly record: StepStatus };

const inProgress = (r: StepStatus) => r.phase === 'Starting' || r.phase === 'Running';

export function planSteps(desired: readonly DesiredStep[], recorded: readonly StepStatus[]): StepPlan {
  let plan: StepPlan = { action: 'done', records: recorded.slice(0, desired.length) };
  for (let index = 0; index < desired.length; index++) {
    const step = desired[index]!;
    const record = recorded[index];
    const same = record !== undefined && record.name === step.name && record.hash === step.hash;
    if (same && record.phase === 'Succeeded') continue;
    plan = { action: 'run', index, records: [...recorded.slice(0, index), ...(same ? [record] : [])], current: same ? record : undefined };
    break;
  }
  const wanted = plan.action === 'run' ? plan.current : undefined;
  const busy = recorded.findIndex((r) => inProgress(r) && r !== wanted);
  if (busy >= 0) return { action: 'settle', index: busy, record: recorded[busy]! };
  return plan;
}

/** `2/3`: steps whose current hash succeeded, of the steps declared. */
export function progressText(desired: readonly DesiredStep[], recorded: readonly StepStatus[]): string {
  let done = 0;
  while (done < desired.length && recorded[done]?.name === desired[done]!.name && recorded[done]?.hash === desired[done]!.hash && recorded[done]?.phase === 'Succeeded') done++;
  return `${done}/${desired.length}`;
}
