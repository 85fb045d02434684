import { strict as assert } from 'node:assert';
import * as k8s from '@kubernetes/client-node';
import { containerEngineUnavailable, startK3s } from '../support/cluster.ts';
import { installPhoenixCrds } from '../support/crds.ts';
import { apiGroup, apiVersion } from '../../src/api/group.ts';
import { lxc } from './api/fixtures.ts';

describe('k3s through testcontainers (needs a Docker engine)', function () {
  this.timeout(10 * 60_000);
  let stop: (() => Promise<void>) | undefined;
  let kc: k8s.KubeConfig;

  before(async function () {
    const reason = await containerEngineUnavailable();
    if (reason) {
      // Printed, never silent: this machine has no Docker engine, so the k3s path cannot run.
      process.stdout.write(`      [k3s] skipped: ${reason}\n`);
      this.skip();
    }
    const k3s = await startK3s();
    stop = k3s.stop;
    kc = k3s.kc;
  });

  after(async () => stop?.());

  it('installs the Phoenix CRDs on k3s and enforces their rules there too', async () => {
    await installPhoenixCrds(kc);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const G = { group: apiGroup, version: apiVersion, plural: 'phoenixlxcs', namespace: 'default' };
    await custom.createNamespacedCustomObject({ ...G, body: lxc('k3s-ok') });
    const bad = lxc('k3s-bad');
    bad.spec['vmid'] = 1;
    await assert.rejects(custom.createNamespacedCustomObject({ ...G, body: bad }), /spec\.vmid/);
  });
});
