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

describe('simulator: container options only root@pam may set (pve-container check_ct_modify_config_perm)', () => {
  let f: Fixture;
  afterEach(async () => f?.sim.close());

  const template = 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst';
  const rootTicket = async (): Promise<Record<string, string>> => {
    const login = (await rawCall(f.sim.url, {}, 'POST', '/access/ticket', { username: 'root@pam', password: 'phoenix' })).body?.data as { ticket: string; CSRFPreventionToken: string };
    return { Cookie: `PVEAuthCookie=${encodeURIComponent(login.ticket)}`, CSRFPreventionToken: login.CSRFPreventionToken };
  };

  it('refuses a bind mount from a root token (privsep 0) on create and on config update, and creates nothing', async () => {
    f = await startFixture();
    const created = await f.call('POST', '/nodes/pve/lxc', { vmid: 100, ostemplate: template, mp0: '/srv/data,mp=/data' });
    assert.deepEqual([created.status, created.reason, created.body?.message], [403, 'Permission check failed (mount point type bind is only allowed for root@pam)', 'Permission check failed (mount point type bind is only allowed for root@pam)\n']);
    assert.equal((await f.call('GET', '/nodes/pve/lxc/100/config')).status, 500, 'a refused create leaves no config behind');

    f.sim.admin.addGuest({ type: 'lxc', vmid: 101, config: { hostname: 'a', rootfs: 'local-lvm:vm-101-disk-0,size=4G', unprivileged: 1 } });
    const updated = await f.call('PUT', '/nodes/pve/lxc/101/config', { mp0: 'volume=/srv/data,mp=/data' });
    assert.deepEqual([updated.status, updated.reason], [403, 'Permission check failed (mount point type bind is only allowed for root@pam)']);
    const device = await f.call('PUT', '/nodes/pve/lxc/101/config', { mp1: '/dev/sdb1,mp=/disk' });
    assert.equal(device.reason, 'Permission check failed (mount point type device is only allowed for root@pam)');
    assert.equal(((await f.call('GET', '/nodes/pve/lxc/101/config')).body?.data as Record<string, unknown>)['mp0'], undefined);

    const storageBacked = await f.call('PUT', '/nodes/pve/lxc/101/config', { mp0: 'local-lvm:2,mp=/data' });
    assert.equal(storageBacked.status, 200, 'a storage-backed mount point is fine for a token');
  });

  it('refuses device passthrough, a hookscript and feature flags other than nesting to a token', async () => {
    f = await startFixture();
    f.sim.admin.addGuest({ type: 'lxc', vmid: 101, config: { hostname: 'a', rootfs: 'local-lvm:vm-101-disk-0,size=4G', unprivileged: 1 } });
    const reasons = async (params: Record<string, string>) => (await f.call('PUT', '/nodes/pve/lxc/101/config', params)).reason;
    assert.equal(await reasons({ dev0: '/dev/nvidia0,mode=0666' }), 'Permission check failed (configuring device passthrough is only allowed for root@pam)');
    assert.equal(await reasons({ hookscript: 'local:snippets/hook.sh' }), 'Permission check failed (changing the hookscript is only allowed for root@pam)');
    assert.equal(await reasons({ features: 'nesting=1,keyctl=1' }), 'Permission check failed (changing feature flags (except nesting) is only allowed for root@pam)');
    assert.equal(await reasons({ features: 'nesting=1' }), 'OK', 'nesting alone needs VM.Allocate only');
    const privileged = await f.call('POST', '/nodes/pve/lxc', { vmid: 102, ostemplate: template, unprivileged: 0, features: 'nesting=1' });
    assert.equal(privileged.reason, 'Permission check failed (changing feature flags for privileged container is only allowed for root@pam)');
  });

  it('lets root@pam with a ticket bind-mount a host path', async () => {
    f = await startFixture();
    const asRoot = await rootTicket();
    const upid = (await rawCall(f.sim.url, asRoot, 'POST', '/nodes/pve/lxc', { vmid: 100, ostemplate: template, rootfs: 'local-lvm:4', mp0: '/srv/data,mp=/data' })).body?.data;
    assert.equal((await f.finish(upid))['exitstatus'], 'OK');
    assert.equal(((await f.call('GET', '/nodes/pve/lxc/100/config')).body?.data as Record<string, unknown>)['mp0'], '/srv/data,mp=/data');
  });

  it('checks the per-option privileges and bridge access of a privilege-separated token', async () => {
    f = await startFixture();
    f.sim.admin.addUser('ops@pve', { acl: [{ path: '/', roles: ['Administrator'], propagate: true }] });
    const vmUser = f.sim.admin.createToken({ userid: 'ops@pve', tokenid: 'vm', acl: [{ path: '/vms', roles: ['PVEVMAdmin'], propagate: true }, { path: '/storage', roles: ['PVEDatastoreUser'], propagate: true }] });
    const auth = { Authorization: vmUser.header };
    const params = { vmid: 100, ostemplate: template, rootfs: 'local-lvm:4', net0: 'name=eth0,bridge=vmbr0,ip=dhcp' };
    const noBridge = await rawCall(f.sim.url, auth, 'POST', '/nodes/pve/lxc', params);
    assert.deepEqual([noBridge.status, noBridge.reason], [403, 'Permission check failed (/sdn/zones/localnetwork/vmbr0, SDN.Use)']);
    f.sim.admin.createToken({ userid: 'ops@pve', tokenid: 'vm', secret: vmUser.secret, acl: [
      { path: '/vms', roles: ['PVEVMAdmin'], propagate: true }, { path: '/storage', roles: ['PVEDatastoreUser'], propagate: true }, { path: '/sdn/zones/localnetwork', roles: ['PVESDNUser'], propagate: true },
    ] });
    assert.equal((await rawCall(f.sim.url, auth, 'POST', '/nodes/pve/lxc', params)).status, 200);
  });
});
