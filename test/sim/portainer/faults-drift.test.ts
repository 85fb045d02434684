// Fault injection (errors, latency, dropped connections, image pull failures,
// unreachable environments), out-of-band changes a person makes in the Portainer UI or
// on the Docker host (crash, unhealthy, docker stop, file edit, container removal,
// forgetting a stack), the simulated clock, counters and seeded determinism.
import assert from 'node:assert/strict';
import type { RunningPortainerSimulator } from '../../../src/sim/portainer/index.ts';
import { call, drive, startSim, untilSleeping, WEB_COMPOSE } from './support/client.ts';

const create = (sim: RunningPortainerSimulator, endpointId: number, body: unknown) =>
  call(sim, 'POST', `/api/stacks/create/standalone/string?endpointId=${endpointId}`, { body });

async function service(sim: RunningPortainerSimulator, env: number, project: string, svc: string): Promise<Record<string, any>> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${project}`, `com.docker.compose.service=${svc}`] }));
  const res = await call(sim, 'GET', `/api/endpoints/${env}/docker/containers/json?all=1&filters=${filters}`);
  assert.equal(res.body.length, 1, res.text);
  const inspect = await call(sim, 'GET', `/api/endpoints/${env}/docker/containers/${res.body[0].Id}/json`);
  return { ...res.body[0], inspect: inspect.body };
}

describe('Portainer simulator: faults', () => {
  let sim: RunningPortainerSimulator;
  let env: number;
  beforeEach(async () => {
    sim = await startSim();
    env = sim.admin.addEnvironment({ name: 'vm-101', url: 'tcp://10.0.0.101:9001' }).id;
  });
  afterEach(async () => sim?.close());

  it('an error fault fails matching requests with {message, details} until its count is used up', async () => {
    sim.admin.injectFault({ kind: 'error', rate: 1, group: 'stacks', status: 503, message: 'database is locked', count: 2 });
    for (let i = 0; i < 2; i++) {
      const res = await call(sim, 'GET', '/api/stacks');
      assert.deepEqual([res.status, res.body], [503, { message: 'database is locked', details: 'Database is locked' }]);
    }
    assert.equal((await call(sim, 'GET', '/api/stacks')).status, 200);
    assert.equal((await call(sim, 'GET', '/api/endpoints')).status, 200, 'other groups are untouched');
  });

  it('a latency fault holds the response until that much simulated time has passed', async () => {
    sim.admin.injectFault({ kind: 'latency', ms: 3000, path: '/endpoints', count: 1 });
    let answered = false;
    const pending = call(sim, 'GET', '/api/endpoints').then((r) => ((answered = true), r));
    await untilSleeping(sim);
    sim.admin.advance(2999);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(answered, false);
    sim.admin.advance(1);
    assert.equal((await pending).status, 200);
  });

  it('a drop fault after the handler loses the response but not the action', async () => {
    sim.admin.injectFault({ kind: 'drop', when: 'after', method: 'POST', path: '/stacks/create/standalone/string', count: 1 });
    await assert.rejects(drive(sim, create(sim, env, { name: 'web', stackFileContent: WEB_COMPOSE })));
    const list = await call(sim, 'GET', '/api/stacks');
    assert.deepEqual(list.body.map((s: any) => s.Name), ['web'], 'the stack exists although the client saw a network error');
    const retry = await create(sim, env, { name: 'web', stackFileContent: WEB_COMPOSE });
    assert.equal(retry.status, 409, 'a blind retry meets the 409 a controller must adopt through');
  });

  it('a pull failure is a 500 with the registry’s text, leaves no stack and no containers', async () => {
    sim.admin.injectFault({ kind: 'pull-failure', image: 'ghcr.io/acme/private', count: 1 });
    const res = await create(sim, env, { name: 'app', stackFileContent: 'services:\n  app:\n    image: ghcr.io/acme/private\n' });
    assert.equal(res.status, 500);
    assert.equal(res.body.message, "Error response from daemon: pull access denied for ghcr.io/acme/private, repository does not exist or may require 'docker login': denied: requested access to the resource is denied");
    assert.deepEqual((await call(sim, 'GET', '/api/stacks')).body, []);
    assert.deepEqual(sim.admin.containers(env), []);
    assert.equal((await drive(sim, create(sim, env, { name: 'app', stackFileContent: 'services:\n  app:\n    image: ghcr.io/acme/private\n' }))).status, 200);
  });

  it('an unreachable environment: Status 2, compose fails with 500, the Docker proxy answers 502', async () => {
    sim.admin.setEnvironmentReachable(env, false);
    assert.equal((await call(sim, 'GET', `/api/endpoints/${env}`)).body.Status, 2);
    const res = await create(sim, env, { name: 'app', stackFileContent: 'services:\n  app:\n    image: alpine\n' });
    assert.deepEqual([res.status, res.body.message], [500, 'Error response from daemon: dial tcp 10.0.0.101:9001: connect: connection refused']);
    const proxy = await call(sim, 'GET', `/api/endpoints/${env}/docker/containers/json`);
    assert.deepEqual([proxy.status, proxy.text], [502, '']);
    sim.admin.setEnvironmentReachable(env, true);
    assert.equal((await call(sim, 'GET', `/api/endpoints/${env}`)).body.Status, 1);
  });
});

describe('Portainer simulator: drift and the clock', () => {
  let sim: RunningPortainerSimulator;
  let env: number;
  let stackId: number;
  const ref = (svc: string) => ({ endpointId: env, project: 'web', service: svc });
  beforeEach(async () => {
    sim = await startSim();
    env = sim.admin.addEnvironment({ name: 'vm-101', url: 'tcp://10.0.0.101:9001' }).id;
    stackId = (await drive(sim, create(sim, env, { name: 'web', stackFileContent: WEB_COMPOSE }))).body.Id;
  });
  afterEach(async () => sim?.close());

  it('a crash without restart policy leaves the container exited with its code', async () => {
    sim.admin.advance(120_000);
    sim.admin.crashService(ref('cache'), { exitCode: 137 });
    sim.admin.advance(30_000);
    const c = await service(sim, env, 'web', 'cache');
    assert.equal(c.State, 'exited');
    assert.equal(c.Status, 'Exited (137) 30 seconds ago');
    assert.equal(c.inspect.State.ExitCode, 137);
    assert.equal((await call(sim, 'GET', `/api/stacks/${stackId}`)).body.Status, 1, 'Portainer keeps no health: the stack stays active');
  });

  it('a crash with a restart policy restarts with back-off; a crash loop keeps restarting', async () => {
    sim.admin.advance(60_000);
    sim.admin.crashService(ref('web'));
    let c = await service(sim, env, 'web', 'web');
    assert.equal(c.State, 'restarting');
    sim.admin.advance(100);
    c = await service(sim, env, 'web', 'web');
    assert.deepEqual([c.State, c.inspect.RestartCount], ['running', 1]);
    sim.admin.crashService(ref('web'), { loopUpMs: 1000 });
    sim.admin.advance(20_000);
    c = await service(sim, env, 'web', 'web');
    assert.ok(c.inspect.RestartCount >= 4, `restarts: ${c.inspect.RestartCount}`);
    assert.ok(['restarting', 'running'].includes(c.State));
  });

  it('an unhealthy service turns unhealthy after retries × interval, and healthy again', async () => {
    sim.admin.advance(10_000);
    assert.equal((await service(sim, env, 'web', 'web')).inspect.State.Health.Status, 'healthy');
    sim.admin.setServiceHealth(ref('web'), 'unhealthy');
    sim.admin.advance(20_000);
    let c = await service(sim, env, 'web', 'web');
    assert.deepEqual([c.inspect.State.Health.Status, c.inspect.State.Health.FailingStreak], ['healthy', 2]);
    sim.admin.advance(10_000);
    c = await service(sim, env, 'web', 'web');
    assert.equal(c.inspect.State.Health.Status, 'unhealthy');
    assert.match(c.Status, /^Up \d+ seconds \(unhealthy\)$/);
    const filtered = await call(sim, 'GET', `/api/endpoints/${env}/docker/containers/json?filters=${encodeURIComponent('{"health":["unhealthy"]}')}`);
    assert.deepEqual(filtered.body.map((x: any) => x.Names[0]), ['/web-web-1']);
    sim.admin.setServiceHealth(ref('web'), 'healthy');
    assert.equal((await service(sim, env, 'web', 'web')).inspect.State.Health.Status, 'healthy');
    assert.throws(() => sim.admin.setServiceHealth(ref('cache'), 'unhealthy'), /no healthcheck/);
  });

  it('docker stop on the host: containers exit 0 while Portainer still reports the stack active', async () => {
    sim.admin.stopContainers({ endpointId: env, project: 'web' });
    const running = await call(sim, 'GET', `/api/endpoints/${env}/docker/containers/json`);
    assert.deepEqual(running.body, []);
    assert.equal((await service(sim, env, 'web', 'web')).inspect.State.ExitCode, 0);
    assert.equal((await call(sim, 'GET', `/api/stacks/${stackId}`)).body.Status, 1);
    const start = await call(sim, 'POST', `/api/stacks/${stackId}/start?endpointId=${env}`);
    assert.equal(start.status, 400, 'start refuses: Portainer thinks it is already active');
    const redeploy = await drive(sim, call(sim, 'PUT', `/api/stacks/${stackId}?endpointId=${env}`, { body: { stackFileContent: WEB_COMPOSE } }));
    assert.equal(redeploy.status, 200);
    assert.equal((await service(sim, env, 'web', 'web')).State, 'running', 'an update (compose up) starts them again');
  });

  it('a UI stop, a file edit on disk and a deleted container are visible through the API', async () => {
    await drive(sim, sim.admin.stopStack(stackId));
    assert.equal((await call(sim, 'GET', `/api/stacks/${stackId}`)).body.Status, 2);
    await sim.admin.editStackFile(stackId, 'services:\n  web:\n    image: nginx:1.27-alpine\n');
    assert.equal((await call(sim, 'GET', `/api/stacks/${stackId}/file`)).body.StackFileContent, 'services:\n  web:\n    image: nginx:1.27-alpine\n');
    await drive(sim, call(sim, 'POST', `/api/stacks/${stackId}/start?endpointId=${env}`));
    assert.equal(sim.admin.containers(env).length, 1, 'start deploys the edited file');
    sim.admin.removeContainer(env, 'web-web-1');
    assert.deepEqual(sim.admin.containers(env), []);
  });

  it('a stack forgotten by Portainer leaves its containers, which block re-creating the name', async () => {
    sim.admin.forgetStack(stackId);
    assert.equal((await call(sim, 'GET', `/api/stacks/${stackId}`)).status, 404);
    assert.equal(sim.admin.containers(env).length, 2);
    assert.equal((await create(sim, env, { name: 'web', stackFileContent: WEB_COMPOSE })).status, 409);
  });

  it('dates, Status texts and counters follow the simulated clock', async () => {
    const start = Date.UTC(2026, 0, 1) / 1000;
    const stack = (await call(sim, 'GET', `/api/stacks/${stackId}`)).body;
    assert.ok(stack.CreationDate >= start && stack.CreationDate <= start + 10, String(stack.CreationDate));
    sim.admin.advance(5 * 60_000);
    assert.match((await service(sim, env, 'web', 'cache')).Status, /^Up 5 minutes$/);
    sim.admin.advance(2 * 3600_000);
    assert.match((await service(sim, env, 'web', 'cache')).Status, /^Up 2 hours$/);
    sim.admin.resetCounters();
    await call(sim, 'GET', `/api/stacks/${stackId}`);
    await call(sim, 'GET', `/api/stacks/${stackId}`);
    const counters = sim.admin.counters();
    assert.equal(counters.byRoute['GET /stacks/{id}'], 2);
    assert.equal(counters.byPath[`GET /api/stacks/${stackId}`], 2);
  });

  it('runs in real-clock mode at a speed factor without any manual advancing', async () => {
    const fast = await startSim({ clock: 'real', speed: 1000 });
    try {
      const e = fast.admin.addEnvironment({ name: 'vm', url: 'tcp://10.0.0.9:9001' }).id;
      const res = await call(fast, 'POST', `/api/stacks/create/standalone/string?endpointId=${e}`, { body: { name: 'x', stackFileContent: 'services:\n  a:\n    image: alpine\n' } });
      assert.equal(res.status, 200);
      assert.equal(fast.admin.containers(e)[0]!['State'], 'running');
    } finally {
      await fast.close();
    }
  });

  it('is deterministic for a seed: same API key, ids and timings', async () => {
    const a = await startSim({ seed: 42 });
    const b = await startSim({ seed: 42 });
    try {
      assert.equal(a.apiKey, b.apiKey);
      const ids = [];
      for (const s of [a, b]) {
        const e = s.admin.addEnvironment({ name: 'vm', url: 'tcp://10.0.0.9:9001' }).id;
        await drive(s, create(s, e, { name: 'x', stackFileContent: WEB_COMPOSE }), 50);
        ids.push(JSON.stringify([s.admin.containers(e).map((c) => c['Id']), s.clock.now()]));
      }
      assert.equal(ids[0], ids[1]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
