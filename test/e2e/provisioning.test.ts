import { strict as assert } from 'node:assert';
import * as k8s from '@kubernetes/client-node';
import { startPhoenix, apply, waitReady, waitCondition, condition, readyAtGeneration, getObject, G, type PhoenixEnv } from '../support/phoenix.ts';
import { eventually } from '../support/crds.ts';

/**
 * Issue 13's first slice through kubectl's path: a PhoenixVM's provisioning steps run in its
 * guest through the (simulated) QEMU guest agent, in order, once per content; a changed step
 * re-runs with the later ones; a failing step stalls with its output; a restarted controller
 * resumes a running step without starting it again; health checks move Ready; and the Secret
 * the steps read shows nowhere in status or events.
 */
describe('provisioning steps and health checks in a PhoenixVM (real API server + simulator)', function () {
  this.timeout(180_000);
  let env: PhoenixEnv;
  const secretToken = 'tok-SECRET-8c1f2e';
  const name = 'app';

  const vmSpec = (provision: unknown[], extra: Record<string, unknown> = {}) => ({
    source: { cloudImage: { volume: 'local:import/debian-12-genericcloud-amd64.qcow2', storage: 'local-lvm' } },
    memory: '2G',
    agent: { enabled: true },
    networks: [{ bridge: 'vmbr0', ipv4: 'dhcp' }],
    provision,
    ...extra,
  });
  const baseStep = { name: 'base', script: { configMapKeyRef: { name: 'scripts', key: 'base.sh' } }, interpreter: '/bin/bash' };
  const configStep = (script: string) => ({
    name: 'config',
    script: { inline: script },
    files: [{ path: '/etc/app/token', source: { secretKeyRef: { name: 'app-secret', key: 'token' } }, mode: '0600' }],
    env: [{ name: 'APP_TOKEN', secretKeyRef: { name: 'app-secret', key: 'token' } }, { name: 'APP_MODE', value: 'production' }],
  });
  const serviceStep = (script: string) => ({ name: 'service', script: { inline: script } });
  const healthChecks = [{ name: 'token-present', exec: { command: 'test -f /etc/app/token' }, period: '1s', failureThreshold: 2 }];

  /** Replaces the spec's provision list (a merge patch replaces a list whole), as `kubectl apply` would. */
  const update = (provision: unknown[]) =>
    env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixvms', namespace: env.namespace, name, body: { spec: { provision } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));

  /** The step names of the runs started in the guest, in order. */
  const runs = (vmid: number) => env.sim.admin.agentRuns(vmid).map((r) => /\/steps\/([^/]+)\//.exec(r.dir)?.[1]);

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({ name: 'e2e-provisioning' });
    const core = env.cluster.kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedConfigMap({ namespace: env.namespace, body: { metadata: { name: 'scripts' }, data: { 'base.sh': 'apt-get update && apt-get install -y curl jq\n' } } });
    await core.createNamespacedSecret({ namespace: env.namespace, body: { metadata: { name: 'app-secret' }, stringData: { token: secretToken } } });
  });

  after(async () => env?.stop());

  it('runs the steps in order once the VM runs, records each, then checks health before Ready', async () => {
    await apply(env, 'PhoenixVM', name, vmSpec([baseStep, configStep('configure-app --mode "$APP_MODE"\n'), serviceStep('systemctl enable --now app\n')], { healthChecks }));
    const ready = await waitReady(env, 'phoenixvms', name, 120_000);
    const vmid = ready.status.vmid as number;
    assert.deepEqual(runs(vmid), ['base', 'config', 'service']);
    const steps = ready.status.provision as any[];
    assert.deepEqual(steps.map((s) => [s.name, s.phase, s.attempts, s.exitCode]), [['base', 'Succeeded', 1, 0], ['config', 'Succeeded', 1, 0], ['service', 'Succeeded', 1, 0]]);
    for (const s of steps) {
      assert.match(s.hash, /^[0-9a-f]{64}$/);
      assert.ok(Date.parse(s.startTime) <= Date.parse(s.endTime), `${s.name}: start ${s.startTime}, end ${s.endTime}`);
      assert.equal(typeof s.pid, 'number', `${s.name} has no agent pid`);
    }
    assert.equal(ready.status.provisioned, '3/3');
    assert.equal(condition(ready, 'Provisioned')?.status, 'True');
    assert.equal(condition(ready, 'Healthy')?.status, 'True');
    // The file from the Secret is in the guest, with the content the Secret holds.
    const guest = env.sim.admin.guest(vmid)!;
    assert.equal(guest.agentFiles['/etc/app/token'], secretToken);
    // The bash interpreter and the ConfigMap's script reached the guest's run directory.
    const baseRun = env.sim.admin.agentRuns(vmid)[0]!.dir;
    assert.equal(guest.agentFiles[`${baseRun}/script`], 'apt-get update && apt-get install -y curl jq\n');
  });

  it('re-runs a changed step and the steps after it, and nothing before it', async () => {
    const before = await getObject(env, 'phoenixvms', name);
    const vmid = before.status.vmid as number;
    await update([baseStep, configStep('configure-app --mode "$APP_MODE" --verbose\n'), serviceStep('systemctl enable --now app\n')]);
    const after = await waitCondition(env, 'phoenixvms', name, readyAtGeneration, 'Ready at the new generation', 120_000);
    assert.deepEqual(runs(vmid), ['base', 'config', 'service', 'config', 'service']);
    const [base, config, service] = after.status.provision as any[];
    assert.deepEqual(base, before.status.provision[0], 'the first step\'s record is untouched');
    assert.notEqual(config.hash, before.status.provision[1].hash);
    assert.equal(service.hash, before.status.provision[2].hash, 'the later step re-ran with the same content');
    assert.notEqual(service.runId, before.status.provision[2].runId);
  });

  it('re-runs the steps reading a Secret when the Secret changes', async () => {
    const before = await getObject(env, 'phoenixvms', name);
    const vmid = before.status.vmid as number;
    const core = env.cluster.kc.makeApiClient(k8s.CoreV1Api);
    await core.patchNamespacedSecret({ namespace: env.namespace, name: 'app-secret', body: { stringData: { token: `${secretToken}-2` } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await eventually('the guest holds the new token', async () => env.sim.admin.guest(vmid)!.agentFiles['/etc/app/token'] === `${secretToken}-2`, 60_000);
    await waitCondition(env, 'phoenixvms', name, (o) => readyAtGeneration(o) && o.status.provisioned === '3/3' && o.status.provision[1].hash !== before.status.provision[1].hash, 'Ready with the new Secret applied', 60_000);
    assert.deepEqual(runs(vmid).slice(5), ['config', 'service']);
  });

  it('stalls a step that keeps failing, with its exit code and masked output, and never runs it in a loop', async () => {
    const vmid = (await getObject(env, 'phoenixvms', name)).status.vmid as number;
    env.sim.admin.addAgentRule({ match: 'install-broken-package', exitCode: 100, stdout: `Reading package lists...\nusing token ${secretToken}-2\nE: Unable to locate package broken\n` });
    await update([baseStep, configStep('configure-app --mode "$APP_MODE" --verbose\n'), serviceStep('apt-get install -y install-broken-package\n')]);
    const stalled = await waitCondition(env, 'phoenixvms', name, (o) => condition(o, 'Stalled')?.status === 'True' && condition(o, 'Stalled')?.reason === 'StepFailed', 'Stalled by the failing step', 90_000);
    const service = stalled.status.provision[2];
    assert.equal(service.phase, 'Failed');
    assert.equal(service.exitCode, 100);
    assert.equal(service.attempts, 3);
    assert.match(service.outputTail, /E: Unable to locate package broken/);
    assert.match(service.outputTail, /using token ••••••/);
    assert.equal(condition(stalled, 'Provisioned')?.status, 'False');
    assert.match(condition(stalled, 'Ready')?.message ?? '', /step service failed 3 times \(last exit code 100\); Phoenix does not run it again until the step or what it reads changes/);
    const attempts = runs(vmid).filter((r) => r === 'service').length;
    // Stalled: it is not run again, whatever wakes the guest.
    await env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixvms', namespace: env.namespace, name, body: { metadata: { annotations: { poke: '1' } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    assert.equal(runs(vmid).filter((r) => r === 'service').length, attempts);
    env.sim.admin.clearAgentRules();
  });

  it('resumes a step running when the controller restarts, without starting it again', async () => {
    const vmid = (await getObject(env, 'phoenixvms', name)).status.vmid as number;
    // A step that takes a simulated day (within its timeout): it certainly runs across the restart.
    env.sim.admin.addAgentRule({ match: 'long-running-build', durationMs: 24 * 3_600_000 });
    await update([baseStep, configStep('configure-app --mode "$APP_MODE" --verbose\n'), { ...serviceStep('make long-running-build\n'), timeout: '48h' }]);
    const running = await waitCondition(env, 'phoenixvms', name, (o) => o.status?.provision?.[2]?.phase === 'Running' && o.status.provision[2].hash !== undefined, 'the step recorded as Running');
    const runId = running.status.provision[2].runId;
    await env.restart();
    // The new controller polls the same run, and the run ends once its simulated day is over.
    env.sim.admin.advance(24 * 3_600_000);
    const ready = await waitCondition(env, 'phoenixvms', name, readyAtGeneration, 'Ready after the restart', 120_000);
    assert.equal(ready.status.provision[2].runId, runId);
    assert.equal(ready.status.provision[2].attempts, 1);
    const started = env.sim.admin.agentRuns(vmid).filter((r) => r.dir.endsWith(`/service/${runId}`));
    assert.equal(started.length, 1, `the run was started ${started.length} times`);
    env.sim.admin.clearAgentRules();
  });

  it('never starts a step twice when the answer to its start is lost', async () => {
    const vmid = (await getObject(env, 'phoenixvms', name)).status.vmid as number;
    const guest = env.sim.admin.guest(vmid)!;
    const before = runs(vmid).length;
    const exec = { method: 'POST', path: '/nodes/{node}/qemu/{vmid}/agent/exec' };
    // File writes are slowed, so that from the moment the run's directory exists, the next exec is the start.
    env.sim.admin.injectFault({ kind: 'latency', method: 'POST', path: '/nodes/{node}/qemu/{vmid}/agent/file-write', realMs: 400 });
    try {
      await update([baseStep, configStep('configure-app --mode "$APP_MODE" --verbose\n'), serviceStep('make build-over-a-lossy-link\n')]);
      let runId = '';
      await eventually('the run recorded as Starting and its directory made', async () => {
        const record = (await getObject(env, 'phoenixvms', name)).status?.provision?.[2];
        runId = record?.runId ?? '';
        return record?.phase === 'Starting' && env.sim.simulator.agents.isDir(guest, `/var/lib/phoenix/steps/service/${runId}`);
      });
      // The guest acts on every exec from now on, but Phoenix hears no answer.
      env.sim.admin.injectFault({ kind: 'drop', when: 'after', ...exec });
      await eventually('the step started in the guest', async () => runs(vmid).length > before);
      assert.equal((await getObject(env, 'phoenixvms', name)).status.provision[2].phase, 'Starting', 'Phoenix heard of the start');
    } finally {
      env.sim.admin.clearFaults('drop');
      env.sim.admin.clearFaults('latency');
    }
    const ready = await waitCondition(env, 'phoenixvms', name, (o) => readyAtGeneration(o) && o.status.provisioned === '3/3', 'Ready once the answers come through', 120_000);
    assert.deepEqual(runs(vmid).slice(before), ['service'], 'the step was started more than once');
    assert.equal(ready.status.provision[2].attempts, 1);
  });

  it('turns Ready False while a health check fails, and back once it passes', async () => {
    const vmid = (await getObject(env, 'phoenixvms', name)).status.vmid as number;
    const guest = env.sim.admin.guest(vmid)!;
    const token = guest.agentFiles['/etc/app/token']!;
    delete guest.agentFiles['/etc/app/token'];
    const unhealthy = await waitCondition(env, 'phoenixvms', name, (o) => condition(o, 'Ready')?.status === 'False' && condition(o, 'Ready')?.reason === 'Unhealthy', 'Ready False: Unhealthy', 60_000);
    assert.equal(condition(unhealthy, 'Healthy')?.status, 'False');
    assert.match(condition(unhealthy, 'Healthy')?.message ?? '', /token-present \(failed 2 in a row, exit code 1\)/);
    guest.agentFiles['/etc/app/token'] = token;
    const healthy = await waitCondition(env, 'phoenixvms', name, (o) => condition(o, 'Ready')?.status === 'True', 'Ready again', 60_000);
    assert.equal(condition(healthy, 'Healthy')?.status, 'True');
  });

  it('converges a container with steps, then says its hypervisor has no SSH to provision it with', async () => {
    await apply(env, 'PhoenixLXC', 'ct', {
      source: { osTemplate: { volume: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst' } },
      provision: [{ name: 'base', script: { inline: 'true\n' } }],
    });
    const stalled = await waitCondition(env, 'phoenixlxcs', 'ct', (o) => condition(o, 'Stalled')?.reason === 'SSHNotConfigured', 'Stalled: SSHNotConfigured', 60_000);
    assert.equal(stalled.status.powerState, 'Running', 'the container itself was not converged first');
    assert.match(condition(stalled, 'Stalled')!.message, /has no spec\.ssh/);
  });

  it('never shows the Secret the steps read in status or events', async () => {
    const object = await getObject(env, 'phoenixvms', name);
    assert.ok(!JSON.stringify(object.status).includes(secretToken), 'the Secret value is in the status');
    const events = (await env.cluster.kc.makeApiClient(k8s.EventsV1Api).listNamespacedEvent({ namespace: env.namespace })).items;
    assert.ok(events.some((e) => e.reason === 'StepFailed'), 'no StepFailed event to check');
    for (const e of events) assert.ok(!`${e.note ?? ''}`.includes(secretToken), `event ${e.reason} shows the Secret: ${e.note}`);
  });
});
