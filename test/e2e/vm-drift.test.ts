import { strict as assert } from 'node:assert';
import * as k8s from '@kubernetes/client-node';
import { startPhoenix, apply, waitReady, waitCondition, condition, stalledWith, readyAtGeneration, G, type PhoenixEnv, addBridge } from '../support/phoenix.ts';
import { eventually } from '../support/crds.ts';
import { createProxmoxClient, type ProxmoxClient } from '../../src/clients/proxmox/client.ts';
import { effectiveConfig } from '../../src/sim/proxmox/api/guest-common.ts';
import { formatPropertyString, parsePropertyString } from '../../src/proxmox/property-string.ts';
import { qemuDriveFormat, qemuNetFormat } from '../../src/proxmox/guest-formats.ts';
import type { PropertyFormat } from '../../src/proxmox/schema.ts';
import { encodeSshKeys } from '../../src/guests/vm-config.ts';

type Config = Record<string, string>;

const name = 'every-vm-field';
const specKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIVmDriftSpecKey ops@lab';
const handKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHandAddedKey intruder@lab';
const password = 'vm-drift-pa55word';
const mac = 'bc:24:11:0a:0b:0c';

/**
 * A PhoenixVM with every option Phoenix manages set, several of them in a form Proxmox
 * stores differently: tags out of order and in mixed case, memory and disk sizes in other
 * units than Proxmox's, a lower-case MAC, a mixed-case search domain.
 */
const spec = {
  source: { clone: { vmid: 9500 } },
  description: 'Built by Phoenix for the drift test.',
  tags: ['Web', 'prod', 'DB'],
  cores: 2,
  sockets: 1,
  cpuType: 'x86-64-v2-AES',
  cpuLimit: 1,
  cpuUnits: 200,
  memory: '2G',
  balloon: '524288K',
  onBoot: true,
  protection: false,
  startup: { order: 3, upDelay: 10 },
  dns: { nameservers: ['10.0.0.13', '10.0.0.14'], searchDomain: 'Lab.Example' },
  bios: 'seabios',
  machine: 'q35',
  osType: 'l26',
  scsiController: 'virtio-scsi-single',
  agent: { enabled: true, fstrimClonedDisks: true },
  bootOrder: ['scsi0', 'net0'],
  disks: [{ slot: 'scsi0', size: '8192M', cache: 'writeback', discard: true, ssd: true, ioThread: true, backup: true }],
  networks: [
    { bridge: 'vmbr0', model: 'virtio', mac, vlan: 20, firewall: true, mtu: 1450, queues: 2, rateLimit: 100, ipv4: '10.0.0.7/24', gatewayV4: '10.0.0.1', ipv6: 'auto' },
    // A NIC whose MAC the spec leaves to Proxmox.
    { bridge: 'vmbr0' },
  ],
  cloudInit: {
    user: 'phoenix',
    passwordSecretRef: { name: 'vm-drift-ci' },
    sshPublicKeys: [specKey],
    upgrade: false,
    storage: 'local-lvm',
    type: 'nocloud',
    userData: 'local:snippets/user-data.yaml',
  },
  observePeriod: '500ms',
};

/** The spec's NIC as Proxmox stores it, key by key. */
const specNet: Config = { model: 'virtio', macaddr: mac.toUpperCase(), bridge: 'vmbr0', tag: '20', firewall: '1', mtu: '1450', queues: '2', rate: '100' };
/** The spec's disk flags as Proxmox stores them. */
const specDisk: Config = { cache: 'writeback', discard: 'on', ssd: '1', iothread: '1', backup: '1' };

const props = (value: string | undefined, format: PropertyFormat): Config => (value === undefined ? {} : (parsePropertyString(value, format).values as Config));
/** The option rewritten with some keys changed, as the Proxmox UI sends a whole NIC or disk. */
const withKeys = (value: string | undefined, format: PropertyFormat, change: Config): string => formatPropertyString({ ...props(value, format), ...change }, format);
const netMatches = (c: Config) => {
  const net = props(c['net0'], qemuNetFormat);
  const second = props(c['net1'], qemuNetFormat);
  return Object.entries(specNet).every(([k, v]) => (net[k] ?? '').toUpperCase() === v.toUpperCase()) && second['model'] === 'virtio' && second['bridge'] === 'vmbr0';
};
const diskMatches = (c: Config) => {
  const disk = props(c['scsi0'], qemuDriveFormat);
  return Object.entries(specDisk).every(([k, v]) => disk[k] === v) && disk['size'] === '8G';
};

const ipconfigFormat: PropertyFormat = { ip: { type: 'string', optional: true }, gw: { type: 'string', optional: true }, ip6: { type: 'string', optional: true }, gw6: { type: 'string', optional: true } };
const ipconfigMatches = (v: string | undefined) => {
  const ip = props(v, ipconfigFormat);
  return ip['ip'] === '10.0.0.7/24' && ip['gw'] === '10.0.0.1' && ip['ip6'] === 'auto' && ip['gw6'] === undefined;
};

interface Row {
  /** What the person changes, for the test title. */
  readonly title: string;
  /** The Proxmox option that changes, and the `option` label of the drift metric. */
  readonly key: string;
  readonly metric: string;
  readonly edit: (c: Config) => Record<string, string | number>;
  /** The effective config (pending values applied, as `GET …/config` shows it) holds the spec's value again. */
  readonly expect: (c: Config) => boolean;
}

const scalarRow = (key: string, edited: string | number, expected: (v: string | undefined) => boolean): Row =>
  ({ title: `${key}: ${edited}`, key, metric: key, edit: () => ({ [key]: edited }), expect: (c) => expected(c[key]) });
const netRow = (nic: 'net0' | 'net1', k: string, edited: string): Row =>
  ({ title: `${nic} ${k}: ${edited}`, key: nic, metric: 'net', edit: (c) => ({ [nic]: withKeys(c[nic], qemuNetFormat, { [k]: edited }) }), expect: netMatches });
const diskRow = (k: string, edited: string): Row =>
  ({ title: `scsi0 ${k}: ${edited}`, key: 'scsi0', metric: 'scsi', edit: (c) => ({ scsi0: withKeys(c['scsi0'], qemuDriveFormat, { [k]: edited }) }), expect: diskMatches });
const is = (expected: string) => (v: string | undefined) => v === expected;

// One out-of-band edit per row, made as a person would in the Proxmox UI.
const rows: Row[] = [
  scalarRow('name', 'renamed-by-hand', is(name)),
  {
    title: 'description: notes rewritten above the marker', key: 'description', metric: 'description',
    edit: (c) => ({ description: String(c['description']).replace('Built by Phoenix for the drift test.', 'Edited by hand.') }),
    expect: (c) => /^Built by Phoenix for the drift test\.\n\n<!-- phoenix:owner uid=/.test(c['description'] ?? ''),
  },
  scalarRow('tags', 'hacked;prod', is('db;prod;web')),
  scalarRow('cores', 7, is('2')),
  scalarRow('sockets', 2, (v) => (v ?? '1') === '1'),
  scalarRow('cpu', 'host', is('x86-64-v2-AES')),
  scalarRow('cpulimit', 4, is('1')),
  scalarRow('cpuunits', 1000, is('200')),
  scalarRow('memory', 4096, is('2048')),
  scalarRow('balloon', 0, is('512')),
  scalarRow('onboot', 0, is('1')),
  scalarRow('protection', 1, (v) => (v ?? '0') === '0'),
  scalarRow('startup', 'order=9', is('order=3,up=10')),
  scalarRow('nameserver', '9.9.9.9', is('10.0.0.13 10.0.0.14')),
  scalarRow('searchdomain', 'other.example', (v) => v?.toLowerCase() === 'lab.example'),
  scalarRow('bios', 'ovmf', (v) => (v ?? 'seabios') === 'seabios'),
  scalarRow('machine', 'pc', is('q35')),
  scalarRow('ostype', 'win11', is('l26')),
  scalarRow('scsihw', 'lsi', is('virtio-scsi-single')),
  scalarRow('agent', 'enabled=0', (v) => /^(enabled=)?1,fstrim_cloned_disks=1$/.test(v ?? '')),
  scalarRow('boot', 'order=net0;scsi0', is('order=scsi0;net0')),
  scalarRow('ciuser', 'root', is('phoenix')),
  scalarRow('sshkeys', encodeSshKeys([handKey]), (v) => decodeURIComponent(v ?? '') === specKey),
  scalarRow('ciupgrade', 1, is('0')),
  scalarRow('citype', 'configdrive2', is('nocloud')),
  scalarRow('cicustom', 'user=local:snippets/other.yaml', is('user=local:snippets/user-data.yaml')),
  { title: 'cipassword removed', key: 'cipassword', metric: 'cipassword', edit: () => ({ delete: 'cipassword' }), expect: (c) => c['cipassword'] === password },
  { ...scalarRow('ipconfig0', 'ip=10.0.0.99/24,gw=10.0.0.1', ipconfigMatches), metric: 'ipconfig' },
  netRow('net0', 'model', 'e1000'),
  netRow('net0', 'bridge', 'vmbr1'),
  netRow('net0', 'macaddr', 'BC:24:11:DE:AD:01'),
  netRow('net0', 'tag', '30'),
  netRow('net0', 'firewall', '0'),
  netRow('net0', 'mtu', '9000'),
  netRow('net0', 'queues', '8'),
  netRow('net0', 'rate', '5'),
  netRow('net1', 'bridge', 'vmbr1'),
  { title: 'net2 added by hand (the spec lists every NIC)', key: 'net2', metric: 'net', edit: () => ({ net2: 'virtio,bridge=vmbr0' }), expect: (c) => c['net2'] === undefined },
  diskRow('cache', 'none'),
  diskRow('discard', 'ignore'),
  diskRow('ssd', '0'),
  diskRow('iothread', '0'),
  diskRow('backup', '0'),
  {
    title: 'cloud-init drive removed', key: 'ide2', metric: 'ide', edit: () => ({ delete: 'ide2' }),
    expect: (c) => /^local-lvm:vm-\d+-cloudinit,media=cdrom$/.test(c['ide2'] ?? ''),
  },
];

describe('drift of a PhoenixVM: changes made outside Phoenix (real API server + simulator)', function () {
  this.timeout(120_000);
  let env: PhoenixEnv;
  let px: ProxmoxClient;
  let vmid = 0;

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({
      name: 'e2e-vm-drift',
      // A second bridge, so that moving a NIC to it by hand is an edit Proxmox would accept.
      seed: (sim) => {
        addBridge(sim, 'vmbr1');
        // The cicustom snippets the spec and a hand edit name: qemu-server reads them at start.
        for (const file of ['user-data.yaml', 'other.yaml']) sim.admin.addVolume({ volid: `local:snippets/${file}`, node: 'pve', content: 'snippets', sizeBytes: 64, format: 'snippet' });
      },
    });
    px = createProxmoxClient({ url: env.sim.url, token: `${env.sim.token.fullId}=${env.sim.token.secret}` });
    await env.cluster.kc.makeApiClient(k8s.CoreV1Api).createNamespacedSecret({ namespace: env.namespace, body: { metadata: { name: 'vm-drift-ci' }, stringData: { password } } });
    // A golden template as someone made it by hand: another NIC model, a smaller disk. Its
    // sockets and bios are absent (Proxmox's defaults, which is what the spec asks for): a person
    // changing one on the running VM leaves a pending value, and setting it back by writing the
    // default would stay pending too (Proxmox drops a pending value only when it equals the
    // current one, and there is none), so Phoenix cancels the pending change with `revert`.
    env.sim.admin.addGuest({ type: 'qemu', vmid: 9500, config: { name: 'golden', memory: 1024, scsi0: 'local-lvm:base-9500-disk-0,size=4G', net0: 'e1000,bridge=vmbr0', template: 1 } });
    await apply(env, 'PhoenixVM', name, spec);
    vmid = (await waitReady(env, 'phoenixvms', name, 90_000)).status.vmid;
  });

  after(async () => {
    px?.close();
    await env?.stop();
  });

  const guest = () => env.sim.admin.guest(vmid)!;
  const effective = (): Config => effectiveConfig(guest());
  const configReads = () => env.sim.admin.counters().byEndpoint['GET /nodes/{node}/qemu/{vmid}/config'] ?? 0;
  const writes = () => Object.entries(env.sim.admin.counters().byEndpoint).filter(([k]) => !k.startsWith('GET'));
  const object = () => env.custom.getNamespacedCustomObject({ ...G, plural: 'phoenixvms', namespace: env.namespace, name }) as Promise<any>;

  async function driftEvents(): Promise<k8s.EventsV1Event[]> {
    const events = await env.cluster.kc.makeApiClient(k8s.EventsV1Api).listNamespacedEvent({ namespace: env.namespace });
    return events.items.filter((e) => e.reason === 'DriftCorrected' && e.regarding?.name === name);
  }

  /** phoenix_drift_corrections_total of PhoenixVM objects, by option. */
  async function corrections(): Promise<Map<string, number>> {
    const text = await env.manager.metrics.registry.getSingleMetricAsString('phoenix_drift_corrections_total');
    const out = new Map<string, number>();
    for (const m of text.matchAll(/^phoenix_drift_corrections_total\{kind="PhoenixVM",option="([^"]+)"\} (\d+)$/gm)) out.set(m[1]!, Number(m[2]));
    return out;
  }
  const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

  /** Waits until Phoenix has read the guest's config `n` more times: n observe cycles. */
  async function cycles(n: number): Promise<void> {
    const from = configReads();
    await eventually(`${n} observe cycles`, async () => configReads() >= from + n, 30_000);
  }

  /** Over several observe cycles, Phoenix writes nothing to Proxmox and nothing to the object. */
  async function assertSteady(): Promise<void> {
    const before = await waitReady(env, 'phoenixvms', name);
    const events = (await driftEvents()).length;
    env.sim.admin.resetCounters();
    await cycles(4);
    assert.deepEqual(writes(), [], 'Phoenix wrote to Proxmox in steady state');
    const after = await object();
    assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion, `Phoenix wrote to the object in steady state: ${JSON.stringify(after.status)}`);
    assert.equal((await driftEvents()).length, events, 'a DriftCorrected event in steady state');
  }

  describe('in steady state', () => {
    it('converges to a config with nothing left to write, cycle after cycle: no perpetual diffs', async () => {
      const c = effective();
      // The values Proxmox normalised are the spec's values.
      assert.equal(c['tags'], 'db;prod;web');
      assert.equal(c['memory'], '2048');
      assert.equal(c['balloon'], '512');
      assert.ok(netMatches(c), `net0 is ${c['net0']}`);
      assert.ok(diskMatches(c), `scsi0 is ${c['scsi0']}`);
      assert.deepEqual(guest().pending, {}, 'changes left pending');
      assert.equal(c['protection'], undefined, 'Phoenix wrote protection=0, which is already Proxmox\'s default');
      await assertSteady();
    });
  });

  describe('each managed option is set back within a cycle, with one event and one metric increment', () => {
    for (const row of rows) {
      it(row.title, async () => {
        const eventsBefore = new Set((await driftEvents()).map((e) => e.metadata?.name));
        const metricBefore = await corrections();
        await px.api.nodes.$('pve').qemu.$(vmid).config.$put(row.edit(effective()) as never);
        assert.ok(!row.expect(effective()), `the edit did not change ${row.key}`);
        env.sim.admin.resetCounters();
        let readsWhenSetBack = 0;
        await eventually(`${row.key} set back`, async () => {
          readsWhenSetBack = configReads();
          return row.expect(effective());
        }, 30_000);
        // Phoenix's first read of the config after the edit is the one that sets it back.
        assert.ok(readsWhenSetBack <= 2, `set back only after ${readsWhenSetBack} reads of the config`);
        await eventually('the DriftCorrected event', async () => (await driftEvents()).length > eventsBefore.size, 30_000);
        // Then a few quiet cycles: one correction, not a flapping series of them.
        await cycles(3);
        assert.ok(row.expect(effective()), `${row.key} changed again`);
        const g = guest();
        assert.equal(g.pending[row.key], undefined, `a correction of ${row.key} is left pending: ${g.pending[row.key]}`);
        assert.ok(!g.pendingDelete.includes(row.key), `a deletion of ${row.key} is left pending`);
        const added = (await driftEvents()).filter((e) => !eventsBefore.has(e.metadata?.name));
        assert.equal(added.length, 1, 'not exactly one DriftCorrected event');
        const note = added[0]!.note ?? '';
        assert.match(note, new RegExp(`set back: ${row.key}[.:]`), note);
        assert.ok(!note.includes(password), 'the cloud-init password is in an event');
        const metricAfter = await corrections();
        assert.equal((metricAfter.get(row.metric) ?? 0) - (metricBefore.get(row.metric) ?? 0), 1, `phoenix_drift_corrections_total{option="${row.metric}"}`);
        assert.equal(total(metricAfter) - total(metricBefore), 1, 'other options were counted as corrected too');
        const written = writes();
        assert.equal(written.length, 1, `not one kind of write: ${JSON.stringify(written)}`);
        assert.match(written[0]![0], /^(PUT|POST) \/nodes\/\{node\}\/qemu\/\{vmid\}\/config$/);
        assert.equal(written[0]![1], 1, 'not exactly one config write');
        const status = (await object()).status;
        assert.ok((status.drift ?? []).some((d: { field: string; corrected: boolean }) => d.corrected && (d.field === row.key || d.field.startsWith(`${row.key}.`))), `status.drift: ${JSON.stringify(status.drift)}`);
        assert.ok(!JSON.stringify(status).includes(password), 'the cloud-init password is in the status');
      });
    }
  });

  describe('what is not drift', () => {
    it('takes edits that Proxmox treats as the same value for what they are: no correction', async () => {
      const c = effective();
      const same: Config = {
        tags: 'WEB,Db prod',
        searchdomain: 'LAB.EXAMPLE',
        nameserver: '10.0.0.13,10.0.0.14',
        startup: 'up=10,3', // reordered, and the order as the bare default-key value
        ipconfig0: 'ip6=auto,gw=10.0.0.1,ip=10.0.0.7/24',
        sshkeys: encodeSshKeys([specKey]).replace(/-/g, '%2D'),
        description: `${c['description']}\n`,
        net0: `bridge=vmbr0,firewall=1,mtu=1450,queues=2,rate=100,tag=20,virtio=${mac}`,
        // The volume first, its options in reverse order.
        scsi0: [...String(c['scsi0']).split(',').slice(0, 1), ...String(c['scsi0']).split(',').slice(1).reverse()].join(','),
      };
      const eventsBefore = (await driftEvents()).length;
      const metricBefore = total(await corrections());
      await px.api.nodes.$('pve').qemu.$(vmid).config.$put(same as never);
      const edited = effective();
      env.sim.admin.resetCounters();
      await cycles(4);
      assert.deepEqual(writes(), [], 'Phoenix rewrote a value that only looks different');
      assert.deepEqual(effective(), edited);
      assert.equal((await driftEvents()).length, eventsBefore);
      assert.equal(total(await corrections()), metricBefore);
      await waitReady(env, 'phoenixvms', name);
    });

    it('leaves alone what the spec does not manage: other options, other keys of a managed NIC or disk, a MAC left to Proxmox, another disk', async () => {
      const c = effective();
      const unmanaged: Config = {
        vga: 'serial0',
        serial0: 'socket',
        tablet: '0',
        localtime: '1',
        shares: '500',
        net0: withKeys(c['net0'], qemuNetFormat, { link_down: '1' }),
        net1: withKeys(c['net1'], qemuNetFormat, { macaddr: 'BC:24:11:12:34:56' }),
        scsi0: withKeys(c['scsi0'], qemuDriveFormat, { aio: 'threads', replicate: '0' }),
        scsi1: 'local-lvm:1',
      };
      const eventsBefore = (await driftEvents()).length;
      const metricBefore = total(await corrections());
      await px.api.nodes.$('pve').qemu.$(vmid).config.$put(unmanaged as never);
      const edited = effective();
      env.sim.admin.resetCounters();
      await cycles(4);
      assert.deepEqual(writes(), [], 'Phoenix wrote to an option it does not manage');
      assert.deepEqual(effective(), edited);
      for (const k of ['vga', 'serial0', 'tablet', 'localtime', 'shares']) assert.equal(effective()[k], unmanaged[k], k);
      assert.equal(props(effective()['net0'], qemuNetFormat)['link_down'], '1');
      assert.equal(props(effective()['net1'], qemuNetFormat)['macaddr'], 'BC:24:11:12:34:56');
      assert.deepEqual([props(effective()['scsi0'], qemuDriveFormat)['aio'], props(effective()['scsi0'], qemuDriveFormat)['replicate']], ['threads', '0']);
      assert.match(effective()['scsi1'] ?? '', /^local-lvm:vm-\d+-disk-\d+,size=1G$/);
      assert.equal((await driftEvents()).length, eventsBefore);
      assert.equal(total(await corrections()), metricBefore);
    });

    it('after all these corrections, is steady again: no writes, same resourceVersion', async () => {
      await assertSteady();
    });
  });

  describe('a disk grown outside Phoenix', () => {
    it('never shrinks or re-creates a disk grown outside Phoenix: ShrinkRefused, and nothing is written', async () => {
      const volume = props(effective()['scsi0'], qemuDriveFormat)['file']!;
      const eventsBefore = (await driftEvents()).length;
      const metricBefore = total(await corrections());
      await px.api.nodes.$('pve').qemu.$(vmid).resize.$put({ disk: 'scsi0', size: '+2G' } as never);
      await eventually('grown by hand', async () => props(effective()['scsi0'], qemuDriveFormat)['size'] === '10G', 30_000);
      env.sim.admin.resetCounters();
      const stalled = await waitCondition(env, 'phoenixvms', name, stalledWith('ShrinkRefused'), 'Stalled ShrinkRefused');
      assert.match(condition(stalled, 'Stalled')?.message ?? '', /scsi0 is 10G, the spec asks for 8G/);
      assert.equal(condition(stalled, 'Ready')?.status, 'False');
      await cycles(3);
      assert.deepEqual(writes(), [], 'Phoenix wrote to a guest whose disk is larger than the spec');
      const disk = props(effective()['scsi0'], qemuDriveFormat);
      assert.equal(disk['file'], volume, 'the disk was re-created');
      assert.equal(disk['size'], '10G');
      assert.equal(env.sim.simulator.state.volumes.find((v) => v.volid === volume)?.size, 10 * 1024 ** 3);
      assert.equal((await driftEvents()).length, eventsBefore, 'a grown disk is not drift Phoenix corrects');
      assert.equal(total(await corrections()), metricBefore);

      // The way out the condition names: a size at least the current one.
      await env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixvms', namespace: env.namespace, name, body: [{ op: 'replace', path: '/spec/disks/0/size', value: '10G' }] });
      await waitCondition(env, 'phoenixvms', name, readyAtGeneration, 'Ready with the disk at 10G');
      assert.deepEqual(writes(), []);
    });
  });
});
