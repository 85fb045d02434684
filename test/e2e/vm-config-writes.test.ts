import { strict as assert } from 'node:assert';
import * as k8s from '@kubernetes/client-node';
import { startPhoenix, apply, waitReady, waitCondition, condition, readyAtGeneration, getObject, G, type PhoenixEnv } from '../support/phoenix.ts';

/**
 * Issue 11: a VM's config write asks Proxmox to wait for its `qmconfig` task (POST config's
 * background_delay), so a quick change costs one request and no task read; a slow one is
 * followed as a task as before; one whose task failed meanwhile is reported as a failed task;
 * and one whose answer was lost is neither applied twice nor over a newer change.
 */
describe('VM config writes wait for their task in the request (real API server + simulator)', function () {
  this.timeout(180_000);
  let env: PhoenixEnv;

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({
      name: 'e2e-vm-config-writes',
      seed: (sim) => sim.admin.addGuest({ type: 'qemu', vmid: 9500, config: { name: 'tmpl', memory: 1024, scsi0: 'local-lvm:base-9500-disk-0,size=8G', template: 1 } }),
    });
  });

  after(async () => {
    await env?.stop();
  });

  const plural = 'phoenixvms';
  const byEndpoint = () => env.sim.admin.counters().byEndpoint;
  /** Task reads of any kind: the node's task list (the task watch) and a task's own status. */
  const taskReads = () => (byEndpoint()['GET /nodes/{node}/tasks'] ?? 0) + (byEndpoint()['GET /nodes/{node}/tasks/{upid}/status'] ?? 0);
  const configWrites = () => byEndpoint()['POST /nodes/{node}/qemu/{vmid}/config'] ?? 0;
  const qmconfigs = (vmid: number) => env.sim.admin.tasks().filter((t) => t.type === 'qmconfig' && t.id === String(vmid));

  /** A stopped clone, Ready: nothing of its own runs afterwards. */
  async function readyClone(name: string): Promise<any> {
    await apply(env, 'PhoenixVM', name, { source: { clone: { vmid: 9500 } }, cores: 1, memory: '1G', powerState: 'Stopped' });
    const ready = await waitReady(env, plural, name, 90_000);
    await env.sim.admin.idle();
    return ready;
  }

  async function patch(name: string, ops: object[]): Promise<void> {
    await env.custom.patchNamespacedCustomObject({ ...G, plural, namespace: env.namespace, name, body: ops });
  }

  async function warnings(name: string, reason: string): Promise<string[]> {
    const events = await env.cluster.kc.makeApiClient(k8s.EventsV1Api).listNamespacedEvent({ namespace: env.namespace });
    return events.items.filter((e) => e.regarding?.name === name && e.reason === reason && e.type === 'Warning').map((e) => e.note ?? '');
  }

  it('a quick change is one request: Proxmox answers once its task ended, and no task is read or recorded', async () => {
    const ready = await readyClone('quick');
    const [reads, writes] = [taskReads(), configWrites()];
    await patch('quick', [{ op: 'replace', path: '/spec/cores', value: 2 }]);
    const changed = await waitCondition(env, plural, 'quick', (o) => readyAtGeneration(o) && o.metadata.generation > ready.metadata.generation, 'Ready with cores 2');
    assert.equal(String(env.sim.admin.guest(ready.status.vmid)!.config['cores']), '2');
    assert.equal(configWrites() - writes, 1, 'one config write');
    assert.equal(taskReads() - reads, 0, 'no task was read for the change');
    assert.notEqual(changed.status.lastTask?.operation, 'configure', 'no configure task was followed');
  });

  it('a change whose task outlasts the wait is followed as a task, as before', async () => {
    const ready = await readyClone('slow');
    // 60 simulated s: far longer than the wait Phoenix asks for.
    env.sim.admin.injectFault({ kind: 'slow-task', taskType: 'qmconfig', vmid: ready.status.vmid, ms: 60_000, count: 1 });
    await patch('slow', [{ op: 'replace', path: '/spec/cores', value: 2 }]);
    const configuring = await waitCondition(env, plural, 'slow', (o) => o.status?.task?.operation === 'configure', 'the configure task recorded');
    assert.match(configuring.status.task.upid, new RegExp(`:qmconfig:${ready.status.vmid}:`));
    const changed = await waitCondition(env, plural, 'slow', (o) => readyAtGeneration(o) && o.metadata.generation > ready.metadata.generation, 'Ready with cores 2');
    assert.deepEqual([changed.status.lastTask?.operation, changed.status.lastTask?.exitStatus], ['configure', 'OK']);
    assert.equal(String(env.sim.admin.guest(ready.status.vmid)!.config['cores']), '2');
  });

  it('a change whose task failed while Proxmox held the request is a failed configure task, retried with backoff', async () => {
    const ready = await readyClone('failing');
    const vmid = ready.status.vmid;
    env.sim.admin.injectFault({ kind: 'task-failure', taskType: 'qmconfig', vmid, message: 'hotplug problem - unable to apply memory', count: 1 });
    const [reads, writes] = [taskReads(), configWrites()];
    await patch('failing', [{ op: 'replace', path: '/spec/cores', value: 2 }]);
    const failed = await waitCondition(env, plural, 'failing', (o) => condition(o, 'Ready')?.reason === 'TaskFailed', 'Ready False, TaskFailed');
    assert.equal(condition(failed, 'Ready')?.status, 'False');
    assert.match(condition(failed, 'Ready')!.message, /^configure failed: hotplug problem - unable to apply memory; trying again in \d+ s$/);
    assert.deepEqual([failed.status.retry?.operation, failed.status.retry?.attempts], ['configure', 1]);
    assert.deepEqual(await warnings('failing', 'TaskFailed'), ['Proxmox task configure failed: hotplug problem - unable to apply memory']);
    assert.equal(taskReads() - reads, 0, 'the failure came with the answer: no task was read');
    // After the backoff, the change is sent again (once) and holds.
    const changed = await waitCondition(env, plural, 'failing', (o) => readyAtGeneration(o) && o.status?.retry === undefined, 'Ready again', 60_000);
    assert.equal(condition(changed, 'Ready')?.status, 'True');
    assert.equal(String(env.sim.admin.guest(vmid)!.config['cores']), '2');
    assert.equal(configWrites() - writes, 2, 'the failed write and one retry, no hot loop');
    assert.deepEqual(qmconfigs(vmid).map((t) => t.exitstatus).slice(-2), ['hotplug problem - unable to apply memory', 'OK']);
  });

  it('a disk added by a write whose answer was lost while its task still ran is allocated once', async () => {
    const ready = await readyClone('lost');
    const vmid = ready.status.vmid;
    // The task runs 30 simulated s; the answer (a UPID after the wait) is lost: Phoenix reads the
    // config again while the task still runs, sees no scsi1 and writes again with that digest.
    env.sim.admin.injectFault({ kind: 'slow-task', taskType: 'qmconfig', vmid, ms: 30_000, count: 1 });
    env.sim.admin.injectFault({ kind: 'drop', when: 'after', method: 'POST', path: '/nodes/{node}/qemu/{vmid}/config', count: 1 });
    const writes = configWrites();
    const applied = () => qmconfigs(vmid).filter((t) => t.exitstatus === 'OK').length;
    const appliedBefore = applied();
    await patch('lost', [{ op: 'add', path: '/spec/disks', value: [{ slot: 'scsi0', size: '8G' }, { slot: 'scsi1', storage: 'local-lvm', size: '4G' }] }]);
    const changed = await waitCondition(env, plural, 'lost', (o) => readyAtGeneration(o) && o.metadata.generation > ready.metadata.generation, 'Ready with scsi1', 90_000);
    await env.sim.admin.idle();
    const config = env.sim.admin.guest(vmid)!.config as Record<string, string>;
    assert.match(config['scsi1'] ?? '', new RegExp(`^local-lvm:vm-${vmid}-disk-\\d+,size=4G$`));
    assert.deepEqual(Object.keys(config).filter((k) => /^unused\d+$/.test(k)), [], 'no disk was replaced by a second allocation');
    const volumes = env.sim.simulator.state.volumes.filter((v) => v.volid.startsWith(`local-lvm:vm-${vmid}-disk-`)).map((v) => v.volid);
    assert.equal(volumes.length, 2, `one volume for scsi0, one for scsi1: ${volumes.join(', ')}`);
    assert.ok(configWrites() - writes >= 2, 'the lost write was sent again');
    assert.equal(applied() - appliedBefore, 1, 'one config task applied the change');
    assert.equal(condition(changed, 'Ready')?.status, 'True');
    // The second write met the first (its digest stale, or the config lock held): a race of
    // Phoenix's own, not a failure to warn about or back off from.
    assert.deepEqual(await warnings('lost', 'TaskFailed'), []);
    assert.equal(changed.status.retry, undefined);
  });
});

describe('VM config writes whose answer comes after the client gave up (real API server + simulator)', function () {
  this.timeout(180_000);
  let env: PhoenixEnv;

  before(async function () {
    this.timeout(30 * 60_000);
    // A 4 s client timeout: Phoenix asks Proxmox to wait 1 s for the task (a quarter of it).
    env = await startPhoenix({
      name: 'e2e-vm-config-late',
      proxmoxTimeoutMs: 4_000,
      seed: (sim) => sim.admin.addGuest({ type: 'qemu', vmid: 9500, config: { name: 'tmpl', memory: 1024, scsi0: 'local-lvm:base-9500-disk-0,size=8G', template: 1 } }),
    });
  });

  after(async () => {
    await env?.stop();
  });

  it('a disk added by a write answered only after the client gave up, its task still running, is allocated once', async () => {
    await apply(env, 'PhoenixVM', 'late', { source: { clone: { vmid: 9500 } }, cores: 1, memory: '1G', powerState: 'Stopped' });
    const ready = await waitReady(env, 'phoenixvms', 'late', 90_000);
    await env.sim.admin.idle();
    const vmid = ready.status.vmid;
    const sent = () => env.sim.admin.counters().byEndpoint['POST /nodes/{node}/qemu/{vmid}/config'] ?? 0;
    const writes = sent();
    // The task outlasts the client's timeout (1,000 simulated s is 5 s at ×200), and its answer,
    // the UPID after the 1 s wait, comes 6 s later: Phoenix reads the config while the task runs,
    // sees no scsi1, and writes again with the digest it read.
    env.sim.admin.injectFault({ kind: 'slow-task', taskType: 'qmconfig', vmid, ms: 1_000_000, count: 1 });
    env.sim.admin.injectFault({ kind: 'latency', realMs: 6_000, when: 'after', method: 'POST', path: '/nodes/{node}/qemu/{vmid}/config', count: 1 });
    await env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixvms', namespace: env.namespace, name: 'late', body: [{ op: 'add', path: '/spec/disks', value: [{ slot: 'scsi0', size: '8G' }, { slot: 'scsi1', storage: 'local-lvm', size: '4G' }] }] });
    await waitCondition(env, 'phoenixvms', 'late', (o) => readyAtGeneration(o) && o.metadata.generation > ready.metadata.generation, 'Ready with scsi1', 120_000);
    await env.sim.admin.idle();
    const config = env.sim.admin.guest(vmid)!.config as Record<string, string>;
    assert.match(config['scsi1'] ?? '', new RegExp(`^local-lvm:vm-${vmid}-disk-\\d+,size=4G$`));
    assert.deepEqual(Object.keys(config).filter((k) => /^unused\d+$/.test(k)), []);
    const volumes = env.sim.simulator.state.volumes.filter((v) => v.volid.startsWith(`local-lvm:vm-${vmid}-disk-`)).map((v) => v.volid);
    assert.equal(volumes.length, 2, `one volume for scsi0, one for scsi1: ${volumes.join(', ')}`);
    assert.ok(sent() - writes >= 2, 'the write was sent again while the first task ran');
    const tasks = env.sim.admin.tasks().filter((t) => t.type === 'qmconfig' && t.id === String(vmid));
    assert.ok(tasks.some((t) => /^can't lock file '\/var\/lock\/qemu-server\/lock-\d+\.conf' - got timeout$/.test(t.exitstatus ?? '')), 'the second write waited for the first task\'s config lock and gave up');
    // A wait for a lock of Phoenix's own earlier write, not a failure: no warning, no backoff.
    const events = await env.cluster.kc.makeApiClient(k8s.EventsV1Api).listNamespacedEvent({ namespace: env.namespace });
    assert.deepEqual(events.items.filter((e) => e.regarding?.name === 'late' && e.type === 'Warning' && e.reason === 'TaskFailed').map((e) => e.note), []);
    assert.equal((await getObject(env, 'phoenixvms', 'late')).status.retry, undefined);
  });
});
