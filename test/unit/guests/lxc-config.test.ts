import { strict as assert } from 'node:assert';
import type { PhoenixLXCSpec } from '../../../src/api/lxc.ts';
import { desiredLxcConfig, lxcCreateOnlyParams } from '../../../src/guests/lxc-config.ts';
import { diffConfig, createParams } from '../../../src/guests/desired.ts';
import { describeWithMarker } from '../../../src/guests/marker.ts';

const id = { name: 'web', owner: { uid: '11111111-2222-3333-4444-555555555555', ref: 'PhoenixLXC default/web' } };

const spec: PhoenixLXCSpec = {
  hypervisorRef: { name: 'pve' },
  node: 'pve1',
  source: { osTemplate: { volume: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst' } },
  hostname: 'web',
  cores: 2,
  memory: '2G',
  swap: '512M',
  tags: ['Web', 'prod'],
  onBoot: true,
  startup: { order: 2, upDelay: 5 },
  rootDisk: { storage: 'local-lvm', size: '8G' },
  mountPoints: [{ path: '/data', storage: 'local-lvm', size: '20G', backup: false }],
  networks: [{ name: 'eth0', bridge: 'vmbr0', vlan: 10, ipv4: '10.0.0.5/24', gatewayV4: '10.0.0.1', firewall: true }],
  dns: { nameservers: ['10.0.0.13', '1.1.1.1'], searchDomain: 'Lab.Example' },
  features: { nesting: true, mount: ['nfs', 'cifs'] },
  devices: [{ path: '/dev/nvidia0', mode: '666' }],
};

/** What Proxmox stores after creating that container: its own order, case, units and defaults. */
const storedByProxmox: Record<string, unknown> = {
  arch: 'amd64',
  hostname: 'web',
  description: describeWithMarker(undefined, id.owner) + '\n',
  cores: 2,
  memory: 2048,
  swap: 512,
  tags: 'prod;web',
  onboot: 1,
  startup: 'order=2,up=5',
  rootfs: 'local-lvm:vm-120-disk-0,size=8G',
  mp0: 'local-lvm:vm-120-disk-1,mp=/data,backup=0,size=20480M',
  net0: 'name=eth0,bridge=vmbr0,firewall=1,gw=10.0.0.1,hwaddr=bc:24:11:5e:aa:01,ip=10.0.0.5/24,tag=10,type=veth',
  nameserver: '10.0.0.13 1.1.1.1',
  searchdomain: 'lab.example',
  features: 'mount=cifs;nfs,nesting=1',
  dev0: '/dev/nvidia0,mode=0666',
  ostype: 'debian',
  unprivileged: 1,
  digest: 'abc',
};

describe('LXC desired config and diff', () => {
  const desired = desiredLxcConfig(spec, id);

  it('finds no drift in a config exactly as Proxmox stores it (no perpetual diffs)', () => {
    assert.deepEqual(diffConfig(desired, storedByProxmox), { changes: [], resizes: [], shrinks: [] });
  });

  it('reads a startup order written as a bare number, as Proxmox does (its default key)', () => {
    for (const startup of ['2,up=5', 'up=5,order=2']) {
      assert.deepEqual(diffConfig(desired, { ...storedByProxmox, startup }).changes, [], startup);
    }
    const [change] = diffConfig(desired, { ...storedByProxmox, startup: '3,up=5' }).changes;
    assert.deepEqual(change?.fields, ['order']);
    assert.equal(change?.value, 'order=2,up=5', 'written with the key name, as the Proxmox UI writes it');
    assert.equal(createParams(desired)['startup'], 'order=2,up=5');
  });

  it('names each drifted field, and keeps the MAC Proxmox generated when rewriting a NIC', () => {
    const drifted = { ...storedByProxmox, cores: 4, tags: 'prod', net0: String(storedByProxmox['net0']).replace('bridge=vmbr0', 'bridge=vmbr1') };
    const { changes } = diffConfig(desired, drifted);
    assert.deepEqual(changes.map((c) => c.key).sort(), ['cores', 'net0', 'tags']);
    const net0 = changes.find((c) => c.key === 'net0');
    assert.deepEqual(net0?.fields, ['bridge']);
    assert.match(net0?.value ?? '', /bridge=vmbr0/);
    assert.match(net0?.value ?? '', /hwaddr=bc:24:11:5e:aa:01/i);
  });

  it('leaves options the spec does not set alone, however they differ', () => {
    const minimal = desiredLxcConfig({ hypervisorRef: { name: 'pve' }, node: 'pve1', source: spec.source }, id);
    const { changes } = diffConfig(minimal, { ...storedByProxmox, cores: 64, memory: 99999, net5: 'name=eth5,bridge=vmbr9' });
    assert.deepEqual(changes, []);
  });

  it('removes NICs and devices beyond the declared list, and detaches extra mount points', () => {
    const { changes } = diffConfig(desired, { ...storedByProxmox, net1: 'name=eth1,bridge=vmbr1', dev1: '/dev/fuse', mp1: 'local-lvm:vm-120-disk-2,mp=/old' });
    assert.deepEqual(changes.map((c) => [c.key, c.value]).sort(), [['dev1', undefined], ['mp1', undefined], ['net1', undefined]]);
  });

  it('grows disks by resize and refuses to shrink them', () => {
    const grown = diffConfig(desired, { ...storedByProxmox, rootfs: 'local-lvm:vm-120-disk-0,size=4G' });
    assert.deepEqual(grown.resizes, [{ disk: 'rootfs', fromBytes: 4 * 1024 ** 3, toBytes: 8 * 1024 ** 3 }]);
    assert.deepEqual(grown.changes, []);
    const bigger = diffConfig(desired, { ...storedByProxmox, mp0: 'local-lvm:vm-120-disk-1,mp=/data,backup=0,size=30G' });
    assert.deepEqual(bigger.shrinks, [{ disk: 'mp0', fromBytes: 30 * 1024 ** 3, toBytes: 20 * 1024 ** 3 }]);
    assert.deepEqual(bigger.resizes, []);
  });

  it('allocates a new volume for a mount point that does not exist yet', () => {
    const { [`mp0`]: _, ...withoutMp } = storedByProxmox;
    const { changes } = diffConfig(desired, withoutMp);
    assert.deepEqual(changes.map((c) => [c.key, c.value]), [['mp0', 'local-lvm:20,mp=/data,backup=0']]);
  });

  it('detects a foreign edit of the description, which would drop the ownership marker', () => {
    const { changes } = diffConfig(desired, { ...storedByProxmox, description: 'edited by hand' });
    assert.equal(changes[0]?.key, 'description');
    assert.match(changes[0]?.value ?? '', /phoenix:owner uid=11111111/);
  });

  it('builds create parameters Proxmox accepts in one call', () => {
    const params = { ...createParams(desired), ...lxcCreateOnlyParams(spec, { rootPassword: 's3cret' }) };
    assert.equal(params['rootfs'], 'local-lvm:8');
    assert.equal(params['memory'], '2048');
    assert.equal(params['tags'], 'prod;web');
    // The required `name` first, as pve-common's print_property_string writes it.
    assert.equal(params['net0'], 'name=eth0,bridge=vmbr0,firewall=1,gw=10.0.0.1,ip=10.0.0.5/24,tag=10,type=veth');
    assert.equal(params['unprivileged'], '1');
    assert.equal(params['password'], 's3cret');
    assert.match(params['description'] ?? '', /^<!-- phoenix:owner uid=/);
  });
});

describe('NIC keys the spec leaves unset', () => {
  const nicSpec: PhoenixLXCSpec = { ...spec, networks: [{ name: 'eth0', bridge: 'vmbr0', ipv4: '10.0.0.5/24' }] };
  const live = { net0: 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:05,ip=10.0.0.5/24,tag=30,mtu=9000,type=veth' };
  const nicChange = (identity: typeof id | { name: undefined; owner: typeof id.owner }) => diffConfig(desiredLxcConfig(nicSpec, identity), live).changes.find((c) => c.key === 'net0');

  it('are left as they are on an adopted or observed guest', () => {
    assert.equal(nicChange({ name: undefined, owner: id.owner }), undefined);
  });

  it('are removed on a guest Phoenix made, whose NIC was written whole from the spec', () => {
    assert.deepEqual([...(nicChange(id)?.fields ?? [])].sort(), ['mtu', 'tag']);
  });

  it('are compared on an adopted guest once the spec sets them, false and "manual" included', () => {
    const withFirewallOff: PhoenixLXCSpec = { ...spec, networks: [{ name: 'eth0', bridge: 'vmbr0', vlan: 40, firewall: false }] };
    const change = diffConfig(desiredLxcConfig(withFirewallOff, { name: undefined, owner: id.owner }), { net0: `${live.net0},firewall=1` }).changes.find((c) => c.key === 'net0');
    assert.deepEqual([...(change?.fields ?? [])].sort(), ["firewall", "tag"]);
    assert.match(change?.value ?? '', /mtu=9000/, 'an unset key was dropped while rewriting the NIC');
  });
});
