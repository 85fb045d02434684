import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { parseRuntimeConfig } from '../../src/runtime/config.ts';
import { parsePhoenixOptions, splitPhoenixArgs } from '../../src/controllers/options.ts';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { testCluster, type TestCluster } from '../support/cluster.ts';
import { installPhoenixCrds } from '../support/crds.ts';
import { kubectl } from '../support/kubectl.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('Helm chart and install manifests', function () {
  this.timeout(30 * 60_000);
  let cluster: TestCluster;
  let helm: string;

  before(async () => {
    helm = execFileSync('bash', [`${root}scripts/build-helm.sh`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    cluster = await testCluster();
    await installPhoenixCrds(cluster.kc);
    await cluster.kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name: 'phoenix-system' } } }).catch(() => undefined);
  });

  it('passes helm lint', () => {
    const out = execFileSync(helm, ['lint', `${root}helm/phoenix`, '--kube-version', '1.34.0'], { encoding: 'utf8' });
    assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('ships CRDs identical to crds/', () => {
    const out = execFileSync(helm, ['show', 'crds', `${root}helm/phoenix`], { encoding: 'utf8' });
    const files = readdirSync(`${root}crds`);
    assert.equal(files.length, 4);
    for (const file of files) {
      assert.ok(out.includes(readFileSync(`${root}crds/${file}`, 'utf8').trim()), `the chart's copy of ${file} differs`);
    }
  });

  it('renders manifests the API server accepts (server-side dry run)', async () => {
    const out = await kubectl(cluster.kubeconfigPath, ['apply', '--dry-run=server', '-f', `${root}manifests/install.yaml`]);
    for (const kind of ['serviceaccount', 'clusterrole', 'clusterrolebinding', 'role', 'rolebinding', 'service', 'deployment']) {
      assert.match(out, new RegExp(`^${kind}[./]\\S* (created|configured|unchanged) \\(server dry run\\)$`, 'm'), `no ${kind} in:\n${out}`);
    }
  });

  it('passes only flags that `phoenix controller` accepts', () => {
    const rendered = execFileSync(helm, ['template', 'phoenix', `${root}helm/phoenix`, '--kube-version', '1.34.0', '--set', 'controller.watchNamespaces={a,b}', '--set', 'controller.allowedProxmoxHosts={pve.lab}'], { encoding: 'utf8' });
    const deployment = parseAllDocuments(rendered).map((d) => d.toJS()).find((d: { kind?: string }) => d?.kind === 'Deployment');
    const args: string[] = deployment.spec.template.spec.containers[0].args;
    assert.equal(args[0], 'controller');
    const { phoenix, rest } = splitPhoenixArgs(args.slice(1));
    assert.deepEqual(Object.keys(phoenix).sort(), ['allowed-proxmox-hosts', 'observe-period']);
    const config = parseRuntimeConfig(rest, {});
    assert.equal(config.leaderElection.enabled, true);
    assert.deepEqual(config.namespaces, ['a', 'b']);
    assert.equal(parsePhoenixOptions(phoenix, {}).allowHost('pve.lab'), true);
  });

  it('grants the controller what it needs and no write access to Secrets', async () => {
    const sa = 'system:serviceaccount:phoenix-system:phoenix';
    await kubectl(cluster.kubeconfigPath, ['apply', '-f', `${root}manifests/install.yaml`]);
    const can = async (verb: string, resource: string, ns = 'default') =>
      (await kubectl(cluster.kubeconfigPath, ['auth', 'can-i', verb, resource, '--as', sa, '-n', ns]).catch((e: { stdout?: string }) => e.stdout ?? '')).trim();
    assert.equal(await can('watch', 'phoenixvms.hypervisor.phoenix.io'), 'yes');
    assert.equal(await can('patch', 'phoenixlxcs.hypervisor.phoenix.io/status'), 'yes');
    assert.equal(await can('get', 'secrets'), 'yes');
    assert.equal(await can('create', 'events.events.k8s.io'), 'yes');
    assert.equal(await can('update', 'leases.coordination.k8s.io', 'phoenix-system'), 'yes');
    assert.equal(await can('update', 'secrets'), 'no');
    assert.equal(await can('delete', 'phoenixvms.hypervisor.phoenix.io'), 'no');
    assert.equal(await can('update', 'leases.coordination.k8s.io', 'default'), 'no');
  });
});
