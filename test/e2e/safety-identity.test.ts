import { strict as assert } from 'node:assert';
import * as k8s from '@kubernetes/client-node';
import { startPhoenix, apply, waitReady, getObject, waitCondition, condition, stalledWith, G, type PhoenixEnv } from '../support/phoenix.ts';
import { eventually } from '../support/crds.ts';
import { readMarker } from '../../src/guests/marker.ts';
import { apiGroup, apiVersion } from '../../src/api/group.ts';

const template = 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst';
const externalName = 'hypervisor.phoenix.io/external-name';

/**
 * Issue 10, items 5, 6 and 8: a guest is never taken from another object, identity survives
 * the loss of status, and one VMID belongs to one object. Each test fails on the code before
 * the change (it adopted, re-created or overwrote instead).
 */
describe('safety: ownership and identity (real API server + simulator)', function () {
  this.timeout(180_000);
  let env: PhoenixEnv;

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({ name: 'e2e-identity' });
  });

  after(async () => {
    await env?.stop();
  });

  const creates = () => env.sim.admin.counters().byEndpoint['POST /nodes/{node}/lxc'] ?? 0;
  const markerOf = (vmid: number) => readMarker(String(env.sim.admin.guest(vmid)?.config['description'] ?? ''));

  async function patchSpec(plural: string, name: string, ops: unknown[]): Promise<void> {
    await env.custom.patchNamespacedCustomObject({ ...G, plural, namespace: env.namespace, name, body: ops });
  }

  async function deleteAndWaitGone(plural: string, name: string): Promise<void> {
    await env.custom.deleteNamespacedCustomObject({ ...G, plural, namespace: env.namespace, name });
    await eventually(`${name} gone`, async () => getObject(env, plural, name).then(() => false, () => true), 60_000);
  }

  it('refuses to adopt a guest that another object holds, naming it, and deleting the refused object leaves the guest alone', async () => {
    await apply(env, 'PhoenixLXC', 'team-a-web', { source: { osTemplate: { volume: template } } });
    const owner = await waitReady(env, 'phoenixlxcs', 'team-a-web');
    const vmid = owner.status.vmid as number;
    await apply(env, 'PhoenixLXC', 'thief', { adopt: { vmid }, deletionPolicy: 'Delete', memory: '4G' });
    // The holder is visible to this controller, so the VMID conflict is caught first; either way the owner is named.
    const refused = await waitCondition(env, 'phoenixlxcs', 'thief', (o) => stalledWith('VmidConflict')(o) || stalledWith('OwnedByAnother')(o), 'Stalled, refused');
    assert.match(condition(refused, 'Stalled')?.message ?? '', new RegExp(`PhoenixLXC ${env.namespace}/team-a-web`));
    assert.equal(markerOf(vmid)?.uid, owner.metadata.uid, 'the guest changed hands');
    assert.notEqual(String(env.sim.admin.guest(vmid)?.config['memory']), '4096', 'the thief changed the guest');
    await deleteAndWaitGone('phoenixlxcs', 'thief');
    assert.ok(env.sim.admin.guest(vmid), 'deleting a refused object destroyed another object\'s guest');
    assert.equal(markerOf(vmid)?.uid, owner.metadata.uid);
  });

  it('refuses a guest marked by an object in a namespace this controller does not watch, even with takeOver while that object exists', async () => {
    // Another team's object, in a namespace this controller does not watch: only its marker on the guest shows it.
    const core = env.cluster.kc.makeApiClient(k8s.CoreV1Api);
    const otherNs = `${env.namespace}-other`;
    await core.createNamespace({ body: { metadata: { name: otherNs } } });
    const other = (await env.custom.createNamespacedCustomObject({
      ...G, plural: 'phoenixlxcs', namespace: otherNs,
      body: { apiVersion: `${apiGroup}/${apiVersion}`, kind: 'PhoenixLXC', metadata: { name: 'their-db' }, spec: { hypervisorRef: { name: env.hypervisor }, node: 'pve', source: { osTemplate: { volume: template } } } },
    })) as { metadata: { uid: string } };
    env.sim.admin.addGuest({
      type: 'lxc', vmid: 4320, status: 'running',
      config: { hostname: 'their-db', memory: 512, rootfs: 'local-lvm:vm-4320-disk-0,size=8G', description: `<!-- phoenix:owner uid=${other.metadata.uid} ref=PhoenixLXC ${otherNs}/their-db -->` },
    });
    await apply(env, 'PhoenixLXC', 'grabber', { adopt: { vmid: 4320 }, deletionPolicy: 'Delete' });
    const refused = await waitCondition(env, 'phoenixlxcs', 'grabber', stalledWith('OwnedByAnother'), 'Stalled OwnedByAnother');
    assert.match(condition(refused, 'Stalled')?.message ?? '', new RegExp(`belongs to PhoenixLXC ${otherNs}/their-db`));
    await deleteAndWaitGone('phoenixlxcs', 'grabber');
    await apply(env, 'PhoenixLXC', 'grabber-2', { adopt: { vmid: 4320, takeOver: true }, deletionPolicy: 'Delete' });
    const stillRefused = await waitCondition(env, 'phoenixlxcs', 'grabber-2', stalledWith('OwnedByAnother'), 'Stalled OwnedByAnother');
    assert.match(condition(stillRefused, 'Stalled')?.message ?? '', /still exists/);
    await deleteAndWaitGone('phoenixlxcs', 'grabber-2');
    assert.ok(env.sim.admin.guest(4320), 'another team\'s guest was destroyed');
    assert.equal(markerOf(4320)?.uid, other.metadata.uid, 'another team\'s guest changed hands');
  });

  it('takes over a guest with spec.adopt.takeOver only once the owner its marker names is gone', async () => {
    await apply(env, 'PhoenixLXC', 'departed', { source: { osTemplate: { volume: template } } });
    const owner = await waitReady(env, 'phoenixlxcs', 'departed');
    const vmid = owner.status.vmid as number;
    // The owner goes away without touching the guest (Observe mode releases it as it is).
    await patchSpec('phoenixlxcs', 'departed', [{ op: 'add', path: '/spec/managementPolicy', value: 'Observe' }]);
    await waitCondition(env, 'phoenixlxcs', 'departed', (o) => condition(o, 'Ready')?.reason === 'Observed' && o.status.observedGeneration === o.metadata.generation, 'Observed');
    await deleteAndWaitGone('phoenixlxcs', 'departed');
    assert.equal(markerOf(vmid)?.uid, owner.metadata.uid, 'the departed owner\'s marker is still on the guest');
    await apply(env, 'PhoenixLXC', 'heir', { adopt: { vmid, takeOver: true } });
    const heir = await waitReady(env, 'phoenixlxcs', 'heir');
    assert.equal(heir.status.vmid, vmid);
    assert.equal(markerOf(vmid)?.uid, heir.metadata.uid);
  });

  it('binds to the existing guest when the same manifest is applied on a fresh cluster (no status, no annotation)', async () => {
    // What a guest made by this manifest on the old management cluster looks like: the marker
    // names the same kind, namespace and name, under the old cluster's UID.
    env.sim.admin.addGuest({
      type: 'lxc', vmid: 4301, status: 'running',
      config: { hostname: 'reborn', memory: 512, rootfs: 'local-lvm:vm-4301-disk-0,size=8G', description: `<!-- phoenix:owner uid=0b7e6f5c-1111-4222-8333-444455556666 ref=PhoenixLXC ${env.namespace}/reborn -->` },
    });
    const before = creates();
    await apply(env, 'PhoenixLXC', 'reborn', { source: { osTemplate: { volume: template } }, memory: '512M' });
    const ready = await waitReady(env, 'phoenixlxcs', 'reborn');
    assert.equal(ready.status.vmid, 4301, 'a second guest was created instead of binding to the existing one');
    assert.equal(creates(), before, 'a create was sent');
    assert.equal(markerOf(4301)?.uid, ready.metadata.uid, 'the marker names the object now');
    assert.equal(ready.metadata.annotations?.[externalName], `${env.hypervisor}/4301`);
  });

  it('binds through the external-name annotation when an object is restored without its status', async () => {
    await apply(env, 'PhoenixLXC', 'backed-up', { source: { osTemplate: { volume: template } } });
    const original = await waitReady(env, 'phoenixlxcs', 'backed-up');
    const vmid = original.status.vmid as number;
    assert.equal(original.metadata.annotations?.[externalName], `${env.hypervisor}/${vmid}`, 'the identity is not kept in metadata');
    // A backup tool restores the object as it was (annotations included) but without status,
    // into a cluster where the original is gone: here, the same namespace after an Observe release.
    await patchSpec('phoenixlxcs', 'backed-up', [{ op: 'add', path: '/spec/managementPolicy', value: 'Observe' }]);
    await waitCondition(env, 'phoenixlxcs', 'backed-up', (o) => condition(o, 'Ready')?.reason === 'Observed' && o.status.observedGeneration === o.metadata.generation, 'Observed');
    await deleteAndWaitGone('phoenixlxcs', 'backed-up');
    const before = creates();
    await env.custom.createNamespacedCustomObject({
      ...G, plural: 'phoenixlxcs', namespace: env.namespace,
      body: { apiVersion: `${apiGroup}/${apiVersion}`, kind: 'PhoenixLXC', metadata: { name: 'backed-up', annotations: { [externalName]: `${env.hypervisor}/${vmid}` } }, spec: original.spec },
    });
    const restored = await waitReady(env, 'phoenixlxcs', 'backed-up');
    assert.equal(restored.status.vmid, vmid);
    assert.equal(creates(), before, 'a create was sent');
    assert.equal(markerOf(vmid)?.uid, restored.metadata.uid);
  });

  it('never binds to a guest whose marker names a different object', async () => {
    env.sim.admin.addGuest({
      type: 'lxc', vmid: 4302,
      config: { hostname: 'lookalike', memory: 512, rootfs: 'local-lvm:vm-4302-disk-0,size=8G', description: `<!-- phoenix:owner uid=0b7e6f5c-2222-4222-8333-444455556666 ref=PhoenixLXC elsewhere/lookalike -->` },
    });
    await apply(env, 'PhoenixLXC', 'lookalike', { source: { osTemplate: { volume: template } } });
    const ready = await waitReady(env, 'phoenixlxcs', 'lookalike');
    assert.notEqual(ready.status.vmid, 4302);
    assert.equal(markerOf(4302)?.ref, 'PhoenixLXC elsewhere/lookalike');
  });

  it('stalls the newer of two objects naming one VMID, naming the older, before any Proxmox call', async () => {
    await apply(env, 'PhoenixLXC', 'first-claim', { vmid: 4310, source: { osTemplate: { volume: template } } });
    await apply(env, 'PhoenixLXC', 'second-claim', { vmid: 4310, source: { osTemplate: { volume: template } }, memory: '4G' });
    const second = await waitCondition(env, 'phoenixlxcs', 'second-claim', stalledWith('VmidConflict'), 'Stalled VmidConflict');
    assert.match(condition(second, 'Stalled')?.message ?? '', new RegExp(`already belongs to PhoenixLXC ${env.namespace}/first-claim`));
    const first = await waitReady(env, 'phoenixlxcs', 'first-claim');
    assert.equal(first.status.vmid, 4310);
    assert.notEqual(String(env.sim.admin.guest(4310)?.config['memory']), '4096', 'the newer object wrote to the guest');
    await deleteAndWaitGone('phoenixlxcs', 'second-claim');
    assert.ok(env.sim.admin.guest(4310), 'deleting the newer object destroyed the older one\'s guest');
  });

  it('lets a hypervisor say which namespaces may use it, and refuses the others before any Proxmox call', async () => {
    await env.custom.createClusterCustomObject({
      ...G, plural: 'phoenixhypervisors',
      body: {
        apiVersion: `${apiGroup}/${apiVersion}`, kind: 'PhoenixHypervisor', metadata: { name: 'team-a-only' },
        spec: { proxmox: { url: env.sim.url, tokenSecretRef: { name: 'pve-token', namespace: env.namespace } }, allowedNamespaces: { from: 'Selector', selector: { matchLabels: { team: 'a' } } } },
      },
    });
    try {
      await waitReady(env, 'phoenixhypervisors', 'team-a-only');
      env.sim.admin.resetCounters();
      await env.custom.createNamespacedCustomObject({
        ...G, plural: 'phoenixlxcs', namespace: env.namespace,
        body: { apiVersion: `${apiGroup}/${apiVersion}`, kind: 'PhoenixLXC', metadata: { name: 'outsider' }, spec: { hypervisorRef: { name: 'team-a-only' }, node: 'pve', source: { osTemplate: { volume: template } } } },
      });
      const refused = await waitCondition(env, 'phoenixlxcs', 'outsider', stalledWith('NamespaceNotAllowed'), 'Stalled NamespaceNotAllowed');
      assert.match(condition(refused, 'Stalled')?.message ?? '', new RegExp(`does not allow guests from namespace ${env.namespace}`));
      assert.equal(refused.status.vmid, undefined);
      assert.equal(creates(), 0, 'a guest was created from a namespace the hypervisor does not allow');
      // Labelling the namespace admits it: the guest converges without any change to it.
      const core = env.cluster.kc.makeApiClient(k8s.CoreV1Api);
      await core.patchNamespace({ name: env.namespace, body: [{ op: 'add', path: '/metadata/labels/team', value: 'a' }] });
      const admitted = await waitReady(env, 'phoenixlxcs', 'outsider');
      assert.ok(admitted.status.vmid);
      await deleteAndWaitGone('phoenixlxcs', 'outsider');
    } finally {
      await env.custom.deleteClusterCustomObject({ ...G, plural: 'phoenixhypervisors', name: 'team-a-only' }).catch(() => undefined);
    }
  });
});
