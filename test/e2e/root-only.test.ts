import { strict as assert } from 'node:assert';
import { startPhoenix, apply, asRoot, waitReady, waitCondition, condition, stalledWith, G, type PhoenixEnv } from '../support/phoenix.ts';

const template = 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst';

/**
 * Proxmox lets only root@pam itself set device passthrough, bind mounts and most feature flags:
 * an API token (all Phoenix uses) is refused them whatever its privileges. Phoenix creates the
 * rest of the guest, says exactly what a person must run as root, and keeps it once done.
 */
describe('options only root@pam may set (real API server + simulator)', function () {
  this.timeout(120_000);
  let env: PhoenixEnv;

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({ name: 'e2e-root-only' });
  });

  after(async () => {
    await env?.stop();
  });

  it('creates a GPU container without its device and bind mount, says what to run as root, and is Ready once root has', async () => {
    await apply(env, 'PhoenixLXC', 'gpu-worker', {
      source: { osTemplate: { volume: template } },
      devices: [{ path: '/dev/nvidia0' }],
      mountPoints: [{ path: '/models', hostPath: '/srv/models' }],
    });
    const stalled = await waitCondition(env, 'phoenixlxcs', 'gpu-worker', stalledWith('RootOnly'), 'Stalled RootOnly');
    const vmid = stalled.status.vmid as number;
    const message = condition(stalled, 'Stalled')?.message ?? '';
    assert.ok(message.endsWith(`pct set ${vmid} -mp0 /srv/models,mp=/models -dev0 /dev/nvidia0`), message);
    // Everything a token may do is done: the guest exists and runs.
    assert.equal(env.sim.admin.guest(vmid)?.status, 'running');
    assert.equal(stalled.status.powerState, 'Running');
    await asRoot(env, 'PUT', `/nodes/pve/lxc/${vmid}/config`, { mp0: '/srv/models,mp=/models', dev0: '/dev/nvidia0' });
    await env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace: env.namespace, name: 'gpu-worker', body: [{ op: 'add', path: '/metadata/annotations', value: { poke: '1' } }] });
    const ready = await waitReady(env, 'phoenixlxcs', 'gpu-worker');
    assert.equal(condition(ready, 'Ready')?.reason, 'Converged');
  });
});
