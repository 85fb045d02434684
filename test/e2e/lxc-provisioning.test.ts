import { strict as assert } from 'node:assert';
import * as k8s from '@kubernetes/client-node';
import { ed25519KeyPair } from '../../src/clients/ssh/key-pair.ts';
import { startPhoenix, apply, waitReady, waitCondition, condition, readyAtGeneration, getObject, G, type PhoenixEnv } from '../support/phoenix.ts';
import { eventually } from '../support/crds.ts';

/**
 * Issue 13's container transport through kubectl's path: a PhoenixLXC's steps run in the
 * container over SSH to the (simulated) node, as `pct exec` and `pct push`, with the
 * PhoenixHypervisor's spec.ssh naming the credentials Secret and pinning the host key. A file
 * from a Secret lands in the container; a restarted controller does not start a running step
 * again; a host key that is not the pinned one stalls the container with nothing sent; and the
 * Secret's value shows nowhere: not in status, events, or any command line the node received.
 */
describe('provisioning a PhoenixLXC over SSH and pct (real API server + simulator)', function () {
  this.timeout(180_000);
  let env: PhoenixEnv;
  const secretToken = 'ct-SECRET-5d2a91';
  const name = 'ct-app';

  const configStep = (script: string) => ({
    name: 'config',
    script: { inline: script },
    files: [{ path: '/etc/app/token', source: { secretKeyRef: { name: 'app-secret', key: 'token' } }, mode: '0600' }],
    env: [{ name: 'APP_TOKEN', secretKeyRef: { name: 'app-secret', key: 'token' } }],
  });
  const baseStep = { name: 'base', script: { inline: "apt-get install -y curl 'jq'\n" }, interpreter: '/bin/bash' };
  const healthChecks = [{ name: 'token-present', exec: { command: 'test -f /etc/app/token' }, period: '1s', failureThreshold: 2 }];

  const update = (provision: unknown[]) =>
    env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace: env.namespace, name, body: { spec: { provision } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
  const patchSsh = (ssh: Record<string, unknown>) =>
    env.custom.patchClusterCustomObject({ ...G, plural: 'phoenixhypervisors', name: env.hypervisor, body: { spec: { ssh } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
  const runs = (vmid: number) => env.sim.admin.agentRuns(vmid).map((r) => /\/steps\/([^/]+)\//.exec(r.dir)?.[1]);

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({ name: 'e2e-lxc-provisioning' });
    const core = env.cluster.kc.makeApiClient(k8s.CoreV1Api);
    const ssh = env.sim.admin.ssh();
    await core.createNamespacedSecret({ namespace: env.namespace, body: { metadata: { name: 'app-secret' }, stringData: { token: secretToken } } });
    await core.createNamespacedSecret({ namespace: env.namespace, body: { metadata: { name: 'node-ssh' }, type: 'kubernetes.io/ssh-auth', stringData: { 'ssh-privatekey': ssh.privateKey, username: ssh.username } } });
    // Node pve has an address of its own: the default port (1, where nothing listens) is not used for it.
    await patchSsh({ credentialsSecretRef: { name: 'node-ssh', namespace: env.namespace }, hostKeyFingerprints: [ssh.hostKeyFingerprint], port: 1, nodes: [{ name: 'pve', address: 'localhost', port: ssh.port }] });
  });

  after(async () => env?.stop());

  it('runs the steps in the container with pct exec, places the Secret\'s file with pct push, checks health, then is Ready', async () => {
    await apply(env, 'PhoenixLXC', name, {
      source: { osTemplate: { volume: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst' } },
      provision: [baseStep, configStep('configure-app --token-file /etc/app/token\n')],
      healthChecks,
    });
    const ready = await waitReady(env, 'phoenixlxcs', name, 120_000);
    const vmid = ready.status.vmid as number;
    assert.deepEqual(runs(vmid), ['base', 'config']);
    assert.deepEqual((ready.status.provision as any[]).map((s) => [s.name, s.phase, s.attempts, s.exitCode]), [['base', 'Succeeded', 1, 0], ['config', 'Succeeded', 1, 0]]);
    assert.equal(ready.status.provisioned, '2/2');
    assert.equal(condition(ready, 'Provisioned')?.status, 'True');
    assert.equal(condition(ready, 'Healthy')?.status, 'True');
    const guest = env.sim.admin.guest(vmid)!;
    assert.equal(guest.agentFiles['/etc/app/token'], secretToken);
    assert.equal(guest.agentFiles[`${env.sim.admin.agentRuns(vmid)[0]!.dir}/script`], "apt-get install -y curl 'jq'\n");
    // Only pct exec and pct push into this container reached the node, and no pushed file stayed there.
    const lines = env.sim.ssh!.commands.map((c) => c.line);
    assert.ok(lines.length > 0);
    for (const line of lines) assert.match(line, new RegExp(`^pct (exec ${vmid} -- |push ${vmid} /tmp/\\.phoenix-push-[0-9a-f]+ )`));
    assert.ok(lines.some((l) => l.startsWith(`pct push ${vmid} `) && l.endsWith(' --perms 0600 --user 0 --group 0')));
    assert.deepEqual([...env.sim.ssh!.files.keys()], []);
    // Every command and file went over one connection to the node.
    assert.equal(env.sim.ssh!.connectionsAccepted(), 1);
  });

  it('turns Ready False while a health check fails in the container, and back once it passes', async () => {
    const guest = env.sim.admin.guest((await getObject(env, 'phoenixlxcs', name)).status.vmid)!;
    const token = guest.agentFiles['/etc/app/token']!;
    delete guest.agentFiles['/etc/app/token'];
    const unhealthy = await waitCondition(env, 'phoenixlxcs', name, (o) => condition(o, 'Ready')?.status === 'False' && condition(o, 'Ready')?.reason === 'Unhealthy', 'Ready False: Unhealthy', 60_000);
    assert.match(condition(unhealthy, 'Healthy')?.message ?? '', /token-present \(failed 2 in a row, exit code 1\)/);
    guest.agentFiles['/etc/app/token'] = token;
    await waitCondition(env, 'phoenixlxcs', name, (o) => condition(o, 'Ready')?.status === 'True', 'Ready again', 60_000);
  });

  it('resumes a step running when the controller restarts, without starting it again', async () => {
    const vmid = (await getObject(env, 'phoenixlxcs', name)).status.vmid as number;
    env.sim.admin.addAgentRule({ match: 'long-running-build', durationMs: 24 * 3_600_000 });
    await update([baseStep, configStep('configure-app --token-file /etc/app/token\n'), { name: 'build', script: { inline: 'make long-running-build\n' }, timeout: '48h' }]);
    const running = await waitCondition(env, 'phoenixlxcs', name, (o) => o.status?.provision?.[2]?.phase === 'Running', 'the step recorded as Running');
    const runId = running.status.provision[2].runId;
    await env.restart();
    env.sim.admin.advance(24 * 3_600_000);
    const ready = await waitCondition(env, 'phoenixlxcs', name, readyAtGeneration, 'Ready after the restart', 120_000);
    assert.equal(ready.status.provision[2].runId, runId);
    assert.equal(ready.status.provision[2].attempts, 1);
    assert.equal(env.sim.admin.agentRuns(vmid).filter((r) => r.dir.endsWith(`/build/${runId}`)).length, 1, 'the run was started twice');
    env.sim.admin.clearAgentRules();
  });

  it('never starts a step twice when answers to its start or its status are lost on the way', async () => {
    const vmid = (await getObject(env, 'phoenixlxcs', name)).status.vmid as number;
    const before = runs(vmid).length;
    const dir = '/var/lib/phoenix/steps/lossy/';
    const statusReads = () => env.sim.ssh!.commands.filter((c) => c.line.includes(` status ${dir}`)).length;
    // The runner's start runs in the container, but the channel closes without an exit status.
    env.sim.ssh!.dropAnswers(` start ${dir}`, 1);
    env.sim.admin.addAgentRule({ match: 'build-over-a-lossy-link', durationMs: 24 * 3_600_000 });
    await update([baseStep, configStep('configure-app --token-file /etc/app/token\n'), { name: 'build', script: { inline: 'make long-running-build\n' }, timeout: '48h' }, { name: 'lossy', script: { inline: 'make build-over-a-lossy-link\n' }, timeout: '48h' }]);
    await waitCondition(env, 'phoenixlxcs', name, (o) => o.status?.provision?.[3]?.phase === 'Running', 'the step recorded as Running');
    // While it runs, two reads of its status lose their answers too: neither may pass for a run gone.
    const reads = statusReads();
    env.sim.ssh!.dropAnswers(` status ${dir}`, 2);
    await eventually('two status reads lost', async () => statusReads() >= reads + 3, 60_000);
    env.sim.admin.advance(24 * 3_600_000);
    const ready = await waitCondition(env, 'phoenixlxcs', name, (o) => readyAtGeneration(o) && o.status.provisioned === '4/4', 'Ready once the answers come through', 120_000);
    assert.deepEqual(runs(vmid).slice(before), ['lossy'], 'the step was started more than once');
    assert.equal(ready.status.provision[3].attempts, 1);
    assert.equal(ready.status.provision[3].exitCode, 0);
    env.sim.admin.clearAgentRules();
  });

  it('stalls with HostKeyMismatch and sends nothing when the node\'s host key is not the pinned one', async () => {
    const vmid = (await getObject(env, 'phoenixlxcs', name)).status.vmid as number;
    const ssh = env.sim.admin.ssh();
    // A pin of another key: what a node replaced (or an attacker in between) would present.
    const wrong = `SHA256:${'A'.repeat(43)}`;
    await patchSsh({ hostKeyFingerprints: [wrong] });
    await eventually('the controller has the new pin', async () => env.phoenix.connections.get(env.hypervisor)?.settings.ssh?.hostKeyFingerprints?.[0] === wrong);
    const commandsBefore = env.sim.ssh!.commands.length;
    const runsBefore = runs(vmid).length;
    await update([baseStep, configStep('configure-app --token-file /etc/app/token --strict\n')]);
    const stalled = await waitCondition(env, 'phoenixlxcs', name, (o) => condition(o, 'Stalled')?.status === 'True' && condition(o, 'Stalled')?.reason === 'HostKeyMismatch', 'Stalled: HostKeyMismatch', 60_000);
    assert.match(condition(stalled, 'Stalled')!.message, new RegExp(`presented ${ssh.hostKeyFingerprint.replace(/[+/]/g, '\\$&')}.*Phoenix sent nothing`));
    assert.equal(env.sim.ssh!.commands.length, commandsBefore, 'a command reached the node');
    assert.equal(runs(vmid).length, runsBefore);
    // Pinning the right key again lets it go on.
    await patchSsh({ hostKeyFingerprints: [ssh.hostKeyFingerprint] });
    await env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace: env.namespace, name, body: { metadata: { annotations: { retry: '1' } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await waitCondition(env, 'phoenixlxcs', name, (o) => readyAtGeneration(o) && o.status.provisioned === '2/2', 'Ready with the right key pinned', 120_000);
    assert.deepEqual(runs(vmid).slice(runsBefore), ['config']);
  });

  it('refuses spec.ssh that pins no host key at admission: no trust on first use', async () => {
    const err = await patchSsh({ hostKeyFingerprints: null }).catch((e: unknown) => e);
    assert.match(String((err as { body?: unknown }).body ?? err), /pin the nodes' host keys with knownHosts or hostKeyFingerprints/);
    const bad = await patchSsh({ hostKeyFingerprints: ['MD5:aa:bb'] }).catch((e: unknown) => e);
    assert.match(String((bad as { body?: unknown }).body ?? bad), /hostKeyFingerprints/);
    assert.equal((await getObject(env, 'phoenixhypervisors', env.hypervisor)).spec.ssh.hostKeyFingerprints[0], env.sim.admin.ssh().hostKeyFingerprint);
  });

  it('stalls with SSHCredentialsMissing while the credentials Secret is gone, and goes on once it is back', async () => {
    const core = env.cluster.kc.makeApiClient(k8s.CoreV1Api);
    const ssh = env.sim.admin.ssh();
    await core.deleteNamespacedSecret({ namespace: env.namespace, name: 'node-ssh' });
    const poke = (value: string) => env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace: env.namespace, name, body: { metadata: { annotations: { poke: value } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await poke('missing');
    const stalled = await waitCondition(env, 'phoenixlxcs', name, (o) => condition(o, 'Stalled')?.status === 'True' && condition(o, 'Stalled')?.reason === 'SSHCredentialsMissing', 'Stalled: SSHCredentialsMissing', 60_000);
    assert.match(condition(stalled, 'Stalled')!.message, new RegExp(`Secret ${env.namespace}/node-ssh with the SSH credentials of PhoenixHypervisor ${env.hypervisor} does not exist`));
    assert.equal(stalled.status.powerState, 'Running');
    await core.createNamespacedSecret({ namespace: env.namespace, body: { metadata: { name: 'node-ssh' }, type: 'kubernetes.io/ssh-auth', stringData: { 'ssh-privatekey': ssh.privateKey } } });
    await poke('back');
    await waitCondition(env, 'phoenixlxcs', name, (o) => condition(o, 'Ready')?.status === 'True', 'Ready again', 60_000);
  });

  it('works as a dedicated user through sudo -n, and says what is missing without it', async () => {
    const vmid = (await getObject(env, 'phoenixlxcs', name)).status.vmid as number;
    const core = env.cluster.kc.makeApiClient(k8s.CoreV1Api);
    const key = ed25519KeyPair();
    env.sim.admin.authorizeSshKey('phoenix', key.public);
    await core.replaceNamespacedSecret({ namespace: env.namespace, name: 'node-ssh', body: { metadata: { name: 'node-ssh' }, type: 'kubernetes.io/ssh-auth', stringData: { 'ssh-privatekey': key.private, username: 'phoenix' } } });
    const poke = (value: string) => env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace: env.namespace, name, body: { metadata: { annotations: { poke: value } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await poke('as-phoenix');
    const denied = await waitCondition(env, 'phoenixlxcs', name, (o) => condition(o, 'Stalled')?.reason === 'SSHPermissionDenied', 'Stalled: SSHPermissionDenied', 60_000);
    assert.match(condition(denied, 'Stalled')!.message, /please run as root.*Set spec\.ssh\.sudo: true/);
    await patchSsh({ sudo: true });
    await eventually('the controller has sudo: true', async () => env.phoenix.connections.get(env.hypervisor)?.settings.ssh?.sudo === true);
    const mark = env.sim.ssh!.commands.length;
    const before = runs(vmid).length;
    await update([baseStep, configStep('configure-app --token-file /etc/app/token --as-phoenix\n')]);
    await waitCondition(env, 'phoenixlxcs', name, (o) => readyAtGeneration(o) && o.status.provisioned === '2/2', 'Ready, provisioned through sudo', 120_000);
    assert.deepEqual(runs(vmid).slice(before), ['config']);
    const sent = env.sim.ssh!.commands.slice(mark);
    assert.ok(sent.some((c) => c.line.startsWith(`sudo -n pct push ${vmid} `)));
    for (const c of sent) {
      assert.equal(c.username, 'phoenix');
      assert.match(c.line, /^sudo -n pct (exec|push) /);
    }
  });

  it('never shows the Secret the steps read in status, events, or a command line the node received', async () => {
    const object = await getObject(env, 'phoenixlxcs', name);
    assert.ok(!JSON.stringify(object.status).includes(secretToken), 'the Secret value is in the status');
    const events = (await env.cluster.kc.makeApiClient(k8s.EventsV1Api).listNamespacedEvent({ namespace: env.namespace })).items;
    assert.ok(events.some((e) => e.reason === 'StepStarted'), 'no events to check');
    for (const e of events) assert.ok(!`${e.note ?? ''}`.includes(secretToken), `event ${e.reason} shows the Secret: ${e.note}`);
    for (const c of env.sim.ssh!.commands) assert.ok(!c.line.includes(secretToken), `the node received the Secret in ${c.line}`);
  });
});
