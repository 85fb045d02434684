import { strict as assert } from 'node:assert';
import { startPhoenix, apply, getObject, waitReady, waitCondition, watchConditions, readyAtGeneration, G, type PhoenixEnv } from '../support/phoenix.ts';
import { eventually } from '../support/crds.ts';
import { createProxmoxClient, type ProxmoxClient } from '../../src/clients/proxmox/client.ts';

const template = 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst';

/**
 * Issue 10, item 12: `/cluster/resources` lags like pvestatd (the simulator's default), and
 * Phoenix never takes its stale status for a change. Before the change, a guest Phoenix had
 * just started read as stopped in the next cycle's snapshot: a false powerState drift, and a
 * second start that Proxmox refuses.
 */
describe('safety: a lagging /cluster/resources (real API server + simulator)', function () {
  this.timeout(180_000);
  let env: PhoenixEnv;
  let px: ProxmoxClient;

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({ name: 'e2e-lag' });
    px = createProxmoxClient({ url: env.sim.url, token: `${env.sim.token.fullId}=${env.sim.token.secret}` });
  });

  after(async () => {
    px?.close();
    await env?.stop();
  });

  it('runs against the 10 s lag of pvestatd unless a test says otherwise', async () => {
    await apply(env, 'PhoenixLXC', 'fresh', { source: { osTemplate: { volume: template } }, powerState: 'Stopped' });
    const made = await waitReady(env, 'phoenixlxcs', 'fresh');
    const vmid = made.status.vmid as number;
    // The simulator was started with no lag option: pvestatd's 10 s (50 ms at speed 200).
    assert.equal(env.sim.simulator.resourcesLagMs, 10_000);
    assert.ok((await px.api.cluster.resources.$get({ type: 'vm' } as never) as Array<{ vmid: number }>).some((r) => r.vmid === vmid));
  });

  it('confirms a change the snapshot shows before acting on it: one start, no false drift', async () => {
    await apply(env, 'PhoenixLXC', 'sleeper', { source: { osTemplate: { volume: template } }, powerState: 'Stopped', observePeriod: '500ms' });
    const stopped = await waitReady(env, 'phoenixlxcs', 'sleeper');
    const vmid = stopped.status.vmid as number;
    // pvestatd stalls after reporting the guest stopped: every later snapshot says stopped.
    env.sim.admin.setResourcesLag(24 * 3600_000);
    const broadcast = await px.api.cluster.resources.$get({ type: 'vm' } as never) as Array<{ vmid: number; status: string }>;
    assert.equal(broadcast.find((r) => r.vmid === vmid)?.status, 'stopped');
    env.sim.admin.resetCounters();

    await env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace: env.namespace, name: 'sleeper', body: [{ op: 'replace', path: '/spec/powerState', value: 'Running' }] });
    await waitCondition(env, 'phoenixlxcs', 'sleeper', (o) => readyAtGeneration(o) && o.status.powerState === 'Running', 'running at the new generation');
    const reads = () => env.sim.admin.counters().byPath[`GET /nodes/pve/lxc/${vmid}/config`] ?? 0;
    const seen = reads();
    await eventually('three steady observations', async () => reads() >= seen + 3, 30_000);

    const starts = env.sim.admin.counters().byPath[`POST /nodes/pve/lxc/${vmid}/status/start`] ?? 0;
    assert.equal(starts, 1, 'Phoenix started the guest again on a stale snapshot');
    const now = await waitReady(env, 'phoenixlxcs', 'sleeper');
    assert.equal(now.status.powerState, 'Running');
    assert.deepEqual((now.status.drift ?? []).filter((d: { field: string }) => d.field === 'powerState'), [], 'a false powerState drift was recorded');
    assert.equal(env.sim.admin.guest(vmid)?.status, 'running');
  });

  it('takes a pool membership its list of the cycle predates for what it is, not a failure', async () => {
    // Alone, so that the list this guest's next cycle uses is the one the test delays.
    for (const name of ['fresh', 'sleeper']) await env.custom.deleteNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace: env.namespace, name });
    for (const name of ['fresh', 'sleeper']) await eventually(`${name} gone`, async () => getObject(env, 'phoenixlxcs', name).then(() => false, () => true), 60_000);
    env.sim.admin.setResourcesLag(10_000);
    env.sim.admin.addPool('team');
    await apply(env, 'PhoenixLXC', 'member', { source: { osTemplate: { volume: template } }, pool: 'team', observePeriod: '1s' });
    const ready = await waitReady(env, 'phoenixlxcs', 'member');
    const key = `lxc/${ready.status.vmid as number}`;
    const team = () => env.sim.simulator.state.pools.find((p) => p.poolid === 'team')!;
    const seen: string[] = [];
    const log = await watchConditions(env, 'phoenixlxcs');
    try {
      // A person takes the guest out of its pool and puts it back, while the list Phoenix's
      // next cycle reads (taken in between) is still on its way.
      const lists = () => env.sim.admin.counters().byPath['GET /cluster/resources'] ?? 0;
      const puts = () => env.sim.admin.counters().byPath['PUT /pools'] ?? 0;
      const [listsBefore, putsBefore] = [lists(), puts()];
      team().members = team().members.filter((m) => m !== key);
      env.sim.admin.injectFault({ kind: 'latency', when: 'after', realMs: 1_500, method: 'GET', path: '/cluster/resources', count: 1 });
      await eventually('the next cycle reads the list', async () => lists() > listsBefore, 30_000);
      team().members.push(key);
      await eventually('Phoenix sets the pool it saw missing', async () => puts() > putsBefore, 30_000);
      const reads = () => env.sim.admin.counters().byPath[`GET /nodes/pve/lxc/${ready.status.vmid as number}/config`] ?? 0;
      const after = reads();
      await eventually('two more observations', async () => reads() >= after + 2, 30_000);
      seen.push(...log.seen.filter((c) => c.name === 'member' && c.type === 'Synced' && c.status === 'False').map((c) => `${c.reason}: ${c.message}`));
    } finally {
      log.stop();
    }
    assert.deepEqual(seen, [], 'a membership that already held was reported as a failure');
    assert.deepEqual(team().members.filter((m) => m === key), [key]);
    assert.ok(readyAtGeneration(await getObject(env, 'phoenixlxcs', 'member')));
  });
});
