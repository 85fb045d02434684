// The same scenario (token auth, container from a template, VM clone, config change
// with a digest, start, wait for tasks, status, stop, delete) run unchanged by the
// product's client (npm proxmox-api) and by an independent one (Python proxmoxer); and
// Ansible's community.proxmox modules through a container's and a VM's whole life, twice,
// the second time with /cluster/resources lagging as pvestatd makes it lag.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import proxmoxApi from 'proxmox-api';
import { startProxmoxSimulator, type RunningSimulator, type SimState } from '../../src/sim/proxmox/index.ts';

const TEMPLATE_VMID = 9000;

function seedTemplate(sim: RunningSimulator): void {
  sim.admin.addGuest({
    type: 'qemu', vmid: TEMPLATE_VMID,
    config: {
      name: 'tmpl-debian', template: 1, memory: '2048', cores: 1, agent: '1', ostype: 'l26', scsihw: 'virtio-scsi-single',
      scsi0: 'local-lvm:base-9000-disk-0,size=8G', ide2: 'local-lvm:vm-9000-cloudinit,media=cdrom', net0: 'virtio,bridge=vmbr0', boot: 'order=scsi0',
    },
  });
}

/** What every client must observe, whatever its language. */
function assertScenario(out: Record<string, unknown>): void {
  assert.equal(out['version'], '9.1.5');
  assert.equal(out['nextid'], '100', 'nextid is a string, as Proxmox sends it');
  assert.match(String(out['ct_create_upid']), /^UPID:pve:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:vzcreate:100:root@pam!phoenix:$/);
  assert.equal(out['ct_create'], 'OK');
  assert.equal(out['ct_tags'], 'prod;web');
  // pve-common print_property_string writes the required `name` first, then the rest sorted.
  assert.match(String(out['ct_net0']), /^name=eth0,bridge=vmbr0,hwaddr=BC:24:11(:[0-9A-F]{2}){3},ip=dhcp$/);
  assert.match(String(out['clone_upid']), new RegExp(`:qmclone:${TEMPLATE_VMID}:`), 'a clone task carries the source vmid');
  assert.equal(out['clone'], 'OK');
  assert.equal(out['vm_name'], 'app-1');
  assert.equal(out['vm_cores'], 2);
  assert.deepEqual(out['stale_digest'], [500, 'checksum mismatch (file change by other user?)']);
  assert.equal(out['start'], 'OK');
  assert.equal(out['status_after_start'], 'running');
  assert.equal(out['stop'], 'OK');
  assert.equal(out['status_after_stop'], 'stopped');
  assert.equal(out['delete_vm'], 'OK');
  assert.equal(out['delete_ct'], 'OK');
  assert.deepEqual(out['deleted_vm_config'], [500, "Configuration file 'nodes/pve/qemu-server/101.conf' does not exist"]);
}

/** proxmox-api errors carry the status only inside the message text. */
function statusOf(err: unknown): [number, string] {
  const m = /return Error (\d+) (.*?): \{/.exec(err instanceof Error ? err.message : String(err));
  if (!m) throw err;
  return [Number(m[1]), m[2]!];
}

/** The venv the setup hook fills (scripts/test-setup.d/python.sh), set up on first use. */
function pythonVenv(needs: string): string | undefined {
  const probe = spawnSync('python3', ['--version']);
  if (probe.error || probe.status !== 0) return undefined;
  const repo = fileURLToPath(new URL('../..', import.meta.url));
  const venv = process.env['PHOENIX_PY_VENV'] ?? join(homedir(), '.cache', 'phoenix', 'venv');
  const python = join(venv, 'bin', 'python');
  if (!existsSync(python) || spawnSync(python, ['-c', needs]).status !== 0) execFileSync('bash', [join(repo, 'scripts/test-setup.d/python.sh')], { stdio: 'inherit' });
  return spawnSync(python, ['-c', needs]).status === 0 ? venv : undefined;
}

/** The state file docs/simulator.md tells users to start their CI simulator from. */
const CI_STATE = fileURLToPath(new URL('../../examples/sim/ci-state.json', import.meta.url));
const CI_TOKEN = { user: 'ci@pve', id: 'ci', secret: '5e1f0c1a-51de-4c1a-9e00-00000000c1c1' };

interface PlaybookResult {
  failed: string[];
  changed: Record<string, boolean>;
  vmCores: string;
}

async function runPlaybook(venv: string, sim: RunningSimulator, vars: Record<string, string | number>): Promise<PlaybookResult> {
  const repo = fileURLToPath(new URL('../..', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-ansible-'));
  const inventory = join(dir, 'inventory.ini');
  writeFileSync(inventory, `localhost ansible_connection=local ansible_python_interpreter=${join(venv, 'bin', 'python')}\n`);
  const extra = Object.entries({ api_port: sim.port, token_user: CI_TOKEN.user, token_id: CI_TOKEN.id, token_secret: CI_TOKEN.secret, ...vars }).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  const env = { ...process.env, ANSIBLE_STDOUT_CALLBACK: 'json', ANSIBLE_LOCALHOST_WARNING: 'False', ANSIBLE_INVENTORY_UNPARSED_WARNING: 'False', ANSIBLE_HOME: join(dir, 'home'), ANSIBLE_LOCAL_TEMP: join(dir, 'tmp') };
  const stdout = await new Promise<string>((resolve, reject) => {
    // Asynchronous, because the simulator serves from this very process.
    import('node:child_process').then(({ execFile }) =>
      execFile(join(venv, 'bin', 'ansible-playbook'), ['-i', inventory, join(repo, 'test/sim/clients/ansible_lifecycle.yml'), ...extra], { env, timeout: 600_000, maxBuffer: 64 * 1024 * 1024 }, (err, out, stderr) =>
        // A failed task makes ansible-playbook exit 2; its JSON still says which one and why.
        out.trim().startsWith('{') ? resolve(out) : reject(new Error(`${err?.message ?? ''}\n${stderr}`)),
      ),
    );
  });
  const report = JSON.parse(stdout) as { plays: Array<{ tasks: Array<{ task: { name: string }; hosts: Record<string, { failed?: boolean; msg?: unknown }> }> }> };
  const tasks = report.plays.flatMap((p) => p.tasks);
  const failed = tasks.filter((t) => t.hosts['localhost']?.failed).map((t) => `${t.task.name}: ${JSON.stringify(t.hosts['localhost']?.msg)}`);
  const summary = tasks.find((t) => t.task.name === 'Report what changed')?.hosts['localhost']?.msg as { changed: Record<string, string | boolean>; vm_cores: string } | undefined;
  const changed = Object.fromEntries(Object.entries(summary?.changed ?? {}).map(([k, v]) => [k, v === true || v === 'True']));
  return { failed, changed, vmCores: String(summary?.vm_cores) };
}

/** What each step must report: a change the first time, none when repeated. */
const EXPECTED_CHANGES: Record<string, boolean> = {
  ct_create: true, ct_create_again: false, ct_update: true, ct_start: true, ct_start_again: false, ct_snap: true, ct_snap_again: false,
  ct_stop: true, ct_stop_again: false, ct_unsnap: true, ct_remove: true, ct_remove_again: false,
  vm_clone: true, vm_clone_again: false, vm_update: true, vm_start: true, vm_start_again: false, vm_snap: true, vm_stop: true, vm_stop_again: false,
  vm_rollback: true, vm_unsnap: true, vm_remove: true, vm_remove_again: false,
};

describe('outside clients run the scenario unchanged', function () {
  this.timeout(120_000);
  let sim: RunningSimulator;

  afterEach(async () => sim?.close());

  it('proxmox-api (npm, the product client) over HTTP', async () => {
    sim = await startProxmoxSimulator({ seed: 11, speed: 1000 });
    seedTemplate(sim);
    // proxmox-api's bundled undici 6 fetch shares Node 24's global dispatcher (undici 7),
    // which refuses the Content-Length header it sets ("invalid content-length header");
    // Node's own fetch works. The controller must pass it too.
    const px = proxmoxApi({ host: sim.host, port: sim.port, schema: 'http', tokenID: sim.token.fullId, tokenSecret: sim.token.secret, fetch: globalThis.fetch as never });
    const node = px.nodes.$('pve');
    const wait = async (upid: string): Promise<string> => {
      for (;;) {
        const s = await node.tasks.$(upid).status.$get();
        if (s.status === 'stopped') return String(s.exitstatus);
        await sim.clock.sleep(200);
      }
    };
    const out: Record<string, unknown> = {};
    out['version'] = (await px.version.$get()).version;
    out['nextid'] = await px.cluster.nextid.$get();
    const ct = Number(out['nextid']);
    let upid = await node.lxc.$post({
      vmid: ct, ostemplate: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst', hostname: 'web-1',
      net0: 'name=eth0,bridge=vmbr0,ip=dhcp', rootfs: 'local-lvm:4', tags: 'Prod,web',
    });
    out['ct_create_upid'] = upid;
    out['ct_create'] = await wait(upid);
    const ctConfig = await node.lxc.$(ct).config.$get();
    out['ct_tags'] = ctConfig.tags;
    out['ct_net0'] = ctConfig.net0;
    const vm = ct + 1;
    upid = await node.qemu.$(TEMPLATE_VMID).clone.$post({ newid: vm, name: 'app-1' });
    out['clone_upid'] = upid;
    out['clone'] = await wait(upid);
    const vmConfig = await node.qemu.$(vm).config.$get();
    out['vm_name'] = vmConfig.name;
    await node.qemu.$(vm).config.$put({ cores: 2, digest: vmConfig.digest });
    out['vm_cores'] = (await node.qemu.$(vm).config.$get()).cores;
    out['stale_digest'] = await node.qemu.$(vm).config.$put({ cores: 4, digest: vmConfig.digest }).then(() => 'accepted', statusOf);
    out['start'] = await wait(await node.qemu.$(vm).status.start.$post());
    out['status_after_start'] = (await node.qemu.$(vm).status.current.$get()).status;
    out['stop'] = await wait(await node.qemu.$(vm).status.stop.$post());
    out['status_after_stop'] = (await node.qemu.$(vm).status.current.$get()).status;
    out['delete_vm'] = await wait(await node.qemu.$(vm).$delete());
    out['delete_ct'] = await wait(await node.lxc.$(ct).$delete());
    out['deleted_vm_config'] = await node.qemu.$(vm).config.$get().then(() => 'still there', statusOf);
    assertScenario(out);
  });

  it('proxmoxer (Python, an independent client) over HTTPS', async function () {
    const probe = spawnSync('python3', ['--version']);
    if (probe.error || probe.status !== 0) {
      console.log('      skipped: python3 is not installed');
      this.skip();
    }
    const repo = fileURLToPath(new URL('../..', import.meta.url));
    const venvPython = join(process.env['PHOENIX_PY_VENV'] ?? join(homedir(), '.cache', 'phoenix', 'venv'), 'bin', 'python');
    if (!existsSync(venvPython) || spawnSync(venvPython, ['-c', 'import proxmoxer']).status !== 0) {
      execFileSync('bash', [join(repo, 'scripts/test-setup.d/python.sh')], { stdio: 'inherit' });
    }
    sim = await startProxmoxSimulator({ seed: 11, speed: 1000, https: true });
    seedTemplate(sim);
    const script = join(repo, 'test/sim/clients/proxmoxer_scenario.py');
    const result = await new Promise<string>((resolve, reject) => {
      // Asynchronous, because the simulator serves from this very process.
      import('node:child_process').then(({ execFile }) =>
        execFile(venvPython, [script, String(sim.port), sim.token.fullId, sim.token.secret, String(TEMPLATE_VMID)], { timeout: 90_000 }, (err, stdout, stderr) =>
          err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
        ),
      );
    });
    assertScenario(JSON.parse(result) as Record<string, unknown>);
  });

  it('Ansible community.proxmox runs a container and a VM lifecycle twice, idempotently, also while /cluster/resources lags', async function () {
    this.timeout(900_000);
    const venv = pythonVenv('import proxmoxer, ansible_collections.community.proxmox');
    if (venv === undefined) {
      console.log('      skipped: python3 or the ansible package is not available');
      this.skip();
    }
    const state = JSON.parse(readFileSync(CI_STATE, 'utf8')) as SimState;
    sim = await startProxmoxSimulator({ state, https: true, speed: 20, seed: 4 });
    const first = await runPlaybook(venv!, sim, { ct_vmid: 200, vm_vmid: 201 });
    assert.deepEqual(first.failed, []);
    assert.deepEqual(first.changed, EXPECTED_CHANGES);
    assert.equal(first.vmCores, '2');
    // Second run on the same simulator, now lagging like pvestatd (a 10 s cycle) and slower, so
    // the lag spans several Ansible steps: modules that find guests through /cluster/resources
    // must still see each one as Proxmox lists it.
    sim.admin.setResourcesLag(10_000);
    sim.admin.setSpeed(5);
    const second = await runPlaybook(venv!, sim, { ct_vmid: 200, vm_vmid: 201 });
    assert.deepEqual(second.failed, []);
    assert.deepEqual(second.changed, EXPECTED_CHANGES);
    assert.deepEqual(sim.admin.snapshotState().guests.map((g) => g.vmid), [9000], 'both runs cleaned up after themselves');
  });
});
