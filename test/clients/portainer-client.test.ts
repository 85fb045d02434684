import { strict as assert } from 'node:assert';
import { PortainerClient, olderThan } from '../../src/clients/portainer/client.ts';
import { isAlreadyInState, isPortainerError, PortainerApiError } from '../../src/clients/portainer/errors.ts';
import { startPortainerSimulator, type RunningPortainerSimulator } from '../../src/sim/portainer/index.ts';
import type { ExternalCallRecorder } from '../../src/runtime/metrics.ts';

const compose = 'services:\n  web:\n    image: nginx:1.27\n    restart: unless-stopped\n';

describe('Portainer client against the Portainer simulator', function () {
  this.timeout(60_000);
  let sim: RunningPortainerSimulator;
  let client: PortainerClient;
  const calls: { endpointGroup: string; statusCode: number | string }[] = [];
  const recorder: ExternalCallRecorder = { recordExternalCall: (c) => calls.push({ endpointGroup: c.endpointGroup, statusCode: c.statusCode }) };

  before(async () => {
    sim = await startPortainerSimulator({ seed: 3, speed: 50 });
    client = new PortainerClient({ url: sim.url, apiKey: sim.apiKey, recorder });
  });

  after(async () => {
    client?.close();
    await sim?.close();
  });

  it('reads the version and finds environments by name', async () => {
    assert.deepEqual(await client.status(), { version: '2.21.4' });
    const env = sim.admin.addEnvironment({ name: 'vm-a', url: 'tcp://10.0.0.5:9001' });
    sim.admin.addEnvironment({ name: 'vm-ab', url: 'tcp://10.0.0.6:9001' });
    assert.deepEqual((await client.environmentsNamed('vm-a')).map((e) => e.Id), [env.id]);
    assert.equal((await client.environment(env.id)).Name, 'vm-a');
  });

  it('runs a stack through its lifecycle, with typed errors', async () => {
    const env = (await client.environmentsNamed('vm-a'))[0]!;
    const stack = await client.createStack(env.Id, 'demo', { stackFileContent: compose, env: [{ name: 'A', value: '1' }] });
    assert.equal(stack.Status, 1);
    assert.equal(await client.stackFile(stack.Id), compose);
    assert.deepEqual((await client.stacks(env.Id)).map((s) => s.Name), ['demo']);
    const containers = await client.projectContainers(env.Id, 'demo');
    assert.deepEqual(containers.map((c) => c.Labels?.['com.docker.compose.service']), ['web']);

    const conflict = await client.createStack(env.Id, 'demo', { stackFileContent: compose, env: [] }).catch((e: unknown) => e);
    assert.ok(isPortainerError(conflict, 'Conflict'), String(conflict));

    await client.updateStack(stack.Id, env.Id, { stackFileContent: compose.replace('1.27', '1.28'), env: [], prune: true, pullImage: false });
    await client.stopStack(stack.Id, env.Id);
    assert.ok(isAlreadyInState(await client.stopStack(stack.Id, env.Id).catch((e: unknown) => e)));
    await client.startStack(stack.Id, env.Id);
    await client.deleteStack(stack.Id, env.Id);
    const gone = await client.stack(stack.Id).catch((e: unknown) => e);
    assert.ok(isPortainerError(gone, 'NotFound'));
    assert.ok(calls.some((c) => c.endpointGroup === 'stacks.create.post' && c.statusCode === 200));
    assert.ok(calls.some((c) => c.endpointGroup === 'stacks.create.post' && c.statusCode === 409));
  });

  it('uses the legacy create route before 2.19', async () => {
    const old = await startPortainerSimulator({ seed: 4, speed: 50, version: '2.17.1' });
    const legacy = new PortainerClient({ url: old.url, apiKey: old.apiKey });
    try {
      await legacy.status();
      const env = old.admin.addEnvironment({ name: 'vm-old', url: 'tcp://10.0.0.7:9001' });
      await legacy.createStack(env.id, 'old', { stackFileContent: compose, env: [] });
      assert.equal(old.admin.counters().byRoute['POST /stacks'], 1);
    } finally {
      legacy.close();
      await old.close();
    }
  });

  it('never puts the API key in an error, and reports a revoked key as Unauthorized', async () => {
    const bad = new PortainerClient({ url: sim.url, apiKey: 'ptr_not-a-real-key-123456' });
    try {
      const err = await bad.status().catch((e: unknown) => e);
      assert.ok(isPortainerError(err, 'Unauthorized'));
      assert.ok(!JSON.stringify({ message: (err as Error).message, ...(err as object) }).includes('ptr_not-a-real-key'));
    } finally {
      bad.close();
    }
  });

  it('does not send a create twice when the connection drops, but retries a read', async () => {
    const env = (await client.environmentsNamed('vm-a'))[0]!;
    sim.admin.resetCounters();
    sim.admin.injectFault({ kind: 'drop', when: 'after', group: 'stacks', method: 'POST', count: 1 });
    const err = await client.createStack(env.Id, 'dropped', { stackFileContent: compose, env: [] }).catch((e: unknown) => e);
    assert.ok(err instanceof PortainerApiError && err.kind === 'Unavailable' && err.status === undefined, String(err));
    assert.equal(sim.admin.counters().byRoute['POST /stacks/create/standalone/string'], 1);
    // The create happened even though the answer was lost: the stack is there to be found.
    assert.ok((await client.stacks(env.Id)).some((s) => s.Name === 'dropped'));

    sim.admin.injectFault({ kind: 'drop', when: 'before', group: 'stacks', method: 'GET', count: 1 });
    sim.admin.resetCounters();
    assert.ok((await client.stacks(env.Id)).length > 0);
    assert.equal(sim.admin.counters().byRoute['GET /stacks'], 2);
  });

  it('compares versions', () => {
    assert.equal(olderThan('2.17.1', '2.19.0'), true);
    assert.equal(olderThan('2.21.4', '2.19.0'), false);
    assert.equal(olderThan('2.19.0', '2.19.0'), false);
  });
});
