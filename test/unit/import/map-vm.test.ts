import { strict as assert } from 'node:assert';
import { host, runImport, tree, withExamples, H, L, V } from './support.ts';

const template = { vmid: 9000, name: 'cloud-template', is_template: true, template_image: 'noble-server-cloudimg-amd64.img', network_config: { ip: 'dhcp' }, user_config: { username: 'phoenix_user' } };
const defaults = { template: 'ubuntu', cores: 2, memory_mb: 2048, disk_size_gb: 50, storage_pool: 'tank-images', network_bridge: 'vmbr0' };

describe('import: phoenix_vm_configs.json → PhoenixVM', () => {
  describe('the real file (main)', function () {
    const examples = withExamples();

    it('makes VM 9000 a template imported from the Ubuntu cloud image, with the disk and settings vm-manager gave it', () => {
      assert.deepEqual(examples().object('PhoenixVM', 'ubuntu-2404-cloud-template').spec, {
        hypervisorRef: { name: 'pve' }, node: 'pve', vmid: 9000, hostname: 'ubuntu-2404-cloud-template',
        source: { cloudImage: { volume: 'fastData-shared-iso:import/noble-server-cloudimg-amd64.qcow2', storage: 'quickOS-vm-disks' } },
        cloudInit: { storage: 'quickOS-vm-disks', user: 'phoenix_user' },
        template: true, agent: { enabled: true }, scsiController: 'virtio-scsi-pci',
        cores: 2, memory: '4G', disks: [{ slot: 'scsi0', size: '32G' }],
        dns: { searchDomain: 'internal.thinkheads.ai', nameservers: ['10.0.0.13'] },
        networks: [{ bridge: 'vmbr0', ipv4: 'dhcp' }],
      });
      assert.equal(examples().outcome(V, '/vms/0/template_snapshot_name'), 'not-mapped');
    });

    it('makes VM 1002 a full clone of the template, with its disk, address, firewall plus its stacks\' rules, and dependency', () => {
      const spec = examples().object('PhoenixVM', 'drphoenix').spec;
      const rule = (source: string | undefined, port: string, comment: string) => ({ type: 'in', action: 'ACCEPT', proto: 'tcp', ...(source ? { source } : {}), dport: port, comment });
      assert.deepEqual(spec, {
        hypervisorRef: { name: 'pve' }, node: 'pve', vmid: 1002, hostname: 'drphoenix',
        source: { clone: { vmRef: { name: 'ubuntu-2404-cloud-template' }, full: true } },
        agent: { enabled: true }, cores: 4, memory: '4G',
        disks: [{ slot: 'scsi0', size: '64G' }],
        firewall: {
          enabled: true,
          rules: [
            rule('10.0.0.111', '9001', 'Allow Portainer server to access agent'),
            rule('10.0.0.13', '9001', 'Allow Proxmox host to access agent for health checks'),
            rule('10.0.0.13', '9001', 'Allow Proxmox host to access agent for health checks'),
            rule('10.0.0.12', '9001', 'Allow Traefik to access Portainer Agent for ACME challenge'),
            rule(undefined, '6333', 'Allow access to Qdrant HTTP API'),
            rule(undefined, '6334', 'Allow access to Qdrant gRPC API'),
            // vm-manager added the production firewall_rules of the stacks the VM runs.
            rule(undefined, '6333', 'Allow access to Qdrant HTTP API (stack qdrant_service)'),
            rule(undefined, '6334', 'Allow access to Qdrant gRPC API (stack qdrant_service)'),
          ],
        },
        dns: { searchDomain: 'internal.thinkheads.ai', nameservers: ['10.0.0.13'] },
        networks: [{ bridge: 'vmbr0', ipv4: '10.0.0.102/24', gatewayV4: '10.0.0.1', firewall: true }],
        cloudInit: { user: 'phoenix_user' },
        dependsOn: [{ kind: 'PhoenixVM', name: 'portainer' }],
        onBoot: true, startup: { order: 5, upDelay: 2 },
      });
      assert.match(examples().entry(V, '/vms/2/disk_size_gb').reason!, /never applied by vm-manager/);
      assert.equal(examples().outcome(V, '/vms/2/volumes/1/mount_point'), 'provisioning');
      assert.match(examples().entry(V, '/vms/2/volumes/0').reason!, /10\.0\.0\.13:\/quickOS\/vm-persistent-data\/1002 \/persistent-storage nfs defaults,auto,nofail 0 0/);
    });
  });

  it('rootesting: Swarm roles, node labels and in-guest iptables rules are provisioning steps; volumes need no name', () => {
    const imported = runImport(tree({
      [H]: host(),
      [V]: {
        vm_defaults: defaults,
        vms: [
          template,
          { vmid: 1001, name: 'Portainer', clone_from_vmid: 9000, swarm_role: 'manager', portainer_role: 'primary', network_config: { ip: '10.1.0.111/24', gw: '10.1.0.1' }, volumes: [{ type: 'nfs', server: '10.1.0.2', path: '/tank/stacks', mount_point: '/mnt/stacks' }] },
          { vmid: 1002, name: 'drphoenix', clone_from_vmid: 9000, swarm_role: 'worker', node_labels: ['gpu=false'], firewall: { enabled: false, rules: [], iptables_rules: ['-A INPUT -j ACCEPT'] }, network_config: { ip: '10.1.0.102/24', gw: '10.1.0.1' } },
        ],
      },
    }));
    for (const path of ['/vms/1/swarm_role', '/vms/2/swarm_role', '/vms/2/node_labels/0', '/vms/2/firewall/iptables_rules/0', '/vms/1/volumes/0/path']) assert.equal(imported.outcome(V, path), 'provisioning', path);
    assert.match(imported.entry(V, '/vms/2/swarm_role').reason!, /Docker Swarm membership of drphoenix as worker/);
    assert.deepEqual(imported.object('PhoenixVM', 'drphoenix').spec.firewall, { enabled: false, rules: [] });
    assert.equal(imported.object('PhoenixVM', 'drphoenix').spec.networks[0].firewall, undefined);
  });

  it('takes cores, memory, storage and bridge from vm_defaults where a VM leaves them out', () => {
    const imported = runImport(tree({ [H]: host(), [V]: { vm_defaults: defaults, vms: [template, { vmid: 300, name: 'worker', clone_from_vmid: 9000 }] } }));
    const spec = imported.object('PhoenixVM', 'worker').spec;
    assert.deepEqual([spec.cores, spec.memory, spec.networks], [2, '2G', [{ bridge: 'vmbr0' }]]);
    assert.deepEqual(imported.object('PhoenixVM', 'cloud-template').spec.source.cloudImage.storage, 'tank-images');
    assert.deepEqual(imported.entry(V, '/vm_defaults/cores').targets!.map((t) => t.name), ['cloud-template', 'worker']);
    assert.equal(imported.outcome(V, '/vm_defaults/disk_size_gb'), 'not-mapped');
  });

  it('keeps snapshots of a VM but not of a template, refuses to shrink, and lists what vm-manager never applied', () => {
    const imported = runImport(tree({
      [H]: host(),
      [V]: {
        vm_defaults: defaults,
        vms: [
          { ...template, snapshots: { 'post-features': 'post' } },
          { vmid: 301, name: 'small', clone_from_vmid: 9000, disk_size_gb: 20, storage_pool: 'tank-images', snapshots: { 'pre-features': 'before', 'post-features': 'after' }, qm_options: ['--numa 1'], count: 3, network_config: { ip: '10.1.0.31/24', gw: '10.1.0.1', nameserver: 'ns.lab' } },
          { vmid: 302, name: 'elsewhere', clone_from_vmid: 8000 },
        ],
      },
    }));
    const small = imported.object('PhoenixVM', 'small').spec;
    assert.deepEqual(small.snapshots, [{ name: 'before' }, { name: 'after' }]);
    assert.equal(small.disks, undefined);
    assert.match(imported.entry(V, '/vms/1/disk_size_gb').reason!, /smaller than the 32G disk/);
    assert.deepEqual(small.source.clone, { vmRef: { name: 'cloud-template' }, full: true, storage: 'tank-images' });
    assert.deepEqual(small.dns, { searchDomain: 'lab.example' });
    assert.equal(imported.outcome(V, '/vms/1/network_config/nameserver'), 'not-mapped');
    assert.equal(imported.object('PhoenixVM', 'cloud-template').spec.snapshots, undefined);
    assert.equal(imported.outcome(V, '/vms/0/snapshots/post-features'), 'not-mapped');
    assert.equal(imported.outcome(V, '/vms/1/qm_options'), 'not-mapped');
    assert.equal(imported.outcome(V, '/vms/1/count'), 'not-mapped');
    assert.deepEqual(imported.object('PhoenixVM', 'elsewhere').spec.source.clone, { vmid: 8000, full: true });
  });

  it('adopts a VM it cannot create, and a VMID that is also a container is the container, as in phoenix-cli', () => {
    const imported = runImport(tree({
      [H]: host({ vm_defaults: undefined }),
      [L]: { lxc_configs: { '500': { name: 'ct500', template: '/x/debian.tar.zst', storage_pool: 'tank-images', storage_size_gb: 8 } } },
      [V]: { vms: [{ ...template, vmid: 9001 }, { vmid: 500, name: 'clash', clone_from_vmid: 9001 }] },
    }));
    assert.deepEqual(imported.object('PhoenixVM', 'cloud-template').spec.adopt, { vmid: 9001 });
    assert.ok(imported.report.actions.some((a) => /VM 9001\) cannot be created .*ubuntu_release/.test(a)));
    assert.ok(!imported.has('PhoenixVM', 'clash'));
    assert.match(imported.entry(V, '/vms/1').reason!, /also a container/);
  });
});
