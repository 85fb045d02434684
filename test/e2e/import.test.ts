import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { startPhoenix, waitReady, waitCondition, getObject, condition, parseSetCommand, readyAtGeneration, runAsRoot, stalledWith, G, type PhoenixEnv } from '../support/phoenix.ts';
import { kubectl } from '../support/kubectl.ts';
import { legacyExamplesDir, legacyExamplesMissing, leafPaths, resolveField, under } from '../support/legacy.ts';
import type { RunningSimulator } from '../../src/sim/proxmox/index.ts';
import { GiB } from '../../src/proxmox/size.ts';
import { PortainerClient } from '../../src/clients/portainer/client.ts';
import * as variant from '../support/legacy-variants.ts';

const run = promisify(execFile);
const phoenix = new URL('../../bin/phoenix.js', import.meta.url).pathname;
const namespace = 'e2e-import';
/** The devices lxc-manager gave a container with one GPU (legacy-phoenix.md, gpu_assignment). */
const nvidiaDevices = (gpu: number) => [`/dev/nvidia${gpu}`, '/dev/nvidiactl', '/dev/nvidia-uvm', '/dev/nvidia-uvm-tools'];
const hypervisor = 'legacy';

/** `phoenix import` as a user runs it; resolves with the exit code and output. */
async function phoenixImport(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [phoenix, 'import', ...args], { maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function treeOf(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

/** Writes a legacy installation (usr/local/phoenix_hypervisor: etc/, stacks/, bin/) and returns its etc/. */
function writeLegacyInstall(etc: Record<string, unknown>, files: Record<string, string>): string {
  const root = join(mkdtempSync(join(tmpdir(), 'phoenix-legacy-')), 'usr', 'local', 'phoenix_hypervisor');
  mkdirSync(join(root, 'etc'), { recursive: true });
  for (const [name, json] of Object.entries(etc)) writeFileSync(join(root, 'etc', name), JSON.stringify(json, null, 4));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return join(root, 'etc');
}

/**
 * The legacy host as the JSON files describe it, before Phoenix: node, the storages its ZFS and
 * NFS scripts made, its two pools, and the OS template in the template storage. The guests are
 * not there: Phoenix builds the estate from the manifests.
 */
function seedLegacyHost(sim: RunningSimulator): void {
  sim.admin.addNode({ name: 'pve', cpus: 32, memoryGiB: 256, ip: '10.0.0.13' });
  const zfs = [
    ['quickOS-vm-disks', 'quickOS/vm-disks', ['images']],
    ['quickOS-lxc-disks', 'quickOS/lxc-disks', ['images', 'rootdir']],
    ['quickOS-shared-prod-data', 'quickOS/shared-prod-data', ['images', 'rootdir']],
    ['quickOS-shared-prod-data-sync', 'quickOS/shared-prod-data-sync', ['images']],
    ['fastData-shared-test-data', 'fastData/shared-test-data', ['images', 'rootdir']],
    ['fastData-shared-test-data-sync', 'fastData/shared-test-data-sync', ['images', 'rootdir']],
    ['fastData-shared-bulk-data', 'fastData/shared-bulk-data', ['images', 'rootdir']],
    ['quickOS-lxc-persistent-data', 'quickOS/lxc-persistent-data', ['images', 'rootdir']],
  ] as const;
  for (const [id, pool, content] of zfs) {
    sim.admin.addStorage({ id, type: 'zfspool', content: [...content], totalGiB: 4000 });
    sim.simulator.state.storages.find((s) => s.id === id)!.pool = pool;
  }
  sim.admin.addStorage({ id: 'fastData-shared-backups', type: 'dir', content: ['backup'], totalGiB: 2000, shared: true, path: '/fastData/shared-backups' });
  sim.admin.addStorage({ id: 'quickOS-vm-persistent-data', type: 'dir', content: ['images', 'rootdir'], totalGiB: 10, shared: true, path: '/quickOS/vm-persistent-data' });
  sim.admin.addStorage({ id: 'fastData-shared-iso', type: 'dir', content: ['iso', 'vztmpl'], totalGiB: 100, shared: true, path: '/fastData/shared-iso' });
  sim.admin.addStorage({ id: 'nfs-vm-persistent-data', type: 'nfs', content: ['images', 'iso', 'vztmpl', 'backup', 'snippets'], totalGiB: 10, shared: true, path: '/mnt/nfs/nfs-vm-persistent-data' });
  Object.assign(sim.simulator.state.storages.find((s) => s.id === 'nfs-vm-persistent-data')!, { server: '10.0.0.13', export: '/quickOS/vm-persistent-data' });
  sim.admin.addVolume({ volid: 'fastData-shared-iso:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst', content: 'vztmpl', sizeBytes: 140 * 1024 ** 2 });
  const node = sim.simulator.state.nodes.find((n) => n.name === 'pve')!;
  node.zfsPools = [
    { name: 'quickOS', raidlevel: 'mirror', devices: ['/dev/nvme0n1', '/dev/nvme1n1'], size: 2000 * GiB, compression: 'lz4', ashift: 12 },
    { name: 'fastData', raidlevel: 'single', devices: ['/dev/nvme2n1'], size: 4000 * GiB, compression: 'lz4', ashift: 12 },
  ];
}

describe('phoenix import of the legacy examples: applied, converged, every field accounted for (real API server + simulators)', function () {
  this.timeout(15 * 60_000);
  let env: PhoenixEnv;
  let out: string;
  let report: any;

  before(async function () {
    const missing = legacyExamplesMissing();
    if (missing) {
      process.stdout.write(`      skipped: ${missing}\n`);
      this.skip();
    }
    this.timeout(30 * 60_000);
    env = await startPhoenix({ name: namespace, hypervisor: 'bootstrap-import', observePeriodMs: 5_000, portainer: { speed: 20 }, seed: seedLegacyHost });
    out = join(mkdtempSync(join(tmpdir(), 'phoenix-import-')), 'import');
  });

  // The imported hypervisor is cluster-scoped: remove it, or later tests' controllers would keep trying its simulator.
  after(async () => {
    await env?.custom.deleteClusterCustomObject({ ...G, plural: 'phoenixhypervisors', name: hypervisor }).catch(() => undefined);
    await env?.stop();
  });

  it('imports the examples, writes the same bytes again, and --diff then finds nothing to change', async () => {
    const args = ['--from', legacyExamplesDir(), '--out', out, '--namespace', namespace, '--hypervisor', hypervisor];
    const first = await phoenixImport(args);
    assert.equal(first.code, 0, first.stderr);
    const written = treeOf(out);
    const again = await phoenixImport(args);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(treeOf(out), written, 'a second import changed the output');
    assert.match(again.stdout, /0 files new, 0 changed, 0 removed/);
    const diff = await phoenixImport([...args, '--diff']);
    assert.equal(diff.code, 0, `--diff reported changes: ${diff.stdout}`);
    assert.equal(diff.stdout, '');
    report = JSON.parse(written.get('import-report.json')!);
    // No secret value of the legacy files is in any output file.
    const secrets = ['PROD_SECRET_PASSWORD', 'TEST_SECRET_PASSWORD', 'DEV_SECRET_PASSWORD', 'REDACTED'];
    for (const [file, text] of written) for (const s of secrets) assert.ok(!text.includes(s), `${file} contains the legacy secret ${s}`);
  });

  it('applies the output with kubectl as the report says to, and the API server admits every object', async () => {
    const core = env.cluster.kc.makeApiClient(k8s.CoreV1Api);
    // "Before you apply": the Secrets, the compose ConfigMaps, and the Portainer environment.
    const values: Record<string, string> = { token: `${env.sim.token.fullId}=${env.sim.token.secret}`, apiKey: env.portainer!.apiKey, DATABASE_PASS: 'rotated-in-test' };
    assert.deepEqual(report.secrets.map((s: any) => `${s.name}:${s.keys.map((k: any) => k.key).join(',')}`), ['legacy-portainer-api-key:apiKey', 'legacy-proxmox-token:token', 'thinkheads-ai-app-production-env:DATABASE_PASS']);
    for (const s of report.secrets) {
      await core.createNamespacedSecret({ namespace: s.namespace, body: { metadata: { name: s.name }, stringData: Object.fromEntries(s.keys.map((k: any) => [k.key, values[k.key]!])) } });
    }
    const composes: Record<string, string> = {
      'qdrant-service-production-compose': 'services:\n  qdrant:\n    image: qdrant/qdrant:v1.15.4\n    ports: ["6333:6333", "6334:6334"]\n',
      'thinkheads-ai-app-production-compose': 'services:\n  app:\n    image: thinkheads_ai_app:1.0\n    ports: ["${API_PORT}:${API_PORT}"]\n    environment:\n      - API_PORT=${API_PORT}\n      - DATABASE_USER=${DATABASE_USER}\n      - DATABASE_PASS=${DATABASE_PASS}\n',
    };
    assert.deepEqual(report.configMaps.map((m: any) => m.name), Object.keys(composes));
    for (const m of report.configMaps) await core.createNamespacedConfigMap({ namespace: m.namespace, body: { metadata: { name: m.name }, data: { [m.key]: composes[m.name]! } } });
    assert.ok(report.actions.some((a: string) => a.includes('Register the Portainer environment "drphoenix"')), 'the report does not say which Portainer environment to register');
    env.portainer!.admin.addEnvironment({ name: 'drphoenix', url: 'tcp://portainer-agent.internal.thinkheads.ai:9001' });

    // Point the imported hypervisor at the simulators, as a GitOps overlay would.
    const overlay = join(out, '..', 'overlay');
    mkdirSync(overlay);
    writeFileSync(join(overlay, 'kustomization.yaml'), [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'resources: [../import]',
      'patches:',
      `  - target: { kind: PhoenixHypervisor, name: ${hypervisor} }`,
      '    patch: |-',
      `      - { op: replace, path: /spec/proxmox/url, value: "${env.sim.url}" }`,
      `      - { op: replace, path: /spec/portainer/url, value: "${env.portainer!.url}" }`,
      '',
    ].join('\n'));
    const applied = await kubectl(env.cluster.kubeconfigPath, ['apply', '-k', overlay]);
    const lines = applied.trim().split('\n');
    const resources = readFileSync(join(out, 'kustomization.yaml'), 'utf8').split('\n').filter((l) => l.startsWith('  - ')).length;
    assert.equal(lines.length, resources, applied);
    assert.ok(lines.every((l) => / (created|configured|unchanged)$/.test(l)), applied);
  });

  it('stalls the guests that need root@pam with the report\'s command, and once root has run each, converges everything: the host, 12 containers, 3 VMs and 2 stacks', async () => {
    await waitReady(env, 'phoenixhypervisors', hypervisor, 4 * 60_000);
    const applied = report.objects.filter((o: any) => o.applied);
    const plural: Record<string, string> = { PhoenixLXC: 'phoenixlxcs', PhoenixVM: 'phoenixvms', PhoenixStack: 'phoenixstacks' };
    const guests = applied.filter((o: any) => plural[o.kind]);
    assert.deepEqual([guests.filter((o: any) => o.kind === 'PhoenixLXC').length, guests.filter((o: any) => o.kind === 'PhoenixVM').length, guests.filter((o: any) => o.kind === 'PhoenixStack').length], [12, 3, 2]);
    // The legacy bind mounts (CT 101, 102, 103) and GPU containers: what Proxmox refuses an API token.
    const steps: { kind: string; name: string; vmid: number; node: string; command: string }[] = report.rootOnly;
    assert.deepEqual(steps.map((s) => s.vmid), [101, 102, 103, 801, 802, 901, 910, 911, 912, 914, 917]);
    const needsRoot = new Set(steps.map((s) => s.name));
    const options = (command: string) => {
      const { params } = parseSetCommand(command);
      const deletes = (params['delete'] ?? '').split(',').filter(Boolean).map((key) => [key, '(deleted)']);
      return new Map([...Object.entries(params).filter(([key]) => key !== 'delete'), ...deletes] as [string, string][]);
    };
    // Each as a person does it: once the guest says what to run, run the report's command as root.
    const stalled: string[] = [];
    await Promise.all(steps.map(async (step) => {
      const kind = plural[step.kind]!;
      const seen = await waitCondition(env, kind, step.name, (o) => stalledWith('RootOnly')(o) || readyAtGeneration(o), 'Stalled RootOnly, or Ready', 10 * 60_000);
      const source = seen.spec.source?.clone?.lxcRef?.name ?? seen.spec.source?.clone?.vmRef?.name;
      const fromRootStep = source !== undefined && needsRoot.has(source);
      if (stalledWith('RootOnly')(seen)) {
        stalled.push(step.name);
        const message: string = condition(seen, 'Stalled')!.message;
        const asked = message.slice(message.indexOf(`${step.command.split(' ')[0]} set ${step.vmid} `));
        assert.ok(asked.length < message.length, `${step.name}: no command in ${message}`);
        assert.equal(seen.status.vmid, step.vmid);
        assert.match(message, new RegExp(`on node ${step.node} as root`));
        if (!fromRootStep) assert.equal(asked, step.command, `${step.name}: the controller asks for another command than the report`);
        else {
          // A clone may have part of its source's root options: the controller asks only for what
          // differs, each option as the report's command sets it.
          const reported = options(step.command);
          for (const [key, value] of options(asked)) assert.equal(reported.get(key), value, `${step.name}: ${key} is not in the report's command as the controller asks for it (${asked})`);
        }
      } else {
        // Ready without root: only a clone that got all of its root options from its source. The
        // simulator clones a source's current config even from a snapshot, so a clone of a guest
        // root has finished can get them (Proxmox clones the snapshot, taken before root's step).
        assert.ok(fromRootStep, `${step.name} is Ready without root's step, though nothing passed it root's options`);
      }
      await runAsRoot(env, step.node, step.command);
    }));
    process.stdout.write(`      RootOnly until root ran the report's command: ${stalled.sort().join(', ')}; the others had it all from their clone source\n`);
    assert.ok(['step-ca', 'copy-cuda12-8', 'nginx-phoenix', 'traefik-internal'].every((n) => stalled.includes(n)), `stalled: ${stalled.join(', ')}`);
    for (const o of guests) await waitReady(env, plural[o.kind]!, o.name, 8 * 60_000);
    const withPending = (vmid: number) => {
      const g = env.sim.admin.guest(vmid)!;
      return Object.fromEntries(Object.entries({ ...g.config, ...g.pending }).filter(([k]) => !g.pendingDelete.includes(k)));
    };
    // The chain as the legacy ids say: 801 is a clone of 911, at its final-form snapshot, on the host.
    const granite = await getObject(env, 'phoenixlxcs', 'granite-embedding');
    assert.equal(granite.status.vmid, 801);
    const ct = env.sim.admin.guest(801)!;
    assert.match(String(ct.config['net0']), /ip=10\.0\.0\.141\/24/);
    assert.match(String(withPending(801)['dev0']), /^\/dev\/nvidia0,/);
    // What root set is kept (some of it pending until a restart): the step-ca bind mount, and
    // GPU 0 only on CT 911 (cloned from 901, which has two).
    assert.match(String(withPending(103)['mp0']), /^\/mnt\/pve\/quickOS\/lxc-persistent-data\/103\/ssl,mp=\/etc\/step-ca\/ssl/);
    assert.deepEqual(Object.entries(withPending(911)).filter(([k]) => /^dev\d+$/.test(k)).sort(([a], [b]) => a.localeCompare(b)).map(([, v]) => String(v).split(',')[0]), nvidiaDevices(0));
    assert.equal(env.sim.admin.guest(9000)!.config['template'], '1');
    assert.ok(env.portainer!.admin.stacks().some((s) => s.name === 'qdrant_service-production'), 'the qdrant stack is not deployed');
  });

  it('lists in the report every legacy field it did not map, and every mapped field is in the objects the API server holds', async () => {
    const entries: any[] = report.entries;
    const files = report.inputs as string[];
    const dir = legacyExamplesDir();
    const objects = new Map<string, any>();
    const fetch = async (kind: string, name: string) => {
      const key = `${kind}/${name}`;
      if (!objects.has(key)) {
        const plural: Record<string, string> = { PhoenixHypervisor: 'phoenixhypervisors', PhoenixLXC: 'phoenixlxcs', PhoenixVM: 'phoenixvms', PhoenixStack: 'phoenixstacks' };
        objects.set(key, kind === 'ConfigMap'
          ? await env.cluster.kc.makeApiClient(k8s.CoreV1Api).readNamespacedConfigMap({ namespace, name })
          : kind === 'PhoenixHypervisor' ? await getObject(env, plural[kind]!, name) : await env.custom.getNamespacedCustomObject({ ...G, plural: plural[kind]!, namespace, name }));
      }
      return objects.get(key);
    };
    let leaves = 0;
    for (const file of files) {
      const json = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      for (const leaf of leafPaths(json)) {
        leaves++;
        const covering = entries.filter((e) => e.file === file && under(leaf, e.path));
        assert.ok(covering.length > 0, `${file} ${leaf} is neither mapped nor listed`);
        assert.ok(covering.every((e) => e.outcome !== 'unknown'), `${file} ${leaf} is unknown to the importer`);
      }
    }
    assert.equal(report.coverage.fields, leaves);
    // Every target of a mapped field exists in the object as the API server stores it.
    for (const e of entries.filter((x) => x.outcome === 'mapped' && x.file.endsWith('.json'))) {
      assert.ok(e.targets.length > 0, `${e.file} ${e.path}: mapped to nothing`);
      for (const t of e.targets) {
        if (report.objects.find((o: any) => o.kind === t.kind && o.name === t.name)?.applied === false) continue;
        const value = resolveField(await fetch(t.kind, t.name), t.field);
        assert.notEqual(value, undefined, `${e.file} ${e.path} → ${t.kind} ${t.name} ${t.field}: not in the object`);
      }
    }
    // What no Phoenix field can hold is listed, each as the kind of thing it is (legacy-phoenix.md).
    const outcome = (file: string, path: string) => entries.filter((e) => e.file === file && under(path, e.path)).sort((a, b) => b.path.length - a.path.length)[0]?.outcome;
    const expected: [string, string, string][] = [
      ['phoenix_hypervisor_config.json', '/samba/shares/0/name', 'host-setup'],
      ['phoenix_hypervisor_config.json', '/nvidia_driver/version', 'host-setup'],
      ['phoenix_hypervisor_config.json', '/zfs/arc_max_gb', 'host-setup'],
      ['phoenix_hypervisor_config.json', '/zfs/datasets/0/properties', 'host-setup'],
      ['phoenix_hypervisor_config.json', '/dns_server/enabled', 'host-setup'],
      ['phoenix_hypervisor_config.json', '/nfs/exports/0/clients/0', 'host-setup'],
      ['phoenix_hypervisor_config.json', '/portainer_api/admin_password', 'not-mapped'],
      ['phoenix_hypervisor_config.json', '/proxmox_defaults/lxc/cores', 'not-mapped'],
      ['phoenix_lxc_configs.json', '/lxc_configs/103/features/1', 'provisioning'],
      ['phoenix_lxc_configs.json', '/lxc_configs/103/application_script', 'provisioning'],
      ['phoenix_lxc_configs.json', '/lxc_configs/103/health_check/command', 'provisioning'],
      ['phoenix_lxc_configs.json', '/lxc_configs/801/vllm_engine_config/ModelConfig/model', 'provisioning'],
      ['phoenix_lxc_configs.json', '/lxc_configs/101/lxc_options/0', 'not-mapped'],
      ['phoenix_lxc_configs.json', '/lxc_configs/101/id_maps/0/host_id', 'host-setup'],
      ['phoenix_lxc_configs.json', '/lxc_configs/101/apparmor_profile', 'host-setup'],
      ['phoenix_lxc_configs.json', '/lxc_configs/103/traefik_service/name', 'not-mapped'],
      ['phoenix_vm_configs.json', '/vms/2/features/3', 'provisioning'],
      ['phoenix_vm_configs.json', '/vms/2/volumes/0/server', 'provisioning'],
      ['phoenix_vm_configs.json', '/vms/2/portainer_agent_hostname', 'not-mapped'],
      ['certificate-manifest.json', '/0/post_renewal_command', 'host-setup'],
      ['phoenix_stacks_config.json', '/docker_stacks/thinkheads_ai_app/environments/production/files/0/source', 'not-mapped'],
    ];
    assert.deepEqual(expected.map(([f, p]) => [f, p, outcome(f, p)]), expected);
    const exposed = entries.filter((e) => e.exposed).map((e) => `${e.file} ${e.path}`);
    for (const p of ['/portainer_api/admin_password', '/samba/user']) assert.ok(exposed.includes(`phoenix_hypervisor_config.json ${p}`), `${p} is not flagged as exposed`);
    for (const env of ['production', 'testing', 'development']) {
      assert.ok(exposed.includes(`phoenix_stacks_config.json /docker_stacks/thinkheads_ai_app/environments/${env}/variables/1`), `DATABASE_PASS of ${env} is not flagged as exposed`);
    }
  });

  it('has the API server admit what it makes of every documented field, rootesting\'s included (server-side dry run)', async () => {
    const etc = writeLegacyInstall({ 'phoenix_hypervisor_config.json': variant.hypervisor, 'phoenix_lxc_configs.json': variant.lxc, 'phoenix_vm_configs.json': variant.vm, 'phoenix_stacks_config.json': variant.stacks, 'certificate-manifest.json': variant.certificates }, variant.files);
    const dir = join(mkdtempSync(join(tmpdir(), 'phoenix-import-')), 'variant');
    const result = await phoenixImport(['--from', etc, '--out', dir, '--namespace', namespace, '--hypervisor', 'variant']);
    assert.equal(result.code, 0, result.stderr);
    const applied = await kubectl(env.cluster.kubeconfigPath, ['apply', '--dry-run=server', '-k', dir]);
    const lines = applied.trim().split('\n');
    const resources = readFileSync(join(dir, 'kustomization.yaml'), 'utf8').split('\n').filter((l) => l.startsWith('  - ')).length;
    assert.equal(lines.length, resources, applied);
    assert.ok(lines.every((l) => /\((server dry run)\)$/.test(l)), applied);
  });
});

describe('phoenix import --adopt: Phoenix takes over a running legacy estate without re-creating anything (real API server + simulators)', function () {
  this.timeout(10 * 60_000);
  let env: PhoenixEnv;
  let stackId = 0;
  const ns = 'e2e-import-adopt';
  const adoptHypervisor = 'legacy-adopt';
  const guestIds = () => env.sim.simulator.state.guests.map((g) => g.vmid).sort((a, b) => a - b);

  const legacy = {
    hypervisor: {
      domain_name: 'internal.thinkheads.ai',
      timezone: 'America/New_York',
      network: { portainer_server_ip: '10.0.0.111', portainer_server_port: 9443, interfaces: { name: 'vmbr0', address: '10.0.0.13/24', gateway: '10.0.0.1' } },
      zfs: { datasets: [
        { name: 'lxc-disks', pool: 'quickOS', proxmox_storage_type: 'zfspool', proxmox_content_type: 'images,rootdir' },
        { name: 'vm-disks', pool: 'quickOS', proxmox_storage_type: 'zfspool', proxmox_content_type: 'images' },
        { name: 'shared-iso', pool: 'fastData', proxmox_storage_type: 'dir', proxmox_content_type: 'iso,vztmpl' },
      ] },
      vm_defaults: { ubuntu_release: 'noble' },
      portainer_api: { admin_user: 'admin', admin_password: 'plaintext-in-git' },
    },
    lxc: { lxc_configs: {
      '900': { name: 'Copy-Base', template: '/fastData/shared-iso/template/cache/ubuntu-24.04-standard_24.04-2_amd64.tar.zst', template_snapshot_name: 'final-form', memory_mb: 2048, cores: 2, storage_pool: 'quickOS-lxc-disks', storage_size_gb: 16, unprivileged: true, network_config: { name: 'eth0', bridge: 'vmbr0', ip: '10.0.0.200/24', gw: '10.0.0.1' }, mac_address: '52:54:00:AA:BB:CC' },
      '103': { name: 'Step-CA', clone_from_ctid: '900', memory_mb: 1024, cores: 2, storage_pool: 'quickOS-lxc-disks', storage_size_gb: 16, unprivileged: true, network_config: { name: 'eth0', bridge: 'vmbr0', ip: '10.0.0.10/24', gw: '10.0.0.1', nameservers: '10.0.0.13' }, mac_address: '52:54:00:AA:BB:CA', start_at_boot: true, boot_order: 1, boot_delay: 5, features: ['step_ca'], firewall: { enabled: true, rules: [{ type: 'in', action: 'ACCEPT', source: '10.0.0.12', proto: 'tcp', port: '9000', comment: 'Traefik' }] } },
    } },
    vm: { vm_defaults: { cores: 2, memory_mb: 4096, storage_pool: 'quickOS-vm-disks', network_bridge: 'vmbr0' }, vms: [
      { vmid: 9000, name: 'ubuntu-2404-cloud-template', is_template: true, template_image: 'noble-server-cloudimg-amd64.img', network_config: { ip: 'dhcp', nameserver: '10.0.0.13' }, user_config: { username: 'phoenix_user' } },
      { vmid: 1002, name: 'drphoenix', clone_from_vmid: 9000, cores: 4, memory_mb: 4096, disk_size_gb: 64, start_at_boot: true, boot_order: 5, boot_delay: 2, portainer_role: 'agent', portainer_environment_name: 'drphoenix', network_config: { ip: '10.0.0.102/24', gw: '10.0.0.1', nameserver: '10.0.0.13' }, user_config: { username: 'phoenix_user' }, docker_stacks: ['qdrant_service'], dependencies: ['103'] },
    ] },
  };
  const compose = 'services:\n  qdrant:\n    image: qdrant/qdrant:v1.15.4\n    ports: ["6333:6333"]\n';

  before(async function () {
    if (legacyExamplesMissing()) this.skip();
    this.timeout(30 * 60_000);
    env = await startPhoenix({
      name: ns, hypervisor: 'bootstrap-adopt', observePeriodMs: 20_000, portainer: { speed: 20 },
      seed: (sim) => {
        seedLegacyHost(sim);
        // The guests as lxc-manager and vm-manager left them; CT 103 has less memory than its JSON says.
        const ct = (vmid: number, hostname: string, ip: string, mac: string, extra: Record<string, string | number>) => sim.admin.addGuest({
          type: 'lxc', vmid, status: 'running',
          config: { hostname, memory: 2048, swap: 512, cores: 2, ostype: 'ubuntu', unprivileged: 1, rootfs: `quickOS-lxc-disks:subvol-${vmid}-disk-0,size=16G`, net0: `name=eth0,bridge=vmbr0,gw=10.0.0.1,hwaddr=${mac},ip=${ip},type=veth`, ...extra },
        });
        const base = ct(900, 'Copy-Base', '10.0.0.200/24', '52:54:00:AA:BB:CC', {});
        base.snapshots.push({ name: 'final-form', description: '', snaptime: 1_767_000_000, vmstate: false, config: { ...base.config } });
        ct(103, 'Step-CA', '10.0.0.10/24', '52:54:00:AA:BB:CA', { memory: 512, nameserver: '10.0.0.13', onboot: 1, startup: 'order=1,up=5,down=5', net0: 'name=eth0,bridge=vmbr0,firewall=1,gw=10.0.0.1,hwaddr=52:54:00:AA:BB:CA,ip=10.0.0.10/24,type=veth' });
        const vm = (vmid: number, config: Record<string, string | number>, status: 'running' | 'stopped') => sim.admin.addGuest({
          type: 'qemu', vmid, status, agentRunning: status === 'running',
          config: { agent: 1, scsihw: 'virtio-scsi-pci', ciuser: 'phoenix_user', nameserver: '10.0.0.13', searchdomain: 'internal.thinkheads.ai', ...config },
        });
        vm(9000, { name: 'ubuntu-2404-cloud-template', template: 1, cores: 2, memory: 4096, scsi0: 'quickOS-vm-disks:base-9000-disk-0,size=32G', ide2: 'quickOS-vm-disks:vm-9000-cloudinit,media=cdrom', net0: 'virtio=BC:24:11:00:90:00,bridge=vmbr0', ipconfig0: 'ip=dhcp' }, 'stopped');
        vm(1002, { name: 'drphoenix', cores: 4, memory: 4096, onboot: 1, startup: 'order=5,up=2', scsi0: 'quickOS-vm-disks:vm-1002-disk-0,size=32G', ide2: 'quickOS-vm-disks:vm-1002-cloudinit,media=cdrom', net0: 'virtio=BC:24:11:00:10:02,bridge=vmbr0,firewall=1', ipconfig0: 'ip=10.0.0.102/24,gw=10.0.0.1' }, 'running');
      },
    });
    // The stack portainer-manager deployed, under its legacy name.
    const environment = env.portainer!.admin.addEnvironment({ name: 'drphoenix', url: 'tcp://portainer-agent.internal.thinkheads.ai:9001' });
    const outsider = new PortainerClient({ url: env.portainer!.url, apiKey: env.portainer!.apiKey });
    stackId = (await outsider.createStack(environment.id, 'qdrant_service-production', { stackFileContent: compose, env: [] })).Id;
    outsider.close();
  });

  after(async () => {
    await env?.custom.deleteClusterCustomObject({ ...G, plural: 'phoenixhypervisors', name: adoptHypervisor }).catch(() => undefined);
    await env?.stop();
  });

  it('imports with --adopt and --observe: applied, Phoenix reports the differences and changes nothing', async () => {
    const etc = writeLegacyInstall({ 'phoenix_hypervisor_config.json': legacy.hypervisor, 'phoenix_lxc_configs.json': legacy.lxc, 'phoenix_vm_configs.json': legacy.vm }, {
      'stacks/qdrant_service/phoenix.json': JSON.stringify({ description: 'Qdrant', environments: { production: {} } }),
      'stacks/qdrant_service/docker-compose.yml': compose,
    });
    const out = join(mkdtempSync(join(tmpdir(), 'phoenix-import-')), 'import');
    const result = await phoenixImport(['--from', etc, '--out', out, '--namespace', ns, '--hypervisor', adoptHypervisor, '--adopt', '--observe']);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(readFileSync(join(out, 'import-report.json'), 'utf8'));
    assert.equal(report.objects.filter((o: any) => o.applied && o.kind !== 'ConfigMap').length, 6);
    const core = env.cluster.kc.makeApiClient(k8s.CoreV1Api);
    const values: Record<string, string> = { token: `${env.sim.token.fullId}=${env.sim.token.secret}`, apiKey: env.portainer!.apiKey };
    for (const s of report.secrets) await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: s.name }, stringData: Object.fromEntries(s.keys.map((k: any) => [k.key, values[k.key]!])) } });
    const overlay = join(out, '..', 'overlay');
    mkdirSync(overlay);
    writeFileSync(join(overlay, 'kustomization.yaml'), `resources: [../import]\npatches:\n  - target: { kind: PhoenixHypervisor }\n    patch: |-\n      - { op: replace, path: /spec/proxmox/url, value: "${env.sim.url}" }\n      - { op: replace, path: /spec/portainer/url, value: "${env.portainer!.url}" }\n`);
    const before = JSON.stringify(env.sim.simulator.state.guests.map((g) => [g.vmid, g.config, g.status]));
    await kubectl(env.cluster.kubeconfigPath, ['apply', '-k', overlay]);
    for (const [plural, name] of [['phoenixlxcs', 'copy-base'], ['phoenixlxcs', 'step-ca'], ['phoenixvms', 'ubuntu-2404-cloud-template'], ['phoenixvms', 'drphoenix'], ['phoenixstacks', 'qdrant-service-production']] as const) {
      const ready = await waitReady({ custom: env.custom, namespace: ns }, plural, name, 3 * 60_000);
      assert.match(JSON.stringify(ready.status.conditions), /Observ/, `${name} is not in Observe mode`);
    }
    const stepCa = await waitReady({ custom: env.custom, namespace: ns }, 'phoenixlxcs', 'step-ca');
    assert.ok(stepCa.status.drift.some((d: any) => d.field === 'memory' && d.observed === '512' && d.corrected === false), JSON.stringify(stepCa.status.drift));
    assert.equal(JSON.stringify(env.sim.simulator.state.guests.map((g) => [g.vmid, g.config, g.status])), before, 'Observe mode changed a guest');
  });

  it('then, switched to Manage, takes over every guest and the stack in place: same VMIDs, same stack id, spec applied', async () => {
    for (const [plural, name] of [['phoenixlxcs', 'copy-base'], ['phoenixlxcs', 'step-ca'], ['phoenixvms', 'ubuntu-2404-cloud-template'], ['phoenixvms', 'drphoenix'], ['phoenixstacks', 'qdrant-service-production']] as const) {
      await env.custom.patchNamespacedCustomObject({ ...G, plural, namespace: ns, name, body: [{ op: 'replace', path: '/spec/managementPolicy', value: 'Manage' }] });
    }
    for (const [plural, name] of [['phoenixlxcs', 'copy-base'], ['phoenixlxcs', 'step-ca'], ['phoenixvms', 'ubuntu-2404-cloud-template'], ['phoenixvms', 'drphoenix'], ['phoenixstacks', 'qdrant-service-production']] as const) {
      const ready = await waitReady({ custom: env.custom, namespace: ns }, plural, name, 3 * 60_000);
      assert.equal(ready.status.adopted, true, `${name} was not adopted`);
    }
    assert.deepEqual(guestIds(), [103, 900, 1002, 9000], 'a guest was created or removed');
    assert.equal(env.sim.admin.guest(103)!.config['memory'], '1024');
    assert.match(String(env.sim.admin.guest(1002)!.config['scsi0']), /size=64G/);
    const stacks = env.portainer!.admin.stacks().filter((s) => s.name === 'qdrant_service-production');
    assert.deepEqual(stacks.map((s) => s.id), [stackId], 'the stack was re-created');
  });
});
