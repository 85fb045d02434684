import assert from 'node:assert/strict';
import type { RunningPortainerSimulator } from '../../../src/sim/portainer/index.ts';
import { call, drive, startSim } from './support/client.ts';

const url = 'https://git.example.com/lab/app.git';
const v1 = 'services:\n  app:\n    image: alpine:3.20\n';
const v2 = 'services:\n  app:\n    image: alpine:3.21\n';

describe('Portainer simulator: git stacks', () => {
  let sim: RunningPortainerSimulator;
  let endpointId: number;

  beforeEach(async () => {
    sim = await startSim({ clock: 'manual' });
    endpointId = sim.admin.addEnvironment({ name: 'vm', url: 'tcp://10.0.0.9:9001' }).id;
  });
  afterEach(async () => sim.close());

  const create = (body: Record<string, unknown>) => drive(sim, call(sim, 'POST', `/api/stacks/create/standalone/repository?endpointId=${endpointId}`, { body: { name: 'app', repositoryURL: url, ...body } }));

  it('clones the ref, deploys the file at the path and records GitConfig with the commit', async () => {
    const commit = sim.admin.pushCommit(url, 'refs/heads/main', { 'ops/compose.yml': v1 });
    const res = await create({ repositoryReferenceName: 'refs/heads/main', composeFile: 'ops/compose.yml' });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.GitConfig, { URL: url, ReferenceName: 'refs/heads/main', ConfigFilePath: 'ops/compose.yml', Authentication: null, ConfigHash: commit, TLSSkipVerify: false });
    assert.equal(res.body.EntryPoint, 'ops/compose.yml');
    assert.equal((await call(sim, 'GET', `/api/stacks/${res.body.Id}/file`)).body.StackFileContent, v1);
  });

  it('fails like Portainer for a missing repository, ref or file, and for bad credentials (without echoing them)', async () => {
    assert.match((await create({})).body.details, /Git repository could not be found/);
    sim.admin.pushCommit(url, 'refs/heads/main', { 'docker-compose.yml': v1 });
    assert.match((await create({ repositoryReferenceName: 'refs/heads/nope' })).body.details, /reference not found/);
    const noFile = await create({ composeFile: 'missing.yml' });
    assert.equal(noFile.status, 500);
    assert.match(noFile.body.message, /missing\.yml: no such file or directory/);
    sim.admin.setRepositoryCredentials(url, { username: 'u', password: 'right' });
    const bad = await create({ repositoryAuthentication: true, repositoryUsername: 'u', repositoryPassword: 'wrong-secret' });
    assert.equal(bad.status, 500);
    assert.equal(bad.body.message, 'Invalid git credential');
    assert.ok(!bad.text.includes('wrong-secret'));
    assert.equal(sim.admin.stacks().length, 0, 'a failed create left a stack');
    const good = await create({ repositoryAuthentication: true, repositoryUsername: 'u', repositoryPassword: 'right' });
    assert.equal(good.status, 200, good.text);
    assert.deepEqual(good.body.GitConfig.Authentication, { Username: 'u', Password: '', GitCredentialID: 0 });
  });

  it('redeploys the new commit on git/redeploy; a file update detaches the stack from git', async () => {
    sim.admin.pushCommit(url, 'refs/heads/main', { 'docker-compose.yml': v1 });
    const id = (await create({})).body.Id as number;
    const second = sim.admin.pushCommit(url, 'refs/heads/main', { 'docker-compose.yml': v2 });
    const res = await drive(sim, call(sim, 'PUT', `/api/stacks/${id}/git/redeploy?endpointId=${endpointId}`, { body: { env: [{ name: 'A', value: '1' }] } }));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.GitConfig.ConfigHash, second);
    assert.deepEqual(res.body.Env, [{ name: 'A', value: '1' }]);
    const put = await drive(sim, call(sim, 'PUT', `/api/stacks/${id}?endpointId=${endpointId}`, { body: { stackFileContent: v1 } }));
    assert.equal(put.body.GitConfig, null);
    const again = await drive(sim, call(sim, 'PUT', `/api/stacks/${id}/git/redeploy?endpointId=${endpointId}`, { body: {} }));
    assert.equal(again.status, 400);
    assert.equal(again.body.message, 'Stack is not created from git');
  });

  it('auto-update deploys a new commit once per change, at its interval', async () => {
    sim.admin.pushCommit(url, 'refs/heads/main', { 'docker-compose.yml': v1 });
    const id = (await create({ autoUpdate: { interval: '1m' } })).body.Id as number;
    const second = sim.admin.pushCommit(url, 'refs/heads/main', { 'docker-compose.yml': v2 });
    sim.admin.advance(59_000);
    assert.equal(sim.admin.autoUpdateDeploys(), 0, 'polled before the interval');
    sim.admin.advance(1_000);
    await drive(sim, (async () => {
      while (sim.admin.autoUpdateDeploys() === 0) await new Promise((r) => setImmediate(r));
    })());
    assert.equal(sim.admin.stacks().find((s) => s.id === id)!.git!.configHash, second);
    sim.admin.advance(5 * 60_000);
    assert.equal(sim.admin.autoUpdateDeploys(), 1, 'an unchanged ref was deployed again');
  });
});
