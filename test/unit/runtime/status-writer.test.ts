import { strict as assert } from 'node:assert';
import type { KubeClient } from '../../../src/runtime/kube-client.ts';
import type { KubeObject, ResourceType } from '../../../src/runtime/resource.ts';
import { StatusWriter } from '../../../src/runtime/status-writer.ts';

const resource: ResourceType = { group: 'x.io', version: 'v1', plural: 'things', kind: 'Thing', namespaced: true };

describe('runtime: status writer memory', () => {
  it('keeps a written object only until the cache shows the write', async () => {
    let version = 10;
    const client = {
      mergePatch: async (_r: unknown, _ref: unknown, patch: { status: unknown }) => ({ metadata: { name: 'a', namespace: 'ns', uid: 'u1', resourceVersion: String(++version), generation: 1 }, status: patch.status }),
    } as unknown as KubeClient;
    const status = new StatusWriter(client);
    const cached: KubeObject = { metadata: { name: 'a', namespace: 'ns', uid: 'u1', resourceVersion: '10', generation: 1 } };
    const { object: written } = await status.update(resource, cached, { phase: 'reconciling', reason: 'Creating', message: 'creating' });
    assert.equal(status.remembered, 1);
    assert.equal(status.freshest(cached), written, 'a reconcile before the watch delivers the write sees the write');
    status.seen(cached);
    assert.equal(status.remembered, 1, 'the cache still shows the version the write replaced');
    status.seen(written);
    assert.equal(status.remembered, 0, 'the cache caught up: nothing more is kept');
    assert.equal(status.freshest(written), written);
  });
});
