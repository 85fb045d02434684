import { strict as assert } from 'node:assert';
import { composeServices, contentHash, desiredStack, normalizeStackName, ownerEnvName, ownershipOf, resolveEnv, ComposeInvalidError } from '../../../src/stacks/desired.ts';

describe('stacks: desired stack', () => {
  it('normalises names the way Portainer does', () => {
    assert.equal(normalizeStackName('My.App_1-x'), 'myapp_1-x');
  });

  it('resolves literal, Secret and ConfigMap values, marking Secret values', () => {
    const lookups: string[] = [];
    const resolved = resolveEnv(
      [
        { name: 'A', value: 'literal' },
        { name: 'B', valueFrom: { secretKeyRef: { name: 's', key: 'pw' } } },
        { name: 'C', valueFrom: { configMapKeyRef: { name: 'cm' } } },
      ],
      (kind, name, key) => {
        lookups.push(`${kind}/${name}/${key}`);
        return kind === 'Secret' ? 'hidden' : 'shown';
      },
    );
    assert.deepEqual(resolved.env, [{ name: 'A', value: 'literal' }, { name: 'B', value: 'hidden' }, { name: 'C', value: 'shown' }]);
    assert.deepEqual(resolved.secretValues, ['hidden']);
    // A ConfigMap key defaults to the variable's name.
    assert.deepEqual(lookups, ['Secret/s/pw', 'ConfigMap/cm/C']);
  });

  it('refuses the marker name in the spec', () => {
    assert.throws(() => resolveEnv([{ name: ownerEnvName, value: 'x' }], () => ''), /reserved/);
  });

  it('hashes compose and env, ignoring env order and the marker, and changes with any value', () => {
    const base = contentHash('services: {}', [{ name: 'A', value: '1' }, { name: 'B', value: '2' }]);
    assert.equal(contentHash('services: {}', [{ name: 'B', value: '2' }, { name: 'A', value: '1' }, { name: ownerEnvName, value: 'uid' }]), base);
    assert.notEqual(contentHash('services: {}', [{ name: 'A', value: '1' }, { name: 'B', value: '3' }]), base);
    assert.notEqual(contentHash('services: {} ', [{ name: 'A', value: '1' }, { name: 'B', value: '2' }]), base);
    assert.match(base, /^sha256:[0-9a-f]{64}$/);
  });

  it('lists the services compose runs, leaving out those scaled to zero', () => {
    assert.deepEqual(composeServices('services:\n  web: {image: nginx}\n  db: {image: pg}\n  off: {image: x, deploy: {replicas: 0}}\n  off2: {image: x, scale: 0}\n'), ['db', 'web']);
    assert.throws(() => composeServices('services: ['), ComposeInvalidError);
    assert.throws(() => composeServices('version: "3"\n'), /declares no services/);
  });

  it('adds the ownership marker only when Phoenix manages the stack', () => {
    const managed = desiredStack({ stackName: 'Web', compose: 'services:\n  a: {image: x}\n', env: [{ name: 'A', value: '1' }], ownerUid: 'u-1' });
    assert.equal(managed.name, 'web');
    assert.deepEqual(managed.env.at(-1), { name: ownerEnvName, value: 'u-1' });
    assert.equal(managed.state, 'Running');
    assert.equal(managed.prune, true);
    const observed = desiredStack({ stackName: 'web', compose: 'services:\n  a: {image: x}\n', env: [{ name: 'A', value: '1' }] });
    assert.equal(observed.env.some((e) => e.name === ownerEnvName), false);
    assert.equal(observed.contentHash, managed.contentHash);
  });

  it('tells ours, unmarked and foreign stacks apart', () => {
    assert.equal(ownershipOf([{ name: ownerEnvName, value: 'u-1' }], 'u-1'), 'ours');
    assert.equal(ownershipOf([{ name: ownerEnvName, value: 'u-2' }], 'u-1'), 'foreign');
    assert.equal(ownershipOf(null, 'u-1'), 'unmarked');
    assert.equal(ownershipOf([{ name: 'OTHER', value: 'u-1' }], 'u-1'), 'unmarked');
  });
});

describe('the content hash in status', () => {
  it('carries no Secret value, only the Secret version, so a weak password cannot be guessed from it', () => {
    const sources = [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db' } } }, { name: 'MODE', value: 'prod' }];
    const lookup = () => 'hunter2';
    const v1 = resolveEnv(sources, lookup, () => '41');
    assert.deepEqual(v1.env.map((e) => e.value), ['hunter2', 'prod']);
    assert.ok(!JSON.stringify(v1.hashEnv).includes('hunter2'));
    const compose = 'services:\n  web:\n    image: nginx\n';
    const hash = (r: typeof v1) => desiredStack({ stackName: 's', compose, env: r.env, hashEnv: r.hashEnv }).contentHash;
    assert.notEqual(hash(v1), contentHash(compose, v1.env), 'the hash was taken over the Secret value');
    assert.notEqual(hash(resolveEnv(sources, lookup, () => '42')), hash(v1), 'a new Secret version must change the hash');
    assert.equal(hash(resolveEnv(sources, () => 'other', () => '41')), hash(v1));
  });
});
