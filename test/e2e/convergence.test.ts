import { strict as assert } from 'node:assert';
import { startPhoenix, apply, waitReady, waitCondition, readyAtGeneration, G, type PhoenixEnv } from '../support/phoenix.ts';
import { eventually } from '../support/crds.ts';
import { createProxmoxClient, type ProxmoxClient } from '../../src/clients/proxmox/client.ts';

const template = 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst';

describe('convergence: migration and declarative snapshots (real API server + simulator)', function () {
  this.timeout(120_000);
  let env: PhoenixEnv;
  let px: ProxmoxClient;

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({ name: 'e2e-convergence', seed: (sim) => sim.admin.addNode({ name: 'pve2', cpus: 8, memoryGiB: 32 }) });
    px = createProxmoxClient({ url: env.sim.url, token: `${env.sim.token.fullId}=${env.sim.token.secret}` });
  });

  after(async () => {
    px?.close();
    await env?.stop();
  });

  async function patch(plural: string, name: string, ops: unknown[]): Promise<void> {
    await env.custom.patchNamespacedCustomObject({ ...G, plural, namespace: env.namespace, name, body: ops });
  }

  it('migrates a running container in restart mode when spec.node changes, keeping its VMID', async () => {
    await apply(env, 'PhoenixLXC', 'mover', { source: { osTemplate: { volume: template } }, cores: 1 });
    const before = await waitReady(env, 'phoenixlxcs', 'mover');
    await patch('phoenixlxcs', 'mover', [{ op: 'replace', path: '/spec/node', value: 'pve2' }]);
    const after = await waitCondition(env, 'phoenixlxcs', 'mover', (o) => readyAtGeneration(o) && o.status.node === 'pve2', 'Ready on pve2');
    assert.equal(after.status.vmid, before.status.vmid, 'the guest was re-created instead of moved');
    const guest = env.sim.admin.guest(after.status.vmid)!;
    assert.equal(guest.node, 'pve2');
    assert.equal(guest.status, 'running');
    assert.equal(env.sim.simulator.state.guests.filter((g) => g.vmid === after.status.vmid).length, 1);
  });

  it('migrates a running VM online', async () => {
    env.sim.admin.addGuest({ type: 'qemu', vmid: 9400, config: { name: 'tmpl', memory: 512, scsi0: 'local-lvm:base-9400-disk-0,size=4G', template: 1 } });
    await apply(env, 'PhoenixVM', 'vm-mover', { source: { clone: { vmid: 9400 } } });
    const before = await waitReady(env, 'phoenixvms', 'vm-mover');
    await patch('phoenixvms', 'vm-mover', [{ op: 'replace', path: '/spec/node', value: 'pve2' }]);
    const after = await waitCondition(env, 'phoenixvms', 'vm-mover', (o) => readyAtGeneration(o) && o.status.node === 'pve2', 'Ready on pve2');
    assert.equal(after.status.vmid, before.status.vmid);
    assert.equal(env.sim.admin.guest(after.status.vmid)!.node, 'pve2');
  });

  it('stalls with Proxmox\'s reason when a guest cannot be migrated, and never re-creates it elsewhere', async () => {
    // Only root@pam may bind-mount a host path (Phoenix's token is refused), so the container was
    // made by hand and Phoenix adopts it.
    const vmid = 4500;
    env.sim.admin.addGuest({ type: 'lxc', vmid, status: 'running', config: { hostname: 'anchored', unprivileged: 1, rootfs: 'local-lvm:vm-4500-disk-0,size=4G', mp0: '/tank/data,mp=/srv/data' } });
    await apply(env, 'PhoenixLXC', 'anchored', { adopt: { vmid }, mountPoints: [{ path: '/srv/data', hostPath: '/tank/data' }] });
    await waitReady(env, 'phoenixlxcs', 'anchored');
    await patch('phoenixlxcs', 'anchored', [{ op: 'replace', path: '/spec/node', value: 'pve2' }]);
    const stalled = await waitCondition(env, 'phoenixlxcs', 'anchored', (o) => o.status?.conditions?.some((c: { type: string; status: string; reason: string }) => c.type === 'Stalled' && c.status === 'True' && c.reason === 'MigrationRefused'), 'Stalled MigrationRefused');
    assert.match(JSON.stringify(stalled.status.conditions), /cannot migrate local bind mount point 'mp0'/);
    assert.equal(env.sim.admin.guest(vmid)!.node, 'pve');
    assert.equal(env.sim.admin.guest(vmid)!.status, 'running');
    assert.equal(env.sim.simulator.state.guests.filter((g) => g.config['hostname'] === 'anchored' || g.vmid === vmid).length, 1, 'the guest was re-created on the target');
    // Moving back to where it is lifts the stall.
    await patch('phoenixlxcs', 'anchored', [{ op: 'replace', path: '/spec/node', value: 'pve' }]);
    await waitCondition(env, 'phoenixlxcs', 'anchored', readyAtGeneration, 'Ready on pve again');
  });

  it('keeps declared snapshots and deletes a dropped one only if Phoenix took it', async () => {
    await apply(env, 'PhoenixLXC', 'snappy', { source: { osTemplate: { volume: template } }, snapshots: [{ name: 'first' }, { name: 'second' }] });
    const ready = await waitReady(env, 'phoenixlxcs', 'snappy');
    const vmid = ready.status.vmid;
    assert.deepEqual(ready.status.snapshots, ['first', 'second']);
    // Someone takes a snapshot by hand: Phoenix did not take it, so it is never Phoenix's to delete.
    const upid = await px.api.nodes.$('pve').lxc.$(vmid).snapshot.$post({ snapname: 'manual' } as never);
    await waitTask(upid);
    await patch('phoenixlxcs', 'snappy', [{ op: 'replace', path: '/spec/snapshots', value: [{ name: 'second' }] }]);
    const after = await waitCondition(env, 'phoenixlxcs', 'snappy', (o) => readyAtGeneration(o) && (o.status.snapshots ?? []).join() === 'second', 'first dropped');
    const names = env.sim.admin.guest(vmid)!.snapshots.map((s) => s.name).sort();
    assert.deepEqual(names, ['manual', 'second']);
    assert.deepEqual(after.status.snapshots, ['second']);

    // In steady state the list is not read; a declared snapshot deleted by hand changes the
    // config digest, so it is seen, and taken again, at the next observation.
    await patch('phoenixlxcs', 'snappy', [{ op: 'add', path: '/spec/observePeriod', value: '1s' }]);
    await waitCondition(env, 'phoenixlxcs', 'snappy', readyAtGeneration, 'observed every second');
    env.sim.admin.resetCounters();
    const reads = (what: string) => env.sim.admin.counters().byPath[`GET /nodes/pve/lxc/${vmid}/${what}`] ?? 0;
    await eventually('three observations', async () => reads('config') >= 3, 30_000);
    assert.equal(reads('snapshot'), 0, 'a steady guest read its snapshot list every cycle');
    await waitTask(await px.api.nodes.$('pve').lxc.$(vmid).snapshot.$('second').$delete() as string);
    await eventually('second taken again', async () => env.sim.admin.guest(vmid)!.snapshots.some((s) => s.name === 'second'), 30_000);
  });

  it('starts guests in Proxmox startup order, as the legacy boot_order did', async () => {
    // "late" is created first and would start first; it may only start once "early" runs.
    await apply(env, 'PhoenixLXC', 'late', { source: { osTemplate: { volume: template } }, startup: { order: 20 } });
    await apply(env, 'PhoenixLXC', 'early', { source: { osTemplate: { volume: template } }, startup: { order: 10, upDelay: 5 } });
    const late = await waitReady(env, 'phoenixlxcs', 'late');
    const early = await waitReady(env, 'phoenixlxcs', 'early');
    const starts = env.sim.admin.tasks().filter((t) => t.type === 'vzstart');
    const startOf = (vmid: number) => starts.find((t) => t.id === String(vmid))!;
    assert.ok(startOf(early.status.vmid).starttime <= startOf(late.status.vmid).starttime, 'the later guest started first');
    assert.equal(String(env.sim.admin.guest(early.status.vmid)!.config['startup']), 'order=10,up=5');
  });

  it('takes a snapshot before each restart that applies pending changes, keeping the newest few', async () => {
    env.sim.admin.addGuest({ type: 'qemu', vmid: 9401, config: { name: 'tmpl2', memory: 512, scsi0: 'local-lvm:base-9401-disk-0,size=4G', template: 1 } });
    await apply(env, 'PhoenixVM', 'careful', { source: { clone: { vmid: 9401 } }, cores: 1, restartPolicy: 'IfRequired', snapshotBeforeRestart: { keep: 1 }, observePeriod: '1s' });
    const ready = await waitReady(env, 'phoenixvms', 'careful');
    const reads = (what: string) => env.sim.admin.counters().byPath[`GET /nodes/pve/qemu/${ready.status.vmid}/${what}`] ?? 0;
    const automatic = () => env.sim.admin.guest(ready.status.vmid)!.snapshots.map((s) => s.name).filter((n) => n.startsWith('phoenix-restart-'));
    assert.deepEqual(automatic(), [], 'a snapshot was taken with nothing to restart for');
    for (const cores of [2, 3]) {
      await patch('phoenixvms', 'careful', [{ op: 'replace', path: '/spec/cores', value: cores }]);
      await waitCondition(env, 'phoenixvms', 'careful', (o) => readyAtGeneration(o) && String(env.sim.admin.guest(o.status.vmid)!.config['cores']) === String(cores) && automatic().length === 1, `cores ${cores} applied, one automatic snapshot kept`);
      // Proxmox's snapshot keeps the config as it was: the pending change is not in it.
      const snap = env.sim.admin.guest(ready.status.vmid)!.snapshots.find((s) => s.name === automatic()[0])!;
      assert.equal(String(snap.config['cores']), String(cores - 1));
      // After a restart that left nothing to prune, a steady guest does not read the list again.
      env.sim.admin.resetCounters();
      await eventually('three observations', async () => reads('config') >= 3, 30_000);
      assert.equal(reads('snapshot'), 0, 'a steady guest read its snapshot list every cycle after its last restart');
    }
  });

  async function waitTask(upid: string): Promise<void> {
    for (;;) {
      const t = await px.api.nodes.$('pve').tasks.$(upid).status.$get();
      if (t.status === 'stopped') return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
});
