import { strict as assert } from 'node:assert';
import { startPhoenix, apply, type PhoenixEnv } from '../support/phoenix.ts';
import { eventually } from '../support/crds.ts';

const template = 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst';

/**
 * Issue 10, item 10: once shutdown begins (or the lease is lost), no new request leaves for
 * Proxmox, not even from a reconcile that was halfway through; a request already in flight may
 * finish until the shutdown deadline, then it is cut. On the code before the change the
 * reconcile went on after the controller had stopped and sent the create.
 */
describe('safety: no Proxmox request after the controller stops acting (real API server + simulator)', function () {
  this.timeout(120_000);
  const envs: PhoenixEnv[] = [];

  after(async () => {
    for (const env of envs) await env.stop().catch(() => undefined);
  });

  /** Starts Phoenix and a create whose first Proxmox read is held `holdMs`; resolves once that read is in flight. */
  async function createCaughtMidway(name: string, shutdownTimeout: string, holdMs: number): Promise<{ env: PhoenixEnv; sentBefore: number }> {
    const env = await startPhoenix({ name, runtimeArgs: [`--shutdown-timeout=${shutdownTimeout}`] });
    envs.push(env);
    // The create path first lists the template's storage.
    env.sim.admin.injectFault({ kind: 'latency', realMs: holdMs, when: 'before', method: 'GET', path: '/nodes/{node}/storage/{storage}/content', count: 1 });
    await apply(env, 'PhoenixLXC', 'interrupted', { source: { osTemplate: { volume: template } } });
    const contentReads = () => env.sim.admin.counters().byEndpoint['GET /nodes/{node}/storage/{storage}/content'] ?? 0;
    await eventually('the reconcile waiting on Proxmox', async () => contentReads() === 1, 30_000);
    return { env, sentBefore: env.sim.admin.counters().total };
  }

  it('sends nothing new once shutdown begins, letting the request in flight finish', async () => {
    const { env, sentBefore } = await createCaughtMidway('e2e-shutdown-drain', '20s', 1_500);
    // Shutdown waits for the reconcile in flight (well within its 20 s deadline): its held read
    // is answered, and every request it would send next is refused before it leaves.
    await env.manager.stop();
    await env.sim.admin.idle();
    assert.equal(env.sim.admin.counters().total, sentBefore, 'a request reached Proxmox after shutdown began');
    assert.equal(env.sim.admin.counters().byEndpoint['POST /nodes/{node}/lxc'] ?? 0, 0, 'the create was sent after shutdown began');
  });

  it('cuts a reconcile caught mid-way by the shutdown deadline, and sends nothing more', async () => {
    const { env, sentBefore } = await createCaughtMidway('e2e-shutdown-deadline', '200ms', 3_000);
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
