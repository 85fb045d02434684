import { strict as assert } from 'node:assert';
import { nextCheckState, restartDue } from '../../../src/provision/health.ts';

describe('health check state', () => {
  const t = { failureThreshold: 2, successThreshold: 2 };

  it('starts unhealthy and turns healthy after successThreshold passes in a row', () => {
    const one = nextCheckState('web', undefined, { ok: true }, t);
    assert.deepEqual(one, { name: 'web', healthy: false, consecutiveFailures: 0, consecutiveSuccesses: 1 });
    assert.deepEqual(nextCheckState('web', one, { ok: true }, t), { name: 'web', healthy: true, consecutiveFailures: 0, consecutiveSuccesses: 2 });
  });

  it('stays healthy through fewer failures than the threshold, then turns unhealthy with the last failure', () => {
    const healthy = { name: 'web', healthy: true, consecutiveFailures: 0, consecutiveSuccesses: 2 };
    const once = nextCheckState('web', healthy, { ok: false, exitCode: 7, output: 'refused' }, t);
    assert.deepEqual(once, { name: 'web', healthy: true, consecutiveFailures: 1, consecutiveSuccesses: 0, lastExitCode: 7, lastOutput: 'refused' });
    assert.deepEqual(nextCheckState('web', once, { ok: false, exitCode: 7, output: 'refused' }, t), { name: 'web', healthy: false, consecutiveFailures: 2, consecutiveSuccesses: 0, lastExitCode: 7, lastOutput: 'refused' });
  });

  it('stops counting at the thresholds, so a steady check writes nothing new', () => {
    const steady = { name: 'web', healthy: true, consecutiveFailures: 0, consecutiveSuccesses: 2 };
    assert.deepEqual(nextCheckState('web', steady, { ok: true }, t), steady);
    const down = { name: 'web', healthy: false, consecutiveFailures: 2, consecutiveSuccesses: 0, lastExitCode: 1 };
    assert.deepEqual(nextCheckState('web', down, { ok: false, exitCode: 1 }, t), down);
  });
});

describe('health check state: unreachable runs and restarts', () => {
  const t = { failureThreshold: 2, successThreshold: 1 };

  it('keeps the state through a run the controller could not make, and says why', () => {
    const healthy = nextCheckState('c', undefined, { ok: true }, t);
    const after = nextCheckState('c', healthy, { ok: false, unreachable: 'connect ENETUNREACH 10.0.0.5:80' }, t);
    assert.deepEqual(after, { ...healthy, unreachable: 'connect ENETUNREACH 10.0.0.5:80' });
    const first = nextCheckState('c', undefined, { ok: false, unreachable: 'no address' }, t);
    assert.deepEqual(first, { name: 'c', healthy: false, consecutiveFailures: 0, consecutiveSuccesses: 0, unreachable: 'no address' });
    assert.equal(nextCheckState('c', after, { ok: true }, t).unreachable, undefined, 'a real run clears it');
  });

  it('counts failures up to restartAfterFailures and restarts once per streak', () => {
    const counting = { ...t, countFailuresTo: 4 };
    let state = nextCheckState('c', undefined, { ok: false }, counting);
    for (let i = 0; i < 5; i++) state = nextCheckState('c', state, { ok: false }, counting);
    assert.equal(state.consecutiveFailures, 4);
    assert.equal(restartDue(state, 4), true);
    assert.equal(restartDue(state, undefined), false);
    const restarted = { ...state, restarted: true };
    assert.equal(restartDue(nextCheckState('c', restarted, { ok: false }, counting), 4), false, 'not again in the same streak');
    const passed = nextCheckState('c', restarted, { ok: true }, counting);
    assert.equal(passed.restarted, undefined, 'a pass ends the streak');
    assert.equal(restartDue({ ...state, unreachable: 'x' }, 4), false);
  });
});
