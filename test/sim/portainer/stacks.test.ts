// Stack behaviour as a controller meets it: the lifecycle create → running containers →
// update → stop → start → delete, name normalisation and 409s, unknown environments,
// validation errors, compose failures, and the Docker proxy's view of containers.
import assert from 'node:assert/strict';
import type { RunningPortainerSimulator } from '../../../src/sim/portainer/index.ts';
import { call, drive, startSim, untilSleeping, WEB_COMPOSE } from './support/client.ts';

const create = (sim: RunningPortainerSimulator, endpointId: number | string, body: unknown) =>
  call(sim, 'POST', `/api/stacks/create/standalone/string?endpointId=${endpointId}`, { body });

async function containers(sim: RunningPortainerSimulator, endpointId: number, project: string, all = true) {
  const filters = encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${project}`] }));
  const res = await call(sim, 'GET', `/api/endpoints/${endpointId}/docker/containers/json?all=${all ? 1 : 0}&filters=${filters}`);
  assert.equal(res.status, 200, res.text);
  return res.body as Array<Record<string, any>>;
}

describe('Portainer simulator: stacks', () => {
  let sim: RunningPortainerSimulator;
  let env: number;
  beforeEach(async () => {
    sim = await startSim();
    env = sim.admin.addEnvironment({ name: 'vm-101', url: 'tcp://10.0.0.101:9001' }).id;
  });
  afterEach(async () => sim?.close());

  it('create waits for the image pulls, then containers go created → running and the stack is active', async () => {
    let answered = false;
    const pending = create(sim, env, { name: 'web', stackFileContent: WEB_COMPOSE, env: [{ name: 'GREETING', value: 'hi' }] }).then((r) => ((answered = true), r));
    await untilSleeping(sim);
    assert.deepEqual(await containers(sim, env, 'web'), [], 'nothing exists while images pull');
    sim.admin.advance(5000 * 1.25);
    await untilSleeping(sim);
    const created = await containers(sim, env, 'web');
    assert.deepEqual(created.map((c) => c.State).sort(), ['created', 'created']);
    assert.equal(answered, false, 'compose up has not returned yet');
    sim.admin.advance(1000);
    const res = await pending;
    assert.equal(res.status, 200, res.text);
    const stack = res.body;
    assert.equal(stack.Name, 'web');
    assert.equal(stack.Status, 1);
    assert.equal(stack.Type, 2);
    assert.equal(stack.EndpointId, env);
    assert.equal(stack.ProjectPath, `/data/compose/${stack.Id}`);
    assert.equal(stack.CreationDate, sim.simulator.nowSeconds());
    assert.equal(stack.CreatedBy, 'admin');
    assert.deepEqual(stack.Env, [{ name: 'GREETING', value: 'hi' }]);
    assert.equal(stack.ResourceControl.ResourceId, `${env}_web`);
    assert.equal(stack.ResourceControl.Type, 6);

    const list = await containers(sim, env, 'web');
    assert.deepEqual(list.map((c) => c.Names[0]).sort(), ['/web-cache-1', '/web-web-1']);
    const web = list.find((c) => c.Labels['com.docker.compose.service'] === 'web')!;
    assert.equal(web.State, 'running');
    assert.equal(web.Status, 'Less than a second'.replace(/^/, 'Up ') + ' (health: starting)');
    assert.equal(web.Labels['com.docker.compose.project'], 'web');
    assert.deepEqual(web.Ports, [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }]);
    assert.equal(web.Portainer.ResourceControl.ResourceId, `${env}_web`);
    const inspect = await call(sim, 'GET', `/api/endpoints/${env}/docker/containers/${web.Id}/json`);
    assert.ok(inspect.body.Config.Env.includes('GREETING=hi'), 'the stack env is interpolated into the service');
    assert.equal(inspect.body.State.Health.Status, 'starting');

    sim.admin.advance(10_000);
    const after = await call(sim, 'GET', `/api/endpoints/${env}/docker/containers/${web.Id}/json`);
    assert.equal(after.body.State.Health.Status, 'healthy');
    const again = await containers(sim, env, 'web');
    assert.equal(again.find((c) => c.Id === web.Id)!.Status, 'Up 10 seconds (healthy)');
  });

  it('update rewrites file and env, recreates only changed services, and stamps UpdateDate', async () => {
    const res = await drive(sim, create(sim, env, { name: 'web', stackFileContent: WEB_COMPOSE }));
    const id = res.body.Id;
    const before = await containers(sim, env, 'web');
    sim.admin.advance(60_000);
    const next = WEB_COMPOSE.replace('nginx:1.27-alpine', 'nginx:1.28-alpine');
    const upd = await drive(sim, call(sim, 'PUT', `/api/stacks/${id}?endpointId=${env}`, { body: { stackFileContent: next, env: [{ name: 'GREETING', value: 'yo' }], prune: false, pullImage: false } }));
    assert.equal(upd.status, 200, upd.text);
    assert.equal(upd.body.UpdatedBy, 'admin');
    assert.ok(upd.body.UpdateDate >= upd.body.CreationDate + 60);
    assert.deepEqual(upd.body.Env, [{ name: 'GREETING', value: 'yo' }]);
    const file = await call(sim, 'GET', `/api/stacks/${id}/file`);
    assert.deepEqual(file.body, { StackFileContent: next });
    const afterList = await containers(sim, env, 'web');
    const id0 = (list: typeof before, svc: string) => list.find((c) => c.Labels['com.docker.compose.service'] === svc)!.Id;
    assert.equal(id0(afterList, 'cache'), id0(before, 'cache'), 'unchanged service kept its container');
    assert.notEqual(id0(afterList, 'web'), id0(before, 'web'), 'changed service was recreated');
    assert.equal(afterList.find((c) => c.Labels['com.docker.compose.service'] === 'web')!.Image, 'nginx:1.28-alpine');
  });

  it('update without prune keeps orphaned services; with prune removes them', async () => {
    const id = (await drive(sim, create(sim, env, { name: 'web', stackFileContent: WEB_COMPOSE }))).body.Id;
    const webOnly = 'services:\n  web:\n    image: nginx:1.27-alpine\n';
    await drive(sim, call(sim, 'PUT', `/api/stacks/${id}?endpointId=${env}`, { body: { stackFileContent: webOnly } }));
    assert.equal((await containers(sim, env, 'web')).length, 2);
    const pruned = await drive(sim, call(sim, 'PUT', `/api/stacks/${id}?endpointId=${env}`, { body: { stackFileContent: webOnly, prune: true } }));
    assert.deepEqual(pruned.body.Option, { Prune: true });
    assert.deepEqual((await containers(sim, env, 'web')).map((c) => c.Labels['com.docker.compose.service']), ['web']);
  });

  it('pullImage recreates a service only when the registry has a new digest', async () => {
    const id = (await drive(sim, create(sim, env, { name: 'app', stackFileContent: 'services:\n  app:\n    image: alpine:3.20\n' }))).body.Id;
    const first = (await containers(sim, env, 'app'))[0]!.Id;
    const body = { stackFileContent: 'services:\n  app:\n    image: alpine:3.20\n', pullImage: true };
    await drive(sim, call(sim, 'PUT', `/api/stacks/${id}?endpointId=${env}`, { body }));
    assert.equal((await containers(sim, env, 'app'))[0]!.Id, first);
    sim.admin.publishImage('alpine:3.20');
    await drive(sim, call(sim, 'PUT', `/api/stacks/${id}?endpointId=${env}`, { body }));
    assert.notEqual((await containers(sim, env, 'app'))[0]!.Id, first);
  });

  it('stop removes the containers (compose down), start brings them back, and both refuse a repeat', async () => {
    const id = (await drive(sim, create(sim, env, { name: 'web', stackFileContent: WEB_COMPOSE }))).body.Id;
    const stopped = await drive(sim, call(sim, 'POST', `/api/stacks/${id}/stop?endpointId=${env}`));
    assert.equal(stopped.status, 200);
    assert.equal(stopped.body.Status, 2);
    assert.deepEqual(await containers(sim, env, 'web'), []);
    const again = await call(sim, 'POST', `/api/stacks/${id}/stop?endpointId=${env}`);
    assert.deepEqual([again.status, again.body], [400, { message: 'Stack is already inactive', details: 'Stack is already inactive' }]);
    const started = await drive(sim, call(sim, 'POST', `/api/stacks/${id}/start?endpointId=${env}`));
    assert.equal(started.body.Status, 1);
    assert.deepEqual((await containers(sim, env, 'web')).map((c) => c.State), ['running', 'running']);
    const twice = await call(sim, 'POST', `/api/stacks/${id}/start?endpointId=${env}`);
    assert.deepEqual([twice.status, twice.body.message], [400, 'Stack is already active']);
  });

  it('delete answers 204, removes containers, and a second delete is 404', async () => {
    const id = (await drive(sim, create(sim, env, { name: 'web', stackFileContent: WEB_COMPOSE }))).body.Id;
    const del = await drive(sim, call(sim, 'DELETE', `/api/stacks/${id}?endpointId=${env}`));
    assert.equal(del.status, 204);
    assert.equal(del.text, '');
    assert.deepEqual(await containers(sim, env, 'web'), []);
    const gone = await call(sim, 'GET', `/api/stacks/${id}`);
    assert.deepEqual([gone.status, gone.body], [404, { message: 'Unable to find a stack with the specified identifier inside the database', details: 'Object not found inside the database' }]);
    assert.equal((await call(sim, 'DELETE', `/api/stacks/${id}?endpointId=${env}`)).status, 404);
  });

  it('normalises names and answers 409 for a duplicate on the same environment only', async () => {
    const res = await drive(sim, create(sim, env, { name: 'My Web!', stackFileContent: WEB_COMPOSE }));
    assert.equal(res.body.Name, 'myweb');
    const dup = await create(sim, env, { name: 'MYWEB', stackFileContent: WEB_COMPOSE });
    assert.deepEqual([dup.status, dup.body], [409, { message: "A stack with the normalized name 'myweb' already exists", details: 'A stack already exists with this name' }]);
    const other = sim.admin.addEnvironment({ name: 'vm-102', url: 'tcp://10.0.0.102:9001' }).id;
    assert.equal((await drive(sim, create(sim, other, { name: 'myweb', stackFileContent: 'services:\n  a:\n    image: alpine\n' }))).status, 200);
  });

  it('answers 409 when a container on the host already carries the project label', async () => {
    sim.admin.runContainer({ endpointId: env, name: 'squatter', image: 'busybox', labels: { 'com.docker.compose.project': 'web' } });
    const res = await create(sim, env, { name: 'web', stackFileContent: WEB_COMPOSE });
    assert.equal(res.status, 409);
  });

  it('lists stacks with the filters JSON (EndpointID, any key case) and excludes orphans unless asked', async () => {
    const other = sim.admin.addEnvironment({ name: 'vm-102', url: 'tcp://10.0.0.102:9001' }).id;
    await drive(sim, create(sim, env, { name: 'a', stackFileContent: 'services:\n  a:\n    image: alpine\n' }));
    await drive(sim, create(sim, other, { name: 'b', stackFileContent: 'services:\n  b:\n    image: alpine\n' }));
    const names = async (filters?: unknown) => {
      const res = await call(sim, 'GET', `/api/stacks${filters === undefined ? '' : `?filters=${encodeURIComponent(JSON.stringify(filters))}`}`);
      assert.equal(res.status, 200);
      return (res.body as Array<{ Name: string }>).map((s) => s.Name).sort();
    };
    assert.deepEqual(await names(), ['a', 'b']);
    assert.deepEqual(await names({ EndpointID: env }), ['a']);
    assert.deepEqual(await names({ endpointId: other }), ['b']);
    sim.admin.removeEnvironment(other);
    assert.deepEqual(await names(), ['a']);
    assert.deepEqual(await names({ IncludeOrphanedStacks: true }), ['a', 'b']);
    const bad = await call(sim, 'GET', '/api/stacks?filters=%7Bnope');
    assert.deepEqual([bad.status, bad.body.message], [400, 'Invalid query parameter: filters']);
  });

  it('refuses bad identifiers, unknown environments and invalid payloads with Portainer’s wording', async () => {
    const kept = (await drive(sim, create(sim, env, { name: 'kept', stackFileContent: 'services:\n  a:\n    image: alpine\n' }))).body.Id;
    const cases: Array<[Promise<{ status: number; body: any }>, number, string, string]> = [
      [create(sim, 999, { name: 'x', stackFileContent: WEB_COMPOSE }), 404, 'Unable to find an environment with the specified identifier inside the database', 'Object not found inside the database'],
      [call(sim, 'POST', '/api/stacks/create/standalone/string', { body: { name: 'x', stackFileContent: WEB_COMPOSE } }), 400, 'Invalid query parameter: endpointId', 'Missing query parameter'],
      [create(sim, 'abc', { name: 'x', stackFileContent: WEB_COMPOSE }), 400, 'Invalid query parameter: endpointId', 'StrconvAtoi'],
      [create(sim, env, { stackFileContent: WEB_COMPOSE }), 400, 'Invalid request payload', 'Invalid stack name'],
      [create(sim, env, { name: 'x' }), 400, 'Invalid request payload', 'Invalid stack file content'],
      [create(sim, env, { name: 'x', stackFileContent: 42 }), 400, 'Invalid request payload', 'Json: cannot unmarshal number into Go struct field composeStackFromFileContentPayload.StackFileContent of type string'],
      [create(sim, env, { name: 'x', stackFileContent: WEB_COMPOSE, env: { A: 'b' } }), 400, 'Invalid request payload', 'Json: cannot unmarshal object into Go struct field composeStackFromFileContentPayload.Env of type []portainer.Pair'],
      [call(sim, 'POST', `/api/stacks/create/standalone/string?endpointId=${env}`, { raw: 'xyz' }), 400, 'Invalid request payload', "Invalid character 'x' looking for beginning of value"],
      [call(sim, 'GET', '/api/stacks/abc'), 400, 'Invalid stack identifier route variable', 'StrconvAtoi'],
      [call(sim, 'GET', '/api/endpoints/77'), 404, 'Unable to find an environment with the specified identifier inside the database', 'Object not found inside the database'],
      [call(sim, 'PUT', `/api/stacks/${kept}`, { body: { stackFileContent: WEB_COMPOSE } }), 400, 'Invalid query parameter: endpointId', 'Missing query parameter'],
      // The stack is looked up before the query is read, as in stack_update.go.
      [call(sim, 'PUT', '/api/stacks/404', { body: { stackFileContent: WEB_COMPOSE } }), 404, 'Unable to find a stack with the specified identifier inside the database', 'Object not found inside the database'],
      [call(sim, 'PUT', `/api/stacks/${kept}?endpointId=55`, { body: { stackFileContent: WEB_COMPOSE } }), 404, 'Unable to find the environment associated to the stack inside the database', 'Object not found inside the database'],
    ];
    for (const [pending, status, message, details] of cases) {
      const res = await pending;
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.equal(res.body.message, message);
      if (details === 'StrconvAtoi') assert.match(res.body.details, /^Strconv\.Atoi: parsing "abc": invalid syntax$/);
      else assert.equal(res.body.details, details);
    }
  });

  it('a compose error is a 500 with the compose text, and the stack is not saved', async () => {
    const res = await create(sim, env, { name: 'bad', stackFileContent: 'services:\n  web:\n    imagee: nginx\n' });
    assert.equal(res.status, 500);
    // libhttp capitalises details, so the two differ only in the first letter.
    assert.equal(res.body.details, res.body.message[0].toUpperCase() + res.body.message.slice(1));
    assert.match(res.body.message, /services\.web additional properties 'imagee' not allowed/);
    const missing = await create(sim, env, { name: 'bad', stackFileContent: 'services:\n  web:\n    image: nginx\n    environment:\n      X: ${REQUIRED:?set it}\n' });
    assert.equal(missing.body.details, 'Required variable REQUIRED is missing a value: set it');
    assert.deepEqual((await call(sim, 'GET', '/api/stacks')).body, []);
  });

  it('a port clash leaves compose’s created containers behind, so a retry is 409 until they are removed', async () => {
    await drive(sim, create(sim, env, { name: 'one', stackFileContent: 'services:\n  web:\n    image: nginx\n    ports: ["8080:80"]\n' }));
    const clash = await drive(sim, create(sim, env, { name: 'two', stackFileContent: 'services:\n  web:\n    image: nginx\n    ports: ["8080:80"]\n' }));
    assert.equal(clash.status, 500);
    assert.match(clash.body.message, /Bind for 0\.0\.0\.0:8080 failed: port is already allocated/);
    const left = await containers(sim, env, 'two');
    assert.deepEqual(left.map((c) => c.State), ['created']);
    const retry = await create(sim, env, { name: 'two', stackFileContent: 'services:\n  web:\n    image: nginx\n    ports: ["8081:80"]\n' });
    assert.equal(retry.status, 409);
    const rm = await call(sim, 'DELETE', `/api/endpoints/${env}/docker/containers/${left[0]!.Id}?force=1&v=1`);
    assert.equal(rm.status, 204);
    const ok = await drive(sim, create(sim, env, { name: 'two', stackFileContent: 'services:\n  web:\n    image: nginx\n    ports: ["8081:80"]\n' }));
    assert.equal(ok.status, 200, ok.text);
  });

  it('serves the Docker proxy with Docker’s filters and errors', async () => {
    await drive(sim, create(sim, env, { name: 'web', stackFileContent: WEB_COMPOSE }));
    const byService = await call(sim, 'GET', `/api/endpoints/${env}/docker/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: { 'com.docker.compose.service=cache': true } }))}`);
    assert.deepEqual(byService.body.map((c: any) => c.Names[0]), ['/web-cache-1']);
    const healthy = await call(sim, 'GET', `/api/endpoints/${env}/docker/containers/json?filters=${encodeURIComponent('{"health":["healthy"]}')}`);
    assert.deepEqual(healthy.body, []);
    sim.admin.advance(10_000);
    const healthyLater = await call(sim, 'GET', `/api/endpoints/${env}/docker/containers/json?filters=${encodeURIComponent('{"health":["healthy"]}')}`);
    assert.deepEqual(healthyLater.body.map((c: any) => c.Names[0]), ['/web-web-1']);
    const bad = await call(sim, 'GET', `/api/endpoints/${env}/docker/containers/json?filters=${encodeURIComponent('{"colour":["red"]}')}`);
    assert.deepEqual([bad.status, bad.body], [400, { message: "invalid filter 'colour'" }]);
    const missing = await call(sim, 'GET', `/api/endpoints/${env}/docker/containers/nope/json`);
    assert.deepEqual([missing.status, missing.body], [404, { message: 'No such container: nope' }]);
    const running = await call(sim, 'DELETE', `/api/endpoints/${env}/docker/containers/web-web-1`);
    assert.equal(running.status, 409);
    const ping = await call(sim, 'GET', `/api/endpoints/${env}/docker/_ping`);
    assert.deepEqual([ping.status, ping.text], [200, 'OK']);
    const versioned = await call(sim, 'GET', `/api/endpoints/${env}/docker/v1.41/containers/json`);
    assert.equal(versioned.body.length, 2);
  });

  it('plays 2.17.1: no /stacks/create routes, the legacy create works, endpointId optional on update', async () => {
    await sim.close();
    sim = await startSim({ version: '2.17.1' });
    env = sim.admin.addEnvironment({ name: 'vm-101', url: 'tcp://10.0.0.101:9001' }).id;
    const modern = await create(sim, env, { name: 'web', stackFileContent: WEB_COMPOSE });
    assert.deepEqual([modern.status, modern.text], [404, '404 page not found\n']);
    const legacy = await drive(sim, call(sim, 'POST', `/api/stacks?type=2&method=string&endpointId=${env}`, { body: { Name: 'web', StackFileContent: WEB_COMPOSE } }));
    assert.equal(legacy.status, 200, legacy.text);
    const upd = await drive(sim, call(sim, 'PUT', `/api/stacks/${legacy.body.Id}`, { body: { stackFileContent: WEB_COMPOSE } }));
    assert.equal(upd.status, 200, upd.text);
    const swarm = await call(sim, 'POST', `/api/stacks?type=1&method=string&endpointId=${env}`, { body: { name: 's', stackFileContent: WEB_COMPOSE } });
    assert.equal(swarm.status, 501);
    const status = await call(sim, 'GET', '/api/system/status', { auth: 'none' });
    assert.equal(status.body.Version, '2.17.1');
  });
});
