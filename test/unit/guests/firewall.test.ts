import { strict as assert } from 'node:assert';
import { desiredRule, observedRule, optionChanges, planRules } from '../../../src/guests/firewall.ts';

const ssh = desiredRule({ type: 'in', action: 'ACCEPT', macro: 'SSH', source: '10.0.0.0/24' });
const web = desiredRule({ type: 'in', action: 'ACCEPT', proto: 'tcp', dport: '80,443', comment: 'web' });

describe('guest firewall plan', () => {
  it('finds nothing to do when Proxmox lists the same rules (with pos, digest and numbers)', () => {
    const listed = [
      { pos: 0, digest: 'x', type: 'in', action: 'ACCEPT', macro: 'SSH', source: '10.0.0.0/24', enable: 1 },
      { pos: 1, digest: 'x', type: 'in', action: 'ACCEPT', proto: 'tcp', dport: '80,443', comment: 'web', enable: 1 },
    ].map(observedRule);
    assert.deepEqual(planRules([ssh, web], listed), []);
  });

  it('updates in place, clears fields the spec dropped, deletes from the end and appends in order', () => {
    const listed = [
      { type: 'in', action: 'DROP', macro: 'SSH', source: '10.0.0.0/24', enable: 1 },
      { type: 'in', action: 'ACCEPT', proto: 'tcp', dport: '80,443', comment: 'web', iface: 'net0', enable: 1 },
      { type: 'out', action: 'ACCEPT', enable: 0 },
      { type: 'out', action: 'REJECT', enable: 1 },
    ].map(observedRule);
    const plan = planRules([ssh, web], listed);
    assert.deepEqual(plan, [
      { op: 'update', pos: 0, set: ssh, delete: [] },
      { op: 'update', pos: 1, set: web, delete: ['iface'] },
      { op: 'delete', pos: 3 },
      { op: 'delete', pos: 2 },
    ]);
    assert.deepEqual(planRules([ssh, web], []), [{ op: 'create', pos: 0, set: ssh }, { op: 'create', pos: 1, set: web }]);
  });

  it('treats a rule listed without enable as disabled', () => {
    assert.equal(observedRule({ type: 'in', action: 'ACCEPT' })['enable'], '0');
    assert.equal(planRules([desiredRule({ type: 'in', action: 'ACCEPT', enabled: false })], [observedRule({ type: 'in', action: 'ACCEPT' })]).length, 0);
  });

  it('sets only the options the spec names, against Proxmox\'s defaults', () => {
    assert.deepEqual(optionChanges({ enabled: true, policyIn: 'DROP' }, {}), { enable: '1' });
    assert.deepEqual(optionChanges({ enabled: true, policyIn: 'ACCEPT' }, { enable: 1, policy_in: 'DROP', dhcp: 1 }), { policy_in: 'ACCEPT' });
  });
});
