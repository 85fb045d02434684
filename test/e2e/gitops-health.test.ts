import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apply, condition, G, startPhoenix, waitCondition, waitReady, type PhoenixEnv } from '../support/phoenix.ts';
import { argoCdHealth } from '../support/argocd-health.ts';
import { apiGroup, apiVersion } from '../../src/api/group.ts';

const template = 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst';

/**
 * The Argo CD health check Phoenix ships (src/deploy/argocd-health.lua), run in Lua 5.1 the way
 * Argo CD runs it, on objects as the API server returns them after Phoenix has driven them into
 * each state against the simulator: nothing here is a hand-written object.
 */
describe('Argo CD health of real Phoenix objects', function () {
  this.timeout(3 * 60_000);
  let env: PhoenixEnv;

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({ name: 'e2e-argocd-health' });
  });

  after(async () => env?.stop());

  it('runs in a sandbox as strict as Argo CD\'s (no string library)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'phoenix-lua-'));
    const script = join(dir, 'uses-string.lua');
    writeFileSync(script, 'return { status = ("healthy"):upper(), message = "" }\n');
    assert.throws(() => argoCdHealth({ metadata: { name: 'x' } }, script), /health script failed/);
  });

  it('Progressing for an object Phoenix has not seen yet', async () => {
    const created = await apply(env, 'PhoenixLXC', 'fresh', { source: { osTemplate: { volume: template } } });
    assert.equal(created.status, undefined, 'the create response already had a status');
    assert.equal(argoCdHealth(created).status, 'Progressing');
    await waitReady(env, 'phoenixlxcs', 'fresh');
  });

  it('Healthy once Ready, and Progressing again the moment its spec changes', async () => {
    const ready = await waitReady(env, 'phoenixlxcs', 'fresh');
    assert.deepEqual(argoCdHealth(ready), { status: 'Healthy', message: `${condition(ready, 'Ready')?.reason}: ${condition(ready, 'Ready')?.message}` });
    const patched = await env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace: env.namespace, name: 'fresh', body: [{ op: 'replace', path: '/spec/cores', value: 2 }] });
    assert.ok(patched.status.observedGeneration < patched.metadata.generation, 'Phoenix acted before the patch returned');
    assert.deepEqual(argoCdHealth(patched), { status: 'Progressing', message: `Phoenix has not yet acted on generation ${patched.metadata.generation}` });
    assert.equal(argoCdHealth(await waitReady(env, 'phoenixlxcs', 'fresh')).status, 'Healthy');
  });

  it('Healthy through the controller\'s own passing trouble (Synced=False), saying so', async () => {
    env.sim.admin.injectFault({ kind: 'error', group: 'lxc', rate: 1 });
    env.sim.admin.injectFault({ kind: 'error', group: 'cluster', rate: 1 });
    try {
      await env.custom.patchNamespacedCustomObject({ ...G, plural: 'phoenixlxcs', namespace: env.namespace, name: 'fresh', body: [{ op: 'add', path: '/metadata/annotations', value: { 'example.com/poke': 'now' } }] });
      const troubled = await waitCondition(env, 'phoenixlxcs', 'fresh', (o) => condition(o, 'Synced')?.status === 'False', 'Synced=False');
      assert.equal(condition(troubled, 'Ready')?.status, 'True', 'Ready flipped on the controller\'s own trouble');
      const health = argoCdHealth(troubled);
      assert.equal(health.status, 'Healthy');
      assert.ok(health.message.endsWith(`(last attempt failed: ${condition(troubled, 'Synced')?.reason}: ${condition(troubled, 'Synced')?.message})`), health.message);
    } finally {
      env.sim.admin.clearFaults();
    }
    await waitCondition(env, 'phoenixlxcs', 'fresh', (o) => condition(o, 'Synced')?.status === 'True', 'Synced again');
  });

  it('Progressing while Phoenix retries a locked storage', async () => {
    env.sim.admin.injectFault({ kind: 'storage-lock-timeout', storage: 'local-lvm' });
    try {
      await apply(env, 'PhoenixLXC', 'locked', { source: { osTemplate: { volume: template } } });
      const retrying = await waitCondition(env, 'phoenixlxcs', 'locked', (o) => condition(o, 'Reconciling')?.status === 'True' && condition(o, 'Ready')?.reason === 'StorageLockTimeout', 'retrying a locked storage');
      const health = argoCdHealth(retrying);
      assert.equal(health.status, 'Progressing');
      assert.match(health.message, /^StorageLockTimeout: /);
    } finally {
      env.sim.admin.clearFaults();
    }
    assert.equal(argoCdHealth(await waitReady(env, 'phoenixlxcs', 'locked')).status, 'Healthy');
  });

  it('Degraded when Phoenix is Stalled, with the reason and what to do', async () => {
    await env.custom.createClusterCustomObject({
      group: apiGroup,
      version: apiVersion,
      plural: 'phoenixhypervisors',
      body: { apiVersion: `${apiGroup}/${apiVersion}`, kind: 'PhoenixHypervisor', metadata: { name: 'argocd-no-token' }, spec: { proxmox: { url: env.sim.url, tokenSecretRef: { name: 'missing-token', namespace: env.namespace } } } },
    });
    try {
      const stalled = await waitCondition(env, 'phoenixhypervisors', 'argocd-no-token', (o) => condition(o, 'Stalled')?.status === 'True', 'Stalled');
      const health = argoCdHealth(stalled);
      assert.equal(health.status, 'Degraded');
      assert.equal(health.message, `${condition(stalled, 'Stalled')?.reason}: ${condition(stalled, 'Stalled')?.message}`);
      assert.match(health.message, /^SecretNotFound: Secret e2e-argocd-health\/missing-token/);
    } finally {
      await env.custom.deleteClusterCustomObject({ group: apiGroup, version: apiVersion, plural: 'phoenixhypervisors', name: 'argocd-no-token' });
    }
  });

  it('Suspended for a guest Phoenix only observes', async () => {
    env.sim.admin.addGuest({ type: 'lxc', vmid: 170, config: { hostname: 'legacy', memory: 512, rootfs: 'local-lvm:vm-170-disk-0,size=4G' }, status: 'running' });
    await apply(env, 'PhoenixLXC', 'observed', { vmid: 170, managementPolicy: 'Observe', source: { osTemplate: { volume: template } }, memory: '512M' });
    const observed = await waitReady(env, 'phoenixlxcs', 'observed');
    const health = argoCdHealth(observed);
    assert.equal(health.status, 'Suspended');
    assert.match(health.message, /^Observe mode \(Phoenix changes nothing\): Observed: /);
  });

  it('agrees with kstatus on every state above: Healthy only when Current, Degraded only when Failed', async () => {
    for (const [plural, name] of [['phoenixlxcs', 'fresh'], ['phoenixlxcs', 'locked'], ['phoenixlxcs', 'observed'], ['phoenixhypervisors', env.hypervisor]] as const) {
      const object = plural === 'phoenixhypervisors'
        ? await env.custom.getClusterCustomObject({ ...G, plural, name })
        : await env.custom.getNamespacedCustomObject({ ...G, plural, namespace: env.namespace, name });
      // kstatus, by its documented rules (cli-utils pkg/kstatus): generation, Reconciling, Stalled, Ready.
      const current = object.status.observedGeneration === object.metadata.generation && condition(object, 'Reconciling')?.status !== 'True' && condition(object, 'Stalled')?.status !== 'True' && condition(object, 'Ready')?.status === 'True';
      assert.ok(current, `${name} is not Current`);
      assert.ok(['Healthy', 'Suspended'].includes(argoCdHealth(object).status), `${name}: ${JSON.stringify(argoCdHealth(object))}`);
    }
  });
});
