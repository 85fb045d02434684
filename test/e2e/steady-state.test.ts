import { strict as assert } from 'node:assert';
import * as k8s from '@kubernetes/client-node';
import { startPhoenix, apply, waitReady, getObject, type PhoenixEnv } from '../support/phoenix.ts';
import { eventually } from '../support/crds.ts';

/**
 * A day of steady state, accelerated: the simulator runs 1,200 times faster than the wall
 * clock, and Phoenix observes every 250 ms, which is its default 5-minute period in simulated
 * time, and replays its caches every 500 ms, its default 10-minute resync. 24 simulated hours
 * are 288 observe cycles of every guest in 72 s.
 */
const speed = 1200;
const periodMs = (5 * 60_000) / speed;
const resyncMs = (10 * 60_000) / speed;
const day = 24 * 3600_000;
const cycles = day / (periodMs * speed);

const template = 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst';

describe('24 hours of steady state on an accelerated clock (real API server + simulator)', function () {
  this.timeout(5 * 60_000);
  let env: PhoenixEnv;
  const guests: { plural: string; name: string }[] = [];

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({
      name: 'e2e-steady-state',
      sim: { speed },
      observePeriodMs: periodMs,
      // A resync used to observe every guest once more, at its own phase: 1.5 reads per period.
      runtimeArgs: ['--resync-period', `${resyncMs}ms`],
      seed: (sim) => {
        sim.admin.addGuest({ type: 'qemu', vmid: 9500, config: { name: 'golden', memory: 1024, scsi0: 'local-lvm:base-9500-disk-0,size=8G', net0: 'virtio=BC:24:11:00:95:00,bridge=vmbr0', template: 1 } });
        sim.admin.addGuest({ type: 'lxc', vmid: 180, config: { hostname: 'legacy-dns', memory: 512, cores: 1, tags: 'legacy', rootfs: 'local-lvm:vm-180-disk-0,size=4G', net0: 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:80,ip=10.0.0.53/24,gw=10.0.0.1,type=veth' }, status: 'running' });
        sim.admin.addGuest({ type: 'lxc', vmid: 181, config: { hostname: 'watched', memory: 256, rootfs: 'local-lvm:vm-181-disk-0,size=2G' }, status: 'running' });
      },
    });
    await env.cluster.kc.makeApiClient(k8s.CoreV1Api).createNamespacedSecret({
      namespace: env.namespace,
      body: { metadata: { name: 'cloud-init' }, stringData: { password: 'pa55word', authorized_keys: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAISteady ops@lab\n' } },
    });
    // A small estate with the features whose observation could drift on its own: static and
    // DHCP addresses, firewall options and rules, declared snapshots, a template, a stopped
    // guest, cloud-init from Secrets, mixed-case tags and MACs, an adopted guest, an observed one.
    const specs: [kind: 'PhoenixLXC' | 'PhoenixVM', name: string, spec: Record<string, unknown>][] = [
      ['PhoenixLXC', 'web', {
        source: { osTemplate: { volume: template } }, hostname: 'web', cores: 2, memory: '1G', swap: '512M', tags: ['Web', 'prod'], onBoot: true,
        startup: { order: 2, upDelay: 5 }, features: { nesting: true }, dns: { nameservers: ['10.0.0.53'], searchDomain: 'lab.example' },
        networks: [{ name: 'eth0', bridge: 'vmbr0', ipv4: '10.0.0.20/24', gatewayV4: '10.0.0.1', mac: 'bc:24:11:aa:00:20', firewall: true }],
        firewall: { enabled: true, policyIn: 'DROP', rules: [{ type: 'in', action: 'ACCEPT', macro: 'HTTPS' }, { type: 'in', action: 'ACCEPT', proto: 'tcp', dport: '22', source: '10.0.0.0/24' }] },
        snapshots: [{ name: 'baseline', description: 'before go-live' }],
      }],
      ['PhoenixLXC', 'dhcp-worker', { source: { osTemplate: { volume: template } }, networks: [{ name: 'eth0', bridge: 'vmbr0', ipv4: 'dhcp', ipv6: 'auto' }] }],
      ['PhoenixLXC', 'parked', { source: { osTemplate: { volume: template } }, powerState: 'Stopped', memory: '256M' }],
      ['PhoenixVM', 'app', {
        source: { clone: { vmid: 9500, full: true, storage: 'local-lvm' } }, cores: 2, sockets: 1, memory: '2048M', agent: { enabled: true },
        disks: [{ slot: 'scsi0', size: '8G' }, { slot: 'scsi1', storage: 'local-lvm', size: '4G' }], tags: ['app'],
        networks: [{ bridge: 'vmbr0', ipv4: 'dhcp', firewall: true }],
        cloudInit: { user: 'phoenix', passwordSecretRef: { name: 'cloud-init' }, sshKeysSecretRef: { name: 'cloud-init' } },
      }],
      ['PhoenixVM', 'golden-clone-template', { source: { clone: { vmid: 9500 } }, template: true }],
      ['PhoenixLXC', 'legacy-dns', { adopt: { vmid: 180 }, hostname: 'legacy-dns', memory: '512M' }],
      ['PhoenixLXC', 'watched', { adopt: { vmid: 181 }, managementPolicy: 'Observe', memory: '512M' }],
    ];
    for (const [kind, name, spec] of specs) {
      await apply(env, kind, name, spec);
      guests.push({ plural: kind === 'PhoenixLXC' ? 'phoenixlxcs' : 'phoenixvms', name });
    }
    for (const g of guests) await waitReady(env, g.plural, g.name, 120_000);
  });

  after(async () => env?.stop());

  it('observes every guest 288 times and corrects nothing, writing nothing to Proxmox or Kubernetes', async () => {
    // Settle: the last reconciles of the start-up (adoption, snapshots) finish writing first.
    let versions = new Map<string, string>();
    await eventually('start-up writes finished', async () => {
      const now = await resourceVersions();
      const same = [...now].every(([k, v]) => versions.get(k) === v) && now.size === versions.size;
      versions = now;
      return same;
    }, 60_000);
    const events = await eventCount();
    const corrections = await driftCorrections();
    const vmids = await Promise.all(guests.map(async (g) => (await getObject(env, g.plural, g.name)).status.vmid as number));
    env.sim.admin.resetCounters();
    const start = env.sim.simulator.clock.now();

    await eventually('24 simulated hours', async () => env.sim.simulator.clock.now() - start >= day, 5 * 60_000);

    const counters = env.sim.admin.counters();
    const writes = Object.entries(counters.byEndpoint).filter(([endpoint]) => !endpoint.startsWith('GET'));
    assert.deepEqual(writes, [], 'Phoenix wrote to Proxmox in steady state');
    for (const [i, g] of guests.entries()) {
      const reads = Object.entries(counters.byPath).filter(([path]) => path.endsWith(`/${vmids[i]}/config`) && path.startsWith('GET')).reduce((n, [, c]) => n + c, 0);
      // Every cycle observes each guest once; the first and last cycle of the window may be cut.
      // A reconcile that ends within the 12.5 ms slack before the next boundary (a stall of about
      // 240 ms on a loaded machine: GC, the API server and etcd on the same two cores) waits for
      // the cycle after it, as it would at a real period, where the slack is 1 s of minutes.
      assert.ok(reads >= Math.floor(cycles * 0.95), `${g.name} was observed ${reads} times in ${cycles} cycles`);
      assert.ok(reads <= cycles + 2, `${g.name} was observed ${reads} times in ${cycles} cycles: more than once per cycle`);
    }
    const clusterReads = counters.byEndpoint['GET /cluster/resources'] ?? 0;
    assert.ok(clusterReads <= cycles + 2, `${clusterReads} /cluster/resources reads in ${cycles} cycles: more than one per cycle`);
    assert.deepEqual(await resourceVersions(), versions, 'Phoenix wrote to a Phoenix object in steady state');
    assert.equal(await eventCount(), events, 'Phoenix recorded events in steady state');
    assert.equal(await driftCorrections(), corrections, 'Phoenix corrected drift that nobody made');
  });

  async function resourceVersions(): Promise<Map<string, string>> {
    const all = [...guests, { plural: 'phoenixhypervisors', name: env.hypervisor }];
    const objects = await Promise.all(all.map((g) => getObject(env, g.plural, g.name)));
    return new Map(objects.map((o, i) => [`${all[i]!.plural}/${all[i]!.name}`, String(o.metadata.resourceVersion)]));
  }

  async function eventCount(): Promise<number> {
    return (await env.cluster.kc.makeApiClient(k8s.EventsV1Api).listNamespacedEvent({ namespace: env.namespace })).items.length;
  }

  async function driftCorrections(): Promise<string> {
    return env.manager.metrics.registry.getSingleMetricAsString('phoenix_drift_corrections_total');
  }
});
