import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import { testCluster, type TestCluster } from '../support/cluster.ts';
import { installPhoenixCrds, eventually } from '../support/crds.ts';
import { hypervisorEvents as eventsOf, patchHypervisor, simulatorWrites, type JsonPatch } from '../support/hosts.ts';
import { waitReady, waitCondition, getObject, condition, G } from '../support/phoenix.ts';
import { startProxmoxSimulator, type RunningSimulator } from '../../src/sim/proxmox/index.ts';
import { createProxmoxClient, type ProxmoxClient } from '../../src/clients/proxmox/client.ts';
import { Manager } from '../../src/runtime/manager.ts';
import { parseRuntimeConfig } from '../../src/runtime/config.ts';
import { createLogger } from '../../src/runtime/logging.ts';
import { createPhoenixControllers, loopbackOnly, type PhoenixControllers } from '../../src/controllers/phoenix.ts';
import { apiGroup, apiVersion } from '../../src/api/group.ts';

// Downloads, users and permissions of a PhoenixHypervisor. The manager is started here rather
// than with startPhoenix, so the test can restart it mid-task and read every log line it wrote.

const namespace = 'e2e-host-config-2';
const hypervisor = 'sim-host-config-2';
const observePeriodMs = 1_500;
const firstPassword = 'Tr0ub4dor&3-first';
const secondPassword = 'correct-horse-battery-2';

const ubuntu = 'ubuntu-24.04-standard_24.04-2_amd64.tar.zst';
const debian = 'debian-12-standard_12.7-1_amd64.tar.zst';
const toolsIso = { node: 'pve', storage: 'local', url: 'https://downloads.example.com/tools.iso', filename: 'tools.iso', content: 'iso', checksum: 'ab'.repeat(32), checksumAlgorithm: 'sha256' };

describe('host downloads, users and permissions of a PhoenixHypervisor (real API server + simulator)', function () {
  this.timeout(240_000);
  let cluster: TestCluster;
  let sim: RunningSimulator;
  let px: ProxmoxClient;
  let custom: k8s.CustomObjectsApi;
  let core: k8s.CoreV1Api;
  let running: { manager: Manager; phoenix: PhoenixControllers } | undefined;
  const logs: string[] = [];
  const env = () => ({ custom, namespace });

  async function startManager(): Promise<void> {
    const stream = new Writable({ write: (chunk, _encoding, done) => { logs.push(String(chunk)); done(); } });
    const config = parseRuntimeConfig(['--metrics-bind-address=0', '--health-probe-bind-address=0', `--namespaces=${namespace}`, '--concurrency=8'], {});
    const manager = new Manager({ config, kubeConfig: cluster.kc, logger: createLogger({ level: 'debug', format: 'json', stream }) });
    const phoenix = createPhoenixControllers({ observePeriodMs, externalCalls: manager.metrics, registry: manager.metrics.registry, allowHost: loopbackOnly });
    for (const definition of phoenix.definitions) await manager.addController(definition);
    await manager.start();
    running = { manager, phoenix };
  }

  async function stopManager(): Promise<void> {
    if (!running) return;
    await running.manager.stop();
    running.phoenix.close();
    running = undefined;
  }

  before(async function () {
    this.timeout(30 * 60_000);
    cluster = await testCluster();
    await installPhoenixCrds(cluster.kc);
    custom = cluster.kc.makeApiClient(k8s.CustomObjectsApi);
    core = cluster.kc.makeApiClient(k8s.CoreV1Api);
    sim = await startProxmoxSimulator({ seed: 7, speed: 200 });
    // What a person made before Phoenix: groups, a user the spec will list, its token and a permission of its own.
    sim.simulator.state.groups = [{ groupid: 'ops', acl: [] }, { groupid: 'audit', acl: [] }];
    sim.simulator.state.users.push({ userid: 'legacy@pve', comment: 'made by hand', acl: [{ path: '/storage', roles: ['PVEDatastoreUser'], propagate: true }] });
    sim.admin.createToken({ userid: 'legacy@pve', tokenid: 'ci' });
    px = createProxmoxClient({ url: sim.url, token: `${sim.token.fullId}=${sim.token.secret}` });
    await core.createNamespace({ body: { metadata: { name: namespace } } }).catch(() => undefined);
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'pve-token' }, stringData: { token: `${sim.token.fullId}=${sim.token.secret}` } } });
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'ops-password' }, stringData: { password: firstPassword } } });
    await startManager();
    await custom.createClusterCustomObject({
      ...G, plural: 'phoenixhypervisors',
      body: { apiVersion: `${apiGroup}/${apiVersion}`, kind: 'PhoenixHypervisor', metadata: { name: hypervisor }, spec: { proxmox: { url: sim.url, tokenSecretRef: { name: 'pve-token', namespace } } } },
    });
    await waitReady(env(), 'phoenixhypervisors', hypervisor);
  });

  after(async () => {
    await stopManager();
    await custom?.deleteClusterCustomObject({ ...G, plural: 'phoenixhypervisors', name: hypervisor }).catch(() => undefined);
    px?.close();
    await sim?.close();
  });

  const patchSpec = (ops: JsonPatch) => patchHypervisor(custom, hypervisor, ops);
  const state = () => {
    sim.simulator.settle();
    return sim.simulator.state;
  };
  const volume = (volid: string) => state().volumes.find((v) => v.volid === volid);
  const user = (id: string) => state().users.find((u) => u.userid === id);
  const calls = (endpoint: string) => sim.admin.counters().byEndpoint[endpoint] ?? 0;
  const writes = () => simulatorWrites(sim);
  const hypervisorEvents = (reason?: string) => eventsOf(cluster.kc, hypervisor, reason);

  async function assertInSyncCosts(perObservation: number): Promise<void> {
    const before = await getObject(env(), 'phoenixhypervisors', hypervisor);
    const events = (await hypervisorEvents()).length;
    sim.admin.resetCounters();
    await eventually('three observations', async () => calls('GET /version') >= 3, 30_000);
    const counters = sim.admin.counters();
    assert.deepEqual(writes(), [], 'Phoenix wrote to Proxmox with nothing to do');
    const observations = counters.byEndpoint['GET /version'] ?? 0;
    assert.ok(counters.total <= observations * perObservation + perObservation, `${counters.total} requests for ${observations} observations: ${JSON.stringify(counters.byEndpoint)}`);
    const after = await getObject(env(), 'phoenixhypervisors', hypervisor);
    assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion, 'Phoenix wrote the hypervisor object with nothing to do');
    assert.equal((await hypervisorEvents()).length, events, 'Phoenix recorded events with nothing to do');
  }

  it('downloads what is missing as tracked tasks, even across a controller restart, and skips what is there', async () => {
    // Slow enough that the download is still running when the controller is restarted.
    sim.admin.setSpeed(1);
    sim.admin.resetCounters();
    await patchSpec([{ op: 'add', path: '/spec/downloads', value: [{ node: 'pve', storage: 'local', appliance: ubuntu }, { node: 'pve', storage: 'local', appliance: debian }, toolsIso] }]);
    const downloading = await waitCondition(env(), 'phoenixhypervisors', hypervisor, (o) => o.status?.task?.upid !== undefined && /^download local:vztmpl\/ubuntu/.test(o.status?.taskItem ?? ''), 'ubuntu download running');
    assert.equal(condition(downloading, 'HostConfigured')?.reason, 'Downloading');
    assert.equal(condition(downloading, 'Ready')?.status, 'False', 'guests are held while a download runs');
    assert.match(downloading.status.task.upid, /^UPID:pve:.*:download:/);

    await stopManager();
    await startManager();
    sim.admin.setSpeed(200);
    const hv = await waitReady(env(), 'phoenixhypervisors', hypervisor, 90_000);
    assert.ok(volume(`local:vztmpl/${ubuntu}`), 'the appliance is on the storage');
    assert.equal(volume('local:iso/tools.iso')?.content, 'iso');
    assert.equal(calls('POST /nodes/{node}/aplinfo'), 1, 'the appliance was downloaded again after the restart, or the present one was downloaded');
    assert.equal(calls('POST /nodes/{node}/storage/{storage}/download-url'), 1);
    assert.equal(condition(hv, 'HostConfigured')?.status, 'True');
    assert.equal(hv.status.task, undefined);
  });

  it('reports a failed download with a condition naming it, and never deletes a volume', async () => {
    sim.admin.injectFault({ kind: 'task-failure', taskType: 'download', message: 'checksum verification failed', count: 1 });
    await patchSpec([{ op: 'add', path: '/spec/downloads/-', value: { ...toolsIso, url: 'https://downloads.example.com/broken.iso', filename: 'broken.iso' } }]);
    const hv = await waitCondition(env(), 'phoenixhypervisors', hypervisor, (o) => condition(o, 'Stalled')?.reason === 'HostTaskFailed', 'download failed');
    assert.match(condition(hv, 'Stalled')?.message ?? '', /download local:iso\/broken\.iso on node pve: the Proxmox task failed: .*checksum verification failed/);
    assert.match(condition(hv, 'HostConfigured')?.message ?? '', /broken\.iso/);
    // The fault was for one task: the next observation downloads it.
    await waitReady(env(), 'phoenixhypervisors', hypervisor, 60_000);
    assert.ok(volume('local:iso/broken.iso'));

    sim.admin.resetCounters();
    await patchSpec([{ op: 'replace', path: '/spec/downloads', value: [{ node: 'pve', storage: 'local', appliance: debian }] }]);
    await eventually('two observations of the shorter list', async () => calls('GET /version') >= 2, 30_000);
    await waitReady(env(), 'phoenixhypervisors', hypervisor);
    assert.deepEqual(writes(), [], 'dropping downloads from the spec wrote to Proxmox');
    assert.ok(volume(`local:vztmpl/${ubuntu}`) && volume('local:iso/tools.iso') && volume('local:iso/broken.iso'), 'a volume was deleted');
  });

  it('costs one content read per download storage and no write when in sync', async () => {
    // version, nodes, and the content of local on pve.
    await assertInSyncCosts(3);
  });

  it('creates and updates listed users and permissions, with the password from a Secret that appears nowhere', async () => {
    await patchSpec([
      {
        op: 'add', path: '/spec/users', value: [
          { userid: 'ops@pve', comment: 'operators', email: 'ops@example.com', firstName: 'Olga', groups: ['ops'], passwordSecretRef: { name: 'ops-password', namespace } },
          { userid: 'legacy@pve', comment: 'managed by Phoenix now' },
        ],
      },
      {
        op: 'add', path: '/spec/acls', value: [
          { path: '/vms', role: 'PVEVMAdmin', users: ['ops@pve'], groups: ['audit'] },
          { path: '/', role: 'PVEAuditor', tokens: ['legacy@pve!ci'], propagate: false },
        ],
      },
    ]);
    const hv = await waitReady(env(), 'phoenixhypervisors', hypervisor, 90_000);
    const ops = user('ops@pve');
    assert.equal(ops?.password, firstPassword, 'the password was not set at creation');
    assert.deepEqual([ops?.comment, ops?.email, ops?.firstname, ops?.groups], ['operators', 'ops@example.com', 'Olga', ['ops']]);
    assert.equal(user('legacy@pve')?.comment, 'managed by Phoenix now');
    const acl = (await px.api.access.acl.$get()) as unknown as { path: string; type: string; ugid: string; roleid: string; propagate: number }[];
    const row = (type: string, ugid: string) => acl.find((a) => a.type === type && a.ugid === ugid);
    assert.deepEqual(row('user', 'ops@pve'), { path: '/vms', type: 'user', ugid: 'ops@pve', roleid: 'PVEVMAdmin', propagate: 1 });
    assert.deepEqual(row('group', 'audit'), { path: '/vms', type: 'group', ugid: 'audit', roleid: 'PVEVMAdmin', propagate: 1 });
    assert.deepEqual(row('token', 'legacy@pve!ci'), { path: '/', type: 'token', ugid: 'legacy@pve!ci', roleid: 'PVEAuditor', propagate: 0 });
    assert.deepEqual(row('user', 'legacy@pve'), { path: '/storage', type: 'user', ugid: 'legacy@pve', roleid: 'PVEDatastoreUser', propagate: 1 }, 'a permission the spec does not list was changed');

    assert.deepEqual(hv.status.created.users, ['ops@pve'], 'only the user Phoenix created is recorded');
    assert.equal(hv.status.created.acls.length, 3);
    const secret = await core.readNamespacedSecret({ namespace, name: 'ops-password' });
    assert.deepEqual(hv.status.userPasswords, [{ userid: 'ops@pve', resourceVersion: secret.metadata?.resourceVersion, applied: true }]);
    await assertNoLeak(firstPassword);
  });

  it('costs one read each for users and permissions, and no write, when in sync', async () => {
    // version, nodes, content of local, users, acl.
    await assertInSyncCosts(5);
  });

  it('sets back a user changed by a person, with one DriftCorrected event', async () => {
    const seen = new Set((await hypervisorEvents('DriftCorrected')).map((e) => e.metadata?.name));
    await px.api.access.users.$('ops@pve').$put({ comment: 'edited in the UI', groups: '' } as never);
    await eventually('user set back', async () => user('ops@pve')?.comment === 'operators' && user('ops@pve')?.groups?.join() === 'ops', 30_000);
    await waitReady(env(), 'phoenixhypervisors', hypervisor);
    const events = (await hypervisorEvents('DriftCorrected')).filter((e) => !seen.has(e.metadata?.name));
    assert.equal(events.length, 1, 'one event for one drift');
    assert.match(events[0]?.note ?? '', /users\[ops@pve\]\.comment: edited in the UI → operators; users\[ops@pve\]\.groups: \(none\) → ops/);
  });

  it('tries a changed password Secret once; Proxmox refuses it to an API token, which the condition explains without the value', async () => {
    await core.replaceNamespacedSecret({ namespace, name: 'ops-password', body: { metadata: { name: 'ops-password' }, stringData: { password: secondPassword } } });
    const secret = await core.readNamespacedSecret({ namespace, name: 'ops-password' });
    const hv = await waitCondition(env(), 'phoenixhypervisors', hypervisor, (o) => condition(o, 'HostConfigured')?.reason === 'PasswordNotChanged' && condition(o, 'Ready')?.status === 'True', 'password change refused');
    assert.deepEqual(hv.status.userPasswords, [{ userid: 'ops@pve', resourceVersion: secret.metadata?.resourceVersion, applied: false }]);
    assert.match(condition(hv, 'HostConfigured')?.message ?? '', /ops@pve.*only from a ticket session, not from an API token/);
    assert.equal(user('ops@pve')?.password, firstPassword);
    // Not retried at every observation: only a new Secret version is tried again.
    sim.admin.resetCounters();
    await eventually('two more observations', async () => calls('GET /version') >= 2, 30_000);
    assert.equal(calls('PUT /access/password'), 0, 'the refused password was tried again');
    assert.equal((await hypervisorEvents('PasswordNotChanged')).length, 1);
    await assertNoLeak(secondPassword);
  });

  it('removes a user and permissions it created once dropped, never a pre-existing one', async () => {
    await patchSpec([
      { op: 'replace', path: '/spec/users', value: [] },
      { op: 'replace', path: '/spec/acls', value: [{ path: '/vms', role: 'PVEVMAdmin', groups: ['audit'] }] },
    ]);
    await eventually('ops@pve removed', async () => !user('ops@pve'), 30_000);
    const hv = await waitReady(env(), 'phoenixhypervisors', hypervisor);
    assert.ok(user('legacy@pve'), 'a user Phoenix did not create was removed');
    const acl = (await px.api.access.acl.$get()) as unknown as { type: string; ugid: string }[];
    assert.deepEqual(acl.map((a) => `${a.type}:${a.ugid}`).sort(), ['group:audit', 'user:legacy@pve'], 'the revoked token entry is still there, or a foreign one went');
    assert.deepEqual(hv.status.created.users, []);
    assert.deepEqual(hv.status.created.acls, ['/vms|group|audit|PVEVMAdmin']);
    assert.equal(hv.status.userPasswords?.length ?? 0, 0, 'the password record outlived its user');
  });

  /** Neither status, events nor any log line carries the password. */
  async function assertNoLeak(password: string): Promise<void> {
    const hv = await getObject(env(), 'phoenixhypervisors', hypervisor);
    assert.ok(!JSON.stringify(hv).includes(password), 'the password is in the hypervisor object');
    const events = await hypervisorEvents();
    assert.ok(events.length > 0);
    assert.ok(!JSON.stringify(events).includes(password), 'the password is in an event');
    assert.ok(logs.length > 0, 'no logs were captured');
    assert.ok(!logs.join('').includes(password), 'the password is in the logs');
  }
});
