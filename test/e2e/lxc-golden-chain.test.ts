import { strict as assert } from 'node:assert';
import * as k8s from '@kubernetes/client-node';
import { startPhoenix, apply, waitReady, waitCondition, condition, getObject, G, type PhoenixEnv } from '../support/phoenix.ts';

/**
 * Issue 13's golden chain with containers, as examples/provision/golden-chain-lxc.yaml declares
 * it, through kubectl's path and over the container transport (`pct exec`/`pct push` over SSH to
 * the simulated node): a base container whose step runs between its `pre-provision` and
 * `final-form` snapshots; a container cloned from `final-form` that runs only its own step, is
 * shut down and converted to a template; and a container cloned from that template that runs
 * only its own step and is health-checked. What is asserted is what the node received (the
 * commands over SSH, the runs started, the tasks and the snapshots), not Phoenix's status alone.
 */
describe('the golden chain of containers over SSH and pct (real API server + simulator)', function () {
  this.timeout(300_000);
  let env: PhoenixEnv;

  const step = (name: string, script: string) => ({ name, interpreter: '/bin/bash', script: { inline: script } });
  /** The step names of the runs started in a container, in order (the simulated runner's record). */
  const runs = (vmid: number) => env.sim.admin.agentRuns(vmid).map((r) => /\/steps\/([^/]+)\//.exec(r.dir)?.[1]);
  /** The Proxmox tasks of one guest, by type, in the order they were started. */
  const tasks = (vmid: number) => env.sim.admin.tasks().filter((t) => t.id === String(vmid)).map((t) => t.type);
  /** The lines the node received over SSH for one container. */
  const linesFor = (vmid: number) => env.sim.ssh!.commands.map((c) => c.line).filter((l) => l.startsWith(`pct exec ${vmid} `) || l.startsWith(`pct push ${vmid} `));
  const powerTasks = (vmid: number) => tasks(vmid).filter((t) => ['vzstart', 'vzstop', 'vzshutdown', 'vztemplate'].includes(t));

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({ name: 'e2e-lxc-golden-chain' });
    const core = env.cluster.kc.makeApiClient(k8s.CoreV1Api);
    const ssh = env.sim.admin.ssh();
    await core.createNamespacedSecret({ namespace: env.namespace, body: { metadata: { name: 'node-ssh' }, type: 'kubernetes.io/ssh-auth', stringData: { 'ssh-privatekey': ssh.privateKey, username: ssh.username } } });
    await env.custom.patchClusterCustomObject({ ...G, plural: 'phoenixhypervisors', name: env.hypervisor, body: { spec: { ssh: { credentialsSecretRef: { name: 'node-ssh', namespace: env.namespace }, hostKeyFingerprints: [ssh.hostKeyFingerprint], nodes: [{ name: 'pve', address: 'localhost', port: ssh.port }] } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
  });

  after(async () => env?.stop());

  let base: { vmid: number; hash: string };
  let cuda: { vmid: number; hash: string };

  it('provisions the base container between its pre-provision and final-form snapshots, and marks final-form with its step', async () => {
    // The step takes a simulated hour: the snapshots are looked at while it runs.
    env.sim.admin.addAgentRule({ match: 'install-base-packages', durationMs: 3_600_000 });
    await apply(env, 'PhoenixLXC', 'copy-base', {
      source: { osTemplate: { volume: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst' } },
      provision: [{ ...step('base', 'install-base-packages curl jq\n'), timeout: '2h' }],
      snapshots: [{ name: 'pre-provision', when: 'BeforeProvisioning' }, { name: 'final-form', description: 'Base image after setup; clones start here' }],
    });
    const running = await waitCondition(env, 'phoenixlxcs', 'copy-base', (o) => o.status?.provision?.[0]?.phase === 'Running', 'the step running', 120_000);
    const vmid = running.status.vmid as number;
    const snapshotsNow = () => env.sim.admin.guest(vmid)!.snapshots.map((s) => s.name);
    assert.deepEqual(snapshotsNow(), ['pre-provision'], 'only the snapshot before provisioning exists while the step runs');
    env.sim.admin.advance(3_600_000);
    const ready = await waitReady(env, 'phoenixlxcs', 'copy-base', 120_000);
    env.sim.admin.clearAgentRules();
    assert.deepEqual(snapshotsNow(), ['pre-provision', 'final-form']);
    assert.deepEqual(runs(vmid), ['base']);
    const hash = ready.status.provision[0].hash as string;
    const final = env.sim.admin.guest(vmid)!.snapshots.find((s) => s.name === 'final-form')!;
    assert.equal(final.description, `Base image after setup; clones start here\n\n<!-- phoenix:provisioned base=${hash} -->`);
    const pre = env.sim.admin.guest(vmid)!.snapshots.find((s) => s.name === 'pre-provision')!;
    assert.ok(!/phoenix:provisioned/.test(pre.description ?? ''), `pre-provision holds no step, yet says: ${pre.description}`);
    // The step went over SSH as pct: its script pushed, its runner started in this container.
    const lines = linesFor(vmid);
    assert.ok(lines.some((l) => l.startsWith(`pct push ${vmid} /tmp/.phoenix-push-`) && / \/var\/lib\/phoenix\/steps\/base\/[^ ]+\/script /.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => / start '?\/var\/lib\/phoenix\/steps\/base\//.test(l)), lines.join('\n'));
    base = { vmid, hash };
  });

  it('clones final-form into a container that runs only its own step, then shuts it down cleanly and converts it to a template', async () => {
    await apply(env, 'PhoenixLXC', 'copy-cuda', {
      source: { clone: { lxcRef: { name: 'copy-base' }, snapshot: 'final-form', full: true, storage: 'local-lvm' } },
      provision: [{ ...step('nvidia-userspace', 'install-nvidia-userspace --no-kernel-module\n'), env: [{ name: 'NVIDIA_DRIVER_VERSION', value: '580.95.05' }] }],
      healthChecks: [{ name: 'gpu', exec: { command: 'nvidia-smi -L' }, period: '1s' }],
      template: true,
    });
    const ready = await waitReady(env, 'phoenixlxcs', 'copy-cuda', 180_000);
    const vmid = ready.status.vmid as number;
    const guest = env.sim.admin.guest(vmid)!;
    assert.deepEqual(runs(vmid), ['nvidia-userspace'], 'the inherited step ran again, or the own one did not');
    assert.deepEqual(ready.status.inheritedSteps, [{ name: 'base', hash: base.hash, source: `VMID ${base.vmid}@final-form` }]);
    assert.equal(guest.config['template'], '1');
    assert.equal(guest.status, 'stopped');
    assert.deepEqual(powerTasks(vmid), ['vzstart', 'vzshutdown', 'vztemplate'], 'started once, shut down cleanly, converted last');
    // The health check ran in the container before the conversion.
    assert.ok(linesFor(vmid).some((l) => l.includes('nvidia-smi -L')), 'the health check never reached the container');
    const hash = ready.status.provision[0].hash as string;
    // A template's clones read the whole line from its description: the inherited step, then its own.
    assert.match(String(guest.config['description']), new RegExp(`<!-- phoenix:provisioned base=${base.hash} nvidia-userspace=${hash} -->`));
    cuda = { vmid, hash };
  });

  it('clones the template into a container that runs only its own step, is health-checked and inherits the whole line', async () => {
    await apply(env, 'PhoenixLXC', 'granite-embedding', {
      source: { clone: { lxcRef: { name: 'copy-cuda' }, full: true, storage: 'local-lvm' } },
      provision: [step('vllm', 'install-vllm --model ibm-granite/granite-embedding-125m-english\n')],
      healthChecks: [{ name: 'vllm', exec: { command: 'curl -fsS http://127.0.0.1:8000/health' }, period: '1s' }],
    });
    const ready = await waitReady(env, 'phoenixlxcs', 'granite-embedding', 180_000);
    const vmid = ready.status.vmid as number;
    assert.deepEqual(runs(vmid), ['vllm']);
    assert.deepEqual(ready.status.inheritedSteps, [
      { name: 'base', hash: base.hash, source: `VMID ${cuda.vmid}` },
      { name: 'nvidia-userspace', hash: cuda.hash, source: `VMID ${cuda.vmid}` },
    ]);
    assert.equal(env.sim.admin.guest(vmid)!.status, 'running');
    assert.equal(condition(ready, 'Healthy')?.status, 'True');
    assert.ok(linesFor(vmid).some((l) => l.includes('127.0.0.1:8000/health')), 'the health check never reached the container');
    // Nothing more ran in the sources, and the template was not started again.
    assert.deepEqual(runs(base.vmid), ['base']);
    assert.deepEqual(runs(cuda.vmid), ['nvidia-userspace']);
    assert.deepEqual(powerTasks(cuda.vmid), ['vzstart', 'vzshutdown', 'vztemplate']);
    assert.equal((await getObject(env, 'phoenixlxcs', 'copy-cuda')).status.powerState, 'Stopped');
  });
});
