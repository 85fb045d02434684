import { strict as assert } from 'node:assert';
import { startPhoenix, apply, waitReady, waitCondition, condition, G, type PhoenixEnv } from '../support/phoenix.ts';

const iso = 'local:iso/installer.iso';
const item = `download ${iso} on node pve`;

describe('guests wait only for the host configuration they use (real API server + simulator)', function () {
  this.timeout(180_000);
  let env: PhoenixEnv;

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({ name: 'e2e-host-guests', observePeriodMs: 1_000 });
  });

  after(async () => env?.stop());

  it('lets a guest that does not use a failing download converge, and holds the one that does until it is there', async () => {
    // Every download fails (a bad checksum) until the fault is cleared.
    env.sim.admin.injectFault({ kind: 'task-failure', taskType: 'download', message: 'checksum verification failed' });
    await env.custom.patchClusterCustomObject({ ...G, plural: 'phoenixhypervisors', name: env.hypervisor, body: [{ op: 'add', path: '/spec/downloads', value: [{ node: 'pve', storage: 'local', url: 'https://downloads.example.com/installer.iso', filename: 'installer.iso', content: 'iso' }] }] });
    const stalled = await waitCondition(env, 'phoenixhypervisors', env.hypervisor, (o) => condition(o, 'Stalled')?.reason === 'HostTaskFailed', 'the download failing');
    assert.deepEqual(stalled.status.hostPending, [item]);

    await apply(env, 'PhoenixLXC', 'independent', { source: { osTemplate: { volume: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst' } } });
    await apply(env, 'PhoenixVM', 'needs-iso', { source: { blank: { iso } }, disks: [{ slot: 'scsi0', storage: 'local-lvm', size: '8G' }], networks: [{ bridge: 'vmbr0' }] });
    const independent = await waitReady(env, 'phoenixlxcs', 'independent');
    assert.equal(independent.status.powerState, 'Running');
    const waiting = await waitCondition(env, 'phoenixvms', 'needs-iso', (o) => condition(o, 'Ready')?.reason === 'WaitingForHypervisor' && (condition(o, 'Ready')?.message ?? '').includes(item), 'the VM waiting for its ISO');
    assert.equal(waiting.status.vmid, undefined, 'a VMID was taken for a guest that cannot be created yet');
    assert.equal(env.sim.simulator.state.guests.some((g) => g.config['name'] === 'needs-iso'), false);

    env.sim.admin.clearFaults('task-failure');
    const ready = await waitReady(env, 'phoenixvms', 'needs-iso', 90_000);
    assert.match(String(env.sim.admin.guest(ready.status.vmid)!.config['ide2']), /^local:iso\/installer\.iso,media=cdrom/);
    const hv = await waitReady(env, 'phoenixhypervisors', env.hypervisor);
    assert.equal(hv.status.hostPending, undefined, 'hostPending stays after the host converged');
  });
});
