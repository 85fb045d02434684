import { strict as assert } from 'node:assert';
import * as k8s from '@kubernetes/client-node';
import { KubeClient } from '../../src/runtime/kube-client.ts';
import { testCluster } from '../support/cluster.ts';
import { installWidgetCrd, widgets } from './support.ts';

describe('runtime: kube client endpoint against a real kube-apiserver', function () {
  before(async function () {
    this.timeout(30 * 60_000);
    const client = new KubeClient((await testCluster()).kc);
    await installWidgetCrd(client);
    client.close();
  });

  it('does not keep a failed endpoint: once the kubeconfig is usable, the next request works', async () => {
    const kc = new k8s.KubeConfig();
    const client = new KubeClient(kc);
    await assert.rejects(client.list(widgets), /no current cluster/);
    kc.loadFromString((await testCluster()).kc.exportConfig());
    const list = await client.list(widgets);
    assert.ok(Array.isArray(list.items));
    client.close();
  });

  it('closes without an unhandled rejection when the endpoint never resolved', async () => {
    const rejections: unknown[] = [];
    const listener = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', listener);
    try {
      const client = new KubeClient(new k8s.KubeConfig());
      await assert.rejects(client.list(widgets), /no current cluster/);
      client.close();
      // Let any rejection the close left behind surface before looking.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', listener);
    }
    assert.deepEqual(rejections, []);
  });
});
