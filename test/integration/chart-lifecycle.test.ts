import { strict as assert } from 'node:assert';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControlPlane } from '../../src/devcluster/control-plane.ts';
import { kubectl } from '../support/kubectl.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const phoenix = `${root}bin/phoenix.js`;
const crdNames = ['phoenixhypervisors', 'phoenixlxcs', 'phoenixvms', 'phoenixstacks'].map((p) => `${p}.hypervisor.phoenix.io`);

/**
 * The chart's life on an API server of its own (the shared one has CRDs that are not Helm's):
 * a controller started before the CRDs, install, upgrade with a changed CRD, uninstall, and the
 * removal and adoption steps docs/install.md gives, run as written there.
 */
describe('chart lifecycle on a fresh API server: install, upgrade, uninstall, removal', function () {
  this.timeout(5 * 60_000);
  let plane: ControlPlane;
  let kubeconfig: string;
  let helm: string;
  const k = (args: string[]) => kubectl(kubeconfig, args);
  const h = (args: string[]) => execFileSync(helm, ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8' });

  before(async function () {
    this.timeout(30 * 60_000);
    helm = execFileSync('bash', [`${root}scripts/build-helm.sh`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    plane = new ControlPlane({ dir: mkdtempSync(join(tmpdir(), 'phoenix-chart-life-')), log: (line) => process.stdout.write(`      [cluster] ${line}\n`) });
    kubeconfig = (await plane.start()).kubeconfig;
  });

  after(async () => plane?.stop());

  it('`phoenix controller` says in one line that the CRDs are not installed', () => {
    const run = spawnSync(process.execPath, [phoenix, 'controller', '--kubeconfig', kubeconfig, '--metrics-bind-address=0', '--health-probe-bind-address=0'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 1, run.stderr);
    assert.equal(run.stderr, 'phoenix controller: the CustomResourceDefinition phoenixhypervisors.hypervisor.phoenix.io is not installed; install the CRDs first (kubectl apply --server-side -f crds/, or the Helm chart with crds.install=true)\n');
  });

  it('helm install creates the CRDs with the chart, and the NOTES say what to do next', async () => {
    const out = h(['install', 'phoenix', `${root}helm/phoenix`, '--namespace', 'phoenix-system', '--create-namespace']);
    assert.match(out, /STATUS: deployed/);
    assert.match(out, /kubectl -n phoenix-system rollout status deployment\/phoenix/);
    await k(['wait', '--for=condition=Established', ...crdNames.map((n) => `crd/${n}`), '--timeout=60s']);
    await k(['create', 'namespace', 'lab']);
    // An object Phoenix had taken charge of: it carries Phoenix's finalizer.
    writeFileSync(join(tmpdir(), 'phoenix-life-lxc.yaml'), [
      'apiVersion: hypervisor.phoenix.io/v1alpha1', 'kind: PhoenixLXC', 'metadata:', '  name: web', '  namespace: lab', '  finalizers: [hypervisor.phoenix.io/finalizer]',
      'spec:', '  hypervisorRef: { name: pve }', '  node: pve', '  source: { osTemplate: { volume: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst" } }', '',
    ].join('\n'));
    await k(['apply', '-f', join(tmpdir(), 'phoenix-life-lxc.yaml')]);
  });

  it('helm upgrade upgrades the CRDs (crds/ would not) and leaves the objects alone', async () => {
    const chart = join(mkdtempSync(join(tmpdir(), 'phoenix-chart-next-')), 'phoenix');
    cpSync(`${root}helm/phoenix`, chart, { recursive: true });
    const crd = join(chart, 'templates/crds/phoenixlxcs.yaml');
    writeFileSync(crd, readFileSync(crd, 'utf8').replace('description: A Proxmox LXC container.', 'description: A Proxmox LXC container (next release).'));
    writeFileSync(join(chart, 'Chart.yaml'), readFileSync(join(chart, 'Chart.yaml'), 'utf8').replace(/^version: .*$/m, 'version: 0.1.1'));
    assert.match(h(['upgrade', 'phoenix', chart, '--namespace', 'phoenix-system']), /STATUS: deployed/);
    const description = await k(['get', 'crd', 'phoenixlxcs.hypervisor.phoenix.io', '-o', 'jsonpath={.spec.versions[0].schema.openAPIV3Schema.description}']);
    assert.equal(description, 'A Proxmox LXC container (next release).');
    assert.equal((await k(['get', 'phoenixlxc', 'web', '-n', 'lab', '-o', 'name'])).trim(), 'phoenixlxc.hypervisor.phoenix.io/web');
  });

  it('helm uninstall removes the controller but keeps the CRDs and every object', async () => {
    h(['uninstall', 'phoenix', '--namespace', 'phoenix-system']);
    assert.equal((await k(['get', 'deployments', '-n', 'phoenix-system', '-o', 'name'])).trim(), '');
    for (const name of crdNames) assert.equal((await k(['get', 'crd', name, '-o', 'name'])).trim(), `customresourcedefinition.apiextensions.k8s.io/${name}`);
    assert.equal((await k(['get', 'phoenixlxc', 'web', '-n', 'lab', '-o', 'name'])).trim(), 'phoenixlxc.hypervisor.phoenix.io/web');
  });

  it('finishes removal as docs/install.md says, without a CRD hanging on finalizers', async () => {
    const doc = readFileSync(`${root}docs/install.md`, 'utf8');
    // With the controller gone nothing removes Phoenix's finalizer: deleting waits for ever.
    await k(['delete', 'phoenix', '--all', '--all-namespaces', '--wait=false']);
    assert.match(await k(['get', 'phoenixlxc', 'web', '-n', 'lab', '-o', 'jsonpath={.metadata.deletionTimestamp}']), /^\d{4}-/);
    // The documented commands, taken from the document itself.
    const strip = /^kubectl get phoenix -A -o go-template=.*$/m.exec(doc)?.[0];
    const crds = /^kubectl delete crd -l .*$/m.exec(doc)?.[0];
    assert.ok(strip && crds, 'docs/install.md lacks the removal commands');
    execFileSync('bash', ['-c', strip], { env: { ...process.env, KUBECONFIG: kubeconfig }, encoding: 'utf8' });
    assert.equal((await k(['get', 'phoenix', '--all-namespaces', '-o', 'name'])).trim(), '');
    execFileSync('bash', ['-c', `${crds} --timeout=60s`], { env: { ...process.env, KUBECONFIG: kubeconfig }, encoding: 'utf8' });
    assert.equal((await k(['get', 'crd', '-l', 'app.kubernetes.io/part-of=phoenix', '-o', 'name'])).trim(), '');
  });

  it('takes over CRDs applied from crds/ (an install from before this chart) with the documented commands', async () => {
    await k(['apply', '--server-side', '-f', `${root}crds/`]);
    const refused = spawnSync(helm, ['--kubeconfig', kubeconfig, 'install', 'phoenix', `${root}helm/phoenix`, '--namespace', 'phoenix-system'], { encoding: 'utf8' });
    assert.match(refused.stderr, /invalid ownership metadata/);
    const doc = readFileSync(`${root}docs/install.md`, 'utf8');
    const adopt = [...doc.matchAll(/^kubectl (label|annotate) crd -l app\.kubernetes\.io\/part-of=phoenix .*$/gm)].map((m) => m[0]);
    assert.equal(adopt.length, 2, 'docs/install.md lacks the adoption commands');
    for (const command of adopt) execFileSync('bash', ['-c', command], { env: { ...process.env, KUBECONFIG: kubeconfig }, encoding: 'utf8' });
    assert.match(h(['install', 'phoenix', `${root}helm/phoenix`, '--namespace', 'phoenix-system']), /STATUS: deployed/);
  });
});
