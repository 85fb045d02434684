import { strict as assert } from 'node:assert';
import * as k8s from '@kubernetes/client-node';
import { apply, waitReady, waitCondition, readyAtGeneration, condition, stalledWith, getObject, G, type PhoenixEnv } from '../support/phoenix.ts';
import { eventually } from '../support/crds.ts';
import { startStackEnv } from '../support/stacks.ts';
import { apiGroup, apiVersion } from '../../src/api/group.ts';
import { PortainerClient } from '../../src/clients/portainer/client.ts';
import type { RunningPortainerSimulator } from '../../src/sim/portainer/index.ts';

/**
 * PhoenixStack end to end: a real kube-apiserver, the Proxmox simulator for the VM, the
 * Portainer simulator for the stacks, and the controllers in this process. Stacks are
 * observed every second, so drift made through the simulator's admin is found within one.
 */
const periodMs = 1_000;

const composeV1 = 'services:\n  web:\n    image: nginx:1.27\n    restart: unless-stopped\n  cache:\n    image: redis:7\n    restart: unless-stopped\n';
const composeV2 = 'services:\n  web:\n    image: nginx:1.27\n    restart: unless-stopped\n    environment:\n      - MODE=v2\n  cache:\n    image: redis:7\n    restart: unless-stopped\n';
const secretValue = 'pa55-from-a-secret-7781';

describe('PhoenixStack (real API server + Proxmox and Portainer simulators)', function () {
  this.timeout(180_000);
  let env: PhoenixEnv;
  let portainer: RunningPortainerSimulator;
  let core: k8s.CoreV1Api;
  let environmentId: number;

  before(async function () {
    this.timeout(30 * 60_000);
    ({ env, portainer, core } = await startStackEnv('e2e-stacks', periodMs));
  });

  after(async () => env?.stop());

  function applyStack(name: string, spec: Record<string, unknown>): Promise<unknown> {
    return env.custom.createNamespacedCustomObject({
      ...G, plural: 'phoenixstacks', namespace: env.namespace,
      body: { apiVersion: `${apiGroup}/${apiVersion}`, kind: 'PhoenixStack', metadata: { name }, spec: { vmRef: { name: 'docker-vm' }, ...spec } },
    });
  }

  async function patchStack(name: string, ops: unknown[]): Promise<void> {
    await env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixstacks', namespace: env.namespace, name, body: ops });
  }

  const simStack = (name: string) => portainer.admin.stacks().find((s) => s.name === name);
  const writes = () => Object.entries(portainer.admin.counters().byRoute).filter(([route]) => !route.startsWith('GET '));
  const routeCount = (route: string) => portainer.admin.counters().byRoute[route] ?? 0;

  async function events(name: string, reason?: string): Promise<k8s.EventsV1Event[]> {
    const list = await env.cluster.kc.makeApiClient(k8s.EventsV1Api).listNamespacedEvent({ namespace: env.namespace });
    return list.items.filter((e) => e.regarding?.name === name && e.regarding.kind === 'PhoenixStack' && (reason === undefined || e.reason === reason));
  }
  const eventCount = async (name: string, reason: string) => (await events(name, reason)).reduce((n, e) => n + (e.series?.count ?? 1), 0);

  it('waits for its VM (WaitingForDependencies naming it) and deploys as soon as the VM is Ready', async () => {
    await applyStack('web', { compose: { inline: composeV1 } });
    const waiting = await waitCondition(env, 'phoenixstacks', 'web', (o) => condition(o, 'Ready')?.reason === 'WaitingForDependencies', 'waiting for its VM');
    assert.match(condition(waiting, 'Ready')!.message, /PhoenixVM e2e-stacks\/docker-vm \(not found\)/);
    assert.equal(portainer.admin.stacks().length, 0, 'a stack was deployed before its VM existed');

    environmentId = portainer.admin.addEnvironment({ name: 'docker-vm', url: 'tcp://10.0.0.60:9001' }).id;
    portainer.admin.resetCounters();
    await apply(env, 'PhoenixVM', 'docker-vm', { source: { clone: { vmid: 9600 } }, cores: 2 });
    await waitReady(env, 'phoenixvms', 'docker-vm', 120_000);
    const ready = await waitReady(env, 'phoenixstacks', 'web', 60_000);
    assert.equal(routeCount('POST /stacks/create/standalone/string'), 1);
    const stack = simStack('web')!;
    assert.equal(ready.status.stackId, stack.id);
    assert.equal(ready.status.environmentId, environmentId);
    assert.equal(ready.status.state, 'Running');
    assert.match(ready.status.contentHash, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(ready.status.services.map((s: { name: string; state: string }) => `${s.name}=${s.state}`), ['cache=running', 'web=running']);
    assert.equal(stack.fileContent, composeV1);
    assert.ok(stack.env?.some((e) => e.name === 'PHOENIX_OWNER_UID' && e.value === ready.metadata.uid), 'the stack carries no ownership marker');
    const hv = await getObject(env, 'phoenixhypervisors', env.hypervisor);
    assert.equal(hv.status.portainerVersion, '2.21.4');
  });

  it('updates the stack once when the compose file changes, keeping its id', async () => {
    const before = await getObject(env, 'phoenixstacks', 'web');
    portainer.admin.resetCounters();
    await patchStack('web', [{ op: 'replace', path: '/spec/compose/inline', value: composeV2 }]);
    const after = await waitCondition(env, 'phoenixstacks', 'web', (o) => readyAtGeneration(o) && o.status.contentHash !== before.status.contentHash, 'Ready with the new content');
    assert.equal(after.status.stackId, before.status.stackId);
    assert.equal(routeCount('PUT /stacks/{id}'), 1);
    assert.deepEqual(writes(), [['PUT /stacks/{id}', 1]]);
    assert.equal(simStack('web')!.fileContent, composeV2);
    assert.equal(portainer.admin.stacks().length, 1);
  });

  it('takes env values from a Secret and redeploys when the Secret changes, never showing the value', async () => {
    await core.createNamespacedSecret({ namespace: env.namespace, body: { metadata: { name: 'app-secrets' }, stringData: { password: secretValue } } });
    await applyStack('secretive', {
      compose: { inline: 'services:\n  app:\n    image: busybox:1.36\n    restart: unless-stopped\n    environment:\n      - DB_PASSWORD=${DB_PASSWORD}\n      - LEVEL=${LEVEL}\n' },
      env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'app-secrets', key: 'password' } } }, { name: 'LEVEL', value: 'debug' }],
    });
    const ready = await waitReady(env, 'phoenixstacks', 'secretive');
    assert.equal(simStack('secretive')!.env!.find((e) => e.name === 'DB_PASSWORD')!.value, secretValue);

    portainer.admin.resetCounters();
    await core.patchNamespacedSecret({ namespace: env.namespace, name: 'app-secrets', body: { stringData: { password: 'rotated-value-99812' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    const after = await waitCondition(env, 'phoenixstacks', 'secretive', (o) => readyAtGeneration(o) && o.status.contentHash !== ready.status.contentHash, 'redeployed with the new value');
    assert.equal(simStack('secretive')!.env!.find((e) => e.name === 'DB_PASSWORD')!.value, 'rotated-value-99812');
    assert.equal(routeCount('PUT /stacks/{id}'), 1);
    assert.equal(after.status.stackId, ready.status.stackId);
    const shown = JSON.stringify([after, await events('secretive')]);
    assert.ok(!shown.includes(secretValue) && !shown.includes('rotated-value-99812'), 'a Secret value reached status or events');
  });

  it('stops the stack for state: Stopped and runs it again for Running', async () => {
    await patchStack('web', [{ op: 'add', path: '/spec/state', value: 'Stopped' }]);
    const stopped = await waitCondition(env, 'phoenixstacks', 'web', (o) => readyAtGeneration(o) && o.status.state === 'Stopped', 'Ready and Stopped');
    assert.equal(simStack('web')!.status, 2);
    assert.equal(portainer.admin.containers(environmentId).filter((c) => (c['Labels'] as Record<string, string>)['com.docker.compose.project'] === 'web').length, 0);
    assert.equal(stopped.status.services, undefined);
    await patchStack('web', [{ op: 'replace', path: '/spec/state', value: 'Running' }]);
    await waitCondition(env, 'phoenixstacks', 'web', (o) => readyAtGeneration(o) && o.status.state === 'Running' && o.status.services?.length === 2, 'Ready and Running');
    assert.equal(simStack('web')!.status, 1);
  });

  it('corrects drift found on observation (stopped in the UI, file edited, a container removed) with one event each', async () => {
    const id = simStack('web')!.id;
    const drifts = await eventCount('web', 'DriftCorrected');

    await portainer.admin.stopStack(id);
    await eventually('stack started again', async () => simStack('web')!.status === 1 && (await eventCount('web', 'DriftCorrected')) === drifts + 1, 30_000);
    await waitCondition(env, 'phoenixstacks', 'web', (o) => readyAtGeneration(o) && o.status.services?.every((s: { state: string }) => s.state === 'running'), 'Ready after the restart');

    await portainer.admin.editStackFile(id, 'services:\n  web:\n    image: nginx:1.25\n');
    await eventually('file set back', async () => simStack('web')!.fileContent === composeV2 && (await eventCount('web', 'DriftCorrected')) === drifts + 2, 30_000);

    const cache = portainer.admin.containers(environmentId).find((c) => (c['Labels'] as Record<string, string>)['com.docker.compose.project'] === 'web' && (c['Labels'] as Record<string, string>)['com.docker.compose.service'] === 'cache')!;
    portainer.admin.removeContainer(environmentId, String(cache['Id']));
    await eventually('container back', async () => portainer.admin.containers(environmentId).some((c) => (c['Labels'] as Record<string, string>)['com.docker.compose.project'] === 'web' && (c['Labels'] as Record<string, string>)['com.docker.compose.service'] === 'cache') && (await eventCount('web', 'DriftCorrected')) === drifts + 3, 30_000);
    // The status write follows the redeploy, and the status before it was Ready too: wait for the record itself.
    const ready = await waitCondition(env, 'phoenixstacks', 'web', (o) => readyAtGeneration(o) && o.status.services?.every((s: { state: string }) => s.state === 'running') && o.status.drift?.[0]?.field === 'services.cache', 'Ready after the drift, with it recorded');
    assert.equal(ready.status.stackId, id);
    assert.deepEqual(ready.status.drift.slice(0, 1).map((d: { field: string; corrected: boolean }) => [d.field, d.corrected]), [['services.cache', true]]);
  });

  it('reports a crashed service by name: Ready False, nothing written', async () => {
    await applyStack('fragile', { compose: { inline: 'services:\n  worker:\n    image: busybox:1.36\n    restart: "no"\n  api:\n    image: nginx:1.27\n    restart: unless-stopped\n' } });
    await waitReady(env, 'phoenixstacks', 'fragile');
    portainer.admin.resetCounters();
    portainer.admin.crashService({ endpointId: environmentId, project: 'fragile', service: 'worker' }, { exitCode: 3 });
    const broken = await waitCondition(env, 'phoenixstacks', 'fragile', (o) => condition(o, 'Ready')?.status === 'False' && condition(o, 'Ready')?.reason === 'ServicesNotReady', 'Ready False');
    assert.match(condition(broken, 'Ready')!.message, /worker: exited \(3\)/);
    assert.doesNotMatch(condition(broken, 'Ready')!.message, /api/);
    assert.deepEqual(broken.status.services.find((s: { name: string }) => s.name === 'worker').state, 'exited (3)');
    assert.deepEqual(writes(), [], 'Phoenix wrote to Portainer because of a crash');
  });

  it('refuses a stack of that name Phoenix did not create, writing nothing', async () => {
    const outsider = new PortainerClient({ url: portainer.url, apiKey: portainer.apiKey });
    await outsider.createStack(environmentId, 'foreign', { stackFileContent: 'services:\n  legacy:\n    image: nginx:1.25\n', env: [{ name: 'ORIGIN', value: 'by-hand' }] });
    outsider.close();
    portainer.admin.resetCounters();
    await applyStack('foreign', { compose: { inline: composeV1 } });
    const refused = await waitCondition(env, 'phoenixstacks', 'foreign', stalledWith('NotOwned'), 'Stalled NotOwned');
    assert.match(condition(refused, 'Stalled')!.message, /stack named foreign .*Phoenix did not create/);
    assert.deepEqual(writes(), []);
    assert.equal(simStack('foreign')!.fileContent, 'services:\n  legacy:\n    image: nginx:1.25\n');
  });

  it('observes without writing to Portainer (managementPolicy: Observe)', async () => {
    portainer.admin.resetCounters();
    await applyStack('watcher', { stackName: 'foreign', managementPolicy: 'Observe', compose: { inline: composeV1 } });
    const observed = await waitCondition(env, 'phoenixstacks', 'watcher', (o) => readyAtGeneration(o) && condition(o, 'Ready')?.reason === 'Observed', 'Observed');
    assert.equal(observed.status.stackId, simStack('foreign')!.id);
    assert.match(condition(observed, 'Ready')!.message, /the compose file differs/);
    assert.ok(observed.status.drift.some((d: { field: string; corrected: boolean }) => d.field === 'env.ORIGIN' && d.corrected === false));
    assert.deepEqual(observed.metadata.finalizers ?? [], []);
    // Several observations, still nothing written.
    const reads = () => portainer.admin.counters().byPath[`GET /api/stacks/${observed.status.stackId}/file`] ?? 0;
    await eventually('three observations', async () => reads() >= 3, 30_000);
    assert.deepEqual(writes(), []);
  });

  it('moves to a newly named environment even when it first waits for a dependency at that generation', async () => {
    await applyStack('mover', { compose: { inline: composeV1 } });
    const first = await waitReady(env, 'phoenixstacks', 'mover');
    assert.equal(first.status.environmentId, environmentId);
    const other = portainer.admin.addEnvironment({ name: 'docker-vm-2', url: 'tcp://10.0.0.62:9001' }).id;
    // One spec change: another environment, and a dependency that is not Ready yet. The status
    // write that says so stamps the new generation before the environment is resolved again.
    await patchStack('mover', [
      { op: 'add', path: '/spec/environment', value: { name: 'docker-vm-2' } },
      { op: 'add', path: '/spec/dependsOn', value: [{ kind: 'PhoenixVM', name: 'blocker' }] },
    ]);
    await waitCondition(env, 'phoenixstacks', 'mover', (o) => readyAtGeneration(o) === false && condition(o, 'Ready')?.reason === 'WaitingForDependencies', 'waiting for the blocker');
    await apply(env, 'PhoenixVM', 'blocker', { source: { clone: { vmid: 9600 } }, cores: 1 });
    const moved = await waitCondition(env, 'phoenixstacks', 'mover', (o) => readyAtGeneration(o), 'Ready again', 120_000);
    assert.equal(moved.status.environmentId, other, 'the stack kept the environment it had before the spec named another');
    assert.ok(portainer.admin.stacks().some((st) => st.name === 'mover' && st.endpointId === other), 'no stack deployed on the new environment');
  });

  it('makes no writes to Portainer or Kubernetes in steady state', async () => {
    // The crashed stack keeps being checked; it takes no part in this.
    await env.custom.deleteNamespacedCustomObject({ ...G, plural: 'phoenixstacks', namespace: env.namespace, name: 'fragile' });
    await eventually('fragile gone', async () => !simStack('fragile'), 30_000);
    const names = ['web', 'secretive', 'watcher'];
    for (const name of names) await waitCondition(env, 'phoenixstacks', name, readyAtGeneration, 'Ready');
    const versions = async () => (await Promise.all(names.map((n) => getObject(env, 'phoenixstacks', n)))).map((o) => String(o.metadata.resourceVersion)).join();
    let before = '';
    await eventually('status settled', async () => {
      const now = await versions();
      const same = now === before;
      before = now;
      return same;
    }, 30_000);
    const eventsBefore = (await env.cluster.kc.makeApiClient(k8s.EventsV1Api).listNamespacedEvent({ namespace: env.namespace })).items.length;
    const webId = (await getObject(env, 'phoenixstacks', 'web')).status.stackId;
    portainer.admin.resetCounters();
    const started = Date.now();
    const fileReads = () => portainer.admin.counters().byPath[`GET /api/stacks/${webId}/file`] ?? 0;
    await eventually('five observation cycles', async () => fileReads() >= 5, 60_000);
    const elapsedCycles = (Date.now() - started) / periodMs;
    const counters = portainer.admin.counters();
    assert.deepEqual(writes(), [], 'Phoenix wrote to Portainer in steady state');
    assert.ok(fileReads() <= elapsedCycles + 2, `web was read ${fileReads()} times in ${elapsedCycles.toFixed(1)} cycles`);
    const webRequests = Object.entries(counters.byPath).filter(([p]) => p.includes(`/stacks/${webId}`) || p.includes('/docker/')).reduce((n, [, c]) => n + c, 0);
    // Per observation of web: the stack, its file and its containers (the docker reads of all three stacks counted here).
    assert.ok(webRequests <= 3 * fileReads() + 3 * (fileReads() + 2), `${webRequests} requests`);
    assert.equal(await versions(), before, 'Phoenix wrote to a PhoenixStack in steady state');
    assert.equal((await env.cluster.kc.makeApiClient(k8s.EventsV1Api).listNamespacedEvent({ namespace: env.namespace })).items.length, eventsBefore, 'Phoenix recorded events in steady state');
    console.log(`      steady state: ${JSON.stringify(counters.byRoute)} over ${elapsedCycles.toFixed(1)} cycles of 3 stacks`);
  });

  it('deletes a stack with deletionPolicy Delete and keeps one with Retain', async () => {
    await applyStack('kept', { compose: { inline: 'services:\n  keep:\n    image: nginx:1.27\n' }, deletionPolicy: 'Retain' });
    await waitReady(env, 'phoenixstacks', 'kept');
    const webId = simStack('web')!.id;
    for (const name of ['web', 'kept']) await env.custom.deleteNamespacedCustomObject({ ...G, plural: 'phoenixstacks', namespace: env.namespace, name });
    await eventually('both objects gone', async () => {
      const list = (await env.custom.listNamespacedCustomObject({ ...G, plural: 'phoenixstacks', namespace: env.namespace })) as { items: { metadata: { name: string } }[] };
      return !list.items.some((o) => o.metadata.name === 'web' || o.metadata.name === 'kept');
    }, 60_000);
    assert.equal(portainer.admin.stacks().some((s) => s.id === webId), false, 'the Delete stack is still in Portainer');
    assert.equal(portainer.admin.containers(environmentId).filter((c) => (c['Labels'] as Record<string, string>)['com.docker.compose.project'] === 'web').length, 0);
    assert.equal(simStack('kept')!.status, 1, 'the Retain stack was removed or stopped');
    // The refused and the observed stacks leave Portainer's stack alone too.
    for (const name of ['foreign', 'watcher']) await env.custom.deleteNamespacedCustomObject({ ...G, plural: 'phoenixstacks', namespace: env.namespace, name });
    await eventually('foreign and watcher gone', async () => {
      const list = (await env.custom.listNamespacedCustomObject({ ...G, plural: 'phoenixstacks', namespace: env.namespace })) as { items: { metadata: { name: string } }[] };
      return !list.items.some((o) => o.metadata.name === 'foreign' || o.metadata.name === 'watcher');
    }, 60_000);
    assert.ok(simStack('foreign'), 'a stack Phoenix did not create was deleted');
  });
});
