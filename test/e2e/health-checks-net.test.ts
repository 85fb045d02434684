import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { startPhoenix, apply, waitReady, waitCondition, condition, getObject, type PhoenixEnv } from '../support/phoenix.ts';
import { eventually } from '../support/crds.ts';

/**
 * `http` and `tcp` health checks from the controller, through kubectl's path: a container
 * whose (static) address is 127.0.0.1 serves its "service" from a local HTTP server that the
 * test makes fail and recover. Ready follows the check; `restartAfterFailures` restarts the
 * container once per failure streak; a guest with no address the controller could reach is
 * reported in `Healthy` without holding Ready.
 */
describe('http and tcp health checks from the controller (real API server + simulator)', function () {
  this.timeout(180_000);
  let env: PhoenixEnv;
  let server: Server;
  let status = 200;
  /** Requests the "service" answered: the checks' runs, observable without sleeping. */
  let requests = 0;
  let port = 0;

  const container = (healthChecks: unknown[], networks: unknown[] = [{ name: 'eth0', bridge: 'vmbr0', ipv4: '127.0.0.1/8' }]) => ({
    source: { osTemplate: { volume: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst' } },
    memory: '512M',
    rootDisk: { storage: 'local-lvm', size: '4G' },
    networks,
    healthChecks,
  });
  const reboots = (vmid: number) => env.sim.admin.tasks().filter((t) => t.type === 'vzreboot' && t.id === String(vmid)).length;

  before(async function () {
    this.timeout(30 * 60_000);
    server = createServer((req, res) => {
      requests += 1;
      res.statusCode = req.url === '/healthz' ? status : 404;
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    env = await startPhoenix({ name: 'e2e-health-net' });
  });

  after(async () => {
    await env?.stop();
    server?.close();
  });

  it('is Ready once the http and tcp checks pass, Ready False while the http check fails, and Ready again when it recovers', async () => {
    await apply(env, 'PhoenixLXC', 'web', container([
      { name: 'http', http: { port, path: '/healthz', expectedStatus: '200-299' }, period: '1s', failureThreshold: 2 },
      { name: 'port-open', tcp: { port }, period: '1s' },
    ]));
    const ready = await waitReady(env, 'phoenixlxcs', 'web', 90_000);
    assert.equal(condition(ready, 'Healthy')?.status, 'True');
    assert.deepEqual(ready.status.healthChecks.map((c: any) => [c.name, c.healthy]), [['http', true], ['port-open', true]]);

    status = 503;
    const unhealthy = await waitCondition(env, 'phoenixlxcs', 'web', (o) => condition(o, 'Ready')?.reason === 'Unhealthy', 'Ready False: Unhealthy', 60_000);
    assert.equal(condition(unhealthy, 'Healthy')?.status, 'False');
    assert.match(condition(unhealthy, 'Healthy')!.message, new RegExp(`http \\(failed 2 in a row: GET http://127\\.0\\.0\\.1:${port}/healthz: HTTP 503, expected 200-299\\)`));
    assert.equal(unhealthy.status.healthChecks.find((c: any) => c.name === 'port-open').healthy, true, 'the port is still open');

    status = 200;
    const back = await waitCondition(env, 'phoenixlxcs', 'web', (o) => condition(o, 'Ready')?.status === 'True', 'Ready again', 60_000);
    assert.equal(condition(back, 'Healthy')?.status, 'True');
    assert.equal(reboots(back.status.vmid), 0, 'no restart without restartAfterFailures');
  });

  it('restarts the guest once per failure streak after restartAfterFailures, with an event', async () => {
    status = 500;
    await apply(env, 'PhoenixLXC', 'flaky', container([{ name: 'http', http: { port, path: '/healthz' }, period: '1s', failureThreshold: 1, restartAfterFailures: 2 }]));
    const restarted = await waitCondition(env, 'phoenixlxcs', 'flaky', (o) => o?.status?.healthChecks?.[0]?.restarted === true, 'restarted for the streak', 90_000);
    const vmid = restarted.status.vmid as number;
    await eventually('the restart', async () => reboots(vmid) === 1, 30_000);
    // The streak goes on: more failures, and still one restart.
    const seen = requests;
    await eventually('the check failing on after the restart', async () => requests >= seen + 6, 60_000);
    assert.equal(reboots(vmid), 1, 'not restarted in a loop');
    const events = (await env.cluster.kc.makeApiClient(k8s.EventsV1Api).listNamespacedEvent({ namespace: env.namespace })).items.filter((e) => e.regarding?.name === 'flaky' && e.reason === 'RestartingUnhealthy');
    assert.equal(events.length, 1);
    assert.match(events[0]!.note ?? '', /health check http failed 2 times in a row \(restartAfterFailures: 2\)/);
    // A pass ends the streak; the next streak may restart again.
    status = 200;
    await waitCondition(env, 'phoenixlxcs', 'flaky', (o) => condition(o, 'Ready')?.status === 'True' && !o.status.healthChecks[0].restarted, 'Ready, streak over', 60_000);
    status = 500;
    await eventually('a restart for the second streak', async () => reboots(vmid) === 2, 60_000);
    status = 200;
  });

  it('reports a check it cannot run (no address to reach) in Healthy, without holding Ready', async () => {
    await apply(env, 'PhoenixLXC', 'isolated', container([{ name: 'http', http: { port, path: '/healthz' }, period: '1s' }], []));
    const ready = await waitReady(env, 'phoenixlxcs', 'isolated', 90_000);
    const healthy = condition(ready, 'Healthy');
    assert.equal(healthy?.status, 'Unknown');
    assert.equal(healthy?.reason, 'CheckUnreachable');
    assert.match(healthy!.message, /http: the controller cannot reach the guest \(no address of the guest is known yet/);
    const again = await getObject(env, 'phoenixlxcs', 'isolated');
    assert.equal(condition(again, 'Ready')?.status, 'True');
  });

  it('refuses a check with no kind or two, and an http check with both url and port, at admission', async () => {
    for (const [check, pattern] of [
      [{ name: 'two', http: { port: 80 }, tcp: { port: 80 } }, /a health check takes exactly one of exec, http or tcp/],
      [{ name: 'none' }, /a health check takes exactly one of exec, http or tcp/],
      [{ name: 'both', http: { port: 80, url: 'http://example.com/' } }, /http takes exactly one of url, or port/],
      [{ name: 'range', http: { port: 80, expectedStatus: '2xx' } }, /expectedStatus/],
    ] as const) {
      await assert.rejects(apply(env, 'PhoenixLXC', 'refused', container([check])), (err: unknown) => {
        assert.ok(err instanceof k8s.ApiException && err.code === 422, String(err));
        assert.match(String(err.body), pattern);
        return true;
      });
    }
  });

  it('exports each check\'s state and runs as metrics', async () => {
    const text = (await env.manager.metrics.registry.metrics()).split('\n').filter((l) => l.startsWith('phoenix_health_check')).join('\n');
    assert.match(text, new RegExp(`phoenix_health_check_healthy\\{kind="PhoenixLXC",namespace="${env.namespace}",name="web",check="port-open"\\} 1`));
    assert.match(text, new RegExp(`phoenix_health_check_runs_total\\{kind="PhoenixLXC",namespace="${env.namespace}",name="web",check="http",result="pass"\\} [1-9]`));
    assert.match(text, new RegExp(`phoenix_health_check_runs_total\\{kind="PhoenixLXC",namespace="${env.namespace}",name="web",check="http",result="fail"\\} [1-9]`));
    assert.match(text, new RegExp(`phoenix_health_check_runs_total\\{kind="PhoenixLXC",namespace="${env.namespace}",name="isolated",check="http",result="unreachable"\\} [1-9]`));
  });
});
