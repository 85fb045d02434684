import { strict as assert } from 'node:assert';
import * as k8s from '@kubernetes/client-node';
import { startPhoenix, apply, waitReady, getObject, waitCondition, stalledWith, readyAtGeneration, G, type PhoenixEnv } from '../support/phoenix.ts';
import { eventually } from '../support/crds.ts';
import { ownershipOf } from '../../src/guests/marker.ts';

describe('PhoenixLXC lifecycle (real API server + simulator)', function () {
  this.timeout(120_000);
  let env: PhoenixEnv;

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({ name: 'e2e-lxc' });
  });

  after(async () => env?.stop());

  it('reports the hypervisor Ready with its version and nodes', async () => {
    const hv = await getObject(env, 'phoenixhypervisors', env.hypervisor);
    assert.match(hv.status.proxmoxVersion, /^9\.1/);
    assert.deepEqual(hv.status.nodes.map((n: { name: string; status: string }) => [n.name, n.status]), [['pve', 'online']]);
  });

  it('picks up a changed token Secret without a restart', async () => {
    const core = env.cluster.kc.makeApiClient(k8s.CoreV1Api);
    const good = `${env.sim.token.fullId}=${env.sim.token.secret}`;
    await core.replaceNamespacedSecret({ namespace: env.namespace, name: 'pve-token', body: { metadata: { name: 'pve-token' }, stringData: { token: `${env.sim.token.fullId}=00000000-0000-0000-0000-000000000000` } } });
    const refused = await waitCondition(env, 'phoenixhypervisors', env.hypervisor, stalledWith('Unauthorized'), 'Stalled Unauthorized');
    assert.doesNotMatch(JSON.stringify(refused.status), /00000000-0000-0000-0000-000000000000/, 'the token reached status');
    await core.replaceNamespacedSecret({ namespace: env.namespace, name: 'pve-token', body: { metadata: { name: 'pve-token' }, stringData: { token: good } } });
    await waitReady(env, 'phoenixhypervisors', env.hypervisor);
  });

  it('creates a container from a template, configured as written, running, marked as Phoenix\'s', async () => {
    await apply(env, 'PhoenixLXC', 'web', {
      source: { osTemplate: { volume: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst' } },
      cores: 2,
      memory: '1G',
      swap: '256M',
      tags: ['Web', 'prod'],
      rootDisk: { storage: 'local-lvm', size: '8G' },
      networks: [{ name: 'eth0', bridge: 'vmbr0', ipv4: '10.0.0.5/24', gatewayV4: '10.0.0.1' }],
      onBoot: true,
      startup: { order: 3, upDelay: 10 },
    });
    const ready = await waitReady(env, 'phoenixlxcs', 'web');
    const vmid = ready.status.vmid as number;
    assert.equal(ready.status.powerState, 'Running');
    assert.deepEqual(ready.status.ipAddresses, ['10.0.0.5']);
    const guest = env.sim.admin.guest(vmid);
    assert.ok(guest, 'the simulator has no such guest');
    const config = guest.config as Record<string, string>;
    assert.equal(String(config['cores']), '2');
    assert.equal(String(config['memory']), '1024');
    assert.equal(String(config['swap']), '256');
    assert.equal(config['tags'], 'prod;web');
    assert.equal(String(config['onboot']), '1');
    assert.match(String(config['rootfs']), /size=8G/);
    assert.match(String(config['net0']), /bridge=vmbr0/);
    assert.match(String(config['net0']), /ip=10\.0\.0\.5\/24/);
    assert.equal(ownershipOf(String(config['description']), ready.metadata.uid), 'ours');
  });

  it('applies a spec change (more memory, a bigger disk) without re-creating the guest', async () => {
    const before = await getObject(env, 'phoenixlxcs', 'web');
    const vmid = before.status.vmid;
    await env.custom.patchNamespacedCustomObject(
      { ...G, plural: 'phoenixlxcs', namespace: env.namespace, name: 'web', body: [
        { op: 'replace', path: '/spec/memory', value: '2G' },
        { op: 'replace', path: '/spec/rootDisk/size', value: '12G' },
      ] },
    );
    const after = await waitCondition(env, 'phoenixlxcs', 'web', readyAtGeneration, 'Ready at the new generation');
    assert.equal(after.status.vmid, vmid);
    const config = env.sim.admin.guest(vmid)!.config as Record<string, string>;
    assert.equal(String(config['memory']), '2048');
    assert.match(String(config['rootfs']), /size=12G/);
  });

  it('deletes the guest with its disks when the object is deleted, then drops the finalizer', async () => {
    const obj = await getObject(env, 'phoenixlxcs', 'web');
    const vmid = obj.status.vmid;
    await env.custom.deleteNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace: env.namespace, name: 'web' });
    await eventually('the object is gone', async () => {
      try {
        await getObject(env, 'phoenixlxcs', 'web');
        return false;
      } catch {
        return true;
      }
    }, 60_000);
    assert.equal(env.sim.admin.guest(vmid), undefined, 'the guest still exists in Proxmox');
  });
});
