// Issue 11: the simulator follows Proxmox's locking rules for clones, shares a storage's bandwidth
// between tasks that copy data, and computes what a perfect client could have done.
import assert from 'node:assert/strict';
import { startFixture, DEBIAN_TEMPLATE, type Fixture } from './support/sim-fixture.ts';
import { idealSchedule } from '../../src/sim/proxmox/ideal.ts';

const data = <T>(r: { body?: { data?: unknown } | undefined }): T => r.body?.data as T;

describe('simulator locks, storage I/O and the ideal', () => {
  let f: Fixture;
  afterEach(async () => f?.sim.close());

  it('clones of a stopped VM run together; a second clone of a running VM fails in its task on the config lock', async () => {
    f = await startFixture();
    f.sim.admin.addGuest({ type: 'qemu', vmid: 500, config: { name: 'tmpl', memory: 512, scsi0: 'local-lvm:base-500-disk-0,size=4G', template: 1 } });
    const a = data<string>(await f.call('POST', '/nodes/pve/qemu/500/clone', { newid: 501 }));
    const b = data<string>(await f.call('POST', '/nodes/pve/qemu/500/clone', { newid: 502 }));
    assert.equal((await f.finish(a))['exitstatus'], 'OK');
    assert.equal((await f.finish(b))['exitstatus'], 'OK');

    f.sim.admin.addGuest({ type: 'qemu', vmid: 600, status: 'running', config: { name: 'live', memory: 512, scsi0: 'local-lvm:vm-600-disk-0,size=4G' } });
    const first = data<string>(await f.call('POST', '/nodes/pve/qemu/600/clone', { newid: 601, full: 1 }));
    const second = await f.call('POST', '/nodes/pve/qemu/600/clone', { newid: 602, full: 1 });
    assert.equal(second.status, 200, 'the API accepts it: the flock is taken inside the worker');
    assert.equal((await f.finish(second.body?.data))['exitstatus'], "can't lock file '/var/lock/qemu-server/lock-600.conf' - got timeout");
    assert.equal((await f.call('GET', '/nodes/pve/qemu/602/config')).status, 500, 'the failed clone left no config behind');
    assert.equal((await f.finish(first))['exitstatus'], 'OK');
  });

  it('creates on one storage unpack one after another, so sending them at once does not finish them sooner', async () => {
    f = await startFixture();
    const upids: string[] = [];
    for (const vmid of [200, 201, 202]) upids.push(data<string>(await f.call('POST', '/nodes/pve/lxc', { vmid, ostemplate: DEBIAN_TEMPLATE, storage: 'local-lvm' })));
    const tasks = f.sim.admin.tasks().filter((t) => upids.includes(t.upid));
    const ends = tasks.map((t) => t.endsAt - t.starttime * 1000);
    // Each waits for the unpacking of those before it: their ends are ordered and at least that far apart.
    assert.ok(ends[1]! >= tasks[0]!.work.ioMs + tasks[1]!.work.ioMs, `second create ends after both unpackings (${ends[1]} ms)`);
    assert.ok(ends[2]! >= tasks[0]!.work.ioMs + tasks[1]!.work.ioMs + tasks[2]!.work.ioMs, `third create ends after all three (${ends[2]} ms)`);
  });

  it('the ideal serialises clones of one container, overlaps clones of a VM template, and queues copies per storage', () => {
    const start = { fixedMs: 1_000, ioMs: 0 };
    const ct = (vmid: number) => ({ vmid, configure: true, start, create: { fixedMs: 5_000, ioMs: 2_000, ioStorage: 'local-lvm', source: { vmid: 9100, exclusive: true }, target: vmid } });
    const cts = idealSchedule([ct(101), ct(102), ct(103)]);
    assert.equal(cts.makespanMs, 3 * 7_000 + 1_000);
    assert.equal(cts.requests, 3 * 6);
    const vm = (vmid: number) => ({ vmid, configure: true, start, create: { fixedMs: 3_000, ioMs: 0, source: { vmid: 9000, exclusive: false }, target: vmid } });
    assert.equal(idealSchedule([vm(201), vm(202), vm(203)]).makespanMs, 3_000 + 1_000, 'linked clones of a template all at once');
    const full = (vmid: number) => ({ vmid, configure: true, start, create: { fixedMs: 3_000, ioMs: 2_000, ioStorage: 'local-lvm', source: { vmid: 9000, exclusive: false }, target: vmid } });
    assert.equal(idealSchedule([full(301), full(302)]).makespanMs, 2 * 2_000 + 3_000 + 1_000, 'the second copy waits for the first');
  });

  it('reports the ideal over the admin API from the tasks that created and started the guests', async () => {
    f = await startFixture();
    f.sim.admin.addGuest({ type: 'lxc', vmid: 300, config: { hostname: 'tmpl', template: 1, rootfs: 'local-lvm:base-300-disk-0,size=4G', memory: 512 } });
    const clone = data<string>(await f.call('POST', '/nodes/pve/lxc/300/clone', { newid: 301, full: 1, storage: 'local-lvm' }));
    await f.finish(clone);
    await f.finish(data<string>(await f.call('POST', '/nodes/pve/lxc/301/status/start', {})));
    const tasks = f.sim.admin.tasks();
    const cloneWork = tasks.find((t) => t.upid === clone)!.work;
    assert.deepEqual(cloneWork.source, { vmid: 300, exclusive: true });
    assert.equal(cloneWork.ioStorage, 'local-lvm');
    const startWork = tasks.find((t) => t.type === 'vzstart')!.work;
    const res = await fetch(`${f.sim.adminUrl}/ideal`, { method: 'POST', body: JSON.stringify({ vmids: [301] }) });
    const ideal = ((await res.json()) as { data: { makespanMs: number; requests: number } }).data;
    assert.equal(ideal.makespanMs, cloneWork.fixedMs + cloneWork.ioMs + startWork.fixedMs);
    assert.equal(ideal.requests, 6);
    const missing = await fetch(`${f.sim.adminUrl}/ideal`, { method: 'POST', body: JSON.stringify({ vmids: [999] }) });
    assert.equal(missing.status, 400);
  });
});
