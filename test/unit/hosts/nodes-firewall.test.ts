import { strict as assert } from 'node:assert';
import { planDns, planTimezone } from '../../../src/hosts/nodes.ts';
import { planClusterFirewall, type ClusterFirewallSpec } from '../../../src/hosts/firewall.ts';
import { hostProblems, hostReads, readsAnything } from '../../../src/hosts/host.ts';
import { describeCall } from '../../../src/hosts/plan.ts';

describe('host plan: node DNS and time zone', () => {
  it('plans nothing when DNS matches, and one PUT with every server when it does not', () => {
    assert.deepEqual(planDns('pve', { servers: ['10.0.0.53'], searchDomain: 'lab' }, { search: 'lab', dns1: '10.0.0.53' }), []);
    const [step] = planDns('pve', { servers: ['10.0.0.53', '1.1.1.1'], searchDomain: 'lab' }, { search: 'old', dns1: '8.8.8.8' });
    assert.deepEqual(step?.call, { method: 'PUT', path: '/nodes/{pve}/dns', params: { search: 'lab', dns1: '10.0.0.53', dns2: '1.1.1.1' } });
    assert.deepEqual(step?.differences.map((d) => d.field), ['nodes[pve].dns.searchDomain', 'nodes[pve].dns.servers']);
    assert.equal(describeCall(step!.call!), 'PUT /nodes/pve/dns');
  });

  it('keeps the servers found when the spec names only a search domain (Proxmox rewrites the whole file)', () => {
    const [step] = planDns('pve', { searchDomain: 'lab' }, { search: 'old', dns1: '8.8.8.8', dns2: '9.9.9.9' });
    assert.deepEqual(step?.call?.params, { search: 'lab', dns1: '8.8.8.8', dns2: '9.9.9.9' });
  });

  it('sets a time zone only when it differs', () => {
    assert.deepEqual(planTimezone('pve', 'UTC', 'UTC'), []);
    assert.deepEqual(planTimezone('pve', undefined, 'UTC'), []);
    assert.deepEqual(planTimezone('pve', 'Europe/Berlin', 'UTC')[0]?.call, { method: 'PUT', path: '/nodes/{pve}/time', params: { timezone: 'Europe/Berlin' } });
  });
});

describe('host plan: cluster firewall', () => {
  const rules: NonNullable<ClusterFirewallSpec['rules']> = [{ type: 'in', action: 'ACCEPT', macro: 'SSH' }];

  it('sets only the options that differ from what Proxmox reports (defaults included), with the digest', () => {
    assert.deepEqual(planClusterFirewall({ enabled: false, policyIn: 'DROP' }, { options: {} }), []);
    const [step] = planClusterFirewall({ enabled: true, policyIn: 'DROP' }, { options: { enable: 0, digest: 'd1' } });
    assert.deepEqual(step?.call, { method: 'PUT', path: '/cluster/firewall/options', params: { enable: '1', digest: 'd1' } });
    assert.deepEqual(step?.differences, [{ field: 'firewall.enabled', observed: '0', desired: '1' }]);
  });

  it('owns the whole rule list when rules are set: edits in place, removes extras', () => {
    const listed = [{ pos: 0, digest: 'r', type: 'in', action: 'DROP', macro: 'SSH', enable: 1 }, { pos: 1, digest: 'r', type: 'in', action: 'ACCEPT', proto: 'icmp', enable: 1 }];
    const steps = planClusterFirewall({ rules }, { options: {}, rules: listed });
    assert.deepEqual(steps.map((s) => describeCall(s.call!)), ['PUT /cluster/firewall/rules/0', 'DELETE /cluster/firewall/rules/1']);
    assert.equal(steps[0]?.call?.params?.['digest'], 'r');
    assert.deepEqual(planClusterFirewall({ rules }, { options: {}, rules: [{ type: 'in', action: 'ACCEPT', macro: 'SSH', enable: 1 }] }), []);
  });

  it('leaves the rule list alone when the spec has no rules', () => {
    assert.deepEqual(planClusterFirewall({ enabled: false }, { options: {}, rules: [{ type: 'in', action: 'ACCEPT', enable: 1 }] }), []);
  });
});

describe('host plan: what to read, and spec problems', () => {
  it('reads only the parts the spec manages', () => {
    const reads = hostReads({ proxmox: { url: 'https://x', tokenSecretRef: { name: 't', namespace: 'n' } }, pools: [] }, {});
    assert.deepEqual(reads, { pools: true, inspectPools: [], storages: false, inspectStorages: [], dnsNodes: [], timezoneNodes: [], firewallOptions: false, firewallRules: false, users: false, acls: false, downloads: [], zfsNodes: [], networkNodes: [] });
    const dropped = hostReads({ proxmox: { url: 'https://x', tokenSecretRef: { name: 't', namespace: 'n' } }, pools: [{ id: 'kept' }] }, { pools: ['kept', 'gone'], storages: ['old'] });
    assert.deepEqual([dropped.inspectPools, dropped.inspectStorages], [['gone'], ['old']], 'only created items the spec dropped are inspected before removal');
    assert.equal(readsAnything(hostReads({ proxmox: { url: 'https://x', tokenSecretRef: { name: 't', namespace: 'n' } } }, {})), false);
    assert.equal(readsAnything(hostReads({ proxmox: { url: 'https://x', tokenSecretRef: { name: 't', namespace: 'n' } } }, { storages: ['old'] })), true, 'its own items are looked after even with no spec');
  });

  it('names the field of a node the cluster does not have', () => {
    const problems = hostProblems({ proxmox: { url: 'https://x', tokenSecretRef: { name: 't', namespace: 'n' } }, nodes: [{ name: 'pve' }, { name: 'ghost' }] }, ['pve']);
    assert.deepEqual(problems.map((p) => p.field), ['spec.nodes[1].name']);
  });
});
