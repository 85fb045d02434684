import { strict as assert } from 'node:assert';
import { desiredStack, ownerEnvName } from '../../../src/stacks/desired.ts';
import { containerState, describeDiff, diffStack, planStack, servicesHealth, type ObservedStack } from '../../../src/stacks/plan.ts';

const compose = 'services:\n  web: {image: nginx}\n  db: {image: postgres}\n';
const desired = desiredStack({ stackName: 'app', compose, env: [{ name: 'PW', value: 'secret-value' }], ownerUid: 'u-1' });
const running = (service: string) => ({ service, state: 'running', status: 'Up 2 minutes', image: `${service}:latest` });
const inSync: ObservedStack = { status: 1, env: [{ name: 'PW', value: 'secret-value' }, { name: ownerEnvName, value: 'u-1' }], file: compose, containers: [running('web'), running('db')] };

describe('stacks: diff and plan', () => {
  it('finds nothing to do for a stack in sync', () => {
    const diff = diffStack(desired, inSync);
    assert.deepEqual(diff, { file: false, env: [], missing: [] });
    assert.deepEqual(planStack(diff, 'Running'), { action: 'none' });
  });

  it('updates for an edited file or a changed env value, naming variables but never values', () => {
    const diff = diffStack(desired, { ...inSync, file: 'services:\n  web: {image: nginx:old}\n', env: [{ name: 'PW', value: 'old-value' }, { name: ownerEnvName, value: 'u-1' }, { name: 'EXTRA', value: 'x' }] });
    assert.equal(diff.file, true);
    assert.deepEqual(diff.env, ['EXTRA', 'PW']);
    assert.deepEqual(planStack(diff, 'Running'), { action: 'update' });
    const words = describeDiff(diff).join('; ');
    assert.match(words, /EXTRA, PW/);
    assert.doesNotMatch(words, /secret-value|old-value/);
  });

  it('starts a stopped stack before updating it, and never updates one that should be stopped', () => {
    const stoppedAndEdited = { ...inSync, status: 2, file: 'x', containers: [] };
    assert.deepEqual(planStack(diffStack(desired, stoppedAndEdited), 'Running'), { action: 'start' });
    const wantStopped = desiredStack({ stackName: 'app', compose, env: [{ name: 'PW', value: 'secret-value' }], ownerUid: 'u-1', state: 'Stopped' });
    assert.deepEqual(planStack(diffStack(wantStopped, inSync), 'Stopped'), { action: 'stop' });
    const plan = planStack(diffStack(wantStopped, stoppedAndEdited), 'Stopped');
    assert.equal(plan.action, 'none');
    assert.ok(plan.action === 'none' && plan.deferred);
  });

  it('redeploys when a service has no container at all, but not for a crashed one', () => {
    const gone = diffStack(desired, { ...inSync, containers: [running('web')] });
    assert.deepEqual(gone.missing, ['db']);
    assert.deepEqual(planStack(gone, 'Running'), { action: 'update' });
    const crashed = diffStack(desired, { ...inSync, containers: [running('web'), { service: 'db', state: 'exited', status: 'Exited (1) 3 seconds ago', image: 'postgres' }] });
    assert.deepEqual(planStack(crashed, 'Running'), { action: 'none' });
  });

  it('does not compare the marker in Observe mode', () => {
    const observeOnly = desiredStack({ stackName: 'app', compose, env: [{ name: 'PW', value: 'secret-value' }] });
    assert.deepEqual(diffStack(observeOnly, { ...inSync, env: [{ name: 'PW', value: 'secret-value' }] }).env, []);
    assert.deepEqual(diffStack(desired, { ...inSync, env: [{ name: 'PW', value: 'secret-value' }] }).env, [ownerEnvName]);
  });

  it('reads container states, health included', () => {
    assert.equal(containerState({ state: 'running', status: 'Up 5 minutes (healthy)' }), 'healthy');
    assert.equal(containerState({ state: 'running', status: 'Up 5 seconds (health: starting)' }), 'starting');
    assert.equal(containerState({ state: 'running', status: 'Up 1 minute (unhealthy)' }), 'unhealthy');
    assert.equal(containerState({ state: 'exited', status: 'Exited (137) 30 seconds ago' }), 'exited (137)');
    assert.equal(containerState({ state: 'restarting', status: 'Restarting (1) 2 seconds ago' }), 'restarting');
  });

  it('is Ready only when every service runs, healthy where checked, naming the ones that do not', () => {
    assert.equal(servicesHealth(['db', 'web'], [running('web'), running('db')]).ready, true);
    const sick = servicesHealth(['db', 'web'], [{ ...running('web'), status: 'Up 1 minute (unhealthy)' }, running('db'), running('db'), { service: 'db', state: 'exited', status: 'Exited (2) 1 second ago', image: 'postgres' }]);
    assert.equal(sick.ready, false);
    assert.deepEqual(sick.problems, ['db: exited (2)', 'web: unhealthy']);
    const missing = servicesHealth(['db', 'web'], [running('web'), running('orphan')]);
    assert.deepEqual(missing.problems, ['db: missing']);
    assert.deepEqual(missing.services.map((s) => s.name), ['db', 'orphan', 'web']);
  });
});
