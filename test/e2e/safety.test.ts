import { strict as assert } from 'node:assert';
import { startPhoenix, apply, waitReady, getObject, waitCondition, condition, stalledWith, G, type PhoenixEnv } from '../support/phoenix.ts';
import { eventually } from '../support/crds.ts';
import { createProxmoxClient, type ProxmoxClient } from '../../src/clients/proxmox/client.ts';
import { ownershipOf } from '../../src/guests/marker.ts';

const template = 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst';

/** Writes counted by the simulator for one VMID: anything but GET. */
function writesTo(env: PhoenixEnv, vmid: number): number {
  return Object.entries(env.sim.admin.counters().byPath)
    .filter(([key]) => !key.startsWith('GET ') && new RegExp(`/(lxc|qemu)/${vmid}(/|$)`).test(key))
    .reduce((sum, [, n]) => sum + n, 0);
}

describe('guest safety paths (real API server + simulator)', function () {
  this.timeout(120_000);
  let env: PhoenixEnv;
  let px: ProxmoxClient;

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({ name: 'e2e-safety' });
    px = createProxmoxClient({ url: env.sim.url, token: `${env.sim.token.fullId}=${env.sim.token.secret}` });
  });

  after(async () => {
    px?.close();
    await env?.stop();
  });

  /** Makes the controller look again now (an annotation change enqueues the object). */
  async function poke(plural: string, name: string): Promise<void> {
    await env.custom.patchNamespacedCustomObject({ ...G, plural, namespace: env.namespace, name, body: [{ op: 'add', path: '/metadata/annotations', value: { poke: String(Date.now()) } }] });
  }

  async function deleteAndWaitGone(plural: string, name: string): Promise<void> {
    await env.custom.deleteNamespacedCustomObject({ ...G, plural, namespace: env.namespace, name });
    await eventually(`${name} gone`, async () => getObject(env, plural, name).then(() => false, () => true), 60_000);
  }

  it('never touches a guest it did not create, even at the VMID its spec names', async () => {
    env.sim.admin.addGuest({ type: 'lxc', vmid: 150, config: { hostname: 'hand-made', memory: 512, rootfs: 'local-lvm:vm-150-disk-0,size=4G' }, status: 'running' });
    env.sim.admin.resetCounters();
    await apply(env, 'PhoenixLXC', 'intruder', { vmid: 150, source: { osTemplate: { volume: template } }, memory: '2G' });
    const stalled = await waitCondition(env, 'phoenixlxcs', 'intruder', stalledWith('NotOwned'), 'Stalled NotOwned');
    assert.match((condition(stalled, 'Stalled')?.message ?? ''), /did not create.*spec\.adopt\.vmid: 150/);
    assert.equal(writesTo(env, 150), 0, 'Phoenix wrote to a guest it does not own');
    await deleteAndWaitGone('phoenixlxcs', 'intruder');
    assert.ok(env.sim.admin.guest(150), 'deleting the object destroyed a guest Phoenix does not own');
  });

  it('Retain: deleting the object leaves the guest running and removes only the marker', async () => {
    await apply(env, 'PhoenixLXC', 'keeper', { source: { osTemplate: { volume: template } }, description: 'Important data', deletionPolicy: 'Retain' });
    const ready = await waitReady(env, 'phoenixlxcs', 'keeper');
    await deleteAndWaitGone('phoenixlxcs', 'keeper');
    const guest = env.sim.admin.guest(ready.status.vmid)!;
    assert.equal(guest.status, 'running');
    assert.equal(ownershipOf(String(guest.config['description']), ready.metadata.uid), 'unmarked');
    assert.match(String(guest.config['description']), /Important data/);
  });

  it('protection blocks deletion with a clear condition, and deletion completes once it is lifted', async () => {
    await apply(env, 'PhoenixLXC', 'guarded', { source: { osTemplate: { volume: template } }, protection: true });
    const ready = await waitReady(env, 'phoenixlxcs', 'guarded');
    const vmid = ready.status.vmid;
    await env.custom.deleteNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace: env.namespace, name: 'guarded' });
    const blocked = await waitCondition(env, 'phoenixlxcs', 'guarded', stalledWith('ProtectionEnabled'), 'Stalled ProtectionEnabled');
    assert.match((condition(blocked, 'Stalled')?.message ?? ''), /protection/);
    assert.ok(env.sim.admin.guest(vmid), 'a protected guest was destroyed');
    await px.api.nodes.$('pve').lxc.$(vmid).config.$put({ protection: false } as never);
    await poke('phoenixlxcs', 'guarded');
    await eventually('guarded gone', async () => getObject(env, 'phoenixlxcs', 'guarded').then(() => false, () => true), 60_000);
    assert.equal(env.sim.admin.guest(vmid), undefined);
  });

  it('reports a guest deleted outside Phoenix, and re-creates it only with missingPolicy: Recreate', async () => {
    await apply(env, 'PhoenixLXC', 'vanishing', { source: { osTemplate: { volume: template } } });
    const ready = await waitReady(env, 'phoenixlxcs', 'vanishing');
    const vmid = ready.status.vmid;
    await px.api.nodes.$('pve').lxc.$(vmid).status.stop.$post();
    await eventually('stopped', async () => env.sim.admin.guest(vmid)?.status === 'stopped' && !env.sim.admin.guest(vmid)?.config['lock']);
    await px.api.nodes.$('pve').lxc.$(vmid).$delete({ purge: 1 } as never);
    await eventually('destroyed', async () => env.sim.admin.guest(vmid) === undefined);
    await poke('phoenixlxcs', 'vanishing');
    await waitCondition(env, 'phoenixlxcs', 'vanishing', stalledWith('GuestMissing'), 'Stalled GuestMissing');
    assert.equal(env.sim.admin.guest(vmid), undefined, 'Report must not re-create');
    await env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace: env.namespace, name: 'vanishing', body: [{ op: 'add', path: '/spec/missingPolicy', value: 'Recreate' }] });
    const again = await waitReady(env, 'phoenixlxcs', 'vanishing');
    assert.equal(again.status.vmid, vmid, 'the guest came back under the same VMID');
    assert.ok(env.sim.admin.guest(vmid));
  });

  it('refuses to shrink a disk that grew outside Phoenix, with a condition that says what to do', async () => {
    await apply(env, 'PhoenixLXC', 'grown', { source: { osTemplate: { volume: template } }, rootDisk: { storage: 'local-lvm', size: '8G' } });
    const ready = await waitReady(env, 'phoenixlxcs', 'grown');
    await px.api.nodes.$('pve').lxc.$(ready.status.vmid).resize.$put({ disk: 'rootfs', size: '16G' } as never);
    await eventually('resized', async () => /size=16G/.test(String(env.sim.admin.guest(ready.status.vmid)?.config['rootfs'])));
    await poke('phoenixlxcs', 'grown');
    const stalled = await waitCondition(env, 'phoenixlxcs', 'grown', stalledWith('ShrinkRefused'), 'Stalled ShrinkRefused');
    assert.match((condition(stalled, 'Stalled')?.message ?? ''), /rootfs is 16G.*8G/);
    assert.match(String(env.sim.admin.guest(ready.status.vmid)!.config['rootfs']), /size=16G/);
  });

  it('shows changes Proxmox holds until a restart, and restarts only when restartPolicy allows', async () => {
    env.sim.admin.addGuest({ type: 'qemu', vmid: 9100, config: { name: 'tmpl', memory: 1024, scsi0: 'local-lvm:base-9100-disk-0,size=8G', template: 1 } });
    await apply(env, 'PhoenixVM', 'pending', { source: { clone: { vmid: 9100 } }, cores: 1 });
    const ready = await waitReady(env, 'phoenixvms', 'pending');
    await env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixvms', namespace: env.namespace, name: 'pending', body: [{ op: 'replace', path: '/spec/cores', value: 3 }] });
    const held = await waitCondition(env, 'phoenixvms', 'pending', (o) => o.status?.observedGeneration === o.metadata.generation && condition(o, 'Ready')?.reason === 'RestartRequired', 'Ready with RestartRequired');
    assert.deepEqual(held.status.pendingChanges, ['cores']);
    assert.equal((condition(held, 'Ready')?.status ?? ''), 'True');
    assert.equal(condition(held, 'RestartRequired')?.status, 'True');
    assert.match((condition(held, 'RestartRequired')?.message ?? ''), /cores take effect at the next restart/);
    assert.equal(String(env.sim.admin.guest(ready.status.vmid)!.config['cores']), '1', 'applied without a restart');
    await env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixvms', namespace: env.namespace, name: 'pending', body: [{ op: 'replace', path: '/spec/restartPolicy', value: 'IfRequired' }] });
    const applied = await waitCondition(env, 'phoenixvms', 'pending', (o) => o.status?.observedGeneration === o.metadata.generation && condition(o, 'Ready')?.reason === 'Converged', 'Converged after a restart');
    assert.equal(applied.status.pendingChanges, undefined);
    assert.equal(condition(applied, 'RestartRequired')?.status, 'False');
    assert.equal(String(env.sim.admin.guest(ready.status.vmid)!.config['cores']), '3');
  });

  it('Observe mode reads and reports differences, and never writes to Proxmox across create, update and delete', async () => {
    env.sim.admin.addGuest({ type: 'lxc', vmid: 160, config: { hostname: 'legacy', memory: 512, cores: 1, rootfs: 'local-lvm:vm-160-disk-0,size=4G' }, status: 'running' });
    env.sim.admin.resetCounters();
    await apply(env, 'PhoenixLXC', 'watcher', { vmid: 160, managementPolicy: 'Observe', source: { osTemplate: { volume: template } }, memory: '1G', cores: 1 });
    const observed = await waitReady(env, 'phoenixlxcs', 'watcher');
    assert.equal((condition(observed, 'Ready')?.reason ?? ''), 'Observed');
    assert.deepEqual(observed.status.drift.map((d: { field: string; observed: string; desired: string }) => [d.field, d.observed, d.desired]), [['memory', '512', '1024']]);
    assert.deepEqual(observed.status.importedConfig, { cores: '1', hostname: 'legacy', memory: '512', rootfs: 'local-lvm:vm-160-disk-0,size=4G' }, 'the observed guest is shown as Proxmox has it');
    // An update of the spec is reported against the guest, not applied to it.
    await env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace: env.namespace, name: 'watcher', body: [{ op: 'replace', path: '/spec/memory', value: '2G' }, { op: 'replace', path: '/spec/cores', value: 3 }] });
    const updated = await waitCondition(env, 'phoenixlxcs', 'watcher', (o) => o.status?.observedGeneration === o.metadata.generation && condition(o, 'Ready')?.status === 'True', 'the update observed');
    assert.deepEqual(updated.status.drift.map((d: { field: string; observed: string; desired: string }) => [d.field, d.observed, d.desired]).sort(), [['cores', '1', '3'], ['memory', '512', '2048']]);
    // Observing a VMID where no guest exists reports it and creates nothing.
    await apply(env, 'PhoenixLXC', 'watcher-of-nothing', { vmid: 161, managementPolicy: 'Observe', source: { osTemplate: { volume: template } } });
    await waitCondition(env, 'phoenixlxcs', 'watcher-of-nothing', (o) => condition(o, 'Ready')?.reason === 'GuestNotFound' || /no lxc guest 161/.test(JSON.stringify(o.status?.conditions ?? [])), 'guest 161 reported missing');
    await deleteAndWaitGone('phoenixlxcs', 'watcher');
    await deleteAndWaitGone('phoenixlxcs', 'watcher-of-nothing');
    assert.equal(writesTo(env, 160), 0);
    assert.equal(writesTo(env, 161), 0);
    assert.equal(env.sim.admin.counters().byEndpoint['POST /nodes/{node}/lxc'] ?? 0, 0, 'Observe mode created a guest');
    assert.equal(env.sim.admin.guest(161), undefined);
    assert.equal(String(env.sim.admin.guest(160)?.config['memory']), '512');
    assert.equal(String(env.sim.admin.guest(160)?.config['cores']), '1');
  });

  it('observes a guest in Observe mode with one config read per cycle, its power state from the shared cluster list', async () => {
    const guest = env.sim.admin.addGuest({ type: 'lxc', vmid: 162, config: { hostname: 'watched', memory: 512, rootfs: 'local-lvm:vm-162-disk-0,size=4G' }, status: 'running' });
    await apply(env, 'PhoenixLXC', 'power-watcher', { vmid: 162, managementPolicy: 'Observe', source: { osTemplate: { volume: template } }, memory: '512M', observePeriod: '1s' });
    assert.equal((await waitReady(env, 'phoenixlxcs', 'power-watcher')).status.powerState, 'Running');
    env.sim.admin.resetCounters();
    const reads = (what: string) => env.sim.admin.counters().byPath[`GET /nodes/pve/lxc/162/${what}`] ?? 0;
    await eventually('three observations', async () => reads('config') >= 3, 30_000);
    assert.equal(reads('status/current'), 0, 'each observation asked the guest for its power state instead of using the cycle\'s cluster list');
    // Shut down from inside the guest: no API call for Phoenix to notice, only the cluster list.
    guest.status = 'stopped';
    const stopped = await waitCondition(env, 'phoenixlxcs', 'power-watcher', (o) => o.status?.powerState === 'Stopped', 'the shutdown observed');
    assert.equal(condition(stopped, 'Ready')?.reason, 'Observed');
    await deleteAndWaitGone('phoenixlxcs', 'power-watcher');
    assert.equal(writesTo(env, 162), 0, 'Observe mode wrote to the guest');
    assert.equal(env.sim.admin.guest(162)?.status, 'stopped', 'Observe mode started the guest');
  });

  it('reports a dependency cycle as Stalled on every member, with the cycle spelled out', async () => {
    await apply(env, 'PhoenixLXC', 'chicken', { source: { osTemplate: { volume: template } }, dependsOn: [{ kind: 'PhoenixLXC', name: 'egg' }] });
    await apply(env, 'PhoenixLXC', 'egg', { source: { osTemplate: { volume: template } }, dependsOn: [{ kind: 'PhoenixLXC', name: 'chicken' }] });
    for (const [name, other] of [['chicken', 'egg'], ['egg', 'chicken']] as const) {
      const stalled = await waitCondition(env, 'phoenixlxcs', name, stalledWith('DependencyCycle'), 'Stalled DependencyCycle');
      assert.equal((condition(stalled, 'Stalled')?.message ?? ''), `dependency cycle: PhoenixLXC ${name} → PhoenixLXC ${other} → PhoenixLXC ${name}; remove one of these dependencies`);
      assert.equal(stalled.status.vmid, undefined, 'a guest in a cycle was given a VMID');
    }
  });

  it('names the missing privilege when the API token may not create guests', async () => {
    const auditor = env.sim.admin.createToken({ userid: 'root@pam', tokenid: 'auditor', privsep: true, acl: [{ path: '/', roles: ['PVEAuditor'], propagate: true }] });
    const core = env.cluster.kc.makeApiClient((await import('@kubernetes/client-node')).CoreV1Api);
    await core.createNamespacedSecret({ namespace: env.namespace, body: { metadata: { name: 'auditor-token' }, stringData: { token: `${auditor.fullId}=${auditor.secret}` } } });
    await env.custom.createClusterCustomObject({ ...G, plural: 'phoenixhypervisors', body: { apiVersion: `${G.group}/${G.version}`, kind: 'PhoenixHypervisor', metadata: { name: 'auditor' }, spec: { proxmox: { url: env.sim.url, tokenSecretRef: { name: 'auditor-token', namespace: env.namespace } } } } });
    await waitReady(env, 'phoenixhypervisors', 'auditor');
    await env.custom.createNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace: env.namespace, body: { apiVersion: `${G.group}/${G.version}`, kind: 'PhoenixLXC', metadata: { name: 'unprivileged-token' }, spec: { hypervisorRef: { name: 'auditor' }, node: 'pve', source: { osTemplate: { volume: template } } } } });
    const refused = await waitCondition(env, 'phoenixlxcs', 'unprivileged-token', (o) => condition(o, 'Ready')?.reason === 'InsufficientPrivileges', 'InsufficientPrivileges');
    assert.match((condition(refused, 'Ready')?.message ?? ''), /Permission check failed|VM\.Allocate|Datastore/);
    await env.custom.deleteClusterCustomObject({ ...G, plural: 'phoenixhypervisors', name: 'auditor' });
  });

  it('adopts an existing guest: reports every difference first, then marks and converges it, and retains it on delete', async () => {
    env.sim.admin.addGuest({ type: 'lxc', vmid: 170, config: { hostname: 'old-web', memory: 512, cores: 1, tags: 'legacy', rootfs: 'local-lvm:vm-170-disk-0,size=4G', net0: 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:70,ip=dhcp,type=veth' }, status: 'running' });
    await apply(env, 'PhoenixLXC', 'old-web', { adopt: { vmid: 170 }, hostname: 'old-web', memory: '1G', cores: 1 });
    const adopted = await waitReady(env, 'phoenixlxcs', 'old-web');
    assert.equal(adopted.status.adopted, true);
    assert.ok(adopted.status.drift.some((d: { field: string }) => d.field === 'memory'), 'the difference was not reported');
    const guest = env.sim.admin.guest(170)!;
    assert.equal(String(guest.config['memory']), '1024');
    assert.equal(guest.config['tags'], 'legacy', 'a field the spec leaves unset was changed');
    assert.match(String(guest.config['net0']), /BC:24:11:00:00:70/i);
    assert.equal(ownershipOf(String(guest.config['description']), adopted.metadata.uid), 'ours');
    await deleteAndWaitGone('phoenixlxcs', 'old-web');
    assert.ok(env.sim.admin.guest(170), 'an adopted guest was destroyed by default');
  });
});
