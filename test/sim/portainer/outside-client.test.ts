// An outside client: nothing but fetch against the URLs, the API key and the admin API
// over HTTP, walking the loop a stack controller runs (find the environment, adopt or
// create the stack, wait for healthy containers, notice drift, redeploy, delete), plus
// the same simulator over HTTPS with its certificate pinned.
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { startPortainerSimulator, type RunningPortainerSimulator } from '../../../src/sim/portainer/index.ts';

const COMPOSE = `services:
  shop:
    image: ghcr.io/acme/shop:1.4
    environment:
      DB_URL: \${DB_URL}
    healthcheck:
      test: ["CMD", "wget", "-qO-", "http://localhost:8080/healthz"]
      interval: 5s
    restart: unless-stopped
  db:
    image: postgres:16
`;

/** What a controller knows: a base URL and an API key. */
function client(base: string, apiKey: string) {
  return async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { 'X-API-Key': apiKey, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
  };
}

/** The test's stand-in for wall time: moves the manual clock over HTTP while the server waits. */
function operator(adminUrl: string) {
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${adminUrl}${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const json = (await res.json()) as { data?: any; error?: string };
    if (res.status !== 200) throw new Error(`${method} ${path}: ${json.error}`);
    return json.data;
  };
  return {
    admin,
    async whilePending<T>(work: Promise<T>): Promise<T> {
      let done = false;
      const watched = work.finally(() => (done = true));
      while (!done) {
        const clock = await admin('GET', '/clock');
        if (!done && clock.pendingSleeps > 0) await admin('POST', '/clock/advance', { ms: 500 });
      }
      return watched;
    },
  };
}

describe('Portainer simulator: outside client over HTTP', () => {
  let sim: RunningPortainerSimulator;
  afterEach(async () => sim?.close());

  it('runs a controller’s reconcile loop with plain fetch', async () => {
    sim = await startPortainerSimulator({ clock: 'manual', seed: 11 });
    const api = client(sim.url, sim.apiKey);
    const op = operator(sim.adminUrl);

    const status = await (await fetch(`${sim.url}/api/system/status`)).json() as { Version: string };
    assert.equal(status.Version, '2.21.4');
    await op.admin('POST', '/environments', { name: 'vm-201', url: 'tcp://10.0.0.201:9001' });

    const envs = await api('GET', '/api/endpoints?name=vm-201');
    assert.equal(envs.body.length, 1);
    const env = envs.body[0];
    assert.deepEqual([env.Type, env.URL, env.Status], [2, 'tcp://10.0.0.201:9001', 1]);

    const filters = encodeURIComponent(JSON.stringify({ EndpointID: env.Id }));
    const existing = await api('GET', `/api/stacks?filters=${filters}`);
    assert.deepEqual(existing.body, [], 'nothing to adopt');
    const created = await op.whilePending(api('POST', `/api/stacks/create/standalone/string?endpointId=${env.Id}`, {
      name: 'shop', stackFileContent: COMPOSE, env: [{ name: 'DB_URL', value: 'postgres://db/shop' }],
    }));
    assert.equal(created.status, 200);
    const stackId = created.body.Id;

    const health = async () => {
      const labels = encodeURIComponent(JSON.stringify({ label: ['com.docker.compose.project=shop'] }));
      const res = await api('GET', `/api/endpoints/${env.Id}/docker/containers/json?all=1&filters=${labels}`);
      return Object.fromEntries((res.body as Array<any>).map((c) => [c.Labels['com.docker.compose.service'], c.Status]));
    };
    assert.deepEqual(await health(), { shop: 'Up Less than a second (health: starting)', db: 'Up Less than a second' });
    await op.admin('POST', '/clock/advance', { ms: 5000 });
    assert.deepEqual(await health(), { shop: 'Up 5 seconds (healthy)', db: 'Up 5 seconds' });

    // Someone stops the database by hand; the controller sees it and redeploys.
    await op.admin('POST', '/services/stop', { endpointId: env.Id, project: 'shop', service: 'db' });
    assert.match((await health())['db'], /^Exited \(0\) Less than a second ago$/);
    const file = await api('GET', `/api/stacks/${stackId}/file`);
    const redeployed = await op.whilePending(api('PUT', `/api/stacks/${stackId}?endpointId=${env.Id}`, {
      stackFileContent: file.body.StackFileContent, env: created.body.Env, prune: true, pullImage: false,
    }));
    assert.equal(redeployed.status, 200);
    assert.match((await health())['db'], /^Up /);

    const del = await op.whilePending(api('DELETE', `/api/stacks/${stackId}?endpointId=${env.Id}`));
    assert.equal(del.status, 204);
    assert.deepEqual(await health(), {});
    const counters = await op.admin('GET', '/counters');
    assert.ok(counters.byRoute['GET /endpoints/{id}/docker/*'] >= 5);
  });

  it('serves HTTPS with a certificate a client can pin', async () => {
    sim = await startPortainerSimulator({ https: true, clock: 'manual' });
    assert.ok(sim.url.startsWith('https://'));
    const body = await new Promise<string>((resolve, reject) => {
      const req = request(`${sim.url}/api/endpoints`, { ca: sim.certificate, headers: { 'X-API-Key': sim.apiKey } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString('utf8')));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal((JSON.parse(body) as Array<{ Name: string }>)[0]!.Name, 'local');
  });
});
