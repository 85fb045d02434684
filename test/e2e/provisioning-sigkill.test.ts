import { strict as assert } from 'node:assert';
import type { ChildProcess } from 'node:child_process';
import * as k8s from '@kubernetes/client-node';
import { testCluster, type TestCluster } from '../support/cluster.ts';
import { spawnController, stopProcess } from '../support/controller-process.ts';
import { installPhoenixCrds } from '../support/crds.ts';
import { G, waitCondition, readyAtGeneration, type PhoenixEnv } from '../support/phoenix.ts';
import { startProxmoxSimulator, type RunningSimulator } from '../../src/sim/proxmox/index.ts';
import { apiGroup, apiVersion } from '../../src/api/group.ts';

const namespace = 'e2e-provisioning-sigkill';
const hypervisor = 'sigkill-sim';
const secretToken = 'tok-SIGKILL-SECRET-5d02a7';
const simulatedDay = 24 * 3_600_000;

/**
 * Issue 13's proof, the hard way: `phoenix controller` as a separate process (debug logs),
 * SIGKILLed at moments chosen by the step phases it records, and restarted each time, for a
 * PhoenixVM (guest agent) and a PhoenixLXC (SSH and pct). Process-wide memory dies with the
 * process here, unlike in the in-process restarts of provisioning.test.ts. Each
 * step's run is started in the guest exactly once (the simulator's record of started runs), the
 * guest ends Ready with every step Succeeded, and the Secret a step reads (as env and as a file)
 * shows nowhere: not in the controller's output, events, status, or what the guest was asked to
 * run or given, outside the step's private run directory and the file's destination.
 */
describe('provisioning through SIGKILLs of a separate controller process (real API server + simulator)', function () {
  this.timeout(10 * 60_000);
  let cluster: TestCluster;
  let sim: RunningSimulator;
  let custom: k8s.CustomObjectsApi;
  let controller: ChildProcess | undefined;
  const output: string[] = [];
  const kills: string[] = [];
  const figures: string[] = [];
  /** Every command line the guest agent was asked to run, as the guest saw it. */
  const execs: string[] = [];
  const env = () => ({ custom, namespace }) as Pick<PhoenixEnv, 'custom' | 'namespace'>;

  function startController(): ChildProcess {
    const capture = (text: string) => output.push(text);
    return spawnController({ kubeconfigPath: cluster.kubeconfigPath, namespace, args: ['--log-level=debug', '--log-format=json'], onStdout: capture, onStderr: capture });
  }

  async function kill(moment: string): Promise<void> {
    await stopProcess(controller, 'SIGKILL');
    kills.push(moment);
    controller = startController();
  }

  const step = (o: any, name: string) => (o?.status?.provision as any[] | undefined)?.find((s) => s.name === name);
  const waitStep = (name: string, phases: string[], timeoutMs = 120_000, plural = 'phoenixvms', object = 'app') =>
    waitCondition(env(), plural, object, (o) => phases.includes(step(o, name)?.phase), `${object}: step ${name} ${phases.join(' or ')}`, timeoutMs)
      .catch((err) => { throw new Error(`${(err as Error).message}; controller output: ${output.join('').slice(-3000)}`); });

  before(async function () {
    this.timeout(30 * 60_000);
    cluster = await testCluster();
    await installPhoenixCrds(cluster.kc);
    custom = cluster.kc.makeApiClient(k8s.CustomObjectsApi);
    const core = cluster.kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: namespace } } }).catch(() => undefined);
    sim = await startProxmoxSimulator({ seed: 42, speed: 200 });
    const agents = sim.simulator.agents;
    const exec = agents.exec.bind(agents);
    agents.exec = (g, command) => {
      execs.push(command.join(' '));
      return exec(g, command);
    };
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'pve-token' }, stringData: { token: `${sim.token.fullId}=${sim.token.secret}` } } });
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'app-secret' }, stringData: { token: secretToken } } });
    await custom.createClusterCustomObject({
      ...G, plural: 'phoenixhypervisors',
      body: { apiVersion: `${apiGroup}/${apiVersion}`, kind: 'PhoenixHypervisor', metadata: { name: hypervisor }, spec: { proxmox: { url: sim.url, tokenSecretRef: { name: 'pve-token', namespace } } } },
    });
    controller = startController();
  });

  after(async () => {
    await stopProcess(controller, 'SIGKILL');
    await custom?.deleteClusterCustomObject({ ...G, plural: 'phoenixhypervisors', name: hypervisor }).catch(() => undefined);
    await sim?.close();
    if (kills.length) process.stdout.write(`      [sigkill] killed at: ${kills.join('; ')}; ${figures.join('; ')}\n`);
  });

  it('starts each step once through SIGKILLs while it starts, runs and has just ended, and ends Ready', async () => {
    // A simulated day: the step certainly runs across kills until the test moves the clock.
    sim.admin.addAgentRule({ match: 'long-running-build', durationMs: simulatedDay });
    // Slow file writes: the step's Starting phase (run directory, script, env, files) lasts long enough to be seen.
    sim.admin.injectFault({ kind: 'latency', method: 'POST', path: '/nodes/{node}/qemu/{vmid}/agent/file-write', realMs: 400 });
    await custom.createNamespacedCustomObject({
      ...G, plural: 'phoenixvms', namespace,
      body: {
        apiVersion: `${apiGroup}/${apiVersion}`, kind: 'PhoenixVM', metadata: { name: 'app' },
        spec: {
          hypervisorRef: { name: hypervisor }, node: 'pve',
          source: { cloudImage: { volume: 'local:import/debian-12-genericcloud-amd64.qcow2', storage: 'local-lvm' } },
          memory: '2G', agent: { enabled: true }, networks: [{ bridge: 'vmbr0', ipv4: 'dhcp' }],
          provision: [
            { name: 'base', script: { inline: 'apt-get install -y curl\n' } },
            {
              name: 'build', timeout: '48h',
              script: { inline: 'make long-running-build TOKEN_FILE=/etc/app/token\n' },
              files: [{ path: '/etc/app/token', source: { secretKeyRef: { name: 'app-secret', key: 'token' } }, mode: '0600' }],
              env: [{ name: 'APP_TOKEN', secretKeyRef: { name: 'app-secret', key: 'token' } }, { name: 'APP_MODE', value: 'production' }],
            },
            { name: 'service', script: { inline: 'systemctl enable --now app\n' } },
          ],
        },
      },
    });

    await waitStep('base', ['Starting']);
    await kill('base Starting');
    await waitStep('build', ['Starting']);
    await kill('build Starting');
    const running = await waitStep('build', ['Running']);
    const runId = step(running, 'build').runId;
    const vmPolls = () => execs.filter((c) => c.includes(` status /var/lib/phoenix/steps/build/${runId}`)).length;
    const polledBefore = vmPolls();
    await kill('build Running');
    // The new controller polls the run it finds recorded (rather than starting another) before the next kill.
    await waitCondition(env(), 'phoenixvms', 'app', (o) => step(o, 'build')?.phase === 'Running' && step(o, 'build')?.runId === runId && vmPolls() > polledBefore, 'build polled again after the restart');
    await kill('build Running, again');
    sim.admin.clearFaults('latency');
    sim.admin.advance(simulatedDay);
    await waitStep('build', ['Succeeded']);
    await kill('build just Succeeded');
    await waitStep('service', ['Starting', 'Running', 'Succeeded']);
    await kill('service Starting or later');

    const ready = await waitCondition(env(), 'phoenixvms', 'app', (o) => readyAtGeneration(o) && o.status.provisioned === '3/3', 'Ready with 3/3 provisioned', 180_000)
      .catch((err) => { throw new Error(`${(err as Error).message}; controller output: ${output.join('').slice(-3000)}`); });
    const vmid = ready.status.vmid as number;
    const steps = ready.status.provision as any[];
    assert.deepEqual(steps.map((s) => [s.name, s.phase, s.exitCode]), [['base', 'Succeeded', 0], ['build', 'Succeeded', 0], ['service', 'Succeeded', 0]]);
    assert.equal(step(ready, 'build').runId, runId, 'the long step\'s run changed across the kills');
    // What the guest saw: one started run per step, each the run the status records.
    const started = sim.admin.agentRuns(vmid).map((r) => r.dir);
    assert.deepEqual(started.map((d) => /\/steps\/([^/]+)\//.exec(d)?.[1]), ['base', 'build', 'service'], `runs started: ${started.join(', ')}`);
    for (const s of steps) assert.ok(started.some((d) => d.endsWith(`/${s.name}/${s.runId}`)), `${s.name}'s recorded run ${s.runId} is not the one started`);
    // And `start` was sent for each run; a start sent again for the same run would be refused by the runner (mkdir), so count the sends too.
    const starts = execs.filter((c) => / start \/var\/lib\/phoenix\/steps\//.test(c));
    assert.ok(starts.length >= 3, `starts sent: ${starts.join(' | ')}`);
    figures.push(`runner starts sent: ${starts.length} for 3 runs`);
    assert.equal(sim.admin.guest(vmid)!.agentFiles['/etc/app/token'], secretToken);
    assert.equal(kills.length, 6);
  });

  it('starts each step of a container once over SSH through SIGKILLs while it runs and has just ended', async () => {
    const core = cluster.kc.makeApiClient(k8s.CoreV1Api);
    const ssh = sim.admin.ssh();
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'node-ssh' }, type: 'kubernetes.io/ssh-auth', stringData: { 'ssh-privatekey': ssh.privateKey, username: ssh.username } } });
    await custom.patchClusterCustomObject({ ...G, plural: 'phoenixhypervisors', name: hypervisor, body: { spec: { ssh: { credentialsSecretRef: { name: 'node-ssh', namespace }, hostKeyFingerprints: [ssh.hostKeyFingerprint], port: 1, nodes: [{ name: 'pve', address: 'localhost', port: ssh.port }] } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    sim.admin.addAgentRule({ match: 'long-running-ct-build', durationMs: simulatedDay });
    const killsBefore = kills.length;
    await custom.createNamespacedCustomObject({
      ...G, plural: 'phoenixlxcs', namespace,
      body: {
        apiVersion: `${apiGroup}/${apiVersion}`, kind: 'PhoenixLXC', metadata: { name: 'ct' },
        spec: {
          hypervisorRef: { name: hypervisor }, node: 'pve',
          source: { osTemplate: { volume: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst' } },
          provision: [
            { name: 'base', script: { inline: 'apt-get install -y curl\n' } },
            {
              name: 'build', timeout: '48h',
              script: { inline: 'make long-running-ct-build\n' },
              files: [{ path: '/etc/app/token', source: { secretKeyRef: { name: 'app-secret', key: 'token' } }, mode: '0600' }],
              env: [{ name: 'APP_TOKEN', secretKeyRef: { name: 'app-secret', key: 'token' } }],
            },
            { name: 'service', script: { inline: 'systemctl enable --now app\n' } },
          ],
        },
      },
    });
    const lxcStep = (name: string, phases: string[]) => waitStep(name, phases, 120_000, 'phoenixlxcs', 'ct');
    await lxcStep('build', ['Starting', 'Running']);
    await kill('ct: build Starting or Running');
    const running = await lxcStep('build', ['Running']);
    const runId = step(running, 'build').runId;
    const ctPolls = () => sim.ssh!.commands.filter((c) => c.line.includes(` status /var/lib/phoenix/steps/build/${runId}`)).length;
    const polledBefore = ctPolls();
    await kill('ct: build Running');
    await waitCondition(env(), 'phoenixlxcs', 'ct', (o) => step(o, 'build')?.phase === 'Running' && ctPolls() > polledBefore, 'ct: build polled again after the restart');
    sim.admin.advance(simulatedDay);
    await lxcStep('build', ['Succeeded']);
    await kill('ct: build just Succeeded');
    const ready = await waitCondition(env(), 'phoenixlxcs', 'ct', (o) => readyAtGeneration(o) && o.status.provisioned === '3/3', 'ct Ready with 3/3 provisioned', 180_000)
      .catch((err) => { throw new Error(`${(err as Error).message}; controller output: ${output.join('').slice(-3000)}`); });
    const vmid = ready.status.vmid as number;
    const steps = ready.status.provision as any[];
    assert.deepEqual(steps.map((s) => [s.name, s.phase, s.exitCode]), [['base', 'Succeeded', 0], ['build', 'Succeeded', 0], ['service', 'Succeeded', 0]]);
    assert.equal(step(ready, 'build').runId, runId);
    const started = sim.admin.agentRuns(vmid).map((r) => r.dir);
    assert.deepEqual(started.map((d) => /\/steps\/([^/]+)\//.exec(d)?.[1]), ['base', 'build', 'service'], `runs started: ${started.join(', ')}`);
    // The node received a start for each recorded run, and for no other run.
    const startLines = sim.ssh!.commands.map((c) => c.line).filter((l) => l.startsWith(`pct exec ${vmid} -- `) && / start \/var\/lib\/phoenix\/steps\//.test(l));
    for (const s of steps) assert.ok(startLines.some((l) => l.includes(` start /var/lib/phoenix/steps/${s.name}/${s.runId} `)), `no start sent for ${s.name}'s run ${s.runId}`);
    for (const l of startLines) assert.ok(steps.some((s) => l.includes(`/steps/${s.name}/${s.runId} `)), `a start sent for a run the status does not record: ${l}`);
    figures.push(`ct: runner starts sent over SSH: ${startLines.length} for 3 runs`);
    assert.equal(sim.admin.guest(vmid)!.agentFiles['/etc/app/token'], secretToken);
    assert.equal(kills.length - killsBefore, 3);
  });

  it('never shows the Secret in the controller\'s debug output, events, status or what the guest was asked to run', async () => {
    const logs = output.join('');
    assert.ok(logs.length > 10_000, `too little controller output to check (${logs.length} chars)`);
    assert.match(logs, /"level":"?debug/, 'no debug lines in the controller output');
    assert.ok(!logs.includes(secretToken), `the Secret is in the controller output: …${logs.slice(Math.max(0, logs.indexOf(secretToken) - 300), logs.indexOf(secretToken) + 100)}…`);
    const object = await custom.getNamespacedCustomObject({ ...G, plural: 'phoenixvms', namespace, name: 'app' }) as any;
    assert.ok(!JSON.stringify(object).includes(secretToken), 'the Secret is in the object');
    const events = (await cluster.kc.makeApiClient(k8s.EventsV1Api).listNamespacedEvent({ namespace })).items;
    assert.ok(events.length > 0, 'no events to check');
    for (const e of events) assert.ok(!JSON.stringify(e).includes(secretToken), `event ${e.reason} shows the Secret: ${e.note}`);
    assert.ok(execs.length > 0);
    for (const c of execs) assert.ok(!c.includes(secretToken), `the guest was asked to run a command holding the Secret: ${c}`);
    // In the guest, the Secret is only in the file it was meant for and the build run's private inputs (its env file and the file's staged parts).
    const guest = sim.admin.guest(object.status.vmid)!;
    const holders = Object.entries(guest.agentFiles).filter(([, content]) => content.includes(secretToken)).map(([path]) => path).sort();
    const runDir = `/var/lib/phoenix/steps/build/${object.status.provision[1].runId}`;
    assert.ok(holders.includes('/etc/app/token'));
    for (const path of holders) assert.ok(path === '/etc/app/token' || path === `${runDir}/env` || new RegExp(`^${runDir}/f\\d+\\.\\d+$`).test(path), `the guest file ${path} holds the Secret`);
    // Over SSH: no command line the node received holds it, and no pushed file stayed on the node.
    const lines = sim.ssh!.commands.map((c) => c.line);
    assert.ok(lines.length > 0, 'no SSH commands to check');
    for (const line of lines) assert.ok(!line.includes(secretToken), `the node received a command line holding the Secret: ${line}`);
    assert.deepEqual([...sim.ssh!.files.keys()], [], 'a pushed file stayed on the node');
    const ct = await custom.getNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace, name: 'ct' }) as any;
    assert.ok(!JSON.stringify(ct).includes(secretToken), 'the Secret is in the container\'s object');
    const container = sim.admin.guest(ct.status.vmid)!;
    const ctRunDir = `/var/lib/phoenix/steps/build/${step(ct, 'build').runId}`;
    const ctHolders = Object.entries(container.agentFiles).filter(([, content]) => content.includes(secretToken)).map(([path]) => path);
    assert.ok(ctHolders.includes('/etc/app/token'));
    for (const path of ctHolders) assert.ok(path === '/etc/app/token' || path === `${ctRunDir}/env` || new RegExp(`^${ctRunDir}/f\\d+\\.\\d+$`).test(path), `the container file ${path} holds the Secret`);
    assert.ok(!JSON.stringify(container.config).includes(secretToken), 'the Secret is in the container\'s config');
    // Nor in the VM's config as Proxmox holds it.
    assert.ok(!JSON.stringify(guest.config).includes(secretToken), 'the Secret is in the VM\'s config');
  });
});
