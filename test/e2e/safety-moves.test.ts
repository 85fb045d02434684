import { strict as assert } from 'node:assert';
import { startPhoenix, apply, waitReady, getObject, waitCondition, condition, stalledWith, G, type PhoenixEnv } from '../support/phoenix.ts';
import { eventually } from '../support/crds.ts';
import { createProxmoxClient, type ProxmoxClient } from '../../src/clients/proxmox/client.ts';

const template = 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst';

/**
 * Issue 10, item 7: guests moved outside Phoenix (by HA or a person) are followed, never
 * fought, and found by deletion wherever they live. Each test fails on the code before the
 * change: it migrated the guest back to spec.node, released the finalizer of a guest it looked
 * for only on its last node, and migrated an HA-managed guest.
 */
describe('safety: guests moved outside Phoenix (real API server + simulator, two nodes)', function () {
  this.timeout(180_000);
  let env: PhoenixEnv;
  let px: ProxmoxClient;

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({ name: 'e2e-moves', seed: (sim) => sim.admin.addNode({ name: 'pve2' }) });
    px = createProxmoxClient({ url: env.sim.url, token: `${env.sim.token.fullId}=${env.sim.token.secret}` });
  });

  after(async () => {
    px?.close();
    await env?.stop();
  });

  const migrations = (vmid: number) => Object.entries(env.sim.admin.counters().byPath).filter(([k]) => new RegExp(`^POST /nodes/[^/]+/lxc/${vmid}/migrate$`).test(k)).reduce((n, [, c]) => n + c, 0);

  /** A person (or HA) moves the guest: a migration through the API, as `pct migrate` does. */
  async function moveByHand(vmid: number, from: string, to: string): Promise<void> {
    await px.api.nodes.$(from).lxc.$(vmid).migrate.$post({ target: to, restart: true } as never);
    await eventually(`guest ${vmid} on ${to}`, async () => env.sim.admin.guest(vmid)?.node === to && env.sim.admin.guest(vmid)?.config['lock'] === undefined, 30_000);
  }

  // VMIDs are reused after a destroy: each test counts requests from its own start.
  beforeEach(() => env.sim.admin.resetCounters());

  async function poke(name: string): Promise<void> {
    await env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace: env.namespace, name, body: [{ op: 'add', path: '/metadata/annotations', value: { poke: String(Date.now()) } }] });
  }

  it('follows a guest moved to another node and never migrates it back', async () => {
    await apply(env, 'PhoenixLXC', 'wanderer', { source: { osTemplate: { volume: template } }, observePeriod: '500ms' });
    const ready = await waitReady(env, 'phoenixlxcs', 'wanderer');
    const vmid = ready.status.vmid as number;
    assert.equal(ready.status.node, 'pve');
    await moveByHand(vmid, 'pve', 'pve2');
    await poke('wanderer');
    const followed = await waitCondition(env, 'phoenixlxcs', 'wanderer', (o) => o.status?.node === 'pve2' && condition(o, 'Ready')?.status === 'True', 'followed to pve2');
    assert.equal(followed.spec.node, 'pve');
    // Several observations later it is still where it was moved, and only the person migrated it.
    const reads = () => env.sim.admin.counters().byPath[`GET /nodes/pve2/lxc/${vmid}/config`] ?? 0;
    const seen = reads();
    await eventually('three more observations', async () => reads() >= seen + 3, 30_000);
    assert.equal(env.sim.admin.guest(vmid)?.node, 'pve2', 'Phoenix moved the guest back');
    assert.equal(migrations(vmid), 1, 'Phoenix migrated a guest it should have followed');
  });

  it('deletes a guest that moved since Phoenix last saw it, instead of abandoning it', async () => {
    await apply(env, 'PhoenixLXC', 'runaway', { source: { osTemplate: { volume: template } } });
    const ready = await waitReady(env, 'phoenixlxcs', 'runaway');
    const vmid = ready.status.vmid as number;
    await moveByHand(vmid, 'pve', 'pve2');
    // Deleted before Phoenix had any reason to look at it again: status still says pve.
    assert.equal((await getObject(env, 'phoenixlxcs', 'runaway')).status.node, 'pve');
    await env.custom.deleteNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace: env.namespace, name: 'runaway' });
    await eventually('runaway gone', async () => getObject(env, 'phoenixlxcs', 'runaway').then(() => false, () => true), 60_000);
    assert.equal(env.sim.admin.guest(vmid), undefined, 'the moved guest was abandoned on pve2 with Phoenix\'s marker');
  });

  it('never migrates a guest Proxmox HA manages, and says why', async () => {
    await apply(env, 'PhoenixLXC', 'highly-available', { source: { osTemplate: { volume: template } } });
    const ready = await waitReady(env, 'phoenixlxcs', 'highly-available');
    const vmid = ready.status.vmid as number;
    env.sim.admin.setGuestHaState(vmid, 'started');
    await env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace: env.namespace, name: 'highly-available', body: [{ op: 'replace', path: '/spec/node', value: 'pve2' }] });
    const refused = await waitCondition(env, 'phoenixlxcs', 'highly-available', stalledWith('HAManaged'), 'Stalled HAManaged');
    assert.match(condition(refused, 'Stalled')?.message ?? '', /managed by Proxmox HA/);
    assert.equal(migrations(vmid), 0, 'Phoenix migrated an HA-managed guest');
    assert.equal(env.sim.admin.guest(vmid)?.node, 'pve');
    // Once HA no longer manages it, the spec's node is honoured.
    env.sim.admin.setGuestHaState(vmid, undefined);
    await poke('highly-available');
    await waitCondition(env, 'phoenixlxcs', 'highly-available', (o) => o.status?.node === 'pve2' && condition(o, 'Ready')?.status === 'True' && o.status.observedGeneration === o.metadata.generation, 'migrated to pve2');
    assert.equal(migrations(vmid), 1);
  });
});
