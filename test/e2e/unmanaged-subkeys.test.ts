import { strict as assert } from 'node:assert';
import { startPhoenix, apply, waitReady, G, type PhoenixEnv, addBridge } from '../support/phoenix.ts';
import { eventually } from '../support/crds.ts';
import { createProxmoxClient, type ProxmoxClient } from '../../src/clients/proxmox/client.ts';
import { effectiveConfig } from '../../src/sim/proxmox/api/guest-common.ts';

type Config = Record<string, string>;

const name = 'hand-tuned-vm';

/**
 * Sub-keys of a disk and a NIC that a person sets on the guest and the spec says nothing about:
 * I/O limits, error policies, identity (qemu-server Drive.pm `%drivedesc_base`, `%scsi_fmt`), a
 * NIC's link state and trunks. Phoenix must keep every one of them when it rewrites the option.
 */
const handDiskKeys: Config = {
  aio: 'threads',
  detect_zeroes: '1',
  iops_rd: '100',
  iops_wr_max: '400',
  iops_wr_max_length: '10',
  mbps_wr: '50.5',
  replicate: '0',
  rerror: 'stop',
  serial: 'abc',
  werror: 'enospc',
  wwn: '0x5000c500a1b2c3d4',
};
const handNicKeys: Config = { link_down: '1', trunks: '20;30' };

/** The option's sub-keys, split here rather than by Phoenix's parser, whose behaviour is under test. */
function subKeys(value: string | undefined): Config {
  const out: Config = {};
  for (const [i, part] of (value ?? '').split(',').entries()) {
    const eq = part.indexOf('=');
    if (eq < 0 && i === 0) out['_'] = part;
    else out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}
const withKeys = (value: string | undefined, keys: Config): string =>
  [value ?? '', ...Object.entries(keys).map(([k, v]) => `${k}=${v}`)].join(',');

describe('sub-keys of a disk or NIC that Phoenix does not manage (real API server + simulator)', function () {
  this.timeout(120_000);
  let env: PhoenixEnv;
  let px: ProxmoxClient;
  let vmid = 0;

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({
      name: 'e2e-unmanaged-subkeys',
      seed: (sim) => {
        addBridge(sim, 'vmbr1');
      },
    });
    px = createProxmoxClient({ url: env.sim.url, token: `${env.sim.token.fullId}=${env.sim.token.secret}` });
    env.sim.admin.addGuest({ type: 'qemu', vmid: 9500, config: { name: 'golden', memory: 1024, scsi0: 'local-lvm:base-9500-disk-0,size=4G', net0: 'virtio,bridge=vmbr0', template: 1 } });
    await apply(env, 'PhoenixVM', name, {
      source: { clone: { vmid: 9500 } },
      cores: 1,
      memory: '1G',
      disks: [{ slot: 'scsi0', size: '8G', cache: 'writeback' }],
      networks: [{ bridge: 'vmbr0' }],
      observePeriod: '1s',
    });
    vmid = (await waitReady(env, 'phoenixvms', name, 90_000)).status.vmid;
  });

  after(async () => {
    px?.close();
    await env?.stop();
  });

  const effective = (id = vmid): Config => effectiveConfig(env.sim.admin.guest(id)!);
  const configReads = (type = 'qemu') => env.sim.admin.counters().byEndpoint[`GET /nodes/{node}/${type}/{vmid}/config`] ?? 0;
  const writes = () => Object.entries(env.sim.admin.counters().byEndpoint).filter(([k]) => !k.startsWith('GET'));
  async function cycles(n: number, type = 'qemu'): Promise<void> {
    const from = configReads(type);
    await eventually(`${n} observe cycles`, async () => configReads(type) >= from + n, 30_000);
  }
  const assertKept = (option: string, keys: Config, id = vmid) => {
    const now = subKeys(effective(id)[option]);
    for (const [k, v] of Object.entries(keys)) assert.equal(now[k], v, `${option} lost ${k}=${v}: ${effective(id)[option]}`);
  };

  it('takes the hand-set sub-keys alone as no drift: nothing is written, cycle after cycle', async () => {
    const c = effective();
    await px.api.nodes.$('pve').qemu.$(vmid).config.$put({ scsi0: withKeys(c['scsi0'], handDiskKeys), net0: withKeys(c['net0'], handNicKeys) } as never);
    assertKept('scsi0', handDiskKeys);
    assertKept('net0', handNicKeys);
    const edited = effective();
    env.sim.admin.resetCounters();
    await cycles(4);
    assert.deepEqual(writes(), [], 'Phoenix wrote because of sub-keys it does not manage');
    assert.deepEqual(effective(), edited);
  });

  it('keeps them when a spec change makes Phoenix rewrite the disk (cache, size) and the NIC (bridge)', async () => {
    const volume = subKeys(effective()['scsi0'])['_'];
    const mac = subKeys(effective()['net0'])['virtio'];
    await env.custom.patchNamespacedCustomObject({
      ...G, plural: 'phoenixvms', namespace: env.namespace, name,
      body: [
        { op: 'replace', path: '/spec/disks/0/cache', value: 'none' },
        { op: 'replace', path: '/spec/disks/0/size', value: '10G' },
        { op: 'replace', path: '/spec/networks/0/bridge', value: 'vmbr1' },
      ],
    });
    await eventually('the disk and NIC rewritten', async () => {
      const disk = subKeys(effective()['scsi0']);
      return disk['cache'] === 'none' && disk['size'] === '10G' && subKeys(effective()['net0'])['bridge'] === 'vmbr1';
    }, 60_000);
    await waitReady(env, 'phoenixvms', name);
    assertKept('scsi0', handDiskKeys);
    assertKept('net0', handNicKeys);
    assert.equal(subKeys(effective()['scsi0'])['_'], volume, 'the disk is another volume');
    assert.equal(subKeys(effective()['net0'])['virtio'], mac, 'the NIC has another MAC');
  });

  it('keeps them when drift correction rewrites the disk and the NIC, and is steady afterwards', async () => {
    const c = effective();
    const disk = subKeys(c['scsi0']);
    const nic = subKeys(c['net0']);
    // A person sets the managed keys back by hand; Phoenix corrects them with a rewrite of each option.
    await px.api.nodes.$('pve').qemu.$(vmid).config.$put({
      scsi0: c['scsi0']!.replace('cache=none', 'cache=writeback'),
      net0: c['net0']!.replace('bridge=vmbr1', 'bridge=vmbr0'),
    } as never);
    await eventually('drift corrected', async () => subKeys(effective()['scsi0'])['cache'] === 'none' && subKeys(effective()['net0'])['bridge'] === 'vmbr1', 30_000);
    assert.deepEqual(subKeys(effective()['scsi0']), disk);
    assert.deepEqual(subKeys(effective()['net0']), nic);
    assertKept('scsi0', handDiskKeys);
    assertKept('net0', handNicKeys);
    assert.deepEqual(env.sim.admin.guest(vmid)!.pending, {}, 'changes left pending');
    await waitReady(env, 'phoenixvms', name);
    env.sim.admin.resetCounters();
    await cycles(4);
    assert.deepEqual(writes(), [], 'Phoenix kept writing after the correction');
  });

  describe('a container: rootfs, a mount point and a NIC', () => {
    const ct = 'hand-tuned-ct';
    let ctid = 0;
    /** pve-container `$rootfs_desc` / `$mp_desc` and `$netconf_desc` keys the spec leaves alone. */
    const handRootfsKeys: Config = { acl: '1', mountoptions: 'noatime;nodev', quota: '1', replicate: '0' };
    const handMpKeys: Config = { acl: '0', mountoptions: 'lazytime', replicate: '0' };
    const handCtNicKeys: Config = { link_down: '1', trunks: '20;30' };

    before(async () => {
      await apply(env, 'PhoenixLXC', ct, {
        source: { osTemplate: { volume: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst' } },
        memory: '512M',
        rootDisk: { storage: 'local-lvm', size: '4G' },
        mountPoints: [{ path: '/data', storage: 'local-lvm', size: '1G', backup: true }],
        networks: [{ name: 'eth0', bridge: 'vmbr0', ipv4: 'dhcp' }],
        // Stopped, so that a changed mount point applies at once instead of waiting for a restart.
        powerState: 'Stopped',
        observePeriod: '1s',
      });
      ctid = (await waitReady(env, 'phoenixlxcs', ct, 90_000)).status.vmid;
    });

    it('takes hand-set keys alone as no drift, and keeps them through a resize, a flag change and a bridge change', async () => {
      const c = effective(ctid);
      await px.api.nodes.$('pve').lxc.$(ctid).config.$put({
        rootfs: withKeys(c['rootfs'], handRootfsKeys),
        mp0: withKeys(c['mp0'], handMpKeys),
        net0: withKeys(c['net0'], handCtNicKeys),
      } as never);
      const edited = effective(ctid);
      env.sim.admin.resetCounters();
      await cycles(4, 'lxc');
      assert.deepEqual(writes(), [], 'Phoenix wrote because of sub-keys it does not manage');
      assert.deepEqual(effective(ctid), edited);

      await env.custom.patchNamespacedCustomObject({
        ...G, plural: 'phoenixlxcs', namespace: env.namespace, name: ct,
        body: [
          { op: 'replace', path: '/spec/rootDisk/size', value: '6G' },
          { op: 'replace', path: '/spec/mountPoints/0/size', value: '2G' },
          { op: 'replace', path: '/spec/mountPoints/0/backup', value: false },
          { op: 'replace', path: '/spec/networks/0/bridge', value: 'vmbr1' },
        ],
      });
      await eventually('rootfs, mp0 and net0 rewritten', async () => {
        const now = effective(ctid);
        return subKeys(now['rootfs'])['size'] === '6G' && subKeys(now['mp0'])['size'] === '2G' && subKeys(now['mp0'])['backup'] === '0' && subKeys(now['net0'])['bridge'] === 'vmbr1';
      }, 60_000).catch(async (e) => {
        const o = await env.custom.getNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace: env.namespace, name: ct }) as any;
        throw new Error(`${e}: ${JSON.stringify(effective(ctid))} pending ${JSON.stringify(env.sim.admin.guest(ctid)!.pending)} status ${JSON.stringify(o.status.conditions)}`);
      });
      await waitReady(env, 'phoenixlxcs', ct);
      assertKept('rootfs', handRootfsKeys, ctid);
      assertKept('mp0', handMpKeys, ctid);
      assertKept('net0', handCtNicKeys, ctid);
      assert.equal(subKeys(effective(ctid)['mp0'])['mp'], '/data');
    });
  });
});
