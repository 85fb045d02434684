import { strict as assert } from 'node:assert';
import * as k8s from '@kubernetes/client-node';
import { startPhoenix, apply, waitReady, waitCondition, condition, readyAtGeneration, getObject, G, type PhoenixEnv } from '../support/phoenix.ts';

/**
 * Issue 13: a guest kept `powerState: Stopped` that has steps is started for them, provisioned,
 * health-checked, snapshotted after provisioning, then shut down cleanly and left Stopped; a
 * changed step starts it again (its checks must pass again in that run), then stops it; and a
 * controller killed between the steps and the shutdown shuts it down without running a step
 * again. Once the steps and checks leave the spec, their conditions and records go too.
 * Asserted on what the simulator recorded: the runs started in the guest and the
 * Proxmox tasks.
 */
describe('provisioning a guest kept powerState: Stopped (real API server + simulator)', function () {
  this.timeout(300_000);
  let env: PhoenixEnv;
  const name = 'kept-stopped';

  const step = (n: string, script: string) => ({ name: n, script: { inline: script } });
  const runs = (vmid: number) => env.sim.admin.agentRuns(vmid).map((r) => /\/steps\/([^/]+)\//.exec(r.dir)?.[1]);
  const powerTasks = (vmid: number) => env.sim.admin.tasks().filter((t) => t.id === String(vmid)).map((t) => t.type).filter((t) => ['qmstart', 'qmstop', 'qmshutdown', 'qmtemplate'].includes(t));
  const updateSteps = (provision: unknown[]) =>
    env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixvms', namespace: env.namespace, name, body: { spec: { provision } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({ name: 'e2e-provision-stopped' });
  });

  after(async () => env?.stop());

  it('starts the guest for its steps and checks, takes final-form, shuts it down cleanly and is Ready Stopped', async () => {
    await apply(env, 'PhoenixVM', name, {
      source: { cloudImage: { volume: 'local:import/debian-12-genericcloud-amd64.qcow2', storage: 'local-lvm' } },
      memory: '2G',
      agent: { enabled: true },
      powerState: 'Stopped',
      provision: [step('base', 'apt-get install -y curl\n')],
      healthChecks: [{ name: 'app-up', exec: { command: 'check-app-up' }, period: '1s', failureThreshold: 1 }],
      snapshots: [{ name: 'final-form' }],
    });
    const ready = await waitReady(env, 'phoenixvms', name, 180_000);
    const vmid = ready.status.vmid as number;
    const guest = env.sim.admin.guest(vmid)!;
    assert.equal(guest.status, 'stopped');
    assert.equal(ready.status.powerState, 'Stopped');
    assert.deepEqual(runs(vmid), ['base']);
    assert.deepEqual(powerTasks(vmid), ['qmstart', 'qmshutdown'], 'started once, then shut down cleanly (not stopped hard)');
    assert.notEqual(guest.config['template'], '1');
    assert.equal(ready.status.provisioned, '1/1');
    assert.equal(condition(ready, 'Provisioned')?.status, 'True');
    // final-form was taken while the guest ran, once provisioned: it says so for its clones.
    const final = guest.snapshots.find((s) => s.name === 'final-form');
    assert.ok(final, 'no final-form snapshot');
    assert.equal(final.description, `<!-- phoenix:provisioned base=${ready.status.provision[0].hash} -->`);
  });

  it('starts it again for a changed step, runs only that step, checks again, then shuts it down', async () => {
    const vmid = (await getObject(env, 'phoenixvms', name)).status.vmid as number;
    // The check fails in this new run: the guest must wait running, not trust the pass from before.
    env.sim.admin.addAgentRule({ match: 'check-app-up', exitCode: 1, stdout: 'app down\n' });
    await updateSteps([step('base', 'apt-get install -y curl\n'), step('app', 'systemctl enable app\n')]);
    const waiting = await waitCondition(env, 'phoenixvms', name, (o) => o.status?.provisioned === '2/2' && condition(o, 'Healthy')?.status === 'False', 'provisioned again, the check failing', 120_000);
    assert.equal(env.sim.admin.guest(vmid)!.status, 'running');
    assert.equal(condition(waiting, 'Ready')?.status, 'False');
    env.sim.admin.clearAgentRules();
    const ready = await waitCondition(env, 'phoenixvms', name, (o) => readyAtGeneration(o) && o.status.powerState === 'Stopped', 'Ready and Stopped again', 120_000);
    assert.equal(env.sim.admin.guest(vmid)!.status, 'stopped');
    assert.deepEqual(runs(vmid), ['base', 'app']);
    assert.deepEqual(powerTasks(vmid), ['qmstart', 'qmshutdown', 'qmstart', 'qmshutdown']);
    assert.equal(ready.status.provisioned, '2/2');
  });

  it('shuts it down without running a step again when the controller restarts between the steps and the shutdown', async () => {
    const vmid = (await getObject(env, 'phoenixvms', name)).status.vmid as number;
    env.sim.admin.injectFault({ kind: 'error', rate: 1, method: 'POST', path: '/nodes/{node}/qemu/{vmid}/status/shutdown', message: 'simulated failure of the shutdown' });
    await updateSteps([step('base', 'apt-get install -y curl\n'), step('app', 'systemctl enable app\n'), step('tune', 'sysctl -w vm.swappiness=10\n')]);
    await waitCondition(env, 'phoenixvms', name, (o) => o.status?.provisioned === '3/3' && /simulated failure of the shutdown/.test(condition(o, 'Ready')?.message ?? ''), 'provisioned, the shutdown failing', 120_000);
    assert.equal(env.sim.admin.guest(vmid)!.status, 'running');
    await env.restart();
    env.sim.admin.clearFaults('error');
    await waitCondition(env, 'phoenixvms', name, (o) => readyAtGeneration(o) && o.status.powerState === 'Stopped', 'Ready and Stopped after the restart', 120_000);
    assert.equal(env.sim.admin.guest(vmid)!.status, 'stopped');
    assert.deepEqual(runs(vmid), ['base', 'app', 'tune'], 'a step ran again after the restart');
    assert.deepEqual(powerTasks(vmid), ['qmstart', 'qmshutdown', 'qmstart', 'qmshutdown', 'qmstart', 'qmshutdown'], 'started again after the restart');
  });

  it('drops the Provisioned and Healthy conditions and their records once the steps and checks leave the spec, and starts nothing', async () => {
    const before = await getObject(env, 'phoenixvms', name);
    const vmid = before.status.vmid as number;
    assert.equal(condition(before, 'Provisioned')?.status, 'True');
    assert.ok(condition(before, 'Healthy'), 'no Healthy condition to drop');
    const starts = powerTasks(vmid).length;
    await env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixvms', namespace: env.namespace, name, body: { spec: { provision: null, healthChecks: null } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    const ready = await waitCondition(env, 'phoenixvms', name, readyAtGeneration, 'Ready at the generation without steps', 120_000);
    assert.deepEqual(ready.status.conditions.map((c: { type: string }) => c.type).filter((t: string) => t === 'Provisioned' || t === 'Healthy'), []);
    assert.equal(ready.status.provision, undefined);
    assert.equal(ready.status.provisioned, undefined);
    assert.equal(ready.status.healthChecks, undefined);
    assert.equal(env.sim.admin.guest(vmid)!.status, 'stopped');
    assert.equal(powerTasks(vmid).length, starts, 'the guest was started or stopped');
  });
});
