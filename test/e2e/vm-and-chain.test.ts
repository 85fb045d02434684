import { strict as assert } from 'node:assert';
import * as k8s from '@kubernetes/client-node';
import { startPhoenix, apply, waitReady, waitCondition, readyAtGeneration, getObject, type PhoenixEnv } from '../support/phoenix.ts';
import { ownershipOf } from '../../src/guests/marker.ts';
import { eventually } from '../support/crds.ts';

describe('PhoenixVM and the golden-template chain (real API server + simulator)', function () {
  this.timeout(120_000);
  let env: PhoenixEnv;

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({ name: 'e2e-vm' });
    await env.cluster.kc.makeApiClient(k8s.CoreV1Api).createNamespacedSecret({
      namespace: env.namespace,
      body: { metadata: { name: 'cloud-init' }, stringData: { password: 'pa55word', authorized_keys: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFromSecret ops@lab\n' } },
    });
  });

  after(async () => env?.stop());

  it('imports a cloud image into a VM template', async () => {
    await apply(env, 'PhoenixVM', 'cloud-template', {
      vmid: 9000,
      source: { cloudImage: { volume: 'local:import/debian-12-genericcloud-amd64.qcow2', storage: 'local-lvm' } },
      cores: 2,
      memory: '2G',
      scsiController: 'virtio-scsi-single',
      agent: { enabled: true },
      disks: [{ slot: 'scsi0', size: '16G', discard: true }],
      networks: [{ bridge: 'vmbr0', ipv4: 'dhcp' }],
      cloudInit: { user: 'phoenix', storage: 'local-lvm' },
      template: true,
    });
    const ready = await waitReady(env, 'phoenixvms', 'cloud-template');
    assert.equal(ready.status.powerState, 'Stopped');
    const config = env.sim.admin.guest(9000)!.config as Record<string, string>;
    assert.equal(String(config['template']), '1');
    assert.match(String(config['scsi0']), /size=16G/);
    assert.ok(Object.values(config).some((v) => /cloudinit/.test(String(v))), 'no cloud-init drive');
  });

  it('clones the template into a running VM with cloud-init from Secrets and IPs from the guest agent', async () => {
    await apply(env, 'PhoenixVM', 'docker-host', {
      source: { clone: { vmRef: { name: 'cloud-template' }, full: true, storage: 'local-lvm' } },
      cores: 4,
      memory: '4G',
      agent: { enabled: true },
      disks: [{ slot: 'scsi0', size: '32G' }, { slot: 'scsi1', storage: 'local-lvm', size: '20G' }],
      networks: [{ bridge: 'vmbr0', ipv4: 'dhcp', firewall: true }],
      cloudInit: { user: 'phoenix', passwordSecretRef: { name: 'cloud-init' }, sshKeysSecretRef: { name: 'cloud-init' } },
    });
    const ready = await waitReady(env, 'phoenixvms', 'docker-host');
    const vmid = ready.status.vmid;
    assert.notEqual(vmid, 9000);
    assert.equal(ready.status.powerState, 'Running');
    const guest = env.sim.admin.guest(vmid)!;
    const config = guest.config as Record<string, string>;
    assert.equal(String(config['cores']), '4');
    assert.match(String(config['scsi0']), /size=32G/);
    assert.match(String(config['scsi1']), /size=20G/);
    assert.match(decodeURIComponent(String(config['sshkeys'])), /AAAAIFromSecret/);
    assert.ok(config['cipassword'], 'the cloud-init password was not set');
    assert.equal(ownershipOf(String(config['description']), ready.metadata.uid), 'ours');
    assert.ok((ready.status.ipAddresses ?? []).length > 0, `no IPs from the guest agent: ${JSON.stringify(ready.status)}`);
  });

  it('gives a clone of a SeaBIOS template the EFI vars disk a UEFI spec asks for, before it first starts', async () => {
    await apply(env, 'PhoenixVM', 'uefi-clone', {
      source: { clone: { vmRef: { name: 'cloud-template' }, full: true, storage: 'local-lvm' } },
      bios: 'ovmf',
      machine: 'q35',
      efiDisk: { storage: 'local-lvm', preEnrolledKeys: true },
      networks: [{ bridge: 'vmbr0', ipv4: 'dhcp' }],
    });
    const ready = await waitReady(env, 'phoenixvms', 'uefi-clone');
    assert.equal(ready.status.powerState, 'Running');
    assert.equal(ready.status.pendingChanges, undefined, 'the EFI disk was added while the VM ran, so it waits for a restart');
    const config = env.sim.admin.guest(ready.status.vmid)!.config as Record<string, string>;
    assert.equal(String(config['bios']), 'ovmf');
    assert.match(String(config['efidisk0']), /^local-lvm:vm-\d+-disk-\d+,.*efitype=4m/);
    assert.match(String(config['efidisk0']), /pre-enrolled-keys=1/);
    assert.equal(env.sim.admin.guest(9000)!.config['efidisk0'], undefined, 'the template was changed');
  });

  it('writes the cloud-init password again when its Secret changes, though Proxmox masks it on read', async () => {
    const before = await getObject(env, 'phoenixvms', 'docker-host');
    const vmid = before.status.vmid;
    assert.equal(env.sim.admin.guest(vmid)!.config['cipassword'], 'pa55word');
    const applied = before.status.secretVersions?.['cloud-init'];
    assert.ok(applied, 'the applied Secret version is not recorded');
    env.sim.admin.resetCounters();
    await env.cluster.kc.makeApiClient(k8s.CoreV1Api).patchNamespacedSecret({ namespace: env.namespace, name: 'cloud-init', body: [{ op: 'replace', path: '/data/password', value: Buffer.from('n3w-pa55').toString('base64') }] });
    await eventually('the new password written', async () => env.sim.admin.guest(vmid)!.config['cipassword'] === 'n3w-pa55', 30_000);
    const after = await waitCondition(env, 'phoenixvms', 'docker-host', (o) => readyAtGeneration(o) && o.status.secretVersions?.['cloud-init'] !== applied, 'the new Secret version recorded');
    assert.equal(after.status.secretVersions['cloud-init'] !== applied, true);
    const writes = Object.entries(env.sim.admin.counters().byEndpoint).filter(([k]) => /^(PUT|POST) \/nodes\/\{node\}\/qemu\/\{vmid\}\/config$/.test(k)).reduce((n, [, c]) => n + c, 0);
    assert.equal(writes, 1, `the password was written ${writes} times: ${JSON.stringify(env.sim.admin.counters().byEndpoint)}`);
    const events = (await env.cluster.kc.makeApiClient(k8s.EventsV1Api).listNamespacedEvent({ namespace: env.namespace })).items.filter((e) => e.regarding?.name === 'docker-host');
    assert.equal(events.filter((e) => e.reason === 'DriftCorrected').length, 0, 'a Secret change was reported as drift');
    assert.ok(events.some((e) => e.reason === 'Configured' && /Secret cloud-init changed, so Phoenix wrote cipassword again/.test(e.note ?? '')), JSON.stringify(events.map((e) => [e.reason, e.note])));
    assert.ok(!JSON.stringify(events).includes('n3w-pa55') && !JSON.stringify(after.status).includes('n3w-pa55'), 'the password leaked into events or status');
  });

  it('creates a blank VM that boots an installer ISO', async () => {
    await apply(env, 'PhoenixVM', 'installer', {
      source: { blank: { iso: 'local:iso/debian-12.7.0-amd64-netinst.iso' } },
      cores: 1,
      memory: '1G',
      osType: 'l26',
      disks: [{ slot: 'scsi0', storage: 'local-lvm', size: '10G' }],
      bootOrder: ['ide2', 'scsi0'],
      networks: [{ bridge: 'vmbr0' }],
    });
    const ready = await waitReady(env, 'phoenixvms', 'installer');
    const config = env.sim.admin.guest(ready.status.vmid)!.config as Record<string, string>;
    assert.match(String(config['ide2']), /^local:iso\/debian-12\.7\.0-amd64-netinst\.iso,media=cdrom/);
    assert.match(String(config['scsi0']), /size=10G/);
    assert.equal(config['boot'], 'order=ide2;scsi0');
    assert.equal(ready.status.powerState, 'Running');
  });

  it('allocates VMIDs from the hypervisor\'s vmidRange when set', async () => {
    await env.custom.patchClusterCustomObject({ group: 'hypervisor.phoenix.io', version: 'v1alpha1', plural: 'phoenixhypervisors', name: env.hypervisor, body: [{ op: 'add', path: '/spec/vmidRange', value: { min: 5000, max: 5009 } }] });
    await waitReady(env, 'phoenixhypervisors', env.hypervisor);
    await apply(env, 'PhoenixLXC', 'ranged', { source: { osTemplate: { volume: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst' } } });
    const ready = await waitReady(env, 'phoenixlxcs', 'ranged');
    assert.ok(ready.status.vmid >= 5000 && ready.status.vmid <= 5009, `VMID ${ready.status.vmid} is outside 5000-5009`);
  });

  it('builds the legacy chain: base container, snapshot, clone from the snapshot, template, app clone', async () => {
    await apply(env, 'PhoenixLXC', 'copy-base', {
      source: { osTemplate: { volume: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst' } },
      rootDisk: { storage: 'local-lvm', size: '8G' },
      networks: [{ name: 'eth0', bridge: 'vmbr0', ipv4: 'dhcp' }],
      snapshots: [{ name: 'final-form', description: 'clones start here' }],
      powerState: 'Stopped',
    });
    await apply(env, 'PhoenixLXC', 'copy-cuda', {
      source: { clone: { lxcRef: { name: 'copy-base' }, snapshot: 'final-form', full: true, storage: 'local-lvm' } },
      rootDisk: { size: '10G' },
      // No devices: Proxmox allows device passthrough to root@pam only, never to Phoenix's token.
      template: true,
    });
    await apply(env, 'PhoenixLXC', 'app', { source: { clone: { lxcRef: { name: 'copy-cuda' }, full: false } }, cores: 2 });
    const app = await waitReady(env, 'phoenixlxcs', 'app', 90_000);
    const base = await getObject(env, 'phoenixlxcs', 'copy-base');
    const cuda = await getObject(env, 'phoenixlxcs', 'copy-cuda');
    assert.deepEqual(base.status.snapshots, ['final-form']);
    assert.equal(String(env.sim.admin.guest(cuda.status.vmid)!.config['template']), '1');
    assert.equal(app.status.powerState, 'Running');
    assert.equal(String(env.sim.admin.guest(app.status.vmid)!.config['cores']), '2');
  });

  it('changing a template changes the template only, never the clones made from it', async () => {
    const app = await getObject(env, 'phoenixlxcs', 'app');
    const cuda = await getObject(env, 'phoenixlxcs', 'copy-cuda');
    const before = structuredClone(env.sim.admin.guest(app.status.vmid)!.config);
    await env.custom.patchNamespacedCustomObject({ group: 'hypervisor.phoenix.io', version: 'v1alpha1', plural: 'phoenixlxcs', namespace: env.namespace, name: 'copy-cuda', body: [{ op: 'add', path: '/spec/memory', value: '3G' }, { op: 'add', path: '/spec/tags', value: ['cuda', 'v2'] }] });
    await waitCondition(env, 'phoenixlxcs', 'copy-cuda', (o) => readyAtGeneration(o) && String(env.sim.admin.guest(cuda.status.vmid)!.config['memory']) === '3072', 'the template changed');
    assert.equal(env.sim.admin.guest(cuda.status.vmid)!.config['tags'], 'cuda;v2');
    // The clone is untouched: same guest, same config, and its object was not even re-reconciled into a change.
    assert.deepEqual(env.sim.admin.guest(app.status.vmid)!.config, before);
    const appAfter = await getObject(env, 'phoenixlxcs', 'app');
    assert.equal(appAfter.status.vmid, app.status.vmid);
    assert.equal(appAfter.metadata.generation, app.metadata.generation);
    assert.equal(env.sim.simulator.state.guests.filter((g) => g.vmid === app.status.vmid).length, 1);
  });
});
