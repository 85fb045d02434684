import { strict as assert } from 'node:assert';
import { legacyExamplesMissing } from '../../support/legacy.ts';
import { example, host, runImport, tree, H } from './support.ts';

const rule = (extra: Record<string, unknown>) => ({ type: 'in', action: 'ACCEPT', ...extra });

describe('import: phoenix_hypervisor_config.json → PhoenixHypervisor', () => {
  describe('the real file (main)', function () {
    before(function () {
      if (legacyExamplesMissing()) this.skip();
    });

    it('makes the endpoint, node, storages, user, firewall and downloads the legacy scripts set up', () => {
      const imported = runImport(tree({ [H]: example(H), 'phoenix_lxc_configs.json': example('phoenix_lxc_configs.json'), 'phoenix_vm_configs.json': example('phoenix_vm_configs.json') }));
      const spec = imported.object('PhoenixHypervisor', 'pve').spec;
      const zfspool = (id: string, pool: string, content: string[]) => ({ id, type: 'zfspool', pool, content });
      const dir = (id: string, path: string, content: string[]) => ({ id, type: 'dir', path, content, shared: true });
      assert.deepEqual(spec, {
        proxmox: { url: 'https://10.0.0.13:8006', tokenSecretRef: { name: 'pve-proxmox-token', namespace: 'lab' } },
        portainer: { url: 'https://10.0.0.111:9443', apiKeySecretRef: { name: 'pve-portainer-api-key', namespace: 'lab' } },
        storages: [
          zfspool('quickOS-vm-disks', 'quickOS/vm-disks', ['images']),
          zfspool('quickOS-lxc-disks', 'quickOS/lxc-disks', ['images', 'rootdir']),
          zfspool('quickOS-shared-prod-data', 'quickOS/shared-prod-data', ['images', 'rootdir']),
          zfspool('quickOS-shared-prod-data-sync', 'quickOS/shared-prod-data-sync', ['images']),
          zfspool('fastData-shared-test-data', 'fastData/shared-test-data', ['images', 'rootdir']),
          zfspool('fastData-shared-test-data-sync', 'fastData/shared-test-data-sync', ['images', 'rootdir']),
          dir('fastData-shared-backups', '/fastData/shared-backups', ['backup']),
          zfspool('fastData-shared-bulk-data', 'fastData/shared-bulk-data', ['images', 'rootdir']),
          dir('quickOS-vm-persistent-data', '/quickOS/vm-persistent-data', ['images', 'rootdir']),
          zfspool('quickOS-lxc-persistent-data', 'quickOS/lxc-persistent-data', ['images', 'rootdir']),
          // The cloud image of VM 9000 is downloaded here, which needs the import content.
          dir('fastData-shared-iso', '/fastData/shared-iso', ['iso', 'vztmpl', 'import']),
          { id: 'nfs-vm-persistent-data', type: 'nfs', server: '10.0.0.13', export: '/quickOS/vm-persistent-data', path: '/mnt/nfs/nfs-vm-persistent-data', content: ['images', 'iso', 'vztmpl', 'backup', 'snippets'] },
        ],
        users: [{ userid: 'phoenix_admin@pam', comment: 'Phoenix administrator (imported from the legacy users entry)' }],
        acls: [{ path: '/', role: 'Administrator', users: ['phoenix_admin@pam'] }],
        // main keeps the host firewall under shared_volumes.
        firewall: {
          enabled: true, policyIn: 'DROP', policyOut: 'ACCEPT',
          rules: [
            rule({ proto: 'tcp', dport: '80', comment: 'Allow HTTP for ACME challenges to Nginx' }),
            rule({ proto: 'tcp', dport: '443', comment: 'Allow external HTTPS traffic to the Nginx gateway' }),
            rule({ proto: 'udp', source: '10.0.0.0/24', dest: '10.0.0.13', dport: '53', comment: 'Allow internal guests to query DNS on Host' }),
            rule({ proto: 'tcp', source: '10.0.0.0/24', dest: '10.0.0.13', dport: '53', comment: 'Allow internal guests to query DNS on Host' }),
            rule({ proto: 'tcp', source: '10.0.0.0/24', dest: '10.0.0.13', dport: '2049', comment: 'Allow internal guests to access NFS on Host' }),
            { type: 'out', action: 'ACCEPT', proto: 'tcp', dest: '10.0.0.153', dport: '443', comment: 'Allow Proxmox host to access the Nginx gateway for Portainer API calls' },
          ],
        },
        nodes: [{
          name: 'pve',
          timezone: 'America/New_York',
          // dnsmasq on the host first, then its upstreams, as the DNS script wrote resolv.conf.
          dns: { searchDomain: 'internal.thinkheads.ai', servers: ['10.0.0.13', '8.8.8.8', '1.1.1.1'] },
          networks: [{ name: 'vmbr0', type: 'bridge', cidr: '10.0.0.13/24', gateway: '10.0.0.1' }],
          zfsPools: [
            { name: 'quickOS', raidLevel: 'mirror', devices: ['/dev/disk/by-id/nvme-Samsung_SSD_990_EVO_Plus_2TB_S7U6NJ0Y320880M', '/dev/disk/by-id/nvme-Samsung_SSD_990_EVO_Plus_2TB_S7U6NJ0Y310536X'], compression: 'lz4' },
            { name: 'fastData', raidLevel: 'single', devices: ['/dev/disk/by-id/nvme-Samsung_SSD_990_EVO_Plus_4TB_S7U8NJ0Y402334Y'], compression: 'lz4' },
          ],
        }],
        downloads: [
          { node: 'pve', storage: 'fastData-shared-iso', appliance: 'ubuntu-24.04-standard_24.04-2_amd64.tar.zst' },
          { node: 'pve', storage: 'fastData-shared-iso', url: 'https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img', filename: 'noble-server-cloudimg-amd64.qcow2', content: 'import' },
        ],
      });
      assert.deepEqual(imported.report.secrets.filter((s) => s.name.startsWith('pve-')).map((s) => [s.name, s.namespace, s.keys.map((k) => k.key)]), [['pve-portainer-api-key', 'lab', ['apiKey']], ['pve-proxmox-token', 'lab', ['token']]]);
      assert.equal(imported.outcome(H, '/proxmox_storage_ids/quickos_vm'), 'not-mapped', 'a key that never matched a dataset (case) looks used');
      assert.equal(imported.outcome(H, '/proxmox_storage_ids/fastData_shared_iso'), 'mapped');
      assert.ok(imported.report.assumptions.some((a) => a.what === 'Proxmox node name' && a.value === 'pve'), 'the node name guess is not flagged');
    });
  });

  it('rootesting: the top-level firewall wins over shared_volumes, and the macvlan networks become VLAN interfaces and an internal bridge', () => {
    const imported = runImport(tree({
      [H]: host({
        network: { interfaces: { name: 'vmbr0', address: '10.0.0.13/24', gateway: '10.0.0.1' }, public_bridge: 'vmbr0', macvlan_vlan_tag: 10, public_vlan_tag: 20, internal_bridge: { name: 'vmbr100', subnet: '172.16.100.0/24' } },
        firewall: { enabled: true, default_input_policy: 'drop', default_output_policy: 'ACCEPT', global_firewall_rules: [{ type: 'in', action: 'ACCEPT', source: '10.0.0.111', dest: '10.0.0.102', comment: 'DEBUG', enabled: false }] },
        shared_volumes: { firewall: { enabled: false } },
      }),
    }));
    const spec = imported.object('PhoenixHypervisor', 'pve').spec;
    assert.deepEqual(spec.firewall, { enabled: true, policyIn: 'DROP', policyOut: 'ACCEPT', rules: [{ type: 'in', action: 'ACCEPT', source: '10.0.0.111', dest: '10.0.0.102', comment: 'DEBUG', enabled: false }] });
    assert.equal(imported.outcome(H, '/shared_volumes/firewall/enabled'), 'not-mapped');
    assert.deepEqual(spec.nodes[0].networks, [
      { name: 'vmbr0', type: 'bridge', cidr: '10.0.0.13/24', gateway: '10.0.0.1', vlanAware: true },
      { name: 'vmbr0.10', type: 'vlan', vlanId: 10, vlanRawDevice: 'vmbr0', autostart: true, comments: 'Macvlan portal (legacy)' },
      { name: 'vmbr0.20', type: 'vlan', vlanId: 20, vlanRawDevice: 'vmbr0', autostart: true, comments: 'Public VLAN portal' },
      { name: 'vmbr100', type: 'bridge', cidr: '172.16.100.1/24', bridgePorts: [], autostart: true, comments: 'Internal bridge (legacy internal_bridge)' },
    ]);
    // The NAT and forwarding rules the macvlan script added are left to a person.
    assert.equal(imported.outcome(H, '/network/internal_bridge'), 'host-setup');
    assert.equal(imported.outcome(H, '/network/internal_bridge/subnet'), 'mapped');
  });

  it('takes DNS servers from the interface when dnsmasq is off, and the node name from network.hostname', () => {
    const imported = runImport(tree({ [H]: host({ network: { hostname: 'pve7', interfaces: { name: 'vmbr0', address: '10.1.0.2/24', gateway: '10.1.0.1', dns_nameservers: ['10.1.0.53', 'dns.example', '9.9.9.9', '1.1.1.1', '8.8.8.8'] } }, dns_server: { enabled: false, upstream_servers: ['1.1.1.1'] } }) }));
    const spec = imported.object('PhoenixHypervisor', 'pve').spec;
    assert.deepEqual(spec.nodes[0].name, 'pve7');
    assert.deepEqual(spec.nodes[0].dns, { searchDomain: 'lab.example', servers: ['10.1.0.53', '9.9.9.9', '1.1.1.1'] });
    assert.match(imported.entry(H, '/network/interfaces/dns_nameservers').reason!, /left out: dns\.example, 8\.8\.8\.8/);
    assert.match(imported.entry(H, '/dns_server/upstream_servers').reason!, /dns_server is off/);
  });

  it('maps storage ids as the ZFS script did, and lists what it cannot declare', () => {
    const imported = runImport(tree({
      [H]: host({
        zfs: {
          pools: [
            { name: 'tank', raid_level: 'RAIDZ1', disks: ['/dev/sda', '/dev/sdb', '/dev/sdc'] },
            { name: 'wide', raid_level: 'single', disks: ['/dev/sdd', '/dev/sde'] },
            { name: 'deep', raid_level: 'RAIDZ2', disks: ['/dev/sdf', '/dev/sdg', '/dev/sdh', '/dev/sdi'] },
          ],
          datasets: [
            { name: 'vm-disks', pool: 'tank', proxmox_storage_type: 'zfspool', proxmox_content_type: 'images' },
            { name: 'lvm-ish', pool: 'tank', proxmox_storage_type: 'lvmthin', proxmox_content_type: 'images' },
            { name: 'odd', pool: 'tank', proxmox_storage_type: 'dir', proxmox_content_type: 'backup,none' },
          ],
        },
        proxmox_storage_ids: { tank_vm_disks: 'fast-vms', Tank_vm_disks: 'never' },
      }),
    }));
    const spec = imported.object('PhoenixHypervisor', 'pve').spec;
    assert.deepEqual(spec.nodes[0].zfsPools.map((p: any) => [p.name, p.raidLevel]), [['tank', 'raidz'], ['deep', 'raidz2']]);
    assert.match(imported.entry(H, '/zfs/pools/1').reason!, /made a stripe/);
    assert.match(imported.entry(H, '/zfs/pools/2/raid_level').reason!, /made a plain stripe for RAIDZ2/);
    assert.deepEqual(spec.storages.map((s: any) => [s.id, s.type, s.content.join(',')]), [['fast-vms', 'zfspool', 'images'], ['tank-odd', 'dir', 'backup']]);
    assert.equal(imported.outcome(H, '/zfs/datasets/1'), 'not-mapped');
    assert.match(imported.entry(H, '/zfs/datasets/2/proxmox_content_type').reason!, /none is not a Proxmox content type/);
    assert.equal(imported.outcome(H, '/proxmox_storage_ids/Tank_vm_disks'), 'not-mapped');
  });

  it('refuses rules Proxmox would refuse one by one, keeping the others', () => {
    const imported = runImport(tree({
      [H]: host({
        firewall: {
          enabled: true, default_input_policy: 'allow',
          global_firewall_rules: [rule({ port: '80' }), rule({ proto: 'icmp', port: '8' }), rule({ action: 'LOG' }), rule({ proto: 'tcp', port: '80, 443', comment: 'web' })],
        },
      }),
    }));
    const spec = imported.object('PhoenixHypervisor', 'pve').spec;
    assert.deepEqual(spec.firewall, { enabled: true, rules: [rule({ proto: 'tcp', dport: '80,443', comment: 'web' })] });
    assert.match(imported.entry(H, '/firewall/global_firewall_rules/0').reason!, /needs tcp or udp.*no protocol/);
    assert.match(imported.entry(H, '/firewall/global_firewall_rules/1').reason!, /with icmp/);
    assert.match(imported.entry(H, '/firewall/global_firewall_rules/2').reason!, /"LOG" is not ACCEPT, DROP or REJECT/);
    assert.equal(imported.entry(H, '/firewall/global_firewall_rules/3').targets![0]!.field, 'spec.firewall.rules[0]');
    assert.equal(imported.outcome(H, '/firewall/default_input_policy'), 'not-mapped');
  });

  it('never copies the Portainer password or key, and flags them to rotate; Observe mode reaches the hypervisor', () => {
    const imported = runImport(tree({ [H]: host({ portainer_api: { admin_user: 'admin', admin_password: 'p4ss-w0rd-plain', portainer_hostname: 'portainer.lab.example', api_key: null } }) }), { observe: true });
    const spec = imported.object('PhoenixHypervisor', 'pve').spec;
    assert.deepEqual(spec.portainer, { url: 'https://portainer.lab.example:9443', apiKeySecretRef: { name: 'pve-portainer-api-key', namespace: 'lab' } });
    assert.equal(spec.managementPolicy, 'Observe');
    assert.equal(imported.entry(H, '/portainer_api/admin_password').exposed, true);
    assert.equal(imported.entry(H, '/portainer_api/api_key').reason, 'no key was stored');
    for (const text of imported.files.values()) assert.ok(!text.includes('p4ss-w0rd-plain'));
  });

  it('lists a user name Proxmox would refuse, and a time zone that is not one', () => {
    const imported = runImport(tree({ [H]: host({ users: { username: 'a b' }, timezone: 'New York' }) }));
    const spec = imported.object('PhoenixHypervisor', 'pve').spec;
    assert.equal(spec.users, undefined);
    assert.equal(spec.nodes[0].timezone, undefined);
    assert.equal(imported.outcome(H, '/users/username'), 'not-mapped');
    assert.equal(imported.outcome(H, '/timezone'), 'not-mapped');
  });
});
