import { strict as assert } from 'node:assert';
import { PortainerConnections } from '../../../src/controllers/stacks/portainer-connections.ts';
import type { PhoenixHypervisor } from '../../../src/api/objects.ts';
import type { SecretObject } from '../../../src/controllers/secrets.ts';
import { TerminalError } from '../../../src/runtime/errors.ts';

const hv = (url: string) => ({
  apiVersion: 'hypervisor.phoenix.io/v1alpha1', kind: 'PhoenixHypervisor', metadata: { name: 'pve' },
  spec: { proxmox: { url: 'https://127.0.0.1:8006', tokenSecretRef: { name: 't', namespace: 'phoenix' } }, portainer: { url, apiKeySecretRef: { name: 'key', namespace: 'phoenix' } } },
}) as unknown as PhoenixHypervisor;

const secrets = {
  get: (key: string): SecretObject | undefined =>
    key === 'phoenix/key' ? ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'key', namespace: 'phoenix' }, data: { apiKey: Buffer.from('ptr_test').toString('base64') } } as SecretObject) : undefined,
};

describe('Portainer connections', () => {
  const loopbackOnly = (host: string) => host === '127.0.0.1';

  it('refuse a host --allowed-proxmox-hosts excludes, for every caller, before building a client', () => {
    const connections = new PortainerConnections(undefined, loopbackOnly);
    assert.throws(() => connections.connect(hv('https://portainer.example.com:9443'), secrets), (err: unknown) => err instanceof TerminalError && err.reason === 'EndpointNotAllowed');
    const allowed = connections.connect(hv('http://127.0.0.1:9000'), secrets);
    assert.equal(allowed?.url, 'http://127.0.0.1:9000');
    assert.equal(connections.connect(hv('http://127.0.0.1:9000/'), secrets), allowed, 'the same endpoint and key got a new connection');
    connections.close();
  });

  it('say so in the hypervisor status note instead of contacting the host', async () => {
    const connections = new PortainerConnections(undefined, loopbackOnly);
    const described = await connections.describe(hv('https://portainer.example.com:9443'), secrets);
    assert.equal(described.version, undefined);
    assert.match(described.note, /may not connect to Portainer at portainer\.example\.com/);
    connections.close();
  });
});
