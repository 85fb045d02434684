import { strict as assert } from 'node:assert';
import { nextCheckState } from '../../../src/provision/health.ts';

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
