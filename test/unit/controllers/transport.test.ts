import { strict as assert } from 'node:assert';
import { pctTransport } from '../../../src/controllers/guests/pct-transport.ts';
import { agentTransport } from '../../../src/controllers/guests/guest-agent.ts';
import { HostKeyError, type SshResult, type SshSessions, type SshTarget } from '../../../src/clients/ssh/sessions.ts';
import { RetryableError, TerminalError } from '../../../src/runtime/errors.ts';
import type { GuestApi } from '../../../src/controllers/guests/guest-api.ts';

/** An SSH session double: records what is sent, answers what the test says. */
function fakeSessions(answer: (line: string) => SshResult | Error = () => ({ exitCode: 0, stdout: '', stderr: '' })) {
  const sent: string[] = [];
  const files = new Map<string, { content: string; mode: number }>();
  const sessions = {
    async exec(_t: SshTarget, line: string) {
      sent.push(line);
      const a = answer(line);
      if (a instanceof Error) throw a;
      return a;
    },
    async writeFile(_t: SshTarget, path: string, content: Buffer, mode: number) {
      sent.push(`sftp write ${path}`);
      files.set(path, { content: content.toString(), mode });
    },
    async unlink(_t: SshTarget, path: string) {
      sent.push(`sftp remove ${path}`);
      files.delete(path);
    },
  };
  return { sessions: sessions as unknown as SshSessions, sent, files };
}

const target: SshTarget = { host: '10.0.0.1', port: 22, username: 'phoenix', privateKey: 'KEY', pins: { fingerprints: [] }, connectTimeoutMs: 1000 };
const transport = (s: SshSessions, sudo = false) => pctTransport(s, { ssh: target, node: 'pve1', vmid: 120, sudo, hypervisor: 'lab' });

describe('the provisioning transports', () => {
  it('runs a command in a container as one quoted pct exec line', async () => {
    const { sessions, sent } = fakeSessions(() => ({ exitCode: 3, stdout: 'out', stderr: 'err' }));
    assert.deepEqual(await transport(sessions, true).run(['/bin/sh', '-c', "echo 'hi'"], 1000), { exitCode: 3, stdout: 'out', stderr: 'err' });
    assert.deepEqual(sent, [`sudo -n pct exec 120 -- /bin/sh -c 'echo '\\''hi'\\'''`]);
  });

  it('pushes a file whole through a private temporary file on the node, removed even when the push fails', async () => {
    const { sessions, sent, files } = fakeSessions((line) => (line.includes(' push ') ? { exitCode: 255, stdout: '', stderr: 'failed to create file: /etc/x/y: No such file or directory\n' } : { exitCode: 0, stdout: '', stderr: '' }));
    const err = await transport(sessions).write('token=s3cret\n', (part) => `/etc/x/y.${part}`).catch((e: unknown) => e);
    assert.ok(err instanceof RetryableError && err.reason === 'PushFailed', String(err));
    assert.match((err as Error).message, /No such file or directory/);
    assert.ok(!(err as Error).message.includes('s3cret'));
    const tmp = /^sftp write (\/tmp\/\.phoenix-push-[0-9a-f]{16})$/.exec(sent[0]!)?.[1];
    assert.ok(tmp, sent[0]);
    assert.deepEqual(sent.slice(1), [`pct push 120 ${tmp} /etc/x/y.0 --perms 0600 --user 0 --group 0`, `sftp remove ${tmp}`]);
    assert.equal(files.size, 0);
  });

  it('waits for a stopped container instead of failing', async () => {
    const { sessions } = fakeSessions(() => ({ exitCode: 255, stdout: '', stderr: "container '120' not running!\n" }));
    const t = transport(sessions);
    const err = await t.run(['true'], 1000).catch((e: unknown) => e);
    assert.equal(t.unavailable(err), 'container 120 is not running');
    assert.equal(t.waitReason, 'WaitingForContainer');
    assert.equal(t.unavailable(new Error('other')), undefined);
  });

  it('names what a person must fix: a host key, a sudo rule; retries what may pass', async () => {
    const hostKey = new HostKeyError(target, 'mismatch', 'SHA256:presented');
    const stalled = await transport(fakeSessions(() => hostKey).sessions).run(['true'], 1000).catch((e: unknown) => e);
    assert.ok(stalled instanceof TerminalError && stalled.reason === 'HostKeyMismatch');
    assert.match(stalled.message, /presented SHA256:presented.*Phoenix sent nothing/);
    const sudo = await transport(fakeSessions(() => ({ exitCode: 1, stdout: '', stderr: 'sudo: a password is required\n' })).sessions, true).run(['true'], 1000).catch((e: unknown) => e);
    assert.ok(sudo instanceof TerminalError && sudo.reason === 'SSHPermissionDenied');
    const notRoot = await transport(fakeSessions(() => ({ exitCode: 255, stdout: '', stderr: 'please run as root\n' })).sessions).run(['true'], 1000).catch((e: unknown) => e);
    assert.ok(notRoot instanceof TerminalError && notRoot.reason === 'SSHPermissionDenied');
    assert.match(notRoot.message, /spec\.ssh\.sudo: true/);
    const missing = await transport(fakeSessions(() => ({ exitCode: 255, stdout: '', stderr: "Configuration file 'nodes/pve1/lxc/120.conf' does not exist\n" })).sessions).run(['true'], 1000).catch((e: unknown) => e);
    assert.ok(missing instanceof RetryableError && missing.reason === 'ContainerNotFound');
    const down = await transport(fakeSessions(() => new Error('connect ECONNREFUSED')).sessions).run(['true'], 1000).catch((e: unknown) => e);
    assert.ok(down instanceof RetryableError && down.reason === 'SSHUnreachable');
    assert.match(down.message, /node pve1 \(10\.0\.0\.1:22\)/);
  });

  it('writes through the guest agent in numbered pieces within its size limit, and starts with a pid', async () => {
    const writes: [string, string][] = [];
    const api = { agentFileWrite: async (file: string, content: string) => void writes.push([file, content]), agentExec: async () => 4242 } as unknown as GuestApi;
    const t = agentTransport(api);
    await t.write('x'.repeat(100_000), (part) => `/run/f.${part}`);
    // 100 000 bytes are 133 336 base64 characters: three pieces of at most 60 KiB.
    assert.deepEqual(writes.map(([f]) => f), ['/run/f.0', '/run/f.1', '/run/f.2']);
    assert.equal(writes.map(([, c]) => Buffer.from(c, 'base64').toString()).join(''), 'x'.repeat(100_000));
    assert.equal(await t.start(['/bin/sh', 'runner', 'start']), 4242);
    assert.equal(t.waitReason, 'WaitingForGuestAgent');
  });

  it('sends nothing once the controller stops acting', async () => {
    const { sessions, sent } = fakeSessions();
    const stop = new AbortController();
    const t = pctTransport(sessions, { ssh: target, node: 'pve1', vmid: 120, sudo: false, hypervisor: 'lab', stop: stop.signal });
    await t.run(['true'], 1000);
    stop.abort();
    await assert.rejects(t.run(['true'], 1000), /not sent/);
    await assert.rejects(t.write('x', () => '/x'), /not sent/);
    assert.equal(sent.length, 1);
  });
});
