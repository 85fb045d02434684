import { strict as assert } from 'node:assert';
import { planSteps, progressText } from '../../../src/provision/plan.ts';
import type { StepStatus } from '../../../src/api/provision.ts';

const ok = (name: string, hash: string): StepStatus => ({ name, hash, phase: 'Succeeded', attempts: 1, exitCode: 0 });

describe('provisioning plan (the layer-cache rule)', () => {
  const desired = [{ name: 'base', hash: 'h1' }, { name: 'nvidia', hash: 'h2' }, { name: 'vllm', hash: 'h3' }];

  it('runs the first step of a fresh guest', () => {
    assert.deepEqual(planSteps(desired, []), { action: 'run', index: 0, records: [], current: undefined });
  });

  it('is done when every step succeeded with its current hash', () => {
    const records = [ok('base', 'h1'), ok('nvidia', 'h2'), ok('vllm', 'h3')];
    assert.deepEqual(planSteps(desired, records), { action: 'done', records });
    assert.equal(progressText(desired, records), '3/3');
  });

  it('re-runs a changed step and drops the records of every later one', () => {
    const records = [ok('base', 'h1'), ok('nvidia', 'old'), ok('vllm', 'h3')];
    assert.deepEqual(planSteps(desired, records), { action: 'run', index: 1, records: [ok('base', 'h1')], current: undefined });
    assert.equal(progressText(desired, records), '1/3', 'the later step counts as not done');
  });

  it('keeps a failed run of the same content, with its attempts, and resumes a run in progress', () => {
    const failed: StepStatus = { name: 'nvidia', hash: 'h2', phase: 'Failed', attempts: 2, exitCode: 3 };
    assert.deepEqual(planSteps(desired, [ok('base', 'h1'), failed]), { action: 'run', index: 1, records: [ok('base', 'h1'), failed], current: failed });
    const running: StepStatus = { name: 'nvidia', hash: 'h2', phase: 'Running', attempts: 1, runId: 'h2-1', pid: 1001 };
    assert.deepEqual(planSteps(desired, [ok('base', 'h1'), running]), { action: 'run', index: 1, records: [ok('base', 'h1'), running], current: running });
  });

  it('waits for a run in progress whose step changed before running anything', () => {
    const running: StepStatus = { name: 'vllm', hash: 'h3', phase: 'Running', attempts: 1, runId: 'h3-1' };
    const changedFirst = [{ name: 'base', hash: 'new' }, desired[1]!, desired[2]!];
    assert.deepEqual(planSteps(changedFirst, [ok('base', 'h1'), ok('nvidia', 'h2'), running]), { action: 'settle', index: 2, record: running });
    // The step was removed from the list while it ran.
    assert.deepEqual(planSteps(desired.slice(0, 2), [ok('base', 'h1'), ok('nvidia', 'h2'), running]), { action: 'settle', index: 2, record: running });
  });

  it('treats a step moved to another position as changed from there on', () => {
    const swapped = [desired[1]!, desired[0]!, desired[2]!];
    const records = [ok('base', 'h1'), ok('nvidia', 'h2'), ok('vllm', 'h3')];
    assert.deepEqual(planSteps(swapped, records), { action: 'run', index: 0, records: [], current: undefined });
  });

  it('drops the records of removed trailing steps', () => {
    const records = [ok('base', 'h1'), ok('nvidia', 'h2'), ok('vllm', 'h3')];
    assert.deepEqual(planSteps(desired.slice(0, 2), records), { action: 'done', records: records.slice(0, 2) });
  });
});
