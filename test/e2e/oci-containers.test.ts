import { strict as assert } from 'node:assert';
import * as k8s from '@kubernetes/client-node';
import { startPhoenix, apply, waitReady, waitCondition, condition, stalledWith, readyAtGeneration, getObject, G, type PhoenixEnv } from '../support/phoenix.ts';
import { eventually } from '../support/crds.ts';

/**
 * Application containers (PVE 9.1) through kubectl's path: a PhoenixLXC whose source is an OCI
 * image is pulled once (`oci-registry-pull`, a task), created from the pulled archive, and
 * runs with the image's entrypoint and the environment the spec adds; a restart during the
 * pull follows the same task; a second container reuses the archive; a Proxmox VE 8.4 host,
 * which has no such endpoint, stalls the container with a reason that says so.
 */
describe('OCI application containers (real API server + simulator)', function () {
  this.timeout(180_000);
  let env: PhoenixEnv;
  const secretToken = 'oci-SECRET-51d0a7';

  const pulls = (filename?: string) => env.sim.admin.tasks().filter((t) => t.type === 'ociregistrypull' && (filename === undefined || t.id === filename));
  const envOf = (raw: string | undefined) => (raw ?? '').split('\0').filter(Boolean);
  const nginx = (extra: Record<string, unknown> = {}) => ({
    source: { ociImage: { reference: 'docker.io/library/nginx:1.27', storage: 'local' } },
    memory: '512M',
    rootDisk: { storage: 'local-lvm', size: '4G' },
    networks: [{ name: 'eth0', bridge: 'vmbr0', ipv4: 'dhcp' }],
    env: [{ name: 'NGINX_PORT', value: '8080' }, { name: 'API_TOKEN', secretKeyRef: { name: 'app-secret', key: 'token' } }],
    ...extra,
  });

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({ name: 'e2e-oci' });
    const core = env.cluster.kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedSecret({ namespace: env.namespace, body: { metadata: { name: 'app-secret' }, stringData: { token: secretToken } } });
  });

  after(async () => env?.stop());

  it('pulls the image once, creates the container from it and runs it with the image\'s entrypoint and the spec\'s env', async () => {
    await apply(env, 'PhoenixLXC', 'web', nginx());
    const ready = await waitReady(env, 'phoenixlxcs', 'web', 120_000);
    const vmid = ready.status.vmid as number;
    assert.equal(ready.status.powerState, 'Running');
    const pulled = pulls();
    assert.equal(pulled.length, 1, 'one pull');
    assert.equal(pulled[0]!.exitstatus, 'OK');
    // pve-storage names the archive after the reference's last component, `:` made `_`.
    assert.ok(env.sim.admin.snapshotState().volumes.some((v) => v.volid === 'local:vztmpl/nginx_1.27.tar'), 'the archive is on the storage');
    const guest = env.sim.admin.guest(vmid)!;
    assert.equal(guest.status, 'running');
    assert.equal(guest.config['entrypoint'], "/docker-entrypoint.sh nginx -g 'daemon off;'");
    assert.equal(guest.config['cmode'], 'console');
    const vars = envOf(guest.config['env']);
    // The image's own variables stay; the spec's are added, the Secret's value included.
    assert.ok(vars.includes('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'), vars.join(' '));
    assert.ok(vars.includes('NGINX_VERSION=1.27.5'), vars.join(' '));
    assert.ok(vars.includes('NGINX_PORT=8080'), vars.join(' '));
    assert.ok(vars.includes(`API_TOKEN=${secretToken}`), vars.join(' '));
  });

  it('reuses the pulled archive for a second container of the same image', async () => {
    await apply(env, 'PhoenixLXC', 'web2', nginx({ env: [{ name: 'NGINX_PORT', value: '8081' }] }));
    const ready = await waitReady(env, 'phoenixlxcs', 'web2', 120_000);
    assert.equal(pulls().length, 1, 'no second pull');
    assert.ok(envOf(env.sim.admin.guest(ready.status.vmid)!.config['env']).includes('NGINX_PORT=8081'));
  });

  it('converges a changed env and entrypoint like other config', async () => {
    const before = await getObject(env, 'phoenixlxcs', 'web2');
    const vmid = before.status.vmid as number;
    await env.custom.patchNamespacedCustomObject(
      { ...G, plural: 'phoenixlxcs', namespace: env.namespace, name: 'web2', body: { spec: { restartPolicy: 'IfRequired', entrypoint: 'nginx -g "daemon off;"', env: [{ name: 'NGINX_PORT', value: '9090' }] } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await waitCondition(env, 'phoenixlxcs', 'web2', readyAtGeneration, 'Ready at the new generation', 120_000);
    const guest = env.sim.admin.guest(vmid)!;
    assert.equal(guest.config['entrypoint'], 'nginx -g "daemon off;"');
    const vars = envOf(guest.config['env']);
    assert.ok(vars.includes('NGINX_PORT=9090'), vars.join(' '));
    assert.ok(!vars.includes('NGINX_PORT=8081'), vars.join(' '));
    assert.ok(vars.includes('NGINX_VERSION=1.27.5'), 'the image\'s variables are kept');
    assert.deepEqual(Object.keys(guest.pending), [], 'applied by the restart');
  });

  it('follows the same pull across a controller restart instead of pulling twice', async () => {
    // A large image on a slow link: the pull takes simulated minutes.
    env.sim.admin.addOciImage('registry.example.com/team/inference', { sizeBytes: 6_000_000_000, pullMs: 1_500_000, env: ['PATH=/usr/bin:/bin'], cmd: ['/usr/bin/serve'] });
    await apply(env, 'PhoenixLXC', 'inference', { ...nginx(), source: { ociImage: { reference: 'registry.example.com/team/inference:2.1', storage: 'local' } } });
    await waitCondition(env, 'phoenixlxcs', 'inference', (o) => o?.status?.task?.operation === 'oci-pull', 'the pull recorded in status', 60_000);
    assert.equal(pulls('inference_2.1.tar').length, 1);
    assert.equal(pulls('inference_2.1.tar')[0]!.status, 'running');
    await env.restart();
    const ready = await waitReady(env, 'phoenixlxcs', 'inference', 120_000);
    assert.equal(pulls('inference_2.1.tar').length, 1, 'pulled once');
    assert.equal(env.sim.admin.guest(ready.status.vmid)!.config['entrypoint'], '/usr/bin/serve');
  });

  it('names a pull that fails (an image the registry does not have)', async () => {
    await apply(env, 'PhoenixLXC', 'missing', { ...nginx(), source: { ociImage: { reference: 'docker.io/acme/does-not-exist:1.0', storage: 'local' } } });
    const failing = await waitCondition(env, 'phoenixlxcs', 'missing', (o) => condition(o, 'Ready')?.reason === 'TaskFailed', 'Ready False, TaskFailed', 60_000);
    // Proxmox's exit status is run_command's; skopeo's reason, from the task log, follows it.
    assert.match(condition(failing, 'Ready')!.message, /oci-pull failed: command 'skopeo copy docker:\/\/docker\.io\/acme\/does-not-exist:1\.0 oci-archive:\/var\/lib\/vz\/template\/cache\/does-not-exist_1\.0\.tar\.tmp\.\d+' failed: exit code 1 \(.*reading manifest 1\.0 in docker\.io\/acme\/does-not-exist: requested access to the resource is denied/);
    assert.equal(failing.status.vmid === undefined || env.sim.admin.guest(failing.status.vmid) === undefined, true, 'no container was created');
  });

  it('writes a changed Secret\'s value into env, and shows it nowhere', async () => {
    const vmid = (await getObject(env, 'phoenixlxcs', 'web')).status.vmid as number;
    const core = env.cluster.kc.makeApiClient(k8s.CoreV1Api);
    await core.patchNamespacedSecret({ namespace: env.namespace, name: 'app-secret', body: { stringData: { token: `${secretToken}-2` } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    // A running container takes env at its next start: the new value waits in the pending section.
    await eventually('the new token in the container\'s env', async () => {
      const g = env.sim.admin.guest(vmid)!;
      return envOf(g.pending['env'] ?? g.config['env']).includes(`API_TOKEN=${secretToken}-2`);
    }, 60_000);
  });

  it('stalls on a storage that cannot hold OCI images, and on one that does not exist', async () => {
    await apply(env, 'PhoenixLXC', 'on-lvm', { ...nginx(), source: { ociImage: { reference: 'docker.io/library/nginx:1.27', storage: 'local-lvm' } } });
    const lvm = await waitCondition(env, 'phoenixlxcs', 'on-lvm', stalledWith('OciPullRefused'), 'Stalled OciPullRefused', 60_000);
    assert.match(condition(lvm, 'Stalled')!.message, /Proxmox refused to pull docker\.io\/library\/nginx:1\.27 to storage local-lvm on node pve: .*can't upload to storage type 'lvmthin', not a file based storage!/);
    await apply(env, 'PhoenixLXC', 'nowhere', { ...nginx(), source: { ociImage: { reference: 'docker.io/library/nginx:1.27', storage: 'no-such-storage' } } });
    const nowhere = await waitCondition(env, 'phoenixlxcs', 'nowhere', stalledWith('StorageNotFound'), 'Stalled StorageNotFound', 60_000);
    assert.match(condition(nowhere, 'Stalled')!.message, /storage no-such-storage is not available on node pve/);
    assert.equal(pulls().filter((t) => t.id === 'nginx_1.27.tar').length, 1, 'still the one pull of the first test');
  });

  it('refuses a malformed reference and a second source at admission', async () => {
    for (const [spec, pattern] of [
      [{ source: { ociImage: { reference: 'docker.io/library/nginx', storage: 'local' } } }, /spec\.source\.ociImage\.reference/],
      [{ source: { ociImage: { reference: 'docker.io/library/NGINX:1', storage: 'local' } } }, /spec\.source\.ociImage\.reference/],
      [{ source: { ociImage: { reference: 'nginx:1.27', storage: 'local' }, osTemplate: { volume: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst' } } }, /exactly one of osTemplate, clone or ociImage is required/],
      [{ source: { ociImage: { reference: 'nginx:1.27', storage: 'local' } }, env: [{ name: 'A', value: 'x', secretKeyRef: { name: 's', key: 'k' } }] }, /exactly one of value or secretKeyRef is required/],
    ] as const) {
      await assert.rejects(apply(env, 'PhoenixLXC', 'refused', spec), (err: unknown) => {
        assert.ok(err instanceof k8s.ApiException && err.code === 422, String(err));
        assert.match(String(err.body), pattern);
        return true;
      });
    }
  });

  it('never shows the Secret\'s value in status or events', async () => {
    const objects = await Promise.all(['web', 'web2', 'inference', 'on-lvm'].map((n) => getObject(env, 'phoenixlxcs', n)));
    for (const o of objects) assert.ok(!JSON.stringify(o.status).includes(secretToken), `${o.metadata.name}'s status shows the Secret`);
    assert.ok(JSON.stringify(objects[0].status).includes('env'), 'the env change is recorded (as names)');
    const events = (await env.cluster.kc.makeApiClient(k8s.EventsV1Api).listNamespacedEvent({ namespace: env.namespace })).items;
    assert.ok(events.some((e) => e.reason === 'PullingImage'), 'no PullingImage event');
    for (const e of events) assert.ok(!`${e.note ?? ''}`.includes(secretToken), `event ${e.reason} shows the Secret: ${e.note}`);
  });
});

describe('OCI application containers on Proxmox VE 8.4 (real API server + simulator)', function () {
  this.timeout(120_000);
  let env: PhoenixEnv;

  before(async function () {
    this.timeout(30 * 60_000);
    env = await startPhoenix({ name: 'e2e-oci-84', sim: { pveVersion: '8.4' } });
  });

  after(async () => env?.stop());

  it('stalls with a reason that says the host cannot pull OCI images, and creates nothing', async () => {
    await apply(env, 'PhoenixLXC', 'web', { source: { ociImage: { reference: 'docker.io/library/nginx:1.27', storage: 'local' } }, rootDisk: { storage: 'local-lvm', size: '4G' } });
    const stalled = await waitCondition(env, 'phoenixlxcs', 'web', stalledWith('OciImagesUnsupported'), 'Stalled OciImagesUnsupported', 60_000);
    assert.match(condition(stalled, 'Stalled')!.message, /node pve cannot pull OCI images: its Proxmox VE has no oci-registry-pull \(application containers need Proxmox VE 9\.1 or later\)/);
    assert.equal(env.sim.admin.tasks().filter((t) => t.type === 'ociregistrypull' || t.type === 'vzcreate').length, 0);
    await eventually('still no guest', async () => env.sim.admin.snapshotState().guests.length === 0, 1_000);
  });
});
