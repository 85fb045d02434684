import { strict as assert } from 'node:assert';
import { startPhoenix, waitReady, waitCondition, readyAtGeneration, getObject, condition, type PhoenixEnv } from '../support/phoenix.ts';
import { eventually } from '../support/crds.ts';
import { hypervisorEvents as eventsOf, patchHypervisor, simulatorWrites, type JsonPatch } from '../support/hosts.ts';
import { createProxmoxClient, type ProxmoxClient } from '../../src/clients/proxmox/client.ts';
import { defaultDisks } from '../../src/sim/proxmox/api/disks.ts';
import { GiB } from '../../src/proxmox/size.ts';

// ZFS pools and network interfaces of a PhoenixHypervisor's nodes.

const observePeriodMs = 1_500;
const byId = (serial: string) => `/dev/disk/by-id/ata-SIM_DISK_${serial}`;

const nodeSpec = {
  name: 'pve',
  zfsPools: [
    { name: 'tank', raidLevel: 'mirror', devices: [byId('S0B'), byId('S0C')], addStorage: true },
    // Exists already, on other disks: Phoenix never re-creates or changes a pool.
    { name: 'rpool', raidLevel: 'single', devices: [byId('S0B')] },
  ],
  networks: [
    { name: 'vmbr1', type: 'bridge', cidr: '10.10.0.2/24', bridgePorts: ['eno2'], mtu: 9000, comments: 'storage network' },
    { name: 'vmbr2', type: 'bridge', vlanAware: true },
  ],
};

describe('ZFS pools and network interfaces of a PhoenixHypervisor (real API server + simulator)', function () {
  this.timeout(180_000);
  let env: PhoenixEnv;
  let px: ProxmoxClient;
  let vmbr0Before: unknown;

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({
      name: 'e2e-host-config-3',
      observePeriodMs,
      seed: (sim) => {
        // A node with a pool made at install time on /dev/sdd, and a second NIC for a bridge.
        const node = sim.simulator.state.nodes[0]!;
        node.disks = defaultDisks();
        node.disks[3]!.used = 'ZFS';
        node.zfsPools = [{ name: 'rpool', raidlevel: 'single', devices: ['/dev/sdd'], size: 480 * GiB, compression: 'on', ashift: 12 }];
        node.network['eno2'] = { iface: 'eno2', type: 'eth', method: 'manual', active: 1, exists: 1, families: 'inet' };
      },
    });
    px = createProxmoxClient({ url: env.sim.url, token: `${env.sim.token.fullId}=${env.sim.token.secret}` });
    vmbr0Before = structuredClone(env.sim.simulator.state.nodes[0]!.network['vmbr0']);
  });

  after(async () => {
    px?.close();
    await env?.stop();
  });

  const patchSpec = (ops: JsonPatch) => patchHypervisor(env.custom, env.hypervisor, ops);
  const hypervisorEvents = (reason?: string) => eventsOf(env.cluster.kc, env.hypervisor, reason);

  const node = () => {
    env.sim.simulator.settle();
    return env.sim.simulator.state.nodes[0]!;
  };
  const counts = () => env.sim.admin.counters().byEndpoint;
  const writes = () => simulatorWrites(env.sim);

  async function reload(): Promise<void> {
    const upid = (await px.api.nodes.$('pve').network.$put()) as string;
    await eventually('the reload task ends', async () => ((await px.api.nodes.$('pve').tasks.$(upid).status.$get()) as { status: string }).status === 'stopped', 30_000);
  }

  /**
   * A person's edit, applied with "Apply Configuration". It is made right after Phoenix read
   * the network, so Phoenix's next look, an observation period later, finds it applied; a
   * look in between would find someone else's staged change and (rightly) refuse to reload.
   */
  async function asAPerson(change: () => Promise<unknown>): Promise<void> {
    const seen = counts()['GET /nodes/{node}/network'] ?? 0;
    await eventually('Phoenix reads the network', async () => (counts()['GET /nodes/{node}/network'] ?? 0) > seen, 30_000);
    await change();
    await reload();
  }

  it('creates the missing pool and interfaces, stages both interfaces and reloads once, and leaves the rest alone', async () => {
    env.sim.admin.resetCounters();
    await patchSpec([{ op: 'add', path: '/spec/nodes', value: [nodeSpec] }]);
    const hv = await waitReady(env, 'phoenixhypervisors', env.hypervisor, 90_000);

    const n = node();
    assert.deepEqual(n.zfsPools?.map((p) => [p.name, p.raidlevel, p.devices.join(' ')]), [['rpool', 'single', '/dev/sdd'], ['tank', 'mirror', '/dev/sdb /dev/sdc']]);
    const tank = env.sim.simulator.state.storages.find((s) => s.id === 'tank');
    assert.deepEqual([tank?.type, tank?.pool, tank?.nodes], ['zfspool', 'tank', ['pve']], 'addStorage adds the storage');
    assert.equal(n.pendingNetwork, undefined, 'something is still staged');
    const vmbr1 = n.network['vmbr1']!;
    assert.deepEqual([vmbr1['type'], vmbr1['cidr'], vmbr1['bridge_ports'], String(vmbr1['mtu']), vmbr1['comments'], vmbr1['active']], ['bridge', '10.10.0.2/24', 'eno2', '9000', 'storage network', 1]);
    assert.equal(String(n.network['vmbr2']?.['bridge_vlan_aware']), '1');
    assert.deepEqual(n.network['vmbr0'], vmbr0Before, 'an unlisted interface was touched');
    assert.deepEqual(Object.keys(n.network).sort(), ['eno1', 'eno2', 'lo', 'vmbr0', 'vmbr1', 'vmbr2']);

    const c = counts();
    assert.equal(c['POST /nodes/{node}/disks/zfs'], 1);
    assert.equal(c['POST /nodes/{node}/network'], 2);
    assert.equal(c['PUT /nodes/{node}/network'], 1, 'one reload for everything staged');
    assert.deepEqual(hv.status.stagedNetwork, [], 'the staged record is cleared by the reload');
    assert.match(hv.status.lastTask?.upid ?? '', /:srvreload:/);
  });

  it('reads one pool list and one network list per node and writes nothing when in sync', async () => {
    const before = await getObject(env, 'phoenixhypervisors', env.hypervisor);
    const events = (await hypervisorEvents()).length;
    env.sim.admin.resetCounters();
    await eventually('three observations', async () => (counts()['GET /version'] ?? 0) >= 3, 30_000);
    const c = env.sim.admin.counters();
    assert.deepEqual(writes(), [], 'Phoenix wrote to Proxmox with nothing to do');
    assert.equal(c.byEndpoint['GET /nodes/{node}/disks/list'], undefined, 'disks are listed in steady state');
    const observations = c.byEndpoint['GET /version'] ?? 0;
    // version, nodes, disks/zfs, network.
    assert.ok(c.total <= observations * 4 + 4, `${c.total} requests for ${observations} observations: ${JSON.stringify(c.byEndpoint)}`);
    const after = await getObject(env, 'phoenixhypervisors', env.hypervisor);
    assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion, 'Phoenix wrote the hypervisor object with nothing to do');
    assert.equal((await hypervisorEvents()).length, events, 'Phoenix recorded events with nothing to do');
  });

  it('sets back an interface option a person changed and applied, with one DriftCorrected event', async () => {
    const seen = new Set((await hypervisorEvents('DriftCorrected')).map((e) => e.metadata?.name));
    await asAPerson(() => px.api.nodes.$('pve').network.$('vmbr1').$put({ type: 'bridge', mtu: 1500 } as never));
    assert.equal(String(node().network['vmbr1']?.['mtu']), '1500', 'the person\'s change was not applied');
    env.sim.admin.resetCounters();

    await eventually('mtu set back and reloaded', async () => String(node().network['vmbr1']?.['mtu']) === '9000' && node().pendingNetwork === undefined, 30_000);
    // The status write follows the Proxmox writes, and Ready stays True throughout: wait for the record itself.
    await waitCondition(env, 'phoenixhypervisors', env.hypervisor, (o) => readyAtGeneration(o) && (o.status?.drift ?? []).some((d: { field: string; corrected: boolean }) => d.field === 'nodes[pve].networks[vmbr1].mtu' && d.corrected), 'the correction recorded in status.drift');
    const events = (await hypervisorEvents('DriftCorrected')).filter((e) => !seen.has(e.metadata?.name));
    assert.equal(events.length, 1, 'one event for one drift');
    assert.match(events[0]?.note ?? '', /nodes\[pve\]\.networks\[vmbr1\]\.mtu: 1500 → 9000/);
    assert.equal(counts()['PUT /nodes/{node}/network/{iface}'], 1);
    assert.equal(counts()['PUT /nodes/{node}/network'], 1);
    assert.deepEqual(node().network['vmbr0'], vmbr0Before);
  });

  it('only reports an interface difference in Observe mode, writing nothing to Proxmox', async () => {
    await patchSpec([{ op: 'add', path: '/spec/managementPolicy', value: 'Observe' }]);
    await waitReady(env, 'phoenixhypervisors', env.hypervisor);
    await asAPerson(() => px.api.nodes.$('pve').network.$('vmbr1').$put({ type: 'bridge', comments: 'edited by hand' } as never));
    env.sim.admin.resetCounters();
    const hv = await waitCondition(env, 'phoenixhypervisors', env.hypervisor, (o) => (o.status?.drift ?? []).some((d: { field: string; corrected: boolean }) => d.field === 'nodes[pve].networks[vmbr1].comments' && !d.corrected), 'difference reported');
    assert.equal(condition(hv, 'HostConfigured')?.reason, 'Observed');
    assert.match(condition(hv, 'HostConfigured')?.message ?? '', /nodes\[pve\]\.networks\[vmbr1\]\.comments: edited by hand → storage network/);
    await eventually('two observations', async () => (counts()['GET /version'] ?? 0) >= 2, 30_000);
    assert.deepEqual(writes(), [], 'Observe mode wrote to Proxmox');
    assert.equal(node().network['vmbr1']?.['comments'], 'edited by hand');

    await patchSpec([{ op: 'replace', path: '/spec/managementPolicy', value: 'Manage' }]);
    await eventually('corrected once managed again', async () => node().network['vmbr1']?.['comments'] === 'storage network' && node().pendingNetwork === undefined, 30_000);
    await waitReady(env, 'phoenixhypervisors', env.hypervisor);
  });

  it('refuses a ZFS device that is in use, naming the field, and creates nothing', async () => {
    env.sim.admin.resetCounters();
    await patchSpec([{ op: 'add', path: '/spec/nodes/0/zfsPools/-', value: { name: 'bad', raidLevel: 'single', devices: [byId('S0A')] } }]);
    const hv = await waitCondition(env, 'phoenixhypervisors', env.hypervisor, (o) => condition(o, 'Stalled')?.status === 'True', 'Stalled');
    assert.equal(condition(hv, 'Stalled')?.reason, 'HostConfigRefused');
    assert.match(condition(hv, 'Stalled')?.message ?? '', /spec\.nodes\[0\]\.zfsPools\[2\]\.devices\[0\]: \/dev\/disk\/by-id\/ata-SIM_DISK_S0A \(\/dev\/sda\) is in use \(LVM\)/);
    assert.equal(counts()['POST /nodes/{node}/disks/zfs'], undefined, 'Phoenix asked Proxmox to use a disk in use');
    assert.ok(!node().zfsPools?.some((p) => p.name === 'bad'));

    await patchSpec([{ op: 'remove', path: '/spec/nodes/0/zfsPools/2' }]);
    await waitReady(env, 'phoenixhypervisors', env.hypervisor);
  });

  it('refuses to reload while someone else\'s change is staged, naming it, and continues once it is reverted', async () => {
    // A person's edit of an unlisted interface, staged but not applied.
    await px.api.nodes.$('pve').network.$('vmbr0').$put({ type: 'bridge', comments: 'half done' } as never);
    env.sim.admin.resetCounters();
    await patchSpec([{ op: 'replace', path: '/spec/nodes/0/networks/0/mtu', value: 9216 }]);
    const hv = await waitCondition(env, 'phoenixhypervisors', env.hypervisor, (o) => condition(o, 'Stalled')?.status === 'True', 'Stalled');
    assert.equal(condition(hv, 'Stalled')?.reason, 'HostConfigRefused');
    assert.match(condition(hv, 'Stalled')?.message ?? '', /network of node pve: changes Phoenix did not make are staged \(vmbr0\)/);
    assert.deepEqual(writes(), [], 'Phoenix staged or reloaded beside someone else\'s change');
    assert.equal(String(node().network['vmbr1']?.['mtu']), '9000');
    assert.equal(node().pendingNetwork?.['vmbr0']?.['comments'], 'half done', 'the person\'s staged change was touched');

    // The person reverts: Phoenix goes on by itself.
    await px.api.nodes.$('pve').network.$delete();
    await eventually('mtu applied', async () => String(node().network['vmbr1']?.['mtu']) === '9216' && node().pendingNetwork === undefined, 30_000);
    await waitReady(env, 'phoenixhypervisors', env.hypervisor);
    assert.deepEqual(node().network['vmbr0'], vmbr0Before);
  });

  it('when the reload fails after staging, reloads its own staged change next time instead of taking it for someone else\'s', async () => {
    env.sim.admin.injectFault({ kind: 'error', rate: 1, method: 'PUT', path: '/nodes/{node}/network', count: 1, message: 'simulated failure between staging and reloading' });
    env.sim.admin.resetCounters();
    await patchSpec([{ op: 'replace', path: '/spec/nodes/0/networks/0/mtu', value: 9000 }]);
    await eventually('mtu applied', async () => String(node().network['vmbr1']?.['mtu']) === '9000' && node().pendingNetwork === undefined, 30_000);
    const hv = await waitReady(env, 'phoenixhypervisors', env.hypervisor);
    assert.equal(counts()['PUT /nodes/{node}/network/{iface}'], 1, 'staged once');
    assert.equal(counts()['PUT /nodes/{node}/network'], 2, 'the failed reload, then the one that applied it');
    assert.deepEqual(hv.status.stagedNetwork, []);
  });
});
