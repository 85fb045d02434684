import { strict as assert } from 'node:assert';
import * as k8s from '@kubernetes/client-node';
import { startPhoenix, apply, waitReady, getObject, waitCondition, condition, stalledWith, G, type PhoenixEnv } from '../support/phoenix.ts';
import { eventually } from '../support/crds.ts';
import { ownershipOf } from '../../src/guests/marker.ts';
import type { SimGuestState } from '../../src/sim/proxmox/state.ts';

/**
 * Adoption of guests that exist before Phoenix: seeded in the simulator with every option
 * the kinds support, taken over by `spec.adopt`, reported first, then converged, never
 * re-created, never shrunk, and retained on delete unless the spec says otherwise.
 */

type Drift = { field: string; observed?: string; desired?: string; corrected?: boolean };

const sshKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHq2cZ1k2p0o4yW1bC5x dba@laptop';

/** What an adopted guest looked like before Phoenix saw it: config, snapshots, firewall, pool. */
interface Seeded {
  readonly config: Record<string, string>;
  readonly snapshots: SimGuestState['snapshots'];
  readonly firewall: SimGuestState['firewall'];
  readonly digest: string;
}

const byField = (drift: Drift[] | undefined) => new Map((drift ?? []).map((d) => [d.field, d]));

describe('adoption of existing guests (real API server + simulator)', function () {
  this.timeout(300_000);
  let env: PhoenixEnv;

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({ name: 'e2e-adoption' });
  });

  after(async () => {
    await env?.stop();
  });

  /** Every request the simulator served that is not a read, by endpoint template. */
  function writeEndpoints(): Record<string, number> {
    return Object.fromEntries(Object.entries(env.sim.admin.counters().byEndpoint).filter(([k]) => !k.startsWith('GET ')));
  }

  /** Non-read requests whose path names this VMID. */
  function writesTo(vmid: number): number {
    return Object.entries(env.sim.admin.counters().byPath)
      .filter(([key]) => !key.startsWith('GET ') && new RegExp(`/(lxc|qemu)/${vmid}(/|$)`).test(key))
      .reduce((sum, [, n]) => sum + n, 0);
  }

  function seeded(vmid: number): Seeded {
    const g = env.sim.admin.guest(vmid)!;
    return { config: structuredClone(g.config), snapshots: structuredClone(g.snapshots), firewall: structuredClone(g.firewall), digest: env.sim.simulator.digest(g) };
  }

  function guestsWithVmid(vmid: number): number {
    return env.sim.admin.snapshotState().guests.filter((g) => g.vmid === vmid).length;
  }

  async function events(name: string, reason: string): Promise<k8s.EventsV1Event[]> {
    const list = await env.cluster.kc.makeApiClient(k8s.EventsV1Api).listNamespacedEvent({ namespace: env.namespace });
    return list.items.filter((e) => e.reason === reason && e.regarding?.name === name);
  }

  /** Makes the controller look again now (an annotation change enqueues the object). */
  async function poke(plural: string, name: string): Promise<void> {
    await env.custom.patchNamespacedCustomObject({ ...G, plural, namespace: env.namespace, name, body: [{ op: 'add', path: '/metadata/annotations', value: { poke: String(Date.now()) } }] });
  }

  /** Three observe cycles of a converged guest: no perpetual diff, nothing written. */
  async function assertSteady(type: 'qemu' | 'lxc', vmid: number): Promise<void> {
    env.sim.admin.resetCounters();
    await eventually('three observe cycles', async () => (env.sim.admin.counters().byPath[`GET /nodes/pve/${type}/${vmid}/config`] ?? 0) >= 3, 60_000);
    assert.equal(writesTo(vmid), 0, 'Phoenix keeps writing to a converged adopted guest');
  }

  async function deleteAndWaitGone(plural: string, name: string): Promise<void> {
    await env.custom.deleteNamespacedCustomObject({ ...G, plural, namespace: env.namespace, name });
    await eventually(`${name} gone`, async () => getObject(env, plural, name).then(() => false, () => true), 60_000);
  }

  describe('a VM with every feature, adopted by VMID', () => {
    const vmid = 4100;
    const name = 'legacy-db';
    let before: Seeded;
    let uid = '';

    it('reports every difference from the spec while every write to Proxmox fails, and changes nothing', async () => {
      const g = env.sim.admin.addGuest({
        type: 'qemu',
        vmid,
        status: 'running',
        pool: 'databases',
        config: {
          name: 'legacy-db',
          description: 'Primary database VM\nowned by the DBA team',
          memory: 4096,
          balloon: 2048,
          cores: 2,
          sockets: 1,
          cpu: 'x86-64-v2-AES',
          cpuunits: 200,
          bios: 'ovmf',
          machine: 'q35',
          ostype: 'l26',
          scsihw: 'virtio-scsi-single',
          agent: 'enabled=1,fstrim_cloned_disks=1',
          boot: 'order=scsi0;net0',
          vga: 'std',
          efidisk0: 'local-lvm:vm-4100-disk-0,efitype=4m,pre-enrolled-keys=1,size=4M',
          scsi0: 'local-lvm:vm-4100-disk-1,cache=writeback,discard=on,iothread=1,size=32G,ssd=1',
          scsi1: 'local-lvm:vm-4100-disk-2,backup=0,size=100G',
          virtio0: 'local-lvm:vm-4100-disk-3,size=16G',
          ide2: 'local-lvm:vm-4100-cloudinit,media=cdrom',
          net0: 'virtio=BC:24:11:AA:00:01,bridge=vmbr0,firewall=1,tag=10',
          net1: 'virtio=BC:24:11:AA:00:02,bridge=vmbr0,mtu=9000,tag=20',
          net2: 'e1000,bridge=vmbr0',
          ipconfig0: 'ip=10.0.10.5/24,gw=10.0.10.1',
          ipconfig1: 'ip=dhcp',
          ciuser: 'dba',
          sshkeys: encodeURIComponent(sshKey),
          nameserver: '10.0.0.53 10.0.0.54',
          searchdomain: 'corp.example',
          hostpci0: '0000:01:00.0,pcie=1,x-vga=1',
          usb0: 'host=046d:c52b',
          tags: 'db;legacy;prod',
          startup: 'order=2,up=30,down=60',
          onboot: 1,
          smbios1: 'uuid=5f1e3c1a-9d2b-4c55-8a1e-0c6f3c2b7a10',
          vmgenid: '1b0f4e2c-7d3a-4f8e-9c2d-3e5a6b7c8d9e',
        },
      });
      g.snapshots.push({ name: 'pre-upgrade', description: 'before PostgreSQL 17', snaptime: 1_767_000_000, vmstate: false, config: { ...g.config } });
      g.parentSnapshot = 'pre-upgrade';
      g.firewall.options = { enable: 1, policy_in: 'DROP', policy_out: 'ACCEPT', log_level_in: 'info' };
      g.firewall.rules = [
        { type: 'in', action: 'ACCEPT', macro: 'SSH', enable: 1 },
        { type: 'in', action: 'ACCEPT', proto: 'tcp', dport: '5432', source: '10.0.0.0/8', comment: 'postgres', enable: 1 },
      ];
      before = seeded(vmid);
      assert.equal(before.config['hostpci0'], '0000:01:00.0,pcie=1,x-vga=1');

      // Every write to Proxmox fails from here on: whatever status says, it cannot come from a change.
      for (const method of ['POST', 'PUT', 'DELETE']) env.sim.admin.injectFault({ kind: 'error', rate: 1, method, status: 500, message: 'injected: writes are refused' });
      env.sim.admin.resetCounters();

      const created = await apply(env, 'PhoenixVM', name, {
        adopt: { vmid },
        hostname: 'legacy-db',
        memory: '8G', // differs: 4096 MiB live
        cores: 4, // differs: 2 live
        sockets: 1,
        cpuType: 'x86-64-v2-AES',
        bios: 'ovmf',
        machine: 'q35',
        osType: 'l26',
        scsiController: 'virtio-scsi-single',
        agent: { enabled: true, fstrimClonedDisks: true },
        bootOrder: ['scsi0', 'net0'],
        tags: ['db', 'prod', 'critical'], // differs: legacy → critical
        startup: { order: 2, upDelay: 30, downDelay: 60 },
        onBoot: true,
        dns: { nameservers: ['10.0.0.53', '10.0.0.54'], searchDomain: 'corp.example' },
        networks: [
          { model: 'virtio', bridge: 'vmbr0', mac: 'BC:24:11:AA:00:01', vlan: 10, firewall: true, ipv4: '10.0.10.5/24', gatewayV4: '10.0.10.1' },
          { model: 'virtio', bridge: 'vmbr0', mac: 'BC:24:11:AA:00:02', vlan: 30 }, // differs: VLAN 20 live; its MTU 9000 is left unset, so it stays
          { model: 'e1000', bridge: 'vmbr0' }, // MAC left to what Proxmox generated
        ],
        disks: [
          { slot: 'scsi0', size: '40G', cache: 'writeback', discard: true, ssd: true, ioThread: true }, // grows: 32G live
          { slot: 'virtio0', size: '8G' }, // smaller than the 16G live: must never shrink
        ],
        cloudInit: { user: 'dba', sshPublicKeys: [sshKey] },
        snapshots: [{ name: 'pre-upgrade' }],
        firewall: {
          enabled: true,
          policyIn: 'REJECT', // differs: DROP live
          rules: [
            { type: 'in', action: 'ACCEPT', macro: 'SSH' },
            { type: 'in', action: 'ACCEPT', proto: 'tcp', dport: '5432', source: '10.0.0.0/8', comment: 'postgres' },
          ],
        },
        restartPolicy: 'IfRequired',
        observePeriod: '1s',
        // Left unset: description, balloon, cpuUnits, scsi1, efiDisk, pciDevices, usbDevices, pool, deletionPolicy.
      });
      uid = created.metadata.uid;

      const expected: [string, string, string][] = [
        ['cores', '2', '4'],
        ['firewall.policy_in', 'DROP', 'REJECT'],
        ['memory', '4096', '8192'],
        ['scsi0', '32G', '40G'],
        ['tags', 'db;legacy;prod', 'critical;db;prod'],
        ['virtio0', '16G', '8G'],
      ];
      const fields = [...expected.map(([f]) => f), 'net1.tag'].sort();
      const reported = await waitCondition(env, 'phoenixvms', name, (o) => o.status?.adopted === true && [...byField(o.status?.drift).keys()].sort().join() === fields.join(), `adopted, drift on ${fields.join(', ')}`);
      const drift = byField(reported.status.drift);
      for (const [field, observed, desired] of expected) {
        assert.deepEqual([drift.get(field)?.observed, drift.get(field)?.desired], [observed, desired], `drift of ${field}`);
      }
      assert.equal(drift.get('net1.tag')?.observed, before.config['net1']);
      assert.match(drift.get('net1.tag')?.desired ?? '', /^virtio=BC:24:11:AA:00:02,bridge=vmbr0,mtu=9000,tag=30$/);
      assert.ok([...drift.values()].every((d) => d.corrected === false), 'a difference was reported as corrected before anything was written');
      assert.notEqual(condition(reported, 'Ready')?.status, 'True');
      // The guest as found is imported into status, to write a spec from: every option, secrets masked.
      const imported: Record<string, string> = reported.status.importedConfig;
      assert.deepEqual(Object.keys(imported).sort(), Object.keys(before.config).filter((k) => k !== 'digest').sort());
      for (const key of ['memory', 'cores', 'scsi0', 'virtio0', 'net1', 'hostpci0', 'tags', 'description']) assert.equal(imported[key], before.config[key], `importedConfig.${key}`);
      assert.equal(imported['sshkeys'], '(secret)');

      const planned = await events(name, 'AdoptionPlanned');
      assert.equal(planned.length, 1, 'one AdoptionPlanned event');
      for (const text of ['memory: 4096 → 8192', 'cores: 2 → 4', 'scsi0: 32G → 40G', 'virtio0: 16G → 8G', 'firewall.policy_in: DROP → REJECT']) {
        assert.ok(planned[0]!.note?.includes(text), `AdoptionPlanned does not mention "${text}": ${planned[0]!.note}`);
      }

      // Phoenix went on to write (the marker) only after reporting, and every attempt was refused.
      await eventually('a write was attempted and refused', async () => (writeEndpoints()['POST /nodes/{node}/qemu/{vmid}/config'] ?? 0) >= 1, 60_000);
      assert.deepEqual(Object.keys(writeEndpoints()), ['POST /nodes/{node}/qemu/{vmid}/config'], 'Phoenix tried to write something other than the config');
      const now = seeded(vmid);
      assert.deepEqual(now.config, before.config, 'the config changed before the differences were reported');
      assert.equal(now.digest, before.digest);
      assert.deepEqual(now.snapshots, before.snapshots);
      assert.deepEqual(now.firewall, before.firewall);
      assert.deepEqual(env.sim.admin.guest(vmid)!.pending, {});
    });

    it('then marks and converges it: grows, never shrinks, never re-creates, leaves unset fields alone', async () => {
      env.sim.admin.clearFaults('error');
      await poke('phoenixvms', name);
      // The one difference Phoenix must refuse keeps the object Stalled, everything else converged.
      const stalled = await waitCondition(env, 'phoenixvms', name, stalledWith('ShrinkRefused'), 'Stalled ShrinkRefused');
      assert.match(condition(stalled, 'Stalled')?.message ?? '', /virtio0 is 16G, the spec asks for 8G.*never re-creates/);

      const g = env.sim.admin.guest(vmid)!;
      const c = g.config;
      assert.equal(ownershipOf(c['description'], uid), 'ours', 'the adopted guest carries no marker');
      assert.match(c['description'] ?? '', /^Primary database VM\nowned by the DBA team\n\n<!-- phoenix:owner /, 'the notes the spec leaves unset were changed');
      // Converged (the cores/memory change needed a restart, which restartPolicy: IfRequired allows).
      assert.equal(c['memory'], '8192');
      assert.equal(c['cores'], '4');
      assert.equal(c['tags'], 'critical;db;prod');
      assert.equal(c['net1'], 'virtio=BC:24:11:AA:00:02,bridge=vmbr0,mtu=9000,tag=30');
      assert.match(c['scsi0'] ?? '', /^local-lvm:vm-4100-disk-1,.*size=40G/);
      assert.equal(g.firewall.options['policy_in'], 'REJECT');
      assert.deepEqual(g.firewall.rules, before.firewall.rules, 'rules that matched the spec were rewritten');
      assert.deepEqual(g.pending, {});
      assert.equal(g.status, 'running');
      // Never shrunk, never re-created.
      assert.equal(c['virtio0'], before.config['virtio0']);
      assert.equal(env.sim.admin.snapshotState().volumes.find((v) => v.volid === 'local-lvm:vm-4100-disk-3')?.size, 16 * 1024 ** 3);
      assert.equal(guestsWithVmid(vmid), 1);
      assert.equal(stalled.status.vmid, vmid);
      const writes = writeEndpoints();
      for (const endpoint of ['POST /nodes/{node}/qemu', 'POST /nodes/{node}/qemu/{vmid}/clone', 'DELETE /nodes/{node}/qemu/{vmid}', 'POST /nodes/{node}/qemu/{vmid}/snapshot/{snapname}/rollback']) {
        assert.equal(writes[endpoint], undefined, `${endpoint} was called`);
      }
      assert.equal(writes['PUT /nodes/{node}/qemu/{vmid}/resize'], 1, 'exactly one resize: scsi0 grown, virtio0 not shrunk');
      // Everything the spec leaves unset is as it was, and so are the options that already matched.
      for (const key of ['name', 'balloon', 'cpuunits', 'sockets', 'cpu', 'bios', 'machine', 'ostype', 'scsihw', 'agent', 'boot', 'vga', 'efidisk0', 'scsi1', 'ide2', 'net0', 'net2', 'ipconfig0', 'ipconfig1', 'ciuser', 'sshkeys', 'nameserver', 'searchdomain', 'hostpci0', 'usb0', 'startup', 'onboot', 'smbios1', 'vmgenid']) {
        assert.equal(c[key], before.config[key], `${key} changed`);
      }
      assert.equal(Object.keys(c).filter((k) => !(k in before.config)).length, 0, `options appeared: ${Object.keys(c).filter((k) => !(k in before.config))}`);
      assert.deepEqual(g.snapshots, before.snapshots, 'snapshots changed');
      assert.ok(env.sim.admin.snapshotState().pools.find((p) => p.poolid === 'databases')?.members.includes(`qemu/${vmid}`), 'pool membership changed');
      assert.equal((await events(name, 'Adopted')).length, 1);
    });

    it('becomes Ready once the spec accepts the disk size as it is', async () => {
      await env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixvms', namespace: env.namespace, name, body: [{ op: 'replace', path: '/spec/disks/1/size', value: '16G' }] });
      const ready = await waitReady(env, 'phoenixvms', name);
      assert.equal(condition(ready, 'Ready')?.reason, 'Converged');
      assert.equal(ready.status.adopted, true);
      assert.equal(ready.status.vmid, vmid);
      assert.equal(env.sim.admin.guest(vmid)!.config['virtio0'], before.config['virtio0']);
      assert.equal(guestsWithVmid(vmid), 1);
      await assertSteady('qemu', vmid);
    });

    it('deleting the object retains the adopted guest by default and removes only the marker', async () => {
      const config = structuredClone(env.sim.admin.guest(vmid)!.config);
      env.sim.admin.resetCounters();
      await deleteAndWaitGone('phoenixvms', name);
      const g = env.sim.admin.guest(vmid);
      assert.ok(g, 'an adopted guest was destroyed by default');
      assert.equal(g.status, 'running');
      assert.equal(g.config['description'], before.config['description'], 'the notes were not restored as they were');
      assert.equal(ownershipOf(g.config['description'], uid), 'unmarked');
      const { description: _a, ...rest } = g.config;
      const { description: _b, ...restBefore } = config;
      assert.deepEqual(rest, restBefore, 'retaining changed more than the description');
      assert.deepEqual(g.snapshots, before.snapshots);
      assert.equal((await events(name, 'Retained')).length, 1);
    });
  });

  describe('a container with every feature, adopted by name', () => {
    const vmid = 4200;
    const name = 'cache';
    let before: Seeded;
    let uid = '';

    it('finds the one container of that name, reports the differences, then converges it', async () => {
      const g = env.sim.admin.addGuest({
        type: 'lxc',
        vmid,
        status: 'running',
        config: {
          hostname: 'legacy-cache',
          description: 'Cache node',
          arch: 'amd64',
          ostype: 'debian',
          unprivileged: 1,
          memory: 1024,
          swap: 512,
          cores: 2,
          cpulimit: 1,
          cpuunits: 512,
          rootfs: 'local-lvm:vm-4200-disk-0,size=8G',
          mp0: 'local-lvm:vm-4200-disk-1,mp=/var/cache/app,backup=1,size=20G',
          mp1: '/srv/shared,mp=/mnt/shared,ro=1',
          net0: 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:BB:00:01,ip=10.0.20.5/24,gw=10.0.20.1,tag=20,firewall=1,type=veth',
          net1: 'name=eth1,bridge=vmbr0,ip=dhcp,type=veth',
          features: 'keyctl=1,nesting=1',
          nameserver: '10.0.0.53',
          searchdomain: 'corp.example',
          tags: 'cache;legacy',
          startup: 'order=1,up=10',
          onboot: 1,
          dev0: '/dev/net/tun,mode=0666',
          timezone: 'Europe/Berlin',
        },
      });
      g.snapshots.push({ name: 'before-migration', description: 'taken by hand', snaptime: 1_767_000_000, vmstate: false, config: { ...g.config } });
      g.parentSnapshot = 'before-migration';
      g.firewall.options = { enable: 1, policy_in: 'DROP' };
      g.firewall.rules = [{ type: 'in', action: 'ACCEPT', macro: 'Ping', enable: 1 }];
      // A VM of the same name is not a candidate for a PhoenixLXC.
      env.sim.admin.addGuest({ type: 'qemu', vmid: 4201, config: { name: 'legacy-cache', memory: 512 } });
      before = seeded(vmid);
      env.sim.admin.resetCounters();

      const created = await apply(env, 'PhoenixLXC', name, {
        adopt: { name: 'legacy-cache' },
        description: 'Cache node (managed by Phoenix)', // differs
        memory: '2G', // differs: 1024 live
        swap: '512M',
        cores: 2,
        cpuLimit: 2, // differs: 1 live
        tags: ['cache', 'prod'], // differs
        unprivileged: true,
        rootDisk: { size: '8G' },
        mountPoints: [
          { path: '/var/cache/app', storage: 'local-lvm', size: '30G', backup: true }, // grows: 20G live
          { path: '/mnt/shared', hostPath: '/srv/shared', readOnly: true },
        ],
        features: { nesting: true, keyctl: true },
        dns: { nameservers: ['10.0.0.53'], searchDomain: 'corp.example' },
        startup: { order: 1, upDelay: 10 },
        onBoot: true,
        snapshots: [{ name: 'before-migration' }],
        deletionPolicy: 'Delete',
        observePeriod: '1s',
        // Left unset: hostname, networks, devices, cpuUnits, osType, firewall.
      });
      uid = created.metadata.uid;

      const ready = await waitReady(env, 'phoenixlxcs', name);
      assert.equal(ready.status.adopted, true);
      assert.equal(ready.status.vmid, vmid, 'adopt.name found the wrong guest');
      const drift = (ready.status.drift as Drift[]).map((d) => [d.field, d.observed, d.desired, d.corrected]).sort();
      assert.deepEqual(drift, [
        ['cpulimit', '1', '2', false],
        ['description', 'Cache node', 'Cache node (managed by Phoenix)', false],
        ['memory', '1024', '2048', false],
        ['mp0', '20G', '30G', false],
        ['tags', 'cache;legacy', 'cache;prod', false],
      ]);
      const planned = await events(name, 'AdoptionPlanned');
      assert.equal(planned.length, 1);
      assert.match(planned[0]!.note ?? '', /found lxc 4200; differences: .*memory: 1024 → 2048/);

      const c = env.sim.admin.guest(vmid)!.config;
      assert.equal(ownershipOf(c['description'], uid), 'ours');
      assert.match(c['description'] ?? '', /^Cache node \(managed by Phoenix\)\n\n<!-- phoenix:owner /);
      assert.equal(c['memory'], '2048');
      assert.equal(c['cpulimit'], '2');
      assert.equal(c['tags'], 'cache;prod');
      assert.match(c['mp0'] ?? '', /^local-lvm:vm-4200-disk-1,/);
      assert.deepEqual((c['mp0'] ?? '').split(',').slice(1).sort(), ['backup=1', 'mp=/var/cache/app', 'size=30G']);
      for (const key of ['hostname', 'arch', 'ostype', 'unprivileged', 'swap', 'cores', 'cpuunits', 'rootfs', 'mp1', 'net0', 'net1', 'features', 'nameserver', 'searchdomain', 'startup', 'onboot', 'dev0', 'timezone']) {
        assert.equal(c[key], before.config[key], `${key} changed`);
      }
      const g2 = env.sim.admin.guest(vmid)!;
      assert.deepEqual(g2.snapshots, before.snapshots);
      assert.deepEqual(g2.firewall, before.firewall, 'the firewall the spec leaves unset was changed');
      assert.equal(g2.status, 'running');
      assert.equal(guestsWithVmid(vmid), 1);
      assert.equal(env.sim.admin.guest(4201)!.config['name'], 'legacy-cache');
      assert.equal(writesTo(4201), 0, 'the VM of the same name was written to');
      const writes = writeEndpoints();
      assert.equal(writes['POST /nodes/{node}/lxc'], undefined, 'a container was created');
      assert.equal(writes['POST /nodes/{node}/lxc/{vmid}/clone'], undefined, 'a container was cloned');
      await assertSteady('lxc', vmid);
    });

    it('with deletionPolicy: Delete, deleting the object destroys the adopted container', async () => {
      await deleteAndWaitGone('phoenixlxcs', name);
      assert.equal(env.sim.admin.guest(vmid), undefined, 'deletionPolicy: Delete did not destroy the guest');
      assert.equal((await events(name, 'Deleting')).length, 1);
    });
  });

  it('refuses adopt.name that matches two guests, with a clear condition and no writes', async () => {
    env.sim.admin.addGuest({ type: 'lxc', vmid: 4300, config: { hostname: 'twin', memory: 512, rootfs: 'local-lvm:vm-4300-disk-0,size=4G' }, status: 'running' });
    env.sim.admin.addGuest({ type: 'lxc', vmid: 4301, config: { hostname: 'twin', memory: 512, rootfs: 'local-lvm:vm-4301-disk-0,size=4G' } });
    const configs = [4300, 4301].map((v) => structuredClone(env.sim.admin.guest(v)!.config));
    env.sim.admin.resetCounters();
    await apply(env, 'PhoenixLXC', 'twin', { adopt: { name: 'twin' }, memory: '1G' });
    const stalled = await waitCondition(env, 'phoenixlxcs', 'twin', stalledWith('AdoptionAmbiguous'), 'Stalled AdoptionAmbiguous');
    assert.match(condition(stalled, 'Stalled')?.message ?? '', /adopt\.name twin matches 2 lxc guests \((4300, 4301|4301, 4300)\); name the guest by adopt\.vmid/);
    assert.equal(stalled.status.adopted, undefined);
    assert.equal(stalled.status.vmid, undefined);
    assert.deepEqual(writeEndpoints(), {}, 'Phoenix wrote to Proxmox');
    await deleteAndWaitGone('phoenixlxcs', 'twin');
    assert.deepEqual([4300, 4301].map((v) => env.sim.admin.guest(v)?.config), configs, 'a candidate guest was changed or removed');
  });
});
