// Issue 11: a guest Phoenix's own clone has just made is configured from the config that clone
// made (its source's, transformed as Proxmox's clone transforms it), not from a read of it; the
// one read before its start verifies it. What the prediction got wrong still converges, and
// anything short of Phoenix's own clone ending OK is read and checked as before.
import { strict as assert } from 'node:assert';
import { startPhoenix, apply, waitCondition, waitReady, G, type PhoenixEnv } from '../support/phoenix.ts';

describe('the config of a fresh clone, known from its source (real API server + simulator)', function () {
  this.timeout(120_000);
  let env: PhoenixEnv;
  const containerClone = { source: { clone: { vmid: 9100, full: true, storage: 'local-lvm' } }, memory: '256M', cores: 2 };
  const ownConfig = (type: 'lxc' | 'qemu', vmid: number, method: 'GET' | 'PUT' | 'POST'): number => env.sim.admin.counters().byPath[`${method} /nodes/pve/${type}/${vmid}/config`] ?? 0;
  /** Whether the guest's config was read before it was first written (counted since the last reset). */
  const readBeforeWritten = (type: 'lxc' | 'qemu', vmid: number): boolean => {
    const { firstAt } = env.sim.admin.counters();
    const read = firstAt[`GET /nodes/pve/${type}/${vmid}/config`];
    const written = firstAt[`${type === 'lxc' ? 'PUT' : 'POST'} /nodes/pve/${type}/${vmid}/config`];
    assert.ok(read !== undefined && written !== undefined, `guest ${vmid} was read and written`);
    return read < written;
  };
  const unusedVolumes = (vmid: number): string[] => Object.keys(env.sim.admin.guest(vmid)?.config ?? {}).filter((k) => /^unused\d+$/.test(k));

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({
      name: 'e2e-clone-prediction',
      sim: { speed: 20 },
      seed: (sim) => {
        sim.admin.addGuest({ type: 'lxc', vmid: 9100, config: { hostname: 'tmpl', memory: 512, cores: 2, rootfs: 'local-lvm:base-9100-disk-0,size=4G', template: 1 } });
        sim.admin.addGuest({ type: 'qemu', vmid: 9000, config: { name: 'tmpl', memory: 512, scsi0: 'local-lvm:base-9000-disk-0,size=8G', template: 1 } });
        // A stopped container with a change left pending (made while it ran): its clone copies the values in force.
        sim.admin.addGuest({ type: 'lxc', vmid: 9101, config: { hostname: 'pending-src', memory: 512, cores: 1, rootfs: 'local-lvm:vm-9101-disk-0,size=4G' } }).pending = { cores: '3' };
      },
    });
  });

  after(async () => env?.stop());

  it('reads a fresh container clone and a fresh VM clone once before they are Ready: after their one config write', async () => {
    env.sim.admin.resetCounters();
    await apply(env, 'PhoenixLXC', 'ct-once', containerClone);
    await apply(env, 'PhoenixVM', 'vm-once', { source: { clone: { vmid: 9000 } }, cores: 2, memory: '512M' });
    // Counted when each is seen Ready: an observe-cycle boundary passed while the other still
    // converges reads it once more, as it should.
    const ct = await waitReady(env, 'phoenixlxcs', 'ct-once');
    const ctReads = ownConfig('lxc', ct.status.vmid, 'GET');
    const vm = await waitReady(env, 'phoenixvms', 'vm-once');
    assert.equal(ctReads, 1, 'the container clone\'s config reads');
    assert.equal(ownConfig('lxc', ct.status.vmid, 'PUT'), 1);
    assert.equal(env.sim.admin.guest(ct.status.vmid)?.config['memory'], '256');
    assert.equal(ownConfig('qemu', vm.status.vmid, 'GET'), 1, 'the VM clone\'s config reads');
    assert.equal(ownConfig('qemu', vm.status.vmid, 'POST'), 1);
    assert.equal(env.sim.admin.guest(vm.status.vmid)?.config['cores'], '2');
    // The one read recorded what it verified.
    assert.equal(typeof ct.status.configDigest, 'string');
    assert.equal(ct.status.powerState, 'Running');
  });

  it('reads the clone after the answer to its write from the prediction was lost once Proxmox had applied it, and writes nothing again', async () => {
    env.sim.admin.resetCounters();
    env.sim.admin.injectFault({ kind: 'drop', when: 'after', method: 'PUT', path: '/nodes/{node}/lxc/{vmid}/config', count: 1 });
    await apply(env, 'PhoenixLXC', 'ct-lost-write', containerClone);
    const ct = await waitReady(env, 'phoenixlxcs', 'ct-lost-write');
    const vmid = ct.status.vmid as number;
    assert.equal(env.sim.admin.guest(vmid)?.config['memory'], '256');
    assert.equal(env.sim.admin.counters().byPath['POST /nodes/pve/lxc/9100/clone'], 1, 'one clone: the lost write did not send it again');
    // The lost write had applied the change: the read after it finds nothing left to write.
    assert.equal(ownConfig('lxc', vmid, 'PUT'), 1);
    assert.ok(ownConfig('lxc', vmid, 'GET') >= 1);
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
  it('predicts a clone of a source with pending changes from the values in force, which the clone copies', async () => {
    env.sim.admin.resetCounters();
    await apply(env, 'PhoenixLXC', 'ct-pending', { source: { clone: { vmid: 9101, full: true, storage: 'local-lvm' } }, memory: '256M', cores: 3 });
    const ct = await waitReady(env, 'phoenixlxcs', 'ct-pending');
    const config = env.sim.admin.guest(ct.status.vmid)!.config;
    assert.equal(config['cores'], '3');
    assert.equal(config['memory'], '256');
    // Read with its pending cores 3 applied, the source predicts a clone with cores 3, and the
    // clone's cores 1 are found and written only after the verifying read.
    assert.equal(ownConfig('lxc', ct.status.vmid, 'PUT'), 1, 'the clone\'s cores were written after a second look');
    assert.equal(ownConfig('lxc', ct.status.vmid, 'GET'), 1);
  });

  it('reads a clone first when its change adds a disk or a mount point: no volume is left behind as unusedN', async () => {
    env.sim.admin.resetCounters();
    await apply(env, 'PhoenixLXC', 'ct-mount', { ...containerClone, mountPoints: [{ path: '/data', storage: 'local-lvm', size: '1G' }] });
    await apply(env, 'PhoenixVM', 'vm-disk', { source: { clone: { vmid: 9000 } }, cores: 2, memory: '512M', disks: [{ slot: 'scsi0', size: '8G' }, { slot: 'scsi1', storage: 'local-lvm', size: '2G' }] });
    const mount = await waitReady(env, 'phoenixlxcs', 'ct-mount');
    const disk = await waitReady(env, 'phoenixvms', 'vm-disk');
    assert.equal(readBeforeWritten('lxc', mount.status.vmid), true, 'the mount point was written from the prediction');
    assert.match(String(env.sim.admin.guest(mount.status.vmid)?.config['mp0']), /^local-lvm:vm-\d+-disk-\d+,mp=\/data,.*size=1G/);
    assert.deepEqual(unusedVolumes(mount.status.vmid), []);
    assert.equal(readBeforeWritten('qemu', disk.status.vmid), true, 'the disk was written from the prediction');
    assert.match(String(env.sim.admin.guest(disk.status.vmid)?.config['scsi1']), /^local-lvm:vm-\d+-disk-\d+.*size=2G/);
    assert.deepEqual(unusedVolumes(disk.status.vmid), []);
  });

  it('reads first a clone whose description changed while it ran: the owner marker is never written without a digest', async () => {
    // The clone runs long enough for the spec to change meanwhile.
    env.sim.admin.injectFault({ kind: 'slow-task', taskType: 'vzclone', ms: 100_000, count: 1 });
    env.sim.admin.resetCounters();
    await apply(env, 'PhoenixLXC', 'ct-described', { ...containerClone, description: 'first words' });
    await waitCondition(env, 'phoenixlxcs', 'ct-described', (o) => o.status?.task?.operation === 'clone', 'the clone sent');
    await env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace: env.namespace, name: 'ct-described', body: [{ op: 'replace', path: '/spec/description', value: 'second words' }] });
    assert.ok(env.sim.admin.tasks().some((t) => t.type === 'vzclone' && t.status === 'running'), 'the clone ended before the spec changed');
    const ct = await waitReady(env, 'phoenixlxcs', 'ct-described');
    assert.equal(readBeforeWritten('lxc', ct.status.vmid), true, 'the description was written from the prediction');
    assert.match(String(env.sim.admin.guest(ct.status.vmid)?.config['description']), /second words/);
  });

  // Last: the refused task lists leave the node's tasks to the guests' own reads for a while.
  it('reads first a clone whose end its own read of the task found: how long ago it ended is not known', async () => {
    env.sim.admin.injectFault({ kind: 'error', rate: 1, method: 'GET', path: '/nodes/{node}/tasks', message: 'injected: the task list is refused' });
    try {
      env.sim.admin.resetCounters();
      await apply(env, 'PhoenixLXC', 'ct-unlisted', containerClone);
      const ct = await waitReady(env, 'phoenixlxcs', 'ct-unlisted');
      assert.ok((env.sim.admin.counters().byEndpoint['GET /nodes/{node}/tasks/{upid}/status'] ?? 0) > 0, 'the guest read its task itself');
      assert.equal(readBeforeWritten('lxc', ct.status.vmid), true, 'written from the prediction with no known end');
      assert.equal(env.sim.admin.guest(ct.status.vmid)?.config['memory'], '256');
    } finally {
      env.sim.admin.clearFaults('error');
    }
  });
});
