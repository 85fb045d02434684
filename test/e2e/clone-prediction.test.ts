// Issue 11: a guest Phoenix's own clone has just made is configured from the config that clone
// made (its source's, transformed as Proxmox's clone transforms it), not from a read of it; the
// one read before its start verifies it. What the prediction got wrong still converges, and
// anything short of Phoenix's own clone ending OK is read and checked as before.
import { strict as assert } from 'node:assert';
import { startPhoenix, apply, waitCondition, waitReady, type PhoenixEnv } from '../support/phoenix.ts';

describe('the config of a fresh clone, known from its source (real API server + simulator)', function () {
  this.timeout(120_000);
  let env: PhoenixEnv;
  const containerClone = { source: { clone: { vmid: 9100, full: true, storage: 'local-lvm' } }, memory: '256M', cores: 2 };
  const ownConfig = (type: 'lxc' | 'qemu', vmid: number, method: 'GET' | 'PUT' | 'POST'): number => env.sim.admin.counters().byPath[`${method} /nodes/pve/${type}/${vmid}/config`] ?? 0;

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({
      name: 'e2e-clone-prediction',
      sim: { speed: 20 },
      seed: (sim) => {
        sim.admin.addGuest({ type: 'lxc', vmid: 9100, config: { hostname: 'tmpl', memory: 512, cores: 2, rootfs: 'local-lvm:base-9100-disk-0,size=4G', template: 1 } });
        sim.admin.addGuest({ type: 'qemu', vmid: 9000, config: { name: 'tmpl', memory: 512, scsi0: 'local-lvm:base-9000-disk-0,size=8G', template: 1 } });
      },
    });
  });

  after(async () => env?.stop());

  it('reads a fresh container clone and a fresh VM clone once before they are Ready: after their one config write', async () => {
    env.sim.admin.resetCounters();
    await apply(env, 'PhoenixLXC', 'ct-once', containerClone);
    await apply(env, 'PhoenixVM', 'vm-once', { source: { clone: { vmid: 9000 } }, cores: 2, memory: '512M' });
    const ct = await waitReady(env, 'phoenixlxcs', 'ct-once');
    const vm = await waitReady(env, 'phoenixvms', 'vm-once');
    assert.equal(ownConfig('lxc', ct.status.vmid, 'GET'), 1, 'the container clone\'s config reads');
    assert.equal(ownConfig('lxc', ct.status.vmid, 'PUT'), 1);
    assert.equal(env.sim.admin.guest(ct.status.vmid)?.config['memory'], '256');
    assert.equal(ownConfig('qemu', vm.status.vmid, 'GET'), 1, 'the VM clone\'s config reads');
    assert.equal(ownConfig('qemu', vm.status.vmid, 'POST'), 1);
    assert.equal(env.sim.admin.guest(vm.status.vmid)?.config['cores'], '2');
    // The one read recorded what it verified.
    assert.equal(typeof ct.status.configDigest, 'string');
    assert.equal(ct.status.powerState, 'Running');
  });

  it('converges a clone whose source changed after Phoenix read it: its first read shows what the prediction missed', async () => {
    // The first clone reads the template; the clones that follow within a minute share that read.
    await apply(env, 'PhoenixLXC', 'ct-first', containerClone);
    await waitReady(env, 'phoenixlxcs', 'ct-first');
    // Meanwhile a person sets the template's cores to 1: the next clone copies 1, not the 2 read before.
    env.sim.admin.guest(9100)!.config['cores'] = '1';
    env.sim.admin.resetCounters();
    await apply(env, 'PhoenixLXC', 'ct-stale', containerClone);
    const ct = await waitReady(env, 'phoenixlxcs', 'ct-stale');
    const config = env.sim.admin.guest(ct.status.vmid)!.config;
    assert.equal(config['cores'], '2', 'the cores the prediction thought right were not set');
    assert.equal(config['memory'], '256');
    // Written from the prediction (memory), then, after the read showed cores 1, once more.
    assert.equal(ownConfig('lxc', ct.status.vmid, 'PUT'), 2);
    assert.equal(ownConfig('lxc', ct.status.vmid, 'GET'), 2);
    assert.equal(ct.status.retry, undefined);
  });

  it('reads a clone whose task ended with warnings before writing anything to it', async () => {
    env.sim.admin.injectFault({ kind: 'task-failure', taskType: 'vzclone', warnings: 1, count: 1 });
    try {
      env.sim.admin.resetCounters();
      await apply(env, 'PhoenixLXC', 'ct-warned', containerClone);
      const ct = await waitReady(env, 'phoenixlxcs', 'ct-warned');
      const clone = env.sim.admin.tasks().filter((t) => t.type === 'vzclone').sort((x, y) => x.endsAt - y.endsAt).at(-1);
      assert.match(String(clone?.exitstatus), /^WARNINGS/);
      assert.equal(ownConfig('lxc', ct.status.vmid, 'GET'), 2, 'the clone that warned was written without a read');
    } finally {
      env.sim.admin.clearFaults('task-failure');
    }
  });

  it('reads a clone that ended while Phoenix was restarting: what it was made from is not known any more', async () => {
    // Slow enough that the clone is still running when Phoenix stops; it ends while Phoenix is down.
    env.sim.admin.setSpeed(0.05);
    try {
      await apply(env, 'PhoenixLXC', 'ct-restart', containerClone);
      await waitCondition(env, 'phoenixlxcs', 'ct-restart', (o) => o.status?.task?.operation === 'clone', 'the clone sent');
      await env.restart(() => env.sim.admin.advance(60_000));
    } finally {
      env.sim.admin.setSpeed(20);
    }
    env.sim.admin.resetCounters();
    const ct = await waitReady(env, 'phoenixlxcs', 'ct-restart');
    assert.equal(ownConfig('lxc', ct.status.vmid, 'GET'), 2, 'the clone was written without a read after the restart');
    assert.equal(ownConfig('lxc', ct.status.vmid, 'PUT'), 1);
    assert.equal(env.sim.admin.guest(ct.status.vmid)?.config['memory'], '256');
  });

  it('never writes to a guest someone else put at the VMID after its own clone failed', async () => {
    env.sim.admin.injectFault({ kind: 'task-failure', taskType: 'vzclone', count: 1, message: 'simulated: copy failed' });
    let foreign: number;
    try {
      await apply(env, 'PhoenixLXC', 'ct-failed', containerClone);
      const failed = await waitCondition(env, 'phoenixlxcs', 'ct-failed', (o) => o.status?.retry?.attempts >= 1, 'the failed clone');
      foreign = failed.status.vmid as number;
    } finally {
      env.sim.admin.clearFaults('task-failure');
    }
    // Within the 5 s backoff, another creator makes a guest at the VMID the failed clone left free.
    env.sim.admin.addGuest({ type: 'lxc', vmid: foreign, config: { hostname: 'someone-else', memory: 1024, rootfs: `local-lvm:vm-${foreign}-disk-0,size=2G` } });
    env.sim.admin.resetCounters();
    const ct = await waitReady(env, 'phoenixlxcs', 'ct-failed', 90_000);
    assert.notEqual(ct.status.vmid, foreign, 'the object took the other creator\'s guest');
    assert.equal(ownConfig('lxc', foreign, 'PUT'), 0, 'the other creator\'s guest was written to');
    const config = env.sim.admin.guest(foreign)!.config;
    assert.equal(config['hostname'], 'someone-else');
    assert.equal(config['memory'], '1024');
  });
});
