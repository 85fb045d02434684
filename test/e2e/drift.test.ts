import { strict as assert } from 'node:assert';
import * as k8s from '@kubernetes/client-node';
import { startPhoenix, apply, waitReady, waitCondition, type PhoenixEnv } from '../support/phoenix.ts';
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
