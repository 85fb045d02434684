// Each injectable fault is observable the way it shows on real Proxmox VE.
import assert from 'node:assert/strict';
import { startFixture, DEBIAN_TEMPLATE, type Fixture } from './support/sim-fixture.ts';
import { rawCall } from './support/api-client.ts';

async function untilSleeping(f: Fixture, n: number): Promise<void> {
  while (f.sim.clock.pendingSleeps() < n) await new Promise((resolve) => setImmediate(resolve));
}

describe('simulator fault injection', () => {
  let f: Fixture;
  afterEach(async () => f?.sim.close());

  it('latency holds the response until that much simulated time has passed', async () => {
    f = await startFixture();
    f.sim.admin.injectFault({ kind: 'latency', ms: 5000, path: '/version', count: 1 });
    let answered = false;
    const pending = f.call('GET', '/version').then((r) => ((answered = true), r));
    await untilSleeping(f, 1);
    f.sim.admin.advance(4999);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(answered, false);
    f.sim.admin.advance(1);
    assert.equal((await pending).status, 200);
    assert.equal((await f.call('GET', '/version')).status, 200, 'count: 1 means one delayed request');
  });

  it('an error rate per endpoint group fails requests with a 500 and the message as reason', async () => {
    f = await startFixture();
    f.sim.admin.injectFault({ kind: 'error', group: 'qemu', rate: 1, count: 2, message: "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout" });
    const failed = await f.call('GET', '/nodes/pve/qemu');
    assert.equal(failed.status, 500);
    assert.equal(failed.reason, "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout");
    assert.equal((await f.call('GET', '/nodes/pve/lxc')).status, 200, 'other groups are unaffected');
    assert.equal((await f.call('GET', '/nodes/pve/qemu')).status, 500);
    assert.equal((await f.call('GET', '/nodes/pve/qemu')).status, 200, 'the fault is used up');
  });

  it('a partial error rate is reproducible under the same seed', async () => {
    const outcomes: string[] = [];
    for (let run = 0; run < 2; run++) {
      f = await startFixture({ seed: 42 });
      f.sim.admin.injectFault({ kind: 'error', group: 'cluster', rate: 0.5 });
      let seq = '';
      for (let i = 0; i < 24; i++) seq += (await f.call('GET', '/cluster/resources')).status === 200 ? '.' : 'x';
      outcomes.push(seq);
      await f.sim.close();
    }
    assert.equal(outcomes[0], outcomes[1]);
    assert.match(outcomes[0]!, /x/);
    assert.match(outcomes[0]!, /\./);
  });

  it('a drop with a rate hits that fraction of requests, reproducibly', async () => {
    const outcomes: string[] = [];
    for (let run = 0; run < 2; run++) {
      f = await startFixture({ seed: 7 });
      f.sim.admin.injectFault({ kind: 'drop', when: 'before', path: '/version', rate: 0.3 });
      let seq = '';
      for (let i = 0; i < 30; i++) seq += await f.call('GET', '/version').then((r) => (r.status === 200 ? '.' : '?'), () => 'x');
      outcomes.push(seq);
      await f.sim.close();
    }
    assert.equal(outcomes[0], outcomes[1]);
    assert.match(outcomes[0]!, /x/, 'some requests were dropped');
    assert.match(outcomes[0]!, /\./, 'some were not');
    assert.ok(!outcomes[0]!.includes('?'));
  });

  it('a storage lock timeout fails a clone task with Proxmox wording and removes the half-made target', async () => {
    f = await startFixture();
    f.sim.admin.addGuest({ type: 'qemu', vmid: 9000, config: { name: 't', template: 1, scsi0: 'local-lvm:base-9000-disk-0,size=8G', memory: '1024' } });
    f.sim.admin.injectFault({ kind: 'storage-lock-timeout', storage: 'local-lvm', count: 1 });
    const upid = (await f.call('POST', '/nodes/pve/qemu/9000/clone', { newid: 101 })).body?.data;
    const status = await f.finish(upid);
    assert.equal(status['exitstatus'], "clone failed: can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' - got timeout");
    assert.equal((await f.taskLog(upid)).at(-1), "TASK ERROR: clone failed: can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' - got timeout");
    const gone = await f.call('GET', '/nodes/pve/qemu/101/config');
    assert.equal(gone.status, 500);
    assert.equal(gone.reason, "Configuration file 'nodes/pve/qemu-server/101.conf' does not exist");
  });

  it('failing tasks end with the error text, or with WARNINGS: n', async () => {
    f = await startFixture();
    f.sim.admin.addGuest({ type: 'qemu', vmid: 100, config: { name: 'a', memory: '1024' } });
    f.sim.admin.injectFault({ kind: 'task-failure', taskType: 'qmstart', message: 'start failed: injected', count: 1 });
    const failed = await f.finish((await f.call('POST', '/nodes/pve/qemu/100/status/start')).body?.data);
    assert.equal(failed['exitstatus'], 'start failed: injected');
    f.sim.admin.injectFault({ kind: 'task-failure', taskType: 'qmstart', warnings: 2, count: 1 });
    const upid = (await f.call('POST', '/nodes/pve/qemu/100/status/start')).body?.data;
    assert.equal((await f.finish(upid))['exitstatus'], 'WARNINGS: 2');
    assert.equal((await f.taskLog(upid)).at(-1), 'TASK WARNINGS: 2');
    assert.equal(((await f.call('GET', '/nodes/pve/qemu/100/status/current')).body?.data as { status: string }).status, 'running', 'warnings still mean success');
  });

  it('an injected task failure undoes what the call did, as a failing Proxmox worker does', async () => {
    f = await startFixture();
    f.sim.admin.injectFault({ kind: 'task-failure', taskType: 'vzcreate', message: 'create failed: injected', count: 1 });
    const created = await f.finish((await f.call('POST', '/nodes/pve/lxc', { vmid: 100, ostemplate: DEBIAN_TEMPLATE })).body?.data);
    assert.equal(created['exitstatus'], 'create failed: injected');
    assert.equal((await f.call('GET', '/nodes/pve/lxc/100/config')).status, 500, 'the placeholder config (lock: create) was left behind');
    f.sim.admin.addGuest({ type: 'lxc', vmid: 200, config: { hostname: 's', rootfs: 'local-lvm:vm-200-disk-0,size=4G' } });
    f.sim.admin.injectFault({ kind: 'task-failure', taskType: 'vzsnapshot', count: 1 });
    await f.finish((await f.call('POST', '/nodes/pve/lxc/200/snapshot', { snapname: 'before' })).body?.data);
    assert.equal((((await f.call('GET', '/nodes/pve/lxc/200/config')).body?.data ?? {}) as { lock?: string }).lock, undefined, 'the snapshot lock was left behind');
  });

  it('a connection dropped before the server acted leaves no trace; dropped after, the action happened', async () => {
    f = await startFixture();
    f.sim.admin.injectFault({ kind: 'drop', when: 'before', method: 'POST', path: '/nodes/{node}/lxc', count: 1 });
    await assert.rejects(f.call('POST', '/nodes/pve/lxc', { vmid: 100, ostemplate: DEBIAN_TEMPLATE }));
    assert.equal((await f.call('GET', '/nodes/pve/lxc/100/config')).status, 500);
    f.sim.admin.injectFault({ kind: 'drop', when: 'after', method: 'POST', path: '/nodes/{node}/lxc', count: 1 });
    await assert.rejects(f.call('POST', '/nodes/pve/lxc', { vmid: 100, ostemplate: DEBIAN_TEMPLATE }));
    const config = await f.call('GET', '/nodes/pve/lxc/100/config');
    assert.equal(config.status, 200);
    assert.equal((config.body?.data as { lock: string }).lock, 'create');
    const retry = await f.call('POST', '/nodes/pve/lxc', { vmid: 100, ostemplate: DEBIAN_TEMPLATE });
    assert.equal(retry.reason, "CT 100 already exists on node 'pve'", 'a client retry sees what Proxmox would say');
  });

  /** A create POST as a client with a wall-clock timeout sends it. */
  const createWithTimeout = (vmid: number, timeoutMs: number) =>
    fetch(`${f.sim.url}/api2/json/nodes/pve/lxc`, {
      method: 'POST',
      headers: { Authorization: f.sim.token.header, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ vmid: String(vmid), ostemplate: DEBIAN_TEMPLATE }).toString(),
      signal: AbortSignal.timeout(timeoutMs),
    });
  const exists = async (vmid: number) => (await f.call('GET', `/nodes/pve/lxc/${vmid}/config`)).status === 200;

  it('an error after apply: the create happened, the client sees 596 from the proxy or a 500 from the handler', async () => {
    f = await startFixture();
    f.sim.admin.injectFault({ kind: 'error', when: 'after', rate: 1, status: 596, method: 'POST', path: '/nodes/{node}/lxc', count: 1 });
    const timedOut = await f.call('POST', '/nodes/pve/lxc', { vmid: 100, ostemplate: DEBIAN_TEMPLATE });
    assert.deepEqual([timedOut.status, timedOut.reason, timedOut.body], [596, 'Connection timed out', undefined]);
    assert.equal(await exists(100), true, 'the container was not created although the fault says Proxmox acted');
    assert.deepEqual(f.sim.admin.tasks().map((t) => [t.type, t.id]), [['vzcreate', '100']]);

    f.sim.admin.injectFault({ kind: 'error', when: 'after', rate: 1, status: 500, message: 'got timeout', method: 'POST', path: '/nodes/{node}/lxc', count: 1 });
    const failed = await f.call('POST', '/nodes/pve/lxc', { vmid: 101, ostemplate: DEBIAN_TEMPLATE });
    assert.deepEqual([failed.status, failed.reason, failed.body?.message], [500, 'got timeout', 'got timeout\n']);
    assert.equal(await exists(101), true);
    const retry = await f.call('POST', '/nodes/pve/lxc', { vmid: 101, ostemplate: DEBIAN_TEMPLATE });
    assert.equal(retry.reason, "CT 101 already exists on node 'pve'", 'a blind retry meets the guest the lost answer made');
  });

  it('an error before apply (the default) changes nothing', async () => {
    f = await startFixture();
    f.sim.admin.injectFault({ kind: 'error', rate: 1, status: 502, method: 'POST', path: '/nodes/{node}/lxc', count: 1 });
    const res = await f.call('POST', '/nodes/pve/lxc', { vmid: 100, ostemplate: DEBIAN_TEMPLATE });
    assert.deepEqual([res.status, res.reason, res.body], [502, 'Bad Gateway', undefined]);
    assert.equal(await exists(100), false);
    assert.deepEqual(f.sim.admin.tasks(), []);
  });

  it('a late answer (realMs, wall clock) outlasts the client\'s timeout although Proxmox already acted', async () => {
    f = await startFixture();
    f.sim.admin.injectFault({ kind: 'latency', when: 'after', realMs: 400, method: 'POST', path: '/nodes/{node}/lxc', count: 1 });
    await assert.rejects(createWithTimeout(100, 100), { name: 'TimeoutError' });
    assert.equal(await exists(100), true, 'the client gave up, yet the container exists');
    await f.sim.admin.idle();
    // A patient client gets the answer late: the clock is manual, so only wall-clock time passed.
    f.sim.admin.injectFault({ kind: 'latency', when: 'after', realMs: 50, method: 'POST', path: '/nodes/{node}/lxc', count: 1 });
    const started = performance.now();
    const res = await createWithTimeout(101, 10_000);
    assert.equal(res.status, 200);
    assert.ok(performance.now() - started >= 45, 'the answer was not held');
  });

  it('a request held before it is applied (realMs) is applied after the client gave up', async () => {
    f = await startFixture();
    f.sim.admin.injectFault({ kind: 'latency', when: 'before', realMs: 300, method: 'POST', path: '/nodes/{node}/lxc', count: 1 });
    await assert.rejects(createWithTimeout(100, 50), { name: 'TimeoutError' });
    assert.equal(await exists(100), false, 'applied before the hold ended');
    await f.sim.admin.idle();
    assert.equal(await exists(100), true, 'a held request is applied when the hold ends, even with nobody waiting');
  });

  it('simulated delays (ms) follow the simulated clock: a late answer waits for advance, the action does not', async () => {
    f = await startFixture();
    f.sim.admin.injectFault({ kind: 'latency', when: 'after', ms: 30_000, method: 'POST', path: '/nodes/{node}/lxc', count: 1 });
    let answered = false;
    const pending = f.call('POST', '/nodes/pve/lxc', { vmid: 100, ostemplate: DEBIAN_TEMPLATE }).then((r) => ((answered = true), r));
    await untilSleeping(f, 1);
    assert.equal(f.sim.admin.guest(100)?.config['lock'], 'create', 'the create was not applied before the answer was held');
    f.sim.admin.advance(29_999);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(answered, false);
    f.sim.admin.advance(1);
    assert.equal((await pending).status, 200);
  });

  it('fault objects are checked, over the admin API and in process', async () => {
    f = await startFixture();
    const post = (body: unknown) => fetch(`${f.sim.adminUrl}/faults`, { method: 'POST', body: JSON.stringify(body) });
    const refused = await post({ kind: 'latency', when: 'after' });
    assert.equal(refused.status, 400);
    assert.match(((await refused.json()) as { error: string }).error, /exactly one of 'ms' \(simulated time\) or 'realMs' \(wall-clock time\)/);
    assert.equal((await post({ kind: 'eror', rate: 1 })).status, 400);
    assert.equal((await post({ kind: 'error', rate: 2 })).status, 400);
    assert.equal((await post({ kind: 'drop' })).status, 400, 'drop needs when');
    assert.throws(() => f.sim.admin.injectFault({ kind: 'error', rate: 1, when: 'later' } as never), /'when' must be 'before' or 'after'/);
    assert.equal((await post({ kind: 'error', rate: 1, when: 'after', status: 596 })).status, 200);
    assert.deepEqual(f.sim.admin.faults(), [{ kind: 'error', rate: 1, when: 'after', status: 596 }]);
  });

  it('an offline node answers 595 with no body and is listed offline', async () => {
    f = await startFixture();
    f.sim.admin.addNode({ name: 'pve2' });
    f.sim.admin.setNodeOnline('pve2', false);
    const res = await f.call('GET', '/nodes/pve2/qemu');
    assert.equal(res.status, 595);
    assert.equal(res.body, undefined);
    const nodes = (await f.call('GET', '/nodes')).body?.data as Array<{ node: string; status: string }>;
    assert.deepEqual(nodes.map((n) => [n.node, n.status]), [['pve', 'online'], ['pve2', 'offline']]);
  });

  for (const [version, reason] of [['9.1', 'Authentication failed!'], ['8.4', 'permission denied - invalid PVE ticket']] as const) {
    it(`tickets expire after 2 h (PVE ${version}: 401 "${reason}") and can be expired on demand`, async () => {
      f = await startFixture({ pveVersion: version });
      const login = await rawCall(f.sim.url, {}, 'POST', '/access/ticket', { username: 'root@pam', password: 'phoenix' });
      const { ticket, CSRFPreventionToken } = login.body?.data as { ticket: string; CSRFPreventionToken: string };
      assert.match(ticket, /^PVE:root@pam:[0-9A-F]{8}::/);
      const cookie = { Cookie: `PVEAuthCookie=${encodeURIComponent(ticket)}` };
      assert.equal((await rawCall(f.sim.url, cookie, 'GET', '/version')).status, 200);
      const noCsrf = await rawCall(f.sim.url, cookie, 'POST', '/pools', { poolid: 'p1' });
      assert.deepEqual([noCsrf.status, noCsrf.reason, noCsrf.body], [401, 'Permission denied - invalid csrf token', undefined]);
      assert.equal((await rawCall(f.sim.url, { ...cookie, CSRFPreventionToken }, 'POST', '/pools', { poolid: 'p1' })).status, 200);
      f.sim.admin.advance(2 * 3600 * 1000);
      const expired = await rawCall(f.sim.url, cookie, 'GET', '/version');
      assert.deepEqual([expired.status, expired.reason, expired.contentType], [401, reason, null]);

      const fresh = (await rawCall(f.sim.url, {}, 'POST', '/access/ticket', { username: 'root@pam', password: 'phoenix' })).body?.data as { ticket: string };
      f.sim.admin.expireTickets();
      assert.equal((await rawCall(f.sim.url, { Cookie: `PVEAuthCookie=${encodeURIComponent(fresh.ticket)}` }, 'GET', '/version')).status, 401);
    });
  }

  it('a token without the privilege gets Proxmox\'s 403 wording; API tokens cannot get tickets', async () => {
    f = await startFixture();
    f.sim.admin.addUser('ops@pve', { acl: [{ path: '/', roles: ['PVEVMAdmin'], propagate: true }] });
    const auditor = f.sim.admin.createToken({ userid: 'ops@pve', tokenid: 'ro', acl: [{ path: '/vms', roles: ['PVEAuditor'], propagate: true }] });
    const auth = { Authorization: auditor.header };
    assert.equal((await rawCall(f.sim.url, auth, 'GET', '/cluster/resources')).status, 200);
    const denied = await rawCall(f.sim.url, auth, 'POST', '/nodes/pve/qemu', { vmid: 100 });
    assert.deepEqual([denied.status, denied.reason, denied.body?.message], [403, 'Permission check failed (/vms/100, VM.Allocate)', 'Permission check failed (/vms/100, VM.Allocate)\n']);
    const ticket = await rawCall(f.sim.url, auth, 'POST', '/access/ticket', { username: 'ops@pve', password: 'x' });
    assert.equal(ticket.status, 401, '/access/ticket is public: a token header does not authenticate it');
    const bad = await rawCall(f.sim.url, { Authorization: `${auditor.header.slice(0, -4)}0000` }, 'GET', '/version');
    assert.deepEqual([bad.status, bad.reason], [401, 'Authentication failed!']);
    assert.deepEqual([(await rawCall(f.sim.url, {}, 'GET', '/version')).reason], ['No ticket']);
  });

  it('the faults are also reachable over the HTTP admin API, with request counters', async () => {
    f = await startFixture();
    const post = (path: string, body: unknown) => fetch(`${f.sim.adminUrl}${path}`, { method: 'POST', body: JSON.stringify(body) });
    assert.equal((await post('/faults', { kind: 'error', group: 'lxc', rate: 1, count: 1, status: 500, message: 'boom' })).status, 200);
    assert.equal((await f.call('GET', '/nodes/pve/lxc')).reason, 'boom');
    await f.call('GET', '/nodes/pve/lxc');
    const counters = ((await (await fetch(`${f.sim.adminUrl}/counters`)).json()) as { data: { byEndpoint: Record<string, number>; byPath: Record<string, number> } }).data;
    assert.equal(counters.byEndpoint['GET /nodes/{node}/lxc'], 2);
    assert.equal(counters.byPath['GET /nodes/pve/lxc'], 2);
  });
});
