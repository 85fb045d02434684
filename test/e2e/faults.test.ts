import { strict as assert } from 'node:assert';
import * as k8s from '@kubernetes/client-node';
import { startPhoenix, apply, waitReady, G, type PhoenixEnv } from '../support/phoenix.ts';
import { ownershipOf } from '../../src/guests/marker.ts';

const template = 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst';

/**
 * Issue 5's fault test: with 10% of API calls answering 500, storage lock timeouts and failing
 * tasks, every guest still converges, no guest is created twice, and each failure was visible
 * in events and in conditions while it lasted.
 */
describe('convergence under injected Proxmox faults (real API server + simulator)', function () {
  this.timeout(10 * 60_000);
  let env: PhoenixEnv;
  const seenConditions = new Map<string, string>();
  const watches: { abort(): void }[] = [];

  before(async function () {
    this.timeout(30 * 60_000);
    // A create answered by an unknown 500 may have been carried out: Phoenix looks for its guest
    // for twice the client's timeout before sending it again. At the default 30 s, each such
    // answer (10% of requests fail) held its guest for a minute and the test took one to three.
    env = await startPhoenix({ name: 'e2e-faults', sim: { seed: 7 }, proxmoxTimeoutMs: 5_000 });
    env.sim.admin.addGuest({ type: 'qemu', vmid: 9200, config: { name: 'tmpl', memory: 1024, scsi0: 'local-lvm:base-9200-disk-0,size=8G', template: 1 } });
    env.sim.admin.injectFault({ kind: 'error', rate: 0.1, status: 500 });
    env.sim.admin.injectFault({ kind: 'storage-lock-timeout', storage: 'local-lvm', count: 4 });
    for (const taskType of ['vzcreate', 'vzstart', 'qmclone', 'qmstart', 'vzsnapshot']) env.sim.admin.injectFault({ kind: 'task-failure', taskType, count: 1, message: `simulated ${taskType} failure` });
    // Every status write is seen through a watch: a failure must show up where users look,
    // however briefly it lasts before a retry succeeds.
    const watch = new k8s.Watch(env.cluster.kc);
    for (const plural of ['phoenixlxcs', 'phoenixvms']) {
      watches.push(await watch.watch(`/apis/${G.group}/${G.version}/namespaces/${env.namespace}/${plural}`, {}, (_type, item: any) => {
        for (const c of item.status?.conditions ?? []) if (c.message) seenConditions.set(`${c.reason}: ${c.message}`, item.metadata.name);
      }, () => undefined));
    }
  });

  after(async () => {
    for (const w of watches) w.abort();
    await env?.stop();
  });

  it('converges 20 containers and 5 VM clones with no duplicate guests', async () => {
    const names: [string, string][] = [];
    for (let i = 0; i < 20; i++) {
      await apply(env, 'PhoenixLXC', `ct-${i}`, { source: { osTemplate: { volume: template } }, rootDisk: { storage: 'local-lvm', size: '4G' }, snapshots: i % 5 === 0 ? [{ name: 'baseline' }] : undefined });
      names.push(['phoenixlxcs', `ct-${i}`]);
    }
    for (let i = 0; i < 5; i++) {
      await apply(env, 'PhoenixVM', `vm-${i}`, { source: { clone: { vmid: 9200, storage: 'local-lvm' } }, cores: 2 });
      names.push(['phoenixvms', `vm-${i}`]);
    }
    const ready = [];
    for (const [plural, name] of names) ready.push(await waitReady(env, plural, name, 5 * 60_000));

    const vmids = ready.map((o) => o.status.vmid as number);
    assert.equal(new Set(vmids).size, vmids.length, 'two objects share a VMID');
    const uids = new Set(ready.map((o) => o.metadata.uid as string));
    const marked = env.sim.simulator.state.guests.filter((g) => [...uids].some((uid) => ownershipOf(String(g.config['description']), uid) === 'ours'));
    assert.equal(marked.length, ready.length, `expected ${ready.length} Phoenix guests, found ${marked.length}: a duplicate or an orphan`);
    for (const o of ready) assert.equal(ownershipOf(String(env.sim.admin.guest(o.status.vmid)?.config['description']), o.metadata.uid), 'ours');
  });

  it('made every kind of failure visible in events and in conditions while it lasted', async () => {
    const events = (await env.cluster.kc.makeApiClient(k8s.EventsV1Api).listNamespacedEvent({ namespace: env.namespace })).items;
    const notes = events.filter((e) => e.type === 'Warning').map((e) => `${e.reason}: ${e.note}`);
    const conditions = [...seenConditions.keys()];
    for (const [what, pattern] of [
      ['an injected 500', /injected error/],
      ['a storage lock timeout', /can't lock file '\/var\/lock\/pve-manager\/pve-storage-local-lvm' - got timeout/],
      ['a failed task', /simulated (vzcreate|vzstart|qmclone|qmstart|vzsnapshot) failure/],
    ] as const) {
      assert.ok(notes.some((n) => pattern.test(n)), `no Warning event shows ${what}; events: ${notes.slice(0, 10).join(' | ')}`);
      assert.ok(conditions.some((c) => pattern.test(c)), `no condition showed ${what}`);
    }
  });
});
