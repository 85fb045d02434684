// The simulated node's SSH server, through Phoenix's own SSH client and container transport:
// key authentication, a pinned host key, pct exec/push/pull on the node's containers with pct's
// own refusals (pve-container src/PVE/CLI/pct.pm), sudo, and nothing else.
import assert from 'node:assert/strict';
import ssh2 from 'ssh2';
import { ed25519KeyPair } from '../../src/clients/ssh/key-pair.ts';
import { startProxmoxSimulator, type RunningSimulator } from '../../src/sim/proxmox/index.ts';
import { HostKeyError, SshAuthError, SshSessions, type SshTarget } from '../../src/clients/ssh/sessions.ts';
import { pctTransport } from '../../src/controllers/guests/pct-transport.ts';

describe('simulator SSH server (pct exec, push, pull)', function () {
  this.timeout(20_000);
  let sim: RunningSimulator;
  let sessions: SshSessions;
  let target: SshTarget;

  beforeEach(async () => {
    sim = await startProxmoxSimulator({ seed: 3, speed: 1000 });
    sessions = new SshSessions();
    const ssh = sim.admin.ssh();
    target = { host: ssh.host, port: ssh.port, username: 'root', privateKey: ssh.privateKey, pins: { fingerprints: [ssh.hostKeyFingerprint] }, connectTimeoutMs: 5_000 };
    sim.admin.addGuest({ type: 'lxc', vmid: 200, status: 'running', config: { hostname: 'ct', memory: 512, rootfs: 'local-lvm:vm-200-disk-0,size=8G' } });
    sim.admin.addGuest({ type: 'lxc', vmid: 201, status: 'stopped', config: { hostname: 'off', memory: 512, rootfs: 'local-lvm:vm-201-disk-0,size=8G' } });
  });
  afterEach(async () => {
    sessions.close();
    await sim.close();
  });

  const run = (line: string) => sessions.exec(target, line, 10_000).then((r) => r!);

  it('runs pct exec in a running container, with its arguments as the shell split them', async () => {
    const r = await run(`pct exec 200 -- echo 'a b' "c'd"`);
    assert.deepEqual(r, { exitCode: 0, stdout: "a b c'd\n", stderr: '' });
    assert.equal((await run('pct exec 200 -- test -d /var/lib/phoenix')).exitCode, 1);
    assert.equal((await run('pct exec 200 -- mkdir -p /var/lib/phoenix')).exitCode, 0);
    assert.equal((await run('pct exec 200 -- test -d /var/lib/phoenix')).exitCode, 0);
  });

  it('refuses as pct does: a stopped container, a missing VMID, a missing command', async () => {
    assert.deepEqual(await run('pct exec 201 -- true'), { exitCode: 255, stdout: '', stderr: "container '201' not running!\n" });
    assert.deepEqual(await run('pct exec 999 -- true'), { exitCode: 255, stdout: '', stderr: "Configuration file 'nodes/pve/lxc/999.conf' does not exist\n" });
    assert.match((await run('pct exec 200 --')).stderr, /^missing command/);
    assert.deepEqual(await run('pct push 201 /tmp/x /etc/x'), { exitCode: 255, stdout: '', stderr: 'can only push files to a running CT\n' });
  });

  it('pushes a file uploaded over SFTP, refuses a bad path, and pulls it back', async () => {
    await sessions.writeFile(target, '/tmp/upload', Buffer.from('hello\n'), 0o600);
    assert.deepEqual(await run('pct push 200 /tmp/upload /etc/motd --perms 0600 --user 0 --group 0'), { exitCode: 0, stdout: '', stderr: '' });
    assert.equal(sim.admin.guest(200)!.agentFiles['/etc/motd'], 'hello\n');
    assert.deepEqual(await run('pct push 200 /tmp/upload /no/such/dir/x'), { exitCode: 255, stdout: '', stderr: 'failed to create file: /no/such/dir/x: No such file or directory\n' });
    assert.deepEqual(await run('pct push 200 /tmp/missing /etc/x'), { exitCode: 255, stdout: '', stderr: 'failed to open /tmp/missing for reading\n' });
    assert.equal((await run('pct pull 200 /etc/motd /tmp/back')).exitCode, 0);
    assert.equal(sim.ssh!.files.get('/tmp/back')?.toString(), 'hello\n');
    assert.deepEqual(await run('pct pull 200 /etc/none /tmp/x'), { exitCode: 255, stdout: '', stderr: 'failed to open /etc/none: No such file or directory\n' });
    await sessions.unlink(target, '/tmp/upload');
    assert.equal(sim.ssh!.files.has('/tmp/upload'), false);
  });

  it('runs nothing but single pct commands', async () => {
    assert.equal((await run('rm -rf /')).exitCode, 127);
    assert.equal((await run('pct exec 200 -- true; rm -rf /')).exitCode, 127);
    assert.equal((await run('pct exec 200 -- echo $HOME')).exitCode, 127);
  });

  it('lets another user run pct through sudo only', async () => {
    const key = ed25519KeyPair();
    sim.admin.authorizeSshKey('phoenix', key.public);
    const user: SshTarget = { ...target, username: 'phoenix', privateKey: key.private };
    assert.deepEqual(await sessions.exec(user, 'pct exec 200 -- true', 5_000), { exitCode: 255, stdout: '', stderr: 'please run as root\n' });
    assert.equal((await sessions.exec(user, 'sudo -n pct exec 200 -- true', 5_000))!.exitCode, 0);
    assert.equal((await sessions.exec(user, 'sudo -n qm list', 5_000))!.exitCode, 1);
  });

  it('refuses a host key that is not pinned, and a key that is not authorized', async () => {
    const other = ed25519KeyPair();
    const parsed = ssh2.utils.parseKey(other.public) as ReturnType<typeof ssh2.utils.parseKey> & { getPublicSSH(): Buffer };
    const pinned = `[127.0.0.1]:${target.port} ssh-ed25519 ${parsed.getPublicSSH().toString('base64')}`;
    await assert.rejects(sessions.exec({ ...target, pins: { knownHosts: pinned } }, 'pct exec 200 -- true', 5_000), (err: unknown) => err instanceof HostKeyError && err.verdict === 'mismatch' && err.fingerprint === sim.admin.ssh().hostKeyFingerprint);
    await assert.rejects(sessions.exec({ ...target, pins: { knownHosts: `otherhost ${pinned.split(' ').slice(1).join(' ')}` } }, 'true', 5_000), (err: unknown) => err instanceof HostKeyError && err.verdict === 'unknown');
    assert.equal(sim.ssh!.commands.length, 0, 'a command reached the node');
    await assert.rejects(sessions.exec({ ...target, pins: { knownHosts: sim.admin.ssh().knownHosts }, privateKey: other.private }, 'true', 5_000), SshAuthError);
  });

  it('gives provisioning one transport: quoted exec, whole-file push through a temporary file that does not stay', async () => {
    const transport = pctTransport(sessions, { ssh: target, node: 'pve', vmid: 200, sudo: false, hypervisor: 'lab' });
    assert.deepEqual(await transport.run(['/bin/mkdir', '-p', '-m', '0700', "/var/lib/phoenix/steps/it's here"], 5_000), { exitCode: 0, stdout: '', stderr: '' });
    await transport.write('secret; $(rm -rf /)\n', () => "/var/lib/phoenix/steps/it's here/f0.0000");
    assert.equal(sim.admin.guest(200)!.agentFiles["/var/lib/phoenix/steps/it's here/f0.0000"], 'secret; $(rm -rf /)\n');
    assert.deepEqual([...sim.ssh!.files.keys()], [], 'the pushed file stayed on the node');
    const stopped = pctTransport(sessions, { ssh: target, node: 'pve', vmid: 201, sudo: false, hypervisor: 'lab' });
    const err = await stopped.run(['true'], 5_000).catch((e: unknown) => e);
    assert.equal(stopped.unavailable(err), 'container 201 is not running');
  });
});
