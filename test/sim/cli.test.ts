// `phoenix sim proxmox` as a user runs it: prints a URL and a working token, and keeps
// state across runs with --state.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

async function runSim(args: string[]): Promise<{ url: string; header: string; printed: string; stop: () => Promise<string> }> {
  const child = spawn(process.execPath, [main, 'sim', 'proxmox', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  while (!/header: +Authorization: (\S+)/.test(out)) {
    const [chunk] = (await once(child.stdout, 'data')) as [string];
    out += chunk;
  }
  const url = /listening on (\S+)/.exec(out)![1]!;
  const header = /header: +Authorization: (\S+)/.exec(out)![1]!;
  return {
    url, header, printed: out,
    stop: async () => {
      const exited = once(child, 'exit');
      child.stdout.on('data', (c: string) => (out += c));
      child.kill('SIGINT');
      await exited;
      return out;
    },
  };
}

describe('phoenix sim proxmox', function () {
  this.timeout(30_000);
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-sim-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints a URL and a token that work, and saves and reloads --state', async () => {
    const stateFile = join(dir, 'state.json');
    const first = await runSim(['--seed', '9', '--state', stateFile, '--pve-version', '8.4']);
    const version = await fetch(`${first.url}/version`, { headers: { Authorization: first.header } });
    assert.equal(((await version.json()) as { data: { version: string } }).data.version, '8.4.1');
    const created = await fetch(`${first.url}/pools`, { method: 'POST', headers: { Authorization: first.header, 'content-type': 'application/x-www-form-urlencoded' }, body: 'poolid=kept' });
    assert.equal(created.status, 200);
    assert.match(await first.stop(), /state saved to/);
    assert.deepEqual(JSON.parse(readFileSync(stateFile, 'utf8')).pools, [{ poolid: 'kept', members: [] }]);

    const second = await runSim(['--state', stateFile]);
    const pools = await fetch(`${second.url}/pools`, { headers: { Authorization: second.header } });
    assert.deepEqual(((await pools.json()) as { data: unknown }).data, [{ poolid: 'kept' }]);
    await second.stop();
  });

  it('prints the node\'s SSH port and host key, as the admin API gives them with a key to log in with', async () => {
    const sim = await runSim(['--ssh-node', 'pve']);
    try {
      const m = /SSH: +127\.0\.0\.1:(\d+) \(node pve\), host key (SHA256:[A-Za-z0-9+/]{43});/.exec(sim.printed);
      assert.ok(m, `no SSH line in: ${sim.printed}`);
      const ssh = ((await (await fetch(`${sim.url.replace(/\/api2\/json$/, '')}/_sim/ssh`)).json()) as { data: { port: number; hostKeyFingerprint: string; privateKey: string; username: string } }).data;
      assert.deepEqual([ssh.port, ssh.hostKeyFingerprint, ssh.username], [Number(m[1]), m[2], 'root']);
      assert.match(ssh.privateKey, /^-----BEGIN OPENSSH PRIVATE KEY-----/);
    } finally {
      await sim.stop();
    }
  });
});
