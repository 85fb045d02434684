import { strict as assert } from 'node:assert';
import { example, host, runImport, tree, withExamples, H, L } from './support.ts';

const ct = (extra: Record<string, unknown>) => ({
  name: 'ct', memory_mb: 1024, cores: 1, storage_pool: 'tank-images', storage_size_gb: 8, unprivileged: true,
  network_config: { name: 'eth0', bridge: 'vmbr0', ip: '10.1.0.50/24', gw: '10.1.0.1' },
  ...extra,
});
const base = { name: 'base', template: '/tank/iso/template/cache/debian-12-standard_12.7-1_amd64.tar.zst', template_snapshot_name: 'final-form', memory_mb: 512, cores: 1, storage_pool: 'tank-images', storage_size_gb: 8, unprivileged: true, network_config: { name: 'eth0', bridge: 'vmbr0', ip: '10.1.0.40/24', gw: '10.1.0.1' } };

describe('import: phoenix_lxc_configs.json → PhoenixLXC', () => {
  describe('the real file (main)', function () {
    const examples = withExamples();

    it('makes the Step-CA container (CT 103) a clone of CT 900 at final-form, with its address, firewall, bind mount and start order', () => {
      assert.deepEqual(examples().object('PhoenixLXC', 'step-ca').spec, {
        hypervisorRef: { name: 'pve' }, node: 'pve', vmid: 103, hostname: 'Step-CA',
        source: { clone: { lxcRef: { name: 'copy-base' }, full: true, storage: 'quickOS-lxc-disks', snapshot: 'final-form' } },
        cores: 2, memory: '1G', rootDisk: { size: '16G', storage: 'quickOS-lxc-disks' }, unprivileged: true,
        firewall: {
          enabled: true,
          rules: [
            { type: 'out', action: 'ACCEPT', proto: 'tcp', dest: '10.0.0.153', dport: '443', comment: 'Allow Step-CA to perform ACME challenges with Nginx Gateway' },
            ...[1, 2, 3].map(() => ({ type: 'out', action: 'ACCEPT', proto: 'tcp', dest: '10.0.0.153', dport: '80', comment: 'Allow Step-CA to perform ACME http-01 challenges with Nginx Gateway' })),
            { type: 'in', action: 'ACCEPT', proto: 'tcp', source: '10.0.0.12', dport: '9000', comment: 'Allow Traefik to connect for ACME challenges' },
            { type: 'in', action: 'ACCEPT', proto: 'tcp', source: '10.0.0.153', dport: '9000', comment: 'Allow Nginx to connect to Step CA for certificates' },
            { type: 'out', action: 'ACCEPT', proto: 'udp', dest: '10.0.0.13', dport: '53', comment: 'Allow outbound DNS queries to CoreDNS' },
          ],
        },
        dns: { nameservers: ['10.0.0.13'] },
        networks: [{ name: 'eth0', bridge: 'vmbr0', ipv4: '10.0.0.10/24', gatewayV4: '10.0.0.1', mac: '52:54:00:AA:BB:CA', firewall: true }],
        mountPoints: [{ path: '/etc/step-ca/ssl', hostPath: '/mnt/pve/quickOS/lxc-persistent-data/103/ssl' }],
        onBoot: true, startup: { order: 1, upDelay: 5, downDelay: 5 },
        snapshots: [{ name: 'pre-configured' }, { name: 'final-form' }],
      });
    });

    it('builds CT 900 from the OS template on the template storage, and keeps the snapshot its clones start from', () => {
      const spec = examples().object('PhoenixLXC', 'copy-base').spec;
      assert.deepEqual(spec.source, { osTemplate: { volume: 'fastData-shared-iso:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst' } });
      assert.deepEqual(spec.snapshots, [{ name: 'pre-configured' }, { name: 'final-form' }]);
      // Proxmox uses a start order only for guests started at boot; 900 is not.
      assert.equal(spec.startup, undefined);
      assert.equal(spec.onBoot, false);
      assert.match(examples().entry(L, '/lxc_configs/900/boot_order').reason!, /only for guests started at boot/);
    });

    it('turns gpu_assignment into device passthrough of the GPUs it names and the NVIDIA control nodes', () => {
      const nodes = (...gpus: number[]) => [...gpus.map((g) => `/dev/nvidia${g}`), '/dev/nvidiactl', '/dev/nvidia-uvm', '/dev/nvidia-uvm-tools'].map((path) => ({ path, mode: '0666' }));
      assert.deepEqual(examples().object('PhoenixLXC', 'copy-cuda12-8').spec.devices, nodes(0, 1), '"0, 1"');
      assert.deepEqual(examples().object('PhoenixLXC', 'copy-vllm-gpux2').spec.devices, nodes(0, 1), '"0,1"');
      assert.deepEqual(examples().object('PhoenixLXC', 'copy-vllm-gpu1').spec.devices, nodes(1));
      assert.equal(examples().object('PhoenixLXC', 'step-ca').spec.devices, undefined, '"none"');
      assert.match(examples().entry(L, '/lxc_configs/801/gpu_assignment').reason!, /only allowed for root@pam/);
    });

    it('keeps the clone chain, the ZFS volume, the dependency on a VM, and the vLLM settings in a ConfigMap (CT 801)', () => {
      const spec = examples().object('PhoenixLXC', 'granite-embedding').spec;
      assert.deepEqual(spec.source.clone, { lxcRef: { name: 'copy-vllm-gpu0' }, full: true, storage: 'quickOS-lxc-disks', snapshot: 'final-form' });
      assert.deepEqual(examples().object('PhoenixLXC', 'copy-vllm-gpu0').spec.source.clone.lxcRef, { name: 'copy-cuda12-8' });
      assert.deepEqual(spec.mountPoints, [{ path: '/vllm_models', storage: 'fastData-shared-bulk-data', size: '50G' }]);
      assert.deepEqual(spec.dependsOn, [{ kind: 'PhoenixVM', name: 'drphoenix' }]);
      assert.deepEqual(spec.startup, { order: 6, upDelay: 5, downDelay: 5 });
      assert.deepEqual(JSON.parse(examples().object('ConfigMap', 'granite-embedding-vllm').data['vllm_engine_config.json']), example(L).lxc_configs['801'].vllm_engine_config);
      assert.equal(examples().outcome(L, '/lxc_configs/801/vllm_engine_config'), 'provisioning');
      assert.equal(examples().outcome(L, '/lxc_configs/801/features/0'), 'provisioning');
    });

    it('maps pct_options to features, and lists the raw LXC lines, id maps and AppArmor it cannot set (CT 101)', () => {
      const spec = examples().object('PhoenixLXC', 'nginx-phoenix').spec;
      assert.deepEqual(spec.features, { nesting: true });
      assert.equal(spec.swap, '512M');
      assert.deepEqual(spec.mountPoints.map((m: any) => m.path), ['/var/log/nginx', '/etc/nginx/ssl', '/etc/step-ca/ssl']);
      assert.equal(examples().outcome(L, '/lxc_configs/101/lxc_options/0'), 'not-mapped');
      assert.equal(examples().outcome(L, '/lxc_configs/101/id_maps/0/host_id'), 'host-setup');
      assert.match(examples().entry(L, '/lxc_configs/101/mount_points/0/owner_uid').action!, /chown 100033:100033 \/mnt\/pve\/quickOS\/lxc-persistent-data\/101\/logs/);
    });

    it('leaves out unprivileged where CT 911 and 912 leave it out (a clone keeps its source\'s), and lists the deviation', () => {
      assert.equal(examples().object('PhoenixLXC', 'copy-vllm-gpu0').spec.unprivileged, undefined);
      assert.ok(examples().report.deviations.some((d) => d.path === '/lxc_configs/911/unprivileged'));
    });
  });

  it('rootesting: the dual-homed macvlan gateway becomes a VLAN-tagged veth plus the internal NIC', () => {
    const imported = runImport(tree({
      [H]: host(),
      [L]: {
        lxc_configs: {
          '900': base,
          '101': ct({
            name: 'Nginx-Phoenix', clone_from_ctid: '900',
            network_config: { name: 'eth0', bridge: 'vmbr0.20', ip: 'dhcp', hwaddr: '02:00:00:00:01:01' },
            secondary_network_config: { name: 'eth1', bridge: 'vmbr100', ip: '172.16.100.10/24', hwaddr: '02:00:00:00:01:02', gw: '172.16.100.1' },
            mac_address: '02:00:00:00:01:01',
            lxc_options: ['lxc.mount.auto:sys:rw', 'lxc.apparmor.profile: unconfined', 'lxc.net.0.type: macvlan', 'lxc.net.0.macvlan.mode: bridge', 'lxc.net.0.link: vmbr0.20'],
            firewall: { enabled: true, rules: [] },
          }),
        },
      },
    }));
    const spec = imported.object('PhoenixLXC', 'nginx-phoenix').spec;
    assert.deepEqual(spec.networks, [
      { name: 'eth0', bridge: 'vmbr0', vlan: 20, firewall: false, ipv4: 'dhcp', mac: '02:00:00:00:01:01' },
      { name: 'eth1', bridge: 'vmbr100', ipv4: '172.16.100.10/24', gatewayV4: '172.16.100.1', mac: '02:00:00:00:01:02', firewall: true },
    ]);
    assert.deepEqual(spec.firewall, { enabled: true, rules: [] });
    assert.match(imported.entry(L, '/lxc_configs/101/network_config/bridge').reason!, /veth on the same network, tagged VLAN 20 on vmbr0/);
    assert.match(imported.entry(L, '/lxc_configs/101/lxc_options/2').reason!, /macvlan interface: mapped as a veth/);
    assert.match(imported.entry(L, '/lxc_configs/101/lxc_options/0').reason!, /raw LXC configuration line \(lxc\.mount\.auto:sys:rw\)/);
    assert.equal(imported.outcome(L, '/lxc_configs/101/mac_address'), 'not-mapped');
  });

  it('rootesting: a template from a vzdump archive, with type: macvlan and parent on the interface', () => {
    const imported = runImport(tree({
      [H]: host(),
      [L]: { lxc_configs: { '950': ct({ name: 'edge', is_template: true, template_file: 'edge-v1.tar.gz', template_snapshot_name: 'final-form', enable_lifecycle_snapshots: true, network_config: { name: 'eth0', type: 'macvlan', parent: 'vmbr0.30', ip: 'dhcp', nameserver: '10.1.0.2' } }) } },
    }));
    const spec = imported.object('PhoenixLXC', 'edge').spec;
    assert.deepEqual(spec.source, { osTemplate: { volume: 'tank-iso:vztmpl/edge-v1.tar.gz' } });
    assert.equal(spec.template, true);
    assert.equal(spec.snapshots, undefined, 'a template cannot keep snapshots');
    assert.deepEqual(spec.networks, [{ name: 'eth0', bridge: 'vmbr0', vlan: 30, firewall: false, ipv4: 'dhcp' }]);
    assert.deepEqual(spec.dns, { nameservers: ['10.1.0.2'] });
    assert.equal(imported.outcome(L, '/lxc_configs/950/template_snapshot_name'), 'not-mapped');
    assert.equal(imported.outcome(L, '/lxc_configs/950/enable_lifecycle_snapshots'), 'not-mapped');
  });

  it('adopts what it cannot create, and with --adopt takes over every container instead of creating it', () => {
    const noSource = runImport(tree({ [H]: host(), [L]: { lxc_configs: { '120': ct({ name: 'orphan' }), '121': ct({ name: 'from-elsewhere', clone_from_ctid: '777' }), '122': ct({ name: 'bad-source', clone_from_ctid: '77' }) } } }));
    assert.deepEqual(noSource.object('PhoenixLXC', 'orphan').spec.adopt, { vmid: 120 });
    assert.ok(noSource.report.actions.some((a) => a.includes('orphan (CT 120) cannot be created')));
    assert.deepEqual(noSource.object('PhoenixLXC', 'from-elsewhere').spec.source.clone, { vmid: 777, full: true, storage: 'tank-images' });
    assert.deepEqual(noSource.object('PhoenixLXC', 'bad-source').spec.adopt, { vmid: 122 });
    assert.match(noSource.entry(L, '/lxc_configs/122/clone_from_ctid').reason!, /77 is not a container id/);
    const adopted = runImport(tree({ [H]: host(), [L]: { lxc_configs: { '900': base, '103': ct({ name: 'Step-CA', clone_from_ctid: '900' }) } } }), { adopt: true });
    for (const [name, vmid] of [['base', 900], ['step-ca', 103]] as const) {
      const spec = adopted.object('PhoenixLXC', name).spec;
      assert.deepEqual([spec.adopt, spec.source], [{ vmid }, undefined]);
    }
    assert.match(adopted.entry(L, '/lxc_configs/103/clone_from_ctid').reason!, /adopting the existing container/);
    assert.deepEqual(adopted.object('PhoenixLXC', 'base').spec.snapshots, [{ name: 'final-form' }]);
  });

  it('creates a container from a template without unprivileged as privileged, as lxc-manager did', () => {
    const imported = runImport(tree({ [H]: host(), [L]: { lxc_configs: { '130': { ...base, name: 'legacy-priv', unprivileged: undefined } } } }));
    assert.equal(imported.object('PhoenixLXC', 'legacy-priv').spec.unprivileged, false);
  });

  it('lists what Proxmox would refuse, field by field, and keeps the rest of the container', () => {
    const imported = runImport(tree({
      [H]: host(),
      [L]: {
        lxc_configs: {
          '140': ct({
            name: 'messy',
            template: '/tank/iso/template/cache/debian.tar.zst',
            network_config: { name: 'eth0', bridge: 'vmbr0', ip: '10.1.0.50/24', gw: '10.2.0.1' },
            mac_address: '01:00:5e:00:00:01',
            gpu_assignment: 'all',
            pct_options: ['nesting=1', 'force_rw_sys=1', 'mount=nfs;cifs'],
            mount_points: [{ host_path: '/tank/a', container_path: '/data' }, { host_path: '/tank/b', container_path: '/data' }],
            zfs_volumes: [{ pool: 'tank-images', size_gb: 5, mount_point: '/scratch' }],
            dependencies: ['140', '999', '900'],
          }),
        },
      },
    }));
    const spec = imported.object('PhoenixLXC', 'messy').spec;
    assert.deepEqual(spec.networks, [{ name: 'eth0', bridge: 'vmbr0', ipv4: '10.1.0.50/24' }]);
    assert.match(imported.entry(L, '/lxc_configs/140/network_config/gw').reason!, /inside the interface's subnet/);
    assert.match(imported.entry(L, '/lxc_configs/140/mac_address').reason!, /unicast/);
    assert.equal(spec.devices, undefined);
    assert.equal(imported.outcome(L, '/lxc_configs/140/gpu_assignment'), 'not-mapped');
    assert.deepEqual(spec.features, { nesting: true, mount: ['nfs', 'cifs'] });
    assert.match(imported.entry(L, '/lxc_configs/140/pct_options/1').reason!, /force_rw_sys=1: not a container feature/);
    assert.match(imported.entry(L, '/lxc_configs/140/pct_options/2').reason!, /only allowed for root@pam/);
    assert.deepEqual(spec.mountPoints, [{ path: '/data', hostPath: '/tank/a' }, { path: '/scratch', storage: 'tank-images', size: '5G' }]);
    assert.equal(imported.outcome(L, '/lxc_configs/140/mount_points/1'), 'not-mapped');
    assert.equal(spec.dependsOn, undefined);
    assert.deepEqual(['/0', '/1', '/2'].map((i) => imported.outcome(L, `/lxc_configs/140/dependencies${i}`)), ['not-mapped', 'not-mapped', 'not-mapped']);
  });

  it('drops the start order of a guest that depends on one started later, which would never start', () => {
    const imported = runImport(tree({
      [H]: host(),
      [L]: { lxc_configs: { '900': base, '150': ct({ name: 'early', clone_from_ctid: '900', start_at_boot: true, boot_order: 1, dependencies: ['151'] }), '151': ct({ name: 'late', clone_from_ctid: '900', start_at_boot: true, boot_order: 5, boot_delay: 3 }) } },
    }));
    assert.equal(imported.object('PhoenixLXC', 'early').spec.startup, undefined);
    assert.deepEqual(imported.object('PhoenixLXC', 'late').spec.startup, { order: 5, upDelay: 3, downDelay: 3 });
    assert.match(imported.entry(L, '/lxc_configs/150/boot_order').reason!, /depends on PhoenixLXC late, which starts later \(order 5\)/);
  });

  it('copies the feature, application, health-check and test scripts it finds into ConfigMaps, with the library they source', () => {
    const scripts = {
      'bin/lxc_setup/phoenix_hypervisor_feature_install_docker.sh': '#!/bin/bash\nsource "$(dirname "$0")/../phoenix_hypervisor_common_utils.sh"\necho docker\n',
      'bin/phoenix_hypervisor_lxc_160.sh': '#!/bin/bash\necho app\n',
      'bin/phoenix_hypervisor_common_utils.sh': '#!/bin/bash\nlog_info() { echo "$@"; }\n',
      'bin/health_checks/check_app.sh': '#!/bin/bash\nexit 0\n',
      'bin/tests/app/smoke.sh': '#!/bin/bash\nexit 0\n',
    };
    const imported = runImport(tree({
      [H]: host(),
      [L]: {
        lxc_configs: {
          '160': ct({
            name: 'app', template: '/x/debian.tar.zst', features: ['docker', 'base_setup'], application_script: 'phoenix_hypervisor_lxc_160.sh',
            health_check: { command: '/usr/local/phoenix_hypervisor/bin/health_checks/check_app.sh', retries: 3 },
            health_checks: [{ name: 'app', script: 'check_app.sh', args: '160' }],
            tests: { smoke: [{ name: 'smoke', type: 'script', path: 'app/smoke.sh' }] },
          }),
        },
      },
    }, scripts));
    assert.deepEqual(imported.object('ConfigMap', 'legacy-lxc-features').data, { 'phoenix_hypervisor_feature_install_docker.sh': scripts['bin/lxc_setup/phoenix_hypervisor_feature_install_docker.sh'] });
    assert.deepEqual(imported.object('ConfigMap', 'legacy-application-scripts').data, { 'phoenix_hypervisor_lxc_160.sh': scripts['bin/phoenix_hypervisor_lxc_160.sh'], 'phoenix_hypervisor_common_utils.sh': scripts['bin/phoenix_hypervisor_common_utils.sh'] });
    assert.deepEqual(imported.object('ConfigMap', 'legacy-health-checks').data, { 'check_app.sh': scripts['bin/health_checks/check_app.sh'] });
    assert.deepEqual(imported.object('ConfigMap', 'legacy-tests').data, { 'app_smoke.sh': scripts['bin/tests/app/smoke.sh'] });
    const feature = imported.entry(L, '/lxc_configs/160/features/0');
    assert.equal(feature.outcome, 'provisioning');
    assert.match(feature.reason!, /not yet mapped: needs provisioning \(issue 13\)/);
    assert.match(feature.action!, /bin\/lxc_setup\/phoenix_hypervisor_feature_install_docker\.sh \(ConfigMap legacy-lxc-features, key phoenix_hypervisor_feature_install_docker\.sh\)/);
    assert.match(imported.entry(L, '/lxc_configs/160/features/1').action!, /phoenix_hypervisor_feature_install_base_setup\.sh \(not found, not copied\)/);
    assert.deepEqual(imported.entry(L, '/lxc_configs/160/health_check').scripts, ['bin/health_checks/check_app.sh']);
    assert.ok(imported.report.actions.some((a) => a.includes('were not found next to the legacy files') && a.includes('feature_install_base_setup.sh')));
  });
});
