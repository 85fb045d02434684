// Cloud-init snippets on the simulated node: a file written over SFTP into a storage's
// snippets directory is that storage's `snippets` content, and a VM with a cloud-init drive
// reads its cicustom volumes when it starts, failing as qemu-server's Cloudinit.pm does.
import assert from 'node:assert/strict';
import { SshSessions, type SshTarget } from '../../src/clients/ssh/sessions.ts';
import { startFixture, type Fixture } from './support/sim-fixture.ts';

describe('simulator cloud-init snippets (SFTP to the node, cicustom at start)', function () {
  this.timeout(20_000);
  let f: Fixture;
  let sessions: SshSessions;
  let target: SshTarget;

  beforeEach(async () => {
    f = await startFixture();
    sessions = new SshSessions();
    const ssh = f.sim.admin.ssh();
    target = { host: ssh.host, port: ssh.port, username: 'root', privateKey: ssh.privateKey, pins: { fingerprints: [ssh.hostKeyFingerprint] }, connectTimeoutMs: 5_000 };
  });
  afterEach(async () => {
    sessions.close();
    await f.sim.close();
  });

  const snippets = async (storage: string) =>
    ((await f.call('GET', `/nodes/pve/storage/${storage}/content`, { content: 'snippets' })).body?.data as { volid: string; size: number; format: string }[]).map((v) => [v.volid, v.size, v.format]);
  const start = async (vmid: number) => f.finish((await f.call('POST', `/nodes/pve/qemu/${vmid}/status/start`)).body?.data);

  it('lists a file written into /var/lib/vz/snippets as local:snippets/<file>, until it is removed', async () => {
    await sessions.writeFile(target, '/var/lib/vz/snippets/user-1.yaml', Buffer.from('#cloud-config\npackages: [curl]\n'), 0o600);
    await sessions.writeFile(target, '/var/lib/vz/other/user-2.yaml', Buffer.from('x'), 0o600);
    await sessions.writeFile(target, '/tmp/user-3.yaml', Buffer.from('x'), 0o600);
    assert.deepEqual(await snippets('local'), [['local:snippets/user-1.yaml', 31, 'snippet']]);
    await sessions.unlink(target, '/var/lib/vz/snippets/user-1.yaml');
    assert.deepEqual(await snippets('local'), []);
  });

  it('fails a start with a cloud-init drive whose cicustom volume is missing, not a snippet, or on no storage', async () => {
    const drive = 'local-lvm:vm-100-cloudinit,media=cdrom';
    f.sim.admin.addGuest({ type: 'qemu', vmid: 100, config: { name: 'ci', memory: '1024', ide2: drive, cicustom: 'user=local:snippets/user-1.yaml' } });
    assert.equal((await start(100))['exitstatus'], "can't open '/var/lib/vz/snippets/user-1.yaml' - No such file or directory");
    const g = f.sim.admin.guest(100)!;
    g.config['cicustom'] = 'user=local:iso/debian-12.7.0-amd64-netinst.iso';
    assert.equal((await start(100))['exitstatus'], 'local:iso/debian-12.7.0-amd64-netinst.iso is not in the snippets directory');
    g.config['cicustom'] = 'user=nowhere:snippets/user-1.yaml';
    assert.equal((await start(100))['exitstatus'], "storage 'nowhere' does not exist");
    // Once the file is on the node, the VM starts.
    g.config['cicustom'] = 'user=local:snippets/user-1.yaml';
    await sessions.writeFile(target, '/var/lib/vz/snippets/user-1.yaml', Buffer.from('#cloud-config\n'), 0o600);
    assert.equal((await start(100))['exitstatus'], 'OK');
    assert.equal(f.sim.admin.guest(100)!.status, 'running');
  });

  it('reads no cicustom file for a VM without a cloud-init drive', async () => {
    f.sim.admin.addGuest({ type: 'qemu', vmid: 101, config: { name: 'plain', memory: '1024', cicustom: 'user=local:snippets/missing.yaml' } });
    assert.equal((await start(101))['exitstatus'], 'OK');
  });
});
