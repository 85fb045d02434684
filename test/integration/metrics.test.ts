import { strict as assert } from 'node:assert';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { parse } from 'yaml';
import { testCluster, type TestCluster } from '../support/cluster.ts';
import { installPhoenixCrds, eventually } from '../support/crds.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const phoenix = `${root}bin/phoenix.js`;

/** Every metric family a /metrics text declares, with the series names a histogram or summary adds. */
function exportedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

/** The dashboard's and the alert rules' PromQL, with Grafana's variables given plain values. */
function queries(): { where: string; expr: string }[] {
  const dashboard = JSON.parse(readFileSync(`${root}helm/phoenix/files/grafana-dashboard.json`, 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
  const rules = parse(readFileSync(`${root}helm/phoenix/files/prometheus-rules.yaml`, 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
  const grafana = (expr: string) => expr.replaceAll('$__rate_interval', '5m').replace(/\$(namespace|job)\b/g, '.*');
  return [
    ...dashboard.panels.flatMap((p) => p.targets.map((t) => ({ where: `dashboard panel "${p.title}"`, expr: grafana(t.expr) }))),
    ...rules.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr.replace(/\s+/g, ' ').trim() }))),
  ];
}

describe('metrics: what a running `phoenix controller` exports', function () {
  this.timeout(5 * 60_000);
  let cluster: TestCluster;
  let promcheck: string;
  let child: ChildProcess;
  let exposition = '';

  before(async function () {
    this.timeout(30 * 60_000);
    promcheck = execFileSync('bash', [`${root}scripts/build-promcheck.sh`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    cluster = await testCluster();
    await installPhoenixCrds(cluster.kc);
    const namespace = 'metrics-e2e';
    await cluster.kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } }).catch(() => undefined);
    child = spawn(process.execPath, [phoenix, 'controller', '--kubeconfig', cluster.kubeconfigPath, `--namespaces=${namespace}`, `--leader-elect`, `--leader-election-namespace=${namespace}`, '--metrics-bind-address=127.0.0.1:0', '--health-probe-bind-address=127.0.0.1:0', '--log-format=json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    await eventually('the serving line', async () => output.includes('"serving"'), 30_000);
    const serving = output.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['message'] === 'serving');
    const url = `http://127.0.0.1:${String(serving?.['metricsPort'])}/metrics`;
    await eventually('leadership', async () => /^leader_election_master_status\{name="phoenix-controller-leader"\} 1$/m.test((exposition = await (await fetch(url)).text())), 30_000);
  });

  after(() => child?.kill('SIGTERM'));

  it('passes promlint', () => {
    const lint = spawnSync(promcheck, ['lint'], { input: exposition, encoding: 'utf8' });
    assert.equal(lint.stderr, '');
    assert.equal(lint.stdout, '', `promlint:\n${lint.stdout}`);
    assert.equal(lint.status, 0);
  });

  it('carries controller-runtime\'s names and labels, build info and the process metrics stock dashboards use', () => {
    for (const family of [
      'controller_runtime_reconcile_total', 'controller_runtime_reconcile_errors_total', 'controller_runtime_reconcile_time_seconds',
      'controller_runtime_active_workers', 'controller_runtime_max_concurrent_reconciles',
      'workqueue_depth', 'workqueue_adds_total', 'workqueue_queue_duration_seconds', 'workqueue_work_duration_seconds',
      'workqueue_unfinished_work_seconds', 'workqueue_longest_running_processor_seconds', 'workqueue_retries_total',
      'leader_election_master_status', 'rest_client_requests_total', 'process_cpu_seconds_total', 'process_resident_memory_bytes',
      'phoenix_build_info', 'phoenix_object_ready',
    ]) {
      assert.match(exposition, new RegExp(`^# TYPE ${family} `, 'm'), `no ${family}`);
    }
    assert.match(exposition, /^controller_runtime_max_concurrent_reconciles\{controller="PhoenixVM"\} 8$/m);
    assert.match(exposition, /^workqueue_depth\{name="PhoenixLXC"\} \d+$/m);
    assert.match(exposition, /^rest_client_requests_total\{code="200",method="GET",host="127\.0\.0\.1:\d+"\} \d+$/m);
    assert.match(exposition, /^phoenix_build_info\{version="\d+\.\d+\.\d+",api_version="hypervisor\.phoenix\.io\/v1alpha1",node_version="[\d.]+"\} 1$/m);
    assert.doesNotMatch(exposition, /^# TYPE phoenix_(reconcile|workqueue|leader_election|process)/m, 'a runtime metric is still prefixed phoenix_');
  });

  it('exports every metric the Grafana dashboard and the alert rules query', () => {
    const exported = exportedNames(exposition);
    const all = queries();
    assert.ok(all.length >= 25, `only ${all.length} queries found`);
    const parsed = spawnSync(promcheck, ['names'], { input: all.map((q) => q.expr).join('\n'), encoding: 'utf8' });
    assert.equal(parsed.status, 0, `PromQL that does not parse:\n${parsed.stderr}`);
    const lines = parsed.stdout.trimEnd().split('\n');
    assert.equal(lines.length, all.length);
    const missing = lines.flatMap((line, i) => line.split(' ').filter((name) => name && !exported.has(name)).map((name) => `${all[i]!.where}: ${name}`));
    assert.deepEqual(missing, [], 'queried but not exported');
  });
});
