import { strict as assert } from 'node:assert';
import * as k8s from '@kubernetes/client-node';
import { startPhoenix, waitCondition, getObject, condition, stalledWith, G, type PhoenixEnv } from '../support/phoenix.ts';
import { apiGroup, apiVersion } from '../../src/api/group.ts';
import { customResourceDefinition, kindByName } from '../../src/api/kinds.ts';
import { eventually, installPhoenixCrds } from '../support/crds.ts';

const template = 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst';
const longLabel = 'a'.repeat(80);

interface Cause {
  readonly field: string;
  readonly message: string;
}

/**
 * Issue 10, item 11: bad input is refused, at admission where the CRD's schema and CEL rules
 * can say so, otherwise by the controller (Stalled, InvalidSpec) before any Proxmox call.
 * Every expected field and value below is written from the Proxmox formats
 * (../shared/pve-api/apidata.js, pve-common, pve-firewall), not taken from Phoenix.
 * On the code before this change the three values of the issue were accepted and the
 * gateway was refused with a CEL runtime error beside its message, so these tests failed.
 */
describe('bad input is refused (real API server + simulator)', function () {
  this.timeout(180_000);
  let env: PhoenixEnv;

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({ name: 'e2e-bad-input' });
  });

  after(async () => {
    await env?.stop();
  });

  const plurals = { PhoenixLXC: 'phoenixlxcs', PhoenixVM: 'phoenixvms', PhoenixHypervisor: 'phoenixhypervisors' } as const;
  type Kind = keyof typeof plurals;

  function body(kind: Kind, name: string, spec: Record<string, unknown>): Record<string, unknown> {
    const base = kind === 'PhoenixHypervisor' ? {} : { hypervisorRef: { name: env.hypervisor }, node: 'pve' };
    return { apiVersion: `${apiGroup}/${apiVersion}`, kind, metadata: { name }, spec: { ...base, ...spec } };
  }

  function create(kind: Kind, name: string, spec: Record<string, unknown>, dryRun?: 'All'): Promise<unknown> {
    const plural = plurals[kind];
    const options = dryRun ? { dryRun } : {};
    return kind === 'PhoenixHypervisor'
      ? env.custom.createClusterCustomObject({ ...G, plural, body: body(kind, name, spec), ...options })
      : env.custom.createNamespacedCustomObject({ ...G, plural, namespace: env.namespace, body: body(kind, name, spec), ...options });
  }

  /** The API server's refusal of a create: 422, one cause per field, and never a CEL runtime error. */
  async function refusal(kind: Kind, spec: Record<string, unknown>): Promise<Cause[]> {
    try {
      await create(kind, 'refused', spec, 'All');
    } catch (err) {
      assert.ok(err instanceof k8s.ApiException, String(err));
      assert.equal(err.code, 422, String(err.body));
      const status = JSON.parse(String(err.body)) as { message: string; details?: { causes?: Cause[] } };
      assert.doesNotMatch(status.message, /no such overload|no matching overload|runtime error|evaluation error|evaluating rule|compilation failed/i, 'a CEL rule failed to evaluate');
      return (status.details?.causes ?? []).map((c) => ({ field: c.field, message: c.message }));
    }
    assert.fail(`the API server accepted a bad ${kind}: ${JSON.stringify(spec)}`);
  }

  /** Installs a kind's CRD with its spec schema edited, as an older release had it. */
  async function installOlderCrd(kind: Kind, editSpec: (specSchema: any) => void): Promise<void> {
    const api = env.cluster.kc.makeApiClient(k8s.ApiextensionsV1Api);
    const crd = customResourceDefinition(kindByName(kind)) as any;
    editSpec(crd.spec.versions[0].schema.openAPIV3Schema.properties.spec);
    // The typed client drops raw x-kubernetes-* keys unless loadYaml puts them on the model first.
    const body = k8s.loadYaml<k8s.V1CustomResourceDefinition>(JSON.stringify(crd));
    const existing = await api.readCustomResourceDefinition({ name: crd.metadata.name });
    body.metadata = { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion };
    await api.replaceCustomResourceDefinition({ name: crd.metadata.name, body });
  }

  const fieldsOf = (causes: readonly Cause[]) => [...new Set(causes.map((c) => c.field))].sort();

  const writes = () =>
    Object.entries(env.sim.admin.counters().byEndpoint)
      .filter(([endpoint]) => !endpoint.startsWith('GET '))
      .reduce((sum, [, n]) => sum + n, 0);

  it('refuses the three values that reached Ready: a 0G root disk, an 80-character hostname label, a firewall source of 999.1.1.1', async () => {
    const causes = await refusal('PhoenixLXC', {
      source: { osTemplate: { volume: template } },
      hostname: `${longLabel}.example.com`,
      rootDisk: { size: '0G' },
      firewall: { rules: [{ type: 'in', action: 'ACCEPT', source: '999.1.1.1' }] },
    });
    assert.deepEqual(fieldsOf(causes), ['spec.firewall.rules[0].source', 'spec.hostname', 'spec.rootDisk.size']);
    assert.match(causes.find((c) => c.field === 'spec.rootDisk.size')!.message, /at least 1M/);
    assert.match(causes.find((c) => c.field === 'spec.hostname')!.message, /DNS name.*63 characters/);
    assert.match(causes.find((c) => c.field === 'spec.firewall.rules[0].source')!.message, /must be an IP address/);
  });

  it('refuses a gateway that is not an IP address with its own message only, and no CEL runtime error', async () => {
    const causes = await refusal('PhoenixLXC', {
      source: { osTemplate: { volume: template } },
      networks: [{ name: 'eth0', bridge: 'vmbr0', ipv4: '10.0.0.5/24', gatewayV4: 'not-an-ip' }],
    });
    assert.deepEqual(causes, [{ field: 'spec.networks[0].gatewayV4', message: 'Invalid value: "string": must be an IPv4 address' }]);
  });

  // One bad value per case; the field each must be refused at, as the Proxmox format says.
  const lxc = { source: { osTemplate: { volume: template } } };
  const rule = (r: Record<string, unknown>) => ({ firewall: { rules: [{ type: 'in', action: 'ACCEPT', ...r }] } });
  const cases: [string, Kind, Record<string, unknown>, string][] = [
    ['memory under 16 MiB (memory minimum 16)', 'PhoenixLXC', { ...lxc, memory: '8M' }, 'spec.memory'],
    ['a size without a unit (disk-size)', 'PhoenixLXC', { ...lxc, swap: '512' }, 'spec.swap'],
    ['a 0-byte mount point', 'PhoenixLXC', { ...lxc, mountPoints: [{ path: '/data', storage: 'local-lvm', size: '0.0G' }] }, 'spec.mountPoints[0].size'],
    ['a mount path with ..', 'PhoenixLXC', { ...lxc, mountPoints: [{ path: '/srv/../etc', storage: 'local-lvm', size: '1G' }] }, 'spec.mountPoints[0].path'],
    ['a device outside /dev (pve-lxc-dev-string)', 'PhoenixLXC', { ...lxc, devices: [{ path: '/dev/../etc/shadow' }] }, 'spec.devices[0].path'],
    ['a hostname label starting with a hyphen (dns-name)', 'PhoenixLXC', { ...lxc, hostname: '-web' }, 'spec.hostname'],
    ['a search domain label of 64 characters', 'PhoenixLXC', { ...lxc, dns: { searchDomain: `${'b'.repeat(64)}.lan` } }, 'spec.dns.searchDomain'],
    ['a nameserver that is no IP (ip)', 'PhoenixLXC', { ...lxc, dns: { nameservers: ['dns.example.com'] } }, 'spec.dns.nameservers[0]'],
    ['a pool id with a space (pve-poolid)', 'PhoenixLXC', { ...lxc, pool: 'team a' }, 'spec.pool'],
    ['a tag starting with a hyphen (pve-tag)', 'PhoenixLXC', { ...lxc, tags: ['-web'] }, 'spec.tags[0]'],
    ['a storage id starting with a digit (pve-storage-id)', 'PhoenixLXC', { ...lxc, rootDisk: { storage: '1local', size: '8G' } }, 'spec.rootDisk.storage'],
    ['a multicast MAC (mac-addr)', 'PhoenixLXC', { ...lxc, networks: [{ name: 'eth0', bridge: 'vmbr0', mac: '01:00:5E:00:00:01' }] }, 'spec.networks[0].mac'],
    ['a VLAN tag of 4095 (tag 1-4094)', 'PhoenixLXC', { ...lxc, networks: [{ name: 'eth0', bridge: 'vmbr0', vlan: 4095 }] }, 'spec.networks[0].vlan'],
    ['a bridge with a space', 'PhoenixLXC', { ...lxc, networks: [{ name: 'eth0', bridge: 'vmbr 0' }] }, 'spec.networks[0].bridge'],
    ['an IPv4 prefix of 4 (CIDRv4: 8 to 32)', 'PhoenixLXC', { ...lxc, networks: [{ name: 'eth0', bridge: 'vmbr0', ipv4: '10.0.0.5/4' }] }, 'spec.networks[0].ipv4'],
    ['an IPv6 address as ipv4', 'PhoenixLXC', { ...lxc, networks: [{ name: 'eth0', bridge: 'vmbr0', ipv4: 'fd00::5/64' }] }, 'spec.networks[0].ipv4'],
    ['a gateway outside the subnet', 'PhoenixLXC', { ...lxc, networks: [{ name: 'eth0', bridge: 'vmbr0', ipv4: '10.0.0.5/24', gatewayV4: '10.0.1.1' }] }, 'spec.networks[0].gatewayV4'],
    ['a negative start order (pve-startup-order)', 'PhoenixLXC', { ...lxc, startup: { order: -1 } }, 'spec.startup.order'],
    ['0 cores (cores 1-8192)', 'PhoenixLXC', { ...lxc, cores: 0 }, 'spec.cores'],
    ['a network with host bits set as a firewall source', 'PhoenixLXC', { ...lxc, ...rule({ source: '10.0.0.5/24' }) }, 'spec.firewall.rules[0].source'],
    ['a range inside a list', 'PhoenixLXC', { ...lxc, ...rule({ dest: '10.0.0.1,10.0.0.2-10.0.0.3' }) }, 'spec.firewall.rules[0].dest'],
    ['IPv4 and IPv6 in one list', 'PhoenixLXC', { ...lxc, ...rule({ source: '10.0.0.1,fd00::1' }) }, 'spec.firewall.rules[0].source'],
    ['an IP set name starting with a digit', 'PhoenixLXC', { ...lxc, ...rule({ source: '+1set' }) }, 'spec.firewall.rules[0].source'],
    ['an alias name of 65 characters', 'PhoenixLXC', { ...lxc, ...rule({ source: 'a'.repeat(65) }) }, 'spec.firewall.rules[0].source'],
    ['a port of 70000', 'PhoenixLXC', { ...lxc, ...rule({ proto: 'tcp', dport: '70000' }) }, 'spec.firewall.rules[0].dport'],
    ['an empty item in a port list', 'PhoenixLXC', { ...lxc, ...rule({ proto: 'tcp', dport: '80,,443' }) }, 'spec.firewall.rules[0].dport'],
    ['16 ports', 'PhoenixLXC', { ...lxc, ...rule({ proto: 'udp', sport: '1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16' }) }, 'spec.firewall.rules[0].sport'],
    ['a port without a protocol', 'PhoenixLXC', { ...lxc, ...rule({ dport: '22' }) }, 'spec.firewall.rules[0].dport'],
    ['a port with a protocol that has none', 'PhoenixLXC', { ...lxc, ...rule({ proto: 'gre', sport: '22' }) }, 'spec.firewall.rules[0].sport'],
    ['protocol number 256', 'PhoenixLXC', { ...lxc, ...rule({ proto: '256' }) }, 'spec.firewall.rules[0].proto'],
    ['an unknown macro', 'PhoenixLXC', { ...lxc, ...rule({ macro: 'Teleport' }) }, 'spec.firewall.rules[0].macro'],
    ['an action that is none of ACCEPT, DROP, REJECT', 'PhoenixLXC', { ...lxc, ...rule({ action: 'ALLOW' }) }, 'spec.firewall.rules[0].action'],
    ['a guest rule on a host interface (iface net\\d+)', 'PhoenixLXC', { ...lxc, ...rule({ iface: 'vmbr0' }) }, 'spec.firewall.rules[0].iface'],
    ['an IPv4 source and an IPv6 dest', 'PhoenixLXC', { ...lxc, ...rule({ source: '10.0.0.0/24', dest: 'fd00::1' }) }, 'spec.firewall.rules[0].dest'],
    ['a port number as the ICMP type', 'PhoenixLXC', { ...lxc, ...rule({ proto: 'icmp', dport: '22' }) }, 'spec.firewall.rules[0].dport'],
    ['icmp with IPv6 addresses', 'PhoenixLXC', { ...lxc, ...rule({ proto: 'icmp', source: 'fd00::/64' }) }, 'spec.firewall.rules[0].proto'],
    ['a VM cpuLimit of 129 (cpulimit 0-128)', 'PhoenixVM', { source: { blank: {} }, cpuLimit: 129 }, 'spec.cpuLimit'],
    ['a balloon target above memory (qemu-server: balloon value too large)', 'PhoenixVM', { source: { blank: {} }, memory: '2G', balloon: '4G' }, 'spec.balloon'],
    ['the reserved snapshot name current', 'PhoenixLXC', { ...lxc, snapshots: [{ name: 'current' }] }, 'spec.snapshots[0].name'],
    ['the reserved snapshot name pending, in any case', 'PhoenixVM', { source: { blank: {} }, snapshots: [{ name: 'Pending' }] }, 'spec.snapshots[0].name'],
    ['a 0-byte VM disk', 'PhoenixVM', { source: { blank: {} }, disks: [{ slot: 'scsi0', storage: 'local-lvm', size: '0G' }] }, 'spec.disks[0].size'],
    ['a machine type qemu-server does not know', 'PhoenixVM', { source: { blank: {} }, machine: 'q99' }, 'spec.machine'],
    ['a VM name with an underscore (dns-name)', 'PhoenixVM', { source: { blank: {} }, hostname: 'web_1' }, 'spec.hostname'],
    ['an IPv6 prefix of 4 (CIDRv6: 8 to 128)', 'PhoenixVM', { source: { blank: {} }, networks: [{ bridge: 'vmbr0', ipv6: 'fd00::5/4' }] }, 'spec.networks[0].ipv6'],
    ['a pool id with a colon (pve-poolid)', 'PhoenixHypervisor', { proxmox: { url: 'https://pve:8006', tokenSecretRef: { name: 't', namespace: 'n' } }, pools: [{ id: 'team:a' }] }, 'spec.pools[0].id'],
    ['a host interface with a hyphen (pve-iface)', 'PhoenixHypervisor', { proxmox: { url: 'https://pve:8006', tokenSecretRef: { name: 't', namespace: 'n' } }, nodes: [{ name: 'pve', networks: [{ name: 'vm-br1', type: 'bridge' }] }] }, 'spec.nodes[0].networks[0].name'],
    ['a host CIDR with a prefix of 7', 'PhoenixHypervisor', { proxmox: { url: 'https://pve:8006', tokenSecretRef: { name: 't', namespace: 'n' } }, nodes: [{ name: 'pve', networks: [{ name: 'vmbr1', type: 'bridge', cidr: '10.0.0.1/7' }] }] }, 'spec.nodes[0].networks[0].cidr'],
    ['an NFS server that is neither an IP nor a DNS name', 'PhoenixHypervisor', { proxmox: { url: 'https://pve:8006', tokenSecretRef: { name: 't', namespace: 'n' } }, storages: [{ id: 'nas', type: 'nfs', content: ['images'], server: 'nas server', export: '/export' }] }, 'spec.storages[0].server'],
    ['a user id with a one-letter realm (pve-userid)', 'PhoenixHypervisor', { proxmox: { url: 'https://pve:8006', tokenSecretRef: { name: 't', namespace: 'n' } }, users: [{ userid: 'ops@p' }] }, 'spec.users[0].userid'],
    ['a cluster rule source of 999.1.1.1', 'PhoenixHypervisor', { proxmox: { url: 'https://pve:8006', tokenSecretRef: { name: 't', namespace: 'n' } }, firewall: { rules: [{ type: 'in', action: 'ACCEPT', source: '999.1.1.1' }] } }, 'spec.firewall.rules[0].source'],
  ];
  for (const [what, kind, spec, field] of cases) {
    it(`refuses ${what} at ${field}`, async () => {
      const causes = await refusal(kind, spec);
      assert.deepEqual(fieldsOf(causes), [field], JSON.stringify(causes));
    });
  }

  it('accepts the edges Proxmox accepts: 16M of memory, no swap, a 1M volume, 63-character labels, every address and port form', async () => {
    const label = 'c'.repeat(63);
    await create('PhoenixLXC', 'edges', {
      ...lxc,
      hostname: `${label}.${label}`,
      memory: '16M',
      swap: '0M',
      rootDisk: { size: '1M' },
      dns: { nameservers: ['10.0.0.1', 'fd00::53'], searchDomain: 'lan.example.com' },
      networks: [{ name: 'eth0', bridge: 'vmbr0', vlan: 4094, mac: 'BC:24:11:00:00:01', ipv4: '10.0.0.5/8', gatewayV4: '10.255.255.254', ipv6: 'fd00::5/64', gatewayV6: 'fd00::1' }],
      firewall: {
        rules: [
          { type: 'in', action: 'ACCEPT', source: '10.0.0.1,10.0.0.2,192.168.0.0/16', dest: '10.0.0.5', proto: 'tcp', dport: '22,80,443,8000:8100,https', iface: 'net0' },
          { type: 'in', action: 'ACCEPT', source: 'fd00::1-fd00::9', proto: 'icmpv6', dport: 'echo-request' },
          { type: 'in', action: 'DROP', source: '+dc/blocked', dest: 'guest/myself', proto: '17', sport: '0:65535' },
          { type: 'in', action: 'ACCEPT', macro: 'ssh', source: 'dc/admins' },
          { type: 'group', action: 'webservers-18chr' },
        ],
      },
    }, 'All');
    await create('PhoenixVM', 'edges', { source: { blank: {} }, cpuLimit: 128, memory: '2G', balloon: '2048M', snapshots: [{ name: 'pending2' }], machine: 'pc-q35-9.2+pve1', disks: [{ slot: 'scsi0', storage: 'local-lvm', size: '1M' }] }, 'All');
  });

  it('refuses a malformed size on update with its own message, and a shrink, without a CEL runtime error from the grow-only rule', async () => {
    // A hypervisor that does not exist: the controller never calls Proxmox for this object.
    await create('PhoenixLXC', 'grower', { ...lxc, hypervisorRef: { name: 'nowhere' }, rootDisk: { size: '8G' } });
    const resize = async (size: string): Promise<string> => {
      try {
        await env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace: env.namespace, name: 'grower', body: [{ op: 'replace', path: '/spec/rootDisk/size', value: size }] });
      } catch (err) {
        assert.ok(err instanceof k8s.ApiException && err.code === 422, String(err));
        return (JSON.parse(String(err.body)) as { message: string }).message;
      }
      return assert.fail(`the API server took rootDisk.size ${size}`);
    };
    const malformed = await resize('8GB');
    assert.match(malformed, /spec\.rootDisk\.size: Invalid value: "string": must be a Proxmox size/);
    assert.doesNotMatch(malformed, /no such overload|no matching overload|runtime error|evaluation error|evaluating rule/i);
    const shrink = await resize('4G');
    assert.match(shrink, /spec\.rootDisk\.size: Invalid value: "string": disks can only grow/);
  });

  it('stalls what only the controller can check, naming each field, before any Proxmox call', async () => {
    const before = writes();
    // Both pass admission (a range of two IPv4 addresses, ports up to 65535) and only a full
    // parse finds them wrong: pve-firewall refuses a range that ends before it starts, and a
    // backwards port range.
    await create('PhoenixLXC', 'backwards', {
      ...lxc,
      firewall: { rules: [{ type: 'in', action: 'ACCEPT', source: '10.0.0.9-10.0.0.1', proto: 'tcp', dport: '9000:8000' }] },
    });
    const stalled = await waitCondition(env, 'phoenixlxcs', 'backwards', stalledWith('InvalidSpec'), 'Stalled InvalidSpec');
    const message = condition(stalled, 'Stalled')?.message ?? '';
    assert.match(message, /spec\.firewall\.rules\[0\]\.source: [^;]*10\.0\.0\.9-10\.0\.0\.1/);
    assert.match(message, /spec\.firewall\.rules\[0\]\.dport: [^;]*9000:8000/);
    assert.equal(condition(stalled, 'Ready')?.status, 'False');
    assert.equal(condition(stalled, 'Ready')?.reason, 'InvalidSpec');
    assert.equal(stalled.status.vmid, undefined, 'a VMID was allocated for an invalid spec');
    assert.equal(writes(), before, 'Proxmox was written to for an invalid spec');
  });

  it('stalls an object stored before the CRD had today\'s rules (8M of memory), naming the field, before any Proxmox call', async () => {
    const spec = { ...lxc, memory: '8M' };
    const before = writes();
    try {
      // As an older release had it: no rule on memory but its pattern.
      await installOlderCrd('PhoenixLXC', (specSchema) => {
        delete specSchema.properties.memory['x-kubernetes-validations'];
        specSchema.properties.memory.pattern = '^[0-9]+(\\.[0-9]+)?[KMGT]$';
      });
      await eventually('the older CRD is served', () => create('PhoenixLXC', 'stored-early', spec, 'All').then(() => true, () => false));
      await create('PhoenixLXC', 'stored-early', spec);
    } finally {
      await installPhoenixCrds(env.cluster.kc);
    }
    await refusal('PhoenixLXC', spec);
    const stalled = await waitCondition(env, 'phoenixlxcs', 'stored-early', stalledWith('InvalidSpec'), 'Stalled InvalidSpec');
    assert.equal(condition(stalled, 'Stalled')?.message, 'spec.memory: must be at least 16M: Proxmox\'s smallest memory is 16 MiB');
    assert.equal(stalled.status.vmid, undefined, 'a VMID was allocated for an invalid spec');
    assert.equal(writes(), before, 'Proxmox was written to for an invalid spec');
  });

  it('stalls a hypervisor whose cluster firewall rule only the controller can refuse, writing no rule', async () => {
    const rulesWritten = () => (env.sim.admin.counters().byEndpoint['POST /cluster/firewall/rules'] ?? 0) + (env.sim.admin.counters().byEndpoint['PUT /cluster/firewall/rules/{pos}'] ?? 0);
    const before = rulesWritten();
    await env.custom.patchClusterCustomObject({
      ...G, plural: 'phoenixhypervisors', name: env.hypervisor,
      body: [{ op: 'add', path: '/spec/firewall', value: { rules: [{ type: 'in', action: 'ACCEPT', source: 'fd00::9-fd00::1', proto: 'tcp', dport: '8006' }] } }],
    });
    const stalled = await waitCondition(env, 'phoenixhypervisors', env.hypervisor, stalledWith('InvalidSpec'), 'Stalled InvalidSpec');
    assert.match(condition(stalled, 'Stalled')?.message ?? '', /spec\.firewall\.rules\[0\]\.source: [^;]*fd00::9-fd00::1/);
    assert.equal(rulesWritten(), before, 'a cluster firewall rule was written for an invalid spec');
  });

  it('stalls a hypervisor stored before the CRD had today\'s rules (a one-letter realm), creating no user', async () => {
    const patch = (ops: unknown[]) => env.custom.patchClusterCustomObject({ ...G, plural: 'phoenixhypervisors', name: env.hypervisor, body: ops });
    // The test before leaves a bad cluster firewall rule: without it the hypervisor goes on.
    if ((await getObject(env, 'phoenixhypervisors', env.hypervisor)).spec.firewall) await patch([{ op: 'remove', path: '/spec/firewall' }]);
    await waitCondition(env, 'phoenixhypervisors', env.hypervisor, (o) => condition(o, 'Stalled')?.status !== 'True', 'no longer Stalled');
    const usersCreated = () => env.sim.admin.counters().byEndpoint['POST /access/users'] ?? 0;
    const before = usersCreated();
    const users = [{ userid: 'ops@p' }];
    try {
      // As an older release had it: any user id.
      await installOlderCrd('PhoenixHypervisor', (specSchema) => delete specSchema.properties.users.items.properties.userid.pattern);
      await eventually('the older CRD is served', () => patch([{ op: 'add', path: '/spec/users', value: users }]).then(() => true, () => false));
    } finally {
      await installPhoenixCrds(env.cluster.kc);
    }
    const stalled = await waitCondition(env, 'phoenixhypervisors', env.hypervisor, stalledWith('InvalidSpec'), 'Stalled InvalidSpec');
    assert.match(condition(stalled, 'Stalled')?.message ?? '', /^spec\.users\[0\]\.userid: /);
    assert.equal(usersCreated(), before, 'Proxmox was asked to create a user for an invalid spec');
  });
});
