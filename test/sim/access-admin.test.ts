// /access/permissions answers from the same model that makes the simulator's 403s; groups and
// roles as pve-access-control keeps them; storage volume info and uploads as pve-storage answers.
import assert from 'node:assert/strict';
import { startFixture, type Fixture } from './support/sim-fixture.ts';
import { rawCall } from './support/api-client.ts';

const data = <T>(r: { body?: { data?: unknown } | undefined }): T => r.body?.data as T;

describe('simulator access administration', () => {
  let f: Fixture;
  afterEach(async () => f?.sim.close());

  it('reports a token the privileges that its requests are then granted or refused', async () => {
    f = await startFixture();
    f.sim.admin.addGuest({ type: 'qemu', vmid: 100, config: { name: 'a', memory: '512' } });
    f.sim.admin.addUser('ops@pve');
    const token = data<{ 'full-tokenid': string; value: string }>(await f.call('POST', '/access/users/ops@pve/token/tok', { privsep: 1 }));
    const auth = { Authorization: `PVEAPIToken=${token['full-tokenid']}=${token.value}` };
    await f.call('PUT', '/access/acl', { path: '/vms', roles: 'PVEVMUser', users: 'ops@pve' });
    await f.call('PUT', '/access/acl', { path: '/vms/100', roles: 'PVEVMUser', tokens: token['full-tokenid'], propagate: 0 });

    const all = data<Record<string, Record<string, number>>>(await rawCall(f.sim.url, auth, 'GET', '/access/permissions'));
    // The token holds the intersection of its own and its user's privileges, only on /vms/100.
    assert.deepEqual(Object.keys(all), ['/vms/100']);
    assert.equal(all['/vms/100']!['VM.PowerMgmt'], 0, 'granted by an entry that does not propagate');
    assert.equal(all['/vms/100']!['VM.Allocate'], undefined);
    const powerOk = await rawCall(f.sim.url, auth, 'POST', '/nodes/pve/qemu/100/status/start');
    assert.equal(powerOk.status, 200, 'VM.PowerMgmt is reported and granted');
    const refused = await rawCall(f.sim.url, auth, 'DELETE', '/nodes/pve/qemu/100');
    assert.deepEqual([refused.status, refused.reason], [403, 'Permission check failed (/vms/100, VM.Allocate)'], 'VM.Allocate is not reported and refused');

    const one = data<Record<string, Record<string, number>>>(await rawCall(f.sim.url, auth, 'GET', '/access/permissions', { path: '/storage' }));
    assert.deepEqual(one, {});
    // Another user's permissions need Sys.Audit on /access.
    const other = await rawCall(f.sim.url, auth, 'GET', '/access/permissions', { userid: 'root@pam' });
    assert.deepEqual([other.status, other.reason], [403, 'Permission check failed (/access, Sys.Audit)']);
    const root = data<Record<string, Record<string, number>>>(await f.call('GET', '/access/permissions', { userid: 'ops@pve', path: '/vms/100' }));
    assert.equal(root['/vms/100']!['VM.Console'], 1);
  });

  it('keeps groups and custom roles, which feed the same privilege model', async () => {
    f = await startFixture();
    assert.equal((await f.call('POST', '/access/groups', { groupid: 'ops', comment: 'operators' })).status, 200);
    const dup = await f.call('POST', '/access/groups', { groupid: 'ops' });
    assert.deepEqual([dup.status, dup.reason], [500, "create group failed: group 'ops' already exists"]);
    await f.call('POST', '/access/users', { userid: 'ann@pve', groups: 'ops' });
    assert.deepEqual(data(await f.call('GET', '/access/groups/ops')), { members: ['ann@pve'], comment: 'operators' });
    assert.deepEqual(data(await f.call('GET', '/access/groups')), [{ groupid: 'ops', comment: 'operators', users: 'ann@pve' }]);

    const reserved = await f.call('POST', '/access/roles', { roleid: 'PVEMine' });
    assert.deepEqual([reserved.status, reserved.body?.errors], [400, { roleid: "cannot use role ID starting with the (case-insensitive) 'PVE' namespace" }]);
    await f.call('POST', '/access/roles', { roleid: 'Watcher', privs: 'VM.Audit,Sys.Audit' });
    assert.deepEqual(data(await f.call('GET', '/access/roles/Watcher')), { 'Sys.Audit': 1, 'VM.Audit': 1 });
    assert.equal((await f.call('PUT', '/access/roles/PVEAdmin', { privs: 'VM.Audit' })).reason, "auto-generated role 'PVEAdmin' cannot be modified");
    await f.call('PUT', '/access/acl', { path: '/', roles: 'Watcher', groups: 'ops' });
    const perms = data<Record<string, Record<string, number>>>(await f.call('GET', '/access/permissions', { userid: 'ann@pve', path: '/nodes/pve' }));
    assert.deepEqual(perms, { '/nodes/pve': { 'Sys.Audit': 1, 'VM.Audit': 1 } });

    await f.call('DELETE', '/access/groups/ops');
    const gone = await f.call('GET', '/access/groups/ops');
    assert.deepEqual([gone.status, gone.reason], [500, "group 'ops' does not exist"]);
    assert.deepEqual(data(await f.call('GET', '/access/permissions', { userid: 'ann@pve', path: '/nodes/pve' })), {}, "the group's ACL went with it");
    // pve-access-control User.pm never checks that the user to delete exists.
    assert.equal((await f.call('DELETE', '/access/users/nobody@pve')).status, 200);
  });

  it('answers volume info, takes multipart uploads and logs downloads as pve-storage does', async () => {
    f = await startFixture();
    const info = data<Record<string, unknown>>(await f.call('GET', `/nodes/pve/storage/local/content/${encodeURIComponent('local:iso/debian-12.7.0-amd64-netinst.iso')}`));
    assert.deepEqual(info, { path: '/var/lib/vz/template/iso/debian-12.7.0-amd64-netinst.iso', size: 660_000_000, used: 660_000_000, format: 'iso' });
    const missing = await f.call('GET', `/nodes/pve/storage/local/content/${encodeURIComponent('local:iso/none.iso')}`);
    assert.deepEqual([missing.status, missing.reason], [500, "volume_size_info on 'local:iso/none.iso' failed - no format"]);

    const form = new FormData();
    form.append('content', 'iso');
    form.append('filename', new Blob([new Uint8Array(4096)]), 'tiny.iso');
    const res = await fetch(`${f.sim.url}/api2/json/nodes/pve/storage/local/upload`, { method: 'POST', headers: { Authorization: f.sim.token.header }, body: form });
    assert.equal(res.status, 200);
    const upid = ((await res.json()) as { data: string }).data;
    assert.match(upid, /:imgcopy::/);
    await f.finish(upid);
    const log = await f.taskLog(upid);
    assert.match(log[0]!, /^starting file import from: \/var\/tmp\/pveupload-[0-9a-f]+$/);
    assert.ok(log.includes('file size is: 4096'));
    assert.ok(log.includes('target file: /var/lib/vz/template/iso/tiny.iso'));
    assert.equal(data<Record<string, unknown>>(await f.call('GET', `/nodes/pve/storage/local/content/${encodeURIComponent('local:iso/tiny.iso')}`))['size'], 4096);

    const dl = data<string>(await f.call('POST', '/nodes/pve/storage/local/download-url', { url: 'https://example.invalid/a.iso', content: 'iso', filename: 'a.iso' }));
    await f.finish(dl);
    const dlog = await f.taskLog(dl);
    assert.equal(dlog[0], 'downloading https://example.invalid/a.iso to /var/lib/vz/template/iso/a.iso');
    // wget's own output between pve-common's lines: the request, then --progress=dot:giga lines.
    assert.ok(dlog.includes('HTTP request sent, awaiting response... 200 OK'));
    assert.ok(dlog.some((l) => /^ +0K (\.{8} ){3}\.{8} +\d+% /.test(l)), 'progress lines');
    assert.ok(dlog.some((l) => /^ *\d+K [. ]+ 100% /.test(l)), 'a last progress line at 100%');
    assert.ok(dlog.includes("download of 'https://example.invalid/a.iso' to '/var/lib/vz/template/iso/a.iso' finished"));
  });
});
