import { strict as assert } from 'node:assert';
import { startProxmoxSimulator, type RunningSimulator } from '../../src/sim/proxmox/index.ts';
import { createProxmoxClient, type ProxmoxClient } from '../../src/clients/proxmox/client.ts';
import { ProxmoxApiError, isProxmoxError } from '../../src/clients/proxmox/errors.ts';
import { endpointGroup } from '../../src/clients/proxmox/endpoint-group.ts';
import type { ExternalCall } from '../../src/runtime/metrics.ts';

async function rejection(promise: Promise<unknown>): Promise<ProxmoxApiError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ProxmoxApiError, `not a ProxmoxApiError: ${String(err)}`);
    return err;
  }
  assert.fail('the call succeeded');
}

const createParams = (vmid: number) => ({
  vmid,
  ostemplate: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst',
  rootfs: 'local-lvm:4',
  hostname: `ct${vmid}`,
});

describe('Proxmox client (proxmox-api proxy over Phoenix\'s transport) against the simulator', () => {
  let sim: RunningSimulator;
  let client: ProxmoxClient;
  const calls: ExternalCall[] = [];

  before(async () => {
    sim = await startProxmoxSimulator({ seed: 1, speed: 1000 });
    client = createProxmoxClient({ url: sim.url, token: sim.token.fullId + '=' + sim.token.secret, recorder: { recordExternalCall: (c) => calls.push(c) } });
  });

  after(async () => {
    client.close();
    await sim.close();
  });

  it('reads the version with an API token and reports the call to metrics', async () => {
    const version = await client.api.version.$get();
    assert.match(String(version.version), /^9\.1/);
    assert.deepEqual(calls.at(-1) && { ...calls.at(-1), durationSeconds: 0 }, { system: 'proxmox', endpointGroup: 'version.get', statusCode: 200, durationSeconds: 0 });
  });

  it('maps a missing guest (Proxmox\'s 500) to NotFound', async () => {
    const err = await rejection(client.api.nodes.$('pve').lxc.$(4242).config.$get());
    assert.equal(err.kind, 'NotFound');
    assert.equal(err.status, 500);
    assert.match(err.message, /Configuration file 'nodes\/pve\/lxc\/4242.conf' does not exist/);
  });

  it('maps a 400 to InvalidParameter with the field that is wrong', async () => {
    const err = await rejection(client.api.nodes.$('pve').lxc.$post({ ...createParams(300), memory: 'lots' } as never));
    assert.equal(err.kind, 'InvalidParameter');
    assert.ok('memory' in err.fieldErrors, JSON.stringify(err.fieldErrors));
  });

  it('maps a taken VMID to AlreadyExists, so a racing creator can pick another id', async () => {
    await client.api.nodes.$('pve').lxc.$post(createParams(301));
    const err = await rejection(client.api.nodes.$('pve').lxc.$post(createParams(301)));
    assert.equal(err.kind, 'AlreadyExists');
  });

  it('never sends a create twice when the connection drops after Proxmox acted', async () => {
    sim.admin.resetCounters();
    sim.admin.injectFault({ kind: 'drop', when: 'after', method: 'POST', path: '/nodes/{node}/lxc', count: 1 });
    const err = await rejection(client.api.nodes.$('pve').lxc.$post(createParams(302)));
    assert.equal(err.kind, 'Unavailable');
    const posts = Object.entries(sim.admin.counters().byEndpoint).filter(([k]) => k.startsWith('POST') && k.endsWith('/nodes/{node}/lxc'));
    assert.deepEqual(posts.map(([, n]) => n), [1]);
    assert.ok(sim.admin.guest(302), 'the server did act: the guest exists, so a retry would have collided');
  });

  it('retries a read whose connection dropped before the server answered', async () => {
    sim.admin.injectFault({ kind: 'drop', when: 'before', method: 'GET', path: '/version', count: 1 });
    const version = await client.api.version.$get();
    assert.ok(version.version);
  });

  it('sends nothing through a view whose signal is aborted (a lost lease, a shutdown)', async () => {
    const lease = new AbortController();
    const scoped = client.scoped(lease.signal);
    assert.ok((await scoped.api.version.$get()).version, 'the view works while the signal is live');
    sim.admin.resetCounters();
    lease.abort();
    const err = await rejection(scoped.api.nodes.$('pve').lxc.$post(createParams(310) as never));
    assert.equal(err.kind, 'Unavailable');
    assert.match(err.message, /not sent/);
    assert.equal(sim.admin.counters().total, 0, 'a request reached Proxmox after the abort');
    assert.equal(sim.admin.guest(310), undefined);
    assert.ok((await client.api.version.$get()).version, 'the shared client itself goes on');
  });

  it('cuts a request in flight when the signal is aborted', async () => {
    const lease = new AbortController();
    const scoped = client.scoped(lease.signal);
    sim.admin.resetCounters();
    sim.admin.injectFault({ kind: 'latency', realMs: 5_000, when: 'before', method: 'GET', path: '/nodes/{node}/lxc/{vmid}/config', count: 1 });
    const pending = rejection(scoped.api.nodes.$('pve').lxc.$(301).config.$get());
    while ((sim.admin.counters().byEndpoint['GET /nodes/{node}/lxc/{vmid}/config'] ?? 0) === 0) await new Promise((resolve) => setImmediate(resolve));
    lease.abort();
    const err = await pending;
    assert.equal(err.kind, 'Unavailable');
    // Cut, and not sent again (a read is otherwise retried once after a lost connection).
    assert.match(err.message, /not sent|cut/);
    assert.equal(sim.admin.counters().byEndpoint['GET /nodes/{node}/lxc/{vmid}/config'], 1);
  });

  it('names endpoints without ids in metrics', () => {
    assert.equal(endpointGroup('/api2/json/nodes/*/qemu/*/status/start'), 'qemu.status.start');
    assert.equal(endpointGroup('/api2/json/cluster/resources'), 'cluster.resources');
  });

  it('keeps the token secret out of errors', async () => {
    const bad = createProxmoxClient({ url: sim.url, token: `${sim.token.fullId}=00000000-0000-0000-0000-000000000000` });
    const err = await rejection(bad.api.version.$get());
    bad.close();
    assert.equal(err.kind, 'Unauthorized');
    assert.ok(!err.message.includes(sim.token.secret) && !err.message.includes('00000000-0000-0000-0000-000000000000'), err.message);
  });

  describe('over HTTPS', () => {
    let tls: RunningSimulator;
    before(async () => {
      tls = await startProxmoxSimulator({ seed: 2, https: true });
    });
    after(async () => tls.close());
    const token = () => `${tls.token.fullId}=${tls.token.secret}`;

    it('verifies the server against the given CA bundle', async () => {
      const c = createProxmoxClient({ url: tls.url, token: token(), caBundle: tls.certificate });
      assert.ok((await c.api.version.$get()).version);
      c.close();
    });

    it('refuses a certificate it cannot verify, unless insecure is asked for explicitly', async () => {
      const strict = createProxmoxClient({ url: tls.url, token: token() });
      const err = await rejection(strict.api.version.$get());
      strict.close();
      assert.equal(err.kind, 'Unavailable');
      assert.match(err.message, /self[- ]signed|certificate/i);
      const insecure = createProxmoxClient({ url: tls.url, token: token(), insecureSkipTLSVerify: true });
      assert.ok((await insecure.api.version.$get()).version);
      insecure.close();
      assert.ok(isProxmoxError(err, 'Unavailable'));
    });
  });
});
