import { strict as assert } from 'node:assert';
import { downloadProblems, downloadTargets, downloadVolume, planDownloads, type DownloadSpec } from '../../../src/hosts/downloads.ts';
import { expireSeconds, planUsers } from '../../../src/hosts/users.ts';
import { aclId, planAcls } from '../../../src/hosts/acls.ts';

describe('host plan: downloads', () => {
  const ubuntu: DownloadSpec = { node: 'pve', storage: 'local', appliance: 'ubuntu-24.04-standard_24.04-2_amd64.tar.zst' };
  const iso: DownloadSpec = { node: 'pve', storage: 'local', url: 'https://example.com/a.iso', filename: 'a.iso', content: 'iso', checksum: 'ABCD', checksumAlgorithm: 'sha256' };

  it('downloads a missing appliance and a missing URL as tasks, with the parameters Proxmox takes', () => {
    const steps = planDownloads([ubuntu, iso], { 'pve/local': { volids: [] } });
    assert.deepEqual(steps.map((s) => s.call), [
      { method: 'POST', path: '/nodes/{pve}/aplinfo', params: { storage: 'local', template: ubuntu.appliance } },
      { method: 'POST', path: '/nodes/{pve}/storage/{local}/download-url', params: { url: iso.url, filename: 'a.iso', content: 'iso', checksum: 'abcd', 'checksum-algorithm': 'sha256' } },
    ]);
    assert.ok(steps.every((s) => s.task && s.download && s.safe));
    assert.equal(steps[1]?.item, 'download local:iso/a.iso on node pve');
  });

  it('skips a volume already on the storage, and never plans a removal', () => {
    assert.deepEqual(planDownloads([ubuntu], { 'pve/local': { volids: [downloadVolume(ubuntu)] } }), []);
    assert.deepEqual(planDownloads([], { 'pve/local': { volids: ['local:iso/other.iso'] } }), []);
  });

  it('refuses, naming the download, when the storage cannot be listed on the node', () => {
    const [step] = planDownloads([ubuntu], { 'pve/local': { unavailable: "storage 'local' does not exist" } });
    assert.equal(step?.safe, false);
    assert.match(step?.refusal ?? '', /download local:vztmpl\/ubuntu.* storage local is not available on node pve/);
  });

  it('lists each storage once, and reports duplicates and unknown nodes by field', () => {
    assert.deepEqual(downloadTargets([ubuntu, iso]), [{ node: 'pve', storage: 'local' }]);
    const problems = downloadProblems([ubuntu, { ...ubuntu }, { ...iso, node: 'ghost' }], ['pve']);
    assert.deepEqual(problems.map((p) => p.field), ['spec.downloads[1]', 'spec.downloads[2].node']);
  });
});

describe('host plan: users', () => {
  const secret = { value: 'correct horse battery', resourceVersion: '7' };

  it('creates a user with its password, recording the Secret version and hiding the value', () => {
    const [step] = planUsers([{ userid: 'ops@pve', comment: 'operators', groups: ['b', 'a'], enabled: true }], [], [], { 'ops@pve': secret }, {});
    assert.deepEqual(step?.call?.params, { userid: 'ops@pve', comment: 'operators', groups: 'a,b', password: secret.value });
    assert.deepEqual(step?.secretParams, ['password']);
    assert.deepEqual(step?.password, { userid: 'ops@pve', resourceVersion: '7' });
    assert.deepEqual(step?.records, { kind: 'users', id: 'ops@pve' });
    assert.ok(!JSON.stringify({ ...step, call: undefined }).includes(secret.value), 'the password shows outside the call');
  });

  it('updates declared fields only, replacing the group list, and leaves the password alone while its Secret is unchanged', () => {
    const observed = [{ userid: 'ops@pve', enable: 1, expire: 0, comment: 'old', email: 'x@y', groups: 'a,c' }];
    const steps = planUsers([{ userid: 'ops@pve', comment: 'new', groups: ['a'] }], observed, ['ops@pve'], { 'ops@pve': secret }, { 'ops@pve': '7' });
    assert.equal(steps.length, 1);
    assert.deepEqual(steps[0]?.call, { method: 'PUT', path: '/access/users/{ops@pve}', params: { comment: 'new', groups: 'a' } });
    assert.deepEqual(steps[0]?.differences.map((d) => `${d.field}: ${d.observed} → ${d.desired}`), ['users[ops@pve].comment: old → new', 'users[ops@pve].groups: a,c → a']);
  });

  it('writes the password again when the Secret version changes, as no drift', () => {
    const steps = planUsers([{ userid: 'ops@pve' }], [{ userid: 'ops@pve', enable: 1 }], [], { 'ops@pve': secret }, { 'ops@pve': '6' });
    assert.deepEqual(steps.map((s) => [s.call?.method, s.call?.path, s.differences.length]), [['PUT', '/access/password', 0]]);
  });

  it('manages enabled and expire, and nothing when in sync', () => {
    const expire = '2030-01-01T00:00:00Z';
    const steps = planUsers([{ userid: 'a@pve', enabled: false, expire }], [{ userid: 'a@pve', enable: 1, expire: 0 }], [], {}, {});
    assert.deepEqual(steps[0]?.call?.params, { enable: 0, expire: expireSeconds(expire) });
    assert.deepEqual(planUsers([{ userid: 'a@pve', enabled: false, expire }], [{ userid: 'a@pve', enable: 0, expire: expireSeconds(expire) }], [], {}, {}), []);
    // Proxmox leaves `enable` out of an enabled user: observed as enabled, in the plan and in its words.
    const [disable] = planUsers([{ userid: 'a@pve', enabled: false }], [{ userid: 'a@pve' }], [], {}, {});
    assert.deepEqual(disable?.differences, [{ field: 'users[a@pve].enabled', observed: 'true', desired: 'false' }]);
  });

  it('deletes only a user it created once dropped, and forgets one already gone', () => {
    const observed = [{ userid: 'mine@pve' }, { userid: 'theirs@pve' }];
    const steps = planUsers([], observed, ['mine@pve', 'gone@pve'], {}, {});
    assert.deepEqual(steps.map((s) => [s.call?.method ?? 'none', s.forgets?.id]), [['DELETE', 'mine@pve'], ['none', 'gone@pve']]);
  });
});

describe('host plan: ACLs', () => {
  it('grants each missing subject, and fixes propagation of an existing entry without claiming it', () => {
    const steps = planAcls(
      [{ path: '/vms', role: 'PVEVMAdmin', users: ['ops@pve'], groups: ['audit'], propagate: true }],
      [{ path: '/vms', type: 'group', ugid: 'audit', roleid: 'PVEVMAdmin', propagate: 0 }],
      [],
    );
    assert.deepEqual(steps.map((s) => s.call?.params), [
      { path: '/vms', roles: 'PVEVMAdmin', users: 'ops@pve', propagate: 1 },
      { path: '/vms', roles: 'PVEVMAdmin', groups: 'audit', propagate: 1 },
    ]);
    assert.deepEqual(steps.map((s) => s.records?.id), [aclId('/vms', 'user', 'ops@pve', 'PVEVMAdmin'), undefined]);
  });

  it('revokes only entries it granted once dropped, and leaves others alone', () => {
    const mine = aclId('/', 'token', 'a@pve!ci', 'PVEAuditor');
    const observed = [
      { path: '/', type: 'token', ugid: 'a@pve!ci', roleid: 'PVEAuditor', propagate: 1 },
      { path: '/storage', type: 'user', ugid: 'b@pve', roleid: 'PVEDatastoreUser', propagate: 1 },
    ];
    const steps = planAcls([], observed, [mine]);
    assert.deepEqual(steps.map((s) => s.call?.params), [{ path: '/', roles: 'PVEAuditor', tokens: 'a@pve!ci', delete: 1 }]);
    assert.deepEqual(planAcls([{ path: '/', role: 'PVEAuditor', tokens: ['a@pve!ci'] }], observed, [mine]), []);
  });
});
