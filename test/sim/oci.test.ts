// OCI application containers as PVE 9.1 has them: oci-registry-pull (pve-storage
// API2/Storage/Status.pm) and a container create from the pulled archive (pve-container
// LXC/Create.pm restore_oci_archive); 8.4 has neither.
import assert from 'node:assert/strict';
import { startFixture, type Fixture } from './support/sim-fixture.ts';

const data = <T>(r: { body?: { data?: unknown } | undefined }): T => r.body?.data as T;

describe('simulator OCI images', () => {
  let f: Fixture;
  afterEach(async () => f?.sim.close());

  it('pulls an image as a task with skopeo\'s log; the archive appears when it ends, and is not pulled over', async () => {
    f = await startFixture();
    const upid = data<string>(await f.call('POST', '/nodes/pve/storage/local/oci-registry-pull', { reference: 'docker.io/library/nginx:1.27' }));
    assert.match(upid, /^UPID:pve:[0-9A-F]+:[0-9A-F]+:[0-9A-F]+:ociregistrypull:nginx_1\.27\.tar:/);
    const before = data<{ volid: string }[]>(await f.call('GET', '/nodes/pve/storage/local/content', { content: 'vztmpl' }));
    assert.ok(!before.some((v) => v.volid === 'local:vztmpl/nginx_1.27.tar'), 'not there while the pull runs');
    assert.equal((await f.finish(upid))['exitstatus'], 'OK');
    const log = await f.taskLog(upid);
    assert.equal(log[0], 'Getting image source signatures');
    assert.ok(log.some((l) => /^Copying blob sha256:[0-9a-f]{64}$/.test(l)));
    assert.ok(log.includes('Writing manifest to image destination'));
    const after = data<{ volid: string; format: string }[]>(await f.call('GET', '/nodes/pve/storage/local/content', { content: 'vztmpl' }));
    assert.equal(after.find((v) => v.volid === 'local:vztmpl/nginx_1.27.tar')?.format, 'tar');
    const again = await f.call('POST', '/nodes/pve/storage/local/oci-registry-pull', { reference: 'nginx:1.27' });
    assert.deepEqual([again.status, again.reason], [500, "refusing to override existing file 'nginx_1.27.tar'"]);
  });

  it('refuses what pve-storage refuses before any task, and fails an unknown image as skopeo does', async () => {
    f = await startFixture();
    const lvm = await f.call('POST', '/nodes/pve/storage/local-lvm/oci-registry-pull', { reference: 'nginx:1.27' });
    assert.deepEqual([lvm.status, lvm.reason], [500, "can't upload to storage type 'lvmthin', not a file based storage!"]);
    const none = await f.call('POST', '/nodes/pve/storage/nope/oci-registry-pull', { reference: 'nginx:1.27' });
    assert.deepEqual([none.status, none.reason], [500, "storage 'nope' does not exist"]);
    const untagged = await f.call('POST', '/nodes/pve/storage/local/oci-registry-pull', { reference: 'nginx' });
    assert.equal(untagged.status, 400);
    const upid = data<string>(await f.call('POST', '/nodes/pve/storage/local/oci-registry-pull', { reference: 'acme/missing:1.0' }));
    const status = await f.finish(upid);
    assert.match(String(status['exitstatus']), /^command 'skopeo copy docker:\/\/acme\/missing:1\.0 oci-archive:\/var\/lib\/vz\/template\/cache\/missing_1\.0\.tar\.tmp\.\d+' failed: exit code 1$/);
    assert.ok((await f.taskLog(upid)).some((l) => l.includes('reading manifest 1.0 in docker.io/acme/missing: requested access to the resource is denied')));
  });

  it('creates a container from the archive with the image\'s entrypoint and env over the create\'s', async () => {
    f = await startFixture();
    await f.finish(data(await f.call('POST', '/nodes/pve/storage/local/oci-registry-pull', { reference: 'nginx:1.27' })));
    const upid = data<string>(await f.call('POST', '/nodes/pve/lxc', {
      vmid: 200, ostemplate: 'local:vztmpl/nginx_1.27.tar', rootfs: 'local-lvm:4', net0: 'name=eth0,bridge=vmbr0,ip=dhcp', entrypoint: '/bin/true', env: 'A=1',
    }));
    assert.equal((await f.finish(upid))['exitstatus'], 'OK');
    assert.ok((await f.taskLog(upid)).includes('Detected OCI archive'));
    const config = data<Record<string, string>>(await f.call('GET', '/nodes/pve/lxc/200/config'));
    assert.equal(config['entrypoint'], "/docker-entrypoint.sh nginx -g 'daemon off;'");
    assert.equal(config['cmode'], 'console');
    assert.match(config['net0']!, /host-managed=1/);
    assert.ok(config['env']!.split('\0').includes('NGINX_VERSION=1.27.5'));
    assert.ok(!config['env']!.split('\0').includes('A=1'), 'the image\'s Env replaces the create\'s');
    // Set afterwards, they stay.
    assert.equal((await f.call('PUT', '/nodes/pve/lxc/200/config', { env: 'A=1\0B=2' })).status, 200);
    assert.equal(data<Record<string, string>>(await f.call('GET', '/nodes/pve/lxc/200/config'))['env'], 'A=1\0B=2');
  });

  it('has no oci-registry-pull on 8.4', async () => {
    f = await startFixture({ pveVersion: '8.4' });
    const res = await f.call('POST', '/nodes/pve/storage/local/oci-registry-pull', { reference: 'nginx:1.27' });
    assert.equal(res.status, 501);
    const index = data<{ subdir: string }[]>(await f.call('GET', '/nodes/pve/storage/local'));
    assert.ok(!index.some((d) => d.subdir === 'oci-registry-pull'));
  });
});
