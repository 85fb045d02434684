// Issue 11: Phoenix schedules creates by Proxmox's locking rules. Clones of one container are
// held back in Phoenix until the clone before them has ended, so Proxmox never refuses one and no
// object records a failure or a backoff for a lock.
import { strict as assert } from 'node:assert';
import { startPhoenix, apply, waitReady, type PhoenixEnv } from '../support/phoenix.ts';

describe('create scheduling by Proxmox locks (real API server + simulator)', function () {
  this.timeout(120_000);
  let env: PhoenixEnv;

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({
      name: 'e2e-schedule',
      sim: { speed: 20 },
      // Short, so that an answer held back by the simulator is given up on quickly.
      proxmoxTimeoutMs: 1_000,
      seed: (sim) => {
        sim.admin.addGuest({ type: 'lxc', vmid: 9100, config: { hostname: 'tmpl', memory: 512, rootfs: 'local-lvm:base-9100-disk-0,size=4G', template: 1 } });
        sim.admin.addGuest({ type: 'qemu', vmid: 9000, config: { name: 'tmpl', memory: 512, scsi0: 'local-lvm:base-9000-disk-0,size=8G', template: 1 } });
      },
    });
  });

  after(async () => env?.stop());

  it('sends clones of one container one at a time, each once, and none of them is refused', async () => {
    env.sim.admin.resetCounters();
    const began = Date.now();
    // The first cluster list is slow to answer: the other objects are seen meanwhile, and share the next.
    env.sim.admin.injectFault({ kind: 'latency', realMs: 3_000, method: 'GET', path: '/cluster/resources', count: 1 });
    const names = ['a', 'b', 'c', 'd'];
    await Promise.all(names.map((n) => apply(env, 'PhoenixLXC', `clone-${n}`, {
      source: { clone: { vmid: 9100, full: true, storage: 'local-lvm' } },
      memory: '256M',
    })));
    // Each guest's own reads are counted when it is seen Ready: an observe-cycle boundary passed
    // while the others still converge reads it once more, as it should.
    const readsWhenReady = new Map<string, number>();
    const ready = await Promise.all(names.map(async (n) => {
      const o = await waitReady(env, 'phoenixlxcs', `clone-${n}`);
      readsWhenReady.set(n, env.sim.admin.counters().byPath[`GET /nodes/pve/lxc/${o.status.vmid}/config`] ?? 0);
      return o;
    }));
    assert.equal(env.sim.admin.counters().byEndpoint['POST /nodes/{node}/lxc/{vmid}/clone'], names.length, 'a clone was sent while the source was locked');
    for (const o of ready) assert.equal(o.status.retry, undefined, `${o.metadata.name} recorded a failure`);
    const clones = env.sim.admin.tasks().filter((t) => t.type === 'vzclone').sort((x, y) => x.endsAt - y.endsAt);
    assert.equal(clones.length, names.length);
    assert.ok(clones.every((t) => t.exitstatus === 'OK'), 'every clone task succeeded');
    // Waiting for the source costs Proxmox nothing, and a guest whose VMID was just allocated
    // from a fresh cluster list is not looked for: its config is read once, after it is
    // configured from what its own clone made (the start changes nothing of it), and the VMIDs
    // are allocated from one answer of /cluster/nextid and one cluster list.
    const counters = env.sim.admin.counters();
    for (const o of ready) {
      const reads = readsWhenReady.get(o.metadata.name.slice('clone-'.length));
      assert.equal(reads, 1, `${o.metadata.name}'s config was read ${reads} times`);
      // Its own clone left it stopped and its own start running: Phoenix need not ask, and a
      // stopped guest takes the configuration at once, so nothing is pending after the start.
      assert.equal(counters.byPath[`GET /nodes/pve/lxc/${o.status.vmid}/status/current`] ?? 0, 0, `${o.metadata.name}'s power state was asked`);
      assert.equal(counters.byPath[`GET /nodes/pve/lxc/${o.status.vmid}/pending`] ?? 0, 0, `${o.metadata.name}'s pending list was read`);
      assert.equal(o.status.powerState, 'Running');
      assert.equal(o.status.pendingChanges, undefined);
    }
    assert.equal(counters.byEndpoint['GET /cluster/nextid'] ?? 0, 1);
    // Each observe-cycle boundary passed meanwhile (60 s periods) adds one shared list of its own,
    // and on a loaded machine an object may be seen only after the second list was asked for,
    // so it waits for a third. One list per object, as before the change, gives 5.
    const boundaries = Math.floor(Date.now() / 60_000) - Math.floor(began / 60_000);
    assert.ok((counters.byEndpoint['GET /cluster/resources'] ?? 0) <= 3 + boundaries, `${counters.byEndpoint['GET /cluster/resources']} cluster lists: the objects applied at once did not share them`);
    // The template: once for the marker look-up, once for what its clones inherit.
    assert.ok((counters.byPath['GET /nodes/pve/lxc/9100/config'] ?? 0) <= 2, `the template's config was read ${counters.byPath['GET /nodes/pve/lxc/9100/config']} times`);
  });

  it('knows the power state of a fresh VM clone across its own config change, and reads nothing after its own start', async () => {
    env.sim.admin.resetCounters();
    await apply(env, 'PhoenixVM', 'vm-clone', { source: { clone: { vmid: 9000, storage: 'local-lvm' } }, cores: 2, memory: '512M' });
    const ready = await waitReady(env, 'phoenixvms', 'vm-clone');
    const counters = env.sim.admin.counters();
    const vmid = ready.status.vmid as number;
    // A VM's config change is a task of its own: the clone left the VM stopped, the change leaves it so.
    assert.equal(counters.byPath[`POST /nodes/pve/qemu/${vmid}/config`], 1);
    assert.equal(counters.byPath[`GET /nodes/pve/qemu/${vmid}/status/current`] ?? 0, 0, 'its power state was asked');
    assert.equal(counters.byPath[`GET /nodes/pve/qemu/${vmid}/pending`] ?? 0, 0, 'its pending list was read');
    assert.equal(counters.byPath[`GET /nodes/pve/qemu/${vmid}/config`] ?? 0, 1, `its config was read ${counters.byPath[`GET /nodes/pve/qemu/${vmid}/config`]} times`);
    assert.equal(ready.status.powerState, 'Running');
  });

  it('asks the power state of a fresh clone whose start went unanswered, instead of starting it again and again', async () => {
    // The start is applied, its answer comes after the client gave up: the guest runs although
    // Phoenix's own last task (the clone) says it is stopped, and a second start is refused as
    // "already running".
    env.sim.admin.injectFault({ kind: 'latency', realMs: 2_500, when: 'after', method: 'POST', path: '/nodes/{node}/lxc/{vmid}/status/start', count: 1 });
    await apply(env, 'PhoenixLXC', 'clone-lost-start', { source: { clone: { vmid: 9100, full: true, storage: 'local-lvm' } }, memory: '256M' });
    const ready = await waitReady(env, 'phoenixlxcs', 'clone-lost-start', 30_000);
    assert.equal(ready.status.powerState, 'Running');
    const starts = env.sim.admin.counters().byPath[`POST /nodes/pve/lxc/${ready.status.vmid}/status/start`] ?? 0;
    assert.ok(starts <= 2, `the start was sent ${starts} times`);
  });
});
