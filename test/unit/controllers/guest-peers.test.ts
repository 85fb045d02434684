import { strict as assert } from 'node:assert';
import { phoenixLxcs, phoenixVms, phoenixStacks } from '../../../src/api/objects.ts';
import { dependentsOf, indexDependencies } from '../../../src/controllers/dependencies.ts';
import { GuestPeers, guestsOn } from '../../../src/controllers/guests/peers.ts';
import type { KubeObject } from '../../../src/runtime/resource.ts';
import { fedCache } from '../runtime/fed-cache.ts';

type Guest = KubeObject & { spec: Record<string, unknown> & { hypervisorRef: { name: string } }; status?: Record<string, unknown> };

const guest = (kind: 'PhoenixLXC' | 'PhoenixVM', name: string, spec: Record<string, unknown>, extra: Partial<Guest> = {}): Guest => ({
  apiVersion: 'hypervisor.phoenix.io/v1alpha1',
  kind,
  metadata: { name, namespace: 'ns', uid: `uid-${name}`, resourceVersion: '1', ...(extra.metadata ?? {}) },
  spec: { hypervisorRef: { name: 'pve' }, ...spec },
  ...(extra.status ? { status: extra.status } : {}),
});
const names = (objects: readonly KubeObject[]) => objects.map((o) => o.metadata.name).sort();

describe('GuestPeers', () => {
  it('finds who holds a VMID on a hypervisor, by spec, adoption, status or annotation, across both kinds', async () => {
    const containers = await fedCache<KubeObject>(phoenixLxcs, [
      guest('PhoenixLXC', 'by-spec', { vmid: 101 }),
      guest('PhoenixLXC', 'by-status', {}, { status: { vmid: 102 } }),
      guest('PhoenixLXC', 'elsewhere', { vmid: 101, hypervisorRef: { name: 'other' } }),
    ]);
    const vms = await fedCache<KubeObject>(phoenixVms, [
      guest('PhoenixVM', 'by-adoption', { adopt: { vmid: 101 } }),
      guest('PhoenixVM', 'by-annotation', {}, { metadata: { name: 'by-annotation', annotations: { 'hypervisor.phoenix.io/external-name': 'pve/103' } } }),
      guest('PhoenixVM', 'annotated-for-another', {}, { metadata: { name: 'annotated-for-another', annotations: { 'hypervisor.phoenix.io/external-name': 'other/103' } } }),
    ]);
    const peers = new GuestPeers(containers.informer, vms.informer);
    assert.deepEqual(names(peers.holding('pve', 101)), ['by-adoption', 'by-spec']);
    assert.deepEqual(names(peers.holding('pve', 102)), ['by-status']);
    assert.deepEqual(names(peers.holding('pve', 103)), ['by-annotation']);
    assert.deepEqual(names(peers.holding('other', 101)), ['elsewhere']);
    assert.deepEqual(names(peers.holding('pve', 104)), []);
    assert.equal(peers.all().length, 6);
  });

  it('follows a guest whose VMID, start order or hypervisor changes, and forgets one deleted', async () => {
    const containers = await fedCache<KubeObject>(phoenixLxcs, [guest('PhoenixLXC', 'a', { vmid: 101, startup: { order: 1 } })]);
    const vms = await fedCache<KubeObject>(phoenixVms, []);
    const peers = new GuestPeers(containers.informer, vms.informer);
    assert.deepEqual(names(peers.startOrdered('pve')), ['a']);

    containers.emit('MODIFIED', guest('PhoenixLXC', 'a', { vmid: 101 }, { metadata: { name: 'a', resourceVersion: '2' }, status: { vmid: 105 } }));
    assert.deepEqual(names(peers.holding('pve', 105)), ['a']);
    assert.deepEqual(names(peers.startOrdered('pve')), [], 'its start order was removed');

    vms.emit('ADDED', guest('PhoenixVM', 'b', { vmid: 105, hypervisorRef: { name: 'other' }, startup: { order: 2 } }));
    assert.deepEqual(names(peers.holding('other', 105)), ['b']);
    assert.deepEqual(names(guestsOn(vms.informer, 'other')), ['b']);
    assert.deepEqual(names(peers.startOrdered('other')), ['b']);

    containers.emit('DELETED', guest('PhoenixLXC', 'a', { vmid: 101 }, { metadata: { name: 'a', resourceVersion: '3' }, status: { vmid: 105 } }));
    assert.deepEqual(names(peers.holding('pve', 105)), []);
    assert.deepEqual(names(guestsOn(containers.informer, 'pve')), []);
    await containers.informer.stop();
    await vms.informer.stop();
  });
  it('indexes nothing for an object without a spec or a hypervisor, and keeps its cache running', async () => {
    const bare = { apiVersion: 'hypervisor.phoenix.io/v1alpha1', kind: 'PhoenixLXC', metadata: { name: 'bare', namespace: 'ns', resourceVersion: '1' } } as KubeObject;
    const containers = await fedCache<KubeObject>(phoenixLxcs, [bare, guest('PhoenixLXC', 'no-ref', { vmid: 7, hypervisorRef: undefined })]);
    const vms = await fedCache<KubeObject>(phoenixVms, []);
    const peers = new GuestPeers(containers.informer, vms.informer);
    indexDependencies(containers.informer);
    containers.emit('ADDED', { ...bare, metadata: { ...bare.metadata, name: 'bare-too', resourceVersion: '2' } });
    containers.emit('ADDED', guest('PhoenixLXC', 'later', { vmid: 7 }));
    assert.deepEqual(names(peers.holding('pve', 7)), ['later']);
    assert.deepEqual(names(dependentsOf(containers.informer, bare)), []);
    await containers.informer.stop();
    await vms.informer.stop();
  });
});

describe('dependentsOf', () => {
  it('finds the objects that depend on one, by dependsOn, clone source and a stack\'s VM, in its namespace', async () => {
    const containers = await fedCache<KubeObject>(phoenixLxcs, [
      guest('PhoenixLXC', 'clone', { source: { clone: { lxcRef: { name: 'base' } } } }),
      guest('PhoenixLXC', 'made-clone', { source: { clone: { lxcRef: { name: 'base' } } } }, { status: { configDigest: 'abc' } }),
      guest('PhoenixLXC', 'after-db', { dependsOn: [{ kind: 'PhoenixVM', name: 'db' }, { kind: 'PhoenixHypervisor', name: 'pve' }] }),
      guest('PhoenixLXC', 'other-ns', { dependsOn: [{ kind: 'PhoenixVM', name: 'db' }] }, { metadata: { name: 'other-ns', namespace: 'elsewhere' } }),
    ]);
    const stacks = await fedCache(phoenixStacks, [{ apiVersion: 'hypervisor.phoenix.io/v1alpha1', kind: 'PhoenixStack', metadata: { name: 'app', namespace: 'ns', resourceVersion: '1' }, spec: { vmRef: { name: 'db' } } } as KubeObject]);
    indexDependencies(containers.informer);
    indexDependencies(stacks.informer);
    const db = guest('PhoenixVM', 'db', {});
    const base = guest('PhoenixLXC', 'base', {});
    assert.deepEqual(names(dependentsOf(containers.informer, db)), ['after-db'], 'the same name in another namespace is another object');
    assert.deepEqual(names(dependentsOf(stacks.informer, db)), ['app']);
    assert.deepEqual(names(dependentsOf(containers.informer, base)), ['clone'], 'a clone that exists needs nothing more of its source');
    assert.deepEqual(names(dependentsOf(containers.informer, { kind: 'PhoenixHypervisor', metadata: { name: 'pve' } })), ['after-db']);

    containers.emit('MODIFIED', guest('PhoenixLXC', 'clone', { source: { clone: { lxcRef: { name: 'base' } } } }, { metadata: { name: 'clone', resourceVersion: '2' }, status: { configDigest: 'def' } }));
    assert.deepEqual(names(dependentsOf(containers.informer, base)), []);
    await containers.informer.stop();
    await stacks.informer.stop();
  });
});
