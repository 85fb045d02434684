import { strict as assert } from 'node:assert';
import { installPhoenixCrds } from '../support/crds.ts';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testCluster, type TestCluster } from '../support/cluster.ts';
import { eventually } from './support.ts';

const phoenix = new URL('../../bin/phoenix.js', import.meta.url).pathname;

describe('runtime: the `phoenix controller` command', function () {
  let cluster: TestCluster;

  before(async function () {
    this.timeout(30 * 60_000);
    cluster = await testCluster();
    // `phoenix controller` watches the Phoenix kinds; the chart installs their CRDs first.
    await installPhoenixCrds(cluster.kc);
  });

  it('exits with a clear message on a kubeconfig it cannot connect with', () => {
    const dir = mkdtempSync(join(tmpdir(), 'phoenix-kubeconfig-'));
    const file = join(dir, 'kubeconfig');
    writeFileSync(file, 'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: "http://127.0.0.1:1"}\nusers:\n- name: u\n  user: {}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n');
    const run = spawnSync(process.execPath, [phoenix, 'controller', '--kubeconfig', file, '--metrics-bind-address=0', '--health-probe-bind-address=0'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /cannot use the kubeconfig \(HTTP protocol is not allowed/);
  });

  it('refuses bad flags with exit code 2 and documents its flags', () => {
    const bad = spawnSync(process.execPath, [phoenix, 'controller', '--renew-deadline', '30s'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--renew-deadline must be shorter than --lease-duration/);
    const help = spawnSync(process.execPath, [phoenix, 'controller', '--help'], { encoding: 'utf8' });
    for (const flag of ['--kubeconfig', '--namespaces', '--concurrency', '--resync-period', '--metrics-bind-address', '--health-probe-bind-address', '--leader-elect', '--log-level']) {
      assert.ok(help.stdout.includes(flag), `--help does not mention ${flag}`);
    }
  });

  it('serves probes and metrics, logs JSON without its own token, and exits 0 on SIGTERM', async function () {
    this.timeout(60_000);
    const child = spawn(
      process.execPath,
      [phoenix, 'controller', '--kubeconfig', cluster.kubeconfigPath, '--metrics-bind-address', '127.0.0.1:0', '--health-probe-bind-address', '127.0.0.1:0', '--log-level', 'debug'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await eventually('the serving line', async () => output.includes('"serving"'), 30_000);
      const lines = output.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      const serving = lines.find((l) => l['message'] === 'serving');
      const metricsPort = Number(serving?.['metricsPort']);
      const probePort = Number(serving?.['probePort']);
      assert.equal((await fetch(`http://127.0.0.1:${probePort}/healthz`)).status, 200);
      await eventually('ready', async () => (await fetch(`http://127.0.0.1:${probePort}/readyz`)).status === 200);
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      assert.match(metrics, /^process_resident_memory_bytes \d/m);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, output);
    const token = /token: (\S+)/.exec(readFileSync(cluster.kubeconfigPath, 'utf8'))?.[1];
    if (token) assert.ok(!output.includes(token), 'the kubeconfig token appeared in the logs');
  });
});
