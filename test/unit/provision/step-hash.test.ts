import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { resolveStep, secretValues, type KeyLookup } from '../../../src/provision/step-inputs.ts';
import { stepHash } from '../../../src/provision/step-hash.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function lookupOf(values: Record<string, { value: string; resourceVersion: string }>): KeyLookup {
  return (kind, name, key) => {
    const found = values[`${kind}/${name}/${key}`];
    if (!found) throw new Error(`missing ${kind}/${name}/${key}`);
    return found;
  };
}

describe('provisioning step hash', () => {
  const lookup = lookupOf({
    'ConfigMap/scripts/base.sh': { value: 'apt-get install -y curl\n', resourceVersion: '11' },
    'Secret/ca/key.pem': { value: 'PRIVATE KEY', resourceVersion: '7' },
    'Secret/ca/token': { value: 's3cr3t-token', resourceVersion: '7' },
  });
  const step = {
    name: 'base',
    script: { configMapKeyRef: { name: 'scripts', key: 'base.sh' } },
    files: [{ path: '/etc/ssl/ca.key', source: { secretKeyRef: { name: 'ca', key: 'key.pem' } } }],
    env: [{ name: 'MODE', value: 'full' }, { name: 'TOKEN', secretKeyRef: { name: 'ca', key: 'token' } }],
  };

  it('is the SHA-256 of the documented canonical form, with Secrets by resourceVersion and never by value', () => {
    const resolved = resolveStep(step, lookup, undefined);
    const expected = sha256(
      '["phoenix-step-v1","base","/bin/sh","root",{"text":"apt-get install -y curl\\n"},' +
        '[["/etc/ssl/ca.key","0600","root:root",{"secret":"ca/key.pem","resourceVersion":"7"}]],' +
        '[["MODE",{"text":"full"}],["TOKEN",{"secret":"ca/token","resourceVersion":"7"}]]]',
    );
    assert.equal(stepHash(resolved), expected);
  });

  it('changes with the script, a file mode, the user or a Secret\'s resourceVersion, not with the timeout', () => {
    const base = stepHash(resolveStep(step, lookup, undefined));
    assert.equal(stepHash(resolveStep({ ...step, timeout: '2h' }, lookup, 7_200_000)), base, 'a longer timeout is no reason to run again');
    assert.notEqual(stepHash(resolveStep({ ...step, user: 'ops' }, lookup, undefined)), base);
    assert.notEqual(stepHash(resolveStep({ ...step, files: [{ ...step.files[0]!, mode: '0640' }] }, lookup, undefined)), base);
    assert.notEqual(stepHash(resolveStep({ ...step, script: { inline: 'true' } }, lookup, undefined)), base);
    const rotated = lookupOf({
      'ConfigMap/scripts/base.sh': { value: 'apt-get install -y curl\n', resourceVersion: '11' },
      'Secret/ca/key.pem': { value: 'PRIVATE KEY', resourceVersion: '8' },
      'Secret/ca/token': { value: 's3cr3t-token', resourceVersion: '8' },
    });
    assert.notEqual(stepHash(resolveStep(step, rotated, undefined)), base);
    // A ConfigMap enters by content: a new resourceVersion with the same text is the same step.
    const touched = lookupOf({
      'ConfigMap/scripts/base.sh': { value: 'apt-get install -y curl\n', resourceVersion: '12' },
      'Secret/ca/key.pem': { value: 'PRIVATE KEY', resourceVersion: '7' },
      'Secret/ca/token': { value: 's3cr3t-token', resourceVersion: '7' },
    });
    assert.equal(stepHash(resolveStep(step, touched, undefined)), base);
  });

  it('resolves defaults and lists the Secret values to mask', () => {
    const resolved = resolveStep(step, lookup, undefined);
    assert.equal(resolved.timeoutSeconds, 1800);
    assert.equal(resolved.files[0]!.mode, '0600', 'a file from a Secret is private by default');
    assert.equal(resolveStep({ ...step, files: [{ path: '/a', source: { configMapKeyRef: { name: 'scripts', key: 'base.sh' } }, mode: '755' }] }, lookup, 90_500).files[0]!.mode, '0755');
    assert.equal(resolveStep(step, lookup, 90_500).timeoutSeconds, 91);
    assert.deepEqual(secretValues(resolved).sort(), ['PRIVATE KEY', 's3cr3t-token']);
  });
});
