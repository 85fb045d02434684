import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';

const phoenix = new URL('../../bin/phoenix.js', import.meta.url).pathname;

describe('phoenix CLI', () => {
  it('lists its commands with --help', () => {
    const out = execFileSync(process.execPath, [phoenix, '--help'], { encoding: 'utf8' });
    assert.match(out, /Usage: phoenix <command>/);
    assert.match(out, /^\s+version\s/m);
  });

  it('prints the version and API group', () => {
    const out = JSON.parse(execFileSync(process.execPath, [phoenix, 'version', '--json'], { encoding: 'utf8' }));
    assert.equal(out.api, 'hypervisor.phoenix.io/v1alpha1');
    assert.match(out.phoenix, /^\d+\.\d+\.\d+/);
  });

  it('refuses an unknown command with exit code 2', () => {
    const result = spawnSync(process.execPath, [phoenix, 'no-such-command'], { encoding: 'utf8' });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /unknown command 'no-such-command'/);
  });
});

describe('phoenix CLI: what it refuses', () => {
  const run = (args: string[], options: { execArgv?: string[] } = {}) =>
    spawnSync(process.execPath, [...(options.execArgv ?? []), phoenix, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, KUBECONFIG: '/nonexistent/kubeconfig' } });

  for (const args of [['version', '--bogus'], ['demo', '--bogus'], ['cluster', 'up', '--bogus'], ['cluster', '--bogus'], ['sim', 'proxmox', '--bogus'], ['sim', 'portainer', '--bogus'], ['controller', '--bogus']]) {
    it(`phoenix ${args.join(' ')}: exit 2 with the usage`, () => {
      const result = run(args);
      assert.equal(result.status, 2, `${result.stdout}${result.stderr}`);
      assert.match(result.stderr, /--bogus/);
      assert.match(result.stderr, new RegExp(`phoenix ${args[0]}`), 'no usage after the error');
    });
  }

  it('prints one simulator\'s help for `sim proxmox --help` and `sim portainer --help`', () => {
    const proxmox = run(['sim', 'proxmox', '--help']).stdout;
    const portainer = run(['sim', 'portainer', '--help']).stdout;
    const both = run(['sim', '--help']).stdout;
    assert.match(proxmox, /^phoenix sim proxmox/);
    assert.doesNotMatch(proxmox, /phoenix sim portainer \[options\]/);
    assert.match(portainer, /^phoenix sim portainer/);
    assert.doesNotMatch(portainer, /--pve-version/);
    assert.match(both, /sim proxmox --help/);
    assert.match(both, /sim portainer --help/);
  });

  it('says in one line that the kubeconfig does not exist', () => {
    const result = run(['controller', '--kubeconfig', '/nonexistent/kubeconfig', '--metrics-bind-address=0', '--health-probe-bind-address=0']);
    assert.equal(result.status, 1);
    assert.equal(result.stderr, 'phoenix controller: cannot read the kubeconfig /nonexistent/kubeconfig: no such file; pass --kubeconfig, set KUBECONFIG, or run in a pod\n');
  });

  it('says which Node.js it needs instead of crashing inside a dependency', () => {
    // The Node this test runs on is new enough; make it report an old version before bin/phoenix.js runs.
    const pretend = `data:text/javascript,Object.defineProperty(process.versions, 'node', { value: '20.20.2' })`;
    const result = run(['controller', '--help'], { execArgv: ['--import', pretend] });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /^phoenix: needs Node\.js 22\.19\.0 or newer; this is Node\.js 20\.20\.2 \(/);
    assert.equal(result.stderr.trim().split('\n').length, 1);
  });

  it('says which Node.js it needs when run by a real older Node, if this machine has one', function () {
    const old = spawnSync('node', ['--version'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
    const version = /^v(\d+)\./.exec(old.stdout ?? '')?.[1];
    if (!version || Number(version) >= 22) this.skip();
    const result = spawnSync('node', [phoenix, 'version'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /^phoenix: needs Node\.js 22\.19\.0 or newer; this is Node\.js 2[01]\./);
  });
});
