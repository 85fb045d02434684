import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { startPhoenix, apply, waitReady, waitCondition, condition, G, type PhoenixEnv } from '../support/phoenix.ts';
import { eventually } from '../support/crds.ts';

/**
 * Issue 13's cloud-init snippets through kubectl's path: a PhoenixVM's
 * `cloudInit.userDataSnippet` is written over SFTP (the PhoenixHypervisor's spec.ssh) into
 * local's snippets directory and named in `cicustom user=` before the VM starts; the simulator,
 * like qemu-server's Cloudinit.pm, refuses to start a VM whose cicustom volume is missing. The
 * same content is not written again; new content is a new file and a cicustom change, taken at the next boot.
 */
describe('cloud-init user-data snippets of a PhoenixVM over SSH (real API server + simulator)', function () {
  this.timeout(180_000);
  let env: PhoenixEnv;
  const secretLine = 'snippet-SECRET-83f1c2';
  const first = '#cloud-config\npackages: [nginx]\n';
  const second = '#cloud-config\npackages: [nginx, curl]\n';
  // Expected names are computed here, independently of the product: phoenix-<ns>-<name>-<sha256 16>.yaml.
  const fileFor = (name: string, content: string) => `phoenix-${env.namespace}-${name}-${createHash('sha256').update(content).digest('hex').slice(0, 16)}.yaml`;
  const vmSpec = (userDataSnippet: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    source: { cloudImage: { volume: 'local:import/debian-12-genericcloud-amd64.qcow2', storage: 'local-lvm' } },
    memory: '1G',
    agent: { enabled: true },
    disks: [{ slot: 'scsi0', size: '8G' }],
    networks: [{ bridge: 'vmbr0', ipv4: 'dhcp' }],
    cloudInit: { user: 'phoenix', storage: 'local-lvm', userDataSnippet, ...extra },
  });
  const patchSsh = (ssh: Record<string, unknown> | null) =>
    env.custom.patchClusterCustomObject({ ...G, plural: 'phoenixhypervisors', name: env.hypervisor, body: { spec: { ssh } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
  const snippetFiles = () => [...env.sim.ssh!.files.keys()].filter((p) => p.startsWith('/var/lib/vz/snippets/phoenix-')).sort();

  before(async function () {
    this.timeout(30 * 60_000);
    // Observed every 2 s, so later reconciles happen within the test.
    env = await startPhoenix({ name: 'e2e-vm-snippets', observePeriodMs: 2_000 });
  });

  after(async () => env?.stop());

  it('refuses userData with userDataSnippet at admission, naming the field', async () => {
    await assert.rejects(
      apply(env, 'PhoenixVM', 'both', vmSpec({ storage: 'local', source: { inline: first } }, { userData: 'local:snippets/user.yaml' })),
      (err: { body?: unknown }) => /spec\.cloudInit\.userDataSnippet.*userData and userDataSnippet both set the cicustom user-data/s.test(String(err.body)),
    );
  });

  it('stalls a VM with a snippet while the hypervisor has no spec.ssh, and does not start it', async () => {
    await apply(env, 'PhoenixVM', 'no-ssh', vmSpec({ storage: 'local', source: { inline: first } }));
    const stalled = await waitCondition(env, 'phoenixvms', 'no-ssh', (o) => condition(o, 'Stalled')?.reason === 'SSHNotConfigured', 'Stalled: SSHNotConfigured', 90_000);
    assert.match(condition(stalled, 'Stalled')!.message, /cloudInit\.userDataSnippet is written over SSH.*has no spec\.ssh/);
    assert.equal(env.sim.admin.guest(stalled.status.vmid)?.status, 'stopped');
    await env.custom.deleteNamespacedCustomObject({ ...G, plural: 'phoenixvms', namespace: env.namespace, name: 'no-ssh' });
  });

  it('stalls a VM whose snippet storage has no snippets content, with a clear reason', async () => {
    const ssh = env.sim.admin.ssh();
    const core = env.cluster.kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedSecret({ namespace: env.namespace, body: { metadata: { name: 'node-ssh' }, type: 'kubernetes.io/ssh-auth', stringData: { 'ssh-privatekey': ssh.privateKey, username: ssh.username } } });
    await patchSsh({ credentialsSecretRef: { name: 'node-ssh', namespace: env.namespace }, hostKeyFingerprints: [ssh.hostKeyFingerprint], nodes: [{ name: 'pve', address: 'localhost', port: ssh.port }] });
    await apply(env, 'PhoenixVM', 'lvm-snippet', vmSpec({ storage: 'local-lvm', source: { inline: first } }));
    const stalled = await waitCondition(env, 'phoenixvms', 'lvm-snippet', (o) => condition(o, 'Stalled')?.reason === 'SnippetStorageUnusable', 'Stalled: SnippetStorageUnusable', 90_000);
    assert.match(condition(stalled, 'Stalled')!.message, /storage local-lvm does not allow snippets content/);
    assert.deepEqual(snippetFiles(), []);
    await env.custom.deleteNamespacedCustomObject({ ...G, plural: 'phoenixvms', namespace: env.namespace, name: 'lvm-snippet' });
  });

  it('uploads the snippet before the start, writes it once, and uploads a new file when the content changes', async () => {
    const core = env.cluster.kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedSecret({ namespace: env.namespace, body: { metadata: { name: 'user-data' }, stringData: { 'user-data': first + `# ${secretLine}\n` } } });
    await apply(env, 'PhoenixVM', 'web', vmSpec({ storage: 'local', source: { secretKeyRef: { name: 'user-data', key: 'user-data' } } }));
    const ready = await waitReady(env, 'phoenixvms', 'web', 120_000);
    assert.equal(ready.status.powerState, 'Running');
    const vmid = ready.status.vmid as number;
    const file1 = fileFor('web', first + `# ${secretLine}\n`);
    const guest = env.sim.admin.guest(vmid)!;
    // Running proves the simulator found the volume at start (it refuses a missing one).
    assert.equal(guest.status, 'running');
    assert.equal(String(guest.config['cicustom']), `user=local:snippets/${file1}`);
    assert.deepEqual(snippetFiles(), [`/var/lib/vz/snippets/${file1}`]);
    assert.equal(env.sim.ssh!.files.get(`/var/lib/vz/snippets/${file1}`)!.toString('utf8'), first + `# ${secretLine}\n`);

    // Later reconciles write nothing: the file the test puts back (a new Buffer) stays that very Buffer.
    const marker = Buffer.from(env.sim.ssh!.files.get(`/var/lib/vz/snippets/${file1}`)!);
    env.sim.ssh!.files.set(`/var/lib/vz/snippets/${file1}`, marker);
    env.sim.admin.resetCounters();
    const configReads = () => Object.entries(env.sim.admin.counters().byPath).filter(([p]) => p.startsWith('GET') && p.endsWith(`/${vmid}/config`)).reduce((n, [, c]) => n + c, 0);
    await eventually('three more observations of the VM', async () => configReads() >= 3, 90_000);
    assert.equal(env.sim.ssh!.files.get(`/var/lib/vz/snippets/${file1}`), marker, 'the snippet was written again');
    const writes = Object.keys(env.sim.admin.counters().byEndpoint).filter((e) => !e.startsWith('GET'));
    assert.deepEqual(writes, []);

    // New content: a new file, and cicustom names it. Proxmox takes a cloud-init option of a
    // running VM into its config at once and regenerates the drive at the next start, so the
    // VM keeps running: no restart (restartPolicy is not IfRequired) and no drift reported.
    await core.replaceNamespacedSecret({ name: 'user-data', namespace: env.namespace, body: { metadata: { name: 'user-data' }, stringData: { 'user-data': second } } });
    const file2 = fileFor('web', second);
    await eventually('cicustom names the new snippet', async () => String(env.sim.admin.guest(vmid)!.config['cicustom']) === `user=local:snippets/${file2}`, 90_000);
    const pending = await waitReady(env, 'phoenixvms', 'web', 60_000);
    assert.equal(pending.status.drift, undefined);
    assert.equal(env.sim.admin.guest(vmid)!.status, 'running');
    assert.deepEqual(snippetFiles(), [`/var/lib/vz/snippets/${file1}`, `/var/lib/vz/snippets/${file2}`].sort());
    assert.equal(env.sim.ssh!.files.get(`/var/lib/vz/snippets/${file2}`)!.toString('utf8'), second);

    // The Secret's content shows nowhere: status, events, file names.
    assert.doesNotMatch(JSON.stringify(pending.status), new RegExp(secretLine));
    const events = await core.listNamespacedEvent({ namespace: env.namespace });
    assert.doesNotMatch(JSON.stringify(events.items.map((e) => e.message)), new RegExp(secretLine));
    assert.ok(events.items.some((e) => e.reason === 'SnippetUploaded'));
    assert.ok(events.items.some((e) => e.reason === 'Configured' && /cloud-init user-data changed/.test(e.message ?? '')));
    assert.ok(!events.items.some((e) => e.reason === 'DriftCorrected'));
  });
});
