import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
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
  /** The chart rendered by `helm template` (defaults unless `args` say otherwise), as objects. */
  const docs = (args: string[] = []): any[] =>
    parseAllDocuments(execFileSync(helm, ['template', 'phoenix', `${root}helm/phoenix`, ...args], { encoding: 'utf8' })).map((d) => d.toJS()).filter(Boolean);

  before(async () => {
    helm = execFileSync('bash', [`${root}scripts/build-helm.sh`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    cluster = await testCluster();
    await installPhoenixCrds(cluster.kc);
    await cluster.kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name: 'phoenix-system' } } }).catch(() => undefined);
  });

  it('passes helm lint', () => {
    const out = execFileSync(helm, ['lint', `${root}helm/phoenix`, '--strict'], { encoding: 'utf8' });
    assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('is rendered by a helm that knows its version, with defaults alone (no --kube-version)', () => {
    assert.match(execFileSync(helm, ['version', '--short'], { encoding: 'utf8' }), /^v3\.21\.4\b/);
    assert.ok(docs().some((d) => d.kind === 'Deployment'));
  });

  it('ships, as templates kept on uninstall, the same CRDs as crds/', () => {
    const files = readdirSync(`${root}crds`);
    assert.equal(files.length, 4);
    const crds = docs().filter((d) => d.kind === 'CustomResourceDefinition');
    assert.equal(crds.length, 4);
    for (const file of files) {
      const plain = parse(readFileSync(`${root}crds/${file}`, 'utf8'));
      const templated = crds.find((c) => c.metadata.name === plain.metadata.name);
      assert.ok(templated, `no template for ${file}`);
      assert.equal(templated.metadata.annotations['helm.sh/resource-policy'], 'keep');
      assert.deepEqual(templated.spec, plain.spec, `the chart's copy of ${file} differs`);
    }
    assert.equal(docs(['--set', 'crds.install=false']).filter((d) => d.kind === 'CustomResourceDefinition').length, 0);
    assert.equal(docs(['--set', 'crds.keep=false']).find((d) => d.kind === 'CustomResourceDefinition').metadata.annotations, undefined);
  });

  it('renders a pod the API server admits under the restricted Pod Security Standard', async () => {
    const core = cluster.kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'chart-restricted', labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' } } } }).catch(() => undefined);
    const template = docs().find((d) => d.kind === 'Deployment').spec.template;
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'phoenix-restricted', namespace: 'chart-restricted', labels: template.metadata.labels }, spec: template.spec };
    const dir = mkdtempSync(join(tmpdir(), 'phoenix-pss-'));
    writeFileSync(join(dir, 'pod.yaml'), stringify(pod));
    const out = await kubectl(cluster.kubeconfigPath, ['create', '--dry-run=server', '-f', join(dir, 'pod.yaml')]);
    assert.match(out, /pod\/phoenix-restricted created \(server dry run\)/);
    // The oracle can refuse: the same pod allowed to escalate privileges is turned away.
    const loose = structuredClone(pod);
    loose.spec.containers[0].securityContext.allowPrivilegeEscalation = true;
    writeFileSync(join(dir, 'loose.yaml'), stringify(loose));
    await assert.rejects(kubectl(cluster.kubeconfigPath, ['create', '--dry-run=server', '-f', join(dir, 'loose.yaml')]), /violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
  });

  it('runs the image as the numeric user and group the chart declares, on a base pinned by digest', () => {
    const dockerfile = readFileSync(`${root}Dockerfile`, 'utf8');
    const user = /^USER\s+(\S+)\s*$/m.exec(dockerfile)?.[1] ?? '';
    // The kubelet can verify runAsNonRoot only for a numeric user ("image has non-numeric user").
    assert.match(user, /^\d+:\d+$/, `USER ${user} is not numeric uid:gid`);
    const [uid, gid] = user.split(':').map(Number);
    assert.notEqual(uid, 0);
    const spec = docs().find((d) => d.kind === 'Deployment').spec.template.spec;
    for (const context of [spec.securityContext, spec.containers[0].securityContext]) {
      assert.equal(context.runAsUser, uid);
      assert.equal(context.runAsGroup, gid);
      assert.equal(context.runAsNonRoot, true);
      assert.equal(context.seccompProfile.type, 'RuntimeDefault');
    }
    const args = new Map([...dockerfile.matchAll(/^ARG\s+(\w+)=(\S+)$/gm)].map((m) => [m[1], m[2]]));
    const bases = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]!.replace(/^\$\{(\w+)\}$/, (_, name: string) => args.get(name) ?? name));
    assert.ok(bases.length >= 2);
    for (const base of bases) assert.match(base, /^[\w./-]+:[\w.-]+@sha256:[a-f0-9]{64}$/, `FROM ${base} is not pinned by digest`);
  });

  it('pulls by digest when image.digest is set', () => {
    const digest = `sha256:${'ab'.repeat(32)}`;
    const image = docs(['--set', `image.digest=${digest}`]).find((d) => d.kind === 'Deployment').spec.template.spec.containers[0].image;
    assert.equal(image, `ghcr.io/phoenix-hypervisor/phoenix@${digest}`);
  });

  it('refuses bad values before anything reaches the cluster (values.schema.json)', () => {
    for (const [set, message] of [
      ['replicaCount=two', /replicaCount.*got string, want integer/],
      ['image.digest=latest', /image\/digest/],
      ['controller.logLevel=verbose', /logLevel/],
      ['controller.observePeriod=often', /observePeriod/],
      ['replicas=2', /additional properties 'replicas' not allowed/],
      ['extraArgs={verbose}', /extraArgs\/0/],
      ['controller.watchNamespaces={Bad_NS}', /watchNamespaces\/0/],
    ] as const) {
      const result = spawnSync(helm, ['template', 'phoenix', `${root}helm/phoenix`, '--set', set], { encoding: 'utf8' });
      assert.notEqual(result.status, 0, `--set ${set} rendered`);
      assert.match(result.stderr, message, `--set ${set}: ${result.stderr}`);
    }
    const twoWithoutLease = spawnSync(helm, ['template', 'phoenix', `${root}helm/phoenix`, '--set', 'controller.leaderElection.enabled=false'], { encoding: 'utf8' });
    assert.match(twoWithoutLease.stderr, /replicaCount > 1 needs controller.leaderElection.enabled/);
  });

  it('renders the values users of operator charts expect', () => {
    const rendered = docs([
      '--set', 'fullnameOverride=px', '--set', 'priorityClassName=system-cluster-critical', '--set', 'podLabels.team=infra',
      '--set', 'extraArgs={--queue-qps=20}', '--set', 'extraEnv[0].name=HTTPS_PROXY', '--set', 'extraEnv[0].value=http://proxy:3128',
      '--set', 'topologySpreadConstraints[0].maxSkew=1', '--set', 'topologySpreadConstraints[0].topologyKey=kubernetes.io/hostname', '--set', 'topologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway',
      '--set', 'metrics.serviceMonitor.enabled=true', '--set', 'metrics.serviceMonitor.labels.release=kps', '--set', 'metrics.serviceMonitor.interval=15s',
      '--set', 'metrics.prometheusRule.enabled=true', '--set', 'metrics.grafanaDashboard.enabled=true', '--set', 'controller.shutdownTimeoutSeconds=20',
    ]);
    const deployment = rendered.find((d) => d.kind === 'Deployment');
    const pod = deployment.spec.template;
    assert.equal(deployment.metadata.name, 'px');
    assert.equal(pod.spec.priorityClassName, 'system-cluster-critical');
    assert.equal(pod.metadata.labels.team, 'infra');
    assert.ok(pod.spec.containers[0].args.includes('--queue-qps=20'));
    assert.ok(pod.spec.containers[0].args.includes('--shutdown-timeout=20s'));
    assert.equal(pod.spec.terminationGracePeriodSeconds, 35, 'the grace period must outlast the shutdown timeout');
    assert.deepEqual(pod.spec.containers[0].env.find((e: { name: string }) => e.name === 'HTTPS_PROXY'), { name: 'HTTPS_PROXY', value: 'http://proxy:3128' });
    assert.equal(pod.spec.topologySpreadConstraints[0].topologyKey, 'kubernetes.io/hostname');
    assert.equal(rendered.find((d) => d.kind === 'PodDisruptionBudget').spec.maxUnavailable, 1);
    const monitor = rendered.find((d) => d.kind === 'ServiceMonitor');
    assert.equal(monitor.metadata.labels.release, 'kps');
    assert.equal(monitor.spec.endpoints[0].interval, '15s');
    assert.ok(rendered.find((d) => d.kind === 'PrometheusRule').spec.groups[0].rules.length >= 5);
    assert.equal(JSON.parse(rendered.find((d) => d.kind === 'ConfigMap').data['phoenix.json']).uid, 'phoenix-operator');
    assert.equal(docs(['--set', 'replicaCount=1']).find((d) => d.kind === 'PodDisruptionBudget'), undefined, 'a PDB for one replica blocks every drain');
    assert.deepEqual(docs(['--set', 'rbac.create=false']).filter((d) => /Role/.test(d.kind)), []);
  });

  it('grants namespaced Roles only, with watchNamespaces, and reads hypervisor Secrets in the release namespace', () => {
    const rendered = docs(['--namespace', 'ops', '--set', 'controller.watchNamespaces={team-a,team-b}', '--set', 'controller.credentialsNamespaces={vault-sync}']);
    const clusterRole = rendered.find((d) => d.kind === 'ClusterRole');
    assert.deepEqual([...new Set(clusterRole.rules.flatMap((r: { resources: string[] }) => r.resources))].sort(), ['namespaces', 'phoenixhypervisors', 'phoenixhypervisors/finalizers', 'phoenixhypervisors/status']);
    // Namespaces are only read (a hypervisor's allowedNamespaces selects them by label).
    assert.deepEqual(clusterRole.rules.find((r: { resources: string[] }) => r.resources.includes('namespaces')).verbs, ['get', 'list', 'watch']);
    const roles = rendered.filter((d) => d.kind === 'Role').map((r) => `${r.metadata.namespace}/${r.metadata.name}: ${r.rules.flatMap((rule: { resources: string[] }) => rule.resources).join(',')}`).sort();
    assert.deepEqual(roles, [
      'default/phoenix-events: events',
      'ops/phoenix-credentials: secrets',
      'ops/phoenix-leader-election: leases',
      'team-a/phoenix-watched: phoenixlxcs,phoenixvms,phoenixstacks,phoenixlxcs/status,phoenixvms/status,phoenixstacks/status,phoenixlxcs/finalizers,phoenixvms/finalizers,phoenixstacks/finalizers,configmaps,secrets,events',
      'team-b/phoenix-watched: phoenixlxcs,phoenixvms,phoenixstacks,phoenixlxcs/status,phoenixvms/status,phoenixstacks/status,phoenixlxcs/finalizers,phoenixvms/finalizers,phoenixstacks/finalizers,configmaps,secrets,events',
      'vault-sync/phoenix-credentials: secrets',
    ]);
    assert.equal(rendered.filter((d) => d.kind === 'RoleBinding').length, 6);
    const args: string[] = rendered.find((d) => d.kind === 'Deployment').spec.template.spec.containers[0].args;
    assert.ok(args.includes('--credentials-namespaces=ops,vault-sync'), args.join(' '));
  });

  it('writes install.yaml without the CRDs (in crds/) and without Helm\'s labels', () => {
    const text = readFileSync(`${root}manifests/install.yaml`, 'utf8');
    assert.doesNotMatch(text, /helm\.sh\/chart|managed-by: Helm/);
    assert.doesNotMatch(text, /kind: CustomResourceDefinition/);
  });

  it('prints NOTES whose commands and links work', () => {
    // This cluster's CRDs are not Helm's, so the dry run leaves them out (the lifecycle test installs them).
    for (const values of [['--set', 'crds.install=false'], ['--set', 'crds.install=false', '--set', 'controller.watchNamespaces={lab}']]) {
      const notes = execFileSync(helm, ['install', 'phoenix', `${root}helm/phoenix`, '--dry-run=client', '--kubeconfig', cluster.kubeconfigPath, '--namespace', 'phoenix-system', ...values], { encoding: 'utf8' }).split('NOTES:')[1] ?? '';
      assert.doesNotMatch(notes, /\/tree\//, 'a GitHub page is not a manifest kubectl can apply');
      const links = [...notes.matchAll(/https:\/\/raw\.githubusercontent\.com\/phoenix-hypervisor\/phoenix\/v[\d.]+\/(\S+)/g)].map((m) => m[1]!);
      assert.ok(links.length >= 1);
      for (const path of links) assert.ok(existsSync(`${root}${path}`), `NOTES link to ${path}, which the repository does not have`);
      assert.match(notes, /kubectl -n phoenix-system rollout status deployment\/phoenix/);
    }
  });

  it('renders manifests the API server accepts (server-side dry run)', async () => {
    const out = await kubectl(cluster.kubeconfigPath, ['apply', '--dry-run=server', '-f', `${root}manifests/install.yaml`]);
    for (const kind of ['serviceaccount', 'clusterrole', 'clusterrolebinding', 'role', 'rolebinding', 'service', 'deployment']) {
      assert.match(out, new RegExp(`^${kind}[./]\\S* (created|configured|unchanged) \\(server dry run\\)$`, 'm'), `no ${kind} in:\n${out}`);
    }
  });

  it('passes only flags that `phoenix controller` accepts', () => {
    const deployment = docs(['--set', 'controller.watchNamespaces={a,b}', '--set', 'controller.allowedProxmoxHosts={pve.lab}']).find((d) => d.kind === 'Deployment');
    const args: string[] = deployment.spec.template.spec.containers[0].args;
    assert.equal(args[0], 'controller');
    const { phoenix, rest } = splitPhoenixArgs(args.slice(1));
    assert.deepEqual(Object.keys(phoenix).sort(), ['allowed-proxmox-hosts', 'observe-period']);
    const config = parseRuntimeConfig(rest, {});
    assert.equal(config.leaderElection.enabled, true);
    assert.deepEqual(config.namespaces, ['a', 'b']);
    assert.deepEqual(config.credentialsNamespaces, ['default']);
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
    assert.equal(await can('watch', 'leases.coordination.k8s.io', 'phoenix-system'), 'yes');
    assert.equal(await can('update', 'secrets'), 'no');
    assert.equal(await can('delete', 'phoenixvms.hypervisor.phoenix.io'), 'no');
    assert.equal(await can('update', 'leases.coordination.k8s.io', 'default'), 'no');
  });
});
