// Snapshots as qemu-server and pve-container keep them (parent, current digest, snapshot
// config, rollback), pause/hibernate/resume, qemu-server's root-only options, consoles, and
// the real-time clock.
import assert from 'node:assert/strict';
import { startFixture, type Fixture } from './support/sim-fixture.ts';
import { rawCall } from './support/api-client.ts';
import { startProxmoxSimulator } from '../../src/sim/proxmox/index.ts';

const data = <T>(r: { body?: { data?: unknown } | undefined }): T => r.body?.data as T;

describe('simulator guest extras', () => {
  let f: Fixture;
  afterEach(async () => f?.sim.close());

  const vm = (fx: Fixture, vmid = 100, status: 'running' | 'stopped' = 'stopped') =>
    fx.sim.admin.addGuest({ type: 'qemu', vmid, status, config: { name: 'app', memory: '1024', scsi0: 'local-lvm:vm-100-disk-0,size=8G', net0: 'virtio,bridge=vmbr0' } });

  it('a snapshot becomes the config parent, current carries the config digest, and its config can be read and described', async () => {
    f = await startFixture();
    vm(f);
    await f.finish(data(await f.call('POST', '/nodes/pve/qemu/100/snapshot', { snapname: 's1', description: 'first' })));
    await f.call('PUT', '/nodes/pve/qemu/100/config', { cores: 2 });
    await f.finish(data(await f.call('POST', '/nodes/pve/qemu/100/snapshot', { snapname: 's2' })));
    const config = data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/qemu/100/config'));
    assert.equal(config['parent'], 's2');
    const list = data<Array<Record<string, unknown>>>(await f.call('GET', '/nodes/pve/qemu/100/snapshot'));
    const current = list.find((s) => s['name'] === 'current')!;
    assert.deepEqual([current['parent'], current['digest']], ['s2', config['digest']]);
    assert.equal(list.find((s) => s['name'] === 's2')!['parent'], 's1');

    const s1 = data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/qemu/100/snapshot/s1/config'));
    assert.equal(s1['description'], 'first');
    assert.equal(s1['cores'], undefined, 's1 was taken before cores was set');
    assert.equal(typeof s1['snaptime'], 'number');
    assert.deepEqual(data(await f.call('GET', '/nodes/pve/qemu/100/snapshot/s1')), [{ cmd: 'rollback' }, { cmd: 'config' }]);
    assert.equal((await f.call('PUT', '/nodes/pve/qemu/100/snapshot/s1/config', { description: 'renamed' })).status, 200);
    assert.equal(data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/qemu/100/snapshot/s1/config'))['description'], 'renamed');
    const missing = await f.call('GET', '/nodes/pve/qemu/100/snapshot/nope/config');
    assert.deepEqual([missing.status, missing.reason], [500, "snapshot 'nope' does not exist"]);

    // Rollback restores the snapshot's config and makes it the parent; deleting it re-parents its child.
    await f.finish(data(await f.call('POST', '/nodes/pve/qemu/100/snapshot/s1/rollback')));
    const back = data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/qemu/100/config'));
    assert.deepEqual([back['cores'], back['parent']], [undefined, 's1']);
    await f.finish(data(await f.call('DELETE', '/nodes/pve/qemu/100/snapshot/s1')));
    const after = data<Array<Record<string, unknown>>>(await f.call('GET', '/nodes/pve/qemu/100/snapshot'));
    assert.equal(after.find((s) => s['name'] === 's2')!['parent'], undefined);
    assert.equal(data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/qemu/100/config'))['parent'], undefined);
  });

  it('a container snapshot shows the same way', async () => {
    f = await startFixture();
    f.sim.admin.addGuest({ type: 'lxc', vmid: 101, config: { hostname: 'ct', memory: '512', rootfs: 'local-lvm:vm-101-disk-0,size=4G' } });
    await f.finish(data(await f.call('POST', '/nodes/pve/lxc/101/snapshot', { snapname: 'base' })));
    const config = data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/lxc/101/config'));
    const current = data<Array<Record<string, unknown>>>(await f.call('GET', '/nodes/pve/lxc/101/snapshot')).find((s) => s['name'] === 'current')!;
    assert.deepEqual([config['parent'], current['digest']], ['base', config['digest']]);
    assert.equal(data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/lxc/101/snapshot/base/config'))['hostname'], 'ct');
  });

  it('pauses and resumes a VM; hibernating stops it locked suspended with a state volume, and resume or start brings it back', async () => {
    f = await startFixture();
    vm(f, 100, 'running');
    await f.finish(data(await f.call('POST', '/nodes/pve/qemu/100/status/suspend')));
    let status = data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/qemu/100/status/current'));
    assert.deepEqual([status['status'], status['qmpstatus']], ['running', 'paused']);
    await f.finish(data(await f.call('POST', '/nodes/pve/qemu/100/status/resume')));
    assert.equal(data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/qemu/100/status/current'))['qmpstatus'], 'running');

    const upid = data<string>(await f.call('POST', '/nodes/pve/qemu/100/status/suspend', { todisk: 1 }));
    assert.match(upid, /:qmsuspend:100:/);
    await f.finish(upid);
    status = data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/qemu/100/status/current'));
    assert.deepEqual([status['status'], status['lock']], ['stopped', 'suspended']);
    const config = data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/qemu/100/config'));
    assert.match(String(config['vmstate']), /^local-lvm:vm-100-disk-\d+$/);
    await f.finish(data(await f.call('POST', '/nodes/pve/qemu/100/status/resume')));
    status = data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/qemu/100/status/current'));
    assert.deepEqual([status['status'], status['lock']], ['running', undefined]);
    assert.equal(data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/qemu/100/config'))['vmstate'], undefined);

    await f.finish(data(await f.call('POST', '/nodes/pve/qemu/100/status/stop')));
    const notRunning = await f.call('POST', '/nodes/pve/qemu/100/status/suspend');
    assert.deepEqual([notRunning.status, notRunning.reason], [500, 'VM 100 not running']);
  });

  it("refuses root-only VM options to anyone but root@pam itself, a root token included, as qemu-server's plain die", async () => {
    f = await startFixture();
    vm(f);
    // The fixture's caller is root@pam!phoenix, a token without privilege separation.
    let res = await f.call('PUT', '/nodes/pve/qemu/100/config', { args: '-cpu host' });
    assert.deepEqual([res.status, res.reason], [500, "only root can set 'args' config"]);
    res = await f.call('POST', '/nodes/pve/qemu', { vmid: 102, arch: 'aarch64' });
    assert.deepEqual([res.status, res.reason], [500, "only root can set 'arch' config"]);
    res = await f.call('PUT', '/nodes/pve/qemu/100/config', { delete: 'vmgenid' });
    assert.deepEqual([res.status, res.reason], [500, "only root can set 'vmgenid' config"]);
    // What the privilege categories cover stays open to the token.
    assert.equal((await f.call('PUT', '/nodes/pve/qemu/100/config', { cores: 2, name: 'app2', ciuser: 'debian' })).status, 200);

    const login = data<{ ticket: string; CSRFPreventionToken: string }>(await rawCall(f.sim.url, {}, 'POST', '/access/ticket', { username: 'root@pam', password: 'phoenix' }));
    const root = { Cookie: `PVEAuthCookie=${encodeURIComponent(login.ticket)}`, CSRFPreventionToken: login.CSRFPreventionToken };
    assert.equal((await rawCall(f.sim.url, root, 'PUT', '/nodes/pve/qemu/100/config', { args: '-cpu host' })).status, 200);
    assert.equal(data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/qemu/100/config'))['args'], '-cpu host');
  });

  it('hands out console tickets whose worker times out, as nobody connects', async () => {
    f = await startFixture();
    vm(f, 100, 'running');
    const proxy = data<Record<string, unknown>>(await f.call('POST', '/nodes/pve/qemu/100/vncproxy', { websocket: 1 }));
    assert.match(String(proxy['ticket']), /^PVEVNC:/);
    assert.match(String(proxy['upid']), /:vncproxy:100:/);
    assert.equal((await f.call('GET', '/nodes/pve/qemu/100/vncwebsocket', { port: Number(proxy['port']), vncticket: String(proxy['ticket']) })).status, 200);
    assert.equal((await f.call('GET', '/nodes/pve/qemu/100/vncwebsocket', { port: 5901, vncticket: 'PVEVNC:forged' })).reason, 'permission denied - invalid vnc ticket');
    const task = await f.finish(proxy['upid']);
    assert.equal(task['exitstatus'], 'connection timed out');
    const shell = data<Record<string, unknown>>(await f.call('POST', '/nodes/pve/termproxy'));
    assert.match(String(shell['upid']), /:vncshell::/);
  });
});

describe('simulator clock', () => {
  it('starts at the current time unless a test fixes the start', async () => {
    const before = Math.floor(Date.now() / 1000);
    const sim = await startProxmoxSimulator({ clock: 'manual' });
    try {
      const upid = data<string>(await rawCall(sim.url, { Authorization: sim.token.header }, 'POST', '/nodes/pve/qemu', { vmid: 100, memory: '512' }));
      const task = data<Record<string, number>>(await rawCall(sim.url, { Authorization: sim.token.header }, 'GET', `/nodes/pve/tasks/${encodeURIComponent(upid)}/status`));
      assert.ok(task['starttime']! >= before && task['starttime']! <= Math.floor(Date.now() / 1000), `task started at ${task['starttime']}, real time ${before}`);
    } finally {
      await sim.close();
    }
  });
});
