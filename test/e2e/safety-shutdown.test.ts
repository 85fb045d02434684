import { strict as assert } from 'node:assert';
import { startPhoenix, apply, type PhoenixEnv } from '../support/phoenix.ts';
import { eventually } from '../support/crds.ts';

const template = 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst';

/**
 * Issue 10, item 10: once shutdown's deadline passes (or the lease is lost), no request leaves
 * for Proxmox, not even from a reconcile that was halfway through. On the code before the
 * change the reconcile went on after the controller had stopped and sent the create.
 */
describe('safety: no Proxmox request after the controller stops acting (real API server + simulator)', function () {
  this.timeout(120_000);
  let env: PhoenixEnv;

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({ name: 'e2e-shutdown', runtimeArgs: ['--shutdown-timeout=200ms'] });
  });

  after(async () => {
    await env?.stop().catch(() => undefined);
  });

  it('a reconcile caught mid-way by the shutdown deadline sends nothing more', async () => {
    // The create path first lists the template's storage: held long past the shutdown deadline.
    env.sim.admin.injectFault({ kind: 'latency', realMs: 3_000, when: 'before', method: 'GET', path: '/nodes/{node}/storage/{storage}/content', count: 1 });
    await apply(env, 'PhoenixLXC', 'interrupted', { source: { osTemplate: { volume: template } } });
    const contentReads = () => env.sim.admin.counters().byEndpoint['GET /nodes/{node}/storage/{storage}/content'] ?? 0;
    await eventually('the reconcile waiting on Proxmox', async () => contentReads() === 1, 30_000);
    const sentBefore = env.sim.admin.counters().total;
    await env.manager.stop();
    // The held read completes on Proxmox's side whatever the client did; then Proxmox stays
    // quiet for a while (a reconcile still going would send its next request at once).
    await env.sim.admin.idle();
    let quiet = 0;
    await eventually('Proxmox idle for a while', async () => {
      await env.sim.admin.idle();
      quiet = env.sim.admin.counters().total === sentBefore ? quiet + 1 : 0;
      return quiet >= 20;
    }, 30_000);
    assert.equal(env.sim.admin.counters().total, sentBefore, 'a request reached Proxmox after the controller stopped');
    assert.equal(env.sim.admin.counters().byEndpoint['POST /nodes/{node}/lxc'] ?? 0, 0, 'the create was sent after the controller stopped');
  });
});
