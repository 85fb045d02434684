// Proxmox VE state semantics the controller will depend on: locks during tasks,
// digests, pending changes, nextid without reservation, capacity and memory limits,
// sync-versus-task errors, guest agent, JSON typing and transport details.
import assert from 'node:assert/strict';
import { startFixture, DEBIAN_TEMPLATE, type Fixture } from './support/sim-fixture.ts';

const data = <T>(r: { body?: { data?: unknown } | undefined }): T => r.body?.data as T;

describe('simulator semantics', () => {
  let f: Fixture;
  afterEach(async () => f?.sim.close());

  it('nextid answers a string and reserves nothing, so concurrent creators race on the vmid', async () => {
    f = await startFixture();
    const a = await f.call('GET', '/cluster/nextid');
    const b = await f.call('GET', '/cluster/nextid');
    assert.deepEqual([a.body?.data, b.body?.data], ['100', '100']);
    const [first, second] = await Promise.all([
      f.call('POST', '/nodes/pve/qemu', { vmid: 100, memory: '512' }),
      f.call('POST', '/nodes/pve/qemu', { vmid: 100, memory: '512' }),
    ]);
    assert.equal(first.status, 200);
    assert.deepEqual([second.status, second.reason], [500, "unable to create VM 100 - VM 100 already exists on node 'pve'"]);
    assert.equal(data<string>(await f.call('GET', '/cluster/nextid')), '101', 'the id is taken as soon as the create lock exists');
    const taken = await f.call('GET', '/cluster/nextid', { vmid: 100 });
    assert.deepEqual(taken.body?.errors, { vmid: 'VM 100 already exists' });
  });

  it('a container is locked while it is created, and gets Proxmox defaults afterwards', async () => {
    f = await startFixture();
    const upid = data<string>(await f.call('POST', '/nodes/pve/lxc', { vmid: 200, ostemplate: DEBIAN_TEMPLATE, storage: 'local-lvm', net0: 'name=eth0,bridge=vmbr0,ip=dhcp', tags: 'Web;prod,web' }));
    const during = data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/lxc/200/config'));
    assert.deepEqual(Object.keys(during).sort(), ['digest', 'lock']);
    assert.equal(during['lock'], 'create');
    const blocked = await f.call('PUT', '/nodes/pve/lxc/200/config', { cores: 2 });
    assert.deepEqual([blocked.status, blocked.reason], [500, 'CT is locked (create)']);
    assert.equal((await f.finish(upid))['exitstatus'], 'OK');
    const config = data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/lxc/200/config'));
    assert.equal(config['hostname'], 'CT200');
    assert.equal(config['memory'], 512);
    assert.equal(config['unprivileged'], 1);
    assert.equal(config['tags'], 'prod;web');
    assert.equal(config['rootfs'], 'local-lvm:vm-200-disk-0,size=4G', 'default rootfs: 4 GiB on the storage parameter');
    assert.match(String(config['net0']), /hwaddr=BC:24:11:/);
    assert.equal(config['lock'], undefined);
  });

  it('a container clone locks the source with "disk", so a second clone fails', async () => {
    f = await startFixture();
    f.sim.admin.addGuest({ type: 'lxc', vmid: 300, config: { hostname: 'tmpl', template: 1, rootfs: 'local-lvm:base-300-disk-0,size=4G', memory: 512 } });
    const first = await f.call('POST', '/nodes/pve/lxc/300/clone', { newid: 301 });
    assert.equal(first.status, 200);
    const second = await f.call('POST', '/nodes/pve/lxc/300/clone', { newid: 302 });
    assert.deepEqual([second.status, second.reason], [500, 'CT is locked (disk)']);
    await f.finish(first.body?.data);
    const clone = data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/lxc/301/config'));
    assert.equal(clone['rootfs'], 'local-lvm:base-300-disk-0/vm-301-disk-0,size=4G', 'a linked clone from a template');
  });

  it('a clone\'s config follows clone_vm: generated UUIDs, MACs and volumes; parameters set only when Perl-true; the firewall copied', async () => {
    f = await startFixture();
    // qemu-server src/PVE/API2/Qemu.pm clone_vm: smbios1 keeps its fields with a new uuid, a
    // vmgenid is made anew only where the source has one, runtime keys are not copied, no name
    // gives "Copy-of-VM-<name>" and an empty description leaves the source's.
    f.sim.admin.addGuest({ type: 'qemu', vmid: 400, config: { name: 'tmpl', memory: 512, description: 'golden', smbios1: 'manufacturer=acme,uuid=11111111-1111-4111-8111-111111111111', runningmachine: 'pc-q35-9.0', template: 1, scsi0: 'local-lvm:base-400-disk-0,size=8G' } });
    // pve-firewall Helpers.pm clone_vmfw_conf: the source's firewall file is copied.
    f.sim.admin.guest(400)!.firewall = { options: { enable: 1 }, rules: [{ type: 'in', action: 'ACCEPT', proto: 'tcp', dport: '22', enable: 1 }] };
    await f.finish(data<string>(await f.call('POST', '/nodes/pve/qemu/400/clone', { newid: 401, description: '' })));
    const vm = data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/qemu/401/config'));
    assert.equal(vm['name'], 'Copy-of-VM-tmpl');
    assert.equal(vm['description'], 'golden');
    assert.match(String(vm['smbios1']), /^manufacturer=acme,uuid=[0-9a-f-]{36}$/);
    assert.notEqual(vm['smbios1'], 'manufacturer=acme,uuid=11111111-1111-4111-8111-111111111111');
    assert.equal(vm['vmgenid'], undefined);
    assert.equal(vm['runningmachine'], undefined);
    assert.equal(data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/qemu/401/firewall/options'))['enable'], 1);
    assert.deepEqual(data<Record<string, unknown>[]>(await f.call('GET', '/nodes/pve/qemu/401/firewall/rules')).map((r) => r['dport']), ['22']);
    // A pending change of the source is not cloned, and said in the task's warnings.
    f.sim.admin.addGuest({ type: 'qemu', vmid: 420, config: { name: 'busy', memory: 512, scsi0: 'local-lvm:vm-420-disk-0,size=8G' } });
    f.sim.admin.guest(420)!.pending = { memory: '1024' };
    const warned = await f.finish(data<string>(await f.call('POST', '/nodes/pve/qemu/420/clone', { newid: 421 })));
    assert.equal(warned['exitstatus'], 'WARNINGS: 1');
    assert.equal(data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/qemu/421/config'))['memory'], '512');
    // pve-container src/PVE/API2/LXC.pm clone_vm: `if $param->{description}`.
    f.sim.admin.addGuest({ type: 'lxc', vmid: 410, config: { hostname: 'tmpl', description: 'golden', template: 1, rootfs: 'local-lvm:base-410-disk-0,size=4G' } });
    await f.finish(data<string>(await f.call('POST', '/nodes/pve/lxc/410/clone', { newid: 411, description: '' })));
    const ct = data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/lxc/411/config'));
    assert.equal(ct['hostname'], 'tmpl');
    assert.equal(ct['description'], 'golden');
  });

  it('digest mismatches use qemu-server and pve-container wording', async () => {
    f = await startFixture();
    f.sim.admin.addGuest({ type: 'qemu', vmid: 100, config: { name: 'vm', memory: '1024' } });
    f.sim.admin.addGuest({ type: 'lxc', vmid: 101, config: { hostname: 'ct', memory: 512 } });
    const vmDigest = data<{ digest: string }>(await f.call('GET', '/nodes/pve/qemu/100/config')).digest;
    const ctDigest = data<{ digest: string }>(await f.call('GET', '/nodes/pve/lxc/101/config')).digest;
    assert.match(vmDigest, /^[0-9a-f]{40}$/);
    await f.call('PUT', '/nodes/pve/qemu/100/config', { description: 'changed by someone else' });
    await f.call('PUT', '/nodes/pve/lxc/101/config', { description: 'changed by someone else' });
    assert.equal((await f.call('PUT', '/nodes/pve/qemu/100/config', { cores: 2, digest: vmDigest })).reason, 'checksum mismatch (file change by other user?)');
    assert.equal((await f.call('PUT', '/nodes/pve/lxc/101/config', { cores: 2, digest: ctDigest })).reason, 'detected modified configuration - file changed by other user? Try again.');
  });

  it('changes to a running VM stay pending unless they hot-plug, and a reboot applies them', async () => {
    f = await startFixture();
    f.sim.admin.addGuest({ type: 'qemu', vmid: 100, status: 'running', config: { name: 'vm', memory: '1024', cores: 1, net0: 'virtio,bridge=vmbr0' } });
    assert.equal((await f.call('PUT', '/nodes/pve/qemu/100/config', { cores: 4, name: 'renamed', net1: 'virtio,bridge=vmbr0' })).status, 200);
    const current = data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/qemu/100/config', { current: 1 }));
    assert.deepEqual([current['cores'], current['name'], typeof current['net1']], [1, 'renamed', 'string'], 'name fast-plugs, a NIC hot-plugs, cores wait');
    const pendingView = data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/qemu/100/config'));
    assert.equal(pendingView['cores'], 4, 'config shows pending values by default');
    const pending = data<Array<Record<string, unknown>>>(await f.call('GET', '/nodes/pve/qemu/100/pending'));
    assert.deepEqual(pending.find((p) => p['key'] === 'cores'), { key: 'cores', value: 1, pending: 4 });
    await f.finish(data(await f.call('POST', '/nodes/pve/qemu/100/status/reboot')));
    assert.equal(data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/qemu/100/config', { current: 1 }))['cores'], 4);
  });

  it('writing back the current value cancels a pending change, and deleting a pending-only option cancels it (cleanup_pending)', async () => {
    f = await startFixture();
    f.sim.admin.addGuest({ type: 'qemu', vmid: 100, status: 'running', config: { name: 'vm', memory: '1024', cores: 1 } });
    await f.call('PUT', '/nodes/pve/qemu/100/config', { cores: 4, sockets: 2, bios: 'ovmf' });
    assert.equal((await f.call('PUT', '/nodes/pve/qemu/100/config', { cores: 1, delete: 'sockets' })).status, 200);
    const pending = data<Array<Record<string, unknown>>>(await f.call('GET', '/nodes/pve/qemu/100/pending'));
    assert.deepEqual(pending.filter((p) => p['pending'] !== undefined || p['delete'] !== undefined), [{ key: 'bios', pending: 'ovmf' }]);
    const config = data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/qemu/100/config'));
    assert.deepEqual([config['cores'], config['sockets'], config['bios']], [1, undefined, 'ovmf']);
    // A value Proxmox only defaults (no `bios` in the config) stays pending when written explicitly.
    await f.call('PUT', '/nodes/pve/qemu/100/config', { bios: 'seabios' });
    const still = data<Array<Record<string, unknown>>>(await f.call('GET', '/nodes/pve/qemu/100/pending'));
    assert.deepEqual(still.find((p) => p['key'] === 'bios'), { key: 'bios', pending: 'seabios' });
  });

  it('power errors are task errors for VMs but synchronous for containers', async () => {
    f = await startFixture();
    f.sim.admin.addGuest({ type: 'qemu', vmid: 100, status: 'running', config: { name: 'vm', memory: '1024' } });
    f.sim.admin.addGuest({ type: 'lxc', vmid: 101, status: 'running', config: { hostname: 'ct', memory: 512 } });
    f.sim.admin.addGuest({ type: 'lxc', vmid: 102, config: { hostname: 'ct2', memory: 512 } });
    const vmStart = await f.call('POST', '/nodes/pve/qemu/100/status/start');
    assert.equal(vmStart.status, 200);
    assert.equal((await f.finish(vmStart.body?.data))['exitstatus'], 'VM 100 already running');
    assert.equal((await f.call('POST', '/nodes/pve/lxc/101/status/start')).reason, 'CT 101 already running');
    assert.equal((await f.call('POST', '/nodes/pve/lxc/102/status/stop')).reason, 'CT 102 not running');
    assert.equal((await f.call('POST', '/nodes/pve/lxc/102/status/reboot')).reason, 'VM 102 not running', 'pve-container really says VM');
    f.sim.admin.addGuest({ type: 'qemu', vmid: 103, config: { name: 'off', memory: '512' } });
    assert.equal((await f.finish(data(await f.call('POST', '/nodes/pve/qemu/103/status/stop'))))['exitstatus'], 'OK', 'stopping a stopped VM is fine');
    assert.equal((await f.finish(data(await f.call('POST', '/nodes/pve/qemu/999/status/start'))))['exitstatus'], "Configuration file 'nodes/pve/qemu-server/999.conf' does not exist");
  });

  it('node memory and storage capacity are accounted: over-commit fails like on Proxmox', async () => {
    f = await startFixture();
    f.sim.admin.addNode({ name: 'pve', memoryGiB: 4 });
    f.sim.admin.addStorage({ id: 'local-lvm', type: 'lvmthin', content: ['images', 'rootdir'], totalGiB: 10 });
    f.sim.admin.addGuest({ type: 'qemu', vmid: 100, config: { name: 'big', memory: '8192' } });
    assert.equal((await f.finish(data(await f.call('POST', '/nodes/pve/qemu/100/status/start'))))['exitstatus'], 'start failed: QEMU exited with code 1');
    const create = await f.finish(data(await f.call('POST', '/nodes/pve/qemu', { vmid: 101, scsi0: 'local-lvm:20' })));
    assert.match(String(create['exitstatus']), /^unable to create VM 101 - lvcreate 'pve\/vm-101-disk-0' error: {3}Volume group "pve" has insufficient free space/);
    assert.equal((await f.call('GET', '/nodes/pve/qemu/101/config')).status, 500, 'a failed create removes the config');
  });

  it('the guest agent answers only when configured and running', async () => {
    f = await startFixture();
    f.sim.admin.addGuest({ type: 'qemu', vmid: 100, status: 'running', config: { name: 'vm', memory: '1024', agent: '1', net0: 'virtio=BC:24:11:00:00:01,bridge=vmbr0', ipconfig0: 'ip=10.0.0.5/24,gw=10.0.0.1' } });
    f.sim.admin.addGuest({ type: 'qemu', vmid: 101, status: 'running', config: { name: 'noagent', memory: '1024' } });
    assert.equal((await f.call('POST', '/nodes/pve/qemu/101/agent/ping')).reason, 'No QEMU guest agent configured');
    const ifaces = data<{ result: Array<Record<string, unknown>> }>(await f.call('GET', '/nodes/pve/qemu/100/agent/network-get-interfaces'));
    assert.deepEqual(ifaces.result[1], { name: 'eth0', 'hardware-address': 'bc:24:11:00:00:01', 'ip-addresses': [{ 'ip-address-type': 'ipv4', 'ip-address': '10.0.0.5', prefix: 24 }] });
    await f.call('POST', '/nodes/pve/qemu/100/agent/file-write', { file: '/etc/motd', content: 'hello' });
    assert.equal((await f.call('POST', '/nodes/pve/qemu/100/agent/file-write', { file: '/nonexistent/motd', content: 'x' })).reason, "Agent error: failed to open file '/nonexistent/motd': No such file or directory");
    const { pid } = data<{ pid: number }>(await f.call('POST', '/nodes/pve/qemu/100/agent/exec', { command: ['cat', '/etc/motd'] }));
    f.sim.admin.advance(1_000);
    assert.deepEqual(data(await f.call('GET', '/nodes/pve/qemu/100/agent/exec-status', { pid })), { exited: 1, exitcode: 0, 'out-data': 'hello' });
    // qemu-ga forgets a pid once it has reported it exited.
    assert.equal((await f.call('GET', '/nodes/pve/qemu/100/agent/exec-status', { pid })).reason, "Agent error: Invalid parameter 'pid'");
    f.sim.admin.setGuestAgentRunning(100, false);
    assert.equal((await f.call('POST', '/nodes/pve/qemu/100/agent/ping')).reason, 'QEMU guest agent is not running');
  });

  it('sshkeys must be URL-encoded, and are validated as SSH keys', async () => {
    f = await startFixture();
    f.sim.admin.addGuest({ type: 'qemu', vmid: 100, config: { name: 'vm', memory: '1024' } });
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGVxYW1wbGU= me@host';
    const raw = await f.call('PUT', '/nodes/pve/qemu/100/config', { sshkeys: key });
    assert.equal(raw.body?.errors?.['sshkeys'], `invalid format - invalid urlencoded string: ${key}\n`);
    assert.equal((await f.call('PUT', '/nodes/pve/qemu/100/config', { sshkeys: encodeURIComponent('not a key') })).reason, 'SSH public key validation error');
    assert.equal((await f.call('PUT', '/nodes/pve/qemu/100/config', { sshkeys: encodeURIComponent(key) })).status, 200);
    assert.equal(data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/qemu/100/config'))['sshkeys'], encodeURIComponent(key));
  });

  it('speaks Proxmox transport: exact content type, reason phrases, 501s, no 404 for guests', async () => {
    f = await startFixture();
    const missing = await f.call('GET', '/nodes/pve/lxc/555/status/current');
    assert.deepEqual([missing.status, missing.reason, missing.contentType], [500, "Configuration file 'nodes/pve/lxc/555.conf' does not exist", 'application/json;charset=UTF-8']);
    assert.deepEqual(missing.body, { data: null, message: "Configuration file 'nodes/pve/lxc/555.conf' does not exist\n" });
    const res = await fetch(`${f.sim.url}/api2/json/version`, { method: 'DELETE', headers: { Authorization: f.sim.token.header }, body: 'x=1' });
    assert.deepEqual([res.status, res.statusText], [501, "Unexpected content for method 'DELETE'"]);
    const unknown = await f.call('GET', '/nodes/pve/nothing');
    assert.deepEqual([unknown.status, unknown.reason], [501, "Method 'GET /api2/json/nodes/pve/nothing' not implemented"]);
    const badNet = await f.call('POST', '/nodes/pve/qemu', { vmid: 100, net32: 'virtio,bridge=vmbr0', net0: 'virtio,tag=5000' });
    assert.deepEqual(badNet.body?.errors, {
      net32: 'property is not defined in schema and the schema does not allow additional properties',
      net0: 'invalid format - format error\ntag: value must have a maximum value of 4094\n',
    });
  });

  it('same seed, same MACs and UUIDs; tasks have exact UPIDs and list newest first', async () => {
    const macs: string[] = [];
    for (let i = 0; i < 2; i++) {
      f = await startFixture({ seed: 77 });
      await f.finish(data(await f.call('POST', '/nodes/pve/qemu', { vmid: 100, net0: 'virtio,bridge=vmbr0' })));
      macs.push(String(data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/qemu/100/config'))['net0']));
      const tasks = data<Array<Record<string, unknown>>>(await f.call('GET', '/nodes/pve/tasks'));
      assert.equal(tasks[0]!['type'], 'qmcreate');
      assert.equal(tasks[0]!['status'], 'OK');
      await f.sim.close();
    }
    assert.equal(macs[0], macs[1]);
  });

  it('snapshots: create, list with parent links, roll back, delete', async () => {
    f = await startFixture();
    f.sim.admin.addGuest({ type: 'lxc', vmid: 100, config: { hostname: 'ct', memory: 512, rootfs: 'local-lvm:vm-100-disk-0,size=4G' } });
    await f.finish(data(await f.call('POST', '/nodes/pve/lxc/100/snapshot', { snapname: 'before' })));
    await f.call('PUT', '/nodes/pve/lxc/100/config', { memory: 1024 });
    const list = data<Array<Record<string, unknown>>>(await f.call('GET', '/nodes/pve/lxc/100/snapshot'));
    assert.deepEqual(list.map((s) => [s['name'], s['parent']]), [['before', undefined], ['current', 'before']]);
    await f.finish(data(await f.call('POST', '/nodes/pve/lxc/100/snapshot/before/rollback')));
    assert.equal(data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/lxc/100/config'))['memory'], 512);
    assert.equal((await f.call('DELETE', '/nodes/pve/lxc/100/snapshot/nope')).reason, "snapshot 'nope' does not exist");
    await f.finish(data(await f.call('DELETE', '/nodes/pve/lxc/100/snapshot/before')));
    assert.deepEqual(data<Array<Record<string, unknown>>>(await f.call('GET', '/nodes/pve/lxc/100/snapshot')).map((s) => s['name']), ['current']);
  });
});
