import { strict as assert } from 'node:assert';
import { startPhoenix, apply, waitReady, waitCondition, readyAtGeneration, getObject, condition, type PhoenixEnv } from '../support/phoenix.ts';
import { eventually } from '../support/crds.ts';
import { hypervisorEvents as eventsOf, patchHypervisor, simulatorWrites, type JsonPatch } from '../support/hosts.ts';
import { createProxmoxClient, type ProxmoxClient } from '../../src/clients/proxmox/client.ts';

const observePeriodMs = 1_500;

const hostSpec = {
  pools: [{ id: 'prod', comment: 'production guests' }, { id: 'shared', comment: 'listed, but made by a person' }],
  storages: [
    { id: 'scratch', type: 'dir', path: '/srv/scratch', content: ['images', 'rootdir'], nodes: ['pve'] },
    { id: 'nfs-iso', type: 'nfs', server: '10.0.0.5', export: '/export/iso', content: ['iso', 'vztmpl'] },
  ],
  nodes: [{ name: 'pve', timezone: 'Europe/Berlin', dns: { servers: ['10.0.0.53', '1.1.1.1'], searchDomain: 'lab.example' } }],
  firewall: {
    enabled: true,
    policyIn: 'DROP',
    rules: [
      { type: 'in', action: 'ACCEPT', macro: 'SSH', source: '10.0.0.0/24', comment: 'admins' },
      { type: 'in', action: 'ACCEPT', proto: 'tcp', dport: '8006' },
    ],
  },
};

describe('host configuration of a PhoenixHypervisor (real API server + simulator)', function () {
  this.timeout(180_000);
  let env: PhoenixEnv;
  let px: ProxmoxClient;

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({
      name: 'e2e-host-config',
      observePeriodMs,
      seed: (sim) => {
        // What a person made before Phoenix: a pool the spec lists, one it does not, and a cluster firewall rule.
        sim.simulator.state.pools.push({ poolid: 'shared', comment: 'hand-made', members: [] }, { poolid: 'unlisted', comment: 'not Phoenix\'s', members: [] });
        sim.simulator.state.clusterFirewall.rules.push({ type: 'in', action: 'ACCEPT', proto: 'icmp', enable: 1 });
      },
    });
    px = createProxmoxClient({ url: env.sim.url, token: `${env.sim.token.fullId}=${env.sim.token.secret}` });
  });

  after(async () => {
    px?.close();
    await env?.stop();
  });

  const patchSpec = (ops: JsonPatch) => patchHypervisor(env.custom, env.hypervisor, ops);
  const hypervisorEvents = (reason?: string) => eventsOf(env.cluster.kc, env.hypervisor, reason);

  const state = () => {
    env.sim.simulator.settle();
    return env.sim.simulator.state;
  };
  const pool = (id: string) => state().pools.find((p) => p.poolid === id);
  const storage = (id: string) => state().storages.find((s) => s.id === id);
  const writes = () => simulatorWrites(env.sim);

  it('creates what is missing, takes over listed items, leaves unlisted ones alone, and records what it created', async () => {
    env.sim.admin.resetCounters();
    const start = Date.now();
    await patchSpec(Object.entries(hostSpec).map(([key, value]) => ({ op: 'add', path: `/spec/${key}`, value })));
    const hv = await waitReady(env, 'phoenixhypervisors', env.hypervisor, 90_000);
    // Each step requeues at once; those requeues reuse the cycle's connection check, so the
    // version is read once per observation cycle the work spans (and once for the spec change).
    const cycles = Math.floor(Date.now() / observePeriodMs) - Math.floor(start / observePeriodMs) + 1;
    const steps = writes().reduce((sum, [, n]) => sum + n, 0);
    const checks = env.sim.admin.counters().byEndpoint['GET /version'] ?? 0;
    assert.ok(steps >= 8, `only ${steps} writes: ${JSON.stringify(writes())}`);
    assert.ok(checks <= cycles + 1, `${checks} connection checks for ${steps} steps over ${cycles} observation cycles`);

    assert.equal(pool('prod')?.comment, 'production guests');
    assert.equal(pool('shared')?.comment, 'listed, but made by a person');
    assert.equal(pool('unlisted')?.comment, 'not Phoenix\'s');
    assert.deepEqual(storage('scratch'), { id: 'scratch', type: 'dir', shared: false, content: ['images', 'rootdir'], nodes: ['pve'], path: '/srv/scratch', totalBytes: storage('scratch')!.totalBytes });
    assert.equal(storage('nfs-iso')?.server, '10.0.0.5');
    assert.deepEqual([...storage('nfs-iso')!.content].sort(), ['iso', 'vztmpl']);
    assert.ok(storage('local') && storage('local-lvm'), 'an unlisted storage was removed');
    const node = state().nodes[0]!;
    assert.deepEqual(node.dns, { search: 'lab.example', dns1: '10.0.0.53', dns2: '1.1.1.1' });
    assert.equal(node.timezone, 'Europe/Berlin');
    assert.equal(String(state().clusterFirewall.options['enable']), '1');
    assert.deepEqual(state().clusterFirewall.rules.map((r) => [r['macro'] ?? r['proto'], String(r['enable'])]), [['SSH', '1'], ['tcp', '1']], 'the rule list is the spec\'s, in order');

    assert.deepEqual(hv.status.created, { pools: ['prod'], storages: ['nfs-iso', 'scratch'] }, 'only what Phoenix created is recorded');
    assert.equal(condition(hv, 'HostConfigured')?.status, 'True');
    assert.equal(hv.status.proxmoxVersion !== undefined && hv.status.nodes.length, 1, 'the connection facts stay in status');
  });

  it('makes no Proxmox write and no Kubernetes write when the host is in sync', async () => {
    const before = await getObject(env, 'phoenixhypervisors', env.hypervisor);
    const events = (await hypervisorEvents()).length;
    env.sim.admin.resetCounters();
    // Three observations of the in-sync host (each reads /version first).
    await eventually('three observations', async () => (env.sim.admin.counters().byEndpoint['GET /version'] ?? 0) >= 3, 30_000);
    const counters = env.sim.admin.counters();
    assert.deepEqual(writes(), [], 'Phoenix wrote to Proxmox with nothing to do');
    const observations = counters.byEndpoint['GET /version'] ?? 0;
    // version, nodes, pools, storage, node dns, node time, firewall options, firewall rules.
    assert.ok(counters.total <= observations * 8 + 8, `${counters.total} requests for ${observations} observations: ${JSON.stringify(counters.byEndpoint)}`);
    const after = await getObject(env, 'phoenixhypervisors', env.hypervisor);
    assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion, 'Phoenix wrote the hypervisor object with nothing to do');
    assert.equal((await hypervisorEvents()).length, events, 'Phoenix recorded events with nothing to do');
  });

  it('sets back a managed option changed by a person, with one DriftCorrected event naming old → new', async () => {
    // Events are listed by name, not by time: new ones are told apart by name.
    const seen = new Set((await hypervisorEvents('DriftCorrected')).map((e) => e.metadata?.name));
    const fresh = async () => (await hypervisorEvents('DriftCorrected')).filter((e) => !seen.has(e.metadata?.name));
    await px.api.storage.$('scratch').$put({ content: 'images' } as never);

    await eventually('storage content set back', async () => [...(storage('scratch')?.content ?? [])].sort().join(',') === 'images,rootdir', 30_000);
    // The status write follows the Proxmox write, and Ready stays True throughout: wait for the record itself.
    await waitCondition(env, 'phoenixhypervisors', env.hypervisor, (o) => readyAtGeneration(o) && (o.status?.drift ?? []).some((d: { field: string; corrected: boolean }) => d.field === 'storages[scratch].content' && d.corrected), 'the correction recorded in status.drift');
    const events = await fresh();
    assert.equal(events.length, 1, 'one event for one drift');
    assert.match(events[0]?.note ?? '', /storages\[scratch\]\.content: images → images,rootdir/);
    for (const e of events) seen.add(e.metadata?.name);

    // Several at once, as in an afternoon of clicking in the UI.
    await Promise.all([
      px.api.pools.$put({ poolid: 'prod', comment: 'renamed' } as never),
      px.api.nodes.$('pve').dns.$put({ search: 'other.example', dns1: '8.8.8.8' } as never),
      px.api.cluster.firewall.options.$put({ enable: 0 } as never),
      px.api.pools.$put({ poolid: 'unlisted', comment: 'still not Phoenix\'s' } as never),
    ]);
    await eventually('all set back', async () => pool('prod')?.comment === 'production guests' && state().nodes[0]!.dns.search === 'lab.example' && String(state().clusterFirewall.options['enable']) === '1', 30_000);
    await waitReady(env, 'phoenixhypervisors', env.hypervisor);
    const notes = (await fresh()).map((e) => e.note).join('\n');
    assert.match(notes, /pools\[prod\]\.comment: renamed → production guests/);
    assert.match(notes, /nodes\[pve\]\.dns\.searchDomain: other\.example → lab\.example/);
    assert.match(notes, /firewall\.enabled: 0 → 1/);
    assert.equal(pool('unlisted')?.comment, 'still not Phoenix\'s', 'an unlisted pool was changed');
  });

  it('only reports differences in Observe mode, writing nothing to Proxmox', async () => {
    await patchSpec([{ op: 'add', path: '/spec/managementPolicy', value: 'Observe' }]);
    await waitReady(env, 'phoenixhypervisors', env.hypervisor);
    await px.api.pools.$put({ poolid: 'prod', comment: 'edited while observed' } as never);
    env.sim.admin.resetCounters();
    const hv = await waitCondition(env, 'phoenixhypervisors', env.hypervisor, (o) => (o.status?.drift ?? []).some((d: { field: string; corrected: boolean }) => d.field === 'pools[prod].comment' && !d.corrected), 'difference reported');
    assert.equal(condition(hv, 'HostConfigured')?.reason, 'Observed');
    assert.match(condition(hv, 'HostConfigured')?.message ?? '', /pools\[prod\]\.comment: edited while observed → production guests/);
    await eventually('another observation', async () => (env.sim.admin.counters().byEndpoint['GET /version'] ?? 0) >= 2, 30_000);
    assert.deepEqual(writes(), [], 'Observe mode wrote to Proxmox');
    assert.equal(pool('prod')?.comment, 'edited while observed');

    await patchSpec([{ op: 'replace', path: '/spec/managementPolicy', value: 'Manage' }]);
    await eventually('corrected once managed again', async () => pool('prod')?.comment === 'production guests', 30_000);
    await waitReady(env, 'phoenixhypervisors', env.hypervisor);
  });

  it('removes only what it created when dropped from the spec', async () => {
    await patchSpec([
      { op: 'replace', path: '/spec/pools', value: [{ id: 'shared' }] },
      { op: 'replace', path: '/spec/storages', value: [hostSpec.storages[1]] },
    ]);
    await eventually('prod and scratch removed', async () => !pool('prod') && !storage('scratch'), 30_000);
    const hv = await waitReady(env, 'phoenixhypervisors', env.hypervisor);
    assert.ok(pool('shared'), 'a pool Phoenix did not create was removed');
    assert.ok(pool('unlisted'), 'an unlisted pool was removed');
    assert.ok(storage('local') && storage('local-lvm') && storage('nfs-iso'));
    assert.deepEqual(hv.status.created, { pools: [], storages: ['nfs-iso'] });

    await patchSpec([{ op: 'remove', path: '/spec/pools' }]);
    await waitReady(env, 'phoenixhypervisors', env.hypervisor);
    assert.ok(pool('shared'), 'dropping a pool Phoenix did not create from the spec removed it');
  });

  it('reports a bad item with a clear condition; guests that use it wait meanwhile, the others go on', async () => {
    await patchSpec([{ op: 'add', path: '/spec/nodes/-', value: { name: 'ghost', timezone: 'UTC' } }]);
    let hv = await waitCondition(env, 'phoenixhypervisors', env.hypervisor, (o) => condition(o, 'Stalled')?.status === 'True', 'Stalled');
    assert.equal(condition(hv, 'Stalled')?.reason, 'InvalidSpec');
    assert.match(condition(hv, 'Stalled')?.message ?? '', /spec\.nodes\[1\]\.name: node ghost is not part of the cluster/);
    await patchSpec([{ op: 'remove', path: '/spec/nodes/1' }]);
    await waitReady(env, 'phoenixhypervisors', env.hypervisor);

    // A server that is no host name never gets this far: the API server refuses it (pve-storage-server).
    const badServer = { id: 'bad-nfs', type: 'nfs', server: 'not a host!', export: '/x', content: ['iso'] };
    await assert.rejects(patchSpec([{ op: 'add', path: '/spec/storages/-', value: badServer }]), (err: { code?: number }) => err.code === 422);
    // What only Proxmox can tell, it refuses itself: here a parameter error answering the create.
    env.sim.admin.injectFault({ kind: 'error', method: 'POST', path: '/storage', rate: 1, status: 400, message: 'Parameter verification failed.' });
    await patchSpec([{ op: 'add', path: '/spec/storages/-', value: { ...badServer, server: 'nas.invalid' } }]);
    hv = await waitCondition(env, 'phoenixhypervisors', env.hypervisor, (o) => condition(o, 'Stalled')?.status === 'True', 'Stalled');
    assert.equal(condition(hv, 'Stalled')?.reason, 'RejectedByProxmox');
    assert.match(condition(hv, 'Stalled')?.message ?? '', /storage bad-nfs: Proxmox refused to create nfs storage bad-nfs .*Parameter verification failed/);
    assert.equal(hv.status.proxmoxVersion !== undefined, true, 'connection facts kept while stalled');

    assert.deepEqual(hv.status.hostPending, ['storage bad-nfs']);

    const template = { osTemplate: { volume: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst' } };
    await apply(env, 'PhoenixLXC', 'patient', { source: template, rootDisk: { storage: 'bad-nfs', size: '4G' } });
    await apply(env, 'PhoenixLXC', 'unaffected', { source: template });
    await waitCondition(env, 'phoenixlxcs', 'patient', (o) => condition(o, 'Ready')?.reason === 'WaitingForHypervisor' && /storage bad-nfs/.test(condition(o, 'Ready')?.message ?? ''), 'waiting for storage bad-nfs');
    await waitReady(env, 'phoenixlxcs', 'unaffected', 90_000);
    assert.equal(state().guests.filter((g) => g.config['hostname'] === 'patient').length, 0, 'a guest was created on a storage the host has not made yet');

    env.sim.admin.clearFaults('error');
    await patchSpec([{ op: 'replace', path: '/spec/storages', value: [hostSpec.storages[1], { id: 'bad-nfs', type: 'nfs', server: '10.0.0.5', export: '/x', content: ['rootdir', 'images'] }] }]);
    await waitReady(env, 'phoenixhypervisors', env.hypervisor);
    const patient = await waitReady(env, 'phoenixlxcs', 'patient', 90_000);
    assert.match(String(env.sim.admin.guest(patient.status.vmid)!.config['rootfs']), /^bad-nfs:/);
  });
});
