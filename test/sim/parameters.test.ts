// The documented parameters the simulator used to refuse as unknown: each is now checked as
// Proxmox checks it and has its effect — stored and read back, or acted on — including the
// restrictions qemu-server and pve-storage put on some of them.
import assert from 'node:assert/strict';
import { startFixture, type Fixture } from './support/sim-fixture.ts';
import { rawCall } from './support/api-client.ts';

const data = <T>(r: { body?: { data?: unknown } | undefined }): T => r.body?.data as T;

describe('simulator: documented parameters have their effect', () => {
  let f: Fixture;
  afterEach(async () => f?.sim.close());

  const vm = (fx: Fixture, status: 'running' | 'stopped' = 'stopped') =>
    fx.sim.admin.addGuest({ type: 'qemu', vmid: 100, status, config: { name: 'app', memory: '1024', scsi0: 'local-lvm:vm-100-disk-0,size=8G', net0: 'virtio,bridge=vmbr0', agent: '1' } });

  async function rootTicket(fx: Fixture): Promise<Record<string, string>> {
    const login = data<{ ticket: string; CSRFPreventionToken: string }>(await rawCall(fx.sim.url, {}, 'POST', '/access/ticket', { username: 'root@pam', password: 'phoenix' }));
    return { Cookie: `PVEAuthCookie=${encodeURIComponent(login.ticket)}`, CSRFPreventionToken: login.CSRFPreventionToken };
  }

  it('stores VM options and disk keys as written, and GET config reads them back', async () => {
    f = await startFixture();
    vm(f);
    const written = {
      'numa0': 'cpus=0-1,hostnodes=0,memory=512,policy=bind', watchdog: 'i6300esb,action=reset', rng0: 'source=/dev/urandom,max_bytes=2048', audio0: 'device=ich9-intel-hda,driver=spice',
      keyboard: 'de', startdate: '2026-01-02T03:04:05', tdf: '1', reboot: '0', autostart: '1', smp: '2', 'usb0': 'spice,usb3=1', 'hostpci0': 'mapping=gpu,pcie=1',
      'virtiofs0': 'share1,cache=always',
    };
    const res = await f.call('PUT', '/nodes/pve/qemu/100/config', written);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const config = data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/qemu/100/config'));
    for (const [k, v] of Object.entries(written)) assert.equal(String(config[k]), v, k);

    // qemu-server stores a drive as print_drive prints it: the volume, then the keys sorted.
    assert.equal((await f.call('PUT', '/nodes/pve/qemu/100/config', { scsi0: 'local-lvm:vm-100-disk-0,size=8G,wwn=0x5000c500a1b2c3d4,iops_rd=200,mbps_wr=50.5,rerror=stop,werror=enospc,product=QEMU HARDDISK,vendor=ACME,queues=4' })).status, 200);
    assert.equal(data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/qemu/100/config'))['scsi0'],
      'local-lvm:vm-100-disk-0,iops_rd=200,mbps_wr=50.5,product=QEMU HARDDISK,queues=4,rerror=stop,size=8G,vendor=ACME,werror=enospc,wwn=0x5000c500a1b2c3d4');

    // Options outside qemu-server's privilege categories are root@pam's alone, a root token included.
    const affinity = await f.call('PUT', '/nodes/pve/qemu/100/config', { affinity: '0-3' });
    assert.deepEqual([affinity.status, affinity.reason], [500, "only root can set 'affinity' config"]);
    const root = await rootTicket(f);
    assert.equal((await rawCall(f.sim.url, root, 'PUT', '/nodes/pve/qemu/100/config', { affinity: '0-3', hugepages: '2', ivshmem: 'size=32,name=shm', 'parallel0': '/dev/parport0', spice_enhancements: 'foldersharing=1,videostreaming=all' })).status, 200);
    const after = data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/qemu/100/config'));
    assert.deepEqual([after['affinity'], after['hugepages'], after['ivshmem'], after['parallel0'], after['spice_enhancements']], ['0-3', '2', 'size=32,name=shm', '/dev/parport0', 'foldersharing=1,videostreaming=all']);
  });

  it("refuses wrong values naming the parameter, and host devices to anyone but root@pam, with qemu-server's texts", async () => {
    f = await startFixture();
    vm(f);
    const bad = async (params: Record<string, string>, key: string, pattern: RegExp) => {
      const res = await f.call('PUT', '/nodes/pve/qemu/100/config', params);
      assert.equal(res.status, 400, `${key}: ${JSON.stringify(res.body)}`);
      assert.match(String(res.body?.errors?.[key]), pattern, key);
    };
    await bad({ affinity: '3-1' }, 'affinity', /unable to parse cpuset option/);
    await bad({ watchdog: 'model=foo' }, 'watchdog', /model: value 'foo' does not have a value in the enumeration/);
    await bad({ scsi0: 'local-lvm:vm-100-disk-0,iops_rd=fast' }, 'scsi0', /iops_rd: type check \('integer'\) failed/);
    await bad({ scsi0: 'local-lvm:vm-100-disk-0,product=THIS NAME IS FAR TOO LONG' }, 'scsi0', /product: value does not match the regex pattern/);
    await bad({ hugepages: '4' }, 'hugepages', /enumeration/);
    await bad({ 'numa0': 'memory=512' }, 'numa0', /cpus: property is missing/);
    // pve-common JSONSchema: a property's `requires` must come with it.
    const suspend = await f.call('POST', '/nodes/pve/qemu/100/status/suspend', { statestorage: 'local-lvm' });
    assert.equal(suspend.body?.errors?.['todisk'], "missing property required by 'statestorage'");

    let res = await f.call('PUT', '/nodes/pve/qemu/100/config', { 'usb0': 'host=1234:5678' });
    assert.deepEqual([res.status, res.reason], [500, "only root can set 'usb0' config for real devices"]);
    res = await f.call('PUT', '/nodes/pve/qemu/100/config', { 'hostpci0': '0000:01:00.0,pcie=1' });
    assert.deepEqual([res.status, res.reason], [500, "only root can set 'hostpci0' config for non-mapped devices"]);
    const root = await rootTicket(f);
    assert.equal((await rawCall(f.sim.url, root, 'PUT', '/nodes/pve/qemu/100/config', { 'usb0': 'host=1234:5678', 'hostpci0': '0000:01:00.0,pcie=1' })).status, 200);
    // Removing a host device is checked against the value it had.
    res = await f.call('PUT', '/nodes/pve/qemu/100/config', { delete: 'usb0' });
    assert.deepEqual([res.status, res.reason], [500, "only root can set 'usb0' config for real devices"]);
  });

  it('knows which release has which parameter', async () => {
    f = await startFixture({ pveVersion: '8.4' });
    vm(f);
    let res = await f.call('PUT', '/nodes/pve/qemu/100/config', { 'allow-ksm': '0' });
    assert.equal(res.body?.errors?.['allow-ksm'], 'property is not defined in schema and the schema does not allow additional properties');
    res = await f.call('PUT', '/nodes/pve/qemu/100/config', { scsi0: 'local-lvm:vm-100-disk-0,cyls=100,heads=16,secs=63,trans=lba' });
    assert.equal(res.status, 200, 'PVE 8 still has manual disk geometry');
    await f.sim.close();

    f = await startFixture();
    vm(f);
    assert.equal((await f.call('PUT', '/nodes/pve/qemu/100/config', { 'allow-ksm': '0' })).status, 200);
    res = await f.call('PUT', '/nodes/pve/qemu/100/config', { scsi0: 'local-lvm:vm-100-disk-0,cyls=100' });
    assert.match(String(res.body?.errors?.['scsi0']), /cyls: property is not defined in schema/);
  });

  it('starts a VM with freeze waiting in prelaunch until it is resumed', async () => {
    f = await startFixture();
    vm(f);
    await f.call('PUT', '/nodes/pve/qemu/100/config', { freeze: '1' });
    await f.finish(data(await f.call('POST', '/nodes/pve/qemu/100/status/start')));
    let status = data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/qemu/100/status/current'));
    assert.deepEqual([status['status'], status['qmpstatus']], ['running', 'prelaunch']);
    assert.equal((await f.call('POST', '/nodes/pve/qemu/100/agent/ping')).reason, 'QEMU guest agent is not running');
    await f.finish(data(await f.call('POST', '/nodes/pve/qemu/100/status/resume')));
    status = data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/qemu/100/status/current'));
    assert.deepEqual([status['status'], status['qmpstatus']], ['running', 'running']);
    assert.equal((await f.call('POST', '/nodes/pve/qemu/100/agent/ping')).status, 200);
  });

  it("keeps storage plugin options per pve-storage's option tables, and acts on format and content-dirs", async () => {
    f = await startFixture();
    let res = await f.call('POST', '/storage', { storage: 'fast', type: 'dir', path: '/mnt/fast', content: 'images,iso', format: 'raw', 'content-dirs': 'iso=isos', preallocation: 'off', 'prune-backups': 'keep-last=3' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const def = data<Record<string, unknown>>(await f.call('GET', '/storage/fast'));
    assert.deepEqual([def['format'], def['content-dirs'], def['preallocation'], def['prune-backups']], ['raw', 'iso=isos', 'off', 'keep-last=3']);

    // A new disk takes the storage's default format; an ISO goes to the overridden folder.
    await f.finish(data(await f.call('POST', '/nodes/pve/qemu', { vmid: 120, scsi0: 'fast:1' })));
    assert.match(String(data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/qemu/120/config'))['scsi0']), /^fast:120\/vm-120-disk-0\.raw,/);
    const dl = data<string>(await f.call('POST', '/nodes/pve/storage/fast/download-url', { url: 'https://example.invalid/x.iso', content: 'iso', filename: 'x.iso' }));
    await f.finish(dl);
    assert.equal((await f.taskLog(dl))[0], 'downloading https://example.invalid/x.iso to /mnt/fast/isos/x.iso');

    // pve-common SectionConfig: an option of another plugin, a fixed option, a fixed deletion.
    res = await f.call('POST', '/storage', { storage: 'thin2', type: 'lvmthin', vgname: 'pve', thinpool: 'data', preallocation: 'off' });
    assert.deepEqual([res.status, res.reason], [500, "unexpected property 'preallocation'"]);
    res = await f.call('PUT', '/storage/fast', { mountpoint: '/x' });
    assert.deepEqual([res.status, res.reason], [500, "update storage failed: error with cfs lock 'file-storage_cfg': unexpected property 'mountpoint'"]);
    res = await f.call('PUT', '/storage/fast', { delete: 'path' });
    assert.deepEqual([res.status, res.reason], [500, "update storage failed: error with cfs lock 'file-storage_cfg': unable to delete fixed option 'path'"]);
    assert.equal((await f.call('PUT', '/storage/fast', { delete: 'preallocation', 'max-protected-backups': 2 })).status, 200);
    const changed = data<Record<string, unknown>>(await f.call('GET', '/storage/fast'));
    assert.deepEqual([changed['preallocation'], changed['max-protected-backups']], [undefined, 2]);

    // max-protected-backups limits protected backups per guest (pve-storage update_volume_attribute).
    assert.equal((await f.call('PUT', '/storage/fast', { content: 'images,iso,backup', 'max-protected-backups': 1 })).status, 200);
    for (const t of ['2026_01_01-00_00_00', '2026_01_02-00_00_00']) f.sim.admin.addVolume({ volid: `fast:backup/vzdump-qemu-100-${t}.vma.zst`, content: 'backup', vmid: 100 });
    const protect = (t: string) => f.call('PUT', `/nodes/pve/storage/fast/content/${encodeURIComponent(`fast:backup/vzdump-qemu-100-${t}.vma.zst`)}`, { protected: 1 });
    assert.equal((await protect('2026_01_01-00_00_00')).status, 200);
    res = await protect('2026_01_02-00_00_00');
    assert.deepEqual([res.status, res.reason], [500, "The number of protected backups per guest is limited to 1 on storage 'fast'"]);
  });

  it("prunes backups by the request's or the storage's prune-backups, as pve-storage marks them", async () => {
    f = await startFixture();
    assert.equal((await f.call('POST', '/storage', { storage: 'bk', type: 'dir', path: '/mnt/bk', content: 'backup' })).status, 200);
    const names = ['2026_01_01-10_00_00', '2026_01_01-12_00_00', '2026_01_02-10_00_00', '2026_01_03-10_00_00', '2025_12_31-10_00_00'];
    for (const t of names) f.sim.admin.addVolume({ volid: `bk:backup/vzdump-qemu-100-${t}.vma.zst`, content: 'backup', vmid: 100 });
    f.sim.admin.addVolume({ volid: 'bk:backup/vzdump-lxc-101-2026_01_01-10_00_00.tar.zst', content: 'backup', vmid: 101 });
    f.sim.admin.addVolume({ volid: 'bk:backup/copied-by-hand.vma.zst', content: 'backup', vmid: 100 });
    const oldest = `bk:backup/vzdump-qemu-100-2025_12_31-10_00_00.vma.zst`;
    assert.equal((await f.call('PUT', `/nodes/pve/storage/bk/content/${encodeURIComponent(oldest)}`, { protected: 1 })).status, 200);

    let res = await f.call('GET', '/nodes/pve/storage/bk/prunebackups');
    assert.deepEqual([res.status, res.reason], [500, "no prune-backups options configured for storage 'bk'"]);

    // keep-last=1 keeps 01-03; keep-daily=2 then keeps the newest of 01-02 and of 01-01; the rest goes.
    res = await f.call('GET', '/nodes/pve/storage/bk/prunebackups', { 'prune-backups': 'keep-last=1,keep-daily=2', type: 'qemu' });
    const marks = Object.fromEntries(data<Array<Record<string, unknown>>>(res).map((e) => [e['volid'], e['mark']]));
    assert.deepEqual(marks, {
      'bk:backup/vzdump-qemu-100-2026_01_01-10_00_00.vma.zst': 'remove',
      'bk:backup/vzdump-qemu-100-2026_01_01-12_00_00.vma.zst': 'keep',
      'bk:backup/vzdump-qemu-100-2026_01_02-10_00_00.vma.zst': 'keep',
      'bk:backup/vzdump-qemu-100-2026_01_03-10_00_00.vma.zst': 'keep',
      [oldest]: 'protected',
    }, 'with type=qemu, a backup not named as vzdump names it is not listed');
    res = await f.call('GET', '/nodes/pve/storage/bk/prunebackups', { 'prune-backups': 'keep-all=1' });
    assert.deepEqual(data<Array<Record<string, unknown>>>(res).filter((e) => e['mark'] === 'renamed').map((e) => e['volid']), ['bk:backup/copied-by-hand.vma.zst']);

    // The storage's own retention applies to a prune without one; the task removes what is marked.
    assert.equal((await f.call('PUT', '/storage/bk', { 'prune-backups': 'keep-last=1' })).status, 200);
    const upid = data<string>(await f.call('DELETE', '/nodes/pve/storage/bk/prunebackups', { vmid: 100 }));
    assert.match(upid, /:prunebackups:100@bk:/);
    await f.finish(upid);
    assert.ok((await f.taskLog(upid)).includes("removing backup 'bk:backup/vzdump-qemu-100-2026_01_02-10_00_00.vma.zst'"));
    const left = data<Array<Record<string, unknown>>>(await f.call('GET', '/nodes/pve/storage/bk/content', { content: 'backup' })).map((v) => v['volid']).sort();
    assert.deepEqual(left, ['bk:backup/copied-by-hand.vma.zst', oldest, 'bk:backup/vzdump-lxc-101-2026_01_01-10_00_00.tar.zst', 'bk:backup/vzdump-qemu-100-2026_01_03-10_00_00.vma.zst'].sort());
  });

  it('turns a dotted netmask into the prefix length, and refuses address without netmask or beside cidr', async () => {
    f = await startFixture();
    assert.equal((await f.call('POST', '/nodes/pve/network', { iface: 'vmbr5', type: 'bridge', address: '10.5.0.2', netmask: '255.255.255.0', bridge_vids: '2-100', comments6: 'v6 later' })).status, 200);
    const i = data<Record<string, unknown>>(await f.call('GET', '/nodes/pve/network/vmbr5'));
    assert.deepEqual([i['cidr'], i['netmask'], i['bridge_vids'], i['comments6']], ['10.5.0.2/24', '24', '2-100', 'v6 later']);
    let res = await f.call('POST', '/nodes/pve/network', { iface: 'vmbr6', type: 'bridge', address: '10.6.0.2' });
    assert.equal(res.body?.errors?.['netmask'], "missing property required by 'address'");
    res = await f.call('POST', '/nodes/pve/network', { iface: 'vmbr6', type: 'bridge', cidr: '10.6.0.2/24', address: '10.6.0.2', netmask: '255.255.255.0' });
    assert.equal(res.body?.errors?.['address'], 'address conflicts with cidr');
    res = await f.call('POST', '/nodes/pve/network', { iface: 'vmbr6', type: 'bridge', address: '10.6.0.2', netmask: '255.0.255.0' });
    assert.match(String(res.body?.errors?.['netmask']), /not look like a valid IP netmask/);
  });

  it("enforces the datacenter's user-tag-access and registered-tags on guest tags, as pve-guest-common does", async () => {
    f = await startFixture();
    vm(f);
    f.sim.admin.addGuest({ type: 'lxc', vmid: 101, config: { hostname: 'ct', memory: '512', rootfs: 'local-lvm:vm-101-disk-0,size=4G', tags: 'web' } });
    f.sim.admin.addUser('ops@pve', { acl: [{ path: '/vms', roles: ['PVEVMAdmin'], propagate: true }] });
    const ops = { Authorization: f.sim.admin.createToken({ userid: 'ops@pve', tokenid: 't', privsep: false }).header };
    const put = (path: string, params: Record<string, string>) => rawCall(f.sim.url, ops, 'PUT', path, params);
    const refused = (tag: string) => [403, `Permission check failed (/, Sys.Modify for modifying tag '${tag}')`];

    // The default (user-allow=free): any tag but a registered one.
    assert.equal((await f.call('PUT', '/cluster/options', { 'registered-tags': 'prod' })).status, 200);
    assert.equal((await put('/nodes/pve/qemu/100/config', { tags: 'anything' })).status, 200);
    let res = await put('/nodes/pve/qemu/100/config', { tags: 'anything;prod' });
    assert.deepEqual([res.status, res.reason], refused('prod'));

    // user-allow=list: only the listed ones; existing: also those on guests the user can see.
    await f.call('PUT', '/cluster/options', { 'user-tag-access': 'user-allow=list,user-allow-list=db' });
    assert.equal((await put('/nodes/pve/qemu/100/config', { tags: 'anything;db' })).status, 200, 'a tag kept as it was is not checked');
    res = await put('/nodes/pve/qemu/100/config', { tags: 'anything;db;web' });
    assert.deepEqual([res.status, res.reason], refused('web'));
    res = await put('/nodes/pve/lxc/101/config', { delete: 'tags' });
    assert.deepEqual([res.status, res.reason], refused('web'));
    await f.call('PUT', '/cluster/options', { 'user-tag-access': 'user-allow=existing' });
    assert.equal((await put('/nodes/pve/qemu/100/config', { tags: 'anything;db;web' })).status, 200);

    // Sys.Modify on / (the root token) may set any tag, registered ones included.
    assert.equal((await f.call('PUT', '/nodes/pve/qemu/100/config', { tags: 'prod' })).status, 200);
  });

  it('stores datacenter, firewall and realm options', async () => {
    f = await startFixture();
    assert.equal((await f.call('PUT', '/cluster/options', { 'tag-style': 'shape=dense,color-map=Prod:FF0000', 'user-tag-access': 'user-allow=list,user-allow-list=a;b', crs: 'ha=static' })).status, 200);
    const options = data<Record<string, unknown>>(await f.call('GET', '/cluster/options'));
    assert.deepEqual([options['tag-style'], options['user-tag-access'], options['crs']], ['shape=dense,color-map=Prod:FF0000', 'user-allow=list,user-allow-list=a;b', 'ha=static']);
    const res = await f.call('PUT', '/cluster/options', { crs: 'ha-auto-rebalance-margin=0.2' });
    assert.match(String(res.body?.errors?.['crs']), /ha-auto-rebalance: missing property required by 'ha-auto-rebalance-margin'/);

    assert.equal((await f.call('PUT', '/cluster/firewall/options', { log_ratelimit: '1,rate=10/minute,burst=20' })).status, 200);
    assert.equal(data<Record<string, unknown>>(await f.call('GET', '/cluster/firewall/options'))['log_ratelimit'], '1,rate=10/minute,burst=20');

    const ldap = await f.call('POST', '/access/domains', { realm: 'corp', type: 'ldap', server1: 'ldap.example', base_dn: 'dc=example', user_attr: 'uid', 'username-claim': 'email' });
    assert.deepEqual([ldap.status, ldap.reason], [500, "add auth server failed: unexpected property 'username-claim'"]);
    assert.equal((await f.call('POST', '/access/domains', { realm: 'sso', type: 'openid', 'issuer-url': 'https://id.example', 'client-id': 'pve', 'username-claim': 'email' })).status, 200);
    assert.equal(data<Record<string, unknown>>(await f.call('GET', '/access/domains/sso'))['username-claim'], 'email');
  });
});
