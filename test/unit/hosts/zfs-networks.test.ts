import { strict as assert } from 'node:assert';
import { planZfsPools, zfsNeedsDisks, findDisk, type ZfsPoolSpec } from '../../../src/hosts/zfs.ts';
import { planNetworks, stagedInterfaces, type NetworkSpec } from '../../../src/hosts/networks.ts';
import { hostReads, planHost, readsAnything } from '../../../src/hosts/host.ts';
import { withStaged } from '../../../src/hosts/plan.ts';

const disks = [
  { devpath: '/dev/sda', by_id_link: '/dev/disk/by-id/ata-A', used: 'LVM' },
  { devpath: '/dev/sdb', by_id_link: '/dev/disk/by-id/ata-B', wwn: '0x5000b' },
  { devpath: '/dev/sdc', by_id_link: '/dev/disk/by-id/ata-C' },
  { devpath: '/dev/sdd', mounted: 1 },
];
const tank: ZfsPoolSpec = { name: 'tank', raidLevel: 'mirror', devices: ['/dev/disk/by-id/ata-B', '/dev/disk/by-id/ata-C'], addStorage: true };

describe('host plan: ZFS pools', () => {
  it('creates a missing pool as a task, with Proxmox\'s parameter names', () => {
    const [step, ...rest] = planZfsPools('pve', 0, [tank], { pools: [], disks });
    assert.equal(rest.length, 0);
    assert.equal(step?.safe, true);
    assert.equal(step?.task, true);
    assert.deepEqual(step?.call, { method: 'POST', path: '/nodes/{pve}/disks/zfs', params: { name: 'tank', raidlevel: 'mirror', devices: '/dev/disk/by-id/ata-B,/dev/disk/by-id/ata-C', compression: 'lz4', ashift: 12, add_storage: 1 } });
    assert.deepEqual(step?.differences, [{ field: 'nodes[pve].zfsPools[tank]', observed: '(missing)', desired: 'present' }]);
  });

  it('leaves an existing pool alone, whatever its options, and then needs no disk list', () => {
    assert.deepEqual(planZfsPools('pve', 0, [{ ...tank, compression: 'zstd', ashift: 9 }], { pools: ['tank'] }), []);
    assert.equal(zfsNeedsDisks(['tank'], ['tank', 'rpool']), false);
    assert.equal(zfsNeedsDisks(['tank', 'fast'], ['tank']), true);
  });

  it('refuses devices that are in use or unknown, naming each field, and never calls Proxmox for them', () => {
    const pool: ZfsPoolSpec = { name: 'bad', raidLevel: 'raidz', devices: ['/dev/disk/by-id/ata-A', '/dev/disk/by-id/ghost', '/dev/sdd'] };
    const [step] = planZfsPools('pve', 1, [tank, pool], { pools: ['tank'], disks });
    assert.equal(step?.safe, false);
    assert.equal(step?.call, undefined);
    assert.match(step?.refusal ?? '', /spec\.nodes\[1\]\.zfsPools\[1\]\.devices\[0\]: \/dev\/disk\/by-id\/ata-A \(\/dev\/sda\) is in use \(LVM\)/);
    assert.match(step?.refusal ?? '', /devices\[1\]: \/dev\/disk\/by-id\/ghost is not a disk of node pve/);
    assert.match(step?.refusal ?? '', /devices\[2\]: \/dev\/sdd \(\/dev\/sdd\) is in use \(mounted\)/);
  });

  it('knows a disk by its device path, its by-id link or its wwn link', () => {
    assert.equal(findDisk(disks, '/dev/sdb')?.devpath, '/dev/sdb');
    assert.equal(findDisk(disks, '/dev/disk/by-id/ata-B')?.devpath, '/dev/sdb');
    assert.equal(findDisk(disks, '/dev/disk/by-id/wwn-0x5000b')?.devpath, '/dev/sdb');
    assert.equal(findDisk(disks, '/dev/disk/by-id/wwn-0x5000c'), undefined);
  });
});

const vmbr1: NetworkSpec = { name: 'vmbr1', type: 'bridge', cidr: '10.10.0.2/24', bridgePorts: ['eno2', 'eno3'], vlanAware: true, mtu: 9000, autostart: true, comments: 'storage net' };
const vmbr1Seen = { iface: 'vmbr1', type: 'bridge', cidr: '10.10.0.2/24', bridge_ports: 'eno3 eno2', bridge_vlan_aware: 1, mtu: '9000', autostart: 1, comments: 'storage net\n' };
const diff = (...lines: string[]) => ['--- /etc/network/interfaces\t2026', '+++ /etc/network/interfaces.new\t2026', '@@ -1,9 +1,12 @@', ...lines, ''].join('\n');

describe('host plan: network interfaces', () => {
  it('plans nothing for an interface that matches (lists as sets, flags as 0/1, comments trimmed) and reads nothing else', () => {
    const other = { iface: 'vmbr0', type: 'bridge', cidr: '192.168.1.10/24' };
    assert.deepEqual(planNetworks('pve', 0, [vmbr1], { interfaces: [other, vmbr1Seen] }, []), []);
  });

  it('creates a missing interface with every declared option, then reloads once', () => {
    const steps = planNetworks('pve', 0, [vmbr1, { name: 'vmbr2', type: 'bridge' }], { interfaces: [] }, []);
    assert.deepEqual(steps.map((s) => s.call && `${s.call.method} ${s.call.path}`), ['POST /nodes/{pve}/network', 'POST /nodes/{pve}/network', 'PUT /nodes/{pve}/network']);
    assert.deepEqual(steps[0]?.call?.params, { iface: 'vmbr1', type: 'bridge', cidr: '10.10.0.2/24', bridge_ports: 'eno2 eno3', bridge_vlan_aware: '1', mtu: 9000, autostart: '1', comments: 'storage net' });
    assert.deepEqual(steps[0]?.stages, { node: 'pve', iface: 'vmbr1' });
    assert.equal(steps[2]?.task, true);
    assert.equal(steps[2]?.unstages, 'pve');
    assert.match(steps[2]?.why ?? '', /reload the network of node pve to apply vmbr1, vmbr2/);
  });

  it('updates only the options that differ, with the type Proxmox requires', () => {
    const [step] = planNetworks('pve', 0, [vmbr1], { interfaces: [{ ...vmbr1Seen, mtu: '1500', bridge_vlan_aware: undefined }] }, []);
    assert.deepEqual(step?.call, { method: 'PUT', path: '/nodes/{pve}/network/{vmbr1}', params: { type: 'bridge', bridge_vlan_aware: '1', mtu: 9000 } });
    assert.deepEqual(step?.differences, [
      { field: 'nodes[pve].networks[vmbr1].vlanAware', observed: '0', desired: '1' },
      { field: 'nodes[pve].networks[vmbr1].mtu', observed: '1500', desired: '9000' },
    ]);
  });

  it('refuses a type change, naming the field', () => {
    const [step, ...rest] = planNetworks('pve', 2, [vmbr1], { interfaces: [{ ...vmbr1Seen, type: 'bond' }] }, []);
    assert.equal(rest.length, 0, 'no reload for a refused change');
    assert.equal(step?.safe, false);
    assert.match(step?.refusal ?? '', /spec\.nodes\[2\]\.networks\[0\]\.type: vmbr1 on node pve is bond, the spec says bridge/);
  });

  it('reads which interfaces a staged diff touches', () => {
    assert.deepEqual(stagedInterfaces(undefined), []);
    const changes = diff(' auto lo', ' iface lo inet loopback', ' ', ' iface vmbr0 inet static', '-\tmtu 1500', '+\tmtu 9000', ' ', '+auto vmbr9', '+iface vmbr9 inet manual', '+\tbridge-ports none', '+');
    assert.deepEqual(stagedInterfaces(changes), ['vmbr0', 'vmbr9']);
    assert.deepEqual(stagedInterfaces(diff('+source /etc/network/interfaces.d/*', ' auto lo')), ['(outside any interface)']);
  });

  it('refuses to stage or reload while changes it did not make are staged, naming them', () => {
    const changes = diff(' iface vmbr0 inet static', '-\tmtu 1500', '+\tmtu 9000');
    const steps = planNetworks('pve', 0, [vmbr1], { interfaces: [], changes }, []);
    assert.ok(steps.length > 0 && steps.every((s) => !s.safe), 'a step would run');
    assert.match(steps[0]?.refusal ?? '', /network of node pve: changes Phoenix did not make are staged \(vmbr0\)/);
    // Someone else's staged change with nothing for Phoenix to do is not Phoenix's business.
    assert.deepEqual(planNetworks('pve', 0, [vmbr1], { interfaces: [vmbr1Seen], changes }, []), []);
    // Phoenix's own staging plus someone else's: the reload is refused too.
    const mixed = planNetworks('pve', 0, [vmbr1], { interfaces: [vmbr1Seen], changes: diff(' iface vmbr0 inet static', '+\tmtu 9000', ' iface vmbr1 inet static', '+\tmtu 9000') }, ['vmbr1']);
    assert.deepEqual(mixed.map((s) => [s.safe, s.call]), [[false, undefined]]);
  });

  it('after a crash between staging and reloading, reloads what it staged, and only then', () => {
    const changes = diff(' iface vmbr1 inet static', '-\tmtu 1500', '+\tmtu 9000');
    const [reload, ...rest] = planNetworks('pve', 0, [vmbr1], { interfaces: [vmbr1Seen], changes }, ['vmbr1']);
    assert.equal(rest.length, 0);
    assert.deepEqual(reload?.call, { method: 'PUT', path: '/nodes/{pve}/network' });
    assert.equal(reload?.unstages, 'pve');
    // Its record, but nothing staged any more (applied or reverted by someone): only forgotten.
    const [forget] = planNetworks('pve', 0, [vmbr1], { interfaces: [vmbr1Seen] }, ['vmbr1']);
    assert.equal(forget?.call, undefined);
    assert.equal(forget?.unstages, 'pve');
    assert.deepEqual(planNetworks('pve', 0, [vmbr1], { interfaces: [vmbr1Seen] }, []), []);
  });

  it('keeps the staged record per node', () => {
    let staged = withStaged({}, { stages: { node: 'pve', iface: 'vmbr2' } });
    staged = withStaged(staged, { stages: { node: 'pve', iface: 'vmbr1' } });
    staged = withStaged(staged, { stages: { node: 'pve2', iface: 'vmbr1' } });
    assert.deepEqual(staged, { pve: ['vmbr1', 'vmbr2'], pve2: ['vmbr1'] });
    assert.deepEqual(withStaged(staged, { unstages: 'pve' }), { pve2: ['vmbr1'] });
  });
});

describe('host plan: ZFS and networks in the whole plan', () => {
  const spec = { proxmox: { url: 'https://pve:8006', tokenSecretRef: { name: 't' } }, nodes: [{ name: 'pve', zfsPools: [tank], networks: [vmbr1] }] } as never;

  it('reads pools and the network of nodes that declare them, and of nodes Phoenix staged on', () => {
    const reads = hostReads(spec, {});
    assert.deepEqual(reads.zfsNodes, [{ node: 'pve', pools: ['tank'] }]);
    assert.deepEqual(reads.networkNodes, ['pve']);
    const bare = { proxmox: { url: 'https://pve:8006', tokenSecretRef: { name: 't' } } } as never;
    assert.equal(readsAnything(hostReads(bare, {})), false);
    assert.equal(readsAnything(hostReads(bare, {}, { pve: ['vmbr1'] })), true, 'a staged change is still reloaded when the spec dropped it');
  });

  it('creates ZFS pools before storages, and stages networks after node settings', () => {
    const steps = planHost(spec, { nodes: {}, storages: [], zfs: { pve: { pools: [], disks } }, networks: { pve: { interfaces: [] } } }, {});
    assert.deepEqual(steps.map((s) => s.item), ['ZFS pool tank on node pve', 'network interface vmbr1 on node pve', 'network of node pve']);
  });
});
