import { strict as assert } from 'node:assert';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { testCluster, type TestCluster } from '../../support/cluster.ts';
import { installPhoenixCrds } from '../../support/crds.ts';
import { kubectl } from '../../support/kubectl.ts';
import { apiGroup, apiVersion } from '../../../src/api/group.ts';
import { lxc } from './fixtures.ts';

const examples = fileURLToPath(new URL('../../../examples/', import.meta.url));
const namespace = 'crd-test';
const G = { group: apiGroup, version: apiVersion, plural: 'phoenixlxcs', namespace };

describe('CRDs on a real API server', function () {
  let cluster: TestCluster;
  let custom: k8s.CustomObjectsApi;

  before(async function () {
    this.timeout(30 * 60_000);
    cluster = await testCluster();
    await installPhoenixCrds(cluster.kc);
    custom = cluster.kc.makeApiClient(k8s.CustomObjectsApi);
    await cluster.kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } }).catch(() => undefined);
  });

  it('applies every example with kubectl (server-side validation and admission, strict fields)', async () => {
    const files = readdirSync(examples).filter((f) => f.endsWith('.yaml'));
    assert.ok(files.length >= 6, 'examples are missing');
    // A server-side dry run passes every admission step but persists nothing: the examples name
    // real-looking endpoints that no controller in a test run may ever try to reach. Namespaces
    // are created, never deleted: without a controller-manager one would stay Terminating.
    await cluster.kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name: 'phoenix-system' } } }).catch(() => undefined);
    const out = await kubectl(cluster.kubeconfigPath, ['apply', '--server-side', '--dry-run=server', '--field-manager=examples-test', '-f', examples, '-o', 'json']);
    const items = (JSON.parse(out) as { items: { kind: string; metadata: { name: string }; spec?: any }[] }).items;
    for (const kind of ['PhoenixHypervisor', 'PhoenixLXC', 'PhoenixVM', 'PhoenixStack']) {
      assert.ok(items.some((i) => i.kind === kind), `no ${kind} among the examples`);
    }
    const chain = items.find((i) => i.kind === 'PhoenixLXC' && i.metadata.name === 'copy-cuda');
    assert.equal(chain?.spec.source.clone.lxcRef.name, 'copy-base');
    assert.equal(chain?.spec.source.clone.snapshot, 'final-form');
    assert.equal(chain?.spec.unprivileged, true, 'API-server defaults were applied');
  });

  it('keeps status a subresource: a spec write cannot change status, a status write cannot change spec', async () => {
    const created = await custom.createNamespacedCustomObject({ ...G, body: lxc('status-split') });
    const generation = created.metadata.generation as number;

    const withStatus = structuredClone(created);
    withStatus.status = { vmid: 4242 };
    withStatus.spec.cores = 3;
    const afterSpecWrite = await custom.replaceNamespacedCustomObject({ ...G, name: 'status-split', body: withStatus });
    assert.equal(afterSpecWrite.spec.cores, 3);
    assert.equal(afterSpecWrite.status, undefined, 'a write to the main resource set status');
    assert.equal(afterSpecWrite.metadata.generation, generation + 1);

    const statusWrite = structuredClone(afterSpecWrite);
    statusWrite.status = { vmid: 4242, observedGeneration: generation + 1 };
    statusWrite.spec.cores = 8;
    const afterStatusWrite = await custom.replaceNamespacedCustomObjectStatus({ ...G, name: 'status-split', body: statusWrite });
    assert.equal(afterStatusWrite.status.vmid, 4242);
    assert.equal(afterStatusWrite.spec.cores, 3, 'a write to /status changed spec');
    assert.equal(afterStatusWrite.metadata.generation, generation + 1, 'a status write bumped the generation');
  });

  it('lists all four kinds with `kubectl get phoenix`, with each kind\'s columns filled from status', async () => {
    const created = await custom.createNamespacedCustomObject({ ...G, body: lxc('columns') });
    await custom.replaceNamespacedCustomObjectStatus({
      ...G,
      name: 'columns',
      body: {
        ...created,
        status: {
          observedGeneration: 1,
          vmid: 321,
          node: 'pve1',
          powerState: 'Running',
          ipAddresses: ['10.0.0.5'],
          conditions: [
            { type: 'Ready', status: 'True', reason: 'Converged', message: 'Running as specified', lastTransitionTime: new Date().toISOString() },
          ],
        },
      },
    });
    const lxcTable = await kubectl(cluster.kubeconfigPath, ['get', 'phoenixlxcs', '-n', namespace, 'columns']);
    const [header, row] = lxcTable.trim().split('\n');
    assert.deepEqual(header?.split(/\s{2,}/), ['NAME', 'READY', 'REASON', 'NODE', 'VMID', 'POWER', 'IP', 'PROVISIONED', 'AGE']);
    assert.match(row ?? '', /^columns\s+True\s+Converged\s+pve1\s+321\s+Running\s+10\.0\.0\.5\s+\d+s$/);
    const [wideHeader, wideRow] = (await kubectl(cluster.kubeconfigPath, ['get', 'phoenixlxcs', '-n', namespace, 'columns', '-o', 'wide'])).trim().split('\n');
    assert.deepEqual(wideHeader?.split(/\s{2,}/), ['NAME', 'READY', 'REASON', 'NODE', 'VMID', 'POWER', 'IP', 'PROVISIONED', 'AGE', 'MESSAGE']);
    assert.match(wideRow ?? '', /\s+\d+s\s+Running as specified$/);

    // A long error message stays out of the default table (it once ran past 115 characters) and is whole under -o wide.
    const longMessage = `Proxmox refused the clone: ${'storage quickOS-lxc-disks is locked by another task; '.repeat(5)}retrying`;
    const current = await custom.getNamespacedCustomObject({ ...G, name: 'columns' });
    await custom.replaceNamespacedCustomObjectStatus({
      ...G,
      name: 'columns',
      body: { ...current, status: { ...current.status, conditions: [{ type: 'Ready', status: 'False', reason: 'StorageLockTimeout', message: longMessage, lastTransitionTime: new Date().toISOString() }] } },
    });
    const failing = (await kubectl(cluster.kubeconfigPath, ['get', 'phoenixlxcs', '-n', namespace, 'columns', '--no-headers'])).trim();
    assert.match(failing, /^columns\s+False\s+StorageLockTimeout\s+pve1\s/);
    assert.ok(failing.length < 100, `the default row is ${failing.length} characters:\n${failing}`);
    const failingWide = (await kubectl(cluster.kubeconfigPath, ['get', 'phoenixlxcs', '-n', namespace, 'columns', '--no-headers', '-o', 'wide'])).trim();
    assert.ok(failingWide.endsWith(longMessage), `-o wide lacks the full message:\n${failingWide}`);

    // kubectl lists only kinds that have objects: one of each, made here.
    const apiVersionText = `${apiGroup}/${apiVersion}`;
    await custom.createNamespacedCustomObject({ group: apiGroup, version: apiVersion, plural: 'phoenixvms', namespace, body: { apiVersion: apiVersionText, kind: 'PhoenixVM', metadata: { name: 'columns-vm' }, spec: { hypervisorRef: { name: 'columns-hv' }, node: 'pve1', source: { blank: {} } } } });
    await custom.createNamespacedCustomObject({ group: apiGroup, version: apiVersion, plural: 'phoenixstacks', namespace, body: { apiVersion: apiVersionText, kind: 'PhoenixStack', metadata: { name: 'columns-stack' }, spec: { vmRef: { name: 'columns-vm' }, compose: { inline: 'services: {}' } } } });
    await custom.createClusterCustomObject({ group: apiGroup, version: apiVersion, plural: 'phoenixhypervisors', body: { apiVersion: apiVersionText, kind: 'PhoenixHypervisor', metadata: { name: 'columns-hv' }, spec: { proxmox: { url: 'https://127.0.0.1:9', tokenSecretRef: { name: 'none', namespace } } } } });
    const all = await kubectl(cluster.kubeconfigPath, ['get', 'phoenix', '--all-namespaces']);
    for (const resource of ['phoenixhypervisor', 'phoenixlxc', 'phoenixvm', 'phoenixstack']) {
      assert.match(all, new RegExp(`${resource}\\.${apiGroup.replace(/\./g, '\\.')}/`), `kubectl get phoenix did not list ${resource}:\n${all}`);
    }
    for (const [shortName, column] of [['phv', 'VERSION'], ['pvm', 'POWER'], ['pstack', 'STACK ID'], ['plxc', 'VMID']] as const) {
      const table = await kubectl(cluster.kubeconfigPath, ['get', shortName, '--all-namespaces']);
      assert.ok(table.split('\n')[0]?.includes(column), `${shortName} has no ${column} column:\n${table}`);
    }
    await custom.deleteClusterCustomObject({ group: apiGroup, version: apiVersion, plural: 'phoenixhypervisors', name: 'columns-hv' });
  });
});
