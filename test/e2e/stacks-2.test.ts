import { strict as assert } from 'node:assert';
import * as k8s from '@kubernetes/client-node';
import { apply, waitReady, waitCondition, readyAtGeneration, condition, getObject, G, type PhoenixEnv } from '../support/phoenix.ts';
import { eventually } from '../support/crds.ts';
import { startStackEnv } from '../support/stacks.ts';
import { apiGroup, apiVersion } from '../../src/api/group.ts';
import type { RunningPortainerSimulator } from '../../src/sim/portainer/index.ts';

/**
 * PhoenixStack from git, and adoption of a stack Phoenix did not create: a real
 * kube-apiserver, the Proxmox simulator for the VM, the Portainer simulator (with seeded
 * repositories) for the stacks, and the controllers in this process.
 */
const periodMs = 1_000;
const repoUrl = 'https://git.example.com/lab/app.git';
const privateUrl = 'https://git.example.com/lab/private.git';
const gitPassword = 'git-token-never-shown-4471';
const composeV1 = 'services:\n  web:\n    image: nginx:1.27\n    restart: unless-stopped\n';
const composeV2 = 'services:\n  web:\n    image: nginx:1.27\n    restart: unless-stopped\n    environment:\n      - MODE=v2\n';

describe('PhoenixStack from git and adoption (real API server + Proxmox and Portainer simulators)', function () {
  this.timeout(180_000);
  let env: PhoenixEnv;
  let portainer: RunningPortainerSimulator;
  let core: k8s.CoreV1Api;
  let environmentId: number;

  before(async function () {
    this.timeout(30 * 60_000);
    ({ env, portainer, core } = await startStackEnv('e2e-stacks-2', periodMs));
    environmentId = portainer.admin.addEnvironment({ name: 'docker-vm', url: 'tcp://10.0.0.61:9001' }).id;
    await apply(env, 'PhoenixVM', 'docker-vm', { source: { clone: { vmid: 9600 } }, cores: 2 });
    await waitReady(env, 'phoenixvms', 'docker-vm', 120_000);
  });

  after(async () => env?.stop());

  function applyStack(name: string, spec: Record<string, unknown>): Promise<unknown> {
    return env.custom.createNamespacedCustomObject({
      ...G, plural: 'phoenixstacks', namespace: env.namespace,
      body: { apiVersion: `${apiGroup}/${apiVersion}`, kind: 'PhoenixStack', metadata: { name }, spec: { vmRef: { name: 'docker-vm' }, ...spec } },
    });
  }

  const simStack = (name: string) => portainer.admin.stacks().find((s) => s.name === name);
  const writes = () => Object.entries(portainer.admin.counters().byRoute).filter(([route]) => !route.startsWith('GET '));
  async function events(name: string, reason?: string): Promise<k8s.EventsV1Event[]> {
    const list = await env.cluster.kc.makeApiClient(k8s.EventsV1Api).listNamespacedEvent({ namespace: env.namespace });
    return list.items.filter((e) => e.regarding?.name === name && e.regarding.kind === 'PhoenixStack' && (reason === undefined || e.reason === reason));
  }
  async function gone(name: string): Promise<void> {
    await eventually(`${name} gone`, async () => {
      const list = (await env.custom.listNamespacedCustomObject({ ...G, plural: 'phoenixstacks', namespace: env.namespace })) as { items: { metadata: { name: string } }[] };
      return !list.items.some((o) => o.metadata.name === name);
    }, 60_000);
  }

  it('deploys a stack from git, Ready with the commit in status.gitCommit', async () => {
    const first = portainer.admin.pushCommit(repoUrl, 'refs/heads/main', { 'deploy/compose.yml': composeV1 });
    portainer.admin.resetCounters();
    await applyStack('gitapp', { compose: { git: { url: repoUrl, path: 'deploy/compose.yml', autoUpdateInterval: '1m' } } });
    const ready = await waitReady(env, 'phoenixstacks', 'gitapp', 60_000);
    assert.equal(ready.status.gitCommit, first);
    assert.deepEqual(ready.status.services.map((s: { name: string; state: string }) => `${s.name}=${s.state}`), ['web=running']);
    const stack = simStack('gitapp')!;
    assert.equal(ready.status.stackId, stack.id);
    assert.equal(stack.git?.configHash, first);
    assert.equal(stack.git?.referenceName, 'refs/heads/main');
    assert.equal(stack.git?.configFilePath, 'deploy/compose.yml');
    assert.equal(stack.fileContent, composeV1);
    assert.ok(stack.env?.some((e) => e.name === 'PHOENIX_OWNER_UID' && e.value === ready.metadata.uid));
    assert.deepEqual(writes(), [['POST /stacks/create/standalone/repository', 1]]);
  });

  it('records a new commit on the ref once Portainer\'s auto-update deployed it, without a Phoenix write', async () => {
    const before = await getObject(env, 'phoenixstacks', 'gitapp');
    const deploysBefore = portainer.admin.autoUpdateDeploys();
    portainer.admin.resetCounters();
    const second = portainer.admin.pushCommit(repoUrl, 'refs/heads/main', { 'deploy/compose.yml': composeV2 });
    const after = await waitCondition(env, 'phoenixstacks', 'gitapp', (o) => readyAtGeneration(o) && o.status.gitCommit === second, 'Ready at the new commit', 60_000);
    assert.equal(after.status.stackId, before.status.stackId);
    assert.equal(simStack('gitapp')!.fileContent, composeV2);
    assert.equal(portainer.admin.autoUpdateDeploys() - deploysBefore, 1, 'the new commit was not deployed exactly once');
    assert.deepEqual(writes(), [], 'Phoenix wrote to Portainer for a commit Portainer deploys itself');
    assert.equal((await events('gitapp', 'GitCommitDeployed')).length, 1);
    // Several more polls of an unchanged ref deploy nothing.
    const polls = () => portainer.admin.counters().byPath[`GET /api/stacks/${after.status.stackId}`] ?? 0;
    const seen = polls();
    await eventually('more observations', async () => polls() >= seen + 6, 30_000);
    assert.equal(portainer.admin.autoUpdateDeploys() - deploysBefore, 1);
  });

  it('redeploys through git/redeploy when the spec\'s env changes, keeping the stack id', async () => {
    const before = await getObject(env, 'phoenixstacks', 'gitapp');
    portainer.admin.resetCounters();
    await env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixstacks', namespace: env.namespace, name: 'gitapp', body: [{ op: 'add', path: '/spec/env', value: [{ name: 'LEVEL', value: 'debug' }] }] });
    const after = await waitCondition(env, 'phoenixstacks', 'gitapp', (o) => readyAtGeneration(o) && o.status.contentHash !== before.status.contentHash, 'Ready with the new env');
    assert.equal(after.status.stackId, before.status.stackId);
    assert.deepEqual(writes(), [['PUT /stacks/{id}/git/redeploy', 1]]);
    assert.equal(simStack('gitapp')!.env?.find((e) => e.name === 'LEVEL')?.value, 'debug');
    assert.ok(simStack('gitapp')!.git, 'the redeploy detached the stack from git');
  });

  it('says clearly when the repository refuses the credentials, never showing them', async () => {
    portainer.admin.pushCommit(privateUrl, 'refs/heads/main', { 'docker-compose.yml': composeV1.replace('web:', 'priv:') });
    portainer.admin.setRepositoryCredentials(privateUrl, { username: 'deploy', password: 'the-right-one' });
    await core.createNamespacedSecret({ namespace: env.namespace, body: { metadata: { name: 'git-creds' }, stringData: { username: 'deploy', password: gitPassword } } });
    await applyStack('private', { compose: { git: { url: privateUrl, credentialsSecretRef: { name: 'git-creds' } } } });
    const refused = await waitCondition(env, 'phoenixstacks', 'private', (o) => condition(o, 'Ready')?.reason === 'GitCredentialsRejected', 'GitCredentialsRejected');
    assert.match(condition(refused, 'Ready')!.message, /refused the credentials from Secret .*\/git-creds/);
    assert.equal(simStack('private'), undefined);
    const everything = JSON.stringify(refused) + JSON.stringify(await events('private'));
    assert.ok(!everything.includes(gitPassword), 'the git password appears in status or events');
    // The right password in the Secret: deployed on the next try.
    await core.patchNamespacedSecret({ namespace: env.namespace, name: 'git-creds', body: { stringData: { password: 'the-right-one' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    const ready = await waitReady(env, 'phoenixstacks', 'private', 90_000);
    assert.equal(ready.status.gitCommit, simStack('private')!.git!.configHash);
    assert.equal(simStack('private')!.git!.auth?.username, 'deploy');
  });

  it('adopts a stack made by hand: reports first with no write, then converges keeping the id and its other env', async () => {
    const made = await (await fetch(`${portainer.url}/api/stacks/create/standalone/string?endpointId=${environmentId}`, {
      method: 'POST', headers: { 'X-API-Key': portainer.apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'legacy', stackFileContent: composeV1.replace('web:', 'old:'), env: [{ name: 'HANDMADE', value: 'yes' }, { name: 'LEVEL', value: 'info' }] }),
    })).json() as { Id: number };
    portainer.admin.resetCounters();
    await applyStack('legacy', { adopt: {}, compose: { inline: composeV1 }, env: [{ name: 'LEVEL', value: 'debug' }] });
    const planned = await waitCondition(env, 'phoenixstacks', 'legacy', (o) => o.status?.adopted === true && (o.status?.drift ?? []).length > 0, 'adoption planned');
    // The spec's service web has no container yet: the hand-made file runs `old`.
    assert.deepEqual(planned.status.drift.map((d: { field: string }) => d.field).sort(), ['compose', 'env.LEVEL', 'services.web']);
    assert.equal(planned.status.stackId, made.Id);
    const plannedEvents = await events('legacy', 'AdoptionPlanned');
    assert.equal(plannedEvents.length, 1);
    assert.match(plannedEvents[0]!.note ?? '', /the compose file differs; env LEVEL differs/);

    const ready = await waitCondition(env, 'phoenixstacks', 'legacy', (o) => readyAtGeneration(o) && o.status.adopted === true, 'adopted and Ready');
    assert.equal(ready.status.stackId, made.Id);
    assert.deepEqual(writes(), [['PUT /stacks/{id}', 1]], 'adoption wrote more than one update (or re-created the stack)');
    const stack = simStack('legacy')!;
    assert.equal(stack.id, made.Id);
    assert.equal(stack.fileContent, composeV1);
    const envOf = Object.fromEntries((stack.env ?? []).map((e) => [e.name, e.value]));
    assert.equal(envOf['HANDMADE'], 'yes', 'an env variable the spec does not name was dropped');
    assert.equal(envOf['LEVEL'], 'debug');
    assert.equal(envOf['PHOENIX_OWNER_UID'], ready.metadata.uid);
  });

  it('the first adoption pass writes nothing to Portainer', async () => {
    await (await fetch(`${portainer.url}/api/stacks/create/standalone/string?endpointId=${environmentId}`, {
      method: 'POST', headers: { 'X-API-Key': portainer.apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'quiet', stackFileContent: composeV1.replace('web:', 'q:') }),
    })).json();
    // An adoption target named by id that is not there: the reconcile stops before any write.
    portainer.admin.resetCounters();
    await applyStack('quiet', { adopt: { stackId: 9999 }, compose: { inline: composeV1 } });
    await waitCondition(env, 'phoenixstacks', 'quiet', (o) => condition(o, 'Ready')?.reason === 'AdoptionTargetNotFound', 'AdoptionTargetNotFound');
    assert.deepEqual(writes(), []);
    await env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixstacks', namespace: env.namespace, name: 'quiet', body: [{ op: 'replace', path: '/spec/adopt', value: { stackId: simStack('quiet')!.id } }] });
    const planned = await waitCondition(env, 'phoenixstacks', 'quiet', (o) => condition(o, 'Ready')?.reason === 'Adopting' || o.status?.adopted === true, 'adopting');
    assert.equal(planned.status.stackId, simStack('quiet')!.id);
    // Whatever the reconciles got to since, the report came before the one update.
    const ready = await waitCondition(env, 'phoenixstacks', 'quiet', (o) => readyAtGeneration(o) && o.status.adopted === true, 'adopted');
    assert.equal(ready.status.stackId, simStack('quiet')!.id);
    assert.deepEqual(writes(), [['PUT /stacks/{id}', 1]]);
  });

  it('retains an adopted stack when its object is deleted (the default for adopted stacks)', async () => {
    const id = simStack('legacy')!.id;
    await env.custom.deleteNamespacedCustomObject({ ...G, plural: 'phoenixstacks', namespace: env.namespace, name: 'legacy' });
    await gone('legacy');
    assert.equal(simStack('legacy')?.id, id, 'the adopted stack was deleted');
    assert.equal(simStack('legacy')!.status, 1);
    assert.equal((await events('legacy', 'Retained')).length, 1);
    // A created stack still defaults to Delete.
    await env.custom.deleteNamespacedCustomObject({ ...G, plural: 'phoenixstacks', namespace: env.namespace, name: 'private' });
    await gone('private');
    assert.equal(simStack('private'), undefined);
  });
});
