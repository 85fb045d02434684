// Least-privilege setups built through the API: tokens, ACLs, privilege separation,
// and the storage privilege Proxmox checks when a guest allocates disks.
import assert from 'node:assert/strict';
import { startFixture, type Fixture } from './support/sim-fixture.ts';
import { rawCall } from './support/api-client.ts';

describe('simulator access control', () => {
  let f: Fixture;
  afterEach(async () => f?.sim.close());

  it('creates a privilege-separated token and grants it exactly what the ACL says', async () => {
    f = await startFixture();
    f.sim.admin.addUser('phoenix@pve');
    const created = await f.call('POST', '/access/users/phoenix@pve/token/operator', { privsep: 1 });
    const { 'full-tokenid': fullId, value } = created.body?.data as { 'full-tokenid': string; value: string };
    assert.equal(fullId, 'phoenix@pve!operator');
    assert.match(value, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal((await f.call('POST', '/access/users/phoenix@pve/token/operator')).reason, 'Token already exists.');
    const auth = { Authorization: `PVEAPIToken=${fullId}=${value}` };

    // privsep: the user needs the privilege, and so does the token.
    await f.call('PUT', '/access/acl', { path: '/vms', roles: 'PVEVMAdmin', users: 'phoenix@pve' });
    let res = await rawCall(f.sim.url, auth, 'POST', '/nodes/pve/qemu', { vmid: 100, memory: '512' });
    assert.equal(res.reason, 'Permission check failed (/vms/100, VM.Allocate)');
    await f.call('PUT', '/access/acl', { path: '/vms', roles: 'PVEVMAdmin', tokens: fullId });
    assert.equal((await rawCall(f.sim.url, auth, 'POST', '/nodes/pve/qemu', { vmid: 100, memory: '512' })).status, 200);

    res = await rawCall(f.sim.url, auth, 'POST', '/nodes/pve/qemu', { vmid: 101, scsi0: 'local-lvm:8' });
    assert.deepEqual([res.status, res.reason], [403, 'Permission check failed (/storage/local-lvm, Datastore.AllocateSpace)']);
    await f.call('PUT', '/access/acl', { path: '/storage', roles: 'PVEDatastoreUser', users: 'phoenix@pve', tokens: fullId });
    assert.equal((await rawCall(f.sim.url, auth, 'POST', '/nodes/pve/qemu', { vmid: 101, scsi0: 'local-lvm:8' })).status, 200);

    const privileged = await rawCall(f.sim.url, auth, 'POST', '/nodes/pve/lxc', { vmid: 102, ostemplate: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst', unprivileged: 0 });
    assert.deepEqual([privileged.status, privileged.reason], [403, 'Permission check failed (/, Sys.Modify)']);

    const acl = (await f.call('GET', '/access/acl')).body?.data as Array<Record<string, unknown>>;
    assert.ok(acl.some((e) => e['type'] === 'token' && e['ugid'] === fullId && e['roleid'] === 'PVEDatastoreUser' && e['path'] === '/storage'));
    await f.call('DELETE', '/access/users/phoenix@pve/token/operator');
    assert.equal((await rawCall(f.sim.url, auth, 'GET', '/version')).status, 401);
  });

  it('compresses large responses for clients that accept gzip', async () => {
    f = await startFixture();
    for (let i = 0; i < 20; i++) f.sim.admin.addGuest({ type: 'lxc', vmid: 200 + i, config: { hostname: `ct${i}`, memory: 512 } });
    const res = await fetch(`${f.sim.url}/api2/json/cluster/resources`, { headers: { Authorization: f.sim.token.header, 'Accept-Encoding': 'gzip' } });
    assert.equal(res.headers.get('content-encoding'), 'gzip');
    assert.equal(((await res.json()) as { data: unknown[] }).data.length >= 20, true);
  });
});

describe('simulator skiplock', () => {
  it('is for root@pam only, and a root token is not root@pam', async () => {
    const f = await startFixture();
    try {
      f.sim.admin.addGuest({ type: 'qemu', vmid: 100, config: { name: 'a', memory: '512', lock: 'backup' } });
      const viaToken = await f.call('PUT', '/nodes/pve/qemu/100/config', { description: 'x', skiplock: 1 });
      assert.deepEqual(viaToken.body?.errors, { skiplock: 'Only root may use this option.' });
      const login = (await rawCall(f.sim.url, {}, 'POST', '/access/ticket', { username: 'root@pam', password: 'phoenix' })).body?.data as { ticket: string; CSRFPreventionToken: string };
      const asRoot = { Cookie: `PVEAuthCookie=${encodeURIComponent(login.ticket)}`, CSRFPreventionToken: login.CSRFPreventionToken };
      assert.equal((await rawCall(f.sim.url, asRoot, 'PUT', '/nodes/pve/qemu/100/config', { description: 'x' })).reason, 'VM is locked (backup)');
      assert.equal((await rawCall(f.sim.url, asRoot, 'PUT', '/nodes/pve/qemu/100/config', { description: 'x', skiplock: 1 })).status, 200);
    } finally {
      await f.sim.close();
    }
  });
});
