import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envFile, filesManifest, parseRunStatus, partName, runner } from '../../../src/provision/guest-runner.ts';

/**
 * The runner is what really runs in a guest, and the simulator only follows its protocol: so it
 * is run here, by the real /bin/sh, in a temporary directory standing in for the guest.
 */
describe('the guest step runner, run by a real shell', function () {
  this.timeout(20_000);
  let root: string;
  let runnerPath: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'phoenix-runner-'));
    runnerPath = join(root, 'phoenix-step');
    writeFileSync(runnerPath, runner.text);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const sh = (...args: string[]) => execFileSync('/bin/sh', [runnerPath, ...args], { encoding: 'utf8' });

  function prepare(name: string, script: string, env: { name: string; value: string }[] = [], files: { path: string; mode: string; owner: string; content: string }[] = []): string {
    const dir = join(root, name);
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(join(dir, 'script'), script);
    writeFileSync(join(dir, 'env'), envFile(env));
    writeFileSync(join(dir, 'files'), filesManifest(files));
    files.forEach((f, i) => {
      // Two parts, as chunked writes make them.
      const half = Math.ceil(f.content.length / 2);
      writeFileSync(partName(dir, i, 0), f.content.slice(0, half));
      writeFileSync(partName(dir, i, 1), f.content.slice(half));
    });
    return dir;
  }

  async function waitExited(dir: string) {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const status = parseRunStatus(sh('status', dir));
      if (status?.state === 'exited') return status;
      if (Date.now() > deadline) throw new Error(`run ${dir} did not end: ${JSON.stringify(status)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('places the files, runs the script once with its environment, and records exit code and log', async () => {
    const target = join(root, 'etc', 'app', 'app.conf');
    const dir = prepare('ok', 'echo "mode=$MODE quote=$QUOTED"; cat "$CONF"; exit 0\n', [{ name: 'MODE', value: 'full' }, { name: 'QUOTED', value: "it's" }, { name: 'CONF', value: target }], [{ path: target, mode: '0640', owner: 'root:root', content: 'listen 8080\n' }]);
    assert.equal(parseRunStatus(sh('status', dir))?.state, 'absent');
    assert.equal(sh('start', dir, '/bin/sh', 'root', '10').trim(), 'state=started');
    assert.equal(sh('start', dir, '/bin/sh', 'root', '10').trim(), 'state=already-started', 'a second start starts nothing');
    const status = await waitExited(dir);
    assert.deepEqual(status, { state: 'exited', exitCode: 0, output: "mode=full quote=it's\nlisten 8080\n" });
    assert.equal(readFileSync(target, 'utf8'), 'listen 8080\n');
    assert.equal(statSync(target).mode & 0o777, 0o640);
    assert.equal(readFileSync(join(dir, 'log'), 'utf8').split('\n').length, 3, 'the script ran once');
  });

  it('records a failing script\'s exit code and the end of its output', async () => {
    const dir = prepare('fail', 'echo one; echo two >&2; exit 3\n');
    sh('start', dir, '/bin/sh', 'root', '10');
    assert.deepEqual(await waitExited(dir), { state: 'exited', exitCode: 3, output: 'one\ntwo\n' });
  });

  it('stops a script that outlives its timeout', async () => {
    const dir = prepare('slow', 'sleep 30\n');
    sh('start', dir, '/bin/sh', 'root', '1');
    const status = await waitExited(dir);
    assert.equal(status.state === 'exited' && status.exitCode, 124);
    assert.match(status.output, /longer than its timeout \(1 s\)/);
  });

  it('tells a run whose process is gone without an exit code (a guest restart) from one that runs', () => {
    const dir = prepare('lost', 'true\n');
    mkdirSync(join(dir, 'started'));
    // A pid no process has: past the kernel's pid_max.
    writeFileSync(join(dir, 'pid'), '4194305\n');
    assert.equal(parseRunStatus(sh('status', dir))?.state, 'lost');
    writeFileSync(join(dir, 'pid'), `${process.pid}\n`);
    assert.equal(parseRunStatus(sh('status', dir))?.state, 'running');
    assert.equal(existsSync(join(dir, 'exit')), false);
  });
});
