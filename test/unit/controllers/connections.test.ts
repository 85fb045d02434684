import { strict as assert } from 'node:assert';
import { ConnectionRegistry } from '../../../src/controllers/hypervisor/connections.ts';
import type { PhoenixHypervisor } from '../../../src/api/objects.ts';
import { TerminalError } from '../../../src/runtime/errors.ts';

const hv = (spec: Record<string, unknown> = {}) => ({
  apiVersion: 'hypervisor.phoenix.io/v1alpha1', kind: 'PhoenixHypervisor', metadata: { name: 'pve' },
  spec: { proxmox: { url: 'https://127.0.0.1:8006', tokenSecretRef: { name: 't', namespace: 'phoenix' } }, ...spec },
}) as unknown as PhoenixHypervisor;

/** Counts the closes of a connection's client. */
function watchClose(client: { close(): void }): () => number {
  let closed = 0;
  const close = client.close.bind(client);
  Object.assign(client, { close: () => { closed++; close(); } });
  return () => closed;
}

describe('Proxmox connections', () => {
  it('keep one client while what it was built from stays, taking new settings and keeping the facts found', () => {
    const registry = new ConnectionRegistry();
    const first = registry.upsert(hv(), 'root@pam!phoenix=one');
    const closes = watchClose(first.client);
    registry.update('pve', { version: '9.1.1', nodes: ['pve'] });
    const again = registry.upsert(hv({ vmidRange: { min: 5000, max: 5009 }, concurrency: { createsPerNode: 1 } }), 'root@pam!phoenix=one');
    assert.equal(again.client, first.client, 'an unchanged endpoint got a new client');
    // A node without an address of its own in spec.ssh is reached at proxmox.url's host.
    assert.deepEqual(again.settings, { vmidRange: { min: 5000, max: 5009 }, createsPerNode: 1, createsPerStorage: 3, sshHost: '127.0.0.1' });
    assert.equal(again.version, '9.1.1', 'the version found by the last check was lost');
    assert.deepEqual(again.nodes, ['pve']);
    assert.equal(registry.get('pve'), again);
    assert.equal(closes(), 0);
    registry.close();
    assert.equal(closes(), 1);
    assert.equal(registry.get('pve'), undefined);
  });

  it('refuse a host --allowed-proxmox-hosts excludes, naming it', () => {
    const registry = new ConnectionRegistry(undefined, (host) => host === '127.0.0.1');
    assert.throws(() => registry.assertAllowed('https://pve.example.com:8006'), (err: unknown) => err instanceof TerminalError && err.reason === 'EndpointNotAllowed' && /may not connect to pve\.example\.com/.test(err.message));
    registry.assertAllowed('https://127.0.0.1:8006');
  });

  it('build a new client for a rotated token or another CA, closing the one it replaces', () => {
    const registry = new ConnectionRegistry();
    const first = registry.upsert(hv(), 'root@pam!phoenix=one');
    const firstCloses = watchClose(first.client);
    registry.update('pve', { version: '9.1.1', nodes: ['pve'] });
    const rotated = registry.upsert(hv(), 'root@pam!phoenix=two');
    assert.notEqual(rotated.client, first.client);
    assert.equal(firstCloses(), 1, 'the replaced client was not closed');
    assert.equal(rotated.version, undefined, 'a new client must be checked again before guests use it');
    const rotatedCloses = watchClose(rotated.client);
    const recertified = registry.upsert(hv({ proxmox: { url: 'https://127.0.0.1:8006', tokenSecretRef: { name: 't', namespace: 'phoenix' }, caBundle: '-----BEGIN CERTIFICATE-----' } }), 'root@pam!phoenix=two');
    assert.notEqual(recertified.client, rotated.client);
    assert.equal(rotatedCloses(), 1);
    registry.remove('pve');
    assert.equal(registry.get('pve'), undefined);
  });
});
