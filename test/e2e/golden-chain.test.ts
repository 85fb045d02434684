import { strict as assert } from 'node:assert';
import * as k8s from '@kubernetes/client-node';
import { fileURLToPath } from 'node:url';
import { kubectl } from '../support/kubectl.ts';
import { startPhoenix, apply, waitReady, waitCondition, condition, getObject, readyAtGeneration, G, type PhoenixEnv } from '../support/phoenix.ts';

/**
 * Issue 13's golden chain through kubectl's path, with VMs (the guest agent transport): a
 * template with steps is started, provisioned, health-checked, shut down and converted before
 * it is Ready; a clone of it runs only its own step and records the one it inherited; a
 * controller restarted between the shutdown and the conversion converts without starting the
 * guest again; and snapshots declared before and after provisioning are taken on either side of
 * the steps, the later one being a source whose clones inherit its steps too.
 */
describe('templates and the golden chain (real API server + simulator)', function () {
  this.timeout(300_000);
  let env: PhoenixEnv;

  const vmSpec = (extra: Record<string, unknown>) => ({
    source: { cloudImage: { volume: 'local:import/debian-12-genericcloud-amd64.qcow2', storage: 'local-lvm' } },
    memory: '2G',
    agent: { enabled: true },
    networks: [{ bridge: 'vmbr0', ipv4: 'dhcp' }],
    ...extra,
  });
  const cloneSpec = (source: Record<string, unknown>, provision: unknown[]) => ({
    source: { clone: { ...source, full: true, storage: 'local-lvm' } },
    agent: { enabled: true },
    provision,
  });
  const step = (name: string, script: string) => ({ name, script: { inline: script } });
  /** The step names of the runs started in a guest, in order (the simulated agent's record). */
  const runs = (vmid: number) => env.sim.admin.agentRuns(vmid).map((r) => /\/steps\/([^/]+)\//.exec(r.dir)?.[1]);
  /** Replaces a guest's steps (a merge patch replaces a list whole), as `kubectl apply` would. */
  const updateSteps = (name: string, provision: unknown[]) =>
    env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixvms', namespace: env.namespace, name, body: { spec: { provision } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
  /** The Proxmox tasks of one guest, by type, in the order they were started. */
  const tasks = (vmid: number) => env.sim.admin.tasks().filter((t) => t.id === String(vmid)).map((t) => t.type);

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({ name: 'e2e-golden-chain' });
  });

  after(async () => env?.stop());

  it('provisions a template, checks it, shuts it down cleanly and only then converts it; Ready after all of it', async () => {
    await apply(env, 'PhoenixVM', 'base-tpl', vmSpec({
      template: true,
      provision: [step('base', 'apt-get install -y curl jq\n')],
      healthChecks: [{ name: 'curl', exec: { command: 'command -v curl' }, period: '1s' }],
    }));
    const ready = await waitReady(env, 'phoenixvms', 'base-tpl', 180_000);
    const vmid = ready.status.vmid as number;
    const guest = env.sim.admin.guest(vmid)!;
    assert.equal(guest.config['template'], '1');
    assert.equal(guest.status, 'stopped');
    assert.deepEqual(runs(vmid), ['base']);
    assert.equal(ready.status.provisioned, '1/1');
    assert.equal(ready.status.powerState, 'Stopped');
    assert.equal(condition(ready, 'Provisioned')?.status, 'True');
    // Started once, shut down cleanly (not stopped hard), converted last.
    const order = tasks(vmid).filter((t) => ['qmstart', 'qmstop', 'qmshutdown', 'qmtemplate'].includes(t));
    assert.deepEqual(order, ['qmstart', 'qmshutdown', 'qmtemplate']);
    // The step the template holds is written where its clones read it: its Proxmox description.
    const hash = ready.status.provision[0].hash as string;
    assert.match(String(guest.config['description']), new RegExp(`<!-- phoenix:provisioned base=${hash} -->\\n<!-- phoenix:owner uid=`));
  });

  it('clones the template into a guest that runs only its own step and records the one it inherited', async () => {
    const template = await getObject(env, 'phoenixvms', 'base-tpl');
    await apply(env, 'PhoenixVM', 'app', cloneSpec({ vmRef: { name: 'base-tpl' } }, [step('app', 'systemctl enable --now app\n')]));
    const ready = await waitReady(env, 'phoenixvms', 'app', 180_000);
    const vmid = ready.status.vmid as number;
    assert.deepEqual(runs(vmid), ['app']);
    assert.deepEqual(ready.status.inheritedSteps, [{ name: 'base', hash: template.status.provision[0].hash, source: `VMID ${template.status.vmid}` }]);
    assert.deepEqual((ready.status.provision as any[]).map((s) => [s.name, s.phase]), [['app', 'Succeeded']]);
    assert.equal(ready.status.provisioned, '1/1');
  });

  it('reports, and does not apply, a change to the steps of a converted template', async () => {
    const before = await getObject(env, 'phoenixvms', 'base-tpl');
    const vmid = before.status.vmid as number;
    await updateSteps('base-tpl', [step('base', 'apt-get install -y curl jq htop\n')]);
    const stalled = await waitCondition(env, 'phoenixvms', 'base-tpl', (o) => condition(o, 'Stalled')?.reason === 'TemplateCannotRun' && o.status.observedGeneration === o.metadata.generation, 'Stalled: TemplateCannotRun');
    assert.match(condition(stalled, 'Ready')?.message ?? '', /this guest is a template, which cannot run, so Phoenix cannot run its steps \(step base changed or added\) and did not apply the change/);
    assert.equal(condition(stalled, 'Provisioned')?.status, 'False');
    assert.equal(stalled.status.provisioned, '0/1');
    // Never started, nothing run: the record of what it holds stays as it was.
    assert.deepEqual(stalled.status.provision, before.status.provision);
    assert.equal(env.sim.admin.guest(vmid)!.status, 'stopped');
    assert.deepEqual(runs(vmid), ['base']);
    assert.equal(tasks(vmid).filter((t) => t === 'qmstart').length, 1);
    // The clone made earlier needs nothing more of its template: it still converges (here, a
    // new tag) while the template is Stalled, and the changed step is not run in it.
    const app = await getObject(env, 'phoenixvms', 'app');
    await env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixvms', namespace: env.namespace, name: 'app', body: { spec: { tags: ['app'] } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    const clone = await waitCondition(env, 'phoenixvms', 'app', (o) => o.metadata.generation > app.metadata.generation && readyAtGeneration(o), 'the clone Ready at its new generation');
    assert.equal(env.sim.admin.guest(clone.status.vmid)!.config['tags'], 'app');
    assert.deepEqual(runs(clone.status.vmid), ['app']);
    assert.deepEqual(clone.status.inheritedSteps, app.status.inheritedSteps);
  });

  it('keeps a template-to-be running, unconverted, until its health checks pass', async () => {
    env.sim.admin.addAgentRule({ match: 'check-gate-open', exitCode: 1, stdout: 'gate closed\n' });
    await apply(env, 'PhoenixVM', 'tpl-gated', vmSpec({
      template: true,
      provision: [step('base', 'apt-get install -y curl\n')],
      healthChecks: [{ name: 'gate', exec: { command: 'check-gate-open' }, period: '1s', failureThreshold: 1 }],
    }));
    const gated = await waitCondition(env, 'phoenixvms', 'tpl-gated', (o) => o.status?.provisioned === '1/1' && condition(o, 'Healthy')?.status === 'False', 'provisioned and unhealthy', 120_000);
    const vmid = gated.status.vmid as number;
    assert.equal(env.sim.admin.guest(vmid)!.status, 'running');
    assert.notEqual(env.sim.admin.guest(vmid)!.config['template'], '1');
    assert.equal(condition(gated, 'Ready')?.status, 'False');
    env.sim.admin.clearAgentRules();
    await waitReady(env, 'phoenixvms', 'tpl-gated', 120_000);
    assert.equal(env.sim.admin.guest(vmid)!.config['template'], '1');
    assert.deepEqual(tasks(vmid).filter((t) => ['qmstart', 'qmshutdown', 'qmtemplate'].includes(t)), ['qmstart', 'qmshutdown', 'qmtemplate']);
  });

  it('converts without starting the guest again when the controller restarts between the shutdown and the conversion', async () => {
    // The conversion is refused until the controller has been restarted: the guest waits stopped, provisioned, not converted.
    env.sim.admin.injectFault({ kind: 'error', rate: 1, method: 'POST', path: '/nodes/{node}/qemu/{vmid}/template', message: 'simulated failure before the conversion' });
    // powerState: Stopped is the template's state once converted; it still runs for its step first.
    await apply(env, 'PhoenixVM', 'tpl-restart', vmSpec({ template: true, powerState: 'Stopped', provision: [step('base', 'apt-get install -y curl\n')] }));
    const waiting = await waitCondition(env, 'phoenixvms', 'tpl-restart', (o) => o.status?.vmid !== undefined && tasks(o.status.vmid).includes('qmshutdown') && env.sim.admin.guest(o.status.vmid)?.status === 'stopped' && /simulated failure before the conversion/.test(condition(o, 'Ready')?.message ?? ''), 'shut down, the conversion failing', 120_000);
    const vmid = waiting.status.vmid as number;
    assert.notEqual(env.sim.admin.guest(vmid)!.config['template'], '1');
    await env.restart();
    env.sim.admin.clearFaults('error');
    const ready = await waitReady(env, 'phoenixvms', 'tpl-restart', 120_000);
    assert.equal(ready.status.provisioned, '1/1');
    assert.equal(env.sim.admin.guest(vmid)!.config['template'], '1');
    assert.deepEqual(runs(vmid), ['base'], 'the step ran once');
    assert.deepEqual(tasks(vmid).filter((t) => ['qmstart', 'qmshutdown', 'qmtemplate'].includes(t)), ['qmstart', 'qmshutdown', 'qmtemplate'], 'started once, never again after the restart');
  });

  it('takes a BeforeProvisioning snapshot before the steps and final-form after them, and a clone of final-form inherits its steps', async () => {
    // The step takes a simulated day (within its timeout): the snapshots are looked at while it runs.
    env.sim.admin.addAgentRule({ match: 'build-golden-image', durationMs: 24 * 3_600_000 });
    await apply(env, 'PhoenixVM', 'golden', vmSpec({
      provision: [{ ...step('base', 'build-golden-image\n'), timeout: '48h' }],
      snapshots: [{ name: 'pre-provision', when: 'BeforeProvisioning' }, { name: 'final-form', description: 'clones start here' }],
    }));
    const running = await waitCondition(env, 'phoenixvms', 'golden', (o) => o.status?.provision?.[0]?.phase === 'Running', 'the step running', 120_000);
    const vmid = running.status.vmid as number;
    const snapshotsNow = () => env.sim.admin.guest(vmid)!.snapshots.map((s) => s.name);
    assert.deepEqual(snapshotsNow(), ['pre-provision'], 'only the snapshot before provisioning exists while the step runs');
    const startedAt = env.sim.admin.agentRuns(vmid)[0]!.startedAt;
    env.sim.admin.advance(24 * 3_600_000);
    const ready = await waitReady(env, 'phoenixvms', 'golden', 120_000);
    env.sim.admin.clearAgentRules();
    assert.deepEqual(snapshotsNow(), ['pre-provision', 'final-form']);
    const final = env.sim.admin.guest(vmid)!.snapshots.find((s) => s.name === 'final-form')!;
    assert.ok(final.snaptime * 1000 >= startedAt + 24 * 3_600_000, `final-form (${final.snaptime}) was taken before the step ended (${startedAt} + 24 h)`);
    const hash = ready.status.provision[0].hash as string;
    assert.equal(final.description, `clones start here\n\n<!-- phoenix:provisioned base=${hash} -->`);
    assert.deepEqual(ready.status.snapshots, ['final-form', 'pre-provision']);

    await apply(env, 'PhoenixVM', 'golden-clone', cloneSpec({ vmRef: { name: 'golden' }, snapshot: 'final-form' }, [step('app', 'systemctl enable --now app\n')]));
    const clone = await waitReady(env, 'phoenixvms', 'golden-clone', 180_000);
    assert.deepEqual(runs(clone.status.vmid), ['app']);
    assert.deepEqual(clone.status.inheritedSteps, [{ name: 'base', hash, source: `VMID ${vmid}@final-form` }]);
  });

  it('admits the golden-chain examples as written (server-side dry run)', async () => {
    const dir = fileURLToPath(new URL('../../examples/provision/', import.meta.url));
    for (const file of ['golden-chain-vm.yaml', 'golden-chain-lxc.yaml']) {
      const out = await kubectl(env.cluster.kubeconfigPath, ['apply', '--dry-run=server', '-n', env.namespace, '-f', `${dir}${file}`]);
      assert.match(String(out), /created \(server dry run\)/, `${file}: ${out}`);
    }
  });
});
