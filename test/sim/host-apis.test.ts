// Node-level and datacenter APIs: storage, templates and downloads, pools, network
// staging, DNS, firewall rules, and the /cluster/resources refresh lag.
import assert from 'node:assert/strict';
import { startFixture, type Fixture } from './support/sim-fixture.ts';

const data = <T>(r: { body?: { data?: unknown } | undefined }): T => r.body?.data as T;

describe('simulator host and datacenter APIs', () => {
  let f: Fixture;
  afterEach(async () => f?.sim.close());

  it('storage status tracks capacity; aplinfo and download-url create templates through download tasks', async () => {
    f = await startFixture();
    const before = data<Array<Record<string, unknown>>>(await f.call('GET', '/nodes/pve/storage', { content: 'vztmpl' }));
    assert.deepEqual(before.map((s) => s['storage']), ['local']);
    const upid = data<string>(await f.call('POST', '/nodes/pve/aplinfo', { storage: 'local', template: 'alpine-3.22-default_20250617_amd64.tar.xz' }));
    assert.match(upid, /:download:alpine-3\.22-default_20250617_amd64\.tar\.xz:/);
    assert.equal((await f.finish(upid))['exitstatus'], 'OK');
    const content = data<Array<Record<string, unknown>>>(await f.call('GET', '/nodes/pve/storage/local/content', { content: 'vztmpl' }));
    assert.deepEqual(content.find((c) => String(c['volid']).includes('alpine'))?.['format'], 'txz');
    const dl = data<string>(await f.call('POST', '/nodes/pve/storage/local/download-url', { url: 'https://example.invalid/noble.img', content: 'import', filename: 'noble.qcow2' }));
    await f.finish(dl);
    const status = data<Record<string, number>>(await f.call('GET', '/nodes/pve/storage/local/status'));
    assert.equal(status['used']! + status['avail']!, status['total']);
    assert.ok(data<Array<Record<string, unknown>>>(await f.call('GET', '/nodes/pve/storage/local/content')).some((c) => c['volid'] === 'local:import/noble.qcow2'));
    const missing = await f.call('GET', '/nodes/pve/storage/nope/status');
    // pve-storage API2/Storage/Status.pm read_status: raise_param_exc({ storage => "No such storage." }).
    assert.deepEqual([missing.status, missing.body?.errors], [400, { storage: 'No such storage.' }]);
  });

  it('storage definitions can be created, changed and removed', async () => {
    f = await startFixture();
    assert.equal((await f.call('POST', '/storage', { storage: 'nfs1', type: 'nfs', content: 'images,iso' })).status, 400, 'nfs without path is refused');
    assert.equal((await f.call('POST', '/storage', { storage: 'fast', type: 'dir', path: '/mnt/fast', content: 'images,rootdir' })).status, 200);
    assert.equal((await f.call('POST', '/storage', { storage: 'fast', type: 'dir', path: '/mnt/fast' })).reason, "create storage failed: storage ID 'fast' already defined");
    await f.call('PUT', '/storage/fast', { content: 'images' });
    assert.equal(data<Record<string, unknown>>(await f.call('GET', '/storage/fast'))['content'], 'images');
    await f.call('DELETE', '/storage/fast');
    assert.equal((await f.call('GET', '/storage/fast')).status, 500);
  });

  it('pools hold guests; a non-empty pool cannot be removed', async () => {
    f = await startFixture();
    f.sim.admin.addGuest({ type: 'qemu', vmid: 100, config: { name: 'a', memory: '512' } });
    await f.call('POST', '/pools', { poolid: 'prod', comment: 'production' });
    await f.call('PUT', '/pools', { poolid: 'prod', vms: '100' });
    const pool = data<Array<{ members: Array<Record<string, unknown>> }>>(await f.call('GET', '/pools', { poolid: 'prod' }));
    assert.deepEqual(pool[0]!.members.map((m) => m['id']), ['qemu/100']);
    // pve-manager PVE/API2/Pool.pm dies inside lock_user_config, which prefixes its error message.
    assert.equal((await f.call('DELETE', '/pools', { poolid: 'prod' })).reason, "delete pool failed: pool 'prod' is not empty (contains VM 100)");
    const again = await f.call('PUT', '/pools', { poolid: 'prod', vms: '100' });
    assert.deepEqual([again.status, again.reason], [500, 'update pools failed: VM 100 is already a pool member']);
    const missing = await f.call('DELETE', '/pools/nosuch');
    assert.deepEqual([missing.status, missing.reason], [500, "delete pool failed: pool 'nosuch' does not exist"]);
    await f.call('PUT', '/pools', { poolid: 'prod', vms: '100', delete: 1 });
    assert.equal((await f.call('DELETE', '/pools', { poolid: 'prod' })).status, 200);
  });

  it('network changes are staged, listed as changes, and applied by a reload task', async () => {
    f = await startFixture();
    assert.equal((await f.call('POST', '/nodes/pve/network', { iface: 'vmbr1', type: 'bridge', cidr: '10.10.0.1/24', autostart: 1 })).status, 200);
    const dup = await f.call('POST', '/nodes/pve/network', { iface: 'vmbr1', type: 'bridge' });
    assert.deepEqual(dup.body?.errors, { iface: 'interface already exists' });
    const listed = await f.call('GET', '/nodes/pve/network', { type: 'bridge' });
    assert.match(String((listed.body as { changes?: string }).changes), /interfaces\.new/);
    const staged = data<Array<Record<string, unknown>>>(listed).find((i) => i['iface'] === 'vmbr1')!;
    assert.equal(staged['active'], 0);
    const reload = data<string>(await f.call('PUT', '/nodes/pve/network'));
    assert.match(reload, /:srvreload:networking:/);
    await f.finish(reload);
    const applied = await f.call('GET', '/nodes/pve/network/vmbr1');
    assert.deepEqual([data<Record<string, unknown>>(applied)['active'], (applied.body as { changes?: string }).changes], [1, undefined]);
    await f.call('PUT', '/nodes/pve/dns', { search: 'lab.internal', dns1: '10.0.0.53' });
    assert.deepEqual(data(await f.call('GET', '/nodes/pve/dns')), { search: 'lab.internal', dns1: '10.0.0.53' });
  });

  it('firewall rules go on top, default to disabled, and carry the list digest', async () => {
    f = await startFixture();
    f.sim.admin.addGuest({ type: 'lxc', vmid: 100, config: { hostname: 'ct', memory: 512 } });
    await f.call('POST', '/nodes/pve/lxc/100/firewall/rules', { type: 'in', action: 'ACCEPT', dport: '22', proto: 'tcp' });
    await f.call('POST', '/nodes/pve/lxc/100/firewall/rules', { type: 'in', action: 'DROP', enable: 1 });
    const rules = data<Array<Record<string, unknown>>>(await f.call('GET', '/nodes/pve/lxc/100/firewall/rules'));
    assert.deepEqual(rules.map((r) => [r['pos'], r['action'], r['enable']]), [[0, 'DROP', 1], [1, 'ACCEPT', 0]]);
    assert.equal(rules[0]!['digest'], rules[1]!['digest']);
    await f.call('DELETE', '/nodes/pve/lxc/100/firewall/rules/0');
    const stale = await f.call('PUT', '/nodes/pve/lxc/100/firewall/rules/0', { enable: 1, digest: String(rules[0]!['digest']) });
    assert.equal(stale.reason, 'detected modified configuration - file changed by other user? Try again.');
    assert.equal((await f.call('GET', '/nodes/pve/lxc/100/firewall/rules/5')).reason, 'no rule at position 5');
  });

  it('firewall addresses and ports are parsed as pve-firewall parses them, and a bad one is refused with nothing written', async () => {
    f = await startFixture();
    f.sim.admin.addGuest({ type: 'lxc', vmid: 100, config: { hostname: 'ct', memory: 512 } });
    const post = (rule: Record<string, string>) => f.call('POST', '/nodes/pve/lxc/100/firewall/rules', { type: 'in', action: 'ACCEPT', ...rule });
    const bad: Record<string, string>[] = [{ source: '999.1.1.1' }, { source: '10.0.0.5/24' }, { dest: '10.0.0.9-10.0.0.1' }, { source: '10.0.0.1,fd00::1' }, { proto: 'tcp', dport: '9000:8000' }, { proto: 'tcp', dport: '70000' }];
    for (const rule of bad) {
      const refused = await post(rule);
      assert.equal(refused.status, 400, JSON.stringify(rule));
      assert.ok((refused.body as { errors?: Record<string, string> }).errors?.[Object.keys(rule).at(-1)!], JSON.stringify(refused.body));
    }
    assert.deepEqual(data(await f.call('GET', '/nodes/pve/lxc/100/firewall/rules')), []);
    assert.equal((await post({ source: '10.0.0.0/24', dest: '10.0.0.1-10.0.0.9', proto: 'tcp', dport: '80,443,8000:8100' })).status, 200);
  });

  it('/cluster/resources lags like pvestatd by default: status from its 10 s broadcast, the rest live', async () => {
    f = await startFixture();
    f.sim.admin.addGuest({ type: 'qemu', vmid: 100, config: { name: 'a', memory: '512' } });
    await f.call('GET', '/cluster/resources', { type: 'vm' });
    await f.finish(data(await f.call('POST', '/nodes/pve/qemu/100/status/start')));
    assert.equal(data<{ status: string }>(await f.call('GET', '/nodes/pve/qemu/100/status/current')).status, 'running');
    // A guest pvestatd has not reported yet is listed at once (the vmlist is pmxcfs'), with
    // status unknown and no name; lock and tags are read from its config, also at once.
    f.sim.admin.addGuest({ type: 'lxc', vmid: 101, config: { hostname: 'b', memory: '512', lock: 'create', tags: 'x' } });
    const stale = data<Array<Record<string, unknown>>>(await f.call('GET', '/cluster/resources', { type: 'vm' }));
    const byId = (items: Array<Record<string, unknown>>, vmid: number) => items.find((i) => i['vmid'] === vmid)!;
    assert.equal(byId(stale, 100)['status'], 'stopped');
    assert.deepEqual([byId(stale, 101)['status'], byId(stale, 101)['name'], byId(stale, 101)['lock'], byId(stale, 101)['tags'], byId(stale, 101)['node']], ['unknown', undefined, 'create', 'x', 'pve']);
    f.sim.admin.advance(10_000);
    const fresh = data<Array<Record<string, unknown>>>(await f.call('GET', '/cluster/resources', { type: 'vm' }));
    assert.equal(byId(fresh, 100)['status'], 'running');
    assert.deepEqual([byId(fresh, 101)['status'], byId(fresh, 101)['name']], ['stopped', 'b']);
  });

  it('/cluster/resources is live with no lag', async () => {
    f = await startFixture();
    f.sim.admin.setResourcesLag(0);
    f.sim.admin.addGuest({ type: 'qemu', vmid: 100, config: { name: 'a', memory: '512' } });
    await f.call('GET', '/cluster/resources', { type: 'vm' });
    await f.finish(data(await f.call('POST', '/nodes/pve/qemu/100/status/start')));
    assert.equal(data<Array<Record<string, unknown>>>(await f.call('GET', '/cluster/resources', { type: 'vm' }))[0]!['status'], 'running');
  });

  it('a guest created within the lag is listed at once, without the RRD fields pvestatd has not broadcast yet', async () => {
    f = await startFixture();
    f.sim.admin.setResourcesLag(10_000);
    await f.call('GET', '/cluster/resources', { type: 'vm' });
    await f.finish(data(await f.call('POST', '/nodes/pve/qemu', { vmid: 101, name: 'fresh', memory: '512', tags: 'new' })));
    await f.call('POST', '/pools', { poolid: 'p1' });
    await f.call('PUT', '/pools', { poolid: 'p1', vms: '101' });
    // pve-manager API2/Cluster.pm: the vmlist, pools, lock and tags are current; extract_vm_stats
    // starts every guest as status 'unknown' and fills name and usage only from the RRD dump.
    const listed = data<Array<Record<string, unknown>>>(await f.call('GET', '/cluster/resources', { type: 'vm' }));
    assert.deepEqual(listed, [{ id: 'qemu/101', type: 'qemu', vmid: 101, node: 'pve', status: 'unknown', pool: 'p1', tags: 'new' }]);
    f.sim.admin.advance(10_000);
    const later = data<Array<Record<string, unknown>>>(await f.call('GET', '/cluster/resources', { type: 'vm' }));
    assert.deepEqual([later[0]!['name'], later[0]!['status']], ['fresh', 'stopped']);
    await f.finish(data(await f.call('DELETE', '/nodes/pve/qemu/101')));
    assert.deepEqual(data(await f.call('GET', '/cluster/resources', { type: 'vm' })), [], 'a destroyed guest leaves the vmlist at once');
  });
});
