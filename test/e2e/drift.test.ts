import { strict as assert } from 'node:assert';
import * as k8s from '@kubernetes/client-node';
import { startPhoenix, apply, waitReady, waitCondition, stalledWith, readyAtGeneration, G, type PhoenixEnv } from '../support/phoenix.ts';
import { eventually } from '../support/crds.ts';
import { createProxmoxClient, type ProxmoxClient } from '../../src/clients/proxmox/client.ts';

describe('drift: changes made outside Phoenix (real API server + simulator)', function () {
  this.timeout(120_000);
  let env: PhoenixEnv;
  let px: ProxmoxClient;

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({ name: 'e2e-drift' });
    px = createProxmoxClient({ url: env.sim.url, token: `${env.sim.token.fullId}=${env.sim.token.secret}` });
  });

  after(async () => {
    px?.close();
    await env?.stop();
  });

  async function driftEvents(name: string): Promise<k8s.EventsV1Event[]> {
    const events = await env.cluster.kc.makeApiClient(k8s.EventsV1Api).listNamespacedEvent({ namespace: env.namespace });
    return events.items.filter((e) => e.reason === 'DriftCorrected' && e.regarding?.name === name);
  }

  it('sets managed fields back within one observe period, says what changed, and leaves unmanaged fields alone', async () => {
    await apply(env, 'PhoenixLXC', 'drifty', {
      source: { osTemplate: { volume: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst' } },
      cores: 2,
      memory: '1G',
      tags: ['web'],
      observePeriod: '2s',
    });
    const ready = await waitReady(env, 'phoenixlxcs', 'drifty');
    const vmid = ready.status.vmid;
    // Someone edits the container in the Proxmox UI: two managed options and one the spec leaves unset.
    await px.api.nodes.$('pve').lxc.$(vmid).config.$put({ cores: 6, tags: 'web;hacked', cpulimit: 3 } as never);

    await eventually('drift corrected in Proxmox', async () => {
      const config = env.sim.admin.guest(vmid)!.config;
      return String(config['cores']) === '2' && config['tags'] === 'web';
    }, 30_000);
    assert.equal(String(env.sim.admin.guest(vmid)!.config['cpulimit']), '3', 'an option the spec leaves unset was changed');

    const after = await waitCondition(env, 'phoenixlxcs', 'drifty', (o) => (o.status?.drift ?? []).length > 0, 'status.drift recorded');
    const fields = after.status.drift.map((d: { field: string; observed: string; desired: string; corrected: boolean }) => [d.field, d.observed, d.desired, d.corrected]).sort();
    assert.deepEqual(fields, [['cores', '6', '2', true], ['tags', 'hacked;web', 'web', true]]);
    const events = await driftEvents('drifty');
    assert.equal(events.length, 1, 'one event for one drift');
    assert.match(events[0]?.note ?? '', /cores: 6 → 2/);
    assert.match(events[0]?.note ?? '', /tags: hacked;web → web/);
    const metric = await env.manager.metrics.registry.getSingleMetricAsString('phoenix_drift_corrections_total');
    assert.match(metric, /phoenix_drift_corrections_total\{kind="PhoenixLXC",option="cores"\} 1/);
    await waitReady(env, 'phoenixlxcs', 'drifty');
  });

  it('starts again a guest stopped outside Phoenix, as drift of its power state', async () => {
    await apply(env, 'PhoenixLXC', 'sleeper', { source: { osTemplate: { volume: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst' } }, observePeriod: '2s' });
    const vmid = (await waitReady(env, 'phoenixlxcs', 'sleeper')).status.vmid;
    const stop = await px.api.nodes.$('pve').lxc.$(vmid).status.stop.$post({} as never);
    await eventually('stopped by hand', async () => env.sim.admin.tasks().some((t) => t.upid === stop && t.status === 'stopped'), 20_000);
    await eventually('started again', async () => env.sim.admin.guest(vmid)!.status === 'running', 30_000);
    const after = await waitCondition(env, 'phoenixlxcs', 'sleeper', (o) => (o.status?.drift ?? []).some((d: { field: string }) => d.field === 'powerState'), 'power drift recorded');
    assert.deepEqual(after.status.drift.map((d: { field: string; observed: string; desired: string; corrected: boolean }) => [d.field, d.observed, d.desired, d.corrected]), [['powerState', 'Stopped', 'Running', true]]);
    const events = await driftEvents('sleeper');
    assert.equal(events.length, 1);
    assert.match(events[0]?.note ?? '', /powerState: Stopped → Running/);
    assert.equal(env.sim.admin.tasks().filter((t) => t.type === 'vzstart' && t.id === String(vmid)).length, 2, 'one start at create, one to correct the drift');
    await waitReady(env, 'phoenixlxcs', 'sleeper');
  });

  it('keeps a guest in its pool: a move outside Phoenix is set back, a spec change moves it', async () => {
    env.sim.admin.addPool('web');
    env.sim.admin.addPool('batch');
    const poolOf = (vmid: number) => env.sim.simulator.state.pools.find((p) => p.members.includes(`lxc/${vmid}`))?.poolid;
    await apply(env, 'PhoenixLXC', 'pooled', { source: { osTemplate: { volume: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst' } }, pool: 'web', observePeriod: '2s' });
    const vmid = (await waitReady(env, 'phoenixlxcs', 'pooled')).status.vmid;
    assert.equal(poolOf(vmid), 'web');
    // Pool membership is not in the config, so its digest does not change: only the resources list shows it.
    await px.api.pools.$put({ poolid: 'batch', vms: String(vmid), 'allow-move': true });
    await eventually('moved back to web', async () => poolOf(vmid) === 'web', 30_000);
    const events = await driftEvents('pooled');
    assert.equal(events.length, 1);
    assert.match(events[0]?.note ?? '', /pool: batch → web/);

    await env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace: env.namespace, name: 'pooled', body: [{ op: 'replace', path: '/spec/pool', value: 'batch' }] });
    await waitCondition(env, 'phoenixlxcs', 'pooled', (o) => readyAtGeneration(o) && poolOf(vmid) === 'batch', 'moved to batch by the spec');
    assert.equal((await driftEvents('pooled')).length, 1, 'a spec change is not drift');

    await env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace: env.namespace, name: 'pooled', body: [{ op: 'replace', path: '/spec/pool', value: 'nowhere' }] });
    const stalled = await waitCondition(env, 'phoenixlxcs', 'pooled', stalledWith('PoolNotFound'), 'Stalled PoolNotFound');
    assert.match(JSON.stringify(stalled.status.conditions), /pool nowhere does not exist/);
    assert.equal(poolOf(vmid), 'batch');
    // A stalled guest tries again each period (the pool may be created in Proxmox); end in sync.
    await env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace: env.namespace, name: 'pooled', body: [{ op: 'replace', path: '/spec/pool', value: 'batch' }] });
    await waitCondition(env, 'phoenixlxcs', 'pooled', readyAtGeneration, 'back in sync');
  });

  describe('each managed option of a container is set back', () => {
    // One out-of-band edit per row, made as a person would in the Proxmox UI.
    const rows: { option: string; edit: Record<string, string | number>; expect: (config: Record<string, unknown>) => boolean }[] = [
      { option: 'hostname', edit: { hostname: 'renamed' }, expect: (c) => c['hostname'] === 'every-field' },
      { option: 'cores', edit: { cores: 7 }, expect: (c) => String(c['cores']) === '2' },
      { option: 'cpulimit', edit: { cpulimit: 5 }, expect: (c) => String(c['cpulimit']) === '1' },
      { option: 'memory', edit: { memory: 4096 }, expect: (c) => String(c['memory']) === '1024' },
      { option: 'swap', edit: { swap: 1024 }, expect: (c) => String(c['swap']) === '256' },
      { option: 'tags', edit: { tags: 'db' }, expect: (c) => c['tags'] === 'prod;web' },
      { option: 'onboot', edit: { onboot: 0 }, expect: (c) => String(c['onboot']) === '1' },
      { option: 'startup', edit: { startup: 'order=9' }, expect: (c) => String(c['startup']).includes('order=3') },
      { option: 'nameserver', edit: { nameserver: '9.9.9.9' }, expect: (c) => c['nameserver'] === '10.0.0.13' },
      { option: 'features', edit: { features: 'nesting=0' }, expect: (c) => /nesting=1/.test(String(c['features'])) },
      { option: 'net0', edit: { net0: 'name=eth0,bridge=vmbr0,ip=10.0.0.99/24,type=veth' }, expect: (c) => /ip=10\.0\.0\.7\/24/.test(String(c['net0'])) },
    ];
    let vmid = 0;

    before(async () => {
      await apply(env, 'PhoenixLXC', 'every-field', {
        source: { osTemplate: { volume: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst' } },
        hostname: 'every-field', cores: 2, cpuLimit: 1, memory: '1G', swap: '256M', tags: ['web', 'prod'], onBoot: true,
        startup: { order: 3 }, dns: { nameservers: ['10.0.0.13'] }, features: { nesting: true },
        networks: [{ name: 'eth0', bridge: 'vmbr0', ipv4: '10.0.0.7/24', gatewayV4: '10.0.0.1' }],
        observePeriod: '1s',
      });
      vmid = (await waitReady(env, 'phoenixlxcs', 'every-field')).status.vmid;
    });

    for (const row of rows) {
      it(`${row.option}`, async () => {
        await px.api.nodes.$('pve').lxc.$(vmid).config.$put(row.edit as never);
        await eventually(`${row.option} set back`, async () => row.expect(env.sim.admin.guest(vmid)!.config), 20_000);
      });
    }

    it('but a removed ownership marker is not "corrected": without proof the guest is not Phoenix\'s to touch', async () => {
      await px.api.nodes.$('pve').lxc.$(vmid).config.$put({ description: 'edited by hand', cores: 5 } as never);
      env.sim.admin.resetCounters();
      const stalled = await waitCondition(env, 'phoenixlxcs', 'every-field', stalledWith('NotOwned'), 'Stalled NotOwned');
      assert.match(JSON.stringify(stalled.status.conditions), /spec\.adopt\.vmid/);
      const writes = Object.keys(env.sim.admin.counters().byEndpoint).filter((k) => !k.startsWith('GET'));
      assert.deepEqual(writes, [], 'Phoenix wrote to a guest that no longer carries its marker');
      assert.equal(String(env.sim.admin.guest(vmid)!.config['cores']), '5');
    });
  });

  it('in steady state corrects nothing and writes nothing, cycle after cycle', async () => {
    const before = await waitReady(env, 'phoenixlxcs', 'drifty');
    env.sim.admin.resetCounters();
    // Three observe periods (2 s each) of an in-sync guest.
    await eventually('three observe cycles', async () => (env.sim.admin.counters().byEndpoint['GET /nodes/{node}/lxc/{vmid}/config'] ?? 0) >= 3, 20_000);
    const writes = Object.entries(env.sim.admin.counters().byEndpoint).filter(([k]) => !k.startsWith('GET')).length;
    assert.equal(writes, 0, 'Phoenix wrote to Proxmox in steady state');
    const after = await waitReady(env, 'phoenixlxcs', 'drifty');
    assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion, 'Phoenix wrote to the object in steady state');
    assert.equal((await driftEvents('drifty')).length, 1);
  });
});
