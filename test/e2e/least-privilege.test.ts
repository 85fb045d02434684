import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import { testCluster, type TestCluster } from '../support/cluster.ts';
import { installPhoenixCrds, eventually } from '../support/crds.ts';
import { kubectl } from '../support/kubectl.ts';
import { waitReady } from '../support/phoenix.ts';
import { seedExamplesHost } from '../support/hosts.ts';
import { startProxmoxSimulator, type RunningSimulator } from '../../src/sim/proxmox/index.ts';
import { Manager } from '../../src/runtime/manager.ts';
import { parseRuntimeConfig } from '../../src/runtime/config.ts';
import { createLogger } from '../../src/runtime/logging.ts';
import { splitPhoenixArgs } from '../../src/controllers/options.ts';
import { createPhoenixControllers, loopbackOnly, type PhoenixControllers } from '../../src/controllers/phoenix.ts';
import { apiGroup, apiVersion } from '../../src/api/group.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const release = 'lp-system';
const guests = 'lp-guests';
const hypervisor = 'lp-pve';
const guestFiles = ['10-lxc-golden-chain.yaml', '11-lxc-step-ca.yaml', '20-vm-cloud-template.yaml', '21-vm-docker-host.yaml'];

/**
 * The controller under the chart's own ServiceAccount and RBAC, rendered with watchNamespaces,
 * through the guest examples: every request it makes must be allowed (no 403), and the
 * ServiceAccount must be refused what Phoenix has no business doing.
 */
describe('least privilege: the controller under the chart\'s ServiceAccount', function () {
  this.timeout(6 * 60_000);
  let cluster: TestCluster;
  let sim: RunningSimulator;
  let saKubeconfig: string;
  const managers: Manager[] = [];
  const phoenixes: PhoenixControllers[] = [];
  const forbidden: string[] = [];
  const requests: string[] = [];
  const logLines: Record<string, unknown>[] = [];

  before(async function () {
    this.timeout(30 * 60_000);
    cluster = await testCluster();
    await installPhoenixCrds(cluster.kc);
    const core = cluster.kc.makeApiClient(k8s.CoreV1Api);
    for (const name of [release, guests, 'lp-elsewhere']) await core.createNamespace({ body: { metadata: { name } } }).catch(() => undefined);

    // The chart as a user installs it, minus the CRDs (already installed for the whole run).
    const helm = execFileSync('bash', [`${root}scripts/build-helm.sh`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    const rendered = execFileSync(helm, ['template', 'lp', `${root}helm/phoenix`, '--namespace', release, '--set', 'crds.install=false', '--set', `controller.watchNamespaces={${guests}}`], { encoding: 'utf8' });
    const documents = parseAllDocuments(rendered).map((d) => d.toJS()).filter(Boolean);
    const dir = mkdtempSync(join(tmpdir(), 'phoenix-lp-'));
    writeFileSync(join(dir, 'chart.yaml'), rendered);
    await kubectl(cluster.kubeconfigPath, ['apply', '-f', join(dir, 'chart.yaml')]);

    // A token for the chart's ServiceAccount, as the kubelet would mount it.
    const serviceAccount = documents.find((d) => d.kind === 'ServiceAccount').metadata.name as string;
    const token = (await kubectl(cluster.kubeconfigPath, ['create', 'token', serviceAccount, '-n', release, '--duration', '1h'])).trim();
    const cluster0 = cluster.kc.getCurrentCluster()!;
    const sa = new k8s.KubeConfig();
    sa.loadFromOptions({
      clusters: [{ name: 'c', server: cluster0.server, ...(cluster0.caData ? { caData: cluster0.caData } : {}), ...(cluster0.caFile ? { caFile: cluster0.caFile } : {}), skipTLSVerify: cluster0.skipTLSVerify }],
      users: [{ name: serviceAccount, token }],
      contexts: [{ name: 'sa', cluster: 'c', user: serviceAccount }],
      currentContext: 'sa',
    });
    saKubeconfig = join(dir, 'kubeconfig');
    writeFileSync(saKubeconfig, sa.exportConfig(), { mode: 0o600 });

    // The Proxmox host the examples describe.
    sim = await startProxmoxSimulator({ seed: 42, speed: 200 });
    seedExamplesHost(sim);

    // Two replicas, with the Deployment's own arguments: one leads, the other watches the Lease.
    const deployment = documents.find((d) => d.kind === 'Deployment');
    const args: string[] = deployment.spec.template.spec.containers[0].args.slice(1);
    const { rest } = splitPhoenixArgs(args);
    for (const identity of ['lp-a', 'lp-b']) {
      const config = parseRuntimeConfig([...rest, '--metrics-bind-address=0', '--health-probe-bind-address=0', '--retry-period=500ms', '--renew-deadline=2s', '--lease-duration=3s'], { POD_NAME: identity, POD_NAMESPACE: release });
      const stream = new Writable({
        write(chunk: Buffer, _encoding, done) {
          for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push({ replica: identity, ...(JSON.parse(line) as Record<string, unknown>) });
          done();
        },
      });
      const manager = new Manager({ config, kubeConfig: sa, logger: createLogger({ format: 'json', level: 'info', stream }) });
      manager.client.onRequest((r) => {
        const line = `${identity} ${r.verb} ${r.resource}${r.subresource ? `/${r.subresource}` : ''} ${r.code}`;
        requests.push(line);
        if (r.code === 403) forbidden.push(line);
      });
      const phoenix = createPhoenixControllers({ observePeriodMs: 60_000, externalCalls: manager.metrics, registry: manager.metrics.registry, allowHost: loopbackOnly });
      for (const definition of phoenix.definitions) await manager.addController(definition);
      await manager.start();
      managers.push(manager);
      phoenixes.push(phoenix);
    }

    // The hypervisor's token lives in the release namespace, not in a watched one.
    await core.createNamespacedSecret({ namespace: release, body: { metadata: { name: 'pve-token' }, stringData: { token: `${sim.token.fullId}=${sim.token.secret}` } } });
    await cluster.kc.makeApiClient(k8s.CustomObjectsApi).createClusterCustomObject({
      group: apiGroup,
      version: apiVersion,
      plural: 'phoenixhypervisors',
      body: { apiVersion: `${apiGroup}/${apiVersion}`, kind: 'PhoenixHypervisor', metadata: { name: hypervisor }, spec: { proxmox: { url: sim.url, tokenSecretRef: { name: 'pve-token', namespace: release } } } },
    });
  });

  after(async () => {
    for (const manager of managers) await manager.stop();
    for (const phoenix of phoenixes) phoenix.close();
    await cluster?.kc.makeApiClient(k8s.CustomObjectsApi).deleteClusterCustomObject({ group: apiGroup, version: apiVersion, plural: 'phoenixhypervisors', name: hypervisor }).catch(() => undefined);
    await sim?.close();
  });

  const custom = () => cluster.kc.makeApiClient(k8s.CustomObjectsApi);
  const env = () => ({ custom: custom(), namespace: guests });

  it('converges the hypervisor (token in the release namespace) and every guest example with 0 forbidden responses', async () => {
    await waitReady(env(), 'phoenixhypervisors', hypervisor, 2 * 60_000);
    // The examples as written, pointed at this test's hypervisor.
    const dir = mkdtempSync(join(tmpdir(), 'phoenix-lp-example-'));
    for (const file of guestFiles) {
      const objects = parseAllDocuments(readFileSync(`${root}examples/${file}`, 'utf8')).map((d) => d.toJS()).filter(Boolean);
      for (const object of objects) if (object.spec?.hypervisorRef) object.spec.hypervisorRef.name = hypervisor;
      writeFileSync(join(dir, file), objects.map((o) => stringify(o)).join('---\n'));
      await kubectl(cluster.kubeconfigPath, ['apply', '-n', guests, '-f', join(dir, file)]);
    }
    for (const file of guestFiles) {
      for (const document of parseAllDocuments(readFileSync(`${root}examples/${file}`, 'utf8'))) {
        const object = document.toJS();
        if (object?.kind === 'PhoenixLXC' || object?.kind === 'PhoenixVM') await waitReady(env(), object.kind === 'PhoenixLXC' ? 'phoenixlxcs' : 'phoenixvms', object.metadata.name, 4 * 60_000);
      }
    }
    // A standby existed the whole time, watching the Lease for a release.
    assert.equal(managers.filter((m) => m.isLeader).length, 1, 'exactly one replica leads');
    assert.ok(requests.some((r) => r.includes(' watch leases.coordination.k8s.io ')), 'the standby never watched the Lease');
    process.stdout.write(`      [least-privilege] ${requests.length} API requests by two replicas, ${forbidden.length} forbidden\n`);
    assert.deepEqual(forbidden, [], `forbidden responses:\n${forbidden.join('\n')}`);
    for (const manager of managers) assert.doesNotMatch(await manager.metrics.registry.metrics(), /rest_client_requests_total\{code="403"/);
  });

  it('holds the contents of referenced Secrets only; an unrelated Secret is never read', async () => {
    const leader = managers.find((m) => m.isLeader)!;
    const gauge = async (resource: string) => Number(new RegExp(`phoenix_informer_cached_objects\\{resource="${resource.replace('.', '\\.')}"\\} (\\d+)`).exec(await leader.metrics.registry.metrics())?.[1]);
    const held = await gauge('secrets');
    const known = await gauge('secrets.metadata');
    const before = requests.length;
    await cluster.kc.makeApiClient(k8s.CoreV1Api).createNamespacedSecret({ namespace: guests, body: { metadata: { name: 'unrelated' }, stringData: { password: 'not-for-phoenix' } } });
    await eventually('the new Secret is known by name', async () => (await gauge('secrets.metadata')) === known + 1);
    assert.equal(await gauge('secrets'), held, 'an unrelated Secret\'s contents were cached');
    assert.ok(!requests.slice(before).some((r) => / get secrets /.test(r)), 'an unrelated Secret was read');
    // Exactly the referenced ones: the hypervisor's token, and the VM example's cloud-init Secret.
    assert.equal(held, 2);
  });

  it('logs one info line per change it made in Proxmox, naming the guest and the task, and no error stacks', () => {
    const changes = logLines.filter((l) => l['level'] === 'info' && typeof l['message'] === 'string' && (l['message'] as string).startsWith('Proxmox change: '));
    const creates = changes.filter((l) => l['method'] === 'POST' && /^\/nodes\/[^/]+\/(lxc|qemu)$|\/clone$/.test(String(l['path'])));
    assert.ok(creates.length >= 5, `only ${creates.length} create/clone lines:\n${changes.map((l) => l['message']).join('\n')}`);
    for (const line of creates) {
      assert.match(String(line['guest']), /^\d+$/, `no guest in ${JSON.stringify(line)}`);
      assert.match(String(line['task']), /^UPID:/, `no task in ${JSON.stringify(line)}`);
      assert.ok(line['kind'] && line['object'], `no object context in ${JSON.stringify(line)}`);
      assert.ok(!JSON.stringify(line).includes(sim.token.secret), 'the token leaked');
    }
    const stacks = logLines.filter((l) => typeof l['stack'] === 'string');
    assert.deepEqual(stacks.map((l) => l['message']), [], 'a line at info or above carried a stack');
  });

  it('is refused what Phoenix has no business doing', async () => {
    const refused = async (args: string[]) => {
      const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.env['PHOENIX_KUBECTL'] ?? 'kubectl', ['--kubeconfig', saKubeconfig, ...args]);
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', (code) => resolve({ code, stderr }));
      });
      assert.notEqual(result.code, 0, `allowed: kubectl ${args.join(' ')}`);
      assert.match(result.stderr, /forbidden/i, `kubectl ${args.join(' ')}: ${result.stderr}`);
    };
    await cluster.kc.makeApiClient(k8s.CoreV1Api).createNamespacedSecret({ namespace: 'lp-elsewhere', body: { metadata: { name: 'not-yours' }, stringData: { key: 'value' } } }).catch(() => undefined);
    await refused(['get', 'secret', 'not-yours', '-n', 'lp-elsewhere']);
    await refused(['get', 'secrets', '--all-namespaces']);
    await refused(['get', 'secrets', '-n', 'kube-system']);
    await refused(['create', 'secret', 'generic', 'planted', '-n', guests, '--from-literal=a=b']);
    await refused(['delete', 'secret', 'pve-token', '-n', release]);
    await refused(['get', 'phoenixlxcs', '-n', 'lp-elsewhere']);
    await refused(['delete', 'phoenixlxc', 'copy-base', '-n', guests]);
    await refused(['get', 'leases', '-n', guests]);
    await refused(['get', 'pods', '-n', guests]);
    await refused(['get', 'configmaps', '-n', 'lp-elsewhere']);
    await refused(['create', 'clusterrolebinding', 'escalate', '--clusterrole=cluster-admin', '--user=me']);
  });
});
