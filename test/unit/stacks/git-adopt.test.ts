import { strict as assert } from 'node:assert';
import { adoptedEnv, desiredStack, ownerEnvName, withGitFile } from '../../../src/stacks/desired.ts';
import { diffStack, planStack, type ObservedStack } from '../../../src/stacks/plan.ts';

const file = 'services:\n  web: {image: nginx}\n';
const git = { url: 'https://git.example.com/a.git', ref: 'refs/heads/main', path: 'docker-compose.yml', autoUpdateInterval: '5m' };
const base = desiredStack({ stackName: 'app', compose: '', git, env: [{ name: 'LEVEL', value: 'debug' }], ownerUid: 'u-1' });
const desired = withGitFile(base, file);
const observed: ObservedStack = {
  status: 1, env: [{ name: 'LEVEL', value: 'debug' }, { name: ownerEnvName, value: 'u-1' }], file,
  containers: [{ service: 'web', state: 'running', status: 'Up', image: 'nginx' }],
  git: { url: git.url, ref: git.ref, path: git.path, commit: 'c1' }, autoUpdateInterval: '5m',
};

describe('stacks: git stacks and adoption', () => {
  it('finds nothing to do for a git stack in sync, whatever commit it runs', () => {
    const diff = diffStack(desired, { ...observed, git: { ...observed.git!, commit: 'c2' } });
    assert.deepEqual(diff.git, []);
    assert.deepEqual(planStack(diff, 'Running'), { action: 'none' });
  });

  it('redeploys through git (never a file update, which would detach it) for env, ref or a missing service', () => {
    assert.deepEqual(planStack(diffStack(desired, { ...observed, env: [{ name: ownerEnvName, value: 'u-1' }] }), 'Running'), { action: 'redeploy' });
    assert.deepEqual(planStack(diffStack(desired, { ...observed, git: { ...observed.git!, ref: 'refs/heads/dev' } }), 'Running'), { action: 'redeploy' });
    assert.deepEqual(planStack(diffStack(desired, { ...observed, containers: [] }), 'Running'), { action: 'redeploy' });
  });

  it('saves settings only when just the auto-update interval differs', () => {
    assert.deepEqual(planStack(diffStack(desired, { ...observed, autoUpdateInterval: '' }), 'Running'), { action: 'settings' });
  });

  it('refuses what Portainer cannot change in place: url, path, a stack detached from git', () => {
    assert.equal(planStack(diffStack(desired, { ...observed, git: { ...observed.git!, url: 'https://elsewhere/x.git' } }), 'Running').action, 'refuse');
    assert.equal(planStack(diffStack(desired, { ...observed, git: null }), 'Running').action, 'refuse');
  });

  it('names only the git source in a refusal, even beside an env variable called gitea', () => {
    const step = planStack({ file: false, env: ['GITEA_URL'], missing: ['gitea'], git: ['url'] }, 'Running');
    assert.deepEqual(step, { action: 'refuse', reason: 'the git url differs' });
  });

  it('hashes where a git file comes from, not the commit', () => {
    const other = desiredStack({ stackName: 'app', compose: '', git: { ...git, ref: 'refs/heads/dev' }, env: [{ name: 'LEVEL', value: 'debug' }] });
    assert.notEqual(other.contentHash, base.contentHash);
    assert.equal(withGitFile(base, 'services:\n  other: {image: x}\n').contentHash, base.contentHash);
    assert.deepEqual(desired.services, ['web']);
  });

  it('keeps env variables an adopted stack has and the spec does not name; the spec wins for the rest', () => {
    const env = adoptedEnv([{ name: 'LEVEL', value: 'debug' }, { name: ownerEnvName, value: 'u-1' }], [{ name: 'HANDMADE', value: 'yes' }, { name: 'LEVEL', value: 'info' }, { name: ownerEnvName, value: 'old' }]);
    assert.deepEqual(env, [{ name: 'HANDMADE', value: 'yes' }, { name: 'LEVEL', value: 'debug' }, { name: ownerEnvName, value: 'u-1' }]);
  });
});
